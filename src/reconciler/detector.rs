//! Detector: matches resource templates to the PropagationPolicy (or ClusterPropagationPolicy)
//! that should govern them, records the claim on the template like Karmada does, and keeps the
//! template's ResourceBinding in step with the template and the policy.
//!
//! Which kinds are watched follows the policies: every apiVersion/kind some policy selects gets
//! its own kube-runtime Controller (built-in kinds and CRDs alike). Any policy change re-runs
//! every template of every watched kind (in memory; only real changes are written).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt as _, stream};
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, PartialObjectMeta, Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::context::MANAGER;
use super::packed::PackedObject;
use super::toolkit::{self, events};
use super::{Context, Error, Result, Shutdown};
use crate::api::policy::ActivationPreference;
use crate::api::work::TargetCluster;
use crate::api::{
    self as keys, Binding, Cluster, ClusterOverridePolicy, ClusterPropagationPolicy,
    ClusterResourceBinding, OverridePolicy, PropagationPolicy, ResourceBinding,
    ResourceBindingSpec, names,
};
use crate::client::kinds::{self, Resolved};
use crate::client::ready::store_ready;
use crate::engine::binding::{binding_differs, built_from, desired_binding};
use crate::engine::interpreter::Replicas;
use crate::engine::matching::{
    CLAIM_NULLS, Claim, claim_metadata, claimed_policy, governing_policy, matching_policies,
    needs_metadata, needs_release, skipped_namespace,
};

const CONTROLLER: &str = "detector";

/// The policy stores every template controller reads (and the Clusters, for a new binding's
/// first placement).
#[derive(Clone)]
pub struct Policies {
    pub namespaced: Store<PropagationPolicy>,
    pub cluster: Store<ClusterPropagationPolicy>,
    clusters: Store<Cluster>,
    /// Permanent ids this process gave policies whose label the stores do not show yet.
    ids: PolicyIds,
}

/// The permanent id given to each new policy, by (cluster-scoped?, namespace, name), until
/// the policy store shows its label: templates claimed at once by a new policy all get the one
/// id it is given, instead of each writing an id of its own over the last one.
type PolicyIds = Arc<std::sync::Mutex<HashMap<(bool, String, String), String>>>;

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let client = ctx.client.clone();
    let (pp_store, pp_writer) = reflector::store();
    let (cpp_store, cpp_writer) = reflector::store();
    let (clusters, cluster_changes) = toolkit::cluster_cache(&client);
    let policies = Policies {
        namespaced: pp_store,
        cluster: cpp_store,
        clusters,
        ids: PolicyIds::default(),
    };
    // The Cluster cache fills while its stream is polled; its changes trigger nothing here.
    let clusters_filling = tokio::spawn(
        cluster_changes
            .take_until(shutdown.clone())
            .for_each(|()| async {}),
    );
    let (changed, _) = broadcast::channel::<()>(16);

    // The policy reflectors run on their own tasks, so their caches keep filling while the
    // loop below waits on them; they only tell the loop that something changed.
    // `true` for a policy change (every template is re-evaluated), `false` for a CRD change
    // (only new kinds may be watched).
    let (notify, mut notified) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let pp = reflector::reflector(
        pp_writer,
        watcher(
            Api::<PropagationPolicy>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .map(|e| e.map(|_| ()).map_err(|e| e.to_string()))
    .boxed();
    let cpp = reflector::reflector(
        cpp_writer,
        watcher(
            Api::<ClusterPropagationPolicy>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .map(|e| e.map(|_| ()).map_err(|e| e.to_string()))
    .boxed();
    let forward = |events: stream::BoxStream<'static, std::result::Result<(), String>>,
                   policy: bool| {
        let notify = notify.clone();
        tokio::spawn(events.take_until(shutdown.clone()).for_each(move |event| {
            match event {
                Ok(()) => {
                    let _ = notify.send(policy);
                }
                Err(e) => tracing::warn!("watch for the detector: {e}"),
            }
            async {}
        }))
    };
    // A CRD installed after the policy that selects its kind: watch its templates once it exists.
    let crds = watcher(
        Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .applied_objects()
    .map(|e| e.map(|_| ()).map_err(|e| e.to_string()))
    .boxed();
    // A customization change may change any template's replicas: re-run them all.
    let customizations = super::interpreting::change_events(&ctx)
        .map(Ok::<(), String>)
        .boxed();
    let watches = [
        clusters_filling,
        forward(pp, true),
        forward(cpp, true),
        forward(crds, false),
        forward(customizations, true),
    ];
    drop(notify);

    let mut running: HashMap<(String, String), tokio::task::JoinHandle<()>> = HashMap::new();
    let mut pending = false;
    let mut policies_changed = false;
    loop {
        // Coalesce bursts (the initial list, kubectl apply of many policies) into one pass.
        let next = if pending {
            tokio::time::timeout(Duration::from_millis(100), notified.recv())
                .await
                .ok()
        } else {
            Some(notified.recv().await)
        };
        match next {
            Some(Some(policy)) => {
                pending = true;
                policies_changed |= policy;
            }
            Some(None) => break,
            None => {
                pending = false;
                let ready =
                    store_ready(&policies.namespaced).await && store_ready(&policies.cluster).await;
                if !ready {
                    break;
                }
                for kind in selected_kinds(&policies) {
                    if running.contains_key(&kind) {
                        continue;
                    }
                    match start_template_controller(
                        &ctx,
                        &policies,
                        &changed,
                        &kind,
                        shutdown.clone(),
                    )
                    .await
                    {
                        Ok(handle) => {
                            running.insert(kind, handle);
                        }
                        Err(e) => {
                            tracing::warn!(api_version = %kind.0, kind = %kind.1, "cannot watch templates yet: {e}")
                        }
                    }
                }
                if std::mem::take(&mut policies_changed) {
                    let _ = changed.send(());
                }
            }
        }
    }
    for handle in running.into_values().chain(watches) {
        let _ = handle.await;
    }
}

/// Every (apiVersion, kind) some policy selects.
fn selected_kinds(policies: &Policies) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = policies
        .namespaced
        .state()
        .iter()
        .flat_map(|p| p.spec.resource_selectors.clone())
        .chain(
            policies
                .cluster
                .state()
                .iter()
                .flat_map(|p| p.spec.resource_selectors.clone()),
        )
        .map(|s| (s.api_version, s.kind))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

struct TemplateCtx {
    ctx: Arc<Context>,
    policies: Policies,
    resource: ApiResource,
    namespaced: bool,
}

async fn start_template_controller(
    ctx: &Arc<Context>,
    policies: &Policies,
    changed: &broadcast::Sender<()>,
    (api_version, kind): &(String, String),
    shutdown: Shutdown,
) -> Result<tokio::task::JoinHandle<()>> {
    let Resolved {
        ar: resource,
        namespaced,
    } = kinds::resolve_gvk(&ctx.client, api_version, kind).await?;
    // The templates' store is shared with the binding controller, which renders from it.
    let templates = ctx.caches.templates(&resource);
    // Object references must carry the store's own type to find anything in it.
    let resource = templates.dyntype();
    let triggers = stream::unfold(changed.subscribe(), |mut rx| async move {
        match rx.recv().await {
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    let tctx = Arc::new(TemplateCtx {
        ctx: ctx.clone(),
        policies: policies.clone(),
        resource: resource.clone(),
        namespaced,
    });
    // A binding deleted by anyone is recreated: its deletion re-runs the template owning it.
    let deleted_bindings = if namespaced {
        deleted_bindings::<ResourceBinding>(ctx, &resource)
    } else {
        deleted_bindings::<ClusterResourceBinding>(ctx, &resource)
    };
    tracing::info!(%api_version, %kind, "watching resource templates");
    let results = Controller::for_shared_stream_with(
        templates.subscribe(),
        templates.store(),
        templates.dyntype(),
    )
    .with_config(toolkit::config(ctx, Duration::ZERO))
    .reconcile_all_on(triggers)
    .reconcile_on(deleted_bindings)
    .graceful_shutdown_on(shutdown)
    .run(reconcile_template, template_error, tctx);
    let ctx = ctx.clone();
    Ok(tokio::spawn(async move {
        toolkit::drive(&ctx, CONTROLLER, results).await
    }))
}

/// The templates of kind `resource` whose binding of kind `B` was deleted.
fn deleted_bindings<B: Binding>(
    ctx: &Context,
    resource: &ApiResource,
) -> stream::BoxStream<'static, ObjectRef<PackedObject>> {
    let owner_kind = resource.clone();
    watcher(
        Api::<PartialObjectMeta<B>>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .filter_map(move |e| {
        let refs = match e {
            Ok(watcher::Event::Delete(b)) => {
                let ns = b.namespace();
                b.owner_references()
                    .iter()
                    .filter(|o| {
                        o.kind == owner_kind.kind && o.api_version == owner_kind.api_version
                    })
                    .map(|o| {
                        let r = ObjectRef::new_with(&o.name, owner_kind.clone());
                        match &ns {
                            Some(ns) => r.within(ns),
                            None => r,
                        }
                    })
                    .collect::<Vec<_>>()
            }
            _ => Vec::new(),
        };
        async move { Some(stream::iter(refs)) }
    })
    .flatten()
    .boxed()
}

fn template_error(obj: Arc<PackedObject>, err: &Error, tctx: Arc<TemplateCtx>) -> Action {
    toolkit::error_policy(&tctx.ctx, CONTROLLER, obj.as_ref(), err)
}

async fn reconcile_template(obj: Arc<PackedObject>, tctx: Arc<TemplateCtx>) -> Result<Action> {
    let ctx = &tctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    let ns = obj.namespace().unwrap_or_default();
    // The newest version, this process's own claim included: a pass that runs before the
    // watch delivers the claim (a policy change re-runs every template) must not claim again.
    let obj = ctx
        .caches
        .templates(&tctx.resource)
        .get(obj.namespace().as_deref(), &obj.name_any())
        .unwrap_or(obj);
    let skipped = if tctx.namespaced {
        skipped_namespace(&ns, &ctx.options.skipped_propagating_namespaces)
    } else {
        // Karmada's own namespaces (and the skip patterns) are never templates themselves:
        // a policy selecting every Namespace must not copy execution namespaces to members.
        tctx.resource.kind == "Namespace"
            && tctx.resource.group.is_empty()
            && skipped_namespace(&obj.name_any(), &ctx.options.skipped_propagating_namespaces)
    };
    if obj.metadata.deletion_timestamp.is_some() || skipped {
        return Ok(Action::await_change());
    }
    let obj = obj.unpack();
    // A namespaced template gets a ResourceBinding, a cluster-scoped one a
    // ClusterResourceBinding, whichever kind of policy claims it (as Karmada does).
    if tctx.namespaced {
        claim_and_bind::<ResourceBinding>(&obj, &tctx, &ns).await
    } else {
        claim_and_bind::<ClusterResourceBinding>(&obj, &tctx, &ns).await
    }
}

async fn claim_and_bind<B: Binding>(
    obj: &DynamicObject,
    tctx: &TemplateCtx,
    ns: &str,
) -> Result<Action> {
    let ctx = &tctx.ctx;
    let current = claimed_policy(obj);
    let candidates = matching_policies(
        obj,
        &tctx.resource,
        &tctx.policies.namespaced.state(),
        &tctx.policies.cluster.state(),
    );
    // A claimed template keeps its policy while that policy exists and still selects it,
    // unless a policy with `preemption: Always` takes it over.
    let (winner, preempted) = governing_policy(current.as_ref(), &candidates);
    let templates: Api<DynamicObject> = if tctx.namespaced {
        Api::namespaced_with(ctx.client.clone(), ns, &tctx.resource)
    } else {
        Api::all_with(ctx.client.clone(), &tctx.resource)
    };
    let bindings: Api<B> = B::api(ctx.client.clone(), ns);
    let binding_name = names::binding_name(&tctx.resource.kind, &obj.name_any());

    let Some(claim) = winner else {
        if current.is_some() {
            release(ctx, &templates, &bindings, obj, &binding_name).await?;
        }
        return Ok(Action::await_change());
    };
    if let Some(missing) = missing_dependent_override(ctx, &claim).await? {
        // Karmada's dependentOverrides: the policy waits until its overrides exist, so the
        // first copy in the members is already overridden.
        tracing::info!(template = %obj.name_any(), namespace = %ns, policy = %claim.describe(), "waiting for dependent override {missing}");
        return Ok(Action::requeue(Duration::from_secs(3)));
    }
    let claim = ensure_policy_id(ctx, &tctx.policies.ids, claim).await?;
    let policy_id = claim.permanent_id.clone().unwrap_or_default();

    // Record the claim on the template.
    let claim_meta = claim_metadata(&claim, &policy_id);
    if needs_metadata(&obj.metadata.labels, &obj.metadata.annotations, &claim_meta) {
        if current.is_some() && current != Some((claim.namespace.clone(), claim.name.clone())) {
            release(ctx, &templates, &bindings, obj, &binding_name).await?;
        }
        if preempted && let Some((pns, pname)) = &current {
            let from = if pns.is_empty() {
                format!("ClusterPropagationPolicy {pname}")
            } else {
                format!("PropagationPolicy {pns}/{pname}")
            };
            let note = format!("{} preempted {from}", claim.describe());
            tracing::info!(template = %obj.name_any(), namespace = %ns, "{note}");
            publish_template_event(
                ctx,
                obj,
                &tctx.resource,
                events::PREEMPT_POLICY_SUCCEED,
                &note,
            )
            .await;
        }
        tracing::debug!(template = %obj.name_any(), namespace = %ns, policy = %claim.describe(), "claiming template");
        let claimed = templates
            .patch(
                &obj.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": claim_meta})),
            )
            .await?;
        ctx.caches.templates(&tctx.resource).record(claimed.into());
        return Ok(Action::await_change()); // the template's own update event continues from here
    }

    let cached = ctx.caches.bindings::<B>();
    if !cached.ready().await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let existing = cached.get(Some(ns), &binding_name).map(|b| (*b).clone());
    if existing
        .as_ref()
        .is_some_and(|b| b.meta().deletion_timestamp.is_some())
    {
        // The old binding is still draining its Works (template deleted and re-created):
        // wait for it to go, then create the new one.
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let lazy = claim.spec.activation_preference == Some(ActivationPreference::Lazy);
    if lazy && existing.as_ref().is_some_and(|b| built_from(b, obj)) {
        // activationPreference: Lazy: a policy change reaches the binding only with the
        // template's next change.
        return Ok(Action::await_change());
    }
    super::interpreting::ready(ctx).await;
    let template_json = serde_json::to_value(obj).map_err(|e| Error::Internal(e.to_string()))?;
    let interpreter = ctx.interpreter.clone();
    let replicas = match super::interpreting::blocking(|| interpreter.replicas(&template_json)) {
        Ok(r) => r,
        Err(e) => {
            // The binding keeps the replicas it had; the Event says why they are not updated.
            super::interpreting::report(ctx, &template_json, None, &e).await;
            existing.as_ref().map(|b| Replicas {
                replicas: b.spec().replicas,
                requirements: b.spec().replica_requirements.clone(),
            })
        }
    };
    let mut desired = desired_binding(
        obj,
        &tctx.resource,
        &claim,
        &policy_id,
        existing.as_ref(),
        replicas.as_ref(),
    );
    match existing.as_ref() {
        // A new binding is created placed (one write instead of two) when the scheduler's
        // decision is plain: see `scheduler::first_placement`.
        None => {
            if let Some(targets) = first_placement(&desired, &tctx.policies.clusters) {
                desired["spec"]["clusters"] = json!(targets);
            }
        }
        // Server-side apply removes a field its manager applied before and leaves out now, so
        // the placement goes along as it stands; the resourceVersion turns a placement the
        // scheduler changed meanwhile into a conflict (retried) rather than a revert.
        Some(b) => {
            desired["spec"]["clusters"] = json!(b.spec().clusters);
            desired["metadata"]["resourceVersion"] = json!(b.resource_version());
        }
    }
    if existing
        .as_ref()
        .is_none_or(|b| binding_differs(b, &desired))
    {
        let regarding = events::dynamic_ref(obj, &tctx.resource);
        let written = bindings
            .patch(
                &binding_name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&desired),
            )
            .await;
        let written = written.map(|b| cached.record(b));
        if let Err(kube::Error::Api(s)) = &written
            && s.code == 409
        {
            // Changed since the cache's copy (the placement, a status): again on the newer one.
            tracing::debug!(binding = %format!("{ns}/{binding_name}"), "binding changed meanwhile; applying again");
            return Ok(Action::requeue(Duration::from_millis(200)));
        }
        if let Err(e) = written {
            let note = format!("Apply {} failed: {e}", policy_phrase(&claim));
            events::publish_on_change(
                ctx,
                &regarding,
                "ApplyPolicy",
                true,
                events::APPLY_POLICY_FAILED,
                &note,
            )
            .await;
            return Err(e.into());
        }
        tracing::info!(binding = %format!("{ns}/{binding_name}"), kind = %B::kind(&()), policy = %claim.describe(), "binding updated");
        let note = format!("Apply {} succeed", policy_phrase(&claim));
        events::publish_on_change(
            ctx,
            &regarding,
            "ApplyPolicy",
            false,
            events::APPLY_POLICY_SUCCEED,
            &note,
        )
        .await;
    }
    Ok(Action::await_change())
}

/// What the scheduler would place a new binding on now, if its decision is plain (`None` while
/// the Cluster cache is filling).
fn first_placement(desired: &Value, clusters: &Store<Cluster>) -> Option<Vec<TargetCluster>> {
    use futures::FutureExt as _;
    let ready = matches!(clusters.wait_until_ready().now_or_never(), Some(Ok(())));
    if !ready {
        return None;
    }
    let spec: ResourceBindingSpec = serde_json::from_value(desired["spec"].clone()).ok()?;
    let clusters: Vec<Cluster> = clusters.state().iter().map(|c| (**c).clone()).collect();
    super::scheduler::first_placement(&spec, &clusters)
}

/// How Karmada's ApplyPolicy Events name the policy: `policy(ns/name)`, `cluster policy(name)`.
fn policy_phrase(claim: &Claim) -> String {
    if claim.is_cluster_policy() {
        format!("cluster policy({})", claim.name)
    } else {
        format!("policy({}/{})", claim.namespace, claim.name)
    }
}

/// The first of the policy's `dependentOverrides` that does not exist yet (OverridePolicies in
/// the policy's namespace, ClusterOverridePolicies for a ClusterPropagationPolicy).
async fn missing_dependent_override(ctx: &Context, claim: &Claim) -> Result<Option<String>> {
    for name in &claim.spec.dependent_overrides {
        let found = if claim.is_cluster_policy() {
            Api::<ClusterOverridePolicy>::all(ctx.client.clone())
                .get_metadata_opt(name)
                .await?
                .is_some()
        } else {
            Api::<OverridePolicy>::namespaced(ctx.client.clone(), &claim.namespace)
                .get_metadata_opt(name)
                .await?
                .is_some()
        };
        if !found {
            let kind = if claim.is_cluster_policy() {
                "ClusterOverridePolicy"
            } else {
                "OverridePolicy"
            };
            return Ok(Some(format!("{kind} {name}")));
        }
    }
    Ok(None)
}

/// An Event on the template.
async fn publish_template_event(
    ctx: &Context,
    obj: &DynamicObject,
    resource: &ApiResource,
    reason: &str,
    note: &str,
) {
    use kube::Resource as _;
    events::publish(ctx, &obj.object_ref(resource), false, reason, note, "Claim").await;
}

/// Gives the policy its permanent-id label (a UUID, like Karmada) if it has none yet.
async fn ensure_policy_id(ctx: &Context, ids: &PolicyIds, mut claim: Claim) -> Result<Claim> {
    let key = (
        claim.is_cluster_policy(),
        claim.namespace.clone(),
        claim.name.clone(),
    );
    if claim.permanent_id.is_some() {
        ids.lock().expect("policy ids poisoned").remove(&key);
        return Ok(claim);
    }
    // The first template to need it gives the policy its id; the others use the same one
    // while the store catches up.
    let (id, first) = {
        let mut ids = ids.lock().expect("policy ids poisoned");
        match ids.get(&key) {
            Some(id) => (id.clone(), false),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                ids.insert(key.clone(), id.clone());
                (id, true)
            }
        }
    };
    if first {
        let label = if claim.is_cluster_policy() {
            keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID
        } else {
            keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID
        };
        let patch = Patch::Merge(json!({"metadata": {"labels": {label: id}}}));
        let params = PatchParams::default();
        let written = if claim.is_cluster_policy() {
            let api: Api<ClusterPropagationPolicy> = Api::all(ctx.client.clone());
            api.patch(&claim.name, &params, &patch).await.map(|_| ())
        } else {
            let api: Api<PropagationPolicy> = Api::namespaced(ctx.client.clone(), &claim.namespace);
            api.patch(&claim.name, &params, &patch).await.map(|_| ())
        };
        if let Err(e) = written {
            ids.lock().expect("policy ids poisoned").remove(&key);
            return Err(e.into());
        }
    }
    claim.permanent_id = Some(id);
    Ok(claim)
}

/// Removes the claim from the template and its binding; the binding, its Works and member
/// objects stay (deleting a policy tears nothing down).
async fn release<B: Binding>(
    ctx: &Context,
    templates: &Api<DynamicObject>,
    bindings: &Api<B>,
    obj: &DynamicObject,
    binding: &str,
) -> Result<()> {
    let nulls: Value = serde_json::from_str(CLAIM_NULLS).expect("static JSON");
    templates
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": nulls.clone()})),
        )
        .await?;
    let cached = ctx.caches.bindings::<B>();
    if !cached.ready().await {
        return Err(Error::Internal("the binding cache stopped".into()));
    }
    let ns = obj.namespace();
    if let Some(b) = cached.get(ns.as_deref(), binding)
        && needs_release(b.as_ref())
    {
        let released = bindings
            .patch(
                binding,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": nulls})),
            )
            .await?;
        cached.record(released);
    }
    tracing::info!(template = %obj.name_any(), "released from its policy");
    Ok(())
}
