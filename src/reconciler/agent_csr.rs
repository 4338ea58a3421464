//! Approves the CertificateSigningRequests of pull-mode agents that it can verify, and grants
//! the agent its RBAC first (Karmada's agentcsrapproving controller does the approving; here
//! the same step also gives the agent exactly the rights of its own cluster, so no identity
//! that may write RBAC is ever handed out). kube-controller-manager's csrsigning signs them.
//!
//! A request is approved when it asks signer `kubernetes.io/kube-apiserver-client` for
//! `CN=system:karmada:agent:<cluster>`, `O=system:karmada:agents` (nothing else) with client
//! usages only, and either
//! - comes from a bootstrap token (group `system:bootstrappers:karmada:default-cluster-token`)
//!   and no Cluster `<cluster>` exists yet (a registration), or
//! - comes from that very agent (`system:karmada:agent:<cluster>`, a renewal) and its Cluster is
//!   in Pull mode.
//!
//! Requests of that shape that fail a check are denied with the reason; any other request is
//! left alone (someone else's to approve).

use std::sync::Arc;

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;
use x509_parser::prelude::FromDer as _;

use super::context::MANAGER;
use super::toolkit;
use super::{Context, Error, Result, Shutdown};
use crate::api::Cluster;
use crate::api::cluster::ClusterSyncMode;
use crate::install::agent::{
    self, AGENTS_GROUP, BOOTSTRAP_GROUP, LEASE_NAMESPACE, SIGNER, cluster_of_agent_user,
};

const CONTROLLER: &str = "agent-csr";

pub async fn run(ctx: Arc<Context>, shutdown: Shutdown) {
    let csrs: Api<CertificateSigningRequest> = Api::all(ctx.client.clone());
    let results = Controller::new(csrs, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone());
    toolkit::drive(&ctx, CONTROLLER, results).await;
}

fn error_policy(csr: Arc<CertificateSigningRequest>, err: &Error, ctx: Arc<Context>) -> Action {
    toolkit::error_policy(&ctx, CONTROLLER, csr.as_ref(), err)
}

/// What the request asks for, read from its PEM.
#[derive(Debug, PartialEq)]
pub struct Subject {
    pub common_name: String,
    pub organizations: Vec<String>,
}

pub fn subject(request_pem: &[u8]) -> Option<Subject> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(request_pem).ok()?;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
            .ok()?;
    let info = &csr.certification_request_info;
    // The request must be signed by the key it carries.
    csr.verify_signature().ok()?;
    let common_name = info
        .subject
        .iter_common_name()
        .filter_map(|c| c.as_str().ok())
        .collect::<Vec<_>>();
    let [cn] = common_name.as_slice() else {
        return None;
    };
    Some(Subject {
        common_name: cn.to_string(),
        organizations: info
            .subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok().map(String::from))
            .collect(),
    })
}

/// The verdict on an agent-shaped request: `Ok(cluster)` to approve, `Err(reason)` to deny.
pub fn verdict(
    subject: &Subject,
    usages: &[String],
    username: &str,
    groups: &[String],
    existing: Option<&Cluster>,
) -> std::result::Result<String, String> {
    let cluster = cluster_of_agent_user(&subject.common_name).ok_or_else(|| {
        format!(
            "common name {:?} names no valid cluster",
            subject.common_name
        )
    })?;
    if subject.organizations != [AGENTS_GROUP] {
        return Err(format!(
            "organizations must be exactly [{AGENTS_GROUP}], not {:?}",
            subject.organizations
        ));
    }
    const ALLOWED: [&str; 3] = ["digital signature", "key encipherment", "client auth"];
    if !usages.iter().any(|u| u == "client auth")
        || usages.iter().any(|u| !ALLOWED.contains(&u.as_str()))
    {
        return Err(format!(
            "usages must be client auth (with digital signature, key encipherment), not {usages:?}"
        ));
    }
    if username == subject.common_name {
        return match existing {
            Some(c) if c.spec.sync_mode == ClusterSyncMode::Pull => Ok(cluster.to_string()),
            Some(_) => Err(format!("cluster {cluster} is in Push mode")),
            None => Err(format!(
                "cluster {cluster} does not exist: its agent may not renew; register it again"
            )),
        };
    }
    if groups.iter().any(|g| g == BOOTSTRAP_GROUP) {
        return match existing {
            None => Ok(cluster.to_string()),
            Some(_) => Err(format!(
                "cluster {cluster} already exists; a bootstrap token cannot take it over (unregister it first, or register under another --cluster-name)"
            )),
        };
    }
    Err(format!(
        "requested by {username:?}, which is neither a bootstrap token nor the agent of cluster {cluster}"
    ))
}

async fn reconcile(csr: Arc<CertificateSigningRequest>, ctx: Arc<Context>) -> Result<Action> {
    let status = csr.status.clone().unwrap_or_default();
    let decided = status
        .conditions
        .iter()
        .flatten()
        .any(|c| matches!(c.type_.as_str(), "Approved" | "Denied" | "Failed"));
    if decided || csr.spec.signer_name != SIGNER {
        return Ok(Action::await_change());
    }
    let Some(subject) = subject(&csr.spec.request.0) else {
        return Ok(Action::await_change());
    };
    if !subject.common_name.starts_with(agent::AGENT_USER_PREFIX) {
        return Ok(Action::await_change()); // not an agent's
    }
    let _timer = ctx.metrics.start(CONTROLLER);
    let name = csr.name_any();
    let claimed = cluster_of_agent_user(&subject.common_name).unwrap_or_default();
    let existing = if claimed.is_empty() {
        None
    } else {
        Api::<Cluster>::all(ctx.client.clone())
            .get_opt(claimed)
            .await?
    };
    let verdict = verdict(
        &subject,
        csr.spec.usages.as_deref().unwrap_or_default(),
        csr.spec.username.as_deref().unwrap_or_default(),
        csr.spec.groups.as_deref().unwrap_or_default(),
        existing.as_ref(),
    );
    let csrs: Api<CertificateSigningRequest> = Api::all(ctx.client.clone());
    let condition = match verdict {
        Ok(cluster) => {
            grant(&ctx, &cluster).await?;
            tracing::info!(csr = %name, %cluster, "approved the agent's certificate request");
            json!({"type": "Approved", "status": "True", "reason": "AgentAutoApproved",
                   "message": format!("karmada-reconciler approved the agent of cluster {cluster}")})
        }
        Err(why) => {
            tracing::warn!(csr = %name, "denied an agent certificate request: {why}");
            json!({"type": "Denied", "status": "True", "reason": "AgentRequestInvalid", "message": why})
        }
    };
    csrs.patch_approval(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": [condition]}})),
    )
    .await?;
    Ok(Action::await_change())
}

/// The agent's RBAC on the control plane, and the namespaces it names.
async fn grant(ctx: &Context, cluster: &str) -> Result<()> {
    // The Roles live in these; the cluster controller finds the execution namespace there.
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    let es = crate::api::names::execution_namespace(cluster);
    for (name, labels) in [
        (
            es.as_str(),
            json!({ crate::api::LABEL_KARMADA_SYSTEM: "true" }),
        ),
        (LEASE_NAMESPACE, json!({})),
    ] {
        if namespaces.get_opt(name).await?.is_none() {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": name, "labels": labels}});
            namespaces
                .patch(name, &PatchParams::apply(MANAGER), &Patch::Apply(ns))
                .await?;
        }
    }
    for object in agent::agent_control_plane_rbac(cluster) {
        let kind = object["kind"].as_str().unwrap_or_default();
        let plural = match kind {
            "ClusterRole" => "clusterroles",
            "ClusterRoleBinding" => "clusterrolebindings",
            "Role" => "roles",
            _ => "rolebindings",
        };
        let ar = kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
            plural,
        );
        let api: Api<kube::api::DynamicObject> = match object["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(ctx.client.clone(), ns, &ar),
            None => Api::all_with(ctx.client.clone(), &ar),
        };
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_subject(cluster: &str) -> Subject {
        Subject {
            common_name: agent::agent_user(cluster),
            organizations: vec![AGENTS_GROUP.into()],
        }
    }

    fn usages() -> Vec<String> {
        vec![
            "digital signature".into(),
            "key encipherment".into(),
            "client auth".into(),
        ]
    }

    fn pull(name: &str, mode: ClusterSyncMode) -> Cluster {
        let mut c = Cluster::new(name, Default::default());
        c.spec.sync_mode = mode;
        c
    }

    #[test]
    fn a_bootstrap_token_registers_only_new_clusters() {
        let g = vec![BOOTSTRAP_GROUP.to_string()];
        let s = agent_subject("m2");
        assert_eq!(
            verdict(&s, &usages(), "system:bootstrap:abcdef", &g, None),
            Ok("m2".into())
        );
        let taken = pull("m2", ClusterSyncMode::Push);
        assert!(verdict(&s, &usages(), "system:bootstrap:abcdef", &g, Some(&taken)).is_err());
    }

    #[test]
    fn an_agent_renews_only_its_own_pull_cluster() {
        let s = agent_subject("m2");
        let c = pull("m2", ClusterSyncMode::Pull);
        let user = agent::agent_user("m2");
        assert_eq!(
            verdict(&s, &usages(), &user, &[], Some(&c)),
            Ok("m2".into())
        );
        let other = agent::agent_user("m3");
        assert!(verdict(&s, &usages(), &other, &[], Some(&c)).is_err());
        let push = pull("m2", ClusterSyncMode::Push);
        assert!(verdict(&s, &usages(), &user, &[], Some(&push)).is_err());
    }

    #[test]
    fn extra_groups_or_usages_are_denied() {
        let g = vec![BOOTSTRAP_GROUP.to_string()];
        let mut s = agent_subject("m2");
        s.organizations.push("system:masters".into());
        assert!(verdict(&s, &usages(), "u", &g, None).is_err());
        let s = agent_subject("m2");
        let mut u = usages();
        u.push("server auth".into());
        assert!(verdict(&s, &u, "u", &g, None).is_err());
    }

    #[test]
    fn requests_are_read_and_checked() {
        let (pem, _) = crate::client::csr::agent_request("m2").unwrap();
        assert_eq!(subject(pem.as_bytes()), Some(agent_subject("m2")));
    }
}
