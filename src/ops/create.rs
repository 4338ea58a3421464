//! `karmadactl create -f FILE [-C CLUSTER]`: creates every object of the files in the control
//! plane (or a member), like `kubectl create -f`: objects that already exist are errors, the
//! others are still created.

use std::path::PathBuf;

use kube::api::{DynamicObject, PostParams};

use crate::ops::objects::{self, DryRun, FileObject};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// Field manager of what create, edit, label, annotate and patch write.
pub const FIELD_MANAGER: &str = "karmadactl";

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `-f`: files, directories, `-` for stdin.
    pub files: Vec<PathBuf>,
    /// `-n`; when unset, the namespace of the control plane's kubeconfig context.
    pub namespace: Option<String>,
    pub dry_run: DryRun,
}

/// What a write command did: lines for stdout (`deployment.apps/nginx created`), the objects
/// written (for `-o`), and one line per object that failed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<String>,
    pub written: Vec<(String, serde_json::Value)>,
    pub errors: Vec<Error>,
}

/// Creates every object; a failure does not stop the others.
pub async fn create(session: &Session, opts: &CreateOptions) -> Result<Outcome> {
    let docs = objects::read_files(&opts.files)?;
    let planned = objects::resolve_documents(session, docs, opts.namespace.as_deref()).await?;
    let mut outcome = Outcome::default();
    for p in planned {
        match create_one(session, &p, opts.dry_run).await {
            Ok((shown, object)) => {
                outcome
                    .lines
                    .push(format!("{shown} created{}", opts.dry_run.suffix()));
                outcome.written.push((shown, object));
            }
            Err(e) => outcome.errors.push(e),
        }
    }
    Ok(outcome)
}

async fn create_one(
    session: &Session,
    p: &FileObject,
    dry_run: DryRun,
) -> Result<(String, serde_json::Value)> {
    if p.name().is_empty()
        && p.doc["metadata"]["generateName"]
            .as_str()
            .is_none_or(str::is_empty)
    {
        return Err(Error::Invalid(format!(
            "{}: {} has neither metadata.name nor metadata.generateName",
            p.source, p.resolved.ar.kind
        )));
    }
    let object: DynamicObject = serde_json::from_value(p.doc.clone())
        .map_err(|e| Error::Invalid(format!("{}: {}: {e}", p.source, p.display())))?;
    if dry_run == DryRun::Client {
        return Ok((p.display(), objects::shown(&object)));
    }
    let params = PostParams {
        dry_run: dry_run.server(),
        field_manager: Some(FIELD_MANAGER.into()),
    };
    let created = p
        .api(&session.client)
        .create(&params, &object)
        .await
        .map_err(|e| objects::write_error(session, &p.display(), e))?;
    let shown = objects::display_name(&p.resolved.ar, &kube::ResourceExt::name_any(&created));
    Ok((shown, objects::shown(&created)))
}
