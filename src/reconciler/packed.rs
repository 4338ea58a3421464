//! Objects of any kind held compactly in the caches: the fields that identify an object
//! parsed (what the stores key on), the object kept as its JSON text and parsed when a
//! reconciliation needs it.
//!
//! Why: a parsed `serde_json::Value` takes about seven times the memory of its JSON (every
//! small object is a B-tree node sized for eleven entries), and the reconciler caches every
//! resource template and every object it manages in each member, so those caches were most
//! of its memory (docs/performance.md).

use std::borrow::Cow;

use kube::Resource;
use kube::api::{DynamicObject, ObjectMeta, TypeMeta};
use kube::core::{ApiResource, DynamicResourceScope};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A dynamic object held as its JSON text, with a parsed copy of the few metadata fields that
/// identify it.
#[derive(Clone, Debug)]
pub struct PackedObject {
    pub types: Option<TypeMeta>,
    /// Only name, namespace, uid, resourceVersion, generation and deletionTimestamp: labels,
    /// annotations and the rest are in the text ([`PackedObject::annotation`],
    /// [`PackedObject::unpack`]).
    pub metadata: ObjectMeta,
    /// The object (without apiVersion and kind, without `managedFields` and
    /// `last-applied-configuration`) as compact JSON.
    body: Box<str>,
}

impl PackedObject {
    /// The whole object, parsed.
    pub fn unpack(&self) -> DynamicObject {
        // Written from a `DynamicObject`, so it always parses.
        let mut obj: DynamicObject =
            serde_json::from_str(&self.body).unwrap_or_else(|_| DynamicObject {
                types: None,
                metadata: self.metadata.clone(),
                data: Value::Object(Default::default()),
            });
        obj.types = self.types.clone();
        obj
    }

    /// The whole object as a JSON value (one parse of the text).
    pub fn to_value(&self) -> Value {
        let mut value: Value = match serde_json::from_str(&self.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return serde_json::to_value(self.unpack()).unwrap_or_default(),
        };
        if let Some(t) = &self.types {
            value["apiVersion"] = Value::String(t.api_version.clone());
            value["kind"] = Value::String(t.kind.clone());
        }
        value
    }

    /// One annotation, read from the text.
    pub fn annotation(&self, key: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Head {
            #[serde(default)]
            metadata: HeadMeta,
        }
        #[derive(Deserialize, Default)]
        struct HeadMeta {
            #[serde(default)]
            annotations: Option<std::collections::BTreeMap<String, String>>,
        }
        let head: Head = serde_json::from_str(&self.body).ok()?;
        head.metadata.annotations?.remove(key)
    }
}

impl From<DynamicObject> for PackedObject {
    fn from(mut obj: DynamicObject) -> Self {
        super::cache::slim(&mut obj);
        let m = &obj.metadata;
        let metadata = ObjectMeta {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            uid: m.uid.clone(),
            resource_version: m.resource_version.clone(),
            generation: m.generation,
            deletion_timestamp: m.deletion_timestamp.clone(),
            ..Default::default()
        };
        let types = obj.types.take();
        if !obj.data.is_object() {
            obj.data = Value::Object(Default::default());
        }
        let body = serde_json::to_string(&obj).unwrap_or_else(|_| "{}".into());
        PackedObject {
            types,
            metadata,
            body: body.into_boxed_str(),
        }
    }
}

impl<'de> Deserialize<'de> for PackedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DynamicObject::deserialize(deserializer).map(PackedObject::from)
    }
}

impl Serialize for PackedObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.unpack().serialize(serializer)
    }
}

impl Resource for PackedObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        dt.group.as_str().into()
    }

    fn version(dt: &ApiResource) -> Cow<'_, str> {
        dt.version.as_str().into()
    }

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        dt.kind.as_str().into()
    }

    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        dt.api_version.as_str().into()
    }

    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        dt.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                "labels": {"app": "web"}, "annotations": {"a": "b"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {"readyReplicas": 1},
        })
    }

    #[test]
    fn a_packed_object_gives_back_the_object_it_was_made_from() {
        let packed: PackedObject = serde_json::from_value(deployment()).unwrap();
        assert_eq!(packed.metadata.name.as_deref(), Some("web"));
        assert_eq!(packed.to_value(), deployment());
        assert_eq!(serde_json::to_value(&packed).unwrap(), deployment());
        assert_eq!(packed.annotation("a"), Some("b".into()));
        assert_eq!(packed.annotation("c"), None);
        assert!(packed.metadata.labels.is_none(), "labels stay in the text");
        let unpacked = packed.unpack();
        assert_eq!(unpacked.data["spec"]["replicas"], 2);
        assert_eq!(unpacked.metadata.labels.unwrap()["app"], "web");
        assert!(unpacked.data.get("metadata").is_none());
    }

    #[test]
    fn packing_drops_what_no_controller_reads() {
        let mut obj = deployment();
        obj["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
            json!("{}");
        let packed: PackedObject = serde_json::from_value(obj).unwrap();
        assert_eq!(packed.to_value(), deployment());
    }
}
