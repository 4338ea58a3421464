//! One cluster of the bed: its PKI, its kube-apiserver process and its kubeconfig.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use super::process::{Process, wait_ready};
use super::{BedCluster, CERT_VALIDITY, POLL_INTERVAL, START_TIMEOUT};
use crate::client::connect::Target;
use crate::install::pki::{CertificateAuthority, ServiceAccountKey};
use crate::kubeconfig::{self, Credential, Entry};
use crate::{Error, Result};

/// Paths of the files a cluster's processes read.
#[derive(Debug, Clone)]
pub(crate) struct PkiFiles {
    pub(crate) ca_crt: PathBuf,
    pub(crate) sa_key: PathBuf,
    pub(crate) sa_pub: PathBuf,
    pub(crate) serving_crt: PathBuf,
    pub(crate) serving_key: PathBuf,
}

pub(crate) struct ClusterState {
    pub(crate) info: BedCluster,
    pub(crate) pki: PkiFiles,
    binary: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    pub(crate) process: Option<Process>,
}

impl ClusterState {
    /// Writes the cluster's certificates, keys and kubeconfig under `dir`; starts nothing.
    pub(crate) fn prepare(
        name: &str,
        dir: &Path,
        binary: &Path,
        etcd_url: &str,
        port: u16,
    ) -> Result<ClusterState> {
        let pki_dir = dir.join("pki");
        let ca = CertificateAuthority::generate(&format!("{name}-ca"), CERT_VALIDITY)?;
        let serving =
            ca.serving_cert("kube-apiserver", &["127.0.0.1", "localhost"], CERT_VALIDITY)?;
        let admin = ca.client_cert("admin", &["system:masters"], CERT_VALIDITY)?;
        let sa = ServiceAccountKey::generate()?;
        let pki = PkiFiles {
            ca_crt: pki_dir.join("ca.crt"),
            sa_key: pki_dir.join("sa.key"),
            sa_pub: pki_dir.join("sa.pub"),
            serving_crt: pki_dir.join("apiserver.crt"),
            serving_key: pki_dir.join("apiserver.key"),
        };
        for (path, pem) in [
            (&pki.ca_crt, ca.cert_pem()),
            (&pki_dir.join("ca.key"), ca.key_pem()),
            (&pki.sa_key, &sa.private_key_pem),
            (&pki.sa_pub, &sa.public_key_pem),
            (&pki.serving_crt, &serving.cert_pem),
            (&pki.serving_key, &serving.key_pem),
        ] {
            kubeconfig::write_private(path, pem.as_bytes())?;
        }

        let server = format!("https://127.0.0.1:{port}");
        let info = BedCluster {
            name: name.to_string(),
            server: server.clone(),
            kubeconfig: dir.join("kubeconfig"),
            ca_pem: ca.cert_pem().to_string(),
            port,
            admin: Credential::ClientCert {
                cert_pem: admin.cert_pem,
                key_pem: admin.key_pem,
            },
            ca,
        };
        kubeconfig::write(&info.kubeconfig, &info.entry().to_kubeconfig())?;

        let args = vec![
            format!("--etcd-servers={etcd_url}"),
            // Clusters share one etcd; the prefix is what makes them independent.
            format!("--etcd-prefix=/{name}/registry"),
            format!("--secure-port={port}"),
            "--bind-address=127.0.0.1".into(),
            // Without it start-up can fail with "unable to find suitable network address".
            "--advertise-address=127.0.0.1".into(),
            // The endpoint reconciler rejects loopback addresses; no pod needs the service.
            "--endpoint-reconciler-type=none".into(),
            format!("--cert-dir={}", pki_dir.display()),
            format!("--tls-cert-file={}", pki.serving_crt.display()),
            format!("--tls-private-key-file={}", pki.serving_key.display()),
            format!("--client-ca-file={}", pki.ca_crt.display()),
            "--authorization-mode=RBAC".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", pki.sa_pub.display()),
            format!(
                "--service-account-signing-key-file={}",
                pki.sa_key.display()
            ),
            // No kubelet or token controller is guaranteed to run; pods must not need a token.
            "--disable-admission-plugins=ServiceAccount".into(),
            "--allow-privileged=true".into(),
            // Pull mode: `karmadactl register` authenticates with a bootstrap token.
            "--enable-bootstrap-token-auth=true".into(),
        ];
        Ok(ClusterState {
            info,
            pki,
            binary: binary.to_path_buf(),
            args,
            log: dir.join("kube-apiserver.log"),
            process: None,
        })
    }

    /// Starts kube-apiserver (if not running) and waits until it is ready and has its
    /// `default` namespace, so tests never race the bootstrap controllers.
    pub(crate) async fn start(&mut self) -> Result<()> {
        if self.process.as_mut().is_some_and(|p| p.exited().is_none()) {
            return Ok(());
        }
        let what = format!("kube-apiserver for {}", self.info.name);
        let mut process = Process::spawn(&what, &self.binary, &self.args, &self.log)?;
        let client = Target {
            kubeconfig: Some(self.info.kubeconfig.clone()),
            context: Some(self.info.name.clone()),
        }
        .client_with_timeout(Some(Duration::from_secs(5)))
        .await?;
        let result = wait_ready(&mut process, &what, START_TIMEOUT, POLL_INTERVAL, || {
            let client = client.clone();
            async move {
                let request = http::Request::get("/readyz")
                    .body(Vec::new())
                    .map_err(|e| e.to_string())?;
                client
                    .request_text(request)
                    .await
                    .map_err(|e| format!("/readyz: {e}"))?;
                Api::<Namespace>::all(client)
                    .get("default")
                    .await
                    .map_err(|e| format!("namespace default: {e}"))?;
                Ok(())
            }
        })
        .await;
        // Kept even on failure so Drop kills it and the error's log path stays meaningful.
        self.process = Some(process);
        result
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

impl BedCluster {
    /// The admin kubeconfig entry (CN=admin, O=system:masters), named after the cluster.
    pub fn entry(&self) -> Entry {
        Entry {
            name: self.name.clone(),
            server: self.server.clone(),
            ca_pem: self.ca_pem.clone(),
            credential: self.admin.clone(),
        }
    }

    /// A kubeconfig entry named `<user>@<cluster>` for a new client certificate of this
    /// cluster's CA: user `user` in `groups` (at most two). For RBAC tests.
    pub fn user_entry(&self, user: &str, groups: &[&str]) -> Result<Entry> {
        let issued = self.ca.client_cert(user, groups, CERT_VALIDITY)?;
        Ok(Entry {
            name: format!("{user}@{}", self.name),
            server: self.server.clone(),
            ca_pem: self.ca_pem.clone(),
            credential: Credential::ClientCert {
                cert_pem: issued.cert_pem,
                key_pem: issued.key_pem,
            },
        })
    }
}

pub(crate) fn unknown_cluster(name: &str, known: &[&str]) -> Error {
    Error::NotFound(format!(
        "the test bed has no cluster {name:?} (it has: {}); use one of those",
        known.join(", ")
    ))
}
