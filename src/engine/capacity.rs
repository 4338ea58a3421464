//! A member's resource summary as Karmada records it in the Cluster status: what its nodes can
//! hold (`allocatable`), what scheduled, unfinished pods request (`allocated`), what pods still
//! waiting for a node request (`allocating`), each with a `pods` count, and, when the Cluster
//! defines `resourceModels`, how many nodes fall into each grade by what they have left
//! (`allocatableModelings`). Free capacity for dynamic division is
//! allocatable − allocated − allocating.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::quantity::{format_quantity, parse_quantity};
use crate::api::cluster::{AllocatableModeling, ResourceModel, ResourceSummary};

type Amounts = BTreeMap<String, f64>;

/// What one pod requests: its containers' requests summed, each init container's as a floor
/// (the largest counts), plus the pod overhead, as the kube-scheduler counts it.
pub fn pod_requests(spec: &PodSpec) -> Amounts {
    let mut total = Amounts::new();
    for c in &spec.containers {
        for (k, q) in c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
        {
            *total.entry(k.clone()).or_default() += parse_quantity(&q.0);
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, q) in c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
        {
            let e = total.entry(k.clone()).or_default();
            *e = e.max(parse_quantity(&q.0));
        }
    }
    for (k, q) in spec.overhead.iter().flatten() {
        *total.entry(k.clone()).or_default() += parse_quantity(&q.0);
    }
    total
}

fn finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn add(to: &mut Amounts, from: &Amounts) {
    for (k, v) in from {
        *to.entry(k.clone()).or_default() += v;
    }
}

fn quantities(a: Amounts) -> BTreeMap<String, Quantity> {
    a.into_iter()
        .map(|(k, v)| (k, Quantity(format_quantity(v))))
        .collect()
}

/// The resource summary of a member from its nodes and pods.
pub fn resource_summary(nodes: &[Node], pods: &[Pod], models: &[ResourceModel]) -> ResourceSummary {
    let mut allocatable = Amounts::new();
    let mut per_node: BTreeMap<&str, Amounts> = BTreeMap::new();
    for n in nodes {
        let mut a = Amounts::new();
        for (k, q) in n
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .into_iter()
            .flatten()
        {
            a.insert(k.clone(), parse_quantity(&q.0));
        }
        add(&mut allocatable, &a);
        per_node.insert(n.metadata.name.as_deref().unwrap_or_default(), a);
    }
    let (mut allocated, mut allocating) = (Amounts::new(), Amounts::new());
    let (mut placed, mut waiting) = (0.0, 0.0);
    let mut used_per_node: BTreeMap<String, Amounts> = BTreeMap::new();
    for p in pods {
        let Some(spec) = p.spec.as_ref() else {
            continue;
        };
        let requests = pod_requests(spec);
        match spec.node_name.as_deref().filter(|n| !n.is_empty()) {
            None => {
                add(&mut allocating, &requests);
                waiting += 1.0;
            }
            // The kube-scheduler does not count finished pods.
            Some(_) if finished(p) => {}
            Some(node) => {
                add(&mut allocated, &requests);
                placed += 1.0;
                let used = used_per_node.entry(node.to_string()).or_default();
                add(used, &requests);
                *used.entry("pods".into()).or_default() += 1.0;
            }
        }
    }
    allocated.insert("pods".into(), placed);
    allocating.insert("pods".into(), waiting);
    let allocatable_modelings = if models.is_empty() {
        Vec::new()
    } else {
        let mut counts = vec![0i64; models.len()];
        for (name, a) in &per_node {
            let used = used_per_node.get(*name);
            let left = |r: &str| {
                a.get(r).copied().unwrap_or(0.0)
                    - used.and_then(|u| u.get(r)).copied().unwrap_or(0.0)
            };
            // A node with no pod slot left takes no part (as in Karmada).
            if a.contains_key("pods") && left("pods") <= 0.0 {
                continue;
            }
            if let Some(i) = grade_of(models, &left) {
                counts[i] += 1;
            }
        }
        models
            .iter()
            .zip(counts)
            .map(|(m, count)| AllocatableModeling {
                grade: m.grade,
                count,
            })
            .collect()
    };
    ResourceSummary {
        allocatable: quantities(allocatable),
        allocated: quantities(allocated),
        allocating: quantities(allocating),
        allocatable_modelings,
    }
}

/// The grade (index into `models`) a node with `left` resources falls into: the highest grade
/// whose every range minimum it reaches. `None` when it reaches not even the lowest grade.
fn grade_of(models: &[ResourceModel], left: &dyn Fn(&str) -> f64) -> Option<usize> {
    models.iter().rposition(|m| {
        m.ranges
            .iter()
            .all(|r| left(&r.name) >= parse_quantity(&r.min.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, cpu: &str, pods: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name},
            "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": pods}}}))
        .unwrap()
    }

    fn pod(node: Option<&str>, cpu: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}],
                "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]},
            "status": {"phase": phase}}))
        .unwrap()
    }

    #[test]
    fn summary_counts_allocated_and_allocating_like_karmada() {
        let nodes = [node("n1", "4", "110"), node("n2", "2", "110")];
        let pods = [
            pod(Some("n1"), "1", "Running"),
            pod(Some("n1"), "500m", "Pending"),
            pod(Some("n2"), "2", "Succeeded"),
            pod(None, "250m", "Pending"),
        ];
        let s = resource_summary(&nodes, &pods, &[]);
        let q = |m: &BTreeMap<String, Quantity>, k: &str| parse_quantity(&m[k].0);
        assert_eq!(q(&s.allocatable, "cpu"), 6.0);
        assert_eq!(q(&s.allocated, "cpu"), 1.5);
        assert_eq!(q(&s.allocated, "pods"), 2.0);
        // An init container's request is a floor per resource, not added.
        assert_eq!(q(&s.allocated, "memory"), 2.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(q(&s.allocating, "cpu"), 0.25);
        assert_eq!(q(&s.allocating, "pods"), 1.0);
        assert!(s.allocatable_modelings.is_empty());

        let models: Vec<ResourceModel> = serde_json::from_value(json!([
            {"grade": 0, "ranges": [{"name": "cpu", "min": "0", "max": "1"}]},
            {"grade": 1, "ranges": [{"name": "cpu", "min": "1", "max": "2"}]},
            {"grade": 2, "ranges": [{"name": "cpu", "min": "2", "max": "100"}]},
        ]))
        .unwrap();
        // n1 has 2.5 CPUs left (grade 2), n2 all 2 (its pod finished): grade 2 as well.
        let s = resource_summary(&nodes, &pods, &models);
        let counts: Vec<(u32, i64)> = s
            .allocatable_modelings
            .iter()
            .map(|m| (m.grade, m.count))
            .collect();
        assert_eq!(counts, vec![(0, 0), (1, 0), (2, 2)]);
    }
}
