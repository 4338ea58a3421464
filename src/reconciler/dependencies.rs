//! propagateDeps: the ConfigMaps, Secrets, ServiceAccount and PersistentVolumeClaims a workload
//! references follow it to the same clusters. Each dependency gets its own ResourceBinding
//! (`<name>-<kind>`, owned by the dependency) whose `spec.requiredBy` lists the bindings that
//! need it and where they went; the scheduler places it on the union of those clusters.
//!
//! Dependencies are rarely selected by a policy, so nothing else watches them: [`Dependencies`]
//! keeps their metadata in caches (whether one exists, its uid and resourceVersion, without a
//! request) and re-runs a dependency's binding when the object changes (an edited ConfigMap
//! reaches the members) and the workloads that referenced it before it existed.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use futures::{StreamExt as _, stream};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, PartialObjectMeta, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt as _};
use serde_json::json;

use super::cache::Cached;
use super::context::MANAGER;
use super::{Context, Result};
use crate::api::work::BindingSnapshot;
use crate::api::{self as keys, ResourceBinding, names};
use crate::engine::interpreter::DependentObjectReference;

/// The kinds that follow a workload (`propagateDeps`).
const FOLLOWING_KINDS: [&str; 4] = [
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "PersistentVolumeClaim",
];

/// (namespace, kind, name) of a dependency.
type DependencyKey = (String, &'static str, String);

/// Workloads whose dependency did not exist when their binding was reconciled, by the
/// dependency; its creation re-runs them.
#[derive(Default)]
pub struct Waiting(Mutex<HashMap<DependencyKey, HashSet<ObjectRef<ResourceBinding>>>>);

impl Waiting {
    fn set(&self, key: DependencyKey, parent: &ObjectRef<ResourceBinding>, missing: bool) {
        let mut map = self.0.lock().expect("not poisoned");
        if missing {
            map.entry(key).or_default().insert(parent.clone());
        } else if let Some(parents) = map.get_mut(&key) {
            parents.remove(parent);
            if parents.is_empty() {
                map.remove(&key);
            }
        }
    }

    fn take(&self, key: &DependencyKey) -> HashSet<ObjectRef<ResourceBinding>> {
        self.0
            .lock()
            .expect("not poisoned")
            .remove(key)
            .unwrap_or_default()
    }
}

/// Metadata caches of the kinds that follow a workload, and the workloads waiting for one.
pub struct Dependencies {
    config_maps: Cached<PartialObjectMeta<ConfigMap>>,
    secrets: Cached<PartialObjectMeta<Secret>>,
    service_accounts: Cached<PartialObjectMeta<ServiceAccount>>,
    claims: Cached<PartialObjectMeta<PersistentVolumeClaim>>,
    waiting: Waiting,
}

impl Dependencies {
    /// Starts the caches; the stream names the bindings to re-run when an object of a
    /// dependency kind changes: its own binding (`<name>-<kind>`, if any) and the workloads
    /// waiting for it.
    pub fn start(
        client: &kube::Client,
    ) -> (Arc<Self>, BoxStream<'static, ObjectRef<ResourceBinding>>) {
        fn cache<K>(client: &kube::Client) -> Cached<PartialObjectMeta<K>>
        where
            K: super::cache::StaticKind,
        {
            let api = Api::<PartialObjectMeta<K>>::all(client.clone());
            Cached::start(api, watcher::Config::default(), (), None)
        }
        let deps = Arc::new(Dependencies {
            config_maps: cache(client),
            secrets: cache(client),
            service_accounts: cache(client),
            claims: cache(client),
            waiting: Waiting::default(),
        });
        fn of<K>(
            cache: &Cached<PartialObjectMeta<K>>,
            kind: &'static str,
            deps: &Arc<Dependencies>,
        ) -> BoxStream<'static, ObjectRef<ResourceBinding>>
        where
            K: super::cache::StaticKind,
        {
            // Weak: the stream must not keep the caches (and their watches) alive.
            let deps = Arc::downgrade(deps);
            cache
                .subscribe()
                .flat_map(move |m| {
                    let (ns, name) = (m.namespace().unwrap_or_default(), m.name_any());
                    let own = ObjectRef::new(&names::binding_name(kind, &name)).within(&ns);
                    let waiting = deps
                        .upgrade()
                        .map(|d| d.waiting.take(&(ns, kind, name)))
                        .unwrap_or_default();
                    stream::iter(std::iter::once(own).chain(waiting))
                })
                .boxed()
        }
        let changes = stream::select_all([
            of(&deps.config_maps, "ConfigMap", &deps),
            of(&deps.secrets, "Secret", &deps),
            of(&deps.service_accounts, "ServiceAccount", &deps),
            of(&deps.claims, "PersistentVolumeClaim", &deps),
        ])
        .boxed();
        (deps, changes)
    }

    /// (uid, resourceVersion) of a dependency, if the cache has it.
    async fn find(&self, kind: &str, ns: &str, name: &str) -> Result<Option<(String, String)>> {
        async fn one<K>(
            cache: &Cached<PartialObjectMeta<K>>,
            ns: &str,
            name: &str,
        ) -> Result<Option<(String, String)>>
        where
            K: super::cache::StaticKind,
        {
            if !cache.ready().await {
                return Err(super::Error::Internal(
                    "the cache of dependencies stopped".into(),
                ));
            }
            Ok(cache.get(Some(ns), name).map(|m| {
                (
                    m.uid().unwrap_or_default(),
                    m.resource_version().unwrap_or_default(),
                )
            }))
        }
        match kind {
            "ConfigMap" => one(&self.config_maps, ns, name).await,
            "Secret" => one(&self.secrets, ns, name).await,
            "ServiceAccount" => one(&self.service_accounts, ns, name).await,
            _ => one(&self.claims, ns, name).await,
        }
    }
}

fn depended_by_label(parent: &ResourceBinding) -> String {
    format!(
        "{}{}",
        keys::LABEL_DEPENDED_BY_PREFIX,
        names::binding_reference_key(&parent.namespace().unwrap_or_default(), &parent.name_any())
    )
}

/// Brings the dependency bindings of `parent` in line with what its template references now.
/// Dependencies that do not exist yet are noted in `waiting`.
/// `dependencies` is what the resource interpreter found the template depends on (`None`
/// when the template is gone). Only the core kinds that can follow a workload here
/// (ConfigMap, Secret, ServiceAccount, PersistentVolumeClaim, by name, in its namespace) are
/// propagated; others are logged and left alone.
pub async fn sync(
    ctx: &Context,
    parent: &ResourceBinding,
    dependencies: Option<&[DependentObjectReference]>,
    caches: &Dependencies,
) -> Result<()> {
    let ns = parent.namespace().unwrap_or_default();
    let bindings: Api<ResourceBinding> = Api::namespaced(ctx.client.clone(), &ns);
    let cached = ctx.caches.bindings::<ResourceBinding>();
    if !cached.ready().await {
        return Err(super::Error::Internal("the binding cache stopped".into()));
    }
    let label = depended_by_label(parent);
    let mut wanted: BTreeSet<(&'static str, String)> = BTreeSet::new();
    if parent.spec.propagate_deps && parent.metadata.deletion_timestamp.is_none() {
        for d in dependencies.unwrap_or_default() {
            let kind = FOLLOWING_KINDS.iter().find(|k| **k == d.kind);
            match kind {
                Some(kind)
                    if d.api_version == "v1"
                        && !d.name.is_empty()
                        && (d.namespace.is_empty() || d.namespace == ns) =>
                {
                    wanted.insert((kind, d.name.clone()));
                }
                _ => {
                    tracing::debug!(binding = %parent.name_any(), namespace = %ns, dependency = ?d, "dependency kind not propagated")
                }
            }
        }
    }
    let me = BindingSnapshot {
        namespace: ns.clone(),
        name: parent.name_any(),
        clusters: parent.spec.clusters.clone(),
    };
    for (kind, name) in &wanted {
        // Noted as waiting before the cache is read: the cache takes an object in before it
        // wakes its waiters, so a dependency created meanwhile is never missed.
        let parent_ref = ObjectRef::from_obj(parent);
        let key = (ns.clone(), *kind, name.clone());
        caches.waiting.set(key.clone(), &parent_ref, true);
        let dep = caches.find(kind, &ns, name).await?;
        let Some((dep_uid, dep_version)) = dep else {
            continue; // not created yet: its creation re-runs this parent
        };
        caches.waiting.set(key, &parent_ref, false);
        let binding_name = names::binding_name(kind, name);
        let existing = cached.get(Some(&ns), &binding_name).map(|b| (*b).clone());
        let mut required_by: Vec<BindingSnapshot> = existing
            .as_ref()
            .map(|b| b.spec.required_by.clone())
            .unwrap_or_default();
        required_by.retain(|r| !(r.namespace == me.namespace && r.name == me.name));
        required_by.push(me.clone());
        required_by.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let unchanged = existing
            .as_ref()
            .is_some_and(|b| b.spec.required_by == required_by && b.labels().contains_key(&label));
        if unchanged {
            continue;
        }
        let id = existing
            .as_ref()
            .and_then(|b| {
                b.labels()
                    .get(keys::LABEL_RESOURCE_BINDING_PERMANENT_ID)
                    .cloned()
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let owner = json!({"apiVersion": "v1", "kind": kind, "name": name, "uid": dep_uid, "blockOwnerDeletion": true});
        let body = json!({
            "apiVersion": ResourceBinding::api_version(&()),
            "kind": ResourceBinding::kind(&()),
            "metadata": {"name": binding_name, "namespace": ns,
                "labels": {keys::LABEL_RESOURCE_BINDING_PERMANENT_ID: id, label.as_str(): parent.labels().get(keys::LABEL_RESOURCE_BINDING_PERMANENT_ID).cloned().unwrap_or_default()},
                "ownerReferences": [owner],
                "finalizers": [keys::FINALIZER_BINDING_CONTROLLER]},
            "spec": {
                "resource": {"apiVersion": "v1", "kind": kind, "namespace": ns, "name": name,
                    "uid": dep_uid, "resourceVersion": dep_version},
                "requiredBy": required_by,
                "conflictResolution": parent.spec.conflict_resolution,
            },
        });
        let mut body = body;
        // Optimistic concurrency: requiredBy is read, changed and written back; a parent that
        // wrote meanwhile makes this fail and retry instead of losing its entry.
        if let Some(rv) = existing.as_ref().and_then(|b| b.resource_version()) {
            body["metadata"]["resourceVersion"] = json!(rv);
        }
        if body["spec"]["conflictResolution"].is_null() {
            body["spec"]
                .as_object_mut()
                .expect("object")
                .remove("conflictResolution");
        }
        let written = bindings
            .patch(
                &binding_name,
                // One field manager per parent, so each parent's depended-by label is its own
                // and one parent's apply does not remove another's.
                &PatchParams::apply(&format!(
                    "{MANAGER}-deps-{}",
                    &label[keys::LABEL_DEPENDED_BY_PREFIX.len()..]
                ))
                .force(),
                &Patch::Apply(&body),
            )
            .await?;
        cached.record(written);
        tracing::info!(dependency = %format!("{ns}/{binding_name}"), parent = %parent.name_any(), "dependency follows its workload");
    }

    // Dependencies this parent no longer references: drop its entry; a dependency nobody
    // needs and no policy claims goes away.
    for b in cached.indexed(&label) {
        let key = (b.spec.resource.kind.as_str(), b.spec.resource.name.clone());
        if wanted.iter().any(|(k, n)| *k == key.0 && *n == key.1) {
            continue;
        }
        let mut required_by = b.spec.required_by.clone();
        required_by.retain(|r| !(r.namespace == me.namespace && r.name == me.name));
        let claimed = b
            .labels()
            .contains_key(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
            || b.labels()
                .contains_key(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID);
        if required_by.is_empty() && !claimed {
            match bindings
                .delete(&b.name_any(), &DeleteParams::background())
                .await
            {
                Ok(either) => match either.left() {
                    Some(deleting) => cached.record(deleting),
                    None => cached.forget(Some(&ns), &b.name_any()),
                },
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    cached.forget(Some(&ns), &b.name_any())
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            // Guarded: another parent may have changed requiredBy since the cache saw it.
            let patch = json!({"metadata": {"labels": {label.as_str(): null}, "resourceVersion": b.resource_version()}, "spec": {"requiredBy": required_by}});
            let written = bindings
                .patch(&b.name_any(), &PatchParams::default(), &Patch::Merge(patch))
                .await?;
            cached.record(written);
        }
    }
    Ok(())
}
