//! The control plane's PKI bundle: every certificate and key `init` issues (or reuses from the
//! host), by file name, and the kubeconfig entries signed with them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::manifests::{ETCD, ETCD_CLIENT_SERVICE, NAMESPACE, RECONCILER_USER, SANS_ANNOTATION};
use super::pki::{CertSpec, CertificateAuthority, ServiceAccountKey};
use crate::Result;
use crate::kubeconfig::{Credential, Entry};

/// Every certificate and key of the control plane, by file name in [`PKI_DIR`] (the keys of
/// the [`CERT_SECRET`] Secret).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pki {
    pub files: BTreeMap<String, String>,
    /// The apiserver serving certificate's SANs, as issued.
    pub apiserver_sans: Vec<String>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("apiserver_sans", &self.apiserver_sans)
            .finish()
    }
}

/// Names of the files in [`Pki::files`] (each leaf is `<name>.crt` + `<name>.key`).
pub const PKI_FILES: &[&str] = &[
    "ca.crt",
    "ca.key",
    "sa.key",
    "sa.pub",
    "apiserver.crt",
    "apiserver.key",
    "etcd-server.crt",
    "etcd-server.key",
    "etcd-peer.crt",
    "etcd-peer.key",
    "etcd-client.crt",
    "etcd-client.key",
    "admin.crt",
    "admin.key",
    "kube-controller-manager.crt",
    "kube-controller-manager.key",
    "reconciler.crt",
    "reconciler.key",
];

/// What the certificates must say.
#[derive(Debug, Clone)]
pub struct PkiRequest {
    /// Extra SANs of the apiserver certificate: node/advertise addresses, `--cert-external-ip`,
    /// `--cert-external-dns`.
    pub extra_sans: Vec<String>,
    pub validity: Duration,
    /// `--ca-cert-file` / `--ca-key-file`, as PEM.
    pub ca: Option<(String, String)>,
    pub etcd_replicas: i32,
}

/// The apiserver serving certificate's SANs: loopback, the Service's DNS names, the first
/// Service IP, then `extra` (deduplicated, order kept).
pub fn apiserver_sans(extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = [
        "localhost",
        "127.0.0.1",
        "karmada-apiserver",
        "karmada-apiserver.karmada-system",
        "karmada-apiserver.karmada-system.svc",
        "karmada-apiserver.karmada-system.svc.cluster.local",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "10.96.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in extra {
        if !s.is_empty() && !sans.contains(s) {
            sans.push(s.clone());
        }
    }
    sans
}

fn etcd_server_sans(replicas: i32) -> Vec<String> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        ETCD_CLIENT_SERVICE.to_string(),
        format!("{ETCD_CLIENT_SERVICE}.{NAMESPACE}.svc"),
        format!("{ETCD_CLIENT_SERVICE}.{NAMESPACE}.svc.cluster.local"),
    ];
    for i in 0..replicas {
        sans.push(format!("{ETCD}-{i}.{ETCD}.{NAMESPACE}.svc"));
        sans.push(format!("{ETCD}-{i}.{ETCD}.{NAMESPACE}.svc.cluster.local"));
    }
    sans
}

impl Pki {
    /// Issues whatever `existing` lacks. Existing files are kept as they are (so kubeconfigs
    /// stay valid), except: a different `--ca-cert-file` reissues everything, and changed
    /// apiserver SANs reissue the serving certificate.
    pub fn complete(existing: Option<Pki>, req: &PkiRequest) -> Result<Pki> {
        let mut pki = existing.unwrap_or_default();
        if let Some((cert, key)) = &req.ca
            && pki.files.get("ca.crt") != Some(cert)
        {
            pki = Pki::default();
            pki.files.insert("ca.crt".into(), cert.clone());
            pki.files.insert("ca.key".into(), key.clone());
        }
        let ca = match (pki.files.get("ca.crt"), pki.files.get("ca.key")) {
            (Some(c), Some(k)) => CertificateAuthority::from_pem(c, k)?,
            _ => {
                let ca = CertificateAuthority::generate("karmada", req.validity)?;
                // Leaves signed by another CA are useless now.
                pki = Pki::default();
                pki.files.insert("ca.crt".into(), ca.cert_pem().into());
                pki.files.insert("ca.key".into(), ca.key_pem().into());
                ca
            }
        };
        if !(pki.files.contains_key("sa.key") && pki.files.contains_key("sa.pub")) {
            let sa = ServiceAccountKey::generate()?;
            pki.files.insert("sa.key".into(), sa.private_key_pem);
            pki.files.insert("sa.pub".into(), sa.public_key_pem);
        }
        let sans = apiserver_sans(&req.extra_sans);
        if pki.apiserver_sans != sans {
            pki.files.remove("apiserver.crt");
            pki.apiserver_sans = sans.clone();
        }
        let etcd_sans = etcd_server_sans(req.etcd_replicas);
        let v = req.validity;
        let leaves: Vec<(&str, CertSpec)> = vec![
            (
                "apiserver",
                CertSpec::serving("karmada-apiserver", &refs(&sans), v),
            ),
            (
                "etcd-server",
                CertSpec::serving("etcd-server", &refs(&etcd_sans), v),
            ),
            (
                "etcd-peer",
                CertSpec {
                    client_auth: true,
                    ..CertSpec::serving("etcd-peer", &refs(&etcd_sans), v)
                },
            ),
            (
                "etcd-client",
                CertSpec::client("karmada-apiserver-etcd-client", &[], v),
            ),
            (
                "admin",
                CertSpec::client("karmada-admin", &["system:masters"], v),
            ),
            (
                "kube-controller-manager",
                CertSpec::client("system:kube-controller-manager", &[], v),
            ),
            ("reconciler", CertSpec::client(RECONCILER_USER, &[], v)),
        ];
        for (name, spec) in leaves {
            let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
            if pki.files.contains_key(&crt) && pki.files.contains_key(&key) {
                continue;
            }
            let issued = ca.issue(&spec)?;
            pki.files.insert(crt, issued.cert_pem);
            pki.files.insert(key, issued.key_pem);
        }
        Ok(pki)
    }

    /// Reads the files back from the [`CERT_SECRET`] Secret's `data` and annotations.
    pub fn from_secret(secret: &k8s_openapi::api::core::v1::Secret) -> Pki {
        let files = secret
            .data
            .iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
            .collect();
        let apiserver_sans = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(SANS_ANNOTATION))
            .map(|s| s.split(',').map(String::from).collect())
            .unwrap_or_default();
        Pki {
            files,
            apiserver_sans,
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.files.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A kubeconfig entry for `server` with the client certificate `<leaf>.crt`/`.key`.
    pub fn entry(&self, name: &str, server: &str, leaf: &str) -> Entry {
        Entry {
            name: name.into(),
            server: server.into(),
            ca_pem: self.get("ca.crt").into(),
            credential: Credential::ClientCert {
                cert_pem: self.get(&format!("{leaf}.crt")).into(),
                key_pem: self.get(&format!("{leaf}.key")).into(),
            },
        }
    }
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
