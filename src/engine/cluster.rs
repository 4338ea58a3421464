//! Cluster health decisions: the Ready condition's value, the health taints Karmada keeps in
//! step with it, and the taints ClusterTaintPolicies add.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::{self as keys, ClusterStatus};

/// The status of the Ready condition, if any.
pub fn ready_status(status: &ClusterStatus) -> Option<&str> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == keys::CONDITION_READY)
        .map(|c| c.status.as_str())
}

/// Health taints as Karmada sets them: Ready=False (or missing) → not-ready, Unknown →
/// unreachable, True → neither, with effect `NoSchedule` only: nothing new is scheduled there,
/// what runs there stays. Moving workloads away (NoExecute) is left to ClusterTaintPolicies, so
/// health-keyed taints of other effects (theirs) are kept, as are all other taints, in order.
pub fn health_taints(current: &[Taint], ready: Option<&str>) -> Vec<Taint> {
    let wanted_key = match ready {
        Some("True") => None,
        Some("Unknown") => Some(keys::TAINT_CLUSTER_UNREACHABLE),
        _ => Some(keys::TAINT_CLUSTER_NOT_READY),
    };
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            let health =
                t.key == keys::TAINT_CLUSTER_NOT_READY || t.key == keys::TAINT_CLUSTER_UNREACHABLE;
            !health || t.effect != "NoSchedule" || Some(t.key.as_str()) == wanted_key
        })
        .cloned()
        .collect();
    if let Some(key) = wanted_key
        && !out.iter().any(|t| t.key == key && t.effect == "NoSchedule")
    {
        out.push(Taint {
            key: key.into(),
            effect: "NoSchedule".into(),
            time_added: Some(Time(Timestamp::now())),
            value: None,
        });
    }
    out
}

/// The taints `cluster` should carry once the ClusterTaintPolicies have looked at it, in
/// Karmada's order (oldest policy first; in each, adding before removing): a policy whose
/// `targetClusters` match (or is unset) adds its taints when all its `addOnConditions` match the
/// Cluster's conditions, and removes them when all its `removeOnConditions` do. A taint is the
/// same when key and effect are; an added one gets `timeAdded: now`. `policies` must be sorted
/// by creation time.
pub fn policy_taints(
    cluster: &crate::api::Cluster,
    policies: &[&crate::api::taint_policy::ClusterTaintPolicy],
    now: Timestamp,
) -> Vec<Taint> {
    use crate::api::taint_policy::MatchConditionOperator;
    let conditions = cluster
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let matches = |wanted: &[crate::api::taint_policy::MatchCondition]| {
        !wanted.is_empty()
            && wanted.iter().all(|m| {
                conditions
                    .iter()
                    .filter(|c| c.type_ == m.condition_type)
                    .any(|c| {
                        let listed = m.status_values.contains(&c.status);
                        match m.operator {
                            MatchConditionOperator::In => listed,
                            MatchConditionOperator::NotIn => !listed,
                        }
                    })
            })
    };
    let mut taints = cluster.spec.taints.clone();
    for p in policies {
        if let Some(target) = &p.spec.target_clusters
            && super::placement::affinity_matches(cluster, target).is_err()
        {
            continue;
        }
        if matches(&p.spec.add_on_conditions) {
            for t in &p.spec.taints {
                if !taints
                    .iter()
                    .any(|c| c.key == t.key && c.effect == t.effect)
                {
                    taints.push(Taint {
                        key: t.key.clone(),
                        value: (!t.value.is_empty()).then(|| t.value.clone()),
                        effect: t.effect.clone(),
                        time_added: Some(Time(now)),
                    });
                }
            }
        }
        if matches(&p.spec.remove_on_conditions) {
            taints.retain(|c| {
                !p.spec
                    .taints
                    .iter()
                    .any(|t| c.key == t.key && c.effect == t.effect)
            });
        }
    }
    taints
}

/// How long a changed probe result must last before the Ready condition follows it
/// (Karmada's `--cluster-success-threshold` and `--cluster-failure-threshold`).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Not ready → Ready: successes must last this long.
    pub success: Duration,
    /// Ready → not ready: failures must last this long.
    pub failure: Duration,
}

/// The Ready value the probes last saw for one cluster, and since when (Karmada's
/// `clusterConditionStore`); kept in memory per cluster between probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub status: String,
    pub since: Instant,
}

/// Whether the Ready condition keeps `current` instead of taking `observed` now: leaving True is
/// only recorded once the probes have agreed on it for the failure threshold, and False → True
/// once they have for the success threshold, so a flapping member neither loses nor regains
/// workloads on a blip. Unknown (no probe could be made) → anything, and False ↔ Unknown, are
/// recorded at once: there was no answer to protect. `memory` is updated. Without a memory (a restarted reconciler) the
/// recorded condition counts as observed from now, so a restart does not skip the thresholds;
/// without a recorded condition (a new cluster) the observation is taken at once.
pub fn hold_ready(
    memory: &mut Option<Observation>,
    current: Option<&str>,
    observed: &str,
    now: Instant,
    thresholds: Thresholds,
) -> bool {
    let Some(current) = current else {
        *memory = Some(Observation {
            status: observed.into(),
            since: now,
        });
        return false;
    };
    let m = memory.get_or_insert_with(|| Observation {
        status: current.into(),
        since: now,
    });
    if m.status != observed {
        *m = Observation {
            status: observed.into(),
            since: now,
        };
    }
    let threshold = if observed == "True" {
        thresholds.success
    } else {
        thresholds.failure
    };
    let flips = match (current, observed) {
        ("True", o) => o != "True",
        ("False", "True") => true,
        _ => false,
    };
    flips && now < m.since + threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_policies_add_and_remove_like_karmada() {
        use crate::api::Cluster;
        use crate::api::taint_policy::ClusterTaintPolicy;
        let cluster = |ready: &str| -> Cluster {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
                "metadata": {"name": "member1", "labels": {"env": "prod"}},
                "spec": {"syncMode": "Push", "taints": [{"key": "keep", "effect": "NoSchedule"}]},
                "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "r",
                    "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
            }))
            .unwrap()
        };
        let policy: ClusterTaintPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterTaintPolicy",
            "metadata": {"name": "evict"},
            "spec": {
                "targetClusters": {"labelSelector": {"matchLabels": {"env": "prod"}}},
                "addOnConditions": [{"conditionType": "Ready", "operator": "NotIn", "statusValues": ["True"]}],
                "removeOnConditions": [{"conditionType": "Ready", "operator": "In", "statusValues": ["True"]}],
                "taints": [{"key": keys::TAINT_CLUSTER_NOT_READY, "effect": "NoExecute"}]
            }
        }))
        .unwrap();
        let now = Timestamp::now();
        let down = cluster("False");
        let t = policy_taints(&down, &[&policy], now);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].key, keys::TAINT_CLUSTER_NOT_READY);
        assert_eq!(t[1].effect, "NoExecute");
        assert_eq!(t[1].time_added.as_ref().map(|t| t.0), Some(now));
        // Already there: unchanged (its timeAdded stays).
        let mut tainted = down.clone();
        tainted.spec.taints = t.clone();
        assert_eq!(policy_taints(&tainted, &[&policy], Timestamp::now()), t);
        // Ready again: removed; other taints stay.
        let mut up = cluster("True");
        up.spec.taints = t;
        let t = policy_taints(&up, &[&policy], now);
        assert_eq!(
            t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            ["keep"]
        );
        // Clusters outside targetClusters are left alone.
        let mut other = cluster("False");
        other.metadata.labels = None;
        assert_eq!(policy_taints(&other, &[&policy], now), other.spec.taints);
    }

    #[test]
    fn health_taints_follow_readiness() {
        let cordon = Taint {
            key: keys::TAINT_CLUSTER_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let t = health_taints(std::slice::from_ref(&cordon), Some("False"));
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].key, keys::TAINT_CLUSTER_NOT_READY);
        let t = health_taints(&t, Some("Unknown"));
        assert_eq!(
            t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            vec![
                keys::TAINT_CLUSTER_UNSCHEDULABLE,
                keys::TAINT_CLUSTER_UNREACHABLE
            ]
        );
        let t = health_taints(&t, Some("True"));
        assert_eq!(t, vec![cordon]);
    }

    #[test]
    fn ready_follows_probes_after_the_thresholds() {
        let t = Thresholds {
            success: Duration::from_secs(30),
            failure: Duration::from_secs(20),
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut m = None;
        // A new cluster takes its first observation at once.
        assert!(!hold_ready(&mut m, None, "True", at(0), t));
        // Failures: Ready stays True until they have lasted the failure threshold.
        assert!(hold_ready(&mut m, Some("True"), "False", at(1), t));
        assert!(hold_ready(&mut m, Some("True"), "False", at(20), t));
        assert!(!hold_ready(&mut m, Some("True"), "False", at(21), t));
        // Recovery: False stays until successes have lasted the success threshold.
        assert!(hold_ready(&mut m, Some("False"), "True", at(22), t));
        assert!(hold_ready(&mut m, Some("False"), "True", at(51), t));
        // A failure in between starts the count again.
        assert!(!hold_ready(&mut m, Some("False"), "False", at(52), t));
        assert!(hold_ready(&mut m, Some("False"), "True", at(53), t));
        assert!(!hold_ready(&mut m, Some("False"), "True", at(83), t));
        // Unknown <-> False is not a change of readiness: recorded at once.
        assert!(!hold_ready(&mut m, Some("Unknown"), "False", at(84), t));
        assert!(!hold_ready(&mut m, Some("False"), "Unknown", at(85), t));
        // Unknown (no probe could be made, e.g. the Secret was not there yet) → the first answer.
        assert!(!hold_ready(&mut m, Some("Unknown"), "True", at(86), t));
        // True → Unknown is a failure like any other.
        assert!(hold_ready(&mut m, Some("True"), "Unknown", at(87), t));
        // A restarted reconciler (no memory) still waits out the threshold.
        let mut fresh = None;
        assert!(hold_ready(&mut fresh, Some("True"), "False", at(100), t));
        assert!(!hold_ready(&mut fresh, Some("True"), "False", at(120), t));
    }

    #[test]
    fn health_taints_are_no_schedule_and_leave_no_execute_to_policies() {
        let t = health_taints(&[], Some("False"));
        let effects: Vec<&str> = t.iter().map(|t| t.effect.as_str()).collect();
        assert_eq!(effects, vec!["NoSchedule"]);
        // A ClusterTaintPolicy's NoExecute taint on the same key is not the controller's.
        let mut with_policy = t.clone();
        with_policy.push(Taint {
            key: keys::TAINT_CLUSTER_NOT_READY.into(),
            effect: "NoExecute".into(),
            ..Default::default()
        });
        assert_eq!(health_taints(&with_policy, Some("False")), with_policy);
        assert_eq!(
            health_taints(&with_policy, Some("True")),
            with_policy[1..].to_vec()
        );
    }
}
