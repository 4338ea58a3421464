//! Graceful eviction, as Karmada does it: a cluster a workload must leave (an untolerated
//! NoExecute taint, or the application failing there) goes from the binding's `spec.clusters`
//! into a `spec.gracefulEvictionTasks` entry. While the task exists the cluster's Work is kept
//! (unless the purge mode is `Directly`) and the cluster is not scheduled to again; the task
//! ends when every new target is healthy, its grace period runs out, or (`Never`) the user
//! sets `suppressDeletion: false`. No I/O here.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::api::policy::{PurgeMode, StatePreservation};
use crate::api::work::{
    AggregatedStatusItem, GracefulEvictionTask, ResourceBindingSpec, ResourceHealth,
};

/// Reason of a task created for an untolerated NoExecute taint.
pub const REASON_TAINT_UNTOLERATED: &str = "TaintUntolerated";
/// Reason of a task created because the application failed in the cluster.
pub const REASON_APPLICATION_FAILURE: &str = "ApplicationFailure";
/// Producer of taint evictions (Karmada's taint manager).
pub const PRODUCER_TAINT_MANAGER: &str = "TaintManager";
/// Producers of application failovers, per binding kind (Karmada's controller names).
pub const PRODUCER_RB_APPLICATION_FAILOVER: &str =
    "resource-binding-application-failover-controller";
pub const PRODUCER_CRB_APPLICATION_FAILOVER: &str =
    "cluster-resource-binding-application-failover-controller";

/// What a new task says besides its cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskOptions {
    pub purge_mode: Option<PurgeMode>,
    pub reason: String,
    pub message: String,
    pub producer: String,
    pub grace_period_seconds: Option<i32>,
    pub suppress_deletion: Option<bool>,
    pub preserved_label_state: BTreeMap<String, String>,
    pub clusters_before_failover: Vec<String>,
}

/// Takes `cluster` out of `spec.clusters` and records a task for it (one per cluster: an
/// existing task stays as it is). Returns whether the spec changed.
pub fn evict(
    spec: &mut ResourceBindingSpec,
    cluster: &str,
    options: TaskOptions,
    now: Timestamp,
) -> bool {
    let Some(i) = spec.clusters.iter().position(|c| c.name == cluster) else {
        return false;
    };
    let target = spec.clusters.remove(i);
    if in_tasks(spec, cluster) {
        return true;
    }
    spec.graceful_eviction_tasks.push(GracefulEvictionTask {
        from_cluster: target.name,
        purge_mode: options.purge_mode,
        replicas: (target.replicas > 0).then_some(target.replicas),
        reason: options.reason,
        message: options.message,
        producer: options.producer,
        grace_period_seconds: options.grace_period_seconds,
        suppress_deletion: options.suppress_deletion,
        preserved_label_state: options.preserved_label_state,
        creation_timestamp: Some(Time(now)),
        clusters_before_failover: options.clusters_before_failover,
    });
    true
}

/// Whether a task is removing the workload from `cluster`.
pub fn in_tasks(spec: &ResourceBindingSpec, cluster: &str) -> bool {
    spec.graceful_eviction_tasks
        .iter()
        .any(|t| t.from_cluster == cluster)
}

/// Whether the Work in `cluster` is kept although the cluster is no longer a target: a task
/// is evicting it gracefully (a `Directly` task removes it at once).
pub fn keeps_work(spec: &ResourceBindingSpec, cluster: &str) -> bool {
    spec.graceful_eviction_tasks
        .iter()
        .any(|t| t.from_cluster == cluster && t.purge_mode != Some(PurgeMode::Directly))
}

/// The tasks to keep, and the clusters whose tasks are done. A task without a creation time
/// gets `now`; one with `suppressDeletion` waits for the user (`false` ends it); otherwise it
/// ends after its `gracePeriodSeconds` (or `timeout`), or once the binding has been scheduled
/// (`scheduled`: the scheduler has seen its latest generation) and every target reports
/// `Healthy`.
pub fn assess(
    tasks: &[GracefulEvictionTask],
    now: Timestamp,
    timeout: Duration,
    spec: &ResourceBindingSpec,
    observed: &[AggregatedStatusItem],
    scheduled: bool,
) -> (Vec<GracefulEvictionTask>, Vec<String>) {
    let mut kept = Vec::new();
    let mut done = Vec::new();
    let healthy = scheduled && all_healthy(spec, observed);
    for task in tasks {
        let Some(created) = task.creation_timestamp.as_ref().map(|t| t.0) else {
            let mut t = task.clone();
            t.creation_timestamp = Some(Time(now));
            kept.push(t);
            continue;
        };
        let keep = match task.suppress_deletion {
            Some(suppress) => suppress,
            None => now <= deadline(task, created, timeout) && !healthy,
        };
        if keep {
            kept.push(task.clone());
        } else {
            done.push(task.from_cluster.clone());
        }
    }
    (kept, done)
}

/// When the first task (not waiting for the user) runs out, counted from `now`.
pub fn next_retry(
    tasks: &[GracefulEvictionTask],
    now: Timestamp,
    timeout: Duration,
) -> Option<Duration> {
    tasks
        .iter()
        .filter(|t| t.suppress_deletion.is_none())
        .map(|t| {
            let created = t.creation_timestamp.as_ref().map_or(now, |c| c.0);
            let left = deadline(t, created, timeout).duration_since(now);
            Duration::try_from(left).unwrap_or(Duration::ZERO)
        })
        .min()
}

fn deadline(task: &GracefulEvictionTask, created: Timestamp, timeout: Duration) -> Timestamp {
    let grace = match task.grace_period_seconds {
        Some(s) => SignedDuration::from_secs(s.max(0).into()),
        None => SignedDuration::try_from(timeout).unwrap_or(SignedDuration::MAX),
    };
    created.checked_add(grace).unwrap_or(Timestamp::MAX)
}

fn all_healthy(spec: &ResourceBindingSpec, observed: &[AggregatedStatusItem]) -> bool {
    spec.clusters.iter().all(|t| {
        observed
            .iter()
            .find(|i| i.cluster_name == t.name)
            .is_some_and(|i| i.health == Some(ResourceHealth::Healthy))
    })
}

/// Application failover: the targets whose workload reports `Unhealthy` (and are not being
/// evicted already), and the others (healthy or unknown), from the binding's aggregated status.
pub fn split_by_health(
    spec: &ResourceBindingSpec,
    observed: &[AggregatedStatusItem],
) -> (Vec<String>, Vec<String>) {
    let mut unhealthy = Vec::new();
    let mut others = Vec::new();
    for item in observed {
        match item.health {
            Some(ResourceHealth::Unhealthy) if !in_tasks(spec, &item.cluster_name) => {
                unhealthy.push(item.cluster_name.clone())
            }
            Some(ResourceHealth::Unhealthy) => {}
            _ => others.push(item.cluster_name.clone()),
        }
    }
    (unhealthy, others)
}

/// `statePreservation`: each rule's JSONPath read from the status the workload had in the
/// cluster it leaves, as a label value under the rule's `aliasLabelName`.
pub fn preserved_state(
    rules: &StatePreservation,
    status: Option<&Value>,
) -> Result<BTreeMap<String, String>, String> {
    let Some(status) = status else {
        return Err("the application status has not been collected from that cluster yet".into());
    };
    let mut out = BTreeMap::new();
    for rule in &rules.rules {
        let path = crate::output::jsonpath::Template::parse(&rule.json_path)
            .map_err(|e| format!("statePreservation jsonPath {:?}: {e}", rule.json_path))?;
        let found = path
            .values(status)
            .map_err(|e| format!("statePreservation jsonPath {:?}: {e}", rule.json_path))?;
        if found.is_empty() {
            return Err(format!(
                "statePreservation jsonPath {:?} finds nothing in the status",
                rule.json_path
            ));
        }
        let value = path
            .render(status)
            .map_err(|e| format!("statePreservation jsonPath {:?}: {e}", rule.json_path))?;
        out.insert(rule.alias_label_name.clone(), value);
    }
    Ok(out)
}

/// Labels to add to the workload sent to `cluster`, as Karmada injects preserved state: only
/// when the binding has a single target, the latest task purges `Directly`, and `cluster` is
/// not one the workload ran in before that failover.
pub fn injected_labels<'a>(
    spec: &'a ResourceBindingSpec,
    cluster: &str,
) -> Option<&'a BTreeMap<String, String>> {
    if spec.clusters.len() > 1 {
        return None;
    }
    let task = spec.graceful_eviction_tasks.last()?;
    (task.purge_mode == Some(PurgeMode::Directly)
        && !task.clusters_before_failover.iter().any(|c| c == cluster)
        && !task.preserved_label_state.is_empty())
    .then_some(&task.preserved_label_state)
}

/// Adds the [`injected_labels`] for `cluster` to `workload`'s labels.
pub fn inject_preserved_state(spec: &ResourceBindingSpec, cluster: &str, workload: &mut Value) {
    let Some(labels) = injected_labels(spec, cluster) else {
        return;
    };
    let Some(meta) = workload.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let target = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(target) = target.as_object_mut() {
        for (k, v) in labels {
            target.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::work::TargetCluster;

    fn spec(targets: &[&str]) -> ResourceBindingSpec {
        ResourceBindingSpec {
            clusters: targets
                .iter()
                .map(|n| TargetCluster {
                    name: n.to_string(),
                    replicas: 2,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn item(cluster: &str, health: ResourceHealth) -> AggregatedStatusItem {
        AggregatedStatusItem {
            cluster_name: cluster.into(),
            applied: true,
            health: Some(health),
            ..Default::default()
        }
    }

    #[test]
    fn evicting_moves_the_cluster_into_a_task_once() {
        let now = Timestamp::now();
        let mut s = spec(&["m1", "m2"]);
        let opts = TaskOptions {
            reason: REASON_TAINT_UNTOLERATED.into(),
            producer: PRODUCER_TAINT_MANAGER.into(),
            purge_mode: Some(PurgeMode::Gracefully),
            ..Default::default()
        };
        assert!(evict(&mut s, "m1", opts.clone(), now));
        assert_eq!(s.clusters.len(), 1);
        let t = &s.graceful_eviction_tasks[0];
        assert_eq!(
            (t.from_cluster.as_str(), t.replicas, t.reason.as_str()),
            ("m1", Some(2), "TaintUntolerated")
        );
        assert!(keeps_work(&s, "m1") && in_tasks(&s, "m1"));
        // Not a target any more: nothing to do.
        assert!(!evict(&mut s, "m1", opts, now));
        assert_eq!(s.graceful_eviction_tasks.len(), 1);
    }

    #[test]
    fn tasks_end_on_health_timeout_or_the_users_word() {
        let t0 = Timestamp::now();
        let at = |s: i64| t0.checked_add(SignedDuration::from_secs(s)).unwrap();
        let mut s = spec(&["m2"]);
        let task = |grace: Option<i32>, suppress: Option<bool>| GracefulEvictionTask {
            from_cluster: "m1".into(),
            reason: REASON_APPLICATION_FAILURE.into(),
            producer: "p".into(),
            grace_period_seconds: grace,
            suppress_deletion: suppress,
            creation_timestamp: Some(Time(t0)),
            ..Default::default()
        };
        let timeout = Duration::from_secs(600);
        s.graceful_eviction_tasks = vec![task(Some(30), None)];
        let unhealthy = [item("m2", ResourceHealth::Unhealthy)];
        let healthy = [item("m2", ResourceHealth::Healthy)];
        let tasks = s.graceful_eviction_tasks.clone();
        // Kept while the new copy is not healthy and the grace period lasts.
        assert_eq!(
            assess(&tasks, at(10), timeout, &s, &unhealthy, true)
                .0
                .len(),
            1
        );
        assert_eq!(
            next_retry(&tasks, at(10), timeout),
            Some(Duration::from_secs(20))
        );
        // Done once healthy, but only after the scheduler has seen the binding.
        assert_eq!(
            assess(&tasks, at(10), timeout, &s, &healthy, true).1,
            ["m1"]
        );
        assert!(
            assess(&tasks, at(10), timeout, &s, &healthy, false)
                .1
                .is_empty()
        );
        // Done once the grace period is over.
        assert_eq!(
            assess(&tasks, at(31), timeout, &s, &unhealthy, true).1,
            ["m1"]
        );
        // Without gracePeriodSeconds the timeout counts.
        let default = [task(None, None)];
        assert!(
            assess(&default, at(31), timeout, &s, &unhealthy, true)
                .1
                .is_empty()
        );
        assert_eq!(
            assess(&default, at(601), timeout, &s, &unhealthy, true).1,
            ["m1"]
        );
        // Never: kept whatever happens until suppressDeletion is false.
        let never = [task(None, Some(true))];
        assert!(
            assess(&never, at(9999), timeout, &s, &healthy, true)
                .1
                .is_empty()
        );
        assert_eq!(next_retry(&never, at(1), timeout), None);
        let confirmed = [task(None, Some(false))];
        assert_eq!(
            assess(&confirmed, at(1), timeout, &s, &unhealthy, true).1,
            ["m1"]
        );
        // A task without a creation time gets one and stays.
        let fresh = [GracefulEvictionTask {
            creation_timestamp: None,
            ..task(None, None)
        }];
        let (kept, done) = assess(&fresh, at(5), timeout, &s, &healthy, true);
        assert!(done.is_empty());
        assert_eq!(kept[0].creation_timestamp, Some(Time(at(5))));
    }

    #[test]
    fn health_splits_and_state_is_preserved() {
        let mut s = spec(&["m1", "m2", "m3"]);
        s.graceful_eviction_tasks.push(GracefulEvictionTask {
            from_cluster: "m3".into(),
            ..Default::default()
        });
        let observed = [
            item("m1", ResourceHealth::Unhealthy),
            item("m2", ResourceHealth::Unknown),
            item("m3", ResourceHealth::Unhealthy),
        ];
        assert_eq!(
            split_by_health(&s, &observed),
            (vec!["m1".to_string()], vec!["m2".to_string()])
        );

        let rules: StatePreservation = serde_json::from_value(serde_json::json!({
            "rules": [{"aliasLabelName": "failover.example.com/replicas", "jsonPath": "{.replicas}"}]
        }))
        .unwrap();
        let state = preserved_state(&rules, Some(&serde_json::json!({"replicas": 3}))).unwrap();
        assert_eq!(state["failover.example.com/replicas"], "3");
        assert!(preserved_state(&rules, Some(&serde_json::json!({}))).is_err());
        assert!(preserved_state(&rules, None).is_err());

        // Injected only for a Directly task, into a cluster new to the workload.
        let mut moved = spec(&["m2"]);
        moved.graceful_eviction_tasks.push(GracefulEvictionTask {
            from_cluster: "m1".into(),
            purge_mode: Some(PurgeMode::Directly),
            preserved_label_state: state.clone(),
            clusters_before_failover: vec!["m1".into()],
            ..Default::default()
        });
        assert_eq!(injected_labels(&moved, "m2"), Some(&state));
        assert_eq!(injected_labels(&moved, "m1"), None);
        let mut workload = serde_json::json!({"metadata": {"name": "app"}});
        inject_preserved_state(&moved, "m2", &mut workload);
        assert_eq!(
            workload["metadata"]["labels"]["failover.example.com/replicas"],
            "3"
        );
        moved.graceful_eviction_tasks[0].purge_mode = Some(PurgeMode::Gracefully);
        assert_eq!(injected_labels(&moved, "m2"), None);
        assert!(!keeps_work(&moved, "m2"));
    }
}
