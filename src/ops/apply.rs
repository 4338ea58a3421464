//! `karmadactl apply -f FILE (--all-clusters | -C member1,member2)`: server-side applies
//! resource templates to the control plane and, with a placement, a PropagationPolicy for each
//! of them, like Karmada's `karmadactl apply`. Without a placement it is a plain server-side
//! apply (kubectl apply --server-side).

use std::io::Read as _;
use std::path::PathBuf;

use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::api::{Cluster, ClusterPropagationPolicy, PropagationPolicy, names};
use crate::client::connect::Target;
use crate::client::kinds::{self, Resolved};
use crate::{Error, Result};

/// Field manager of everything `apply` and `promote` write.
pub const FIELD_MANAGER: &str = "karmadactl";

/// Where the templates go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Propagate {
    /// No policy: a plain apply.
    No,
    /// Every member cluster (`clusterAffinity: {}`).
    AllClusters,
    /// These member clusters.
    Clusters(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Files; `-` reads stdin.
    pub files: Vec<PathBuf>,
    /// `-n`; when unset, the namespace of the kubeconfig context.
    pub namespace: Option<String>,
    pub propagate: Propagate,
    pub force_conflicts: bool,
}

/// The PropagationPolicy name for a template: `<name>-<kind>`, lowercase (the name of its
/// ResourceBinding, so the two are easy to find together).
pub fn policy_name(kind: &str, name: &str) -> String {
    names::binding_name(kind, name)
}

/// The ClusterPropagationPolicy that propagates one cluster-scoped template.
pub fn cluster_policy_for(
    api_version: &str,
    kind: &str,
    name: &str,
    clusters: &[String],
    overwrite: bool,
) -> Value {
    let mut policy = policy_for(api_version, kind, "", name, clusters, overwrite);
    policy["kind"] = json!("ClusterPropagationPolicy");
    if let Some(meta) = policy["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    if let Some(selector) = policy["spec"]["resourceSelectors"][0].as_object_mut() {
        selector.remove("namespace");
    }
    policy
}

/// The policy that propagates one template.
pub fn policy_for(
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    clusters: &[String],
    overwrite: bool,
) -> Value {
    let affinity = if clusters.is_empty() {
        json!({})
    } else {
        json!({"clusterNames": clusters})
    };
    let mut spec = json!({
        "resourceSelectors": [{"apiVersion": api_version, "kind": kind, "name": name, "namespace": namespace}],
        "placement": {"clusterAffinity": affinity},
    });
    if overwrite {
        spec["conflictResolution"] = json!("Overwrite");
    }
    json!({
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": policy_name(kind, name), "namespace": namespace},
        "spec": spec,
    })
}

/// Parses YAML or JSON documents (several per file, `kind: List` expanded).
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
            if v.pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(Error::Invalid(format!(
                    "{source}: document {}: {} has no metadata.name (generateName is not supported by apply)",
                    i + 1,
                    v["kind"].as_str().unwrap_or_default()
                )));
            }
            out.push(v);
        }
    }
    Ok(out)
}

fn read_files(files: &[PathBuf]) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for f in files {
        let (text, source) = if f.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("reading stdin", e))?;
            (s, "stdin".to_string())
        } else {
            let s = std::fs::read_to_string(f)
                .map_err(|e| Error::io(format!("reading {}", f.display()), e))?;
            (s, f.display().to_string())
        };
        docs.extend(parse_documents(&text, &source)?);
    }
    if docs.is_empty() {
        return Err(Error::Invalid("no objects passed to apply".into()));
    }
    Ok(docs)
}

/// One object ready to write.
struct Planned {
    doc: Value,
    ar: kube::core::ApiResource,
    namespace: Option<String>,
    /// The policy to write after it, if any.
    policy: Option<Value>,
}

/// `deployment.apps/nginx`, as kubectl names an object in its output.
pub fn display_name(ar: &kube::core::ApiResource, name: &str) -> String {
    let kind = ar.kind.to_lowercase();
    if ar.group.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}.{}/{name}", ar.group)
    }
}

/// Checks the member clusters named by `-C` exist.
pub async fn check_clusters(cp: &Client, wanted: &[String]) -> Result<()> {
    let all: Vec<String> = Api::<Cluster>::all(cp.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    super::require_known_clusters(wanted, &all)
}

/// Applies every object, then (with a placement) its policy. Returns the lines to print
/// (`deployment.apps/nginx serverside-applied`, `propagationpolicy.policy.karmada.io/... created`)
/// and notes for stderr.
pub async fn apply(target: &Target, opts: &ApplyOptions) -> Result<(Vec<String>, Vec<String>)> {
    let docs = read_files(&opts.files)?;
    let cp = target.client().await?;
    let default_ns = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cp.default_namespace().to_string());
    let clusters = match &opts.propagate {
        Propagate::Clusters(c) => {
            check_clusters(&cp, c).await?;
            c.clone()
        }
        _ => Vec::new(),
    };
    let mut notes = Vec::new();

    // Check everything before writing anything.
    let mut planned = Vec::new();
    for doc in docs {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        GroupVersionKind::try_from(&kube::core::TypeMeta {
            api_version: api_version.clone(),
            kind: kind.clone(),
        })
        .map_err(|e| Error::Invalid(format!("{kind} {name}: {e}")))?;
        let Resolved { ar, namespaced } = kinds::resolve_gvk(&cp, &api_version, &kind)
            .await
            .map_err(|e| match e {
                kube::Error::Discovery(_) => Error::NotFound(format!(
                    "the control plane does not serve {api_version} {kind} (for {name}); install its CRD first"
                )),
                other => other.into(),
            })?;
        let namespace = if namespaced {
            let doc_ns = doc["metadata"]["namespace"]
                .as_str()
                .filter(|s| !s.is_empty());
            if let (Some(d), Some(flag)) = (doc_ns, opts.namespace.as_deref())
                && d != flag
            {
                return Err(Error::Invalid(format!(
                    "the namespace from the provided object {d:?} does not match the namespace {flag:?}; drop -n or fix the file"
                )));
            }
            Some(
                doc_ns
                    .map(str::to_string)
                    .unwrap_or_else(|| default_ns.clone()),
            )
        } else {
            None
        };
        let policy = match (&opts.propagate, &namespace) {
            (Propagate::No, _) => None,
            (_, Some(ns)) if names::is_reserved_namespace(ns) => {
                return Err(Error::Invalid(format!(
                    "{} is in namespace {ns}, which is reserved for Karmada: its objects are never \
                     propagated, so no policy is created; use another namespace or drop \
                     --all-clusters/-C",
                    display_name(&ar, &name)
                )));
            }
            (_, Some(ns)) => Some(policy_for(&api_version, &kind, ns, &name, &clusters, false)),
            (_, None) if ar.kind == "Namespace" && ar.group.is_empty() => {
                notes.push(format!(
                    "namespace/{name}: no policy needed, namespaces reach every member cluster by themselves"
                ));
                None
            }
            (_, None) => {
                return Err(Error::Invalid(format!(
                    "{} is cluster-scoped; this version propagates namespaced templates only, so \
                     --all-clusters/-C cannot place it (apply it without them, or with kubectl)",
                    display_name(&ar, &name)
                )));
            }
        };
        planned.push(Planned {
            doc,
            ar,
            namespace,
            policy,
        });
    }

    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = opts.force_conflicts;
    let mut lines = Vec::new();
    for p in planned {
        let name = p.doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut doc = p.doc.clone();
        let api: Api<DynamicObject> = match &p.namespace {
            Some(ns) => {
                doc["metadata"]["namespace"] = json!(ns);
                Api::namespaced_with(cp.clone(), ns, &p.ar)
            }
            None => Api::all_with(cp.clone(), &p.ar),
        };
        api.patch(&name, &params, &Patch::Apply(&doc))
            .await
            .map_err(|e| write_error(&display_name(&p.ar, &name), e))?;
        lines.push(format!("{} serverside-applied", display_name(&p.ar, &name)));
        if let Some(policy) = p.policy {
            lines.push(write_policy(&cp, &policy, opts.force_conflicts).await?);
        }
    }
    Ok((lines, notes))
}

fn write_error(what: &str, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) if s.code == 409 => Error::Invalid(format!(
            "{what}: {}; another field manager owns these fields, rerun with --force-conflicts to take them",
            s.message
        )),
        kube::Error::Api(s) => Error::Invalid(format!("{what}: {}", s.message)),
        other => other.into(),
    }
}

/// Server-side applies a PropagationPolicy or ClusterPropagationPolicy; returns
/// `propagationpolicy.policy.karmada.io/x created` (or configured, unchanged).
pub async fn write_policy(cp: &Client, policy: &Value, force: bool) -> Result<String> {
    let ns = policy["metadata"]["namespace"].as_str().unwrap_or_default();
    if policy["kind"] == "ClusterPropagationPolicy" {
        let api: Api<ClusterPropagationPolicy> = Api::all(cp.clone());
        return apply_policy(api, policy, force, |a, b| a.spec == b.spec).await;
    }
    let api: Api<PropagationPolicy> = Api::namespaced(cp.clone(), ns);
    apply_policy(api, policy, force, |a, b| a.spec == b.spec).await
}

/// One policy object through `api`, reported as kubectl does (`same`: whether nothing changed).
async fn apply_policy<K>(
    api: Api<K>,
    policy: &Value,
    force: bool,
    same: fn(&K, &K) -> bool,
) -> Result<String>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = policy["metadata"]["name"].as_str().unwrap_or_default();
    let before = api.get_opt(name).await?;
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    let shown = format!("{}.policy.karmada.io/{name}", K::kind(&()).to_lowercase());
    let after = api
        .patch(name, &params, &Patch::Apply(policy))
        .await
        .map_err(|e| write_error(&shown, e))?;
    let verb = match before {
        None => "created",
        Some(b) if same(&b, &after) => "unchanged",
        Some(_) => "configured",
    };
    Ok(format!("{shown} {verb}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_named_after_the_template() {
        assert_eq!(policy_name("Deployment", "nginx"), "nginx-deployment");
        let p = policy_for(
            "apps/v1",
            "Deployment",
            "web",
            "nginx",
            &["member1".into()],
            false,
        );
        assert_eq!(p["metadata"]["name"], "nginx-deployment");
        assert_eq!(p["metadata"]["namespace"], "web");
        assert_eq!(
            p["spec"]["placement"]["clusterAffinity"]["clusterNames"][0],
            "member1"
        );
        assert_eq!(p["spec"]["resourceSelectors"][0]["name"], "nginx");
        assert!(p["spec"].get("conflictResolution").is_none());
        let all = policy_for("v1", "ConfigMap", "web", "cfg", &[], true);
        assert_eq!(all["spec"]["placement"]["clusterAffinity"], json!({}));
        assert_eq!(all["spec"]["conflictResolution"], "Overwrite");
    }

    #[test]
    fn documents_parse_with_lists_and_refuse_nameless_objects() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
            "f.yaml",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["metadata"]["name"], "b");
        let err = parse_documents("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no metadata.name"), "{err}");
        let err = parse_documents("kind: ConfigMap\n", "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no apiVersion"), "{err}");
    }
}
