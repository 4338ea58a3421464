//! Pure placement logic of the scheduler: which clusters fit a placement, why the others do
//! not, and how many replicas each gets. No I/O, so `karmadactl why` can explain the same
//! decision the scheduler made.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt as _;

use crate::api::policy::{
    ClusterAffinity, ClusterField, FieldSelectorOperator, Placement, SpreadConstraint,
    SpreadFieldValue,
};
use crate::api::{self as keys, Cluster};

use super::division::assign_replicas;
use super::selector;

/// One cluster's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub cluster: String,
    /// `None` when the cluster fits; else why not, in words a user can act on.
    pub rejected: Option<String>,
}

/// The outcome of scheduling one binding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Target clusters and their replicas, sorted by name.
    pub targets: Vec<(String, i32)>,
    /// Every cluster considered, fit or not.
    pub verdicts: Vec<Verdict>,
    /// The `clusterAffinities` term used, if the placement has such terms.
    pub affinity_name: Option<String>,
    /// Set when no cluster fits: the reason for the Scheduled condition.
    pub failure: Option<String>,
    /// The failure is a lack of capacity (reason `Unschedulable`, not `NoClusterFit`).
    pub unschedulable: bool,
}

/// What is being scheduled.
pub struct Workload<'a> {
    /// `apps/v1`
    pub api_version: &'a str,
    /// `Deployment`
    pub kind: &'a str,
    /// Desired replicas from the template (0 for kinds without replicas).
    pub replicas: i32,
    /// Clusters the binding targets now; they keep their place despite new taints or readiness.
    pub current: &'a [String],
    /// What one replica requests (the binding's `replicaRequirements.resourceRequest`); used
    /// to divide replicas by free capacity (Aggregated, dynamic weights).
    pub requests: Option<&'a BTreeMap<String, Quantity>>,
    /// The current split (the binding's `spec.clusters`): dynamic division keeps it where it can.
    pub scheduled: &'a [(String, i32)],
    /// Divide anew, ignoring the current split (`rescheduleTriggeredAt` is after the last
    /// scheduling).
    pub fresh: bool,
    /// The resource template's UID: picks how ties are broken, as Karmada does.
    pub uid: &'a str,
}

/// Whether a binding's `schedulerName` is this scheduler's (`default-scheduler`, or unset).
pub fn is_ours(scheduler_name: &str) -> bool {
    scheduler_name.is_empty() || scheduler_name == keys::DEFAULT_SCHEDULER_NAME
}

pub fn schedule(placement: &Placement, workload: &Workload<'_>, clusters: &[Cluster]) -> Decision {
    let mut clusters: Vec<&Cluster> = clusters.iter().collect();
    clusters.sort_by_key(|c| c.name_any());

    // clusterAffinities: terms are tried in order and the first that yields a placement
    // (fitting clusters that also satisfy spreadConstraints) wins; without terms,
    // clusterAffinity alone.
    let terms: Vec<(Option<String>, Option<&ClusterAffinity>)> =
        if placement.cluster_affinities.is_empty() {
            vec![(None, placement.cluster_affinity.as_ref())]
        } else {
            placement
                .cluster_affinities
                .iter()
                .map(|t| (Some(t.affinity_name.clone()), Some(&t.affinity)))
                .collect()
        };
    let several = terms.len() > 1;
    let mut failures: Vec<String> = Vec::new();
    let mut decision = Decision::default();
    for (name, affinity) in terms {
        decision = schedule_term(placement, workload, &clusters, affinity);
        decision.affinity_name = name.clone();
        match &decision.failure {
            None => return decision,
            Some(why) if several => failures.push(format!(
                "clusterAffinities term {}: {why}",
                name.as_deref().unwrap_or_default()
            )),
            Some(_) => {}
        }
    }
    if several {
        decision.failure = Some(failures.join(" | "));
    }
    decision
}

/// Scheduling with one affinity term: filters, spread constraints, replicas.
fn schedule_term(
    placement: &Placement,
    workload: &Workload<'_>,
    clusters: &[&Cluster],
    affinity: Option<&ClusterAffinity>,
) -> Decision {
    let mut decision = Decision {
        verdicts: clusters
            .iter()
            .map(|c| Verdict {
                cluster: c.name_any(),
                rejected: fit(c, affinity, placement, workload).err(),
            })
            .collect(),
        ..Default::default()
    };
    let fitting: Vec<&Cluster> = clusters
        .iter()
        .copied()
        .filter(|c| {
            decision
                .verdicts
                .iter()
                .any(|v| v.cluster == c.name_any() && v.rejected.is_none())
        })
        .collect();
    if fitting.is_empty() {
        decision.failure = Some(no_fit_message(&decision.verdicts));
        return decision;
    }

    // spreadConstraints: group constraints (region, zone, provider, label) choose groups,
    // then the cluster constraint bounds the number of clusters.
    let fitting = match spread(placement, workload, fitting) {
        Ok((kept, dropped)) => {
            for (name, why) in dropped {
                if let Some(v) = decision.verdicts.iter_mut().find(|v| v.cluster == name) {
                    v.rejected = Some(why);
                }
            }
            kept
        }
        Err(why) => {
            decision.failure = Some(why);
            return decision;
        }
    };

    match assign_replicas(placement, workload, &fitting) {
        Ok(targets) => decision.targets = targets,
        Err(why) => {
            decision.failure = Some(why);
            decision.unschedulable = true;
        }
    }
    decision
}

/// What a spread constraint groups by, in words, and a cluster's group (`None`: no value, so
/// the cluster belongs to no group).
fn group_of(sc: &SpreadConstraint, c: &Cluster) -> Option<String> {
    let v = match sc.effective_field() {
        Some(SpreadFieldValue::Cluster) => c.name_any(),
        Some(SpreadFieldValue::Region) => c.spec.region.clone(),
        Some(SpreadFieldValue::Zone) => {
            if c.spec.zone.is_empty() {
                c.spec.zones.first().cloned().unwrap_or_default()
            } else {
                c.spec.zone.clone()
            }
        }
        Some(SpreadFieldValue::Provider) => c.spec.provider.clone(),
        None => c
            .labels()
            .get(&sc.spread_by_label)
            .cloned()
            .unwrap_or_default(),
    };
    (!v.is_empty()).then_some(v)
}

fn group_noun(sc: &SpreadConstraint) -> String {
    match sc.effective_field() {
        Some(SpreadFieldValue::Cluster) => "cluster".into(),
        Some(SpreadFieldValue::Region) => "region".into(),
        Some(SpreadFieldValue::Zone) => "zone".into(),
        Some(SpreadFieldValue::Provider) => "provider".into(),
        None => format!("label {}", sc.spread_by_label),
    }
}

/// Applies `spreadConstraints` to the fitting clusters (sorted by name). Group constraints
/// (region, zone, provider, label) go first: clusters without a value for the field drop out,
/// at least `minGroups` groups must remain, and at most `maxGroups` are kept — groups holding
/// current targets first, then larger groups, then by name. One cluster of every chosen group
/// is taken first, the rest of their clusters after. Then the cluster constraint: at least
/// `minGroups` clusters, at most `maxGroups` (current targets kept first, then by name).
/// Returns the kept clusters and, for each dropped one, why.
#[allow(clippy::type_complexity)]
fn spread<'a>(
    placement: &Placement,
    workload: &Workload<'_>,
    fitting: Vec<&'a Cluster>,
) -> Result<(Vec<&'a Cluster>, Vec<(String, String)>), String> {
    let mut kept = fitting;
    let mut dropped: Vec<(String, String)> = Vec::new();
    let is_current = |c: &Cluster| workload.current.contains(&c.name_any());
    for sc in placement
        .spread_constraints
        .iter()
        .filter(|sc| sc.effective_field() != Some(SpreadFieldValue::Cluster))
    {
        let noun = group_noun(sc);
        let mut groups: BTreeMap<String, Vec<&Cluster>> = BTreeMap::new();
        for c in &kept {
            match group_of(sc, c) {
                Some(g) => groups.entry(g).or_default().push(c),
                None => dropped.push((
                    c.name_any(),
                    format!("has no {noun}, which spreadConstraints (spreadBy {noun}) needs"),
                )),
            }
        }
        let min = sc.min_groups.max(1) as usize;
        if groups.len() < min {
            let shown: Vec<String> = groups
                .iter()
                .map(|(g, cs)| {
                    let names: Vec<String> = cs.iter().map(|c| c.name_any()).collect();
                    format!("{g}: {}", names.join(","))
                })
                .collect();
            return Err(format!(
                "spreadConstraints (spreadBy {noun}) needs at least {min} {noun} group(s) but the fitting clusters span {}{}",
                groups.len(),
                if shown.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", shown.join("; "))
                }
            ));
        }
        let mut order: Vec<(String, Vec<&Cluster>)> = groups.into_iter().collect();
        order.sort_by_key(|(g, cs)| {
            (
                !cs.iter().any(|c| is_current(c)),
                std::cmp::Reverse(cs.len()),
                g.clone(),
            )
        });
        if sc.max_groups > 0 && order.len() > sc.max_groups as usize {
            for (g, cs) in order.split_off(sc.max_groups as usize) {
                for c in cs {
                    dropped.push((
                        c.name_any(),
                        format!(
                            "{noun} {g} left out by spreadConstraints maxGroups {}",
                            sc.max_groups
                        ),
                    ));
                }
            }
        }
        // One cluster per group first (a current target if any), then the others.
        let mut firsts = Vec::new();
        let mut rest = Vec::new();
        for (_, mut cs) in order {
            cs.sort_by_key(|c| (!is_current(c), c.name_any()));
            let mut it = cs.into_iter();
            firsts.extend(it.next());
            rest.extend(it);
        }
        kept = firsts.into_iter().chain(rest).collect();
    }
    if let Some(sc) = placement
        .spread_constraints
        .iter()
        .find(|sc| sc.effective_field() == Some(SpreadFieldValue::Cluster))
    {
        if sc.min_groups > 0 && (kept.len() as i32) < sc.min_groups {
            return Err(format!(
                "{} cluster(s) fit but spreadConstraints (spreadByField: cluster) needs at least {}",
                kept.len(),
                sc.min_groups
            ));
        }
        if sc.max_groups > 0 && kept.len() as i32 > sc.max_groups {
            // Keep current targets first so a spread does not move workloads around; with
            // group constraints, keep one cluster per chosen group before the others.
            let grouped = placement
                .spread_constraints
                .iter()
                .any(|sc| sc.effective_field() != Some(SpreadFieldValue::Cluster));
            if !grouped {
                kept.sort_by_key(|c| (!is_current(c), c.name_any()));
            }
            for c in kept.split_off(sc.max_groups as usize) {
                dropped.push((
                    c.name_any(),
                    format!("left out by spreadConstraints maxGroups {}", sc.max_groups),
                ));
            }
        }
    }
    kept.sort_by_key(|c| c.name_any());
    Ok((kept, dropped))
}

/// Whether `cluster` may receive the workload; `Err` says why not.
pub fn fit(
    cluster: &Cluster,
    affinity: Option<&ClusterAffinity>,
    placement: &Placement,
    workload: &Workload<'_>,
) -> Result<(), String> {
    let name = cluster.name_any();
    if cluster.metadata.deletion_timestamp.is_some() {
        return Err("is being removed (unjoin in progress)".into());
    }
    if let Some(a) = affinity {
        affinity_matches(cluster, a)?;
    }
    if workload.current.contains(&name) {
        // Already placed: NoSchedule taints (cordon, not-ready) do not evict it; an untolerated
        // NoExecute taint (failover) does.
        let now = k8s_openapi::jiff::Timestamp::now();
        for t in cluster
            .spec
            .taints
            .iter()
            .filter(|t| t.effect == "NoExecute")
        {
            match tolerated_until(&placement.cluster_tolerations, t, now) {
                Some(None) => {}
                Some(Some(until)) if until > now => {}
                Some(Some(_)) => {
                    return Err(format!(
                        "evicted: taint {} was tolerated for its tolerationSeconds, which ran out",
                        describe_taint(t)
                    ));
                }
                None => {
                    return Err(format!(
                        "evicted: taint {} is not tolerated",
                        describe_taint(t)
                    ));
                }
            }
        }
        return Ok(());
    }
    for taint in &cluster.spec.taints {
        let effect = taint.effect.as_str();
        if (effect == "NoSchedule" || effect == "NoExecute")
            && !placement
                .cluster_tolerations
                .iter()
                .any(|t| tolerates(t, taint))
        {
            return Err(format!("taint {} is not tolerated", describe_taint(taint)));
        }
    }
    if !is_ready(cluster) {
        return Err("is not ready".into());
    }
    if !serves(cluster, workload.api_version, workload.kind) {
        return Err(format!(
            "does not serve {} {}",
            workload.api_version, workload.kind
        ));
    }
    Ok(())
}

pub fn affinity_matches(cluster: &Cluster, a: &ClusterAffinity) -> Result<(), String> {
    let name = cluster.name_any();
    if !a.cluster_names.is_empty() && !a.cluster_names.contains(&name) {
        return Err("not in clusterAffinity.clusterNames".into());
    }
    if a.exclude_clusters.contains(&name) {
        return Err("excluded by clusterAffinity.exclude".into());
    }
    if let Some(sel) = &a.label_selector
        && !selector::matches(sel, cluster.labels())
    {
        return Err(format!(
            "labels do not match clusterAffinity.labelSelector ({})",
            selector::describe(sel)
        ));
    }
    if let Some(fs) = &a.field_selector {
        for req in &fs.match_expressions {
            let (field, values): (&str, Vec<&str>) = match req.key {
                ClusterField::Provider => ("provider", vec![cluster.spec.provider.as_str()]),
                ClusterField::Region => ("region", vec![cluster.spec.region.as_str()]),
                ClusterField::Zone => (
                    "zone",
                    std::iter::once(&cluster.spec.zone)
                        .chain(&cluster.spec.zones)
                        .map(String::as_str)
                        .collect(),
                ),
            };
            let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
            let hit = values.iter().any(|v| req.values.iter().any(|w| w == v));
            let ok = match req.operator {
                FieldSelectorOperator::In => hit,
                FieldSelectorOperator::NotIn => !hit,
            };
            if !ok {
                let shown = if values.is_empty() {
                    "unset".to_string()
                } else {
                    values.join(",")
                };
                return Err(format!(
                    "{field} {shown} does not satisfy fieldSelector {field} {:?} ({})",
                    req.operator,
                    req.values.join(",")
                ));
            }
        }
    }
    Ok(())
}

/// How long a NoExecute `taint` is tolerated: `None` not at all, `Some(None)` for ever,
/// `Some(Some(t))` until `t` (`tolerationSeconds` after the taint's `timeAdded`, or after
/// `now` when the taint carries no time). Of several matching tolerations the longest counts,
/// as in Kubernetes' taint manager.
pub fn tolerated_until(
    tolerations: &[Toleration],
    taint: &Taint,
    now: k8s_openapi::jiff::Timestamp,
) -> Option<Option<k8s_openapi::jiff::Timestamp>> {
    let mut best: Option<Option<k8s_openapi::jiff::Timestamp>> = None;
    for t in tolerations.iter().filter(|t| tolerates(t, taint)) {
        let until = match t.toleration_seconds {
            None => None,
            Some(secs) => {
                let since = taint.time_added.as_ref().map_or(now, |t| t.0);
                Some(
                    since
                        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(secs.max(0)))
                        .unwrap_or(since),
                )
            }
        };
        best = match (best, until) {
            (_, None) | (Some(None), _) => Some(None),
            (Some(Some(a)), Some(b)) => Some(Some(a.max(b))),
            (None, Some(b)) => Some(Some(b)),
        };
    }
    best
}

/// When the next toleration of a NoExecute taint on one of the `current` clusters runs out
/// (the scheduler looks again then), counted from `now`.
pub fn next_toleration_expiry(
    placement: &Placement,
    clusters: &[Cluster],
    current: &[String],
    now: k8s_openapi::jiff::Timestamp,
) -> Option<std::time::Duration> {
    clusters
        .iter()
        .filter(|c| current.contains(&c.name_any()))
        .flat_map(|c| c.spec.taints.iter())
        .filter(|t| t.effect == "NoExecute")
        .filter_map(|t| tolerated_until(&placement.cluster_tolerations, t, now).flatten())
        .filter(|until| *until > now)
        .filter_map(|until| std::time::Duration::try_from(until.duration_since(now)).ok())
        .min()
}

/// Kubernetes toleration semantics.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => t
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            t.key.as_deref() == Some(taint.key.as_str())
                && t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
    }
}

pub fn describe_taint(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

pub fn is_ready(cluster: &Cluster) -> bool {
    cluster
        .status
        .as_ref()
        .and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == keys::CONDITION_READY)
        })
        .is_some_and(|c| c.status == "True")
}

/// Whether the cluster's discovered APIs include the kind. Unknown (not yet collected) counts
/// as served, so a fresh cluster is not rejected before its first status update.
pub fn serves(cluster: &Cluster, api_version: &str, kind: &str) -> bool {
    let Some(status) = cluster
        .status
        .as_ref()
        .filter(|s| !s.api_enablements.is_empty())
    else {
        return true;
    };
    status
        .api_enablements
        .iter()
        .any(|e| e.group_version == api_version && e.resources.iter().any(|r| r.kind == kind))
}

fn no_fit_message(verdicts: &[Verdict]) -> String {
    if verdicts.is_empty() {
        return "no cluster has joined; join one with `karmadactl join`".into();
    }
    let reasons: Vec<String> = verdicts
        .iter()
        .filter_map(|v| v.rejected.as_ref().map(|r| format!("{} {r}", v.cluster)))
        .collect();
    format!("0/{} clusters fit: {}", verdicts.len(), reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::division::{available_replicas, webster};

    fn w(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(n, w)| (n.to_string(), *w)).collect()
    }

    #[test]
    fn webster_divides_like_karmada() {
        assert_eq!(
            webster(&w(&[("m1", 1), ("m2", 1)]), 2),
            vec![("m1".into(), 1), ("m2".into(), 1)]
        );
        assert_eq!(
            webster(&w(&[("m1", 2), ("m2", 1)]), 3),
            vec![("m1".into(), 2), ("m2".into(), 1)]
        );
        // Remainder goes to the first name on a tie.
        assert_eq!(
            webster(&w(&[("m1", 1), ("m2", 1)]), 3),
            vec![("m1".into(), 2), ("m2".into(), 1)]
        );
        assert_eq!(
            webster(&w(&[("m1", 1), ("m2", 0)]), 3),
            vec![("m1".into(), 3)]
        );
    }

    fn ready_cluster(name: &str, region: &str, provider: &str) -> Cluster {
        let mut c: Cluster = serde_json::from_value(serde_json::json!({
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Push", "region": region, "provider": provider},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ClusterReady",
                "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .unwrap();
        c.metadata.name = Some(name.into());
        c
    }

    fn placement(yaml: &str) -> Placement {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn targets(d: &Decision) -> Vec<&str> {
        d.targets.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn with_cpu(name: &str, allocatable: &str, allocated: &str) -> Cluster {
        let mut c = ready_cluster(name, "", "");
        c.status.as_mut().unwrap().resource_summary = Some(
            serde_json::from_value(serde_json::json!({
                "allocatable": {"cpu": allocatable, "pods": "110"},
                "allocated": {"cpu": allocated},
            }))
            .unwrap(),
        );
        c
    }

    #[test]
    fn capacity_divides_dynamic_weights_and_aggregates() {
        let clusters = vec![
            with_cpu("m1", "4", "0"),
            with_cpu("m2", "3", "1"),
            ready_cluster("m3", "", ""),
        ];
        let requests: BTreeMap<String, Quantity> =
            [("cpu".to_string(), Quantity("1".into()))].into();
        assert_eq!(available_replicas(&clusters[0], &requests), 4);
        assert_eq!(available_replicas(&clusters[1], &requests), 2);
        assert_eq!(
            available_replicas(&clusters[2], &requests),
            0,
            "no summary, no room"
        );
        let workload = Workload {
            replicas: 3,
            requests: Some(&requests),
            ..workload(NONE)
        };

        let dynamic = placement(
            "{replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Weighted, weightPreference: {dynamicWeight: AvailableReplicas}}}",
        );
        assert_eq!(
            schedule(&dynamic, &workload, &clusters).targets,
            vec![("m1".into(), 2), ("m2".into(), 1)]
        );

        let aggregated = placement(
            "{replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Aggregated}}",
        );
        assert_eq!(
            schedule(&aggregated, &workload, &clusters).targets,
            vec![("m1".into(), 3)]
        );
        let five = Workload {
            replicas: 5,
            ..workload
        };
        assert_eq!(
            schedule(&aggregated, &five, &clusters).targets,
            vec![("m1".into(), 3), ("m2".into(), 2)]
        );

        let seven = Workload {
            replicas: 7,
            ..workload
        };
        let d = schedule(&aggregated, &seven, &clusters);
        assert!(d.targets.is_empty());
        assert!(
            d.failure.unwrap().contains(
                "7 replicas do not fit: free capacity for 6 (by cluster: m1 4, m2 2, m3 0)"
            )
        );
    }

    const NONE: &[String] = &[];

    fn workload(current: &[String]) -> Workload<'_> {
        Workload {
            api_version: "apps/v1",
            kind: "Deployment",
            replicas: 2,
            current,
            requests: None,
            scheduled: &[],
            fresh: false,
            uid: "",
        }
    }

    #[test]
    fn spread_by_region_picks_groups_then_clusters() {
        let clusters = vec![
            ready_cluster("a1", "eu", "acme"),
            ready_cluster("a2", "eu", "acme"),
            ready_cluster("b1", "us", "acme"),
            ready_cluster("c1", "ap", "other"),
            ready_cluster("x", "", "acme"),
        ];
        // Two regions, one cluster each: the larger region first, then by name.
        let p = placement(
            "spreadConstraints: [{spreadByField: region, minGroups: 2, maxGroups: 2}, {spreadByField: cluster, minGroups: 2, maxGroups: 2}]",
        );
        let d = schedule(&p, &workload(NONE), &clusters);
        assert_eq!(d.failure, None);
        assert_eq!(targets(&d), vec!["a1", "c1"]);
        let why = |n: &str| {
            d.verdicts
                .iter()
                .find(|v| v.cluster == n)
                .unwrap()
                .rejected
                .clone()
                .unwrap()
        };
        assert!(why("x").contains("has no region"), "{}", why("x"));
        assert!(
            why("b1").contains("region us left out by spreadConstraints maxGroups 2"),
            "{}",
            why("b1")
        );
        // A current target keeps its region.
        let current = vec!["b1".to_string()];
        let d = schedule(&p, &workload(&current), &clusters);
        assert_eq!(targets(&d), vec!["a1", "b1"]);
        // Without a cluster constraint every cluster of the chosen regions is used.
        let p = placement("spreadConstraints: [{spreadByField: region, maxGroups: 1}]");
        assert_eq!(
            targets(&schedule(&p, &workload(NONE), &clusters)),
            vec!["a1", "a2"]
        );
        // Unsatisfiable: says how many groups there are.
        let p = placement("spreadConstraints: [{spreadByField: provider, minGroups: 3}]");
        let d = schedule(&p, &workload(NONE), &clusters);
        let msg = d.failure.unwrap();
        assert!(
            msg.contains("needs at least 3 provider group(s) but the fitting clusters span 2")
                && msg.contains("acme: a1,a2,b1,x"),
            "{msg}"
        );
        // Spread by a label.
        let mut labelled = clusters.clone();
        labelled[2].metadata.labels = Some([("tier".to_string(), "gold".to_string())].into());
        let p = placement("spreadConstraints: [{spreadByLabel: tier, minGroups: 1}]");
        assert_eq!(
            targets(&schedule(&p, &workload(NONE), &labelled)),
            vec!["b1"]
        );
    }

    #[test]
    fn cluster_affinities_fall_back_in_order() {
        let clusters = vec![
            ready_cluster("a1", "eu", "acme"),
            ready_cluster("b1", "us", "acme"),
            ready_cluster("b2", "us", "acme"),
        ];
        let p = placement(
            r#"
clusterAffinities:
  - affinityName: primary
    clusterNames: [a1]
  - affinityName: backup
    clusterNames: [b1, b2]
spreadConstraints: [{spreadByField: cluster, minGroups: 2}]
"#,
        );
        // primary fits one cluster but the spread needs two: backup is used.
        let d = schedule(&p, &workload(NONE), &clusters);
        assert_eq!(d.affinity_name.as_deref(), Some("backup"));
        assert_eq!(targets(&d), vec!["b1", "b2"]);
        // Nothing works: every term says why.
        let d = schedule(&p, &workload(NONE), &clusters[..2]);
        let msg = d.failure.unwrap();
        assert!(
            msg.contains("clusterAffinities term primary: 1 cluster(s) fit")
                && msg.contains("clusterAffinities term backup: 1 cluster(s) fit"),
            "{msg}"
        );
    }

    #[test]
    fn tolerations_follow_kubernetes_rules() {
        let taint = Taint {
            key: "cluster.karmada.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let exists = Toleration {
            key: Some(taint.key.clone()),
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(tolerates(&exists, &taint));
        let wildcard = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        assert!(tolerates(&wildcard, &taint));
        let other_effect = Toleration {
            effect: Some("NoExecute".into()),
            ..exists.clone()
        };
        assert!(!tolerates(&other_effect, &taint));
        let equal_wrong_value = Toleration {
            key: Some(taint.key.clone()),
            value: Some("x".into()),
            ..Default::default()
        };
        assert!(!tolerates(&equal_wrong_value, &taint));
    }
}
