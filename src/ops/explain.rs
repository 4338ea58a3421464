//! `karmadactl explain TYPE[.FIELD...]`: the documentation of a kind and its fields, from the
//! OpenAPI v3 the cluster serves (`/openapi/v3`), in the control plane (Karmada's CRDs
//! included) or a member, like `kubectl explain`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::client::kinds::{self, Resolved};
use crate::ops::scope::Session;
use crate::{Error, Result};

/// What to explain.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// `deployments.spec.template`: a resource type, then field names.
    pub path: String,
    /// `--api-version=apps/v1`: which group/version of the type.
    pub api_version: Option<String>,
    /// `--recursive`: every field below, names and types only.
    pub recursive: bool,
}

/// Splits `deployments.spec.replicas` into the type and the field path.
pub fn split_path(path: &str) -> (String, Vec<String>) {
    let mut parts = path.split('.');
    let resource = parts.next().unwrap_or_default().to_string();
    (
        resource,
        parts.filter(|p| !p.is_empty()).map(String::from).collect(),
    )
}

async fn get_json(session: &Session, url: &str) -> Result<Value> {
    let request = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| Error::Internal(format!("building a request for {url}: {e}")))?;
    let text = session
        .client
        .request_text(request)
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => Error::NotFound(format!(
                "{} does not serve OpenAPI v3 ({url}); explain needs Kubernetes 1.27 or newer",
                session.place
            )),
            other => session.unreachable(other),
        })?;
    serde_json::from_str(&text).map_err(|e| Error::Internal(format!("{url}: not JSON: {e}")))
}

/// The type, its OpenAPI document and the schema of its kind.
pub struct Explained {
    pub resolved: Resolved,
    doc: Value,
    root: Value,
}

/// Resolves the type and reads its schema.
pub async fn load(session: &Session, opts: &ExplainOptions) -> Result<(Explained, Vec<String>)> {
    let (resource, fields) = split_path(&opts.path);
    if resource.is_empty() {
        return Err(Error::Invalid(
            "name a resource type, e.g. karmadactl explain deployments.spec".into(),
        ));
    }
    let query = match opts.api_version.as_deref() {
        None => resource.clone(),
        Some(v) => match v.split_once('/') {
            Some((g, ver)) => format!("{resource}.{ver}.{g}"),
            None => resource.clone(),
        },
    };
    let resolved = match kinds::resolve(&session.client, &query).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(Error::NotFound(format!(
                "the server doesn't have a resource type {resource:?}{}{}",
                opts.api_version
                    .as_deref()
                    .map(|v| format!(" in {v}"))
                    .unwrap_or_default(),
                session.place.suffix()
            )));
        }
        Err(Error::Kube(e)) => return Err(session.unreachable(e)),
        Err(e) => return Err(e),
    };
    if let Some(v) = opts.api_version.as_deref()
        && !v.contains('/')
        && v != resolved.ar.version
    {
        return Err(Error::NotFound(format!(
            "{} is not served in version {v}{}",
            resolved.qualified(),
            session.place.suffix()
        )));
    }
    let index = get_json(session, "/openapi/v3").await?;
    let key = if resolved.ar.group.is_empty() {
        format!("api/{}", resolved.ar.version)
    } else {
        format!("apis/{}/{}", resolved.ar.group, resolved.ar.version)
    };
    let url = index["paths"][&key]["serverRelativeURL"]
        .as_str()
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{} publishes no OpenAPI v3 document for {}",
                session.place, resolved.ar.api_version
            ))
        })?
        .to_string();
    let doc = get_json(session, &url).await?;
    let root = doc["components"]["schemas"]
        .as_object()
        .and_then(|schemas| {
            schemas.values().find(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|gvks| {
                        gvks.iter().any(|g| {
                            g["group"].as_str().unwrap_or_default() == resolved.ar.group
                                && g["version"] == resolved.ar.version.as_str()
                                && g["kind"] == resolved.ar.kind.as_str()
                        })
                    })
            })
        })
        .cloned()
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no schema for {} {} in the OpenAPI document{}",
                resolved.ar.api_version,
                resolved.ar.kind,
                session.place.suffix()
            ))
        })?;
    Ok((
        Explained {
            resolved,
            doc,
            root,
        },
        fields,
    ))
}

impl Explained {
    /// Follows `$ref` (also inside a one-element `allOf`), keeping the outer description.
    fn deref(&self, schema: &Value) -> Value {
        let mut s = schema.clone();
        for _ in 0..16 {
            let target = s["$ref"].as_str().map(String::from).or_else(|| {
                s["allOf"]
                    .as_array()
                    .filter(|a| a.len() == 1)
                    .and_then(|a| a[0]["$ref"].as_str())
                    .map(String::from)
            });
            let Some(r) = target else { break };
            let Some(name) = r.strip_prefix("#/components/schemas/") else {
                break;
            };
            let mut inner = self.doc["components"]["schemas"][name].clone();
            if let (Some(d), Value::Object(map)) = (s.get("description").cloned(), &mut inner) {
                map.insert("description".into(), d);
            }
            s = inner;
        }
        s
    }

    /// `<string>`, `<integer>`, `<ObjectMeta>`, `<[]Container>`, `<map[string]string>`.
    fn type_name(&self, schema: &Value) -> String {
        let reference = schema["$ref"].as_str().or_else(|| {
            schema["allOf"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|r| r["$ref"].as_str())
        });
        if let Some(r) = reference {
            return r.rsplit('.').next().unwrap_or(r).to_string();
        }
        match schema["type"].as_str() {
            Some("array") => format!("[]{}", self.type_name(&schema["items"])),
            Some("object")
                if schema
                    .get("additionalProperties")
                    .is_some_and(Value::is_object) =>
            {
                format!(
                    "map[string]{}",
                    self.type_name(&schema["additionalProperties"])
                )
            }
            Some("object") => "Object".into(),
            Some(t) => t.to_string(),
            None if schema["x-kubernetes-int-or-string"] == true => "IntOrString".into(),
            None if schema["x-kubernetes-preserve-unknown-fields"] == true => "Object".into(),
            None => "Object".into(),
        }
    }

    /// The schema whose fields are listed: arrays list their items' fields, maps their values'.
    fn fields_of(&self, schema: &Value) -> Value {
        let s = self.deref(schema);
        match s["type"].as_str() {
            Some("array") => self.fields_of(&s["items"]),
            Some("object")
                if s.get("properties").is_none() && s["additionalProperties"].is_object() =>
            {
                self.fields_of(&s["additionalProperties"])
            }
            _ => s,
        }
    }

    /// The page for `fields` (empty: the kind itself).
    pub fn render(&self, fields: &[String], recursive: bool) -> Result<String> {
        let mut out = String::new();
        let ar = &self.resolved.ar;
        if !ar.group.is_empty() {
            let _ = writeln!(out, "GROUP:      {}", ar.group);
        }
        let _ = writeln!(out, "KIND:       {}", ar.kind);
        let _ = writeln!(out, "VERSION:    {}\n", ar.version);

        let mut schema = self.root.clone();
        let mut walked = Vec::new();
        for f in fields {
            let parent = self.fields_of(&schema);
            let Some(next) = parent["properties"].get(f) else {
                let mut known: Vec<&String> = parent["properties"]
                    .as_object()
                    .map(|m| m.keys().collect())
                    .unwrap_or_default();
                known.sort();
                return Err(Error::NotFound(format!(
                    "field {f:?} does not exist in {}{}{}",
                    self.resolved.qualified(),
                    if walked.is_empty() {
                        String::new()
                    } else {
                        format!(".{}", walked.join("."))
                    },
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (it has: {})",
                            known
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                )));
            };
            walked.push(f.clone());
            schema = next.clone();
        }
        let resolved = self.deref(&schema);
        if let Some(last) = fields.last() {
            let _ = writeln!(out, "FIELD: {last} <{}>\n", self.type_name(&schema));
        }
        out.push_str("DESCRIPTION:\n");
        let description = resolved["description"].as_str().unwrap_or("<empty>");
        out.push_str(&wrap(description, 4));
        let container = self.fields_of(&schema);
        if container["properties"]
            .as_object()
            .is_some_and(|p| !p.is_empty())
        {
            out.push_str("\nFIELDS:\n");
            self.fields(&mut out, &container, 2, recursive, 0);
        }
        Ok(out)
    }

    fn fields(
        &self,
        out: &mut String,
        schema: &Value,
        indent: usize,
        recursive: bool,
        depth: usize,
    ) {
        let Some(props) = schema["properties"].as_object() else {
            return;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut names: Vec<&String> = props.keys().collect();
        // kubectl lists apiVersion, kind and metadata first, then the rest alphabetically.
        names.sort_by_key(|n| {
            (
                match n.as_str() {
                    "apiVersion" => 0,
                    "kind" => 1,
                    "metadata" => 2,
                    _ => 3,
                },
                (*n).clone(),
            )
        });
        let pad = " ".repeat(indent);
        for name in names {
            let field = &props[name];
            let _ = writeln!(
                out,
                "{pad}{name}\t<{}>{}",
                self.type_name(field),
                if required.contains(&name.as_str()) {
                    " -required-"
                } else {
                    ""
                }
            );
            if recursive {
                // Recursive types (JSONSchemaProps) stop after a reasonable depth.
                if depth < 12 {
                    let inner = self.fields_of(field);
                    self.fields(out, &inner, indent + 2, recursive, depth + 1);
                }
            } else {
                let d = self.deref(field);
                let text = d["description"].as_str().unwrap_or("<no description>");
                out.push_str(&wrap(text, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Wraps `text` at 80 columns, each line indented by `indent`.
pub fn wrap(text: &str, indent: usize) -> String {
    let width = 80usize.saturating_sub(indent).max(20);
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for paragraph in text.trim().split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                let _ = writeln!(out, "{pad}{line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        let _ = writeln!(out, "{pad}{line}");
    }
    out
}

/// Loads and renders in one step.
pub async fn explain(session: &Session, opts: &ExplainOptions) -> Result<String> {
    let (explained, fields) = load(session, opts).await?;
    explained.render(&fields, opts.recursive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Explained {
        let doc = json!({"components": {"schemas": {
            "io.k8s.api.apps.v1.Deployment": {
                "description": "Deployment enables declarative updates for Pods and ReplicaSets.",
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema."},
                    "kind": {"type": "string", "description": "Kind is a string value."},
                    "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "description": "Standard object's metadata."},
                    "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}], "description": "Specification of the desired behavior."}
                },
                "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}]
            },
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "description": "ObjectMeta is metadata.", "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Map of string keys and values."},
                "name": {"type": "string", "description": "Name must be unique."}}},
            "io.k8s.api.apps.v1.DeploymentSpec": {"type": "object", "description": "DeploymentSpec is the specification.", "required": ["selector"], "properties": {
                "replicas": {"type": "integer", "format": "int32", "description": "Number of desired pods."},
                "selector": {"type": "object", "description": "Label selector for pods."},
                "containers": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]}, "description": "List of containers."}}},
            "io.k8s.api.core.v1.Container": {"type": "object", "description": "A single application container.", "properties": {
                "image": {"type": "string", "description": "Container image name."}}}
        }}});
        let root = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].clone();
        Explained {
            resolved: Resolved {
                ar: kube::api::ApiResource {
                    group: "apps".into(),
                    version: "v1".into(),
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    plural: "deployments".into(),
                },
                namespaced: true,
            },
            doc,
            root,
        }
    }

    #[test]
    fn kind_page_lists_fields_with_types() {
        let page = sample().render(&[], false).unwrap();
        assert!(page.starts_with("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nDESCRIPTION:\n    Deployment enables"), "{page}");
        assert!(
            page.contains("FIELDS:\n  apiVersion\t<string>\n    APIVersion defines"),
            "{page}"
        );
        assert!(
            page.contains("  metadata\t<ObjectMeta>\n    Standard object's metadata."),
            "{page}"
        );
        assert!(page.contains("  spec\t<DeploymentSpec>"), "{page}");
    }

    #[test]
    fn fields_are_followed_through_refs_and_arrays() {
        let s = sample();
        let page = s.render(&["spec".into()], false).unwrap();
        assert!(page.contains("FIELD: spec <DeploymentSpec>"), "{page}");
        assert!(
            page.contains("Specification of the desired behavior."),
            "{page}"
        );
        assert!(page.contains("  selector\t<Object> -required-"), "{page}");
        assert!(page.contains("  containers\t<[]Container>"), "{page}");
        let page = s
            .render(&["spec".into(), "containers".into(), "image".into()], false)
            .unwrap();
        assert!(page.contains("FIELD: image <string>"), "{page}");
        let page = s
            .render(&["metadata".into(), "labels".into()], false)
            .unwrap();
        assert!(page.contains("FIELD: labels <map[string]string>"), "{page}");
        let err = s
            .render(&["spec".into(), "nope".into()], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("field \"nope\" does not exist in deployments.apps.spec (it has: containers, replicas, selector)"), "{err}");
        let tree = s.render(&[], true).unwrap();
        assert!(
            tree.contains(
                "  spec\t<DeploymentSpec>\n    containers\t<[]Container>\n      image\t<string>\n"
            ),
            "{tree}"
        );
    }

    #[test]
    fn paths_split_into_type_and_fields() {
        assert_eq!(split_path("deploy"), ("deploy".into(), vec![]));
        assert_eq!(
            split_path("pp.spec.placement"),
            ("pp".into(), vec!["spec".into(), "placement".into()])
        );
    }
}
