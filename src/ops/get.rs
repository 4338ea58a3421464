//! `karmadactl get clusters`: the member clusters as a table, wide table, json, yaml or names;
//! optionally watched. Also the helpers the other cluster commands share: fetching one Cluster
//! and turning a failed request into one line that names what was tried.

pub mod resources;
pub mod sync;

use std::collections::HashMap;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Taint;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use crate::api::{CONDITION_READY, Cluster};
use crate::client::connect::Target;
use crate::output::{self, DocFormat, Format};
use crate::{Error, Result};

/// What `-o name` prints before a cluster's name.
pub const NAME_PREFIX: &str = "cluster.cluster.karmada.io/";
/// Columns of the default table.
pub const HEADER: &[&str] = &["NAME", "VERSION", "MODE", "READY", "AGE"];
/// Columns of `-o wide`. NODES is `ready/total`.
pub const WIDE_HEADER: &[&str] = &[
    "NAME",
    "VERSION",
    "MODE",
    "READY",
    "AGE",
    "APIENDPOINT",
    "PROVIDER",
    "REGION",
    "ZONES",
    "TAINTS",
    "NODES",
];
/// Printed on stderr when a table or name listing is empty.
pub const NO_CLUSTERS: &str = "No clusters found.";

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// Cluster names; empty means all (filtered by `selector`).
    pub names: Vec<String>,
    /// Label selector (`-l`), e.g. `env=prod,tier!=edge`.
    pub selector: Option<String>,
    pub format: Format,
}

/// The clusters found, and the names asked for that do not exist.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub clusters: Vec<Cluster>,
    pub missing: Vec<String>,
    /// Whether exactly one name was asked for (json/yaml then print the object, not a List).
    pub single: bool,
}

/// What to print: `stdout`, and a note for stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub stdout: String,
    pub stderr: Option<String>,
}

/// The error for a cluster that does not exist.
pub fn not_found(name: &str) -> Error {
    Error::NotFound(format!(
        "cluster {name:?} not found; list clusters with karmadactl get clusters"
    ))
}

/// The error for several missing clusters (one line).
pub fn not_found_all(names: &[String]) -> Error {
    match names {
        [one] => not_found(one),
        _ => Error::NotFound(format!(
            "clusters {} not found; list clusters with karmadactl get clusters",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The error and its causes as one line, without kube's variant prefixes and repeats.
pub(crate) fn one_line(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = next {
        let mut text = e.to_string();
        for prefix in ["HyperError: ", "ServiceError: "] {
            if let Some(rest) = text.strip_prefix(prefix) {
                text = rest.to_string();
            }
        }
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// One line for a failed request to the control plane, naming the kubeconfig and context.
pub(crate) fn request_error(target: &Target, err: kube::Error) -> Error {
    match err {
        kube::Error::Api(status) => {
            if status.code == 404
                && status
                    .message
                    .contains("could not find the requested resource")
            {
                Error::NotFound(format!(
                    "{} does not serve clusters.cluster.karmada.io; point --kubeconfig/--karmada-context \
                     at a Karmada control plane or install its CRDs",
                    target.describe()
                ))
            } else if status.code == 401 || status.code == 403 {
                Error::Invalid(format!(
                    "{} rejected the request: {}; check the credentials of that context",
                    target.describe(),
                    status.message
                ))
            } else {
                Error::Invalid(format!(
                    "the control plane ({}) refused the request: {}",
                    target.describe(),
                    status.message
                ))
            }
        }
        other => Error::Unreachable {
            target: target.describe(),
            message: one_line(&other),
        },
    }
}

/// The Clusters API of the control plane.
pub(crate) async fn clusters_api(target: &Target) -> Result<(Client, Api<Cluster>)> {
    let client = target.client().await?;
    Ok((client.clone(), Api::all(client)))
}

/// One Cluster, or the "not found" error.
pub(crate) async fn get_cluster(
    target: &Target,
    api: &Api<Cluster>,
    name: &str,
) -> Result<Cluster> {
    match api.get_opt(name).await {
        Ok(Some(cluster)) => Ok(cluster),
        Ok(None) => Err(not_found(name)),
        Err(e) => Err(request_error(target, e)),
    }
}

/// Lists the clusters `opts` asks for.
pub async fn list(target: &Target, opts: &GetOptions) -> Result<Listing> {
    let (_, api) = clusters_api(target).await?;
    let mut listing = Listing {
        single: opts.names.len() == 1,
        ..Default::default()
    };
    if opts.names.is_empty() {
        let mut params = ListParams::default();
        if let Some(selector) = &opts.selector {
            params = params.labels(selector);
        }
        let list = api.list(&params).await.map_err(|e| match e {
            kube::Error::Api(s) if s.code == 400 && opts.selector.is_some() => {
                Error::Invalid(format!(
                    "invalid label selector {:?}: {}",
                    opts.selector.as_deref().unwrap_or_default(),
                    s.message
                ))
            }
            e => request_error(target, e),
        })?;
        listing.clusters = list.items;
        listing.clusters.sort_by_key(|c| c.name_any());
    } else {
        for name in &opts.names {
            match api.get_opt(name).await {
                Ok(Some(c)) => listing.clusters.push(c),
                Ok(None) => listing.missing.push(name.clone()),
                Err(e) => return Err(request_error(target, e)),
            }
        }
    }
    Ok(listing)
}

impl Listing {
    /// The output for `format`. Tables and names of nothing leave stdout empty and say
    /// [`NO_CLUSTERS`] on stderr; json/yaml print an empty List.
    pub fn render(&self, format: Format) -> Result<Rendered> {
        let empty = self.clusters.is_empty();
        let stderr = (empty && self.missing.is_empty()).then(|| NO_CLUSTERS.to_string());
        let stdout = match format {
            Format::Table | Format::Wide if empty => String::new(),
            Format::Table | Format::Wide => table(&self.clusters, format == Format::Wide),
            Format::Name => self.clusters.iter().map(name_line).collect(),
            Format::Json | Format::Yaml => {
                let doc = match format {
                    Format::Json => DocFormat::Json,
                    _ => DocFormat::Yaml,
                };
                if self.single && self.clusters.len() == 1 {
                    output::document(&clean(&self.clusters[0])?, doc)?
                } else if self.single && empty {
                    String::new()
                } else {
                    output::document(&list_document(&self.clusters)?, doc)?
                }
            }
        };
        let stderr = match format {
            Format::Json | Format::Yaml => None,
            _ => stderr,
        };
        Ok(Rendered { stdout, stderr })
    }
}

/// `cluster.cluster.karmada.io/<name>\n`.
pub fn name_line(cluster: &Cluster) -> String {
    format!("{NAME_PREFIX}{}\n", cluster.name_any())
}

/// The object as kubectl prints it: without managedFields.
pub fn clean(cluster: &Cluster) -> Result<Value> {
    let mut cluster = cluster.clone();
    cluster.metadata.managed_fields = None;
    serde_json::to_value(&cluster)
        .map_err(|e| Error::Invalid(format!("cannot serialize cluster: {e}")))
}

/// A `v1 List` of the clusters, as `kubectl get -o json` prints several objects.
pub fn list_document(clusters: &[Cluster]) -> Result<Value> {
    let items = clusters.iter().map(clean).collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": items,
        "metadata": {"resourceVersion": ""},
    }))
}

/// The table (with header) of `clusters`.
pub fn table(clusters: &[Cluster], wide: bool) -> String {
    let header = if wide { WIDE_HEADER } else { HEADER };
    output::table(header, clusters.iter().map(|c| row(c, wide)))
}

fn or_none(s: impl Into<String>) -> String {
    let s = s.into();
    if s.is_empty() { "<none>".into() } else { s }
}

/// `key=value:Effect`, `key:Effect`, like `kubectl describe node`.
pub fn taint_string(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// The zones of a cluster: `spec.zones`, else the deprecated `spec.zone`.
pub fn zones(cluster: &Cluster) -> Vec<String> {
    if !cluster.spec.zones.is_empty() {
        cluster.spec.zones.clone()
    } else if !cluster.spec.zone.is_empty() {
        vec![cluster.spec.zone.clone()]
    } else {
        Vec::new()
    }
}

/// One table row.
pub fn row(c: &Cluster, wide: bool) -> Vec<String> {
    let status = c.status.clone().unwrap_or_default();
    let ready = status
        .condition(CONDITION_READY)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| "Unknown".into());
    let age = c
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| output::age(t.0))
        .unwrap_or_else(|| "<unknown>".into());
    let mut row = vec![
        c.name_any(),
        or_none(status.kubernetes_version.clone()),
        format!("{:?}", c.spec.sync_mode),
        ready,
        age,
    ];
    if wide {
        let nodes = status
            .node_summary
            .as_ref()
            .map(|n| format!("{}/{}", n.ready_num, n.total_num))
            .unwrap_or_else(|| "<none>".into());
        row.extend([
            or_none(c.spec.api_endpoint.clone()),
            or_none(c.spec.provider.clone()),
            or_none(c.spec.region.clone()),
            or_none(zones(c).join(",")),
            or_none(
                c.spec
                    .taints
                    .iter()
                    .map(taint_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            nodes,
        ]);
    }
    row
}

/// After [`list`] printed `initial`, prints one entry per change (added, modified or deleted
/// cluster) through `emit` until the stream ends (it does not by itself; the caller stops it,
/// e.g. on Ctrl-C). Uses a kube-runtime watcher, which re-lists and resumes after errors.
pub async fn watch(
    target: &Target,
    opts: &GetOptions,
    initial: &Listing,
    mut emit: impl FnMut(&str),
) -> Result<()> {
    let (_, api) = clusters_api(target).await?;
    let mut config = watcher::Config::default();
    if let Some(selector) = &opts.selector {
        config = config.labels(selector);
    }
    if let [one] = opts.names.as_slice() {
        config = config.fields(&format!("metadata.name={one}"));
    }
    let wide = opts.format == Format::Wide;
    let header = if wide { WIDE_HEADER } else { HEADER };
    let initial_rows: Vec<Vec<String>> = initial.clusters.iter().map(|c| row(c, wide)).collect();
    let mut seen: HashMap<String, String> = initial
        .clusters
        .iter()
        .map(|c| (c.name_any(), c.resource_version().unwrap_or_default()))
        .collect();
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut yaml_docs = initial.clusters.len();
    loop {
        let event = match stream.try_next().await {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(
                    "watching clusters on {}: {}",
                    target.describe(),
                    one_line(&e)
                );
                continue;
            }
        };
        let (cluster, deleted) = match event {
            watcher::Event::Apply(c) | watcher::Event::InitApply(c) => (c, false),
            watcher::Event::Delete(c) => (c, true),
            watcher::Event::Init | watcher::Event::InitDone => continue,
        };
        let name = cluster.name_any();
        if !opts.names.is_empty() && !opts.names.contains(&name) {
            continue;
        }
        let version = cluster.resource_version().unwrap_or_default();
        if deleted {
            seen.remove(&name);
        } else if seen.get(&name) == Some(&version) {
            continue;
        } else {
            seen.insert(name, version);
        }
        let text = match opts.format {
            Format::Table | Format::Wide => {
                // Render with the first rows so the new row lines up with the table above.
                let mut rows = initial_rows.clone();
                rows.push(row(&cluster, wide));
                let rendered = output::table(header, rows);
                let last = rendered.lines().last().unwrap_or_default();
                format!("{last}\n")
            }
            Format::Name => name_line(&cluster),
            Format::Json => output::document(&clean(&cluster)?, DocFormat::Json)?,
            Format::Yaml => {
                let doc = output::document(&clean(&cluster)?, DocFormat::Yaml)?;
                yaml_docs += 1;
                if yaml_docs > 1 {
                    format!("---\n{doc}")
                } else {
                    doc
                }
            }
        };
        emit(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClusterSpec;
    use crate::api::cluster::{ClusterStatus, NodeSummary};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    fn cluster(name: &str) -> Cluster {
        let mut c = Cluster::new(
            name,
            ClusterSpec {
                api_endpoint: format!("https://{name}.example:6443"),
                region: "eu".into(),
                zones: vec!["a".into(), "b".into()],
                taints: vec![Taint {
                    key: "k".into(),
                    value: Some("v".into()),
                    effect: "NoSchedule".into(),
                    time_added: None,
                }],
                ..Default::default()
            },
        );
        c.status = Some(ClusterStatus {
            kubernetes_version: "v1.37.2".into(),
            conditions: vec![Condition {
                type_: CONDITION_READY.into(),
                status: "True".into(),
                reason: "ClusterReady".into(),
                message: "ok".into(),
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::now(),
                ),
                observed_generation: None,
            }],
            node_summary: Some(NodeSummary {
                total_num: 3,
                ready_num: 2,
            }),
            ..Default::default()
        });
        c
    }

    #[test]
    fn rows_show_status_and_wide_columns() {
        let c = cluster("m1");
        assert_eq!(row(&c, false)[..4], ["m1", "v1.37.2", "Push", "True"]);
        let wide = row(&c, true);
        assert_eq!(
            wide[5..],
            [
                "https://m1.example:6443",
                "<none>",
                "eu",
                "a,b",
                "k=v:NoSchedule",
                "2/3"
            ]
        );
        let bare = Cluster::new("m2", ClusterSpec::default());
        assert_eq!(row(&bare, false)[1..4], ["<none>", "Push", "Unknown"]);
    }

    #[test]
    fn empty_listings() {
        let empty = Listing::default();
        let r = empty.render(Format::Table).unwrap();
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.as_deref(), Some(NO_CLUSTERS));
        let r = empty.render(Format::Json).unwrap();
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["kind"], "List");
        assert_eq!(v["items"], json!([]));
        assert!(r.stderr.is_none());
    }

    #[test]
    fn single_name_prints_the_object() {
        let listing = Listing {
            clusters: vec![cluster("m1")],
            missing: vec![],
            single: true,
        };
        let v: Value = serde_json::from_str(&listing.render(Format::Json).unwrap().stdout).unwrap();
        assert_eq!(v["kind"], "Cluster");
        assert_eq!(
            listing.render(Format::Name).unwrap().stdout,
            "cluster.cluster.karmada.io/m1\n"
        );
    }
}
