//! The whole `karmadactl init` sequence: host cluster (kind or existing), reconciler image,
//! certificates, manifests, readiness of each component, the control plane's API, and the
//! kubeconfig. Each step reports through [`Progress`], which the CLI draws as spinners.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::client::connect::Target;
use crate::install::kind;
use crate::install::manifests::{self, InitConfig, Pki, PkiRequest};
use crate::install::pki::CertAndKey;
use crate::{Error, Result};

use super::{COMPONENTS, CONTROL_PLANE_CONTEXT, HOST_CONTEXT};

/// How an install reports its steps; the CLI implements it with spinners.
pub trait Progress {
    /// A step begins.
    fn started(&self, step: &str);
    /// A step ended after `elapsed`.
    fn finished(&self, step: &str, ok: bool, elapsed: Duration);
    /// A remark that is not a step (something reused, something skipped).
    fn note(&self, message: &str);
}

/// Runs one step under `progress`.
pub async fn step<T>(
    progress: &dyn Progress,
    name: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    progress.started(name);
    let start = Instant::now();
    let result = fut.await;
    progress.finished(name, result.is_ok(), start.elapsed());
    result
}

/// Where and what to install; checked by the CLI before any I/O.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// `None`: create (or reuse) the kind cluster `karmada-host`.
    pub host: Option<Target>,
    /// What to install; its reconciler image is replaced by the one built when `build_image`.
    pub config: InitConfig,
    /// Build the reconciler image from this binary and load it into kind.
    pub build_image: bool,
    /// `--karmada-apiserver-advertise-address`.
    pub advertise_address: Option<String>,
    pub cert_external_ip: Vec<String>,
    pub cert_external_dns: Vec<String>,
    pub cert_validity: Duration,
    /// A CA to sign with: `--ca-cert-file` / `--ca-key-file` (`Debug` redacts the key).
    pub ca: Option<CertAndKey>,
    /// How long to wait for each component.
    pub wait_timeout: Duration,
    /// The kubeconfig to merge the two contexts into.
    pub karmada_kubeconfig: PathBuf,
    /// `--karmada-data`: also write `karmada-apiserver.config` (the admin kubeconfig) there.
    pub karmada_data: Option<PathBuf>,
    /// `--karmada-pki`: also write the certificates and keys there (default with
    /// `karmada_data`: `<karmada_data>/pki`).
    pub karmada_pki: Option<PathBuf>,
}

/// The kubeconfig `--karmada-data` gets, named as upstream's.
pub const KARMADA_DATA_KUBECONFIG: &str = "karmada-apiserver.config";

/// What an install produced.
#[derive(Debug, Clone)]
pub struct Installed {
    /// karmada-apiserver's URL.
    pub server: String,
    pub kubeconfig: PathBuf,
    /// The previous kubeconfig, if one was replaced.
    pub backup: Option<PathBuf>,
    /// Whether the karmada-host context could be written.
    pub host_context: bool,
}

/// Scratch directory for the kind config and the image build context; removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("karmadactl-init-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Installs the control plane; running it again converges and reuses the certificates.
pub async fn install(opts: &InstallOptions, progress: &dyn Progress) -> Result<Installed> {
    let work = WorkDir::new()?;
    let port = opts.config.node_port;
    let use_kind = opts.host.is_none();
    let host = match &opts.host {
        None => {
            step(progress, "checking Docker and kind", async {
                kind::check_tools()
            })
            .await?;
            if kind::cluster_exists(kind::CLUSTER)? {
                progress.note(&format!("reusing kind cluster {}", kind::CLUSTER));
            } else {
                kind::check_port_free(port)?;
                step(
                    progress,
                    &format!("creating kind cluster {}", kind::CLUSTER),
                    async { kind::create_cluster(kind::CLUSTER, port, &work.0) },
                )
                .await?;
            }
            let yaml = kind::kubeconfig(kind::CLUSTER)?;
            super::host_from_kubeconfig_yaml(&yaml).await?
        }
        Some(target) => super::host_from_target(target).await?,
    };
    super::check_node_port(&host.client, &opts.config.namespace, port).await?;

    let mut cfg = opts.config.clone();
    if opts.build_image {
        let binary = kind::reconciler_binary()?;
        let tag = kind::reconciler_image_tag(&binary)?;
        step(progress, &format!("building image {tag}"), async {
            kind::build_image(&binary, &tag, &work.0)
        })
        .await?;
        step(progress, &format!("loading {tag} into kind"), async {
            kind::load_image(&tag, kind::CLUSTER)
        })
        .await?;
        cfg.reconciler_image = tag;
    }

    let nodes = super::node_addresses(&host.client).await;
    let address = match &opts.advertise_address {
        Some(a) => a.clone(),
        None if use_kind => "127.0.0.1".into(),
        None => nodes
            .first()
            .cloned()
            .or_else(|| super::url_host(&host.server))
            .unwrap_or_else(|| "127.0.0.1".into()),
    };
    let server = format!("https://{address}:{port}");
    let mut extra_sans = vec![address.clone()];
    extra_sans.extend(nodes);
    extra_sans.extend(opts.cert_external_ip.iter().cloned());
    extra_sans.extend(opts.cert_external_dns.iter().cloned());
    let request = PkiRequest {
        extra_sans,
        validity: opts.cert_validity,
        ca: opts.ca.clone(),
        etcd_replicas: cfg.etcd_replicas,
        namespace: cfg.namespace.clone(),
    };
    let existing = super::existing_pki(&host.client, &cfg.namespace).await?;
    let reused = existing.is_some();
    let pki = Pki::complete(existing, &request)?;
    let objects = manifests::host_objects(&cfg, &pki)?;
    step(
        progress,
        &format!(
            "applying {} objects to the host cluster ({})",
            objects.len(),
            if reused {
                "reusing its certificates"
            } else {
                "new certificates"
            }
        ),
        super::apply(&host.client, &objects),
    )
    .await?;

    let timeout = opts.wait_timeout;
    let [etcd, apiserver, kcm, reconciler] = COMPONENTS;
    // An external etcd (--external-etcd-servers) is not ours to wait for: karmada-apiserver's
    // readiness says whether it can use it.
    if cfg.external_etcd.is_none() {
        step(
            progress,
            "waiting for etcd",
            super::wait_ready(&host.client, &cfg.namespace, etcd, timeout),
        )
        .await?;
    }
    step(
        progress,
        "waiting for karmada-apiserver",
        super::wait_ready(&host.client, &cfg.namespace, apiserver, timeout),
    )
    .await?;
    let cp_entry = pki.entry(CONTROL_PLANE_CONTEXT, &server, "admin");
    let cp = super::client_for_entry(&cp_entry).await?;
    step(
        progress,
        &format!("reaching karmada-apiserver at {server}"),
        super::wait_apiserver_reachable(&cp, &server, timeout),
    )
    .await?;
    step(
        progress,
        "installing the CRDs and the reconciler's RBAC into karmada-apiserver",
        super::install_control_plane_api(&cp),
    )
    .await?;
    step(
        progress,
        "waiting for karmada-kube-controller-manager",
        super::wait_ready(&host.client, &cfg.namespace, kcm, timeout),
    )
    .await?;
    step(
        progress,
        "waiting for karmada-reconciler",
        super::wait_ready(&host.client, &cfg.namespace, reconciler, timeout),
    )
    .await?;

    let mut entries = vec![cp_entry];
    let host_context = match host.entry {
        Some(mut e) => {
            e.name = HOST_CONTEXT.into();
            entries.insert(0, e);
            true
        }
        None => false,
    };
    let backup = super::write_kubeconfig(&opts.karmada_kubeconfig, &entries)?;
    let pki_dir = opts
        .karmada_pki
        .clone()
        .or_else(|| opts.karmada_data.as_ref().map(|d| d.join("pki")));
    if let Some(dir) = &pki_dir {
        for (name, pem) in &pki.files {
            crate::kubeconfig::write_private(&dir.join(name), pem.as_bytes())?;
        }
        progress.note(&format!(
            "certificates and keys written to {}",
            dir.display()
        ));
    }
    if let Some(dir) = &opts.karmada_data {
        let cp_entry = entries
            .iter()
            .find(|e| e.name == CONTROL_PLANE_CONTEXT)
            .expect("the control-plane entry");
        let file = dir.join(KARMADA_DATA_KUBECONFIG);
        let yaml = crate::kubeconfig::to_yaml(&cp_entry.to_kubeconfig())?;
        crate::kubeconfig::write_private(&file, yaml.as_bytes())?;
        progress.note(&format!("kubeconfig written to {}", file.display()));
    }
    Ok(Installed {
        server,
        kubeconfig: opts.karmada_kubeconfig.clone(),
        backup,
        host_context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::pki::CertificateAuthority;

    #[test]
    fn debug_never_prints_the_ca_key() {
        let ca = CertificateAuthority::generate("dbg", Duration::from_secs(3600)).unwrap();
        let opts = InstallOptions {
            host: None,
            config: InitConfig::new("v1.37.2", "img"),
            build_image: false,
            advertise_address: None,
            cert_external_ip: vec![],
            cert_external_dns: vec![],
            cert_validity: Duration::from_secs(3600),
            ca: Some(CertAndKey {
                cert_pem: ca.cert_pem().into(),
                key_pem: ca.key_pem().into(),
            }),
            wait_timeout: Duration::from_secs(1),
            karmada_kubeconfig: PathBuf::from("/dev/null"),
            karmada_data: None,
            karmada_pki: None,
        };
        let debug = format!("{opts:?}");
        let body = ca.key_pem().lines().nth(1).unwrap();
        assert!(
            !debug.contains(body) && !debug.contains("PRIVATE KEY"),
            "{debug}"
        );
        assert!(debug.contains("redacted"), "{debug}");
    }
}
