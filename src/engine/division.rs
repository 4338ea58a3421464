//! Replica division: how many replicas each target cluster gets (Duplicated, static weights,
//! dynamic weights by free capacity, Aggregated), from the placement and the clusters' resource
//! summaries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt as _;

use crate::api::Cluster;
use crate::api::policy::{Placement, ReplicaDivisionPreference, ReplicaSchedulingType};

use super::placement::{Workload, affinity_matches};
use super::quantity::quantity;

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
        // Members report their capacity: sum without overflowing.
        let total = free.values().fold(0i64, |a, f| a.saturating_add(*f));
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
        let mut room: i64 = 0;
        for (name, f) in order {
            if room >= replicas as i64 {
                break;
            }
            room = room.saturating_add(*f);
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
/// Quantities the member reports are bounded ([`quantity`]): an amount that is not a quantity
/// or beyond what Kubernetes holds counts as none, so absurd reports mean no room, never an
/// overflow; the result saturates at `i64::MAX`.
pub fn available_replicas(cluster: &Cluster, requests: &BTreeMap<String, Quantity>) -> i64 {
    let Some(summary) = cluster
        .status
        .as_ref()
        .and_then(|s| s.resource_summary.as_ref())
    else {
        return 0;
    };
    // Each amount is finite, 0 ..= MAX_QUANTITY, so the difference and quotients are finite.
    let amount = |m: &BTreeMap<String, Quantity>, resource: &str| {
        m.get(resource)
            .and_then(|q| quantity(&q.0))
            .unwrap_or(0.0)
            .max(0.0)
    };
    let free = |resource: &str| {
        (amount(&summary.allocatable, resource)
            - amount(&summary.allocated, resource)
            - amount(&summary.allocating, resource))
        .max(0.0)
    };
    let mut fit: Option<f64> = None;
    let mut tighten = |n: f64| fit = Some(fit.map_or(n, |f| f.min(n)));
    for (resource, q) in requests {
        match quantity(&q.0) {
            Some(need) if need > 0.0 => tighten((free(resource) / need).floor()),
            Some(_) => {}
            // A request no cluster can hold.
            None => tighten(0.0),
        }
    }
    if summary.allocatable.contains_key("pods") {
        tighten(free("pods").floor());
    }
    match fit {
        Some(f) if f >= i64::MAX as f64 => i64::MAX,
        Some(f) if f > 0.0 => f as i64,
        _ => 0,
    }
}

/// Sainte-Laguë: each replica goes to the cluster with the highest weight / (2 * seats + 1),
/// ties to fewer seats, then to the first name. Computed in closed form, not one step per
/// replica: every (cluster, seat) pair has the priority weight / (2 * seat + 1) and the
/// division is the `replicas` best pairs. The pairs at or above weight-sum / (2 * replicas)
/// are counted directly (at most one pair per cluster away from the answer), then single
/// seats are added or taken back in priority order. Exact integer arithmetic (i128), so
/// weights up to `i64::MAX` and `replicas` up to `i32::MAX` cost O(clusters²) at most.
pub fn webster(weights: &BTreeMap<String, i64>, replicas: i32) -> Vec<(String, i32)> {
    let parties: Vec<(&str, i128)> = weights
        .iter()
        .filter(|(_, w)| **w > 0)
        .map(|(n, w)| (n.as_str(), *w as i128))
        .collect();
    if parties.is_empty() || replicas <= 0 {
        return Vec::new();
    }
    let r = replicas as i128;
    let total: i128 = parties.iter().map(|(_, w)| w).sum();
    // Seats with priority >= total / (2r): the odd k = 2s + 1 with k <= 2 r w / total.
    let mut seats: Vec<i128> = parties
        .iter()
        .map(|(_, w)| (2 * r * w / total + 1) / 2)
        .collect();
    let mut sum: i128 = seats.iter().sum();
    // Whether pair (a, seat sa) ranks before pair (b, seat sb): higher weight / (2s + 1), then
    // fewer seats, then the first name.
    let ahead = |a: usize, sa: i128, b: usize, sb: i128| {
        let (pa, pb) = (parties[a].1 * (2 * sb + 1), parties[b].1 * (2 * sa + 1));
        pa.cmp(&pb)
            .then(sb.cmp(&sa))
            .then(parties[b].0.cmp(parties[a].0))
            .is_gt()
    };
    while sum < r {
        // The best next seat.
        let mut best = 0;
        for i in 1..parties.len() {
            if ahead(i, seats[i], best, seats[best]) {
                best = i;
            }
        }
        seats[best] += 1;
        sum += 1;
    }
    while sum > r {
        // The worst seat given.
        let mut worst: Option<usize> = None;
        for i in (0..parties.len()).filter(|i| seats[*i] > 0) {
            if worst.is_none_or(|w| ahead(w, seats[w] - 1, i, seats[i] - 1)) {
                worst = Some(i);
            }
        }
        let w = worst.expect("more seats than replicas implies a seat");
        seats[w] -= 1;
        sum -= 1;
    }
    parties
        .iter()
        .zip(seats)
        .filter(|(_, s)| *s > 0)
        .map(|((n, _), s)| (n.to_string(), s as i32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The per-replica loop the closed form replaces: each replica goes to the highest
    /// weight / (2 * seats + 1), ties to fewer seats, then to the first name.
    fn reference(weights: &BTreeMap<String, i64>, replicas: i32) -> Vec<(String, i32)> {
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

    fn weights(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(n, w)| (n.to_string(), *w)).collect()
    }

    /// Runs `f` on another thread and fails if it does not return within `limit`.
    fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("did not return within {limit:?}"))
    }

    #[test]
    fn same_division_as_the_per_replica_loop() {
        // A small deterministic generator: weights 0..=12 over 1..=6 clusters, 0..=60 replicas.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..3000 {
            let n = 1 + next(6) as usize;
            let pairs: Vec<(String, i64)> = (0..n)
                .map(|i| (format!("m{}", next(9) * 10 + i as u64), next(13) as i64))
                .collect();
            let w: BTreeMap<String, i64> = pairs.into_iter().collect();
            let r = next(61) as i32;
            assert_eq!(
                webster(&w, r),
                reference(&w, r),
                "weights {w:?}, {r} replicas"
            );
        }
        // Large weights (dynamic weights are free replicas, up to i64::MAX).
        for w in [
            weights(&[("a", i64::MAX), ("b", i64::MAX - 1), ("c", 1)]),
            weights(&[("a", i64::MAX), ("b", 3)]),
            weights(&[("a", 1 << 40), ("b", (1 << 40) + 1), ("c", 1 << 39)]),
        ] {
            for r in [1, 2, 3, 7, 100] {
                assert_eq!(
                    webster(&w, r),
                    reference(&w, r),
                    "weights {w:?}, {r} replicas"
                );
            }
        }
    }

    #[test]
    fn huge_replica_counts_return_at_once() {
        let w = weights(&[("m1", 1), ("m2", 1), ("m3", 1)]);
        let got = within(Duration::from_secs(5), move || webster(&w, i32::MAX));
        assert_eq!(
            got,
            vec![
                ("m1".into(), 715_827_883),
                ("m2".into(), 715_827_882),
                ("m3".into(), 715_827_882)
            ]
        );
        let w = weights(&[("a", i64::MAX), ("b", 1), ("c", 0)]);
        let got = within(Duration::from_secs(5), move || webster(&w, i32::MAX));
        assert_eq!(got, vec![("a".into(), i32::MAX)]);
    }

    fn cluster(name: &str, allocatable: serde_json::Value) -> Cluster {
        let mut c: Cluster = serde_json::from_value(serde_json::json!({
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Push"},
            "status": {"resourceSummary": {"allocatable": allocatable}}
        }))
        .unwrap();
        c.metadata.name = Some(name.into());
        c
    }

    #[test]
    fn absurd_capacities_neither_overflow_nor_panic() {
        let requests: BTreeMap<String, Quantity> =
            [("cpu".to_string(), Quantity("1".into()))].into();
        let clusters = [
            cluster("m1", serde_json::json!({"cpu": "5000000000000000000"})),
            cluster("m2", serde_json::json!({"cpu": "5000000000000000000"})),
            cluster("m3", serde_json::json!({"cpu": "99999999999999999999Ei"})),
            cluster("m4", serde_json::json!({"cpu": "1e400", "pods": "1e400"})),
            cluster("m5", serde_json::json!({"cpu": "NaN"})),
        ];
        assert_eq!(
            available_replicas(&clusters[0], &requests),
            5_000_000_000_000_000_000
        );
        // Beyond what Kubernetes' quantities hold, or not a number: no room, not a panic.
        for c in &clusters[2..] {
            assert_eq!(available_replicas(c, &requests), 0, "{}", c.name_any());
        }
        let tiny: BTreeMap<String, Quantity> = [("cpu".to_string(), Quantity("1n".into()))].into();
        assert_eq!(available_replicas(&clusters[0], &tiny), i64::MAX);

        for preference in [
            "Weighted, weightPreference: {dynamicWeight: AvailableReplicas}",
            "Aggregated",
        ] {
            let placement: Placement = serde_yaml::from_str(&format!(
                "{{replicaScheduling: {{replicaSchedulingType: Divided, replicaDivisionPreference: {preference}}}}}"
            ))
            .unwrap();
            let (clusters, requests) = (clusters.clone(), requests.clone());
            let got = within(Duration::from_secs(5), move || {
                let workload = Workload {
                    api_version: "apps/v1",
                    kind: "Deployment",
                    replicas: i32::MAX,
                    current: &[],
                    requests: Some(&requests),
                };
                let refs: Vec<&Cluster> = clusters.iter().collect();
                assign_replicas(&placement, &workload, &refs)
            });
            let got = got.unwrap();
            assert_eq!(
                got.iter().map(|(_, r)| *r as i64).sum::<i64>(),
                i32::MAX as i64
            );
            assert!(got.iter().all(|(n, _)| n == "m1" || n == "m2"), "{got:?}");
        }
    }
}
