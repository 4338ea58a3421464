//! The seed's walkthrough, end to end on real kube-apiservers with the reconciler as a
//! process: a Deployment and a PropagationPolicy on the control plane land in member1 only,
//! status flows back (READY 1/1), updates propagate, drift is reverted, and deleting the
//! policy tears nothing down.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use karmadactl::api::{PropagationPolicy, ResourceBinding, Work};
use karmadactl::testbed::CONTROL_PLANE;

const T: Duration = Duration::from_secs(60);

fn nginx() -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}
    }))
    .unwrap()
}

fn policy() -> PropagationPolicy {
    serde_yaml::from_str(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: nginx-propagation
  namespace: default
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  placement:
    clusterAffinity:
      clusterNames:
        - member1
"#,
    )
    .unwrap()
}

/// Control-plane writes to the pipeline's objects (templates, bindings, Works and their
/// status), by (resource, verb), from the apiserver's own `apiserver_request_total`.
async fn pipeline_writes(cp: &kube::Client) -> BTreeMap<(String, String), f64> {
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = cp.request_text(req).await.unwrap();
    karmadactl::testbed::metrics::requests_by_resource(&text)
        .into_iter()
        .filter(|((resource, verb), _)| {
            let kind = resource.split('/').next().unwrap_or_default();
            ["deployments", "resourcebindings", "works"].contains(&kind)
                && ["POST", "PATCH", "APPLY", "PUT", "DELETE"].contains(&verb.as_str())
        })
        .collect()
}

/// Waits until the reconciler has run no reconciliation but cluster probes for 3 s.
async fn quiet(port: u16, log: &std::path::Path) {
    let last = std::cell::Cell::new((-1.0, tokio::time::Instant::now()));
    support::eventually("the reconciler goes quiet", T, log, || {
        let now = tokio::time::Instant::now();
        let last = &last;
        async move {
            let text = support::scrape(port).await;
            let runs = support::metric(&text, "karmada_reconciler_reconciles_total", &[])
                - support::metric(
                    &text,
                    "karmada_reconciler_reconciles_total",
                    &["controller=\"cluster\""],
                );
            let (seen, since) = last.get();
            if runs != seen {
                last.set((runs, now));
                return None;
            }
            (now - since >= Duration::from_secs(3)).then_some(())
        }
    })
    .await;
}

/// Writes only where they change something, batched per object: N Deployments to 2 members cost one template status write each and few
/// binding status writes (once both Works have reported, not after each), one Work apply per
/// member.
#[tokio::test(flavor = "multi_thread")]
async fn propagation_writes_once_per_object_and_step() {
    const N: usize = 6;
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let port = fed.reconciler.metrics_port();
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let members = [
        fed.bed.client("member1").await.unwrap(),
        fed.bed.client("member2").await.unwrap(),
    ];
    support::apply_yaml(
        &cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, labelSelector: {matchLabels: {tier: web}}}]
  placement: {clusterAffinity: {clusterNames: [member1, member2]}}
"#,
    )
    .await;
    quiet(port, &log).await;
    let before = pipeline_writes(&cp).await;

    let deploys: Api<Deployment> = Api::namespaced(cp.clone(), "default");
    let names: Vec<String> = (0..N).map(|i| format!("web-{i}")).collect();
    for name in &names {
        let mut d = nginx();
        d.metadata.name = Some(name.clone());
        d.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
        deploys.create(&PostParams::default(), &d).await.unwrap();
    }
    let rbs: Api<ResourceBinding> = Api::namespaced(cp.clone(), "default");
    for name in &names {
        for m in &members {
            let api: Api<Deployment> = Api::namespaced(m.clone(), "default");
            support::eventually(&format!("{name} in a member"), T, &log, || async {
                api.get_opt(name).await.ok().flatten()
            })
            .await;
        }
        support::eventually(&format!("{name} FullyApplied"), T, &log, || async {
            let rb = rbs.get_opt(&format!("{name}-deployment")).await.ok()??;
            rb.status?
                .conditions
                .iter()
                .any(|c| c.type_ == "FullyApplied" && c.status == "True")
                .then_some(())
        })
        .await;
    }
    quiet(port, &log).await;

    let after = pipeline_writes(&cp).await;
    let mut writes: BTreeMap<(String, String), f64> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    // The test's own creates.
    if let Some(v) = writes.get_mut(&("deployments".into(), "POST".into())) {
        *v -= N as f64;
    }
    let n = N as f64;
    let of = |resource: &str, verb: &str| {
        writes
            .get(&(resource.to_string(), verb.to_string()))
            .copied()
            .unwrap_or(0.0)
    };
    // Before the statuses waited for every Work's first report: 5.5 binding status writes
    // and 2.2 template status writes per template here; before the scheduler handed its
    // status to the aggregated status write, 2 per template.
    assert!(
        of("resourcebindings/status", "PATCH") <= n + 2.0,
        "binding status written once (the scheduler's fields with the aggregated status; two \
         spare for a report that beats the hand-over): {writes:?}"
    );
    assert!(
        of("deployments/status", "PATCH") <= n,
        "template status written once: {writes:?}"
    );
    assert_eq!(
        of("deployments", "PATCH"),
        n,
        "the claim written once per template (a pass that runs before the watch delivers the \
         claim reads it from the cache): {writes:?}"
    );
    assert_eq!(
        of("resourcebindings", "APPLY"),
        n,
        "one binding apply per template: {writes:?}"
    );
    assert_eq!(
        of("works", "APPLY"),
        2.0 * n,
        "one Work apply per member: {writes:?}"
    );
    assert_eq!(
        of("resourcebindings", "PATCH"),
        0.0,
        "a binding is created placed (the detector's apply carries the scheduler's first \
         decision), not placed by a second write: {writes:?}"
    );
    // Per template: the claim, the binding, a Work and a Work status per member, the binding
    // status and the template status; two spare as above.
    let pipeline: f64 = writes.values().sum();
    assert!(
        pipeline <= n * (4.0 + 2.0 * members.len() as f64) + 2.0,
        "{pipeline} pipeline writes for {n} templates: {writes:?}"
    );

    // Events go out from a background recorder that folds repeats: each template's
    // SyncSucceed (one per member) is one Event with a series of 2, and none is refused or
    // dropped.
    let text = support::scrape(port).await;
    let outcome = |o: &str| {
        support::metric(
            &text,
            "karmada_reconciler_events_total",
            &[&format!("outcome=\"{o}\"")],
        )
    };
    assert!(outcome("created") > 0.0, "events created: {text}");
    assert!(outcome("folded") >= n, "one fold per template at least");
    assert_eq!(outcome("failed"), 0.0, "no Event refused");
    assert_eq!(outcome("dropped"), 0.0, "no Event dropped");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(cp.clone(), "default");
    let all = events.list(&Default::default()).await.unwrap().items;
    for name in &names {
        let synced: Vec<_> = all
            .iter()
            .filter(|e| {
                e.reason.as_deref() == Some("SyncSucceed")
                    && e.regarding.as_ref().is_some_and(|r| {
                        r.kind.as_deref() == Some("Deployment") && r.name.as_deref() == Some(name)
                    })
            })
            .collect();
        assert_eq!(
            synced.len(),
            1,
            "one SyncSucceed Event on {name}: {synced:?}"
        );
        assert_eq!(
            synced[0].series.as_ref().map(|s| s.count),
            Some(2),
            "its series counts both members: {:?}",
            synced[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_walkthrough() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    let cp_deploys: Api<Deployment> = Api::namespaced(cp.clone(), "default");
    let m1_deploys: Api<Deployment> = Api::namespaced(m1.clone(), "default");
    let m2_deploys: Api<Deployment> = Api::namespaced(m2.clone(), "default");

    cp_deploys
        .create(&PostParams::default(), &nginx())
        .await
        .unwrap();
    let pps: Api<PropagationPolicy> = Api::namespaced(cp.clone(), "default");
    pps.create(&PostParams::default(), &policy()).await.unwrap();

    // nginx lands in member1 only, marked as ours.
    let member_copy = support::eventually("nginx in member1", T, &log, || async {
        m1_deploys.get_opt("nginx").await.ok().flatten()
    })
    .await;
    assert_eq!(
        member_copy
            .labels()
            .get("karmada.io/managed")
            .map(String::as_str),
        Some("true")
    );
    assert!(
        m2_deploys.get_opt("nginx").await.unwrap().is_none(),
        "member2 must not get nginx"
    );

    // Karmada's names and claim marks.
    let rbs: Api<ResourceBinding> = Api::namespaced(cp.clone(), "default");
    let rb = rbs
        .get("nginx-deployment")
        .await
        .expect("binding nginx-deployment");
    assert_eq!(
        rb.spec
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["member1"]
    );
    let works: Api<Work> = Api::namespaced(cp.clone(), "karmada-es-member1");
    works
        .get("nginx-687f7fb96f")
        .await
        .expect("Work nginx-687f7fb96f in karmada-es-member1");
    let template = cp_deploys.get("nginx").await.unwrap();
    assert_eq!(
        template
            .annotations()
            .get("propagationpolicy.karmada.io/name")
            .map(String::as_str),
        Some("nginx-propagation")
    );
    assert!(
        template
            .labels()
            .contains_key("propagationpolicy.karmada.io/permanent-id")
    );

    // Members have no kubelet: report the member's Deployment ready by hand, like a kubelet
    // and deployment controller would; the control plane then shows 1/1.
    let generation = member_copy.metadata.generation.unwrap();
    m1_deploys
        .patch_status("nginx", &PatchParams::default(), &Patch::Merge(json!({"status": {
            "observedGeneration": generation, "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1}})))
        .await
        .unwrap();
    support::eventually("READY 1/1 on the control plane", T, &log, || async {
        let d = cp_deploys.get("nginx").await.ok()?;
        (d.status?.ready_replicas == Some(1)).then_some(())
    })
    .await;

    // Update the template → member updated.
    cp_deploys
        .patch("nginx", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})))
        .await
        .unwrap();
    support::eventually("new image in member1", T, &log, || async {
        let d = m1_deploys.get("nginx").await.ok()?;
        let image = d.spec.template.spec?.containers.first()?.image.clone()?;
        (image == "nginx:1.27").then_some(())
    })
    .await;

    // Edit the member copy → reverted.
    m1_deploys
        .patch(
            "nginx",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    support::eventually("member1 drift reverted", T, &log, || async {
        let d = m1_deploys.get("nginx").await.ok()?;
        (d.spec.replicas == Some(1)).then_some(())
    })
    .await;

    // Delete the member copy by hand → recreated.
    m1_deploys
        .delete("nginx", &DeleteParams::default())
        .await
        .unwrap();
    support::eventually("member1 copy recreated", T, &log, || async {
        let d = m1_deploys.get_opt("nginx").await.ok()??;
        d.metadata.deletion_timestamp.is_none().then_some(())
    })
    .await;

    // Delete the policy → the member copy stays and the template is released.
    pps.delete("nginx-propagation", &DeleteParams::default())
        .await
        .unwrap();
    support::eventually("template released", T, &log, || async {
        let d = cp_deploys.get("nginx").await.ok()?;
        (!d.annotations()
            .contains_key("propagationpolicy.karmada.io/name"))
        .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        m1_deploys.get_opt("nginx").await.unwrap().is_some(),
        "removing a policy tears nothing down"
    );

    // Another policy can claim it: this one sends it to member2 as well.
    let mut both = policy();
    both.metadata.name = Some("nginx-everywhere".into());
    both.spec
        .placement
        .cluster_affinity
        .as_mut()
        .unwrap()
        .cluster_names = vec!["member1".into(), "member2".into()];
    pps.create(&PostParams::default(), &both).await.unwrap();
    support::eventually("nginx in member2 via the new policy", T, &log, || async {
        m2_deploys.get_opt("nginx").await.ok().flatten()
    })
    .await;

    // Delete the template → gone from every member.
    cp_deploys
        .delete("nginx", &DeleteParams::default())
        .await
        .unwrap();
    support::eventually("nginx removed from members", T, &log, || async {
        let gone1 = m1_deploys.get_opt("nginx").await.ok()?.is_none();
        let gone2 = m2_deploys.get_opt("nginx").await.ok()?.is_none();
        (gone1 && gone2).then_some(())
    })
    .await;
}

/// The sum of the reconciler's `api_requests_total` samples of `target` and `verb` whose
/// resource is one of `resources` (all named resources when empty), by resource.
fn requests(
    metrics: &str,
    target: &str,
    verb: &str,
    resources: &[&str],
) -> std::collections::BTreeMap<String, f64> {
    let prefix = format!(
        "karmada_reconciler_api_requests_total{{target=\"{target}\",verb=\"{verb}\",resource=\""
    );
    let mut out = std::collections::BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let Some((resource, value)) = rest.split_once("\"} ") else {
            continue;
        };
        if resource.is_empty() || !(resources.is_empty() || resources.contains(&resource)) {
            continue;
        }
        *out.entry(resource.to_string()).or_default() += value.parse::<f64>().unwrap_or(0.0);
    }
    out
}

/// What `after` counts more than `before`, per resource.
fn delta(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
) -> std::collections::BTreeMap<String, f64> {
    after
        .iter()
        .map(|(r, v)| (r.clone(), v - before.get(r).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// Issue 14 item 1: in steady state every read comes from a watch cache. N Deployments, each
/// with a ConfigMap (propagateDeps), go to two members; the reconciler's own request count
/// says what that cost: on the control plane no GET and no LIST per template (only the lists
/// of caches started on demand), in the members at most one GET per object (first contact:
/// it may exist unmanaged).
#[tokio::test(flavor = "multi_thread")]
async fn propagation_reads_from_caches() {
    const N: usize = 12;
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let port = fed.reconciler.metrics_port();
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let ns = "reads";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cp.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
    let members = [
        fed.bed.client("member1").await.unwrap(),
        fed.bed.client("member2").await.unwrap(),
    ];
    // The namespace reaches the members (namespace sync) before the clock starts.
    for m in &members {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(m.clone());
        support::eventually("namespace reads in the members", T, &log, || async {
            api.get_opt(ns).await.ok().flatten()
        })
        .await;
    }
    let policy: PropagationPolicy = serde_json::from_value(json!({
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
        "metadata": {"name": "reads", "namespace": ns},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment",
                "labelSelector": {"matchLabels": {"app": "reads"}}}],
            "propagateDeps": true,
            "placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]}},
        },
    }))
    .unwrap();
    Api::<PropagationPolicy>::namespaced(cp.clone(), ns)
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    // Start-up is done once the detector lists the Deployments its policy selects.
    let before = support::eventually("the Deployments listed", T, &log, || async {
        let text = support::scrape(port).await;
        let listed = requests(&text, "control-plane", "LIST", &["deployments"]);
        (listed.values().sum::<f64>() >= 1.0).then_some(text)
    })
    .await;

    let deploys: Api<Deployment> = Api::namespaced(cp.clone(), ns);
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(cp.clone(), ns);
    for i in 0..N {
        let cm = serde_json::from_value(json!({
            "metadata": {"name": format!("cfg-{i}")}, "data": {"k": "v"}
        }))
        .unwrap();
        config_maps
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
        let d = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("app-{i}"), "labels": {"app": "reads"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": format!("app-{i}")}},
                "template": {"metadata": {"labels": {"app": format!("app-{i}")}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}],
                        "volumes": [{"name": "cfg", "configMap": {"name": format!("cfg-{i}")}}]}}}
        }))
        .unwrap();
        deploys.create(&PostParams::default(), &d).await.unwrap();
    }

    // Every object in both members, and every binding FullyApplied (the Works' status is in).
    for m in &members {
        let d: Api<Deployment> = Api::namespaced(m.clone(), ns);
        let c: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(m.clone(), ns);
        support::eventually("every object in the members", T * 3, &log, || async {
            let lp = kube::api::ListParams::default().labels("karmada.io/managed=true");
            let (d, c) = (d.list(&lp).await.ok()?, c.list(&lp).await.ok()?);
            (d.items.len() == N && c.items.len() == N).then_some(())
        })
        .await;
    }
    let bindings: Api<ResourceBinding> = Api::namespaced(cp.clone(), ns);
    support::eventually("every binding FullyApplied", T * 3, &log, || async {
        let all = bindings.list(&Default::default()).await.ok()?.items;
        let applied = all.iter().filter(|b| {
            b.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "FullyApplied" && c.status == "True")
            })
        });
        (all.len() == 2 * N && applied.count() == 2 * N).then_some(())
    })
    .await;
    let after = support::scrape(port).await;

    let cached = [
        "deployments",
        "configmaps",
        "secrets",
        "resourcebindings",
        "clusterresourcebindings",
        "works",
        "clusters",
        "namespaces",
    ];
    let gets = delta(
        &requests(&before, "control-plane", "GET", &[]),
        &requests(&after, "control-plane", "GET", &[]),
    );
    let lists = delta(
        &requests(&before, "control-plane", "LIST", &[]),
        &requests(&after, "control-plane", "LIST", &[]),
    );
    let member_gets = delta(
        &requests(&before, "member", "GET", &["deployments", "configmaps"]),
        &requests(&after, "member", "GET", &["deployments", "configmaps"]),
    );
    eprintln!(
        "{N} Deployments + {N} ConfigMaps to 2 members: control-plane GET {gets:?}, LIST {lists:?}; member GET {member_gets:?}"
    );
    let on_cached = |m: &std::collections::BTreeMap<String, f64>| -> f64 {
        m.iter()
            .filter(|(r, _)| cached.contains(&r.as_str()))
            .map(|(_, v)| v)
            .sum()
    };
    // Not proportional to N: only the first list of a cache started on demand (the
    // ConfigMaps the dependency bindings are rendered from).
    assert!(
        on_cached(&gets) <= 2.0,
        "control-plane GETs during the propagation: {gets:?}"
    );
    assert!(
        on_cached(&lists) <= 2.0,
        "control-plane LISTs during the propagation: {lists:?}"
    );
    // One read per member object at most: the first contact.
    let objects = (2 * N * members.len()) as f64;
    let member_total: f64 = member_gets.values().sum();
    assert!(
        member_total <= objects,
        "member GETs: {member_gets:?} for {objects} objects"
    );
}
