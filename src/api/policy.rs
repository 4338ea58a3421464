//! `policy.karmada.io/v1alpha1`: PropagationPolicy and ClusterPropagationPolicy.
//!
//! Both kinds share [`PropagationSpec`]; the cluster-scoped twin is declared with
//! `cluster_scoped_twin!` (in `api`) so the two can never drift apart.
//! The [`Placement`] and [`ClusterAffinity`] types are reused by bindings and override policies.

// kube-derive takes several `printcolumn(...)` entries with the same keys.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema::{self, is_false, is_zero_i32};

/// Group of the policy kinds.
pub const GROUP: &str = "policy.karmada.io";
/// Version of the policy kinds.
pub const VERSION: &str = "v1alpha1";

/// Selects resource templates to propagate, and says where and how to place them.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy.karmada.io",
    version = "v1alpha1",
    kind = "PropagationPolicy",
    plural = "propagationpolicies",
    singular = "propagationpolicy",
    namespaced,
    shortname = "pp",
    category = "karmada-io",
    derive = "Default",
    derive = "PartialEq",
    doc = "PropagationPolicy propagates the resource templates it selects, in its own namespace, to member clusters.",
    printcolumn(
        name = "CONFLICT-RESOLUTION",
        type_ = "string",
        json_path = ".spec.conflictResolution"
    ),
    printcolumn(name = "PRIORITY", type_ = "string", json_path = ".spec.priority"),
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.preemption) || self.preemption != 'Always' || self.resourceSelectors.all(s, has(s.name) && s.name != '')"
).message(
    "preemption: Always needs a name in every resourceSelectors entry (an unnamed selector could take over unrelated resources); name each selector or set preemption: Never"
).field_path(".resourceSelectors"))]
#[x_kube(validation = Rule::new(
    "!has(self.failover) || !has(self.failover.application) || (has(self.propagateDeps) && self.propagateDeps)"
).message(
    "failover.application needs propagateDeps: true so that dependencies move with the application; set propagateDeps: true"
).field_path(".propagateDeps"))]
pub struct PropagationSpec {
    /// The resource templates this policy applies to. At least one is required: an empty
    /// list never means "everything".
    #[schemars(length(min = 1, max = 128))]
    pub resource_selectors: Vec<ResourceSelector>,

    /// Deprecated: use `propagateDeps`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub association: bool,

    /// Propagate the resources a workload depends on (ConfigMaps, Secrets, ServiceAccount,
    /// PVCs) along with it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub propagate_deps: bool,

    /// Which clusters receive the resources and how replicas are split among them.
    #[serde(default, skip_serializing_if = "Placement::is_empty")]
    pub placement: Placement,

    /// Higher wins when several policies match one template. Defaults to 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0), range(min = -2147483648, max = 2147483647))]
    pub priority: Option<i32>,

    /// Whether this policy may take templates already claimed by a lower-priority policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub preemption: Option<PreemptionBehavior>,

    /// OverridePolicies (by name, same namespace) that must exist before this policy acts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependent_overrides: Vec<String>,

    /// Which scheduler places the resources. Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("default" = "default-scheduler"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message(
        "schedulerName cannot be changed; delete and re-create the policy to use another scheduler"
    ))]
    pub scheduler_name: String,

    /// How applications move away from failing clusters; unset disables failover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverBehavior>,

    /// What to do when the resource already exists in a member cluster and is not ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Abort"))]
    pub conflict_resolution: Option<ConflictResolution>,

    /// `Lazy`: policy changes apply to a template only at its next change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_preference: Option<ActivationPreference>,

    /// Pauses parts of propagation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,

    /// Keep member copies when the resource template is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,

    /// Where the scheduling priority of the workload comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_priority: Option<SchedulePriority>,
}

impl PropagationSpec {
    /// `spec.priority`, 0 when unset.
    pub fn priority(&self) -> i32 {
        self.priority.unwrap_or(0)
    }

    /// `spec.conflictResolution`, `Abort` when unset.
    pub fn conflict_resolution(&self) -> ConflictResolution {
        self.conflict_resolution.unwrap_or_default()
    }

    /// `spec.preemption`, `Never` when unset.
    pub fn preemption(&self) -> PreemptionBehavior {
        self.preemption.unwrap_or_default()
    }

    /// `spec.schedulerName`, `default-scheduler` when unset.
    pub fn scheduler_name(&self) -> &str {
        if self.scheduler_name.is_empty() {
            crate::api::DEFAULT_SCHEDULER_NAME
        } else {
            &self.scheduler_name
        }
    }
}

crate::api::cluster_scoped_twin! {
    /// ClusterPropagationPolicy propagates cluster-scoped resource templates, and templates in
    /// any non-reserved namespace, to member clusters.
    ClusterPropagationPolicy twin of PropagationPolicy {
        spec: PropagationSpec,
        group: "policy.karmada.io",
        plural: "clusterpropagationpolicies",
        singular: "clusterpropagationpolicy",
        shortname: "cpp",
    }
}

/// Selects resource templates by type, and optionally by namespace, name or labels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSelector {
    /// API version of the templates, e.g. `apps/v1`.
    #[schemars(length(min = 1, max = 316))]
    pub api_version: String,
    /// Kind of the templates, e.g. `Deployment`.
    #[schemars(length(min = 1, max = 63))]
    pub kind: String,
    /// Namespace of the templates; empty means the policy's own namespace (PropagationPolicy)
    /// or any namespace (ClusterPropagationPolicy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63))]
    pub namespace: String,
    /// Name of the template; empty selects all. When set, `labelSelector` is ignored.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub name: String,
    /// Selects templates by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
}

/// Which clusters are candidates and how replicas are spread over them.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.clusterAffinity) && has(self.clusterAffinities))").message(
    "clusterAffinity and clusterAffinities cannot both be set; keep clusterAffinity for one group of clusters, or move it into clusterAffinities as one named term"
))]
#[x_kube(validation = Rule::new(
    "!has(self.clusterAffinities) || self.clusterAffinities.all(t, !has(t.overflowAffinities) || size(t.overflowAffinities) == 0) || (has(self.replicaScheduling) && (!has(self.replicaScheduling.replicaSchedulingType) || self.replicaScheduling.replicaSchedulingType == 'Divided') && has(self.replicaScheduling.replicaDivisionPreference) && (self.replicaScheduling.replicaDivisionPreference == 'Aggregated' || (has(self.replicaScheduling.weightPreference) && has(self.replicaScheduling.weightPreference.dynamicWeight))))"
).message(
    "overflowAffinities only work with Divided replicas split by Aggregated or by dynamicWeight; set replicaScheduling accordingly or remove overflowAffinities"
).field_path(".clusterAffinities"))]
pub struct Placement {
    /// Restricts scheduling to one set of clusters. Cannot be combined with `clusterAffinities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_affinity: Option<ClusterAffinity>,

    /// Ordered groups of clusters: the first group that can take the workload is used.
    /// Cannot be combined with `clusterAffinity`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.all(a, self.exists_one(b, b.affinityName == a.affinityName))").message(
        "each clusterAffinities term needs a unique affinityName; rename the duplicates"
    ))]
    pub cluster_affinities: Vec<ClusterAffinityTerm>,

    /// Cluster taints these resources tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::tolerations")]
    #[x_kube(validation = Rule::new("self.all(t, !has(t.operator) || t.operator in ['', 'Exists', 'Equal'])").message(
        "clusterTolerations operator must be Exists or Equal (Lt and Gt are not supported for clusters)"
    ))]
    #[x_kube(validation = Rule::new("self.all(t, !has(t.effect) || t.effect in ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'])").message(
        "clusterTolerations effect must be NoSchedule, PreferNoSchedule or NoExecute, or empty to match every effect"
    ))]
    #[x_kube(validation = Rule::new("self.all(t, !has(t.operator) || t.operator != 'Exists' || !has(t.value) || t.value == '')").message(
        "a clusterToleration with operator Exists must not set value; remove value or use operator Equal"
    ))]
    pub cluster_tolerations: Vec<Toleration>,

    /// How many groups of clusters (by cluster, region, zone, provider or label) to use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(validation = Rule::new(
        "['cluster', 'region', 'zone', 'provider'].all(f, self.filter(c, (has(c.spreadByField) ? c.spreadByField : ((has(c.spreadByLabel) && c.spreadByLabel != '') ? '' : 'cluster')) == f).size() <= 1)"
    ).message(
        "each spreadByField value may appear in only one spreadConstraints entry (an entry without spreadByField or spreadByLabel means cluster); merge the duplicates"
    ))]
    #[x_kube(validation = Rule::new(
        "!self.exists(c, has(c.spreadByField) && c.spreadByField != 'cluster') || self.exists(c, has(c.spreadByField) ? c.spreadByField == 'cluster' : !(has(c.spreadByLabel) && c.spreadByLabel != ''))"
    ).message(
        "spreading by region, zone or provider also needs a spreadConstraints entry with spreadByField: cluster (it bounds how many clusters are picked); add one"
    ))]
    pub spread_constraints: Vec<SpreadConstraint>,

    /// How replicas are assigned to clusters; unset duplicates full replicas to each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_scheduling: Option<ReplicaSchedulingStrategy>,

    /// Co-locate or separate workloads by a label on their templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_affinity: Option<WorkloadAffinity>,
}

impl Placement {
    /// True when nothing is set (every cluster is a candidate, replicas duplicated).
    pub fn is_empty(&self) -> bool {
        *self == Placement::default()
    }

    /// The effective replica scheduling type: `Duplicated` when `replicaScheduling` is unset,
    /// else its type (`Divided` when the type is unset).
    pub fn replica_scheduling_type(&self) -> ReplicaSchedulingType {
        match &self.replica_scheduling {
            None => ReplicaSchedulingType::Duplicated,
            Some(s) => s.replica_scheduling_type.unwrap_or_default(),
        }
    }
}

/// A filter over member clusters. Every part that is set must match.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterAffinity {
    /// Clusters whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Clusters whose provider, region or zone match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_selector: Option<FieldSelector>,
    /// Clusters with these names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_names: Vec<String>,
    /// Clusters never selected.
    #[serde(rename = "exclude", default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_clusters: Vec<String>,
}

impl ClusterAffinity {
    /// True when no criterion is set (which matches every cluster).
    pub fn is_empty(&self) -> bool {
        self.label_selector.is_none()
            && self.field_selector.is_none()
            && self.cluster_names.is_empty()
            && self.exclude_clusters.is_empty()
    }
}

/// Selects clusters by their `spec.provider`, `spec.region` or `spec.zone(s)`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldSelector {
    /// Requirements, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<FieldSelectorRequirement>,
}

/// One requirement over a cluster field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldSelectorRequirement {
    /// The cluster field: `provider`, `region` or `zone`.
    pub key: ClusterField,
    /// `In` or `NotIn`.
    pub operator: FieldSelectorOperator,
    /// Values compared with the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A cluster field usable in a field selector.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClusterField {
    #[default]
    Provider,
    Region,
    Zone,
}

/// Operator of a field selector requirement.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum FieldSelectorOperator {
    #[default]
    In,
    NotIn,
}

/// A named group of clusters in `clusterAffinities`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!has(self.overflowAffinities) || self.overflowAffinities.all(o, o.affinityName != self.affinityName && self.overflowAffinities.exists_one(p, p.affinityName == o.affinityName))"
).message(
    "overflowAffinities names must be unique and differ from the term's affinityName; rename the duplicates"
).field_path(".overflowAffinities"))]
pub struct ClusterAffinityTerm {
    /// Name of the group; a label-key-like string of at most 32 characters.
    #[schemars(
        length(min = 1, max = 32),
        regex(
            pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
        )
    )]
    pub affinity_name: String,
    /// The clusters of this group.
    #[serde(flatten)]
    pub affinity: ClusterAffinity,
    /// Extra groups added in order when this one lacks capacity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub overflow_affinities: Vec<OverflowClusterAffinity>,
}

/// An overflow tier of a [`ClusterAffinityTerm`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OverflowClusterAffinity {
    /// Name of the tier; a label-key-like string of at most 32 characters.
    #[schemars(
        length(min = 1, max = 32),
        regex(
            pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
        )
    )]
    pub affinity_name: String,
    /// The clusters of this tier.
    #[serde(flatten)]
    pub affinity: ClusterAffinity,
}

/// Spreads resources over groups of clusters.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.spreadByField) && has(self.spreadByLabel) && self.spreadByLabel != '')").message(
    "spreadByField and spreadByLabel cannot both be set in one spreadConstraints entry; use separate entries"
))]
#[x_kube(validation = Rule::new("!has(self.maxGroups) || self.maxGroups == 0 || !has(self.minGroups) || self.maxGroups >= self.minGroups").message(
    "maxGroups must be greater than or equal to minGroups; raise maxGroups or lower minGroups"
))]
pub struct SpreadConstraint {
    /// Group clusters by this field: `cluster`, `region`, `zone` or `provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_by_field: Option<SpreadFieldValue>,
    /// Group clusters by the value of this label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 316))]
    pub spread_by_label: String,
    /// At most this many groups.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    #[schemars(range(min = 0))]
    pub max_groups: i32,
    /// At least this many groups. Defaults to 1.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    #[schemars(range(min = 0), extend("default" = 1))]
    pub min_groups: i32,
}

impl SpreadConstraint {
    /// The field this constraint groups by, with Karmada's default (`cluster` when neither a
    /// field nor a label is given). `None` for a label constraint.
    pub fn effective_field(&self) -> Option<SpreadFieldValue> {
        match (self.spread_by_field, self.spread_by_label.is_empty()) {
            (Some(f), _) => Some(f),
            (None, true) => Some(SpreadFieldValue::Cluster),
            (None, false) => None,
        }
    }
}

/// A cluster field to spread by.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpreadFieldValue {
    #[default]
    Cluster,
    Region,
    Zone,
    Provider,
}

/// How replicas are assigned to the selected clusters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSchedulingStrategy {
    /// `Duplicated`: every cluster gets all replicas. `Divided` (default): replicas are split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Divided"))]
    pub replica_scheduling_type: Option<ReplicaSchedulingType>,
    /// For `Divided`: `Aggregated` (as few clusters as possible) or `Weighted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_division_preference: Option<ReplicaDivisionPreference>,
    /// Weights for `Weighted`; unset weighs every cluster the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_preference: Option<ClusterPreferences>,
}

/// Replica scheduling type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReplicaSchedulingType {
    Duplicated,
    #[default]
    Divided,
}

/// How `Divided` replicas are split.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReplicaDivisionPreference {
    Aggregated,
    #[default]
    Weighted,
}

/// Cluster weights for `Weighted` division.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPreferences {
    /// Fixed weights for the clusters matched by each entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_weight_list: Vec<StaticClusterWeight>,
    /// Weigh clusters by a live factor instead; overrides `staticWeightList`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_weight: Option<DynamicWeightFactor>,
}

/// A fixed weight for the clusters a filter selects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticClusterWeight {
    /// The clusters this weight applies to.
    pub target_cluster: ClusterAffinity,
    /// The weight, at least 1.
    #[schemars(range(min = 1))]
    pub weight: i64,
}

/// Factor for dynamic weights.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DynamicWeightFactor {
    #[default]
    AvailableReplicas,
}

/// Whether a policy may take templates from lower-priority policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PreemptionBehavior {
    Always,
    #[default]
    Never,
}

/// What to do when a propagated resource already exists in a member cluster.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ConflictResolution {
    #[default]
    Abort,
    Overwrite,
}

/// When policy changes take effect on templates.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ActivationPreference {
    #[default]
    Lazy,
}

/// Pauses parts of propagation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "!(has(self.dispatching) && self.dispatching && has(self.dispatchingOnClusters) && has(self.dispatchingOnClusters.clusterNames) && size(self.dispatchingOnClusters.clusterNames) > 0)"
).message(
    "suspension.dispatching: true already stops every cluster; remove dispatchingOnClusters or set dispatching to false"
))]
pub struct Suspension {
    /// `true` stops dispatching to every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatching: Option<bool>,
    /// Stops dispatching to the named clusters only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatching_on_clusters: Option<SuspendClusters>,
}

/// Clusters to which dispatching is suspended.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendClusters {
    /// Cluster names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_names: Vec<String>,
}

/// How applications move off failing clusters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverBehavior {
    /// On application failure; needs `propagateDeps: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationFailoverBehavior>,
    /// On cluster failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterFailoverBehavior>,
}

/// Failover on application failure.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.gracePeriodSeconds) || !has(self.purgeMode) || self.purgeMode == 'Gracefully'").message(
    "gracePeriodSeconds only applies to purgeMode: Gracefully; remove it or set purgeMode: Gracefully"
).field_path(".gracePeriodSeconds"))]
pub struct ApplicationFailoverBehavior {
    /// When to fail over.
    pub decision_conditions: DecisionConditions,
    /// What happens to the application on the cluster it leaves. Defaults to `Gracefully`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Gracefully"))]
    pub purge_mode: Option<PurgeMode>,
    /// For `Gracefully`: seconds to wait before removing the old copy (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub grace_period_seconds: Option<i32>,
    /// State carried over to the new cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_preservation: Option<StatePreservation>,
}

/// Failover on cluster failure.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFailoverBehavior {
    /// `Directly` or `Gracefully` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Gracefully", "enum" = ["Directly", "Gracefully"]))]
    pub purge_mode: Option<PurgeMode>,
    /// State carried over to the new cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_preservation: Option<StatePreservation>,
}

/// Conditions that must hold before failing over.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionConditions {
    /// Seconds the failure must last. Defaults to 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 300), range(min = 0))]
    pub toleration_seconds: Option<i32>,
}

/// What happens to the application on the cluster it moves away from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PurgeMode {
    Directly,
    #[default]
    Gracefully,
    Never,
}

/// State to carry over on failover.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatePreservation {
    /// One rule per piece of state.
    pub rules: Vec<StatePreservationRule>,
}

/// One piece of state, read by JSONPath from the old status and passed as a label.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatePreservationRule {
    /// Label key the value is passed as.
    pub alias_label_name: String,
    /// JSONPath into the status, e.g. `{.availableReplicas}`.
    #[serde(rename = "jsonPath")]
    pub json_path: String,
}

/// Where workload scheduling priority comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePriority {
    /// Only `KubePriorityClass` is supported.
    #[schemars(extend("enum" = ["KubePriorityClass"]))]
    pub priority_class_source: PriorityClassSource,
    /// Name of the PriorityClass.
    pub priority_class_name: String,
}

/// Source of a PriorityClass.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PriorityClassSource {
    #[default]
    KubePriorityClass,
    PodPriorityClass,
    FederatedPriorityClass,
}

/// Inter-workload affinity rules.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.affinity) && has(self.antiAffinity)) || self.affinity.groupByLabelKey != self.antiAffinity.groupByLabelKey").message(
    "affinity and antiAffinity cannot use the same groupByLabelKey; use different label keys"
))]
pub struct WorkloadAffinity {
    /// Keep workloads of one group together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<WorkloadAffinityTerm>,
    /// Keep workloads of one group apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<WorkloadAffinityTerm>,
}

/// Groups workloads by the value of a label on their templates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadAffinityTerm {
    /// The label key.
    #[schemars(
        length(min = 1, max = 316),
        regex(
            pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
        )
    )]
    pub group_by_label_key: String,
}
