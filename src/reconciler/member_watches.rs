//! The execution controller's watches in member clusters: one per (cluster, kind) of the
//! objects it applied (label `karmada.io/managed=true`), each into a cache the execution
//! controller reads the live objects from (a GET only for an object the cache does not hold:
//! first contact, or one that is not managed); each change triggers the Work that owns the
//! object. They follow the member's credentials: a rotated token or a re-join
//! (another Secret, another endpoint) restarts every watch of that member on the new clients,
//! and a removed Cluster stops them. Watch errors are logged (once per outage) and retried
//! with kube-runtime's backoff.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt as _;
use kube::api::Api;
use kube::core::ApiResource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cache::Cached;
use super::metrics::{ClusterLabel, Metrics};
use super::packed::PackedObject;
use crate::api::{self as keys, Work, names};
use crate::client::member::{Member, WATCH_TIMEOUT_SECS};

/// (apiVersion, kind).
type Kind = (String, String);

pub struct MemberWatches {
    triggers: mpsc::UnboundedSender<ObjectRef<Work>>,
    metrics: Metrics,
    clusters: Mutex<HashMap<String, ClusterWatches>>,
}

struct ClusterWatches {
    /// The credentials every watch of the cluster runs on.
    credentials: u64,
    kinds: HashMap<Kind, Watch>,
}

/// One kind's watch in one member: its cache, and the task that turns its changes into Work
/// triggers.
struct Watch {
    ar: ApiResource,
    cache: Cached<PackedObject>,
    triggers: JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.triggers.abort();
    }
}

impl MemberWatches {
    pub fn new(triggers: mpsc::UnboundedSender<ObjectRef<Work>>, metrics: Metrics) -> Self {
        MemberWatches {
            triggers,
            metrics,
            clusters: Mutex::default(),
        }
    }

    /// Makes sure a watch of `ar` runs in `cluster` on `member`'s credentials; other
    /// credentials than the running watches' restart every watch of the cluster.
    pub fn ensure(&self, cluster: &str, member: &Member, ar: &ApiResource) {
        let mut clusters = self.clusters.lock().expect("watch registry poisoned");
        let entry = clusters
            .entry(cluster.to_string())
            .or_insert_with(|| ClusterWatches {
                credentials: member.credentials,
                kinds: HashMap::new(),
            });
        if entry.credentials != member.credentials {
            self.restart(cluster, entry, member);
        }
        let kind = (ar.api_version.clone(), ar.kind.clone());
        let running = entry
            .kinds
            .get(&kind)
            .is_some_and(|w| !w.triggers.is_finished());
        if !running {
            let watch = self.spawn(cluster, member, ar);
            entry.kinds.insert(kind, watch);
            self.publish(cluster, entry.kinds.len());
        }
    }

    /// The cache of the managed objects of kind `ar` in `cluster` (see `Cached::is_ready`).
    pub fn cache(&self, cluster: &str, ar: &ApiResource) -> Option<Cached<PackedObject>> {
        let clusters = self.clusters.lock().expect("watch registry poisoned");
        let watch = clusters
            .get(cluster)?
            .kinds
            .get(&(ar.api_version.clone(), ar.kind.clone()))?;
        Some(watch.cache.clone())
    }

    /// Restarts the watches of `cluster` on `member`'s clients if its credentials changed;
    /// true if it did.
    pub fn follow(&self, cluster: &str, member: &Member) -> bool {
        let mut clusters = self.clusters.lock().expect("watch registry poisoned");
        match clusters.get_mut(cluster) {
            Some(entry) if entry.credentials != member.credentials => {
                self.restart(cluster, entry, member);
                true
            }
            _ => false,
        }
    }

    /// Stops every watch of `cluster` (it was removed).
    pub fn stop(&self, cluster: &str) {
        let removed = self
            .clusters
            .lock()
            .expect("watch registry poisoned")
            .remove(cluster);
        if removed.is_some() {
            tracing::info!(%cluster, "member watches stopped");
        }
        self.metrics.member_watches.remove(&ClusterLabel {
            cluster: cluster.to_string(),
        });
    }

    pub fn stop_all(&self) {
        for cluster in self.clusters() {
            self.stop(&cluster);
        }
    }

    /// The clusters with watches.
    pub fn clusters(&self) -> Vec<String> {
        self.clusters
            .lock()
            .expect("watch registry poisoned")
            .keys()
            .cloned()
            .collect()
    }

    fn restart(&self, cluster: &str, entry: &mut ClusterWatches, member: &Member) {
        tracing::info!(%cluster, watches = entry.kinds.len(), "member credentials changed; restarting its watches");
        entry.credentials = member.credentials;
        for watch in entry.kinds.values_mut() {
            *watch = self.spawn(cluster, member, &watch.ar.clone());
        }
    }

    fn publish(&self, cluster: &str, watches: usize) {
        self.metrics
            .member_watches
            .get_or_create(&ClusterLabel {
                cluster: cluster.to_string(),
            })
            .set(watches as i64);
    }

    /// A watch of the managed objects of kind `ar` in `cluster`, into a cache; its first list
    /// triggers every Work with such an object, so what changed while no watch ran is caught
    /// up.
    fn spawn(&self, cluster: &str, member: &Member, ar: &ApiResource) -> Watch {
        let api: Api<PackedObject> = Api::all_with(member.watch.clone(), ar);
        let config = watcher::Config::default()
            .labels(&format!("{}=true", keys::LABEL_MANAGED))
            .timeout(WATCH_TIMEOUT_SECS);
        let cache = Cached::start_named(
            format!("{} in cluster {cluster}", ar.kind),
            api,
            config,
            ar.clone(),
            None,
            Some(super::cache::typed),
        );
        let mut changes = cache.subscribe();
        let triggers = self.triggers.clone();
        let cluster_ns = names::execution_namespace(cluster);
        let task = tokio::spawn(async move {
            while let Some(obj) = changes.next().await {
                let (Some(name), Some(ns)) = (
                    obj.annotation(keys::ANNOTATION_WORK_NAME),
                    obj.annotation(keys::ANNOTATION_WORK_NAMESPACE),
                ) else {
                    continue;
                };
                if ns != cluster_ns {
                    continue; // applied by another control plane or another cluster entry
                }
                if triggers.send(ObjectRef::new(&name).within(&ns)).is_err() {
                    break;
                }
            }
        });
        Watch {
            ar: ar.clone(),
            cache,
            triggers: task,
        }
    }
}
