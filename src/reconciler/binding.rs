//! Binding controller: renders one Work per target cluster of a ResourceBinding (in
//! `karmada-es-<cluster>`) and removes Works of clusters no longer targeted. It reads no
//! status: the binding status controller ([`super::binding_status`]), started alongside, sums
//! the Works' status into the binding and the template.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt as _};
use serde_json::{Value, json};

use super::binding_status::{RenderFailures, owner_of, scheduled};
use super::context::MANAGER;
use super::toolkit::{self, changes, events};
use super::{Context, Error, Result, Shutdown};
use crate::api::override_policy::{ClusterOverridePolicy, OverridePolicy};
use crate::api::policy::ConflictResolution;
use crate::api::{
    self as keys, Binding, Cluster, ClusterResourceBinding, ResourceBinding, ResourceBindingSpec,
    Work, names,
};
use crate::client::kinds::KindCache;
use crate::client::ready::store_ready;
use crate::client::requests::CONTROL_PLANE;
use crate::engine::overrides;
use crate::engine::render::{self, Origin};

const CONTROLLER: &str = "binding";

struct BindingCtx<B: Binding> {
    ctx: Arc<Context>,
    kinds: Arc<KindCache>,
    /// Override rules pick clusters by name, labels and fields.
    clusters: Store<Cluster>,
    override_policies: Store<OverridePolicy>,
    cluster_override_policies: Store<ClusterOverridePolicy>,
    /// The dependency kinds' caches, and the workloads waiting for a dependency (propagateDeps).
    dependencies: Arc<super::dependencies::Dependencies>,
    /// Targets this controller could not render, for the status controller.
    failures: Arc<RenderFailures<B>>,
}

/// What of a Cluster an override rule can select on: its labels and its spec (fields).
fn cluster_selectable(c: &Cluster) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.metadata.labels.hash(&mut h);
    c.metadata.generation.hash(&mut h);
    Some(h.finish())
}

/// One controller per binding kind (ResourceBinding, ClusterResourceBinding), each with the
/// Works of its kind and a status controller; the policy and Cluster caches are shared.
pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let client = ctx.client.clone();
    // Any override policy change re-renders every binding; only Works whose content changes
    // are written.
    let (override_policies, op_changes) = changes(Api::<OverridePolicy>::all(client.clone()), None);
    let (cluster_override_policies, cop_changes) =
        changes(Api::<ClusterOverridePolicy>::all(client.clone()), None);
    let (clusters, cluster_changes) = changes(
        Api::<Cluster>::all(client.clone()),
        Some(cluster_selectable),
    );
    let [op_rb, op_crb] = toolkit::fanout(op_changes);
    let [cop_rb, cop_crb] = toolkit::fanout(cop_changes);
    let [clusters_rb, clusters_crb] = toolkit::fanout(cluster_changes);
    let (dependencies, dependency_changes) = super::dependencies::Dependencies::start(&client);
    let shared = Shared {
        ctx: ctx.clone(),
        kinds: Arc::new(KindCache::default()),
        clusters,
        override_policies,
        cluster_override_policies,
        dependencies,
    };
    futures::join!(
        bind::<ResourceBinding>(
            shared.clone(),
            futures::stream::select_all([
                op_rb,
                cop_rb,
                clusters_rb,
                // A customization may change how any binding's Works are rendered or its
                // status summed.
                super::interpreting::change_events(&ctx),
            ])
            .boxed(),
            dependency_changes,
            shutdown.clone(),
        ),
        bind::<ClusterResourceBinding>(
            shared,
            futures::stream::select_all([
                op_crb,
                cop_crb,
                clusters_crb,
                super::interpreting::change_events(&ctx),
            ])
            .boxed(),
            futures::stream::pending().boxed(),
            shutdown,
        ),
    );
}

/// What both binding controllers share.
#[derive(Clone)]
struct Shared {
    ctx: Arc<Context>,
    kinds: Arc<KindCache>,
    clusters: Store<Cluster>,
    override_policies: Store<OverridePolicy>,
    cluster_override_policies: Store<ClusterOverridePolicy>,
    dependencies: Arc<super::dependencies::Dependencies>,
}

async fn bind<B: Binding>(
    shared: Shared,
    reconcile_all: BoxStream<'static, ()>,
    dependency_changes: BoxStream<'static, ObjectRef<ResourceBinding>>,
    shutdown: Shutdown,
) {
    let ctx = shared.ctx.clone();
    let (failures, failure_changes) = RenderFailures::<B>::new();
    let status = super::binding_status::run::<B>(
        ctx.clone(),
        shared.kinds.clone(),
        shared.clusters.clone(),
        (failures.clone(), failure_changes),
        shutdown.clone(),
    );
    // Bindings and Works from the shared caches (the scheduler and the execution controller
    // read the same); status writes, the status controller's business, do not re-render.
    let bindings = ctx.caches.bindings::<B>();
    let binding_events = toolkit::outside_status_changes(bindings.subscribe(), bindings.store());
    let works = ctx.caches.works();
    let work_events = toolkit::outside_status_changes(works.subscribe(), works.store());
    // Dependencies (ConfigMaps, Secrets, ...) are namespaced: only ResourceBindings follow them.
    let dependency_changes = dependency_changes.filter_map(|r| async move {
        (!B::CLUSTER_SCOPED).then(|| {
            ObjectRef::<B>::new(&r.name).within(r.namespace.as_deref().unwrap_or_default())
        })
    });
    let bctx = Arc::new(BindingCtx {
        ctx: ctx.clone(),
        kinds: shared.kinds,
        clusters: shared.clusters,
        override_policies: shared.override_policies,
        cluster_override_policies: shared.cluster_override_policies,
        dependencies: shared.dependencies,
        failures,
    });
    let results = Controller::for_shared_stream(binding_events, bindings.store())
        .with_config(toolkit::config(&ctx, Duration::from_millis(100)))
        .watches_shared_stream(work_events, |work: Arc<Work>| owner_of::<B>(&work))
        .reconcile_on(dependency_changes)
        .reconcile_all_on(reconcile_all)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<B>, error_policy::<B>, bctx);
    futures::join!(toolkit::drive(&ctx, CONTROLLER, results), status);
}

fn error_policy<B: Binding>(rb: Arc<B>, err: &Error, bctx: Arc<BindingCtx<B>>) -> Action {
    toolkit::error_policy(&bctx.ctx, CONTROLLER, rb.as_ref(), err)
}

fn binding_id<B: Binding>(rb: &B) -> Option<&String> {
    rb.labels().get(B::ID_LABEL)
}

/// Works of this binding, from the cache's index.
fn works_of<B: Binding>(bctx: &BindingCtx<B>, rb: &B) -> Vec<Arc<Work>> {
    let Some(id) = binding_id(rb) else {
        return Vec::new();
    };
    bctx.ctx.caches.works_of::<B>(id)
}

async fn reconcile<B: Binding>(rb: Arc<B>, bctx: Arc<BindingCtx<B>>) -> Result<Action> {
    let ctx = &bctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    let ns = rb.namespace().unwrap_or_default();
    // The store lags behind this process's own writes (the scheduler's placement, this
    // controller's last status): the newest version, so a stale copy neither renders an old
    // placement nor sends a status patch bound to fail on its resourceVersion.
    let rb = ctx
        .caches
        .bindings::<B>()
        .get(rb.namespace().as_deref(), &rb.name_any())
        .unwrap_or(rb);
    let bindings: Api<B> = B::api(ctx.client.clone(), &ns);
    if rb.meta().deletion_timestamp.is_some() {
        return finalize(rb.as_ref(), &bctx, &bindings).await;
    }
    let works_cache = ctx.caches.works();
    if !works_cache.ready().await
        || !store_ready(&bctx.clusters).await
        || !store_ready(&bctx.override_policies).await
        || !store_ready(&bctx.cluster_override_policies).await
    {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let spec = rb.spec();
    let existing = works_of(&bctx, rb.as_ref());
    if !scheduled(rb.as_ref()) && existing.is_empty() {
        // Not placed yet: nothing to render, and a status written now would only race the
        // scheduler's. Its write runs this again.
        tracing::debug!(binding = %rb.name_any(), "not scheduled yet");
        return Ok(Action::await_change());
    }
    super::interpreting::ready(ctx).await;
    let interpreter = ctx.interpreter.clone();
    let r = &spec.resource;
    let resolved = bctx
        .kinds
        .resolve(CONTROL_PLANE, &ctx.client, &r.api_version, &r.kind)
        .await?;
    let resource = resolved.ar;
    let template_cache = ctx.caches.templates(&resource);
    if !template_cache.ready().await {
        return Err(Error::Internal("the template cache stopped".into()));
    }
    let namespace = resolved.namespaced.then_some(r.namespace.as_str());
    let Some(template) = template_cache.get(namespace, &r.name) else {
        // Gone (the garbage collector removes this binding, ownerReference), or not in the
        // cache yet (a dependency's binding is made from another watch): look again soon.
        tracing::debug!(binding = %rb.name_any(), template = %r.name, "template not in the cache");
        return Ok(Action::requeue(Duration::from_secs(5)));
    };
    if older(&template.metadata.resource_version, &r.resource_version) {
        // The cache has not caught up with the version the binding was made from.
        tracing::debug!(binding = %rb.name_any(), template = %r.name, "template cache behind the binding");
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    let template = template.unpack();
    let Some(id) = binding_id(rb.as_ref()).cloned() else {
        return Ok(Action::await_change()); // the detector has not finished writing it
    };

    // Render one Work per target (the template, its share of replicas, then the override
    // rules for that cluster) and apply those that changed, all at once.
    let template_json =
        serde_json::to_value(&template).map_err(|e| Error::Internal(e.to_string()))?;
    let work_name = names::work_name(&r.kind, &r.name, &r.namespace);
    let clusters = bctx.clusters.state();
    let cluster_policies = bctx.cluster_override_policies.state();
    let policies = bctx.override_policies.state();
    let divided = spec.replicas > 0 && spec.clusters.iter().any(|t| t.replicas != spec.replicas);
    let mut override_failures: HashMap<String, String> = HashMap::new();
    let mut requeue = false;
    // Clusters whose Work this pass wrote; Events name the binding as Karmada's do.
    let mut synced: Vec<String> = Vec::new();
    // (cluster, execution namespace, Work, ApplyOverridePolicySucceed notes) to apply.
    let mut writes: Vec<(String, String, Value, Vec<String>)> = Vec::new();
    let binding_ref = events::object_ref(rb.as_ref());
    let template_ref = events::template_ref(r);
    let binding_phrase = if B::CLUSTER_SCOPED {
        format!("clusterResourceBinding({})", rb.name_any())
    } else {
        format!("resourceBinding({ns}/{})", rb.name_any())
    };
    for target in &spec.clusters {
        let work_ns = names::execution_namespace(&target.name);
        let current = existing
            .iter()
            .find(|w| w.namespace().as_deref() == Some(&work_ns));
        let mut workload = template_json.clone();
        if divided {
            let revised = super::interpreting::blocking(|| {
                interpreter.revise_replica(&workload, target.replicas.into())
            });
            match revised {
                Ok(Some(w)) => workload = w,
                Ok(None) => {}
                Err(e) => {
                    super::interpreting::report(ctx, &template_json, None, &e).await;
                    override_failures.insert(target.name.clone(), e.to_string());
                    continue;
                }
            }
        }
        // statePreservation of a failover: the old cluster's state as labels, as Karmada does.
        crate::engine::eviction::inject_preserved_state(spec, &target.name, &mut workload);
        let Some(cluster) = clusters.iter().find(|c| c.name_any() == target.name) else {
            // Not in this controller's cache yet (a fresh join): rendering now would skip its
            // overrides. Its cache update re-runs this binding.
            requeue = true;
            continue;
        };
        let matched =
            overrides::select(&template, &resource, cluster, &cluster_policies, &policies);
        let applied = match overrides::apply_all(&mut workload, &matched)
            .and_then(|a| render::keep_identity(&workload, &template_json).map(|()| a))
        {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(binding = %rb.name_any(), namespace = %ns, cluster = %target.name, "{e}; its Work is left as it was");
                let names: Vec<String> = matched.iter().map(override_phrase).collect();
                let note = format!(
                    "Apply {} for cluster({}) failed: {e}",
                    names.join(", "),
                    target.name
                );
                events::publish_on_change(
                    ctx,
                    &template_ref,
                    "ApplyOverridePolicy",
                    true,
                    events::APPLY_OVERRIDE_POLICY_FAILED,
                    &note,
                )
                .await;
                override_failures.insert(target.name.clone(), e);
                continue;
            }
        };
        let desired = desired_work(
            rb.as_ref(),
            &template,
            &workload,
            &id,
            &target.name,
            &work_name,
            current.map(|w| &**w),
            &applied,
        );
        // Compared without its status: the member statuses would be parsed for nothing.
        let live = current.map(|w| {
            json!({
                "apiVersion": Work::api_version(&()),
                "kind": Work::kind(&()),
                "metadata": w.metadata,
                "spec": w.spec,
            })
        });
        let stale_record = live.as_ref().is_some_and(|l| {
            [
                overrides::ANNOTATION_APPLIED_OVERRIDES,
                overrides::ANNOTATION_APPLIED_CLUSTER_OVERRIDES,
            ]
            .iter()
            .any(|k| {
                l["metadata"]["annotations"].get(k).is_some()
                    && desired["metadata"]["annotations"].get(k).is_none()
            })
        });
        let changed = stale_record
            || live
                .as_ref()
                .is_none_or(|l| !render::is_subset(&desired, l) || l["spec"] != desired["spec"]);
        if changed {
            let notes: Vec<String> = matched
                .iter()
                .map(|m| {
                    format!(
                        "Apply {} for cluster({}) succeed.",
                        override_phrase(m),
                        target.name
                    )
                })
                .collect();
            writes.push((target.name.clone(), work_ns, desired, notes));
        }
    }
    let written = futures::future::join_all(writes.iter().map(|(cluster, work_ns, desired, _)| {
        tracing::debug!(work = %work_name, %cluster, "work updated");
        let works: Api<Work> = Api::namespaced(ctx.client.clone(), work_ns);
        let work_name = &work_name;
        let works_cache = &works_cache;
        async move {
            works
                .patch(
                    work_name,
                    &PatchParams::apply(MANAGER).force(),
                    &Patch::Apply(desired),
                )
                .await
                .map(|w| works_cache.record(w))
        }
    }))
    .await;
    let mut failed = None;
    for ((cluster, work_ns, _, notes), result) in writes.iter().zip(written) {
        match result {
            Ok(_) => {
                synced.push(cluster.clone());
                for note in notes {
                    events::publish(
                        ctx,
                        &template_ref,
                        false,
                        events::APPLY_OVERRIDE_POLICY_SUCCEED,
                        note,
                        "ApplyOverridePolicy",
                    )
                    .await;
                }
            }
            Err(e) => {
                let note =
                    format!("Failed to sync work({work_ns}/{work_name}) of {binding_phrase}: {e}");
                for regarding in [&binding_ref, &template_ref] {
                    events::publish_on_change(
                        ctx,
                        regarding,
                        "SyncWork",
                        true,
                        events::SYNC_WORK_FAILED,
                        &note,
                    )
                    .await;
                }
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    if !synced.is_empty() && override_failures.is_empty() {
        let note = format!("Sync work of {binding_phrase} successful.");
        for regarding in [&binding_ref, &template_ref] {
            events::publish_on_change(
                ctx,
                regarding,
                "SyncWork",
                false,
                events::SYNC_WORK_SUCCEED,
                &note,
            )
            .await;
        }
    }
    // Works for clusters that are no longer targets go (the execution controller removes
    // their member objects), unless a graceful eviction task keeps them for now.
    for w in &existing {
        let cluster = w
            .namespace()
            .as_deref()
            .and_then(names::cluster_of_execution_namespace)
            .map(str::to_string);
        let targeted = cluster.as_ref().is_some_and(|c| {
            spec.clusters.iter().any(|t| &t.name == c)
                || crate::engine::eviction::keeps_work(spec, c)
        });
        if !targeted && w.metadata.deletion_timestamp.is_none() {
            delete_work(ctx, w).await?;
        }
    }

    // Also when propagateDeps was turned off: that releases the dependencies it had.
    if let Some(rb) = rb.as_resource_binding() {
        let deps = if spec.propagate_deps {
            match super::interpreting::blocking(|| interpreter.dependencies(&template_json)) {
                Ok(d) => Some(d),
                Err(e) => {
                    super::interpreting::report(ctx, &template_json, None, &e).await;
                    None
                }
            }
        } else {
            Some(Vec::new())
        };
        // A failed script leaves the dependencies as they are rather than releasing them.
        if let Some(deps) = deps {
            let synced =
                super::dependencies::sync(ctx, rb, Some(deps.as_slice()), &bctx.dependencies).await;
            if spec.propagate_deps {
                publish_dependencies(ctx, &binding_ref, &template_ref, spec, &deps, &synced).await;
            }
            synced?;
        }
    }

    bctx.failures
        .set(ObjectRef::from_obj(rb.as_ref()), override_failures);
    Ok(if requeue {
        Action::requeue(Duration::from_secs(2))
    } else {
        Action::await_change()
    })
}

/// GetDependencies* on the template and SyncScheduleResultToDependencies* on the binding, when
/// what they say changes (the dependencies found, the clusters they follow the workload to).
async fn publish_dependencies(
    ctx: &Context,
    binding: &k8s_openapi::api::core::v1::ObjectReference,
    template: &k8s_openapi::api::core::v1::ObjectReference,
    spec: &ResourceBindingSpec,
    found: &[crate::engine::interpreter::DependentObjectReference],
    synced: &Result<()>,
) {
    let listed: Vec<String> = found
        .iter()
        .map(|d| format!("{}/{}", d.kind, d.name))
        .collect();
    let clusters: Vec<&str> = spec.clusters.iter().map(|c| c.name.as_str()).collect();
    events::publish_on_change(
        ctx,
        template,
        "GetDependencies",
        false,
        events::GET_DEPENDENCIES_SUCCEED,
        &format!("Get dependencies([{}]) succeed.", listed.join(", ")),
    )
    .await;
    if found.is_empty() {
        return;
    }
    match synced {
        Ok(()) => {
            let note = format!(
                "Sync schedule results ([{}]) to dependencies ([{}]) succeed.",
                clusters.join(", "),
                listed.join(", ")
            );
            events::publish_on_change(
                ctx,
                binding,
                "SyncScheduleResultToDependencies",
                false,
                events::SYNC_SCHEDULE_RESULT_TO_DEPENDENCIES_SUCCEED,
                &note,
            )
            .await;
        }
        Err(e) => {
            let note = format!("Failed to sync schedule results to dependencies: {e}");
            events::publish_on_change(
                ctx,
                binding,
                "SyncScheduleResultToDependencies",
                true,
                events::SYNC_SCHEDULE_RESULT_TO_DEPENDENCIES_FAILED,
                &note,
            )
            .await;
        }
    }
}

/// How Karmada's ApplyOverridePolicy Events name a policy.
fn override_phrase(m: &overrides::Matched) -> String {
    if m.cluster_scoped {
        format!("cluster override policy({})", m.name)
    } else {
        format!("override policy({}/{})", m.namespace, m.name)
    }
}

#[allow(clippy::too_many_arguments)]
fn desired_work<B: Binding>(
    rb: &B,
    template: &DynamicObject,
    workload: &Value,
    binding_id: &str,
    cluster: &str,
    work_name: &str,
    current: Option<&Work>,
    applied_overrides: &[(&str, String)],
) -> Value {
    let work_ns = names::execution_namespace(cluster);
    let work_id = current
        .and_then(|w| w.labels().get(keys::LABEL_WORK_PERMANENT_ID).cloned())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // The template's own `work.karmada.io/conflict-resolution` comes first, then the policy's
    // (Karmada's order); an unknown value on the template is ignored.
    let on_template = template
        .annotations()
        .get(keys::ANNOTATION_CONFLICT_RESOLUTION)
        .map(String::as_str)
        .filter(|v| {
            [
                keys::CONFLICT_RESOLUTION_OVERWRITE,
                keys::CONFLICT_RESOLUTION_ABORT,
            ]
            .contains(v)
        });
    let conflict = on_template.unwrap_or(match rb.spec().conflict_resolution.unwrap_or_default() {
        ConflictResolution::Overwrite => keys::CONFLICT_RESOLUTION_OVERWRITE,
        ConflictResolution::Abort => keys::CONFLICT_RESOLUTION_ABORT,
    });
    let mut annotations = rb.name_annotations();
    annotations.push((keys::ANNOTATION_CONFLICT_RESOLUTION, conflict.to_string()));
    let origin = Origin {
        template_uid: template.metadata.uid.as_deref().unwrap_or_default(),
        template_generation: template.metadata.generation.unwrap_or(0),
        work_namespace: &work_ns,
        work_name,
        labels: vec![
            (B::ID_LABEL, binding_id.to_string()),
            (keys::LABEL_WORK_PERMANENT_ID, work_id.clone()),
        ],
        annotations,
    };
    let manifest = render::manifest(workload, None, &origin);
    let suspension = rb.spec().suspension.as_ref().map(|s| &s.policy);
    let suspended = suspension.is_some_and(|s| {
        s.dispatching == Some(true)
            || s.dispatching_on_clusters
                .as_ref()
                .is_some_and(|c| c.cluster_names.iter().any(|n| n == cluster))
    });
    let mut spec = json!({"workload": {"manifests": [manifest]}});
    if suspended {
        spec["suspendDispatching"] = json!(true);
    }
    if rb.spec().preserve_resources_on_deletion == Some(true) {
        spec["preserveResourcesOnDeletion"] = json!(true);
    }
    let mut work = json!({
        "apiVersion": Work::api_version(&()),
        "kind": Work::kind(&()),
        "metadata": {
            "name": work_name,
            "namespace": work_ns,
            "labels": {
                B::ID_LABEL: binding_id,
                keys::LABEL_WORK_PERMANENT_ID: work_id,
            },
            "annotations": {
                keys::ANNOTATION_CONFLICT_RESOLUTION: conflict,
            },
            "finalizers": [keys::FINALIZER_EXECUTION_CONTROLLER],
        },
        "spec": spec,
    });
    for (k, v) in rb.name_annotations() {
        work["metadata"]["annotations"][k] = json!(v);
    }
    for (k, v) in applied_overrides {
        work["metadata"]["annotations"][*k] = json!(v);
    }
    work
}

/// Deletes the binding's Works and waits for them to go before releasing the binding.
async fn finalize<B: Binding>(rb: &B, bctx: &BindingCtx<B>, bindings: &Api<B>) -> Result<Action> {
    if !rb.finalizers().iter().any(|f| f == B::FINALIZER) {
        return Ok(Action::await_change());
    }
    let ctx = &bctx.ctx;
    if let Some(id) = binding_id(rb) {
        if !ctx.caches.works().ready().await {
            return Err(Error::Internal("the Work cache stopped".into()));
        }
        // From the cache (with this process's own writes): a Work it has not seen yet was not
        // written by this process, and the binding's deletion stops anyone else writing one.
        let remaining = ctx.caches.works_of::<B>(id);
        if !remaining.is_empty() {
            for w in remaining
                .iter()
                .filter(|w| w.metadata.deletion_timestamp.is_none())
            {
                delete_work(ctx, w).await?;
            }
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
    }
    if let Some(rb) = rb.as_resource_binding() {
        super::dependencies::sync(ctx, rb, None, &bctx.dependencies).await?;
    }
    super::toolkit::remove_finalizer(bindings, rb, B::FINALIZER).await?;
    bctx.failures.set(ObjectRef::from_obj(rb), HashMap::new());
    Ok(Action::await_change())
}

/// Deletes a Work; the cache keeps it (with its deletion timestamp) until its finalizer is
/// released.
async fn delete_work(ctx: &Context, w: &Work) -> Result<()> {
    let works: Api<Work> = Api::namespaced(ctx.client.clone(), &w.namespace().unwrap_or_default());
    let cache = ctx.caches.works();
    match works
        .delete(&w.name_any(), &DeleteParams::background())
        .await
    {
        Ok(either) => match either.left() {
            Some(deleting) => cache.record(deleting),
            None => cache.forget(w.namespace().as_deref(), &w.name_any()),
        },
        Err(kube::Error::Api(s)) if s.code == 404 => {
            cache.forget(w.namespace().as_deref(), &w.name_any())
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Whether resourceVersion `a` is older than `b` (both etcd revisions; unknown: not older).
fn older(a: &Option<String>, b: &str) -> bool {
    match (
        a.as_deref().and_then(|a| a.parse::<u64>().ok()),
        b.parse::<u64>(),
    ) {
        (Some(a), Ok(b)) => a < b,
        _ => false,
    }
}
