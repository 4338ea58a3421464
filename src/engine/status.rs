//! Status interpretation: what the execution controller records of a member object and how
//! per-cluster statuses add up on the template (Karmada's "reflect" and "aggregate" steps for
//! the kinds it knows). Health is in [`super::health`].

use serde_json::{Map, Value, json};

use crate::api as keys;
use crate::api::work::{AggregatedStatusItem, ResourceHealth};

use super::health::has_condition;

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

/// A member's report with its status parsed, what the sums below read.
struct Reported {
    cluster_name: String,
    status: Option<Value>,
    health: Option<ResourceHealth>,
}

impl From<&AggregatedStatusItem> for Reported {
    fn from(i: &AggregatedStatusItem) -> Self {
        Reported {
            cluster_name: i.cluster_name.clone(),
            status: i.status.as_ref().map(|s| s.value()),
            health: i.health,
        }
    }
}

/// The Job status summed over members: counts add up; Complete when every member completed,
/// Failed when any failed; startTime the earliest, completionTime the latest once all are done.
fn aggregate_job(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let statuses: Vec<&Value> = items.iter().filter_map(|i| i.status.as_ref()).collect();
    for f in ["active", "succeeded", "failed", "ready", "terminating"] {
        let sum: i64 = statuses.iter().filter_map(|s| s.get(f)?.as_i64()).sum();
        if sum == 0 {
            out.remove(f);
        } else {
            out.insert(f.into(), json!(sum));
        }
    }
    let times = |f: &str| -> Vec<String> {
        statuses
            .iter()
            .filter_map(|s| s.get(f)?.as_str().map(str::to_string))
            .collect()
    };
    if let Some(t) = times("startTime").into_iter().min() {
        out.insert("startTime".into(), json!(t));
    }
    // The API server accepts a terminal condition only on a finished Job (no active or
    // terminating pods) and only after its precondition (SuccessCriteriaMet for Complete,
    // FailureTarget for Failed), as the Job controller writes them.
    let finished = !items.is_empty()
        && items.len() == statuses.len()
        && statuses.iter().all(|s| {
            (has_condition(s, "Complete", "True") || has_condition(s, "Failed", "True"))
                && ["active", "terminating"]
                    .iter()
                    .all(|f| s.get(*f).and_then(Value::as_i64).unwrap_or(0) == 0)
        });
    let complete = finished
        && statuses
            .iter()
            .all(|s| has_condition(s, "Complete", "True"));
    let failed: Vec<&str> = items
        .iter()
        .filter(|i| {
            i.status
                .as_ref()
                .is_some_and(|s| has_condition(s, "Failed", "True"))
        })
        .map(|i| i.cluster_name.as_str())
        .collect();
    let now = || {
        json!(
            k8s_openapi::jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        )
    };
    let previous = out.get("conditions").cloned();
    let old = |t: &str| {
        previous
            .as_ref()
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == t && c["status"] == "True"))
            .cloned()
    };
    let condition = |t: &str, reason: &str, message: &str| {
        old(t)
            .filter(|c| c["message"] == message)
            .unwrap_or_else(|| {
                json!({"type": t, "status": "True", "reason": reason, "message": message,
                    "lastProbeTime": now(), "lastTransitionTime": now()})
            })
    };
    let mut conditions = Vec::new();
    if complete {
        if let Some(t) = times("completionTime").into_iter().max() {
            out.insert("completionTime".into(), json!(t));
        }
        let message = "Job completed in every member cluster";
        conditions.push(condition(
            "SuccessCriteriaMet",
            "CompletionsReached",
            message,
        ));
        conditions.push(condition("Complete", "Completed", message));
    } else {
        out.remove("completionTime");
        if finished && !failed.is_empty() {
            let message = format!("Job failed in: {}", failed.join(", "));
            conditions.push(condition("FailureTarget", "JobFailed", &message));
            conditions.push(condition("Failed", "JobFailed", &message));
        }
    }
    if conditions.is_empty() {
        out.remove("conditions");
    } else {
        out.insert("conditions".into(), Value::Array(conditions));
    }
    Value::Object(out)
}

/// The template's current status fields, the base every aggregation writes over.
fn current_fields(current: Option<&Value>) -> serde_json::Map<String, Value> {
    current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Each member copy's `status.phase` (a copy that reported nothing counts as Pending).
fn phases(items: &[Reported]) -> Vec<&str> {
    items
        .iter()
        .map(|i| {
            i.status
                .as_ref()
                .and_then(|s| s.get("phase")?.as_str())
                .unwrap_or("Pending")
        })
        .collect()
}

/// Every member's `status.loadBalancer.ingress` entries, deduplicated, in cluster order.
fn load_balancer_ingress(items: &[Reported]) -> Vec<Value> {
    let mut ingress: Vec<Value> = Vec::new();
    for i in items {
        for ing in i
            .status
            .as_ref()
            .and_then(|s| s.pointer("/loadBalancer/ingress"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !ingress.contains(ing) {
                ingress.push(ing.clone());
            }
        }
    }
    ingress
}

/// A Service's status: every member's LoadBalancer ingress, deduplicated, in cluster order.
fn aggregate_service(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let ingress = load_balancer_ingress(items);
    if ingress.is_empty() {
        out.insert("loadBalancer".into(), json!({}));
    } else {
        out.insert("loadBalancer".into(), json!({"ingress": ingress}));
    }
    Value::Object(out)
}

/// A PVC's phase over members: Bound when bound everywhere, Lost when lost anywhere, else Pending.
fn aggregate_pvc(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let phases = phases(items);
    let phase = if !phases.is_empty() && phases.iter().all(|p| *p == "Bound") {
        "Bound"
    } else if phases.contains(&"Lost") {
        "Lost"
    } else {
        "Pending"
    };
    out.insert("phase".into(), json!(phase));
    if phase == "Bound"
        && let Some(s) = items.first().and_then(|i| i.status.as_ref())
    {
        for f in ["capacity", "accessModes"] {
            if let Some(v) = s.get(f) {
                out.insert(f.into(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// A CronJob's status: active Jobs of every member, the latest schedule and success times.
fn aggregate_cronjob(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let statuses: Vec<&Value> = items.iter().filter_map(|i| i.status.as_ref()).collect();
    let active: Vec<Value> = statuses
        .iter()
        .flat_map(|s| s["active"].as_array().cloned().unwrap_or_default())
        .collect();
    set_or_remove(
        &mut out,
        "active",
        (!active.is_empty()).then(|| json!(active)),
    );
    for f in ["lastScheduleTime", "lastSuccessfulTime"] {
        let latest = statuses.iter().filter_map(|s| s[f].as_str()).max();
        set_or_remove(&mut out, f, latest.map(|t| json!(t)));
    }
    Value::Object(out)
}

/// A Pod's status: the worst phase of its copies (Failed, Pending, Running, Succeeded; a copy
/// that reported nothing counts as Pending) and every copy's container readiness and state.
fn aggregate_pod(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    if items.is_empty() {
        return Value::Object(out);
    }
    let phases = phases(items);
    let phase = ["Failed", "Pending", "Running", "Succeeded"]
        .into_iter()
        .find(|p| phases.contains(p));
    set_or_remove(&mut out, "phase", phase.map(|p| json!(p)));
    for f in ["containerStatuses", "initContainerStatuses"] {
        let all: Vec<Value> = items
            .iter()
            .filter_map(|i| i.status.as_ref()?.get(f)?.as_array().cloned())
            .flatten()
            .map(|c| json!({"ready": c["ready"].as_bool().unwrap_or(false), "state": c["state"]}))
            .collect();
        set_or_remove(&mut out, f, (!all.is_empty()).then(|| json!(all)));
    }
    Value::Object(out)
}

/// A PersistentVolume's phase: the first of Failed, Pending, Available, Bound, Released that a
/// copy has (a copy that reported nothing counts as Pending).
fn aggregate_pv(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let phases = phases(items);
    let phase = ["Failed", "Pending", "Available", "Bound", "Released"]
        .into_iter()
        .find(|p| phases.contains(p));
    set_or_remove(&mut out, "phase", phase.map(|p| json!(p)));
    Value::Object(out)
}

/// A PodDisruptionBudget's counts summed; disrupted pods named `<cluster>/<pod>`.
fn aggregate_pdb(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    for f in [
        "currentHealthy",
        "desiredHealthy",
        "expectedPods",
        "disruptionsAllowed",
    ] {
        let sum: i64 = items
            .iter()
            .filter_map(|i| i.status.as_ref()?.get(f)?.as_i64())
            .sum();
        out.insert(f.into(), json!(sum));
    }
    let mut disrupted = Map::new();
    for i in items {
        for (pod, t) in i
            .status
            .as_ref()
            .and_then(|s| s["disruptedPods"].as_object())
            .into_iter()
            .flatten()
        {
            disrupted.insert(format!("{}/{pod}", i.cluster_name), t.clone());
        }
    }
    set_or_remove(
        &mut out,
        "disruptedPods",
        (!disrupted.is_empty()).then_some(Value::Object(disrupted)),
    );
    Value::Object(out)
}

/// An Ingress' status: every member's load balancer ingress, deduplicated and sorted.
fn aggregate_ingress(current: Option<&Value>, items: &[Reported]) -> Value {
    let mut out = current_fields(current);
    let mut ingress = load_balancer_ingress(items);
    ingress.sort_by_key(|i| (i["ip"].to_string(), i["hostname"].to_string()));
    if ingress.is_empty() {
        out.insert("loadBalancer".into(), json!({}));
    } else {
        out.insert("loadBalancer".into(), json!({"ingress": ingress}));
    }
    Value::Object(out)
}

fn set_or_remove(out: &mut Map<String, Value>, field: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            out.insert(field.into(), v);
        }
        None => {
            out.remove(field);
        }
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
    let parsed: Vec<Reported> = items.iter().map(Reported::from).collect();
    let items = parsed.as_slice();
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
    const DAEMONSET_FIELDS: &[&str] = &[
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberUnavailable",
    ];
    const REPLICASET_FIELDS: &[&str] = &["replicas", "readyReplicas", "availableReplicas"];
    const HPA_FIELDS: &[&str] = &["currentReplicas", "desiredReplicas"];
    let fields = match kind {
        "Deployment" => DEPLOYMENT_FIELDS,
        "ReplicaSet" => REPLICASET_FIELDS,
        "HorizontalPodAutoscaler" => HPA_FIELDS,
        "CronJob" => return Some(aggregate_cronjob(current, items)),
        "Pod" => return Some(aggregate_pod(current, items)),
        "PersistentVolume" => return Some(aggregate_pv(current, items)),
        "PodDisruptionBudget" => return Some(aggregate_pdb(current, items)),
        "Ingress" => return Some(aggregate_ingress(current, items)),
        "StatefulSet" => STATEFULSET_FIELDS,
        "DaemonSet" => DAEMONSET_FIELDS,
        "Job" => return Some(aggregate_job(current, items)),
        "Service" => return Some(aggregate_service(current, items)),
        "PersistentVolumeClaim" => return Some(aggregate_pvc(current, items)),
        _ => return None,
    };
    let mut out = current_fields(current);
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
    let all_caught_up = kind != "HorizontalPodAutoscaler"
        && !items.is_empty()
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
    use crate::engine::health::{health, manifest_health};

    fn item(cluster: &str, status: Value, healthy: bool) -> AggregatedStatusItem {
        AggregatedStatusItem {
            cluster_name: cluster.into(),
            status: Some(status.into()),
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
    fn daemonset_statefulset_sum_and_health() {
        let ds = json!({"desiredNumberScheduled": 2, "numberReady": 2, "numberAvailable": 2,
            "updatedNumberScheduled": 2, "observedGeneration": 1, "generation": 1});
        assert_eq!(
            health("DaemonSet", None, Some(&ds)),
            ResourceHealth::Healthy
        );
        let behind =
            json!({"desiredNumberScheduled": 2, "numberAvailable": 1, "updatedNumberScheduled": 2});
        assert_eq!(
            health("DaemonSet", None, Some(&behind)),
            ResourceHealth::Unhealthy
        );
        let s = aggregate(
            "DaemonSet",
            1,
            None,
            &[item("a", ds.clone(), true), item("b", ds, true)],
        )
        .unwrap();
        assert_eq!(s["numberReady"], 4);
        assert_eq!(s["desiredNumberScheduled"], 4);
        let sts = json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3});
        let s = aggregate(
            "StatefulSet",
            1,
            None,
            &[item("a", sts.clone(), true), item("b", sts, true)],
        )
        .unwrap();
        assert_eq!(s["readyReplicas"], 6);
    }

    #[test]
    fn job_completes_when_every_member_does() {
        let done = |t: &str| {
            json!({"succeeded": 1, "startTime": format!("2026-01-01T00:00:0{t}Z"),
            "completionTime": format!("2026-01-01T00:01:0{t}Z"),
            "conditions": [{"type": "Complete", "status": "True"}]})
        };
        let running = json!({"active": 1, "startTime": "2026-01-01T00:00:05Z"});
        let s = aggregate(
            "Job",
            1,
            None,
            &[item("a", done("1"), true), item("b", running, true)],
        )
        .unwrap();
        assert_eq!(s["succeeded"], 1);
        assert_eq!(s["active"], 1);
        assert_eq!(s["startTime"], "2026-01-01T00:00:01Z");
        assert!(s.get("conditions").is_none());
        let s = aggregate(
            "Job",
            1,
            None,
            &[item("a", done("1"), true), item("b", done("3"), true)],
        )
        .unwrap();
        assert_eq!(s["succeeded"], 2);
        assert_eq!(s["completionTime"], "2026-01-01T00:01:03Z");
        assert_eq!(s["conditions"][0]["type"], "SuccessCriteriaMet");
        assert_eq!(s["conditions"][1]["type"], "Complete");
        let failed = json!({"failed": 2, "conditions": [{"type": "Failed", "status": "True"}]});
        assert_eq!(
            health("Job", None, Some(&failed)),
            ResourceHealth::Unhealthy
        );
        let s = aggregate(
            "Job",
            1,
            None,
            &[item("a", done("1"), true), item("b", failed, false)],
        )
        .unwrap();
        assert_eq!(s["failed"], 2);
        assert_eq!(s["conditions"][0]["type"], "FailureTarget");
        assert_eq!(s["conditions"][1]["type"], "Failed");
        assert_eq!(s["conditions"][1]["message"], "Job failed in: b");
        assert!(s.get("completionTime").is_none());
        // Not Failed while another member still runs it.
        let running = json!({"active": 1, "startTime": "2026-01-01T00:00:05Z"});
        let failed = json!({"failed": 2, "conditions": [{"type": "Failed", "status": "True"}]});
        let s = aggregate(
            "Job",
            1,
            None,
            &[item("a", running, true), item("b", failed, false)],
        )
        .unwrap();
        assert!(s.get("conditions").is_none(), "{s}");
    }

    #[test]
    fn service_ingress_and_pvc_phase() {
        let lb = json!({"kind": "Service", "spec": {"type": "LoadBalancer"}});
        assert_eq!(
            manifest_health(&lb, Some(&json!({"loadBalancer": {}}))),
            ResourceHealth::Unhealthy
        );
        let with_ip = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}});
        assert_eq!(
            manifest_health(&lb, Some(&with_ip)),
            ResourceHealth::Healthy
        );
        let cip = json!({"kind": "Service", "spec": {"type": "ClusterIP"}});
        assert_eq!(
            manifest_health(&cip, Some(&json!({}))),
            ResourceHealth::Healthy
        );
        let other = json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "10.0.0.1"}]}});
        let s = aggregate(
            "Service",
            1,
            None,
            &[item("a", with_ip, true), item("b", other, true)],
        )
        .unwrap();
        assert_eq!(
            s["loadBalancer"]["ingress"],
            json!([{"ip": "10.0.0.1"}, {"hostname": "lb.example.com"}])
        );

        let bound = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        let s = aggregate(
            "PersistentVolumeClaim",
            1,
            None,
            &[
                item("a", bound.clone(), true),
                item("b", json!({"phase": "Pending"}), false),
            ],
        )
        .unwrap();
        assert_eq!(s["phase"], "Pending");
        let s = aggregate(
            "PersistentVolumeClaim",
            1,
            None,
            &[
                item("a", bound.clone(), true),
                item("b", bound.clone(), true),
            ],
        )
        .unwrap();
        assert_eq!(s["phase"], "Bound");
        assert_eq!(s["capacity"]["storage"], "1Gi");
        assert_eq!(
            health("PersistentVolumeClaim", None, Some(&bound)),
            ResourceHealth::Healthy
        );
    }

    #[test]
    fn generic_health_reads_conditions_and_generations() {
        let ok = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        assert_eq!(health("Widget", None, Some(&ok)), ResourceHealth::Healthy);
        let bad = json!({"conditions": [{"type": "Available", "status": "False"}]});
        assert_eq!(
            health("Widget", None, Some(&bad)),
            ResourceHealth::Unhealthy
        );
        let behind = json!({"observedGeneration": 1, "generation": 2});
        assert_eq!(
            health("Widget", None, Some(&behind)),
            ResourceHealth::Unhealthy
        );
        assert_eq!(health("ConfigMap", None, None), ResourceHealth::Healthy);
    }

    #[test]
    fn more_builtin_kinds_aggregate() {
        let rs = json!({"replicas": 2, "readyReplicas": 1, "availableReplicas": 1});
        let s = aggregate(
            "ReplicaSet",
            1,
            None,
            &[item("a", rs.clone(), true), item("b", rs, true)],
        )
        .unwrap();
        assert_eq!(
            (s["replicas"].as_i64(), s["readyReplicas"].as_i64()),
            (Some(4), Some(2))
        );
        let cj = |t: &str| json!({"active": [{"name": format!("j-{t}")}], "lastScheduleTime": t});
        let s = aggregate(
            "CronJob",
            1,
            None,
            &[
                item("a", cj("2026-01-01T00:00:00Z"), true),
                item("b", cj("2026-02-01T00:00:00Z"), true),
            ],
        )
        .unwrap();
        assert_eq!(s["active"].as_array().unwrap().len(), 2);
        assert_eq!(s["lastScheduleTime"], "2026-02-01T00:00:00Z");
        let s = aggregate(
            "Pod",
            1,
            None,
            &[
                item("a", json!({"phase": "Running"}), true),
                item("b", json!({"phase": "Pending"}), false),
            ],
        )
        .unwrap();
        assert_eq!(s["phase"], "Pending");
        let s = aggregate(
            "PersistentVolume",
            1,
            None,
            &[
                item("a", json!({"phase": "Bound"}), true),
                item("b", json!({"phase": "Available"}), true),
            ],
        )
        .unwrap();
        assert_eq!(s["phase"], "Available");
        let pdb = json!({"currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2, "disruptionsAllowed": 1, "disruptedPods": {"p": "2026-01-01T00:00:00Z"}});
        let s = aggregate(
            "PodDisruptionBudget",
            1,
            None,
            &[item("a", pdb.clone(), true), item("b", pdb, true)],
        )
        .unwrap();
        assert_eq!(s["currentHealthy"], 4);
        assert!(s["disruptedPods"].get("b/p").is_some());
        let hpa = json!({"currentReplicas": 2, "desiredReplicas": 3});
        let s = aggregate(
            "HorizontalPodAutoscaler",
            1,
            None,
            &[item("a", hpa.clone(), true), item("b", hpa, true)],
        )
        .unwrap();
        assert_eq!(
            (s["currentReplicas"].as_i64(), s["desiredReplicas"].as_i64()),
            (Some(4), Some(6))
        );
        let ing = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}]}});
        let other = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}});
        let s = aggregate(
            "Ingress",
            1,
            None,
            &[item("a", ing, true), item("b", other, true)],
        )
        .unwrap();
        assert_eq!(
            s["loadBalancer"]["ingress"],
            json!([{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}])
        );
        assert_eq!(health("Ingress", None, Some(&s)), ResourceHealth::Healthy);
        assert_eq!(
            health("Ingress", None, Some(&json!({"loadBalancer": {}}))),
            ResourceHealth::Unhealthy
        );
        let ready =
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
        assert_eq!(health("Pod", None, Some(&ready)), ResourceHealth::Healthy);
        assert_eq!(
            health("Pod", None, Some(&json!({"phase": "Running"}))),
            ResourceHealth::Unhealthy
        );
        assert_eq!(
            health(
                "PodDisruptionBudget",
                None,
                Some(&json!({"currentHealthy": 1, "desiredHealthy": 2}))
            ),
            ResourceHealth::Unhealthy
        );
        assert_eq!(
            health(
                "ReplicaSet",
                Some(2),
                Some(&json!({"availableReplicas": 2}))
            ),
            ResourceHealth::Healthy
        );
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
