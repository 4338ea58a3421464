//! `karmadactl get RESOURCE [NAME...]` for any kind, across the control plane and members.
//!
//! The resource type is resolved in each cluster by discovery, like kubectl: plural
//! (`deployments`), singular (`deployment`), kind (`Deployment`), short name (`deploy`), each
//! optionally qualified by group (`deployments.apps`) or version and group
//! (`deployments.v1.apps`). The scope follows Karmada's `karmadactl get --operation-scope`:
//! `karmada` (the default: the control plane, where templates and policies live), `members`
//! or `all`. Members are queried in parallel, each bounded by a timeout; one that cannot be
//! answered is reported, it does not fail the command.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use crate::api::Cluster;
use crate::client::connect::Target;
use crate::client::kinds::{Resolved, resolve};
use crate::ops::get::sync::{self, Synced};
use crate::ops::get::{one_line, request_error};
use crate::output::{self, DocFormat, Format};
use crate::{Error, Result};

/// The CLUSTER column's value for the control plane's own objects.
pub const KARMADA: &str = "karmada";
/// Karmada's annotation naming the member cluster an object was read from (json/yaml).
pub const ANNOTATION_FROM_CLUSTER: &str = "resource.karmada.io/cached-from-cluster";

/// Where `get` looks (`--operation-scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scope {
    /// The Karmada control plane only
    #[default]
    Karmada,
    /// The member clusters only
    Members,
    /// The control plane and the member clusters
    All,
}

/// What to get, already validated.
#[derive(Debug, Clone)]
pub struct Query {
    pub resource: String,
    pub names: Vec<String>,
    /// `-n`; when unset, the namespace of the control plane's kubeconfig context.
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub selector: Option<String>,
    pub scope: Scope,
    /// `-C`: only these members (empty: all members).
    pub clusters: Vec<String>,
    pub member_timeout: Duration,
    pub format: Format,
}

/// The objects found in one cluster.
#[derive(Debug, Clone)]
pub struct Found {
    pub cluster: String,
    pub resolved: Resolved,
    pub objects: Vec<DynamicObject>,
    /// For members: whether the control plane holds each object's current status (same
    /// order as `objects`); empty for the control plane.
    pub synced: Vec<Synced>,
}

/// Everything `get` gathered.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub found: Vec<Found>,
    /// `(cluster, why)` for clusters that could not answer.
    pub failures: Vec<(String, String)>,
    /// Clusters that do not serve the resource type.
    pub unknown_in: Vec<String>,
    /// The namespace listed (None with -A or for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// Members asked that the control plane does not see as Ready: their status there is
    /// not being updated.
    pub not_ready: Vec<String>,
}

/// Lists (or gets by name) in one cluster. Ok(None) when the type is not served there.
async fn query_cluster(
    client: &Client,
    query: &Query,
    namespace: &str,
) -> Result<Option<(Resolved, Vec<DynamicObject>)>> {
    let Some(resolved) = resolve(client, &query.resource).await? else {
        return Ok(None);
    };
    let api: Api<DynamicObject> = if !resolved.namespaced || query.all_namespaces {
        Api::all_with(client.clone(), &resolved.ar)
    } else {
        Api::namespaced_with(client.clone(), namespace, &resolved.ar)
    };
    let mut objects = Vec::new();
    if query.names.is_empty() {
        let mut params = ListParams::default();
        if let Some(sel) = &query.selector {
            params = params.labels(sel);
        }
        objects = api.list(&params).await?.items;
    } else {
        for name in &query.names {
            if let Some(o) = api.get_opt(name).await? {
                objects.push(o);
            }
        }
    }
    objects.sort_by_key(|o| (o.namespace(), o.name_any()));
    Ok(Some((resolved, objects)))
}

/// Queries the control plane and/or members as `query.scope` says.
pub async fn gather(target: &Target, query: &Query) -> Result<Gathered> {
    let cp = target.client().await?;
    let namespace = query
        .namespace
        .clone()
        .unwrap_or_else(|| cp.default_namespace().to_string());
    let mut gathered = Gathered::default();
    let mut unknown = Vec::new();

    // Members to ask (listed first so a bad -C fails before any output).
    let mut members: Vec<Cluster> = Vec::new();
    if query.scope != Scope::Karmada {
        let api: Api<Cluster> = Api::all(cp.clone());
        let mut all = api
            .list(&ListParams::default())
            .await
            .map_err(|e| request_error(target, e))?
            .items;
        all.sort_by_key(|c| c.name_any());
        let known: Vec<String> = all.iter().map(|c| c.name_any()).collect();
        crate::ops::require_known_clusters(&query.clusters, &known)?;
        members = all
            .into_iter()
            .filter(|c| query.clusters.is_empty() || query.clusters.contains(&c.name_any()))
            .collect();
    }

    if query.scope != Scope::Members {
        match query_cluster(&cp, query, &namespace).await {
            Ok(Some((resolved, objects))) => gathered.found.push(Found {
                cluster: KARMADA.into(),
                resolved,
                objects,
                synced: Vec::new(),
            }),
            Ok(None) => unknown.push(KARMADA.to_string()),
            Err(Error::Kube(e)) => {
                return Err(match e {
                    kube::Error::Api(s) if s.code == 400 && query.selector.is_some() => {
                        Error::Invalid(format!(
                            "invalid label selector {:?}: {}",
                            query.selector.as_deref().unwrap_or_default(),
                            s.message
                        ))
                    }
                    e => request_error(target, e),
                });
            }
            Err(e) => return Err(e),
        }
    }

    let timeout = query.member_timeout;
    let results = join_all(members.iter().map(|cluster| {
        let cp = cp.clone();
        let namespace = namespace.clone();
        async move {
            let name = cluster.name_any();
            let work = async {
                let client = crate::client::member::client(&cp, cluster, timeout).await?;
                let Some((resolved, objects)) = query_cluster(&client, query, &namespace).await?
                else {
                    return Ok(None);
                };
                let synced = sync::states(&cp, &name, &resolved.ar.kind, &objects).await;
                Ok(Some((resolved, objects, synced)))
            };
            let result = match tokio::time::timeout(timeout, work).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout(format!(
                    "no answer within {}",
                    human_duration(timeout)
                ))),
            };
            (name, result)
        }
    }))
    .await;
    for (name, result) in results {
        match result {
            Ok(Some((resolved, objects, synced))) => gathered.found.push(Found {
                cluster: name,
                resolved,
                objects,
                synced,
            }),
            Ok(None) => unknown.push(name),
            Err(e) => gathered.failures.push((name, member_error(&e))),
        }
    }
    if gathered.found.is_empty() && gathered.failures.is_empty() {
        return Err(Error::NotFound(format!(
            "the server doesn't have a resource type {:?}",
            query.resource
        )));
    }
    let namespaced = gathered
        .found
        .first()
        .is_some_and(|f| f.resolved.namespaced);
    gathered.namespace = (namespaced && !query.all_namespaces).then_some(namespace);
    gathered.unknown_in = unknown;
    gathered.not_ready = members
        .iter()
        .filter(|c| !c.is_ready())
        .map(|c| c.name_any())
        .collect();
    Ok(gathered)
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn member_error(e: &Error) -> String {
    match e {
        Error::Kube(kube::Error::Api(s)) => format!("refused: {}", s.message),
        Error::Kube(k) => format!("unreachable ({})", one_line(k)),
        Error::Timeout(m) => format!("unreachable ({m})"),
        Error::Unreachable { message, .. } => format!("unreachable ({message})"),
        other => format!("unreachable ({other})"),
    }
}

/// What to print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub stdout: String,
    /// Notes for stderr, one per line (unreachable members, "No resources found").
    pub stderr: Vec<String>,
}

impl Gathered {
    pub fn total(&self) -> usize {
        self.found.iter().map(|f| f.objects.len()).sum()
    }

    /// The output for `query.format`.
    pub fn render(&self, query: &Query) -> Result<Rendered> {
        let mut rendered = Rendered::default();
        let show_cluster = query.scope != Scope::Karmada;
        let empty = self.total() == 0;
        rendered.stdout = match query.format {
            Format::Table | Format::Wide if empty => String::new(),
            Format::Table | Format::Wide => self.table(
                query.format == Format::Wide,
                show_cluster,
                query.all_namespaces,
            ),
            Format::Name => self
                .found
                .iter()
                .flat_map(|f| {
                    let prefix = f.resolved.name_prefix();
                    f.objects
                        .iter()
                        .map(move |o| format!("{prefix}/{}\n", o.name_any()))
                })
                .collect(),
            Format::Json | Format::Yaml => {
                let doc = if query.format == Format::Json {
                    DocFormat::Json
                } else {
                    DocFormat::Yaml
                };
                let items: Vec<Value> = self
                    .found
                    .iter()
                    .flat_map(|f| f.objects.iter().map(move |o| clean(o, &f.cluster)))
                    .collect();
                if query.names.len() == 1 && items.len() == 1 {
                    output::document(&items[0], doc)?
                } else {
                    output::document(
                        &json!({"apiVersion": "v1", "kind": "List", "items": items,
                            "metadata": {"resourceVersion": ""}}),
                        doc,
                    )?
                }
            }
        };
        if empty && query.names.is_empty() && !matches!(query.format, Format::Json | Format::Yaml) {
            rendered.stderr.push(match &self.namespace {
                Some(ns) => format!("No resources found in {ns} namespace."),
                None => "No resources found".to_string(),
            });
        }
        for (cluster, why) in &self.failures {
            rendered.stderr.push(format!("{cluster}: {why}"));
        }
        for cluster in &self.not_ready {
            rendered.stderr.push(format!(
                "{cluster}: not Ready on the control plane, so its status there is not being \
                 updated (see `karmadactl get clusters`)"
            ));
        }
        if !self.found.is_empty() {
            for cluster in &self.unknown_in {
                rendered.stderr.push(format!(
                    "{cluster}: does not serve resource type {:?}",
                    query.resource
                ));
            }
        }
        Ok(rendered)
    }

    /// Names asked for that no cluster has (only meaningful when every cluster answered).
    pub fn missing(&self, query: &Query) -> Vec<String> {
        query
            .names
            .iter()
            .filter(|n| {
                !self
                    .found
                    .iter()
                    .any(|f| f.objects.iter().any(|o| o.name_any() == **n))
            })
            .cloned()
            .collect()
    }

    /// `deployments.apps "x" not found` (kubectl's wording), naming where it looked.
    pub fn not_found(&self, missing: &[String]) -> Error {
        let kind = self
            .found
            .first()
            .map(|f| f.resolved.qualified())
            .unwrap_or_default();
        let places: Vec<&str> = self.found.iter().map(|f| f.cluster.as_str()).collect();
        Error::NotFound(format!(
            "{kind} {} not found{} in {}",
            missing
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.namespace
                .as_ref()
                .map(|ns| format!(" in namespace {ns}"))
                .unwrap_or_default(),
            places.join(", ")
        ))
    }

    fn table(&self, wide: bool, show_cluster: bool, all_namespaces: bool) -> String {
        let kind = self
            .found
            .first()
            .map(|f| (f.resolved.ar.group.clone(), f.resolved.ar.kind.clone()))
            .unwrap_or_default();
        let columns = Columns::for_kind(&kind.0, &kind.1, wide);
        let mut header: Vec<&str> = Vec::new();
        if all_namespaces {
            header.push("NAMESPACE");
        }
        header.push("NAME");
        if show_cluster {
            header.push("CLUSTER");
        }
        header.extend(columns.header());
        if show_cluster {
            header.push("SYNCED");
        }
        let mut rows = Vec::new();
        for f in &self.found {
            for (i, o) in f.objects.iter().enumerate() {
                let mut row = Vec::new();
                if all_namespaces {
                    row.push(o.namespace().unwrap_or_default());
                }
                row.push(o.name_any());
                if show_cluster {
                    row.push(f.cluster.clone());
                }
                row.extend(columns.row(o));
                if show_cluster {
                    let synced = f.synced.get(i).unwrap_or(&Synced::NotPropagated);
                    row.push(synced.cell());
                }
                rows.push(row);
            }
        }
        output::table(&header, rows)
    }
}

/// The object as kubectl prints it (no managedFields); members' objects are annotated with
/// the cluster they came from.
fn clean(o: &DynamicObject, cluster: &str) -> Value {
    let mut o = o.clone();
    o.metadata.managed_fields = None;
    if cluster != KARMADA {
        o.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(ANNOTATION_FROM_CLUSTER.into(), cluster.into());
    }
    serde_json::to_value(&o).unwrap_or(Value::Null)
}

/// The per-kind columns after NAME (and CLUSTER).
enum Columns {
    Deployment { wide: bool },
    Pod { wide: bool },
    Generic,
}

impl Columns {
    fn for_kind(group: &str, kind: &str, wide: bool) -> Columns {
        match (group, kind) {
            ("apps", "Deployment") => Columns::Deployment { wide },
            ("", "Pod") => Columns::Pod { wide },
            _ => Columns::Generic,
        }
    }

    fn header(&self) -> Vec<&'static str> {
        match self {
            Columns::Deployment { wide } => {
                let mut h = vec!["READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
                if *wide {
                    h.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
                }
                h
            }
            Columns::Pod { wide } => {
                let mut h = vec!["READY", "STATUS", "RESTARTS", "AGE"];
                if *wide {
                    h.extend(["IP", "NODE"]);
                }
                h
            }
            Columns::Generic => vec!["AGE"],
        }
    }

    fn row(&self, o: &DynamicObject) -> Vec<String> {
        let age = o
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| output::age(t.0))
            .unwrap_or_else(|| "<unknown>".into());
        let d = &o.data;
        let num = |v: &Value| v.as_i64().unwrap_or(0);
        match self {
            Columns::Deployment { wide } => {
                let spec_replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
                let st = &d["status"];
                let mut row = vec![
                    format!("{}/{}", num(&st["readyReplicas"]), spec_replicas),
                    num(&st["updatedReplicas"]).to_string(),
                    num(&st["availableReplicas"]).to_string(),
                    age,
                ];
                if *wide {
                    let containers = d["spec"]["template"]["spec"]["containers"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let join = |key: &str| {
                        containers
                            .iter()
                            .filter_map(|c| c[key].as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    let selector = d["spec"]["selector"]["matchLabels"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default();
                    row.extend([join("name"), join("image"), none_if_empty(selector)]);
                }
                row
            }
            Columns::Pod { wide } => {
                let st = &d["status"];
                let statuses = st["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let total = d["spec"]["containers"].as_array().map_or(0, |c| c.len());
                let ready = statuses
                    .iter()
                    .filter(|c| c["ready"] == json!(true))
                    .count();
                let restarts: i64 = statuses.iter().map(|c| num(&c["restartCount"])).sum();
                let waiting = statuses
                    .iter()
                    .find_map(|c| c["state"]["waiting"]["reason"].as_str());
                let status = if o.metadata.deletion_timestamp.is_some() {
                    "Terminating".to_string()
                } else {
                    waiting
                        .or(st["reason"].as_str())
                        .or(st["phase"].as_str())
                        .unwrap_or("Unknown")
                        .to_string()
                };
                let mut row = vec![
                    format!("{ready}/{total}"),
                    status,
                    restarts.to_string(),
                    age,
                ];
                if *wide {
                    row.extend([
                        none_if_empty(st["podIP"].as_str().unwrap_or_default().to_string()),
                        none_if_empty(
                            d["spec"]["nodeName"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        ),
                    ]);
                }
                row
            }
            Columns::Generic => vec![age],
        }
    }
}

fn none_if_empty(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ApiResource;

    fn deployment(name: &str, ready: i64) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {"readyReplicas": ready, "updatedReplicas": 2, "availableReplicas": ready},
        }))
        .unwrap()
    }

    fn query(scope: Scope, format: Format) -> Query {
        Query {
            resource: "deploy".into(),
            names: vec![],
            namespace: None,
            all_namespaces: false,
            selector: None,
            scope,
            clusters: vec![],
            member_timeout: Duration::from_secs(5),
            format,
        }
    }

    fn gathered() -> Gathered {
        let resolved = Resolved {
            ar: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            namespaced: true,
        };
        Gathered {
            found: vec![
                Found {
                    cluster: "member1".into(),
                    resolved: resolved.clone(),
                    objects: vec![deployment("web", 1)],
                    synced: vec![Synced::No { last: None }],
                },
                Found {
                    cluster: "member2".into(),
                    resolved,
                    objects: vec![deployment("web", 2)],
                    synced: vec![Synced::NotPropagated],
                },
            ],
            failures: vec![("member3".into(), "unreachable (connection refused)".into())],
            unknown_in: vec![],
            namespace: Some("default".into()),
            not_ready: vec![],
        }
    }

    #[test]
    fn tables_have_a_cluster_column_and_kubectl_deployment_columns() {
        let r = gathered()
            .render(&query(Scope::Members, Format::Table))
            .unwrap();
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{}", r.stdout);
        for h in ["CLUSTER", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
            assert!(lines[0].contains(h), "{h} missing: {}", lines[0]);
        }
        assert!(lines[0].ends_with("SYNCED"), "{}", lines[0]);
        assert!(lines[1].contains("member1") && lines[1].contains("1/2"));
        assert!(lines[1].ends_with("no, never"), "{}", lines[1]);
        assert!(lines[2].contains("member2") && lines[2].contains("2/2"));
        assert!(lines[2].ends_with(" -"), "{}", lines[2]);
        assert_eq!(r.stderr, vec!["member3: unreachable (connection refused)"]);
        let mut g = gathered();
        g.not_ready = vec!["member2".into()];
        let r = g.render(&query(Scope::Members, Format::Table)).unwrap();
        assert!(
            r.stderr.iter().any(|l| l.starts_with("member2: not Ready")),
            "{:?}",
            r.stderr
        );
        let r = gathered()
            .render(&query(Scope::Karmada, Format::Table))
            .unwrap();
        assert!(!r.stdout.contains("SYNCED"), "{}", r.stdout);
        let wide = gathered()
            .render(&query(Scope::Members, Format::Wide))
            .unwrap();
        assert!(wide.stdout.contains("app=web") && wide.stdout.contains("nginx"));
    }

    #[test]
    fn json_annotates_the_member_and_name_uses_the_group() {
        let r = gathered()
            .render(&query(Scope::Members, Format::Json))
            .unwrap();
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["kind"], "List");
        assert_eq!(
            v["items"][1]["metadata"]["annotations"][ANNOTATION_FROM_CLUSTER],
            "member2"
        );
        let r = gathered()
            .render(&query(Scope::Members, Format::Name))
            .unwrap();
        assert_eq!(r.stdout, "deployment.apps/web\ndeployment.apps/web\n");
    }

    #[test]
    fn empty_results_say_so_on_stderr() {
        let g = Gathered {
            namespace: Some("default".into()),
            ..Default::default()
        };
        let r = g.render(&query(Scope::Karmada, Format::Table)).unwrap();
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr, vec!["No resources found in default namespace."]);
    }
}
