//! `policy.karmada.io/v1alpha1`: ClusterTaintPolicy, which adds and removes Cluster taints
//! from the Cluster's status conditions (Karmada's way to get NoExecute taints for failover).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::policy::ClusterAffinity;

/// Taints to add to (or remove from) the clusters it targets when their conditions match.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy.karmada.io",
    version = "v1alpha1",
    kind = "ClusterTaintPolicy",
    plural = "clustertaintpolicies",
    singular = "clustertaintpolicy",
    category = "karmada-io",
    derive = "Default",
    derive = "PartialEq",
    doc = "ClusterTaintPolicy adds taints to the Clusters it targets when addOnConditions all match, and removes them when removeOnConditions all match. Deleting it removes no taint."
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTaintPolicySpec {
    /// The clusters this policy looks after; unset means every cluster. A cluster that stops
    /// matching keeps its taints as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_clusters: Option<ClusterAffinity>,
    /// Conditions (ANDed) under which the taints are added; empty adds nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_on_conditions: Vec<MatchCondition>,
    /// Conditions (ANDed) under which the taints are removed; empty removes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_on_conditions: Vec<MatchCondition>,
    /// The taints added or removed.
    #[schemars(length(min = 1))]
    pub taints: Vec<PolicyTaint>,
}

/// One condition of the Cluster's status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchCondition {
    /// The condition type, e.g. `Ready`.
    #[schemars(length(min = 1))]
    pub condition_type: String,
    /// `In` or `NotIn`.
    pub operator: MatchConditionOperator,
    /// Condition statuses (`True`, `False`, `Unknown`) compared with the condition's.
    pub status_values: Vec<String>,
}

/// Operator of a [`MatchCondition`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum MatchConditionOperator {
    #[default]
    In,
    NotIn,
}

/// A taint the policy manages.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTaint {
    /// Taint key.
    #[schemars(length(min = 1))]
    pub key: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[schemars(extend("enum" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]))]
    pub effect: String,
    /// Taint value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}
