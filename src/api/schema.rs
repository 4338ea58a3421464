//! Hand-written OpenAPI fragments for fields whose Rust type does not say enough:
//! raw embedded objects, free-form JSON values and bounded lists of upstream Kubernetes types.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Any JSON value (string, number, list, object) kept as written.
pub(crate) fn any_json(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// A JSON object kept as written (a member object's status, for instance).
pub(crate) fn raw_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// A complete Kubernetes object (apiVersion, kind, metadata) kept as written.
pub(crate) fn embedded_resource(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-embedded-resource": true,
    })
}

/// A whole Kubernetes object carried verbatim inside another object (a Work's manifests).
///
/// Transparent on the wire: it serializes as the object itself.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(transparent)]
pub struct RawManifest(pub serde_json::Value);

impl JsonSchema for RawManifest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawManifest".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        embedded_resource(generator)
    }
}

impl From<serde_json::Value> for RawManifest {
    fn from(v: serde_json::Value) -> Self {
        RawManifest(v)
    }
}

/// Schema of `Vec<T>` with `maxItems` set, and `maxLength` added to every string property of
/// `T` that has none. CEL rules that walk such lists need these bounds to stay within the
/// API server's cost budget.
pub(crate) fn bounded_list<T: JsonSchema>(
    generator: &mut SchemaGenerator,
    max_items: u64,
    max_string: u64,
) -> Schema {
    let mut schema = generator.subschema_for::<Vec<T>>();
    let obj = schema.ensure_object();
    obj.insert("maxItems".into(), max_items.into());
    if let Some(items) = obj.get_mut("items").and_then(|v| v.as_object_mut())
        && let Some(props) = items.get_mut("properties").and_then(|v| v.as_object_mut())
    {
        for prop in props.values_mut() {
            if let Some(p) = prop.as_object_mut()
                && p.get("type").and_then(|t| t.as_str()) == Some("string")
                && !p.contains_key("maxLength")
            {
                p.insert("maxLength".into(), max_string.into());
            }
        }
    }
    schema
}

/// Cluster tolerations: a bounded list of core/v1 Toleration.
pub(crate) fn tolerations(generator: &mut SchemaGenerator) -> Schema {
    bounded_list::<k8s_openapi::api::core::v1::Toleration>(generator, 64, 316)
}

/// Cluster taints: a bounded list of core/v1 Taint.
pub(crate) fn taints(generator: &mut SchemaGenerator) -> Schema {
    bounded_list::<k8s_openapi::api::core::v1::Taint>(generator, 64, 316)
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
