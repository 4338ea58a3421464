//! The one cache layer of the controllers: every kind more than one controller reads is
//! watched once per process, into a reflector store that all of them read (and whose changes
//! drive their `Controller`s), so a reconciliation in steady state reads nothing from an API
//! server. Stores hold slim objects: no `managedFields`, no `last-applied-configuration`.
//!
//! A store lags behind the writes this process makes. [`Cached::record`] keeps what a write
//! returned until the watch has delivered that version or a newer one, so a controller that
//! reads right after writing sees its own write (a binding's permanent id, say, is never
//! regenerated because the cache had not seen the binding yet).

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PartialObjectMeta};
use kube::core::ApiResource;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource};
use prometheus_client::metrics::histogram::Histogram;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::packed::PackedObject;
use crate::api::{self as keys, Binding, ClusterResourceBinding, ResourceBinding, Work};
use crate::client::ready::store_ready;

/// The annotation `kubectl apply` leaves: a second copy of the object, never read here.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How long a recorded write is preferred over a store that has not caught up with it; a
/// bound in case the watch never delivers it (the object went during a relist).
const RECORDED_FOR: Duration = Duration::from_secs(60);

/// Drops what no controller reads and what takes most of an object's memory.
pub fn slim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// An object as this process wrote it, when, and whether the write is still on its way
/// (see [`Cached::record_pending`]).
type Written<K> = (Arc<K>, Instant, bool);

/// Gives a packed object its apiVersion and kind: a list's items come without them.
pub fn typed(obj: &mut PackedObject, resource: &ApiResource) {
    if obj.types.is_none() {
        obj.types = Some(kube::core::TypeMeta {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
        });
    }
}

/// A kind with no dynamic type (known at compile time) that a watch can fill a store with.
pub trait StaticKind:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> StaticKind for K where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

/// Secondary keys of an object, for [`Cached::indexed`].
pub type IndexFn<K> = fn(&K) -> Vec<String>;

/// A shared, slim reflector store of one kind, with read-your-writes and an optional index.
pub struct Cached<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    dyntype: K::DynamicType,
    shared: Arc<Shared<K>>,
    _task: Arc<AbortOnDrop>,
}

impl<K> Clone for Cached<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Cached {
            store: self.store.clone(),
            dyntype: self.dyntype.clone(),
            shared: self.shared.clone(),
            _task: self._task.clone(),
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    /// Objects as this process last wrote them, until the store has them.
    written: Mutex<HashMap<ObjectRef<K>, Written<K>>>,
    index: Option<(IndexFn<K>, Mutex<Index<K>>)>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Arc<K>>>>,
    ready: AtomicBool,
    /// Where to record how long the watch took to deliver a recorded write.
    lag: OnceLock<Histogram>,
}

struct Index<K: Resource>
where
    K::DynamicType: Eq + Hash + Clone,
{
    by_key: HashMap<String, HashSet<ObjectRef<K>>>,
    keys_of: HashMap<ObjectRef<K>, Vec<String>>,
    /// Built during a relist, swapped in when it completes.
    next: Option<Box<Index<K>>>,
}

impl<K: Resource> Default for Index<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    fn default() -> Self {
        Index {
            by_key: HashMap::new(),
            keys_of: HashMap::new(),
            next: None,
        }
    }
}

impl<K: Resource> Index<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    fn remove(&mut self, r: &ObjectRef<K>) {
        for key in self.keys_of.remove(r).unwrap_or_default() {
            if let Some(refs) = self.by_key.get_mut(&key) {
                refs.remove(r);
                if refs.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    fn insert(&mut self, r: ObjectRef<K>, keys: Vec<String>) {
        self.remove(&r);
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            self.by_key
                .entry(key.clone())
                .or_default()
                .insert(r.clone());
        }
        self.keys_of.insert(r, keys);
    }
}

/// A reference to `obj` without the resourceVersion and uid `ObjectRef::from_obj` copies in
/// (they take no part in its equality or hash): thousands of these are kept as map keys.
pub fn bare_ref<K: Resource>(obj: &K, dyntype: &K::DynamicType) -> ObjectRef<K>
where
    K::DynamicType: Clone,
{
    let mut r = ObjectRef::from_obj_with(obj, dyntype.clone());
    r.extra = Default::default();
    r
}

/// The resourceVersion as a number: etcd revisions, which order the versions of one object.
fn version<K: Resource>(obj: &K) -> Option<u64> {
    obj.meta().resource_version.as_deref()?.parse().ok()
}

impl<K> Cached<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync + 'static,
{
    /// Starts watching `api` into a new store (on a task of its own, which stops when the last
    /// clone of the returned cache is dropped).
    pub fn start(
        api: Api<K>,
        config: watcher::Config,
        dyntype: K::DynamicType,
        index: Option<IndexFn<K>>,
    ) -> Self {
        let what = K::kind(&dyntype).to_string();
        Self::start_named(what, api, config, dyntype, index, None)
    }

    /// [`Cached::start`], naming the watch `what` in the log; `fixup` completes each object
    /// as it arrives.
    pub fn start_named(
        what: String,
        api: Api<K>,
        config: watcher::Config,
        dyntype: K::DynamicType,
        index: Option<IndexFn<K>>,
        fixup: Option<fn(&mut K, &K::DynamicType)>,
    ) -> Self {
        let mut writer = Writer::new(dyntype.clone());
        let store = writer.as_reader();
        let shared = Arc::new(Shared::new(index));
        let (s, reader, dt) = (shared.clone(), store.clone(), dyntype.clone());
        let fixup_type = dyntype.clone();
        let task = tokio::spawn(async move {
            let mut events = watcher(api, config)
                .default_backoff()
                .modify(move |o| {
                    slim(o);
                    if let Some(f) = fixup {
                        f(o, &fixup_type);
                    }
                })
                .boxed();
            let mut failing = false;
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => {
                        if std::mem::take(&mut failing) {
                            tracing::info!("watch of {what} resumed");
                        }
                        writer.apply_watcher_event(&event);
                        s.observe(&event, &reader, &dt);
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!("watch of {what} failed, retrying with backoff: {e}");
                    }
                    Err(e) => tracing::debug!("watch of {what} still failing: {e}"),
                }
            }
        });
        Cached {
            store,
            dyntype,
            shared,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// The store (what the watch has delivered; without recorded writes).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// The dynamic type the store's keys are made with.
    pub fn dyntype(&self) -> K::DynamicType {
        self.dyntype.clone()
    }

    /// Waits for the first list; `false` if the watch task is gone.
    pub async fn ready(&self) -> bool {
        store_ready(&self.store).await
    }

    /// Whether the first list is in.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
    }

    fn object_ref(&self, namespace: Option<&str>, name: &str) -> ObjectRef<K> {
        let r = ObjectRef::new_with(name, self.dyntype.clone());
        match namespace {
            Some(ns) if !ns.is_empty() => r.within(ns),
            _ => r,
        }
    }

    /// The object, as the store or this process's last write (whichever is newer) has it.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        self.get_ref(&self.object_ref(namespace, name))
    }

    fn get_ref(&self, r: &ObjectRef<K>) -> Option<Arc<K>> {
        let stored = self.store.get(r);
        let mut written = self.shared.written.lock().expect("cache poisoned");
        if let Some((mine, at, pending)) = written.get(r) {
            let newer = match &stored {
                None => true,
                // A pending write carries the version it changes.
                Some(s) if *pending => version(&**mine) >= version(&**s),
                Some(s) => version(&**mine) > version(&**s),
            };
            if newer && at.elapsed() < RECORDED_FOR {
                return Some(mine.clone());
            }
            written.remove(r);
        }
        stored
    }

    /// Notes an object as a write returned it (or as it will be, once written).
    pub fn record(&self, obj: K) {
        self.note(obj, false);
    }

    /// Notes what a write about to be sent makes of an object (`obj` keeps the version it
    /// changes), so readers see it while the request is on its way; then `record` its answer,
    /// or `forget_pending` if it fails.
    pub fn record_pending(&self, obj: K) {
        self.note(obj, true);
    }

    fn note(&self, mut obj: K, pending: bool) {
        slim(&mut obj);
        let r = bare_ref(&obj, &self.dyntype);
        self.shared
            .written
            .lock()
            .expect("cache poisoned")
            .insert(r, (Arc::new(obj), Instant::now(), pending));
    }

    /// Drops a pending write that failed (a write recorded since is kept).
    pub fn forget_pending(&self, namespace: Option<&str>, name: &str) {
        let r = self.object_ref(namespace, name);
        let mut written = self.shared.written.lock().expect("cache poisoned");
        if written.get(&r).is_some_and(|(_, _, pending)| *pending) {
            written.remove(&r);
        }
    }

    /// Records in `lag` how long each recorded write takes to come back through the watch.
    pub fn measure_lag(&self, lag: Histogram) {
        let _ = self.shared.lag.set(lag);
    }

    /// Forgets a recorded write (the object was deleted).
    pub fn forget(&self, namespace: Option<&str>, name: &str) {
        let r = self.object_ref(namespace, name);
        self.shared
            .written
            .lock()
            .expect("cache poisoned")
            .remove(&r);
    }

    /// Every object with index key `key` (recorded writes included).
    pub fn indexed(&self, key: &str) -> Vec<Arc<K>> {
        let Some((keys_of, index)) = &self.shared.index else {
            return Vec::new();
        };
        let mut refs: HashSet<ObjectRef<K>> = index
            .lock()
            .expect("cache poisoned")
            .by_key
            .get(key)
            .cloned()
            .unwrap_or_default();
        refs.extend(
            self.shared
                .written
                .lock()
                .expect("cache poisoned")
                .iter()
                .filter(|(_, (o, _, _))| keys_of(o).iter().any(|k| k == key))
                .map(|(r, _)| r.clone()),
        );
        refs.iter()
            .filter_map(|r| self.get_ref(r))
            .filter(|o| keys_of(o).iter().any(|k| k == key))
            .collect()
    }

    /// The objects as they change (and every object once the first list is in, or at once if
    /// it is), for `Controller::for_shared_stream` and `watches_shared_stream`: the store's
    /// own objects, not copies.
    pub fn subscribe(&self) -> BoxStream<'static, Arc<K>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subscribers = self.shared.subscribers.lock().expect("cache poisoned");
        if self.is_ready() {
            for o in self.store.state() {
                let _ = tx.send(o);
            }
        }
        subscribers.push(tx);
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|o| (o, rx)) })
            .boxed()
    }
}

impl<K> Shared<K>
where
    K: Resource + Clone,
    K::DynamicType: Eq + Hash + Clone,
{
    fn new(index: Option<IndexFn<K>>) -> Self {
        Shared {
            written: Mutex::default(),
            index: index.map(|f| (f, Mutex::default())),
            subscribers: Mutex::default(),
            ready: AtomicBool::new(false),
            lag: OnceLock::new(),
        }
    }

    /// Follows one watch event (already in the store): index, recorded writes, subscribers.
    fn observe(&self, event: &watcher::Event<K>, store: &Store<K>, dyntype: &K::DynamicType) {
        let reference = |o: &K| bare_ref(o, dyntype);
        let seen = |o: &K| {
            let mut written = self.written.lock().expect("cache poisoned");
            let r = reference(o);
            // A pending write is superseded only by a newer version (the one it makes).
            if let Some((mine, at, pending)) = written.get(&r)
                && (version(&**mine) < version(o) || !pending && version(&**mine) == version(o))
            {
                if version(&**mine) == version(o)
                    && let Some(lag) = self.lag.get()
                {
                    lag.observe(at.elapsed().as_secs_f64());
                }
                written.remove(&r);
            }
        };
        match event {
            watcher::Event::Apply(o) | watcher::Event::Delete(o) => {
                let deleted = matches!(event, watcher::Event::Delete(_));
                if let Some((keys_of, index)) = &self.index {
                    let mut index = index.lock().expect("cache poisoned");
                    if deleted {
                        index.remove(&reference(o));
                    } else {
                        index.insert(reference(o), keys_of(o));
                    }
                }
                seen(o);
                let r = reference(o);
                let shared = store.get(&r).unwrap_or_else(|| Arc::new(o.clone()));
                self.notify(std::iter::once(shared));
            }
            watcher::Event::Init => {
                if let Some((_, index)) = &self.index {
                    index.lock().expect("cache poisoned").next = Some(Box::default());
                }
            }
            watcher::Event::InitApply(o) => {
                if let Some((keys_of, index)) = &self.index
                    && let Some(next) = index.lock().expect("cache poisoned").next.as_mut()
                {
                    next.insert(reference(o), keys_of(o));
                }
            }
            watcher::Event::InitDone => {
                if let Some((_, index)) = &self.index {
                    let mut index = index.lock().expect("cache poisoned");
                    if let Some(next) = index.next.take() {
                        *index = *next;
                    }
                }
                let state = store.state();
                for o in &state {
                    seen(o);
                }
                self.ready.store(true, Ordering::Release);
                self.notify(state.into_iter());
            }
        }
    }

    fn notify(&self, objects: impl Iterator<Item = Arc<K>>) {
        let mut subscribers = self.subscribers.lock().expect("cache poisoned");
        if subscribers.is_empty() {
            return;
        }
        for o in objects {
            subscribers.retain(|tx| tx.send(o.clone()).is_ok());
        }
    }
}

/// The caches of one reconciler process, each started on first use.
pub struct Caches {
    client: Client,
    metrics: super::metrics::Metrics,
    resource_bindings: OnceLock<Box<dyn Any + Send + Sync>>,
    cluster_resource_bindings: OnceLock<Box<dyn Any + Send + Sync>>,
    works: OnceLock<Cached<Work>>,
    namespaces: OnceLock<Cached<PartialObjectMeta<Namespace>>>,
    /// Resource templates per (apiVersion, kind): the detector's and the binding controller's.
    templates: Mutex<HashMap<(String, String), Cached<PackedObject>>>,
}

/// Index keys of a ResourceBinding: the depended-by labels naming the workloads that need it.
fn depended_by(b: &ResourceBinding) -> Vec<String> {
    b.metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(keys::LABEL_DEPENDED_BY_PREFIX))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Index key of a Work: its binding's permanent id, as `label=id`.
fn work_owner(w: &Work) -> Vec<String> {
    let labels = w.metadata.labels.iter().flatten();
    labels
        .filter(|(k, _)| {
            *k == keys::LABEL_RESOURCE_BINDING_PERMANENT_ID
                || *k == keys::LABEL_CLUSTER_RESOURCE_BINDING_PERMANENT_ID
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

impl Caches {
    pub fn new(client: Client, metrics: super::metrics::Metrics) -> Self {
        Caches {
            client,
            metrics,
            resource_bindings: OnceLock::new(),
            cluster_resource_bindings: OnceLock::new(),
            works: OnceLock::new(),
            namespaces: OnceLock::new(),
            templates: Mutex::default(),
        }
    }

    /// The bindings of kind `B` (ResourceBindings are indexed by their depended-by labels).
    pub fn bindings<B: Binding>(&self) -> Cached<B> {
        let slot = if B::CLUSTER_SCOPED {
            &self.cluster_resource_bindings
        } else {
            &self.resource_bindings
        };
        let any = slot.get_or_init(|| {
            let config = watcher::Config::default();
            if B::CLUSTER_SCOPED {
                let api = Api::<ClusterResourceBinding>::all(self.client.clone());
                Box::new(self.measured(Cached::start(api, config, (), None)))
            } else {
                let api = Api::<ResourceBinding>::all(self.client.clone());
                Box::new(self.measured(Cached::start(
                    api,
                    config,
                    (),
                    Some(depended_by as IndexFn<_>),
                )))
            }
        });
        any.downcast_ref::<Cached<B>>()
            .expect("one cache per binding kind")
            .clone()
    }

    /// Every Work, indexed by its binding (see [`Caches::works_of`]).
    pub fn works(&self) -> Cached<Work> {
        self.works
            .get_or_init(|| {
                let api = Api::<Work>::all(self.client.clone());
                self.measured(Cached::start(
                    api,
                    watcher::Config::default(),
                    (),
                    Some(work_owner),
                ))
            })
            .clone()
    }

    /// The Works of the binding of kind `B` with permanent id `id`.
    pub fn works_of<B: Binding>(&self, id: &str) -> Vec<Arc<Work>> {
        self.works().indexed(&format!("{}={id}", B::ID_LABEL))
    }

    /// The control plane's Namespaces (metadata only).
    pub fn namespaces(&self) -> Cached<PartialObjectMeta<Namespace>> {
        self.namespaces
            .get_or_init(|| {
                let api = Api::<PartialObjectMeta<Namespace>>::all(self.client.clone());
                Cached::start(api, watcher::Config::default(), (), None)
            })
            .clone()
    }

    /// The resource templates of one kind (every namespace), started on first use.
    pub fn templates(&self, resource: &ApiResource) -> Cached<PackedObject> {
        let key = (resource.api_version.clone(), resource.kind.clone());
        self.templates
            .lock()
            .expect("cache poisoned")
            .entry(key)
            .or_insert_with(|| {
                let api = Api::all_with(self.client.clone(), resource);
                let what = format!("{} templates", resource.kind);
                let config = watcher::Config::default();
                let cache =
                    Cached::start_named(what, api, config, resource.clone(), None, Some(typed));
                cache.measure_lag(self.lag_of(&resource.kind));
                cache
            })
            .clone()
    }

    /// `cache` with its lag measured under its kind's name.
    fn measured<K>(&self, cache: Cached<K>) -> Cached<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        cache.measure_lag(self.lag_of(&K::kind(&())));
        cache
    }

    fn lag_of(&self, kind: &str) -> Histogram {
        self.metrics
            .cache_lag
            .get_or_create(&super::metrics::CacheLabel {
                cache: kind.to_string(),
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    /// A cache fed by hand: (cache, feed).
    fn detached(
        index: Option<IndexFn<ConfigMap>>,
    ) -> (Cached<ConfigMap>, impl FnMut(watcher::Event<ConfigMap>)) {
        let mut writer = Writer::new(());
        let store = writer.as_reader();
        let shared = Arc::new(Shared::new(index));
        let cache = Cached {
            store: store.clone(),
            dyntype: (),
            shared: shared.clone(),
            _task: Arc::new(AbortOnDrop(tokio::spawn(async {}))),
        };
        let feed = move |e: watcher::Event<ConfigMap>| {
            writer.apply_watcher_event(&e);
            shared.observe(&e, &store, &());
        };
        (cache, feed)
    }

    fn cm(name: &str, rv: u64, label: Option<&str>) -> ConfigMap {
        let labels: std::collections::BTreeMap<String, String> = label
            .map(|l| (l.to_string(), "x".to_string()))
            .into_iter()
            .collect();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv.to_string(),
                "labels": labels}
        }))
        .unwrap()
    }

    fn rv(c: &Option<Arc<ConfigMap>>) -> Option<String> {
        c.as_ref()?.metadata.resource_version.clone()
    }

    fn labelled(c: &ConfigMap) -> Vec<String> {
        c.metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect()
    }

    #[tokio::test]
    async fn own_writes_are_read_until_the_watch_delivers_them() {
        let (cache, mut feed) = detached(None);
        feed(watcher::Event::Init);
        feed(watcher::Event::InitApply(cm("a", 5, None)));
        feed(watcher::Event::InitDone);
        assert!(cache.is_ready());
        assert_eq!(rv(&cache.get(Some("ns"), "a")), Some("5".into()));
        // Written by this process: newer than the store, so it is what a read sees.
        cache.record(cm("a", 7, None));
        cache.record(cm("b", 8, None));
        assert_eq!(rv(&cache.get(Some("ns"), "a")), Some("7".into()));
        assert_eq!(rv(&cache.get(Some("ns"), "b")), Some("8".into()));
        // An older event does not hide the write; the write's own version replaces it.
        feed(watcher::Event::Apply(cm("a", 6, None)));
        assert_eq!(rv(&cache.get(Some("ns"), "a")), Some("7".into()));
        feed(watcher::Event::Apply(cm("a", 9, None)));
        assert_eq!(rv(&cache.get(Some("ns"), "a")), Some("9".into()));
        // Deleted after the write: gone.
        feed(watcher::Event::Delete(cm("b", 10, None)));
        assert!(cache.get(Some("ns"), "b").is_none());
        cache.record(cm("c", 11, None));
        cache.forget(Some("ns"), "c");
        assert!(cache.get(Some("ns"), "c").is_none());
    }

    #[tokio::test]
    async fn a_pending_write_is_read_until_its_answer_or_a_newer_version() {
        let (cache, mut feed) = detached(Some(labelled));
        feed(watcher::Event::Init);
        feed(watcher::Event::InitApply(cm("a", 5, None)));
        feed(watcher::Event::InitDone);
        // A write on its way carries the version it changes, and is read over it.
        cache.record_pending(cm("a", 5, Some("k")));
        assert_eq!(labelled(&cache.get(Some("ns"), "a").unwrap()), ["k"]);
        assert_eq!(cache.indexed("k").len(), 1);
        // The version it started from, delivered late, does not hide it.
        feed(watcher::Event::Apply(cm("a", 5, None)));
        assert_eq!(labelled(&cache.get(Some("ns"), "a").unwrap()), ["k"]);
        // Failed: the store's copy again.
        cache.forget_pending(Some("ns"), "a");
        assert!(labelled(&cache.get(Some("ns"), "a").unwrap()).is_empty());
        // Answered: the answer replaces it, and forgetting a pending write keeps the answer.
        cache.record_pending(cm("a", 5, Some("k")));
        cache.record(cm("a", 6, Some("k")));
        cache.forget_pending(Some("ns"), "a");
        assert_eq!(rv(&cache.get(Some("ns"), "a")), Some("6".into()));
        // Superseded by a newer version from the watch.
        cache.record_pending(cm("b", 7, Some("k")));
        feed(watcher::Event::Apply(cm("b", 8, None)));
        assert_eq!(rv(&cache.get(Some("ns"), "b")), Some("8".into()));
        assert!(labelled(&cache.get(Some("ns"), "b").unwrap()).is_empty());
    }

    #[tokio::test]
    async fn the_index_follows_changes_relists_and_writes() {
        let (cache, mut feed) = detached(Some(labelled));
        feed(watcher::Event::Init);
        feed(watcher::Event::InitApply(cm("a", 1, Some("k"))));
        feed(watcher::Event::InitApply(cm("b", 2, Some("j"))));
        feed(watcher::Event::InitDone);
        let names = |key: &str| {
            let mut n: Vec<String> = cache
                .indexed(key)
                .iter()
                .map(|c| c.metadata.name.clone().unwrap())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names("k"), ["a"]);
        feed(watcher::Event::Apply(cm("b", 3, Some("k"))));
        assert_eq!(names("k"), ["a", "b"]);
        assert!(names("j").is_empty());
        // A write not seen yet counts; one that drops the key no longer does.
        cache.record(cm("c", 4, Some("k")));
        cache.record(cm("a", 5, None));
        assert_eq!(names("k"), ["b", "c"]);
        // A relist replaces the index (the write of c, which it may predate, stays).
        feed(watcher::Event::Init);
        feed(watcher::Event::InitApply(cm("d", 6, Some("k"))));
        feed(watcher::Event::InitDone);
        assert_eq!(names("k"), ["c", "d"]);
    }

    #[test]
    fn slim_drops_managed_fields_and_last_applied() {
        let mut cm: k8s_openapi::api::core::v1::ConfigMap =
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}],
                    "annotations": {LAST_APPLIED: "{}", "keep": "me"}}
            }))
            .unwrap();
        slim(&mut cm);
        assert!(cm.metadata.managed_fields.is_none());
        let annotations = cm.metadata.annotations.unwrap();
        assert_eq!(annotations.len(), 1);
        assert_eq!(annotations["keep"], "me");
    }
}
