//! Cluster failover (Karmada's NoExecute taint manager): a binding placed on a cluster with a
//! NoExecute taint it does not tolerate (or tolerated for `tolerationSeconds`, now over)
//! leaves that cluster through a graceful eviction task (reason `TaintUntolerated`, producer
//! `TaintManager`): the old copy stays until the workload is healthy in its new cluster or the
//! grace period ends. Run by the scheduler before it places the binding, on the same Cluster
//! cache; the scheduler already looks again when a toleration runs out.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use serde_json::json;

use super::graceful_eviction::{patch_spec_guarded, publish};
use super::{Context, Error, Result};
use crate::api::policy::PurgeMode;
use crate::api::{Binding, Cluster};
use crate::engine::eviction::{self, TaskOptions};
use crate::engine::placement;

/// The current targets `rb` must leave now: an untolerated NoExecute taint, or one whose
/// toleration ran out.
pub fn untolerated<B: Binding>(rb: &B, clusters: &[Cluster], now: Timestamp) -> Vec<String> {
    let spec = rb.spec();
    // Bindings without a placement (dependencies) follow the workloads that need them.
    let Some(p) = spec.placement.as_ref() else {
        return Vec::new();
    };
    spec.clusters
        .iter()
        .filter(|target| {
            clusters
                .iter()
                .find(|c| c.name_any() == target.name)
                .is_some_and(|c| {
                    c.spec
                        .taints
                        .iter()
                        .filter(|t| t.effect == "NoExecute")
                        .any(|taint| {
                            match placement::tolerated_until(&p.cluster_tolerations, taint, now) {
                                None => true,
                                Some(None) => false,
                                Some(Some(until)) => until <= now,
                            }
                        })
                })
        })
        .map(|t| t.name.clone())
        .collect()
}

/// Moves the `leaving` clusters of `rb` into graceful eviction tasks. `Ok(false)` when the
/// binding changed meanwhile (its update runs the scheduler again).
pub async fn evict<B: Binding>(ctx: &Context, rb: &B, leaving: &[String]) -> Result<bool> {
    let spec = rb.spec();
    let cluster_behavior = spec.failover.as_ref().and_then(|f| f.cluster.as_ref());
    let purge_mode = cluster_behavior
        .and_then(|c| c.purge_mode)
        .unwrap_or(ctx.options.no_execute_taint_eviction_purge_mode);
    let observed = rb
        .status()
        .map(|s| s.aggregated_status.as_slice())
        .unwrap_or_default();
    let mut evicted = spec.clone();
    for cluster in leaving {
        let mut options = TaskOptions {
            purge_mode: Some(purge_mode),
            reason: eviction::REASON_TAINT_UNTOLERATED.into(),
            producer: eviction::PRODUCER_TAINT_MANAGER.into(),
            ..Default::default()
        };
        if let Some(rules) = cluster_behavior
            .and_then(|c| c.state_preservation.as_ref())
            .filter(|r| !r.rules.is_empty())
        {
            let status = observed
                .iter()
                .find(|i| &i.cluster_name == cluster)
                .and_then(|i| i.status.as_ref().map(|s| s.value()));
            options.preserved_label_state = eviction::preserved_state(rules, status.as_ref())
                .map_err(|e| {
                    Error::Internal(format!(
                        "failover.cluster.statePreservation for cluster {cluster}: {e}"
                    ))
                })?;
        }
        tracing::info!(binding = %rb.name_any(), cluster = %cluster, ?purge_mode, "NoExecute taint not tolerated: evicting");
        eviction::evict(&mut evicted, cluster, options, Timestamp::now());
    }
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
    if let Err(e) = &written {
        for cluster in leaving {
            publish(ctx, rb, cluster, Some(e)).await;
        }
    }
    Ok(written?)
}

/// The purge mode of taint evictions when the policy sets no `failover.cluster.purgeMode`
/// (`--no-execute-taint-eviction-purge-mode`): `Gracefully` or `Directly`.
pub fn parse_purge_mode(s: &str) -> std::result::Result<PurgeMode, String> {
    match s {
        "Gracefully" => Ok(PurgeMode::Gracefully),
        "Directly" => Ok(PurgeMode::Directly),
        other => Err(format!(
            "unknown purge mode {other:?}: use Gracefully or Directly"
        )),
    }
}
