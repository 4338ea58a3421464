//! What `karmadactl init` installs: images, replicas, etcd storage, ports and extra flags of
//! each component, checked before anything is created.

use crate::{Error, Result};

use super::manifests::DEFAULT_NODE_PORT;

/// Where etcd keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcdStorage {
    /// Lost when the pod goes away.
    EmptyDir,
    /// A directory on the node (one sub-directory per etcd pod).
    HostPath(String),
    /// A PersistentVolumeClaim per pod.
    Pvc {
        size: String,
        storage_class: Option<String>,
    },
}

/// What to install: images, replicas, storage, ports and extra flags. Checked by [`validate`](Self::validate).
#[derive(Debug, Clone)]
pub struct InitConfig {
    /// Namespace of the host cluster everything goes into (`-n`, default `karmada-system`).
    pub namespace: String,
    pub kube_image_registry: String,
    /// Tag of kube-apiserver and kube-controller-manager, e.g. `v1.37.2`.
    pub kube_version: String,
    pub etcd_image: String,
    pub reconciler_image: String,
    pub image_pull_policy: String,
    pub etcd_replicas: i32,
    pub apiserver_replicas: i32,
    pub kcm_replicas: i32,
    pub reconciler_replicas: i32,
    pub etcd_storage: EtcdStorage,
    /// NodePort of the karmada-apiserver Service.
    pub node_port: u16,
    pub apiserver_extra_args: Vec<String>,
    pub etcd_extra_args: Vec<String>,
    pub kcm_extra_args: Vec<String>,
    pub reconciler_extra_args: Vec<String>,
    /// `--karmada-apiserver-image` (default: [`kube_image`](Self::kube_image)).
    pub apiserver_image: Option<String>,
    /// `--karmada-kube-controller-manager-image`.
    pub kcm_image: Option<String>,
    /// `--image-pull-secrets`: Secrets in the install namespace every pod pulls with.
    pub image_pull_secrets: Vec<String>,
    /// `--etcd-node-selector-labels`: where etcd pods may run.
    pub etcd_node_selector: std::collections::BTreeMap<String, String>,
    /// `--external-etcd-*`: karmada-apiserver uses this etcd and no etcd is installed.
    pub external_etcd: Option<ExternalEtcd>,
}

/// An etcd init does not install (`--external-etcd-servers` and friends).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ExternalEtcd {
    /// Client URLs, e.g. `https://10.0.0.5:2379`.
    pub servers: Vec<String>,
    /// PEM of `--external-etcd-ca-cert-path`.
    pub ca_pem: Option<String>,
    /// PEM of `--external-etcd-client-cert-path` and `--external-etcd-client-key-path`.
    pub client_cert_pem: Option<String>,
    pub client_key_pem: Option<String>,
    /// `--external-etcd-key-prefix`: kube-apiserver's `--etcd-prefix`.
    pub key_prefix: Option<String>,
}

impl std::fmt::Debug for ExternalEtcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalEtcd")
            .field("servers", &self.servers)
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl InitConfig {
    /// Defaults: registry.k8s.io images at the pinned versions, one replica each, hostPath etcd.
    pub fn new(kube_version: &str, reconciler_image: &str) -> Self {
        let registry = "registry.k8s.io".to_string();
        InitConfig {
            namespace: super::manifests::NAMESPACE.into(),
            etcd_image: default_etcd_image(&registry),
            kube_image_registry: registry,
            kube_version: kube_version.into(),
            reconciler_image: reconciler_image.into(),
            image_pull_policy: "IfNotPresent".into(),
            etcd_replicas: 1,
            apiserver_replicas: 1,
            kcm_replicas: 1,
            reconciler_replicas: 1,
            etcd_storage: EtcdStorage::HostPath("/var/lib/karmada-etcd".into()),
            node_port: DEFAULT_NODE_PORT,
            apiserver_extra_args: Vec::new(),
            etcd_extra_args: Vec::new(),
            kcm_extra_args: Vec::new(),
            reconciler_extra_args: Vec::new(),
            apiserver_image: None,
            kcm_image: None,
            image_pull_secrets: Vec::new(),
            etcd_node_selector: Default::default(),
            external_etcd: None,
        }
    }

    /// Checks every field; the message says which flag to fix.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if !is_dns_label(&self.namespace) {
            return bad(format!(
                "-n/--namespace must be a namespace name (lowercase letters, digits and '-', at \
                 most 63 characters), got {:?}",
                self.namespace
            ));
        }
        for (flag, n) in [
            ("--etcd-replicas", self.etcd_replicas),
            ("--karmada-apiserver-replicas", self.apiserver_replicas),
            (
                "--karmada-kube-controller-manager-replicas",
                self.kcm_replicas,
            ),
            ("--reconciler-replicas", self.reconciler_replicas),
        ] {
            if !(1..=9).contains(&n) {
                return bad(format!("{flag} must be between 1 and 9, got {n}"));
            }
        }
        if self.etcd_replicas % 2 == 0 {
            return bad(format!(
                "--etcd-replicas must be odd (1, 3, 5) so etcd keeps a quorum, got {}",
                self.etcd_replicas
            ));
        }
        if !(30000..=32767).contains(&self.node_port) {
            return bad(format!(
                "--port must be a NodePort in 30000-32767, got {}",
                self.node_port
            ));
        }
        let apiserver = self.apiserver_image();
        let kcm = self.kcm_image();
        for (flag, image) in [
            ("--kube-image-registry", &self.kube_image_registry),
            ("--etcd-image", &self.etcd_image),
            ("--reconciler-image", &self.reconciler_image),
            ("--karmada-apiserver-image", &apiserver),
            ("--karmada-kube-controller-manager-image", &kcm),
        ] {
            if image.trim().is_empty() || image.contains(char::is_whitespace) {
                return bad(format!("{flag} {image:?} is not an image reference"));
            }
        }
        if !["Always", "IfNotPresent", "Never"].contains(&self.image_pull_policy.as_str()) {
            return bad(format!(
                "--image-pull-policy must be Always, IfNotPresent or Never, got {:?}",
                self.image_pull_policy
            ));
        }
        match &self.etcd_storage {
            EtcdStorage::HostPath(p) if !p.starts_with('/') => {
                return bad(format!("--etcd-data must be an absolute path, got {p:?}"));
            }
            EtcdStorage::Pvc { size, .. } if size.trim().is_empty() => {
                return bad("--etcd-pvc-size must not be empty (e.g. 5Gi)".into());
            }
            _ => {}
        }
        for (flag, args) in [
            ("--karmada-apiserver-extra-args", &self.apiserver_extra_args),
            ("--etcd-extra-args", &self.etcd_extra_args),
            (
                "--karmada-kube-controller-manager-extra-args",
                &self.kcm_extra_args,
            ),
            ("--reconciler-extra-args", &self.reconciler_extra_args),
        ] {
            for arg in args {
                let name = flag_name(arg);
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return bad(format!(
                        "{flag} {arg:?} is not a flag; use name=value, e.g. {flag}=v=4"
                    ));
                }
            }
        }
        for secret in &self.image_pull_secrets {
            if !is_dns_subdomain(secret) {
                return bad(format!(
                    "--image-pull-secrets {secret:?} is not a Secret name"
                ));
            }
        }
        if let Some(ext) = &self.external_etcd {
            if ext.servers.is_empty() {
                return bad("--external-etcd-servers must name at least one URL".into());
            }
            for url in &ext.servers {
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(char::is_whitespace)
                {
                    return bad(format!(
                        "--external-etcd-servers {url:?} is not a URL; use e.g. https://10.0.0.5:2379"
                    ));
                }
            }
            if ext.client_cert_pem.is_some() != ext.client_key_pem.is_some() {
                return bad(
                    "--external-etcd-client-cert-path and --external-etcd-client-key-path go together"
                        .into(),
                );
            }
            if let Some(p) = &ext.key_prefix
                && !p.starts_with('/')
            {
                return bad(format!(
                    "--external-etcd-key-prefix must start with /, got {p:?}"
                ));
            }
        }
        for (k, v) in &self.etcd_node_selector {
            if k.is_empty() || k.contains(char::is_whitespace) || v.contains(char::is_whitespace) {
                return bad(format!(
                    "--etcd-node-selector-labels {k}={v} is not a label; use key=value,..."
                ));
            }
        }
        Ok(())
    }

    /// The karmada-apiserver image: `--karmada-apiserver-image`, else kube-apiserver from the
    /// kube registry at the kube version.
    pub fn apiserver_image(&self) -> String {
        self.apiserver_image
            .clone()
            .unwrap_or_else(|| self.kube_image("kube-apiserver"))
    }

    /// The karmada-kube-controller-manager image.
    pub fn kcm_image(&self) -> String {
        self.kcm_image
            .clone()
            .unwrap_or_else(|| self.kube_image("kube-controller-manager"))
    }

    pub fn kube_image(&self, component: &str) -> String {
        format!(
            "{}/{component}:{}",
            self.kube_image_registry.trim_end_matches('/'),
            self.kube_version
        )
    }
}

/// `<registry>/etcd:<pinned etcd version>-0`, the naming registry.k8s.io uses.
pub fn default_etcd_image(registry: &str) -> String {
    format!(
        "{}/etcd:{}-0",
        registry.trim_end_matches('/'),
        crate::versions::etcd_version()
    )
}

/// The name of a flag: `--v=4`, `v=4` and `--v` all give `v`.
fn flag_name(arg: &str) -> &str {
    let arg = arg.trim_start_matches('-');
    arg.split('=').next().unwrap_or(arg)
}

/// A Kubernetes object name (RFC 1123 subdomain).
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// An RFC 1123 label, as namespace names are.
pub fn is_dns_label(name: &str) -> bool {
    name.len() <= 63 && !name.contains('.') && is_dns_subdomain(name)
}

/// Splits a comma-separated extra-args value the way upstream's flags take it
/// (`--etcd-extra-args=--snapshot-count=5000,--heartbeat-interval=100`). Upstream parses the
/// value as one CSV record, so a flag whose value has commas can be double-quoted
/// (`'"--authorization-mode=Node,RBAC",--v=2'`); an unquoted value with commas is kept whole
/// too (`--authorization-mode=Node,RBAC`): an unquoted comma starts a new flag only when what
/// follows is a flag (`--x`, or `name=value`).
pub fn split_extra_args(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (part, quoted) in csv_fields(value) {
        if part.is_empty() {
            continue;
        }
        let starts_flag = quoted
            || part.starts_with('-')
            || part.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        match out.last_mut() {
            Some(last) if !starts_flag => {
                last.push(',');
                last.push_str(&part);
            }
            _ => out.push(part),
        }
    }
    out.retain(|a| !a.is_empty());
    out
}

/// The fields of one CSV record (RFC 4180 quoting: `"a,b"`, `""` for a quote inside quotes),
/// each with whether it was quoted.
fn csv_fields(value: &str) -> Vec<(String, bool)> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes) = (false, false);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if in_quotes => in_quotes = false,
            '"' if field.is_empty() && !quoted => (quoted, in_quotes) = (true, true),
            ',' if !in_quotes => {
                fields.push((std::mem::take(&mut field), quoted));
                quoted = false;
            }
            c => field.push(c),
        }
    }
    fields.push((field, quoted));
    fields
}

/// `defaults` with `extra` applied: an extra flag replaces a default of the same name in place,
/// others are appended. Extra args may be written with or without leading `--`.
pub fn merge_args(defaults: Vec<String>, extra: &[String]) -> Vec<String> {
    let mut args = defaults;
    for e in extra {
        let e = if e.starts_with('-') {
            e.clone()
        } else {
            format!("--{e}")
        };
        match args.iter().position(|a| flag_name(a) == flag_name(&e)) {
            Some(i) => args[i] = e,
            None => args.push(e),
        }
    }
    args
}
