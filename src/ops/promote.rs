//! `karmadactl promote KIND NAME -C member1`: adopts an object that already runs in a member
//! cluster. Its copy (without status and member bookkeeping) becomes the resource template in
//! the control plane, and a PropagationPolicy targeting that member with
//! `conflictResolution: Overwrite` lets the reconciler take the member object over in place:
//! same object (same uid), so a Deployment's pods are not restarted. A cluster-scoped object
//! (ClusterRole, CRD, PersistentVolume, ...) gets a ClusterPropagationPolicy instead.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use crate::api::{self as keys, Cluster, names};
use crate::client::connect::Target;
use crate::engine::render::DROPPED_METADATA;
use crate::ops::apply::{self, FIELD_MANAGER};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct PromoteOptions {
    pub kind: String,
    pub name: String,
    /// `-n`; when unset, the namespace of the kubeconfig context.
    pub namespace: Option<String>,
    pub cluster: String,
    pub member_timeout: Duration,
    /// Create the PropagationPolicy (upstream's `--auto-create-policy`, default true).
    pub auto_create_policy: bool,
    /// `--policy-name`: instead of `<name>-<kind>`.
    pub policy_name: Option<String>,
    /// `-d/--dependencies`: also promote the ConfigMaps, Secrets, ServiceAccount and PVCs the
    /// workload's pod spec references, and let the policy propagate them (`propagateDeps`).
    pub dependencies: bool,
    /// Check everything and say what would be created; create nothing.
    pub dry_run: bool,
}

impl Default for PromoteOptions {
    fn default() -> Self {
        PromoteOptions {
            kind: String::new(),
            name: String::new(),
            namespace: None,
            cluster: String::new(),
            member_timeout: Duration::from_secs(10),
            auto_create_policy: true,
            policy_name: None,
            dependencies: false,
            dry_run: false,
        }
    }
}

/// What a previous propagation left on a member object.
const DROPPED_ANNOTATIONS: &[&str] = &[
    keys::ANNOTATION_WORK_NAME,
    keys::ANNOTATION_WORK_NAMESPACE,
    keys::ANNOTATION_RESOURCE_TEMPLATE_UID,
    keys::ANNOTATION_RESOURCE_TEMPLATE_GENERATION,
    "resource.karmada.io/cached-from-cluster",
];

/// The template made from a member object: no status, uid, resourceVersion, managedFields,
/// ownerReferences or Karmada bookkeeping.
pub fn template_from(member_object: &Value) -> Value {
    let mut t = member_object.clone();
    if let Some(map) = t.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in DROPPED_METADATA {
                meta.remove(*f);
            }
            for (field, drop) in [
                ("annotations", DROPPED_ANNOTATIONS),
                ("labels", &[keys::LABEL_MANAGED][..]),
            ] {
                if let Some(m) = meta.get_mut(field).and_then(Value::as_object_mut) {
                    for k in drop {
                        m.remove(*k);
                    }
                    if m.is_empty() {
                        meta.remove(field);
                    }
                }
            }
        }
    }
    t
}

/// Promotes; returns the lines to print.
pub async fn promote(target: &Target, opts: &PromoteOptions) -> Result<Vec<String>> {
    let cp = target.client().await?;
    let cluster: Cluster = Api::<Cluster>::all(cp.clone())
        .get_opt(&opts.cluster)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no member cluster {:?}; see karmadactl get clusters",
                opts.cluster
            ))
        })?;
    let member: Client = crate::client::member::client(&cp, &cluster, opts.member_timeout).await?;
    let unreachable = |e: Error| match e {
        Error::Kube(kube::Error::Api(s)) => {
            Error::Invalid(format!("cluster {}: {}", opts.cluster, s.message))
        }
        Error::Kube(k) => Error::Unreachable {
            target: format!("cluster {}", opts.cluster),
            message: crate::ops::get::one_line(&k),
        },
        other => other,
    };
    let on_member = crate::client::kinds::resolve(&member, &opts.kind)
        .await
        .map_err(unreachable)?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "cluster {} doesn't have a resource type {:?}",
                opts.cluster, opts.kind
            ))
        })?;
    let ar = on_member.ar.clone();
    let namespaced = on_member.namespaced;
    let on_cp =
        crate::client::kinds::resolve(&cp, &format!("{}.{}.{}", ar.plural, ar.version, ar.group))
            .await?;
    if on_cp.is_none() && !ar.group.is_empty() {
        return Err(Error::NotFound(format!(
            "the control plane does not serve {} {}; install its CRD there first",
            ar.api_version, ar.kind
        )));
    }
    // A cluster-scoped object (ClusterRole, CRD, PersistentVolume, ...) has no namespace: `-n`
    // does not apply, and a ClusterPropagationPolicy propagates it.
    let ns = if namespaced {
        opts.namespace
            .clone()
            .unwrap_or_else(|| cp.default_namespace().to_string())
    } else {
        String::new()
    };
    if namespaced && names::is_reserved_namespace(&ns) {
        return Err(Error::Invalid(format!(
            "namespace {ns} is reserved for Karmada; its objects cannot be promoted"
        )));
    }
    if ar.kind == "Namespace" && ar.group.is_empty() && names::is_reserved_namespace(&opts.name) {
        return Err(Error::Invalid(format!(
            "namespace {} is reserved for Karmada and cannot be promoted",
            opts.name
        )));
    }
    let shown = apply::display_name(&ar, &opts.name);
    let (member_api, cp_api): (Api<DynamicObject>, Api<DynamicObject>) = if namespaced {
        (
            Api::namespaced_with(member.clone(), &ns, &ar),
            Api::namespaced_with(cp.clone(), &ns, &ar),
        )
    } else {
        (
            Api::all_with(member.clone(), &ar),
            Api::all_with(cp.clone(), &ar),
        )
    };
    let place = if namespaced {
        format!("namespace {ns} of ")
    } else {
        String::new()
    };
    let live = member_api
        .get_opt(&opts.name)
        .await
        .map_err(|e| unreachable(e.into()))?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{shown} not found in {place}cluster {}",
                opts.cluster
            ))
        })?;
    if cp_api.get_opt(&opts.name).await?.is_some() {
        let ns_flag = if namespaced {
            format!(" -n {ns}")
        } else {
            String::new()
        };
        return Err(Error::Invalid(format!(
            "{shown} already exists in {place}the control plane; promote only adopts \
             objects the control plane does not have yet (see karmadactl why {} {}{ns_flag})",
            ar.kind.to_lowercase(),
            opts.name
        )));
    }

    // Dependencies in the member, promoted along unless the control plane has them already.
    let mut deps: Vec<(String, DynamicObject, Api<DynamicObject>)> = Vec::new();
    if opts.dependencies && namespaced {
        let live_value = serde_json::to_value(&live).unwrap_or_default();
        for (kind, name) in crate::engine::dependencies::dependencies(&ar.kind, &live_value) {
            let Some(dep) = crate::client::kinds::resolve(&member, kind)
                .await
                .map_err(unreachable)?
            else {
                continue;
            };
            let dep_shown = apply::display_name(&dep.ar, &name);
            let on_member: Api<DynamicObject> = Api::namespaced_with(member.clone(), &ns, &dep.ar);
            let Some(obj) = on_member
                .get_opt(&name)
                .await
                .map_err(|e| unreachable(e.into()))?
            else {
                return Err(Error::NotFound(format!(
                    "{shown} depends on {dep_shown}, which is not in namespace {ns} of cluster {}",
                    opts.cluster
                )));
            };
            let on_cp: Api<DynamicObject> = Api::namespaced_with(cp.clone(), &ns, &dep.ar);
            if on_cp.get_opt(&name).await?.is_some() {
                continue;
            }
            deps.push((dep_shown, obj, on_cp));
        }
    }

    let clusters = std::slice::from_ref(&opts.cluster);
    let mut policy = if namespaced {
        apply::policy_for(&ar.api_version, &ar.kind, &ns, &opts.name, clusters, true)
    } else {
        apply::cluster_policy_for(&ar.api_version, &ar.kind, &opts.name, clusters, true)
    };
    if let Some(name) = &opts.policy_name {
        policy["metadata"]["name"] = json!(name);
    }
    if opts.dependencies {
        policy["spec"]["propagateDeps"] = json!(true);
    }
    let policy_shown = format!(
        "{}.policy.karmada.io/{}",
        policy["kind"].as_str().unwrap_or_default().to_lowercase(),
        policy["metadata"]["name"].as_str().unwrap_or_default()
    );

    let mut lines = Vec::new();
    let namespaces: Api<Namespace> = Api::all(cp.clone());
    let namespace_missing = namespaced && namespaces.get_opt(&ns).await?.is_none();
    if opts.dry_run {
        if namespace_missing {
            lines.push(format!("namespace/{ns} would be created"));
        }
        if opts.auto_create_policy {
            lines.push(format!("{policy_shown} would be created or updated"));
        }
        for (dep_shown, _, _) in &deps {
            lines.push(format!(
                "{dep_shown} would be promoted from cluster {} (a dependency)",
                opts.cluster
            ));
        }
        lines.push(format!(
            "{shown} would be promoted from cluster {} (dry run: nothing was changed)",
            opts.cluster
        ));
        return Ok(lines);
    }
    if namespace_missing {
        namespaces
            .create(
                &PostParams {
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..Default::default()
                },
                &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("a namespace"),
            )
            .await?;
        lines.push(format!("namespace/{ns} created"));
    }

    // The policy first: the detector then claims the template the moment it appears, with
    // Overwrite already in place.
    if opts.auto_create_policy {
        lines.push(apply::write_policy(&cp, &policy, false).await?);
    }

    // Dependencies before the workload, so they are there when it is propagated.
    for (dep_shown, obj, api) in &deps {
        create_template(api, obj, dep_shown, &ns).await?;
        lines.push(format!(
            "{dep_shown} promoted from cluster {} (a dependency)",
            opts.cluster
        ));
    }
    create_template(&cp_api, &live, &shown, &ns).await?;
    lines.push(format!(
        "{shown} promoted from cluster {} (uid {} kept there)",
        opts.cluster,
        live.uid().unwrap_or_default()
    ));
    if !opts.auto_create_policy {
        lines.push(format!(
            "no policy was created (--auto-create-policy=false): {shown} stays in the control \
             plane until a policy selects it"
        ));
    }
    Ok(lines)
}

/// Creates the template made from member object `live` through `api`.
async fn create_template(
    api: &Api<DynamicObject>,
    live: &DynamicObject,
    shown: &str,
    ns: &str,
) -> Result<()> {
    let template = template_from(&serde_json::to_value(live).unwrap_or_default());
    let template: DynamicObject =
        serde_json::from_value(template).map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
    api.create(
        &PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        },
        &template,
    )
    .await
    .map_err(|e| match e {
        kube::Error::Api(s) if s.code == 409 && ns.is_empty() => {
            Error::Invalid(format!("{shown} already exists in the control plane"))
        }
        kube::Error::Api(s) if s.code == 409 => Error::Invalid(format!(
            "{shown} already exists in namespace {ns} of the control plane"
        )),
        kube::Error::Api(s) => Error::Invalid(format!("{shown}: {}", s.message)),
        other => other.into(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_lose_member_bookkeeping() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u", "resourceVersion": "7",
                "generation": 3, "managedFields": [{}], "ownerReferences": [{}],
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "web", "karmada.io/managed": "true"},
                "annotations": {"work.karmada.io/name": "w", "team": "a"}},
            "spec": {"replicas": 2},
            "status": {"readyReplicas": 2},
        });
        let t = template_from(&live);
        assert_eq!(
            t,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                    "annotations": {"team": "a"}},
                "spec": {"replicas": 2},
            })
        );
    }
}
