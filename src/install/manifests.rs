//! Everything `karmadactl init` creates, as Kubernetes objects (`serde_json::Value`, built with
//! `json!` so each manifest reads like its YAML). Two sets:
//!
//! - [`host_objects`]: in the host cluster, namespace [`NAMESPACE`]: etcd (StatefulSet +
//!   headless Service + client Service), karmada-apiserver (Deployment + NodePort Service),
//!   karmada-kube-controller-manager (Deployment), karmada-reconciler (Deployment,
//!   ServiceAccount, Role, RoleBinding), and the Secrets holding certificates and kubeconfigs.
//! - [`control_plane_objects`]: in karmada-apiserver itself: namespace `karmada-system` and the
//!   reconciler's ClusterRole/ClusterRoleBinding (the CRDs come from [`super::crds`]).
//!
//! Every object carries [`MANAGED_BY`] so `karmadactl deinit` finds exactly what init made.
//! Rendering does no I/O; the same certificates always render the same objects, which is what
//! makes a second `init` a no-op under server-side apply.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::pki::{CertSpec, CertificateAuthority, ServiceAccountKey};
use crate::kubeconfig::{self, Credential, Entry};
use crate::{Error, Result};

pub const NAMESPACE: &str = "karmada-system";
/// Label key and value on every object init creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "karmadactl");
/// `key=value` selector for [`MANAGED_BY`].
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=karmadactl";

pub const ETCD: &str = "etcd";
pub const ETCD_CLIENT_SERVICE: &str = "etcd-client";
pub const APISERVER: &str = "karmada-apiserver";
pub const KCM: &str = "karmada-kube-controller-manager";
pub const RECONCILER: &str = "karmada-reconciler";
/// Secret with every certificate and key (init reuses it on the next run).
pub const CERT_SECRET: &str = "karmada-cert";
pub const KCM_KUBECONFIG_SECRET: &str = "karmada-kube-controller-manager-kubeconfig";
pub const RECONCILER_KUBECONFIG_SECRET: &str = "karmada-reconciler-kubeconfig";
/// Key of the kubeconfig in the two kubeconfig Secrets.
pub const KUBECONFIG_KEY: &str = "kubeconfig";

/// Port karmada-apiserver serves on inside its pod and on its Service.
pub const APISERVER_PORT: u16 = 5443;
pub const DEFAULT_NODE_PORT: u16 = 32443;
/// Where the certificate Secret is mounted in every pod.
pub const PKI_DIR: &str = "/etc/karmada/pki";
/// Where a kubeconfig Secret is mounted.
pub const CONFIG_DIR: &str = "/etc/karmada/config";
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
/// The in-cluster URL of karmada-apiserver (used by kube-controller-manager and the reconciler).
pub const IN_CLUSTER_SERVER: &str =
    "https://karmada-apiserver.karmada-system.svc.cluster.local:5443";
/// The user karmada-reconciler's client certificate names; bound by [`control_plane_objects`].
pub const RECONCILER_USER: &str = "system:karmada:reconciler";
pub const RECONCILER_METRICS_PORT: u16 = 10358;
/// Annotation on the certificate Secret: the apiserver serving certificate's SANs, so a change
/// of `--cert-external-ip` etc. reissues it.
pub const SANS_ANNOTATION: &str = "karmadactl.io/apiserver-sans";

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

    fn kube_image(&self, component: &str) -> String {
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

/// Every certificate and key of the control plane, by file name in [`PKI_DIR`] (the keys of
/// the [`CERT_SECRET`] Secret).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pki {
    pub files: BTreeMap<String, String>,
    /// The apiserver serving certificate's SANs, as issued.
    pub apiserver_sans: Vec<String>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("apiserver_sans", &self.apiserver_sans)
            .finish()
    }
}

/// Names of the files in [`Pki::files`] (each leaf is `<name>.crt` + `<name>.key`).
pub const PKI_FILES: &[&str] = &[
    "ca.crt",
    "ca.key",
    "sa.key",
    "sa.pub",
    "apiserver.crt",
    "apiserver.key",
    "etcd-server.crt",
    "etcd-server.key",
    "etcd-peer.crt",
    "etcd-peer.key",
    "etcd-client.crt",
    "etcd-client.key",
    "admin.crt",
    "admin.key",
    "kube-controller-manager.crt",
    "kube-controller-manager.key",
    "reconciler.crt",
    "reconciler.key",
];

/// What the certificates must say.
#[derive(Debug, Clone)]
pub struct PkiRequest {
    /// Extra SANs of the apiserver certificate: node/advertise addresses, `--cert-external-ip`,
    /// `--cert-external-dns`.
    pub extra_sans: Vec<String>,
    pub validity: Duration,
    /// `--ca-cert-file` / `--ca-key-file`, as PEM.
    pub ca: Option<(String, String)>,
    pub etcd_replicas: i32,
}

/// The apiserver serving certificate's SANs: loopback, the Service's DNS names, the first
/// Service IP, then `extra` (deduplicated, order kept).
pub fn apiserver_sans(extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = [
        "localhost",
        "127.0.0.1",
        "karmada-apiserver",
        "karmada-apiserver.karmada-system",
        "karmada-apiserver.karmada-system.svc",
        "karmada-apiserver.karmada-system.svc.cluster.local",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "10.96.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in extra {
        if !s.is_empty() && !sans.contains(s) {
            sans.push(s.clone());
        }
    }
    sans
}

fn etcd_server_sans(replicas: i32) -> Vec<String> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        ETCD_CLIENT_SERVICE.to_string(),
        format!("{ETCD_CLIENT_SERVICE}.{NAMESPACE}.svc"),
        format!("{ETCD_CLIENT_SERVICE}.{NAMESPACE}.svc.cluster.local"),
    ];
    for i in 0..replicas {
        sans.push(format!("{ETCD}-{i}.{ETCD}.{NAMESPACE}.svc"));
        sans.push(format!("{ETCD}-{i}.{ETCD}.{NAMESPACE}.svc.cluster.local"));
    }
    sans
}

impl Pki {
    /// Issues whatever `existing` lacks. Existing files are kept as they are (so kubeconfigs
    /// stay valid), except: a different `--ca-cert-file` reissues everything, and changed
    /// apiserver SANs reissue the serving certificate.
    pub fn complete(existing: Option<Pki>, req: &PkiRequest) -> Result<Pki> {
        let mut pki = existing.unwrap_or_default();
        if let Some((cert, key)) = &req.ca
            && pki.files.get("ca.crt") != Some(cert)
        {
            pki = Pki::default();
            pki.files.insert("ca.crt".into(), cert.clone());
            pki.files.insert("ca.key".into(), key.clone());
        }
        let ca = match (pki.files.get("ca.crt"), pki.files.get("ca.key")) {
            (Some(c), Some(k)) => CertificateAuthority::from_pem(c, k)?,
            _ => {
                let ca = CertificateAuthority::generate("karmada", req.validity)?;
                // Leaves signed by another CA are useless now.
                pki = Pki::default();
                pki.files.insert("ca.crt".into(), ca.cert_pem().into());
                pki.files.insert("ca.key".into(), ca.key_pem().into());
                ca
            }
        };
        if !(pki.files.contains_key("sa.key") && pki.files.contains_key("sa.pub")) {
            let sa = ServiceAccountKey::generate()?;
            pki.files.insert("sa.key".into(), sa.private_key_pem);
            pki.files.insert("sa.pub".into(), sa.public_key_pem);
        }
        let sans = apiserver_sans(&req.extra_sans);
        if pki.apiserver_sans != sans {
            pki.files.remove("apiserver.crt");
            pki.apiserver_sans = sans.clone();
        }
        let etcd_sans = etcd_server_sans(req.etcd_replicas);
        let v = req.validity;
        let leaves: Vec<(&str, CertSpec)> = vec![
            (
                "apiserver",
                CertSpec::serving("karmada-apiserver", &refs(&sans), v),
            ),
            (
                "etcd-server",
                CertSpec::serving("etcd-server", &refs(&etcd_sans), v),
            ),
            (
                "etcd-peer",
                CertSpec {
                    client_auth: true,
                    ..CertSpec::serving("etcd-peer", &refs(&etcd_sans), v)
                },
            ),
            (
                "etcd-client",
                CertSpec::client("karmada-apiserver-etcd-client", &[], v),
            ),
            (
                "admin",
                CertSpec::client("karmada-admin", &["system:masters"], v),
            ),
            (
                "kube-controller-manager",
                CertSpec::client("system:kube-controller-manager", &[], v),
            ),
            ("reconciler", CertSpec::client(RECONCILER_USER, &[], v)),
        ];
        for (name, spec) in leaves {
            let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
            if pki.files.contains_key(&crt) && pki.files.contains_key(&key) {
                continue;
            }
            let issued = ca.issue(&spec)?;
            pki.files.insert(crt, issued.cert_pem);
            pki.files.insert(key, issued.key_pem);
        }
        Ok(pki)
    }

    /// Reads the files back from the [`CERT_SECRET`] Secret's `data` and annotations.
    pub fn from_secret(secret: &k8s_openapi::api::core::v1::Secret) -> Pki {
        let files = secret
            .data
            .iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
            .collect();
        let apiserver_sans = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(SANS_ANNOTATION))
            .map(|s| s.split(',').map(String::from).collect())
            .unwrap_or_default();
        Pki {
            files,
            apiserver_sans,
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.files.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A kubeconfig entry for `server` with the client certificate `<leaf>.crt`/`.key`.
    pub fn entry(&self, name: &str, server: &str, leaf: &str) -> Entry {
        Entry {
            name: name.into(),
            server: server.into(),
            ca_pem: self.get("ca.crt").into(),
            credential: Credential::ClientCert {
                cert_pem: self.get(&format!("{leaf}.crt")).into(),
                key_pem: self.get(&format!("{leaf}.key")).into(),
            },
        }
    }
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn labels(component: &str) -> Value {
    json!({
        MANAGED_BY.0: MANAGED_BY.1,
        "app.kubernetes.io/part-of": "karmada",
        "app": component,
    })
}

fn meta(name: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": NAMESPACE, "labels": labels(component) })
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn secret(name: &str, component: &str, data: &BTreeMap<String, String>) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(b64(v))))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": meta(name, component),
        "type": "Opaque",
        "data": data,
    })
}

/// A volume of the certificate Secret holding only `files`.
fn pki_volume(files: &[&str]) -> Value {
    let items: Vec<Value> = files.iter().map(|f| json!({"key": f, "path": f})).collect();
    json!({ "name": "pki", "secret": { "secretName": CERT_SECRET, "items": items } })
}

fn pki_mount() -> Value {
    json!({ "name": "pki", "mountPath": PKI_DIR, "readOnly": true })
}

fn pki(file: &str) -> String {
    format!("{PKI_DIR}/{file}")
}

fn deployment(name: &str, replicas: i32, pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(name, name),
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": labels(name) },
                "spec": pod_spec,
            },
        },
    })
}

fn https_probe(path: &str, port: u16, scheme: &str) -> Value {
    json!({
        "httpGet": { "path": path, "port": port, "scheme": scheme },
        "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 6,
    })
}

/// kube-apiserver's command line in the karmada-apiserver Deployment. `$(POD_IP)` is expanded by
/// the kubelet from the pod's environment.
pub fn apiserver_args(cfg: &InitConfig) -> Vec<String> {
    let defaults = vec![
        "kube-apiserver".to_string(),
        "--advertise-address=$(POD_IP)".into(),
        "--bind-address=0.0.0.0".into(),
        format!("--secure-port={APISERVER_PORT}"),
        format!("--etcd-servers=https://{ETCD_CLIENT_SERVICE}.{NAMESPACE}.svc.cluster.local:2379"),
        format!("--etcd-cafile={}", pki("ca.crt")),
        format!("--etcd-certfile={}", pki("etcd-client.crt")),
        format!("--etcd-keyfile={}", pki("etcd-client.key")),
        format!("--tls-cert-file={}", pki("apiserver.crt")),
        format!("--tls-private-key-file={}", pki("apiserver.key")),
        format!("--client-ca-file={}", pki("ca.crt")),
        "--authorization-mode=RBAC".into(),
        "--allow-privileged=true".into(),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={}", pki("sa.pub")),
        format!("--service-account-signing-key-file={}", pki("sa.key")),
        // No pod ever runs in the control plane, so nothing reads its `kubernetes` Endpoints.
        "--endpoint-reconciler-type=none".into(),
        "--disable-admission-plugins=StorageObjectInUseProtection".into(),
    ];
    merge_args(defaults, &cfg.apiserver_extra_args)
}

fn kcm_args(cfg: &InitConfig) -> Vec<String> {
    let kubeconfig = format!("{CONFIG_DIR}/{KUBECONFIG_KEY}");
    let defaults = vec![
        "kube-controller-manager".to_string(),
        format!("--kubeconfig={kubeconfig}"),
        format!("--authentication-kubeconfig={kubeconfig}"),
        format!("--authorization-kubeconfig={kubeconfig}"),
        "--controllers=namespace,garbagecollector,serviceaccount-token,serviceaccount".into(),
        "--bind-address=0.0.0.0".into(),
        "--secure-port=10257".into(),
        "--leader-elect=true".into(),
        "--use-service-account-credentials=true".into(),
        format!("--root-ca-file={}", pki("ca.crt")),
        format!("--service-account-private-key-file={}", pki("sa.key")),
        format!("--cluster-signing-cert-file={}", pki("ca.crt")),
        format!("--cluster-signing-key-file={}", pki("ca.key")),
    ];
    merge_args(defaults, &cfg.kcm_extra_args)
}

fn etcd_args(cfg: &InitConfig) -> Vec<String> {
    let peer =
        |i: i32| format!("{ETCD}-{i}=https://{ETCD}-{i}.{ETCD}.{NAMESPACE}.svc.cluster.local:2380");
    let cluster: Vec<String> = (0..cfg.etcd_replicas).map(peer).collect();
    let me = format!("$(POD_NAME).{ETCD}.{NAMESPACE}.svc.cluster.local");
    let defaults = vec![
        "etcd".to_string(),
        "--name=$(POD_NAME)".into(),
        "--data-dir=/var/lib/etcd".into(),
        "--listen-client-urls=https://0.0.0.0:2379".into(),
        format!("--advertise-client-urls=https://{me}:2379"),
        "--listen-peer-urls=https://0.0.0.0:2380".into(),
        format!("--initial-advertise-peer-urls=https://{me}:2380"),
        format!("--initial-cluster={}", cluster.join(",")),
        "--initial-cluster-state=new".into(),
        "--initial-cluster-token=karmada-etcd".into(),
        "--listen-metrics-urls=http://0.0.0.0:2381".into(),
        format!("--cert-file={}", pki("etcd-server.crt")),
        format!("--key-file={}", pki("etcd-server.key")),
        format!("--trusted-ca-file={}", pki("ca.crt")),
        "--client-cert-auth=true".into(),
        format!("--peer-cert-file={}", pki("etcd-peer.crt")),
        format!("--peer-key-file={}", pki("etcd-peer.key")),
        format!("--peer-trusted-ca-file={}", pki("ca.crt")),
        "--peer-client-cert-auth=true".into(),
    ];
    merge_args(defaults, &cfg.etcd_extra_args)
}

fn reconciler_args(cfg: &InitConfig) -> Vec<String> {
    let defaults = vec![
        format!("--kubeconfig={CONFIG_DIR}/{KUBECONFIG_KEY}"),
        format!("--metrics-bind-address=0.0.0.0:{RECONCILER_METRICS_PORT}"),
        "--leader-elect=true".into(),
        format!("--leader-elect-namespace={NAMESPACE}"),
    ];
    merge_args(defaults, &cfg.reconciler_extra_args)
}

fn pod_env() -> Value {
    json!([
        { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
        { "name": "POD_IP", "valueFrom": { "fieldRef": { "fieldPath": "status.podIP" } } },
    ])
}

fn etcd_objects(cfg: &InitConfig) -> Vec<Value> {
    let data_mount = match &cfg.etcd_storage {
        EtcdStorage::HostPath(_) => {
            json!({ "name": "etcd-data", "mountPath": "/var/lib/etcd", "subPathExpr": "$(POD_NAME)" })
        }
        _ => json!({ "name": "etcd-data", "mountPath": "/var/lib/etcd" }),
    };
    let mut volumes = vec![pki_volume(&[
        "ca.crt",
        "etcd-server.crt",
        "etcd-server.key",
        "etcd-peer.crt",
        "etcd-peer.key",
    ])];
    match &cfg.etcd_storage {
        EtcdStorage::EmptyDir => volumes.push(json!({ "name": "etcd-data", "emptyDir": {} })),
        EtcdStorage::HostPath(path) => volumes.push(json!({
            "name": "etcd-data",
            "hostPath": { "path": path, "type": "DirectoryOrCreate" },
        })),
        EtcdStorage::Pvc { .. } => {}
    }
    let mut spec = json!({
        "replicas": cfg.etcd_replicas,
        "serviceName": ETCD,
        // Members must all start to form a quorum; ordered start-up would wait forever.
        "podManagementPolicy": "Parallel",
        "selector": { "matchLabels": { "app": ETCD } },
        "template": {
            "metadata": { "labels": labels(ETCD) },
            "spec": {
                "automountServiceAccountToken": false,
                "containers": [{
                    "name": "etcd",
                    "image": cfg.etcd_image,
                    "imagePullPolicy": cfg.image_pull_policy,
                    "command": etcd_args(cfg),
                    "env": pod_env(),
                    "ports": [
                        { "name": "client", "containerPort": 2379 },
                        { "name": "peer", "containerPort": 2380 },
                    ],
                    "livenessProbe": https_probe("/livez", 2381, "HTTP"),
                    "readinessProbe": https_probe("/readyz", 2381, "HTTP"),
                    "volumeMounts": [pki_mount(), data_mount],
                }],
                "volumes": volumes,
            },
        },
    });
    if let EtcdStorage::Pvc {
        size,
        storage_class,
    } = &cfg.etcd_storage
    {
        let mut claim = json!({
            "metadata": { "name": "etcd-data", "labels": labels(ETCD) },
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": size } },
            },
        });
        if let Some(class) = storage_class {
            claim["spec"]["storageClassName"] = json!(class);
        }
        spec["volumeClaimTemplates"] = json!([claim]);
    }
    vec![
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": meta(ETCD, ETCD),
            "spec": {
                "clusterIP": "None",
                // Peers find each other before any of them is ready.
                "publishNotReadyAddresses": true,
                "selector": { "app": ETCD },
                "ports": [
                    { "name": "client", "port": 2379, "targetPort": 2379 },
                    { "name": "peer", "port": 2380, "targetPort": 2380 },
                ],
            },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": meta(ETCD_CLIENT_SERVICE, ETCD),
            "spec": {
                "selector": { "app": ETCD },
                "ports": [{ "name": "client", "port": 2379, "targetPort": 2379 }],
            },
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(ETCD, ETCD),
            "spec": spec,
        }),
    ]
}

fn kubeconfig_secret(name: &str, component: &str, entry: &Entry) -> Result<Value> {
    let yaml = kubeconfig::to_yaml(&entry.to_kubeconfig())?;
    let data = BTreeMap::from([(KUBECONFIG_KEY.to_string(), yaml)]);
    Ok(secret(name, component, &data))
}

/// Everything init creates in the host cluster, in apply order.
pub fn host_objects(cfg: &InitConfig, pki: &Pki) -> Result<Vec<Value>> {
    let mut objects = vec![json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": { "name": NAMESPACE, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
    })];
    let mut certs = secret(CERT_SECRET, APISERVER, &pki.files);
    certs["metadata"]["annotations"] = json!({ SANS_ANNOTATION: pki.apiserver_sans.join(",") });
    objects.push(certs);
    objects.push(kubeconfig_secret(
        KCM_KUBECONFIG_SECRET,
        KCM,
        &pki.entry(APISERVER, IN_CLUSTER_SERVER, "kube-controller-manager"),
    )?);
    objects.push(kubeconfig_secret(
        RECONCILER_KUBECONFIG_SECRET,
        RECONCILER,
        &pki.entry(APISERVER, IN_CLUSTER_SERVER, "reconciler"),
    )?);
    objects.extend(etcd_objects(cfg));

    objects.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(APISERVER, APISERVER),
        "spec": {
            "type": "NodePort",
            "selector": { "app": APISERVER },
            "ports": [{
                "name": "https", "protocol": "TCP",
                "port": APISERVER_PORT, "targetPort": APISERVER_PORT, "nodePort": cfg.node_port,
            }],
        },
    }));
    objects.push(deployment(
        APISERVER,
        cfg.apiserver_replicas,
        json!({
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "kube-apiserver",
                "image": cfg.kube_image("kube-apiserver"),
                "imagePullPolicy": cfg.image_pull_policy,
                "command": apiserver_args(cfg),
                "env": pod_env(),
                "ports": [{ "name": "https", "containerPort": APISERVER_PORT }],
                "livenessProbe": https_probe("/livez", APISERVER_PORT, "HTTPS"),
                "readinessProbe": https_probe("/readyz", APISERVER_PORT, "HTTPS"),
                "volumeMounts": [pki_mount()],
            }],
            "volumes": [pki_volume(&[
                "ca.crt", "apiserver.crt", "apiserver.key", "etcd-client.crt", "etcd-client.key",
                "sa.key", "sa.pub",
            ])],
        }),
    ));

    let config_volume =
        |secret: &str| json!({ "name": "kubeconfig", "secret": { "secretName": secret } });
    let config_mount = json!({ "name": "kubeconfig", "mountPath": CONFIG_DIR, "readOnly": true });
    objects.push(deployment(
        KCM,
        cfg.kcm_replicas,
        json!({
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "kube-controller-manager",
                "image": cfg.kube_image("kube-controller-manager"),
                "imagePullPolicy": cfg.image_pull_policy,
                "command": kcm_args(cfg),
                "livenessProbe": https_probe("/healthz", 10257, "HTTPS"),
                "readinessProbe": https_probe("/healthz", 10257, "HTTPS"),
                "volumeMounts": [pki_mount(), config_mount],
            }],
            "volumes": [pki_volume(&["ca.crt", "ca.key", "sa.key"]), config_volume(KCM_KUBECONFIG_SECRET)],
        }),
    ));

    objects.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": meta(RECONCILER, RECONCILER),
        "automountServiceAccountToken": false,
    }));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": meta(RECONCILER, RECONCILER),
        // All it may do in the host: read its own kubeconfig (everything else happens in
        // karmada-apiserver with the credentials in that Secret).
        "rules": [{
            "apiGroups": [""], "resources": ["secrets"],
            "resourceNames": [RECONCILER_KUBECONFIG_SECRET], "verbs": ["get", "watch"],
        }],
    }));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": meta(RECONCILER, RECONCILER),
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RECONCILER },
        "subjects": [{ "kind": "ServiceAccount", "name": RECONCILER, "namespace": NAMESPACE }],
    }));
    let mut reconciler = deployment(
        RECONCILER,
        cfg.reconciler_replicas,
        json!({
            "serviceAccountName": RECONCILER,
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "karmada-reconciler",
                "image": cfg.reconciler_image,
                "imagePullPolicy": cfg.image_pull_policy,
                "command": ["/usr/local/bin/karmada-reconciler"],
                "args": reconciler_args(cfg),
                "ports": [{ "name": "metrics", "containerPort": RECONCILER_METRICS_PORT }],
                // /healthz, not /readyz: standby replicas (leader election) are healthy too.
                "livenessProbe": https_probe("/healthz", RECONCILER_METRICS_PORT, "HTTP"),
                "readinessProbe": https_probe("/healthz", RECONCILER_METRICS_PORT, "HTTP"),
                "volumeMounts": [config_mount],
            }],
            "volumes": [config_volume(RECONCILER_KUBECONFIG_SECRET)],
        }),
    );
    // A new kubeconfig (re-issued certificate) must restart the pods.
    reconciler["spec"]["template"]["metadata"]["annotations"] =
        json!({ "karmadactl.io/kubeconfig-hash": short_hash(pki.get("reconciler.crt")) });
    objects.push(reconciler);
    Ok(objects)
}

/// What init creates inside karmada-apiserver besides the CRDs.
pub fn control_plane_objects() -> Vec<Value> {
    let labels = json!({ MANAGED_BY.0: MANAGED_BY.1 });
    vec![
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": { "name": NAMESPACE, "labels": labels },
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": { "name": "karmada-reconciler", "labels": labels },
            // It propagates any kind of resource template, so it needs to see them all.
            "rules": [
                { "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] },
                { "nonResourceURLs": ["*"], "verbs": ["get"] },
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": { "name": "karmada-reconciler", "labels": labels },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "karmada-reconciler" },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RECONCILER_USER }],
        }),
    ]
}

/// A stable short hex digest (FNV-1a 64), for annotations and image tags.
pub fn short_hash(data: impl AsRef<[u8]>) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data.as_ref() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")[..12].to_string()
}

/// A copy of `objects` with every Secret's data replaced by `<redacted>`.
pub fn redacted(objects: &[Value]) -> Vec<Value> {
    objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if o["kind"] == "Secret"
                && let Some(data) = o.get_mut("data").and_then(Value::as_object_mut)
            {
                for v in data.values_mut() {
                    *v = json!("<redacted>");
                }
            }
            o
        })
        .collect()
}

/// `Kind/namespace/name` (or `Kind/name`), for messages.
pub fn describe(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or("?");
    let name = object["metadata"]["name"].as_str().unwrap_or("?");
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86400);

    fn request() -> PkiRequest {
        PkiRequest {
            extra_sans: vec!["172.18.0.2".into()],
            validity: DAY,
            ca: None,
            etcd_replicas: 3,
        }
    }

    #[test]
    fn merge_args_replaces_same_flag_and_appends_others() {
        let merged = merge_args(
            vec!["bin".into(), "--v=2".into(), "--a=b".into()],
            &["v=4".into(), "--new=x,y".into()],
        );
        assert_eq!(merged, ["bin", "--v=4", "--a=b", "--new=x,y"]);
    }

    #[test]
    fn pki_is_complete_and_reused_as_is() {
        let pki = Pki::complete(None, &request()).unwrap();
        for f in PKI_FILES {
            assert!(pki.files.contains_key(*f), "missing {f}");
        }
        assert!(pki.apiserver_sans.contains(&"172.18.0.2".to_string()));
        let again = Pki::complete(Some(pki.clone()), &request()).unwrap();
        assert_eq!(again, pki, "an existing PKI is reused unchanged");

        let mut req = request();
        req.extra_sans.push("karmada.example.com".into());
        let changed = Pki::complete(Some(pki.clone()), &req).unwrap();
        assert_ne!(changed.get("apiserver.crt"), pki.get("apiserver.crt"));
        assert_eq!(changed.get("ca.crt"), pki.get("ca.crt"));
        assert_eq!(changed.get("admin.crt"), pki.get("admin.crt"));
    }

    #[test]
    fn objects_are_labelled_deterministic_and_redactable() {
        let cfg = InitConfig::new("v1.37.2", "karmada-reconciler:test");
        cfg.validate().unwrap();
        let pki = Pki::complete(None, &request()).unwrap();
        let a = host_objects(&cfg, &pki).unwrap();
        assert_eq!(a, host_objects(&cfg, &pki).unwrap());
        for o in a.iter().chain(&control_plane_objects()) {
            assert_eq!(o["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1, "{o}");
        }
        let text = serde_json::to_string(&redacted(&a)).unwrap();
        assert!(!text.contains(&b64(pki.get("ca.key"))));
        let apiserver = a
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == APISERVER)
            .unwrap();
        assert_eq!(
            apiserver["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.k8s.io/kube-apiserver:v1.37.2"
        );
    }

    #[test]
    fn validation_names_the_flag() {
        let mut cfg = InitConfig::new("v1.37.2", "img");
        cfg.etcd_replicas = 2;
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("--etcd-replicas")
        );
        let mut cfg = InitConfig::new("v1.37.2", "img");
        cfg.node_port = 8080;
        assert!(cfg.validate().unwrap_err().to_string().contains("--port"));
        let mut cfg = InitConfig::new("v1.37.2", "img");
        cfg.apiserver_extra_args = vec!["--".into()];
        assert!(cfg.validate().is_err());
    }
}
