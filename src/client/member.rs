//! Reaching member clusters: a `kube::Client` built from a Cluster object and the Secret it
//! names (data keys `token` and `caBundle`, as Karmada's join writes them). Anything that only
//! knows Karmada's conventions can do the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Config, ResourceExt as _};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use secrecy::SecretString;
use tokio::sync::watch;

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
        let secret_ref = secret_ref(cluster)?;
        let secrets: Api<Secret> = Api::namespaced(control_plane.clone(), &secret_ref.namespace);
        let secret = secrets.get_opt(&secret_ref.name).await?;
        Access::from_secret(cluster, secret.as_ref())
    }

    /// The Cluster's endpoint and the credentials in its Secret (`None`: the Secret is missing).
    pub fn from_secret(cluster: &Cluster, secret: Option<&Secret>) -> Result<Access> {
        let name = cluster.name_any();
        let endpoint = cluster.spec.api_endpoint.clone();
        let endpoint = Some(endpoint)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| Error::Invalid(format!("cluster {name} has no spec.apiEndpoint")))?;
        let secret_ref = secret_ref(cluster)?;
        let secret = secret.ok_or_else(|| {
            Error::NotFound(format!(
                "secret {}/{} of cluster {name} is missing; re-join the cluster",
                secret_ref.namespace, secret_ref.name
            ))
        })?;
        let data = secret.data.clone().unwrap_or_default();
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

    /// Changes whenever the endpoint or the credentials do (never logged).
    pub fn fingerprint(&self) -> u64 {
        let mut h = fnv(FNV_OFFSET, self.endpoint.as_bytes());
        h = fnv(h, &[0]);
        h = fnv(h, self.token.as_bytes());
        h = fnv(h, &[0]);
        h = fnv(h, self.ca_bundle.as_deref().unwrap_or_default());
        h = fnv(h, &[0, self.insecure_skip_tls_verification as u8]);
        fnv(h, self.proxy_url.as_deref().unwrap_or_default().as_bytes())
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

    /// A client whose every request is bounded by `timeout`.
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

fn secret_ref(cluster: &Cluster) -> Result<&crate::api::cluster::LocalSecretReference> {
    cluster.spec.secret_ref.as_ref().ok_or_else(|| {
        Error::Invalid(format!(
            "cluster {} has no spec.secretRef; re-join it",
            cluster.name_any()
        ))
    })
}

/// The server ends a member watch after this many seconds (the watcher then resumes it); the
/// watch client's read timeout is a little longer.
pub const WATCH_TIMEOUT_SECS: u32 = 290;
const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(WATCH_TIMEOUT_SECS as u64 + 40);

/// Default bound of one member request other than a watch (`--member-request-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The clients of one member cluster, for one set of credentials.
#[derive(Clone)]
pub struct Member {
    /// [`Access::fingerprint`] of the credentials both clients use.
    pub credentials: u64,
    /// Every call but watches: connecting, writing and each read are bounded by the request
    /// timeout, so a member that accepts connections and never answers cannot hold a caller.
    pub client: Client,
    /// Watches only: connecting and writing are bounded the same way; reads wait until the
    /// server ends the watch ([`WATCH_TIMEOUT_SECS`]).
    pub watch: Client,
}

impl Member {
    /// The clients of `access`; requests other than watches are bounded by `request_timeout`.
    pub fn new(access: &Access, request_timeout: Duration) -> Result<Member> {
        let unreachable = |e: kube::Error| Error::Unreachable {
            target: format!("cluster {}", access.cluster),
            message: e.to_string(),
        };
        let client = super::requests::counted_client(
            access.config(request_timeout)?,
            super::requests::MEMBER,
        )
        .map_err(unreachable)?;
        let mut config = access.config(request_timeout)?;
        config.read_timeout = Some(WATCH_READ_TIMEOUT);
        let watch = super::requests::counted_client(config, super::requests::MEMBER)
            .map_err(unreachable)?;
        Ok(Member {
            credentials: access.fingerprint(),
            client,
            watch,
        })
    }
}

/// Member clients reused across reconciliations, built from cached credentials: each
/// namespace holding Cluster Secrets (`karmada-cluster`, by Karmada's convention) is mirrored
/// by a reflector started on first use, so no reconciliation or retry reads a Secret from the
/// control plane. Clients are rebuilt when a Cluster's endpoint or Secret changes;
/// [`Clients::subscribe`] tells when a Secret did.
pub struct Clients {
    request_timeout: Duration,
    secrets: Mutex<HashMap<String, SecretCache>>,
    cache: Mutex<HashMap<String, Member>>,
    changes: Arc<watch::Sender<u64>>,
    /// The agent's own cluster: reached with the agent's credentials, not a Secret.
    pinned: Mutex<Option<(String, Member)>>,
}

struct SecretCache {
    store: Store<Secret>,
    task: tokio::task::JoinHandle<()>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients::new(DEFAULT_REQUEST_TIMEOUT)
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        for cache in self
            .secrets
            .get_mut()
            .expect("secret caches poisoned")
            .values()
        {
            cache.task.abort();
        }
    }
}

impl Clients {
    /// Clients whose requests (all but watches) are bounded by `request_timeout`.
    pub fn new(request_timeout: Duration) -> Self {
        Clients {
            request_timeout,
            secrets: Mutex::default(),
            cache: Mutex::default(),
            changes: Arc::new(watch::channel(0).0),
            pinned: Mutex::default(),
        }
    }

    /// Makes `member` the clients of `cluster` whatever its Cluster object says (an agent in
    /// pull mode reaches its own cluster with its own credentials).
    pub fn pin(&self, cluster: &str, member: Member) {
        *self.pinned.lock().expect("pinned member poisoned") = Some((cluster.to_string(), member));
    }

    fn pinned(&self, cluster: &str) -> Option<Member> {
        self.pinned
            .lock()
            .expect("pinned member poisoned")
            .as_ref()
            .filter(|(name, _)| name == cluster)
            .map(|(_, m)| m.clone())
    }

    /// The request client of `cluster` (see [`Clients::member`]).
    pub async fn get(&self, control_plane: &Client, cluster: &Cluster) -> Result<Client> {
        Ok(self.member(control_plane, cluster).await?.client)
    }

    /// The clients of `cluster`, from its Cluster object and the cached Secret it names;
    /// `control_plane` starts the Secret cache of that namespace the first time.
    pub async fn member(&self, control_plane: &Client, cluster: &Cluster) -> Result<Member> {
        if let Some(member) = self.pinned(&cluster.name_any()) {
            return Ok(member);
        }
        let secret_ref = secret_ref(cluster)?;
        let store = self.secret_store(control_plane, &secret_ref.namespace);
        if super::ready::store_ready_within(&store, self.request_timeout)
            .await
            .is_none()
        {
            return Err(Error::Unreachable {
                target: "the control plane".into(),
                message: format!(
                    "the Secrets of namespace {} could not be listed within {}s",
                    secret_ref.namespace,
                    self.request_timeout.as_secs()
                ),
            });
        }
        let secret = store.get(&ObjectRef::new(&secret_ref.name).within(&secret_ref.namespace));
        let access = Access::from_secret(cluster, secret.as_deref())?;
        let credentials = access.fingerprint();
        if let Some(member) = self.cached(&access.cluster)
            && member.credentials == credentials
        {
            return Ok(member);
        }
        let member = Member::new(&access, self.request_timeout)?;
        self.cache
            .lock()
            .expect("member client cache poisoned")
            .insert(access.cluster.clone(), member.clone());
        Ok(member)
    }

    /// The clients last built for `cluster`, without looking at its credentials.
    pub fn cached(&self, cluster: &str) -> Option<Member> {
        if let Some(member) = self.pinned(cluster) {
            return Some(member);
        }
        self.cache
            .lock()
            .expect("member client cache poisoned")
            .get(cluster)
            .cloned()
    }

    pub fn forget(&self, cluster: &str) {
        self.cache
            .lock()
            .expect("member client cache poisoned")
            .remove(cluster);
    }

    /// Changes (its value counts up) whenever a cached Secret is added, changed or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn secret_store(&self, control_plane: &Client, namespace: &str) -> Store<Secret> {
        let mut secrets = self.secrets.lock().expect("secret caches poisoned");
        if let Some(cache) = secrets.get(namespace) {
            return cache.store.clone();
        }
        let (store, writer) = reflector::store();
        let api: Api<Secret> = Api::namespaced(control_plane.clone(), namespace);
        let changes = self.changes.clone();
        let ns = namespace.to_string();
        let task = tokio::spawn(async move {
            let mut events = reflector::reflector(writer, watcher(api, watcher::Config::default()))
                .default_backoff()
                .boxed();
            let mut failing = false;
            while let Some(event) = events.next().await {
                match event {
                    Ok(_) => {
                        failing = false;
                        changes.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(namespace = %ns, "watching cluster Secrets failed, retrying: {e}");
                    }
                    Err(e) => tracing::debug!(namespace = %ns, "watching cluster Secrets: {e}"),
                }
            }
        });
        secrets.insert(
            namespace.to_string(),
            SecretCache {
                store: store.clone(),
                task,
            },
        );
        store
    }
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;

/// A stable, non-cryptographic fingerprint (never logged) to notice rotated credentials.
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(endpoint: &str, token: &str) -> Access {
        Access {
            cluster: "m".into(),
            endpoint: endpoint.into(),
            ca_bundle: None,
            token: token.into(),
            insecure_skip_tls_verification: false,
            proxy_url: None,
        }
    }

    #[test]
    fn the_fingerprint_follows_endpoint_and_credentials() {
        let a = access("https://127.0.0.1:1", "t1");
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(
            a.fingerprint(),
            access("https://127.0.0.1:1", "t2").fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            access("https://127.0.0.1:2", "t1").fingerprint()
        );
        let mut b = a.clone();
        b.ca_bundle = Some(b"ca".to_vec());
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    /// A member that accepts connections and never answers (a stopped apiserver, a black
    /// hole): a request fails after the request timeout instead of holding its caller.
    #[tokio::test]
    async fn a_request_to_a_member_that_never_answers_fails() {
        // The kernel accepts connections into the backlog; nobody ever reads or answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let member = Member::new(&access(&endpoint, "t"), Duration::from_millis(300)).unwrap();
        // Only a guard against hanging forever; the request timeout is what ends the call.
        let answer =
            tokio::time::timeout(Duration::from_secs(60), member.client.apiserver_version())
                .await
                .expect("the request must not hang");
        assert!(answer.is_err(), "no answer cannot be a success");
        drop(listener);
    }
}
