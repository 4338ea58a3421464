//! `karmadactl describe TYPE [NAME_PREFIX...]` for any kind, in the control plane or one member:
//! kubectl's generic page (every field of the object, camelCase keys as words) and the Events
//! about the object.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::Result;
use crate::client::kinds::Resolved;
use crate::ops::objects::{self, Selected, Selection, TypeNames};
use crate::ops::scope::Session;
use crate::output;

use super::{MAX_EVENTS, event_time};

/// What to describe.
#[derive(Debug, Clone, Default)]
pub struct DescribeQuery {
    pub types: Vec<TypeNames>,
    /// `-f`: the objects these files name.
    pub files: Vec<std::path::PathBuf>,
    pub selection: Selection,
    /// `--show-events` (default true).
    pub show_events: bool,
}

/// Finds the objects: each name is an exact name or, failing that, a name prefix (kubectl's
/// rule); no names means all (or those `-l` selects).
pub async fn find(session: &Session, query: &DescribeQuery) -> Result<Vec<Selected>> {
    if !query.files.is_empty() {
        return objects::pick(session, &[], &query.files, &query.selection).await;
    }
    let namespace = session.namespace(query.selection.namespace.as_deref());
    let mut out = Vec::new();
    for t in &query.types {
        if t.names.is_empty() {
            out.extend(objects::select(session, std::slice::from_ref(t), &query.selection).await?);
            continue;
        }
        let resolved = objects::resolve(session, &t.resource).await?;
        let api = objects::api(&session.client, &resolved, Some(&namespace));
        let mut listed: Option<Vec<DynamicObject>> = None;
        for name in &t.names {
            match api.get_opt(name).await {
                Ok(Some(object)) => {
                    out.push(Selected {
                        resolved: resolved.clone(),
                        object,
                    });
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(session.error(&objects::display_name(&resolved.ar, name), e)),
            }
            if listed.is_none() {
                let mut items = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| session.error(&resolved.qualified(), e))?
                    .items;
                items.sort_by_key(|o| o.name_any());
                listed = Some(items);
            }
            let matching: Vec<&DynamicObject> = listed
                .iter()
                .flatten()
                .filter(|o| o.name_any().starts_with(name.as_str()))
                .collect();
            if matching.is_empty() {
                return Err(objects::not_found(session, &resolved, &namespace, name));
            }
            out.extend(matching.into_iter().map(|o| Selected {
                resolved: resolved.clone(),
                object: o.clone(),
            }));
        }
    }
    Ok(out)
}

/// The pages for every object found, separated by a blank line (kubectl's layout), or the
/// "No resources found" note.
pub async fn describe(session: &Session, query: &DescribeQuery) -> Result<Vec<String>> {
    let found = find(session, query).await?;
    let mut pages = Vec::new();
    for s in &found {
        let events = if query.show_events {
            Some(
                events(&session.client, &s.object)
                    .await
                    .map_err(|e| match e {
                        kube::Error::Api(s) => s.message,
                        other => crate::ops::get::one_line(&other),
                    }),
            )
        } else {
            None
        };
        pages.push(render(&s.resolved, &s.object, events.as_ref()));
    }
    Ok(pages)
}

/// kubectl's note when a listing found nothing: `No resources found in default namespace.`
pub fn no_resources(session: &Session, query: &DescribeQuery) -> String {
    format!(
        "No resources found{}{}.",
        if query.selection.all_namespaces {
            String::new()
        } else {
            format!(
                " in {} namespace",
                session.namespace(query.selection.namespace.as_deref())
            )
        },
        session.place.suffix()
    )
}

/// core/v1 Events about this object (by UID), oldest first.
pub async fn events(client: &kube::Client, object: &DynamicObject) -> kube::Result<Vec<Event>> {
    let Some(uid) = object.metadata.uid.as_deref() else {
        return Ok(Vec::new());
    };
    let api: Api<Event> = match object.metadata.namespace.as_deref() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let params = ListParams::default().fields(&format!("involvedObject.uid={uid}"));
    let mut events = api.list(&params).await?.items;
    events.sort_by_key(event_time);
    Ok(events)
}

/// `creationTimestamp` → `Creation Timestamp`, `podIP` → `Pod IP`, `apiVersion` → `API Version`.
pub fn words(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
            continue;
        }
        let prev = chars[i - 1];
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let boundary = c.is_uppercase()
            && (prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_lower));
        if boundary {
            out.push(' ');
        }
        out.push(c);
    }
    out.replace("Api ", "API ").replace("Uid", "UID")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Prints `value` under `key` at `indent`, kubectl's generic describer style; scalar values
/// start at column `width` + 3 so siblings line up.
fn field(out: &mut String, indent: usize, width: usize, key: &str, value: &Value) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            let _ = writeln!(out, "{pad}{key}:");
            fields(out, indent + 2, map, false);
        }
        Value::Array(items) => {
            let _ = writeln!(out, "{pad}{key}:");
            for item in items {
                match item {
                    Value::Object(map) => {
                        // The first field of each item carries the dash.
                        let mut sub = String::new();
                        fields(&mut sub, 0, map, false);
                        for (i, line) in sub.lines().enumerate() {
                            let marker = if i == 0 { "- " } else { "  " };
                            let _ = writeln!(out, "{pad}  {marker}{line}");
                        }
                    }
                    other => {
                        let _ = writeln!(out, "{pad}  {}", scalar(other));
                    }
                }
            }
        }
        scalar_value => {
            let text = scalar(scalar_value);
            if text.contains('\n') {
                let _ = writeln!(out, "{pad}{key}:");
                for line in text.lines() {
                    let _ = writeln!(out, "{pad}  {line}");
                }
            } else {
                let label = format!("{key}:");
                let _ = writeln!(out, "{pad}{label:<w$}  {text}", w = width + 1);
            }
        }
    }
}

/// Prints the keys of `map` (labels and annotations keep their keys as they are).
fn fields(out: &mut String, indent: usize, map: &serde_json::Map<String, Value>, raw: bool) {
    let key = |k: &str| if raw { k.to_string() } else { words(k) };
    let width = map
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array())
        .map(|(k, _)| key(k).len())
        .max()
        .unwrap_or(0);
    for (k, v) in map {
        if let Value::Object(inner) = v
            && matches!(
                k.as_str(),
                "labels" | "annotations" | "matchLabels" | "nodeSelector" | "data" | "stringData"
            )
        {
            let pad = " ".repeat(indent);
            let _ = writeln!(out, "{pad}{}:", key(k));
            fields(out, indent + 2, inner, true);
            continue;
        }
        field(out, indent, width, &key(k), v);
    }
}

fn key_values(map: Option<&std::collections::BTreeMap<String, String>>) -> Vec<String> {
    map.into_iter()
        .flatten()
        .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

fn list_lines(out: &mut String, name: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "{:<14}<none>", format!("{name}:"));
    }
    for (i, item) in items.iter().enumerate() {
        let label = if i == 0 {
            format!("{name}:")
        } else {
            String::new()
        };
        let _ = writeln!(out, "{label:<14}{item}");
    }
}

/// The page for one object.
pub fn render(
    resolved: &Resolved,
    object: &DynamicObject,
    events: Option<&std::result::Result<Vec<Event>, String>>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<14}{}", "Name:", object.name_any());
    if let Some(ns) = &object.metadata.namespace {
        let _ = writeln!(out, "{:<14}{ns}", "Namespace:");
    }
    list_lines(
        &mut out,
        "Labels",
        &key_values(object.metadata.labels.as_ref()),
    );
    list_lines(
        &mut out,
        "Annotations",
        &key_values(object.metadata.annotations.as_ref()),
    );
    let _ = writeln!(out, "{:<14}{}", "API Version:", resolved.ar.api_version);
    let _ = writeln!(out, "{:<14}{}", "Kind:", resolved.ar.kind);

    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for drop in [
            "name",
            "namespace",
            "labels",
            "annotations",
            "managedFields",
        ] {
            meta.remove(drop);
        }
        if let Some(ts) = object.metadata.creation_timestamp.as_ref() {
            meta.insert(
                "creationTimestamp".into(),
                Value::String(format!("{} ({} ago)", ts.0, output::age(ts.0))),
            );
        }
    }
    if let Value::Object(map) = &mut value {
        map.remove("apiVersion");
        map.remove("kind");
        // Metadata, spec, the other fields, then status (serde_json sorts keys).
        let mut order: Vec<String> = vec!["metadata".into(), "spec".into()];
        order.extend(
            map.keys()
                .filter(|k| !matches!(k.as_str(), "metadata" | "spec" | "status"))
                .cloned(),
        );
        order.push("status".into());
        for k in order {
            if let Some(v) = map.get(&k) {
                let one: serde_json::Map<String, Value> =
                    [(k.clone(), v.clone())].into_iter().collect();
                fields(&mut out, 0, &one, false);
            }
        }
    }

    match events {
        None => {}
        Some(Err(why)) => {
            let _ = writeln!(out, "Events:       <cannot list events: {why}>");
        }
        Some(Ok(events)) if events.is_empty() => {
            let _ = writeln!(out, "Events:       <none>");
        }
        Some(Ok(events)) => {
            out.push_str("Events:\n");
            let skip = events.len().saturating_sub(MAX_EVENTS);
            let rows = events.iter().skip(skip).map(|e| {
                let from = e
                    .source
                    .as_ref()
                    .and_then(|s| s.component.clone())
                    .or_else(|| e.reporting_component.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "<none>".into());
                let count = e.count.unwrap_or(1);
                let age = event_time(e)
                    .map(output::age)
                    .unwrap_or_else(|| "<unknown>".into());
                vec![
                    e.type_.clone().unwrap_or_default(),
                    e.reason.clone().unwrap_or_default(),
                    if count > 1 {
                        format!("{age} (x{count})")
                    } else {
                        age
                    },
                    from,
                    e.message.clone().unwrap_or_default().trim().to_string(),
                ]
            });
            for line in output::table(&["TYPE", "REASON", "AGE", "FROM", "MESSAGE"], rows).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_become_words() {
        assert_eq!(words("creationTimestamp"), "Creation Timestamp");
        assert_eq!(words("podIP"), "Pod IP");
        assert_eq!(words("apiVersion"), "API Version");
        assert_eq!(words("uid"), "UID");
        assert_eq!(words("containerID"), "Container ID");
        assert_eq!(words("replicas"), "Replicas");
    }

    #[test]
    fn page_prints_every_field_and_keeps_label_keys() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "web", "labels": {"app": "nginx"},
                "uid": "u1", "generation": 3, "managedFields": [{"manager": "x"}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "nginx"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}]}]}}},
            "status": {"readyReplicas": 1}
        }))
        .unwrap();
        let resolved = Resolved {
            ar: kube::api::ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            namespaced: true,
        };
        let page = render(&resolved, &object, Some(&Ok(vec![])));
        for want in [
            "Name:         nginx",
            "Namespace:    web",
            "Labels:       app=nginx",
            "Annotations:  <none>",
            "API Version:  apps/v1",
            "Kind:         Deployment",
            "Metadata:\n  Generation:  3\n  UID:         u1\n",
            "Spec:\n  Replicas:  2\n",
            "    Match Labels:\n      app.kubernetes.io/name:  nginx\n",
            "        - Image:  nginx:1.27\n",
            "            - Container Port:  80\n",
            "Status:\n  Ready Replicas:  1\n",
            "Events:       <none>",
        ] {
            assert!(page.contains(want), "missing {want:?} in\n{page}");
        }
        assert!(!page.contains("Managed Fields"), "{page}");
        let spec = page.find("Spec:").unwrap();
        assert!(page.find("Metadata:").unwrap() < spec);
        assert!(spec < page.find("Status:").unwrap());
    }
}
