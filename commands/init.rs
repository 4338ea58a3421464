//! `karmadactl init` and `karmadactl deinit`.

use std::io::IsTerminal as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, ValueEnum};
use karmadactl::client::connect::Target;
use karmadactl::install::kind;
use karmadactl::install::manifests::{self, EtcdStorage, InitConfig, Pki, PkiRequest};
use karmadactl::install::pki::CertAndKey;
use karmadactl::ops::init::install::{InstallOptions, Progress, install, step};
use karmadactl::ops::init::{self as ops, CONTROL_PLANE_CONTEXT, HOST_CONTEXT};
use karmadactl::output::{self, DocFormat};

use crate::GlobalArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageMode {
    #[value(name = "emptyDir")]
    EmptyDir,
    #[value(name = "hostPath")]
    HostPath,
    #[value(name = "pvc")]
    Pvc,
}

/// Install the Karmada control plane into a host cluster (a new kind cluster by default)
#[derive(Debug, Args)]
#[command(
    long_about = "Install the Karmada control plane into a host cluster.\n\n\
    Without --kubeconfig/--context, init creates (or reuses) the kind cluster karmada-host, which \
    needs Docker and kind. With them, it installs into that existing cluster; then --kubeconfig \
    names the host cluster, not the control plane.\n\n\
    In namespace karmada-system of the host: etcd, karmada-apiserver (NodePort --port), \
    karmada-kube-controller-manager, karmada-reconciler, and Secrets with the certificates. \
    Running init again converges and keeps the certificates. Contexts karmada-host and \
    karmada-apiserver are merged into --karmada-kubeconfig.",
    after_help = "Examples:\n  \
    karmadactl init\n  \
    karmadactl init --kubeconfig ~/.kube/config --context prod --reconciler-image registry.example.com/karmada-reconciler:v0.1.0\n  \
    karmadactl init --etcd-replicas 3 --etcd-storage-mode pvc --etcd-pvc-size 10Gi\n  \
    karmadactl init --karmada-apiserver-extra-args=v=4 --cert-external-dns karmada.example.com\n  \
    karmadactl init --dry-run -o yaml"
)]
pub struct InitArgs {
    /// Context of the host cluster in --kubeconfig (installs there instead of kind)
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Registry of the kube-apiserver, kube-controller-manager and default etcd images
    #[arg(long, default_value = "registry.k8s.io", value_name = "REGISTRY")]
    pub kube_image_registry: String,

    /// etcd image [default: <kube-image-registry>/etcd:<pinned etcd version>-0]
    #[arg(long, value_name = "IMAGE")]
    pub etcd_image: Option<String>,

    /// karmada-reconciler image; required with --kubeconfig. Without it, on kind, init builds one
    /// around the installed karmada-reconciler binary and loads it into the cluster
    #[arg(long, value_name = "IMAGE")]
    pub reconciler_image: Option<String>,

    /// Image pull policy of every container: Always, IfNotPresent or Never
    #[arg(long, default_value = "IfNotPresent", value_name = "POLICY")]
    pub image_pull_policy: String,

    /// etcd members (odd)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub etcd_replicas: i32,

    #[arg(long, default_value_t = 1, value_name = "N")]
    /// karmada-apiserver replicas
    pub karmada_apiserver_replicas: i32,

    /// karmada-kube-controller-manager replicas
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub kube_controller_manager_replicas: i32,

    /// karmada-reconciler replicas (they elect a leader)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub reconciler_replicas: i32,

    /// Where etcd keeps its data
    #[arg(long, value_enum, default_value = "hostPath")]
    pub etcd_storage_mode: StorageMode,

    /// Node directory of etcd's data with --etcd-storage-mode hostPath
    #[arg(long, default_value = "/var/lib/karmada-etcd", value_name = "PATH")]
    pub etcd_data: String,

    /// Size of each etcd volume with --etcd-storage-mode pvc
    #[arg(long, default_value = "5Gi", value_name = "SIZE")]
    pub etcd_pvc_size: String,

    /// StorageClass of the etcd volumes with --etcd-storage-mode pvc (default: the cluster's)
    #[arg(long, value_name = "CLASS")]
    pub storage_classes_name: Option<String>,

    /// NodePort of karmada-apiserver (on kind also published on 127.0.0.1)
    #[arg(long, default_value_t = manifests::DEFAULT_NODE_PORT, value_name = "PORT")]
    pub port: u16,

    /// Address in the karmada-apiserver kubeconfig [default: 127.0.0.1 on kind, else a node's InternalIP]
    #[arg(long, value_name = "ADDRESS")]
    pub karmada_apiserver_advertise_address: Option<String>,

    /// Extra IP addresses of the karmada-apiserver certificate (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "IPS")]
    pub cert_external_ip: Vec<String>,

    /// Extra DNS names of the karmada-apiserver certificate (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub cert_external_dns: Vec<String>,

    /// Validity of the certificates init issues (e.g. 8760h, 365d)
    #[arg(long, default_value = "8760h", value_parser = karmadactl::duration::parse_positive, value_name = "DURATION")]
    pub cert_validity_period: Duration,

    /// PEM certificate of a CA to sign with, instead of a new one (with --ca-key-file)
    #[arg(long, requires = "ca_key_file", value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub ca_cert_file: Option<PathBuf>,

    /// PEM private key of --ca-cert-file
    #[arg(long, requires = "ca_cert_file", value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub ca_key_file: Option<PathBuf>,

    /// Extra kube-apiserver flag (name=value; repeatable; replaces a default of the same name)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub karmada_apiserver_extra_args: Vec<String>,

    /// Extra etcd flag (name=value; repeatable)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub etcd_extra_args: Vec<String>,

    /// Extra kube-controller-manager flag (name=value; repeatable)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub kube_controller_manager_extra_args: Vec<String>,

    /// Extra karmada-reconciler flag (name=value; repeatable)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub reconciler_extra_args: Vec<String>,

    /// Kubeconfig to merge the karmada-host and karmada-apiserver contexts into [default: ~/.kube/karmada.config]
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub karmada_kubeconfig: Option<PathBuf>,

    /// How long to wait for each component to become ready
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub wait_timeout: u64,

    /// Print what init would create, without touching any cluster
    #[arg(long)]
    pub dry_run: bool,

    /// Output format of --dry-run (Secrets' data is redacted)
    #[arg(short, long, value_enum, requires = "dry_run")]
    pub output: Option<DocFormat>,
}

/// Remove what `karmadactl init` installed
#[derive(Debug, Args)]
#[command(
    long_about = "Remove what `karmadactl init` installed: every object it created in the host \
    cluster (labelled app.kubernetes.io/managed-by=karmadactl in karmada-system, and that namespace) \
    and the karmada-host and karmada-apiserver contexts it wrote. Running it again is harmless.\n\n\
    The host is --kubeconfig/--context if given, else the karmada-host context of \
    --karmada-kubeconfig.",
    after_help = "Examples:\n  \
    karmadactl deinit\n  \
    karmadactl deinit --yes --delete-kind-cluster\n  \
    karmadactl deinit --kubeconfig ~/.kube/config --context prod --yes"
)]
pub struct DeinitArgs {
    /// Context of the host cluster in --kubeconfig
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,

    /// Also delete the kind cluster karmada-host
    #[arg(long)]
    pub delete_kind_cluster: bool,

    /// Kubeconfig init wrote the contexts into [default: ~/.kube/karmada.config]
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub karmada_kubeconfig: Option<PathBuf>,
}

/// The install's progress on stderr: a spinner per step, then `[ok] step (1.2s)`.
#[derive(Default)]
struct Spinners(Mutex<Option<indicatif::ProgressBar>>);

impl Progress for Spinners {
    fn started(&self, step: &str) {
        *self.0.lock().expect("spinner lock") = Some(crate::progress::spinner(step));
    }

    fn finished(&self, step: &str, ok: bool, elapsed: Duration) {
        if let Some(bar) = self.0.lock().expect("spinner lock").take() {
            bar.finish_and_clear();
        }
        let secs = elapsed.as_secs_f64();
        if ok {
            eprintln!("[ok] {step} ({secs:.1}s)");
        } else {
            eprintln!("[failed] {step} ({secs:.1}s)");
        }
    }

    fn note(&self, message: &str) {
        eprintln!("[ok] {message}");
    }
}

fn config_from(args: &InitArgs, reconciler_image: &str) -> anyhow::Result<InitConfig> {
    let mut cfg = InitConfig::new(karmadactl::versions::kube_version(), reconciler_image);
    cfg.kube_image_registry = args.kube_image_registry.clone();
    cfg.etcd_image = args
        .etcd_image
        .clone()
        .unwrap_or_else(|| manifests::default_etcd_image(&args.kube_image_registry));
    cfg.image_pull_policy = args.image_pull_policy.clone();
    cfg.etcd_replicas = args.etcd_replicas;
    cfg.apiserver_replicas = args.karmada_apiserver_replicas;
    cfg.kcm_replicas = args.kube_controller_manager_replicas;
    cfg.reconciler_replicas = args.reconciler_replicas;
    cfg.etcd_storage = match args.etcd_storage_mode {
        StorageMode::EmptyDir => EtcdStorage::EmptyDir,
        StorageMode::HostPath => EtcdStorage::HostPath(args.etcd_data.clone()),
        StorageMode::Pvc => EtcdStorage::Pvc {
            size: args.etcd_pvc_size.clone(),
            storage_class: args.storage_classes_name.clone(),
        },
    };
    cfg.node_port = args.port;
    cfg.apiserver_extra_args = args.karmada_apiserver_extra_args.clone();
    cfg.etcd_extra_args = args.etcd_extra_args.clone();
    cfg.kcm_extra_args = args.kube_controller_manager_extra_args.clone();
    cfg.reconciler_extra_args = args.reconciler_extra_args.clone();
    cfg.validate()?;
    for ip in &args.cert_external_ip {
        ip.parse::<IpAddr>().map_err(|_| {
            anyhow::anyhow!("--cert-external-ip {ip:?} is not an IP address; put DNS names in --cert-external-dns")
        })?;
    }
    Ok(cfg)
}

fn read_ca(args: &InitArgs) -> anyhow::Result<Option<CertAndKey>> {
    let (Some(cert), Some(key)) = (&args.ca_cert_file, &args.ca_key_file) else {
        return Ok(None);
    };
    let read = |p: &Path, flag: &str| {
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{flag} {}: {e}", p.display()))
    };
    let pair = CertAndKey {
        cert_pem: read(cert, "--ca-cert-file")?,
        key_pem: read(key, "--ca-key-file")?,
    };
    // Checked now: a CA that cannot sign fails before anything is created.
    karmadactl::install::pki::CertificateAuthority::from_pem(&pair.cert_pem, &pair.key_pem)?;
    Ok(Some(pair))
}

pub async fn run_init(args: InitArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let use_kind = global.kubeconfig.is_none() && args.context.is_none();
    if !use_kind && args.reconciler_image.is_none() {
        anyhow::bail!(
            "--reconciler-image is required when installing into an existing cluster: build and \
             push an image from the repository's Dockerfile (see docs/install.md) and pass its name"
        );
    }
    // Validate everything before any I/O, with a placeholder for an image built later.
    let config = config_from(
        &args,
        args.reconciler_image
            .as_deref()
            .unwrap_or("karmada-reconciler:dev"),
    )?;
    let ca = read_ca(&args)?;
    if args.dry_run {
        return dry_run(&args, use_kind, ca);
    }
    let opts = InstallOptions {
        host: (!use_kind).then(|| Target {
            kubeconfig: global.kubeconfig.clone(),
            context: args.context.clone(),
        }),
        config,
        build_image: args.reconciler_image.is_none(),
        advertise_address: args.karmada_apiserver_advertise_address.clone(),
        cert_external_ip: args.cert_external_ip.clone(),
        cert_external_dns: args.cert_external_dns.clone(),
        cert_validity: args.cert_validity_period,
        ca,
        wait_timeout: Duration::from_secs(args.wait_timeout),
        karmada_kubeconfig: args
            .karmada_kubeconfig
            .clone()
            .unwrap_or_else(ops::default_karmada_kubeconfig),
    };
    let done = install(&opts, &Spinners::default()).await?;
    if !done.host_context {
        eprintln!(
            "note: the host's credentials cannot be copied (not a certificate or token); \
             context {HOST_CONTEXT} is not written"
        );
    }
    let server = &done.server;
    let shown = done.kubeconfig.display();
    let backup = done
        .backup
        .map(|b| format!(" (previous version kept at {})", b.display()))
        .unwrap_or_default();
    output::print(&format!(
        "\nKarmada is installed: karmada-apiserver at {server}.\n\
         Kubeconfig {shown}{backup}: contexts {CONTROL_PLANE_CONTEXT} (current) and {HOST_CONTEXT}.\n\n\
         Next steps:\n  \
         export KUBECONFIG={shown}\n  \
         kubectl --context {CONTROL_PLANE_CONTEXT} get crds\n  \
         karmadactl join member1 --cluster-kubeconfig=$HOME/.kube/members.config --cluster-context=member1\n  \
         kubectl --context {CONTROL_PLANE_CONTEXT} apply -f tests/samples/propagationpolicy-nginx.yaml   # with an nginx Deployment, as in the walkthrough\n  \
         karmadactl get clusters\n"
    ));
    Ok(())
}

fn dry_run(args: &InitArgs, use_kind: bool, ca: Option<CertAndKey>) -> anyhow::Result<()> {
    let image = match &args.reconciler_image {
        Some(i) => i.clone(),
        None => kind::reconciler_binary()
            .and_then(|b| kind::reconciler_image_tag(&b))
            .unwrap_or_else(|_| format!("karmada-reconciler:v{}", env!("CARGO_PKG_VERSION"))),
    };
    let cfg = config_from(args, &image)?;
    let address = args
        .karmada_apiserver_advertise_address
        .clone()
        .unwrap_or_else(|| "127.0.0.1".into());
    let mut extra_sans = vec![address];
    extra_sans.extend(args.cert_external_ip.iter().cloned());
    extra_sans.extend(args.cert_external_dns.iter().cloned());
    let pki = Pki::complete(
        None,
        &PkiRequest {
            extra_sans,
            validity: args.cert_validity_period,
            ca,
            etcd_replicas: args.etcd_replicas,
        },
    )?;
    let host = manifests::redacted(&manifests::host_objects(&cfg, &pki)?);
    let cp = manifests::control_plane_objects();
    let text = match args.output {
        Some(DocFormat::Yaml) => {
            let mut s = String::from("# In the host cluster:\n");
            for o in &host {
                s.push_str("---\n");
                s.push_str(&serde_yaml::to_string(o)?);
            }
            s.push_str("# In karmada-apiserver (plus the Karmada CRDs):\n");
            for o in &cp {
                s.push_str("---\n");
                s.push_str(&serde_yaml::to_string(o)?);
            }
            s
        }
        Some(DocFormat::Json) => {
            let items: Vec<_> = host.iter().chain(&cp).collect();
            output::document(
                &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}),
                DocFormat::Json,
            )?
        }
        None => {
            let list = |objs: &[serde_json::Value]| {
                objs.iter()
                    .map(|o| format!("  {}\n", manifests::describe(o)))
                    .collect::<String>()
            };
            format!(
                "would install into {}:\n{}in karmada-apiserver:\n{}  and {} Karmada CRDs\n",
                if use_kind {
                    "the kind cluster karmada-host"
                } else {
                    "the host cluster"
                },
                list(&host),
                list(&cp),
                karmadactl::api::crds().len()
            )
        }
    };
    output::print(&text);
    Ok(())
}

pub async fn run_deinit(args: DeinitArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let karmada_kubeconfig = args
        .karmada_kubeconfig
        .clone()
        .unwrap_or_else(ops::default_karmada_kubeconfig);
    let explicit = global.kubeconfig.is_some() || args.context.is_some();
    let target = if explicit {
        Some(Target {
            kubeconfig: global.kubeconfig.clone(),
            context: args.context.clone(),
        })
    } else {
        let has_host = karmadactl::kubeconfig::read_or_default(&karmada_kubeconfig)?
            .contexts
            .iter()
            .any(|c| c.name == HOST_CONTEXT);
        has_host.then(|| Target {
            kubeconfig: Some(karmada_kubeconfig.clone()),
            context: Some(HOST_CONTEXT.into()),
        })
    };

    let mut plan = Vec::new();
    match &target {
        Some(t) => plan.push(format!(
            "delete everything init created in namespace {} of the host cluster ({})",
            manifests::NAMESPACE,
            t.describe()
        )),
        None => plan.push("no host cluster is known (nothing to delete there)".into()),
    }
    if args.delete_kind_cluster {
        plan.push(format!("delete the kind cluster {}", kind::CLUSTER));
    }
    plan.push(format!(
        "remove contexts {HOST_CONTEXT} and {CONTROL_PLANE_CONTEXT} from {}",
        karmada_kubeconfig.display()
    ));
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "deinit would {}; pass --yes to confirm when not running on a terminal",
                plan.join(", ")
            );
        }
        eprintln!("deinit will:");
        for p in &plan {
            eprintln!("  - {p}");
        }
        let go = dialoguer::Confirm::new()
            .with_prompt("Continue?")
            .default(false)
            .interact()?;
        if !go {
            anyhow::bail!("cancelled; nothing was changed");
        }
    }

    if let Some(t) = &target {
        let removed = async {
            let host = ops::host_from_target(t).await?;
            ops::remove_from_host(&host.client).await
        }
        .await;
        match removed {
            Ok(r) if r.is_empty() => eprintln!("[ok] nothing of init's left in the host cluster"),
            Ok(r) => eprintln!("[ok] deleted from the host cluster: {}", r.join(", ")),
            // The host named only by a stale context may be gone already; the rest still runs.
            Err(e) if !explicit => eprintln!("warning: skipping the host cluster: {e}"),
            Err(e) => return Err(e.into()),
        }
    }
    if args.delete_kind_cluster {
        if kind::which("kind").is_none() {
            anyhow::bail!(
                "kind not found on PATH: cannot delete the kind cluster {}",
                kind::CLUSTER
            );
        }
        if kind::cluster_exists(kind::CLUSTER)? {
            step(
                &Spinners::default(),
                &format!("deleting kind cluster {}", kind::CLUSTER),
                async { kind::delete_cluster(kind::CLUSTER) },
            )
            .await?;
        } else {
            eprintln!("[ok] kind cluster {} does not exist", kind::CLUSTER);
        }
    }
    if ops::remove_contexts(&karmada_kubeconfig)? {
        eprintln!(
            "[ok] removed contexts {HOST_CONTEXT} and {CONTROL_PLANE_CONTEXT} from {} (backup: {}.bak)",
            karmada_kubeconfig.display(),
            karmada_kubeconfig.display()
        );
    }
    output::print("Karmada is uninstalled.\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_parses_units() {
        assert_eq!(
            karmadactl::duration::parse_positive("8760h").unwrap(),
            Duration::from_secs(8760 * 3600)
        );
        assert_eq!(
            karmadactl::duration::parse_positive("2d").unwrap(),
            Duration::from_secs(2 * 86400)
        );
        assert!(karmadactl::duration::parse_positive("0").is_err());
        assert!(karmadactl::duration::parse_positive("1y").is_err());
    }
}
