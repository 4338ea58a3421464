//! Event reasons, as Karmada spells them (its `pkg/events`), so dashboards, alerts and
//! `kubectl get events --field-selector reason=...` written for Karmada keep working, and the
//! one way controllers publish them.
//!
//! Events are published on transitions (a binding written, a Work's Applied condition
//! changing, a cluster tainted), never on every retry, and sent off the reconcilers' path by
//! [`Recorder`](super::recorder::Recorder), which folds a repeat of the same reason on the same
//! object into one Event with a growing `series.count`.

use k8s_openapi::api::core::v1::ObjectReference;

use super::super::Context;

// Resource templates.
pub const APPLY_POLICY_SUCCEED: &str = "ApplyPolicySucceed";
pub const APPLY_POLICY_FAILED: &str = "ApplyPolicyFailed";
pub const APPLY_OVERRIDE_POLICY_SUCCEED: &str = "ApplyOverridePolicySucceed";
pub const APPLY_OVERRIDE_POLICY_FAILED: &str = "ApplyOverridePolicyFailed";
pub const GET_DEPENDENCIES_SUCCEED: &str = "GetDependenciesSucceed";
pub const GET_DEPENDENCIES_FAILED: &str = "GetDependenciesFailed";
pub const PREEMPT_POLICY_SUCCEED: &str = "PreemptPolicySucceed";
pub const PREEMPT_POLICY_FAILED: &str = "PreemptPolicyFailed";

// Bindings (and their templates).
pub const SCHEDULE_BINDING_SUCCEED: &str = "ScheduleBindingSucceed";
pub const SCHEDULE_BINDING_FAILED: &str = "ScheduleBindingFailed";
pub const SYNC_WORK_SUCCEED: &str = "SyncWorkSucceed";
pub const SYNC_WORK_FAILED: &str = "SyncWorkFailed";
pub const AGGREGATE_STATUS_SUCCEED: &str = "AggregateStatusSucceed";
pub const AGGREGATE_STATUS_FAILED: &str = "AggregateStatusFailed";
pub const SYNC_SCHEDULE_RESULT_TO_DEPENDENCIES_SUCCEED: &str =
    "SyncScheduleResultToDependenciesSucceed";
pub const SYNC_SCHEDULE_RESULT_TO_DEPENDENCIES_FAILED: &str =
    "SyncScheduleResultToDependenciesFailed";
pub const DEPENDENCY_POLICY_CONFLICT: &str = "DependencyPolicyConflict";
pub const EVICT_WORKLOAD_FROM_CLUSTER_SUCCEED: &str = "EvictWorkloadFromClusterSucceed";
pub const EVICT_WORKLOAD_FROM_CLUSTER_FAILED: &str = "EvictWorkloadFromClusterFailed";

// Works (and the templates of their manifests).
pub const SYNC_SUCCEED: &str = "SyncSucceed";
pub const SYNC_FAILED: &str = "SyncFailed";
pub const REFLECT_STATUS_SUCCEED: &str = "ReflectStatusSucceed";
pub const REFLECT_STATUS_FAILED: &str = "ReflectStatusFailed";
pub const INTERPRET_HEALTH_SUCCEED: &str = "InterpretHealthSucceed";
pub const INTERPRET_HEALTH_FAILED: &str = "InterpretHealthFailed";
/// Not Karmada's: an object that is not this Work's is in the member (conflictResolution Abort).
pub const CONFLICT: &str = "Conflict";
/// Not Karmada's: a deleted Work had to leave member objects behind.
pub const LEFT_IN_CLUSTER: &str = "LeftInCluster";

// Clusters.
pub const CREATE_EXECUTION_SPACE_SUCCEED: &str = "CreateExecutionSpaceSucceed";
pub const CREATE_EXECUTION_SPACE_FAILED: &str = "CreateExecutionSpaceFailed";
pub const TAINT_CLUSTER_SUCCEED: &str = "TaintClusterSucceed";
pub const TAINT_CLUSTER_FAILED: &str = "TaintClusterFailed";

/// The last outcome published per (object, step), so a step that keeps succeeding (or keeps
/// failing the same way) on every reconciliation publishes once, and again only when the
/// outcome changes. Both are kept as 64-bit hashes: there are several per template, and the
/// strings would take hundreds of bytes each.
#[derive(Default)]
pub struct Transitions(std::sync::Mutex<std::collections::HashMap<u64, u64>>);

/// A 64-bit hash of `value` (the same within one process).
fn hash_of(value: impl std::hash::Hash) -> u64 {
    use std::hash::Hasher as _;
    let mut h = std::hash::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Past this many remembered outcomes the memory starts over (a repeat may then be published
/// again; the Recorder folds it into the existing Event's series).
const TRANSITIONS_CAP: usize = 100_000;

impl Transitions {
    /// Whether `outcome` differs from the last one recorded for `regarding` and `step`
    /// (and records it).
    fn changed(&self, regarding: &ObjectReference, step: &'static str, outcome: String) -> bool {
        let who = hash_of((
            &regarding.api_version,
            &regarding.kind,
            &regarding.namespace,
            &regarding.name,
            &regarding.uid,
            step,
        ));
        let outcome = hash_of(outcome);
        let mut map = self.0.lock().expect("transitions poisoned");
        if map.len() >= TRANSITIONS_CAP {
            map.clear();
        }
        map.insert(who, outcome) != Some(outcome)
    }
}

/// Publishes like [`publish`], unless the last Event of `step` about `regarding` had the same
/// reason and note.
pub async fn publish_on_change(
    ctx: &Context,
    regarding: &ObjectReference,
    step: &'static str,
    warning: bool,
    reason: &str,
    note: &str,
) {
    if ctx
        .transitions
        .changed(regarding, step, format!("{reason}\n{note}"))
    {
        publish(ctx, regarding, warning, reason, note, step).await;
    }
}

/// Publishes an Event about `regarding` (Normal unless `warning`): queued for the background
/// sender (`recorder.rs`), which folds repeats into a series; never waits, never fails.
pub async fn publish(
    ctx: &Context,
    regarding: &ObjectReference,
    warning: bool,
    reason: &str,
    note: &str,
    action: &str,
) {
    ctx.recorder.record(super::recorder::Record {
        regarding: regarding.clone(),
        warning,
        reason: reason.into(),
        note: note.into(),
        action: action.into(),
    });
}

/// A reference to a resource template from a binding's `spec.resource`.
pub fn template_ref(r: &crate::api::work::ObjectReference) -> ObjectReference {
    ObjectReference {
        api_version: Some(r.api_version.clone()),
        kind: Some(r.kind.clone()),
        name: Some(r.name.clone()),
        namespace: (!r.namespace.is_empty()).then(|| r.namespace.clone()),
        uid: (!r.uid.is_empty()).then(|| r.uid.clone()),
        ..Default::default()
    }
}

/// A reference to any typed object (binding, Work, Cluster).
pub fn object_ref<K: kube::Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    obj.object_ref(&())
}

/// A reference to a resource template read as a dynamic object of kind `resource`.
pub fn dynamic_ref(
    obj: &kube::api::DynamicObject,
    resource: &kube::core::ApiResource,
) -> ObjectReference {
    ObjectReference {
        api_version: Some(resource.api_version.clone()),
        kind: Some(resource.kind.clone()),
        name: obj.metadata.name.clone(),
        namespace: obj.metadata.namespace.clone(),
        uid: obj.metadata.uid.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_changed_outcome_is_a_transition() {
        let t = Transitions::default();
        let a = ObjectReference {
            kind: Some("Deployment".into()),
            name: Some("nginx".into()),
            namespace: Some("default".into()),
            ..Default::default()
        };
        let b = ObjectReference {
            name: Some("other".into()),
            ..a.clone()
        };
        assert!(t.changed(&a, "ApplyPolicy", "ok".into()));
        assert!(!t.changed(&a, "ApplyPolicy", "ok".into()), "a repeat");
        assert!(t.changed(&a, "SyncWork", "ok".into()), "another step");
        assert!(t.changed(&b, "ApplyPolicy", "ok".into()), "another object");
        assert!(t.changed(&a, "ApplyPolicy", "failed".into()));
        assert!(t.changed(&a, "ApplyPolicy", "ok".into()), "back to ok");
    }
}
