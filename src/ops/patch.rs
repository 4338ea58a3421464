//! `karmadactl patch (TYPE NAME | TYPE/NAME | -f FILE) -p PATCH [--type strategic|merge|json]
//! [-C CLUSTER]`, like `kubectl patch`: strategic merge by default (built-in kinds), JSON merge
//! patch, or JSON patch; `--subresource status|scale`.

use std::path::PathBuf;

use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};
use serde::Deserialize as _;
use serde_json::Value;

use crate::ops::create::{FIELD_MANAGER, Outcome};
use crate::ops::objects::{self, DryRun, Selection, TypeNames};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// `--type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PatchType {
    /// Strategic merge patch (built-in kinds; lists merge by their keys)
    #[default]
    Strategic,
    /// JSON merge patch (RFC 7386): maps merge, lists are replaced, null removes
    Merge,
    /// JSON patch (RFC 6902): a list of operations
    Json,
}

#[derive(Debug, Clone, Default)]
pub struct PatchOptions {
    pub types: Vec<TypeNames>,
    pub files: Vec<PathBuf>,
    pub selection: Selection,
    /// The patch, JSON or YAML.
    pub patch: String,
    pub patch_type: PatchType,
    pub subresource: Option<String>,
    pub dry_run: DryRun,
}

/// Parses the patch text (JSON or YAML) and checks its shape for the type.
pub fn parse_patch(text: &str, patch_type: PatchType) -> Result<Value> {
    let value = Value::deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(|e| Error::Invalid(format!("the patch is not valid JSON or YAML: {e}")))?;
    match (patch_type, &value) {
        (PatchType::Json, Value::Array(_)) => Ok(value),
        (PatchType::Json, _) => Err(Error::Invalid(
            "a JSON patch (--type json) is a list of operations, e.g. \
             '[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3}]'"
                .into(),
        )),
        (_, Value::Object(_)) => Ok(value),
        _ => Err(Error::Invalid(
            "a strategic or merge patch is an object, e.g. '{\"spec\": {\"replicas\": 3}}'; \
             for a list of operations use --type json"
                .into(),
        )),
    }
}

/// Patches every object named. Lines: `deployment.apps/nginx patched`, or `patched (no
/// change)` when the server kept the object as it was.
pub async fn patch(session: &Session, opts: &PatchOptions) -> Result<Outcome> {
    let value = parse_patch(&opts.patch, opts.patch_type)?;
    let found = objects::pick(session, &opts.types, &opts.files, &opts.selection).await?;
    let mut outcome = Outcome::default();
    for s in found {
        let shown = s.display();
        if opts.dry_run == DryRun::Client {
            outcome
                .lines
                .push(format!("{shown} patched{}", opts.dry_run.suffix()));
            outcome.written.push((shown, objects::shown(&s.object)));
            continue;
        }
        let params = PatchParams {
            dry_run: opts.dry_run.server(),
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let patch: Patch<Value> = match opts.patch_type {
            PatchType::Strategic => Patch::Strategic(value.clone()),
            PatchType::Merge => Patch::Merge(value.clone()),
            PatchType::Json => Patch::Json(
                serde_json::from_value(value.clone())
                    .map_err(|e| Error::Invalid(format!("invalid JSON patch: {e}")))?,
            ),
        };
        let api = s.api(&session.client);
        let name = s.object.name_any();
        let result = match opts.subresource.as_deref() {
            None => api.patch(&name, &params, &patch).await,
            Some(sub) => api.patch_subresource(sub, &name, &params, &patch).await,
        };
        match result {
            Ok(after) => {
                let unchanged = after.resource_version() == s.object.resource_version()
                    && opts.dry_run == DryRun::None;
                outcome.lines.push(format!(
                    "{shown} patched{}",
                    if unchanged {
                        " (no change)"
                    } else {
                        opts.dry_run.suffix()
                    }
                ));
                outcome.written.push((shown, objects::shown(&after)));
            }
            Err(kube::Error::Api(st)) if st.code == 415 => {
                outcome.errors.push(Error::Invalid(format!(
                    "{shown}{}: strategic merge patch is not supported for {} (custom resources \
                 take --type merge or --type json)",
                    session.place.suffix(),
                    s.resolved.qualified()
                )))
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

    #[test]
    fn patches_are_json_or_yaml_of_the_right_shape() {
        assert_eq!(
            parse_patch("{\"spec\": {\"replicas\": 3}}", PatchType::Merge).unwrap()["spec"]["replicas"],
            3
        );
        assert_eq!(
            parse_patch("spec:\n  replicas: 2\n", PatchType::Strategic).unwrap()["spec"]["replicas"],
            2
        );
        assert!(parse_patch("[{\"op\": \"remove\", \"path\": \"/x\"}]", PatchType::Json).is_ok());
        assert!(parse_patch("{\"spec\": {}}", PatchType::Json).is_err());
        assert!(parse_patch("[]", PatchType::Merge).is_err());
        assert!(parse_patch("{", PatchType::Merge).is_err());
    }
}
