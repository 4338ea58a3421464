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

/// Writes a file only its owner can read (credentials, keys), atomically: the data goes to a
/// new temp file (mode 0600 from its creation) in the same directory, is synced, then renamed
/// over `path`. A reader (or a crash) sees the old file or the new one, never a truncated or
/// half-written one, and never a moment where the file is readable by others. A symlink at
/// `path` is kept: its target is replaced.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    // Replace what a symlink points at, not the link (kubectl writes through links too).
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)
            .map_err(|e| Error::io(format!("resolving {}", path.display()), e))?,
        _ => path.to_path_buf(),
    };
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let ctx = || format!("writing {}", path.display());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let temp = dir.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        // Exactly 0600 whatever the umask.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io(ctx(), e));
    }
    // The rename is durable once the directory is synced (best effort: not every filesystem
    // lets a directory be opened for that).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_replace_the_file_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        // A second name for the old file: a write in place (truncate, then write) would show
        // through it, and a reader could see the file empty or half written.
        let old = dir.path().join("old-inode");
        std::fs::hard_link(&path, &old).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            "old",
            "the old file was rewritten in place, not replaced"
        );
        assert_eq!(mode(&path), 0o600);
        // Nothing else is left in the directory (no temp file).
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["config", "old-inode"]);
    }

    #[test]
    fn writes_through_a_symlink_keep_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_private(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(mode(&real), 0o600);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        // The target is a directory now: the rename fails, and the temp file goes.
        let blocked = dir.path().join("sub");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), "x").unwrap();
        assert!(write_private(&blocked, b"new").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
