//! Caches that re-run a controller when what they hold changes, and finalizer removal guarded
//! by resourceVersion.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::Cluster;

/// A cache of the Clusters, and a stream that yields whenever one is added, changed or removed
/// (for `Controller::reconcile_all_on`).
pub fn cluster_cache(client: &Client) -> (Store<Cluster>, BoxStream<'static, ()>) {
    changes(Api::<Cluster>::all(client.clone()), None)
}

/// [`cluster_cache`], or only the Cluster named `only` (an agent may read just its own).
pub fn cluster_cache_of(
    client: &Client,
    only: Option<&str>,
) -> (Store<Cluster>, BoxStream<'static, ()>) {
    let Some(name) = only else {
        return cluster_cache(client);
    };
    let (store, writer) = reflector::store();
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = reflector::reflector(writer, watcher(Api::<Cluster>::all(client.clone()), config))
        .default_backoff()
        .touched_objects()
        .filter_map(|r| async move { r.ok().map(|_| ()) })
        .boxed();
    (store, stream)
}

/// A stream of `()` each time a watched object of kind `K` changes (and its cache, `store`).
pub fn changes<K>(
    api: Api<K>,
    predicate: Option<fn(&K) -> Option<u64>>,
) -> (Store<K>, BoxStream<'static, ()>)
where
    K: super::super::cache::StaticKind,
{
    let (store, writer) = reflector::store();
    let touched = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    let stream = match predicate {
        Some(p) => touched
            .predicate_filter(p, kube::runtime::PredicateConfig::default())
            .filter_map(|r| async move { r.ok().map(|_| ()) })
            .boxed(),
        None => touched
            .filter_map(|r| async move { r.ok().map(|_| ()) })
            .boxed(),
    };
    (store, stream)
}

/// Removes `finalizer` from `obj`; the resourceVersion makes the patch fail (and the reconcile
/// retry) if someone changed the object meanwhile, so no other finalizer is lost.
pub async fn remove_finalizer<K>(api: &Api<K>, obj: &K, finalizer: &str) -> kube::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let finalizers: Vec<&String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .collect();
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}});
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(())
}

/// Copies every item of `stream` to `N` streams, for controllers that re-run on the same
/// changes (one per binding kind) without a watch each. A task of its own polls the source, so
/// the cache behind it fills even before the controllers start; it ends with the source or
/// once every copy is dropped.
pub fn fanout<T: Clone + Send + 'static, const N: usize>(
    mut stream: BoxStream<'static, T>,
) -> [BoxStream<'static, T>; N] {
    let mut senders = Vec::with_capacity(N);
    let copies = std::array::from_fn(|_| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        senders.push(tx);
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
            .boxed()
    });
    tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            senders.retain(|tx| tx.send(item.clone()).is_ok());
            if senders.is_empty() {
                break;
            }
        }
    });
    copies
}

/// What of an object its renderer reads outside the status: generation (the spec), labels,
/// annotations and whether it is being deleted. A status write leaves it as it was.
pub fn outside_status<K: kube::Resource>(obj: &K) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let meta = obj.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.labels.hash(&mut h);
    meta.annotations.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    h.finish()
}

/// The items of a cache's change stream whose [`outside_status`] changed since they last
/// passed, and those that left `store` (deleted): a controller that does not read the status
/// is not re-run by every status write.
pub fn outside_status_changes<K>(
    stream: BoxStream<'static, Arc<K>>,
    store: Store<K>,
) -> BoxStream<'static, Arc<K>>
where
    K: kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default + Send + Sync,
{
    let mut seen: HashMap<ObjectRef<K>, u64> = HashMap::new();
    stream
        .filter_map(move |obj| {
            let r = crate::reconciler::cache::bare_ref(obj.as_ref(), &Default::default());
            let pass = if store.get(&r).is_none() {
                seen.remove(&r);
                true
            } else {
                let key = outside_status(obj.as_ref());
                seen.insert(r, key) != Some(key)
            };
            futures::future::ready(pass.then_some(obj))
        })
        .boxed()
}
