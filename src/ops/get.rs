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
use serde_json::Value;

use crate::api::{CONDITION_READY, Cluster};
use crate::client::connect::Target;
use crate::output::printer::{self, Event, Item};
use crate::output::{self, Format, PrintOptions};
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
    /// `-o` and the flags that shape the output.
    pub print: PrintOptions,
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
    /// The output for `print`. Tables and names of nothing leave stdout empty and say
    /// [`NO_CLUSTERS`] on stderr; json/yaml print an empty List.
    pub fn render(&self, print: &PrintOptions) -> Result<Rendered> {
        let empty = self.clusters.is_empty();
        let stderr = (empty && self.missing.is_empty() && print.format.says_nothing_found())
            .then(|| NO_CLUSTERS.to_string());
        let items = items(&self.clusters, print)?;
        let single = self.single && items.len() == 1;
        let stdout = if self.single && empty && !print.format.is_table() {
            String::new()
        } else {
            printer::render(header(print), &items, print, single)?
        };
        Ok(Rendered { stdout, stderr })
    }
}

/// The table header for `print`'s format.
pub fn header(print: &PrintOptions) -> &'static [&'static str] {
    if print.format == Format::Wide {
        WIDE_HEADER
    } else {
        HEADER
    }
}

fn item(cluster: &Cluster, wide: bool) -> Result<Item> {
    Ok(Item {
        object: clean(cluster)?,
        name: name_line(cluster).trim_end().to_string(),
        cells: row(cluster, wide),
    })
}

/// The clusters as printable items, sorted as `--sort-by` asks.
pub fn items(clusters: &[Cluster], print: &PrintOptions) -> Result<Vec<Item>> {
    let wide = print.format == Format::Wide;
    let mut items = clusters
        .iter()
        .map(|c| item(c, wide))
        .collect::<Result<Vec<_>>>()?;
    if let Some(by) = &print.sort_by {
        printer::sort(&mut items, by)?;
    }
    Ok(items)
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

/// What a watch has shown, to turn kube-runtime watcher events (which re-list after errors
/// and on start) into kubectl's ADDED / MODIFIED / DELETED, once per change. `S` tells the
/// streams apart (one per cluster), `K` the objects of a stream.
pub(crate) struct Shown<S, K, O> {
    objects: HashMap<(S, K), (String, O)>,
    /// Per stream in a (re-)list: the objects listed so far.
    listing: HashMap<S, std::collections::HashSet<K>>,
}

impl<S, K, O> Shown<S, K, O>
where
    S: std::hash::Hash + Eq + Clone,
    K: std::hash::Hash + Eq + Clone,
    O: Clone,
{
    pub(crate) fn new() -> Self {
        Shown {
            objects: HashMap::new(),
            listing: HashMap::new(),
        }
    }

    /// Records an object printed by the listing.
    pub(crate) fn insert(&mut self, stream: S, key: K, version: String, object: O) {
        self.objects.insert((stream, key), (version, object));
    }

    /// What to print for one event of `stream`; `key` and `version` read an object.
    pub(crate) fn on(
        &mut self,
        stream: S,
        event: watcher::Event<O>,
        key: impl Fn(&O) -> K,
        version: impl Fn(&O) -> String,
    ) -> Vec<(Event, O)> {
        match event {
            watcher::Event::Init => {
                self.listing.insert(stream, Default::default());
                Vec::new()
            }
            watcher::Event::InitApply(o) => {
                if let Some(listed) = self.listing.get_mut(&stream) {
                    listed.insert(key(&o));
                }
                self.apply(stream, o, &key, &version)
            }
            watcher::Event::Apply(o) => self.apply(stream, o, &key, &version),
            watcher::Event::Delete(o) => {
                self.objects.remove(&(stream, key(&o)));
                vec![(Event::Deleted, o)]
            }
            watcher::Event::InitDone => {
                // Gone while the watch was not running: the re-list no longer has them.
                let listed = self.listing.remove(&stream).unwrap_or_default();
                let gone: Vec<(S, K)> = self
                    .objects
                    .keys()
                    .filter(|(s, k)| *s == stream && !listed.contains(k))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .filter_map(|k| self.objects.remove(&k))
                    .map(|(_, o)| (Event::Deleted, o))
                    .collect()
            }
        }
    }

    fn apply(
        &mut self,
        stream: S,
        o: O,
        key: &impl Fn(&O) -> K,
        version: &impl Fn(&O) -> String,
    ) -> Vec<(Event, O)> {
        let v = version(&o);
        match self
            .objects
            .insert((stream, key(&o)), (v.clone(), o.clone()))
        {
            Some((old, _)) if old == v => Vec::new(),
            Some(_) => vec![(Event::Modified, o)],
            None => vec![(Event::Added, o)],
        }
    }
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
    let wide = opts.print.format == Format::Wide;
    let above = items(&initial.clusters, &opts.print)?;
    let mut shown = Shown::new();
    for c in &initial.clusters {
        shown.insert(
            (),
            c.name_any(),
            c.resource_version().unwrap_or_default(),
            c.clone(),
        );
    }
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut separate = !initial.clusters.is_empty();
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
        let changes = shown.on(
            (),
            event,
            |c: &Cluster| c.name_any(),
            |c: &Cluster| c.resource_version().unwrap_or_default(),
        );
        for (event, cluster) in changes {
            if !opts.names.is_empty() && !opts.names.contains(&cluster.name_any()) {
                continue;
            }
            emit(&printer::render_watch_event(
                header(&opts.print),
                &above,
                &item(&cluster, wide)?,
                Some(event),
                &opts.print,
                separate,
            )?);
            separate = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClusterSpec;
    use crate::api::cluster::{ClusterStatus, NodeSummary};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use serde_json::json;

    fn print(format: Format) -> PrintOptions {
        PrintOptions {
            format,
            ..Default::default()
        }
    }

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
        let r = empty.render(&print(Format::Table)).unwrap();
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.as_deref(), Some(NO_CLUSTERS));
        let r = empty.render(&print(Format::Json)).unwrap();
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
        let v: Value =
            serde_json::from_str(&listing.render(&print(Format::Json)).unwrap().stdout).unwrap();
        assert_eq!(v["kind"], "Cluster");
        assert_eq!(
            listing.render(&print(Format::Name)).unwrap().stdout,
            "cluster.cluster.karmada.io/m1\n"
        );
    }
}
