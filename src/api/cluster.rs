//! `cluster.karmada.io/v1alpha1`: Cluster, a member cluster registered with the control plane.
//!
//! Karmada serves this kind from its aggregated API server; here it is a plain CRD with the
//! same fields and the same `kubectl get` columns.

// kube-derive takes several `printcolumn(...)` entries with the same keys.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::schema::{self, is_false, is_zero_i32};

/// A label value: at most 63 characters, alphanumerics with `-`, `_`, `.` inside.
const LABEL_VALUE_PATTERN: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

/// How to reach a member cluster and where it sits.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cluster.karmada.io",
    version = "v1alpha1",
    kind = "Cluster",
    plural = "clusters",
    singular = "cluster",
    status = "ClusterStatus",
    category = "karmada-io",
    derive = "Default",
    derive = "PartialEq",
    doc = "Cluster is a member cluster registered with the Karmada control plane.",
    validation = Rule::new("size(self.metadata.name) <= 48").message(
        "cluster name must be at most 48 characters (it is embedded in names such as karmada-es-<cluster>); choose a shorter name"
    ),
    validation = Rule::new("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message(
        "cluster name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"
    ),
    printcolumn(name = "VERSION", type_ = "string", json_path = ".status.kubernetesVersion"),
    printcolumn(name = "MODE", type_ = "string", json_path = ".spec.syncMode"),
    printcolumn(
        name = "READY",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ZONES", type_ = "string", json_path = ".spec.zones", priority = 1),
    printcolumn(name = "REGION", type_ = "string", json_path = ".spec.region", priority = 1),
    printcolumn(name = "PROVIDER", type_ = "string", json_path = ".spec.provider", priority = 1),
    printcolumn(name = "API-ENDPOINT", type_ = "string", json_path = ".spec.apiEndpoint", priority = 1),
    printcolumn(name = "PROXY-URL", type_ = "string", json_path = ".spec.proxyURL", priority = 1)
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.zone) && self.zone != '' && has(self.zones) && size(self.zones) > 0)").message(
    "zone and zones cannot both be set; list every zone in zones and remove zone"
).field_path(".zone"))]
#[x_kube(validation = Rule::new("!has(self.taints) || self.taints.all(t, self.taints.exists_one(u, u.key == t.key && u.effect == t.effect))").message(
    "taints must not repeat the same key and effect; remove the duplicate"
).field_path(".taints"))]
pub struct ClusterSpec {
    /// Unique id of the member, by convention the UID of its `kube-system` namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 128))]
    pub id: String,

    /// `Push`: the control plane talks to the member. `Pull`: an agent in the member does.
    pub sync_mode: ClusterSyncMode,

    /// URL of the member's API server, e.g. `https://10.0.0.2:6443`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self == '' || (isURL(self) && url(self).getHostname() != '')").message(
        "apiEndpoint must be a URL with a host, e.g. https://10.0.0.2:6443"
    ))]
    pub api_endpoint: String,

    /// Secret (in the control plane) holding `token` and `caBundle` for the member. Only in
    /// namespace `karmada-cluster`: the reconciler reads it with its own rights and sends the
    /// token to `apiEndpoint`, so a Cluster must not name any other Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.namespace == 'karmada-cluster'").message(
        "secretRef must name a Secret in namespace karmada-cluster (where karmadactl join puts it)"
    ))]
    pub secret_ref: Option<LocalSecretReference>,

    /// Secret holding the token used to impersonate users on the member (namespace
    /// `karmada-cluster` only, like `secretRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.namespace == 'karmada-cluster'").message(
        "impersonatorSecretRef must name a Secret in namespace karmada-cluster (where karmadactl join puts it)"
    ))]
    pub impersonator_secret_ref: Option<LocalSecretReference>,

    /// Skip verifying the member's serving certificate.
    #[serde(
        rename = "insecureSkipTLSVerification",
        default,
        skip_serializing_if = "is_false"
    )]
    pub insecure_skip_tls_verification: bool,

    /// Proxy used to reach the member: `http://`, `https://` or `socks5://`.
    #[serde(rename = "proxyURL", default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self == '' || self.matches('^(http|https|socks5)://')").message(
        "proxyURL must start with http://, https:// or socks5://"
    ))]
    pub proxy_url: String,

    /// Extra HTTP headers sent to the proxy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_header: BTreeMap<String, String>,

    /// Cloud provider name (a label value).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63), regex(pattern = LABEL_VALUE_PATTERN))]
    pub provider: String,

    /// Region (a label value).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63), regex(pattern = LABEL_VALUE_PATTERN))]
    pub region: String,

    /// Deprecated single zone; use `zones`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 63), regex(pattern = LABEL_VALUE_PATTERN))]
    pub zone: String,

    /// Failure zones the member spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(max = 63), regex(pattern = LABEL_VALUE_PATTERN)))]
    pub zones: Vec<String>,

    /// Taints keep resources off the cluster unless tolerated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::taints")]
    #[x_kube(validation = Rule::new("self.all(t, t.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])").message(
        "taint effect must be NoSchedule, PreferNoSchedule or NoExecute"
    ))]
    #[x_kube(validation = Rule::new("self.all(t, t.key != '')").message("taint key must not be empty"))]
    pub taints: Vec<Taint>,

    /// Node size classes used to estimate how many replicas fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_models: Vec<ResourceModel>,
}

/// `Push` or `Pull`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ClusterSyncMode {
    #[default]
    Push,
    Pull,
}

/// A Secret by namespace and name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalSecretReference {
    /// Namespace of the Secret.
    #[schemars(length(min = 1))]
    pub namespace: String,
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// A node size class: the ranges of resources a node of this grade has.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceModel {
    /// Grade, from small to large.
    #[schemars(with = "i64", range(min = 0, max = 4294967295_u32))]
    pub grade: u32,
    /// One range per resource.
    pub ranges: Vec<ResourceModelRange>,
}

/// `[min, max)` of one resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceModelRange {
    /// Resource name, e.g. `cpu`.
    pub name: String,
    /// Inclusive lower bound.
    pub min: Quantity,
    /// Exclusive upper bound.
    pub max: Quantity,
}

/// What was last observed about the member.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The member's Kubernetes version, e.g. `v1.37.2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kubernetes_version: String,
    /// API groups/versions and resources the member serves, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_enablements: Vec<ApiEnablement>,
    /// `Ready`, `CompleteAPIEnablements`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Node counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_summary: Option<NodeSummary>,
    /// Resource totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_summary: Option<ResourceSummary>,
    /// Remedy actions currently applied to the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remedy_actions: Vec<String>,
}

impl ClusterStatus {
    /// The condition of this type, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

impl Cluster {
    /// True when the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.condition(crate::api::CONDITION_READY))
            .is_some_and(|c| c.status == "True")
    }
}

/// The resources of one group/version that a member serves.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiEnablement {
    /// e.g. `apps/v1`, or `v1` for the core group.
    pub group_version: String,
    /// Resources in that group/version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ApiResource>,
}

/// One served resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiResource {
    /// Plural resource name, e.g. `deployments`.
    pub name: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

/// Node counts of a member.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    /// All nodes.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub total_num: i32,
    /// Ready nodes.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub ready_num: i32,
}

/// Resource totals of a member.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSummary {
    /// Sum of the nodes' allocatable resources.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    /// Requests of pods waiting to be scheduled.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocating: BTreeMap<String, Quantity>,
    /// Requests of scheduled, unfinished pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocated: BTreeMap<String, Quantity>,
    /// Node counts per resource-model grade.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocatable_modelings: Vec<AllocatableModeling>,
}

/// How many nodes fall into one resource-model grade.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocatableModeling {
    /// The grade.
    #[schemars(with = "i64", range(min = 0, max = 4294967295_u32))]
    pub grade: u32,
    /// Number of nodes.
    pub count: i64,
}
