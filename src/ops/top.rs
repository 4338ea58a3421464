//! `karmadactl top node|pod`: CPU and memory use in member clusters, from each member's
//! metrics API (`metrics.k8s.io/v1beta1`, served by metrics-server), with a CLUSTER column
//! like Karmada's karmadactl. Members are asked in parallel; one without the metrics API (or
//! unreachable) is reported with the fix, and the others are still shown.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, ResourceExt as _};
use serde_json::Value;

use crate::api::Cluster;
use crate::client::connect::Target;
use crate::engine::quantity::parse_quantity;
use crate::ops::get::{one_line, request_error};
use crate::output;
use crate::{Error, Result};

/// The metrics API group and version.
pub const METRICS_GROUP: &str = "metrics.k8s.io";
pub const METRICS_VERSION: &str = "v1beta1";

fn metrics_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: METRICS_GROUP.into(),
        version: METRICS_VERSION.into(),
        api_version: format!("{METRICS_GROUP}/{METRICS_VERSION}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// `--sort-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    Cpu,
    Memory,
}

/// What `top` shows, and where.
#[derive(Debug, Clone, Default)]
pub struct TopOptions {
    /// `--clusters`: these members (empty: every member).
    pub clusters: Vec<String>,
    /// A node or pod name.
    pub name: Option<String>,
    pub selector: Option<String>,
    pub sort_by: Option<SortBy>,
    pub no_headers: bool,
    pub timeout: Duration,
    // node
    /// `--show-capacity`: percentages of capacity instead of allocatable.
    pub show_capacity: bool,
    // pod
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub field_selector: Option<String>,
    /// `--containers`: one row per container.
    pub containers: bool,
    /// `--sum`: a total row.
    pub sum: bool,
}

/// One row's usage: cores and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub cpu: f64,
    pub memory: f64,
}

impl Usage {
    fn from(value: &Value) -> Usage {
        let q = |k: &str| value.get(k).and_then(Value::as_str).map(parse_quantity);
        Usage {
            cpu: q("cpu").unwrap_or(0.0),
            memory: q("memory").unwrap_or(0.0),
        }
    }

    fn add(&mut self, other: Usage) {
        self.cpu += other.cpu;
        self.memory += other.memory;
    }
}

/// `250m`, as kubectl prints cpu.
pub fn cpu(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).round() as i64)
}

/// `512Mi`, as kubectl prints memory.
pub fn memory(bytes: f64) -> String {
    format!("{}Mi", (bytes / (1024.0 * 1024.0)).floor() as i64)
}

/// A node's row.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub cluster: String,
    pub name: String,
    /// None: the node has no metrics (`<unknown>`).
    pub usage: Option<Usage>,
    /// Allocatable (or capacity) to compute percentages.
    pub available: Option<Usage>,
}

/// A pod's (or container's) row.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub cluster: String,
    pub namespace: String,
    pub pod: String,
    /// Set with `--containers`.
    pub container: Option<String>,
    pub usage: Usage,
}

/// What `top` found, and the members that could not answer.
#[derive(Debug, Clone, Default)]
pub struct Top<R> {
    pub rows: Vec<R>,
    pub failures: Vec<(String, String)>,
}

async fn members(cp: &Client, target: &Target, wanted: &[String]) -> Result<Vec<Cluster>> {
    let api: Api<Cluster> = Api::all(cp.clone());
    let mut all = api
        .list(&ListParams::default())
        .await
        .map_err(|e| request_error(target, e))?
        .items;
    all.sort_by_key(|c| c.name_any());
    let known: Vec<String> = all.iter().map(|c| c.name_any()).collect();
    crate::ops::require_known_clusters(wanted, &known)?;
    let chosen: Vec<Cluster> = all
        .into_iter()
        .filter(|c| wanted.is_empty() || wanted.contains(&c.name_any()))
        .collect();
    if chosen.is_empty() {
        return Err(Error::NotFound(
            "no member clusters joined; join one with `karmadactl join`".into(),
        ));
    }
    Ok(chosen)
}

/// Why a metrics request failed, with the fix.
fn metrics_error(err: kube::Error) -> String {
    match err {
        kube::Error::Api(s) if s.code == 404 => format!(
            "the metrics API ({METRICS_GROUP}/{METRICS_VERSION}) is not available; install \
             metrics-server in that cluster"
        ),
        kube::Error::Api(s) if s.code == 503 => format!(
            "the metrics API ({METRICS_GROUP}/{METRICS_VERSION}) is registered but not serving \
             ({}); check metrics-server in that cluster",
            s.message
        ),
        kube::Error::Api(s) => format!("refused: {}", s.message),
        other => format!("unreachable ({})", one_line(&other)),
    }
}

/// Runs `work` for every chosen member in parallel, each bounded by `opts.timeout`.
async fn per_member<R, F, Fut>(target: &Target, opts: &TopOptions, work: F) -> Result<Top<R>>
where
    F: Fn(Client, String) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Vec<R>, String>>,
{
    let cp = target.client().await?;
    let clusters = members(&cp, target, &opts.clusters).await?;
    let results = join_all(clusters.iter().map(|cluster| {
        let cp = cp.clone();
        let work = &work;
        async move {
            let name = cluster.name_any();
            let run = async {
                let client = crate::client::member::client(&cp, cluster, opts.timeout)
                    .await
                    .map_err(|e| format!("unreachable ({e})"))?;
                work(client, name.clone()).await
            };
            let result = match tokio::time::timeout(opts.timeout, run).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "unreachable (no answer within {}s)",
                    opts.timeout.as_secs()
                )),
            };
            (name, result)
        }
    }))
    .await;
    let mut top = Top {
        rows: Vec::new(),
        failures: Vec::new(),
    };
    for (name, result) in results {
        match result {
            Ok(rows) => top.rows.extend(rows),
            Err(why) => top.failures.push((name, why)),
        }
    }
    Ok(top)
}

/// `top node`: each node's usage and its share of allocatable (or capacity).
pub async fn nodes(target: &Target, opts: &TopOptions) -> Result<Top<NodeRow>> {
    per_member(target, opts, |client, cluster| async move {
        let metrics: Api<DynamicObject> =
            Api::all_with(client.clone(), &metrics_resource("NodeMetrics", "nodes"));
        let nodes: Api<Node> = Api::all(client);
        let mut params = ListParams::default();
        if let Some(sel) = &opts.selector {
            params = params.labels(sel);
        }
        let (metric_items, node_items) = match &opts.name {
            Some(n) => {
                let m = metrics.get_opt(n).await.map_err(metrics_error)?;
                let node = nodes
                    .get_opt(n)
                    .await
                    .map_err(|e| format!("refused: {}", one_line(&e)))?;
                if m.is_none() && node.is_none() {
                    return Ok(Vec::new());
                }
                (
                    m.into_iter().collect::<Vec<_>>(),
                    node.into_iter().collect(),
                )
            }
            None => (
                metrics.list(&params).await.map_err(metrics_error)?.items,
                nodes
                    .list(&params)
                    .await
                    .map_err(|e| format!("refused: {}", one_line(&e)))?
                    .items,
            ),
        };
        let available: BTreeMap<String, Usage> = node_items
            .iter()
            .map(|n| {
                let status = n.status.clone().unwrap_or_default();
                let res = if opts.show_capacity {
                    status.capacity
                } else {
                    status.allocatable
                }
                .unwrap_or_default();
                let get = |k: &str| res.get(k).map(|q| parse_quantity(&q.0)).unwrap_or(0.0);
                (
                    n.name_any(),
                    Usage {
                        cpu: get("cpu"),
                        memory: get("memory"),
                    },
                )
            })
            .collect();
        let mut rows: Vec<NodeRow> = metric_items
            .iter()
            .map(|m| NodeRow {
                cluster: cluster.clone(),
                name: m.name_any(),
                usage: Some(Usage::from(m.data.get("usage").unwrap_or(&Value::Null))),
                available: available.get(&m.name_any()).copied(),
            })
            .collect();
        // Nodes the metrics API knows nothing about yet.
        for n in node_items {
            if !rows.iter().any(|r| r.name == n.name_any()) {
                rows.push(NodeRow {
                    cluster: cluster.clone(),
                    name: n.name_any(),
                    usage: None,
                    available: available.get(&n.name_any()).copied(),
                });
            }
        }
        Ok(rows)
    })
    .await
}

/// `top pod`: each pod's (or container's) usage.
pub async fn pods(target: &Target, opts: &TopOptions) -> Result<Top<PodRow>> {
    let namespace = match &opts.namespace {
        Some(ns) => ns.clone(),
        None => target.config(None).await?.default_namespace,
    };
    let namespace = &namespace;
    per_member(target, opts, |client, cluster| async move {
        let res = metrics_resource("PodMetrics", "pods");
        let api: Api<DynamicObject> = if opts.all_namespaces {
            Api::all_with(client.clone(), &res)
        } else {
            Api::namespaced_with(client.clone(), namespace, &res)
        };
        let mut params = ListParams::default();
        if let Some(sel) = &opts.selector {
            params = params.labels(sel);
        }
        if let Some(sel) = &opts.field_selector {
            params = params.fields(sel);
        }
        let items = match &opts.name {
            Some(n) => api
                .get_opt(n)
                .await
                .map_err(metrics_error)?
                .into_iter()
                .collect(),
            None => api.list(&params).await.map_err(metrics_error)?.items,
        };
        // With a name and no metrics: say whether the pod exists at all.
        if let (Some(n), true) = (&opts.name, items.is_empty()) {
            let pods: Api<Pod> = Api::namespaced(client, namespace);
            if pods.get_opt(n).await.ok().flatten().is_some() {
                return Err(format!("metrics not available yet for pod {namespace}/{n}"));
            }
        }
        let mut rows = Vec::new();
        for m in items {
            let containers = m
                .data
                .get("containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ns = m.namespace().unwrap_or_default();
            let mut total = Usage::default();
            for c in &containers {
                let usage = Usage::from(c.get("usage").unwrap_or(&Value::Null));
                total.add(usage);
                if opts.containers {
                    rows.push(PodRow {
                        cluster: cluster.clone(),
                        namespace: ns.clone(),
                        pod: m.name_any(),
                        container: Some(
                            c.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        ),
                        usage,
                    });
                }
            }
            if !opts.containers {
                rows.push(PodRow {
                    cluster: cluster.clone(),
                    namespace: ns,
                    pod: m.name_any(),
                    container: None,
                    usage: total,
                });
            }
        }
        Ok(rows)
    })
    .await
}

fn percent(used: f64, available: f64) -> String {
    if available <= 0.0 {
        "<unknown>".into()
    } else {
        format!("{}%", (used / available * 100.0) as i64)
    }
}

fn without_header(text: String, no_headers: bool) -> String {
    if no_headers {
        text.lines().skip(1).map(|l| format!("{l}\n")).collect()
    } else {
        text
    }
}

impl Top<NodeRow> {
    /// `NAME CLUSTER CPU(cores) CPU% MEMORY(bytes) MEMORY%`, Karmada's columns.
    pub fn render(&self, opts: &TopOptions) -> String {
        let mut rows = self.rows.clone();
        match opts.sort_by {
            Some(SortBy::Cpu) => rows.sort_by(|a, b| {
                let u = |r: &NodeRow| r.usage.map(|u| u.cpu).unwrap_or(-1.0);
                u(b).total_cmp(&u(a))
            }),
            Some(SortBy::Memory) => rows.sort_by(|a, b| {
                let u = |r: &NodeRow| r.usage.map(|u| u.memory).unwrap_or(-1.0);
                u(b).total_cmp(&u(a))
            }),
            None => rows.sort_by(|a, b| (&a.cluster, &a.name).cmp(&(&b.cluster, &b.name))),
        }
        if rows.is_empty() {
            return String::new();
        }
        let table = output::table(
            &[
                "NAME",
                "CLUSTER",
                "CPU(cores)",
                "CPU%",
                "MEMORY(bytes)",
                "MEMORY%",
            ],
            rows.iter().map(|r| match r.usage {
                Some(u) => vec![
                    r.name.clone(),
                    r.cluster.clone(),
                    cpu(u.cpu),
                    r.available
                        .map(|a| percent(u.cpu, a.cpu))
                        .unwrap_or_else(|| "<unknown>".into()),
                    memory(u.memory),
                    r.available
                        .map(|a| percent(u.memory, a.memory))
                        .unwrap_or_else(|| "<unknown>".into()),
                ],
                None => vec![
                    r.name.clone(),
                    r.cluster.clone(),
                    "<unknown>".into(),
                    "<unknown>".into(),
                    "<unknown>".into(),
                    "<unknown>".into(),
                ],
            }),
        );
        without_header(table, opts.no_headers)
    }
}

impl Top<PodRow> {
    /// `[NAMESPACE] [POD] NAME CLUSTER CPU(cores) MEMORY(bytes)`, Karmada's columns.
    pub fn render(&self, opts: &TopOptions) -> String {
        let mut rows = self.rows.clone();
        match opts.sort_by {
            Some(SortBy::Cpu) => rows.sort_by(|a, b| b.usage.cpu.total_cmp(&a.usage.cpu)),
            Some(SortBy::Memory) => rows.sort_by(|a, b| b.usage.memory.total_cmp(&a.usage.memory)),
            None => rows.sort_by(|a, b| {
                (&a.cluster, &a.namespace, &a.pod, &a.container).cmp(&(
                    &b.cluster,
                    &b.namespace,
                    &b.pod,
                    &b.container,
                ))
            }),
        }
        if rows.is_empty() {
            return String::new();
        }
        let mut header = Vec::new();
        if opts.all_namespaces {
            header.push("NAMESPACE");
        }
        if opts.containers {
            header.push("POD");
        }
        header.extend(["NAME", "CLUSTER", "CPU(cores)", "MEMORY(bytes)"]);
        let width = header.len();
        let mut lines: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut row = Vec::new();
                if opts.all_namespaces {
                    row.push(r.namespace.clone());
                }
                if opts.containers {
                    row.push(r.pod.clone());
                }
                row.push(r.container.clone().unwrap_or_else(|| r.pod.clone()));
                row.push(r.cluster.clone());
                row.push(cpu(r.usage.cpu));
                row.push(memory(r.usage.memory));
                row
            })
            .collect();
        if opts.sum {
            let mut total = Usage::default();
            for r in &rows {
                total.add(r.usage);
            }
            let mut bar = vec![String::new(); width - 2];
            bar.extend(["________".to_string(), "________".to_string()]);
            lines.push(bar);
            let mut sum = vec![String::new(); width - 2];
            sum.extend([cpu(total.cpu), memory(total.memory)]);
            lines.push(sum);
        }
        without_header(output::table(&header, lines), opts.no_headers)
    }
}

impl<R> Top<R> {
    /// Lines for stderr: `member2: the metrics API (...) is not available; ...`.
    pub fn notes(&self) -> Vec<String> {
        self.failures
            .iter()
            .map(|(c, why)| format!("{c}: {why}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_rows_show_usage_and_share() {
        let top = Top {
            rows: vec![
                NodeRow {
                    cluster: "m1".into(),
                    name: "n1".into(),
                    usage: Some(Usage {
                        cpu: 0.25,
                        memory: 512.0 * 1024.0 * 1024.0,
                    }),
                    available: Some(Usage {
                        cpu: 2.0,
                        memory: 4.0 * 1024.0 * 1024.0 * 1024.0,
                    }),
                },
                NodeRow {
                    cluster: "m1".into(),
                    name: "n2".into(),
                    usage: None,
                    available: None,
                },
            ],
            failures: vec![],
        };
        let text = top.render(&TopOptions::default());
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines[0],
            [
                "NAME",
                "CLUSTER",
                "CPU(cores)",
                "CPU%",
                "MEMORY(bytes)",
                "MEMORY%"
            ]
        );
        assert_eq!(lines[1], ["n1", "m1", "250m", "12%", "512Mi", "12%"]);
        assert_eq!(lines[2][2], "<unknown>");
    }

    #[test]
    fn pod_rows_sum_and_containers() {
        let row = |pod: &str, c: Option<&str>, cpu: f64| PodRow {
            cluster: "m1".into(),
            namespace: "ns".into(),
            pod: pod.into(),
            container: c.map(String::from),
            usage: Usage {
                cpu,
                memory: 1024.0 * 1024.0,
            },
        };
        let top = Top {
            rows: vec![row("a", None, 0.1), row("b", None, 0.3)],
            failures: vec![],
        };
        let text = top.render(&TopOptions {
            sum: true,
            sort_by: Some(SortBy::Cpu),
            ..Default::default()
        });
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[1], ["b", "m1", "300m", "1Mi"]);
        assert_eq!(lines.last().unwrap(), &["400m", "2Mi"]);
        let containers = Top {
            rows: vec![row("a", Some("app"), 0.1)],
            failures: vec![],
        };
        let text = containers.render(&TopOptions {
            containers: true,
            no_headers: true,
            ..Default::default()
        });
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["a", "app", "m1", "100m", "1Mi"]
        );
    }
}
