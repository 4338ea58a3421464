//! Binding status controller: sums the Works' status into the binding (`aggregatedStatus`,
//! `FullyApplied`) and the template's status (the kind's AggregateStatus interpretation).
//!
//! A queue of its own, apart from the binding controller's renders: a member status change
//! reaches the template in the time of one status write (the Work's, the binding's and the
//! template's go out together), however many templates are being rendered at once.

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;
use tokio::sync::mpsc;

use super::packed::PackedObject;
use super::toolkit::{self, events, set_condition};
use super::{Context, Error, Result, Shutdown};
use crate::api::work::{AggregatedStatusItem, ResourceHealth};
use crate::api::{self as keys, Binding, Cluster, ResourceBindingSpec, Work, names};
use crate::client::kinds::KindCache;
use crate::client::ready::store_ready;
use crate::client::requests::CONTROL_PLANE;
use crate::engine::render;

pub const CONTROLLER: &str = "binding-status";

/// Targets whose Work the binding controller could not render (an override rule or a replica
/// script failed), per binding, with why: `FullyApplied` names them. In memory: the binding
/// controller renders every binding again when it starts.
pub struct RenderFailures<B: Binding> {
    by_binding: Mutex<HashMap<ObjectRef<B>, HashMap<String, String>>>,
    changed: mpsc::UnboundedSender<ObjectRef<B>>,
}

impl<B: Binding> RenderFailures<B> {
    /// The record, and the stream of bindings whose failures changed.
    pub fn new() -> (Arc<Self>, BoxStream<'static, ObjectRef<B>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let failures = Arc::new(RenderFailures {
            by_binding: Mutex::default(),
            changed: tx,
        });
        let changes =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) })
                .boxed();
        (failures, changes)
    }

    /// Records this render's failures (none: forgets the binding).
    pub fn set(&self, binding: ObjectRef<B>, failures: HashMap<String, String>) {
        let mut by_binding = self.by_binding.lock().expect("render failures poisoned");
        let before = by_binding.get(&binding);
        if before.map_or(failures.is_empty(), |b| *b == failures) {
            return;
        }
        if failures.is_empty() {
            by_binding.remove(&binding);
        } else {
            by_binding.insert(binding.clone(), failures);
        }
        let _ = self.changed.send(binding);
    }

    fn get(&self, binding: &ObjectRef<B>) -> HashMap<String, String> {
        self.by_binding
            .lock()
            .expect("render failures poisoned")
            .get(binding)
            .cloned()
            .unwrap_or_default()
    }
}

struct StatusCtx<B: Binding> {
    ctx: Arc<Context>,
    kinds: Arc<KindCache>,
    clusters: Store<Cluster>,
    failures: Arc<RenderFailures<B>>,
    /// While a binding waits for its Works' first reports: what each reported Work said, so a
    /// later change of one (news for the user) is written at once instead of waiting.
    reports: Mutex<HashMap<ObjectRef<B>, HashMap<String, u64>>>,
}

/// Runs the status controller of one binding kind.
pub async fn run<B: Binding>(
    ctx: Arc<Context>,
    kinds: Arc<KindCache>,
    clusters: Store<Cluster>,
    failures: (Arc<RenderFailures<B>>, BoxStream<'static, ObjectRef<B>>),
    shutdown: Shutdown,
) {
    let bindings = ctx.caches.bindings::<B>();
    let (failures, failure_changes) = failures;
    let sctx = Arc::new(StatusCtx {
        ctx: ctx.clone(),
        kinds,
        clusters,
        failures,
        reports: Mutex::default(),
    });
    let results = Controller::for_shared_stream(bindings.subscribe(), bindings.store())
        // A short debounce: the first-report wait already folds a new binding's reports, and
        // a later status change should not wait.
        .with_config(toolkit::config(&ctx, Duration::from_millis(20)))
        .watches_shared_stream(ctx.caches.works().subscribe(), |work: Arc<Work>| {
            owner_of::<B>(&work)
        })
        .reconcile_on(failure_changes)
        .reconcile_on(ctx.handovers.subscribe::<B>())
        .reconcile_on(ctx.status_writes.subscribe::<B>())
        // A customization may change how a kind's status is summed.
        .reconcile_all_on(super::interpreting::change_events(&ctx))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<B>, error_policy::<B>, sctx);
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

/// Bindings to run the status controller of again, told by another controller (the
/// scheduler's hand-overs, the execution controller's Work status writes).
#[derive(Default)]
pub struct BindingNudges {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<BindingKey>>>,
}

/// A binding of either kind: (cluster-scoped, namespace, name).
pub type BindingKey = (bool, String, String);

impl BindingNudges {
    /// Tells every subscriber of the binding's kind.
    pub fn nudge(&self, key: BindingKey) {
        self.subscribers
            .lock()
            .expect("nudges poisoned")
            .retain(|tx| tx.send(key.clone()).is_ok());
    }

    /// The bindings of kind `B` nudged from now on.
    pub fn subscribe<B: Binding>(&self) -> BoxStream<'static, ObjectRef<B>> {
        let (tx, rx) = mpsc::unbounded_channel::<BindingKey>();
        self.subscribers.lock().expect("nudges poisoned").push(tx);
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|k| (k, rx)) })
            .filter_map(|(cluster_scoped, ns, name)| async move {
                (cluster_scoped == B::CLUSTER_SCOPED).then(|| {
                    let r = ObjectRef::new(&name);
                    if cluster_scoped { r } else { r.within(&ns) }
                })
            })
            .boxed()
    }
}

/// Work status writes of this process (the execution controller's), told to the binding status
/// controllers as they are sent: they sum a Work's new status (pending in the Works' cache)
/// beside its write instead of when the Works' watch delivers it back, which takes hundreds of
/// milliseconds while thousands of Works change.
#[derive(Default)]
pub struct StatusWrites(BindingNudges);

impl StatusWrites {
    /// Tells the status controller of `work`'s binding that its status is being written (and
    /// is pending in the Works' cache).
    pub fn written(&self, work: &Work) {
        let a = work.annotations();
        let owner = match (
            a.get(keys::ANNOTATION_CLUSTER_RESOURCE_BINDING_NAME),
            a.get(keys::ANNOTATION_RESOURCE_BINDING_NAME),
            a.get(keys::ANNOTATION_RESOURCE_BINDING_NAMESPACE),
        ) {
            (Some(name), _, _) => (true, String::new(), name.clone()),
            (None, Some(name), Some(ns)) => (false, ns.clone(), name.clone()),
            _ => return,
        };
        self.0.nudge(owner);
    }

    /// The bindings of kind `B` whose Works' status is being written.
    pub fn subscribe<B: Binding>(&self) -> BoxStream<'static, ObjectRef<B>> {
        self.0.subscribe::<B>()
    }
}

/// The binding a Work belongs to, from the annotations naming it.
pub fn owner_of<B: Binding>(work: &Work) -> Option<ObjectRef<B>> {
    let a = work.annotations();
    if B::CLUSTER_SCOPED {
        let name = a.get(keys::ANNOTATION_CLUSTER_RESOURCE_BINDING_NAME)?;
        return Some(ObjectRef::new(name));
    }
    let name = a.get(keys::ANNOTATION_RESOURCE_BINDING_NAME)?;
    let ns = a.get(keys::ANNOTATION_RESOURCE_BINDING_NAMESPACE)?;
    Some(ObjectRef::new(name).within(ns))
}

/// Whether the scheduler has looked at the binding (Scheduled, True or False), or something
/// else placed it.
pub fn scheduled<B: Binding>(rb: &B) -> bool {
    !rb.spec().clusters.is_empty()
        || rb.status().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == keys::CONDITION_SCHEDULED)
        })
}

fn error_policy<B: Binding>(rb: Arc<B>, err: &Error, sctx: Arc<StatusCtx<B>>) -> Action {
    toolkit::error_policy(&sctx.ctx, CONTROLLER, rb.as_ref(), err)
}

async fn reconcile<B: Binding>(rb: Arc<B>, sctx: Arc<StatusCtx<B>>) -> Result<Action> {
    let ctx = &sctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    // The newest version (this controller's own last write included), so the status patch is
    // not bound to fail on its resourceVersion.
    let rb = ctx
        .caches
        .bindings::<B>()
        .get(rb.namespace().as_deref(), &rb.name_any())
        .unwrap_or(rb);
    let reference = ObjectRef::from_obj(rb.as_ref());
    if rb.meta().deletion_timestamp.is_some() {
        sctx.reports
            .lock()
            .expect("reports poisoned")
            .remove(&reference);
        // A scheduling handed over and never written goes with the binding.
        ctx.handovers
            .written(rb.as_ref(), rb.meta().generation.unwrap_or(0));
        return Ok(Action::await_change());
    }
    let works_cache = ctx.caches.works();
    if !works_cache.ready().await || !store_ready(&sctx.clusters).await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let spec = rb.spec();
    let works = match rb.labels().get(B::ID_LABEL) {
        Some(id) => ctx.caches.works_of::<B>(id),
        None => Vec::new(),
    };
    if !scheduled(rb.as_ref()) && works.is_empty() {
        return Ok(Action::await_change()); // the scheduler's write runs this again
    }
    let r = &spec.resource;
    let resolved = sctx
        .kinds
        .resolve(CONTROL_PLANE, &ctx.client, &r.api_version, &r.kind)
        .await?;
    let template_cache = ctx.caches.templates(&resolved.ar);
    if !template_cache.ready().await {
        return Err(Error::Internal("the template cache stopped".into()));
    }
    let namespace = resolved.namespaced.then_some(r.namespace.as_str());
    let Some(template) = template_cache.get(namespace, &r.name) else {
        // Gone (the garbage collector removes this binding), or not in the cache yet.
        return Ok(Action::requeue(Duration::from_secs(5)));
    };
    let failures = sctx.failures.get(&reference);

    // The statuses wait briefly for every Work's first report, so they are written once
    // rather than after each Work's (whose report runs this again), unless a Work that had
    // reported changes meanwhile.
    let ready = |name: &str| {
        sctx.clusters
            .get(&ObjectRef::new(name))
            .is_some_and(|c| crate::engine::placement::is_ready(&c))
    };
    if let Some(wait) = first_reports_pending(spec, &works, &failures, ready)
        && !sctx.news(&reference, &works)
    {
        return Ok(Action::requeue(wait));
    }
    sctx.reports
        .lock()
        .expect("reports poisoned")
        .remove(&reference);

    let items = aggregated_items(spec, &works);
    // The binding's status and the template's sum go out at once: neither needs the other.
    let (binding, template) = futures::join!(
        write_binding_status(ctx, rb.as_ref(), &items, &failures),
        write_template_status(ctx, rb.as_ref(), &template, &resolved, &items),
    );
    binding?;
    template?;
    Ok(Action::await_change())
}

/// `aggregatedStatus` and `FullyApplied` on the binding, if they change.
async fn write_binding_status<B: Binding>(
    ctx: &Context,
    rb: &B,
    items: &[AggregatedStatusItem],
    failures: &HashMap<String, String>,
) -> Result<()> {
    let spec = rb.spec();
    let mut st = rb.status().cloned().unwrap_or_default();
    let before = st.clone();
    st.aggregated_status = items.to_vec();
    // A successful scheduling the scheduler left to this write.
    let placed = ctx.handovers.waiting(rb);
    if let Some(p) = &placed {
        if let Some(c) = p
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == keys::CONDITION_SCHEDULED)
        {
            set_condition(
                &mut st.conditions,
                &c.type_,
                &c.status,
                &c.reason,
                &c.message,
            );
        }
        st.scheduler_observed_generation = p.status.scheduler_observed_generation;
        st.scheduler_observed_affinity_name = p.status.scheduler_observed_affinity_name.clone();
        st.last_scheduled_time = p.status.last_scheduled_time.clone();
    }
    let (status, reason, message) = fully_applied(spec, items, failures);
    set_condition(
        &mut st.conditions,
        keys::CONDITION_FULLY_APPLIED,
        status,
        reason,
        &message,
    );
    if st == before {
        return Ok(());
    }
    tracing::debug!(
        binding = %rb.name_any(),
        conditions = ?st.conditions.iter().map(|c| (&c.type_, &c.status)).collect::<Vec<_>>(),
        items = st.aggregated_status.len(),
        applied = st.aggregated_status.iter().filter(|i| i.applied).count(),
        "binding status updated"
    );
    let ns = rb.namespace().unwrap_or_default();
    let binding_ref = events::object_ref(rb);
    let binding_phrase = if B::CLUSTER_SCOPED {
        format!("clusterResourceBinding({})", rb.name_any())
    } else {
        format!("resourceBinding({ns}/{})", rb.name_any())
    };
    // Only our fields (and the scheduler's, when it left them to this write): the scheduler
    // writes this status too.
    let mut fields = json!({"aggregatedStatus": st.aggregated_status, "conditions": st.conditions});
    if placed.is_some() {
        fields["schedulerObservedGeneration"] = json!(st.scheduler_observed_generation);
        fields["schedulerObservingAffinityName"] = json!(st.scheduler_observed_affinity_name);
        fields["lastScheduledTime"] = json!(st.last_scheduled_time);
    }
    let bindings: Api<B> = B::api(ctx.client.clone(), &ns);
    match toolkit::patch_status_guarded(&bindings, &rb.name_any(), rb.resource_version(), fields)
        .await
    {
        Ok(Some(written)) => {
            ctx.caches.bindings::<B>().record(written);
            if let Some(p) = &placed {
                ctx.handovers.written(rb, p.generation);
            }
            let note = format!("Update {binding_phrase} with AggregatedStatus successfully.");
            aggregated_event(ctx, &binding_ref, false, &note).await;
            Ok(())
        }
        // Changed meanwhile: that change runs this again.
        Ok(None) => Ok(()),
        Err(e) => {
            let note = format!("Failed to update {binding_phrase} with AggregatedStatus: {e}");
            aggregated_event(ctx, &binding_ref, true, &note).await;
            Err(e.into())
        }
    }
}

/// The members' statuses summed onto the template (the kind's AggregateStatus
/// interpretation), if that changes it.
async fn write_template_status<B: Binding>(
    ctx: &Arc<Context>,
    rb: &B,
    template: &PackedObject,
    resolved: &crate::client::kinds::Resolved,
    items: &[AggregatedStatusItem],
) -> Result<()> {
    let r = &rb.spec().resource;
    super::interpreting::ready(ctx).await;
    let interpreter = ctx.interpreter.clone();
    let template_json =
        serde_json::to_value(template).map_err(|e| Error::Internal(e.to_string()))?;
    let aggregated =
        super::interpreting::blocking(|| interpreter.aggregate_status(&template_json, items));
    let aggregated = match aggregated {
        Ok(s) => s,
        Err(e) => {
            super::interpreting::report(ctx, &template_json, None, &e).await;
            None
        }
    };
    let Some(new_status) = aggregated else {
        return Ok(());
    };
    let old_status = template_json.get("status");
    if old_status == Some(&new_status) {
        return Ok(());
    }
    tracing::debug!(template = %r.name, namespace = %r.namespace, old = ?old_status, new = ?new_status, "template status updated");
    let templates: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(ctx.client.clone(), &r.namespace, &resolved.ar)
    } else {
        Api::all_with(ctx.client.clone(), &resolved.ar)
    };
    let template_ref = events::template_ref(r);
    let patch = json!({"status": render::merge_diff(old_status, &new_status)});
    match templates
        .patch_status(&r.name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(written) => {
            ctx.caches.templates(&resolved.ar).record(written.into());
            let note = "Update Resource with AggregatedStatus successfully.";
            aggregated_event(ctx, &template_ref, false, note).await;
            Ok(())
        }
        Err(e) => {
            let note = format!("Failed to update Resource with AggregatedStatus: {e}");
            aggregated_event(ctx, &template_ref, true, &note).await;
            Err(e.into())
        }
    }
}

/// Karmada's AggregateStatusSucceed / AggregateStatusFailed, when the outcome changes.
async fn aggregated_event(
    ctx: &Context,
    regarding: &k8s_openapi::api::core::v1::ObjectReference,
    failed: bool,
    note: &str,
) {
    let reason = if failed {
        events::AGGREGATE_STATUS_FAILED
    } else {
        events::AGGREGATE_STATUS_SUCCEED
    };
    events::publish_on_change(ctx, regarding, "AggregateStatus", failed, reason, note).await;
}

impl<B: Binding> StatusCtx<B> {
    /// Whether a Work that had reported while this binding waited reports something else now;
    /// records what each reported Work says.
    fn news(&self, binding: &ObjectRef<B>, works: &[Arc<Work>]) -> bool {
        let mut reports = self.reports.lock().expect("reports poisoned");
        let seen = reports.entry(binding.clone()).or_default();
        let mut news = false;
        for w in works {
            let Some(status) = w.status.as_ref() else {
                continue;
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            serde_json::to_string(status)
                .unwrap_or_default()
                .hash(&mut h);
            let said = h.finish();
            let cluster = w.namespace().unwrap_or_default();
            if seen
                .insert(cluster, said)
                .is_some_and(|before| before != said)
            {
                news = true;
            }
        }
        news
    }
}

/// `FullyApplied`: True once every target's Work is applied; otherwise why not, per target.
fn fully_applied(
    spec: &ResourceBindingSpec,
    items: &[AggregatedStatusItem],
    failures: &HashMap<String, String>,
) -> (&'static str, &'static str, String) {
    let all_applied = !spec.clusters.is_empty()
        && failures.is_empty()
        && items.len() == spec.clusters.len()
        && items.iter().all(|i| i.applied);
    if all_applied {
        return (
            "True",
            "FullyAppliedSuccess",
            "All works have been successfully applied".into(),
        );
    }
    if spec.clusters.is_empty() {
        return ("False", "FullyAppliedFailed", "no target cluster".into());
    }
    let waiting: Vec<String> = spec
        .clusters
        .iter()
        .filter(|t| {
            failures.contains_key(&t.name)
                || !items.iter().any(|i| i.cluster_name == t.name && i.applied)
        })
        .map(|t| {
            if let Some(e) = failures.get(&t.name) {
                return format!("{}: {e}", t.name);
            }
            match items
                .iter()
                .find(|i| i.cluster_name == t.name)
                .filter(|i| !i.applied_message.is_empty())
            {
                Some(i) => format!("{}: {}", t.name, i.applied_message),
                None => format!("{}: not applied yet", t.name),
            }
        })
        .collect();
    ("False", "FullyAppliedFailed", waiting.join("; "))
}

/// How long a binding's status waits for its Works' first report (Applied, either way) before
/// it is written without them (a member that hangs). Generous:
/// under a burst of new templates a Work waits its turn for seconds, and a status written
/// early is written twice.
const FIRST_REPORT_WAIT: Duration = Duration::from_secs(30);

/// How much longer the status should wait: `Some` while a target's Work (rendered) has not
/// reported yet and is younger than [`FIRST_REPORT_WAIT`]; a Work not in the cache yet has
/// just been created. Targets that are not Ready are not waited for: their Works wait too.
fn first_reports_pending(
    spec: &ResourceBindingSpec,
    works: &[Arc<Work>],
    failures: &HashMap<String, String>,
    ready: impl Fn(&str) -> bool,
) -> Option<Duration> {
    let now = k8s_openapi::jiff::Timestamp::now();
    spec.clusters
        .iter()
        .filter(|t| !failures.contains_key(&t.name) && ready(&t.name))
        .filter_map(|t| {
            let ns = names::execution_namespace(&t.name);
            let Some(work) = works.iter().find(|w| w.namespace().as_deref() == Some(&ns)) else {
                return Some(Duration::ZERO);
            };
            let reported = work.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == keys::CONDITION_APPLIED)
            });
            // A suspended Work does not report until it is resumed.
            if reported || work.spec.suspend_dispatching == Some(true) {
                return None;
            }
            let created = work.metadata.creation_timestamp.as_ref()?;
            Some(now.duration_since(created.0).try_into().unwrap_or_default())
        })
        .min()
        .and_then(|age| FIRST_REPORT_WAIT.checked_sub(age))
        .filter(|d| !d.is_zero())
}

/// One item per target cluster, sorted by cluster, from that cluster's Work.
fn aggregated_items(spec: &ResourceBindingSpec, works: &[Arc<Work>]) -> Vec<AggregatedStatusItem> {
    let mut items: Vec<AggregatedStatusItem> = spec
        .clusters
        .iter()
        .filter_map(|t| {
            let ns = names::execution_namespace(&t.name);
            let work = works
                .iter()
                .find(|w| w.namespace().as_deref() == Some(&ns))?;
            let status = work.status.as_ref()?;
            let applied = status
                .conditions
                .iter()
                .find(|c| c.type_ == keys::CONDITION_APPLIED)?;
            let manifest = status.manifest_statuses.first();
            Some(AggregatedStatusItem {
                cluster_name: t.name.clone(),
                status: manifest.and_then(|m| m.status.clone()),
                applied: applied.status == "True",
                applied_message: if applied.status == "True" {
                    String::new()
                } else {
                    applied.message.clone()
                },
                health: Some(
                    manifest
                        .and_then(|m| m.health)
                        .unwrap_or(ResourceHealth::Unknown),
                ),
            })
        })
        .collect();
    items.sort_by(|a, b| a.cluster_name.cmp(&b.cluster_name));
    items
}
