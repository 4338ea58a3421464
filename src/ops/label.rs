//! `karmadactl label` and `karmadactl annotate`: `KEY=VALUE` sets, `KEY-` removes, on
//! `TYPE NAME...`, `TYPE/NAME...`, `-f FILE`, `TYPE -l SELECTOR` or `TYPE --all`, in the control
//! plane or one member, like kubectl (an existing key needs `--overwrite`; `--list` prints
//! them; `--resource-version` only changes an unchanged object).

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::ops::create::{FIELD_MANAGER, Outcome};
use crate::ops::objects::{self, DryRun, Selection, TypeNames};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// Which map the command edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Which {
    #[default]
    Labels,
    Annotations,
}

impl Which {
    fn field(self) -> &'static str {
        match self {
            Which::Labels => "labels",
            Which::Annotations => "annotations",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Which::Labels => "labeled",
            Which::Annotations => "annotated",
        }
    }

    fn map(self, object: &kube::api::DynamicObject) -> BTreeMap<String, String> {
        match self {
            Which::Labels => object.labels().clone(),
            Which::Annotations => object.annotations().clone(),
        }
    }
}

/// The changes: keys to set and keys to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

/// Splits the positional arguments into the resource arguments and the changes
/// (`KEY=VALUE`, `KEY-`), which come last.
pub fn split_args(args: &[String]) -> Result<(Vec<String>, Changes)> {
    let is_change = |a: &str| a.contains('=') || (a.ends_with('-') && a.len() > 1);
    let first_change = args.iter().position(|a| is_change(a)).unwrap_or(args.len());
    let (resources, changes) = args.split_at(first_change);
    let mut out = Changes::default();
    for c in changes {
        if let Some((k, v)) = c.split_once('=') {
            if k.is_empty() {
                return Err(Error::Invalid(format!("invalid change {c:?}: empty key")));
            }
            if out.set.insert(k.to_string(), v.to_string()).is_some() {
                return Err(Error::Invalid(format!("{k} is set twice")));
            }
        } else if let Some(k) = c.strip_suffix('-').filter(|_| is_change(c)) {
            out.remove.push(k.to_string());
        } else {
            return Err(Error::Invalid(format!(
                "{c:?} follows KEY=VALUE arguments; put every resource before the changes \
                 (TYPE NAME KEY=VALUE KEY-)"
            )));
        }
    }
    if let Some(k) = out.remove.iter().find(|k| out.set.contains_key(*k)) {
        return Err(Error::Invalid(format!(
            "can not both modify and remove {k:?} in the same command"
        )));
    }
    Ok((resources.to_vec(), out))
}

#[derive(Debug, Clone, Default)]
pub struct MetaOptions {
    pub which: Which,
    pub types: Vec<TypeNames>,
    pub files: Vec<PathBuf>,
    pub selection: Selection,
    /// `--all`: every object of the types.
    pub all: bool,
    pub changes: Changes,
    pub overwrite: bool,
    /// `--list`: print the current keys instead of changing them.
    pub list: bool,
    pub resource_version: Option<String>,
    pub dry_run: DryRun,
}

/// The merge patch for one object, or why the change is refused; None when nothing changes.
pub fn patch_for(
    which: Which,
    current: &BTreeMap<String, String>,
    changes: &Changes,
    overwrite: bool,
    resource_version: Option<&str>,
) -> std::result::Result<Option<Value>, String> {
    let mut map = Map::new();
    for (k, v) in &changes.set {
        match current.get(k) {
            Some(old) if old == v => {}
            Some(old) if !overwrite => {
                return Err(format!(
                    "'{k}' already has a value ({old}), and --overwrite is false"
                ));
            }
            _ => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    for k in &changes.remove {
        if current.contains_key(k) {
            map.insert(k.clone(), Value::Null);
        }
    }
    if map.is_empty() {
        return Ok(None);
    }
    let mut meta = json!({ which.field(): map });
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = json!(rv);
    }
    Ok(Some(json!({ "metadata": meta })))
}

/// Applies the changes to every object (or lists their keys). Lines are kubectl's:
/// `deployment.apps/nginx labeled`, `... not labeled` when nothing changed.
pub async fn run(session: &Session, opts: &MetaOptions) -> Result<Outcome> {
    let found = objects::pick(session, &opts.types, &opts.files, &opts.selection).await?;
    let mut outcome = Outcome::default();
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "No resources found{}",
            session.place.suffix()
        )));
    }
    let several = found.len() > 1;
    for s in found {
        let current = opts.which.map(&s.object);
        if opts.list {
            if several {
                outcome.lines.push(format!(
                    "Listing {} for {}:",
                    opts.which.field(),
                    s.display()
                ));
            }
            outcome
                .lines
                .extend(current.iter().map(|(k, v)| format!("{k}={v}")));
            continue;
        }
        let shown = s.display();
        let patch = match patch_for(
            opts.which,
            &current,
            &opts.changes,
            opts.overwrite,
            opts.resource_version.as_deref(),
        ) {
            Ok(p) => p,
            Err(why) => {
                outcome.errors.push(Error::Invalid(format!(
                    "{shown}{}: {why}",
                    session.place.suffix()
                )));
                continue;
            }
        };
        let Some(patch) = patch else {
            outcome
                .lines
                .push(format!("{shown} not {}", opts.which.verb()));
            outcome.written.push((shown, objects::shown(&s.object)));
            continue;
        };
        if opts.dry_run == DryRun::Client {
            outcome.lines.push(format!(
                "{shown} {}{}",
                opts.which.verb(),
                opts.dry_run.suffix()
            ));
            outcome.written.push((shown, objects::shown(&s.object)));
            continue;
        }
        let params = PatchParams {
            dry_run: opts.dry_run.server(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        match s
            .api(&session.client)
            .patch(&s.object.name_any(), &params, &Patch::Merge(&patch))
            .await
        {
            Ok(after) => {
                outcome.lines.push(format!(
                    "{shown} {}{}",
                    opts.which.verb(),
                    opts.dry_run.suffix()
                ));
                outcome.written.push((shown, objects::shown(&after)));
            }
            Err(e) => outcome
                .errors
                .push(objects::write_error(session, &shown, e)),
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arguments_split_into_resources_and_changes() {
        let (res, ch) = split_args(&s(&["deploy", "web", "a=1", "karmada.io/x=", "b-"])).unwrap();
        assert_eq!(res, s(&["deploy", "web"]));
        assert_eq!(ch.set.get("a").map(String::as_str), Some("1"));
        assert_eq!(ch.set.get("karmada.io/x").map(String::as_str), Some(""));
        assert_eq!(ch.remove, s(&["b"]));
        assert!(split_args(&s(&["deploy", "a=1", "web"])).is_err());
        assert!(split_args(&s(&["deploy", "web", "a=1", "a-"])).is_err());
        assert!(split_args(&s(&["deploy", "web", "=1"])).is_err());
    }

    #[test]
    fn existing_keys_need_overwrite() {
        let current: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        let set = |k: &str, v: &str| Changes {
            set: [(k.to_string(), v.to_string())].into(),
            remove: vec![],
        };
        assert_eq!(
            patch_for(Which::Labels, &current, &set("a", "2"), false, None).unwrap_err(),
            "'a' already has a value (1), and --overwrite is false"
        );
        assert_eq!(
            patch_for(Which::Labels, &current, &set("a", "2"), true, Some("7")).unwrap(),
            Some(json!({"metadata": {"labels": {"a": "2"}, "resourceVersion": "7"}}))
        );
        assert_eq!(
            patch_for(Which::Annotations, &current, &set("a", "1"), false, None).unwrap(),
            None
        );
        let remove = Changes {
            set: BTreeMap::new(),
            remove: vec!["a".into(), "missing".into()],
        };
        assert_eq!(
            patch_for(Which::Annotations, &current, &remove, false, None).unwrap(),
            Some(json!({"metadata": {"annotations": {"a": null}}}))
        );
    }
}
