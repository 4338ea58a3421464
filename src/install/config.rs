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
}

impl InitConfig {
    /// Defaults: registry.k8s.io images at the pinned versions, one replica each, hostPath etcd.
    pub fn new(kube_version: &str, reconciler_image: &str) -> Self {
        let registry = "registry.k8s.io".to_string();
        InitConfig {
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
        }
    }

    /// Checks every field; the message says which flag to fix.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        for (flag, n) in [
            ("--etcd-replicas", self.etcd_replicas),
            ("--karmada-apiserver-replicas", self.apiserver_replicas),
            ("--kube-controller-manager-replicas", self.kcm_replicas),
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
        for (flag, image) in [
            ("--kube-image-registry", &self.kube_image_registry),
            ("--etcd-image", &self.etcd_image),
            ("--reconciler-image", &self.reconciler_image),
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
            ("--kube-controller-manager-extra-args", &self.kcm_extra_args),
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
        Ok(())
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
