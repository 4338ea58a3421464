//! `karmadactl register ENDPOINT`: registers the cluster it runs against in pull mode.
//!
//! 1. Reads `kube-public/cluster-info` from the control plane without trusting it yet, and
//!    accepts its CA only if the hash of its public key is `--discovery-token-ca-cert-hash`.
//! 2. With the bootstrap token (which may only create CSRs), asks for the agent's client
//!    certificate (`CN=system:karmada:agent:<cluster>`, `O=system:karmada:agents`) and waits
//!    until karmada-reconciler has approved it (and granted the agent its RBAC) and the control
//!    plane's kube-controller-manager has signed it.
//! 3. In the member, namespace `karmada-system`: the Secret `karmada-agent-config` with the
//!    agent's control-plane kubeconfig, its ServiceAccount, ClusterRole(Binding) and the
//!    `karmada-agent` Deployment (`karmada-reconciler --mode=agent`). The agent creates the
//!    Cluster (`syncMode: Pull`) itself.
//!
//! Running it again keeps a still valid certificate and re-applies the rest. If a step fails,
//! what this run created in the member is removed again.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, PatchParams};
use kube::config::Kubeconfig;
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config, ResourceExt as _};
use serde_json::Value;

use crate::api::names;
use crate::client::connect::Target;
use crate::client::csr;
use crate::install::agent::{self, AgentSpec};
use crate::kubeconfig::{self, Credential, Entry};
use crate::{Error, Result};

/// What the user asked for, already validated.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// `host:port` of the control plane.
    pub endpoint: String,
    pub token: String,
    /// `sha256:<hex>`.
    pub ca_cert_hash: String,
    /// Default: the member context's name.
    pub cluster_name: Option<String>,
    pub provider: String,
    pub region: String,
    pub zones: Vec<String>,
    pub dry_run: bool,
    pub member: Target,
    pub image: String,
    /// Lifetime asked for the agent's certificate (the signer may cap it).
    pub cert_expiration: Duration,
    /// How long to wait for the certificate.
    pub timeout: Duration,
}

/// What register did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterReport {
    pub cluster: String,
    pub control_plane: String,
    pub api_endpoint: String,
    /// A still valid certificate from an earlier run was kept.
    pub reused_certificate: bool,
    pub member_objects: Vec<String>,
    /// The agent's flags, as its Deployment runs it.
    pub agent_args: Vec<String>,
}

/// Checks the hash's form before anything is contacted.
pub fn validate_hash(hash: &str) -> Result<()> {
    let hex = hash.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "--discovery-token-ca-cert-hash {hash:?} is not sha256:<64 hex digits>; copy it from `karmadactl token create --print-register-command`"
        )))
    }
}

/// The control plane's CA, read from cluster-info without trusting the server yet, accepted only
/// if its public key hashes to `expected`.
pub async fn discover_ca(endpoint: &str, expected: &str) -> Result<(String, String)> {
    let server = format!("https://{endpoint}");
    let uri: http::Uri = server.parse().map_err(|e| {
        Error::Invalid(format!(
            "control plane endpoint {endpoint:?}: {e}; pass host:port"
        ))
    })?;
    let mut config = Config::new(uri);
    // Nothing secret is sent (anonymous), and nothing read is used before the hash matches.
    config.accept_invalid_certs = true;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(10));
    let client = Client::try_from(config).map_err(|e| Error::Unreachable {
        target: server.clone(),
        message: e.to_string(),
    })?;
    let cm = Api::<ConfigMap>::namespaced(client, agent::KUBE_PUBLIC)
        .get(agent::CLUSTER_INFO)
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 || s.code == 403 || s.code == 401 => Error::NotFound(format!(
                "{server} has no readable {}/{} ({}); run `karmadactl token create` on the control plane first",
                agent::KUBE_PUBLIC, agent::CLUSTER_INFO, s.message
            )),
            other => Error::Unreachable { target: server.clone(), message: other.to_string() },
        })?;
    let (_, ca_pem) = crate::ops::token::parse_cluster_info(&cm)?;
    let actual = crate::ops::token::ca_cert_hash(&ca_pem)?;
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(Error::Invalid(format!(
            "the CA of {server} hashes to {actual}, not {expected}: this is not the control plane the token was made for (or the hash is wrong); nothing was changed"
        )));
    }
    Ok((server, ca_pem))
}

async fn client_for(entry: &Entry) -> Result<Client> {
    let kc = entry.to_kubeconfig();
    let config = Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Invalid(format!("client for {}: {e}", entry.server)))?;
    Client::try_from(config).map_err(|e| Error::Unreachable {
        target: entry.server.clone(),
        message: e.to_string(),
    })
}

/// The agent's kubeconfig from the member's Secret, if it is for `server` and `cluster` and its
/// certificate has more than a fifth of its lifetime left.
fn reusable(secret: Option<&Secret>, server: &str, cluster: &str) -> Option<String> {
    let yaml = secret?.data.as_ref()?.get(agent::KUBECONFIG_KEY)?;
    let yaml = String::from_utf8(yaml.0.clone()).ok()?;
    let kc: Kubeconfig = serde_yaml::from_str(&yaml).ok()?;
    let same_server = kc.clusters.iter().any(|c| {
        c.cluster
            .as_ref()
            .and_then(|c| c.server.as_deref())
            .is_some_and(|s| s.trim_end_matches('/') == server)
    });
    let cert = kc
        .auth_infos
        .first()?
        .auth_info
        .as_ref()?
        .client_certificate_data
        .clone()?;
    use base64::Engine as _;
    let cert = base64::engine::general_purpose::STANDARD
        .decode(cert)
        .ok()?;
    let cert = String::from_utf8(cert).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert.as_bytes()).ok()?;
    let x509 = pem.parse_x509().ok()?;
    let for_cluster = x509
        .subject()
        .iter_common_name()
        .any(|cn| cn.as_str().ok() == Some(agent::agent_user(cluster).as_str()));
    let (from, to) = csr::validity(&cert)?;
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let fresh = csr::renew_in(from, to, now) > Duration::ZERO;
    (same_server && for_cluster && fresh).then_some(yaml)
}

/// Registers the member; `progress` hears each step.
pub async fn register(opts: &RegisterOptions, progress: impl Fn(&str)) -> Result<RegisterReport> {
    crate::ops::token::token_id(&opts.token)?;
    validate_hash(&opts.ca_cert_hash)?;
    let member_config = opts.member.config(None).await?;
    let member = Client::try_from(member_config.clone()).map_err(|e| Error::Unreachable {
        target: opts.member.describe(),
        message: e.to_string(),
    })?;
    let kc = opts.member.load_kubeconfig()?;
    let cluster = match &opts.cluster_name {
        Some(n) => n.clone(),
        None => opts
            .member
            .context
            .clone()
            .or(kc.current_context.clone())
            .unwrap_or_default(),
    };
    names::validate_cluster_name(&cluster)
        .map_err(|e| Error::Invalid(format!("{e}; pass --cluster-name")))?;
    let api_endpoint = member_config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    // The member must answer before anything is asked of the control plane.
    Api::<Namespace>::all(member.clone())
        .get("kube-system")
        .await
        .map_err(|e| Error::Unreachable {
            target: format!("member cluster {cluster} ({})", opts.member.describe()),
            message: e.to_string(),
        })?;

    progress("verifying the control plane's CA");
    let (server, ca_pem) = discover_ca(&opts.endpoint, &opts.ca_cert_hash).await?;
    let bootstrap = client_for(&Entry {
        name: "karmada-bootstrap".into(),
        server: server.clone(),
        ca_pem: ca_pem.clone(),
        credential: Credential::Token(opts.token.clone()),
    })
    .await?;
    let spec = AgentSpec {
        cluster: cluster.clone(),
        image: opts.image.clone(),
        api_endpoint: api_endpoint.clone(),
        provider: opts.provider.clone(),
        region: opts.region.clone(),
        zones: opts.zones.clone(),
    };
    let secrets: Api<Secret> = Api::namespaced(member.clone(), agent::AGENT_NAMESPACE);
    let existing = secrets.get_opt(agent::AGENT_SECRET).await?;
    let kept = reusable(existing.as_ref(), &server, &cluster);
    let reused = kept.is_some();
    let kubeconfig_yaml = match kept {
        Some(yaml) => yaml,
        None if opts.dry_run => String::new(),
        None => {
            progress("waiting for the agent's certificate to be approved and signed");
            let name = format!("agent-{cluster}-{}", csr::random_suffix());
            let issued = csr::request_agent_certificate(
                &bootstrap,
                &name,
                &cluster,
                opts.cert_expiration,
                opts.timeout,
            )
            .await
            .map_err(|e| match e {
                Error::Kube(kube::Error::Api(s)) if s.code == 401 => Error::Invalid(format!(
                    "the control plane refused the bootstrap token ({}); it may have expired or been deleted: create one with `karmadactl token create --print-register-command`",
                    s.message
                )),
                other => other,
            })?;
            let entry = Entry {
                name: "karmada-apiserver".into(),
                server: server.clone(),
                ca_pem: ca_pem.clone(),
                credential: Credential::ClientCert {
                    cert_pem: issued.cert_pem,
                    key_pem: issued.key_pem,
                },
            };
            kubeconfig::to_yaml(&entry.to_kubeconfig())?
        }
    };
    let objects = agent::member_objects(&spec, &kubeconfig_yaml);
    let described: Vec<String> = objects.iter().map(describe).collect();
    let report = RegisterReport {
        cluster: cluster.clone(),
        control_plane: server,
        api_endpoint,
        reused_certificate: reused,
        member_objects: described,
        agent_args: spec.args(),
    };
    if opts.dry_run {
        // The apiserver validates everything (the Secret's content is left out).
        apply_all(&member, &objects, true).await?;
        return Ok(report);
    }
    progress("installing the agent in the member");
    let mut created = Vec::new();
    for object in &objects {
        let ar = resource(object);
        let api = api_for(&member, object, &ar);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let existed = api.get_opt(name).await?.is_some();
        if let Err(e) = apply_all(&member, std::slice::from_ref(object), false).await {
            rollback(&member, &created).await;
            return Err(Error::Other(anyhow::anyhow!(
                "{e}; what this run created in the member was removed again"
            )));
        }
        if !existed {
            created.push(object.clone());
        }
    }
    Ok(report)
}

fn describe(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

fn resource(object: &Value) -> (ApiResource, bool) {
    let kind = object["kind"].as_str().unwrap_or_default();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "Secret" => ("secrets", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        _ => ("deployments", true),
    };
    (
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural),
        namespaced,
    )
}

fn api_for(
    client: &Client,
    object: &Value,
    (ar, namespaced): &(ApiResource, bool),
) -> Api<DynamicObject> {
    if *namespaced {
        let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
        Api::namespaced_with(client.clone(), ns, ar)
    } else {
        Api::all_with(client.clone(), ar)
    }
}

async fn apply_all(client: &Client, objects: &[Value], dry_run: bool) -> Result<()> {
    let mut params = PatchParams::apply(crate::build_info::FIELD_MANAGER).force();
    params.dry_run = dry_run;
    for object in objects {
        // A dry run before the namespace exists cannot place namespaced objects in it.
        if dry_run && object["kind"] != "Namespace" {
            let ns = object["metadata"]["namespace"].as_str();
            if let Some(ns) = ns
                && Api::<Namespace>::all(client.clone())
                    .get_opt(ns)
                    .await?
                    .is_none()
            {
                continue;
            }
        }
        let res = resource(object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        api_for(client, object, &res)
            .patch(name, &params, &kube::api::Patch::Apply(object))
            .await
            .map_err(|e| {
                Error::Other(anyhow::anyhow!(
                    "applying {} in the member: {e}",
                    describe(object)
                ))
            })?;
    }
    Ok(())
}

/// Deletes what a failed run created, newest first (best effort). Namespace `karmada-system`
/// stays: other things may live there, and deleting it can hang where no namespace controller
/// runs.
async fn rollback(client: &Client, created: &[Value]) {
    for object in created.iter().rev().filter(|o| o["kind"] != "Namespace") {
        let res = resource(object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if let Err(e) = api_for(client, object, &res)
            .delete(name, &DeleteParams::background())
            .await
        {
            tracing::warn!("rollback: could not delete {}: {e}", describe(object));
        }
    }
}

/// The member objects register installs for `cluster`, as they are now (for unregister).
pub async fn installed(member: &Client, cluster: &str) -> Result<Vec<Value>> {
    let spec = AgentSpec {
        cluster: cluster.to_string(),
        ..Default::default()
    };
    let mut out = Vec::new();
    for object in agent::member_objects(&spec, "") {
        if object["kind"] == "Namespace" {
            continue; // shared; never removed
        }
        let res = resource(&object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(live) = api_for(member, &object, &res).get_opt(name).await? {
            let theirs = live
                .labels()
                .get(agent::LABEL_AGENT_CLUSTER)
                .map(String::as_str);
            if theirs == Some(cluster) {
                out.push(object);
            }
        }
    }
    Ok(out)
}

/// Deletes the given member objects (404 is fine); returns what was deleted.
pub async fn remove(member: &Client, objects: &[Value]) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for object in objects.iter().rev() {
        let res = resource(object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        match api_for(member, object, &res)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => removed.push(describe(object)),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}
