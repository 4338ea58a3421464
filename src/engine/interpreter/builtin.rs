//! Built-in interpretation of the Kubernetes kinds Karmada's default interpreter knows:
//! replicas (Deployment, ReplicaSet, StatefulSet, Job, Pod), replica revision, status
//! aggregation ([`crate::engine::status`]), health ([`crate::engine::health`]) and
//! dependencies ([`crate::engine::dependencies`], plus an Ingress' TLS Secrets).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Value, json};

use super::DependentObjectReference;
use crate::api::work::{NodeClaim, ReplicaRequirements};
use crate::engine::quantity::{format_quantity, parse_quantity};

/// The kind of `obj` when it is one of the built-in kinds (group and kind both match): a CRD
/// that happens to be called `Deployment` in another group is not.
pub fn native_kind(obj: &Value) -> Option<&'static str> {
    let api_version = obj.get("apiVersion")?.as_str()?;
    let kind = obj.get("kind")?.as_str()?;
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    const KINDS: &[(&str, &str)] = &[
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("", "Pod"),
        ("", "Service"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("networking.k8s.io", "Ingress"),
        ("policy", "PodDisruptionBudget"),
        ("autoscaling", "HorizontalPodAutoscaler"),
    ];
    KINDS
        .iter()
        .find(|(g, k)| *g == group && *k == kind)
        .map(|(_, k)| *k)
}

/// Replicas and per-replica requirements of the built-in workloads.
pub fn replicas(obj: &Value) -> Option<(i32, Option<ReplicaRequirements>)> {
    let int = |p: &str| obj.pointer(p).and_then(Value::as_i64).map(|v| v as i32);
    let template = || {
        obj.pointer("/spec/template/spec")
            .and_then(pod_requirements)
    };
    match native_kind(obj)? {
        "Deployment" | "ReplicaSet" | "StatefulSet" => {
            Some((int("/spec/replicas").unwrap_or(0), template()))
        }
        "Job" => {
            let parallelism = int("/spec/parallelism").unwrap_or(0);
            let completions = int("/spec/completions").unwrap_or(parallelism);
            Some((parallelism.min(completions), template()))
        }
        "Pod" => Some((1, obj.get("spec").and_then(pod_requirements))),
        _ => None,
    }
}

/// The object with `replicas` as its replica count (parallelism for a Job).
pub fn revise_replica(obj: &Value, replicas: i64) -> Option<Value> {
    let field = match native_kind(obj)? {
        "Deployment" | "ReplicaSet" | "StatefulSet" => "replicas",
        "Job" => "parallelism",
        _ => return None,
    };
    let mut out = obj.clone();
    let spec = out
        .as_object_mut()?
        .entry("spec")
        .or_insert_with(|| json!({}));
    spec.as_object_mut()?.insert(field.into(), json!(replicas));
    Some(out)
}

/// What one pod of this spec needs: its containers' requests summed (init containers by their
/// largest), and its node constraints. `None` when it asks for nothing.
pub fn pod_requirements(pod: &Value) -> Option<ReplicaRequirements> {
    let mut total: BTreeMap<String, f64> = BTreeMap::new();
    let requests = |c: &Value| -> Vec<(String, f64)> {
        c.pointer("/resources/requests")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().map(parse_quantity).unwrap_or(0.0)))
            .collect()
    };
    for c in pod["containers"].as_array().into_iter().flatten() {
        for (k, q) in requests(c) {
            *total.entry(k).or_default() += q;
        }
    }
    for c in pod["initContainers"].as_array().into_iter().flatten() {
        for (k, q) in requests(c) {
            let e = total.entry(k).or_default();
            *e = e.max(q);
        }
    }
    let node_selector: BTreeMap<String, String> = pod
        .get("nodeSelector")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let tolerations = pod
        .get("tolerations")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let hard_node_affinity = pod
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let claim = NodeClaim {
        hard_node_affinity,
        node_selector,
        tolerations,
    };
    let node_claim = (claim != NodeClaim::default()).then_some(claim);
    if total.is_empty() && node_claim.is_none() {
        return None;
    }
    Some(ReplicaRequirements {
        node_claim,
        resource_request: total
            .into_iter()
            .map(|(k, v)| (k, Quantity(format_quantity(v))))
            .collect(),
        ..Default::default()
    })
}

/// The ConfigMaps, Secrets, ServiceAccount and PVCs a pod spec references, in `namespace`.
pub fn pod_dependencies(pod: &Value, namespace: &str) -> Vec<DependentObjectReference> {
    crate::engine::dependencies::dependencies("Pod", &json!({"spec": pod}))
        .into_iter()
        .map(|(kind, name)| DependentObjectReference::core(kind, namespace, &name))
        .collect()
}

/// Dependencies of the built-in kinds.
pub fn dependencies(obj: &Value) -> Option<Vec<DependentObjectReference>> {
    let kind = native_kind(obj)?;
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "Ingress" {
        let mut out: Vec<DependentObjectReference> = Vec::new();
        for tls in obj
            .pointer("/spec/tls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = tls["secretName"].as_str().filter(|n| !n.is_empty()) {
                let r = DependentObjectReference::core("Secret", ns, name);
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        return Some(out);
    }
    let mut refs: Vec<DependentObjectReference> =
        crate::engine::dependencies::dependencies(kind, obj)
            .into_iter()
            .map(|(k, name)| DependentObjectReference::core(k, ns, &name))
            .collect();
    if kind == "StatefulSet" {
        // Claims made from volumeClaimTemplates are the StatefulSet's own, per pod.
        let own: Vec<&str> = obj
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str))
            .collect();
        refs.retain(|r| !(r.kind == "PersistentVolumeClaim" && own.contains(&r.name.as_str())));
    }
    (!refs.is_empty() || crate::engine::dependencies::has_pod_template(kind)).then_some(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_of_builtin_kinds_only() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3,
            "template": {"spec": {"containers": [{"resources": {"requests": {"cpu": "250m"}}}]}}}});
        let (n, req) = replicas(&d).unwrap();
        assert_eq!(n, 3);
        assert_eq!(req.unwrap().resource_request["cpu"].0, "250m");
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 4, "completions": 2}});
        assert_eq!(replicas(&job).unwrap().0, 2);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {}});
        assert_eq!(replicas(&pod).unwrap().0, 1);
        let crd =
            json!({"apiVersion": "example.io/v1", "kind": "Deployment", "spec": {"replicas": 3}});
        assert!(replicas(&crd).is_none());
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert!(replicas(&cm).is_none());
        assert_eq!(
            revise_replica(&job, 1).unwrap()["spec"]["parallelism"],
            json!(1)
        );
        assert_eq!(revise_replica(&d, 1).unwrap()["spec"]["replicas"], json!(1));
        assert!(revise_replica(&crd, 1).is_none());
    }

    #[test]
    fn ingress_tls_secrets_and_statefulset_claims() {
        let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"namespace": "web"},
            "spec": {"tls": [{"secretName": "cert"}, {"secretName": "cert"}, {"hosts": ["a"]}]}});
        assert_eq!(
            dependencies(&ing).unwrap(),
            vec![DependentObjectReference::core("Secret", "web", "cert")]
        );
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"namespace": "db"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}],
                "template": {"spec": {"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "s", "persistentVolumeClaim": {"claimName": "shared"}}]}}}});
        let deps = dependencies(&sts).unwrap();
        assert_eq!(
            deps,
            vec![DependentObjectReference::core(
                "PersistentVolumeClaim",
                "db",
                "shared"
            )]
        );
    }
}
