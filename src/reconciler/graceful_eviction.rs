//! Graceful eviction controller (Karmada's graceful-eviction-controller): ends the
//! `gracefulEvictionTasks` of a binding once the workload is healthy in every new target, the
//! task's grace period (or `--graceful-eviction-timeout`) has run out, or the user confirmed a
//! `Never` task (`suppressDeletion: false`). The binding controller then removes the evicted
//! cluster's Work. Decisions are [`engine::eviction`](crate::engine::eviction)'s.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use serde_json::{Value, json};

use super::toolkit::{self, events};
use super::{Context, Error, Result, Shutdown};
use crate::api::{Binding, ClusterResourceBinding, ResourceBinding};
use crate::engine::eviction;

const CONTROLLER: &str = "graceful-eviction";

/// One controller per binding kind.
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    futures::join!(
        evict::<ResourceBinding>(ctx.clone(), shutdown.clone()),
        evict::<ClusterResourceBinding>(ctx, shutdown),
    );
}

async fn evict<B: Binding>(ctx: Arc<Context>, shutdown: Shutdown) {
    // The bindings' store is shared with the scheduler and the binding controller.
    let bindings = ctx.caches.bindings::<B>();
    let results = Controller::for_shared_stream(bindings.subscribe(), bindings.store())
        .with_config(toolkit::config(&ctx, Duration::from_millis(200)))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<B>, error_policy::<B>, ctx.clone());
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

fn error_policy<B: Binding>(rb: Arc<B>, err: &Error, ctx: Arc<Context>) -> Action {
    toolkit::error_policy(&ctx, CONTROLLER, rb.as_ref(), err)
}

async fn reconcile<B: Binding>(rb: Arc<B>, ctx: Arc<Context>) -> Result<Action> {
    let spec = rb.spec();
    if rb.meta().deletion_timestamp.is_some() || spec.graceful_eviction_tasks.is_empty() {
        return Ok(Action::await_change());
    }
    let _timer = ctx.metrics.start(CONTROLLER);
    let timeout = ctx.options.graceful_eviction_timeout;
    let status = rb.status().cloned().unwrap_or_default();
    // The aggregated status says something about the new targets only once the scheduler has
    // seen the binding's latest generation.
    let scheduled = status.scheduler_observed_generation == rb.meta().generation.unwrap_or(0);
    let now = Timestamp::now();
    let (kept, done) = eviction::assess(
        &spec.graceful_eviction_tasks,
        now,
        timeout,
        spec,
        &status.aggregated_status,
        scheduled,
    );
    if kept != spec.graceful_eviction_tasks {
        let api = B::api(ctx.client.clone(), &rb.namespace().unwrap_or_default());
        let written = patch_spec_guarded(
            &api,
            &rb.name_any(),
            rb.resource_version(),
            json!({"gracefulEvictionTasks": kept}),
        )
        .await;
        match written {
            Ok(true) => {
                for cluster in &done {
                    tracing::info!(binding = %rb.name_any(), cluster = %cluster, "graceful eviction done");
                    publish(&ctx, rb.as_ref(), cluster, None).await;
                }
            }
            Ok(false) => return Ok(Action::await_change()),
            Err(e) => {
                for cluster in &done {
                    publish(&ctx, rb.as_ref(), cluster, Some(&e)).await;
                }
                return Err(e.into());
            }
        }
    }
    Ok(match eviction::next_retry(&kept, now, timeout) {
        Some(after) => Action::requeue(after + Duration::from_millis(500)),
        None => Action::await_change(),
    })
}

/// Merge-patches fields of a binding's spec, guarded by `resource_version` (the scheduler and
/// the failover controllers write the same fields). `Ok(false)`: it changed meanwhile, and its
/// update runs the reconciliation again.
pub(super) async fn patch_spec_guarded<B: Binding>(
    api: &Api<B>,
    name: &str,
    resource_version: Option<String>,
    spec: Value,
) -> kube::Result<bool> {
    let patch = json!({"metadata": {"resourceVersion": resource_version}, "spec": spec});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Karmada's EvictWorkloadFromCluster* Event on the binding and its template.
pub(super) async fn publish<B: Binding>(
    ctx: &Context,
    rb: &B,
    cluster: &str,
    failure: Option<&kube::Error>,
) {
    let (warning, reason, note) = match failure {
        None => (
            false,
            events::EVICT_WORKLOAD_FROM_CLUSTER_SUCCEED,
            format!("Evict from cluster {cluster} succeed."),
        ),
        Some(e) => (
            true,
            events::EVICT_WORKLOAD_FROM_CLUSTER_FAILED,
            format!("Evict from cluster {cluster} failed: {e}"),
        ),
    };
    let template = events::template_ref(&rb.spec().resource);
    for regarding in [events::object_ref(rb), template] {
        events::publish(ctx, &regarding, warning, reason, &note, "Evict").await;
    }
}
