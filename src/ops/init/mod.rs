//! `karmadactl init` and `deinit`: the steps, each usable on its own so the CLI can show
//! progress per phase. Objects come from [`crate::install::manifests`], applied with server-side
//! apply (field manager `karmadactl`), so running init again converges instead of failing, and
//! reuses the certificates stored in the host (the kubeconfig it wrote stays valid).

pub mod install;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
    PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Resource, ResourceExt as _};
use serde_json::Value;

use crate::build_info::FIELD_MANAGER;
use crate::install::manifests::{
    self, APISERVER, CERT_SECRET, ETCD, KCM, NAMESPACE, Pki, RECONCILER,
};
use crate::kubeconfig::{self, Credential, Entry};
use crate::{Error, Result};

/// Context names init writes into the karmada kubeconfig.
pub const HOST_CONTEXT: &str = "karmada-host";
pub const CONTROL_PLANE_CONTEXT: &str = "karmada-apiserver";

/// `~/.kube/karmada.config`.
pub fn default_karmada_kubeconfig() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".kube")
        .join("karmada.config")
}

/// The host cluster init installs into.
pub struct Host {
    pub client: Client,
    /// Its API server URL.
    pub server: String,
    /// Entry for the `karmada-host` context, when the credentials can be copied.
    pub entry: Option<Entry>,
}

/// A host from kubeconfig text (`kind get kubeconfig`), using its current context.
pub async fn host_from_kubeconfig_yaml(yaml: &str) -> Result<Host> {
    let kc = Kubeconfig::from_yaml(yaml).map_err(|e| Error::Kubeconfig {
        path: PathBuf::from("<kind get kubeconfig>"),
        message: e.to_string(),
    })?;
    host_from_kubeconfig(kc, None, "the kind cluster").await
}

/// A host from `--kubeconfig` / `--context`.
pub async fn host_from_target(target: &crate::client::connect::Target) -> Result<Host> {
    let kc = target.load_kubeconfig()?;
    host_from_kubeconfig(kc, target.context.as_deref(), &target.describe()).await
}

async fn host_from_kubeconfig(kc: Kubeconfig, context: Option<&str>, what: &str) -> Result<Host> {
    let entry = entry_from_kubeconfig(&kc, context, HOST_CONTEXT);
    let options = KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| Error::Invalid(format!("{what}: {e}; check the kubeconfig")))?;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| Error::Unreachable {
        target: what.to_string(),
        message: e.to_string(),
    })?;
    // Fail here, with a clear message, rather than halfway through applying.
    client
        .apiserver_version()
        .await
        .map_err(|e| Error::Unreachable {
            target: format!("the host cluster ({what})"),
            message: format!("{e}; check that it runs and the kubeconfig is current"),
        })?;
    Ok(Host {
        client,
        server: server.trim_end_matches('/').to_string(),
        entry,
    })
}

/// The context's server, CA and client certificate or token as an [`Entry`] named `name`;
/// `None` when it authenticates otherwise (exec plugins, ...).
pub fn entry_from_kubeconfig(kc: &Kubeconfig, context: Option<&str>, name: &str) -> Option<Entry> {
    let context = context.map(String::from).or(kc.current_context.clone())?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)?
        .cluster
        .as_ref()?;
    let user = ctx.user.as_deref()?;
    let auth = kc
        .auth_infos
        .iter()
        .find(|a| a.name == user)?
        .auth_info
        .as_ref()?;
    let decode = |data: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let read = |data: Option<String>, file: Option<&String>| match (data, file) {
        (Some(d), _) => decode(&d),
        (None, Some(f)) => std::fs::read_to_string(f).ok(),
        _ => None,
    };
    let ca_pem = read(
        cluster.certificate_authority_data.clone(),
        cluster.certificate_authority.as_ref(),
    )?;
    use secrecy::ExposeSecret as _;
    let credential = if let Some(token) = &auth.token {
        Credential::Token(token.expose_secret().to_string())
    } else {
        let cert_pem = read(
            auth.client_certificate_data.clone(),
            auth.client_certificate.as_ref(),
        )?;
        let key_pem = read(
            auth.client_key_data
                .as_ref()
                .map(|k| k.expose_secret().to_string()),
            auth.client_key.as_ref(),
        )?;
        Credential::ClientCert { cert_pem, key_pem }
    };
    Some(Entry {
        name: name.into(),
        server: cluster.server.clone()?,
        ca_pem,
        credential,
    })
}

/// The host part of a URL (`https://127.0.0.1:6443` -> `127.0.0.1`).
pub fn url_host(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(uri.host()?.trim_matches(['[', ']']).to_string())
}

/// The nodes' InternalIP addresses, sorted (empty when there are none or they may not be listed).
pub async fn node_addresses(client: &Client) -> Vec<String> {
    let Ok(nodes) = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
    else {
        return Vec::new();
    };
    let mut ips: Vec<String> = nodes
        .items
        .iter()
        .flat_map(|n| n.status.iter().flat_map(|s| s.addresses.iter().flatten()))
        .filter(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// Fails when another Service of the host already uses `node_port`.
pub async fn check_node_port(client: &Client, ns: &str, node_port: u16) -> Result<()> {
    let services = Api::<Service>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::Other(anyhow::anyhow!("listing Services in the host: {e}")))?;
    for svc in services {
        let ours = svc.namespace().as_deref() == Some(ns) && svc.name_any() == APISERVER;
        let uses = svc
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .any(|p| p.node_port == Some(i32::from(node_port)));
        if uses && !ours {
            return Err(Error::Invalid(format!(
                "NodePort {node_port} is already used by Service {}/{} in the host cluster; \
                 pass --port with a free NodePort in 30000-32767",
                svc.namespace().unwrap_or_default(),
                svc.name_any()
            )));
        }
    }
    Ok(())
}

/// The certificates a previous init stored in namespace `ns` of the host, if any.
pub async fn existing_pki(client: &Client, ns: &str) -> Result<Option<Pki>> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(CERT_SECRET)
        .await
        .map_err(|e| {
            Error::Other(anyhow::anyhow!(
                "reading Secret {ns}/{CERT_SECRET} from the host: {e}"
            ))
        })?;
    Ok(secret.as_ref().map(Pki::from_secret))
}

fn plural(kind: &str) -> Option<(&'static str, bool)> {
    // (plural, namespaced)
    Some(match kind {
        "Namespace" => ("namespaces", false),
        "Secret" => ("secrets", true),
        "ConfigMap" => ("configmaps", true),
        "Service" => ("services", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "Deployment" => ("deployments", true),
        "StatefulSet" => ("statefulsets", true),
        _ => return None,
    })
}

/// Server-side applies each object (field manager `karmadactl`, forcing conflicts), in order.
pub async fn apply(client: &Client, objects: &[Value]) -> Result<()> {
    apply_with(client, objects, &PatchParams::apply(FIELD_MANAGER).force()).await
}

/// [`apply`] with other patch parameters (e.g. server-side dry run).
pub async fn apply_with(client: &Client, objects: &[Value], params: &PatchParams) -> Result<()> {
    for object in objects {
        let what = manifests::describe(object);
        let kind = object["kind"].as_str().unwrap_or_default();
        let (plural, namespaced) = plural(kind)
            .ok_or_else(|| Error::Invalid(format!("{what}: kind {kind} is not supported")))?;
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = if namespaced {
            let ns = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or(NAMESPACE);
            Api::namespaced_with(client.clone(), ns, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        api.patch(name, params, &Patch::Apply(object))
            .await
            .map_err(|e| Error::Other(anyhow::anyhow!("applying {what}: {e}")))?;
    }
    Ok(())
}

/// A workload init waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub name: &'static str,
    pub stateful: bool,
}

/// In the order init waits for them.
pub const COMPONENTS: [Component; 4] = [
    Component {
        name: ETCD,
        stateful: true,
    },
    Component {
        name: APISERVER,
        stateful: false,
    },
    Component {
        name: KCM,
        stateful: false,
    },
    Component {
        name: RECONCILER,
        stateful: false,
    },
];

/// `Some(ready/desired)` text when not ready yet, `None` when ready.
async fn not_ready(client: &Client, ns: &str, c: Component) -> Result<Option<String>> {
    let (generation, observed, desired, ready, updated) = if c.stateful {
        let Some(s) = Api::<StatefulSet>::namespaced(client.clone(), ns)
            .get_opt(c.name)
            .await?
        else {
            return Ok(Some("the StatefulSet does not exist".into()));
        };
        let st = s.status.clone().unwrap_or_default();
        (
            s.metadata.generation,
            st.observed_generation,
            s.spec.replicas.unwrap_or(1),
            st.ready_replicas.unwrap_or(0),
            st.updated_replicas.unwrap_or(0),
        )
    } else {
        let Some(d) = Api::<Deployment>::namespaced(client.clone(), ns)
            .get_opt(c.name)
            .await?
        else {
            return Ok(Some("the Deployment does not exist".into()));
        };
        let st = d.status.clone().unwrap_or_default();
        (
            d.metadata.generation,
            st.observed_generation,
            d.spec.replicas.unwrap_or(1),
            st.available_replicas
                .unwrap_or(0)
                .min(st.ready_replicas.unwrap_or(0)),
            st.updated_replicas.unwrap_or(0),
        )
    };
    if observed < generation {
        return Ok(Some(
            "the controller has not seen the latest spec yet".into(),
        ));
    }
    if ready >= desired && updated >= desired {
        return Ok(None);
    }
    Ok(Some(format!("{ready}/{desired} ready, {updated} updated")))
}

/// Waits until `c` (in namespace `ns` of the host) has all replicas ready; on timeout the error
/// shows its pods, events and logs.
pub async fn wait_ready(client: &Client, ns: &str, c: Component, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let last = match not_ready(client, ns, c).await {
            Ok(None) => return Ok(()),
            Ok(Some(s)) => s,
            Err(e) => e.to_string(),
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout(format!(
                "{} is not ready after {}s ({last})\n{}",
                c.name,
                timeout.as_secs(),
                diagnose(client, ns, c).await
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Pod status, recent events and log tails of component `c`, for a timeout message.
pub async fn diagnose(client: &Client, ns: &str, c: Component) -> String {
    let pods_api = Api::<Pod>::namespaced(client.clone(), ns);
    let events = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let events_of = |prefix: &str| -> Vec<String> {
        let mut matching: Vec<&Event> = events
            .iter()
            .filter(|e| {
                e.involved_object
                    .name
                    .as_deref()
                    .unwrap_or("")
                    .starts_with(prefix)
            })
            .collect();
        matching.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
        let skip = matching.len().saturating_sub(5);
        matching[skip..]
            .iter()
            .map(|e| {
                format!(
                    "    {} {}: {}",
                    e.type_.as_deref().unwrap_or(""),
                    e.reason.as_deref().unwrap_or(""),
                    e.message.as_deref().unwrap_or("").trim()
                )
            })
            .collect()
    };
    let mut out = String::new();
    let pods = pods_api
        .list(&ListParams::default().labels(&format!("app={}", c.name)))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    if pods.is_empty() {
        out.push_str(&format!(
            "  no pods of {} exist (does the host have schedulable nodes?)\n",
            c.name
        ));
        let ev = events_of(c.name);
        if !ev.is_empty() {
            out.push_str(&format!("  recent events:\n{}\n", ev.join("\n")));
        }
    }
    for pod in pods.iter().take(3) {
        let name = pod.name_any();
        let status = pod.status.clone().unwrap_or_default();
        out.push_str(&format!(
            "  pod {name}: {}\n",
            status.phase.as_deref().unwrap_or("Unknown")
        ));
        for cs in status.container_statuses.iter().flatten() {
            let state = cs.state.clone().unwrap_or_default();
            let detail = if let Some(w) = state.waiting {
                format!(
                    "waiting: {} {}",
                    w.reason.unwrap_or_default(),
                    w.message.unwrap_or_default()
                )
            } else if let Some(t) = state.terminated {
                format!(
                    "terminated: {} (exit {})",
                    t.reason.unwrap_or_default(),
                    t.exit_code
                )
            } else {
                "running".into()
            };
            out.push_str(&format!(
                "    container {}: {detail}, ready={}, restarts={}\n",
                cs.name, cs.ready, cs.restart_count
            ));
        }
        let ev = events_of(&name);
        if !ev.is_empty() {
            out.push_str(&format!("    recent events:\n{}\n", ev.join("\n")));
        }
        let params = LogParams {
            tail_lines: Some(15),
            ..Default::default()
        };
        if let Ok(logs) = pods_api.logs(&name, &params).await
            && !logs.trim().is_empty()
        {
            out.push_str("    log tail:\n");
            for line in logs.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "  inspect: kubectl --context {HOST_CONTEXT} -n {ns} describe pods -l app={}\n  \
         retry: fix the cause and run `karmadactl init` again; it keeps what exists (certificates \
         included) and converges",
        c.name
    ));
    out
}

/// A client for karmada-apiserver from a kubeconfig entry.
pub async fn client_for_entry(entry: &Entry) -> Result<Client> {
    let mut config =
        kube::Config::from_custom_kubeconfig(entry.to_kubeconfig(), &KubeConfigOptions::default())
            .await
            .map_err(|e| Error::Invalid(format!("kubeconfig for {}: {e}", entry.name)))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    Client::try_from(config).map_err(|e| Error::Unreachable {
        target: entry.server.clone(),
        message: e.to_string(),
    })
}

/// Waits until karmada-apiserver answers `/readyz` at the address the kubeconfig names.
pub async fn wait_apiserver_reachable(cp: &Client, server: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| Error::Other(e.into()))?;
        let err = match cp.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout(format!(
                "karmada-apiserver runs but does not answer at {server} within {}s ({err}); \
                 check that the NodePort is reachable from here (on kind: the cluster must have \
                 been created by init, which publishes the port), then run `karmadactl init` again",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Namespace, the reconciler's RBAC and the CRDs in karmada-apiserver.
pub async fn install_control_plane_api(cp: &Client) -> Result<()> {
    apply(cp, &manifests::control_plane_objects()).await?;
    crate::install::crds::install_crds(cp).await
}

/// Merges the contexts into `path` (0600, backup of a changed file at `<path>.bak`).
pub fn write_kubeconfig(path: &Path, entries: &[Entry]) -> Result<Option<PathBuf>> {
    kubeconfig::merge_into_file(path, entries, Some(CONTROL_PLANE_CONTEXT))
}

async fn delete_labelled<K>(client: &Client, how: &Removal, removed: &mut Vec<String>) -> Result<()>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let ns = how.namespace.as_str();
    let api = Api::<K>::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().labels(manifests::MANAGED_BY_SELECTOR))
        .await?;
    for obj in list {
        let name = obj.name_any();
        if how.dry_run {
            removed.push(format!("{}/{ns}/{name}", K::kind(&())));
            continue;
        }
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => removed.push(format!("{}/{ns}/{name}", K::kind(&()))),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// How `deinit` removes what init created.
#[derive(Debug, Clone)]
pub struct Removal {
    /// `-n`: the host namespace init installed into.
    pub namespace: String,
    /// `--purge-namespace`: delete the namespace even if init did not create it.
    pub purge_namespace: bool,
    /// `--dry-run`: only list what would be deleted.
    pub dry_run: bool,
}

/// Deletes everything init created in the host (objects labelled
/// `app.kubernetes.io/managed-by=karmadactl` in its namespace, then the namespace if init
/// created it, or with `purge_namespace` in any case). Returns what it deleted (with
/// `dry_run`: what it would delete); nothing left is not an error.
pub async fn remove_from_host(client: &Client, how: &Removal) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    delete_labelled::<Deployment>(client, how, &mut removed).await?;
    delete_labelled::<StatefulSet>(client, how, &mut removed).await?;
    delete_labelled::<Service>(client, how, &mut removed).await?;
    delete_labelled::<RoleBinding>(client, how, &mut removed).await?;
    delete_labelled::<Role>(client, how, &mut removed).await?;
    delete_labelled::<ServiceAccount>(client, how, &mut removed).await?;
    delete_labelled::<Secret>(client, how, &mut removed).await?;
    delete_labelled::<PersistentVolumeClaim>(client, how, &mut removed).await?;
    let name = how.namespace.as_str();
    let namespaces = Api::<Namespace>::all(client.clone());
    if let Some(ns) = namespaces.get_opt(name).await?
        && (how.purge_namespace
            || ns.labels().get(manifests::MANAGED_BY.0).map(String::as_str)
                == Some(manifests::MANAGED_BY.1))
        && ns.metadata.deletion_timestamp.is_none()
    {
        if how.dry_run {
            removed.push(format!("Namespace/{name}"));
            return Ok(removed);
        }
        match namespaces.delete(name, &DeleteParams::background()).await {
            Ok(_) => removed.push(format!("Namespace/{name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// Removes the `karmada-host` and `karmada-apiserver` contexts (with their clusters and users)
/// from `path`, keeping a backup. Returns whether the file changed.
pub fn remove_contexts(path: &Path) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let mut kc = kubeconfig::read_or_default(path)?;
    let a = kubeconfig::remove(&mut kc, HOST_CONTEXT);
    let b = kubeconfig::remove(&mut kc, CONTROL_PLANE_CONTEXT);
    if !(a || b) {
        return Ok(false);
    }
    let old =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    kubeconfig::write_private(&PathBuf::from(format!("{}.bak", path.display())), &old)?;
    kubeconfig::write(path, &kc)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_host_strips_scheme_port_and_brackets() {
        assert_eq!(
            url_host("https://127.0.0.1:6443").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(url_host("https://[::1]:6443/").as_deref(), Some("::1"));
        assert_eq!(
            url_host("https://kind.example").as_deref(),
            Some("kind.example")
        );
    }

    #[test]
    fn entry_round_trips_through_a_kubeconfig() {
        let entry = Entry {
            name: "x".into(),
            server: "https://127.0.0.1:1".into(),
            ca_pem: "CA".into(),
            credential: Credential::ClientCert {
                cert_pem: "C".into(),
                key_pem: "K".into(),
            },
        };
        let yaml = kubeconfig::to_yaml(&entry.to_kubeconfig()).unwrap();
        let kc = Kubeconfig::from_yaml(&yaml).unwrap();
        let back = entry_from_kubeconfig(&kc, None, HOST_CONTEXT).unwrap();
        assert_eq!(back.name, HOST_CONTEXT);
        assert_eq!(back.server, entry.server);
        assert_eq!(back.ca_pem, "CA");
        assert!(
            matches!(back.credential, Credential::ClientCert { ref key_pem, .. } if key_pem == "K")
        );
    }
}
