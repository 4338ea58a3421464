//! `karmadactl taint clusters NAME key[=value]:Effect ... key[:Effect]-`: kubectl taint's
//! semantics on a Cluster's `spec.taints`.
//!
//! Every change is a JSON merge patch carrying the resourceVersion it was computed from; when
//! someone else changed the Cluster in between, the server answers 409 Conflict and the edit is
//! recomputed on the fresh object, so concurrent taint edits are never lost.

use k8s_openapi::api::core::v1::Taint;
use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::api::Cluster;
use crate::client::connect::Target;
use crate::ops::get::{clusters_api, get_cluster, request_error};
use crate::{Error, Result};

/// Field manager of karmadactl's writes.
pub const FIELD_MANAGER: &str = "karmadactl";
/// How often an edit is recomputed after a conflicting concurrent write.
const CONFLICT_RETRIES: usize = 8;

/// A taint to remove: by key and effect, or every effect of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaintRemoval {
    pub key: String,
    pub effect: Option<String>,
}

impl std::fmt::Display for TaintRemoval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.effect {
            Some(e) => write!(f, "{}:{e}", self.key),
            None => write!(f, "{}", self.key),
        }
    }
}

/// What `karmadactl taint` was asked to do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaintEdit {
    pub add: Vec<Taint>,
    pub remove: Vec<TaintRemoval>,
    /// Replace taints with the same key and effect instead of failing.
    pub overwrite: bool,
}

/// What happened, in kubectl's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Tainted,
    Untainted,
    Modified,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Tainted => "tainted",
            Operation::Untainted => "untainted",
            Operation::Modified => "modified",
        })
    }
}

/// kubectl's taint update, without I/O: the new taint list of cluster `name`, or why not.
pub fn apply_edit(
    name: &str,
    existing: &[Taint],
    edit: &TaintEdit,
) -> Result<(Operation, Vec<Taint>)> {
    if !edit.overwrite {
        let clashes: Vec<&str> = edit
            .add
            .iter()
            .filter(|t| {
                existing
                    .iter()
                    .any(|o| o.key == t.key && o.effect == t.effect)
            })
            .map(|t| t.key.as_str())
            .collect();
        if !clashes.is_empty() {
            return Err(Error::Invalid(format!(
                "cluster {name} already has {} taint(s) with same effect(s) and --overwrite is false",
                clashes.join(",")
            )));
        }
    }
    let mut new: Vec<Taint> = edit.add.clone();
    for old in existing {
        if !new
            .iter()
            .any(|t| t.key == old.key && t.effect == old.effect)
        {
            new.push(old.clone());
        }
    }
    let added = existing.len() != new.len();
    let mut missing = Vec::new();
    let mut deleted = false;
    for removal in &edit.remove {
        let before = new.len();
        new.retain(|t| {
            !(t.key == removal.key && removal.effect.as_ref().is_none_or(|e| *e == t.effect))
        });
        deleted = new.len() != before;
        if !deleted {
            missing.push(format!("taint {:?} not found", removal.to_string()));
        }
    }
    if !missing.is_empty() {
        return Err(Error::NotFound(missing.join(", ")));
    }
    let op = if (added && deleted) || edit.overwrite {
        Operation::Modified
    } else if added {
        Operation::Tainted
    } else {
        Operation::Untainted
    };
    Ok((op, new))
}

/// What an edit decided for the Cluster it saw.
pub(crate) enum Decision<T> {
    /// Nothing to write; return this.
    Keep(T),
    /// Write these taints, then return this.
    Set(Vec<Taint>, T),
}

/// Reads cluster `name`, lets `decide` compute its taints and writes them with a merge patch
/// guarded by the resourceVersion it read; recomputes on conflict.
pub(crate) async fn update_taints<T>(
    target: &Target,
    name: &str,
    dry_run: bool,
    mut decide: impl FnMut(&Cluster) -> Result<Decision<T>>,
) -> Result<T> {
    let (_, api) = clusters_api(target).await?;
    for _ in 0..CONFLICT_RETRIES {
        let cluster = get_cluster(target, &api, name).await?;
        let (taints, result) = match decide(&cluster)? {
            Decision::Keep(result) => return Ok(result),
            Decision::Set(taints, result) => (taints, result),
        };
        let patch = taints_patch(&cluster, &taints);
        // A dry run is sent too (dryRun=All): the server validates and changes nothing.
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            dry_run,
            ..Default::default()
        };
        match api.patch(name, &params, &Patch::Merge(&patch)).await {
            Ok(_) => return Ok(result),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!("cluster {name} changed while editing its taints; retrying");
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(crate::ops::get::not_found(name));
            }
            Err(e) => return Err(request_error(target, e)),
        }
    }
    Err(Error::Invalid(format!(
        "cluster {name} kept changing while its taints were edited ({CONFLICT_RETRIES} conflicts); try again"
    )))
}

/// ` (dry run)` after kubectl's line when nothing was changed on purpose.
pub(crate) fn dry_run_suffix(dry_run: bool) -> &'static str {
    if dry_run { " (dry run)" } else { "" }
}

/// `{"metadata":{"resourceVersion":..},"spec":{"taints":[..]}}`; no taints remove the field.
fn taints_patch(cluster: &Cluster, taints: &[Taint]) -> Value {
    let taints = if taints.is_empty() {
        Value::Null
    } else {
        serde_json::to_value(taints).unwrap_or(Value::Null)
    };
    json!({
        "metadata": {"resourceVersion": cluster.resource_version()},
        "spec": {"taints": taints},
    })
}

/// Applies `edit` to cluster `name` (with `dry_run`, only as a server-side dry run); returns
/// kubectl's line, e.g. `cluster/member1 tainted` (`... (dry run)`).
pub async fn taint(target: &Target, name: &str, edit: &TaintEdit, dry_run: bool) -> Result<String> {
    update_taints(target, name, dry_run, |cluster| {
        let (op, taints) = apply_edit(name, &cluster.spec.taints, edit)?;
        let line = format!("cluster/{name} {op}{}", dry_run_suffix(dry_run));
        Ok(if taints == cluster.spec.taints {
            Decision::Keep(line)
        } else {
            Decision::Set(taints, line)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn rm(key: &str, effect: Option<&str>) -> TaintRemoval {
        TaintRemoval {
            key: key.into(),
            effect: effect.map(String::from),
        }
    }

    #[test]
    fn add_to_empty_is_tainted() {
        let edit = TaintEdit {
            add: vec![t("a", "1", "NoSchedule")],
            ..Default::default()
        };
        let (op, new) = apply_edit("m", &[], &edit).unwrap();
        assert_eq!(op, Operation::Tainted);
        assert_eq!(new, vec![t("a", "1", "NoSchedule")]);
    }

    #[test]
    fn existing_key_and_effect_needs_overwrite() {
        let old = [t("a", "1", "NoSchedule"), t("b", "", "NoExecute")];
        let edit = TaintEdit {
            add: vec![t("a", "2", "NoSchedule")],
            ..Default::default()
        };
        let err = apply_edit("m", &old, &edit).unwrap_err().to_string();
        assert_eq!(
            err,
            "cluster m already has a taint(s) with same effect(s) and --overwrite is false"
        );
        let edit = TaintEdit {
            overwrite: true,
            ..edit
        };
        let (op, new) = apply_edit("m", &old, &edit).unwrap();
        assert_eq!(op, Operation::Modified);
        assert_eq!(
            new,
            vec![t("a", "2", "NoSchedule"), t("b", "", "NoExecute")]
        );
        // Same key, other effect: a new taint.
        let edit = TaintEdit {
            add: vec![t("a", "1", "NoExecute")],
            ..Default::default()
        };
        assert_eq!(apply_edit("m", &old, &edit).unwrap().0, Operation::Tainted);
    }

    #[test]
    fn removal_by_key_or_key_and_effect() {
        let old = [t("a", "1", "NoSchedule"), t("a", "", "NoExecute")];
        let by_effect = TaintEdit {
            remove: vec![rm("a", Some("NoExecute"))],
            ..Default::default()
        };
        let (op, new) = apply_edit("m", &old, &by_effect).unwrap();
        assert_eq!(op, Operation::Untainted);
        assert_eq!(new, vec![t("a", "1", "NoSchedule")]);
        let by_key = TaintEdit {
            remove: vec![rm("a", None)],
            ..Default::default()
        };
        assert!(apply_edit("m", &old, &by_key).unwrap().1.is_empty());
        let missing = TaintEdit {
            remove: vec![rm("zzz", Some("NoSchedule"))],
            ..Default::default()
        };
        assert_eq!(
            apply_edit("m", &old, &missing).unwrap_err().to_string(),
            r#"taint "zzz:NoSchedule" not found"#
        );
    }

    #[test]
    fn add_and_remove_together_is_modified() {
        let old = [t("a", "1", "NoSchedule")];
        let edit = TaintEdit {
            add: vec![t("b", "", "NoSchedule")],
            remove: vec![rm("a", None)],
            overwrite: false,
        };
        let (op, new) = apply_edit("m", &old, &edit).unwrap();
        assert_eq!(op, Operation::Modified);
        assert_eq!(new, vec![t("b", "", "NoSchedule")]);
    }

    #[test]
    fn patch_carries_the_resource_version() {
        let mut c = Cluster::new("m", Default::default());
        c.metadata.resource_version = Some("42".into());
        let p = taints_patch(&c, &[]);
        assert_eq!(p["metadata"]["resourceVersion"], "42");
        assert!(p["spec"]["taints"].is_null());
    }
}
