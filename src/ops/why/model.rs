//! What `why` reads (`Inputs`) and what it answers (`Explanation`), as plain data.

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;

use crate::api::{
    Cluster, ClusterOverridePolicy, ClusterPropagationPolicy, OverridePolicy, PropagationPolicy,
    ResourceBinding, Work,
};

/// Everything `why` looks at, as read from the control plane.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub template: DynamicObject,
    pub policies: Vec<PropagationPolicy>,
    pub cluster_policies: Vec<ClusterPropagationPolicy>,
    pub binding: Option<ResourceBinding>,
    pub clusters: Vec<Cluster>,
    pub override_policies: Vec<OverridePolicy>,
    pub cluster_override_policies: Vec<ClusterOverridePolicy>,
    /// The template's Work in each execution namespace that has one, by cluster.
    pub works: BTreeMap<String, Work>,
}

/// The explanation; printed as a report or as JSON/YAML.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub template: TemplateInfo,
    pub policy: PolicySection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<ReplicaSection>,
    pub overrides: Vec<ClusterOverrides>,
    pub apply: Vec<ClusterApply>,
    /// Things that stop propagation outright or that disagree between objects.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInfo {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// `PropagationPolicy` or `ClusterPropagationPolicy`.
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    pub priority: i32,
    /// How closely its best selector matches: `name`, `labelSelector` or `kind`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub matched_by: String,
}

impl PolicyRef {
    pub fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySection {
    /// The policy that governs the template; None when no policy selects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<PolicyRef>,
    /// Why the winner won.
    pub reason: String,
    /// The other policies that select the template, and why each lost.
    pub beaten: Vec<Beaten>,
    /// Selectors that came close without selecting it (when no policy selects it).
    pub near_misses: Vec<NearMiss>,
    /// The claim recorded on the template's annotations, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_claim: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Beaten {
    pub policy: PolicyRef,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    pub policy: PolicyRef,
    /// The selector, as `apps/v1 Deployment name=web`.
    pub selector: String,
    /// Every reason it misses.
    pub misses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSection {
    /// Where the placement came from: the ResourceBinding, or the policy (no binding yet).
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity_name: Option<String>,
    pub clusters: Vec<ClusterFit>,
    /// Why nothing fits, when nothing does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The binding's Scheduled condition: `True (Success): ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFit {
    pub cluster: String,
    pub fits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Targeted by the binding now.
    pub targeted: bool,
    /// Replicas the scheduler would give it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSection {
    /// `Duplicated`, `Divided (Weighted)` or `Divided (Aggregated)`.
    pub mode: String,
    pub desired: i32,
    /// Weights per fitting cluster (Divided, Weighted only).
    pub weights: BTreeMap<String, i64>,
    /// Replicas per cluster as computed now.
    pub result: BTreeMap<String, i32>,
    /// Replicas per cluster in the binding (what was last scheduled).
    pub scheduled: BTreeMap<String, i32>,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterOverrides {
    pub cluster: String,
    /// The rules applied, in order: `OverridePolicy ns/name: imageOverrider`.
    pub rules: Vec<String>,
    pub changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterApply {
    pub cluster: String,
    /// `namespace/name` of the Work, if it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<String>,
    /// The Work's Applied condition status: `True`, `False`, or None when not reported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// An object Karmada does not manage is in the way (conflictResolution Abort).
    pub conflict: bool,
    /// aggregatedStatus health: Healthy, Unhealthy, Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The Cluster's Ready condition: `True`, `False: message`, or `Unknown`.
    pub cluster_ready: String,
}
