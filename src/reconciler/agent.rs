//! `karmada-reconciler --mode=agent`: the pull-mode agent, running in (or beside) one member.
//!
//! It reads its control-plane kubeconfig from the member Secret `karmada-system/
//! karmada-agent-config` (written by `karmadactl register`), creates its Cluster
//! (`syncMode: Pull`) if missing, renews the Lease `karmada-cluster/<cluster>` the control
//! plane judges its health by, reports the cluster's status with the control plane's own probe
//! code, and runs the execution controller for its own execution namespace only, on the member
//! it runs in. At 80% of its certificate's lifetime it asks for a new one (a CSR with its
//! current identity, approved by the control plane's reconciler), stores it in the Secret and
//! restarts its controllers on it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use futures::FutureExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use super::{Context, Options, Shutdown, cluster_health, execution, server};
use crate::api::Cluster;
use crate::api::cluster::ClusterSyncMode;
use crate::client::member::Member;
use crate::client::{csr, requests};
use crate::install::agent::{AGENT_NAMESPACE, AGENT_SECRET, KUBECONFIG_KEY, LEASE_NAMESPACE};
use crate::{Error, Result};

/// What the agent is told about its cluster.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    pub cluster: String,
    /// The member's API endpoint as recorded in the Cluster.
    pub api_endpoint: String,
    pub provider: String,
    pub region: String,
    pub zones: Vec<String>,
    /// Where its control-plane kubeconfig is, in the member.
    pub secret_namespace: String,
    pub secret_name: String,
    /// The Lease's duration; it is renewed every quarter of it.
    pub lease_duration: Duration,
    /// Lifetime asked for a renewed certificate.
    pub cert_expiration: Duration,
    /// The certificate is renewed once only this share of its lifetime is left.
    pub renew_threshold: f64,
}

impl AgentOptions {
    pub fn new(cluster: &str) -> Self {
        AgentOptions {
            cluster: cluster.into(),
            secret_namespace: AGENT_NAMESPACE.into(),
            secret_name: AGENT_SECRET.into(),
            lease_duration: Duration::from_secs(40),
            cert_expiration: Duration::from_secs(365 * 24 * 3600),
            renew_threshold: csr::RENEW_THRESHOLD,
            ..Default::default()
        }
    }
}

/// The member's clients from its configuration (in-cluster, or a kubeconfig on a test bed).
pub fn member_clients(config: kube::Config, request_timeout: Duration) -> Result<Member> {
    let mut request = config.clone();
    request.connect_timeout = Some(request_timeout);
    request.read_timeout = Some(request_timeout);
    let client = requests::counted_client(request, requests::MEMBER)?;
    let mut watch = config;
    watch.connect_timeout = Some(request_timeout);
    watch.read_timeout = Some(Duration::from_secs(
        u64::from(crate::client::member::WATCH_TIMEOUT_SECS) + 40,
    ));
    let watch = requests::counted_client(watch, requests::MEMBER)?;
    Ok(Member {
        credentials: 0,
        client,
        watch,
    })
}

/// Runs the agent until `shutdown` resolves or something fails for good.
pub async fn run(
    member: Member,
    options: Options,
    agent: AgentOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let shutdown: Shutdown = shutdown.boxed().shared();
    let health = server::Health::default();
    let metrics = super::metrics::Metrics::default();
    let serving = tokio::spawn(server::serve(
        options.metrics_bind_address,
        health.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let _serving = AbortOnDrop(serving);
    loop {
        let (cp, cert_pem) = control_plane(&member.client, &agent).await?;
        let renew_at = match csr::validity(&cert_pem) {
            Some((from, to)) => {
                let now = k8s_openapi::jiff::Timestamp::now().as_second();
                tokio::time::Instant::now() + csr::renew_in_at(from, to, now, agent.renew_threshold)
            }
            None => {
                return Err(Error::Invalid(format!(
                    "secret {}/{} holds no client certificate; run karmadactl register again",
                    agent.secret_namespace, agent.secret_name
                )));
            }
        };
        health.ready.store(true, Ordering::Relaxed);
        match serve_once(&cp, &member, &options, &agent, shutdown.clone(), renew_at).await? {
            Next::Stop => return Ok(()),
            Next::Restart => tracing::info!("certificate renewed; restarting on it"),
        }
    }
}

enum Next {
    Stop,
    Restart,
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The control-plane client from the kubeconfig in the member Secret, and its certificate.
async fn control_plane(member: &Client, agent: &AgentOptions) -> Result<(Client, String)> {
    let where_ = format!(
        "secret {}/{} in the member",
        agent.secret_namespace, agent.secret_name
    );
    let secret = Api::<Secret>::namespaced(member.clone(), &agent.secret_namespace)
        .get_opt(&agent.secret_name)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{where_} is missing; run karmadactl register for cluster {}",
                agent.cluster
            ))
        })?;
    let yaml = secret
        .data
        .as_ref()
        .and_then(|d| d.get(KUBECONFIG_KEY))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        .ok_or_else(|| Error::Invalid(format!("{where_} has no {KUBECONFIG_KEY:?}")))?;
    let kc: Kubeconfig = serde_yaml::from_str(&yaml)
        .map_err(|e| Error::Invalid(format!("{where_}: not a kubeconfig: {e}")))?;
    let cert = kc
        .auth_infos
        .first()
        .and_then(|a| a.auth_info.as_ref())
        .and_then(|a| a.client_certificate_data.clone())
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .unwrap_or_default();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| Error::Invalid(format!("{where_}: {e}")))?;
    let client = requests::counted_client(config, requests::CONTROL_PLANE)?;
    Ok((client, cert))
}

/// Runs the controllers on `cp` until shutdown (Stop) or a renewed certificate (Restart).
async fn serve_once(
    cp: &Client,
    member: &Member,
    options: &Options,
    agent: &AgentOptions,
    shutdown: Shutdown,
    mut renew_at: tokio::time::Instant,
) -> Result<Next> {
    let mut options = options.clone();
    options.agent = Some(agent.cluster.clone());
    options.leader_elect = false;
    let ctx = Arc::new(Context::new(cp.clone(), options.clone()));
    ctx.members.pin(&agent.cluster, member.clone());
    ctx.metrics.register_controllers(&["execution", "cluster"]);
    ensure_cluster(cp, &member.client, agent).await?;

    let (stop_tx, stop) = super::stoppable(shutdown.clone());
    let execution = tokio::spawn(execution::run(ctx.clone(), stop.clone()));
    // Set once the Cluster is being removed (or gone): the Lease is left to lapse, so
    // unregister's cleanup is not undone.
    let removed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lease = AbortOnDrop(tokio::spawn(renew_lease(
        cp.clone(),
        agent.clone(),
        removed.clone(),
    )));
    let status = AbortOnDrop(tokio::spawn(report_status(
        ctx.clone(),
        agent.cluster.clone(),
        removed,
    )));
    tracing::info!(cluster = %agent.cluster, "agent started");
    let next = loop {
        tokio::select! {
            _ = shutdown.clone() => break Next::Stop,
            _ = tokio::time::sleep_until(renew_at) => {
                match renew(cp, &member.client, agent).await {
                    Ok(()) => break Next::Restart,
                    Err(e) => {
                        tracing::warn!("renewing the agent's certificate failed, retrying in a minute: {e}");
                        renew_at = tokio::time::Instant::now() + Duration::from_secs(60);
                    }
                }
            }
        }
    };
    let _ = stop_tx.send(());
    drop((lease, status));
    let grace = options.shutdown_grace_period.mul_f64(0.7);
    if tokio::time::timeout(grace, execution).await.is_err() {
        tracing::warn!("the execution controller did not stop within {grace:?}; abandoned");
    }
    Ok(next)
}

/// Creates the Cluster (Pull) if missing; refuses one in Push mode; keeps the fields register
/// set in step.
async fn ensure_cluster(cp: &Client, member: &Client, agent: &AgentOptions) -> Result<()> {
    let api: Api<Cluster> = Api::all(cp.clone());
    let id = Api::<Namespace>::all(member.clone())
        .get("kube-system")
        .await?
        .uid()
        .unwrap_or_default();
    let mut spec = json!({
        "syncMode": "Pull",
        "apiEndpoint": agent.api_endpoint,
        "id": id,
    });
    if !agent.provider.is_empty() {
        spec["provider"] = json!(agent.provider);
    }
    if !agent.region.is_empty() {
        spec["region"] = json!(agent.region);
    }
    if !agent.zones.is_empty() {
        spec["zones"] = json!(agent.zones);
    }
    match api.get_opt(&agent.cluster).await? {
        Some(c) if c.spec.sync_mode != ClusterSyncMode::Pull => Err(Error::Invalid(format!(
            "cluster {} is joined in Push mode; unjoin it before registering it in pull mode",
            agent.cluster
        ))),
        Some(c) if c.metadata.deletion_timestamp.is_some() => {
            // Its Works still need this agent to remove what they applied.
            tracing::info!(cluster = %agent.cluster, "the Cluster is being removed; serving only the removal of its Works");
            Ok(())
        }
        Some(_) => {
            api.patch(
                &agent.cluster,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": spec })),
            )
            .await?;
            Ok(())
        }
        None => {
            let cluster: Cluster = serde_json::from_value(json!({
                "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
                "metadata": { "name": agent.cluster },
                "spec": spec,
            }))
            .map_err(|e| Error::Internal(e.to_string()))?;
            match api.create(&PostParams::default(), &cluster).await {
                Ok(_) => {
                    tracing::info!(cluster = %agent.cluster, "created the Cluster (Pull)");
                    Ok(())
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Renews the Lease every quarter of its duration, forever (errors are logged and retried).
async fn renew_lease(cp: Client, agent: AgentOptions, removed: Arc<std::sync::atomic::AtomicBool>) {
    let leases: Api<Lease> = Api::namespaced(cp, LEASE_NAMESPACE);
    let every = agent.lease_duration / 4;
    let mut failing = false;
    loop {
        if removed.load(Ordering::Relaxed) {
            tokio::time::sleep(every).await;
            continue;
        }
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let result = match leases.get_opt(&agent.cluster).await {
            Ok(Some(_)) => leases
                .patch(
                    &agent.cluster,
                    &PatchParams::default(),
                    &Patch::Merge(json!({ "spec": { "renewTime": now } })),
                )
                .await
                .map(|_| ()),
            Ok(None) => {
                let lease: Lease = serde_json::from_value(json!({
                    "metadata": { "name": agent.cluster, "namespace": LEASE_NAMESPACE },
                    "spec": {
                        "holderIdentity": agent.cluster,
                        "leaseDurationSeconds": agent.lease_duration.as_secs(),
                        "renewTime": now,
                    },
                }))
                .expect("a valid Lease");
                leases
                    .create(&PostParams::default(), &lease)
                    .await
                    .map(|_| ())
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    "renewing lease {LEASE_NAMESPACE}/{} failed, retrying: {e}",
                    agent.cluster
                );
            }
            Err(e) => tracing::debug!("renewing the lease: {e}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Reports the cluster's status every `--cluster-status-update-frequency`.
async fn report_status(
    ctx: Arc<Context>,
    cluster: String,
    removed: Arc<std::sync::atomic::AtomicBool>,
) {
    let api: Api<Cluster> = Api::all(ctx.client.clone());
    loop {
        let result = match api.get_opt(&cluster).await {
            Ok(Some(c)) if c.metadata.deletion_timestamp.is_none() => {
                removed.store(false, Ordering::Relaxed);
                cluster_health::report(&c, &ctx)
                    .await
                    .map_err(|e| e.to_string())
            }
            Ok(_) => {
                if !removed.swap(true, Ordering::Relaxed) {
                    tracing::info!(%cluster, "the Cluster is being removed; its lease is no longer renewed");
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(%cluster, "reporting the cluster status failed: {e}");
        }
        tokio::time::sleep(ctx.options.cluster_status_update_frequency).await;
    }
}

/// A new certificate for the same identity, stored in the member Secret.
async fn renew(cp: &Client, member: &Client, agent: &AgentOptions) -> Result<()> {
    let name = format!("agent-{}-{}", agent.cluster, csr::random_suffix());
    let issued = csr::request_agent_certificate(
        cp,
        &name,
        &agent.cluster,
        agent.cert_expiration,
        Duration::from_secs(300),
    )
    .await?;
    let secrets: Api<Secret> = Api::namespaced(member.clone(), &agent.secret_namespace);
    let secret = secrets.get(&agent.secret_name).await?;
    let yaml = secret
        .data
        .as_ref()
        .and_then(|d| d.get(KUBECONFIG_KEY))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        .unwrap_or_default();
    let mut kc: Kubeconfig =
        serde_yaml::from_str(&yaml).map_err(|e| Error::Invalid(e.to_string()))?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    for user in &mut kc.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            auth.client_certificate_data = Some(b64(&issued.cert_pem));
            auth.client_key_data = Some(b64(&issued.key_pem).into());
        }
    }
    let yaml = crate::kubeconfig::to_yaml(&kc)?;
    secrets
        .patch(
            &agent.secret_name,
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": { "resourceVersion": secret.resource_version() },
                "data": { KUBECONFIG_KEY: b64(&yaml) },
            })),
        )
        .await?;
    tracing::info!(cluster = %agent.cluster, "renewed the agent's certificate");
    Ok(())
}
