//! Application failover controller (Karmada's application-failover-controller): a binding whose
//! policy has `failover.application` leaves a cluster where its workload has reported
//! `Unhealthy` (the interpreter's InterpretHealth, via the Work's status and the binding's
//! `aggregatedStatus[].health`) for `decisionConditions.tolerationSeconds`. The cluster goes
//! from `spec.clusters` into a graceful eviction task with the policy's `purgeMode`,
//! `gracePeriodSeconds` and `statePreservation`; the scheduler then places the workload
//! elsewhere, and the graceful eviction controller ends the task.
//!
//! As in Karmada, a ResourceBinding is only failed over with `propagateDeps: true`, and when
//! the unhealthy state was first seen is kept in memory (a restart starts the count again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use kube::runtime::controller::{Action, Controller};
use serde_json::json;

use super::graceful_eviction::{patch_spec_guarded, publish};
use super::toolkit;
use super::{Context, Error, Result, Shutdown};
use crate::api::policy::{ApplicationFailoverBehavior, PurgeMode};
use crate::api::work::AggregatedStatusItem;
use crate::api::{Binding, ClusterResourceBinding, ResourceBinding};
use crate::engine::eviction::{self, TaskOptions};

const CONTROLLER: &str = "application-failover";
/// `decisionConditions.tolerationSeconds` when unset (the CRD's default).
const DEFAULT_TOLERATION_SECONDS: i32 = 300;

/// Per binding (kind/namespace/name), per cluster: when its workload was first seen unhealthy.
#[derive(Default)]
struct Unhealthy(Mutex<HashMap<String, HashMap<String, Instant>>>);

struct FailoverCtx {
    ctx: Arc<Context>,
    unhealthy: Unhealthy,
}

/// One controller per binding kind.
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    futures::join!(
        failover::<ResourceBinding>(ctx.clone(), shutdown.clone()),
        failover::<ClusterResourceBinding>(ctx, shutdown),
    );
}

async fn failover<B: Binding>(ctx: Arc<Context>, shutdown: Shutdown) {
    let fctx = Arc::new(FailoverCtx {
        ctx: ctx.clone(),
        unhealthy: Unhealthy::default(),
    });
    // The bindings' store is shared with the scheduler and the binding controller.
    let bindings = ctx.caches.bindings::<B>();
    let results = Controller::for_shared_stream(bindings.subscribe(), bindings.store())
        .with_config(toolkit::config(&ctx, Duration::from_millis(200)))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<B>, error_policy::<B>, fctx);
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

fn error_policy<B: Binding>(rb: Arc<B>, err: &Error, fctx: Arc<FailoverCtx>) -> Action {
    toolkit::error_policy(&fctx.ctx, CONTROLLER, rb.as_ref(), err)
}

fn key<B: Binding>(rb: &B) -> String {
    format!(
        "{}/{}/{}",
        B::CLUSTER_SCOPED,
        rb.namespace().unwrap_or_default(),
        rb.name_any()
    )
}

async fn reconcile<B: Binding>(rb: Arc<B>, fctx: Arc<FailoverCtx>) -> Result<Action> {
    let key = key(rb.as_ref());
    let spec = rb.spec();
    let behavior = spec.failover.as_ref().and_then(|f| f.application.as_ref());
    let observed = rb
        .status()
        .map(|s| s.aggregated_status.as_slice())
        .unwrap_or_default();
    let Some(behavior) = behavior.filter(|_| {
        rb.meta().deletion_timestamp.is_none()
            && !observed.is_empty()
            && (B::CLUSTER_SCOPED || spec.propagate_deps)
    }) else {
        fctx.unhealthy.0.lock().expect("unhealthy map").remove(&key);
        return Ok(Action::await_change());
    };
    let ctx = &fctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    let tolerated = Duration::from_secs(
        behavior
            .decision_conditions
            .toleration_seconds
            .unwrap_or(DEFAULT_TOLERATION_SECONDS)
            .max(0) as u64,
    );
    let (unhealthy, others) = eviction::split_by_health(spec, observed);
    let now = Instant::now();
    let mut due: Vec<String> = Vec::new();
    let mut next: Option<Duration> = None;
    {
        let mut map = fctx.unhealthy.0.lock().expect("unhealthy map");
        let seen = map.entry(key.clone()).or_default();
        // Forget clusters that are no longer targets or no longer unhealthy.
        seen.retain(|c, _| spec.target(c).is_some() && !others.contains(c));
        for cluster in &unhealthy {
            let since = *seen.entry(cluster.clone()).or_insert(now);
            match (since + tolerated).checked_duration_since(now) {
                Some(left) if !left.is_zero() => {
                    next = Some(next.map_or(left, |n| n.min(left)));
                }
                _ => due.push(cluster.clone()),
            }
        }
    }
    if !due.is_empty() {
        let mut evicted = spec.clone();
        let before: Vec<String> = spec.clusters.iter().map(|c| c.name.clone()).collect();
        let producer = if B::CLUSTER_SCOPED {
            eviction::PRODUCER_CRB_APPLICATION_FAILOVER
        } else {
            eviction::PRODUCER_RB_APPLICATION_FAILOVER
        };
        for cluster in &due {
            let options = match task_options(behavior, observed, cluster, producer, &before) {
                Ok(o) => o,
                Err(why) => {
                    tracing::warn!(binding = %rb.name_any(), cluster = %cluster, "application failover waits: {why}");
                    next = Some(Duration::from_secs(1));
                    continue;
                }
            };
            tracing::info!(binding = %rb.name_any(), cluster = %cluster, "workload unhealthy past tolerationSeconds: evicting");
            eviction::evict(&mut evicted, cluster, options, Timestamp::now());
        }
        if evicted != *spec {
            let api = B::api(ctx.client.clone(), &rb.namespace().unwrap_or_default());
            let written = patch_spec_guarded(
                &api,
                &rb.name_any(),
                rb.resource_version(),
                json!({
                    "clusters": evicted.clusters,
                    "gracefulEvictionTasks": evicted.graceful_eviction_tasks,
                }),
            )
            .await;
            match written {
                Ok(true) => {
                    let mut map = fctx.unhealthy.0.lock().expect("unhealthy map");
                    if let Some(seen) = map.get_mut(&key) {
                        seen.retain(|c, _| !due.contains(c));
                    }
                }
                Ok(false) => return Ok(Action::await_change()),
                Err(e) => {
                    for cluster in &due {
                        publish(ctx, rb.as_ref(), cluster, Some(&e)).await;
                    }
                    return Err(e.into());
                }
            }
        }
    }
    Ok(match next {
        Some(after) => Action::requeue(after + Duration::from_millis(200)),
        None => Action::await_change(),
    })
}

/// The task for leaving `cluster`, from the policy's failover behavior, as Karmada builds it.
fn task_options(
    behavior: &ApplicationFailoverBehavior,
    observed: &[AggregatedStatusItem],
    cluster: &str,
    producer: &str,
    before: &[String],
) -> std::result::Result<TaskOptions, String> {
    let purge_mode = behavior.purge_mode.unwrap_or_default();
    let mut options = TaskOptions {
        purge_mode: Some(purge_mode),
        reason: eviction::REASON_APPLICATION_FAILURE.into(),
        producer: producer.into(),
        ..Default::default()
    };
    if let Some(rules) = behavior
        .state_preservation
        .as_ref()
        .filter(|r| !r.rules.is_empty())
    {
        let status = observed
            .iter()
            .find(|i| i.cluster_name == cluster)
            .and_then(|i| i.status.as_ref().map(|s| s.value()));
        options.preserved_label_state = eviction::preserved_state(rules, status.as_ref())
            .map_err(|e| format!("statePreservation for cluster {cluster}: {e}"))?;
        if !options.preserved_label_state.is_empty() {
            options.clusters_before_failover = before.to_vec();
        }
    }
    match purge_mode {
        PurgeMode::Gracefully => options.grace_period_seconds = behavior.grace_period_seconds,
        PurgeMode::Never => options.suppress_deletion = Some(true),
        PurgeMode::Directly => {}
    }
    Ok(options)
}
