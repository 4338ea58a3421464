//! Status interpretation: what the execution controller records of a member object, how
//! healthy it is, and how per-cluster statuses add up on the template (Karmada's "reflect" and
//! "aggregate" steps for the kinds it knows).

use serde_json::{Map, Value, json};

use crate::api as keys;
use crate::api::work::{AggregatedStatusItem, ResourceHealth};

/// The part of a member object kept in Work status: its `.status`, plus `generation` and
/// `resourceTemplateGeneration` so the aggregate can tell whether every member caught up.
pub fn reflect(live: &Value) -> Option<Value> {
    let status = live.get("status").cloned();
    let generation = live.pointer("/metadata/generation").cloned();
    let template_generation = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(keys::ANNOTATION_RESOURCE_TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<i64>().ok());
    let mut out = match status {
        Some(Value::Object(m)) => m,
        _ if generation.is_none() => return None,
        _ => Map::new(),
    };
    if let Some(g) = generation {
        out.insert("generation".into(), g);
    }
    if let Some(g) = template_generation {
        out.insert("resourceTemplateGeneration".into(), json!(g));
    }
    Some(Value::Object(out))
}

/// Health of a member object from its reflected status.
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
        "Job" => {
            if num("failed") > 0 && s.get("succeeded").is_none() {
                ResourceHealth::Unhealthy
            } else {
                ResourceHealth::Healthy
            }
        }
        _ => ResourceHealth::Healthy,
    }
}

/// The template status that sums the members' statuses, for kinds that have one; `None`
/// leaves the template's status alone.
pub fn aggregate(
    kind: &str,
    template_generation: i64,
    current: Option<&Value>,
    items: &[AggregatedStatusItem],
) -> Option<Value> {
    const DEPLOYMENT_FIELDS: &[&str] = &[
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    ];
    const STATEFULSET_FIELDS: &[&str] = &[
        "replicas",
        "readyReplicas",
        "currentReplicas",
        "updatedReplicas",
        "availableReplicas",
    ];
    let fields = match kind {
        "Deployment" => DEPLOYMENT_FIELDS,
        "StatefulSet" => STATEFULSET_FIELDS,
        _ => return None,
    };
    let mut out = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for f in fields {
        let sum: i64 = items
            .iter()
            .filter_map(|i| i.status.as_ref()?.get(*f)?.as_i64())
            .sum();
        if sum == 0 {
            out.remove(*f);
        } else {
            out.insert((*f).into(), json!(sum));
        }
    }
    // observedGeneration moves only when every member has seen the current template.
    let all_caught_up = !items.is_empty()
        && items.iter().all(|i| {
            let Some(s) = i.status.as_ref() else {
                return false;
            };
            s.get("observedGeneration").and_then(Value::as_i64)
                == s.get("generation").and_then(Value::as_i64)
                && s.get("resourceTemplateGeneration").and_then(Value::as_i64)
                    == Some(template_generation)
        });
    if all_caught_up {
        out.insert("observedGeneration".into(), json!(template_generation));
    }
    if kind == "Deployment" {
        let unavailable: Vec<&str> = items
            .iter()
            .filter(|i| i.health != Some(ResourceHealth::Healthy))
            .map(|i| i.cluster_name.as_str())
            .collect();
        let (status, reason, message) = if unavailable.is_empty() && !items.is_empty() {
            (
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability in every member cluster.".to_string(),
            )
        } else {
            let message = if items.is_empty() {
                "not applied to any member cluster yet".to_string()
            } else {
                format!("not yet available in: {}", unavailable.join(", "))
            };
            ("False", "MinimumReplicasUnavailable", message)
        };
        let old = out
            .get("conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Available").cloned());
        let transition = match &old {
            Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
            _ => json!(
                k8s_openapi::jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            ),
        };
        let cond = json!({"type": "Available", "status": status, "reason": reason, "message": message,
            "lastUpdateTime": old.as_ref().filter(|c| c["status"] == status && c["message"] == message.as_str()).map(|c| c["lastUpdateTime"].clone()).unwrap_or_else(|| transition.clone()),
            "lastTransitionTime": transition});
        out.insert("conditions".into(), json!([cond]));
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(cluster: &str, status: Value, healthy: bool) -> AggregatedStatusItem {
        AggregatedStatusItem {
            cluster_name: cluster.into(),
            status: Some(status),
            applied: true,
            health: Some(if healthy {
                ResourceHealth::Healthy
            } else {
                ResourceHealth::Unhealthy
            }),
            ..Default::default()
        }
    }

    #[test]
    fn deployment_status_sums_members() {
        let items = vec![
            item(
                "m1",
                json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1, "observedGeneration": 2, "generation": 2, "resourceTemplateGeneration": 5}),
                true,
            ),
            item(
                "m2",
                json!({"replicas": 2, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 2, "observedGeneration": 1, "generation": 1, "resourceTemplateGeneration": 5}),
                false,
            ),
        ];
        let s = aggregate("Deployment", 5, None, &items).unwrap();
        assert_eq!(s["replicas"], 3);
        assert_eq!(s["readyReplicas"], 2);
        assert_eq!(s["observedGeneration"], 5);
        assert_eq!(s["conditions"][0]["status"], "False");
        assert!(
            s["conditions"][0]["message"]
                .as_str()
                .unwrap()
                .contains("m2")
        );
    }

    #[test]
    fn observed_generation_waits_for_every_member() {
        let items = vec![item(
            "m1",
            json!({"observedGeneration": 1, "generation": 2, "resourceTemplateGeneration": 5}),
            true,
        )];
        let s = aggregate(
            "Deployment",
            5,
            Some(&json!({"observedGeneration": 4})),
            &items,
        )
        .unwrap();
        assert_eq!(s["observedGeneration"], 4);
    }

    #[test]
    fn reflect_keeps_generations() {
        let live = json!({"metadata": {"generation": 3, "annotations": {"resourcetemplate.karmada.io/generation": "7"}}, "status": {"readyReplicas": 1}});
        let r = reflect(&live).unwrap();
        assert_eq!(
            r,
            json!({"readyReplicas": 1, "generation": 3, "resourceTemplateGeneration": 7})
        );
        assert!(reflect(&json!({"metadata": {}})).is_none());
    }
}
