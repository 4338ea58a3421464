//! `karmadactl api-resources` and `karmadactl api-versions`: what the control plane (or one
//! member with `-C`) serves, from discovery, as kubectl prints it.

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResource, APIResourceList};

use crate::Result;
use crate::ops::scope::Session;
use crate::output;

/// One resource type as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    pub short_names: Vec<String>,
    /// `apps/v1`, `v1`.
    pub api_version: String,
    pub group: String,
    pub namespaced: bool,
    pub kind: String,
    pub verbs: Vec<String>,
    pub categories: Vec<String>,
}

/// What discovery returned: the group versions (preferred first per group), the resource
/// types of the preferred versions, and the group versions that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub group_versions: Vec<String>,
    pub resources: Vec<ResourceType>,
    pub failed: Vec<(String, String)>,
}

/// Reads every group version and the resources of each preferred one.
pub async fn discover(session: &Session) -> Result<Discovered> {
    let client = &session.client;
    let core = client
        .list_core_api_versions()
        .await
        .map_err(|e| session.unreachable(e))?;
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| session.unreachable(e))?;
    let mut out = Discovered::default();
    // (group, group/version) to read resources of.
    let mut preferred: Vec<(String, String)> = Vec::new();
    for v in &core.versions {
        out.group_versions.push(v.clone());
    }
    if let Some(v) = core.versions.first() {
        preferred.push((String::new(), v.clone()));
    }
    for g in &groups.groups {
        for v in &g.versions {
            out.group_versions.push(v.group_version.clone());
        }
        if let Some(p) = g.preferred_version.clone().or(g.versions.first().cloned()) {
            preferred.push((g.name.clone(), p.group_version));
        }
    }
    let lists = join_all(preferred.iter().map(|(g, gv)| async move {
        let r: kube::Result<APIResourceList> = if g.is_empty() {
            client.list_core_api_resources(gv).await
        } else {
            client.list_api_group_resources(gv).await
        };
        r
    }))
    .await;
    for ((group, gv), list) in preferred.into_iter().zip(lists) {
        match list {
            Ok(list) => out.resources.extend(
                list.resources
                    .into_iter()
                    .filter(|r| !r.name.contains('/'))
                    .map(|r| resource_type(r, &group, &gv)),
            ),
            Err(e) => out
                .failed
                .push((gv, crate::ops::get::one_line(&e).to_string())),
        }
    }
    Ok(out)
}

fn resource_type(r: APIResource, group: &str, gv: &str) -> ResourceType {
    ResourceType {
        name: r.name,
        short_names: r.short_names.unwrap_or_default(),
        api_version: gv.to_string(),
        group: group.to_string(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        categories: r.categories.unwrap_or_default(),
    }
}

/// `api-resources` filters and output.
#[derive(Debug, Clone, Default)]
pub struct ResourcesOptions {
    /// `--api-group` (`""` is the core group).
    pub api_group: Option<String>,
    /// `--namespaced=true|false`; None shows both.
    pub namespaced: Option<bool>,
    /// `--verbs`: every one must be supported.
    pub verbs: Vec<String>,
    /// `--categories`: every one must be listed.
    pub categories: Vec<String>,
    /// `--sort-by name|kind`; None: by group, then name.
    pub sort_by: Option<SortBy>,
    pub no_headers: bool,
    pub output: ResourcesOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortBy {
    Name,
    Kind,
}

/// `-o` of api-resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ResourcesOutput {
    #[default]
    #[value(skip)]
    Table,
    /// Adds VERBS and CATEGORIES
    Wide,
    /// `deployments.apps`, one per line
    Name,
}

impl Discovered {
    /// The resource types the options select, sorted.
    pub fn select(&self, opts: &ResourcesOptions) -> Vec<&ResourceType> {
        let mut out: Vec<&ResourceType> = self
            .resources
            .iter()
            .filter(|r| opts.api_group.as_ref().is_none_or(|g| *g == r.group))
            .filter(|r| opts.namespaced.is_none_or(|n| n == r.namespaced))
            .filter(|r| opts.verbs.iter().all(|v| r.verbs.contains(v)))
            .filter(|r| opts.categories.iter().all(|c| r.categories.contains(c)))
            .collect();
        match opts.sort_by {
            Some(SortBy::Name) => out.sort_by(|a, b| (&a.name, &a.group).cmp(&(&b.name, &b.group))),
            Some(SortBy::Kind) => out.sort_by(|a, b| (&a.kind, &a.group).cmp(&(&b.kind, &b.group))),
            None => out.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name))),
        }
        out
    }

    /// The text `api-resources` prints.
    pub fn render_resources(&self, opts: &ResourcesOptions) -> String {
        let selected = self.select(opts);
        if opts.output == ResourcesOutput::Name {
            return selected
                .iter()
                .map(|r| {
                    if r.group.is_empty() {
                        format!("{}\n", r.name)
                    } else {
                        format!("{}.{}\n", r.name, r.group)
                    }
                })
                .collect();
        }
        let wide = opts.output == ResourcesOutput::Wide;
        let mut header = vec!["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"];
        if wide {
            header.extend(["VERBS", "CATEGORIES"]);
        }
        let rows = selected.iter().map(|r| {
            let mut row = vec![
                r.name.clone(),
                r.short_names.join(","),
                r.api_version.clone(),
                r.namespaced.to_string(),
                r.kind.clone(),
            ];
            if wide {
                row.push(r.verbs.join(","));
                row.push(r.categories.join(","));
            }
            row
        });
        let text = output::table(&header, rows);
        if opts.no_headers {
            text.lines().skip(1).map(|l| format!("{l}\n")).collect()
        } else {
            text
        }
    }

    /// The text `api-versions` prints: every group version, sorted, one per line.
    pub fn render_versions(&self) -> String {
        let mut v = self.group_versions.clone();
        v.sort();
        v.dedup();
        v.into_iter().map(|v| format!("{v}\n")).collect()
    }

    /// Notes for stderr: group versions discovery could not read.
    pub fn notes(&self, session: &Session) -> Vec<String> {
        self.failed
            .iter()
            .map(|(gv, why)| {
                format!(
                    "unable to retrieve the complete list of server APIs{}: {gv}: {why}",
                    session.place.suffix()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(name: &str, group: &str, namespaced: bool, kind: &str) -> ResourceType {
        ResourceType {
            name: name.into(),
            short_names: vec![],
            api_version: if group.is_empty() {
                "v1".into()
            } else {
                format!("{group}/v1")
            },
            group: group.into(),
            namespaced,
            kind: kind.into(),
            verbs: vec!["get".into(), "list".into()],
            categories: vec![],
        }
    }

    #[test]
    fn filters_sort_and_names() {
        let d = Discovered {
            group_versions: vec!["v1".into(), "apps/v1".into()],
            resources: vec![
                rt("deployments", "apps", true, "Deployment"),
                rt("pods", "", true, "Pod"),
                rt("nodes", "", false, "Node"),
            ],
            failed: vec![],
        };
        let names = d.render_resources(&ResourcesOptions {
            output: ResourcesOutput::Name,
            ..Default::default()
        });
        assert_eq!(names, "nodes\npods\ndeployments.apps\n");
        let cluster_scoped = d.render_resources(&ResourcesOptions {
            namespaced: Some(false),
            no_headers: true,
            ..Default::default()
        });
        assert!(cluster_scoped.starts_with("nodes "), "{cluster_scoped}");
        assert_eq!(cluster_scoped.lines().count(), 1);
        let core = d.select(&ResourcesOptions {
            api_group: Some(String::new()),
            sort_by: Some(SortBy::Kind),
            ..Default::default()
        });
        assert_eq!(core[0].kind, "Node");
        assert_eq!(d.render_versions(), "apps/v1\nv1\n");
    }
}
