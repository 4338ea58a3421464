//! `karmadactl delete (-f FILE | TYPE NAME... | TYPE/NAME... | TYPE -l SELECTOR | TYPE --all)
//! [-C CLUSTER]`, like `kubectl delete`: in the control plane (templates, policies: their
//! propagated copies go with them) or one member; by default it waits until the objects are
//! gone (finalizers done).

use std::path::PathBuf;
use std::time::Duration;

use kube::ResourceExt as _;
use kube::api::{DeleteParams, ListParams, PropagationPolicy};

use crate::client::kinds::Resolved;
use crate::ops::create::Outcome;
use crate::ops::objects::{self, DryRun, Selection, TypeNames};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// `--cascade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Cascade {
    /// Dependents are deleted in the background
    #[default]
    Background,
    /// Dependents are deleted first
    Foreground,
    /// Dependents are left behind
    Orphan,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub types: Vec<TypeNames>,
    pub files: Vec<PathBuf>,
    pub selection: Selection,
    /// `--all`: every object of the types (in the namespace, or all with -A).
    pub all: bool,
    pub ignore_not_found: bool,
    pub cascade: Cascade,
    /// `--grace-period` (`--now`: 1; `--force`: 0).
    pub grace_period: Option<u32>,
    pub dry_run: DryRun,
    /// Wait until the objects are gone.
    pub wait: bool,
    /// How long to wait; None: until they are gone.
    pub timeout: Option<Duration>,
}

/// One object to delete.
#[derive(Debug, Clone)]
pub struct Target {
    pub resolved: Resolved,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
}

impl Target {
    /// `deployment.apps "nginx"`: kubectl's wording in delete output.
    pub fn quoted(&self) -> String {
        let prefix = self.resolved.name_prefix();
        format!("{prefix} {:?}", self.name)
    }
}

/// The objects the options name (missing names are errors unless --ignore-not-found).
pub async fn targets(session: &Session, opts: &DeleteOptions) -> Result<(Vec<Target>, Vec<Error>)> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let namespace = session.namespace(opts.selection.namespace.as_deref());
    if !opts.files.is_empty() {
        let docs = objects::read_files(&opts.files)?;
        for p in
            objects::resolve_documents(session, docs, opts.selection.namespace.as_deref()).await?
        {
            if p.name().is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: a {} without metadata.name cannot be deleted",
                    p.source, p.resolved.ar.kind
                )));
            }
            match p.api(&session.client).get_opt(p.name()).await {
                Ok(Some(o)) => out.push(Target {
                    resolved: p.resolved.clone(),
                    namespace: p.namespace.clone(),
                    name: o.name_any(),
                    uid: o.uid(),
                }),
                Ok(None) if opts.ignore_not_found => {}
                Ok(None) => errors.push(objects::not_found(
                    session,
                    &p.resolved,
                    p.namespace.as_deref().unwrap_or_default(),
                    p.name(),
                )),
                Err(e) => errors.push(session.error(&p.display(), e)),
            }
        }
        return Ok((out, errors));
    }
    for t in &opts.types {
        let resolved = objects::resolve(session, &t.resource).await?;
        if t.names.is_empty() {
            let ns = (!opts.selection.all_namespaces).then_some(namespace.as_str());
            let api = objects::api(&session.client, &resolved, ns);
            let mut params = ListParams::default();
            if let Some(s) = &opts.selection.selector {
                params = params.labels(s);
            }
            if let Some(s) = &opts.selection.field_selector {
                params = params.fields(s);
            }
            let list = api.list_metadata(&params).await.map_err(|e| match e {
                kube::Error::Api(s) if s.code == 400 => Error::Invalid(format!(
                    "invalid selector for {}: {}",
                    resolved.qualified(),
                    s.message
                )),
                e => session.error(&resolved.qualified(), e),
            })?;
            let mut items = list.items;
            items.sort_by_key(|o| (o.namespace(), o.name_any()));
            out.extend(items.into_iter().map(|o| Target {
                resolved: resolved.clone(),
                namespace: o.namespace(),
                name: o.name_any(),
                uid: o.uid(),
            }));
            continue;
        }
        let api = objects::api(&session.client, &resolved, Some(&namespace));
        for name in &t.names {
            match api.get_metadata_opt(name).await {
                Ok(Some(o)) => out.push(Target {
                    resolved: resolved.clone(),
                    namespace: o.namespace(),
                    name: o.name_any(),
                    uid: o.uid(),
                }),
                Ok(None) if opts.ignore_not_found => {}
                Ok(None) => errors.push(objects::not_found(session, &resolved, &namespace, name)),
                Err(e) => errors.push(session.error(&objects::display_name(&resolved.ar, name), e)),
            }
        }
    }
    Ok((out, errors))
}

fn params(opts: &DeleteOptions, uid: Option<&str>) -> DeleteParams {
    DeleteParams {
        dry_run: opts.dry_run.server(),
        grace_period_seconds: opts.grace_period,
        propagation_policy: Some(match opts.cascade {
            Cascade::Background => PropagationPolicy::Background,
            Cascade::Foreground => PropagationPolicy::Foreground,
            Cascade::Orphan => PropagationPolicy::Orphan,
        }),
        // Only the object that was looked at, not one re-created meanwhile.
        preconditions: uid.map(|u| kube::api::Preconditions {
            uid: Some(u.to_string()),
            resource_version: None,
        }),
    }
}

/// Deletes the targets, then (with `wait`) waits until each is gone. Lines are kubectl's
/// `deployment.apps "nginx" deleted`.
pub async fn delete(
    session: &Session,
    opts: &DeleteOptions,
    targets: &[Target],
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut deleted = Vec::new();
    for t in targets {
        let line = format!("{} deleted{}", t.quoted(), opts.dry_run.suffix());
        let name = objects::display_name(&t.resolved.ar, &t.name);
        if opts.dry_run == DryRun::Client {
            outcome.lines.push(line);
            outcome.written.push((name, serde_json::Value::Null));
            continue;
        }
        let api = objects::api(&session.client, &t.resolved, t.namespace.as_deref());
        match api.delete(&t.name, &params(opts, t.uid.as_deref())).await {
            Ok(_) => {
                outcome.lines.push(line);
                outcome.written.push((name, serde_json::Value::Null));
                deleted.push(t);
            }
            Err(kube::Error::Api(s)) if s.code == 404 && opts.ignore_not_found => {}
            // Gone meanwhile (404), or replaced by a new object (409 on the uid precondition).
            Err(kube::Error::Api(s)) if s.code == 404 => outcome.errors.push(objects::not_found(
                session,
                &t.resolved,
                t.namespace.as_deref().unwrap_or_default(),
                &t.name,
            )),
            Err(e) => outcome
                .errors
                .push(session.error(&objects::display_name(&t.resolved.ar, &t.name), e)),
        }
    }
    if opts.wait && opts.dry_run == DryRun::None {
        let deadline = opts.timeout.map(|t| tokio::time::Instant::now() + t);
        for t in deleted {
            if let Err(e) = wait_gone(session, t, deadline).await {
                outcome.errors.push(e);
            }
        }
    }
    Ok(outcome)
}

/// Polls until the object (this uid) is gone.
async fn wait_gone(
    session: &Session,
    t: &Target,
    deadline: Option<tokio::time::Instant>,
) -> Result<()> {
    let api = objects::api(&session.client, &t.resolved, t.namespace.as_deref());
    loop {
        match api.get_metadata_opt(&t.name).await {
            Ok(None) => return Ok(()),
            Ok(Some(o)) if o.uid() != t.uid => return Ok(()),
            Ok(Some(o)) => {
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    let finalizers = o.finalizers().join(", ");
                    return Err(Error::Timeout(format!(
                        "{}{} is still being deleted{}; it goes once they finish (or rerun with \
                         --wait=false)",
                        objects::display_name(&t.resolved.ar, &t.name),
                        session.place.suffix(),
                        if finalizers.is_empty() {
                            String::new()
                        } else {
                            format!(", waiting for finalizers {finalizers}")
                        }
                    )));
                }
            }
            Err(e) => return Err(session.error(&objects::display_name(&t.resolved.ar, &t.name), e)),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
