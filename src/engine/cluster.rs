//! Cluster health decisions: the Ready condition's value, the health taints Karmada keeps in
//! step with it, and when an unhealthy cluster's workloads should move away.

use std::time::Duration;

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
/// unreachable, True → neither. `NoSchedule` keeps new workloads away at once; `NoExecute`
/// (once the cluster has been unhealthy past the failover eviction timeout) moves workloads
/// that do not tolerate it to other clusters. Other taints are kept in order.
pub fn health_taints(current: &[Taint], ready: Option<&str>, evict: bool) -> Vec<Taint> {
    let wanted_key = match ready {
        Some("True") => None,
        Some("Unknown") => Some(keys::TAINT_CLUSTER_UNREACHABLE),
        _ => Some(keys::TAINT_CLUSTER_NOT_READY),
    };
    let wanted_effects: &[&str] = if evict {
        &["NoSchedule", "NoExecute"]
    } else {
        &["NoSchedule"]
    };
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| {
            let health =
                t.key == keys::TAINT_CLUSTER_NOT_READY || t.key == keys::TAINT_CLUSTER_UNREACHABLE;
            !health
                || (Some(t.key.as_str()) == wanted_key
                    && wanted_effects.contains(&t.effect.as_str()))
        })
        .cloned()
        .collect();
    if let Some(key) = wanted_key {
        for effect in wanted_effects {
            if !out.iter().any(|t| t.key == key && t.effect == *effect) {
                out.push(Taint {
                    key: key.into(),
                    effect: (*effect).into(),
                    time_added: Some(Time(Timestamp::now())),
                    value: None,
                });
            }
        }
    }
    out
}

/// Whether the cluster has been unhealthy for longer than `timeout` (by its Ready condition).
pub fn unhealthy_for(status: &ClusterStatus, timeout: Duration) -> bool {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == keys::CONDITION_READY)
        .filter(|c| c.status != "True")
        .is_some_and(|c| {
            let since = Timestamp::now().as_second() - c.last_transition_time.0.as_second();
            since >= timeout.as_secs() as i64
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_taints_follow_readiness() {
        let cordon = Taint {
            key: keys::TAINT_CLUSTER_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let t = health_taints(std::slice::from_ref(&cordon), Some("False"), false);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].key, keys::TAINT_CLUSTER_NOT_READY);
        let t = health_taints(&t, Some("Unknown"), false);
        assert_eq!(
            t.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            vec![
                keys::TAINT_CLUSTER_UNSCHEDULABLE,
                keys::TAINT_CLUSTER_UNREACHABLE
            ]
        );
        let t = health_taints(&t, Some("True"), false);
        assert_eq!(t, vec![cordon]);
    }

    #[test]
    fn eviction_adds_no_execute_and_recovery_removes_it() {
        let t = health_taints(&[], Some("False"), true);
        let effects: Vec<&str> = t.iter().map(|t| t.effect.as_str()).collect();
        assert_eq!(effects, vec!["NoSchedule", "NoExecute"]);
        assert!(t.iter().all(|t| t.key == keys::TAINT_CLUSTER_NOT_READY));
        assert!(health_taints(&t, Some("True"), false).is_empty());
    }
}
