//! Retain: the fields of a member object that the member owns, carried into the manifest
//! before it is compared with the live object and applied, so they are neither reported as
//! drift nor reverted (Karmada's built-in retention rules for native kinds).
//!
//! Labels, annotations, finalizers and owner references a member adds need no rule here: the
//! execution controller applies with server-side apply, which only touches the fields its
//! manifest sets, so whatever else the member adds stays (and a key the template sets wins, as
//! in Karmada).
//!
//! [`retain`] is a pure function of (kind, desired, observed); a customized interpreter can
//! take its place per kind.

use serde_json::{Map, Value, json};

/// Template label asking that a workload's `spec.replicas` be left as the member has it
/// (scaled there by an HPA or by hand). Only the value [`RETAIN_REPLICAS_VALUE`] counts.
pub const LABEL_RETAIN_REPLICAS: &str = "resourcetemplate.karmada.io/retain-replicas";
/// The value of [`LABEL_RETAIN_REPLICAS`] that turns retention on.
pub const RETAIN_REPLICAS_VALUE: &str = "true";

/// `desired` with the member-owned fields of `observed` (the live member object) kept.
/// `kind` is the manifest's kind; the API group is read from `desired`'s `apiVersion`, so a
/// custom resource that happens to share a built-in kind's name is left alone.
pub fn retain(kind: &str, desired: &Value, observed: &Value) -> Value {
    let mut out = desired.clone();
    let group = desired["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or_default();
    match (group, kind) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") => {
            retain_replicas(&mut out, observed)
        }
        ("", "Pod") => retain_pod(&mut out, observed),
        ("", "Service") => retain_service(&mut out, observed),
        ("", "ServiceAccount") => {
            for field in ["secrets", "imagePullSecrets"] {
                merge_named(&mut out, observed, field);
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(v) = non_empty_str(observed.pointer("/spec/volumeName")) {
                set(&mut out, &["spec", "volumeName"], json!(v));
            }
        }
        ("", "PersistentVolume") => {
            if let Some(v) = observed.pointer("/spec/claimRef").filter(|v| !v.is_null()) {
                set(&mut out, &["spec", "claimRef"], v.clone());
            }
        }
        ("batch", "Job") => {
            for path in [
                &["spec", "selector", "matchLabels"][..],
                &["spec", "template", "metadata", "labels"][..],
            ] {
                if let Some(v) = get(observed, path).filter(|v| v.is_object()) {
                    set(&mut out, path, v.clone());
                }
            }
        }
        ("", "Secret") if desired["type"] == "kubernetes.io/service-account-token" => {
            // The token the member's controller generated.
            if let Some(v) = observed.get("data").filter(|v| v.is_object()) {
                set(&mut out, &["data"], v.clone());
            }
        }
        _ => {}
    }
    out
}

/// `spec.replicas` as the member has it, when the template carries the retain label.
fn retain_replicas(out: &mut Value, observed: &Value) {
    let wanted = out
        .pointer("/metadata/labels")
        .and_then(|l| l.get(LABEL_RETAIN_REPLICAS))
        .and_then(Value::as_str)
        == Some(RETAIN_REPLICAS_VALUE);
    if let (true, Some(r)) = (
        wanted,
        observed.pointer("/spec/replicas").filter(|r| r.is_i64()),
    ) {
        set(out, &["spec", "replicas"], r.clone());
    }
}

/// What the member's scheduler and admission add to a Pod: the node, the service account
/// (and the token volume it mounts).
fn retain_pod(out: &mut Value, observed: &Value) {
    for field in ["nodeName", "serviceAccountName", "volumes"] {
        match observed.pointer(&format!("/spec/{field}")) {
            Some(v) if !v.is_null() => set(out, &["spec", field], v.clone()),
            _ => {
                if let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.remove(field);
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        let Some(live) = observed
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let Some(wanted) = out
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in wanted.iter_mut() {
            let same = live.iter().find(|l| l["name"] == c["name"]);
            if let (Some(l), Some(c)) = (same, c.as_object_mut()) {
                match l.get("volumeMounts") {
                    Some(m) if !m.is_null() => {
                        c.insert("volumeMounts".into(), m.clone());
                    }
                    _ => {
                        c.remove("volumeMounts");
                    }
                }
            }
        }
    }
}

/// The addresses and ports the member allocated: `clusterIP`, `clusterIPs`,
/// `healthCheckNodePort`, and each port's `nodePort` where the manifest asks for none.
fn retain_service(out: &mut Value, observed: &Value) {
    if let Some(ip) = non_empty_str(observed.pointer("/spec/clusterIP")) {
        set(out, &["spec", "clusterIP"], json!(ip));
        if out.pointer("/spec/clusterIPs").is_none()
            && let Some(ips) = observed
                .pointer("/spec/clusterIPs")
                .filter(|v| v.is_array())
        {
            set(out, &["spec", "clusterIPs"], ips.clone());
        }
    }
    if let Some(port) = observed
        .pointer("/spec/healthCheckNodePort")
        .and_then(Value::as_i64)
        .filter(|p| *p > 0)
    {
        set(out, &["spec", "healthCheckNodePort"], json!(port));
    }
    let Some(live) = observed.pointer("/spec/ports").and_then(Value::as_array) else {
        return;
    };
    let Some(ports) = out.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
        return;
    };
    let protocol = |p: &Value| p["protocol"].as_str().unwrap_or("TCP").to_string();
    for p in ports.iter_mut() {
        if p.get("nodePort").is_some_and(|n| !n.is_null()) {
            continue;
        }
        let allocated = live
            .iter()
            .find(|l| l["port"] == p["port"] && protocol(l) == protocol(p))
            .and_then(|l| l.get("nodePort"))
            .filter(|n| n.as_i64().is_some_and(|n| n > 0));
        if let (Some(n), Some(m)) = (allocated, p.as_object_mut()) {
            m.insert("nodePort".into(), n.clone());
        }
    }
}

/// A list of `{name: ...}` entries: the manifest's, then the member's it does not name.
fn merge_named(out: &mut Value, observed: &Value, field: &str) {
    let mut merged: Vec<Value> = out
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for entry in observed
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !merged.iter().any(|m| m["name"] == entry["name"]) {
            merged.push(entry.clone());
        }
    }
    if !merged.is_empty() {
        set(out, &[field], Value::Array(merged));
    }
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// Sets `path` in `v`, creating the objects on the way.
fn set(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = v;
    for k in parents {
        if !at.get(*k).is_some_and(Value::is_object) {
            if let Some(m) = at.as_object_mut() {
                m.insert((*k).to_string(), Value::Object(Map::new()));
            } else {
                return;
            }
        }
        at = at.get_mut(*k).expect("just inserted");
    }
    if let Some(m) = at.as_object_mut() {
        m.insert((*last).to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: i64, retain: Option<&str>) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas}});
        if let Some(v) = retain {
            d["metadata"]["labels"][LABEL_RETAIN_REPLICAS] = json!(v);
        }
        d
    }

    #[test]
    fn replicas_kept_only_with_the_label_set_to_true() {
        let live = deployment(7, None);
        let kept = retain("Deployment", &deployment(3, Some("true")), &live);
        assert_eq!(kept["spec"]["replicas"], 7);
        for label in [None, Some("false"), Some("yes")] {
            let out = retain("Deployment", &deployment(3, label), &live);
            assert_eq!(out["spec"]["replicas"], 3, "label {label:?}");
        }
        // A custom kind named Deployment is not ours to interpret.
        let mut custom = deployment(3, Some("true"));
        custom["apiVersion"] = json!("example.com/v1");
        assert_eq!(retain("Deployment", &custom, &live)["spec"]["replicas"], 3);
    }

    #[test]
    fn service_keeps_what_the_member_allocated() {
        let desired = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]}});
        let live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"type": "NodePort", "clusterIP": "10.1.2.3", "clusterIPs": ["10.1.2.3"],
                "healthCheckNodePort": 31000,
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31080},
                          {"port": 53, "protocol": "UDP", "nodePort": 31053}]}});
        let out = retain("Service", &desired, &live);
        assert_eq!(out["spec"]["clusterIP"], "10.1.2.3");
        assert_eq!(out["spec"]["clusterIPs"], json!(["10.1.2.3"]));
        assert_eq!(out["spec"]["healthCheckNodePort"], 31000);
        assert_eq!(out["spec"]["ports"][0]["nodePort"], 31080);
        // A nodePort the template asks for stays the template's.
        assert_eq!(out["spec"]["ports"][1]["nodePort"], 30053);
    }

    #[test]
    fn service_account_secrets_are_merged() {
        let desired = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "imagePullSecrets": [{"name": "pull"}]});
        let live = json!({"secrets": [{"name": "sa-token-x"}],
            "imagePullSecrets": [{"name": "member-pull"}, {"name": "pull"}]});
        let out = retain("ServiceAccount", &desired, &live);
        assert_eq!(out["secrets"], json!([{"name": "sa-token-x"}]));
        assert_eq!(
            out["imagePullSecrets"],
            json!([{"name": "pull"}, {"name": "member-pull"}])
        );
    }

    #[test]
    fn bound_and_generated_fields_are_kept() {
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "spec": {}});
        let out = retain(
            "PersistentVolumeClaim",
            &pvc,
            &json!({"spec": {"volumeName": "pv-1"}}),
        );
        assert_eq!(out["spec"]["volumeName"], "pv-1");

        let job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "spec": {"template": {"metadata": {"labels": {"app": "j"}}, "spec": {}}}});
        let live = json!({"spec": {"selector": {"matchLabels": {"controller-uid": "u1"}},
            "template": {"metadata": {"labels": {"app": "j", "controller-uid": "u1"}}}}});
        let out = retain("Job", &job, &live);
        assert_eq!(
            out["spec"]["selector"]["matchLabels"]["controller-uid"],
            "u1"
        );
        assert_eq!(
            out["spec"]["template"]["metadata"]["labels"]["controller-uid"],
            "u1"
        );
        assert_eq!(out["spec"]["template"]["spec"], json!({}));

        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let live = json!({"spec": {"nodeName": "node-1", "serviceAccountName": "default",
            "volumes": [{"name": "kube-api-access"}],
            "containers": [{"name": "c", "image": "nginx", "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run"}]}]}});
        let out = retain("Pod", &pod, &live);
        assert_eq!(out["spec"]["nodeName"], "node-1");
        assert_eq!(out["spec"]["volumes"][0]["name"], "kube-api-access");
        assert_eq!(
            out["spec"]["containers"][0]["volumeMounts"][0]["name"],
            "kube-api-access"
        );
        assert_eq!(out["spec"]["containers"][0]["image"], "nginx");

        let token = json!({"apiVersion": "v1", "kind": "Secret",
            "type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}});
        let out = retain("Secret", &token, &json!({"data": {"token": "abc"}}));
        assert_eq!(out["data"]["token"], "abc");
        let opaque = json!({"apiVersion": "v1", "kind": "Secret", "data": {"k": "v"}});
        assert_eq!(
            retain("Secret", &opaque, &json!({"data": {"k": "other"}})),
            opaque
        );
    }

    #[test]
    fn other_kinds_are_left_as_desired() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        assert_eq!(
            retain("ConfigMap", &cm, &json!({"data": {"a": "2", "b": "3"}})),
            cm
        );
    }
}
