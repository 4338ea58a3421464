//! `karmadactl promote KIND NAME -C member1`: adopts an object that already runs in a member
//! cluster. Its copy (without status and member bookkeeping) becomes the resource template in
//! the control plane, and a PropagationPolicy targeting that member with
//! `conflictResolution: Overwrite` lets the reconciler take the member object over in place:
//! same object (same uid), so a Deployment's pods are not restarted.

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
    if !on_member.namespaced {
        return Err(Error::Invalid(format!(
            "{} is cluster-scoped; this version propagates namespaced templates only",
            ar.kind
        )));
    }
    let on_cp =
        crate::client::kinds::resolve(&cp, &format!("{}.{}.{}", ar.plural, ar.version, ar.group))
            .await?;
    if on_cp.is_none() && !ar.group.is_empty() {
        return Err(Error::NotFound(format!(
            "the control plane does not serve {} {}; install its CRD there first",
            ar.api_version, ar.kind
        )));
    }
    let ns = opts
        .namespace
        .clone()
        .unwrap_or_else(|| cp.default_namespace().to_string());
    if names::is_reserved_namespace(&ns) {
        return Err(Error::Invalid(format!(
            "namespace {ns} is reserved for Karmada; its objects cannot be promoted"
        )));
    }
    let shown = apply::display_name(&ar, &opts.name);
    let member_api: Api<DynamicObject> = Api::namespaced_with(member.clone(), &ns, &ar);
    let live = member_api
        .get_opt(&opts.name)
        .await
        .map_err(|e| unreachable(e.into()))?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{shown} not found in namespace {ns} of cluster {}",
                opts.cluster
            ))
        })?;
    let cp_api: Api<DynamicObject> = Api::namespaced_with(cp.clone(), &ns, &ar);
    if cp_api.get_opt(&opts.name).await?.is_some() {
        return Err(Error::Invalid(format!(
            "{shown} already exists in namespace {ns} of the control plane; promote only adopts \
             objects the control plane does not have yet (see karmadactl why {} {} -n {ns})",
            ar.kind.to_lowercase(),
            opts.name
        )));
    }

    let mut lines = Vec::new();
    let namespaces: Api<Namespace> = Api::all(cp.clone());
    if namespaces.get_opt(&ns).await?.is_none() {
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
    let policy = apply::policy_for(
        &ar.api_version,
        &ar.kind,
        &ns,
        &opts.name,
        std::slice::from_ref(&opts.cluster),
        true,
    );
    lines.push(apply::write_policy(&cp, &policy, false).await?);

    let template = template_from(&serde_json::to_value(&live).unwrap_or_default());
    let template: DynamicObject =
        serde_json::from_value(template).map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
    cp_api
        .create(
            &PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..Default::default()
            },
            &template,
        )
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 409 => Error::Invalid(format!(
                "{shown} already exists in namespace {ns} of the control plane"
            )),
            kube::Error::Api(s) => Error::Invalid(format!("{shown}: {}", s.message)),
            other => other.into(),
        })?;
    lines.push(format!(
        "{shown} promoted from cluster {} (uid {} kept there)",
        opts.cluster,
        live.uid().unwrap_or_default()
    ));
    Ok(lines)
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
