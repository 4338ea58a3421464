//! Detector: matches resource templates to the PropagationPolicy (or ClusterPropagationPolicy)
//! that should govern them, records the claim on the template like Karmada does, and keeps the
//! template's ResourceBinding in step with the template and the policy.
//!
//! Which kinds are watched follows the policies: every apiVersion/kind some policy selects gets
//! its own kube-runtime Controller (built-in kinds and CRDs alike). Any policy change re-runs
//! every template of every watched kind (in memory; only real changes are written).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _, stream};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DynamicObject, GroupVersionKind, PartialObjectMeta, Patch, PatchParams};
use kube::core::ApiResource;
use kube::discovery::{self, Scope};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource, ResourceExt as _};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::context::MANAGER;
use super::{Context, Error, Result, Shutdown, selector};
use crate::api::policy::ResourceSelector;
use crate::api::work::{BindingSuspension, ObjectReference};
use crate::api::{
    self as keys, ClusterPropagationPolicy, PropagationPolicy, PropagationSpec, ResourceBinding,
    ResourceBindingSpec, names,
};

const CONTROLLER: &str = "detector";

/// The policy stores every template controller reads.
#[derive(Clone)]
pub struct Policies {
    pub namespaced: Store<PropagationPolicy>,
    pub cluster: Store<ClusterPropagationPolicy>,
}

/// The policy governing a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Empty for a ClusterPropagationPolicy.
    pub namespace: String,
    pub name: String,
    pub permanent_id: Option<String>,
    pub spec: PropagationSpec,
}

impl Claim {
    pub fn is_cluster_policy(&self) -> bool {
        self.namespace.is_empty()
    }

    pub fn describe(&self) -> String {
        if self.is_cluster_policy() {
            format!("ClusterPropagationPolicy {}", self.name)
        } else {
            format!("PropagationPolicy {}/{}", self.namespace, self.name)
        }
    }
}

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let client = ctx.client.clone();
    let (pp_store, pp_writer) = reflector::store();
    let (cpp_store, cpp_writer) = reflector::store();
    let policies = Policies {
        namespaced: pp_store,
        cluster: cpp_store,
    };
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
    let watches = [forward(pp, true), forward(cpp, true), forward(crds, false)];
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
                let ready = policies.namespaced.wait_until_ready().await.is_ok()
                    && policies.cluster.wait_until_ready().await.is_ok();
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
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = discovery::pinned_kind(&ctx.client, &gvk).await?;
    let namespaced = caps.scope == Scope::Namespaced;
    let api: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &resource);
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
    let deleted_bindings = watcher(
        Api::<PartialObjectMeta<ResourceBinding>>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .try_filter_map(|e| async move {
        Ok(match e {
            watcher::Event::Delete(b) => Some(b),
            _ => None,
        })
    });
    let owner_kind = resource.clone();
    let owner_of = move |b: PartialObjectMeta<ResourceBinding>| {
        let ns = b.namespace().unwrap_or_default();
        b.owner_references()
            .iter()
            .filter(|o| o.kind == owner_kind.kind && o.api_version == owner_kind.api_version)
            .map(|o| ObjectRef::new_with(&o.name, owner_kind.clone()).within(&ns))
            .collect::<Vec<_>>()
    };
    tracing::info!(%api_version, %kind, "watching resource templates");
    let controller = Controller::new_with(api, watcher::Config::default(), resource)
        .with_config(
            kube::runtime::controller::Config::default().concurrency(ctx.options.concurrency),
        )
        .reconcile_all_on(triggers)
        .watches_stream(deleted_bindings, owner_of)
        .graceful_shutdown_on(shutdown)
        .run(reconcile_template, template_error, tctx)
        .for_each(|_| async {});
    Ok(tokio::spawn(controller))
}

fn template_error(obj: Arc<DynamicObject>, err: &Error, tctx: Arc<TemplateCtx>) -> Action {
    tctx.ctx.metrics.error(CONTROLLER);
    tracing::warn!(kind = %tctx.resource.kind, name = %obj.name_any(), namespace = ?obj.namespace(), "{err}");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile_template(obj: Arc<DynamicObject>, tctx: Arc<TemplateCtx>) -> Result<Action> {
    let ctx = &tctx.ctx;
    let _timer = ctx.metrics.start(CONTROLLER);
    let ns = obj.namespace().unwrap_or_default();
    if obj.metadata.deletion_timestamp.is_some()
        || !tctx.namespaced
        || skipped_namespace(&ns, &ctx.options)
    {
        // Cluster-scoped templates are not propagated by this version (see docs/compatibility.md).
        return Ok(Action::await_change());
    }
    let current = claimed_policy(&obj);
    let candidates = matching_policies(&obj, &tctx.resource, &tctx.policies);
    // A claimed template keeps its policy while that policy exists and still selects it.
    let keep = current.as_ref().and_then(|(pns, pname)| {
        candidates
            .iter()
            .find(|c| &c.namespace == pns && &c.name == pname)
            .cloned()
    });
    let winner = keep.or_else(|| candidates.first().cloned());
    let templates: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &tctx.resource);
    let bindings: Api<ResourceBinding> = Api::namespaced(ctx.client.clone(), &ns);
    let binding_name = names::binding_name(&tctx.resource.kind, &obj.name_any());

    let Some(claim) = winner else {
        if current.is_some() {
            release(&templates, &bindings, &obj, &binding_name).await?;
        }
        return Ok(Action::await_change());
    };
    let claim = ensure_policy_id(ctx, claim).await?;
    let policy_id = claim.permanent_id.clone().unwrap_or_default();

    // Record the claim on the template.
    let claim_meta = claim_metadata(&claim, &policy_id);
    if needs_metadata(&obj.metadata.labels, &obj.metadata.annotations, &claim_meta) {
        if current.is_some() && current != Some((claim.namespace.clone(), claim.name.clone())) {
            release(&templates, &bindings, &obj, &binding_name).await?;
        }
        tracing::debug!(template = %obj.name_any(), namespace = %ns, policy = %claim.describe(), "claiming template");
        templates
            .patch(
                &obj.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": claim_meta})),
            )
            .await?;
        return Ok(Action::await_change()); // the template's own update event continues from here
    }

    let existing = bindings.get_opt(&binding_name).await?;
    if existing
        .as_ref()
        .is_some_and(|b| b.metadata.deletion_timestamp.is_some())
    {
        // The old binding is still draining its Works (template deleted and re-created):
        // wait for it to go, then create the new one.
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let desired = desired_binding(&obj, &tctx.resource, &claim, &policy_id, existing.as_ref());
    if existing
        .as_ref()
        .is_none_or(|b| binding_differs(b, &desired))
    {
        bindings
            .patch(
                &binding_name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&desired),
            )
            .await?;
        tracing::info!(binding = %format!("{ns}/{binding_name}"), policy = %claim.describe(), "binding updated");
    }
    Ok(Action::await_change())
}

/// Templates in these namespaces are never propagated.
pub fn skipped_namespace(ns: &str, options: &super::Options) -> bool {
    names::is_reserved_namespace(ns)
        || options
            .skipped_propagating_namespaces
            .iter()
            .any(|p| regex_full_match(p, ns))
}

/// A tiny full-match for the skip patterns (`kube-.*`, literal names): `.*` is the only
/// wildcard they use.
fn regex_full_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split(".*").collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// The (namespace, name) of the policy that claimed the template, from its annotations.
pub fn claimed_policy(obj: &DynamicObject) -> Option<(String, String)> {
    let a = obj.annotations();
    if let Some(name) = a.get(keys::ANNOTATION_PROPAGATION_POLICY_NAME) {
        let ns = a
            .get(keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE)
            .cloned()
            .unwrap_or_default();
        return Some((ns, name.clone()));
    }
    a.get(keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME)
        .map(|n| (String::new(), n.clone()))
}

/// How closely a selector matches: name (3) over labelSelector (2) over kind only (1).
pub fn selector_score(
    sel: &ResourceSelector,
    obj: &DynamicObject,
    resource: &ApiResource,
    policy_ns: Option<&str>,
) -> Option<u8> {
    if sel.api_version != resource.api_version || sel.kind != resource.kind {
        return None;
    }
    let obj_ns = obj.namespace().unwrap_or_default();
    if let Some(pns) = policy_ns
        && pns != obj_ns
    {
        return None;
    }
    if !sel.namespace.is_empty() && sel.namespace != obj_ns {
        return None;
    }
    if !sel.name.is_empty() {
        return (sel.name == obj.name_any()).then_some(3);
    }
    if let Some(ls) = &sel.label_selector {
        return selector::matches(ls, obj.labels()).then_some(2);
    }
    Some(1)
}

/// Policies selecting `obj`, best first: PropagationPolicies before ClusterPropagationPolicies,
/// then higher priority, then closer match, then name.
pub fn matching_policies(
    obj: &DynamicObject,
    resource: &ApiResource,
    policies: &Policies,
) -> Vec<Claim> {
    let rank = |spec: &PropagationSpec, ns: Option<&str>| {
        spec.resource_selectors
            .iter()
            .filter_map(|s| selector_score(s, obj, resource, ns))
            .max()
    };
    let sort = |v: &mut Vec<(i32, u8, Claim)>| {
        v.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(a.2.name.cmp(&b.2.name))
        });
    };
    let mut pps: Vec<(i32, u8, Claim)> = policies
        .namespaced
        .state()
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            let ns = p.namespace().unwrap_or_default();
            rank(&p.spec, Some(&ns)).map(|score| {
                (
                    p.spec.priority.unwrap_or(0),
                    score,
                    Claim {
                        namespace: ns,
                        name: p.name_any(),
                        permanent_id: p
                            .labels()
                            .get(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
                            .cloned(),
                        spec: p.spec.clone(),
                    },
                )
            })
        })
        .collect();
    let mut cpps: Vec<(i32, u8, Claim)> = policies
        .cluster
        .state()
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            rank(&p.spec, None).map(|score| {
                (
                    p.spec.priority.unwrap_or(0),
                    score,
                    Claim {
                        namespace: String::new(),
                        name: p.name_any(),
                        permanent_id: p
                            .labels()
                            .get(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID)
                            .cloned(),
                        spec: p.spec.clone(),
                    },
                )
            })
        })
        .collect();
    sort(&mut pps);
    sort(&mut cpps);
    pps.into_iter().chain(cpps).map(|(_, _, c)| c).collect()
}

/// Gives the policy its permanent-id label (a UUID, like Karmada) if it has none yet.
async fn ensure_policy_id(ctx: &Context, mut claim: Claim) -> Result<Claim> {
    if claim.permanent_id.is_some() {
        return Ok(claim);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let patch = |label: &str| Patch::Merge(json!({"metadata": {"labels": {label: id}}}));
    if claim.is_cluster_policy() {
        let api: Api<ClusterPropagationPolicy> = Api::all(ctx.client.clone());
        api.patch(
            &claim.name,
            &PatchParams::default(),
            &patch(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID),
        )
        .await?;
    } else {
        let api: Api<PropagationPolicy> = Api::namespaced(ctx.client.clone(), &claim.namespace);
        api.patch(
            &claim.name,
            &PatchParams::default(),
            &patch(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID),
        )
        .await?;
    }
    claim.permanent_id = Some(id);
    Ok(claim)
}

/// The labels and annotations that record a claim (and null out the other policy kind's).
fn claim_metadata(claim: &Claim, policy_id: &str) -> Value {
    if claim.is_cluster_policy() {
        json!({
            "labels": {keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID: policy_id, keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID: null},
            "annotations": {keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME: claim.name,
                keys::ANNOTATION_PROPAGATION_POLICY_NAME: null, keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE: null},
        })
    } else {
        json!({
            "labels": {keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID: policy_id, keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID: null},
            "annotations": {keys::ANNOTATION_PROPAGATION_POLICY_NAME: claim.name,
                keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE: claim.namespace,
                keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME: null},
        })
    }
}

/// Whether applying `meta` (a merge patch of labels/annotations) would change anything.
fn needs_metadata(
    labels: &Option<BTreeMap<String, String>>,
    annotations: &Option<BTreeMap<String, String>>,
    meta: &Value,
) -> bool {
    let differs = |current: &Option<BTreeMap<String, String>>, wanted: &Value| {
        wanted.as_object().into_iter().flatten().any(|(k, v)| {
            let have = current.as_ref().and_then(|m| m.get(k));
            match v.as_str() {
                Some(s) => have.map(String::as_str) != Some(s),
                None => have.is_some(),
            }
        })
    };
    differs(labels, &meta["labels"]) || differs(annotations, &meta["annotations"])
}

const CLAIM_NULLS: &str = r#"{"labels": {"propagationpolicy.karmada.io/permanent-id": null, "clusterpropagationpolicy.karmada.io/permanent-id": null},
 "annotations": {"propagationpolicy.karmada.io/name": null, "propagationpolicy.karmada.io/namespace": null, "clusterpropagationpolicy.karmada.io/name": null}}"#;

/// Removes the claim from the template and its binding; the binding, its Works and member
/// objects stay (deleting a policy tears nothing down).
async fn release(
    templates: &Api<DynamicObject>,
    bindings: &Api<ResourceBinding>,
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
    if let Some(b) = bindings.get_opt(binding).await?
        && needs_release(&b)
    {
        bindings
            .patch(
                binding,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": nulls})),
            )
            .await?;
    }
    tracing::info!(template = %obj.name_any(), "released from its policy");
    Ok(())
}

fn needs_release(b: &ResourceBinding) -> bool {
    b.labels()
        .contains_key(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
        || b.labels()
            .contains_key(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID)
}

/// The binding the detector owns: identity, claim, owner and everything the policy decides.
/// `spec.clusters` belongs to the scheduler and is left out.
fn desired_binding(
    obj: &DynamicObject,
    resource: &ApiResource,
    claim: &Claim,
    policy_id: &str,
    existing: Option<&ResourceBinding>,
) -> Value {
    let ns = obj.namespace().unwrap_or_default();
    let name = names::binding_name(&resource.kind, &obj.name_any());
    let binding_id = existing
        .and_then(|b| {
            b.labels()
                .get(keys::LABEL_RESOURCE_BINDING_PERMANENT_ID)
                .cloned()
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut meta = claim_metadata(claim, policy_id);
    // SSA leaves fields it does not own alone; drop the nulls, they only matter to merge patches.
    for field in ["labels", "annotations"] {
        if let Some(m) = meta[field].as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
    }
    meta["labels"][keys::LABEL_RESOURCE_BINDING_PERMANENT_ID] = json!(binding_id);
    // The binding points at the template's resourceVersion so that template changes re-render
    // the Works; status-only writes (the aggregated status we put there) must not.
    let hash = content_hash(obj);
    meta["annotations"][TEMPLATE_HASH_ANNOTATION] = json!(hash);
    let resource_version = existing
        .filter(|b| b.annotations().get(TEMPLATE_HASH_ANNOTATION) == Some(&hash))
        .map(|b| b.spec.resource.resource_version.clone())
        .unwrap_or_else(|| obj.resource_version().unwrap_or_default());
    let owner = OwnerReference {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
        name: obj.name_any(),
        uid: obj.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let spec = ResourceBindingSpec {
        resource: ObjectReference {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
            namespace: ns.clone(),
            name: obj.name_any(),
            uid: obj.uid().unwrap_or_default(),
            resource_version,
        },
        propagate_deps: claim.spec.propagate_deps,
        replicas: super::render::template_replicas(&obj.data).unwrap_or(0),
        replica_requirements: replica_requirements(&obj.data, &ns),
        placement: Some(claim.spec.placement.clone()),
        scheduler_name: claim.spec.scheduler_name.clone(),
        conflict_resolution: claim.spec.conflict_resolution,
        suspension: claim
            .spec
            .suspension
            .clone()
            .map(|policy| BindingSuspension {
                policy,
                scheduling: None,
            }),
        preserve_resources_on_deletion: claim.spec.preserve_resources_on_deletion,
        failover: claim.spec.failover.clone(),
        ..Default::default()
    };
    let mut spec = serde_json::to_value(&spec).expect("binding spec serializes");
    // spec.clusters is the scheduler's field: never send it from here.
    if let Some(m) = spec.as_object_mut() {
        m.remove("clusters");
    }
    json!({
        "apiVersion": ResourceBinding::api_version(&()),
        "kind": ResourceBinding::kind(&()),
        "metadata": {
            "name": name, "namespace": ns,
            "labels": meta["labels"], "annotations": meta["annotations"],
            "ownerReferences": [owner],
            "finalizers": [keys::FINALIZER_BINDING_CONTROLLER],
        },
        "spec": spec,
    })
}

/// Annotation on a binding: a hash of what the Works are rendered from (the template without
/// its status and server-owned metadata).
pub const TEMPLATE_HASH_ANNOTATION: &str = "karmadactl.io/template-hash";

fn content_hash(obj: &DynamicObject) -> String {
    let mut v = serde_json::to_value(obj).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in [
            "resourceVersion",
            "managedFields",
            "generation",
            "creationTimestamp",
        ] {
            meta.remove(f);
        }
    }
    // serde_json's maps are ordered, so the text (and the hash) is stable.
    let text = v.to_string();
    let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}

/// What one replica of a workload requests: the sum of its containers' resource requests
/// (init containers count by their largest request, as the kube-scheduler does).
fn replica_requirements(
    template: &Value,
    namespace: &str,
) -> Option<crate::api::work::ReplicaRequirements> {
    use super::cluster_health::parse_quantity;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    let pod = template.pointer("/spec/template/spec")?;
    let mut total: BTreeMap<String, f64> = BTreeMap::new();
    for c in pod["containers"].as_array().into_iter().flatten() {
        for (k, v) in c
            .pointer("/resources/requests")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            *total.entry(k.clone()).or_default() += v.as_str().map(parse_quantity).unwrap_or(0.0);
        }
    }
    for c in pod["initContainers"].as_array().into_iter().flatten() {
        for (k, v) in c
            .pointer("/resources/requests")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let q = v.as_str().map(parse_quantity).unwrap_or(0.0);
            let e = total.entry(k.clone()).or_default();
            *e = e.max(q);
        }
    }
    if total.is_empty() {
        return None;
    }
    let fmt = |v: f64| {
        if v.fract() == 0.0 {
            format!("{}", v as i64)
        } else {
            format!("{}m", (v * 1000.0).round() as i64)
        }
    };
    Some(crate::api::work::ReplicaRequirements {
        resource_request: total
            .into_iter()
            .map(|(k, v)| (k, Quantity(fmt(v))))
            .collect(),
        namespace: namespace.to_string(),
        ..Default::default()
    })
}

/// Whether the existing binding lacks anything `desired` sets.
fn binding_differs(existing: &ResourceBinding, desired: &Value) -> bool {
    let live = serde_json::to_value(existing).unwrap_or_default();
    !super::render::is_subset(desired, &live)
        // Fields the policy dropped (e.g. propagateDeps: false is omitted) must be noticed too.
        || strip_clusters(&live["spec"]) != strip_clusters(&desired["spec"])
}

fn strip_clusters(spec: &Value) -> Value {
    let mut s = spec.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("clusters");
        m.retain(|_, v| !v.is_null());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_patterns_match_whole_names() {
        assert!(regex_full_match("kube-.*", "kube-system"));
        assert!(!regex_full_match("kube-.*", "my-kube-thing"));
        assert!(regex_full_match("default", "default"));
        assert!(!regex_full_match("default", "default2"));
    }
}
