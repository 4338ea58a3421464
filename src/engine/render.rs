//! Turns a resource template into the manifest a member cluster receives: the template without
//! control-plane bookkeeping (status, uid, resourceVersion, managedFields, ...), marked as ours
//! with Karmada's labels and annotations (the template's policy claim, its binding, its Work),
//! so tools that select member objects by them keep working.

use serde_json::{Map, Value, json};

use crate::api as keys;

/// Metadata fields the API server owns for one copy of an object; never carried to another.
pub const DROPPED_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "selfLink",
    "generateName",
];

/// Annotations that describe the control-plane object, not the workload. (The policy claim
/// stays: Karmada's member objects carry it, as the template does.)
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// Where the member copy came from, recorded on it like Karmada does.
pub struct Origin<'a> {
    pub template_uid: &'a str,
    pub template_generation: i64,
    pub work_namespace: &'a str,
    pub work_name: &'a str,
    /// More of Karmada's marks: the binding's permanent-id and the Work's (labels), the
    /// binding's name (annotations) and the conflict resolution (annotation).
    pub labels: Vec<(&'static str, String)>,
    pub annotations: Vec<(&'static str, String)>,
}

/// The member manifest for `template`. `replicas`, when set, replaces `spec.replicas`
/// (a divided share); it is left alone for kinds without replicas.
pub fn manifest(template: &Value, replicas: Option<i32>, origin: &Origin<'_>) -> Value {
    let mut obj = template.clone();
    let Some(map) = obj.as_object_mut() else {
        return obj;
    };
    map.remove("status");
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        for field in DROPPED_METADATA {
            meta.remove(*field);
        }
        prune(meta, "annotations", DROPPED_ANNOTATIONS);
        insert(meta, "labels", keys::LABEL_MANAGED, "true");
        for (k, v) in &origin.labels {
            insert(meta, "labels", k, v);
        }
        for (k, v) in &origin.annotations {
            insert(meta, "annotations", k, v);
        }
        insert(
            meta,
            "annotations",
            keys::ANNOTATION_RESOURCE_TEMPLATE_UID,
            origin.template_uid,
        );
        insert(
            meta,
            "annotations",
            keys::ANNOTATION_RESOURCE_TEMPLATE_GENERATION,
            &origin.template_generation.to_string(),
        );
        insert(
            meta,
            "annotations",
            keys::ANNOTATION_WORK_NAME,
            origin.work_name,
        );
        insert(
            meta,
            "annotations",
            keys::ANNOTATION_WORK_NAMESPACE,
            origin.work_namespace,
        );
    }
    if let (Some(r), Some(spec)) = (replicas, map.get_mut("spec").and_then(Value::as_object_mut))
        && spec.contains_key("replicas")
    {
        spec.insert("replicas".into(), json!(r));
    }
    prune_assigned(&mut obj);
    obj
}

fn prune(meta: &mut Map<String, Value>, field: &str, keys: &[&str]) {
    if let Some(m) = meta.get_mut(field).and_then(Value::as_object_mut) {
        for k in keys {
            m.remove(*k);
        }
        if m.is_empty() {
            meta.remove(field);
        }
    }
}

fn insert(meta: &mut Map<String, Value>, field: &str, key: &str, value: &str) {
    let m = meta.entry(field).or_insert_with(|| json!({}));
    if let Some(m) = m.as_object_mut() {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Sets `spec.replicas` to a cluster's divided share, for kinds that have the field.
pub fn set_replicas(obj: &mut Value, replicas: i32) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && spec.contains_key("replicas")
    {
        spec.insert("replicas".into(), json!(replicas));
    }
}

/// Overrides may change any field, but not which object a Work targets: apiVersion, kind,
/// name and namespace stay the template's (an override must not retarget a privileged apply).
pub fn keep_identity(workload: &Value, template: &Value) -> Result<(), String> {
    for ptr in [
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
    ] {
        if workload.pointer(ptr) != template.pointer(ptr) {
            return Err(format!(
                "an override may not change {ptr}; remove that rule"
            ));
        }
    }
    Ok(())
}

/// A JSON merge patch turning `old` into `new` at the top level: keys `new` dropped become
/// null (a plain merge patch of `new` would leave them in place).
pub fn merge_diff(old: Option<&Value>, new: &Value) -> Value {
    let mut patch = new.clone();
    if let (Some(Value::Object(old)), Value::Object(p)) = (old, &mut patch) {
        for k in old.keys() {
            if !p.contains_key(k) {
                p.insert(k.clone(), Value::Null);
            }
        }
    }
    patch
}

/// Fields the control plane's API server assigned to its copy, which a member must assign
/// itself (Karmada prunes the same): a Service's cluster IPs, a Job's generated selector and
/// labels, a Pod's node, a PVC's volume, a ServiceAccount's token secrets.
fn prune_assigned(obj: &mut Value) {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        if kind == "ServiceAccount"
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("secrets");
        }
        return;
    };
    match kind.as_str() {
        "Service" => {
            if spec.get("clusterIP").and_then(Value::as_str) != Some("None") {
                spec.remove("clusterIP");
                spec.remove("clusterIPs");
            }
            spec.remove("healthCheckNodePort");
        }
        "Job" if spec.get("manualSelector").and_then(Value::as_bool) != Some(true) => {
            spec.remove("selector");
            if let Some(labels) = spec
                .get_mut("template")
                .and_then(|t| t.pointer_mut("/metadata/labels"))
                .and_then(Value::as_object_mut)
            {
                for k in [
                    "controller-uid",
                    "batch.kubernetes.io/controller-uid",
                    "job-name",
                    "batch.kubernetes.io/job-name",
                ] {
                    labels.remove(k);
                }
            }
        }
        "Pod" => {
            spec.remove("nodeName");
        }
        "PersistentVolumeClaim" => {
            spec.remove("volumeName");
        }
        _ => {}
    }
}

/// The replica count a template asks for (`spec.replicas`), if its kind has one.
pub fn template_replicas(template: &Value) -> Option<i32> {
    template
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .map(|r| r as i32)
}

/// Whether every field `desired` sets has the same value in `live` (objects compared key by
/// key, everything else by equality). A member object that passes needs no apply: this is how
/// the execution controller avoids writes that would change nothing, and still sees drift.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, dv)| l.get(k).is_some_and(|lv| is_subset(dv, lv)) || dv.is_null()),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => desired == live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            template_uid: "u-1",
            template_generation: 3,
            work_namespace: "karmada-es-member1",
            work_name: "nginx-687f7fb96f",
            labels: vec![(keys::LABEL_RESOURCE_BINDING_PERMANENT_ID, "b-1".into())],
            annotations: vec![(keys::ANNOTATION_CONFLICT_RESOLUTION, "abort".into())],
        }
    }

    #[test]
    fn manifest_drops_control_plane_bookkeeping_and_marks_ours() {
        let t = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "default", "uid": "u-1", "resourceVersion": "9",
                "generation": 3, "managedFields": [], "labels": {"app": "nginx",
                "propagationpolicy.karmada.io/permanent-id": "p"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"replicas": 2},
            "status": {"replicas": 2}
        });
        let m = manifest(&t, Some(1), &origin());
        assert!(m.get("status").is_none());
        assert!(m.pointer("/metadata/uid").is_none());
        assert!(m.pointer("/metadata/resourceVersion").is_none());
        assert_eq!(m.pointer("/metadata/labels/app"), Some(&json!("nginx")));
        // The claim and the binding stay visible on the member object, as in Karmada.
        assert_eq!(
            m.pointer("/metadata/labels/propagationpolicy.karmada.io~1permanent-id"),
            Some(&json!("p"))
        );
        assert_eq!(
            m.pointer("/metadata/labels/resourcebinding.karmada.io~1permanent-id"),
            Some(&json!("b-1"))
        );
        assert_eq!(
            m.pointer("/metadata/annotations/work.karmada.io~1conflict-resolution"),
            Some(&json!("abort"))
        );
        assert_eq!(
            m.pointer("/metadata/labels/karmada.io~1managed"),
            Some(&json!("true"))
        );
        assert_eq!(
            m.pointer("/metadata/annotations/resourcetemplate.karmada.io~1generation"),
            Some(&json!("3"))
        );
        assert_eq!(
            m.pointer("/metadata/annotations/work.karmada.io~1name"),
            Some(&json!("nginx-687f7fb96f"))
        );
        assert!(
            m.pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
                .is_none()
        );
        assert_eq!(m.pointer("/spec/replicas"), Some(&json!(1)));
    }

    #[test]
    fn fields_the_control_plane_assigned_are_pruned() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": [{"port": 80}]}});
        let m = manifest(&svc, None, &origin());
        assert!(m.pointer("/spec/clusterIP").is_none() && m.pointer("/spec/clusterIPs").is_none());
        assert_eq!(m.pointer("/spec/ports/0/port"), Some(&json!(80)));
        let headless = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "h"}, "spec": {"clusterIP": "None"}});
        assert_eq!(
            manifest(&headless, None, &origin()).pointer("/spec/clusterIP"),
            Some(&json!("None"))
        );
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                "template": {"metadata": {"labels": {"app": "j", "batch.kubernetes.io/controller-uid": "u", "controller-uid": "u", "job-name": "j"}}}}});
        let m = manifest(&job, None, &origin());
        assert!(m.pointer("/spec/selector").is_none());
        assert_eq!(
            m.pointer("/spec/template/metadata/labels"),
            Some(&json!({"app": "j"}))
        );
    }

    #[test]
    fn merge_diff_nulls_dropped_keys_and_identity_is_kept() {
        let old = json!({"replicas": 3, "readyReplicas": 3});
        assert_eq!(
            merge_diff(Some(&old), &json!({"replicas": 0})),
            json!({"replicas": 0, "readyReplicas": null})
        );
        let t = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
        let mut w = t.clone();
        assert!(keep_identity(&w, &t).is_ok());
        w["metadata"]["namespace"] = json!("kube-system");
        assert!(
            keep_identity(&w, &t)
                .unwrap_err()
                .contains("/metadata/namespace")
        );
    }

    #[test]
    fn replicas_only_replace_an_existing_field() {
        let t = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
        let m = manifest(&t, Some(2), &origin());
        assert!(m.get("spec").is_none());
    }

    #[test]
    fn subset_detects_drift_but_ignores_defaults() {
        let desired = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let live_defaulted = json!({"spec": {"replicas": 1, "strategy": {}, "template": {"spec": {
            "containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}]}}}});
        assert!(is_subset(&desired, &live_defaulted));
        let drifted = json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        assert!(!is_subset(&desired, &drifted));
        assert!(!is_subset(&desired, &json!({})));
    }
}
