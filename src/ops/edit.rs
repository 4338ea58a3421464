//! `karmadactl edit (TYPE NAME | TYPE/NAME | -f FILE) [-C CLUSTER]`, like `kubectl edit`: the
//! objects go into a YAML file opened with `$KUBE_EDITOR`, `$EDITOR` or (on a terminal) `vi`;
//! what changed is sent as a JSON merge patch, so fields nobody edited (status a controller
//! writes meanwhile) are not overwritten. Without an editor and a terminal it fails at once.

use std::path::{Path, PathBuf};

use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use serde::Deserialize as _;
use serde_json::{Map, Value, json};

use crate::ops::create::{FIELD_MANAGER, Outcome};
use crate::ops::objects::{self, DryRun, Selected, Selection, TypeNames};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// The comment at the top of the file, as kubectl writes it.
pub const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n\
# and an empty file will abort the edit. If an error occurs while saving, the edit is\n\
# aborted and a copy of your changes is kept (its path is printed).\n#\n";

#[derive(Debug, Clone, Default)]
pub struct EditOptions {
    pub types: Vec<TypeNames>,
    pub files: Vec<PathBuf>,
    pub selection: Selection,
    pub dry_run: DryRun,
}

/// The editor command: `$KUBE_EDITOR`, else `$EDITOR`, else `vi` when a person is at a
/// terminal. Without any of them, an error that says what to do (never a blocked process).
pub fn choose_editor(
    kube_editor: Option<&str>,
    editor: Option<&str>,
    terminal: bool,
) -> Result<String> {
    let set = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    if let Some(e) = set(kube_editor).or_else(|| set(editor)) {
        return Ok(e);
    }
    if terminal {
        return Ok("vi".into());
    }
    Err(Error::Invalid(
        "edit needs an editor: set KUBE_EDITOR or EDITOR (e.g. EDITOR=vi), or run it in a \
         terminal; to change objects from a script use `karmadactl patch` or `karmadactl apply -f`"
            .into(),
    ))
}

/// The objects to edit.
pub async fn load(session: &Session, opts: &EditOptions) -> Result<Vec<Selected>> {
    let found = objects::pick(session, &opts.types, &opts.files, &opts.selection).await?;
    if found.is_empty() {
        return Err(Error::NotFound(format!(
            "no objects to edit{}",
            session.place.suffix()
        )));
    }
    Ok(found)
}

/// The text the editor opens: the header, then the object (or a `v1 List` of them) as YAML.
pub fn document(objects: &[Selected]) -> Result<String> {
    let values: Vec<Value> = objects.iter().map(|s| objects::shown(&s.object)).collect();
    let value = match values.as_slice() {
        [one] => one.clone(),
        many => json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": many}),
    };
    let yaml = crate::output::document(&value, crate::output::DocFormat::Yaml)?;
    Ok(format!("{HEADER}{yaml}"))
}

/// The edited objects, in order; None when the file was emptied (edit cancelled).
pub fn parse_edited(text: &str) -> Result<Option<Vec<Value>>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    if body.trim().is_empty() {
        return Ok(None);
    }
    let value = Value::deserialize(serde_yaml::Deserializer::from_str(&body))
        .map_err(|e| Error::Invalid(format!("the edited file is not valid YAML: {e}")))?;
    if value["kind"] == "List" && value["items"].is_array() {
        return Ok(Some(value["items"].as_array().cloned().unwrap_or_default()));
    }
    Ok(Some(vec![value]))
}

/// The JSON merge patch (RFC 7386) that turns `original` into `edited`.
pub fn merge_patch(original: &Value, edited: &Value) -> Option<Value> {
    match (original, edited) {
        (Value::Object(a), Value::Object(b)) => {
            let mut patch = Map::new();
            for (k, old) in a {
                match b.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(new) => {
                        if let Some(p) = merge_patch(old, new) {
                            patch.insert(k.clone(), p);
                        }
                    }
                }
            }
            for (k, new) in b {
                if !a.contains_key(k) {
                    patch.insert(k.clone(), new.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        (a, b) if a == b => None,
        (_, b) => Some(b.clone()),
    }
}

/// Fields edit cannot change: which object it is.
fn identity(v: &Value) -> (Value, Value, Value, Value) {
    (
        v["apiVersion"].clone(),
        v["kind"].clone(),
        v["metadata"]["name"].clone(),
        v["metadata"]["namespace"].clone(),
    )
}

/// Sends what changed in each object. Lines: `deployment.apps/nginx edited`; an unchanged
/// file gives no lines (the caller says the edit was cancelled).
pub async fn apply(
    session: &Session,
    originals: &[Selected],
    edited: &[Value],
    dry_run: DryRun,
) -> Result<Outcome> {
    if edited.len() != originals.len() {
        return Err(Error::Invalid(format!(
            "the edited file holds {} objects, {} were opened; objects cannot be added or \
             removed in edit",
            edited.len(),
            originals.len()
        )));
    }
    let mut outcome = Outcome::default();
    for (s, new) in originals.iter().zip(edited) {
        let old = objects::shown(&s.object);
        let shown = s.display();
        if identity(&old) != identity(new) {
            outcome.errors.push(Error::Invalid(format!(
                "{shown}: apiVersion, kind, name and namespace cannot be changed in edit"
            )));
            continue;
        }
        let Some(mut patch) = merge_patch(&old, new) else {
            continue;
        };
        // Only a change to the version that was opened: a concurrent write of the same
        // fields is a conflict, not silently overwritten.
        if patch
            .get("metadata")
            .is_some_and(|m| m.get("resourceVersion").is_some())
        {
            outcome.errors.push(Error::Invalid(format!(
                "{shown}: metadata.resourceVersion cannot be changed in edit"
            )));
            continue;
        }
        patch["metadata"]["resourceVersion"] = json!(s.object.resource_version());
        if dry_run == DryRun::Client {
            outcome
                .lines
                .push(format!("{shown} edited{}", dry_run.suffix()));
            continue;
        }
        let params = PatchParams {
            dry_run: dry_run.server(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        match s
            .api(&session.client)
            .patch(&s.object.name_any(), &params, &Patch::Merge(&patch))
            .await
        {
            Ok(after) => {
                outcome
                    .lines
                    .push(format!("{shown} edited{}", dry_run.suffix()));
                outcome.written.push((shown, objects::shown(&after)));
            }
            Err(e) => outcome
                .errors
                .push(objects::write_error(session, &shown, e)),
        }
    }
    Ok(outcome)
}

/// Runs `editor` on `path` through `sh -c` (so `EDITOR="code --wait"` works) and waits.
pub async fn run_editor(editor: &str, path: &Path) -> Result<()> {
    let editor = editor.to_string();
    let path = path.to_path_buf();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status()
    })
    .await
    .map_err(|e| Error::Internal(format!("editor task: {e}")))?
    .map_err(|e| Error::io("starting the editor", e))?;
    if !status.success() {
        return Err(Error::Invalid(format!(
            "the editor exited with {status}; nothing was changed"
        )));
    }
    Ok(())
}

/// A file for the objects being edited (0600: they may hold Secrets).
pub fn temp_file(text: &str) -> Result<PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = std::env::temp_dir().join(format!("karmadactl-edit-{}.yaml", uuid::Uuid::new_v4()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_editor_and_no_terminal_is_an_error_not_a_hang() {
        assert_eq!(
            choose_editor(Some("nano"), Some("vi"), false).unwrap(),
            "nano"
        );
        assert_eq!(choose_editor(None, Some("ed"), false).unwrap(), "ed");
        assert_eq!(choose_editor(Some(" "), None, true).unwrap(), "vi");
        let err = choose_editor(None, None, false).unwrap_err().to_string();
        assert!(err.contains("KUBE_EDITOR or EDITOR"), "{err}");
    }

    #[test]
    fn merge_patch_holds_only_the_edits() {
        let old = json!({"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}},
            "spec": {"replicas": 1, "ports": [1, 2]}, "status": {"ready": 1}});
        let new = json!({"metadata": {"name": "a", "labels": {"x": "1", "z": "3"}},
            "spec": {"replicas": 3, "ports": [1, 2]}, "status": {"ready": 1}});
        assert_eq!(
            merge_patch(&old, &new),
            Some(json!({"metadata": {"labels": {"y": null, "z": "3"}}, "spec": {"replicas": 3}}))
        );
        assert_eq!(merge_patch(&old, &old), None);
    }

    #[test]
    fn comments_are_ignored_and_empty_cancels() {
        assert_eq!(parse_edited("# only\n#comments\n\n").unwrap(), None);
        let items = parse_edited(&format!(
            "{HEADER}apiVersion: v1\nkind: List\nitems:\n- {{kind: A}}\n- {{kind: B}}\n"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(items.len(), 2);
        assert!(parse_edited("a: [").is_err());
    }
}
