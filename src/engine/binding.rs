//! The ResourceBinding (or, for a cluster-scoped template, ClusterResourceBinding) a template
//! and its claiming policy call for: identity, owner, what the policy decides, and per-replica
//! resource requests. `spec.clusters` is the scheduler's.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt as _;
use kube::api::DynamicObject;
use kube::core::ApiResource;
use serde_json::{Value, json};

use super::interpreter::Replicas;
use super::matching::{Claim, claim_metadata};
use super::render;
use crate::api::work::{BindingSuspension, ObjectReference, ReplicaRequirements};
use crate::api::{Binding, ResourceBindingSpec, names};

/// The binding the detector owns: identity, claim, owner and everything the policy decides.
/// `spec.clusters` belongs to the scheduler and is left out.
/// `replicas` is what the resource interpreter read of the template (`None`: its kind has no
/// interpreted replicas, so it is never divided).
pub fn desired_binding<B: Binding>(
    obj: &DynamicObject,
    resource: &ApiResource,
    claim: &Claim,
    policy_id: &str,
    existing: Option<&B>,
    replicas: Option<&Replicas>,
) -> Value {
    let ns = obj.namespace().unwrap_or_default();
    let name = names::binding_name(&resource.kind, &obj.name_any());
    let binding_id = existing
        .and_then(|b| b.labels().get(B::ID_LABEL).cloned())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut meta = claim_metadata(claim, policy_id);
    // SSA leaves fields it does not own alone; drop the nulls, they only matter to merge patches.
    for field in ["labels", "annotations"] {
        if let Some(m) = meta[field].as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
    }
    meta["labels"][B::ID_LABEL] = json!(binding_id);
    // The binding points at the template's resourceVersion so that template changes re-render
    // the Works; status-only writes (the aggregated status we put there) must not.
    let hash = content_hash(obj);
    meta["annotations"][TEMPLATE_HASH_ANNOTATION] = json!(hash);
    let resource_version = existing
        .filter(|b| b.annotations().get(TEMPLATE_HASH_ANNOTATION) == Some(&hash))
        .map(|b| b.spec().resource.resource_version.clone())
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
        replicas: replicas.map_or(0, |r| r.replicas),
        replica_requirements: replicas.and_then(|r| r.requirements.clone()),
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
    let mut binding = json!({
        "apiVersion": B::api_version(&()),
        "kind": B::kind(&()),
        "metadata": {
            "name": name, "namespace": ns,
            "labels": meta["labels"], "annotations": meta["annotations"],
            "ownerReferences": [owner],
            "finalizers": [B::FINALIZER],
        },
        "spec": spec,
    });
    if B::CLUSTER_SCOPED {
        binding["metadata"]
            .as_object_mut()
            .expect("object")
            .remove("namespace");
    }
    binding
}

/// Annotation on a binding: a hash of what the Works are rendered from (the template without
/// its status and server-owned metadata).
pub const TEMPLATE_HASH_ANNOTATION: &str = "karmadactl.io/template-hash";

/// Whether `existing` was built from this very template content (the template has not
/// changed since; its status and server-owned metadata do not count).
pub fn built_from<B: Binding>(existing: &B, obj: &DynamicObject) -> bool {
    existing.annotations().get(TEMPLATE_HASH_ANNOTATION) == Some(&content_hash(obj))
}

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

/// What one replica of a workload with a pod template (`spec.template`) requests: its
/// containers' requests summed (init containers by their largest, as the kube-scheduler does)
/// and its node constraints.
pub fn replica_requirements(template: &Value, namespace: &str) -> Option<ReplicaRequirements> {
    let mut r =
        super::interpreter::builtin::pod_requirements(template.pointer("/spec/template/spec")?)?;
    r.namespace = namespace.to_string();
    Some(r)
}

/// Whether the existing binding lacks anything `desired` sets.
pub fn binding_differs<B: Binding>(existing: &B, desired: &Value) -> bool {
    let live = serde_json::to_value(existing).unwrap_or_default();
    !render::is_subset(desired, &live)
        // Fields the policy dropped (e.g. propagateDeps: false is omitted) must be noticed too.
        || strip_clusters(&live["spec"]) != strip_clusters(&desired["spec"])
}

fn strip_clusters(spec: &Value) -> Value {
    let mut s = spec.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("clusters");
        // The failover controllers' field, like clusters.
        m.remove("gracefulEvictionTasks");
        m.retain(|_, v| !v.is_null());
    }
    s
}
