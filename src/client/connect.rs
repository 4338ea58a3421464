//! Reaching the Karmada control plane from the global flags `--kubeconfig` and
//! `--karmada-context`, with errors that say which file and context were tried.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::{Error, Result};

/// Where the control plane is: the global flags, unresolved.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--kubeconfig`; when unset, `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `--karmada-context`; when unset, the kubeconfig's current context.
    pub context: Option<String>,
}

impl Target {
    /// A human description of where we look, for error messages: "context X in /path".
    pub fn describe(&self) -> String {
        let files = self.files_description();
        match &self.context {
            Some(ctx) => format!("context {ctx:?} in {files}"),
            None => format!("the current context in {files}"),
        }
    }

    fn files_description(&self) -> String {
        match &self.kubeconfig {
            Some(p) => p.display().to_string(),
            None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
                Some(v) => format!("$KUBECONFIG ({})", v.to_string_lossy()),
                None => default_kubeconfig().display().to_string(),
            },
        }
    }

    /// Loads the kubeconfig this target names (merging `$KUBECONFIG` lists like kubectl).
    pub fn load_kubeconfig(&self) -> Result<Kubeconfig> {
        let path_err = |path: PathBuf, message: String| Error::Kubeconfig { path, message };
        match &self.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| {
                path_err(
                    path.clone(),
                    format!("{e}; pass a readable kubeconfig with --kubeconfig"),
                )
            }),
            None => {
                match Kubeconfig::from_env() {
                    Ok(Some(kc)) => Ok(kc),
                    Ok(None) => {
                        let path = default_kubeconfig();
                        Kubeconfig::read_from(&path).map_err(|e| {
                        path_err(
                            path,
                            format!("{e}; pass --kubeconfig, set KUBECONFIG, or run `karmadactl init`"),
                        )
                    })
                    }
                    Err(e) => Err(path_err(
                        PathBuf::from(std::env::var_os("KUBECONFIG").unwrap_or_default()),
                        format!("{e}; fix $KUBECONFIG or pass --kubeconfig"),
                    )),
                }
            }
        }
    }

    /// Client configuration for this target, with request timeouts bounded by `timeout`.
    pub async fn config(&self, timeout: Option<Duration>) -> Result<Config> {
        let kc = self.load_kubeconfig()?;
        if let Some(ctx) = &self.context
            && !kc.contexts.iter().any(|c| &c.name == ctx)
        {
            let known: Vec<_> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::Invalid(format!(
                "no context {ctx:?} in {} (it has: {}); pass one of those with --karmada-context",
                self.files_description(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        if self.context.is_none() && kc.current_context.as_deref().unwrap_or("").is_empty() {
            return Err(Error::Invalid(format!(
                "{} has no current context; pass --karmada-context",
                self.files_description()
            )));
        }
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let mut config = Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(|e| {
                Error::Invalid(format!(
                    "{}: {e}; check the kubeconfig entry",
                    self.describe()
                ))
            })?;
        if let Some(t) = timeout {
            config.connect_timeout = Some(t);
            config.read_timeout = Some(t);
            config.write_timeout = Some(t);
        }
        Ok(config)
    }

    /// A client for the control plane. It does not contact the server yet.
    pub async fn client(&self) -> Result<Client> {
        self.client_with_timeout(None).await
    }

    pub async fn client_with_timeout(&self, timeout: Option<Duration>) -> Result<Client> {
        let config = self.config(timeout).await?;
        Client::try_from(config).map_err(|e| Error::Unreachable {
            target: self.describe(),
            message: e.to_string(),
        })
    }
}

/// `~/.kube/config`.
pub fn default_kubeconfig() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".kube")
        .join("config")
}

/// A client for one context of one kubeconfig file (member clusters, test beds).
pub async fn client_for(path: &std::path::Path, context: Option<&str>) -> Result<Client> {
    Target {
        kubeconfig: Some(path.to_path_buf()),
        context: context.map(String::from),
    }
    .client()
    .await
}

/// The reconciler's client for the control plane (requests counted): `--kubeconfig`/`--context`
/// when given, else in-cluster config, else the usual kubeconfig lookup.
pub async fn control_plane_client(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> crate::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let target = Target {
                kubeconfig: Some(path.to_path_buf()),
                context: context.map(str::to_string),
            };
            target.config(None).await?
        }
        None => kube::Config::infer().await.map_err(|e| {
            crate::Error::Invalid(format!("no control-plane config: {e}; pass --kubeconfig"))
        })?,
    };
    super::requests::counted_client(config, super::requests::CONTROL_PLANE)
        .map_err(crate::Error::from)
}
