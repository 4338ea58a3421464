//! `karmadactl why KIND NAME`: one view that explains where a resource template goes and why.
//!
//! [`gather`] reads what the control plane holds (the template, every (Cluster)PropagationPolicy,
//! the ResourceBinding, Clusters, (Cluster)OverridePolicies and the Works); [`explain`] is a pure
//! function of those objects. It reuses the reconciler's own logic, so the answer is the one the
//! reconciler acts on: the detector's policy precedence (`detector::matching_policies`), the
//! scheduler's verdicts (`placement::schedule`, re-run on the current Clusters with the binding's
//! placement and current targets) and the override rendering (`overrides::select`/`apply_all`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;
use kube::runtime::{reflector, watcher};
use serde::Serialize;
use serde_json::Value;

use crate::api::policy::{
    Placement, ReplicaDivisionPreference, ReplicaSchedulingType, ResourceSelector,
};
use crate::api::{
    self as keys, Cluster, ClusterOverridePolicy, ClusterPropagationPolicy, OverridePolicy,
    PropagationPolicy, PropagationSpec, ResourceBinding, Work, names,
};
use crate::connect::Target;
use crate::ops::get::resources::{self, Resolved};
use crate::output;
use crate::reconciler::detector::{self, Claim, Policies};
use crate::reconciler::{overrides, placement, render, selector};
use crate::{Error, Result};

/// Everything `why` looks at, as read from the control plane.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub resource: ApiResource,
    pub namespaced: bool,
    pub template: DynamicObject,
    pub policies: Vec<PropagationPolicy>,
    pub cluster_policies: Vec<ClusterPropagationPolicy>,
    pub binding: Option<ResourceBinding>,
    pub clusters: Vec<Cluster>,
    pub override_policies: Vec<OverridePolicy>,
    pub cluster_override_policies: Vec<ClusterOverridePolicy>,
    /// The template's Work in each execution namespace that has one, by cluster.
    pub works: BTreeMap<String, Work>,
}

/// The explanation; printed as a report or as JSON/YAML.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub template: TemplateInfo,
    pub policy: PolicySection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<ReplicaSection>,
    pub overrides: Vec<ClusterOverrides>,
    pub apply: Vec<ClusterApply>,
    /// Things that stop propagation outright or that disagree between objects.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInfo {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// `PropagationPolicy` or `ClusterPropagationPolicy`.
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
    pub priority: i32,
    /// How closely its best selector matches: `name`, `labelSelector` or `kind`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub matched_by: String,
}

impl PolicyRef {
    fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySection {
    /// The policy that governs the template; None when no policy selects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<PolicyRef>,
    /// Why the winner won.
    pub reason: String,
    /// The other policies that select the template, and why each lost.
    pub beaten: Vec<Beaten>,
    /// Selectors that came close without selecting it (when no policy selects it).
    pub near_misses: Vec<NearMiss>,
    /// The claim recorded on the template's annotations, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_claim: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Beaten {
    pub policy: PolicyRef,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    pub policy: PolicyRef,
    /// The selector, as `apps/v1 Deployment name=web`.
    pub selector: String,
    /// Every reason it misses.
    pub misses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSection {
    /// Where the placement came from: the ResourceBinding, or the policy (no binding yet).
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity_name: Option<String>,
    pub clusters: Vec<ClusterFit>,
    /// Why nothing fits, when nothing does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The binding's Scheduled condition: `True (Success): ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFit {
    pub cluster: String,
    pub fits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Targeted by the binding now.
    pub targeted: bool,
    /// Replicas the scheduler would give it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSection {
    /// `Duplicated`, `Divided (Weighted)` or `Divided (Aggregated)`.
    pub mode: String,
    pub desired: i32,
    /// Weights per fitting cluster (Divided, Weighted only).
    pub weights: BTreeMap<String, i64>,
    /// Replicas per cluster as computed now.
    pub result: BTreeMap<String, i32>,
    /// Replicas per cluster in the binding (what was last scheduled).
    pub scheduled: BTreeMap<String, i32>,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterOverrides {
    pub cluster: String,
    /// The rules applied, in order: `OverridePolicy ns/name: imageOverrider`.
    pub rules: Vec<String>,
    pub changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterApply {
    pub cluster: String,
    /// `namespace/name` of the Work, if it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work: Option<String>,
    /// The Work's Applied condition status: `True`, `False`, or None when not reported yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// An object Karmada does not manage is in the way (conflictResolution Abort).
    pub conflict: bool,
    /// aggregatedStatus health: Healthy, Unhealthy, Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The Cluster's Ready condition: `True`, `False: message`, or `Unknown`.
    pub cluster_ready: String,
}

/// Reads everything [`explain`] needs. `kind` is resolved by discovery like kubectl does.
pub async fn gather(
    target: &Target,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Inputs> {
    let cp = target.client().await?;
    let Resolved { ar, namespaced } = resources::resolve(&cp, kind).await?.ok_or_else(|| {
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
        None
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

fn store<K>(items: &[K]) -> reflector::Store<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for item in items {
        writer.apply_watcher_event(&watcher::Event::InitApply(item.clone()));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    reader
}

const SCORE_WORDS: [&str; 4] = ["", "kind", "labelSelector", "name"];

fn score_of(spec: &PropagationSpec, obj: &DynamicObject, r: &ApiResource, ns: Option<&str>) -> u8 {
    spec.resource_selectors
        .iter()
        .filter_map(|s| detector::selector_score(s, obj, r, ns))
        .max()
        .unwrap_or(0)
}

fn policy_ref(claim: &Claim, score: u8) -> PolicyRef {
    PolicyRef {
        kind: if claim.is_cluster_policy() {
            "ClusterPropagationPolicy".into()
        } else {
            "PropagationPolicy".into()
        },
        namespace: claim.namespace.clone(),
        name: claim.name.clone(),
        priority: claim.spec.priority.unwrap_or(0),
        matched_by: SCORE_WORDS[score as usize].into(),
    }
}

/// Why `loser` lost to `winner` under the detector's order (PP before CPP, priority, match
/// closeness, name).
fn why_lost(loser: &PolicyRef, winner: &PolicyRef, loser_ranks_higher: bool) -> String {
    if loser_ranks_higher {
        return format!(
            "it ranks higher, but {} claimed the template earlier; a claimed template keeps its \
             policy while that policy still selects it",
            winner.describe()
        );
    }
    let is_cpp = |p: &PolicyRef| p.namespace.is_empty();
    if is_cpp(loser) && !is_cpp(winner) {
        return "a PropagationPolicy always wins over a ClusterPropagationPolicy".into();
    }
    if loser.priority != winner.priority {
        return format!("lower priority ({} < {})", loser.priority, winner.priority);
    }
    let rank = |w: &str| SCORE_WORDS.iter().position(|s| *s == w).unwrap_or(0);
    if rank(&loser.matched_by) != rank(&winner.matched_by) {
        return format!(
            "same priority, less precise match (selects by {} where the winner selects by {}; \
             name beats labelSelector beats kind)",
            loser.matched_by, winner.matched_by
        );
    }
    format!(
        "same priority and match precision; the names decide: {:?} sorts before {:?}",
        winner.name, loser.name
    )
}

fn describe_selector(s: &ResourceSelector) -> String {
    let mut out = format!("{} {}", s.api_version, s.kind);
    if !s.namespace.is_empty() {
        out.push_str(&format!(" namespace={}", s.namespace));
    }
    if !s.name.is_empty() {
        out.push_str(&format!(" name={}", s.name));
    }
    if let Some(ls) = &s.label_selector {
        out.push_str(&format!(" labels={}", selector::describe(ls)));
    }
    out
}

/// Why `sel` (of a policy in `policy_ns`; None for a cluster policy) does not select `obj`,
/// with a closeness score (higher is closer), or None when it does select it.
fn misses(
    sel: &ResourceSelector,
    obj: &DynamicObject,
    r: &ApiResource,
    policy_ns: Option<&str>,
) -> Option<(u8, Vec<String>)> {
    if detector::selector_score(sel, obj, r, policy_ns).is_some() {
        return None;
    }
    let mut why = Vec::new();
    let mut closeness = 4u8;
    let obj_ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    if sel.kind != r.kind {
        closeness = 1;
        if sel.kind.eq_ignore_ascii_case(&r.kind) {
            closeness = 3;
        }
        why.push(format!(
            "wrong kind: selects {}, the template is a {}",
            sel.kind, r.kind
        ));
    } else if sel.api_version != r.api_version {
        closeness = 3;
        why.push(format!(
            "wrong apiVersion: selects {}, the template is {}",
            sel.api_version, r.api_version
        ));
    }
    if let Some(pns) = policy_ns
        && pns != obj_ns
    {
        closeness = closeness.min(3);
        why.push(format!(
            "wrong namespace: a PropagationPolicy only selects templates in its own namespace \
             ({pns}), the template is in {obj_ns}"
        ));
    }
    if !sel.namespace.is_empty() && sel.namespace != obj_ns {
        closeness = closeness.min(3);
        why.push(format!(
            "wrong namespace: the selector names namespace {}, the template is in {obj_ns}",
            sel.namespace
        ));
    }
    if !sel.name.is_empty() {
        if sel.name != name {
            closeness = closeness.min(3);
            why.push(format!(
                "name mismatch: selects {:?}, the template is {name:?}",
                sel.name
            ));
        } else if closeness < 3 {
            closeness = 2; // same name, other kind or place: worth showing
        }
    } else if let Some(ls) = &sel.label_selector
        && !selector::matches(ls, obj.labels())
    {
        let have: Vec<String> = obj
            .labels()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        why.push(format!(
            "labels do not match: selector {} against template labels {}",
            selector::describe(ls),
            if have.is_empty() {
                "(none)".to_string()
            } else {
                have.join(",")
            }
        ));
    }
    Some((closeness, why))
}

fn condition_text(c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition) -> String {
    let mut s = format!("{} ({})", c.status, c.reason);
    if !c.message.is_empty() {
        s.push_str(&format!(": {}", c.message));
    }
    s
}

/// Leaf-level differences between two JSON documents, as dotted paths.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    fn walk(path: &str, b: Option<&Value>, a: Option<&Value>, out: &mut Vec<FieldChange>) {
        match (b, a) {
            (Some(Value::Object(bm)), Some(Value::Object(am))) => {
                let mut keys: Vec<&String> = bm.keys().chain(am.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, bm.get(k), am.get(k), out);
                }
            }
            (Some(Value::Array(ba)), Some(Value::Array(aa))) if ba.len() == aa.len() => {
                for (i, (x, y)) in ba.iter().zip(aa).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
                }
            }
            (b, a) if b != a => out.push(FieldChange {
                path: path.to_string(),
                before: b.cloned(),
                after: a.cloned(),
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn overrider_names(o: &crate::api::override_policy::Overriders) -> Vec<String> {
    let mut v = Vec::new();
    let mut add = |n: usize, name: &str| {
        if n > 0 {
            v.push(name.to_string());
        }
    };
    add(o.image_overrider.len(), "imageOverrider");
    add(o.command_overrider.len(), "commandOverrider");
    add(o.args_overrider.len(), "argsOverrider");
    add(o.labels_overrider.len(), "labelsOverrider");
    add(o.annotations_overrider.len(), "annotationsOverrider");
    add(o.field_overrider.len(), "fieldOverrider");
    add(o.plaintext.len(), "plaintext");
    v
}

/// Assembles the explanation from the fetched objects. No I/O.
pub fn explain(input: &Inputs) -> Explanation {
    let obj = &input.template;
    let r = &input.resource;
    let ns = obj.namespace().unwrap_or_default();
    let template_replicas = render::template_replicas(&obj.data);
    let mut notes = Vec::new();
    if !input.namespaced {
        notes.push(format!(
            "{} is cluster-scoped; this version propagates namespaced templates only",
            r.kind
        ));
    }
    if names::is_reserved_namespace(&ns) {
        notes.push(format!(
            "namespace {ns} is reserved for Karmada; templates in it are never propagated"
        ));
    }

    // --- Policy: the detector's order, and the claim it keeps.
    let policies = Policies {
        namespaced: store(&input.policies),
        cluster: store(&input.cluster_policies),
    };
    let ranked = detector::matching_policies(obj, r, &policies);
    let recorded = detector::claimed_policy(obj);
    let kept = recorded.as_ref().and_then(|(pns, pname)| {
        ranked
            .iter()
            .position(|c| &c.namespace == pns && &c.name == pname)
    });
    let winner_idx = kept.or((!ranked.is_empty()).then_some(0));
    let refs: Vec<PolicyRef> = ranked
        .iter()
        .map(|c| {
            let pns = (!c.is_cluster_policy()).then_some(c.namespace.as_str());
            policy_ref(c, score_of(&c.spec, obj, r, pns))
        })
        .collect();
    let mut section = PolicySection {
        winner: winner_idx.map(|i| refs[i].clone()),
        reason: String::new(),
        beaten: Vec::new(),
        near_misses: Vec::new(),
        recorded_claim: recorded.as_ref().map(|(pns, pname)| {
            if pns.is_empty() {
                format!("ClusterPropagationPolicy {pname}")
            } else {
                format!("PropagationPolicy {pns}/{pname}")
            }
        }),
    };
    match winner_idx {
        Some(w) => {
            let win = &refs[w];
            section.reason = if refs.len() == 1 {
                format!(
                    "the only policy that selects it (by {}, priority {})",
                    win.matched_by, win.priority
                )
            } else if kept.is_some() && w > 0 {
                "it claimed the template first; a claimed template keeps its policy while that \
                 policy still selects it"
                    .to_string()
            } else {
                format!(
                    "best of {} selecting policies: PropagationPolicies before \
                     ClusterPropagationPolicies, then higher priority, then closer match \
                     (name > labelSelector > kind), then name",
                    refs.len()
                )
            };
            for (i, p) in refs.iter().enumerate() {
                if i != w {
                    section.beaten.push(Beaten {
                        policy: p.clone(),
                        why: why_lost(p, win, i < w),
                    });
                }
            }
            if let Some(rec) = &section.recorded_claim
                && *rec != win.describe()
            {
                notes.push(format!(
                    "the template records {rec} as its policy, which no longer selects it; the \
                     reconciler moves it to {}",
                    win.describe()
                ));
            }
        }
        None => {
            section.reason = "no PropagationPolicy or ClusterPropagationPolicy selects it".into();
            let mut near: Vec<(u8, NearMiss)> = Vec::new();
            let pps = input.policies.iter().map(|p| {
                let pns = p.namespace().unwrap_or_default();
                (Some(pns), p.name_any(), &p.spec)
            });
            let cpps = input
                .cluster_policies
                .iter()
                .map(|p| (None, p.name_any(), &p.spec));
            for (pns, pname, spec) in pps.chain(cpps) {
                for sel in &spec.resource_selectors {
                    if let Some((closeness, why)) = misses(sel, obj, r, pns.as_deref()) {
                        near.push((
                            closeness,
                            NearMiss {
                                policy: PolicyRef {
                                    kind: if pns.is_some() {
                                        "PropagationPolicy".into()
                                    } else {
                                        "ClusterPropagationPolicy".into()
                                    },
                                    namespace: pns.clone().unwrap_or_default(),
                                    name: pname.clone(),
                                    priority: spec.priority.unwrap_or(0),
                                    matched_by: String::new(),
                                },
                                selector: describe_selector(sel),
                                misses: why,
                            },
                        ));
                    }
                }
            }
            near.retain(|(c, _)| *c >= 2);
            near.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.policy.name.cmp(&b.1.policy.name)));
            section.near_misses = near.into_iter().take(5).map(|(_, m)| m).collect();
        }
    }

    // --- Placement: re-run the scheduler's pure function.
    let claim = winner_idx.map(|i| &ranked[i]);
    let binding = input.binding.as_ref();
    let current: Vec<String> = binding
        .map(|b| b.spec.clusters.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    let placement_and_source: Option<(Placement, String)> = binding
        .and_then(|b| {
            b.spec
                .placement
                .clone()
                .map(|p| (p, format!("ResourceBinding {ns}/{}", b.name_any())))
        })
        .or_else(|| {
            claim.map(|c| {
                (
                    c.spec.placement.clone(),
                    "the policy (no ResourceBinding yet)".to_string(),
                )
            })
        });
    let desired = binding
        .map(|b| b.spec.replicas)
        .filter(|r| *r > 0)
        .or(template_replicas)
        .unwrap_or(0);
    let mut placement_section = None;
    let mut replica_section = None;
    let mut targets: Vec<(String, i32)> = Vec::new();
    if let Some((p, source)) = placement_and_source {
        let workload = placement::Workload {
            api_version: &r.api_version,
            kind: &r.kind,
            replicas: desired,
            current: &current,
            requests: binding
                .as_ref()
                .and_then(|b| b.spec.replica_requirements.as_ref())
                .map(|r| &r.resource_request),
        };
        let decision = placement::schedule(&p, &workload, &input.clusters);
        let clusters = decision
            .verdicts
            .iter()
            .map(|v| ClusterFit {
                cluster: v.cluster.clone(),
                fits: v.rejected.is_none(),
                reason: v.rejected.clone(),
                targeted: current.contains(&v.cluster),
                replicas: decision
                    .targets
                    .iter()
                    .find(|(n, _)| *n == v.cluster)
                    .map(|(_, r)| *r),
            })
            .collect();
        let scheduled = binding.and_then(|b| {
            b.status.as_ref().and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == keys::CONDITION_SCHEDULED)
                    .map(condition_text)
            })
        });
        placement_section = Some(PlacementSection {
            source,
            affinity_name: decision.affinity_name.clone(),
            clusters,
            failure: decision.failure.clone(),
            scheduled,
        });
        let computed_targets = decision.targets.clone();
        if let Some(d) = template_replicas {
            replica_section = Some(replicas(&p, d, &decision.targets, binding, &input.clusters));
        }
        targets = if binding.is_some() {
            binding
                .map(|b| {
                    b.spec
                        .clusters
                        .iter()
                        .map(|t| (t.name.clone(), t.replicas))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            computed_targets
        };
    }

    // --- Overrides per target cluster, computed with the binding controller's functions.
    let cops: Vec<Arc<ClusterOverridePolicy>> = input
        .cluster_override_policies
        .iter()
        .cloned()
        .map(Arc::new)
        .collect();
    let ops: Vec<Arc<OverridePolicy>> = input
        .override_policies
        .iter()
        .cloned()
        .map(Arc::new)
        .collect();
    let template_json = serde_json::to_value(obj).unwrap_or_default();
    let divided = desired > 0 && targets.iter().any(|(_, n)| *n != desired);
    let mut override_section = Vec::new();
    for (cluster_name, share) in &targets {
        let Some(cluster) = input
            .clusters
            .iter()
            .find(|c| c.name_any() == *cluster_name)
        else {
            continue;
        };
        let mut before = template_json.clone();
        if divided {
            render::set_replicas(&mut before, *share);
        }
        let matched = overrides::select(obj, r, cluster, &cops, &ops);
        let mut after = before.clone();
        let result = overrides::apply_all(&mut after, &matched);
        override_section.push(ClusterOverrides {
            cluster: cluster_name.clone(),
            rules: matched
                .iter()
                .map(|m| {
                    format!(
                        "{}: {}",
                        m.describe(),
                        overrider_names(&m.overriders).join(", ")
                    )
                })
                .collect(),
            changes: if result.is_ok() {
                diff(&before, &after)
            } else {
                Vec::new()
            },
            error: result.err(),
        });
    }

    // --- Last apply result per target, and member health.
    let items = binding
        .and_then(|b| b.status.as_ref())
        .map(|s| s.aggregated_status.clone())
        .unwrap_or_default();
    let mut apply = Vec::new();
    for (cluster_name, _) in &targets {
        let work = input.works.get(cluster_name);
        let applied_cond = work.and_then(|w| {
            w.status.as_ref().and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == keys::CONDITION_APPLIED)
                    .cloned()
            })
        });
        let item = items.iter().find(|i| i.cluster_name == *cluster_name);
        let message = applied_cond
            .as_ref()
            .map(|c| c.message.clone())
            .filter(|m| !m.is_empty())
            .or_else(|| item.map(|i| i.applied_message.clone()))
            .unwrap_or_default();
        let cluster_ready = input
            .clusters
            .iter()
            .find(|c| c.name_any() == *cluster_name)
            .and_then(|c| c.status.as_ref())
            .and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == keys::CONDITION_READY)
            })
            .map(|c| {
                if c.status == "True" || c.message.is_empty() {
                    c.status.clone()
                } else {
                    format!("{}: {}", c.status, c.message)
                }
            })
            .unwrap_or_else(|| "Unknown".into());
        apply.push(ClusterApply {
            cluster: cluster_name.clone(),
            work: work.map(|w| format!("{}/{}", w.namespace().unwrap_or_default(), w.name_any())),
            applied: applied_cond.as_ref().map(|c| c.status.clone()),
            reason: applied_cond
                .as_ref()
                .map(|c| c.reason.clone())
                .unwrap_or_default(),
            conflict: message.contains("not managed by Karmada"),
            message,
            health: item.and_then(|i| i.health).map(|h| format!("{h:?}")),
            cluster_ready,
        });
    }

    Explanation {
        template: TemplateInfo {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: ns,
            name: obj.name_any(),
            replicas: template_replicas,
        },
        policy: section,
        placement: placement_section,
        replicas: replica_section,
        overrides: override_section,
        apply,
        notes,
    }
}

/// The replica arithmetic: mode, weights and the result per cluster.
fn replicas(
    p: &Placement,
    desired: i32,
    targets: &[(String, i32)],
    binding: Option<&ResourceBinding>,
    clusters: &[Cluster],
) -> ReplicaSection {
    let strategy = p.replica_scheduling.as_ref();
    let divided = strategy.is_some_and(|s| {
        s.replica_scheduling_type.unwrap_or_default() == ReplicaSchedulingType::Divided
    });
    let aggregated = strategy.is_some_and(|s| {
        s.replica_division_preference == Some(ReplicaDivisionPreference::Aggregated)
    });
    let result: BTreeMap<String, i32> = targets.iter().cloned().collect();
    let scheduled: BTreeMap<String, i32> = binding
        .map(|b| {
            b.spec
                .clusters
                .iter()
                .map(|t| (t.name.clone(), t.replicas))
                .collect()
        })
        .unwrap_or_default();
    let shown = |m: &BTreeMap<String, i32>| {
        m.iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut weights = BTreeMap::new();
    let (mode, explanation) = if !divided {
        (
            "Duplicated".to_string(),
            format!(
                "every target cluster runs all {desired} replica(s){}",
                if result.is_empty() {
                    String::new()
                } else {
                    format!(": {}", shown(&result))
                }
            ),
        )
    } else if aggregated {
        (
            "Divided (Aggregated)".to_string(),
            format!(
                "all {desired} replica(s) on as few clusters as possible: {}",
                shown(&result)
            ),
        )
    } else {
        // The weights the scheduler uses: the highest staticWeightList entry whose
        // targetCluster matches; equal weights when none is set.
        let list = strategy
            .and_then(|s| s.weight_preference.as_ref())
            .map(|w| w.static_weight_list.clone())
            .unwrap_or_default();
        let fitting: Vec<&Cluster> = clusters
            .iter()
            .filter(|c| result.contains_key(&c.name_any()))
            .collect();
        for c in &fitting {
            let w = list
                .iter()
                .filter(|rule| placement::affinity_matches(c, &rule.target_cluster).is_ok())
                .map(|rule| rule.weight)
                .max()
                .unwrap_or(0);
            weights.insert(c.name_any(), w);
        }
        let equal = weights.values().all(|w| *w == 0);
        if equal {
            weights.values_mut().for_each(|w| *w = 1);
        }
        let total: i64 = weights.values().sum();
        let ws = weights
            .iter()
            .map(|(c, w)| format!("{c}={w}"))
            .collect::<Vec<_>>()
            .join(", ");
        (
            "Divided (Weighted)".to_string(),
            format!(
                "{desired} replica(s) divided by {} weights {ws} (total {total}; Sainte-Laguë, \
                 ties to the cluster with fewer, then by name): {}",
                if equal { "equal" } else { "static" },
                shown(&result)
            ),
        )
    };
    ReplicaSection {
        mode,
        desired,
        weights,
        result,
        scheduled,
        explanation,
    }
}

/// The human report: one headed section per question.
pub fn render_text(e: &Explanation) -> String {
    let mut out = String::new();
    let t = &e.template;
    let place = if t.namespace.is_empty() {
        t.name.clone()
    } else {
        format!("{}/{}", t.namespace, t.name)
    };
    out.push_str(&format!(
        "Template:  {} {place} ({})",
        t.kind, t.api_version
    ));
    if let Some(r) = t.replicas {
        out.push_str(&format!(", {r} replica(s)"));
    }
    out.push('\n');
    for n in &e.notes {
        out.push_str(&format!("Note:      {n}\n"));
    }

    out.push_str("\nPolicy:\n");
    let p = &e.policy;
    match &p.winner {
        Some(w) => {
            out.push_str(&format!(
                "  Claimed by {} (priority {}, matches by {})\n  Why: {}\n",
                w.describe(),
                w.priority,
                w.matched_by,
                p.reason
            ));
        }
        None => out.push_str(&format!("  None: {}\n", p.reason)),
    }
    if !p.beaten.is_empty() {
        out.push_str("  Beaten:\n");
        for b in &p.beaten {
            out.push_str(&format!(
                "    {} (priority {}, matches by {}): {}\n",
                b.policy.describe(),
                b.policy.priority,
                b.policy.matched_by,
                b.why
            ));
        }
    }
    if p.winner.is_none() {
        if p.near_misses.is_empty() {
            out.push_str(&format!(
                "  No selector comes close: no policy selects {} {} by kind or by name.\n",
                t.api_version, t.kind
            ));
        } else {
            out.push_str("  Near misses:\n");
            for m in &p.near_misses {
                out.push_str(&format!(
                    "    {} selector [{}]:\n",
                    m.policy.describe(),
                    m.selector
                ));
                for why in &m.misses {
                    out.push_str(&format!("      - {why}\n"));
                }
            }
        }
    }

    if let Some(pl) = &e.placement {
        out.push_str(&format!("\nClusters (placement from {}", pl.source));
        if let Some(a) = &pl.affinity_name {
            out.push_str(&format!(", clusterAffinities term {a}"));
        }
        out.push_str("):\n");
        let rows = pl.clusters.iter().map(|c| {
            vec![
                format!("  {}", c.cluster),
                if c.fits { "yes".into() } else { "no".into() },
                if c.targeted {
                    "yes".into()
                } else {
                    "no".into()
                },
                c.replicas
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                c.reason.clone().unwrap_or_default(),
            ]
        });
        out.push_str(&output::table(
            &["  CLUSTER", "FITS", "TARGETED", "REPLICAS", "REASON"],
            rows,
        ));
        if let Some(f) = &pl.failure {
            out.push_str(&format!("  No placement: {f}\n"));
        }
        if let Some(s) = &pl.scheduled {
            out.push_str(&format!("  Scheduled: {s}\n"));
        }
    }

    if let Some(r) = &e.replicas {
        out.push_str(&format!("\nReplicas ({}):\n  {}\n", r.mode, r.explanation));
        if !r.scheduled.is_empty() && r.scheduled != r.result {
            let s: Vec<String> = r
                .scheduled
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            out.push_str(&format!("  Last scheduled: {}\n", s.join(", ")));
        }
    }

    if !e.overrides.is_empty() {
        out.push_str("\nOverrides:\n");
        for o in &e.overrides {
            if o.rules.is_empty() {
                out.push_str(&format!("  {}: none\n", o.cluster));
                continue;
            }
            out.push_str(&format!("  {}:\n", o.cluster));
            for rule in &o.rules {
                out.push_str(&format!("    rule  {rule}\n"));
            }
            if let Some(err) = &o.error {
                out.push_str(&format!("    error {err}\n"));
            }
            for c in &o.changes {
                let show = |v: &Option<Value>| match v {
                    None => "(unset)".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    c.path,
                    show(&c.before),
                    show(&c.after)
                ));
            }
        }
    }

    if !e.apply.is_empty() {
        out.push_str("\nApply:\n");
        for a in &e.apply {
            let applied = match &a.applied {
                Some(s) if a.reason.is_empty() => format!("Applied={s}"),
                Some(s) => format!("Applied={s} ({})", a.reason),
                None if a.work.is_none() => "no Work yet".to_string(),
                None => "not applied yet".to_string(),
            };
            out.push_str(&format!("  {}: {applied}", a.cluster));
            if a.conflict {
                out.push_str(" CONFLICT");
            }
            if let Some(h) = &a.health {
                out.push_str(&format!(", health {h}"));
            }
            out.push_str(&format!(", cluster Ready={}\n", a.cluster_ready));
            if !a.message.is_empty() && a.applied.as_deref() != Some("True") {
                out.push_str(&format!("    {}\n", a.message));
            }
        }
    }
    out
}

/// Gathers and explains in one call.
pub async fn why(
    target: &Target,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Explanation> {
    let inputs = gather(target, kind, name, namespace).await?;
    Ok(explain(&inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    fn inputs(policies: Vec<Value>) -> Inputs {
        Inputs {
            resource: ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
            },
            namespaced: true,
            template: from(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
                "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            })),
            policies: policies.into_iter().map(from).collect(),
            cluster_policies: vec![],
            binding: None,
            clusters: vec![from(serde_json::json!({
                "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
                "metadata": {"name": "member1"},
                "spec": {"syncMode": "Push"},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ClusterReady",
                    "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
            }))],
            override_policies: vec![],
            cluster_override_policies: vec![],
            works: BTreeMap::new(),
        }
    }

    fn pp(ns: &str, name: &str, selector: Value, priority: i32) -> Value {
        serde_json::json!({
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"priority": priority, "resourceSelectors": [selector],
                "placement": {"replicaScheduling": {"replicaSchedulingType": "Divided"}}},
        })
    }

    #[test]
    fn near_misses_say_what_is_wrong() {
        let e = explain(&inputs(vec![
            pp(
                "other",
                "elsewhere",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}),
                0,
            ),
            pp(
                "shop",
                "labels",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "labelSelector": {"matchLabels": {"app": "api"}}}),
                0,
            ),
            pp(
                "shop",
                "unrelated",
                serde_json::json!({"apiVersion": "v1", "kind": "Secret"}),
                0,
            ),
        ]));
        assert!(e.policy.winner.is_none());
        assert!(e.placement.is_none());
        let names: Vec<&str> = e
            .policy
            .near_misses
            .iter()
            .map(|m| m.policy.name.as_str())
            .collect();
        assert_eq!(
            names,
            vec!["labels", "elsewhere"],
            "closest first, unrelated left out"
        );
        assert!(
            e.policy.near_misses[0].misses[0].contains("labels do not match: selector app=api")
        );
        assert!(e.policy.near_misses[1].misses[0].contains("wrong namespace"));
    }

    #[test]
    fn the_winner_and_the_arithmetic() {
        let e = explain(&inputs(vec![
            pp(
                "shop",
                "by-kind",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
                0,
            ),
            pp(
                "shop",
                "by-name",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}),
                0,
            ),
            pp(
                "shop",
                "urgent",
                serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
                5,
            ),
        ]));
        assert_eq!(e.policy.winner.as_ref().unwrap().name, "urgent");
        let why: Vec<(&str, &str)> = e
            .policy
            .beaten
            .iter()
            .map(|b| (b.policy.name.as_str(), b.why.as_str()))
            .collect();
        assert_eq!(why[0].0, "by-name");
        assert_eq!(why[0].1, "lower priority (0 < 5)");
        assert_eq!(why[1].0, "by-kind");
        let r = e.replicas.clone().unwrap();
        assert_eq!(r.mode, "Divided (Weighted)");
        assert_eq!(r.result, BTreeMap::from([("member1".to_string(), 3)]));
        assert_eq!(e.overrides.len(), 1);
        assert!(e.overrides[0].rules.is_empty());
        assert_eq!(e.apply[0].cluster_ready, "True");
        let text = render_text(&e);
        assert!(
            text.contains("Claimed by PropagationPolicy shop/urgent"),
            "{text}"
        );
    }

    #[test]
    fn diffs_are_leaf_paths() {
        let a = serde_json::json!({"spec": {"c": [{"image": "a"}], "x": 1}});
        let b = serde_json::json!({"spec": {"c": [{"image": "b"}], "y": 2}});
        let paths: Vec<String> = diff(&a, &b).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, vec!["spec.c[0].image", "spec.x", "spec.y"]);
    }
}
