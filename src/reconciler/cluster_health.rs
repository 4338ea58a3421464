//! Cluster health and lifecycle: probes each member's `/readyz` (falling back to `/healthz`)
//! every `cluster_status_update_frequency`, records Ready with Karmada's reasons, the Kubernetes
//! version, API enablements and node/resource summaries, and keeps the health taints in step.
//! It also owns the execution namespace `karmada-es-<cluster>` and, on deletion, removes the
//! cluster's Works and that namespace before letting the Cluster go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Namespace, Node, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use super::context::MANAGER;
use super::{Context, Error, Result, Shutdown};
use crate::api::cluster::{ApiEnablement, ApiResource, NodeSummary, ResourceSummary};
use crate::api::{self as keys, Cluster, ClusterStatus, Work};

const CONTROLLER: &str = "cluster";
/// Finalizer that lets the reconciler clean up a Cluster's Works and execution namespace.
pub const FINALIZER: &str = "karmada.io/cluster-controller";

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let clusters: Api<Cluster> = Api::all(ctx.client.clone());
    Controller::new(clusters, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(cluster: Arc<Cluster>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(CONTROLLER);
    tracing::warn!(cluster = %cluster.name_any(), "{err}");
    Action::requeue(Duration::from_secs(5))
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

fn ready_status(status: &ClusterStatus) -> Option<&str> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == keys::CONDITION_READY)
        .map(|c| c.status.as_str())
}

/// Sets a condition, keeping lastTransitionTime unless the status changes.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status {
            c.last_transition_time = Time(Timestamp::now());
        }
        c.status = status.into();
        c.reason = reason.into();
        c.message = message.into();
        return;
    }
    conditions.push(Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Time(Timestamp::now()),
        observed_generation: None,
    });
}

/// Health taints as Karmada sets them: Ready=False (or missing) → not-ready, Unknown →
/// unreachable, True → neither. Other taints are kept in order.
/// Health taints as Karmada sets them: Ready=False (or missing) → not-ready, Unknown →
/// unreachable, True → neither. `NoSchedule` keeps new workloads away at once; `NoExecute`
/// (once the cluster has been unhealthy past the failover eviction timeout) moves workloads
/// that do not tolerate it to other clusters. Other taints are kept in order.
fn health_taints(current: &[Taint], ready: Option<&str>, evict: bool) -> Vec<Taint> {
    let wanted_key = match ready {
        Some("True") => None,
        Some("Unknown") => Some(keys::TAINT_CLUSTER_UNREACHABLE),
        _ => Some(keys::TAINT_CLUSTER_NOT_READY),
    };
    let wanted_effects: &[&str] = if evict {
        &["NoSchedule", "NoExecute"]
    } else {
        &["NoSchedule"]
    };
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            let health =
                t.key == keys::TAINT_CLUSTER_NOT_READY || t.key == keys::TAINT_CLUSTER_UNREACHABLE;
            !health
                || (Some(t.key.as_str()) == wanted_key
                    && wanted_effects.contains(&t.effect.as_str()))
        })
        .cloned()
        .collect();
    if let Some(key) = wanted_key {
        for effect in wanted_effects {
            if !out.iter().any(|t| t.key == key && t.effect == *effect) {
                out.push(Taint {
                    key: key.into(),
                    effect: (*effect).into(),
                    time_added: Some(Time(Timestamp::now())),
                    value: None,
                });
            }
        }
    }
    out
}

/// Whether the cluster has been unhealthy for longer than `timeout` (by its Ready condition).
fn unhealthy_for(status: &ClusterStatus, timeout: Duration) -> bool {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == keys::CONDITION_READY)
        .filter(|c| c.status != "True")
        .is_some_and(|c| {
            let since = Timestamp::now().as_second() - c.last_transition_time.0.as_second();
            since >= timeout.as_secs() as i64
        })
}

pub fn execution_namespace(cluster: &str) -> String {
    format!("{}{cluster}", keys::EXECUTION_NAMESPACE_PREFIX)
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
    super::shared::remove_finalizer(&Api::<Cluster>::all(ctx.client.clone()), cluster, FINALIZER)
        .await?;
    tracing::info!(cluster = %name, "cluster removed; its Works and execution namespace are gone");
    Ok(Action::await_change())
}

/// Parses a Kubernetes quantity into a number (cpu in cores, memory in bytes).
pub fn parse_quantity(q: &str) -> f64 {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().unwrap_or(0.0);
    let mult = match suffix {
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => 1.0,
    };
    n * mult
}

fn format_quantity(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{}m", (v * 1000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_taints_follow_readiness() {
        let cordon = Taint {
            key: keys::TAINT_CLUSTER_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let t = health_taints(std::slice::from_ref(&cordon), Some("False"), false);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].key, keys::TAINT_CLUSTER_NOT_READY);
        let t = health_taints(&t, Some("Unknown"), false);
        assert_eq!(
            t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            vec![
                keys::TAINT_CLUSTER_UNSCHEDULABLE,
                keys::TAINT_CLUSTER_UNREACHABLE
            ]
        );
        let t = health_taints(&t, Some("True"), false);
        assert_eq!(t, vec![cordon]);
    }

    #[test]
    fn eviction_adds_no_execute_and_recovery_removes_it() {
        let t = health_taints(&[], Some("False"), true);
        let effects: Vec<&str> = t.iter().map(|t| t.effect.as_str()).collect();
        assert_eq!(effects, vec!["NoSchedule", "NoExecute"]);
        assert!(t.iter().all(|t| t.key == keys::TAINT_CLUSTER_NOT_READY));
        assert!(health_taints(&t, Some("True"), false).is_empty());
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), 0.5);
        assert_eq!(parse_quantity("2Ki"), 2048.0);
        assert_eq!(format_quantity(1.5), "1500m");
        assert_eq!(format_quantity(4.0), "4");
    }
}
