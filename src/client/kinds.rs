//! Kinds by discovery: a kubectl-style resource name (`deploy`, `deployments.v1.apps`) or an
//! apiVersion + kind resolved to its API resource and scope, with a per-cluster cache for the
//! controllers.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;
use kube::api::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};

use crate::Result;

/// A resolved resource type.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub ar: ApiResource,
    pub namespaced: bool,
}

impl Resolved {
    /// `deployments.apps`, `pods`: how kubectl names the type in messages.
    pub fn qualified(&self) -> String {
        if self.ar.group.is_empty() {
            self.ar.plural.clone()
        } else {
            format!("{}.{}", self.ar.plural, self.ar.group)
        }
    }

    /// `deployment.apps`, `pod`: the prefix of `-o name`.
    pub fn name_prefix(&self) -> String {
        let kind = self.ar.kind.to_lowercase();
        if self.ar.group.is_empty() {
            kind
        } else {
            format!("{kind}.{}", self.ar.group)
        }
    }
}

/// Splits `deployments.v1.apps` into (`deployments`, version, group).
fn split_type(input: &str) -> (String, Option<String>, Option<String>) {
    match input.split_once('.') {
        None => (input.to_string(), None, None),
        Some((res, rest)) => {
            // `v1.apps`: a version first when the first part looks like one.
            if let Some((v, g)) = rest.split_once('.')
                && v.starts_with('v')
                && v[1..].starts_with(|c: char| c.is_ascii_digit())
            {
                return (res.to_string(), Some(v.to_string()), Some(g.to_string()));
            }
            (res.to_string(), None, Some(rest.to_string()))
        }
    }
}

fn matches(r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource, want: &str) -> bool {
    let want_lower = want.to_lowercase();
    r.name == want_lower
        || r.singular_name == want_lower
        || r.kind.to_lowercase() == want_lower
        || r.short_names
            .as_ref()
            .is_some_and(|s| s.contains(&want_lower))
}

/// Resolves a resource type in one cluster; Ok(None) when the cluster does not serve it.
pub async fn resolve(client: &Client, input: &str) -> Result<Option<Resolved>> {
    let (want, version, group) = split_type(input);
    // Candidate group versions, core first (kubectl prefers core for bare names).
    let mut gvs: Vec<(String, String)> = Vec::new();
    if group.is_none() || group.as_deref() == Some("") {
        let core = client.list_core_api_versions().await?;
        for v in core.versions {
            if version.as_ref().is_none_or(|w| *w == v) {
                gvs.push((String::new(), v));
                if version.is_none() {
                    break;
                }
            }
        }
    }
    let groups = client.list_api_groups().await?;
    for g in groups.groups {
        if group.as_ref().is_some_and(|w| *w != g.name) {
            continue;
        }
        let chosen = match &version {
            Some(v) => g.versions.iter().find(|x| x.version == *v).cloned(),
            None => g.preferred_version.clone().or(g.versions.first().cloned()),
        };
        if let Some(gv) = chosen {
            gvs.push((g.name.clone(), gv.version));
        }
    }
    let lists = join_all(gvs.iter().map(|(g, v)| async move {
        let res: kube::Result<APIResourceList> = if g.is_empty() {
            client.list_core_api_resources(v).await
        } else {
            client.list_api_group_resources(&format!("{g}/{v}")).await
        };
        res
    }))
    .await;
    for ((g, v), list) in gvs.iter().zip(lists) {
        // A broken aggregated API must not hide the others.
        let Ok(list) = list else { continue };
        for r in list.resources {
            if r.name.contains('/') || !r.verbs.iter().any(|v| v == "list") {
                continue;
            }
            if matches(&r, &want) {
                let api_version = if g.is_empty() {
                    v.clone()
                } else {
                    format!("{g}/{v}")
                };
                return Ok(Some(Resolved {
                    ar: ApiResource {
                        group: g.clone(),
                        version: v.clone(),
                        api_version,
                        kind: r.kind.clone(),
                        plural: r.name.clone(),
                    },
                    namespaced: r.namespaced,
                }));
            }
        }
    }
    Ok(None)
}

/// Resolves `apiVersion` + `kind` by discovery (no cache).
pub async fn resolve_gvk(client: &Client, api_version: &str, kind: &str) -> kube::Result<Resolved> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (ar, caps) =
        discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind)).await?;
    Ok(Resolved {
        ar,
        namespaced: caps.scope == Scope::Namespaced,
    })
}

/// Resolved kinds per cluster, so a controller asks discovery once per (cluster, kind).
#[derive(Default)]
pub struct KindCache(Mutex<HashMap<(String, String, String), Resolved>>);

impl KindCache {
    /// `cluster` names the server `client` talks to (the control plane or a member).
    pub async fn resolve(
        &self,
        cluster: &str,
        client: &Client,
        api_version: &str,
        kind: &str,
    ) -> kube::Result<Resolved> {
        let key = (
            cluster.to_string(),
            api_version.to_string(),
            kind.to_string(),
        );
        if let Some(hit) = self.0.lock().expect("kind cache poisoned").get(&key) {
            return Ok(hit.clone());
        }
        let resolved = resolve_gvk(client, api_version, kind).await?;
        self.0
            .lock()
            .expect("kind cache poisoned")
            .insert(key, resolved.clone());
        Ok(resolved)
    }

    /// Whether `resolve` would answer from memory, without asking the server.
    pub fn known(&self, cluster: &str, api_version: &str, kind: &str) -> bool {
        self.0.lock().expect("kind cache poisoned").contains_key(&(
            cluster.to_string(),
            api_version.to_string(),
            kind.to_string(),
        ))
    }

    /// Drops what is known of one kind in `cluster` (its CRD may have been deleted or changed).
    pub fn forget_kind(&self, cluster: &str, api_version: &str, kind: &str) {
        self.0.lock().expect("kind cache poisoned").remove(&(
            cluster.to_string(),
            api_version.to_string(),
            kind.to_string(),
        ));
    }

    /// Drops what is known of `cluster` (removed, or perhaps another cluster now).
    pub fn forget(&self, cluster: &str) {
        self.0
            .lock()
            .expect("kind cache poisoned")
            .retain(|(c, _, _), _| c != cluster);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_split_into_resource_version_group() {
        assert_eq!(split_type("deploy"), ("deploy".into(), None, None));
        assert_eq!(
            split_type("deployments.apps"),
            ("deployments".into(), None, Some("apps".into()))
        );
        assert_eq!(
            split_type("deployments.v1.apps"),
            ("deployments".into(), Some("v1".into()), Some("apps".into()))
        );
        assert_eq!(
            split_type("propagationpolicies.policy.karmada.io"),
            (
                "propagationpolicies".into(),
                None,
                Some("policy.karmada.io".into())
            )
        );
    }
}
