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

/// A JSON type held as compact text (keys sorted, as `serde_json::Value` writes them, so
/// equal values compare equal) and transparent on the wire: the reconciler keeps every Work
/// and binding in a cache, and as text such a value takes a seventh of the memory of a
/// parsed `serde_json::Value` (docs/performance.md). `value()` parses it when needed.
macro_rules! compact_json {
    ($(#[$doc:meta])* $name:ident, $schema:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(Box<str>);

        impl $name {
            /// The value, parsed.
            pub fn value(&self) -> serde_json::Value {
                // The text was written from a `Value`, so it always parses.
                serde_json::from_str(&self.0).unwrap_or_default()
            }

            /// The value as compact JSON text.
            pub fn json(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name("null".into())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.value().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                serde_json::Value::deserialize(deserializer).map($name::from)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                $schema(generator)
            }
        }

        impl From<serde_json::Value> for $name {
            fn from(v: serde_json::Value) -> Self {
                $name(v.to_string().into_boxed_str())
            }
        }
    };
}

compact_json!(
    /// A whole Kubernetes object carried verbatim inside another object (a Work's manifests).
    RawManifest,
    embedded_resource
);

compact_json!(
    /// A JSON object kept as written: a member object's status in a Work or a binding.
    RawObject,
    raw_object
);

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

#[cfg(test)]
mod tests {
    use super::RawManifest;
    use serde_json::json;

    #[test]
    fn a_raw_manifest_round_trips_and_compares_by_content() {
        let a: RawManifest =
            serde_json::from_str(r#"{"kind":"ConfigMap","data":{"b":"2","a":"1"}}"#).unwrap();
        let b = RawManifest::from(json!({"data": {"a": "1", "b": "2"}, "kind": "ConfigMap"}));
        assert_eq!(a, b, "key order must not matter");
        assert_eq!(a.json(), r#"{"data":{"a":"1","b":"2"},"kind":"ConfigMap"}"#);
        assert_eq!(serde_json::to_value(&a).unwrap()["data"]["b"], "2");
        let from_value: RawManifest = serde_json::from_value(a.value()).unwrap();
        assert_eq!(from_value, a);
        let yaml = serde_yaml::to_string(&a).unwrap();
        assert!(yaml.contains("kind: ConfigMap"), "{yaml}");
    }
}
