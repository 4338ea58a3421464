//! Replica division: how many replicas each target cluster gets (Duplicated, static weights,
//! dynamic weights by free capacity, Aggregated), from the placement and the clusters' resource
//! summaries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt as _;

use crate::api::Cluster;
use crate::api::policy::{Placement, ReplicaDivisionPreference, ReplicaSchedulingType};

use super::placement::{Workload, affinity_matches};
use super::quantity::parse_quantity;

/// Replicas per target. Duplicated: every cluster gets all. Divided: static weights (Webster /
/// Sainte-Laguë, ties to fewer seats then name), or Aggregated onto as few clusters as the order
/// allows (here: the first cluster, then the rest with none).
pub fn assign_replicas(
    placement: &Placement,
    workload: &Workload<'_>,
    clusters: &[&Cluster],
) -> Result<Vec<(String, i32)>, String> {
    let replicas = workload.replicas;
    let names: Vec<String> = clusters.iter().map(|c| c.name_any()).collect();
    let strategy = placement.replica_scheduling.as_ref();
    let divided = strategy.is_some_and(|s| {
        s.replica_scheduling_type.unwrap_or_default() == ReplicaSchedulingType::Divided
    });
    if !divided || replicas <= 0 {
        return Ok(names.into_iter().map(|n| (n, replicas.max(0))).collect());
    }
    let strategy = strategy.expect("divided implies a strategy");
    let empty = BTreeMap::new();
    let requests = workload.requests.unwrap_or(&empty);
    let by_capacity = || -> Result<BTreeMap<String, i64>, String> {
        let free: BTreeMap<String, i64> = clusters
            .iter()
            .map(|c| (c.name_any(), available_replicas(c, requests)))
            .collect();
        let total: i64 = free.values().sum();
        if total < replicas as i64 {
            let each: Vec<String> = free.iter().map(|(n, f)| format!("{n} {f}")).collect();
            return Err(format!(
                "{replicas} replicas do not fit: free capacity for {total} (by cluster: {})",
                each.join(", ")
            ));
        }
        Ok(free)
    };
    if strategy.replica_division_preference == Some(ReplicaDivisionPreference::Aggregated) {
        // As few clusters as possible: the roomiest first, until the replicas fit; then divided
        // in proportion to their room.
        let free = by_capacity()?;
        let mut order: Vec<(&String, &i64)> = free.iter().collect();
        order.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut chosen = BTreeMap::new();
        let mut room = 0;
        for (name, f) in order {
            if room >= replicas as i64 {
                break;
            }
            room += f;
            chosen.insert(name.clone(), *f);
        }
        return Ok(webster(&chosen, replicas));
    }
    let dynamic = strategy
        .weight_preference
        .as_ref()
        .is_some_and(|w| w.dynamic_weight.is_some());
    if dynamic {
        return Ok(webster(&by_capacity()?, replicas));
    }
    let mut weights: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(list) = strategy
        .weight_preference
        .as_ref()
        .map(|w| &w.static_weight_list)
    {
        for c in clusters {
            let w = list
                .iter()
                .filter(|rule| affinity_matches(c, &rule.target_cluster).is_ok())
                .map(|rule| rule.weight)
                .max()
                .unwrap_or(0);
            weights.insert(c.name_any(), w);
        }
    }
    if weights.values().all(|w| *w == 0) {
        weights = names.iter().map(|n| (n.clone(), 1)).collect();
    }
    Ok(webster(&weights, replicas))
}

/// How many more replicas requesting `requests` fit in the cluster: per requested resource,
/// (allocatable − allocated − allocating) / request, the smallest wins; also capped by free
/// pod slots when the cluster reports them. A cluster with no resource summary has no room.
pub fn available_replicas(cluster: &Cluster, requests: &BTreeMap<String, Quantity>) -> i64 {
    let Some(summary) = cluster
        .status
        .as_ref()
        .and_then(|s| s.resource_summary.as_ref())
    else {
        return 0;
    };
    let free = |resource: &str| {
        let get = |m: &BTreeMap<String, Quantity>| {
            m.get(resource).map(|q| parse_quantity(&q.0)).unwrap_or(0.0)
        };
        get(&summary.allocatable) - get(&summary.allocated) - get(&summary.allocating)
    };
    let mut fit = i64::MAX;
    for (resource, q) in requests {
        let need = parse_quantity(&q.0);
        if need > 0.0 {
            fit = fit.min((free(resource) / need).floor().max(0.0) as i64);
        }
    }
    if summary.allocatable.contains_key("pods") {
        fit = fit.min(free("pods").max(0.0) as i64);
    }
    if fit == i64::MAX { 0 } else { fit }
}

/// Sainte-Laguë: each replica goes to the cluster with the highest weight / (2 * seats + 1).
pub fn webster(weights: &BTreeMap<String, i64>, replicas: i32) -> Vec<(String, i32)> {
    let mut seats: BTreeMap<&str, i32> = weights
        .iter()
        .filter(|(_, w)| **w > 0)
        .map(|(n, _)| (n.as_str(), 0))
        .collect();
    for _ in 0..replicas {
        let next = seats
            .iter()
            .map(|(name, s)| (*name, *s, weights[*name] as f64 / (2 * *s + 1) as f64))
            .max_by(|a, b| {
                a.2.partial_cmp(&b.2)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(b.1.cmp(&a.1))
                    .then(b.0.cmp(a.0))
            })
            .map(|(name, _, _)| name);
        if let Some(name) = next {
            *seats.get_mut(name).expect("present") += 1;
        }
    }
    seats
        .into_iter()
        .filter(|(_, s)| *s > 0)
        .map(|(n, s)| (n.to_string(), s))
        .collect()
}
