//! What a workload depends on: the ConfigMaps, Secrets, ServiceAccount and
//! PersistentVolumeClaims its pod spec references (Karmada's built-in "InterpretDependency").

use std::collections::BTreeSet;

use serde_json::Value;

/// Kinds whose pod template we read dependencies from.
const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
];

/// Whether dependencies of `kind` are read from a pod template.
pub fn has_pod_template(kind: &str) -> bool {
    WORKLOADS.contains(&kind)
}

/// (kind, name) of everything the workload's pod spec references in its own namespace.
pub fn dependencies(kind: &str, template: &Value) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    if !WORKLOADS.contains(&kind) {
        return out;
    }
    let pod = match kind {
        "Pod" => template.get("spec"),
        "CronJob" => template.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => template.pointer("/spec/template/spec"),
    };
    let Some(pod) = pod else { return out };
    let mut add = |kind: &'static str, name: Option<&str>| {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            out.insert((kind, n.to_string()));
        }
    };
    for v in pod["volumes"].as_array().into_iter().flatten() {
        add(
            "ConfigMap",
            v.pointer("/configMap/name").and_then(Value::as_str),
        );
        add(
            "Secret",
            v.pointer("/secret/secretName").and_then(Value::as_str),
        );
        add(
            "PersistentVolumeClaim",
            v.pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str),
        );
        for s in v
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(
                "ConfigMap",
                s.pointer("/configMap/name").and_then(Value::as_str),
            );
            add("Secret", s.pointer("/secret/name").and_then(Value::as_str));
        }
    }
    let containers = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .flat_map(|f| pod[*f].as_array().into_iter().flatten());
    for c in containers {
        for e in c["env"].as_array().into_iter().flatten() {
            add(
                "ConfigMap",
                e.pointer("/valueFrom/configMapKeyRef/name")
                    .and_then(Value::as_str),
            );
            add(
                "Secret",
                e.pointer("/valueFrom/secretKeyRef/name")
                    .and_then(Value::as_str),
            );
        }
        for e in c["envFrom"].as_array().into_iter().flatten() {
            add(
                "ConfigMap",
                e.pointer("/configMapRef/name").and_then(Value::as_str),
            );
            add(
                "Secret",
                e.pointer("/secretRef/name").and_then(Value::as_str),
            );
        }
    }
    for s in pod["imagePullSecrets"].as_array().into_iter().flatten() {
        add("Secret", s["name"].as_str());
    }
    let sa = pod["serviceAccountName"]
        .as_str()
        .filter(|s| *s != "default");
    add("ServiceAccount", sa);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_every_kind_of_reference() {
        let d = json!({"spec": {"template": {"spec": {
            "serviceAccountName": "web",
            "imagePullSecrets": [{"name": "pull"}],
            "volumes": [{"name": "a", "configMap": {"name": "cm-vol"}}, {"name": "b", "secret": {"secretName": "s-vol"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "d", "projected": {"sources": [{"configMap": {"name": "cm-proj"}}]}}],
            "containers": [{"name": "x", "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}}],
                "envFrom": [{"secretRef": {"name": "s-envfrom"}}]}]}}}});
        let deps: Vec<String> = dependencies("Deployment", &d)
            .into_iter()
            .map(|(k, n)| format!("{k}/{n}"))
            .collect();
        assert_eq!(
            deps,
            vec![
                "ConfigMap/cm-env",
                "ConfigMap/cm-proj",
                "ConfigMap/cm-vol",
                "PersistentVolumeClaim/data",
                "Secret/pull",
                "Secret/s-envfrom",
                "Secret/s-vol",
                "ServiceAccount/web",
            ]
        );
        assert!(dependencies("ConfigMap", &d).is_empty());
        let default_sa = json!({"spec": {"template": {"spec": {"serviceAccountName": "default", "containers": []}}}});
        assert!(dependencies("Deployment", &default_sa).is_empty());
    }
}
