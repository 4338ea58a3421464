//! The control plane's PKI bundle: every certificate and key `init` issues (or reuses from the
//! host), by file name, and the kubeconfig entries signed with them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::manifests::{ETCD, ETCD_CLIENT_SERVICE, RECONCILER_USER, SANS_ANNOTATION};
use super::pki::{CertAndKey, CertSpec, CertificateAuthority, ServiceAccountKey, seconds_left};
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
    "etcd-ca.crt",
    "etcd-ca.key",
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

/// How long the CAs init creates live (as kubeadm's and Karmada's): 10 years. Leaves live
/// `--cert-validity-period` (1 year by default) and never longer than their CA.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86400);

/// Re-running init renews a leaf certificate that expires within this time.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86400);

/// What the certificates must say.
#[derive(Debug, Clone)]
pub struct PkiRequest {
    /// Extra SANs of the apiserver certificate: node/advertise addresses, `--cert-external-ip`,
    /// `--cert-external-dns`.
    pub extra_sans: Vec<String>,
    /// Validity of the leaf certificates.
    pub validity: Duration,
    /// `--ca-cert-file` / `--ca-key-file`, as PEM (`Debug` redacts the key).
    pub ca: Option<CertAndKey>,
    pub etcd_replicas: i32,
    /// The host namespace the Services are in (`init -n`): part of their DNS names.
    pub namespace: String,
}

/// The apiserver serving certificate's SANs: loopback, the Service's DNS names, the first
/// Service IP, then `extra` (deduplicated, order kept). `ns`: the host namespace of the Service.
pub fn apiserver_sans(ns: &str, extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = [
        "localhost",
        "127.0.0.1",
        "karmada-apiserver",
        &format!("karmada-apiserver.{ns}"),
        &format!("karmada-apiserver.{ns}.svc"),
        &format!("karmada-apiserver.{ns}.svc.cluster.local"),
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

fn etcd_server_sans(ns: &str, replicas: i32) -> Vec<String> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        ETCD_CLIENT_SERVICE.to_string(),
        format!("{ETCD_CLIENT_SERVICE}.{ns}.svc"),
        format!("{ETCD_CLIENT_SERVICE}.{ns}.svc.cluster.local"),
    ];
    for i in 0..replicas {
        sans.push(format!("{ETCD}-{i}.{ETCD}.{ns}.svc"));
        sans.push(format!("{ETCD}-{i}.{ETCD}.{ns}.svc.cluster.local"));
    }
    sans
}

impl Pki {
    /// Issues whatever `existing` lacks. Existing files are kept as they are (so kubeconfigs
    /// stay valid), except: a different `--ca-cert-file` reissues everything, changed
    /// apiserver SANs reissue the serving certificate, and a leaf that expires within
    /// [`RENEW_BEFORE`] is renewed.
    ///
    /// Two CAs, each living [`CA_VALIDITY`]: `ca` signs the apiserver's serving certificate and
    /// every client of the apiserver; `etcd-ca` signs etcd's serving and peer certificates and
    /// the apiserver's etcd client certificate, so etcd trusts nothing else (a client
    /// certificate for the apiserver, such as the admin's, cannot open etcd).
    pub fn complete(existing: Option<Pki>, req: &PkiRequest) -> Result<Pki> {
        let mut pki = existing.unwrap_or_default();
        if let Some(given) = &req.ca
            && pki.files.get("ca.crt") != Some(&given.cert_pem)
        {
            pki = Pki::default();
            pki.files.insert("ca.crt".into(), given.cert_pem.clone());
            pki.files.insert("ca.key".into(), given.key_pem.clone());
        }
        let ca = match (pki.files.get("ca.crt"), pki.files.get("ca.key")) {
            (Some(c), Some(k)) => CertificateAuthority::from_pem(c, k)?,
            _ => {
                let ca = CertificateAuthority::generate("karmada", CA_VALIDITY)?;
                // Leaves signed by another CA are useless now.
                pki = Pki::default();
                pki.files.insert("ca.crt".into(), ca.cert_pem().into());
                pki.files.insert("ca.key".into(), ca.key_pem().into());
                ca
            }
        };
        let etcd_leaves = ["etcd-server", "etcd-peer", "etcd-client"];
        let etcd_ca = match (pki.files.get("etcd-ca.crt"), pki.files.get("etcd-ca.key")) {
            (Some(c), Some(k)) => CertificateAuthority::from_pem(c, k)?,
            _ => {
                let etcd_ca = CertificateAuthority::generate("karmada-etcd", CA_VALIDITY)?;
                // etcd's certificates from before (signed by `ca`) go: etcd trusts its CA only.
                for leaf in etcd_leaves {
                    pki.files.remove(&format!("{leaf}.crt"));
                    pki.files.remove(&format!("{leaf}.key"));
                }
                pki.files
                    .insert("etcd-ca.crt".into(), etcd_ca.cert_pem().into());
                pki.files
                    .insert("etcd-ca.key".into(), etcd_ca.key_pem().into());
                etcd_ca
            }
        };
        if !(pki.files.contains_key("sa.key") && pki.files.contains_key("sa.pub")) {
            let sa = ServiceAccountKey::generate()?;
            pki.files.insert("sa.key".into(), sa.private_key_pem);
            pki.files.insert("sa.pub".into(), sa.public_key_pem);
        }
        let sans = apiserver_sans(&req.namespace, &req.extra_sans);
        if pki.apiserver_sans != sans {
            pki.files.remove("apiserver.crt");
            pki.apiserver_sans = sans.clone();
        }
        let etcd_sans = etcd_server_sans(&req.namespace, req.etcd_replicas);
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
        let renew_before = RENEW_BEFORE.as_secs() as i64;
        for (name, spec) in leaves {
            let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
            let current = pki.files.get(&crt).filter(|_| pki.files.contains_key(&key));
            if current
                .and_then(|c| seconds_left(c))
                .is_some_and(|s| s > renew_before)
            {
                continue;
            }
            let issuer = if etcd_leaves.contains(&name) {
                &etcd_ca
            } else {
                &ca
            };
            let issued = issuer.issue(&spec)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86400);

    fn request(validity: Duration) -> PkiRequest {
        PkiRequest {
            extra_sans: vec![],
            validity,
            ca: None,
            etcd_replicas: 1,
            namespace: "karmada-system".into(),
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// Days from now until `pem` expires.
    fn days_left(pem: &str) -> i64 {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let cert = p.parse_x509().unwrap();
        (cert.validity().not_after.timestamp() - now()) / 86400
    }

    /// Whether `leaf` is signed by `ca`.
    fn signed_by(leaf: &str, ca: &str) -> bool {
        let (_, l) = x509_parser::pem::parse_x509_pem(leaf.as_bytes()).unwrap();
        let (_, c) = x509_parser::pem::parse_x509_pem(ca.as_bytes()).unwrap();
        let (l, c) = (l.parse_x509().unwrap(), c.parse_x509().unwrap());
        l.verify_signature(Some(c.public_key())).is_ok()
    }

    const LEAVES: &[&str] = &[
        "apiserver",
        "etcd-server",
        "etcd-peer",
        "etcd-client",
        "admin",
        "kube-controller-manager",
        "reconciler",
    ];

    #[test]
    fn ca_lives_ten_years_and_leaves_as_asked() {
        let pki = Pki::complete(None, &request(365 * DAY)).unwrap();
        let ca_days = days_left(pki.get("ca.crt"));
        assert!((3648..=3650).contains(&ca_days), "CA: {ca_days} days");
        for leaf in LEAVES {
            let d = days_left(pki.get(&format!("{leaf}.crt")));
            assert!((363..=365).contains(&d), "{leaf}: {d} days");
        }
        // A leaf never outlives the CA that signed it.
        let long = Pki::complete(None, &request(100 * 365 * DAY)).unwrap();
        let d = days_left(long.get("admin.crt"));
        assert!(d <= days_left(long.get("ca.crt")), "admin: {d} days");
    }

    #[test]
    fn etcd_has_its_own_ca() {
        let pki = Pki::complete(None, &request(365 * DAY)).unwrap();
        let etcd_ca = pki.get("etcd-ca.crt");
        assert!(!etcd_ca.is_empty() && etcd_ca != pki.get("ca.crt"));
        for leaf in ["etcd-server", "etcd-peer", "etcd-client"] {
            let crt = pki.get(&format!("{leaf}.crt"));
            assert!(signed_by(crt, etcd_ca), "{leaf} is signed by the etcd CA");
            assert!(
                !signed_by(crt, pki.get("ca.crt")),
                "{leaf} is not signed by the main CA"
            );
        }
        for leaf in [
            "apiserver",
            "admin",
            "kube-controller-manager",
            "reconciler",
        ] {
            let crt = pki.get(&format!("{leaf}.crt"));
            assert!(!signed_by(crt, etcd_ca), "etcd would trust {leaf}");
        }
    }

    #[test]
    fn rerun_renews_leaves_that_expire_within_30_days() {
        let short = Pki::complete(None, &request(20 * DAY)).unwrap();
        let renewed = Pki::complete(Some(short.clone()), &request(365 * DAY)).unwrap();
        assert_eq!(renewed.get("ca.crt"), short.get("ca.crt"), "the CA stays");
        assert_eq!(
            renewed.get("sa.key"),
            short.get("sa.key"),
            "the SA key stays"
        );
        for leaf in LEAVES {
            let crt = format!("{leaf}.crt");
            assert_ne!(renewed.get(&crt), short.get(&crt), "{leaf} renewed");
            assert!(days_left(renewed.get(&crt)) > 360, "{leaf}");
        }
        // Leaves with more than 30 days left are kept as they are.
        let fine = Pki::complete(None, &request(40 * DAY)).unwrap();
        assert_eq!(
            Pki::complete(Some(fine.clone()), &request(365 * DAY)).unwrap(),
            fine
        );
    }

    #[test]
    fn debug_never_prints_keys() {
        let ca = CertificateAuthority::generate("dbg", DAY).unwrap();
        let req = PkiRequest {
            ca: Some(CertAndKey {
                cert_pem: ca.cert_pem().to_string(),
                key_pem: ca.key_pem().to_string(),
            }),
            ..request(DAY)
        };
        let pki = Pki::complete(None, &req).unwrap();
        let body = |pem: &str| pem.lines().nth(1).unwrap().to_string();
        for debug in [format!("{req:?}"), format!("{pki:?}")] {
            assert!(!debug.contains(&body(ca.key_pem())), "{debug}");
            assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        }
    }
}
