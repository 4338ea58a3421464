//! `karmadactl unregister NAME`: removes a pull-mode cluster. In the control plane: the Cluster
//! (its agent, still running, removes what its Works put into the member), then the agent's
//! RBAC and Lease. In the member (with `--cluster-kubeconfig`): what register installed there
//! (the agent's Deployment, Secret, ServiceAccount, ClusterRole and binding; namespace
//! `karmada-system` stays). With `--force` it finishes when the agent or the control plane is
//! gone, and says what it had to leave.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

use crate::api::Cluster;
use crate::api::cluster::ClusterSyncMode;
use crate::install::agent;
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct UnregisterOptions {
    pub name: String,
    /// How long to wait for the Cluster to go.
    pub wait: Duration,
    pub force: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnregisterReport {
    pub cluster: String,
    pub control_plane_removed: Vec<String>,
    pub member_removed: Vec<String>,
    pub warnings: Vec<String>,
}

/// Deletes one control-plane object by its rendered form (404 is fine); whether it was there.
async fn delete_rendered(cp: &Client, object: &serde_json::Value, dry_run: bool) -> Result<bool> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = match kind {
        "ClusterRole" => "clusterroles",
        "ClusterRoleBinding" => "clusterrolebindings",
        "Role" => "roles",
        _ => "rolebindings",
    };
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
        plural,
    );
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(cp.clone(), ns, &ar),
        None => Api::all_with(cp.clone(), &ar),
    };
    if dry_run {
        return Ok(api.get_opt(name).await?.is_some());
    }
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The control-plane side: the Cluster, then the agent's RBAC and Lease. `cp` is `Err` when the
/// control plane could not be reached (only allowed with --force).
pub async fn unregister(
    cp: std::result::Result<Client, Error>,
    member: Option<&Client>,
    opts: &UnregisterOptions,
    progress: impl Fn(&str),
) -> Result<UnregisterReport> {
    let name = &opts.name;
    let mut report = UnregisterReport {
        cluster: name.clone(),
        ..Default::default()
    };
    match cp {
        Err(e) if opts.force => report.warnings.push(format!(
            "the control plane could not be reached ({e}): cluster {name}, its agent's RBAC and Lease are left there"
        )),
        Err(e) => {
            return Err(Error::Other(anyhow::anyhow!(
                "{e}; with --force (and --cluster-kubeconfig) unregister cleans up the member anyway"
            )));
        }
        Ok(cp) => {
            let clusters: Api<Cluster> = Api::all(cp.clone());
            if let Some(cluster) = clusters.get_opt(name).await? {
                if cluster.spec.sync_mode != ClusterSyncMode::Pull {
                    return Err(Error::Invalid(format!(
                        "cluster {name} is in Push mode; remove it with `karmadactl unjoin {name}`"
                    )));
                }
                if opts.dry_run {
                    report.control_plane_removed.push(format!("cluster/{name}"));
                } else {
                    progress(&format!("deleting cluster {name}; its agent removes what it propagated"));
                    match clusters.delete(name, &DeleteParams::background()).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(e) => return Err(e.into()),
                    }
                    let gone = super::unjoin::wait_gone(&clusters, name, opts.wait).await?;
                    if !gone {
                        if !opts.force {
                            return Err(Error::Timeout(format!(
                                "cluster {name} is still being removed after {}s; is its agent (karmada-agent in the member) and karmada-reconciler running? re-run with --force to finish without them",
                                opts.wait.as_secs()
                            )));
                        }
                        progress(&format!("removing the finalizers of cluster {name}"));
                        let forced = super::unjoin::force_release(&cp, name).await?;
                        if !forced.is_empty() {
                            report.warnings.push(format!(
                                "removed the finalizers of {}; what their Works propagated may be left in the member",
                                forced.join(", ")
                            ));
                        }
                        super::unjoin::wait_gone(&clusters, name, Duration::from_secs(30)).await?;
                    }
                    report.control_plane_removed.push(format!("cluster/{name}"));
                }
            }
            for object in agent::agent_control_plane_rbac(name) {
                if delete_rendered(&cp, &object, opts.dry_run).await? {
                    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
                    let n = object["metadata"]["name"].as_str().unwrap_or_default();
                    report.control_plane_removed.push(match object["metadata"]["namespace"].as_str() {
                        Some(ns) => format!("{kind}/{ns}/{n}"),
                        None => format!("{kind}/{n}"),
                    });
                }
            }
            let leases: Api<Lease> = Api::namespaced(cp.clone(), agent::LEASE_NAMESPACE);
            if leases.get_opt(name).await?.is_some() {
                if !opts.dry_run {
                    let _ = leases.delete(name, &DeleteParams::default()).await;
                }
                report
                    .control_plane_removed
                    .push(format!("lease/{}/{name}", agent::LEASE_NAMESPACE));
            }
        }
    }
    if let Some(member) = member {
        progress(&format!("removing the agent from member {name}"));
        let objects = super::register::installed(member, name).await?;
        report.member_removed = if opts.dry_run {
            objects
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}",
                        o["kind"].as_str().unwrap_or_default().to_lowercase(),
                        o["metadata"]["name"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        } else {
            super::register::remove(member, &objects).await?
        };
    } else {
        report.warnings.push(format!(
            "the agent is left in member {name} (namespace {}): pass --cluster-kubeconfig to remove it",
            agent::AGENT_NAMESPACE
        ));
    }
    Ok(report)
}
