//! Which policy governs a template: selector matching, Karmada's precedence between
//! PropagationPolicies and ClusterPropagationPolicies, and the claim recorded on the template.
//! The detector calls it on its caches; `karmadactl why` on what it listed.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::DynamicObject;
use kube::core::ApiResource;
use serde_json::{Value, json};

use super::selector;
use crate::api::policy::ResourceSelector;
use crate::api::{
    self as keys, ClusterPropagationPolicy, PropagationPolicy, PropagationSpec, names,
};

/// The policy governing a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Empty for a ClusterPropagationPolicy.
    pub namespace: String,
    pub name: String,
    pub permanent_id: Option<String>,
    pub spec: PropagationSpec,
}

impl Claim {
    pub fn is_cluster_policy(&self) -> bool {
        self.namespace.is_empty()
    }

    pub fn describe(&self) -> String {
        if self.is_cluster_policy() {
            format!("ClusterPropagationPolicy {}", self.name)
        } else {
            format!("PropagationPolicy {}/{}", self.namespace, self.name)
        }
    }
}

/// Templates in these namespaces are never propagated.
pub fn skipped_namespace(ns: &str, skipped_patterns: &[String]) -> bool {
    names::is_reserved_namespace(ns) || skipped_patterns.iter().any(|p| regex_full_match(p, ns))
}

/// A tiny full-match for the skip patterns (`kube-.*`, literal names): `.*` is the only
/// wildcard they use.
pub fn regex_full_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split(".*").collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// The (namespace, name) of the policy that claimed the template, from its annotations.
pub fn claimed_policy(obj: &DynamicObject) -> Option<(String, String)> {
    let a = obj.annotations();
    if let Some(name) = a.get(keys::ANNOTATION_PROPAGATION_POLICY_NAME) {
        let ns = a
            .get(keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE)
            .cloned()
            .unwrap_or_default();
        return Some((ns, name.clone()));
    }
    a.get(keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME)
        .map(|n| (String::new(), n.clone()))
}

/// How closely a selector matches: name (3) over labelSelector (2) over kind only (1).
pub fn selector_score(
    sel: &ResourceSelector,
    obj: &DynamicObject,
    resource: &ApiResource,
    policy_ns: Option<&str>,
) -> Option<u8> {
    if sel.api_version != resource.api_version || sel.kind != resource.kind {
        return None;
    }
    let obj_ns = obj.namespace().unwrap_or_default();
    if let Some(pns) = policy_ns
        && pns != obj_ns
    {
        return None;
    }
    if !sel.namespace.is_empty() && sel.namespace != obj_ns {
        return None;
    }
    if !sel.name.is_empty() {
        return (sel.name == obj.name_any()).then_some(3);
    }
    if let Some(ls) = &sel.label_selector {
        return selector::matches(ls, obj.labels()).then_some(2);
    }
    Some(1)
}

/// Policies selecting `obj`, best first: PropagationPolicies before ClusterPropagationPolicies,
/// then higher priority, then closer match, then name.
pub fn matching_policies(
    obj: &DynamicObject,
    resource: &ApiResource,
    namespaced: &[Arc<PropagationPolicy>],
    cluster: &[Arc<ClusterPropagationPolicy>],
) -> Vec<Claim> {
    let rank = |spec: &PropagationSpec, ns: Option<&str>| {
        spec.resource_selectors
            .iter()
            .filter_map(|s| selector_score(s, obj, resource, ns))
            .max()
    };
    let sort = |v: &mut Vec<(i32, u8, Claim)>| {
        v.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(a.2.name.cmp(&b.2.name))
        });
    };
    let mut pps: Vec<(i32, u8, Claim)> = namespaced
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            let ns = p.namespace().unwrap_or_default();
            rank(&p.spec, Some(&ns)).map(|score| {
                (
                    p.spec.priority.unwrap_or(0),
                    score,
                    Claim {
                        namespace: ns,
                        name: p.name_any(),
                        permanent_id: p
                            .labels()
                            .get(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
                            .cloned(),
                        spec: p.spec.clone(),
                    },
                )
            })
        })
        .collect();
    let mut cpps: Vec<(i32, u8, Claim)> = cluster
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            rank(&p.spec, None).map(|score| {
                (
                    p.spec.priority.unwrap_or(0),
                    score,
                    Claim {
                        namespace: String::new(),
                        name: p.name_any(),
                        permanent_id: p
                            .labels()
                            .get(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID)
                            .cloned(),
                        spec: p.spec.clone(),
                    },
                )
            })
        })
        .collect();
    sort(&mut pps);
    sort(&mut cpps);
    pps.into_iter().chain(cpps).map(|(_, _, c)| c).collect()
}

/// The labels and annotations that record a claim (and null out the other policy kind's).
pub fn claim_metadata(claim: &Claim, policy_id: &str) -> Value {
    if claim.is_cluster_policy() {
        json!({
            "labels": {keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID: policy_id, keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID: null},
            "annotations": {keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME: claim.name,
                keys::ANNOTATION_PROPAGATION_POLICY_NAME: null, keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE: null},
        })
    } else {
        json!({
            "labels": {keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID: policy_id, keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID: null},
            "annotations": {keys::ANNOTATION_PROPAGATION_POLICY_NAME: claim.name,
                keys::ANNOTATION_PROPAGATION_POLICY_NAMESPACE: claim.namespace,
                keys::ANNOTATION_CLUSTER_PROPAGATION_POLICY_NAME: null},
        })
    }
}

/// Whether applying `meta` (a merge patch of labels/annotations) would change anything.
pub fn needs_metadata(
    labels: &Option<BTreeMap<String, String>>,
    annotations: &Option<BTreeMap<String, String>>,
    meta: &Value,
) -> bool {
    let differs = |current: &Option<BTreeMap<String, String>>, wanted: &Value| {
        wanted.as_object().into_iter().flatten().any(|(k, v)| {
            let have = current.as_ref().and_then(|m| m.get(k));
            match v.as_str() {
                Some(s) => have.map(String::as_str) != Some(s),
                None => have.is_some(),
            }
        })
    };
    differs(labels, &meta["labels"]) || differs(annotations, &meta["annotations"])
}

/// A merge patch that removes every claim label and annotation.
pub const CLAIM_NULLS: &str = r#"{"labels": {"propagationpolicy.karmada.io/permanent-id": null, "clusterpropagationpolicy.karmada.io/permanent-id": null},
 "annotations": {"propagationpolicy.karmada.io/name": null, "propagationpolicy.karmada.io/namespace": null, "clusterpropagationpolicy.karmada.io/name": null}}"#;

/// Whether the binding still carries a claim label.
pub fn needs_release(b: &impl kube::ResourceExt) -> bool {
    b.labels()
        .contains_key(keys::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
        || b.labels()
            .contains_key(keys::LABEL_CLUSTER_PROPAGATION_POLICY_PERMANENT_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_patterns_match_whole_names() {
        assert!(regex_full_match("kube-.*", "kube-system"));
        assert!(!regex_full_match("kube-.*", "my-kube-thing"));
        assert!(regex_full_match("default", "default"));
        assert!(!regex_full_match("default", "default2"));
    }
}
