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
    #[value(name = "pvc", alias = "PVC")]
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
    karmadactl init --external-etcd-servers https://10.0.0.5:2379 --external-etcd-ca-cert-path ca.crt --external-etcd-client-cert-path client.crt --external-etcd-client-key-path client.key\n  \
    karmadactl init --karmada-apiserver-extra-args=v=4 --cert-external-dns karmada.example.com\n  \
    karmadactl init --dry-run -o yaml"
)]
pub struct InitArgs {
    /// Namespace of the host cluster the control plane is installed into
    #[arg(short, long, default_value = manifests::NAMESPACE, value_name = "NAMESPACE", value_parser = install_namespace)]
    pub namespace: String,

    /// Context of the host cluster in --kubeconfig (installs there instead of kind)
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Registry of the kube-apiserver, kube-controller-manager and default etcd images
    /// [default: --private-image-registry, else registry.k8s.io]
    #[arg(long, value_name = "REGISTRY")]
    pub kube_image_registry: Option<String>,

    /// Country of a kube image mirror when --kube-image-registry is not given: cn uses
    /// registry.cn-hangzhou.aliyuncs.com/google_containers
    #[arg(long, value_name = "COUNTRY")]
    pub kube_image_mirror_country: Option<String>,

    /// Registry to pull every image from (offline installs): the Kubernetes images unless
    /// --kube-image-registry is given, and <registry>/karmada-reconciler:v<version> unless
    /// --reconciler-image is (so nothing is built)
    #[arg(long, value_name = "REGISTRY")]
    pub private_image_registry: Option<String>,

    /// Tag of the kube-apiserver and kube-controller-manager images [default: the pinned
    /// Kubernetes version]
    #[arg(long, value_name = "TAG")]
    pub kube_image_tag: Option<String>,

    /// Secrets in the install namespace that every pod pulls its images with (comma-separated
    /// or repeated; create them first)
    #[arg(long, value_delimiter = ',', value_name = "SECRET")]
    pub image_pull_secrets: Vec<String>,

    /// karmada-apiserver image [default: <kube registry>/kube-apiserver:<kube image tag>]
    #[arg(long, value_name = "IMAGE")]
    pub karmada_apiserver_image: Option<String>,

    /// karmada-kube-controller-manager image [default: <kube registry>/kube-controller-manager:<kube image tag>]
    #[arg(long, value_name = "IMAGE")]
    pub karmada_kube_controller_manager_image: Option<String>,

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
    #[arg(
        long,
        alias = "kube-controller-manager-replicas",
        default_value_t = 1,
        value_name = "N"
    )]
    pub karmada_kube_controller_manager_replicas: i32,

    /// karmada-reconciler replicas (they elect a leader)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub reconciler_replicas: i32,

    /// Where etcd keeps its data
    #[arg(long, value_enum, default_value = "hostPath")]
    pub etcd_storage_mode: StorageMode,

    /// Client URLs of an etcd init does not install (comma-separated): karmada-apiserver uses
    /// it, and no etcd StatefulSet is created
    #[arg(long, value_delimiter = ',', value_name = "URLS")]
    pub external_etcd_servers: Vec<String>,

    /// PEM CA certificate of the external etcd
    #[arg(long, value_name = "PATH", requires = "external_etcd_servers", value_hint = clap::ValueHint::FilePath)]
    pub external_etcd_ca_cert_path: Option<PathBuf>,

    /// PEM client certificate for the external etcd (with --external-etcd-client-key-path)
    #[arg(long, value_name = "PATH", requires_all = ["external_etcd_servers", "external_etcd_client_key_path"], value_hint = clap::ValueHint::FilePath)]
    pub external_etcd_client_cert_path: Option<PathBuf>,

    /// PEM private key of --external-etcd-client-cert-path
    #[arg(long, value_name = "PATH", requires = "external_etcd_client_cert_path", value_hint = clap::ValueHint::FilePath)]
    pub external_etcd_client_key_path: Option<PathBuf>,

    /// Key prefix of karmada-apiserver's data in the external etcd (its --etcd-prefix)
    #[arg(long, value_name = "PREFIX", requires = "external_etcd_servers")]
    pub external_etcd_key_prefix: Option<String>,

    /// Labels of the nodes etcd may run on, e.g. karmada.io/etcd=true,kubernetes.io/os=linux
    #[arg(long, value_name = "LABELS")]
    pub etcd_node_selector_labels: Option<String>,

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
    #[arg(short = 'p', long, default_value_t = manifests::DEFAULT_NODE_PORT, value_name = "PORT")]
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

    /// Extra kube-apiserver flags (--name=value or name=value; repeatable or comma-separated;
    /// replaces a default of the same name)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub karmada_apiserver_extra_args: Vec<String>,

    /// Extra etcd flags (repeatable or comma-separated)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub etcd_extra_args: Vec<String>,

    /// Extra kube-controller-manager flags (repeatable or comma-separated)
    #[arg(
        long,
        alias = "kube-controller-manager-extra-args",
        allow_hyphen_values = true,
        value_name = "FLAG"
    )]
    pub karmada_kube_controller_manager_extra_args: Vec<String>,

    /// Extra karmada-reconciler flags (repeatable or comma-separated)
    #[arg(long, allow_hyphen_values = true, value_name = "FLAG")]
    pub reconciler_extra_args: Vec<String>,

    /// Also write the control plane's kubeconfig there, as karmada-apiserver.config (upstream
    /// always writes /etc/karmada; here only when asked)
    #[arg(short = 'd', long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub karmada_data: Option<PathBuf>,

    /// Also write the certificates and keys there [default with --karmada-data: <DIR>/pki]
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub karmada_pki: Option<PathBuf>,

    /// Kubeconfig to merge the karmada-host and karmada-apiserver contexts into [default: ~/.kube/karmada.config]
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub karmada_kubeconfig: Option<PathBuf>,

    /// How long to wait for each component to become ready, in seconds (0: no limit)
    #[arg(
        long,
        alias = "wait-timeout",
        default_value_t = 300,
        value_name = "SECONDS"
    )]
    pub wait_component_ready_timeout: u64,

    /// Upstream's init configuration file (apiVersion config.karmada.io/v1alpha1, kind
    /// KarmadaInitConfig); what it sets wins over the flags, as upstream
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// Print what init would create, without touching any cluster
    #[arg(long)]
    pub dry_run: bool,

    /// Output format of --dry-run (Secrets' values are left empty: no keys are printed)
    #[arg(short, long, value_enum, requires = "dry_run")]
    pub output: Option<DocFormat>,

    #[command(flatten)]
    pub upstream_only: UpstreamOnly,
}

/// `-n`: a namespace name.
fn install_namespace(value: &str) -> Result<String, String> {
    if karmadactl::install::config::is_dns_label(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not a namespace name (lowercase letters, digits and '-', at most 63 \
             characters, starting and ending with a letter or digit)"
        ))
    }
}

/// Upstream init's flags for components this control plane does not have (karmada-scheduler,
/// -webhook, -controller-manager and -aggregated-apiserver: karmada-reconciler does their work)
/// and for priority classes and the cluster domain. Accepted so upstream scripts run
/// unchanged; init says it ignores them.
#[derive(Debug, Default, Args)]
pub struct UpstreamOnly {
    /// Accepted for upstream's scripts, not needed: the Karmada CRDs are built into karmadactl
    /// and nothing is downloaded
    #[arg(long, value_name = "URL_OR_PATH")]
    pub crds: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_scheduler_image: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_scheduler_replicas: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub karmada_scheduler_extra_args: Vec<String>,
    #[arg(long, hide = true)]
    pub karmada_scheduler_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_webhook_image: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_webhook_replicas: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub karmada_webhook_extra_args: Vec<String>,
    #[arg(long, hide = true)]
    pub karmada_webhook_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_controller_manager_image: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_controller_manager_replicas: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub karmada_controller_manager_extra_args: Vec<String>,
    #[arg(long, hide = true)]
    pub karmada_controller_manager_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_aggregated_apiserver_image: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_aggregated_apiserver_replicas: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub karmada_aggregated_apiserver_extra_args: Vec<String>,
    #[arg(long, hide = true)]
    pub karmada_aggregated_apiserver_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub etcd_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_apiserver_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub karmada_kube_controller_manager_priority_class: Option<String>,
    #[arg(long, hide = true)]
    pub host_cluster_domain: Option<String>,
}

impl UpstreamOnly {
    /// The flags given, as `--name`.
    fn given(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        let mut check = |set: bool, flag: &'static str| {
            if set {
                given.push(flag);
            }
        };
        check(
            self.karmada_scheduler_image.is_some(),
            "--karmada-scheduler-image",
        );
        check(
            self.karmada_scheduler_replicas.is_some(),
            "--karmada-scheduler-replicas",
        );
        check(
            !self.karmada_scheduler_extra_args.is_empty(),
            "--karmada-scheduler-extra-args",
        );
        check(
            self.karmada_scheduler_priority_class.is_some(),
            "--karmada-scheduler-priority-class",
        );
        check(
            self.karmada_webhook_image.is_some(),
            "--karmada-webhook-image",
        );
        check(
            self.karmada_webhook_replicas.is_some(),
            "--karmada-webhook-replicas",
        );
        check(
            !self.karmada_webhook_extra_args.is_empty(),
            "--karmada-webhook-extra-args",
        );
        check(
            self.karmada_webhook_priority_class.is_some(),
            "--karmada-webhook-priority-class",
        );
        check(
            self.karmada_controller_manager_image.is_some(),
            "--karmada-controller-manager-image",
        );
        check(
            self.karmada_controller_manager_replicas.is_some(),
            "--karmada-controller-manager-replicas",
        );
        check(
            !self.karmada_controller_manager_extra_args.is_empty(),
            "--karmada-controller-manager-extra-args",
        );
        check(
            self.karmada_controller_manager_priority_class.is_some(),
            "--karmada-controller-manager-priority-class",
        );
        check(
            self.karmada_aggregated_apiserver_image.is_some(),
            "--karmada-aggregated-apiserver-image",
        );
        check(
            self.karmada_aggregated_apiserver_replicas.is_some(),
            "--karmada-aggregated-apiserver-replicas",
        );
        check(
            !self.karmada_aggregated_apiserver_extra_args.is_empty(),
            "--karmada-aggregated-apiserver-extra-args",
        );
        check(
            self.karmada_aggregated_apiserver_priority_class.is_some(),
            "--karmada-aggregated-apiserver-priority-class",
        );
        check(self.etcd_priority_class.is_some(), "--etcd-priority-class");
        check(
            self.karmada_apiserver_priority_class.is_some(),
            "--karmada-apiserver-priority-class",
        );
        check(
            self.karmada_kube_controller_manager_priority_class
                .is_some(),
            "--karmada-kube-controller-manager-priority-class",
        );
        check(self.host_cluster_domain.is_some(), "--host-cluster-domain");
        given
    }
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
    karmadactl deinit -f --purge-namespace\n  \
    karmadactl deinit --dry-run\n  \
    karmadactl deinit --kubeconfig ~/.kube/config --context prod --yes"
)]
pub struct DeinitArgs {
    /// Namespace of the host cluster init installed into
    #[arg(short, long, default_value = manifests::NAMESPACE, value_name = "NAMESPACE", value_parser = install_namespace)]
    pub namespace: String,

    /// Context of the host cluster in --kubeconfig
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Do not ask for confirmation (required when stdin is not a terminal); -f/--force is
    /// upstream's name for it
    #[arg(short = 'y', long, visible_alias = "force", short_alias = 'f')]
    pub yes: bool,

    /// Also delete the namespace, even if init did not create it (it is deleted anyway when
    /// init did)
    #[arg(long)]
    pub purge_namespace: bool,

    /// Print what would be deleted and change nothing
    #[arg(long)]
    pub dry_run: bool,

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

/// The registry of the Kubernetes images, as upstream chooses it: --kube-image-registry, the
/// --kube-image-mirror-country mirror, --private-image-registry, else registry.k8s.io.
fn kube_registry(args: &InitArgs) -> anyhow::Result<String> {
    if let Some(r) = &args.kube_image_registry {
        return Ok(r.clone());
    }
    if let Some(country) = &args.kube_image_mirror_country {
        return match country.to_lowercase().as_str() {
            "cn" => Ok("registry.cn-hangzhou.aliyuncs.com/google_containers".into()),
            "global" => Ok("registry.k8s.io".into()),
            other => usage!(
                "--kube-image-mirror-country {other:?} is not known; use cn, or --kube-image-registry"
            ),
        };
    }
    Ok(args
        .private_image_registry
        .clone()
        .unwrap_or_else(|| "registry.k8s.io".into()))
}

/// The reconciler image when none is built: --reconciler-image, else one in
/// --private-image-registry.
fn given_reconciler_image(args: &InitArgs) -> Option<String> {
    args.reconciler_image.clone().or_else(|| {
        args.private_image_registry.as_ref().map(|r| {
            format!(
                "{}/karmada-reconciler:v{}",
                r.trim_end_matches('/'),
                env!("CARGO_PKG_VERSION")
            )
        })
    })
}

/// `key=value,key2=value2`.
fn parse_labels(
    flag: &str,
    value: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut labels = std::collections::BTreeMap::new();
    for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            usage!("{flag} {pair:?} is not key=value; e.g. {flag} karmada.io/etcd=true");
        };
        labels.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(labels)
}

fn extra(args: &[String]) -> Vec<String> {
    args.iter()
        .flat_map(|a| manifests::split_extra_args(a))
        .collect()
}

fn config_from(args: &InitArgs, reconciler_image: &str) -> anyhow::Result<InitConfig> {
    let tag = args
        .kube_image_tag
        .clone()
        .unwrap_or_else(|| karmadactl::versions::kube_version().to_string());
    let mut cfg = InitConfig::new(&tag, reconciler_image);
    cfg.namespace = args.namespace.clone();
    let registry = kube_registry(args)?;
    cfg.kube_image_registry = registry.clone();
    cfg.etcd_image = args
        .etcd_image
        .clone()
        .unwrap_or_else(|| manifests::default_etcd_image(&registry));
    cfg.apiserver_image = args.karmada_apiserver_image.clone();
    cfg.kcm_image = args.karmada_kube_controller_manager_image.clone();
    cfg.image_pull_secrets = args.image_pull_secrets.clone();
    if let Some(labels) = &args.etcd_node_selector_labels {
        cfg.etcd_node_selector = parse_labels("--etcd-node-selector-labels", labels)?;
    }
    cfg.image_pull_policy = args.image_pull_policy.clone();
    cfg.etcd_replicas = args.etcd_replicas;
    cfg.apiserver_replicas = args.karmada_apiserver_replicas;
    cfg.kcm_replicas = args.karmada_kube_controller_manager_replicas;
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
    if !args.external_etcd_servers.is_empty() {
        let read = |p: &Option<PathBuf>, flag: &str| -> anyhow::Result<Option<String>> {
            p.as_ref()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("{flag} {}: {e}", p.display()))
                })
                .transpose()
        };
        cfg.external_etcd = Some(manifests::ExternalEtcd {
            servers: args.external_etcd_servers.clone(),
            ca_pem: read(
                &args.external_etcd_ca_cert_path,
                "--external-etcd-ca-cert-path",
            )?,
            client_cert_pem: read(
                &args.external_etcd_client_cert_path,
                "--external-etcd-client-cert-path",
            )?,
            client_key_pem: read(
                &args.external_etcd_client_key_path,
                "--external-etcd-client-key-path",
            )?,
            key_prefix: args.external_etcd_key_prefix.clone(),
        });
    }
    cfg.apiserver_extra_args = extra(&args.karmada_apiserver_extra_args);
    cfg.etcd_extra_args = extra(&args.etcd_extra_args);
    cfg.kcm_extra_args = extra(&args.karmada_kube_controller_manager_extra_args);
    cfg.reconciler_extra_args = extra(&args.reconciler_extra_args);
    cfg.validate()
        .map_err(|e| anyhow::Error::new(crate::Usage(e.to_string())))?;
    for ip in &args.cert_external_ip {
        if ip.parse::<IpAddr>().is_err() {
            usage!(
                "--cert-external-ip {ip:?} is not an IP address; put DNS names in --cert-external-dns"
            );
        }
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

pub async fn run_init(mut args: InitArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let mut host_kubeconfig = global.kubeconfig.clone();
    if let Some(file) = args.config.clone() {
        let (kubeconfig, notes) = crate::init_config::apply(&mut args, &file)?;
        if host_kubeconfig.is_none() {
            host_kubeconfig = kubeconfig;
        }
        for n in notes {
            eprintln!("note: ignoring {n} from {}", file.display());
        }
    }
    if let Some(crds) = &args.upstream_only.crds {
        eprintln!(
            "note: ignoring --crds {crds}: the Karmada CRDs are built into karmadactl (v{}) and \
             installed from there; nothing is downloaded",
            env!("CARGO_PKG_VERSION")
        );
    }
    let use_kind = host_kubeconfig.is_none() && args.context.is_none();
    let reconciler_image = given_reconciler_image(&args);
    if !use_kind && reconciler_image.is_none() {
        usage!(
            "--reconciler-image is required when installing into an existing cluster: build and \
             push an image from the repository's Dockerfile (see docs/install.md) and pass its name \
             (or --private-image-registry holding karmada-reconciler:v{})",
            env!("CARGO_PKG_VERSION")
        );
    }
    let ignored = args.upstream_only.given();
    if !ignored.is_empty() {
        eprintln!(
            "note: ignoring {}: this control plane has no karmada-scheduler, -webhook, \
             -controller-manager or -aggregated-apiserver (karmada-reconciler does their work), \
             sets no priority classes and assumes the cluster domain cluster.local",
            ignored.join(", ")
        );
    }
    // Validate everything before any I/O, with a placeholder for an image built later.
    let config = config_from(
        &args,
        reconciler_image
            .as_deref()
            .unwrap_or("karmada-reconciler:dev"),
    )?;
    let ca = read_ca(&args)?;
    if args.dry_run {
        return dry_run(&args, use_kind, ca);
    }
    let opts = InstallOptions {
        host: (!use_kind).then(|| Target {
            kubeconfig: host_kubeconfig.clone(),
            context: args.context.clone(),
        }),
        config,
        build_image: reconciler_image.is_none(),
        advertise_address: args.karmada_apiserver_advertise_address.clone(),
        cert_external_ip: args.cert_external_ip.clone(),
        cert_external_dns: args.cert_external_dns.clone(),
        cert_validity: args.cert_validity_period,
        ca,
        wait_timeout: match args.wait_component_ready_timeout {
            // "No limit": 100 years, which timers can still add without overflowing.
            0 => Duration::from_secs(100 * 365 * 86400),
            secs => Duration::from_secs(secs),
        },
        karmada_kubeconfig: args
            .karmada_kubeconfig
            .clone()
            .unwrap_or_else(ops::default_karmada_kubeconfig),
        karmada_data: args.karmada_data.clone(),
        karmada_pki: args.karmada_pki.clone(),
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
    let image = match given_reconciler_image(args) {
        Some(i) => i,
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
            namespace: cfg.namespace.clone(),
        },
    )?;
    let host = manifests::redacted(&manifests::host_objects(&cfg, &pki)?);
    let cp = manifests::control_plane_objects();
    let text = match args.output {
        Some(DocFormat::Yaml) => {
            let mut s = String::from("# In the host cluster:\n");
            for o in &host {
                s.push_str("---\n");
                if let Some(note) = manifests::secret_note(o) {
                    s.push_str(&note);
                }
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
            "delete everything init created in namespace {} of the host cluster ({}){}",
            args.namespace,
            t.describe(),
            if args.purge_namespace {
                ", and the namespace"
            } else {
                ""
            }
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
    let how = ops::Removal {
        namespace: args.namespace.clone(),
        purge_namespace: args.purge_namespace,
        dry_run: args.dry_run,
    };
    if args.dry_run {
        let mut out = String::from("deinit would (dry run, nothing changed):\n");
        for p in &plan {
            out.push_str(&format!("  - {p}\n"));
        }
        if let Some(t) = &target {
            let listed = async {
                let host = ops::host_from_target(t).await?;
                ops::remove_from_host(&host.client, &how).await
            }
            .await;
            match listed {
                Ok(r) if r.is_empty() => {
                    out.push_str("nothing of init's is left in the host cluster\n")
                }
                Ok(r) => {
                    out.push_str("objects it would delete from the host cluster:\n");
                    for o in r {
                        out.push_str(&format!("  {o}\n"));
                    }
                }
                Err(e) if !explicit => eprintln!("warning: cannot list the host cluster: {e}"),
                Err(e) => return Err(e.into()),
            }
        }
        output::print(&out);
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            usage!(
                "deinit would {}; pass -f/--force (or --yes) to confirm when not running on a terminal",
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
            ops::remove_from_host(&host.client, &how).await
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
