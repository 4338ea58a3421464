//! `karmadactl join`: registers a member cluster in push mode, the way Karmada does.
//!
//! In the member: namespace `karmada-cluster`, ServiceAccounts `karmada-<cluster>` and
//! `karmada-impersonator` with long-lived token Secrets, and a ClusterRole/Binding
//! `karmada-controller-manager:karmada-<cluster>`. In the control plane: the Cluster, then the
//! Secrets `<cluster>` (`token`, `caBundle`) and `<cluster>-impersonator` in `karmada-cluster`,
//! created already owned by it, so no credential ever exists there without a Cluster whose
//! deletion removes it. Anything this run created is removed again if a later step fails or
//! the run is interrupted ([`join_until`]).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use kube::{Client, Resource, ResourceExt as _};
use serde_json::{Value, json};

use crate::api::{self as keys, Cluster, names};
use crate::client::connect::Target;
use crate::{Error, Result};

const MANAGER: &str = crate::build_info::FIELD_MANAGER;

/// What the user asked for, already validated.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    pub name: String,
    pub member_kubeconfig: PathBuf,
    pub member_context: Option<String>,
    pub provider: String,
    pub region: String,
    pub zones: Vec<String>,
    pub dry_run: bool,
    /// `--cluster-namespace`: where the member's credentials are kept, in the control plane
    /// and in the member (default `karmada-cluster`).
    pub cluster_namespace: Option<String>,
}

impl JoinOptions {
    pub fn cluster_namespace(&self) -> &str {
        self.cluster_namespace
            .as_deref()
            .unwrap_or(keys::NAMESPACE_KARMADA_CLUSTER)
    }
}

/// What join did (or, with --dry-run, would do).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinPlan {
    pub cluster: String,
    pub member_context: String,
    pub api_endpoint: String,
    pub cluster_id: String,
    pub member_objects: Vec<String>,
    pub control_plane_objects: Vec<String>,
}

/// The context to use in the member kubeconfig: --cluster-context, else one named like the
/// cluster, else the current context.
pub fn choose_context(
    kc: &Kubeconfig,
    name: &str,
    explicit: Option<&str>,
    path: &std::path::Path,
) -> Result<String> {
    let has = |c: &str| kc.contexts.iter().any(|x| x.name == c);
    if let Some(c) = explicit {
        return if has(c) {
            Ok(c.to_string())
        } else {
            Err(Error::Invalid(format!(
                "no context {c:?} in {}; pass one of: {}",
                path.display(),
                context_list(kc)
            )))
        };
    }
    if has(name) {
        return Ok(name.to_string());
    }
    kc.current_context.clone().filter(|c| has(c)).ok_or_else(|| {
        Error::Invalid(format!(
            "{} has no context named {name:?} and no current context; pass --cluster-context (one of: {})",
            path.display(),
            context_list(kc)
        ))
    })
}

fn context_list(kc: &Kubeconfig) -> String {
    let v: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The member's API endpoint and CA bundle (PEM) as its kubeconfig context names them.
fn endpoint_and_ca(
    kc: &Kubeconfig,
    context: &str,
    path: &std::path::Path,
) -> Result<(String, Option<Vec<u8>>)> {
    let bad = |m: String| Error::Kubeconfig {
        path: path.to_path_buf(),
        message: m,
    };
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref());
    let cluster_name = ctx
        .map(|c| c.cluster.clone())
        .ok_or_else(|| bad(format!("context {context:?} is empty")))?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
            bad(format!(
                "context {context:?} names cluster {cluster_name:?}, which is not in the file"
            ))
        })?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| bad(format!("cluster {cluster_name:?} has no server")))?;
    let ca = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(data), _) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| {
                    bad(format!(
                        "certificate-authority-data of {cluster_name:?} is not base64: {e}"
                    ))
                })?,
        ),
        (None, Some(file)) => {
            Some(std::fs::read(file).map_err(|e| bad(format!("reading CA file {file}: {e}")))?)
        }
        (None, None) => None,
    };
    Ok((server, ca))
}

/// Everything join needs to know before it changes anything; fails with a clear reason.
pub async fn plan(
    cp: &Client,
    cp_target: &Target,
    opts: &JoinOptions,
) -> Result<(JoinPlan, Client, Option<Vec<u8>>)> {
    names::validate_cluster_name(&opts.name).map_err(Error::Invalid)?;
    let path = &opts.member_kubeconfig;
    let kc = Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        path: path.clone(),
        // YAML errors quote the offending lines; one line is enough to act on.
        message: format!(
            "{}; pass a readable kubeconfig with --cluster-kubeconfig",
            e.to_string().lines().next().unwrap_or_default()
        ),
    })?;
    let context = choose_context(&kc, &opts.name, opts.member_context.as_deref(), path)?;
    let (endpoint, ca) = endpoint_and_ca(&kc, &context, path)?;
    let member = crate::client::connect::client_for(path, Some(&context)).await?;
    let unreachable = |e: kube::Error| Error::Unreachable {
        target: format!("member cluster (context {context:?} in {})", path.display()),
        message: e.to_string(),
    };
    let id = Api::<Namespace>::all(member.clone())
        .get("kube-system")
        .await
        .map_err(unreachable)?
        .uid()
        .unwrap_or_default();

    // Refuse to join the control plane to itself.
    let cp_id = Api::<Namespace>::all(cp.clone())
        .get_opt("kube-system")
        .await
        .ok()
        .flatten()
        .and_then(|n| n.uid());
    let cp_endpoint = cp_target
        .config(None)
        .await
        .ok()
        .map(|c| c.cluster_url.to_string());
    let same_endpoint = cp_endpoint
        .as_deref()
        .is_some_and(|e| e.trim_end_matches('/') == endpoint.trim_end_matches('/'));
    if same_endpoint || cp_id.as_deref() == Some(id.as_str()) {
        let fell_back =
            opts.member_context.is_none() && !kc.contexts.iter().any(|c| c.name == opts.name);
        return Err(Error::Invalid(if fell_back {
            format!(
                "{} has no context named {:?}, so its current context {context:?} was used, and that is the \
                 Karmada control plane itself; pass the member's context with --cluster-context (contexts: {})",
                path.display(),
                opts.name,
                context_list(&kc)
            )
        } else {
            format!(
                "context {context:?} in {} is the Karmada control plane itself; pass the member's kubeconfig \
                 with --cluster-kubeconfig or its context with --cluster-context",
                path.display()
            )
        }));
    }
    let clusters: Api<Cluster> = Api::all(cp.clone());
    if clusters.get_opt(&opts.name).await?.is_some() {
        return Err(Error::Invalid(format!(
            "cluster {:?} is already joined; unjoin it first (karmadactl unjoin {}) or pick another name",
            opts.name, opts.name
        )));
    }
    if let Some(other) = clusters
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .find(|c| c.spec.id == id)
    {
        return Err(Error::Invalid(format!(
            "this cluster is already joined as {:?} (same kube-system UID {id}); it cannot join twice",
            other.name_any()
        )));
    }
    let sa = names::member_service_account(&opts.name);
    let role = names::member_cluster_role(&sa);
    let ns = opts.cluster_namespace();
    let plan = JoinPlan {
        cluster: opts.name.clone(),
        member_context: context,
        api_endpoint: endpoint,
        cluster_id: id,
        member_objects: vec![
            format!("namespace/{ns}"),
            format!("serviceaccount/{ns}/{sa}"),
            format!("serviceaccount/{ns}/{IMPERSONATOR}"),
            format!("secret/{ns}/{sa}-token"),
            format!("secret/{ns}/{IMPERSONATOR}-token"),
            format!("clusterrole/{role}"),
            format!("clusterrolebinding/{role}"),
        ],
        control_plane_objects: vec![
            format!("namespace/{ns}"),
            format!("secret/{ns}/{}", opts.name),
            format!("secret/{ns}/{}", names::impersonator_secret(&opts.name)),
            format!("cluster/{}", opts.name),
        ],
    };
    Ok((plan, member, ca))
}

const IMPERSONATOR: &str = "karmada-impersonator";

/// Objects created so far, to undo on failure (existing ones are never removed). An object is
/// recorded before its create request is sent, so one whose request was in flight when the run
/// was interrupted is undone too (deleting one that was never created is a harmless 404).
#[derive(Default)]
struct Created {
    member: Vec<(&'static str, String)>,
    control_plane: Vec<(&'static str, String)>,
}

/// Performs the join. Rolls back what it created if any step fails.
pub async fn join(
    cp: &Client,
    plan: &JoinPlan,
    member: &Client,
    ca: Option<Vec<u8>>,
    opts: &JoinOptions,
) -> Result<()> {
    join_until(cp, plan, member, ca, opts, std::future::pending()).await
}

/// Performs the join unless `interrupt` resolves first (the CLI passes Ctrl-C): then the step
/// under way is abandoned and everything this run created, in the member and in the control
/// plane, is removed before it returns [`Error::Interrupted`]. The rollback itself is not
/// interruptible.
pub async fn join_until(
    cp: &Client,
    plan: &JoinPlan,
    member: &Client,
    ca: Option<Vec<u8>>,
    opts: &JoinOptions,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let mut created = Created::default();
    let result = {
        let steps = join_steps(cp, plan, member, ca, opts, &mut created);
        tokio::pin!(steps);
        tokio::pin!(interrupt);
        tokio::select! {
            r = &mut steps => r,
            () = &mut interrupt => Err(Error::Interrupted(format!(
                "join of cluster {} was stopped; what it had created is removed",
                opts.name
            ))),
        }
    };
    if result.is_err() {
        rollback(cp, member, &created).await;
    }
    result
}

async fn join_steps(
    cp: &Client,
    plan: &JoinPlan,
    member: &Client,
    ca: Option<Vec<u8>>,
    opts: &JoinOptions,
    created: &mut Created,
) -> Result<()> {
    let ns = opts.cluster_namespace();
    let sa = names::member_service_account(&opts.name);
    let role = names::member_cluster_role(&sa);
    let system_labels = json!({keys::LABEL_KARMADA_SYSTEM: "true"});

    // --- member side ---
    wait_until_not_terminating(member, ns).await?;
    ensure(
        member,
        created,
        true,
        "namespace",
        ns,
        json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": system_labels}}),
    )
    .await?;
    for name in [sa.as_str(), IMPERSONATOR] {
        ensure(
            member,
            created,
            true,
            "serviceaccount",
            name,
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "labels": system_labels}}),
        )
        .await?;
        ensure(
            member,
            created,
            true,
            "secret",
            &format!("{name}-token"),
            json!({"apiVersion": "v1", "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {"name": format!("{name}-token"), "namespace": ns, "labels": system_labels,
                "annotations": {"kubernetes.io/service-account.name": name}}}),
        )
        .await?;
    }
    ensure(member, created, true, "clusterrole", &role, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": role, "labels": system_labels},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["get"]}]})).await?;
    ensure(
        member,
        created,
        true,
        "clusterrolebinding",
        &role,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": role, "labels": system_labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}),
    )
    .await?;
    let token = service_account_token(member, ns, &sa).await?;
    let impersonator_token = service_account_token(member, ns, IMPERSONATOR).await?;

    // --- control-plane side ---
    ensure(
        cp,
        created,
        false,
        "namespace",
        ns,
        json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": system_labels}}),
    )
    .await?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut data = json!({keys::SECRET_TOKEN_KEY: b64(token.as_bytes())});
    if let Some(ca) = &ca {
        data[keys::SECRET_CA_BUNDLE_KEY] = json!(b64(ca));
    }
    let secret_name = opts.name.clone();
    let imp_name = names::impersonator_secret(&opts.name);
    // The Cluster first, then its Secrets created already owned by it: whatever happens
    // after this point (a failure, Ctrl-C, even SIGKILL), deleting the Cluster (rollback,
    // unjoin) lets the garbage collector remove the credentials. Until the Secret exists the
    // reconciler cannot probe the Cluster and reports Ready=Unknown.
    let cluster = json!({"apiVersion": Cluster::api_version(&()), "kind": Cluster::kind(&()),
        "metadata": {"name": opts.name},
        "spec": {"id": plan.cluster_id, "syncMode": "Push", "apiEndpoint": plan.api_endpoint,
            "secretRef": {"namespace": ns, "name": secret_name},
            "impersonatorSecretRef": {"namespace": ns, "name": imp_name},
            "provider": opts.provider, "region": opts.region, "zones": opts.zones}});
    let cluster_obj: Cluster = {
        let api: Api<Cluster> = Api::all(cp.clone());
        let typed: Cluster =
            serde_json::from_value(cluster).map_err(|e| Error::Invalid(e.to_string()))?;
        // Recorded before the request, like every object: an interrupted create is undone.
        created.control_plane.push(("cluster", opts.name.clone()));
        let pp = PostParams {
            field_manager: Some(MANAGER.into()),
            ..Default::default()
        };
        match api.create(&pp, &typed).await {
            Ok(c) => c,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Another join got there first: its Cluster, not ours to undo.
                created.control_plane.pop();
                return Err(Error::Invalid(format!(
                    "cluster {:?} was joined meanwhile by someone else; unjoin it first or pick another name",
                    opts.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let owner = json!([{"apiVersion": Cluster::api_version(&()), "kind": Cluster::kind(&()),
        "name": opts.name, "uid": cluster_obj.uid(), "blockOwnerDeletion": true}]);
    let secrets: Api<Secret> = Api::namespaced(cp.clone(), ns);
    for (name, data) in [
        (&secret_name, data),
        (
            &imp_name,
            json!({keys::SECRET_TOKEN_KEY: b64(impersonator_token.as_bytes())}),
        ),
    ] {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": owner}, "data": data});
        let before = created.control_plane.len();
        ensure(cp, created, false, "secret", name, secret.clone()).await?;
        if created.control_plane.len() == before {
            // Left over from an earlier join: it gets this join's credentials and owner.
            secrets
                .patch(name, &PatchParams::default(), &Patch::Merge(secret))
                .await?;
        }
    }
    Ok(())
}

/// Creates an object unless it exists; records what it created.
async fn ensure(
    client: &Client,
    created: &mut Created,
    member: bool,
    kind: &'static str,
    name: &str,
    obj: Value,
) -> Result<()> {
    let pp = PostParams {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    };
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(String::from);
    macro_rules! create {
        ($ty:ty, $api:expr) => {{
            let api: Api<$ty> = $api;
            if api.get_opt(name).await?.is_none() {
                let typed: $ty =
                    serde_json::from_value(obj).map_err(|e| Error::Invalid(e.to_string()))?;
                let key = match &ns {
                    Some(n) => format!("{n}/{name}"),
                    None => name.to_string(),
                };
                // Recorded before the request: an interrupted create is undone too.
                let list = if member {
                    &mut created.member
                } else {
                    &mut created.control_plane
                };
                list.push((kind, key));
                match api.create(&pp, &typed).await {
                    Ok(_) => {}
                    // Created meanwhile by someone else (another join): theirs, not ours to undo.
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        list.pop();
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }};
    }
    let ns_str = ns.clone().unwrap_or_default();
    match kind {
        "namespace" => create!(Namespace, Api::all(client.clone())),
        "serviceaccount" => create!(ServiceAccount, Api::namespaced(client.clone(), &ns_str)),
        "secret" => create!(Secret, Api::namespaced(client.clone(), &ns_str)),
        "clusterrole" => create!(ClusterRole, Api::all(client.clone())),
        "clusterrolebinding" => create!(ClusterRoleBinding, Api::all(client.clone())),
        other => return Err(Error::Invalid(format!("join cannot create a {other}"))),
    }
    Ok(())
}

/// The long-lived token of a ServiceAccount: from its token Secret once the member's token
/// controller fills it; a member without one (no kube-controller-manager) gets a one-year
/// TokenRequest token instead.
async fn service_account_token(member: &Client, ns: &str, sa: &str) -> Result<String> {
    let secrets: Api<Secret> = Api::namespaced(member.clone(), ns);
    for _ in 0..4 {
        if let Some(token) = secrets
            .get_opt(&format!("{sa}-token"))
            .await?
            .and_then(|s| s.data)
            .and_then(|d| {
                d.get("token")
                    .map(|t| String::from_utf8_lossy(&t.0).to_string())
            })
            .filter(|t| !t.is_empty())
        {
            return Ok(token);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::info!(
        "the member's token controller did not fill secret {ns}/{sa}-token; using a one-year TokenRequest token"
    );
    let sas: Api<ServiceAccount> = Api::namespaced(member.clone(), ns);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(365 * 24 * 3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = sas
        .create_token_request(sa, &PostParams::default(), &request)
        .await?;
    response
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Invalid(format!("the member issued no token for {ns}/{sa}")))
}

async fn rollback(cp: &Client, member: &Client, created: &Created) {
    for (client, objects, side) in [
        (cp, &created.control_plane, "control plane"),
        (member, &created.member, "member"),
    ] {
        for (kind, key) in objects.iter().rev() {
            // The control plane's karmada-cluster namespace holds every cluster's Secrets, and
            // a concurrent join may be using it: it stays.
            if side == "control plane" && *kind == "namespace" {
                continue;
            }
            let (ns, name) = key
                .split_once('/')
                .map_or((None, key.as_str()), |(n, k)| (Some(n), k));
            let dp = DeleteParams::background();
            let res = match (*kind, ns) {
                ("namespace", _) => Api::<Namespace>::all(client.clone())
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                ("serviceaccount", Some(n)) => Api::<ServiceAccount>::namespaced(client.clone(), n)
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                ("secret", Some(n)) => Api::<Secret>::namespaced(client.clone(), n)
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                ("clusterrole", _) => Api::<ClusterRole>::all(client.clone())
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                ("clusterrolebinding", _) => Api::<ClusterRoleBinding>::all(client.clone())
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                ("cluster", _) => Api::<Cluster>::all(client.clone())
                    .delete(name, &dp)
                    .await
                    .map(|_| ()),
                _ => Ok(()),
            };
            match res {
                Ok(()) => {}
                // Recorded, but its create never happened (interrupted or refused).
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    tracing::warn!("rollback: could not remove {kind} {key} from the {side}: {e}")
                }
            }
        }
    }
}

/// Waits until the Cluster reports Ready=True; on timeout says what it last saw.
pub async fn wait_ready(cp: &Client, name: &str, timeout: Duration) -> Result<()> {
    let api: Api<Cluster> = Api::all(cp.clone());
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = "no status yet (is karmada-reconciler running?)".to_string();
    while tokio::time::Instant::now() < deadline {
        if let Some(c) = api.get_opt(name).await?
            && let Some(cond) = c.status.as_ref().and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == keys::CONDITION_READY)
            })
        {
            if cond.status == "True" {
                return Ok(());
            }
            last = format!("Ready={} ({}: {})", cond.status, cond.reason, cond.message);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(Error::Timeout(format!(
        "cluster {name} is not Ready after {}s; last seen: {last}",
        timeout.as_secs()
    )))
}

/// A namespace left by an earlier unjoin may still be terminating; nothing can be created in it
/// until it is gone, so wait for that (bounded) rather than fail half-way.
async fn wait_until_not_terminating(member: &Client, ns: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(member.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match api.get_opt(ns).await? {
            Some(n) if n.metadata.deletion_timestamp.is_some() => {}
            _ => return Ok(()),
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Timeout(format!(
                "namespace {ns} in the member is still being deleted (an earlier unjoin?); run join again once it is gone"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
