//! Everything `karmadactl init` creates, as Kubernetes objects (`serde_json::Value`, built with
//! `json!` so each manifest reads like its YAML). Two sets:
//!
//! - [`host_objects`]: in the host cluster, namespace `init -n` (default [`NAMESPACE`]): etcd (StatefulSet +
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

use base64::Engine as _;
use serde_json::{Value, json};

pub use super::bundle::{PKI_FILES, Pki, PkiRequest, apiserver_sans};
pub use super::config::{
    EtcdStorage, ExternalEtcd, InitConfig, default_etcd_image, is_dns_subdomain, merge_args,
    split_extra_args,
};
use crate::Result;
use crate::kubeconfig::{self, Entry};

/// The default install namespace in the host (`init -n` changes it), and the namespace of the
/// control plane itself that holds the reconciler's Lease (always this one).
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
/// Secret with the external etcd's CA and client certificate (`--external-etcd-*`).
pub const EXTERNAL_ETCD_SECRET: &str = "karmada-external-etcd-cert";
/// Where [`EXTERNAL_ETCD_SECRET`] is mounted in karmada-apiserver.
pub const EXTERNAL_ETCD_DIR: &str = "/etc/karmada/external-etcd";
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
/// The in-cluster URL of karmada-apiserver installed in namespace `ns` of the host (used by
/// kube-controller-manager and the reconciler).
pub fn in_cluster_server(ns: &str) -> String {
    format!("https://{APISERVER}.{ns}.svc.cluster.local:{APISERVER_PORT}")
}
/// The user karmada-reconciler's client certificate names; bound by [`control_plane_objects`].
pub const RECONCILER_USER: &str = "system:karmada:reconciler";
pub const RECONCILER_METRICS_PORT: u16 = 10358;
/// Annotation on the certificate Secret: the apiserver serving certificate's SANs, so a change
/// of `--cert-external-ip` etc. reissues it.
pub const SANS_ANNOTATION: &str = "karmadactl.io/apiserver-sans";

fn labels(component: &str) -> Value {
    json!({
        MANAGED_BY.0: MANAGED_BY.1,
        "app.kubernetes.io/part-of": "karmada",
        "app": component,
    })
}

fn meta(ns: &str, name: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": ns, "labels": labels(component) })
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn secret(ns: &str, name: &str, component: &str, data: &BTreeMap<String, String>) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(b64(v))))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": meta(ns, name, component),
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

fn deployment(ns: &str, name: &str, replicas: i32, pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(ns, name, name),
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
    let etcd: Vec<String> = match &cfg.external_etcd {
        None => vec![
            format!(
                "--etcd-servers=https://{ETCD_CLIENT_SERVICE}.{}.svc.cluster.local:2379",
                cfg.namespace
            ),
            format!("--etcd-cafile={}", pki("etcd-ca.crt")),
            format!("--etcd-certfile={}", pki("etcd-client.crt")),
            format!("--etcd-keyfile={}", pki("etcd-client.key")),
        ],
        Some(ext) => {
            let mut a = vec![format!("--etcd-servers={}", ext.servers.join(","))];
            if ext.ca_pem.is_some() {
                a.push(format!("--etcd-cafile={EXTERNAL_ETCD_DIR}/ca.crt"));
            }
            if ext.client_cert_pem.is_some() {
                a.push(format!("--etcd-certfile={EXTERNAL_ETCD_DIR}/client.crt"));
                a.push(format!("--etcd-keyfile={EXTERNAL_ETCD_DIR}/client.key"));
            }
            if let Some(prefix) = &ext.key_prefix {
                a.push(format!("--etcd-prefix={prefix}"));
            }
            a
        }
    };
    let mut defaults = vec![
        "kube-apiserver".to_string(),
        "--advertise-address=$(POD_IP)".into(),
        "--bind-address=0.0.0.0".into(),
        format!("--secure-port={APISERVER_PORT}"),
    ];
    defaults.extend(etcd);
    defaults.extend([
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
        // Pull mode: `karmadactl register` authenticates with a bootstrap token.
        "--enable-bootstrap-token-auth=true".into(),
    ]);
    merge_args(defaults, &cfg.apiserver_extra_args)
}

fn kcm_args(cfg: &InitConfig) -> Vec<String> {
    let kubeconfig = format!("{CONFIG_DIR}/{KUBECONFIG_KEY}");
    let defaults = vec![
        "kube-controller-manager".to_string(),
        format!("--kubeconfig={kubeconfig}"),
        format!("--authentication-kubeconfig={kubeconfig}"),
        format!("--authorization-kubeconfig={kubeconfig}"),
        "--controllers=namespace,garbagecollector,serviceaccount-token,serviceaccount,csrsigning"
            .into(),
        "--bind-address=0.0.0.0".into(),
        "--secure-port=10257".into(),
        "--leader-elect=true".into(),
        "--use-service-account-credentials=true".into(),
        format!("--root-ca-file={}", pki("ca.crt")),
        // Signs service-account tokens.
        format!("--service-account-private-key-file={}", pki("sa.key")),
        // Signs pull-mode agents' client certificates once karmada-reconciler has approved
        // them (as upstream's kube-controller-manager does). Only this signer gets the CA key:
        // kubelet and legacy signers stay unconfigured, and nothing but the reconciler approves
        // requests for it.
        format!(
            "--cluster-signing-kube-apiserver-client-cert-file={}",
            pki("ca.crt")
        ),
        format!(
            "--cluster-signing-kube-apiserver-client-key-file={}",
            pki("ca.key")
        ),
    ];
    merge_args(defaults, &cfg.kcm_extra_args)
}

fn etcd_args(cfg: &InitConfig) -> Vec<String> {
    let ns = &cfg.namespace;
    let peer = |i: i32| format!("{ETCD}-{i}=https://{ETCD}-{i}.{ETCD}.{ns}.svc.cluster.local:2380");
    let cluster: Vec<String> = (0..cfg.etcd_replicas).map(peer).collect();
    let me = format!("$(POD_NAME).{ETCD}.{ns}.svc.cluster.local");
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
        // etcd's own CA: only the apiserver's etcd client certificate (and peers) get in.
        format!("--trusted-ca-file={}", pki("etcd-ca.crt")),
        "--client-cert-auth=true".into(),
        format!("--peer-cert-file={}", pki("etcd-peer.crt")),
        format!("--peer-key-file={}", pki("etcd-peer.key")),
        format!("--peer-trusted-ca-file={}", pki("etcd-ca.crt")),
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
        "etcd-ca.crt",
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
    if !cfg.etcd_node_selector.is_empty() {
        spec["template"]["spec"]["nodeSelector"] = json!(cfg.etcd_node_selector);
    }
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
            "metadata": meta(&cfg.namespace, ETCD, ETCD),
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
            "metadata": meta(&cfg.namespace, ETCD_CLIENT_SERVICE, ETCD),
            "spec": {
                "selector": { "app": ETCD },
                "ports": [{ "name": "client", "port": 2379, "targetPort": 2379 }],
            },
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(&cfg.namespace, ETCD, ETCD),
            "spec": spec,
        }),
    ]
}

fn kubeconfig_secret(ns: &str, name: &str, component: &str, entry: &Entry) -> Result<Value> {
    let yaml = kubeconfig::to_yaml(&entry.to_kubeconfig())?;
    let data = BTreeMap::from([(KUBECONFIG_KEY.to_string(), yaml)]);
    Ok(secret(ns, name, component, &data))
}

/// Everything init creates in the host cluster, in apply order.
pub fn host_objects(cfg: &InitConfig, pki: &Pki) -> Result<Vec<Value>> {
    let ns = cfg.namespace.as_str();
    let server = in_cluster_server(ns);
    let mut objects = vec![json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": { "name": ns, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
    })];
    let mut certs = secret(ns, CERT_SECRET, APISERVER, &pki.files);
    certs["metadata"]["annotations"] = json!({ SANS_ANNOTATION: pki.apiserver_sans.join(",") });
    objects.push(certs);
    objects.push(kubeconfig_secret(
        ns,
        KCM_KUBECONFIG_SECRET,
        KCM,
        &pki.entry(APISERVER, &server, "kube-controller-manager"),
    )?);
    objects.push(kubeconfig_secret(
        ns,
        RECONCILER_KUBECONFIG_SECRET,
        RECONCILER,
        &pki.entry(APISERVER, &server, "reconciler"),
    )?);
    match &cfg.external_etcd {
        None => objects.extend(etcd_objects(cfg)),
        Some(ext) => {
            let mut files = BTreeMap::new();
            for (key, pem) in [
                ("ca.crt", &ext.ca_pem),
                ("client.crt", &ext.client_cert_pem),
                ("client.key", &ext.client_key_pem),
            ] {
                if let Some(pem) = pem {
                    files.insert(key.to_string(), pem.clone());
                }
            }
            if !files.is_empty() {
                objects.push(secret(ns, EXTERNAL_ETCD_SECRET, APISERVER, &files));
            }
        }
    }

    objects.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(ns, APISERVER, APISERVER),
        "spec": {
            "type": "NodePort",
            "selector": { "app": APISERVER },
            "ports": [{
                "name": "https", "protocol": "TCP",
                "port": APISERVER_PORT, "targetPort": APISERVER_PORT, "nodePort": cfg.node_port,
            }],
        },
    }));
    let mut apiserver = deployment(
        ns,
        APISERVER,
        cfg.apiserver_replicas,
        json!({
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "kube-apiserver",
                "image": cfg.apiserver_image(),
                "imagePullPolicy": cfg.image_pull_policy,
                "command": apiserver_args(cfg),
                "env": pod_env(),
                "ports": [{ "name": "https", "containerPort": APISERVER_PORT }],
                "livenessProbe": https_probe("/livez", APISERVER_PORT, "HTTPS"),
                "readinessProbe": https_probe("/readyz", APISERVER_PORT, "HTTPS"),
                "volumeMounts": [pki_mount()],
            }],
            "volumes": [pki_volume(&[
                "ca.crt", "apiserver.crt", "apiserver.key", "etcd-ca.crt", "etcd-client.crt",
                "etcd-client.key",
                "sa.key", "sa.pub",
            ])],
        }),
    );
    if objects
        .iter()
        .any(|o| o["metadata"]["name"] == EXTERNAL_ETCD_SECRET)
    {
        let pod = &mut apiserver["spec"]["template"]["spec"];
        if let Some(v) = pod["volumes"].as_array_mut() {
            v.push(json!({ "name": "external-etcd", "secret": { "secretName": EXTERNAL_ETCD_SECRET } }));
        }
        if let Some(m) = pod["containers"][0]["volumeMounts"].as_array_mut() {
            m.push(json!({ "name": "external-etcd", "mountPath": EXTERNAL_ETCD_DIR, "readOnly": true }));
        }
    }
    objects.push(apiserver);

    let config_volume =
        |secret: &str| json!({ "name": "kubeconfig", "secret": { "secretName": secret } });
    let config_mount = json!({ "name": "kubeconfig", "mountPath": CONFIG_DIR, "readOnly": true });
    objects.push(deployment(
        ns,
        KCM,
        cfg.kcm_replicas,
        json!({
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "kube-controller-manager",
                "image": cfg.kcm_image(),
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
        "metadata": meta(ns, RECONCILER, RECONCILER),
        "automountServiceAccountToken": false,
    }));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": meta(ns, RECONCILER, RECONCILER),
        // All it may do in the host: read its own kubeconfig (everything else happens in
        // karmada-apiserver with the credentials in that Secret).
        "rules": [{
            "apiGroups": [""], "resources": ["secrets"],
            "resourceNames": [RECONCILER_KUBECONFIG_SECRET], "verbs": ["get", "watch"],
        }],
    }));
    objects.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": meta(ns, RECONCILER, RECONCILER),
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RECONCILER },
        "subjects": [{ "kind": "ServiceAccount", "name": RECONCILER, "namespace": ns }],
    }));
    let mut reconciler = deployment(
        ns,
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
    for o in &mut objects {
        let Some(pod) = o.pointer_mut("/spec/template/spec") else {
            continue;
        };
        if !cfg.image_pull_secrets.is_empty() {
            pod["imagePullSecrets"] = cfg
                .image_pull_secrets
                .iter()
                .map(|name| json!({ "name": name }))
                .collect();
        }
    }
    Ok(objects)
}

/// What init creates inside karmada-apiserver besides the CRDs.
pub fn control_plane_objects() -> Vec<Value> {
    let labels = json!({ MANAGED_BY.0: MANAGED_BY.1 });
    let mut objects = vec![
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
    ];
    // Pull mode: what a bootstrap token may do (create a CSR), as `token create` also ensures.
    objects.extend(super::agent::bootstrap_objects());
    objects
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

/// A copy of `objects` with every Secret's data values emptied: the keys stay, so the
/// manifests show what each Secret holds and an API server still accepts them (an empty value
/// is valid base64), but no certificate, private key or kubeconfig is printed.
pub fn redacted(objects: &[Value]) -> Vec<Value> {
    objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if o["kind"] == "Secret"
                && let Some(data) = o.get_mut("data").and_then(Value::as_object_mut)
            {
                for v in data.values_mut() {
                    *v = json!("");
                }
            }
            o
        })
        .collect()
}

/// What a Secret rendered by [`host_objects`] holds and how init makes it, as YAML comment
/// lines for `init --dry-run -o yaml`, where [`redacted`] left its values empty.
pub fn secret_note(object: &Value) -> Option<String> {
    if object["kind"] != "Secret" {
        return None;
    }
    let what = match object["metadata"]["name"].as_str()? {
        CERT_SECRET => "the control plane's certificates and keys: a CA (ECDSA P-256, or \
            --ca-cert-file/--ca-key-file) and what it signs (apiserver serving certificate for \
            the SANs in the annotation, etcd server/peer/client, the service-account key pair, \
            admin, kube-controller-manager and reconciler client certificates), valid for \
            --cert-validity-period. Generated by init on the first run, reused on later runs."
            .to_string(),
        EXTERNAL_ETCD_SECRET => "the external etcd's CA and client certificate and key, copied \
            by init from --external-etcd-ca-cert-path, --external-etcd-client-cert-path and \
            --external-etcd-client-key-path."
            .to_string(),
        KCM_KUBECONFIG_SECRET | RECONCILER_KUBECONFIG_SECRET => format!(
            "a kubeconfig for {} with the component's client certificate \
             and the CA from {CERT_SECRET}, written by init.",
            in_cluster_server(
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(NAMESPACE)
            )
        ),
        _ => return None,
    };
    let mut note = String::new();
    let mut line = String::from("# Data left empty here:");
    for word in what.split_whitespace() {
        if line.len() + word.len() + 1 > 96 {
            note.push_str(&line);
            note.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    note.push_str(&line);
    note.push('\n');
    Some(note)
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
    use std::time::Duration;

    const DAY: Duration = Duration::from_secs(86400);

    fn request() -> PkiRequest {
        PkiRequest {
            extra_sans: vec!["172.18.0.2".into()],
            // Longer than the renewal window, so a re-run keeps every certificate.
            validity: 365 * DAY,
            ca: None,
            etcd_replicas: 3,
            namespace: NAMESPACE.into(),
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
    fn extra_args_split_at_commas_that_start_a_flag() {
        assert_eq!(
            split_extra_args("--snapshot-count=5000,--heartbeat-interval=100"),
            ["--snapshot-count=5000", "--heartbeat-interval=100"]
        );
        assert_eq!(
            split_extra_args("--authorization-mode=Node,RBAC,v=4"),
            ["--authorization-mode=Node,RBAC", "v=4"]
        );
        assert_eq!(split_extra_args("v=4"), ["v=4"]);
        assert_eq!(split_extra_args("--a=1,,--b"), ["--a=1", "--b"]);
    }

    #[test]
    fn extra_args_take_upstreams_csv_quoting() {
        // What upstream's string-slice flags accept: one CSV record.
        assert_eq!(
            split_extra_args(r#""--tls-cipher-suites=A,B",--v=2"#),
            ["--tls-cipher-suites=A,B", "--v=2"]
        );
        assert_eq!(
            split_extra_args(r#""--x=a,b","--y=say ""hi""""#),
            ["--x=a,b", r#"--y=say "hi""#]
        );
        // A quoted field is a whole flag even when it does not look like one.
        assert_eq!(split_extra_args(r#"--a=1,"b""#), ["--a=1", "b"]);
    }

    #[test]
    fn external_etcd_replaces_the_etcd_objects() {
        let mut cfg = InitConfig::new("v1.37.2", "img");
        cfg.external_etcd = Some(ExternalEtcd {
            servers: vec![
                "https://10.0.0.5:2379".into(),
                "https://10.0.0.6:2379".into(),
            ],
            ca_pem: Some("CA".into()),
            client_cert_pem: None,
            client_key_pem: None,
            key_prefix: Some("/k".into()),
        });
        cfg.validate().unwrap();
        let args = apiserver_args(&cfg);
        assert!(
            args.contains(
                &"--etcd-servers=https://10.0.0.5:2379,https://10.0.0.6:2379".to_string()
            )
        );
        assert!(args.contains(&format!("--etcd-cafile={EXTERNAL_ETCD_DIR}/ca.crt")));
        assert!(!args.iter().any(|a| a.starts_with("--etcd-certfile")));
        assert!(args.contains(&"--etcd-prefix=/k".to_string()));
        let pki = Pki::complete(None, &request()).unwrap();
        let objects = host_objects(&cfg, &pki).unwrap();
        assert!(!objects.iter().any(|o| o["metadata"]["name"] == ETCD));
        assert!(
            objects
                .iter()
                .any(|o| o["metadata"]["name"] == EXTERNAL_ETCD_SECRET)
        );
        let mut bad = cfg.clone();
        bad.external_etcd.as_mut().unwrap().servers = vec!["10.0.0.5:2379".into()];
        assert!(bad.validate().is_err());
        let mut bad = cfg;
        bad.external_etcd.as_mut().unwrap().client_cert_pem = Some("C".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
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
        let certs = a
            .iter()
            .find(|o| o["metadata"]["name"] == CERT_SECRET)
            .unwrap();
        let note = secret_note(certs).unwrap();
        assert!(
            note.lines().all(|l| l.starts_with('#') && l.len() <= 100),
            "{note}"
        );
        let apiserver = a
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == APISERVER)
            .unwrap();
        assert_eq!(
            apiserver["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.k8s.io/kube-apiserver:v1.37.2"
        );
    }

    /// The pod spec of the Deployment or StatefulSet `name`.
    fn pod(objects: &[Value], name: &str) -> Value {
        objects
            .iter()
            .find(|o| {
                (o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
                    && o["metadata"]["name"] == name
            })
            .unwrap_or_else(|| panic!("{name} rendered"))["spec"]["template"]["spec"]
            .clone()
    }

    fn mounted(pod: &Value) -> Vec<String> {
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["secret"]["items"].as_array().cloned().unwrap_or_default())
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect()
    }

    fn command(pod: &Value) -> String {
        serde_json::to_string(&pod["containers"][0]["command"]).unwrap()
    }

    #[test]
    fn etcd_trusts_its_own_ca_only() {
        let cfg = InitConfig::new("v1.37.2", "img");
        let objects = host_objects(&cfg, &Pki::complete(None, &request()).unwrap()).unwrap();
        let etcd = pod(&objects, ETCD);
        let args = command(&etcd);
        assert!(
            args.contains(&format!("--trusted-ca-file={}", pki("etcd-ca.crt"))),
            "{args}"
        );
        assert!(
            args.contains(&format!("--peer-trusted-ca-file={}", pki("etcd-ca.crt"))),
            "{args}"
        );
        assert!(!args.contains(&pki("ca.crt")), "{args}");
        let files = mounted(&etcd);
        assert!(files.contains(&"etcd-ca.crt".to_string()), "{files:?}");
        assert!(
            !files
                .iter()
                .any(|f| f == "ca.crt" || f.ends_with(".key") && !f.starts_with("etcd-")),
            "{files:?}"
        );
        let apiserver = command(&pod(&objects, APISERVER));
        assert!(
            apiserver.contains(&format!("--etcd-cafile={}", pki("etcd-ca.crt"))),
            "{apiserver}"
        );
    }

    #[test]
    fn kube_controller_manager_signs_only_client_certificates() {
        let cfg = InitConfig::new("v1.37.2", "img");
        let objects = host_objects(&cfg, &Pki::complete(None, &request()).unwrap()).unwrap();
        let kcm = pod(&objects, KCM);
        let files = mounted(&kcm);
        // The service-account token controller signs with sa.key and hands out ca.crt; the
        // CA key is for the kube-apiserver-client signer only (pull-mode agents).
        assert_eq!(files, ["ca.crt", "ca.key", "sa.key"]);
        let args = command(&kcm);
        let list: Vec<String> =
            serde_json::from_value(kcm["containers"][0]["command"].clone()).unwrap();
        let signing: Vec<&str> = list
            .iter()
            .map(String::as_str)
            .filter(|a| a.contains("cluster-signing"))
            .collect();
        assert_eq!(
            signing,
            [
                "--cluster-signing-kube-apiserver-client-cert-file=/etc/karmada/pki/ca.crt",
                "--cluster-signing-kube-apiserver-client-key-file=/etc/karmada/pki/ca.key"
            ],
            "{args}"
        );
        assert!(
            args.contains(
                "--controllers=namespace,garbagecollector,serviceaccount-token,serviceaccount,csrsigning"
            ),
            "{args}"
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
