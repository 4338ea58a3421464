//! `work.karmada.io`: ResourceBinding and ClusterResourceBinding (v1alpha2), Work (v1alpha1).
//!
//! A binding ties one resource template to the clusters chosen for it; a Work carries the
//! rendered manifests for one cluster, in that cluster's execution namespace.

// kube-derive takes several `printcolumn(...)` entries with the same keys.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::policy::{
    ConflictResolution, FailoverBehavior, Placement, PurgeMode, Suspension as PolicySuspension,
};
use crate::api::schema::{self, RawManifest, RawObject, is_false, is_zero_i32, is_zero_i64};

/// The binding of one resource template to its target clusters.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "work.karmada.io",
    version = "v1alpha2",
    kind = "ResourceBinding",
    plural = "resourcebindings",
    singular = "resourcebinding",
    namespaced,
    shortname = "rb",
    category = "karmada-io",
    status = "ResourceBindingStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "ResourceBinding binds a namespaced resource template to the clusters it is propagated to.",
    printcolumn(
        name = "SCHEDULED",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Scheduled\")].status"
    ),
    printcolumn(
        name = "FULLYAPPLIED",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"FullyApplied\")].status"
    ),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceBindingSpec {
    /// The resource template.
    pub resource: ObjectReference,
    /// Propagate the template's dependencies too (from the policy).
    #[serde(default, skip_serializing_if = "is_false")]
    pub propagate_deps: bool,
    /// What one replica needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_requirements: Option<ReplicaRequirements>,
    /// Replicas of the template.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub replicas: i32,
    /// Per-pod-template requirements of multi-template workloads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// The scheduling result: target clusters and their replicas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<TargetCluster>,
    /// The placement copied from the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Clusters the resource is being removed from gracefully.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graceful_eviction_tasks: Vec<GracefulEvictionTask>,
    /// Bindings that depend on this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_by: Vec<BindingSnapshot>,
    /// The scheduler in charge (from the policy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheduler_name: String,
    /// Failover behavior (from the policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverBehavior>,
    /// Conflict handling (from the policy). Defaults to `Abort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Abort"))]
    pub conflict_resolution: Option<ConflictResolution>,
    /// Setting this later than `status.lastScheduledTime` forces a fresh scheduling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_triggered_at: Option<Time>,
    /// Suspension (from the policy, plus `scheduling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<BindingSuspension>,
    /// Keep member copies when the binding is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
    /// Scheduling priority of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_priority: Option<BindingSchedulePriority>,
    /// Affinity groups resolved from the placement's workloadAffinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_affinity_groups: Option<WorkloadAffinityGroups>,
}

impl ResourceBindingSpec {
    /// `spec.conflictResolution`, `Abort` when unset.
    pub fn conflict_resolution(&self) -> ConflictResolution {
        self.conflict_resolution.unwrap_or_default()
    }

    /// The replicas scheduled to `cluster`, if it is a target.
    pub fn target(&self, cluster: &str) -> Option<&TargetCluster> {
        self.clusters.iter().find(|c| c.name == cluster)
    }
}

crate::api::cluster_scoped_twin! {
    /// ClusterResourceBinding binds a cluster-scoped resource template (or one claimed by a
    /// ClusterPropagationPolicy) to the clusters it is propagated to.
    ClusterResourceBinding twin of ResourceBinding {
        spec: ResourceBindingSpec,
        status: ResourceBindingStatus,
        group: "work.karmada.io",
        plural: "clusterresourcebindings",
        singular: "clusterresourcebinding",
        shortname: "crb",
    }
}

/// What ResourceBinding and ClusterResourceBinding share, so the detector, scheduler and
/// binding controller handle both with one code path: a namespaced template gets a
/// ResourceBinding, a cluster-scoped one a ClusterResourceBinding (as Karmada does).
pub trait Binding:
    kube::Resource<DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + Serialize
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// `true` for ClusterResourceBinding.
    const CLUSTER_SCOPED: bool;
    /// The permanent-id label of the binding, copied to its Works and member objects.
    const ID_LABEL: &'static str;
    /// The binding controller's finalizer on this kind.
    const FINALIZER: &'static str;
    fn spec(&self) -> &ResourceBindingSpec;
    fn status(&self) -> Option<&ResourceBindingStatus>;
    /// The API of this kind in `namespace` (ignored for ClusterResourceBinding).
    fn api(client: kube::Client, namespace: &str) -> kube::Api<Self>;
    /// The annotations naming this binding on its Works and member objects.
    fn name_annotations(&self) -> Vec<(&'static str, String)>;
    /// This binding as a ResourceBinding (dependencies only follow namespaced workloads).
    fn as_resource_binding(&self) -> Option<&ResourceBinding> {
        None
    }
}

impl Binding for ResourceBinding {
    const CLUSTER_SCOPED: bool = false;
    const ID_LABEL: &'static str = crate::api::LABEL_RESOURCE_BINDING_PERMANENT_ID;
    const FINALIZER: &'static str = crate::api::FINALIZER_BINDING_CONTROLLER;
    fn spec(&self) -> &ResourceBindingSpec {
        &self.spec
    }
    fn status(&self) -> Option<&ResourceBindingStatus> {
        self.status.as_ref()
    }
    fn api(client: kube::Client, namespace: &str) -> kube::Api<Self> {
        kube::Api::namespaced(client, namespace)
    }
    fn name_annotations(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                crate::api::ANNOTATION_RESOURCE_BINDING_NAMESPACE,
                self.metadata.namespace.clone().unwrap_or_default(),
            ),
            (
                crate::api::ANNOTATION_RESOURCE_BINDING_NAME,
                self.metadata.name.clone().unwrap_or_default(),
            ),
        ]
    }
    fn as_resource_binding(&self) -> Option<&ResourceBinding> {
        Some(self)
    }
}

impl Binding for ClusterResourceBinding {
    const CLUSTER_SCOPED: bool = true;
    const ID_LABEL: &'static str = crate::api::LABEL_CLUSTER_RESOURCE_BINDING_PERMANENT_ID;
    const FINALIZER: &'static str = crate::api::FINALIZER_CLUSTER_RESOURCE_BINDING_CONTROLLER;
    fn spec(&self) -> &ResourceBindingSpec {
        &self.spec
    }
    fn status(&self) -> Option<&ResourceBindingStatus> {
        self.status.as_ref()
    }
    fn api(client: kube::Client, _namespace: &str) -> kube::Api<Self> {
        kube::Api::all(client)
    }
    fn name_annotations(&self) -> Vec<(&'static str, String)> {
        vec![(
            crate::api::ANNOTATION_CLUSTER_RESOURCE_BINDING_NAME,
            self.metadata.name.clone().unwrap_or_default(),
        )]
    }
}

/// Locates the resource template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version, e.g. `apps/v1`.
    pub api_version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped resources.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The template's resourceVersion when the binding was last updated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

/// What one replica needs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaRequirements {
    /// Node constraints of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_claim: Option<NodeClaim>,
    /// Resource requests of one pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_request: BTreeMap<String, Quantity>,
    /// Namespace of the workload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub priority_class_name: String,
}

/// One pod template of a multi-template workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Name, unique in the workload.
    #[schemars(length(max = 32))]
    pub name: String,
    /// Replicas of this component.
    pub replicas: i32,
    /// What one replica of this component needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_requirements: Option<ComponentReplicaRequirements>,
}

/// What one replica of a component needs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentReplicaRequirements {
    /// Node constraints of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_claim: Option<NodeClaim>,
    /// Resource requests of one pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_request: BTreeMap<String, Quantity>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub priority_class_name: String,
}

/// Node constraints of a workload's pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeClaim {
    /// Required node affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_node_affinity: Option<NodeSelector>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Pod tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A target cluster and the replicas it gets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetCluster {
    /// Cluster name.
    pub name: String,
    /// Replicas assigned to it.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub replicas: i32,
    /// Per-component replicas (multi-template workloads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<TargetComponent>,
}

/// Replicas of one component in one cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetComponent {
    /// Component name.
    pub name: String,
    /// Replicas.
    pub replicas: i32,
}

/// Removal of the resource from one cluster, deferred until the replacement is healthy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GracefulEvictionTask {
    /// The cluster being left.
    pub from_cluster: String,
    /// How the old copy is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_mode: Option<PurgeMode>,
    /// Replicas to evict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// CamelCase reason, e.g. `TaintUntolerated`.
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// Details.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 1024))]
    pub message: String,
    /// The controller that asked for the eviction.
    pub producer: String,
    /// Seconds to wait at most for the replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i32>,
    /// Wait until someone intervenes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_deletion: Option<bool>,
    /// State to carry to the new cluster, as labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub preserved_label_state: BTreeMap<String, String>,
    /// When the task was created (set by the system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// Where the application ran before the failover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters_before_failover: Vec<String>,
}

/// A binding that depends on this one, with its scheduling result.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingSnapshot {
    /// Namespace; empty for a ClusterResourceBinding.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its target clusters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<TargetCluster>,
}

/// Suspension of a binding: the policy's, plus scheduling.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingSuspension {
    /// Dispatching suspension, as in the policy.
    #[serde(flatten)]
    pub policy: PolicySuspension,
    /// `true` pauses scheduling of this binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<bool>,
}

/// Scheduling priority resolved for a binding.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingSchedulePriority {
    /// Higher is scheduled first. Defaults to 0.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    #[schemars(extend("default" = 0))]
    pub priority: i32,
}

/// Affinity group names, each `<labelKey>=<labelValue>`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadAffinityGroups {
    /// Group to co-locate with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub affinity_group: String,
    /// Group to stay apart from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub anti_affinity_group: String,
}

/// Observed state of a binding.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceBindingStatus {
    /// The generation the scheduler last handled.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub scheduler_observed_generation: i64,
    /// The clusterAffinities term the current result is based on.
    #[serde(
        rename = "schedulerObservingAffinityName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub scheduler_observed_affinity_name: String,
    /// When scheduling last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scheduled_time: Option<Time>,
    /// `Scheduled`, `FullyApplied`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The resource's state in each target cluster, sorted by cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregated_status: Vec<AggregatedStatusItem>,
}

/// The resource's state in one member cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedStatusItem {
    /// The member cluster.
    pub cluster_name: String,
    /// The member object's status, as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::raw_object")]
    pub status: Option<RawObject>,
    /// Whether the resource was applied.
    #[serde(default, skip_serializing_if = "is_false")]
    pub applied: bool,
    /// Why applying failed, if it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub applied_message: String,
    /// Health of the member object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ResourceHealth>,
}

/// Health of a member object.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ResourceHealth {
    Healthy,
    Unhealthy,
    #[default]
    Unknown,
}

/// The manifests to apply to one member cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "work.karmada.io",
    version = "v1alpha1",
    kind = "Work",
    plural = "works",
    singular = "work",
    namespaced,
    shortname = "wk",
    category = "karmada-io",
    status = "WorkStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Work holds the manifests to apply to one member cluster; it lives in that cluster's execution namespace.",
    printcolumn(
        name = "WORKLOAD-KIND",
        type_ = "string",
        json_path = ".spec.workload.manifests[*].kind"
    ),
    printcolumn(
        name = "APPLIED",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Applied\")].status"
    ),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct WorkSpec {
    /// The manifests.
    #[serde(default)]
    pub workload: WorkloadTemplate,
    /// `true` stops applying to the member (status is still collected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_dispatching: Option<bool>,
    /// Keep the member objects when the Work is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
}

/// The objects a Work applies.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadTemplate {
    /// Complete Kubernetes objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<RawManifest>,
}

/// Observed state of a Work.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkStatus {
    /// `Applied`, `Progressing`, `Available`, `Degraded`, `Dispatching`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// State of each manifest in the member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifest_statuses: Vec<ManifestStatus>,
}

/// State of one manifest in the member.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestStatus {
    /// Which manifest.
    pub identifier: ResourceIdentifier,
    /// The member object's status, as reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::raw_object")]
    pub status: Option<RawObject>,
    /// Health of the member object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<ResourceHealth>,
}

/// Identifies a manifest and the object it became.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIdentifier {
    /// Index in `spec.workload.manifests`.
    pub ordinal: i32,
    /// API group; empty for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub resource: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    pub name: String,
}
