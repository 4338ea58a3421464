//! `karmadactl cordon` / `uncordon`: add or remove the taint
//! `cluster.karmada.io/unschedulable:NoSchedule`, so the scheduler stops (or resumes) placing
//! new workloads on a member. Idempotent; concurrent taint edits are kept (see
//! [`crate::ops::taint`]).

use k8s_openapi::api::core::v1::Taint;

use crate::Result;
use crate::api::TAINT_CLUSTER_UNSCHEDULABLE;
use crate::client::connect::Target;
use crate::ops::taint::{Decision, dry_run_suffix, update_taints};

/// Effect of the cordon taint.
pub const CORDON_EFFECT: &str = "NoSchedule";

fn is_cordon_taint(t: &Taint) -> bool {
    t.key == TAINT_CLUSTER_UNSCHEDULABLE && t.effect == CORDON_EFFECT
}

/// The cordon taint.
pub fn cordon_taint() -> Taint {
    Taint {
        key: TAINT_CLUSTER_UNSCHEDULABLE.into(),
        effect: CORDON_EFFECT.into(),
        value: None,
        time_added: None,
    }
}

/// Marks cluster `name` unschedulable: `cluster/NAME cordoned` or `cluster/NAME already cordoned`.
/// With `dry_run` the change is only sent as a server-side dry run (`... (dry run)`).
pub async fn cordon(target: &Target, name: &str, dry_run: bool) -> Result<String> {
    let dr = dry_run_suffix(dry_run);
    update_taints(target, name, dry_run, |cluster| {
        if cluster.spec.taints.iter().any(is_cordon_taint) {
            return Ok(Decision::Keep(format!(
                "cluster/{name} already cordoned{dr}"
            )));
        }
        let mut taints = cluster.spec.taints.clone();
        taints.push(cordon_taint());
        Ok(Decision::Set(
            taints,
            format!("cluster/{name} cordoned{dr}"),
        ))
    })
    .await
}

/// Marks cluster `name` schedulable again: `cluster/NAME uncordoned` or
/// `cluster/NAME already uncordoned`.
pub async fn uncordon(target: &Target, name: &str, dry_run: bool) -> Result<String> {
    let dr = dry_run_suffix(dry_run);
    update_taints(target, name, dry_run, |cluster| {
        if !cluster.spec.taints.iter().any(is_cordon_taint) {
            return Ok(Decision::Keep(format!(
                "cluster/{name} already uncordoned{dr}"
            )));
        }
        let taints = cluster
            .spec
            .taints
            .iter()
            .filter(|t| !is_cordon_taint(t))
            .cloned()
            .collect();
        Ok(Decision::Set(
            taints,
            format!("cluster/{name} uncordoned{dr}"),
        ))
    })
    .await
}
