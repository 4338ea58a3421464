//! Reaching member clusters: a `kube::Client` built from a Cluster object and the Secret it
//! names (data keys `token` and `caBundle`, as Karmada's join writes them). Anything that only
//! knows Karmada's conventions can do the same.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, Config, ResourceExt as _};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::SecretString;

use crate::api::Cluster;
use crate::{Error, Result};

/// Secret data key holding the bearer token of the member's service account.
pub const TOKEN_KEY: &str = "token";
/// Secret data key holding the member API server's CA bundle (PEM).
pub const CA_BUNDLE_KEY: &str = "caBundle";

/// What it takes to reach one member cluster.
#[derive(Clone)]
pub struct Access {
    pub cluster: String,
    pub endpoint: String,
    pub ca_bundle: Option<Vec<u8>>,
    pub token: String,
    pub insecure_skip_tls_verification: bool,
    pub proxy_url: Option<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("cluster", &self.cluster)
            .field("endpoint", &self.endpoint)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Access {
    /// Reads the Cluster's endpoint and its Secret from the control plane.
    pub async fn load(control_plane: &Client, cluster: &Cluster) -> Result<Access> {
        let name = cluster.name_any();
        let endpoint = cluster.spec.api_endpoint.clone();
        let endpoint = Some(endpoint)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| Error::Invalid(format!("cluster {name} has no spec.apiEndpoint")))?;
        let secret_ref = cluster.spec.secret_ref.as_ref().ok_or_else(|| {
            Error::Invalid(format!("cluster {name} has no spec.secretRef; re-join it"))
        })?;
        let secrets: Api<Secret> = Api::namespaced(control_plane.clone(), &secret_ref.namespace);
        let secret = secrets.get_opt(&secret_ref.name).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "secret {}/{} of cluster {name} is missing; re-join the cluster",
                secret_ref.namespace, secret_ref.name
            ))
        })?;
        let data = secret.data.unwrap_or_default();
        let token = data
            .get(TOKEN_KEY)
            .map(|t| String::from_utf8_lossy(&t.0).trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "secret {}/{} has no {TOKEN_KEY:?}; re-join cluster {name}",
                    secret_ref.namespace, secret_ref.name
                ))
            })?;
        Ok(Access {
            cluster: name,
            endpoint,
            ca_bundle: data
                .get(CA_BUNDLE_KEY)
                .map(|c| c.0.clone())
                .filter(|c| !c.is_empty()),
            token,
            insecure_skip_tls_verification: cluster.spec.insecure_skip_tls_verification,
            proxy_url: Some(cluster.spec.proxy_url.clone()).filter(|p| !p.is_empty()),
        })
    }

    /// Client configuration; every request is bounded by `timeout`.
    pub fn config(&self, timeout: Duration) -> Result<Config> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            Error::Invalid(format!("cluster {}: invalid {what}: {e}", self.cluster))
        };
        let uri: http::Uri = self
            .endpoint
            .parse()
            .map_err(|e| invalid("spec.apiEndpoint", &e))?;
        let mut config = Config::new(uri);
        if let Some(pem) = &self.ca_bundle {
            let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
                .map(|c| c.map(|c| c.to_vec()))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| invalid("caBundle", &e))?;
            if certs.is_empty() {
                return Err(invalid("caBundle", &"no PEM certificate found"));
            }
            config.root_cert = Some(certs);
        }
        config.accept_invalid_certs = self.insecure_skip_tls_verification;
        config.auth_info.token = Some(SecretString::from(self.token.clone()));
        if let Some(proxy) = &self.proxy_url {
            config.proxy_url = Some(proxy.parse().map_err(|e| invalid("spec.proxyURL", &e))?);
        }
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        Ok(config)
    }

    pub fn client(&self, timeout: Duration) -> Result<Client> {
        Client::try_from(self.config(timeout)?).map_err(|e| Error::Unreachable {
            target: format!("cluster {}", self.cluster),
            message: e.to_string(),
        })
    }
}

/// A member client straight from the Cluster object (one-off use: CLI, tests).
pub async fn client(
    control_plane: &Client,
    cluster: &Cluster,
    timeout: Duration,
) -> Result<Client> {
    Access::load(control_plane, cluster).await?.client(timeout)
}

/// Member clients reused across reconciliations; rebuilt when the Cluster or its Secret changes.
#[derive(Default)]
pub struct Clients {
    cache: Mutex<HashMap<String, (String, Client)>>,
}

impl Clients {
    /// A client for `cluster`. Long-running watches use the returned client too, so its
    /// timeout must allow watch requests: reads are bounded by the watch timeout instead.
    pub async fn get(&self, control_plane: &Client, cluster: &Cluster) -> Result<Client> {
        let access = Access::load(control_plane, cluster).await?;
        let fingerprint = format!(
            "{}|{}|{}|{}|{:?}",
            access.endpoint,
            access.token.len(),
            fnv(&access.token),
            access.insecure_skip_tls_verification,
            access
                .ca_bundle
                .as_deref()
                .map(|c| fnv(&String::from_utf8_lossy(c)))
        );
        let mut cache = self.cache.lock().expect("member client cache poisoned");
        if let Some((fp, client)) = cache.get(&access.cluster)
            && *fp == fingerprint
        {
            return Ok(client.clone());
        }
        let mut config = access.config(Duration::from_secs(10))?;
        // Watches hold a request open; the server ends them after its own timeout.
        config.read_timeout = Some(Duration::from_secs(330));
        let client =
            super::requests::counted_client(config, super::requests::MEMBER).map_err(|e| {
                Error::Unreachable {
                    target: format!("cluster {}", access.cluster),
                    message: e.to_string(),
                }
            })?;
        cache.insert(access.cluster.clone(), (fingerprint, client.clone()));
        Ok(client)
    }

    pub fn forget(&self, cluster: &str) {
        self.cache
            .lock()
            .expect("member client cache poisoned")
            .remove(cluster);
    }
}

/// A stable, non-cryptographic fingerprint (never logged) to notice rotated credentials.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}
