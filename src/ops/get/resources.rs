//! `karmadactl get RESOURCE [NAME...]` for any kind, across the control plane and members.
//!
//! The resource type is resolved in each cluster by discovery, like kubectl: plural
//! (`deployments`), singular (`deployment`), kind (`Deployment`), short name (`deploy`), each
//! optionally qualified by group (`deployments.apps`) or version and group
//! (`deployments.v1.apps`). The scope follows Karmada's `karmadactl get --operation-scope`:
//! `karmada` (the default: the control plane, where templates and policies live), `members`
//! or `all`. Members are queried in parallel, each bounded by a timeout; one that cannot be
//! answered is reported, it does not fail the command.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::join_all;
use kube::api::{Api, DynamicObject, ListParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use crate::api::Cluster;
use crate::client::connect::Target;
use crate::client::kinds::{Resolved, resolve};
use crate::ops::get::sync::{self, Synced};
use crate::ops::get::{Shown, one_line, request_error};
use crate::output::printer::{self, Item};
use crate::output::{self, Format, PrintOptions};
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
    /// `-o` and the flags that shape the output.
    pub print: PrintOptions,
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

    /// The objects found, in print order (`--sort-by` applied), with the cells of
    /// [`header`](Self::header).
    pub fn items(&self, query: &Query) -> Result<Vec<Item>> {
        let columns = self.columns(query);
        let mut items = Vec::with_capacity(self.total());
        for f in &self.found {
            for (i, o) in f.objects.iter().enumerate() {
                let synced = f.synced.get(i).unwrap_or(&Synced::NotPropagated);
                items.push(item(f, o, synced, &columns, query));
            }
        }
        if let Some(by) = &query.print.sort_by {
            printer::sort(&mut items, by)?;
        }
        Ok(items)
    }

    fn columns(&self, query: &Query) -> Columns {
        let kind = self
            .found
            .first()
            .map(|f| (f.resolved.ar.group.clone(), f.resolved.ar.kind.clone()))
            .unwrap_or_default();
        Columns::for_kind(&kind.0, &kind.1, query.print.format == Format::Wide)
    }

    /// The table header: NAMESPACE (with -A), NAME, CLUSTER (with members), the kind's
    /// columns, SYNCED (with members).
    pub fn header(&self, query: &Query) -> Vec<&'static str> {
        let show_cluster = query.scope != Scope::Karmada;
        let mut header: Vec<&str> = Vec::new();
        if query.all_namespaces {
            header.push("NAMESPACE");
        }
        header.push("NAME");
        if show_cluster {
            header.push("CLUSTER");
        }
        header.extend(self.columns(query).header());
        if show_cluster {
            header.push("SYNCED");
        }
        header
    }

    /// The output for `query.print`.
    pub fn render(&self, query: &Query) -> Result<Rendered> {
        let mut rendered = Rendered::default();
        let empty = self.total() == 0;
        let items = self.items(query)?;
        let single = query.names.len() == 1 && items.len() == 1;
        rendered.stdout = printer::render(&self.header(query), &items, &query.print, single)?;
        if empty && query.names.is_empty() && query.print.format.says_nothing_found() {
            rendered.stderr.push(match &self.namespace {
                Some(ns) => format!("No resources found in {ns} namespace."),
                None => "No resources found".to_string(),
            });
        }
        rendered.stderr.extend(self.notes(query));
        Ok(rendered)
    }

    /// Lines for stderr about the clusters: unreachable, not Ready, not serving the type.
    pub fn notes(&self, query: &Query) -> Vec<String> {
        let mut notes = Vec::new();
        for (cluster, why) in &self.failures {
            notes.push(format!("{cluster}: {why}"));
        }
        for cluster in &self.not_ready {
            notes.push(format!(
                "{cluster}: not Ready on the control plane, so its status there is not being \
                 updated (see `karmadactl get clusters`)"
            ));
        }
        if !self.found.is_empty() {
            for cluster in &self.unknown_in {
                notes.push(format!(
                    "{cluster}: does not serve resource type {:?}",
                    query.resource
                ));
            }
        }
        notes
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
}

/// After the listing, prints one row (or document) per change in any cluster that answered,
/// through `emit`, until interrupted: the watches do not end by themselves (kube-runtime
/// watchers re-list and resume after errors). Each cluster is watched with the same
/// namespace, selector and name as the listing; objects already listed are not repeated.
pub async fn watch(
    target: &Target,
    query: &Query,
    gathered: &Gathered,
    mut emit: impl FnMut(&str),
) -> Result<()> {
    let cp = target.client().await?;
    let members: HashMap<String, Cluster> = if query.scope == Scope::Karmada {
        HashMap::new()
    } else {
        Api::<Cluster>::all(cp.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| request_error(target, e))?
            .items
            .into_iter()
            .map(|c| (c.name_any(), c))
            .collect()
    };
    let header = gathered.header(query);
    let columns = gathered.columns(query);
    let above = gathered.items(query)?;
    let mut shown = Shown::new();
    let mut streams = Vec::new();
    for (index, f) in gathered.found.iter().enumerate() {
        for o in &f.objects {
            shown.insert(
                index,
                key(o),
                o.resource_version().unwrap_or_default(),
                o.clone(),
            );
        }
        let client = if f.cluster == KARMADA {
            cp.clone()
        } else {
            let Some(cluster) = members.get(&f.cluster) else {
                continue;
            };
            watch_client(&cp, cluster, query.member_timeout).await?
        };
        let api: Api<DynamicObject> = match &gathered.namespace {
            Some(ns) => Api::namespaced_with(client, ns, &f.resolved.ar),
            None => Api::all_with(client, &f.resolved.ar),
        };
        let mut config = watcher::Config::default();
        if let Some(selector) = &query.selector {
            config = config.labels(selector);
        }
        if let [one] = query.names.as_slice() {
            config = config.fields(&format!("metadata.name={one}"));
        }
        streams.push(
            watcher(api, config)
                .default_backoff()
                .map(move |e| (index, e))
                .boxed(),
        );
    }
    let mut merged = futures::stream::select_all(streams);
    let mut separate = !above.is_empty();
    while let Some((index, event)) = merged.next().await {
        let f = &gathered.found[index];
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(
                    "watching {} in {}: {}",
                    query.resource,
                    f.cluster,
                    one_line(&e)
                );
                continue;
            }
        };
        let changes = shown.on(index, event, key, |o: &DynamicObject| {
            o.resource_version().unwrap_or_default()
        });
        for (event, object) in changes {
            if !query.names.is_empty() && !query.names.contains(&object.name_any()) {
                continue;
            }
            let synced = if f.cluster == KARMADA {
                Synced::NotPropagated
            } else {
                sync::states(
                    &cp,
                    &f.cluster,
                    &f.resolved.ar.kind,
                    std::slice::from_ref(&object),
                )
                .await
                .pop()
                .unwrap_or(Synced::Unknown)
            };
            let item = item(f, &object, &synced, &columns, query);
            emit(&printer::render_watch_event(
                &header,
                &above,
                &item,
                Some(event),
                &query.print,
                separate,
            )?);
            separate = true;
        }
    }
    Ok(())
}

/// Namespace and name.
fn key(o: &DynamicObject) -> (Option<String>, String) {
    (o.namespace(), o.name_any())
}

/// A member client for watching: requests stay open up to the server's watch timeout.
async fn watch_client(cp: &Client, cluster: &Cluster, timeout: Duration) -> Result<Client> {
    let access = crate::client::member::Access::load(cp, cluster).await?;
    let mut config = access.config(timeout)?;
    config.read_timeout = Some(Duration::from_secs(330));
    Client::try_from(config).map_err(|e| Error::Unreachable {
        target: format!("cluster {}", access.cluster),
        message: e.to_string(),
    })
}

/// One printable object: its json, `-o name` line and table cells.
fn item(f: &Found, o: &DynamicObject, synced: &Synced, columns: &Columns, query: &Query) -> Item {
    let show_cluster = query.scope != Scope::Karmada;
    let mut cells = Vec::new();
    if query.all_namespaces {
        cells.push(o.namespace().unwrap_or_default());
    }
    cells.push(o.name_any());
    if show_cluster {
        cells.push(f.cluster.clone());
    }
    cells.extend(columns.row(o));
    if show_cluster {
        cells.push(synced.cell());
    }
    Item {
        object: clean(o, &f.cluster),
        name: format!("{}/{}", f.resolved.name_prefix(), o.name_any()),
        cells,
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
            print: PrintOptions {
                format,
                ..Default::default()
            },
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
