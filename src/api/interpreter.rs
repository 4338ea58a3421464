//! `config.karmada.io/v1alpha1`: ResourceInterpreterCustomization, Lua scripts that teach the
//! control plane how to read and change a kind it does not know (its replicas, status, health,
//! dependencies). Interpreted by `engine::interpreter`.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Which kind the scripts are for, and the scripts per operation.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "config.karmada.io",
    version = "v1alpha1",
    kind = "ResourceInterpreterCustomization",
    plural = "resourceinterpretercustomizations",
    singular = "resourceinterpretercustomization",
    shortname = "ric",
    category = "karmada-io",
    derive = "Default",
    derive = "PartialEq",
    doc = "ResourceInterpreterCustomization holds Lua scripts that interpret one kind (replicas, status, health, dependencies).",
    printcolumn = r#"{"name":"TARGET-API-VERSION","type":"string","jsonPath":".spec.target.apiVersion"}"#,
    printcolumn = r#"{"name":"TARGET-KIND","type":"string","jsonPath":".spec.target.kind"}"#,
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInterpreterCustomizationSpec {
    /// The kind these scripts interpret.
    pub target: CustomizationTarget,
    /// One Lua script per operation; an operation left out falls back to the bundled or
    /// built-in interpretation.
    pub customizations: CustomizationRules,
}

/// The kind a customization interprets.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomizationTarget {
    /// apiVersion of the kind, e.g. `apps.kruise.io/v1alpha1`.
    #[x_kube(validation = Rule::new("size(self) > 0").message("target.apiVersion is required, e.g. apps.kruise.io/v1alpha1"))]
    #[schemars(length(max = 253))]
    pub api_version: String,
    /// The kind, e.g. `CloneSet`.
    #[x_kube(validation = Rule::new("size(self) > 0").message("target.kind is required, e.g. CloneSet"))]
    #[schemars(length(max = 63))]
    pub kind: String,
}

/// A Lua script.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LuaScript {
    /// The script; it defines the operation's function (e.g. `function GetReplicas(obj)`).
    #[x_kube(validation = Rule::new("size(self) > 0").message("luaScript must not be empty; remove the operation instead"))]
    #[schemars(length(max = 262144))]
    pub lua_script: String,
}

/// The scripts, one per operation (the field names are Karmada's).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomizationRules {
    /// `Retain(desiredObj, observedObj)`: values a member controls that applying must keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<LuaScript>,
    /// `GetReplicas(obj)`: replicas and what one replica needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_resource: Option<LuaScript>,
    /// `GetComponents(obj)`: the pod templates of a multi-template workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_resource: Option<LuaScript>,
    /// `ReviseReplica(obj, desiredReplica)`: the object with a cluster's share of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_revision: Option<LuaScript>,
    /// `ReflectStatus(observedObj)`: what of a member object's status is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reflection: Option<LuaScript>,
    /// `AggregateStatus(desiredObj, statusItems)`: the template with the members' statuses summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_aggregation: Option<LuaScript>,
    /// `InterpretHealth(observedObj)`: whether a member object is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_interpretation: Option<LuaScript>,
    /// `GetDependencies(desiredObj)`: objects that must follow the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_interpretation: Option<LuaScript>,
}
