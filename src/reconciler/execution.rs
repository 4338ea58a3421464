//! Execution controller: applies each Work's manifests to its member cluster with server-side
//! apply (one field manager), honours conflictResolution, records what it sees in the Work's
//! status, and deletes member objects when a Work goes. It watches the objects it applied in
//! each member (label `karmada.io/managed=true`), so a hand edit is reverted, a hand delete is
//! recreated, and status changes flow back, without polling.
//!
//! The same controller runs in a pull-mode agent (`Options::agent`): there it sees only its
//! own cluster's Works and Cluster and reaches the member with the agent's own credentials; the
//! control plane's instance leaves Pull clusters' Works to their agents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::ApiResource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::context::MANAGER;
use super::member_watches::MemberWatches;
use super::toolkit::{self, events, set_condition};
use super::{Context, Error, Result, Shutdown};
use crate::api::work::ResourceHealth;
use crate::api::work::{ManifestStatus, ResourceIdentifier};
use crate::api::{self as keys, Cluster, RawManifest, Work, names};
use crate::client::kinds::KindCache;
use crate::client::ready::store_ready;
use crate::engine::interpreter::InterpretError;
use crate::engine::ownership::{self, OnApply, OnDelete};
use crate::engine::placement;

const CONTROLLER: &str = "execution";

struct ExecCtx {
    ctx: Arc<Context>,
    /// Resource and scope of each kind, per member.
    kinds: KindCache,
    /// Watches of the objects applied in each member.
    watches: MemberWatches,
    /// The Clusters (a reflector's cache: no GET per reconciliation).
    clusters: Store<Cluster>,
    /// Reconciliations allowed at once per member (`--member-concurrency`).
    slots: Slots,
    /// Retry delays of Works waiting for a kind their member does not serve yet.
    kind_waits: toolkit::Backoff,
    /// The shared Work cache (not in a pull-mode agent, which watches its own namespace): its
    /// read-your-writes keeps a trigger that arrives before the watch delivers this
    /// controller's last status write from writing it again.
    works: Option<super::cache::Cached<Work>>,
}

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let (tx, rx) = mpsc::unbounded_channel();
    let agent = ctx.options.agent.as_deref();
    let (clusters, cluster_changes) = toolkit::cluster_cache_of(&ctx.client, agent);
    let ectx = Arc::new(ExecCtx {
        ctx: ctx.clone(),
        kinds: KindCache::default(),
        watches: MemberWatches::new(tx.clone(), ctx.metrics.clone()),
        clusters,
        slots: Slots::new(ctx.options.member_concurrency),
        kind_waits: toolkit::Backoff::new(Duration::from_millis(500), Duration::from_secs(10)),
        works: agent.is_none().then(|| ctx.caches.works()),
    });
    let member_events =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    // No global bound on reconciliations: each waits for a slot of its own member instead, so
    // a member that hangs holds only its own slots while the others keep their pace.
    let controller = match agent {
        Some(cluster) => Controller::new(
            Api::<Work>::namespaced(ctx.client.clone(), &names::execution_namespace(cluster)),
            watcher::Config::default(),
        ),
        // The Works' store is shared with the binding and namespace controllers.
        None => {
            let works = ctx.caches.works();
            Controller::for_shared_stream(works.subscribe(), works.store())
        }
    };
    let controller =
        controller.with_config(toolkit::config(&ctx, Duration::from_millis(20)).concurrency(0));
    let follow = tokio::spawn(follow_clusters(
        ectx.clone(),
        controller.store(),
        cluster_changes,
        tx,
    ));
    let results = controller
        .reconcile_on(member_events)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ectx.clone());
    toolkit::drive(&ctx, CONTROLLER, results).await;
    follow.abort();
    ectx.watches.stop_all();
}

/// Keeps the member side in step with the Clusters and their Secrets: a member that turns
/// Ready re-runs its Works (they waited), changed credentials restart its watches, a removed
/// Cluster stops them and drops its clients.
async fn follow_clusters(
    ectx: Arc<ExecCtx>,
    works: Store<Work>,
    mut cluster_changes: BoxStream<'static, ()>,
    triggers: mpsc::UnboundedSender<ObjectRef<Work>>,
) {
    let mut secret_changes = ectx.ctx.members.subscribe();
    // The cache fills while its stream is polled: by a task of its own, so waiting for it here
    // (and in reconcile) cannot stall it.
    let (changed, mut cluster_changed) = tokio::sync::watch::channel(0u64);
    let driver = tokio::spawn(async move {
        while cluster_changes.next().await.is_some() {
            changed.send_modify(|n| *n = n.wrapping_add(1));
        }
    });
    let _driver = AbortOnDrop(driver);
    let mut ready: Option<HashMap<String, bool>> = None;
    loop {
        tokio::select! {
            change = cluster_changed.changed() => if change.is_err() { return },
            change = secret_changes.changed() => if change.is_err() { return },
        }
        if !store_ready(&ectx.clusters).await {
            return;
        }
        let clusters = ectx.clusters.state();
        let now: HashMap<String, bool> = clusters
            .iter()
            .map(|c| (c.name_any(), placement::is_ready(c)))
            .collect();
        // The first pass only records readiness: every Work runs at start anyway.
        if let Some(before) = &ready {
            for (name, _) in now
                .iter()
                .filter(|(n, r)| **r && before.get(*n) != Some(&true))
            {
                let ns = names::execution_namespace(name);
                let waiting: Vec<_> = works
                    .state()
                    .iter()
                    .filter(|w| w.namespace().as_deref() == Some(ns.as_str()))
                    .map(|w| ObjectRef::from_obj(w.as_ref()))
                    .collect();
                tracing::info!(cluster = %name, works = waiting.len(), "cluster is Ready; running its Works");
                for w in waiting {
                    let _ = triggers.send(w);
                }
            }
        }
        ready = Some(now);
        for name in ectx.watches.clusters() {
            let cluster = clusters
                .iter()
                .find(|c| c.name_any() == name && c.metadata.deletion_timestamp.is_none());
            let Some(cluster) = cluster else {
                ectx.watches.stop(&name);
                ectx.ctx.members.forget(&name);
                ectx.kinds.forget(&name);
                ectx.slots.forget(&name);
                continue;
            };
            match ectx.ctx.members.member(&ectx.ctx.client, cluster).await {
                Ok(member) => {
                    if ectx.watches.follow(&name, &member) {
                        // Possibly another cluster behind the same name: discover again.
                        ectx.kinds.forget(&name);
                    }
                }
                Err(e) => tracing::debug!(cluster = %name, "member watches left as they are: {e}"),
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Per-member semaphores: a reconciliation waits for a slot of its own member.
struct Slots {
    limit: usize,
    per_cluster: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Slots {
    fn new(limit: u16) -> Self {
        Slots {
            limit: usize::from(limit.max(1)),
            per_cluster: Mutex::default(),
        }
    }

    async fn acquire(&self, cluster: &str) -> OwnedSemaphorePermit {
        let semaphore = self
            .per_cluster
            .lock()
            .expect("slot map poisoned")
            .entry(cluster.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
            .clone();
        semaphore
            .acquire_owned()
            .await
            .expect("slot semaphores are never closed")
    }

    fn forget(&self, cluster: &str) {
        self.per_cluster
            .lock()
            .expect("slot map poisoned")
            .remove(cluster);
    }
}

/// One reconciliation's turn at its member: taken only before the first member request, so a
/// Work whose objects the member watch shows as applied (a status change to reflect) does not
/// queue behind that member's applies.
struct Turn<'a> {
    slots: &'a Slots,
    cluster: &'a str,
    permit: Option<OwnedSemaphorePermit>,
}

impl<'a> Turn<'a> {
    fn new(slots: &'a Slots, cluster: &'a str) -> Self {
        Turn {
            slots,
            cluster,
            permit: None,
        }
    }

    /// Waits for a slot of the member, once.
    async fn take(&mut self) {
        if self.permit.is_none() {
            self.permit = Some(self.slots.acquire(self.cluster).await);
        }
    }
}

/// How often a Work of a member that is not Ready looks again (from the cache), in case a
/// Ready transition was missed; becoming Ready re-runs it at once.
const NOT_READY_RECHECK: Duration = Duration::from_secs(300);

/// Unreachable members are retried on their own backoff; other Works keep flowing meanwhile.
fn error_policy(work: Arc<Work>, err: &Error, ectx: Arc<ExecCtx>) -> Action {
    toolkit::error_policy(&ectx.ctx, CONTROLLER, work.as_ref(), err)
}

async fn reconcile(work: Arc<Work>, ectx: Arc<ExecCtx>) -> Result<Action> {
    let ctx = &ectx.ctx;
    let ns = work.namespace().unwrap_or_default();
    let work = match &ectx.works {
        Some(cache) => cache.get(Some(&ns), &work.name_any()).unwrap_or(work),
        None => work,
    };
    let Some(cluster_name) = names::cluster_of_execution_namespace(&ns).map(str::to_string) else {
        return Ok(Action::await_change());
    };
    let works: Api<Work> = Api::namespaced(ctx.client.clone(), &ns);
    // Member requests wait for this member's turn: a member that hangs holds only its own
    // slots. Reads from the member watch's cache do not.
    let mut turn = Turn::new(&ectx.slots, &cluster_name);
    let _timer = ctx.metrics.start(CONTROLLER);
    if !store_ready(&ectx.clusters).await {
        return Err(Error::Internal("the Cluster cache stopped".into()));
    }
    let mut cluster = ectx.clusters.get(&ObjectRef::new(&cluster_name));
    let deleting = work.metadata.deletion_timestamp.is_some();
    if deleting && cluster.is_none() {
        // Before releasing member objects for good, make sure the cache is not just behind.
        cluster = Api::<Cluster>::all(ctx.client.clone())
            .get_opt(&cluster_name)
            .await?
            .map(Arc::new);
    }
    // A member that is not Ready is left alone: its Works wait until it is Ready again (that
    // re-runs them) instead of retrying against it. Deletions are the exception: the finalizer
    // must not wait for a member that may never come back (it retries with backoff and releases
    // the Work after --cluster-deletion-grace-period).
    if let Some(c) = &cluster
        && !deleting
        && !placement::is_ready(c)
        && c.metadata.deletion_timestamp.is_none()
        && work.spec.suspend_dispatching != Some(true)
    {
        tracing::debug!(cluster = %cluster_name, work = %work.name_any(), "cluster is not Ready; the Work waits");
        return Ok(Action::requeue(NOT_READY_RECHECK));
    }

    if leave_to_agent(ctx, cluster.as_deref(), deleting) {
        return Ok(Action::await_change());
    }
    if deleting {
        turn.take().await;
        return finalize(&work, cluster.as_deref(), &ectx, &works).await;
    }
    super::interpreting::ready(ctx).await;
    let Some(cluster) = cluster else {
        return Ok(Action::await_change()); // the Cluster's own finalizer removes this Work
    };
    if work.spec.suspend_dispatching == Some(true) {
        let mut st = work.status.clone().unwrap_or_default();
        let before = st.clone();
        set_condition(
            &mut st.conditions,
            keys::CONDITION_DISPATCHING,
            "False",
            "SuspendDispatching",
            "dispatching is suspended by the policy",
        );
        if st != before {
            works
                .patch_status(
                    &work.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": st})),
                )
                .await?;
        }
        return Ok(Action::await_change());
    }
    let member = ctx
        .members
        .get(&ctx.client, &cluster)
        .await
        .map_err(|e| Error::Member {
            cluster: cluster_name.clone(),
            message: e.to_string(),
        })?;
    let overwrite = work
        .annotations()
        .get(keys::ANNOTATION_CONFLICT_RESOLUTION)
        .map(String::as_str)
        == Some(keys::CONFLICT_RESOLUTION_OVERWRITE);

    let mut manifest_statuses = Vec::new();
    let mut failure: Option<String> = None;
    let mut kind_missing = false;
    // Events wait for the status: they are published only when the outcome changes.
    let mut conflicts: Vec<(Value, String)> = Vec::new();
    // Parsed one at a time: a reconciliation may wait for its member's turn meanwhile.
    for (ordinal, manifest) in work.spec.workload.manifests.iter().enumerate() {
        let manifest = &manifest.value();
        match apply_one(
            &ectx,
            &mut turn,
            &member,
            &cluster_name,
            manifest,
            overwrite,
        )
        .await
        {
            Ok((identifier, live)) => {
                let interpreter = ctx.interpreter.clone();
                let reflected = match live.as_ref() {
                    Some(l) => super::interpreting::blocking(|| interpreter.reflect_status(l)),
                    None => Ok(None),
                };
                let reflected = match reflected {
                    Ok(r) => r,
                    Err(e) => {
                        report_interpretation(ctx, manifest, &e).await;
                        None
                    }
                };
                let health = super::interpreting::blocking(|| {
                    interpreter.health(manifest, live.as_ref(), reflected.as_ref())
                });
                let health = match health {
                    Ok(h) => h,
                    Err(e) => {
                        report_interpretation(ctx, manifest, &e).await;
                        ResourceHealth::Unknown
                    }
                };
                manifest_statuses.push(ManifestStatus {
                    identifier: ResourceIdentifier {
                        ordinal: ordinal as i32,
                        ..identifier
                    },
                    health: Some(health),
                    status: reflected.map(Into::into),
                });
            }
            Err(ApplyError::Conflict(msg)) => {
                conflicts.push((manifest.clone(), msg.clone()));
                failure = Some(msg);
            }
            Err(ApplyError::Failed(msg)) => failure = Some(msg),
            Err(ApplyError::KindMissing(msg)) => {
                kind_missing = true;
                failure = Some(msg);
            }
            Err(ApplyError::Unreachable(e)) => {
                return Err(Error::Member {
                    cluster: cluster_name,
                    message: e,
                });
            }
        }
    }

    let mut st = work.status.clone().unwrap_or_default();
    let before = st.clone();
    match &failure {
        None => set_condition(
            &mut st.conditions,
            keys::CONDITION_APPLIED,
            "True",
            "AppliedSuccessful",
            "Manifest has been successfully applied",
        ),
        Some(msg) => set_condition(
            &mut st.conditions,
            keys::CONDITION_APPLIED,
            "False",
            "AppliedFailed",
            msg,
        ),
    }
    set_condition(
        &mut st.conditions,
        keys::CONDITION_DISPATCHING,
        "True",
        "Dispatching",
        "dispatching is enabled",
    );
    st.manifest_statuses = manifest_statuses;
    if st != before {
        tracing::debug!(
            work = %work.name_any(),
            cluster = %cluster_name,
            conditions = st.conditions != before.conditions,
            manifests = st.manifest_statuses != before.manifest_statuses,
            "work status updated"
        );
        if let Some(cache) = &ectx.works {
            // The binding status controller sums the new status while it is being written:
            // the binding's and template's statuses go out beside the Work's, not after it.
            let mut pending = Work::new(&work.name_any(), work.spec.clone());
            pending.metadata = work.metadata.clone();
            pending.status = Some(st.clone());
            cache.record_pending(pending);
            ctx.status_writes.written(&work);
        }
        let written = works
            .patch_status(
                &work.name_any(),
                &PatchParams::default(),
                // Lists spelled out even when empty: a merge patch that omits them keeps old ones.
                &Patch::Merge(json!({"status": {"conditions": st.conditions, "manifestStatuses": st.manifest_statuses}})),
            )
            .await;
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                if let Some(cache) = &ectx.works {
                    cache.forget_pending(Some(&ns), &work.name_any());
                }
                return Err(e.into());
            }
        };
        if let Some(cache) = &ectx.works {
            cache.record(written);
        }
        let applied = |s: &crate::api::work::WorkStatus| {
            s.conditions
                .iter()
                .find(|c| c.type_ == keys::CONDITION_APPLIED)
                .map(|c| (c.status.clone(), c.message.clone()))
        };
        if applied(&before) != applied(&st) {
            for (m, msg) in &conflicts {
                publish(ctx, m, EventType::Warning, events::CONFLICT, msg).await;
            }
            publish_sync(ctx, &work, &cluster_name, failure.as_deref()).await;
        }
        publish_status_changes(ctx, &work, &cluster_name, &before, &st).await;
    }
    let key = format!("{ns}/{}", work.name_any());
    if !kind_missing {
        ectx.kind_waits.succeeded(&key);
    }
    // A refused apply (missing namespace, conflict) is retried: what blocks it may go away
    // without any event this controller watches. A kind the member does not serve yet (its
    // CRD is being propagated alongside) is retried sooner, on a backoff of its own.
    Ok(match failure {
        Some(_) if kind_missing => Action::requeue(ectx.kind_waits.failed(&key)),
        Some(_) => Action::requeue(Duration::from_secs(10)),
        None => Action::await_change(),
    })
}

/// Karmada's SyncSucceed / SyncFailed, on the Work and on the template of each manifest.
async fn publish_sync(ctx: &Context, work: &Work, cluster: &str, failure: Option<&str>) {
    let (warning, reason) = match failure {
        None => (false, events::SYNC_SUCCEED),
        Some(_) => (true, events::SYNC_FAILED),
    };
    for m in &work.spec.workload.manifests {
        let m = m.value();
        let what = ownership::describe(&m);
        let note = match failure {
            None => format!("Successfully applied {what} to cluster {cluster}"),
            Some(e) => format!("Failed to apply {what} to cluster {cluster}: {e}"),
        };
        events::publish(
            ctx,
            &events::object_ref(work),
            warning,
            reason,
            &note,
            "Apply",
        )
        .await;
        let t = if warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(ctx, &m, t, reason, &note).await;
    }
}

/// ReflectStatusSucceed when a member object's status first reaches the Work, and
/// InterpretHealthSucceed when its health changes, on the Work (as Karmada's work status
/// controller does; not on every status change, which would be an Event write each time).
async fn publish_status_changes(
    ctx: &Context,
    work: &Work,
    cluster: &str,
    before: &crate::api::work::WorkStatus,
    after: &crate::api::work::WorkStatus,
) {
    let regarding = events::object_ref(work);
    for m in &after.manifest_statuses {
        let old = before
            .manifest_statuses
            .iter()
            .find(|o| o.identifier == m.identifier);
        let id = &m.identifier;
        let what = if id.namespace.is_empty() {
            format!("{} {}", id.kind, id.name)
        } else {
            format!("{} {}/{}", id.kind, id.namespace, id.name)
        };
        if m.status.is_some() && old.is_none_or(|o| o.status.is_none()) {
            let note = format!("Reflected the status of {what} in cluster {cluster}");
            events::publish(
                ctx,
                &regarding,
                false,
                events::REFLECT_STATUS_SUCCEED,
                &note,
                "ReflectStatus",
            )
            .await;
        }
        if let Some(health) = m.health
            && old.and_then(|o| o.health) != Some(health)
        {
            let note =
                format!("Interpreted the health of {what} in cluster {cluster} as {health:?}");
            events::publish(
                ctx,
                &regarding,
                false,
                events::INTERPRET_HEALTH_SUCCEED,
                &note,
                "InterpretHealth",
            )
            .await;
        }
    }
}

/// Whether the control plane leaves this Work to the agent of its Pull cluster: always, except
/// a deletion once the Cluster is being removed and not Ready (no agent will come for it; the
/// finalizer then lets go, naming what was left).
fn leave_to_agent(ctx: &Context, cluster: Option<&Cluster>, deleting: bool) -> bool {
    let Some(c) = cluster else { return false };
    ctx.options.agent.is_none()
        && c.spec.sync_mode == crate::api::cluster::ClusterSyncMode::Pull
        && !(deleting && c.metadata.deletion_timestamp.is_some() && !placement::is_ready(c))
}

enum ApplyError {
    /// An object that is not this Work's (unmanaged, or another Work's) is in the way and
    /// conflictResolution is Abort.
    Conflict(String),
    /// The member refused the object (invalid, forbidden, missing namespace, ...).
    Failed(String),
    /// The member does not serve the kind (yet): a CRD propagated in the same apply as its
    /// custom resources, not established in the member yet. Retried soon, on a backoff.
    KindMissing(String),
    /// The member did not answer; retried with backoff.
    Unreachable(String),
}

fn classify(e: kube::Error) -> ApplyError {
    match e {
        kube::Error::Api(s) => ApplyError::Failed(format!("{} ({})", s.message, s.reason)),
        other => ApplyError::Unreachable(other.to_string()),
    }
}

fn manifest_kind(m: &Value) -> String {
    m["kind"].as_str().unwrap_or_default().to_string()
}

/// Applies one manifest unless the member already has it as desired; returns the live object.
async fn apply_one(
    ectx: &ExecCtx,
    turn: &mut Turn<'_>,
    member: &Client,
    cluster: &str,
    manifest: &Value,
    overwrite: bool,
) -> std::result::Result<(ResourceIdentifier, Option<Value>), ApplyError> {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let kind = manifest_kind(manifest);
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ns = manifest
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !ectx.kinds.known(cluster, api_version, &kind) {
        turn.take().await; // discovery
    }
    let (ar, namespaced) = resolve_kind(ectx, member, cluster, api_version, &kind).await?;
    ensure_watch(ectx, cluster, &ar);
    let identifier = ResourceIdentifier {
        ordinal: 0,
        group: ar.group.clone(),
        version: ar.version.clone(),
        kind: kind.clone(),
        resource: ar.plural.clone(),
        namespace: ns.clone(),
        name: name.clone(),
    };
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(member.clone(), &ns, &ar)
    } else {
        Api::all_with(member.clone(), &ar)
    };
    // The member watch's cache holds every object we manage there; only an object it lacks
    // (first contact, or one that exists unmanaged) is read from the member. Before its first
    // list it holds only what this process applied (its store is empty until then).
    let cache = ectx.watches.cache(cluster, &ar);
    let cached = cache
        .as_ref()
        .and_then(|c| c.get(namespaced.then_some(ns.as_str()), &name));
    let live = match cached {
        Some(o) => Some(o.to_value()),
        None => {
            turn.take().await;
            api.get_opt(&name)
                .await
                .map_err(classify)?
                .map(|o| serde_json::to_value(o).unwrap_or_default())
        }
    };
    // Values the member controls (per the kind's Retain customization) are kept.
    let retained;
    let manifest = match live.as_ref() {
        Some(l) => {
            let interpreter = ectx.ctx.interpreter.clone();
            match super::interpreting::blocking(|| interpreter.retain(manifest, l)) {
                Ok(Some(r)) => {
                    retained = r;
                    &retained
                }
                Ok(None) => manifest,
                Err(e) => {
                    report_interpretation(&ectx.ctx, manifest, &e).await;
                    return Err(ApplyError::Failed(e.to_string()));
                }
            }
        }
        None => manifest,
    };
    let manifest = match ownership::on_apply(live.as_ref(), manifest, overwrite, cluster) {
        OnApply::UpToDate => return Ok((identifier, live)),
        OnApply::Conflict(msg) => return Err(ApplyError::Conflict(msg)),
        OnApply::Apply { adopt: false } => manifest.clone(),
        OnApply::Apply { adopt: true } => {
            if live.as_ref().is_some_and(|l| !ownership::is_adopted(l)) {
                tracing::info!(%cluster, %kind, name = %name, namespace = %ns, "taking over an existing object (conflictResolution Overwrite); it will be released, not deleted, when its Work goes");
            }
            ownership::adopted(manifest)
        }
    };
    turn.take().await;
    ectx.ctx.metrics.member_writes.inc();
    let applied = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&manifest),
        )
        .await
        .map_err(|e| {
            if matches!(&e, kube::Error::Api(s) if s.code == 404) {
                // Perhaps the kind went away (a CRD deleted, maybe re-created with another
                // scope): discover it again on the next try.
                ectx.kinds.forget_kind(cluster, api_version, &kind);
            }
            classify(e)
        })?;
    tracing::info!(%cluster, %kind, name = %name, namespace = %ns, "applied");
    let applied_json = serde_json::to_value(&applied).unwrap_or_default();
    if let Some(c) = cache {
        c.record(applied.into());
    }
    Ok((identifier, Some(applied_json)))
}

async fn resolve_kind(
    ectx: &ExecCtx,
    member: &Client,
    cluster: &str,
    api_version: &str,
    kind: &str,
) -> std::result::Result<(ApiResource, bool), ApplyError> {
    let resolved = ectx
        .kinds
        .resolve(cluster, member, api_version, kind)
        .await
        .map_err(|e| match e {
            kube::Error::Discovery(d) => ApplyError::KindMissing(format!(
                "cluster {cluster} does not serve {api_version} {kind} (yet): {d}"
            )),
            kube::Error::Api(s) if s.code == 404 => ApplyError::KindMissing(format!(
                "cluster {cluster} does not serve {api_version} {kind} (yet); install its CustomResourceDefinition there (propagate it too) if it should"
            )),
            other => classify(other),
        })?;
    Ok((resolved.ar, resolved.namespaced))
}

/// Starts (once) a watch of the objects of this kind we manage in this member, on the
/// member's current credentials; each change triggers the Work that owns the object.
fn ensure_watch(ectx: &ExecCtx, cluster: &str, ar: &ApiResource) {
    let removing = ectx
        .clusters
        .get(&ObjectRef::new(cluster))
        .is_none_or(|c| c.metadata.deletion_timestamp.is_some());
    if removing {
        return; // its watches are stopped
    }
    if let Some(member) = ectx.ctx.members.cached(cluster) {
        ectx.watches.ensure(cluster, &member, ar);
    }
}

/// Removes the Work's objects from the member (unless preserved), then releases the Work.
///
/// Only what this Work created is deleted; what it adopted is released (see
/// `engine::ownership`). A member that cannot be reached (or refuses) is retried, but never
/// blocks forever: when the Cluster is gone, or is being deleted and is not Ready, or the
/// Work's deletion has waited `--cluster-deletion-grace-period`, the Work is released anyway
/// and an Event on each template names what was left in the member.
async fn finalize(
    work: &Work,
    cluster: Option<&Cluster>,
    ectx: &ExecCtx,
    works: &Api<Work>,
) -> Result<Action> {
    if !work
        .finalizers()
        .iter()
        .any(|f| f == keys::FINALIZER_EXECUTION_CONTROLLER)
    {
        return Ok(Action::await_change());
    }
    let ctx = &ectx.ctx;
    let ns = work.namespace().unwrap_or_default();
    let cluster_name = names::cluster_of_execution_namespace(&ns)
        .unwrap_or_default()
        .to_string();
    let preserve = work.spec.preserve_resources_on_deletion == Some(true);
    if preserve {
        // Left as they are.
    } else if let Some(namespace) = wanted_namespace(ctx, work, cluster).await? {
        tracing::info!(cluster = %cluster_name, work = %work.name_any(), "the Work of namespace {namespace} was deleted while the namespace and its cluster stay: the member namespace is kept and the Work is recreated");
    } else if let Err(left) = remove_from_member(work, cluster, ectx).await {
        let waited = deleting_for(work);
        let grace = ctx.options.cluster_deletion_grace_period;
        let why = match cluster {
            None => "the Cluster no longer exists".to_string(),
            Some(c)
                if c.metadata.deletion_timestamp.is_some()
                    && !crate::engine::placement::is_ready(c) =>
            {
                format!(
                    "the cluster is being removed and cannot be reached: {}",
                    left.reason
                )
            }
            Some(_) if waited >= grace => format!(
                "it could not be removed for {}: {}",
                crate::duration::format(grace),
                left.reason
            ),
            Some(_) => {
                return Err(Error::Member {
                    cluster: cluster_name,
                    message: format!(
                        "cannot remove {} yet (retried until the Work has waited {}): {}",
                        describe_all(&left.manifests),
                        crate::duration::format(grace),
                        left.reason
                    ),
                });
            }
        };
        tracing::warn!(cluster = %cluster_name, work = %work.name_any(), "releasing the Work; left in the member: {}; {why}", describe_all(&left.manifests));
        for m in &left.manifests {
            let note = format!(
                "{} left in cluster {cluster_name}: {why}; remove it by hand if it should go",
                ownership::describe(m)
            );
            publish(ctx, m, EventType::Warning, events::LEFT_IN_CLUSTER, &note).await;
        }
    }
    super::toolkit::remove_finalizer(works, work, keys::FINALIZER_EXECUTION_CONTROLLER).await?;
    Ok(Action::await_change())
}

/// What a Work's deletion could not remove, and why.
struct Left {
    manifests: Vec<Value>,
    reason: String,
}

fn describe_all(manifests: &[Value]) -> String {
    manifests
        .iter()
        .map(ownership::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long the Work has been waiting to be deleted.
fn deleting_for(work: &Work) -> Duration {
    work.metadata
        .deletion_timestamp
        .as_ref()
        .and_then(|t| {
            k8s_openapi::jiff::Timestamp::now()
                .duration_since(t.0)
                .try_into()
                .ok()
        })
        .unwrap_or_default()
}

/// Deletes (or releases) each of the Work's objects in the member; what could not be removed.
async fn remove_from_member(
    work: &Work,
    cluster: Option<&Cluster>,
    ectx: &ExecCtx,
) -> std::result::Result<(), Left> {
    let all = || {
        work.spec
            .workload
            .manifests
            .iter()
            .map(RawManifest::value)
            .collect()
    };
    let Some(cluster) = cluster else {
        return Err(Left {
            manifests: all(),
            reason: "the Cluster no longer exists".into(),
        });
    };
    let name = cluster.name_any();
    let member = match ectx.ctx.members.get(&ectx.ctx.client, cluster).await {
        Ok(m) => m,
        Err(e) => {
            return Err(Left {
                manifests: all(),
                reason: e.to_string(),
            });
        }
    };
    let mut left = Left {
        manifests: Vec::new(),
        reason: String::new(),
    };
    for m in work.spec.workload.manifests.iter().map(RawManifest::value) {
        if let Err(e) = delete_one(ectx, &member, &name, &m).await {
            if left.manifests.is_empty() {
                left.reason = e.to_string();
            }
            left.manifests.push(m);
        }
    }
    if left.manifests.is_empty() {
        Ok(())
    } else {
        Err(left)
    }
}

/// The namespace whose Work this is, when that Work was deleted while the control plane still
/// wants the namespace in this cluster (by hand, say): the namespace sync recreates the Work,
/// so the member namespace, and everything in it, stays.
async fn wanted_namespace(
    ctx: &Context,
    work: &Work,
    cluster: Option<&Cluster>,
) -> Result<Option<String>> {
    if cluster.is_none_or(|c| c.metadata.deletion_timestamp.is_some()) {
        return Ok(None);
    }
    let Some(owner) = work
        .owner_references()
        .iter()
        .find(|o| o.kind == "Namespace" && o.api_version == "v1")
    else {
        return Ok(None);
    };
    let ns = Api::<Namespace>::all(ctx.client.clone())
        .get_opt(&owner.name)
        .await?;
    Ok(ns
        .filter(|n| {
            n.metadata.deletion_timestamp.is_none()
                && n.metadata.uid.as_deref() == Some(owner.uid.as_str())
                && !super::namespace_sync::skipped(n, &ctx.options)
        })
        .map(|_| owner.name.clone()))
}

/// Deletes one member object if this Work created it, releases it if this Work adopted it,
/// leaves it alone otherwise. Only 404 means gone; any other failure is an error (retried).
async fn delete_one(
    ectx: &ExecCtx,
    member: &Client,
    cluster: &str,
    manifest: &Value,
) -> Result<()> {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ns = manifest
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let failed = |e: kube::Error| Error::Member {
        cluster: cluster.into(),
        message: e.to_string(),
    };
    let kind = manifest_kind(manifest);
    let resolved = match ectx
        .kinds
        .resolve(cluster, member, api_version, &kind)
        .await
    {
        Ok(r) => r,
        // The member does not serve the kind (or its group version): nothing of it is there.
        Err(kube::Error::Discovery(_)) => return Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(failed(e)),
    };
    let api: Api<DynamicObject> = if resolved.namespaced {
        Api::namespaced_with(member.clone(), ns, &resolved.ar)
    } else {
        Api::all_with(member.clone(), &resolved.ar)
    };
    let Some(live) = api.get_opt(name).await.map_err(failed)? else {
        return Ok(());
    };
    let live_json = serde_json::to_value(&live).unwrap_or_default();
    let what = ownership::describe(manifest);
    let result = match ownership::on_delete(&live_json, manifest) {
        OnDelete::Keep => {
            tracing::info!(%cluster, "{what} is not this Work's (not managed by Karmada, or another Work's): left alone");
            return Ok(());
        }
        OnDelete::Release => {
            ectx.ctx.metrics.member_writes.inc();
            let patch = ownership::release_patch(live.metadata.resource_version.as_deref());
            let r = api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ());
            tracing::info!(%cluster, "{what} existed before it was applied: released, not deleted");
            r
        }
        OnDelete::Delete => {
            ectx.ctx.metrics.member_writes.inc();
            // Preconditions: if it changed hands since we looked, the delete fails and is retried.
            let params = DeleteParams::background().preconditions(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            });
            api.delete(name, &params).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(failed(e)),
    }
}

/// An Event on the template the manifest came from.
async fn publish(ctx: &Context, manifest: &Value, type_: EventType, reason: &str, note: &str) {
    let meta = &manifest["metadata"];
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: manifest["apiVersion"].as_str().map(String::from),
        kind: manifest["kind"].as_str().map(String::from),
        name: meta["name"].as_str().map(String::from),
        namespace: meta["namespace"].as_str().map(String::from),
        uid: meta["annotations"][keys::ANNOTATION_RESOURCE_TEMPLATE_UID]
            .as_str()
            .map(String::from),
        ..Default::default()
    };
    let warning = matches!(type_, EventType::Warning);
    events::publish(ctx, &reference, warning, reason, note, "Apply").await;
}

/// An Event on the template behind `manifest` for a script that failed on it.
async fn report_interpretation(ctx: &Context, manifest: &Value, err: &InterpretError) {
    let uid = manifest["metadata"]["annotations"][keys::ANNOTATION_RESOURCE_TEMPLATE_UID].as_str();
    super::interpreting::report(ctx, manifest, uid, err).await;
}
