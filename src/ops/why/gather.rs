//! Reading what `why` looks at from the control plane: the only I/O of `why`.

use std::collections::BTreeMap;

use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, ListParams};

use crate::api::{
    Cluster, ClusterOverridePolicy, ClusterPropagationPolicy, ClusterResourceBinding,
    OverridePolicy, PropagationPolicy, ResourceBinding, Work, names,
};
use crate::client::connect::Target;
use crate::client::kinds::{self, Resolved};
use crate::{Error, Result};

use super::model::*;

/// Reads everything [`explain`] needs. `kind` is resolved by discovery like kubectl does.
pub async fn gather(
    target: &Target,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Inputs> {
    let cp = target.client().await?;
    let Resolved { ar, namespaced } = kinds::resolve(&cp, kind).await?.ok_or_else(|| {
        Error::NotFound(format!("the server doesn't have a resource type {kind:?}"))
    })?;
    let ns = namespace
        .map(str::to_string)
        .unwrap_or_else(|| cp.default_namespace().to_string());
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(cp.clone(), &ns, &ar)
    } else {
        Api::all_with(cp.clone(), &ar)
    };
    let qualified = if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    };
    let template = api.get_opt(name).await?.ok_or_else(|| {
        Error::NotFound(if namespaced {
            format!("{qualified} {name:?} not found in namespace {ns} of the control plane")
        } else {
            format!("{qualified} {name:?} not found in the control plane")
        })
    })?;
    let lp = ListParams::default();
    let policies = Api::<PropagationPolicy>::all(cp.clone())
        .list(&lp)
        .await?
        .items;
    let cluster_policies = Api::<ClusterPropagationPolicy>::all(cp.clone())
        .list(&lp)
        .await?
        .items;
    let clusters = Api::<Cluster>::all(cp.clone()).list(&lp).await?.items;
    let override_policies = Api::<OverridePolicy>::all(cp.clone())
        .list(&lp)
        .await?
        .items;
    let cluster_override_policies = Api::<ClusterOverridePolicy>::all(cp.clone())
        .list(&lp)
        .await?
        .items;
    let binding = if namespaced {
        Api::<ResourceBinding>::namespaced(cp.clone(), &ns)
            .get_opt(&names::binding_name(&ar.kind, name))
            .await?
    } else {
        // Same spec and status: `explain` reads either kind as a ResourceBinding without a
        // namespace.
        Api::<ClusterResourceBinding>::all(cp.clone())
            .get_opt(&names::binding_name(&ar.kind, name))
            .await?
            .map(|crb| ResourceBinding {
                metadata: crb.metadata,
                spec: crb.spec,
                status: crb.status,
            })
    };
    let work_name = names::work_name(&ar.kind, name, if namespaced { &ns } else { "" });
    let mut works = BTreeMap::new();
    for c in &clusters {
        let cluster = c.name_any();
        let api: Api<Work> = Api::namespaced(cp.clone(), &names::execution_namespace(&cluster));
        if let Some(w) = api.get_opt(&work_name).await? {
            works.insert(cluster, w);
        }
    }
    Ok(Inputs {
        resource: ar,
        namespaced,
        template,
        policies,
        cluster_policies,
        binding,
        clusters,
        override_policies,
        cluster_override_policies,
        works,
    })
}
