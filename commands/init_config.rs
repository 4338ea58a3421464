//! `karmadactl init --config FILE`: upstream's init configuration file
//! (`apiVersion: config.karmada.io/v1alpha1`, `kind: KarmadaInitConfig`), mapped onto the
//! flags. As upstream does, a value set in the file wins over the flag's value.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::init::{InitArgs, StorageMode};

pub const API_VERSION: &str = "config.karmada.io/v1alpha1";
pub const KIND: &str = "KarmadaInitConfig";

/// What the file says, applied to `args`. Returns the host kubeconfig it names
/// (`spec.hostCluster.kubeconfig`), for the caller to use as --kubeconfig, and notes about
/// settings that do not apply here.
pub fn apply(args: &mut InitArgs, path: &Path) -> anyhow::Result<(Option<PathBuf>, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--config {}: {e}", path.display()))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        anyhow::Error::new(crate::Usage(format!("--config {}: {e}", path.display())))
    })?;
    if doc["apiVersion"] != API_VERSION || doc["kind"] != KIND {
        usage!(
            "--config {}: expected apiVersion {API_VERSION} and kind {KIND}, got {} {}",
            path.display(),
            doc["apiVersion"],
            doc["kind"]
        );
    }
    let spec = &doc["spec"];
    let mut notes = Vec::new();
    let bad = |field: &str, why: &str| -> anyhow::Error {
        anyhow::Error::new(crate::Usage(format!(
            "--config {}: spec.{field}: {why}",
            path.display()
        )))
    };
    let text_of = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(String::from);
    let list_of = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    // `repository` and `tag` inline (upstream's CommonSettings), or under `image`.
    let image_of = |v: &Value| -> Option<String> {
        [v, &v["image"]].into_iter().find_map(|v| {
            match (text_of(&v["repository"]), text_of(&v["tag"])) {
                (Some(r), Some(t)) => Some(format!("{r}:{t}")),
                _ => None,
            }
        })
    };
    let replicas_of = |v: &Value, field: &str| -> anyhow::Result<Option<i32>> {
        match &v["replicas"] {
            Value::Null => Ok(None),
            n => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| bad(&format!("{field}.replicas"), "not a positive number")),
        }
    };
    // `[{name, value}]` → `--name=value`.
    let args_of = |v: &Value| -> Vec<String> {
        v["extraArgs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        let name = x["name"].as_str()?;
                        Some(match x["value"].as_str() {
                            Some(value) => format!("--{name}={value}"),
                            None => format!("--{name}"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    // Host cluster and images.
    let host = &spec["hostCluster"];
    let kubeconfig = text_of(&host["kubeconfig"]).map(PathBuf::from);
    if let Some(c) = text_of(&host["context"]) {
        args.context = Some(c);
    }
    if text_of(&host["domain"]).is_some() || text_of(&host["apiEndpoint"]).is_some() {
        notes.push(
            "spec.hostCluster.domain/apiEndpoint (the cluster domain is cluster.local)".into(),
        );
    }
    let images = &spec["images"];
    if let Some(v) = text_of(&images["imagePullPolicy"]) {
        args.image_pull_policy = v;
    }
    let secrets = list_of(&images["imagePullSecrets"]);
    if !secrets.is_empty() {
        args.image_pull_secrets = secrets;
    }
    if let Some(v) = text_of(&images["kubeImageMirrorCountry"]) {
        args.kube_image_mirror_country = Some(v);
    }
    if let Some(v) = text_of(&images["kubeImageRegistry"]) {
        args.kube_image_registry = Some(v);
    }
    if let Some(v) = text_of(&images["kubeImageTag"]) {
        args.kube_image_tag = Some(v);
    }
    if let Some(v) = text_of(&images["privateRegistry"]["registry"]) {
        args.private_image_registry = Some(v);
    }
    if let Some(n) = spec["waitComponentReadyTimeout"].as_u64() {
        args.wait_component_ready_timeout = n;
    }

    // Certificates.
    let certs = &spec["certificates"];
    if let Some(v) = text_of(&certs["caCertFile"]) {
        args.ca_cert_file = Some(v.into());
    }
    if let Some(v) = text_of(&certs["caKeyFile"]) {
        args.ca_key_file = Some(v.into());
    }
    let dns = list_of(&certs["externalDNS"]);
    if !dns.is_empty() {
        args.cert_external_dns = dns;
    }
    let ips = list_of(&certs["externalIP"]);
    if !ips.is_empty() {
        args.cert_external_ip = ips;
    }
    if let Some(v) = text_of(&certs["validityPeriod"]) {
        args.cert_validity_period = karmadactl::duration::parse_positive(&v)
            .map_err(|e| bad("certificates.validityPeriod", &e))?;
    }

    // etcd: local or external.
    let local = &spec["etcd"]["local"];
    if local.is_object() {
        if let Some(i) = image_of(local) {
            args.etcd_image = Some(i);
        }
        if let Some(n) = replicas_of(local, "etcd.local")? {
            args.etcd_replicas = n;
        }
        if let Some(v) = text_of(&local["dataPath"]) {
            args.etcd_data = v;
        }
        if let Some(m) = local["nodeSelectorLabels"].as_object() {
            let labels: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            args.etcd_node_selector_labels = Some(labels.join(","));
        }
        if let Some(v) = text_of(&local["pvcSize"]) {
            args.etcd_pvc_size = v;
        }
        if let Some(v) = text_of(&local["storageMode"]) {
            args.etcd_storage_mode = <StorageMode as clap::ValueEnum>::from_str(&v, false)
                .map_err(|_| bad("etcd.local.storageMode", "use emptyDir, hostPath or PVC"))?;
        }
        if let Some(v) = text_of(&local["storageClassesName"]) {
            args.storage_classes_name = Some(v);
        }
        let extra = args_of(local);
        if !extra.is_empty() {
            args.etcd_extra_args = extra;
        }
    }
    let external = &spec["etcd"]["external"];
    if external.is_object() {
        let endpoints = list_of(&external["endpoints"]);
        if endpoints.is_empty() {
            return Err(bad("etcd.external.endpoints", "required"));
        }
        args.external_etcd_servers = endpoints;
        args.external_etcd_ca_cert_path = text_of(&external["caFile"]).map(PathBuf::from);
        args.external_etcd_client_cert_path = text_of(&external["certFile"]).map(PathBuf::from);
        args.external_etcd_client_key_path = text_of(&external["keyFile"]).map(PathBuf::from);
        args.external_etcd_key_prefix = text_of(&external["keyPrefix"]);
    }

    // Components.
    let components = &spec["components"];
    let apiserver = &components["karmadaAPIServer"];
    if apiserver.is_object() {
        if let Some(i) = image_of(apiserver) {
            args.karmada_apiserver_image = Some(i);
        }
        if let Some(n) = replicas_of(apiserver, "components.karmadaAPIServer")? {
            args.karmada_apiserver_replicas = n;
        }
        if let Some(v) = text_of(&apiserver["advertiseAddress"]) {
            args.karmada_apiserver_advertise_address = Some(v);
        }
        if let Some(port) = apiserver["networking"]["port"].as_u64() {
            args.port = u16::try_from(port)
                .map_err(|_| bad("components.karmadaAPIServer.networking.port", "not a port"))?;
        }
        if let Some(ns) = text_of(&apiserver["networking"]["namespace"]) {
            args.namespace = ns;
        }
        let extra = args_of(apiserver);
        if !extra.is_empty() {
            args.karmada_apiserver_extra_args = extra;
        }
    }
    let kcm = &components["kubeControllerManager"];
    if kcm.is_object() {
        if let Some(i) = image_of(kcm) {
            args.karmada_kube_controller_manager_image = Some(i);
        }
        if let Some(n) = replicas_of(kcm, "components.kubeControllerManager")? {
            args.karmada_kube_controller_manager_replicas = n;
        }
        let extra = args_of(kcm);
        if !extra.is_empty() {
            args.karmada_kube_controller_manager_extra_args = extra;
        }
    }
    for other in [
        "karmadaControllerManager",
        "karmadaScheduler",
        "karmadaWebhook",
        "karmadaAggregatedAPIServer",
    ] {
        if components[other].is_object() {
            notes.push(format!(
                "spec.components.{other} (karmada-reconciler does its work)"
            ));
        }
    }
    if let Some(v) = text_of(&spec["karmadaCRDs"]) {
        args.upstream_only.crds = Some(v);
    }
    if let Some(v) = text_of(&spec["karmadaDataPath"]) {
        args.karmada_data = Some(v.into());
    }
    if let Some(v) = text_of(&spec["karmadaPKIPath"]) {
        args.karmada_pki = Some(v.into());
    }
    Ok((kubeconfig, notes))
}
