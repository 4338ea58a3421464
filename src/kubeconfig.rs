//! Writing kubeconfig files: build entries for a cluster, merge them into a file without
//! clobbering unrelated entries, keep a backup, and write with mode 0600 (they hold credentials).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use kube::config::{
    AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};
use secrecy::SecretString;

use crate::{Error, Result};

/// How a kubeconfig user authenticates.
#[derive(Clone)]
pub enum Credential {
    /// PEM client certificate and key.
    ClientCert { cert_pem: String, key_pem: String },
    /// A bearer token.
    Token(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            Credential::ClientCert { .. } => f.write_str("ClientCert(<redacted>)"),
            Credential::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// One context: a cluster endpoint, its CA and a user; all three entries share `name`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub server: String,
    pub ca_pem: String,
    pub credential: Credential,
}

fn b64(data: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(data.as_bytes())
}

impl Entry {
    /// A kubeconfig holding only this entry, with it as the current context.
    pub fn to_kubeconfig(&self) -> Kubeconfig {
        let mut kc = Kubeconfig::default();
        upsert(&mut kc, self);
        kc.current_context = Some(self.name.clone());
        kc
    }
}

/// Adds or replaces the cluster, user and context named `entry.name`; leaves the rest alone.
pub fn upsert(kc: &mut Kubeconfig, entry: &Entry) {
    let cluster = NamedCluster {
        name: entry.name.clone(),
        cluster: Some(Cluster {
            server: Some(entry.server.clone()),
            certificate_authority_data: Some(b64(&entry.ca_pem)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut auth = AuthInfo::default();
    match &entry.credential {
        Credential::ClientCert { cert_pem, key_pem } => {
            auth.client_certificate_data = Some(b64(cert_pem));
            auth.client_key_data = Some(SecretString::from(b64(key_pem)));
        }
        Credential::Token(token) => auth.token = Some(SecretString::from(token.clone())),
    }
    let user = NamedAuthInfo {
        name: entry.name.clone(),
        auth_info: Some(auth),
        ..Default::default()
    };
    let context = NamedContext {
        name: entry.name.clone(),
        context: Some(Context {
            cluster: entry.name.clone(),
            user: Some(entry.name.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    kc.clusters.retain(|c| c.name != entry.name);
    kc.clusters.push(cluster);
    kc.auth_infos.retain(|u| u.name != entry.name);
    kc.auth_infos.push(user);
    kc.contexts.retain(|c| c.name != entry.name);
    kc.contexts.push(context);
}

/// Removes the cluster, user and context named `name`. Returns whether anything was removed.
pub fn remove(kc: &mut Kubeconfig, name: &str) -> bool {
    let before = kc.clusters.len() + kc.auth_infos.len() + kc.contexts.len();
    kc.clusters.retain(|c| c.name != name);
    kc.auth_infos.retain(|u| u.name != name);
    kc.contexts.retain(|c| c.name != name);
    if kc.current_context.as_deref() == Some(name) {
        kc.current_context = None;
    }
    before != kc.clusters.len() + kc.auth_infos.len() + kc.contexts.len()
}

/// Serializes a kubeconfig the way kubectl writes one.
pub fn to_yaml(kc: &Kubeconfig) -> Result<String> {
    let mut kc = kc.clone();
    kc.api_version.get_or_insert_with(|| "v1".into());
    kc.kind.get_or_insert_with(|| "Config".into());
    // SecretString does not serialize its value; expose the fields the file needs.
    let mut value =
        serde_json::to_value(&kc).map_err(|e| Error::Invalid(format!("kubeconfig: {e}")))?;
    if let Some(users) = value.get_mut("users").and_then(|u| u.as_array_mut()) {
        for (named, original) in users.iter_mut().zip(&kc.auth_infos) {
            let Some(user) = named.get_mut("user").and_then(|u| u.as_object_mut()) else {
                continue;
            };
            if let Some(auth) = &original.auth_info {
                use secrecy::ExposeSecret;
                if let Some(key) = &auth.client_key_data {
                    user.insert("client-key-data".into(), key.expose_secret().into());
                }
                if let Some(token) = &auth.token {
                    user.insert("token".into(), token.expose_secret().into());
                }
                if let Some(password) = &auth.password {
                    user.insert("password".into(), password.expose_secret().into());
                }
            }
        }
    }
    serde_yaml::to_string(&value).map_err(|e| Error::Invalid(format!("kubeconfig: {e}")))
}

/// Reads `path` if it exists, or starts an empty kubeconfig.
pub fn read_or_default(path: &Path) -> Result<Kubeconfig> {
    if !path.exists() {
        return Ok(Kubeconfig::default());
    }
    Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        path: path.to_path_buf(),
        message: format!("{e}; fix or move the file and retry"),
    })
}

/// Writes `kc` to `path` with mode 0600, creating parent directories.
pub fn write(path: &Path, kc: &Kubeconfig) -> Result<()> {
    write_private(path, to_yaml(kc)?.as_bytes())
}

/// Merges `entries` into the kubeconfig at `path`. When the file existed and changes, the old
/// content is kept at `<path>.bak`. Returns the backup path if one was written.
pub fn merge_into_file(
    path: &Path,
    entries: &[Entry],
    current: Option<&str>,
) -> Result<Option<PathBuf>> {
    let existed = path.exists();
    let mut kc = read_or_default(path)?;
    let before = to_yaml(&kc)?;
    for entry in entries {
        upsert(&mut kc, entry);
    }
    if let Some(current) = current {
        kc.current_context = Some(current.to_string());
    }
    if to_yaml(&kc)? == before {
        return Ok(None);
    }
    let backup = if existed {
        let backup = PathBuf::from(format!("{}.bak", path.display()));
        let old =
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        write_private(&backup, &old)?;
        Some(backup)
    } else {
        None
    };
    write(path, &kc)?;
    Ok(backup)
}

/// Writes a file only its owner can read (credentials, keys).
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    let ctx = || format!("writing {}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(ctx(), e))?;
    // An existing file keeps its old mode on open; tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(ctx(), e))?;
    file.write_all(data).map_err(|e| Error::io(ctx(), e))
}
