//! `policy.karmada.io/v1alpha1`: OverridePolicy and ClusterOverridePolicy.
//!
//! An override policy changes resources on their way to particular clusters (another image
//! registry, other replicas, extra labels...). Both kinds share [`OverrideSpec`].

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::policy::{ClusterAffinity, ResourceSelector};
use crate::api::schema;

/// Selects resources and the changes to make to them per cluster.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy.karmada.io",
    version = "v1alpha1",
    kind = "OverridePolicy",
    plural = "overridepolicies",
    singular = "overridepolicy",
    namespaced,
    shortname = "op",
    category = "karmada-io",
    derive = "Default",
    derive = "PartialEq",
    doc = "OverridePolicy changes the resources it selects, in its own namespace, for the clusters it targets."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.targetCluster) && has(self.overrideRules))").message(
    "targetCluster (deprecated) cannot be combined with overrideRules; move it into an overrideRules entry's targetCluster"
).field_path(".targetCluster"))]
#[x_kube(validation = Rule::new(
    "!has(self.overrideRules) || !has(self.overriders) || ((!has(self.overriders.plaintext) || size(self.overriders.plaintext) == 0) && (!has(self.overriders.imageOverrider) || size(self.overriders.imageOverrider) == 0) && (!has(self.overriders.commandOverrider) || size(self.overriders.commandOverrider) == 0) && (!has(self.overriders.argsOverrider) || size(self.overriders.argsOverrider) == 0) && (!has(self.overriders.labelsOverrider) || size(self.overriders.labelsOverrider) == 0) && (!has(self.overriders.annotationsOverrider) || size(self.overriders.annotationsOverrider) == 0))"
).message(
    "overriders (deprecated) cannot be combined with overrideRules; move them into an overrideRules entry"
).field_path(".overriders"))]
pub struct OverrideSpec {
    /// Resources this policy applies to; empty matches every resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    pub resource_selectors: Vec<ResourceSelector>,

    /// Override rules, each for a set of clusters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub override_rules: Vec<RuleWithCluster>,

    /// Deprecated: use `overrideRules[].targetCluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cluster: Option<ClusterAffinity>,

    /// Deprecated: use `overrideRules[].overriders`.
    #[serde(default, skip_serializing_if = "Overriders::is_empty")]
    pub overriders: Overriders,
}

crate::api::cluster_scoped_twin! {
    /// ClusterOverridePolicy changes resources in any namespace, and cluster-scoped ones, for
    /// the clusters it targets.
    ClusterOverridePolicy twin of OverridePolicy {
        spec: OverrideSpec,
        group: "policy.karmada.io",
        plural: "clusteroverridepolicies",
        singular: "clusteroverridepolicy",
        shortname: "cop",
    }
}

/// Overriders applied to the resources propagated to the clusters `targetCluster` selects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleWithCluster {
    /// Clusters this rule applies to; unset means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cluster: Option<ClusterAffinity>,
    /// The changes.
    pub overriders: Overriders,
}

/// Ways to change a resource. Applied in this order: image, command, args, labels,
/// annotations, field, plaintext.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overriders {
    /// JSON-patch-like operations on any field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plaintext: Vec<PlaintextOverrider>,
    /// Changes to container images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_overrider: Vec<ImageOverrider>,
    /// Changes to container commands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command_overrider: Vec<CommandArgsOverrider>,
    /// Changes to container args.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args_overrider: Vec<CommandArgsOverrider>,
    /// Changes to the resource's labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels_overrider: Vec<LabelAnnotationOverrider>,
    /// Changes to the resource's annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations_overrider: Vec<LabelAnnotationOverrider>,
    /// Changes inside a JSON or YAML document held in a string field (ConfigMap data, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_overrider: Vec<FieldOverrider>,
}

impl Overriders {
    /// True when no overrider is set.
    pub fn is_empty(&self) -> bool {
        self.plaintext.is_empty()
            && self.image_overrider.is_empty()
            && self.command_overrider.is_empty()
            && self.args_overrider.is_empty()
            && self.labels_overrider.is_empty()
            && self.annotations_overrider.is_empty()
            && self.field_overrider.is_empty()
    }
}

/// The operation an overrider performs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverriderOperator {
    #[default]
    Add,
    Remove,
    Replace,
}

/// One operation at a JSON pointer path.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlaintextOverrider {
    /// JSON pointer to the field, e.g. `/spec/replicas`.
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message(
        "path must be a JSON pointer starting with '/', e.g. /spec/replicas"
    ))]
    pub path: String,
    /// `add`, `remove` or `replace`.
    pub operator: OverriderOperator,
    /// The value for `add` and `replace`; any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_json")]
    pub value: Option<serde_json::Value>,
}

/// Changes one component of container images.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.operator == 'remove' || (has(self.value) && self.value != '')").message(
    "imageOverrider value is required for add and replace; set value or use operator remove"
).field_path(".value"))]
pub struct ImageOverrider {
    /// Which image field to change; unset means the containers of well-known workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<ImagePredicate>,
    /// `Registry`, `Repository` or `Tag`.
    pub component: ImageComponent,
    /// `add`, `remove` or `replace`.
    pub operator: OverriderOperator,
    /// The new component value (ignored for `remove`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 1024))]
    pub value: String,
}

/// Selects the image field an [`ImageOverrider`] changes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePredicate {
    /// JSON pointer to the image field, e.g. `/spec/template/spec/containers/0/image`.
    #[schemars(length(max = 1024), regex(pattern = r"^(/.*)?$"))]
    pub path: String,
}

/// A part of an image reference `[registry/]repository[:tag]`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ImageComponent {
    #[default]
    Registry,
    Repository,
    Tag,
}

/// Adds or removes command or args items of one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandArgsOverrider {
    /// The container.
    pub container_name: String,
    /// `add` or `remove`.
    #[schemars(extend("enum" = ["add", "remove"]))]
    pub operator: OverriderOperator,
    /// Items appended (`add`) or deleted (`remove`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value: Vec<String>,
}

/// Adds, removes or replaces labels or annotations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelAnnotationOverrider {
    /// `add`, `remove` or `replace`.
    pub operator: OverriderOperator,
    /// The keys and values.
    pub value: BTreeMap<String, String>,
}

/// Operations inside a JSON or YAML document stored in one field.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.json) && size(self.json) > 0) != (has(self.yaml) && size(self.yaml) > 0)").message(
    "fieldOverrider needs exactly one of json or yaml operations; keep one and remove the other"
))]
pub struct FieldOverrider {
    /// JSON pointer to the field holding the document, e.g. `/data/config.yaml`.
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message(
        "fieldPath must be a JSON pointer starting with '/', e.g. /data/config.json"
    ))]
    pub field_path: String,
    /// Operations on a JSON document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub json: Vec<DocumentPatchOperation>,
    /// Operations on a YAML document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub yaml: Vec<DocumentPatchOperation>,
}

// `value` is free-form JSON, which CEL cannot inspect, so "value required for add/replace,
// forbidden for remove" (Karmada's webhook checks it) is left to the reconciler.
/// One operation inside a document (same shape for JSON and YAML).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPatchOperation {
    /// JSON pointer inside the document, e.g. `/db/host`.
    #[schemars(length(max = 1024), regex(pattern = r"^(/.*)?$"))]
    pub sub_path: String,
    /// `add`, `remove` or `replace`.
    pub operator: OverriderOperator,
    /// The value for `add` and `replace`; any JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::any_json")]
    pub value: Option<serde_json::Value>,
}
