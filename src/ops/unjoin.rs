//! `karmadactl unjoin`: removes a member cluster that `join` registered.
//!
//! Deleting the Cluster is enough for the control plane: the reconciler's finalizer
//! (`karmada.io/cluster-controller`) deletes the Works in `karmada-es-<cluster>` (whose own
//! finalizer removes the member objects first) and the execution namespace, and the garbage
//! collector removes the Secrets the Cluster owns. With the member's kubeconfig, unjoin also
//! removes what join created in the member (only objects labelled `karmada.io/system=true`).
//! Without it, when the member answers, unjoin revokes the member token with the Cluster's own
//! credentials (read before the Cluster goes) once the Cluster is gone: it deletes the
//! ServiceAccounts (which invalidates every token of theirs) and says what only an admin can
//! remove.
//! With `force`, a member that cannot be reached does not block: after a short wait the
//! finalizers are removed by hand and what could not be cleaned is reported.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::config::Kubeconfig;
use kube::{Client, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::{self as keys, Cluster, Work, names};
use crate::ops::get::{not_found, one_line};
use crate::{Error, Result};

/// The ServiceAccount join creates for impersonation; shared by every join of a member.
const IMPERSONATOR: &str = "karmada-impersonator";

/// How long `force` waits for the normal clean-up when the member cannot be reached.
pub const FORCE_GRACE: Duration = Duration::from_secs(5);

/// What the user asked for, already validated.
#[derive(Debug, Clone)]
pub struct UnjoinOptions {
    pub name: String,
    /// The member's kubeconfig: also remove join's objects from the member.
    pub member_kubeconfig: Option<PathBuf>,
    pub member_context: Option<String>,
    /// Complete even if the member cannot be reached.
    pub force: bool,
    /// Wait until the Cluster is gone (implied by `force` and `member_kubeconfig`).
    pub wait: bool,
    pub wait_timeout: Duration,
    /// With `force`: how long to wait before removing finalizers by hand when the member is
    /// unreachable.
    pub force_grace: Duration,
    /// `--cluster-namespace`: where join kept the member's credentials (default
    /// `karmada-cluster`).
    pub cluster_namespace: Option<String>,
}

impl UnjoinOptions {
    pub fn cluster_namespace(&self) -> &str {
        self.cluster_namespace
            .as_deref()
            .unwrap_or(keys::NAMESPACE_KARMADA_CLUSTER)
    }
}

impl Default for UnjoinOptions {
    fn default() -> Self {
        UnjoinOptions {
            name: String::new(),
            member_kubeconfig: None,
            member_context: None,
            force: false,
            wait: false,
            wait_timeout: Duration::from_secs(60),
            force_grace: FORCE_GRACE,
            cluster_namespace: None,
        }
    }
}

/// What unjoin did.
#[derive(Debug, Clone, Default)]
pub struct UnjoinReport {
    pub cluster: String,
    /// Whether the Cluster object existed (false: only member-side clean-up was done).
    pub cluster_existed: bool,
    /// Whether the Cluster is gone from the control plane (false: deletion only requested).
    pub gone: bool,
    /// Finalizers removed by hand (`--force`), as `kind/name`.
    pub forced: Vec<String>,
    /// Member-side objects of join that were removed.
    pub member_removed: Vec<String>,
    /// Lines saying what could not be cleaned and how to finish by hand.
    pub leftovers: Vec<String>,
}

/// What unjoin will act on: the Cluster (if it exists) and, with a member kubeconfig, a
/// member client checked to be the same cluster.
pub struct UnjoinPlan {
    pub cluster: Option<Cluster>,
    pub member: Option<Client>,
    /// Why the member kubeconfig could not be used (only with `force`).
    pub member_error: Option<String>,
}

/// Checks everything before anything changes: the Cluster exists (or, with a member
/// kubeconfig, join's objects are still in the member), the member kubeconfig is readable
/// and names that very cluster.
pub async fn plan(cp: &Client, opts: &UnjoinOptions) -> Result<UnjoinPlan> {
    names::validate_cluster_name(&opts.name).map_err(Error::Invalid)?;
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let cluster = clusters.get_opt(&opts.name).await.map_err(cp_error)?;
    let mut member = None;
    let mut member_error = None;
    if let Some(path) = &opts.member_kubeconfig {
        match member_client(path, &opts.name, opts.member_context.as_deref()).await {
            Ok(client) => {
                let id = Api::<Namespace>::all(client.clone())
                    .get("kube-system")
                    .await
                    .map(|n| n.uid().unwrap_or_default());
                match id {
                    Ok(id) => {
                        if let Some(c) = &cluster
                            && !c.spec.id.is_empty()
                            && c.spec.id != id
                        {
                            return Err(Error::Invalid(format!(
                                "{} is not cluster {} (kube-system UID {id}, the Cluster has {}); pass the right --cluster-kubeconfig/--cluster-context",
                                path.display(),
                                opts.name,
                                c.spec.id
                            )));
                        }
                        member = Some(client);
                    }
                    Err(e) => {
                        let message = format!(
                            "cannot reach member cluster {} with {}: {}",
                            opts.name,
                            path.display(),
                            one_line(&e)
                        );
                        if !opts.force || cluster.is_none() {
                            return Err(Error::Invalid(format!(
                                "{message}; pass --force to unjoin anyway"
                            )));
                        }
                        member_error = Some(message);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    if cluster.is_none() {
        let leftover = match &member {
            Some(m) => !member_objects(m, &opts.name, opts.cluster_namespace())
                .await?
                .is_empty(),
            None => false,
        };
        if !leftover {
            return Err(not_found(&opts.name));
        }
    }
    Ok(UnjoinPlan {
        cluster,
        member,
        member_error,
    })
}

async fn member_client(
    path: &std::path::Path,
    name: &str,
    context: Option<&str>,
) -> Result<Client> {
    let kc = Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        path: path.to_path_buf(),
        // YAML errors quote the offending lines; one line is enough to act on.
        message: format!(
            "{}; pass a readable kubeconfig with --cluster-kubeconfig",
            e.to_string().lines().next().unwrap_or_default()
        ),
    })?;
    let context = crate::ops::join::choose_context(&kc, name, context, path)?;
    crate::client::connect::Target {
        kubeconfig: Some(path.to_path_buf()),
        context: Some(context),
    }
    .client_with_timeout(Some(Duration::from_secs(10)))
    .await
}

fn cp_error(e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) => Error::Invalid(format!(
            "the control plane refused the request: {}",
            s.message
        )),
        other => Error::Unreachable {
            target: "the control plane".into(),
            message: one_line(&other),
        },
    }
}

/// Deletes the Cluster, waits as asked, forces if asked, and cleans the member side.
pub async fn unjoin(
    cp: &Client,
    plan: UnjoinPlan,
    opts: &UnjoinOptions,
    mut progress: impl FnMut(&str),
) -> Result<UnjoinReport> {
    let name = opts.name.clone();
    let mut report = UnjoinReport {
        cluster: name.clone(),
        cluster_existed: plan.cluster.is_some(),
        ..Default::default()
    };
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let es = names::execution_namespace(&name);
    let works: Api<Work> = Api::namespaced(cp.clone(), &es);

    // Without the member's kubeconfig: the Cluster's own credentials, to revoke the member
    // token once the Cluster is gone (its Secrets go with it, so they are read now).
    let mut own: Option<Client> = None;
    let mut own_error: Option<String> = None;
    if let (Some(cluster), None) = (&plan.cluster, &opts.member_kubeconfig) {
        match own_credentials(cp, cluster).await {
            Ok(c) => own = Some(c),
            Err(e) => own_error = Some(e),
        }
    }

    if let Some(cluster) = &plan.cluster {
        // With --force, note what the Works put into the member while we can still read them.
        let mut work_objects: Vec<String> = Vec::new();
        let reachable = plan.member.is_some() || own.is_some();
        if opts.force {
            for w in works.list(&ListParams::default()).await.map_err(cp_error)? {
                for m in &w.spec.workload.manifests {
                    work_objects.push(manifest_key(&m.value()));
                }
            }
        }
        if cluster.metadata.deletion_timestamp.is_none() {
            match clusters.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(cp_error(e)),
            }
        }
        // Waiting is implied by what comes after: cleaning or revoking in the member must wait
        // until the reconciler no longer needs the token to remove the Works' objects.
        let asked = opts.wait || opts.force || plan.member.is_some();
        if asked || own.is_some() {
            let first_wait = if opts.force && !reachable {
                opts.force_grace.min(opts.wait_timeout)
            } else {
                opts.wait_timeout
            };
            progress(&format!("waiting for cluster {name} to be removed"));
            let gone = wait_gone(&clusters, &name, first_wait).await?;
            if !gone && !opts.force && asked {
                return Err(Error::Timeout(format!(
                    "cluster {name} is still being removed after {}s ({}); is karmada-reconciler running? \
                     re-run with --force to finish without it",
                    opts.wait_timeout.as_secs(),
                    describe_remaining(&works).await
                )));
            }
            if !gone && !opts.force {
                // Only waited to revoke the token: deletion stays requested, the token stays.
                report.leftovers.push(format!(
                    "cluster {name} is still being removed after {}s ({}), so its token in the member was not revoked; \
                     once it is gone, run karmadactl unjoin {name} --cluster-kubeconfig=<member kubeconfig>",
                    opts.wait_timeout.as_secs(),
                    describe_remaining(&works).await
                ));
                own = None;
            } else {
                if !gone {
                    progress(&format!("removing the finalizers of cluster {name}"));
                    report.forced = force_release(cp, &name).await?;
                    if !wait_gone(&clusters, &name, Duration::from_secs(30)).await? {
                        return Err(Error::Timeout(format!(
                            "cluster {name} is still there after its finalizers were removed; \
                             check kubectl get cluster {name} -o yaml"
                        )));
                    }
                }
                report.gone = true;
            }
            if opts.force && !reachable && !work_objects.is_empty() {
                report.leftovers.push(format!(
                    "member objects left in {name}: {}; remove them by hand or re-run with --cluster-kubeconfig when it is back",
                    work_objects.join(", ")
                ));
            }
        }
    }

    if let Some(member) = &own {
        progress(&format!("revoking the token of member {name}"));
        let (removed, left) = revoke(member, &name, opts.cluster_namespace()).await;
        report.member_removed = removed;
        if !left.is_empty() {
            report.leftovers.push(format!(
                "left in member {name}: {}; its token is revoked (the ServiceAccount is gone), but only an admin can remove these: \
                 karmadactl unjoin {name} --cluster-kubeconfig=<member kubeconfig>",
                left.join(", ")
            ));
        }
    } else if let Some(e) = own_error {
        report.leftovers.push(format!(
            "{e}; join's credentials are left in {name} (namespace {}); re-run karmadactl unjoin {name} --cluster-kubeconfig=... when it is back",
            keys::NAMESPACE_KARMADA_CLUSTER
        ));
    }

    match (&plan.member, &plan.member_error) {
        (Some(member), _) => {
            progress(&format!("removing join's objects from member {name}"));
            report.member_removed = clean_member(member, &name, opts.cluster_namespace()).await?;
        }
        (None, Some(e)) => report.leftovers.push(format!(
            "{e}; join's credentials are left in {name} (namespace {}); re-run karmadactl unjoin {name} --cluster-kubeconfig=... when it is back",
            opts.cluster_namespace()
        )),
        (None, None) => {}
    }
    Ok(report)
}

/// A client for the member with the Cluster's own credentials, checked to answer as that
/// cluster (its kube-system UID is the Cluster's `spec.id`).
async fn own_credentials(cp: &Client, cluster: &Cluster) -> std::result::Result<Client, String> {
    let name = cluster.name_any();
    let client = crate::client::member::client(cp, cluster, Duration::from_secs(5))
        .await
        .map_err(|e| format!("cannot use cluster {name}'s credentials: {e}"))?;
    let id = Api::<Namespace>::all(client.clone())
        .get("kube-system")
        .await
        .map_err(|e| format!("cannot reach member cluster {name}: {}", one_line(&e)))?
        .uid()
        .unwrap_or_default();
    if !cluster.spec.id.is_empty() && cluster.spec.id != id {
        return Err(format!(
            "{} answers as another cluster (kube-system UID {id}, the Cluster has {})",
            cluster.spec.api_endpoint, cluster.spec.id
        ));
    }
    Ok(client)
}

/// Revokes the member token with the member's own credentials: deletes the impersonator's
/// token and account (unless another control plane's join still uses them), and last deletes
/// the cluster's ServiceAccount, which
/// invalidates every token it has (legacy Secret tokens and TokenRequest tokens alike). Nothing
/// can follow that request with this token, so the ClusterRole, its binding (now bound to an
/// account that does not exist), the namespace and the dead token Secret are left:
/// returned as (removed, left).
async fn revoke(member: &Client, name: &str, ns: &str) -> (Vec<String>, Vec<String>) {
    let plan = match member_plan(member, name, ns).await {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![format!("everything of join ({e})")]),
    };
    let key = |(kind, ns, n): &(&str, Option<String>, String)| match ns {
        Some(ns) => format!("{kind}/{ns}/{n}"),
        None => format!("{kind}/{n}"),
    };
    let sa = names::member_service_account(name);
    let own_token = format!("{sa}-token");
    // The namespace stays (with the dead token Secret): a namespace deletion may take long (or,
    // in a member without a namespace controller, forever), and a re-join would wait for it.
    let mut order: Vec<&(&str, Option<String>, String)> = Vec::new();
    // The impersonator's token and account, then the namespace, then our own account.
    order.extend(
        plan.iter()
            .filter(|(k, _, n)| *k == "secret" && *n != own_token),
    );
    order.extend(
        plan.iter()
            .filter(|(k, _, n)| *k == "serviceaccount" && *n != sa),
    );
    order.extend(
        plan.iter()
            .filter(|(k, _, n)| *k == "serviceaccount" && *n == sa),
    );
    let mut removed = Vec::new();
    let mut left: Vec<String> = Vec::new();
    let dp = DeleteParams::background();
    let mut failed = false;
    for item @ (kind, ns, n) in order {
        if failed {
            left.push(key(item));
            continue;
        }
        let ns_str = ns.clone().unwrap_or_default();
        let res = match *kind {
            "secret" => Api::<Secret>::namespaced(member.clone(), &ns_str)
                .delete(n, &dp)
                .await
                .map(|_| ()),
            "serviceaccount" => Api::<ServiceAccount>::namespaced(member.clone(), &ns_str)
                .delete(n, &dp)
                .await
                .map(|_| ()),
            "namespace" => Api::<Namespace>::all(member.clone())
                .delete(n, &dp)
                .await
                .map(|_| ()),
            _ => Ok(()),
        };
        match res {
            Ok(()) => removed.push(key(item)),
            Err(kube::Error::Api(s)) if s.code == 404 => removed.push(key(item)),
            Err(e) => {
                tracing::warn!(
                    "revoking in member {name}: deleting {} failed: {e}",
                    key(item)
                );
                failed = true;
                left.push(key(item));
            }
        }
    }
    // What the revoked token can no longer touch.
    for item in &plan {
        let (kind, _, n) = item;
        let dead_token = *kind == "secret" && *n == own_token;
        if *kind == "clusterrolebinding" || *kind == "clusterrole" || dead_token {
            left.push(key(item));
        }
    }
    (removed, left)
}

/// `kind namespace/name` of a manifest, for messages.
fn manifest_key(m: &serde_json::Value) -> String {
    let kind = m["kind"].as_str().unwrap_or("object").to_lowercase();
    let name = m["metadata"]["name"].as_str().unwrap_or("?");
    match m["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

async fn describe_remaining(works: &Api<Work>) -> String {
    match works.list(&ListParams::default()).await {
        Ok(l) if !l.items.is_empty() => format!(
            "{} Work(s) left in {}",
            l.items.len(),
            works_namespace(&l.items)
        ),
        _ => "its finalizer is still set".into(),
    }
}

fn works_namespace(works: &[Work]) -> String {
    works
        .first()
        .and_then(|w| w.namespace())
        .unwrap_or_default()
}

/// Polls until the Cluster is gone; false on timeout.
pub(crate) async fn wait_gone(api: &Api<Cluster>, name: &str, timeout: Duration) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if api.get_opt(name).await.map_err(cp_error)?.is_none() {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Removes the finalizers of the Works (and any other object) in the execution namespace and
/// of the Cluster, deletes the namespace; returns what it released.
pub(crate) async fn force_release(cp: &Client, name: &str) -> Result<Vec<String>> {
    let mut released = Vec::new();
    let es = names::execution_namespace(name);
    let works: Api<Work> = Api::namespaced(cp.clone(), &es);
    for w in works.list(&ListParams::default()).await.map_err(cp_error)? {
        if strip_finalizers(&works, &w).await? {
            released.push(format!("work/{es}/{}", w.name_any()));
        }
        let _ = works
            .delete(&w.name_any(), &DeleteParams::background())
            .await;
    }
    // Other objects a controller may have put there with finalizers.
    let secrets: Api<Secret> = Api::namespaced(cp.clone(), &es);
    if let Ok(list) = secrets.list(&ListParams::default()).await {
        for s in list {
            if strip_finalizers(&secrets, &s).await? {
                released.push(format!("secret/{es}/{}", s.name_any()));
            }
        }
    }
    let namespaces: Api<Namespace> = Api::all(cp.clone());
    if namespaces.get_opt(&es).await.map_err(cp_error)?.is_some() {
        let _ = namespaces.delete(&es, &DeleteParams::background()).await;
    }
    let clusters: Api<Cluster> = Api::all(cp.clone());
    if let Some(c) = clusters.get_opt(name).await.map_err(cp_error)?
        && strip_finalizers(&clusters, &c).await?
    {
        released.push(format!("cluster/{name}"));
    }
    Ok(released)
}

async fn strip_finalizers<K>(api: &Api<K>, obj: &K) -> Result<bool>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    if obj.finalizers().is_empty() {
        return Ok(false);
    }
    let patch = json!({"metadata": {"finalizers": null}});
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(cp_error(e)),
    }
}

/// The member-side objects join created for `name` (in namespace `ns`) that still exist, as
/// `kind/name`.
pub async fn member_objects(member: &Client, name: &str, ns: &str) -> Result<Vec<String>> {
    Ok(member_plan(member, name, ns)
        .await?
        .into_iter()
        .map(|(kind, ns, n)| match ns {
            Some(ns) => format!("{kind}/{ns}/{n}"),
            None => format!("{kind}/{n}"),
        })
        .collect())
}

fn is_system<K: Resource>(obj: &K) -> bool {
    obj.meta()
        .labels
        .as_ref()
        .and_then(|l| l.get(keys::LABEL_KARMADA_SYSTEM))
        .is_some_and(|v| v == "true")
}

/// (kind, namespace, name) of join's objects for `name` in the member, labelled
/// `karmada.io/system=true`. The impersonator and the namespace are shared by every control
/// plane the member joined: they are only listed when no other `karmada-*` account is left.
async fn member_plan(
    member: &Client,
    name: &str,
    ns: &str,
) -> Result<Vec<(&'static str, Option<String>, String)>> {
    let unreachable = |e: kube::Error| Error::Unreachable {
        target: format!("member cluster {name}"),
        message: one_line(&e),
    };
    let sa = names::member_service_account(name);
    let role = names::member_cluster_role(&sa);
    let mut out = Vec::new();
    if let Some(b) = Api::<ClusterRoleBinding>::all(member.clone())
        .get_opt(&role)
        .await
        .map_err(unreachable)?
        && is_system(&b)
    {
        out.push(("clusterrolebinding", None, role.clone()));
    }
    if let Some(r) = Api::<ClusterRole>::all(member.clone())
        .get_opt(&role)
        .await
        .map_err(unreachable)?
        && is_system(&r)
    {
        out.push(("clusterrole", None, role.clone()));
    }
    let sas: Api<ServiceAccount> = Api::namespaced(member.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(member.clone(), ns);
    let others = sas
        .list(&ListParams::default().labels(&format!("{}=true", keys::LABEL_KARMADA_SYSTEM)))
        .await
        .map_err(unreachable)?
        .items
        .into_iter()
        .filter(|s| {
            let n = s.name_any();
            n != sa && n != IMPERSONATOR && n.starts_with("karmada-")
        })
        .count();
    let mut accounts = vec![sa.clone()];
    if others == 0 {
        accounts.push(IMPERSONATOR.into());
    }
    for account in &accounts {
        let token = format!("{account}-token");
        if let Some(s) = secrets.get_opt(&token).await.map_err(unreachable)?
            && is_system(&s)
        {
            out.push(("secret", Some(ns.to_string()), token));
        }
        if let Some(s) = sas.get_opt(account).await.map_err(unreachable)?
            && is_system(&s)
        {
            out.push(("serviceaccount", Some(ns.to_string()), account.clone()));
        }
    }
    if others == 0
        && let Some(n) = Api::<Namespace>::all(member.clone())
            .get_opt(ns)
            .await
            .map_err(unreachable)?
        && is_system(&n)
        && n.metadata.deletion_timestamp.is_none()
    {
        out.push(("namespace", None, ns.to_string()));
    }
    Ok(out)
}

/// Removes join's objects for `name` from the member; returns what it removed.
pub async fn clean_member(member: &Client, name: &str, ns: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let dp = DeleteParams::background();
    for (kind, ns, n) in member_plan(member, name, ns).await? {
        let ns_str = ns.clone().unwrap_or_default();
        let res = match kind {
            "clusterrolebinding" => Api::<ClusterRoleBinding>::all(member.clone())
                .delete(&n, &dp)
                .await
                .map(|_| ()),
            "clusterrole" => Api::<ClusterRole>::all(member.clone())
                .delete(&n, &dp)
                .await
                .map(|_| ()),
            "secret" => Api::<Secret>::namespaced(member.clone(), &ns_str)
                .delete(&n, &dp)
                .await
                .map(|_| ()),
            "serviceaccount" => Api::<ServiceAccount>::namespaced(member.clone(), &ns_str)
                .delete(&n, &dp)
                .await
                .map(|_| ()),
            "namespace" => Api::<Namespace>::all(member.clone())
                .delete(&n, &dp)
                .await
                .map(|_| ()),
            _ => Ok(()),
        };
        match res {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(Error::Invalid(format!(
                    "removing {kind} {n} from member {name}: {}",
                    one_line(&e)
                )));
            }
        }
        removed.push(match ns {
            Some(ns) => format!("{kind}/{ns}/{n}"),
            None => format!("{kind}/{n}"),
        });
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_keys_name_kind_namespace_and_name() {
        let m =
            json!({"kind": "Deployment", "metadata": {"name": "nginx", "namespace": "default"}});
        assert_eq!(manifest_key(&m), "deployment/default/nginx");
        let m = json!({"kind": "ClusterRole", "metadata": {"name": "r"}});
        assert_eq!(manifest_key(&m), "clusterrole/r");
    }
}
