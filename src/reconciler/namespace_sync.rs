//! Namespace sync: every namespace created on the control plane is created in every member
//! cluster (also in clusters that join later), so `kubectl create ns shop` followed by a
//! propagated Deployment in `shop` just works. Each is a Work (`<ns>-<hash>`) per cluster,
//! owned by the Namespace. A namespace the reconciler created in a member goes with the
//! control plane's; one that was already there is adopted (the Works say Overwrite) and, when
//! its Work goes, released, never deleted (`engine::ownership`). A Work deleted by hand is
//! recreated, and the member namespace stays meanwhile (`execution::finalize`).
//!
//! Skipped like Karmada: reserved namespaces (`karmada-system`, `karmada-cluster`,
//! `karmada-es-*`), `default`, the skip patterns (`--skipped-propagating-namespaces`, default
//! `kube-.*`) and namespaces labelled `namespace.karmada.io/skip-auto-propagation: "true"`.
//!
//! A namespace a ClusterPropagationPolicy claims is its binding's: its ClusterResourceBinding
//! writes the Works (same names), with the policy's placement, overrides and conflict
//! resolution, and this controller leaves it alone (Karmada lets both write the same Works).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource, ResourceExt as _};
use serde_json::json;

use super::context::MANAGER;
use super::toolkit;
use super::{Context, Error, Result, Shutdown};
use crate::api::{self as keys, Cluster, Work, names};
use crate::client::ready::store_ready;
use crate::engine::render::{self, Origin};

const CONTROLLER: &str = "namespace";

struct NsCtx {
    ctx: Arc<Context>,
    clusters: Store<Cluster>,
}

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let client = ctx.client.clone();
    // A joining (or leaving) cluster re-runs every namespace.
    let (clusters, cluster_changes) = toolkit::cluster_cache(&client);
    let nctx = Arc::new(NsCtx {
        ctx: ctx.clone(),
        clusters,
    });
    let results = Controller::new(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .with_config(toolkit::config(&ctx, Duration::from_millis(200)))
    .reconcile_all_on(cluster_changes)
    .owns_stream(deleted_works(&client))
    .graceful_shutdown_on(shutdown)
    .run(reconcile, error_policy, nctx);
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

/// Works as they are deleted (their metadata), so a Work deleted by hand is recreated; other
/// changes of a Work do not concern this controller.
fn deleted_works(
    client: &kube::Client,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Work>, watcher::Error>> + Send + 'static {
    watcher(
        Api::<PartialObjectMeta<Work>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(|event| async move {
        match event {
            Ok(watcher::Event::Delete(work)) => Some(Ok(work)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    })
}

fn error_policy(ns: Arc<Namespace>, err: &Error, nctx: Arc<NsCtx>) -> Action {
    toolkit::error_policy(&nctx.ctx, CONTROLLER, ns.as_ref(), err)
}

/// Whether a control-plane namespace is kept out of the members by this controller (or left
/// to the ClusterPropagationPolicy that claimed it).
pub fn skipped(ns: &Namespace, options: &super::Options) -> bool {
    let name = ns.name_any();
    name == "default"
        || ns
            .annotations()
            .contains_key(keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME)
        || crate::engine::matching::skipped_namespace(
            &name,
            &options.skipped_propagating_namespaces,
        )
        || ns
            .labels()
            .get(keys::LABEL_NAMESPACE_SKIP_AUTO_PROPAGATION)
            .map(String::as_str)
            == Some("true")
}

async fn reconcile(ns: Arc<Namespace>, nctx: Arc<NsCtx>) -> Result<Action> {
    let ctx = &nctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    if ns.metadata.deletion_timestamp.is_some() || skipped(&ns, &ctx.options) {
        return Ok(Action::await_change());
    }
    let cached = ctx.caches.works();
    if !store_ready(&nctx.clusters).await || !cached.ready().await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let name = ns.name_any();
    let work_name = names::work_name("Namespace", &name, "");
    let template = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": ns.labels(), "annotations": ns.annotations(),
            "uid": ns.uid(), "resourceVersion": ns.resource_version()},
    });
    for cluster in nctx.clusters.state() {
        if cluster.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let work_ns = names::execution_namespace(&cluster.name_any());
        let origin = Origin {
            template_uid: ns.metadata.uid.as_deref().unwrap_or_default(),
            template_generation: ns.metadata.generation.unwrap_or(0),
            work_namespace: &work_ns,
            work_name: &work_name,
            labels: Vec::new(),
            annotations: vec![(
                keys::ANNOTATION_CONFLICT_RESOLUTION,
                keys::CONFLICT_RESOLUTION_OVERWRITE.into(),
            )],
        };
        let manifest = render::manifest(&template, None, &origin);
        let works: Api<Work> = Api::namespaced(ctx.client.clone(), &work_ns);
        let desired = json!({
            "apiVersion": Work::api_version(&()), "kind": Work::kind(&()),
            "metadata": {"name": work_name, "namespace": work_ns,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Namespace", "name": name, "uid": ns.uid(), "blockOwnerDeletion": true}],
                "finalizers": [keys::FINALIZER_EXECUTION_CONTROLLER],
                "annotations": {keys::ANNOTATION_CONFLICT_RESOLUTION: keys::CONFLICT_RESOLUTION_OVERWRITE}},
            "spec": {"workload": {"manifests": [manifest]}},
        });
        let current = cached.get(Some(&work_ns), &work_name);
        let live = current.map(|w| serde_json::to_value(&*w).unwrap_or_default());
        if live
            .as_ref()
            .is_none_or(|l| !render::is_subset(&desired, l) || l["spec"] != desired["spec"])
        {
            match works
                .patch(
                    &work_name,
                    &PatchParams::apply(MANAGER).force(),
                    &Patch::Apply(&desired),
                )
                .await
            {
                Ok(written) => cached.record(written),
                // The execution namespace appears with the cluster's first status update.
                Err(kube::Error::Api(s)) if s.code == 404 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Action::await_change())
}
