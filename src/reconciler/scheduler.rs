//! Scheduler: decides which clusters each ResourceBinding targets (`spec.clusters`) from its
//! placement, the clusters' labels, fields, taints and readiness, and records the outcome in
//! the `Scheduled` condition with a reason a user can act on. The decision itself is the pure
//! function [`placement::schedule`](crate::engine::placement::schedule).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector;
use serde_json::json;

use super::binding_status::BindingKey;
use super::toolkit::{self, events, set_condition};
use super::{Context, Error, Result, Shutdown};
use crate::api::work::TargetCluster;
use crate::api::{
    self as keys, Binding, Cluster, ClusterResourceBinding, ResourceBinding, ResourceBindingSpec,
};
use crate::client::ready::store_ready;
use crate::engine::placement::{self, Workload};

const CONTROLLER: &str = "scheduler";

/// How long a successful scheduling's status may wait with the binding status controller
/// before the scheduler writes it itself. Long enough for a burst's Works to report (the
/// status controller writes within 30 s of a Work's creation); the fallback is for a status
/// controller that has no reason to run.
const HANDOVER: Duration = Duration::from_secs(120);

/// The status of a successful scheduling, handed to the binding status controller so that it
/// goes out with the binding's aggregated status: one status write per change instead of two.
/// In memory: after a restart the scheduler finds its status missing and hands it over again.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The binding generation the placement is for; any other generation ignores it.
    pub generation: i64,
    /// The `Scheduled` condition and the scheduler's other status fields.
    pub status: crate::api::work::ResourceBindingStatus,
    at: std::time::Instant,
}

/// Successful schedulings not written yet, by binding (cluster-scoped?, namespace, name), and
/// the status controllers to tell.
#[derive(Default)]
pub struct Handovers {
    placed: std::sync::Mutex<std::collections::HashMap<BindingKey, Placed>>,
    nudges: super::binding_status::BindingNudges,
}

impl Handovers {
    /// The bindings of kind `B` whose scheduling is handed over, as they are.
    pub fn subscribe<B: Binding>(
        &self,
    ) -> futures::stream::BoxStream<'static, reflector::ObjectRef<B>> {
        self.nudges.subscribe::<B>()
    }

    fn key<B: Binding>(rb: &B) -> BindingKey {
        (
            B::CLUSTER_SCOPED,
            rb.namespace().unwrap_or_default(),
            rb.name_any(),
        )
    }

    /// The scheduling waiting for `rb`'s current generation, if any.
    pub fn waiting<B: Binding>(&self, rb: &B) -> Option<Placed> {
        let generation = rb.meta().generation.unwrap_or(0);
        self.placed
            .lock()
            .expect("handovers poisoned")
            .get(&Self::key(rb))
            .filter(|p| p.generation == generation)
            .cloned()
    }

    /// Forgets the scheduling of `generation` (written).
    pub fn written<B: Binding>(&self, rb: &B, generation: i64) {
        let mut map = self.placed.lock().expect("handovers poisoned");
        let key = Self::key(rb);
        if map.get(&key).is_some_and(|p| p.generation == generation) {
            map.remove(&key);
        }
    }

    fn hand_over<B: Binding>(
        &self,
        rb: &B,
        generation: i64,
        status: crate::api::work::ResourceBindingStatus,
    ) {
        let placed = Placed {
            generation,
            status,
            at: std::time::Instant::now(),
        };
        let key = Self::key(rb);
        self.placed
            .lock()
            .expect("handovers poisoned")
            .insert(key.clone(), placed);
        self.nudges.nudge(key);
    }

    /// Where the scheduling of `generation` stands with the status controller.
    fn state<B: Binding>(&self, rb: &B, generation: i64) -> Handover {
        let mut map = self.placed.lock().expect("handovers poisoned");
        let key = Self::key(rb);
        let Some(placed) = map.get(&key).filter(|p| p.generation == generation) else {
            return Handover::None;
        };
        match HANDOVER.checked_sub(placed.at.elapsed()) {
            Some(left) => Handover::Waiting(left),
            None => {
                map.remove(&key);
                Handover::Expired
            }
        }
    }
}

enum Handover {
    /// Not handed over.
    None,
    /// Handed over; the status controller has this long left.
    Waiting(Duration),
    /// Handed over, and not written in time: the scheduler writes it.
    Expired,
}

struct SchedCtx {
    ctx: Arc<Context>,
    clusters: reflector::Store<Cluster>,
}

/// Schedules ResourceBindings and ClusterResourceBindings alike (one controller each, sharing
/// the Cluster cache).
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let client = ctx.client.clone();
    // Any cluster change (join, taint, readiness, labels) may change placements.
    let (clusters, cluster_changes) = super::toolkit::cluster_cache(&client);
    let [for_rb, for_crb] = toolkit::fanout(cluster_changes);
    let sctx = Arc::new(SchedCtx {
        ctx: ctx.clone(),
        clusters,
    });
    futures::join!(
        schedule::<ResourceBinding>(&sctx, for_rb, shutdown.clone()),
        schedule::<ClusterResourceBinding>(&sctx, for_crb, shutdown),
    );
}

async fn schedule<B: Binding>(
    sctx: &Arc<SchedCtx>,
    cluster_changes: futures::stream::BoxStream<'static, ()>,
    shutdown: Shutdown,
) {
    let ctx = &sctx.ctx;
    // The bindings' store is shared with the detector and the binding controller.
    let bindings = ctx.caches.bindings::<B>();
    let results = Controller::for_shared_stream(bindings.subscribe(), bindings.store())
        .with_config(toolkit::config(ctx, Duration::from_millis(200)))
        .reconcile_all_on(cluster_changes)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<B>, error_policy::<B>, sctx.clone());
    toolkit::drive(ctx, CONTROLLER, results).await;
}

fn error_policy<B: Binding>(rb: Arc<B>, err: &Error, sctx: Arc<SchedCtx>) -> Action {
    toolkit::error_policy(&sctx.ctx, CONTROLLER, rb.as_ref(), err)
}

async fn reconcile<B: Binding>(rb: Arc<B>, sctx: Arc<SchedCtx>) -> Result<Action> {
    let ctx = &sctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    if rb.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let spec = rb.spec();
    if !placement::is_ours(&spec.scheduler_name) {
        // The policy names another scheduler: its bindings are that scheduler's to place.
        return Ok(Action::await_change());
    }
    if !store_ready(&sctx.clusters).await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let clusters: Vec<Cluster> = sctx
        .clusters
        .state()
        .iter()
        .map(|c| (**c).clone())
        .collect();
    // Targets with an untolerated NoExecute taint leave through graceful eviction tasks first;
    // the update runs this again, on the binding without them.
    let leaving = super::taint_eviction::untolerated(rb.as_ref(), &clusters, Timestamp::now());
    if !leaving.is_empty() {
        super::taint_eviction::evict(ctx, rb.as_ref(), &leaving).await?;
        return Ok(Action::await_change());
    }
    // A cluster the workload is being evicted from is not a candidate while its task lasts.
    let candidates: Vec<Cluster> = clusters
        .iter()
        .filter(|c| {
            let name = c.name_any();
            !crate::engine::eviction::in_tasks(spec, &name)
                || spec.clusters.iter().any(|t| t.name == name)
        })
        .cloned()
        .collect();
    let current: Vec<String> = spec.clusters.iter().map(|c| c.name.clone()).collect();
    // rescheduleTriggeredAt after the last scheduling asks for a fresh division.
    let last_scheduled = rb.status().and_then(|s| s.last_scheduled_time.as_ref());
    let fresh = spec
        .reschedule_triggered_at
        .as_ref()
        .is_some_and(|t| last_scheduled.is_none_or(|l| t.0 > l.0));
    let Some(decision) = decide(spec, fresh, &candidates) else {
        return Ok(Action::await_change());
    };

    let api: Api<B> = B::api(ctx.client.clone(), &rb.namespace().unwrap_or_default());
    let targets = targets_of(&decision);
    // When nothing fits, existing placements stay, except on clusters that are leaving.
    let targets = if decision.failure.is_some() {
        spec.clusters
            .iter()
            .filter(|t| {
                clusters
                    .iter()
                    .any(|c| c.name_any() == t.name && c.metadata.deletion_timestamp.is_none())
            })
            .cloned()
            .collect()
    } else {
        targets
    };
    let mut resource_version = rb.resource_version();
    // The placement bumps the generation: the status observes the generation it produced, or
    // the next pass would write the status again only to catch up.
    let mut generation = rb.meta().generation.unwrap_or(0);
    if targets != spec.clusters {
        let updated = api
            .patch(
                &rb.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"clusters": targets}})),
            )
            .await?;
        resource_version = updated.resource_version();
        generation = updated.meta().generation.unwrap_or(generation);
        tracing::debug!(binding = %rb.name_any(), clusters = ?decision.targets, "placed");
        ctx.caches.bindings::<B>().record(updated);
    }

    // A NoExecute taint tolerated for tolerationSeconds: look again when that runs out.
    let expiry = spec
        .placement
        .as_ref()
        .and_then(|p| placement::next_toleration_expiry(p, &clusters, &current, Timestamp::now()));
    let mut status = rb.status().cloned().unwrap_or_default();
    let before = status.clone();
    match &decision.failure {
        None => set_condition(
            &mut status.conditions,
            keys::CONDITION_SCHEDULED,
            "True",
            "Success",
            "Binding has been scheduled successfully.",
        ),
        Some(why) => set_condition(
            &mut status.conditions,
            keys::CONDITION_SCHEDULED,
            "False",
            if decision.unschedulable {
                "Unschedulable"
            } else {
                "NoClusterFit"
            },
            why,
        ),
    }
    if fresh && decision.failure.is_none() {
        // Recorded so the fresh division happens once per trigger.
        status.last_scheduled_time = Some(Time(Timestamp::now()));
    }
    status.scheduler_observed_generation = generation;
    status.scheduler_observed_affinity_name = decision.affinity_name.clone().unwrap_or_default();
    if status != before {
        if targets != spec.clusters || status.last_scheduled_time.is_none() {
            status.last_scheduled_time = Some(Time(Timestamp::now()));
        }
        let scheduled_changed = before
            .conditions
            .iter()
            .find(|c| c.type_ == keys::CONDITION_SCHEDULED)
            .map(|c| (&c.status, &c.message))
            != status
                .conditions
                .iter()
                .find(|c| c.type_ == keys::CONDITION_SCHEDULED)
                .map(|c| (&c.status, &c.message));
        // Whether the Events for this outcome went out when it was handed over.
        let mut announced = false;
        if decision.failure.is_none() && !targets.is_empty() && !fresh {
            // Success goes out with the binding's aggregated status: the binding status
            // controller runs on this binding's change and on its Works' reports. (A fresh
            // division is written at once: its lastScheduledTime ends the trigger.)
            match ctx.handovers.state(rb.as_ref(), generation) {
                Handover::Waiting(left) => return Ok(next_look(expiry, Some(left))),
                Handover::None => {
                    ctx.handovers
                        .hand_over(rb.as_ref(), generation, status.clone());
                    if scheduled_changed {
                        publish(ctx, rb.as_ref(), &decision).await;
                    }
                    return Ok(next_look(expiry, Some(HANDOVER)));
                }
                Handover::Expired => {
                    announced = true;
                    tracing::debug!(binding = %rb.name_any(), "scheduling status not written with the aggregated status in time; writing it");
                }
            }
        }
        // Only the scheduler's fields: the binding status controller writes this status too.
        let fields = json!({
            "conditions": status.conditions,
            "schedulerObservedGeneration": status.scheduler_observed_generation,
            "schedulerObservingAffinityName": status.scheduler_observed_affinity_name,
            "lastScheduledTime": status.last_scheduled_time,
        });
        let Some(written) =
            toolkit::patch_status_guarded(&api, &rb.name_any(), resource_version, fields).await?
        else {
            return Ok(Action::await_change());
        };
        ctx.caches.bindings::<B>().record(written);
        if scheduled_changed && !announced {
            publish(ctx, rb.as_ref(), &decision).await;
        }
    }
    Ok(next_look(expiry, None))
}

/// When to look at the binding again: when a tolerated NoExecute taint's tolerationSeconds run
/// out, or a handed-over status's time does, whichever comes first.
fn next_look(expiry: Option<Duration>, handover: Option<Duration>) -> Action {
    let expiry = expiry.map(|e| e + Duration::from_millis(500));
    let handover = handover.map(|h| h + Duration::from_secs(1));
    match expiry.into_iter().chain(handover).min() {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    }
}

/// The decision's targets as `spec.clusters` lists them.
fn targets_of(decision: &placement::Decision) -> Vec<TargetCluster> {
    decision
        .targets
        .iter()
        .map(|(name, replicas)| TargetCluster {
            name: name.clone(),
            replicas: *replicas,
            ..Default::default()
        })
        .collect()
}

/// The placement a new binding is created with, so that creating and placing it are one write
/// (the detector's): what this scheduler would decide for it among `clusters` now. `None`
/// leaves the binding to a scheduling pass: another scheduler's binding, no placement, or
/// nothing fits (the pass writes why). The pass that follows finds the placement made and only
/// writes its status (handed over to the aggregated status, as for any placement).
pub fn first_placement(
    spec: &ResourceBindingSpec,
    clusters: &[Cluster],
) -> Option<Vec<TargetCluster>> {
    if !placement::is_ours(&spec.scheduler_name) || spec.placement.is_none() {
        return None;
    }
    let decision = decide(spec, false, clusters)?;
    (decision.failure.is_none() && !decision.targets.is_empty()).then(|| targets_of(&decision))
}

/// The placement of a binding among `candidates` (`fresh`: divide replicas anew), the pure part
/// of a scheduling pass; `None` when there is nothing to place (no placement, not a
/// dependency).
fn decide(
    spec: &ResourceBindingSpec,
    fresh: bool,
    candidates: &[Cluster],
) -> Option<placement::Decision> {
    let current: Vec<String> = spec.clusters.iter().map(|c| c.name.clone()).collect();
    let scheduled: Vec<(String, i32)> = spec
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.replicas))
        .collect();
    let mut decision = match spec.placement.as_ref() {
        Some(p) => {
            let workload = Workload {
                api_version: &spec.resource.api_version,
                kind: &spec.resource.kind,
                replicas: spec.replicas,
                current: &current,
                requests: spec
                    .replica_requirements
                    .as_ref()
                    .map(|r| &r.resource_request),
                scheduled: &scheduled,
                fresh,
                uid: &spec.resource.uid,
            };
            placement::schedule(p, &workload, candidates)
        }
        None if !spec.required_by.is_empty() => placement::Decision::default(),
        None => return None,
    };
    // A dependency also goes wherever the workloads that need it went.
    if spec.placement.is_none() || decision.failure.is_none() {
        decision.failure = None;
        for c in spec.required_by.iter().flat_map(|r| &r.clusters) {
            if !decision.targets.iter().any(|(n, _)| n == &c.name) {
                decision.targets.push((c.name.clone(), 0));
            }
        }
        decision.targets.sort();
    }
    Some(decision)
}

/// Karmada's ScheduleBinding* Event on the binding and on its template, so
/// `kubectl describe deploy nginx` shows where it went, or why not.
async fn publish<B: Binding>(ctx: &Context, rb: &B, decision: &placement::Decision) {
    let (warning, reason, note) = match &decision.failure {
        None => (
            false,
            events::SCHEDULE_BINDING_SUCCEED,
            format!(
                "scheduled to {}",
                decision
                    .targets
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(why) => (true, events::SCHEDULE_BINDING_FAILED, why.clone()),
    };
    let template = events::template_ref(&rb.spec().resource);
    for regarding in [events::object_ref(rb), template] {
        events::publish(ctx, &regarding, warning, reason, &note, "Scheduling").await;
    }
}
