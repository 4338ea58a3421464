//! The execution controller's watches in member clusters: one per (cluster, kind) of the
//! objects it applied (label `karmada.io/managed=true`); each change triggers the Work that
//! owns the object. They follow the member's credentials: a rotated token or a re-join
//! (another Secret, another endpoint) restarts every watch of that member on the new clients,
//! and a removed Cluster stops them. Watch errors are logged (once per outage) and retried
//! with kube-runtime's backoff.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt as _;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics::{ClusterLabel, Metrics};
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
    kinds: HashMap<Kind, (ApiResource, JoinHandle<()>)>,
}

impl Drop for ClusterWatches {
    fn drop(&mut self) {
        for (_, task) in self.kinds.values() {
            task.abort();
        }
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
            .is_some_and(|(_, task)| !task.is_finished());
        if !running {
            let task = self.spawn(cluster, member, ar);
            entry.kinds.insert(kind, (ar.clone(), task));
            self.publish(cluster, entry.kinds.len());
        }
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
        for (ar, task) in entry.kinds.values_mut() {
            task.abort();
            *task = self.spawn(cluster, member, ar);
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

    /// A watch of the managed objects of kind `ar` in `cluster`; its first list triggers every
    /// Work with such an object, so what changed while no watch ran is caught up.
    fn spawn(&self, cluster: &str, member: &Member, ar: &ApiResource) -> JoinHandle<()> {
        let api: Api<DynamicObject> = Api::all_with(member.watch.clone(), ar);
        let config = watcher::Config::default()
            .labels(&format!("{}=true", keys::LABEL_MANAGED))
            .timeout(WATCH_TIMEOUT_SECS);
        let triggers = self.triggers.clone();
        let cluster = cluster.to_string();
        let cluster_ns = names::execution_namespace(&cluster);
        let kind = ar.kind.clone();
        tokio::spawn(async move {
            let mut events = watcher(api, config).default_backoff().boxed();
            let mut failing = false;
            while let Some(event) = events.next().await {
                let obj = match event {
                    Err(e) => {
                        if failing {
                            tracing::debug!(%cluster, %kind, "member watch still failing: {e}");
                        } else {
                            tracing::warn!(%cluster, %kind, "member watch failed, retrying with backoff: {e}");
                        }
                        failing = true;
                        continue;
                    }
                    Ok(event) => {
                        if failing {
                            tracing::info!(%cluster, %kind, "member watch resumed");
                            failing = false;
                        }
                        match event {
                            watcher::Event::Apply(o)
                            | watcher::Event::Delete(o)
                            | watcher::Event::InitApply(o) => o,
                            watcher::Event::Init | watcher::Event::InitDone => continue,
                        }
                    }
                };
                let a = obj.annotations();
                let (Some(name), Some(ns)) = (
                    a.get(keys::ANNOTATION_WORK_NAME),
                    a.get(keys::ANNOTATION_WORK_NAMESPACE),
                ) else {
                    continue;
                };
                if *ns != cluster_ns {
                    continue; // applied by another control plane or another cluster entry
                }
                if triggers.send(ObjectRef::new(name).within(ns)).is_err() {
                    break;
                }
            }
        })
    }
}
