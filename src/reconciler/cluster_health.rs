//! Cluster health and lifecycle: probes each member's `/readyz` (falling back to `/healthz`)
//! every `cluster_status_update_frequency`, records Ready with Karmada's reasons, the Kubernetes
//! version, API enablements and node/resource summaries, and keeps the health taints in step.
//! It also owns the execution namespace `karmada-es-<cluster>` and, on deletion, removes the
//! cluster's Works and that namespace before letting the Cluster go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use super::context::MANAGER;
use super::toolkit::{self, set_condition};
use super::{Context, Error, Result, Shutdown};
use crate::api::cluster::{ApiEnablement, ApiResource, NodeSummary, ResourceSummary};
use crate::api::names::execution_namespace;
use crate::api::{self as keys, Cluster, ClusterStatus, Work};
use crate::engine::cluster::{health_taints, ready_status, unhealthy_for};
use crate::engine::quantity::{format_quantity, parse_quantity};

const CONTROLLER: &str = "cluster";
/// Finalizer that lets the reconciler clean up a Cluster's Works and execution namespace.
pub const FINALIZER: &str = "karmada.io/cluster-controller";

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let clusters: Api<Cluster> = Api::all(ctx.client.clone());
    let results = Controller::new(clusters, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone());
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

fn error_policy(cluster: Arc<Cluster>, err: &Error, ctx: Arc<Context>) -> Action {
    toolkit::error_policy(&ctx, CONTROLLER, cluster.as_ref(), err)
}

async fn reconcile(cluster: Arc<Cluster>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.start(CONTROLLER);
    let name = cluster.name_any();
    let api: Api<Cluster> = Api::all(ctx.client.clone());
    if cluster.metadata.deletion_timestamp.is_some() {
        return finalize(&cluster, &ctx).await;
    }
    if !cluster.finalizers().iter().any(|f| f == FINALIZER) {
        let mut finalizers = cluster.finalizers().to_vec();
        finalizers.push(FINALIZER.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": cluster.resource_version()}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        return Ok(Action::await_change());
    }
    ensure_execution_namespace(&ctx.client, &name).await?;

    let observed = probe(&cluster, &ctx).await;
    let old = cluster.status.clone().unwrap_or_default();
    let status = next_status(&old, observed, &name, &ctx);
    if status != old {
        let patch = json!({"status": status});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    let evict = unhealthy_for(&status, ctx.options.failover_eviction_timeout);
    let taints = health_taints(&cluster.spec.taints, ready_status(&status), evict);
    if taints != cluster.spec.taints {
        let patch = json!({"spec": {"taints": taints}, "metadata": {"resourceVersion": cluster.resource_version()}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    Ok(Action::requeue(ctx.options.cluster_status_update_frequency))
}

/// What one probe saw.
enum Observed {
    Healthy(Box<Facts>),
    /// Reached, but the health endpoint said no.
    Unhealthy(String),
    Unreachable(String),
}

struct Facts {
    version: String,
    apis: Vec<ApiEnablement>,
    nodes: NodeSummary,
    resources: ResourceSummary,
}

async fn probe(cluster: &Cluster, ctx: &Context) -> Observed {
    let timeout = ctx.options.cluster_probe_timeout;
    let client = match ctx.members.get(&ctx.client, cluster).await {
        Ok(c) => c,
        Err(e) => return Observed::Unreachable(e.to_string()),
    };
    let health = tokio::time::timeout(timeout, health_check(&client)).await;
    match health {
        Err(_) => return Observed::Unreachable(format!("no answer within {}s", timeout.as_secs())),
        Ok(Err(HealthError::Unreachable(e))) => return Observed::Unreachable(e),
        Ok(Err(HealthError::Unhealthy(e))) => return Observed::Unhealthy(e),
        Ok(Ok(())) => {}
    }
    match tokio::time::timeout(timeout * 4, facts(&client)).await {
        Ok(Ok(f)) => Observed::Healthy(Box::new(f)),
        Ok(Err(e)) => Observed::Unreachable(e.to_string()),
        Err(_) => Observed::Unreachable("collecting cluster facts timed out".into()),
    }
}

enum HealthError {
    Unreachable(String),
    Unhealthy(String),
}

async fn health_check(client: &Client) -> std::result::Result<(), HealthError> {
    for path in ["/readyz", "/healthz"] {
        let req = http::Request::get(path)
            .body(Vec::new())
            .expect("static request");
        match client.request_text(req).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(kube::Error::Api(s)) => {
                return Err(HealthError::Unhealthy(format!(
                    "{path} returned {}: {}",
                    s.code, s.message
                )));
            }
            Err(e) => return Err(HealthError::Unreachable(e.to_string())),
        }
    }
    Err(HealthError::Unhealthy(
        "neither /readyz nor /healthz is served".into(),
    ))
}

async fn facts(client: &Client) -> Result<Facts> {
    let version = client.apiserver_version().await?.git_version;
    let apis = api_enablements(client).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).await?;
    let mut summary = NodeSummary {
        total_num: list.items.len() as i32,
        ready_num: 0,
    };
    let mut allocatable: BTreeMap<String, f64> = BTreeMap::new();
    for node in &list.items {
        let status = node.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            summary.ready_num += 1;
        }
        for (k, q) in status
            .and_then(|s| s.allocatable.as_ref())
            .into_iter()
            .flatten()
        {
            *allocatable.entry(k.clone()).or_default() += parse_quantity(&q.0);
        }
    }
    let resources = ResourceSummary {
        allocatable: allocatable
            .into_iter()
            .map(|(k, v)| (k, Quantity(format_quantity(v))))
            .collect(),
        ..Default::default()
    };
    Ok(Facts {
        version,
        apis,
        nodes: summary,
        resources,
    })
}

/// The member's API groups and kinds, sorted, like Karmada's apiEnablements.
async fn api_enablements(client: &Client) -> Result<Vec<ApiEnablement>> {
    let discovery = kube::Discovery::new(client.clone()).run().await?;
    let mut out = Vec::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let mut resources: Vec<ApiResource> = group
                .versioned_resources(version)
                .into_iter()
                .map(|(ar, _)| ApiResource {
                    name: ar.plural,
                    kind: ar.kind,
                })
                .collect();
            resources.sort_by(|a, b| a.name.cmp(&b.name));
            let gv = if group.name().is_empty() {
                version.to_string()
            } else {
                format!("{}/{version}", group.name())
            };
            out.push(ApiEnablement {
                group_version: gv,
                resources,
            });
        }
    }
    out.sort_by(|a, b| a.group_version.cmp(&b.group_version));
    Ok(out)
}

/// Folds a probe into the status. Failures only flip Ready to False once they have lasted
/// `cluster_failure_threshold`, so a blip does not evict anything.
fn next_status(
    old: &ClusterStatus,
    observed: Observed,
    name: &str,
    ctx: &Context,
) -> ClusterStatus {
    let mut status = old.clone();
    let mut failures = ctx
        .probe_failures
        .lock()
        .expect("probe failure map poisoned");
    let (ready, reason, message) = match observed {
        Observed::Healthy(facts) => {
            failures.remove(name);
            status.kubernetes_version = facts.version;
            status.api_enablements = facts.apis;
            status.node_summary = Some(facts.nodes);
            status.resource_summary = Some(facts.resources);
            let (reason, msg) = if status.api_enablements.is_empty() {
                (keys::REASON_API_ENABLEMENTS_EMPTY, "no API was discovered")
            } else {
                (
                    keys::REASON_API_ENABLEMENTS_COMPLETE,
                    "all API enablements were collected",
                )
            };
            set_condition(
                &mut status.conditions,
                keys::CONDITION_COMPLETE_API_ENABLEMENTS,
                "True",
                reason,
                msg,
            );
            (
                "True",
                keys::REASON_CLUSTER_READY,
                "cluster is healthy and ready to accept workloads".to_string(),
            )
        }
        Observed::Unhealthy(msg) => (
            "False",
            keys::REASON_CLUSTER_NOT_READY,
            format!("cluster is not healthy: {msg}"),
        ),
        Observed::Unreachable(msg) => (
            "False",
            keys::REASON_CLUSTER_NOT_REACHABLE,
            format!("cluster is not reachable: {msg}"),
        ),
    };
    if ready == "False" {
        let since = *failures
            .entry(name.to_string())
            .or_insert_with(Instant::now);
        let was_ready = ready_status(old) == Some("True");
        if was_ready && since.elapsed() < ctx.options.cluster_failure_threshold {
            tracing::info!(
                cluster = name,
                "probe failed ({message}); within the grace period, Ready stays True"
            );
            return status;
        }
    }
    set_condition(
        &mut status.conditions,
        keys::CONDITION_READY,
        ready,
        reason,
        &message,
    );
    status
}

async fn ensure_execution_namespace(client: &Client, cluster: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let name = execution_namespace(cluster);
    if api.get_opt(&name).await?.is_some() {
        return Ok(());
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {keys::LABEL_KARMADA_SYSTEM: "true"}}});
    api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(ns))
        .await?;
    Ok(())
}

/// Deletes the cluster's Works (the execution controller removes their member objects while
/// the member answers) and the execution namespace, then releases the Cluster.
async fn finalize(cluster: &Cluster, ctx: &Context) -> Result<Action> {
    let name = cluster.name_any();
    if !cluster.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let ns = execution_namespace(&name);
    let works: Api<Work> = Api::namespaced(ctx.client.clone(), &ns);
    let remaining = works.list(&ListParams::default()).await?.items;
    if !remaining.is_empty() {
        for w in remaining
            .iter()
            .filter(|w| w.metadata.deletion_timestamp.is_none())
        {
            works
                .delete(&w.name_any(), &DeleteParams::background())
                .await?;
        }
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    if namespaces.get_opt(&ns).await?.is_some() {
        let _ = namespaces.delete(&ns, &DeleteParams::background()).await?;
    }
    ctx.members.forget(&name);
    ctx.probe_failures
        .lock()
        .expect("probe failure map poisoned")
        .remove(&name);
    super::toolkit::remove_finalizer(&Api::<Cluster>::all(ctx.client.clone()), cluster, FINALIZER)
        .await?;
    tracing::info!(cluster = %name, "cluster removed; its Works and execution namespace are gone");
    Ok(Action::await_change())
}
