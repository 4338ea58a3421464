//! The explanation as a pure function of the gathered objects, built on the same engine calls
//! the controllers make.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::DynamicObject;
use kube::core::ApiResource;
use serde_json::Value;

use crate::api::policy::{
    Placement, ReplicaDivisionPreference, ReplicaSchedulingType, ResourceSelector,
};
use crate::api::{
    self as keys, Cluster, ClusterOverridePolicy, ClusterPropagationPolicy, OverridePolicy,
    PropagationPolicy, PropagationSpec, ResourceBinding, names,
};
use crate::engine::matching::{self, Claim};
use crate::engine::{overrides, placement, selector};

use super::model::*;

const SCORE_WORDS: [&str; 4] = ["", "kind", "labelSelector", "name"];

fn score_of(spec: &PropagationSpec, obj: &DynamicObject, r: &ApiResource, ns: Option<&str>) -> u8 {
    spec.resource_selectors
        .iter()
        .filter_map(|s| matching::selector_score(s, obj, r, ns))
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
    if matching::selector_score(sel, obj, r, policy_ns).is_some() {
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
    // The reconciler's interpreter without the user's customizations (not read here); the
    // binding's replicas, when there is one, are the reconciler's own answer.
    let interpreter = crate::engine::interpreter::Interpreter::default();
    let template_replicas = interpreter
        .replicas(&serde_json::to_value(obj).unwrap_or_default())
        .ok()
        .flatten()
        .map(|r| r.replicas);
    let mut notes = Vec::new();
    if names::is_reserved_namespace(&ns) {
        notes.push(format!(
            "namespace {ns} is reserved for Karmada; templates in it are never propagated"
        ));
    }

    // --- Policy: the detector's order, and the claim it keeps.
    let namespaced: Vec<Arc<PropagationPolicy>> =
        input.policies.iter().cloned().map(Arc::new).collect();
    let cluster: Vec<Arc<ClusterPropagationPolicy>> = input
        .cluster_policies
        .iter()
        .cloned()
        .map(Arc::new)
        .collect();
    let ranked = matching::matching_policies(obj, r, &namespaced, &cluster);
    let recorded = matching::claimed_policy(obj);
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
        .and_then(|b| b.spec.placement.clone().map(|p| (p, binding_phrase(b))))
        .or_else(|| {
            claim.map(|c| {
                (
                    c.spec.placement.clone(),
                    "the policy (no binding yet)".to_string(),
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
    let scheduled: Vec<(String, i32)> = binding
        .map(|b| {
            b.spec
                .clusters
                .iter()
                .map(|c| (c.name.clone(), c.replicas))
                .collect()
        })
        .unwrap_or_default();
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
            scheduled: &scheduled,
            fresh: false,
            uid: binding
                .map(|b| b.spec.resource.uid.as_str())
                .unwrap_or_default(),
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
        if divided && let Ok(Some(revised)) = interpreter.revise_replica(&before, (*share).into()) {
            before = revised;
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

/// `ResourceBinding ns/name`, or `ClusterResourceBinding name` for a cluster-scoped template
/// (gathered into the same type, without a namespace).
fn binding_phrase(b: &ResourceBinding) -> String {
    match b.metadata.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("ResourceBinding {ns}/{}", b.name_any()),
        _ => format!("ClusterResourceBinding {}", b.name_any()),
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
