//! Health interpretation: whether a member object is healthy, from the manifest sent and the
//! status the member reports (Karmada's "InterpretHealth" for the kinds it knows).

use serde_json::Value;

use crate::api::work::ResourceHealth;

/// Health of a member object from the manifest sent and its reflected status (a LoadBalancer
/// Service is healthy once it has an ingress; other kinds go by [`health`]).
pub fn manifest_health(manifest: &Value, status: Option<&Value>) -> ResourceHealth {
    let kind = manifest
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "Service" {
        let lb = manifest.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
        let ingress = status
            .and_then(|s| s.pointer("/loadBalancer/ingress"))
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        return if !lb || ingress {
            ResourceHealth::Healthy
        } else {
            ResourceHealth::Unhealthy
        };
    }
    let replicas = manifest.pointer("/spec/replicas").and_then(Value::as_i64);
    health(kind, replicas, status)
}

/// Health of a member object from its reflected status (kind `""`: only the generic reading
/// of conditions and generations).
pub fn health(kind: &str, spec_replicas: Option<i64>, status: Option<&Value>) -> ResourceHealth {
    let Some(s) = status else {
        return ResourceHealth::Healthy;
    };
    let num = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
    match kind {
        "Deployment" | "StatefulSet" => {
            let want = spec_replicas.unwrap_or(1);
            let caught_up = s.get("observedGeneration").and_then(Value::as_i64)
                >= s.get("generation").and_then(Value::as_i64);
            if caught_up
                && num("updatedReplicas") >= want
                && num(if kind == "Deployment" {
                    "availableReplicas"
                } else {
                    "readyReplicas"
                }) >= want
            {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        "DaemonSet" => {
            let caught_up = s.get("observedGeneration").and_then(Value::as_i64)
                >= s.get("generation").and_then(Value::as_i64);
            let want = num("desiredNumberScheduled");
            if caught_up && num("updatedNumberScheduled") >= want && num("numberAvailable") >= want
            {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        "Job" => {
            if has_condition(s, "Failed", "True")
                || (num("failed") > 0 && s.get("succeeded").is_none())
            {
                ResourceHealth::Unhealthy
            } else {
                ResourceHealth::Healthy
            }
        }
        "ReplicaSet" => {
            let caught_up = s.get("observedGeneration").and_then(Value::as_i64)
                >= s.get("generation").and_then(Value::as_i64);
            if caught_up && num("availableReplicas") >= spec_replicas.unwrap_or(1) {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        // An Ingress is healthy once a load balancer serves it.
        "Ingress" => {
            let served = s
                .pointer("/loadBalancer/ingress")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter().any(|i| {
                        ["ip", "hostname"]
                            .iter()
                            .any(|k| i[*k].as_str().is_some_and(|v| !v.is_empty()))
                    })
                });
            if served {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        "Pod" => {
            let phase = s.get("phase").and_then(Value::as_str);
            if phase == Some("Succeeded")
                || (phase == Some("Running") && has_condition(s, "Ready", "True"))
            {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        "PodDisruptionBudget" => {
            if num("currentHealthy") >= num("desiredHealthy") {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }
        }
        "PersistentVolumeClaim" => match s.get("phase").and_then(Value::as_str) {
            Some("Bound") => ResourceHealth::Healthy,
            Some(_) => ResourceHealth::Unhealthy,
            None => ResourceHealth::Unknown,
        },
        // Any other kind: unhealthy when it reports a Ready, Available or Healthy condition
        // that is False, or has not observed its latest generation.
        _ => {
            let behind = matches!(
                (s.get("observedGeneration").and_then(Value::as_i64), s.get("generation").and_then(Value::as_i64)),
                (Some(o), Some(g)) if o < g
            );
            let failing = ["Ready", "Available", "Healthy"]
                .iter()
                .any(|t| has_condition(s, t, "False"));
            if behind || failing {
                ResourceHealth::Unhealthy
            } else {
                ResourceHealth::Healthy
            }
        }
    }
}

pub(crate) fn has_condition(status: &Value, type_: &str, value: &str) -> bool {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == type_ && c["status"] == value)
        })
}
