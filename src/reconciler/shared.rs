//! Small pieces several controllers use: the Cluster cache that re-runs a controller when
//! clusters change, and finalizer removal guarded by resourceVersion.

use futures::{Stream, StreamExt as _};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::Cluster;

/// A cache of the Clusters, and a stream that yields whenever one is added, changed or removed
/// (for `Controller::reconcile_all_on`).
pub fn cluster_cache(client: &Client) -> (Store<Cluster>, impl Stream<Item = ()> + Send + 'static) {
    let (store, writer) = reflector::store();
    let changes = reflector::reflector(
        writer,
        watcher(
            Api::<Cluster>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .filter_map(|r| async move { r.ok().map(|_| ()) });
    (store, changes)
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
