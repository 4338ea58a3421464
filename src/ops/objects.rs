//! Which objects a kubectl-style command acts on: `TYPE NAME...`, `TYPE/NAME...`,
//! `TYPE1,TYPE2 NAME`, `TYPE -l SELECTOR`, `TYPE --all`, or the objects in `-f` files, resolved
//! by discovery in the one cluster of a [`Session`].

use std::io::Read as _;
use std::path::PathBuf;

use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, ResourceExt as _};
use serde::Deserialize as _;
use serde_json::Value;

use crate::client::kinds::{self, Resolved};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// One resource type with the names asked for (empty: every object, or those `-l` selects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeNames {
    pub resource: String,
    pub names: Vec<String>,
}

/// Parses kubectl's positional forms: `TYPE[,TYPE...] [NAME...]` or `TYPE/NAME...`.
pub fn parse_args(args: &[String]) -> Result<Vec<TypeNames>> {
    let Some(first) = args.first() else {
        return Ok(Vec::new());
    };
    if first.contains('/') {
        let mut out: Vec<TypeNames> = Vec::new();
        for a in args {
            let Some((t, n)) = a
                .split_once('/')
                .filter(|(t, n)| !t.is_empty() && !n.is_empty())
            else {
                return Err(Error::Invalid(format!(
                    "there is no need to specify a resource type as a separate argument when \
                     passing arguments in resource/name form (e.g. 'karmadactl get \
                     resource/<resource_name>' instead of 'karmadactl get resource \
                     resource/<resource_name>'); got {a:?}"
                )));
            };
            match out.iter_mut().find(|x| x.resource == t) {
                Some(x) => x.names.push(n.to_string()),
                None => out.push(TypeNames {
                    resource: t.to_string(),
                    names: vec![n.to_string()],
                }),
            }
        }
        return Ok(out);
    }
    if let Some(bad) = args[1..].iter().find(|a| a.contains('/')) {
        return Err(Error::Invalid(format!(
            "arguments in resource/name form must have a single resource and name: {bad:?} \
             follows a resource type; pass either TYPE NAME... or TYPE/NAME..."
        )));
    }
    let names: Vec<String> = args[1..].to_vec();
    first
        .split(',')
        .map(|t| {
            if t.is_empty() {
                Err(Error::Invalid(format!(
                    "invalid resource type list {first:?}"
                )))
            } else {
                Ok(TypeNames {
                    resource: t.to_string(),
                    names: names.clone(),
                })
            }
        })
        .collect()
}

/// Resolves a resource type in the session's cluster, or says it is not served there.
pub async fn resolve(session: &Session, resource: &str) -> Result<Resolved> {
    match kinds::resolve(&session.client, resource).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(Error::NotFound(format!(
            "the server doesn't have a resource type {resource:?}{}; list the types with \
             `karmadactl api-resources{}`",
            session.place.suffix(),
            match &session.place {
                crate::ops::scope::Place::ControlPlane => String::new(),
                crate::ops::scope::Place::Member(m) => format!(" -C {m}"),
            }
        ))),
        Err(Error::Kube(e)) => Err(session.unreachable(e)),
        Err(e) => Err(e),
    }
}

/// The API for a resolved type: `namespace` for namespaced kinds (None: all namespaces).
pub fn api(client: &Client, resolved: &Resolved, namespace: Option<&str>) -> Api<DynamicObject> {
    match (resolved.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resolved.ar),
        _ => Api::all_with(client.clone(), &resolved.ar),
    }
}

/// `deployment.apps/nginx`, as kubectl names an object in its output.
pub fn display_name(ar: &ApiResource, name: &str) -> String {
    crate::ops::apply::display_name(ar, name)
}

/// An object found, with its type.
#[derive(Debug, Clone)]
pub struct Selected {
    pub resolved: Resolved,
    pub object: DynamicObject,
}

impl Selected {
    pub fn display(&self) -> String {
        display_name(&self.resolved.ar, &self.object.name_any())
    }

    /// The API to write this object with.
    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        api(
            client,
            &self.resolved,
            self.object.metadata.namespace.as_deref(),
        )
    }
}

/// How to pick objects when no names are given.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `-n`
    pub namespace: Option<String>,
    /// `-A`
    pub all_namespaces: bool,
    /// `-l`
    pub selector: Option<String>,
    /// `--field-selector`
    pub field_selector: Option<String>,
}

/// Gets the named objects, or lists those the selection picks. A missing name is an error
/// naming the type, the name and where it was looked for.
pub async fn select(
    session: &Session,
    types: &[TypeNames],
    selection: &Selection,
) -> Result<Vec<Selected>> {
    let namespace = session.namespace(selection.namespace.as_deref());
    let mut out = Vec::new();
    for t in types {
        let resolved = resolve(session, &t.resource).await?;
        if t.names.is_empty() {
            let ns = (!selection.all_namespaces).then_some(namespace.as_str());
            let api = api(&session.client, &resolved, ns);
            let mut params = ListParams::default();
            if let Some(s) = &selection.selector {
                params = params.labels(s);
            }
            if let Some(s) = &selection.field_selector {
                params = params.fields(s);
            }
            let list = api.list(&params).await.map_err(|e| match e {
                kube::Error::Api(s) if s.code == 400 => Error::Invalid(format!(
                    "invalid selector for {}: {}",
                    resolved.qualified(),
                    s.message
                )),
                e => session.error(&resolved.qualified(), e),
            })?;
            let mut items = list.items;
            items.sort_by_key(|o| (o.namespace(), o.name_any()));
            out.extend(items.into_iter().map(|object| Selected {
                resolved: resolved.clone(),
                object,
            }));
        } else {
            let api = api(&session.client, &resolved, Some(&namespace));
            for name in &t.names {
                match api.get_opt(name).await {
                    Ok(Some(object)) => out.push(Selected {
                        resolved: resolved.clone(),
                        object,
                    }),
                    Ok(None) => return Err(not_found(session, &resolved, &namespace, name)),
                    Err(e) => return Err(session.error(&display_name(&resolved.ar, name), e)),
                }
            }
        }
    }
    Ok(out)
}

/// `deployments.apps "x" not found in namespace default in cluster member1` (kubectl's words).
pub fn not_found(session: &Session, resolved: &Resolved, namespace: &str, name: &str) -> Error {
    Error::NotFound(format!(
        "{} {name:?} not found{}{}",
        resolved.qualified(),
        if resolved.namespaced {
            format!(" in namespace {namespace}")
        } else {
            String::new()
        },
        session.place.suffix()
    ))
}

/// Reads YAML or JSON documents from files (`-` is stdin; a directory reads its .yaml, .yml
/// and .json files), expanding `kind: List`.
pub fn read_files(files: &[PathBuf]) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for f in files {
        let mut paths = Vec::new();
        if f.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(f)
                .map_err(|e| Error::io(format!("reading directory {}", f.display()), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            entries.sort();
            paths.extend(entries);
        } else {
            paths.push(f.clone());
        }
        for p in paths {
            let (text, source) = if p.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| Error::io("reading stdin", e))?;
                (s, "stdin".to_string())
            } else {
                let s = std::fs::read_to_string(&p)
                    .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
                (s, p.display().to_string())
            };
            for v in parse_documents(&text, &source)? {
                out.push((source.clone(), v));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(
            "no objects passed: the files given with -f hold no documents".into(),
        ));
    }
    Ok(out)
}

/// Parses YAML or JSON documents (several per text, `kind: List` expanded); each needs
/// apiVersion and kind.
pub fn parse_documents(text: &str, source: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc)
            .map_err(|e| Error::Invalid(format!("{source}: document {}: {e}", i + 1)))?;
        if value.is_null() {
            continue;
        }
        let items = if value["kind"].as_str().is_some_and(|k| k.ends_with("List"))
            && value["items"].is_array()
        {
            value["items"].as_array().cloned().unwrap_or_default()
        } else {
            vec![value]
        };
        for v in items {
            for field in ["apiVersion", "kind"] {
                if v[field].as_str().is_none_or(str::is_empty) {
                    return Err(Error::Invalid(format!(
                        "{source}: document {}: no {field}",
                        i + 1
                    )));
                }
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// An object from a file, resolved: its type, namespace (None for cluster-scoped kinds) and
/// the document with the namespace filled in.
#[derive(Debug, Clone)]
pub struct FileObject {
    pub resolved: Resolved,
    pub namespace: Option<String>,
    pub doc: Value,
    pub source: String,
}

impl FileObject {
    pub fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn display(&self) -> String {
        let name = self.name();
        if name.is_empty() {
            let generate = self.doc["metadata"]["generateName"]
                .as_str()
                .unwrap_or_default();
            display_name(&self.resolved.ar, &format!("{generate}<generated>"))
        } else {
            display_name(&self.resolved.ar, name)
        }
    }

    pub fn api(&self, client: &Client) -> Api<DynamicObject> {
        api(client, &self.resolved, self.namespace.as_deref())
    }
}

/// Resolves every document's apiVersion/kind in the session's cluster and settles its
/// namespace (the document's, else `-n`, else the default; a document and `-n` that disagree
/// are an error, as in kubectl).
pub async fn resolve_documents(
    session: &Session,
    docs: Vec<(String, Value)>,
    namespace_flag: Option<&str>,
) -> Result<Vec<FileObject>> {
    let default_ns = session.namespace(namespace_flag);
    let mut out = Vec::new();
    for (source, mut doc) in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let resolved = kinds::resolve_gvk(&session.client, &api_version, &kind)
            .await
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 404 => Error::NotFound(format!(
                    "{source}: {} does not serve {api_version} {kind}; install its CRD first or \
                     fix apiVersion/kind",
                    session.place
                )),
                kube::Error::Discovery(_) => Error::NotFound(format!(
                    "{source}: {} does not serve {api_version} {kind}; install its CRD first or \
                     fix apiVersion/kind",
                    session.place
                )),
                other => session.unreachable(other),
            })?;
        let namespace = if resolved.namespaced {
            let doc_ns = doc["metadata"]["namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if let (Some(d), Some(flag)) = (&doc_ns, namespace_flag)
                && d != flag
            {
                return Err(Error::Invalid(format!(
                    "{source}: the namespace from the provided object {d:?} does not match the \
                     namespace {flag:?}; drop -n or fix the file"
                )));
            }
            let ns = doc_ns.unwrap_or_else(|| default_ns.clone());
            doc["metadata"]["namespace"] = Value::String(ns.clone());
            Some(ns)
        } else {
            None
        };
        out.push(FileObject {
            resolved,
            namespace,
            doc,
            source,
        });
    }
    Ok(out)
}

/// The objects in `-f` files as they are now in the cluster (each must exist), or, without
/// files, those [`select`] picks.
pub async fn pick(
    session: &Session,
    types: &[TypeNames],
    files: &[PathBuf],
    selection: &Selection,
) -> Result<Vec<Selected>> {
    if files.is_empty() {
        return select(session, types, selection).await;
    }
    let docs = read_files(files)?;
    let mut out = Vec::new();
    for p in resolve_documents(session, docs, selection.namespace.as_deref()).await? {
        match p.api(&session.client).get_opt(p.name()).await {
            Ok(Some(object)) => out.push(Selected {
                resolved: p.resolved.clone(),
                object,
            }),
            Ok(None) => {
                return Err(not_found(
                    session,
                    &p.resolved,
                    p.namespace.as_deref().unwrap_or_default(),
                    p.name(),
                ));
            }
            Err(e) => return Err(session.error(&p.display(), e)),
        }
    }
    Ok(out)
}

/// `--dry-run`: `none` writes, `client` only shows what would be sent, `server` has the API
/// server check the write without persisting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DryRun {
    #[default]
    None,
    Client,
    Server,
}

impl DryRun {
    /// What follows the verb in output lines: ` (dry run)`, ` (server dry run)`.
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }

    pub fn server(self) -> bool {
        self == DryRun::Server
    }
}

/// `-o` of the commands that write objects: kubectl prints the written objects instead of
/// the `deployment.apps/nginx created` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectOutput {
    /// `deployment.apps/nginx`
    Name,
    Json,
    Yaml,
}

/// An object as json/yaml output shows it: without managedFields.
pub fn shown(object: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

/// The text for `-o`: names one per line, or one object / a `v1 List` of several.
pub fn render_objects(output: ObjectOutput, written: &[(String, Value)]) -> Result<String> {
    match output {
        ObjectOutput::Name => Ok(written.iter().map(|(n, _)| format!("{n}\n")).collect()),
        ObjectOutput::Json | ObjectOutput::Yaml => {
            let doc = if output == ObjectOutput::Json {
                crate::output::DocFormat::Json
            } else {
                crate::output::DocFormat::Yaml
            };
            let value = match written {
                [(_, one)] => one.clone(),
                many => serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                    "items": many.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                }),
            };
            crate::output::document(&value, doc)
        }
    }
}

/// One line for a write the API server refused, naming the object and where.
pub fn write_error(session: &Session, what: &str, err: kube::Error) -> Error {
    match err {
        kube::Error::Api(s) if s.reason == "AlreadyExists" => Error::Invalid(format!(
            "{what}{} already exists; update it with `karmadactl apply -f` or delete it first",
            session.place.suffix()
        )),
        kube::Error::Api(s) if s.code == 404 && s.message.starts_with("namespaces ") => {
            Error::NotFound(format!(
                "{what}{}: {}; create the namespace first",
                session.place.suffix(),
                s.message
            ))
        }
        kube::Error::Api(s) if s.code == 409 => Error::Invalid(format!(
            "{what}{}: {}; it changed meanwhile: read it again and retry",
            session.place.suffix(),
            s.message
        )),
        other => session.error(what, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn kubectl_argument_forms() {
        assert_eq!(
            parse_args(&s(&["deploy", "a", "b"])).unwrap(),
            vec![TypeNames {
                resource: "deploy".into(),
                names: s(&["a", "b"])
            }]
        );
        assert_eq!(
            parse_args(&s(&["deploy/a", "svc/b", "deploy/c"])).unwrap(),
            vec![
                TypeNames {
                    resource: "deploy".into(),
                    names: s(&["a", "c"])
                },
                TypeNames {
                    resource: "svc".into(),
                    names: s(&["b"])
                }
            ]
        );
        assert_eq!(parse_args(&s(&["pp,svc", "x"])).unwrap().len(), 2);
        assert!(parse_args(&s(&["deploy", "svc/b"])).is_err());
        assert!(parse_args(&s(&["deploy/a", "b"])).is_err());
        assert!(parse_args(&s(&["deploy/"])).is_err());
        assert!(parse_args(&[]).unwrap().is_empty());
    }

    #[test]
    fn documents_may_omit_names_but_not_types() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
            "f.yaml",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert!(parse_documents("kind: ConfigMap\n", "f.yaml").is_err());
    }
}
