//! Cluster health and lifecycle: probes each member's `/readyz` (falling back to `/healthz`)
//! every `cluster_status_update_frequency`, records Ready with Karmada's reasons, the Kubernetes
//! version, API enablements and node/resource summaries, and keeps the health taints in step.
//! It also owns the execution namespace `karmada-es-<cluster>` and, on deletion, removes the
//! cluster's Works and that namespace before letting the Cluster go.
//!
//! Pull clusters are not probed from here: their agent reports their status ([`report`]) and
//! renews a Lease (`karmada-cluster/<cluster>`); when that Lease has not been renewed for
//! `--cluster-lease-grace`, Ready turns Unknown (as Karmada's cluster controller does).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use super::context::MANAGER;
use super::toolkit::events;
use super::toolkit::{self, set_condition};
use super::{Context, Error, Result, Shutdown};
use k8s_openapi::api::coordination::v1::Lease;

use crate::api::cluster::{
    ApiEnablement, ApiResource, ClusterSyncMode, NodeSummary, ResourceModel, ResourceSummary,
};
use crate::api::names::execution_namespace;
use crate::api::taint_policy::ClusterTaintPolicy;
use crate::api::{self as keys, Cluster, ClusterStatus, Work};
use crate::client::ready::store_ready;
use crate::engine::capacity;
use crate::engine::cluster::{Thresholds, health_taints, hold_ready, policy_taints, ready_status};
use crate::install::agent::LEASE_NAMESPACE;

const CONTROLLER: &str = "cluster";
/// Finalizer that lets the reconciler clean up a Cluster's Works and execution namespace.
pub const FINALIZER: &str = "karmada.io/cluster-controller";

struct HealthCtx {
    ctx: Arc<Context>,
    /// The ClusterTaintPolicies (a reflector's cache).
    taint_policies: Store<ClusterTaintPolicy>,
}

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let clusters: Api<Cluster> = Api::all(ctx.client.clone());
    // A ClusterTaintPolicy created or changed re-evaluates every cluster.
    let (taint_policies, policy_changes) =
        toolkit::changes(Api::<ClusterTaintPolicy>::all(ctx.client.clone()), None);
    let hctx = Arc::new(HealthCtx {
        ctx: ctx.clone(),
        taint_policies,
    });
    let results = Controller::new(clusters, watcher::Config::default())
        .reconcile_all_on(policy_changes)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, hctx);
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

fn error_policy(cluster: Arc<Cluster>, err: &Error, hctx: Arc<HealthCtx>) -> Action {
    toolkit::error_policy(&hctx.ctx, CONTROLLER, cluster.as_ref(), err)
}

async fn reconcile(cluster: Arc<Cluster>, hctx: Arc<HealthCtx>) -> Result<Action> {
    let ctx = hctx.ctx.clone();
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
    ensure_execution_namespace(&ctx, &cluster).await?;

    let old = cluster.status.clone().unwrap_or_default();
    let status = if cluster.spec.sync_mode == ClusterSyncMode::Pull {
        match lease_silence(&ctx, &name).await? {
            // The agent reports; its status stands.
            None => old.clone(),
            Some(why) => {
                let mut status = old.clone();
                set_condition(
                    &mut status.conditions,
                    keys::CONDITION_READY,
                    "Unknown",
                    keys::REASON_CLUSTER_STATUS_UNKNOWN,
                    &why,
                );
                status
            }
        }
    } else {
        let observed = probe(&cluster, &ctx).await;
        next_status(&old, observed, &name, &ctx)
    };
    if status != old {
        let mut patch = json!({"status": status});
        // A merge patch keeps map keys it does not name: resources no longer allocated (the
        // last pod requesting them finished) are removed explicitly.
        if let (Some(before), Some(summary)) = (
            old.resource_summary.as_ref(),
            patch.pointer_mut("/status/resourceSummary"),
        ) {
            for (field, keys) in [
                ("allocatable", &before.allocatable),
                ("allocated", &before.allocated),
                ("allocating", &before.allocating),
            ] {
                for k in keys.keys() {
                    let now = &mut summary[field];
                    if now.get(k).is_none() {
                        now[k.as_str()] = serde_json::Value::Null;
                    }
                }
            }
        }
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    let taints = health_taints(&cluster.spec.taints, ready_status(&status));
    // Then the ClusterTaintPolicies, on the conditions just recorded.
    let taints = if store_ready(&hctx.taint_policies).await {
        let mut policies = hctx.taint_policies.state();
        policies.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .then_with(|| a.name_any().cmp(&b.name_any()))
        });
        let policies: Vec<&ClusterTaintPolicy> = policies.iter().map(|p| p.as_ref()).collect();
        let mut seen = (*cluster).clone();
        seen.spec.taints = taints;
        seen.status = Some(status.clone());
        policy_taints(&seen, &policies, k8s_openapi::jiff::Timestamp::now())
    } else {
        taints
    };
    if taints != cluster.spec.taints {
        let patch = json!({"spec": {"taints": taints}, "metadata": {"resourceVersion": cluster.resource_version()}});
        let regarding = events::object_ref(cluster.as_ref());
        let described = taints
            .iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect::<Vec<_>>()
            .join(", ");
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {
                let note = format!("Taint cluster {name} succeed: taints now [{described}]");
                events::publish(
                    &ctx,
                    &regarding,
                    false,
                    events::TAINT_CLUSTER_SUCCEED,
                    &note,
                    "Taint",
                )
                .await;
            }
            // A conflict is a newer Cluster: its own reconciliation decides again.
            Err(kube::Error::Api(s)) if s.code == 409 => return Err(kube::Error::Api(s).into()),
            Err(e) => {
                let note = format!("Taint cluster {name} failed: {e}");
                events::publish(
                    &ctx,
                    &regarding,
                    true,
                    events::TAINT_CLUSTER_FAILED,
                    &note,
                    "Taint",
                )
                .await;
                return Err(e.into());
            }
        }
    }
    Ok(Action::requeue(ctx.options.cluster_status_update_frequency))
}

/// Why a Pull cluster's agent counts as silent (its Lease missing or not renewed within
/// `--cluster-lease-grace`), or `None` while it renews.
async fn lease_silence(ctx: &Context, name: &str) -> Result<Option<String>> {
    let leases: Api<Lease> = Api::namespaced(ctx.client.clone(), LEASE_NAMESPACE);
    let grace = ctx.options.cluster_lease_grace;
    let Some(lease) = leases.get_opt(name).await? else {
        return Ok(Some(format!(
            "the agent of cluster {name} has not created its lease {LEASE_NAMESPACE}/{name} yet; is karmada-agent running in the member?"
        )));
    };
    let renewed = lease.spec.and_then(|s| s.renew_time.or(s.acquire_time));
    let silent_for = renewed.and_then(|t| {
        let d = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
        Duration::try_from(d).ok()
    });
    Ok(match silent_for {
        Some(d) if d <= grace => None,
        _ => Some(format!(
            "cluster status has not been updated: the agent has not renewed lease {LEASE_NAMESPACE}/{name} for more than {}",
            humanize(grace)
        )),
    })
}

/// The agent's side: probes its own cluster (the pinned member client) and records the
/// status, through the same thresholds as the control plane's probes.
pub async fn report(cluster: &Cluster, ctx: &Context) -> Result<()> {
    let name = cluster.name_any();
    let observed = probe(cluster, ctx).await;
    let old = cluster.status.clone().unwrap_or_default();
    let status = next_status(&old, observed, &name, ctx);
    if status != old {
        Api::<Cluster>::all(ctx.client.clone())
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await?;
    }
    Ok(())
}

/// What one probe saw.
enum Observed {
    /// `/readyz` (or `/healthz`) answered ok; the facts are whatever could be collected.
    Healthy(Box<Facts>),
    /// Reached, but the health endpoint said no.
    Unhealthy(String),
    /// The health endpoint did not answer (connection, TLS, timeout).
    Unreachable(String),
    /// No probe could be sent: no member client (its Secret is missing or unusable).
    NotProbed(String),
}

/// Facts about a healthy member, collected best-effort beside the health probe. A part that
/// could not be read is `None` and the status keeps what it had: facts never decide readiness.
#[derive(Default)]
struct Facts {
    version: Option<String>,
    apis: Option<Discovered>,
    nodes: Option<(NodeSummary, ResourceSummary)>,
}

/// The member's API enablements: those that answered, and the group versions that did not.
struct Discovered {
    apis: Vec<ApiEnablement>,
    failed: Vec<String>,
}

async fn probe(cluster: &Cluster, ctx: &Context) -> Observed {
    let timeout = ctx.options.cluster_probe_timeout;
    let name = cluster.name_any();
    let client = match ctx.members.get(&ctx.client, cluster).await {
        Ok(c) => c,
        Err(e) => return Observed::NotProbed(e.to_string()),
    };
    let health = tokio::time::timeout(timeout, health_check(&client)).await;
    match health {
        Err(_) => {
            return Observed::Unreachable(format!("no answer within {}", humanize(timeout)));
        }
        Ok(Err(HealthError::Unreachable(e))) => return Observed::Unreachable(e),
        Ok(Err(HealthError::Unhealthy(e))) => return Observed::Unhealthy(e),
        Ok(Ok(())) => {}
    }
    Observed::Healthy(Box::new(
        facts(&client, &name, &cluster.spec.resource_models, timeout).await,
    ))
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
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

/// Nodes listed per page: a large member answers in bounded pieces.
const NODE_PAGE: u32 = 500;

/// Version, API enablements and node summaries, each on its own time budget (`timeout` per
/// request, four times that per part). A slow node LIST, a broken aggregated API (an APIService
/// whose backend is gone answers 503, or not at all) or any other failure only leaves that part
/// out (logged); it never turns into a health verdict.
async fn facts(
    client: &Client,
    cluster: &str,
    models: &[ResourceModel],
    timeout: Duration,
) -> Facts {
    let budget = timeout * 4;
    let (version, apis, nodes) = futures::join!(
        tokio::time::timeout(timeout, client.apiserver_version()),
        api_enablements(client, timeout, budget),
        tokio::time::timeout(budget, node_facts(client, models)),
    );
    let version = match version {
        Ok(Ok(v)) => Some(v.git_version),
        Ok(Err(e)) => {
            tracing::warn!(cluster, "reading the Kubernetes version failed: {e}");
            None
        }
        Err(_) => {
            tracing::warn!(cluster, "reading the Kubernetes version timed out");
            None
        }
    };
    let apis = match apis {
        Ok(d) => {
            if !d.failed.is_empty() {
                tracing::warn!(
                    cluster,
                    "API discovery incomplete: {} did not answer",
                    d.failed.join(", ")
                );
            }
            Some(d)
        }
        Err(e) => {
            tracing::warn!(cluster, "API discovery failed: {e}");
            None
        }
    };
    let nodes = match nodes {
        Ok(Ok(n)) => Some(n),
        Ok(Err(e)) => {
            tracing::warn!(cluster, "listing nodes failed: {e}");
            None
        }
        Err(_) => {
            tracing::warn!(
                cluster,
                "listing nodes took longer than {}; node and resource summaries kept",
                humanize(budget)
            );
            None
        }
    };
    Facts {
        version,
        apis,
        nodes,
    }
}

/// Node summary and resource summary (allocatable, allocated, allocating, grades), listing
/// nodes and unfinished pods page by page.
async fn node_facts(
    client: &Client,
    models: &[ResourceModel],
) -> Result<(NodeSummary, ResourceSummary)> {
    let nodes: Api<Node> = Api::all(client.clone());
    let mut summary = NodeSummary {
        total_num: 0,
        ready_num: 0,
    };
    let mut all_nodes: Vec<Node> = Vec::new();
    let mut params = ListParams::default().limit(NODE_PAGE);
    loop {
        let page = nodes.list(&params).await?;
        for node in &page.items {
            summary.total_num = summary.total_num.saturating_add(1);
            let status = node.status.as_ref();
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
                summary.ready_num = summary.ready_num.saturating_add(1);
            }
        }
        all_nodes.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    // Finished pods hold nothing; the API server leaves them out.
    let pods: Api<Pod> = Api::all(client.clone());
    let mut all_pods: Vec<Pod> = Vec::new();
    let mut params = ListParams::default()
        .fields("status.phase!=Succeeded,status.phase!=Failed")
        .limit(NODE_PAGE);
    loop {
        let page = pods.list(&params).await?;
        all_pods.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    let resources = capacity::resource_summary(&all_nodes, &all_pods, models);
    Ok((summary, resources))
}

/// The member's API groups and kinds, sorted, like Karmada's apiEnablements. Every group
/// version is asked on its own (8 at a time, `per_request` each, all within `budget`): one that
/// fails or hangs is listed in `failed` and the others still count. Err only when not even the
/// group list could be read.
async fn api_enablements(
    client: &Client,
    per_request: Duration,
    budget: Duration,
) -> std::result::Result<Discovered, String> {
    use futures::StreamExt as _;
    let deadline = tokio::time::Instant::now() + budget;
    let core = tokio::time::timeout_at(deadline, client.list_core_api_versions());
    let groups = tokio::time::timeout_at(deadline, client.list_api_groups());
    let (core, groups) = futures::join!(core, groups);
    let core = core
        .map_err(|_| "listing the core API versions timed out".to_string())?
        .map_err(|e| format!("listing the core API versions: {e}"))?;
    let groups = groups
        .map_err(|_| "listing the API groups timed out".to_string())?
        .map_err(|e| format!("listing the API groups: {e}"))?;
    let mut versions: Vec<String> = core.versions.clone();
    for g in &groups.groups {
        versions.extend(g.versions.iter().map(|v| v.group_version.clone()));
    }
    let mut pending: std::collections::BTreeSet<String> = versions.iter().cloned().collect();
    let mut answers = futures::stream::iter(versions)
        .map(|gv| async move {
            let list = if gv.contains('/') {
                tokio::time::timeout(per_request, client.list_api_group_resources(&gv)).await
            } else {
                tokio::time::timeout(per_request, client.list_core_api_resources(&gv)).await
            };
            (gv, list)
        })
        .buffer_unordered(8);
    let mut apis = Vec::new();
    while let Ok(Some((gv, list))) = tokio::time::timeout_at(deadline, answers.next()).await {
        let Ok(Ok(list)) = list else { continue };
        pending.remove(&gv);
        let mut resources: Vec<ApiResource> = list
            .resources
            .into_iter()
            // Subresources (`deployments/scale`) are not kinds.
            .filter(|r| !r.name.contains('/'))
            .map(|r| ApiResource {
                name: r.name,
                kind: r.kind,
            })
            .collect();
        resources.sort_by(|a, b| a.name.cmp(&b.name));
        apis.push(ApiEnablement {
            group_version: gv,
            resources,
        });
    }
    apis.sort_by(|a, b| a.group_version.cmp(&b.group_version));
    Ok(Discovered {
        apis,
        failed: pending.into_iter().collect(),
    })
}

/// Folds a probe into the status. Ready follows the health endpoints only, through the
/// success and failure thresholds (so a blip neither evicts nor readmits anything); the facts
/// of a healthy probe are recorded as far as they could be read.
fn next_status(
    old: &ClusterStatus,
    observed: Observed,
    name: &str,
    ctx: &Context,
) -> ClusterStatus {
    let mut status = old.clone();
    let (ready, reason, message) = match observed {
        Observed::Healthy(facts) => {
            record_facts(&mut status, *facts);
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
        Observed::NotProbed(msg) => (
            "Unknown",
            keys::REASON_CLUSTER_STATUS_UNKNOWN,
            format!("cluster cannot be probed: {msg}"),
        ),
    };
    let current = ready_status(old);
    let hold = {
        let mut memory = ctx
            .ready_observations
            .lock()
            .expect("ready observation map poisoned");
        let mut entry = memory.remove(name);
        let hold = hold_ready(
            &mut entry,
            current,
            ready,
            Instant::now(),
            Thresholds {
                success: ctx.options.cluster_success_threshold,
                failure: ctx.options.cluster_failure_threshold,
            },
        );
        if let Some(e) = entry {
            memory.insert(name.to_string(), e);
        }
        hold
    };
    if hold {
        tracing::info!(
            cluster = name,
            "probe says Ready={ready} ({message}); Ready stays {} until that lasts the threshold",
            current.unwrap_or("unset")
        );
        return status;
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

/// Records what a healthy probe could read; parts it could not read keep their last value.
fn record_facts(status: &mut ClusterStatus, facts: Facts) {
    if let Some(v) = facts.version.filter(|v| !v.is_empty()) {
        status.kubernetes_version = v;
    }
    if let Some((nodes, resources)) = facts.nodes {
        status.node_summary = Some(nodes);
        status.resource_summary = Some(resources);
    }
    let Some(Discovered { apis, failed }) = facts.apis else {
        return;
    };
    // A group version that did not answer this time keeps its last known resources: a slow
    // or broken API must not make the scheduler think the member lost its kinds.
    let mut merged = apis;
    for known in &status.api_enablements {
        if failed.contains(&known.group_version)
            && !merged
                .iter()
                .any(|a| a.group_version == known.group_version)
        {
            merged.push(known.clone());
        }
    }
    merged.sort_by(|a, b| a.group_version.cmp(&b.group_version));
    let (state, reason, msg) = if merged.is_empty() {
        (
            "False",
            keys::REASON_API_ENABLEMENTS_EMPTY,
            "no API was discovered".to_string(),
        )
    } else if !failed.is_empty() {
        (
            "False",
            keys::REASON_API_ENABLEMENTS_PARTIAL,
            format!(
                "might have collected partial API enablements ({} group versions); no answer from {}",
                merged.len(),
                failed.join(", ")
            ),
        )
    } else {
        (
            "True",
            keys::REASON_API_ENABLEMENTS_COMPLETE,
            "all API enablements were collected".to_string(),
        )
    };
    status.api_enablements = merged;
    set_condition(
        &mut status.conditions,
        keys::CONDITION_COMPLETE_API_ENABLEMENTS,
        state,
        reason,
        &msg,
    );
}

/// Creates `karmada-es-<cluster>` if missing, with Karmada's CreateExecutionSpace* Event on
/// the Cluster when it does.
async fn ensure_execution_namespace(ctx: &Context, cluster: &Cluster) -> Result<()> {
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let name = execution_namespace(&cluster.name_any());
    // From the cache on every probe; from the API only when the cache does not have it yet.
    let cached = ctx.caches.namespaces();
    if cached.ready().await && cached.get(None, &name).is_some() {
        return Ok(());
    }
    if api.get_opt(&name).await?.is_some() {
        return Ok(());
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {keys::LABEL_KARMADA_SYSTEM: "true"}}});
    let regarding = events::object_ref(cluster);
    match api
        .patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(ns))
        .await
    {
        Ok(_) => {
            let note = format!(
                "Created execution space({name}) for cluster({}).",
                cluster.name_any()
            );
            events::publish(
                ctx,
                &regarding,
                false,
                events::CREATE_EXECUTION_SPACE_SUCCEED,
                &note,
                "CreateExecutionSpace",
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let note = format!("Creating execution space({name}) failed: {e}");
            events::publish(
                ctx,
                &regarding,
                true,
                events::CREATE_EXECUTION_SPACE_FAILED,
                &note,
                "CreateExecutionSpace",
            )
            .await;
            Err(e.into())
        }
    }
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
    ctx.ready_observations
        .lock()
        .expect("ready observation map poisoned")
        .remove(&name);
    super::toolkit::remove_finalizer(&Api::<Cluster>::all(ctx.client.clone()), cluster, FINALIZER)
        .await?;
    tracing::info!(cluster = %name, "cluster removed; its Works and execution namespace are gone");
    Ok(Action::await_change())
}
