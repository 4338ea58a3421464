//! `karmadactl token create|list|delete`: bootstrap tokens on the control plane, for
//! `karmadactl register` (pull mode). A token is a `kube-system/bootstrap-token-<id>` Secret of
//! type `bootstrap.kubernetes.io/token` (kube-apiserver's `--enable-bootstrap-token-auth`
//! authenticates it); it authenticates into group
//! `system:bootstrappers:karmada:default-cluster-token`, which may only create (and read back)
//! CertificateSigningRequests. `create` also makes sure that RBAC and `kube-public/cluster-info`
//! exist, as init does.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, Config};

use crate::install::agent::{self, BOOTSTRAP_GROUP};
use crate::{Error, Result};

const KUBE_SYSTEM: &str = "kube-system";
/// `--groups` default.
pub const DEFAULT_GROUP: &str = BOOTSTRAP_GROUP;
const SECRET_PREFIX: &str = "bootstrap-token-";
const TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";

/// What `token create` asks for.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// 0: never expires.
    pub ttl: Duration,
    pub description: String,
    /// Extra groups besides [`BOOTSTRAP_GROUP`] (each must start with `system:bootstrappers:`).
    pub groups: Vec<String>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            ttl: Duration::from_secs(24 * 3600),
            description: String::new(),
            groups: vec![BOOTSTRAP_GROUP.to_string()],
        }
    }
}

/// A created token and how to register with it.
#[derive(Debug, Clone)]
pub struct Created {
    /// `<id>.<secret>`.
    pub token: String,
    /// `host:port` of the control plane, as cluster-info names it.
    pub endpoint: String,
    /// `sha256:<hex>` of the control plane CA's public key.
    pub ca_cert_hash: String,
}

impl Created {
    /// The `karmadactl register` line a member admin runs.
    pub fn register_command(&self, program: &str) -> String {
        format!(
            "{program} register {} --token {} --discovery-token-ca-cert-hash {}",
            self.endpoint, self.token, self.ca_cert_hash
        )
    }
}

/// One token, as `token list` shows it (never its secret).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub expires: Option<String>,
    pub usages: Vec<String>,
    pub description: String,
    pub groups: Vec<String>,
}

/// Checks `--groups`: each must start with `system:bootstrappers:`, as the apiserver requires.
pub fn validate_groups(groups: &[String]) -> Result<()> {
    for g in groups {
        if !g.starts_with("system:bootstrappers:") || g.contains(',') {
            return Err(Error::Invalid(format!(
                "--groups {g:?}: bootstrap token groups must start with \"system:bootstrappers:\" (e.g. {BOOTSTRAP_GROUP})"
            )));
        }
    }
    Ok(())
}

/// A token id (6) or secret (16) of `[a-z0-9]`, from the OS's random source.
fn random_part(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            // 252 = 7 * 36: keeps the choice uniform.
            if *b < 252 && out.len() < len {
                out.push(ALPHABET[usize::from(*b % 36)] as char);
            }
        }
    }
    out
}

/// Validates `<id>.<secret>` (or a bare id for `delete`) and returns the id.
pub fn token_id(token: &str) -> Result<String> {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match token.split_once('.') {
        Some((id, secret)) if ok(id, 6) && ok(secret, 16) => Ok(id.to_string()),
        None if ok(token, 6) => Ok(token.to_string()),
        _ => Err(Error::Invalid(format!(
            "{token:?} is not a bootstrap token: expected [a-z0-9]{{6}}.[a-z0-9]{{16}} or a 6-character token id (see `karmadactl token list`)"
        ))),
    }
}

/// `sha256:<hex>` of a PEM certificate's SubjectPublicKeyInfo, as kubeadm and Karmada pin a CA.
pub fn ca_cert_hash(ca_pem: &str) -> Result<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes())
        .map_err(|e| Error::Invalid(format!("the CA is not a PEM certificate: {e}")))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| Error::Invalid(format!("the CA certificate cannot be parsed: {e}")))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

/// The server URL and CA (PEM) of a client configuration.
pub fn server_and_ca(config: &Config) -> Result<(String, String)> {
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let der = config
        .root_cert
        .as_ref()
        .and_then(|c| c.first())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the kubeconfig of {server} has no certificate-authority-data; pull mode pins the control plane's CA, so the kubeconfig must name it"
            ))
        })?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    Ok((
        server,
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
    ))
}

/// Applies the bootstrap RBAC and creates `cluster-info` if it is missing (an existing one is
/// kept: it may name an endpoint reachable from the members that this kubeconfig does not).
/// Returns the endpoint and CA cluster-info holds.
pub async fn ensure_bootstrap(cp: &Client, server: &str, ca_pem: &str) -> Result<(String, String)> {
    super::init::apply(cp, &agent::bootstrap_objects()).await?;
    let cms: Api<ConfigMap> = Api::namespaced(cp.clone(), agent::KUBE_PUBLIC);
    let existing = cms.get_opt(agent::CLUSTER_INFO).await?;
    let cm = match existing {
        Some(cm) => cm,
        None => {
            let obj: ConfigMap = serde_json::from_value(agent::cluster_info(server, ca_pem))
                .map_err(|e| Error::Internal(e.to_string()))?;
            match cms.create(&PostParams::default(), &obj).await {
                Ok(cm) => cm,
                Err(kube::Error::Api(s)) if s.code == 409 => cms.get(agent::CLUSTER_INFO).await?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    parse_cluster_info(&cm)
}

/// The server and CA (PEM) in a cluster-info ConfigMap.
pub fn parse_cluster_info(cm: &ConfigMap) -> Result<(String, String)> {
    let bad = |m: &str| {
        Error::Invalid(format!(
            "{}/{}: {m}; delete it and run `karmadactl token create` again to rewrite it",
            agent::KUBE_PUBLIC,
            agent::CLUSTER_INFO
        ))
    };
    let yaml = cm
        .data
        .as_ref()
        .and_then(|d| d.get(agent::KUBECONFIG_KEY))
        .ok_or_else(|| bad("no kubeconfig key"))?;
    let kc: kube::config::Kubeconfig =
        serde_yaml::from_str(yaml).map_err(|e| bad(&format!("not a kubeconfig: {e}")))?;
    let cluster = kc
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| bad("no cluster"))?;
    let server = cluster.server.clone().ok_or_else(|| bad("no server"))?;
    let ca = cluster
        .certificate_authority_data
        .as_deref()
        .ok_or_else(|| bad("no certificate-authority-data"))?;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(ca.trim())
        .map_err(|e| bad(&format!("certificate-authority-data is not base64: {e}")))?;
    Ok((server, String::from_utf8_lossy(&ca).into_owned()))
}

/// `https://host:port/` -> `host:port`.
pub fn host_port(server: &str) -> String {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    s.split('/').next().unwrap_or(s).to_string()
}

/// Creates a token (and the bootstrap RBAC and cluster-info, if missing).
pub async fn create(cp: &Client, config: &Config, opts: &TokenOptions) -> Result<Created> {
    validate_groups(&opts.groups)?;
    let (server, ca_pem) = server_and_ca(config)?;
    let (server, ca_pem) = ensure_bootstrap(cp, &server, &ca_pem).await?;
    let id = random_part(6);
    let secret = random_part(16);
    let mut data: BTreeMap<String, String> = BTreeMap::from([
        ("token-id".into(), id.clone()),
        ("token-secret".into(), secret.clone()),
        ("usage-bootstrap-authentication".into(), "true".into()),
        ("usage-bootstrap-signing".into(), "true".into()),
        ("auth-extra-groups".into(), opts.groups.join(",")),
    ]);
    if !opts.ttl.is_zero() {
        let expires = Timestamp::now()
            .checked_add(
                k8s_openapi::jiff::SignedDuration::try_from(opts.ttl)
                    .map_err(|e| Error::Invalid(format!("--ttl is out of range: {e}")))?,
            )
            .map_err(|e| Error::Invalid(format!("--ttl is out of range: {e}")))?;
        data.insert(
            "expiration".into(),
            expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    }
    if !opts.description.is_empty() {
        data.insert("description".into(), opts.description.clone());
    }
    let obj = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(format!("{SECRET_PREFIX}{id}")),
            namespace: Some(KUBE_SYSTEM.into()),
            ..Default::default()
        },
        type_: Some(TOKEN_TYPE.into()),
        string_data: Some(data),
        ..Default::default()
    };
    Api::<Secret>::namespaced(cp.clone(), KUBE_SYSTEM)
        .create(&PostParams::default(), &obj)
        .await?;
    Ok(Created {
        token: format!("{id}.{secret}"),
        endpoint: host_port(&server),
        ca_cert_hash: ca_cert_hash(&ca_pem)?,
    })
}

/// The bootstrap tokens, oldest first (expired ones too: the apiserver ignores them, nothing
/// here deletes them).
pub async fn list(cp: &Client) -> Result<Vec<TokenInfo>> {
    let secrets = Api::<Secret>::namespaced(cp.clone(), KUBE_SYSTEM)
        .list(&ListParams::default().fields(&format!("type={TOKEN_TYPE}")))
        .await?;
    let mut out = Vec::new();
    for s in secrets.items {
        let data = s.data.unwrap_or_default();
        let get = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(&v.0).into_owned())
                .unwrap_or_default()
        };
        let id = get("token-id");
        if id.is_empty() {
            continue;
        }
        let usages = ["authentication", "signing"]
            .iter()
            .filter(|u| get(&format!("usage-bootstrap-{u}")) == "true")
            .map(|u| u.to_string())
            .collect();
        out.push(TokenInfo {
            id,
            expires: Some(get("expiration")).filter(|e| !e.is_empty()),
            usages,
            description: get("description"),
            groups: get("auth-extra-groups")
                .split(',')
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
        });
    }
    Ok(out)
}

/// Deletes a token by id (or `<id>.<secret>`).
pub async fn delete(cp: &Client, token: &str) -> Result<String> {
    let id = token_id(token)?;
    let name = format!("{SECRET_PREFIX}{id}");
    match Api::<Secret>::namespaced(cp.clone(), KUBE_SYSTEM)
        .delete(&name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(id),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(Error::NotFound(format!(
            "bootstrap token {id} does not exist (no secret {KUBE_SYSTEM}/{name}); see `karmadactl token list`"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// "23h", "<forever>", "<invalid>" for the TTL column.
pub fn ttl_left(expires: Option<&str>) -> String {
    let Some(e) = expires else {
        return "<forever>".into();
    };
    let Ok(t) = e.parse::<Timestamp>() else {
        return "<invalid>".into();
    };
    let left = t.as_second() - Timestamp::now().as_second();
    if left <= 0 {
        "<expired>".into()
    } else {
        crate::duration::format(Duration::from_secs(left as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_kubeadms_shape() {
        let id = random_part(6);
        let secret = random_part(16);
        assert_eq!(token_id(&format!("{id}.{secret}")).unwrap(), id);
        assert_eq!(token_id(&id).unwrap(), id);
        assert!(token_id("ABCDEF.0123456789abcdef").is_err());
        assert!(token_id("abc.def").is_err());
        assert_ne!(random_part(16), random_part(16));
    }

    #[test]
    fn groups_must_be_bootstrappers() {
        assert!(validate_groups(&[BOOTSTRAP_GROUP.into()]).is_ok());
        assert!(validate_groups(&["system:masters".into()]).is_err());
    }

    #[test]
    fn endpoints_lose_their_scheme() {
        assert_eq!(host_port("https://10.0.0.1:5443/"), "10.0.0.1:5443");
    }
}
