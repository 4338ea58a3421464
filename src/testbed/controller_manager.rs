//! kube-controller-manager for the control plane, limited to the controllers that make
//! namespaces deletable, owner references collectable and service accounts usable, plus the
//! csrsigning controller for the `kubernetes.io/kube-apiserver-client` signer (pull mode).

use std::path::Path;
use std::time::Duration;

use super::apiserver::ClusterState;
use super::process::{Process, free_port, wait_ready};
use super::{CERT_VALIDITY, POLL_INTERVAL, START_TIMEOUT};
use crate::kubeconfig::{self, Credential, Entry};
use crate::{Error, Result};

pub(crate) const CONTROLLERS: &str =
    "namespace,garbagecollector,serviceaccount-token,serviceaccount,csrsigning";

/// Starts kube-controller-manager against `cluster` and waits for its `/healthz`.
pub(crate) async fn start(binary: &Path, dir: &Path, cluster: &ClusterState) -> Result<Process> {
    let info = &cluster.info;
    // Its own identity, in system:masters so the limited controller set needs no extra RBAC.
    let user = info.ca.client_cert(
        "system:kube-controller-manager",
        &["system:masters"],
        CERT_VALIDITY,
    )?;
    let kubeconfig_path = dir.join("kube-controller-manager.kubeconfig");
    let entry = Entry {
        name: info.name.clone(),
        server: info.server.clone(),
        ca_pem: info.ca_pem.clone(),
        credential: Credential::ClientCert {
            cert_pem: user.cert_pem,
            key_pem: user.key_pem,
        },
    };
    kubeconfig::write(&kubeconfig_path, &entry.to_kubeconfig())?;

    let port = free_port()?;
    let kc = kubeconfig_path.display();
    let args = vec![
        // No delegated authn/authz kubeconfigs: the bed has no front-proxy CA for kcm to look
        // up, and only the always-allowed health paths are ever requested.
        format!("--kubeconfig={kc}"),
        "--leader-elect=false".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        // Serve with the cluster's own serving certificate so /healthz is checked with TLS on.
        format!("--tls-cert-file={}", cluster.pki.serving_crt.display()),
        format!(
            "--tls-private-key-file={}",
            cluster.pki.serving_key.display()
        ),
        "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics".into(),
        format!("--controllers={CONTROLLERS}"),
        format!(
            "--service-account-private-key-file={}",
            cluster.pki.sa_key.display()
        ),
        format!("--root-ca-file={}", cluster.pki.ca_crt.display()),
        "--use-service-account-credentials=false".into(),
        // Signs pull-mode agents' client certificates (karmada-reconciler approves them); the
        // other signers stay unconfigured, as init sets it up.
        format!(
            "--cluster-signing-kube-apiserver-client-cert-file={}",
            cluster.pki.ca_crt.display()
        ),
        format!(
            "--cluster-signing-kube-apiserver-client-key-file={}",
            cluster.pki.ca_crt.with_file_name("ca.key").display()
        ),
    ];
    let mut process = Process::spawn(
        "kube-controller-manager",
        binary,
        &args,
        &dir.join("kube-controller-manager.log"),
    )?;

    let health_entry = Entry {
        name: "kube-controller-manager".into(),
        server: format!("https://127.0.0.1:{port}"),
        ..info.entry()
    };
    let mut config = kube::Config::from_custom_kubeconfig(
        health_entry.to_kubeconfig(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| Error::Invalid(format!("kube-controller-manager health client: {e}")))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(5));
    let client = kube::Client::try_from(config).map_err(|e| Error::Unreachable {
        target: "kube-controller-manager".into(),
        message: e.to_string(),
    })?;
    wait_ready(
        &mut process,
        "kube-controller-manager",
        START_TIMEOUT,
        POLL_INTERVAL,
        || {
            let client = client.clone();
            async move {
                let request = http::Request::get("/healthz")
                    .body(Vec::new())
                    .map_err(|e| e.to_string())?;
                client
                    .request_text(request)
                    .await
                    .map(drop)
                    .map_err(|e| format!("/healthz: {e}"))
            }
        },
    )
    .await?;
    Ok(process)
}
