//! `karmadactl why KIND NAME`: one view that explains where a resource template goes and why.
//!
//! [`gather`] reads what the control plane holds (the template, every (Cluster)PropagationPolicy,
//! the ResourceBinding, Clusters, (Cluster)OverridePolicies and the Works) into the [`model`];
//! [`explain`] is a pure function of those objects and [`render`] prints it. It calls the same
//! engine functions the controllers do, so the answer is the one the reconciler acts on: policy
//! precedence (`engine::matching::matching_policies`), the scheduler's verdicts
//! (`engine::placement::schedule`, re-run on the current Clusters with the binding's placement
//! and current targets) and the override rendering (`engine::overrides::select`/`apply_all`).

pub mod explain;
pub mod gather;
pub mod model;
pub mod render;

pub use explain::{diff, explain};
pub use gather::gather;
pub use model::*;
pub use render::render_text;

use crate::Result;
use crate::client::connect::Target;

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
    use kube::core::ApiResource;
    use serde_json::Value;
    use std::collections::BTreeMap;

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
