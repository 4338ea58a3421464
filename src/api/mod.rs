//! Karmada-compatible API types: cluster.karmada.io, policy.karmada.io, work.karmada.io.
//!
//! Groups, kinds, versions and JSON field names follow Karmada's so existing Karmada YAML
//! applies unchanged. Validation that Karmada does in its admission webhook is expressed here
//! as OpenAPI constraints and CEL rules (`x-kubernetes-validations`), so a plain
//! kube-apiserver enforces it; see [`crds`] for the full set of definitions.
//!
//! - [`cluster`] has `Cluster` (cluster.karmada.io/v1alpha1).
//! - [`policy`] has `PropagationPolicy` and `ClusterPropagationPolicy` (policy.karmada.io/v1alpha1).
//! - [`override_policy`] has `OverridePolicy` and `ClusterOverridePolicy` (policy.karmada.io/v1alpha1).
//! - [`work`] has `ResourceBinding`, `ClusterResourceBinding` (work.karmada.io/v1alpha2) and
//!   `Work` (work.karmada.io/v1alpha1).
//! - [`interpreter`] has `ResourceInterpreterCustomization` (config.karmada.io/v1alpha1).
//! - [`names`] has how Karmada names bindings, Works and execution namespaces.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Declares the cluster-scoped twin of a namespaced kind that shares its spec (and status):
/// ClusterPropagationPolicy next to PropagationPolicy, and so on. The twin implements
/// `Resource`, `HasSpec`, (`HasStatus`) and `CustomResourceExt` like a derived kind; its CRD is
/// the namespaced kind's CRD with names and scope changed, so schema, validation and printer
/// columns stay identical.
macro_rules! cluster_scoped_twin {
    (
        $(#[$attr:meta])*
        $root:ident twin of $ns:ident {
            spec: $spec:ty,
            $(status: $status:ty,)?
            group: $group:literal,
            plural: $plural:literal,
            singular: $singular:literal,
            shortname: $short:literal $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(::serde::Deserialize, Clone, Debug, Default, PartialEq)]
        #[serde(rename_all = "camelCase")]
        pub struct $root {
            pub metadata: ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            pub spec: $spec,
            $(
                #[serde(default)]
                pub status: Option<$status>,
            )?
        }

        impl $root {
            /// A new object with this name and spec.
            pub fn new(name: &str, spec: $spec) -> Self {
                let mut obj = Self::default();
                obj.metadata.name = Some(name.to_string());
                obj.spec = spec;
                obj
            }
        }

        impl ::serde::Serialize for $root {
            fn serialize<S: ::serde::Serializer>(&self, ser: S) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeStruct;
                #[allow(unused_mut)]
                let mut fields = 4;
                $(
                    let _: Option<&$status> = None;
                    if self.status.is_some() {
                        fields += 1;
                    }
                )?
                let mut obj = ser.serialize_struct(stringify!($root), fields)?;
                obj.serialize_field("apiVersion", &<$root as ::kube::core::Resource>::api_version(&()))?;
                obj.serialize_field("kind", &<$root as ::kube::core::Resource>::kind(&()))?;
                obj.serialize_field("metadata", &self.metadata)?;
                obj.serialize_field("spec", &self.spec)?;
                $(
                    let status: Option<&$status> = self.status.as_ref();
                    if let Some(status) = status {
                        obj.serialize_field("status", status)?;
                    }
                )?
                obj.end()
            }
        }

        impl ::kube::core::Resource for $root {
            type DynamicType = ();
            type Scope = ::kube::core::ClusterResourceScope;

            fn group(_: &()) -> ::std::borrow::Cow<'_, str> {
                $group.into()
            }
            fn kind(_: &()) -> ::std::borrow::Cow<'_, str> {
                stringify!($root).into()
            }
            fn version(dt: &()) -> ::std::borrow::Cow<'_, str> {
                <$ns as ::kube::core::Resource>::version(dt)
            }
            fn api_version(dt: &()) -> ::std::borrow::Cow<'_, str> {
                <$ns as ::kube::core::Resource>::api_version(dt)
            }
            fn plural(_: &()) -> ::std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl ::kube::core::object::HasSpec for $root {
            type Spec = $spec;
            fn spec(&self) -> &$spec {
                &self.spec
            }
            fn spec_mut(&mut self) -> &mut $spec {
                &mut self.spec
            }
        }

        $(
            impl ::kube::core::object::HasStatus for $root {
                type Status = $status;
                fn status(&self) -> Option<&$status> {
                    self.status.as_ref()
                }
                fn status_mut(&mut self) -> &mut Option<$status> {
                    &mut self.status
                }
            }
        )?

        impl ::kube::CustomResourceExt for $root {
            fn crd() -> ::k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
                $crate::api::twin_crd(
                    <$ns as ::kube::CustomResourceExt>::crd(),
                    stringify!($root),
                    $plural,
                    $singular,
                    $short,
                )
            }
            fn crd_name() -> &'static str {
                concat!($plural, ".", $group)
            }
            fn api_resource() -> ::kube::core::ApiResource {
                ::kube::core::ApiResource::erase::<Self>(&())
            }
            fn shortnames() -> &'static [&'static str] {
                &[$short]
            }
        }
    };
}
pub(crate) use cluster_scoped_twin;

pub mod cluster;
pub mod interpreter;
pub mod names;
pub mod override_policy;
pub mod policy;
mod schema;
pub mod taint_policy;
pub mod work;

pub use cluster::{Cluster, ClusterSpec, ClusterStatus};
pub use override_policy::{ClusterOverridePolicy, OverridePolicy, OverrideSpec};
pub use policy::{ClusterPropagationPolicy, Placement, PropagationPolicy, PropagationSpec};
pub use schema::{RawManifest, RawObject};
pub use work::{
    Binding, ClusterResourceBinding, ResourceBinding, ResourceBindingSpec, ResourceBindingStatus,
    Work, WorkSpec, WorkStatus,
};

/// The CRD of a cluster-scoped twin: the namespaced CRD renamed and re-scoped.
#[doc(hidden)]
pub fn twin_crd(
    mut crd: CustomResourceDefinition,
    kind: &str,
    plural: &str,
    singular: &str,
    shortname: &str,
) -> CustomResourceDefinition {
    crd.metadata.name = Some(format!("{plural}.{}", crd.spec.group));
    crd.spec.scope = "Cluster".into();
    let names = &mut crd.spec.names;
    names.kind = kind.into();
    names.plural = plural.into();
    names.singular = Some(singular.into());
    names.short_names = Some(vec![shortname.into()]);
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            schema.description = Some(format!(
                "{kind} is the cluster-scoped form of {}.",
                schema
                    .description
                    .as_deref()
                    .and_then(|d| d.split_whitespace().next())
                    .unwrap_or("its namespaced twin")
            ));
        }
    }
    crd
}

/// Every CRD this project installs, in a stable order (by group, then plural).
///
/// Install these rather than `Kind::crd()`: they get the finishing touches of [`finish_crd`].
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        Cluster::crd(),
        interpreter::ResourceInterpreterCustomization::crd(),
        ClusterOverridePolicy::crd(),
        ClusterPropagationPolicy::crd(),
        taint_policy::ClusterTaintPolicy::crd(),
        OverridePolicy::crd(),
        PropagationPolicy::crd(),
        ClusterResourceBinding::crd(),
        ResourceBinding::crd(),
        Work::crd(),
    ]
    .into_iter()
    .map(finish_crd)
    .collect()
}

/// Cosmetic fixes to a derived CRD: optional enums list `null` among their values (kube-derive
/// allows an explicit null that way), which the API server would print in "supported values";
/// `nullable: true` already admits null, so the entry is dropped.
pub fn finish_crd(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn drop_null_enums(node: &mut serde_json::Value) {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(values)) = map.get_mut("enum") {
                    values.retain(|v| !v.is_null());
                }
                map.values_mut().for_each(drop_null_enums);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_enums),
            _ => {}
        }
    }
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            let mut value = serde_json::to_value(&*schema).expect("a schema serializes");
            drop_null_enums(&mut value);
            *schema = serde_json::from_value(value).expect("still a schema");
        }
    }
    crd
}

/// Default `schedulerName` of policies and bindings.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

// --- Namespaces -------------------------------------------------------------------------------

/// Namespace of the Karmada control-plane components.
pub const NAMESPACE_KARMADA_SYSTEM: &str = "karmada-system";
/// Namespace holding member-cluster credentials (control plane and members).
pub const NAMESPACE_KARMADA_CLUSTER: &str = "karmada-cluster";
/// Prefix of the per-cluster execution namespaces that hold Works.
pub const EXECUTION_NAMESPACE_PREFIX: &str = "karmada-es-";
/// Label marking Karmada's own namespaces (execution namespaces, `karmada-cluster` on members).
pub const LABEL_KARMADA_SYSTEM: &str = "karmada.io/system";
/// Namespace label that keeps a namespace from being propagated automatically.
pub const LABEL_NAMESPACE_SKIP_AUTO_PROPAGATION: &str =
    "namespace.karmada.io/skip-auto-propagation";

// --- Policy claims ----------------------------------------------------------------------------

/// PropagationPolicy permanent id, on the policy and on what it claims.
pub const LABEL_PROPAGATION_POLICY_PERMANENT_ID: &str = "propagationpolicy.karmada.io/permanent-id";
/// ClusterPropagationPolicy permanent id, on the policy and on what it claims.
pub const LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID: &str =
    "clusterpropagationpolicy.karmada.io/permanent-id";
/// Namespace of the claiming PropagationPolicy.
pub const ANNOTATION_PROPAGATION_POLICY_NAMESPACE: &str = "propagationpolicy.karmada.io/namespace";
/// Name of the claiming PropagationPolicy.
pub const ANNOTATION_PROPAGATION_POLICY_NAME: &str = "propagationpolicy.karmada.io/name";
/// Name of the claiming ClusterPropagationPolicy.
pub const ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME: &str =
    "clusterpropagationpolicy.karmada.io/name";

// --- Bindings and Works -----------------------------------------------------------------------

/// ResourceBinding permanent id, on the binding and on its Works.
pub const LABEL_RESOURCE_BINDING_PERMANENT_ID: &str = "resourcebinding.karmada.io/permanent-id";
/// ClusterResourceBinding permanent id, on the binding and on its Works.
pub const LABEL_CLUSTER_RESOURCE_BINDING_PERMANENT_ID: &str =
    "clusterresourcebinding.karmada.io/permanent-id";
/// Work permanent id.
pub const LABEL_WORK_PERMANENT_ID: &str = "work.karmada.io/permanent-id";
/// Prefix of the label a dependency's binding carries per depending binding
/// (`<prefix><names::binding_reference_key(..)>`).
pub const LABEL_DEPENDED_BY_PREFIX: &str = "resourcebinding.karmada.io/depended-by-";
/// Namespace of the ResourceBinding a Work belongs to.
pub const ANNOTATION_RESOURCE_BINDING_NAMESPACE: &str = "resourcebinding.karmada.io/namespace";
/// Name of the ResourceBinding a Work belongs to.
pub const ANNOTATION_RESOURCE_BINDING_NAME: &str = "resourcebinding.karmada.io/name";
/// Name of the ClusterResourceBinding a Work belongs to.
pub const ANNOTATION_CLUSTER_RESOURCE_BINDING_NAME: &str = "clusterresourcebinding.karmada.io/name";
/// On a Work: `overwrite` or `abort`, copied from the binding's conflictResolution.
pub const ANNOTATION_CONFLICT_RESOLUTION: &str = "work.karmada.io/conflict-resolution";
/// Value of [`ANNOTATION_CONFLICT_RESOLUTION`] for Overwrite.
pub const CONFLICT_RESOLUTION_OVERWRITE: &str = "overwrite";
/// Value of [`ANNOTATION_CONFLICT_RESOLUTION`] for Abort.
pub const CONFLICT_RESOLUTION_ABORT: &str = "abort";

// --- Objects applied to members ---------------------------------------------------------------

/// Label (`"true"`) marking a member object as managed by Karmada.
pub const LABEL_MANAGED: &str = "karmada.io/managed";
/// Name of the Work that applied a member object.
pub const ANNOTATION_WORK_NAME: &str = "work.karmada.io/name";
/// Namespace of the Work that applied a member object.
pub const ANNOTATION_WORK_NAMESPACE: &str = "work.karmada.io/namespace";
/// `"true"` on a member object that existed before its Work applied it (a namespace already in
/// the member, an object taken over with conflictResolution Overwrite): when the Work goes it is
/// released (Karmada's marks removed), never deleted. Not a Karmada key.
pub const ANNOTATION_ADOPTED: &str = "work.karmada.io/adopted";
/// UID of the resource template behind a member object.
pub const ANNOTATION_RESOURCE_TEMPLATE_UID: &str = "resourcetemplate.karmada.io/uid";
/// Generation of the resource template a member object was rendered from.
pub const ANNOTATION_RESOURCE_TEMPLATE_GENERATION: &str = "resourcetemplate.karmada.io/generation";

// --- Finalizers -------------------------------------------------------------------------------

/// Finalizer on ResourceBindings.
pub const FINALIZER_BINDING_CONTROLLER: &str = "karmada.io/binding-controller";
/// Finalizer on ClusterResourceBindings.
pub const FINALIZER_CLUSTER_RESOURCE_BINDING_CONTROLLER: &str =
    "karmada.io/cluster-resource-binding-controller";
/// Finalizer on Works.
pub const FINALIZER_EXECUTION_CONTROLLER: &str = "karmada.io/execution-controller";

// --- Cluster taints ---------------------------------------------------------------------------

/// Taint of a cordoned cluster (effect NoSchedule).
pub const TAINT_CLUSTER_UNSCHEDULABLE: &str = "cluster.karmada.io/unschedulable";
/// Taint of a cluster whose Ready condition is False or missing (effect NoSchedule).
pub const TAINT_CLUSTER_NOT_READY: &str = "cluster.karmada.io/not-ready";
/// Taint of a cluster whose Ready condition is Unknown (effect NoSchedule).
pub const TAINT_CLUSTER_UNREACHABLE: &str = "cluster.karmada.io/unreachable";

// --- Cluster secrets --------------------------------------------------------------------------

/// Data key of the member's bearer token in a cluster Secret.
pub const SECRET_TOKEN_KEY: &str = "token";
/// Data key of the member's CA bundle in a cluster Secret.
pub const SECRET_CA_BUNDLE_KEY: &str = "caBundle";

// --- Conditions -------------------------------------------------------------------------------

/// Cluster condition: the member is healthy.
pub const CONDITION_READY: &str = "Ready";
/// Cluster condition: discovery of the member's APIs is complete.
pub const CONDITION_COMPLETE_API_ENABLEMENTS: &str = "CompleteAPIEnablements";
/// Binding condition: scheduling result.
pub const CONDITION_SCHEDULED: &str = "Scheduled";
/// Binding condition: every target cluster applied the resource.
pub const CONDITION_FULLY_APPLIED: &str = "FullyApplied";
/// Work condition: the manifests were applied to the member.
pub const CONDITION_APPLIED: &str = "Applied";
/// Work condition: the manifests are being applied.
pub const CONDITION_PROGRESSING: &str = "Progressing";
/// Work condition: the manifests exist on the member.
pub const CONDITION_AVAILABLE: &str = "Available";
/// Work condition: the manifests drifted from the desired state.
pub const CONDITION_DEGRADED: &str = "Degraded";
/// Work condition: dispatching state (suspended or not).
pub const CONDITION_DISPATCHING: &str = "Dispatching";

/// Ready=True reason.
pub const REASON_CLUSTER_READY: &str = "ClusterReady";
/// Ready=False reason: the health endpoint answered not ok.
pub const REASON_CLUSTER_NOT_READY: &str = "ClusterNotReady";
/// Ready=False reason: the member could not be reached.
pub const REASON_CLUSTER_NOT_REACHABLE: &str = "ClusterNotReachable";
/// Ready=Unknown reason (pull mode, no status within the grace period).
pub const REASON_CLUSTER_STATUS_UNKNOWN: &str = "ClusterStatusUnknown";
/// CompleteAPIEnablements reasons.
pub const REASON_API_ENABLEMENTS_COMPLETE: &str = "Complete";
pub const REASON_API_ENABLEMENTS_PARTIAL: &str = "Partial";
pub const REASON_API_ENABLEMENTS_EMPTY: &str = "Empty";
/// Scheduled=True reason.
pub const REASON_SCHEDULED_SUCCESS: &str = "Success";
/// Scheduled=False reasons.
pub const REASON_NO_CLUSTER_FIT: &str = "NoClusterFit";
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";
pub const REASON_SCHEDULER_ERROR: &str = "SchedulerError";
/// FullyApplied=True reason.
pub const REASON_FULLY_APPLIED_SUCCESS: &str = "FullyAppliedSuccess";
/// FullyApplied=False reason.
pub const REASON_FULLY_APPLIED_FAILED: &str = "FullyAppliedFailed";
/// Applied reasons.
pub const REASON_APPLIED_SUCCESSFUL: &str = "AppliedSuccessful";
pub const REASON_APPLIED_FAILED: &str = "AppliedFailed";
