//! Whose a member object is, and so what applying or deleting a Work may do to it.
//!
//! A member object is this Work's when it carries `karmada.io/managed=true` and its
//! `work.karmada.io/namespace` and `work.karmada.io/name` annotations name this very Work. Any
//! other object is not ours: one without the label is someone else's, one with the label but
//! other work annotations belongs to another Work (another control plane, or another Cluster
//! entry for the same member). Either is a conflict unless the policy says
//! `conflictResolution: Overwrite`; then it is taken over, like Karmada does.
//!
//! An object that existed before we applied it (taken over, or a namespace that was already in
//! the member) is marked adopted (`work.karmada.io/adopted: "true"`). When its Work goes it is
//! released, its Karmada marks removed, never deleted: only what we created is ever deleted.

use serde_json::{Map, Value, json};

use crate::api as keys;

/// Who owns a live member object, seen from one Work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Applied by this Work.
    ThisWork,
    /// Not managed by Karmada.
    Unmanaged,
    /// Managed by Karmada for another Work, `namespace/name` (empty parts when unknown).
    OtherWork(String),
}

/// What applying a manifest may do to the live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnApply {
    /// Ours and already as desired: no write.
    UpToDate,
    /// Apply; `adopt`: the object was there before we applied it, record that on it.
    Apply { adopt: bool },
    /// Not ours to change: leave it alone; the message says whose it is and how to take it.
    Conflict(String),
}

/// What deleting a Work may do to the live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDelete {
    /// We created it: delete it.
    Delete,
    /// We adopted it: remove our marks ([`release_patch`]), keep the object.
    Release,
    /// Not ours: leave it alone.
    Keep,
}

fn meta_str<'a>(obj: &'a Value, field: &str, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.get(key)?.as_str()
}

/// Who owns `live`, for the Work that renders `manifest` (its work annotations name the Work).
pub fn owner(live: &Value, manifest: &Value) -> Owner {
    if meta_str(live, "labels", keys::LABEL_MANAGED) != Some("true") {
        return Owner::Unmanaged;
    }
    let work = |obj| {
        (
            meta_str(obj, "annotations", keys::ANNOTATION_WORK_NAMESPACE),
            meta_str(obj, "annotations", keys::ANNOTATION_WORK_NAME),
        )
    };
    let (live_ns, live_name) = work(live);
    if live_ns.is_some() && live_name.is_some() && work(live) == work(manifest) {
        return Owner::ThisWork;
    }
    Owner::OtherWork(format!(
        "{}/{}",
        live_ns.unwrap_or_default(),
        live_name.unwrap_or_default()
    ))
}

/// Whether `live` carries the adopted mark.
pub fn is_adopted(live: &Value) -> bool {
    meta_str(live, "annotations", keys::ANNOTATION_ADOPTED) == Some("true")
}

/// `manifest` with the adopted mark.
pub fn adopted(manifest: &Value) -> Value {
    let mut m = manifest.clone();
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(keys::ANNOTATION_ADOPTED.into(), json!("true"));
        }
    }
    m
}

/// `Kind namespace/name` (`Kind name` when cluster-scoped), for messages and Events.
pub fn describe(manifest: &Value) -> String {
    let kind = manifest["kind"].as_str().unwrap_or("object");
    let name = manifest.pointer("/metadata/name").and_then(Value::as_str);
    match manifest
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(ns) => format!("{kind} {ns}/{}", name.unwrap_or("?")),
        None => format!("{kind} {}", name.unwrap_or("?")),
    }
}

/// Whether the Work rendering `manifest` may apply it over `live` (None: absent).
pub fn on_apply(live: Option<&Value>, manifest: &Value, overwrite: bool, cluster: &str) -> OnApply {
    let Some(live) = live else {
        return OnApply::Apply { adopt: false };
    };
    let what = describe(manifest);
    match owner(live, manifest) {
        Owner::ThisWork => {
            let adopt = is_adopted(live);
            let desired = if adopt {
                adopted(manifest)
            } else {
                manifest.clone()
            };
            if super::render::is_subset(&desired, live) {
                OnApply::UpToDate
            } else {
                OnApply::Apply { adopt }
            }
        }
        _ if overwrite => OnApply::Apply { adopt: true },
        Owner::Unmanaged => OnApply::Conflict(format!(
            "{what} already exists in cluster {cluster} and is not managed by Karmada; \
             set conflictResolution: Overwrite in the policy to take it over"
        )),
        Owner::OtherWork(other) => OnApply::Conflict(format!(
            "{what} in cluster {cluster} is managed by another Work ({other}): another control \
             plane, or another Cluster entry for the same member, propagates it; \
             set conflictResolution: Overwrite in the policy to take it over"
        )),
    }
}

/// What the Work rendering `manifest` may do to `live` when it is deleted.
pub fn on_delete(live: &Value, manifest: &Value) -> OnDelete {
    match owner(live, manifest) {
        Owner::ThisWork if is_adopted(live) => OnDelete::Release,
        Owner::ThisWork => OnDelete::Delete,
        _ => OnDelete::Keep,
    }
}

/// A JSON merge patch that removes every Karmada mark from an adopted object, guarded by its
/// `resource_version` (a change meanwhile fails the patch instead of stripping another owner).
pub fn release_patch(resource_version: Option<&str>) -> Value {
    let mut annotations = Map::new();
    for key in [
        keys::ANNOTATION_WORK_NAME,
        keys::ANNOTATION_WORK_NAMESPACE,
        keys::ANNOTATION_RESOURCE_TEMPLATE_UID,
        keys::ANNOTATION_RESOURCE_TEMPLATE_GENERATION,
        keys::ANNOTATION_ADOPTED,
        keys::ANNOTATION_CONFLICT_RESOLUTION,
        keys::ANNOTATION_RESOURCE_BINDING_NAME,
        keys::ANNOTATION_RESOURCE_BINDING_NAMESPACE,
        keys::ANNOTATION_CLUSTER_RESOURCE_BINDING_NAME,
        keys::ANNOTATION_PROPAGATION_POLICY_NAME,
        keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE,
        keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME,
    ] {
        annotations.insert(key.into(), Value::Null);
    }
    let mut labels = Map::new();
    for key in [
        keys::LABEL_MANAGED,
        keys::LABEL_RESOURCE_BINDING_PERMANENT_ID,
        keys::LABEL_CLUSTER_RESOURCE_BINDING_PERMANENT_ID,
        keys::LABEL_WORK_PERMANENT_ID,
        keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID,
        keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID,
    ] {
        labels.insert(key.into(), Value::Null);
    }
    json!({"metadata": {
        "resourceVersion": resource_version,
        "labels": labels,
        "annotations": annotations,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(work_ns: &str, work: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default",
                "labels": {"karmada.io/managed": "true"},
                "annotations": {"work.karmada.io/namespace": work_ns, "work.karmada.io/name": work}},
            "data": {"k": "v"}})
    }

    fn theirs() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "resourceVersion": "7"}, "data": {"k": "old"}})
    }

    #[test]
    fn owner_is_this_work_only_when_both_work_annotations_match() {
        let mine = manifest("karmada-es-a", "c-1");
        assert_eq!(owner(&mine, &mine), Owner::ThisWork);
        assert_eq!(owner(&theirs(), &mine), Owner::Unmanaged);
        assert_eq!(
            owner(&manifest("karmada-es-b", "c-1"), &mine),
            Owner::OtherWork("karmada-es-b/c-1".into())
        );
        let mut unnamed = mine.clone();
        unnamed["metadata"]["annotations"] = json!({});
        assert_eq!(owner(&unnamed, &unnamed), Owner::OtherWork("/".into()));
    }

    #[test]
    fn apply_refuses_what_is_not_ours_unless_overwrite_and_then_adopts() {
        let mine = manifest("karmada-es-a", "c-1");
        assert_eq!(
            on_apply(None, &mine, false, "a"),
            OnApply::Apply { adopt: false }
        );
        assert_eq!(on_apply(Some(&mine), &mine, false, "a"), OnApply::UpToDate);
        let OnApply::Conflict(m) = on_apply(Some(&theirs()), &mine, false, "a") else {
            panic!("unmanaged is a conflict");
        };
        assert!(m.contains("ConfigMap default/c") && m.contains("not managed by Karmada"));
        let other = manifest("karmada-es-b", "c-1");
        let OnApply::Conflict(m) = on_apply(Some(&other), &mine, false, "a") else {
            panic!("another Work's object is a conflict");
        };
        assert!(m.contains("karmada-es-b/c-1") && m.contains("conflictResolution: Overwrite"));
        for live in [theirs(), other] {
            assert_eq!(
                on_apply(Some(&live), &mine, true, "a"),
                OnApply::Apply { adopt: true }
            );
        }
    }

    #[test]
    fn an_adopted_object_stays_adopted_and_is_released_not_deleted() {
        let mine = manifest("karmada-es-a", "c-1");
        let live = adopted(&mine);
        assert!(is_adopted(&live));
        assert_eq!(on_apply(Some(&live), &mine, false, "a"), OnApply::UpToDate);
        let mut drifted = live.clone();
        drifted["data"]["k"] = json!("changed");
        assert_eq!(
            on_apply(Some(&drifted), &mine, false, "a"),
            OnApply::Apply { adopt: true }
        );
        assert_eq!(on_delete(&live, &mine), OnDelete::Release);
        assert_eq!(on_delete(&mine, &mine), OnDelete::Delete);
        assert_eq!(on_delete(&theirs(), &mine), OnDelete::Keep);
        assert_eq!(
            on_delete(&manifest("karmada-es-b", "c-1"), &mine),
            OnDelete::Keep
        );
    }

    #[test]
    fn release_removes_every_mark_guarded_by_resource_version() {
        let p = release_patch(Some("7"));
        assert_eq!(p["metadata"]["resourceVersion"], "7");
        assert!(p["metadata"]["labels"]["karmada.io/managed"].is_null());
        for k in [
            "work.karmada.io/name",
            "work.karmada.io/namespace",
            "work.karmada.io/adopted",
            "resourcetemplate.karmada.io/uid",
        ] {
            let a = p["metadata"]["annotations"].as_object().unwrap();
            assert!(a.contains_key(k) && a[k].is_null(), "{k}");
        }
        assert_eq!(
            describe(&json!({"kind": "Namespace", "metadata": {"name": "shop"}})),
            "Namespace shop"
        );
    }
}
