//! `karmadactl describe cluster NAME`: everything known about a member in one page, like
//! `kubectl describe node`: placement facts, taints, conditions, versions, API enablements,
//! node and resource summaries, and the recent Events about the Cluster. Any other kind, in
//! the control plane or a member: [`generic`].

pub mod generic;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams};

use crate::Result;
use crate::api::Cluster;
use crate::client::connect::Target;
use crate::ops::get::{clusters_api, get_cluster, request_error, taint_string, zones};
use crate::output;

/// At most this many Events are shown (the newest).
pub const MAX_EVENTS: usize = 20;

/// The page for cluster `name`.
pub async fn describe(target: &Target, name: &str) -> Result<String> {
    let (client, api) = clusters_api(target).await?;
    let cluster = get_cluster(target, &api, name).await?;
    let events = match events(&client, name).await {
        Ok(events) => Ok(events),
        Err(kube::Error::Api(s)) => Err(s.message),
        Err(e) => Err(request_error(target, e).to_string()),
    };
    Ok(render(&cluster, &events))
}

/// core/v1 Events whose involvedObject is this Cluster, oldest first.
async fn events(client: &kube::Client, name: &str) -> kube::Result<Vec<Event>> {
    let api: Api<Event> = Api::all(client.clone());
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind=Cluster,involvedObject.name={name}"
    ));
    let mut events: Vec<Event> = api
        .list(&params)
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object
                .api_version
                .as_deref()
                .is_none_or(|v| v.is_empty() || v.starts_with("cluster.karmada.io/"))
        })
        .collect();
    events.sort_by_key(event_time);
    Ok(events)
}

/// When an Event last happened.
pub(crate) fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

/// Indents every line of a rendered table.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// `key=value` pairs, one per line, aligned under the field.
fn map_lines(
    out: &mut String,
    field: &str,
    map: Option<&std::collections::BTreeMap<String, String>>,
) {
    let items: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    list_lines(out, field, &items);
}

fn list_lines(out: &mut String, field: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "{:<20}<none>", format!("{field}:"));
        return;
    }
    for (i, item) in items.iter().enumerate() {
        let label = if i == 0 {
            format!("{field}:")
        } else {
            String::new()
        };
        let _ = writeln!(out, "{label:<20}{item}");
    }
}

fn field(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "{:<20}{}", format!("{name}:"), or_none(value));
}

/// The page, from the Cluster and its Events (or why they could not be listed).
pub fn render(c: &Cluster, events: &std::result::Result<Vec<Event>, String>) -> String {
    let mut out = String::new();
    let status = c.status.clone().unwrap_or_default();
    field(&mut out, "Name", &c.name_any());
    map_lines(&mut out, "Labels", c.metadata.labels.as_ref());
    map_lines(&mut out, "Annotations", c.metadata.annotations.as_ref());
    let created = c
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| format!("{} ({} ago)", t.0, output::age(t.0)))
        .unwrap_or_default();
    field(&mut out, "CreationTimestamp", &created);
    field(&mut out, "Cluster ID", &c.spec.id);
    field(&mut out, "Sync Mode", &format!("{:?}", c.spec.sync_mode));
    field(&mut out, "API Endpoint", &c.spec.api_endpoint);
    if let Some(secret) = &c.spec.secret_ref {
        field(
            &mut out,
            "Secret",
            &format!("{}/{}", secret.namespace, secret.name),
        );
    }
    if !c.spec.proxy_url.is_empty() {
        field(&mut out, "Proxy URL", &c.spec.proxy_url);
    }
    if c.spec.insecure_skip_tls_verification {
        field(
            &mut out,
            "Insecure TLS",
            "true (the member's certificate is not verified)",
        );
    }
    field(&mut out, "Provider", &c.spec.provider);
    field(&mut out, "Region", &c.spec.region);
    field(&mut out, "Zones", &zones(c).join(","));
    let taints: Vec<String> = c.spec.taints.iter().map(taint_string).collect();
    list_lines(&mut out, "Taints", &taints);
    field(&mut out, "Kubernetes Version", &status.kubernetes_version);

    if status.conditions.is_empty() {
        field(&mut out, "Conditions", "");
    } else {
        out.push_str("Conditions:\n");
        let rows = status.conditions.iter().map(|cond| {
            vec![
                cond.type_.clone(),
                cond.status.clone(),
                output::age(cond.last_transition_time.0),
                or_none(&cond.reason).to_string(),
                or_none(&cond.message).to_string(),
            ]
        });
        out.push_str(&indent(&output::table(
            &["TYPE", "STATUS", "AGE", "REASON", "MESSAGE"],
            rows,
        )));
    }

    let group_versions = status.api_enablements.len();
    let kinds: BTreeSet<(&str, &str)> = status
        .api_enablements
        .iter()
        .flat_map(|e| {
            let group = e.group_version.rsplit_once('/').map_or("", |(g, _)| g);
            e.resources.iter().map(move |r| (group, r.kind.as_str()))
        })
        .collect();
    let enablements = if group_versions == 0 {
        String::new()
    } else {
        let resources: usize = status
            .api_enablements
            .iter()
            .map(|e| e.resources.len())
            .sum();
        format!(
            "{group_versions} group-versions, {} kinds, {resources} resources",
            kinds.len()
        )
    };
    field(&mut out, "API Enablements", &enablements);

    let nodes = status
        .node_summary
        .as_ref()
        .map(|n| format!("{} ready of {} total", n.ready_num, n.total_num))
        .unwrap_or_default();
    field(&mut out, "Nodes", &nodes);

    match &status.resource_summary {
        Some(summary)
            if !(summary.allocatable.is_empty()
                && summary.allocating.is_empty()
                && summary.allocated.is_empty()) =>
        {
            out.push_str("Resources:\n");
            let names: BTreeSet<&String> = summary
                .allocatable
                .keys()
                .chain(summary.allocating.keys())
                .chain(summary.allocated.keys())
                .collect();
            let get = |m: &std::collections::BTreeMap<
                String,
                k8s_openapi::apimachinery::pkg::api::resource::Quantity,
            >,
                       k: &str| {
                m.get(k).map(|q| q.0.clone()).unwrap_or_else(|| "0".into())
            };
            let rows = names.into_iter().map(|name| {
                vec![
                    name.clone(),
                    get(&summary.allocatable, name),
                    get(&summary.allocating, name),
                    get(&summary.allocated, name),
                ]
            });
            out.push_str(&indent(&output::table(
                &["RESOURCE", "ALLOCATABLE", "ALLOCATING", "ALLOCATED"],
                rows,
            )));
        }
        _ => field(&mut out, "Resources", ""),
    }

    match events {
        Err(why) => field(&mut out, "Events", &format!("<cannot list events: {why}>")),
        Ok(events) if events.is_empty() => field(&mut out, "Events", ""),
        Ok(events) => {
            out.push_str("Events:\n");
            let skip = events.len().saturating_sub(MAX_EVENTS);
            let rows = events.iter().skip(skip).map(|e| {
                let from = e
                    .source
                    .as_ref()
                    .and_then(|s| s.component.clone())
                    .or_else(|| e.reporting_component.clone())
                    .unwrap_or_default();
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
                    or_none(&from).to_string(),
                    e.message.clone().unwrap_or_default().trim().to_string(),
                ]
            });
            out.push_str(&indent(&output::table(
                &["TYPE", "REASON", "AGE", "FROM", "MESSAGE"],
                rows,
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ClusterSpec;
    use crate::api::cluster::{ApiEnablement, ApiResource, ClusterStatus};
    use k8s_openapi::api::core::v1::Taint;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    #[test]
    fn page_has_every_section() {
        let mut c = Cluster::new(
            "m1",
            ClusterSpec {
                api_endpoint: "https://1.2.3.4:6443".into(),
                taints: vec![Taint {
                    key: "k".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        c.status = Some(ClusterStatus {
            kubernetes_version: "v1.37.2".into(),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: "False".into(),
                reason: "ClusterNotReachable".into(),
                message: "connection refused".into(),
                last_transition_time: Time(Timestamp::now()),
                observed_generation: None,
            }],
            api_enablements: vec![
                ApiEnablement {
                    group_version: "v1".into(),
                    resources: vec![ApiResource {
                        name: "pods".into(),
                        kind: "Pod".into(),
                    }],
                },
                ApiEnablement {
                    group_version: "apps/v1".into(),
                    resources: vec![ApiResource {
                        name: "deployments".into(),
                        kind: "Deployment".into(),
                    }],
                },
            ],
            ..Default::default()
        });
        let page = render(&c, &Ok(vec![]));
        for want in [
            "Name:               m1",
            "Sync Mode:          Push",
            "API Endpoint:       https://1.2.3.4:6443",
            "Taints:             k:NoSchedule",
            "Kubernetes Version: v1.37.2",
            "Ready",
            "ClusterNotReachable",
            "connection refused",
            "API Enablements:    2 group-versions, 2 kinds, 2 resources",
            "Events:             <none>",
        ] {
            assert!(page.contains(want), "missing {want:?} in\n{page}");
        }
    }
}
