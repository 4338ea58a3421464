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

/// Replicas per target. Duplicated: every cluster gets all. Divided by static weights:
/// Webster / Sainte-Laguë over the whole count. Dynamic weights and Aggregated divide by free
/// capacity like Karmada's scheduler, keeping the current split where they can (see
/// [`divide_dynamic`]). Ties go to fewer replicas, then by name in the order the resource
/// UID's hash picks ([`Tie::of_uid`]). `Err` is a lack of capacity (reason `Unschedulable`).
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
    let tie = Tie::of_uid(workload.uid);
    let empty = BTreeMap::new();
    let requests = workload.requests.unwrap_or(&empty);
    let aggregated =
        strategy.replica_division_preference == Some(ReplicaDivisionPreference::Aggregated);
    let dynamic = strategy
        .weight_preference
        .as_ref()
        .is_some_and(|w| w.dynamic_weight.is_some());
    if aggregated || dynamic {
        let available: Vec<(String, i64)> = clusters
            .iter()
            .map(|c| (c.name_any(), available_replicas(c, requests)))
            .collect();
        return divide_dynamic(
            aggregated,
            &available,
            workload.scheduled,
            replicas,
            workload.fresh,
            tie,
        );
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
    Ok(webster_with(&weights, replicas, tie))
}

/// Divides `replicas` by free capacity (`available`: the candidate clusters and how many more
/// replicas each can hold), as Karmada's scheduler does, given the current split `scheduled`:
///
/// - `fresh` (`rescheduleTriggeredAt` after the last scheduling): everything is divided anew,
///   each cluster counting its current replicas as free;
/// - scale down: the new count is divided in proportion to the current split;
/// - scale up: only the added replicas are divided by free capacity, on top of the current split;
/// - same count: the current split stays.
///
/// Clusters that are no longer candidates lose their replicas (they are divided again).
/// Aggregated uses as few clusters as possible: those already holding replicas first, then the
/// roomiest. `Err` when the free capacity is short of what must be placed.
pub fn divide_dynamic(
    aggregated: bool,
    available: &[(String, i64)],
    scheduled: &[(String, i32)],
    replicas: i32,
    fresh: bool,
    tie: Tie,
) -> Result<Vec<(String, i32)>, String> {
    let mut kept: Vec<(String, i32)> = scheduled
        .iter()
        .filter(|(n, r)| *r > 0 && available.iter().any(|(a, _)| a == n))
        .cloned()
        .collect();
    let assigned: i64 = kept.iter().map(|(_, r)| *r as i64).sum();
    let by_room = |list: &mut Vec<(String, i64)>| {
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    };
    let (target, mut room): (i32, Vec<(String, i64)>) = if fresh {
        let mut room: Vec<(String, i64)> = available
            .iter()
            .map(|(n, a)| {
                let mine = kept.iter().find(|(k, _)| k == n).map_or(0, |(_, r)| *r);
                (n.clone(), a.saturating_add(mine as i64))
            })
            .collect();
        by_room(&mut room);
        kept.clear();
        (replicas, room)
    } else if assigned > replicas as i64 {
        let mut room: Vec<(String, i64)> =
            kept.iter().map(|(n, r)| (n.clone(), *r as i64)).collect();
        by_room(&mut room);
        kept.clear();
        (replicas, room)
    } else if assigned < replicas as i64 {
        let mut room = available.to_vec();
        by_room(&mut room);
        (replicas - assigned as i32, room)
    } else {
        kept.sort();
        return Ok(kept);
    };
    let total = room.iter().fold(0i64, |a, (_, f)| a.saturating_add(*f));
    if total < target as i64 {
        let each: Vec<String> = available.iter().map(|(n, f)| format!("{n} {f}")).collect();
        let what = if kept.is_empty() {
            format!("{target} replicas do not fit")
        } else {
            format!("{target} more replicas (to {replicas}) do not fit")
        };
        return Err(format!(
            "{what}: free capacity for {total} (by cluster: {})",
            each.join(", ")
        ));
    }
    if aggregated {
        // Clusters already holding replicas first, then the roomiest, until the target fits.
        room.sort_by_key(|(n, _)| !kept.iter().any(|(k, _)| k == n));
        let mut sum: i64 = 0;
        let mut cut = room.len();
        for (i, (_, f)) in room.iter().enumerate() {
            sum = sum.saturating_add(*f);
            if sum >= target as i64 {
                cut = i + 1;
                break;
            }
        }
        room.truncate(cut);
    }
    let weights: BTreeMap<String, i64> = room.into_iter().collect();
    let mut out: BTreeMap<String, i32> = kept.into_iter().collect();
    for (n, r) in webster_with(&weights, target, tie) {
        *out.entry(n).or_default() += r;
    }
    Ok(out.into_iter().filter(|(_, r)| *r > 0).collect())
}

/// How a tie between clusters with the same priority and replicas is broken: by name,
/// ascending or descending. Karmada picks the order from the resource's UID (FNV-1a, 32 bit:
/// odd → descending), so equal workloads do not all pile onto the same cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tie {
    #[default]
    NameAscending,
    NameDescending,
}

impl Tie {
    pub fn of_uid(uid: &str) -> Tie {
        if uid.is_empty() {
            return Tie::NameAscending;
        }
        let h = uid.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
        if h & 1 == 1 {
            Tie::NameDescending
        } else {
            Tie::NameAscending
        }
    }
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
    webster_with(weights, replicas, Tie::NameAscending)
}

/// [`webster`] with ties between equal priorities and seats broken by `tie`.
pub fn webster_with(
    weights: &BTreeMap<String, i64>,
    replicas: i32,
    tie: Tie,
) -> Vec<(String, i32)> {
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
        let by_name = match tie {
            Tie::NameAscending => parties[b].0.cmp(parties[a].0),
            Tie::NameDescending => parties[a].0.cmp(parties[b].0),
        };
        pa.cmp(&pb).then(sb.cmp(&sa)).then(by_name).is_gt()
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

    fn split(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
        pairs.iter().map(|(n, r)| (n.to_string(), *r)).collect()
    }

    fn got(pairs: &[(&str, i32)]) -> Vec<(String, i32)> {
        pairs.iter().map(|(n, r)| (n.to_string(), *r)).collect()
    }

    const A: Tie = Tie::NameAscending;

    /// Karmada's published examples (pkg/scheduler/core, `Test_dynamicDivideReplicas`,
    /// `Test_assignByDynamicStrategy`, `Test_dynamicScaleUp`, `Test_assignByStaticWeightStrategy`).
    #[test]
    fn division_matches_karmadas_examples() {
        let m = |a, b, c| split(&[("member1", a), ("member2", b), ("member3", c)]);
        // Fresh divisions by free capacity.
        for (room, want) in [
            (
                m(18, 12, 6),
                got(&[("member1", 6), ("member2", 4), ("member3", 2)]),
            ),
            (
                m(20, 12, 6),
                got(&[("member1", 6), ("member2", 4), ("member3", 2)]),
            ),
            (
                m(6, 12, 6),
                got(&[("member1", 3), ("member2", 6), ("member3", 3)]),
            ),
        ] {
            assert_eq!(divide_dynamic(false, &room, &[], 12, false, A), Ok(want));
        }
        assert_eq!(
            divide_dynamic(true, &m(6, 12, 6), &[], 12, false, A),
            Ok(got(&[("member2", 12)]))
        );
        assert_eq!(
            divide_dynamic(true, &m(6, 6, 6), &[], 12, false, A),
            Ok(got(&[("member1", 6), ("member2", 6)]))
        );
        // Scale down: proportional to the current split.
        let current = got(&[("member1", 2), ("member2", 4), ("member3", 6)]);
        assert_eq!(
            divide_dynamic(false, &m(1, 1, 1), &current, 6, false, A),
            Ok(got(&[("member1", 1), ("member2", 2), ("member3", 3)]))
        );
        // Scale up: only the added replicas are divided, by free capacity.
        assert_eq!(
            divide_dynamic(false, &m(10, 10, 10), &current, 24, false, A),
            Ok(got(&[("member1", 6), ("member2", 8), ("member3", 10)]))
        );
        assert!(divide_dynamic(false, &m(1, 1, 1), &current, 24, false, A).is_err());
        // Aggregated keeps to the clusters it uses.
        let two = got(&[("member1", 4), ("member2", 8)]);
        assert_eq!(
            divide_dynamic(true, &m(1, 1, 1), &two, 6, false, A),
            Ok(got(&[("member2", 6)]))
        );
        assert_eq!(
            divide_dynamic(
                true,
                &split(&[("member1", 100), ("member2", 100)]),
                &two,
                8,
                false,
                A
            ),
            Ok(got(&[("member2", 8)]))
        );
        assert_eq!(
            divide_dynamic(true, &m(4, 6, 8), &two, 24, false, A),
            Ok(got(&[("member1", 7), ("member2", 12), ("member3", 5)]))
        );
        assert_eq!(
            divide_dynamic(true, &m(6, 6, 20), &two, 24, false, A),
            Ok(got(&[("member1", 10), ("member2", 14)]))
        );
        assert!(divide_dynamic(true, &m(1, 1, 1), &two, 24, false, A).is_err());
        // A cluster left the candidates and another joined.
        let room = split(&[("member1", 4), ("member3", 8), ("member4", 12)]);
        assert_eq!(
            divide_dynamic(true, &room, &two, 24, false, A),
            Ok(got(&[("member1", 7), ("member3", 7), ("member4", 10)]))
        );
        let room = split(&[("member1", 3), ("member2", 3)]);
        let gone = got(&[("member1", 6), ("member3", 6)]);
        assert_eq!(
            divide_dynamic(false, &room, &gone, 12, false, A),
            Ok(got(&[("member1", 9), ("member2", 3)]))
        );
        // Unchanged count: the split stays, even if capacity changed.
        assert_eq!(
            divide_dynamic(false, &m(0, 0, 50), &current, 12, false, A),
            Ok(current.clone())
        );
        // rescheduleTriggeredAt: divided anew, current replicas counting as free.
        assert_eq!(
            divide_dynamic(false, &m(0, 0, 50), &current, 12, true, A),
            Ok(got(&[("member2", 1), ("member3", 11)]))
        );
        // Static weights.
        let w3 = weights(&[("member1", 3), ("member2", 2), ("member3", 1)]);
        for (r, want) in [(12, [6, 4, 2]), (13, [7, 4, 2]), (14, [7, 5, 2])] {
            let want: Vec<(String, i32)> = ["member1", "member2", "member3"]
                .iter()
                .zip(want)
                .map(|(n, r)| (n.to_string(), r))
                .collect();
            assert_eq!(webster_with(&w3, r, A), want, "{r} replicas");
        }
    }

    #[test]
    fn ties_follow_the_uid_hash_parity() {
        // FNV-1a 32 of the UID: odd sends the tie to the last name.
        let odd = (0..100)
            .map(|i| format!("uid-{i}"))
            .find(|u| Tie::of_uid(u) == Tie::NameDescending)
            .expect("some UID hashes odd");
        let even = (0..100)
            .map(|i| format!("uid-{i}"))
            .find(|u| Tie::of_uid(u) == Tie::NameAscending)
            .expect("some UID hashes even");
        assert_eq!(Tie::of_uid(""), Tie::NameAscending);
        // Known value: FNV-1a 32 of "a" is 0xe40c292c (even).
        assert_eq!(Tie::of_uid("a"), Tie::NameAscending);
        // "b" hashes to 0xe70c2de5 (odd).
        assert_eq!(Tie::of_uid("b"), Tie::NameDescending);
        let w = weights(&[("m1", 1), ("m2", 1), ("m3", 1)]);
        assert_eq!(
            webster_with(&w, 4, Tie::of_uid(&even)),
            vec![("m1".into(), 2), ("m2".into(), 1), ("m3".into(), 1)]
        );
        assert_eq!(
            webster_with(&w, 4, Tie::of_uid(&odd)),
            vec![("m1".into(), 1), ("m2".into(), 1), ("m3".into(), 2)]
        );
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
                    scheduled: &[],
                    fresh: false,
                    uid: "",
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
