//! Karmada semantics a user's YAML relies on (issue 15), end to end: real kube-apiservers, a
//! real reconciler process, YAML applied as a user would.

mod support;

use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually};

const T: Duration = Duration::from_secs(60);

async fn api(client: &Client, api_version: &str, kind: &str, ns: &str) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (ar, _): (ApiResource, _) =
        kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .expect("kind is served");
    Api::namespaced_with(client.clone(), ns, &ar)
}

async fn get(api: &Api<DynamicObject>, name: &str) -> Option<Value> {
    api.get_opt(name)
        .await
        .ok()
        .flatten()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// Writes a member Deployment's status as its controller would once all its replicas are
/// available: healthy, so a graceful eviction of another cluster's copy can end.
async fn mark_healthy(member: &Client, name: &str) {
    let deploys = api(member, "apps/v1", "Deployment", "default").await;
    let generation =
        get(&deploys, name).await.expect("member Deployment")["metadata"]["generation"]
            .as_i64()
            .unwrap_or(1);
    let replicas = 1;
    let status = json!({"status": {"observedGeneration": generation, "replicas": replicas,
        "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}});
    deploys
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("status of {name} in the member: {e}"));
}

/// A change made in the member by someone else (an HPA, `kubectl scale`, a member controller).
async fn member_patch(api: &Api<DynamicObject>, name: &str, patch: Value) {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patching {name} in the member: {e}"));
}

const RETAIN_YAML: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: scaled-by-hpa
  namespace: default
  labels:
    app: scaled-by-hpa
    resourcetemplate.karmada.io/retain-replicas: "true"
spec:
  replicas: 2
  selector: {matchLabels: {app: scaled-by-hpa}}
  template:
    metadata: {labels: {app: scaled-by-hpa}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fixed
  namespace: default
  labels: {app: fixed}
spec:
  replicas: 2
  selector: {matchLabels: {app: fixed}}
  template:
    metadata: {labels: {app: fixed}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: fixed}
  ports: [{port: 80}]
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: retain
  namespace: default
spec:
  resourceSelectors:
    - {apiVersion: apps/v1, kind: Deployment, name: scaled-by-hpa}
    - {apiVersion: apps/v1, kind: Deployment, name: fixed}
    - {apiVersion: v1, kind: Service, name: web}
  placement:
    clusterAffinity: {clusterNames: [member1]}
"#;

/// Issue 15 item 2: what the member owns is kept. Replicas changed in the member stay when
/// the template carries `resourcetemplate.karmada.io/retain-replicas: "true"` and are
/// reverted without it; the member's Service clusterIP and the labels and annotations a
/// member adds survive template changes.
#[tokio::test(flavor = "multi_thread")]
async fn retain_what_the_member_owns() {
    let fed = support::federation(&["member1"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    apply_yaml(&cp, RETAIN_YAML).await;
    let deploys = api(&m1, "apps/v1", "Deployment", "default").await;
    let services = api(&m1, "v1", "Service", "default").await;
    let cp_deploys = api(&cp, "apps/v1", "Deployment", "default").await;
    let cp_services = api(&cp, "v1", "Service", "default").await;
    for name in ["scaled-by-hpa", "fixed"] {
        eventually(&format!("{name} in member1"), T, &log, || async {
            get(&deploys, name)
                .await
                .filter(|d| d["spec"]["replicas"] == 2)
        })
        .await;
    }
    let service = eventually("Service web in member1", T, &log, || async {
        get(&services, "web")
            .await
            .filter(|s| s["spec"]["clusterIP"].is_string())
    })
    .await;
    let cluster_ip = service["spec"]["clusterIP"].clone();

    // The member scales both and labels them; then the templates change.
    for name in ["scaled-by-hpa", "fixed"] {
        member_patch(
            &deploys,
            name,
            json!({"metadata": {"labels": {"member-added": "yes"}, "annotations": {"member/note": "kept"}},
                   "spec": {"replicas": 5}}),
        )
        .await;
    }
    member_patch(
        &services,
        "web",
        json!({"metadata": {"labels": {"member-added": "yes"}}}),
    )
    .await;
    for (api, name) in [
        (&cp_deploys, "scaled-by-hpa"),
        (&cp_deploys, "fixed"),
        (&cp_services, "web"),
    ] {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"template-rev": "2"}}})),
        )
        .await
        .unwrap();
    }

    // Without the label the replicas are reverted; with it they stay, while the template
    // change still reaches the member.
    eventually("fixed reverted to 2 replicas", T, &log, || async {
        get(&deploys, "fixed").await.filter(|d| {
            d["spec"]["replicas"] == 2 && d["metadata"]["annotations"]["template-rev"] == "2"
        })
    })
    .await;
    let kept = eventually(
        "scaled-by-hpa updated from its template",
        T,
        &log,
        || async {
            get(&deploys, "scaled-by-hpa")
                .await
                .filter(|d| d["metadata"]["annotations"]["template-rev"] == "2")
        },
    )
    .await;
    assert_eq!(kept["spec"]["replicas"], 5, "{kept:#}");
    for name in ["scaled-by-hpa", "fixed"] {
        let d = get(&deploys, name).await.unwrap();
        assert_eq!(d["metadata"]["labels"]["member-added"], "yes", "{d:#}");
        assert_eq!(d["metadata"]["annotations"]["member/note"], "kept", "{d:#}");
    }
    let svc = eventually("Service web updated from its template", T, &log, || async {
        get(&services, "web")
            .await
            .filter(|s| s["metadata"]["annotations"]["template-rev"] == "2")
    })
    .await;
    assert_eq!(svc["spec"]["clusterIP"], cluster_ip, "{svc:#}");
    assert_eq!(svc["metadata"]["labels"]["member-added"], "yes");

    // Still 5 after the member copy is looked at again (its watch re-runs the Work).
    member_patch(
        &deploys,
        "scaled-by-hpa",
        json!({"metadata": {"annotations": {"poke": "1"}}}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let d = get(&deploys, "scaled-by-hpa").await.unwrap();
    assert_eq!(d["spec"]["replicas"], 5, "{d:#}");
}

fn deployment(name: &str, extra_labels: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
  labels: {{app: {name}{extra_labels}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: web, image: nginx}}]}}
"#
    )
}

fn policy(name: &str, target: &str, spec_extra: &str, placement_extra: &str) -> String {
    format!(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: {name}
  namespace: default
spec:
  resourceSelectors:
    - {{apiVersion: apps/v1, kind: Deployment, name: {target}}}
  placement:
    clusterAffinity: {{clusterNames: [member1, member2]}}
{placement_extra}
{spec_extra}
"#
    )
}

async fn binding(cp: &Client, name: &str) -> Option<karmadactl::api::ResourceBinding> {
    Api::<karmadactl::api::ResourceBinding>::namespaced(cp.clone(), "default")
        .get_opt(name)
        .await
        .ok()
        .flatten()
}

/// Issue 15 item 6: the policy fields Karmada users set are honoured: schedulerName,
/// dependentOverrides, preemption, activationPreference: Lazy and tolerationSeconds.
#[tokio::test(flavor = "multi_thread")]
async fn policy_fields_are_honoured() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let members = vec![
        (
            "member1".to_string(),
            fed.bed.client("member1").await.unwrap(),
        ),
        (
            "member2".to_string(),
            fed.bed.client("member2").await.unwrap(),
        ),
    ];
    let only = |m: &str| format!("    clusterAffinity: {{clusterNames: [{m}]}}");
    let only_placement = |m: &str| format!("  placement:\n{}\n", only(m));
    let pp = |name: &str, target: &str, member: &str, spec_extra: &str| {
        format!(
            "apiVersion: policy.karmada.io/v1alpha1\nkind: PropagationPolicy\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  resourceSelectors:\n    - {{apiVersion: apps/v1, kind: Deployment, name: {target}}}\n{}{spec_extra}\n",
            only_placement(member)
        )
    };

    // schedulerName: another scheduler's binding is left alone.
    apply_yaml(&cp, &deployment("other-sched", "")).await;
    apply_yaml(
        &cp,
        &pp(
            "other-sched",
            "other-sched",
            "member1",
            "  schedulerName: my-scheduler",
        ),
    )
    .await;
    // dependentOverrides: nothing happens until the OverridePolicy exists.
    apply_yaml(&cp, &deployment("waits", "")).await;
    apply_yaml(
        &cp,
        &pp(
            "waits",
            "waits",
            "member1",
            "  dependentOverrides: [waits-labels]",
        ),
    )
    .await;
    // preemption and Lazy: both start in member1.
    apply_yaml(&cp, &deployment("contested", "")).await;
    apply_yaml(&cp, &pp("low", "contested", "member1", "  priority: 1")).await;
    apply_yaml(&cp, &deployment("lazy", "")).await;
    apply_yaml(
        &cp,
        &pp("lazy", "lazy", "member1", "  activationPreference: Lazy"),
    )
    .await;
    support::placed(&members, "default", "contested", &["member1"], &log).await;
    support::placed(&members, "default", "lazy", &["member1"], &log).await;

    let rb = eventually("binding other-sched-deployment", T, &log, || async {
        binding(&cp, "other-sched-deployment").await
    })
    .await;
    assert_eq!(rb.spec.scheduler_name, "my-scheduler");
    assert!(rb.spec.clusters.is_empty(), "{:?}", rb.spec.clusters);
    assert!(
        rb.status
            .as_ref()
            .is_none_or(|s| s.conditions.iter().all(|c| c.type_ != "Scheduled")),
        "{:?}",
        rb.status
    );
    assert!(binding(&cp, "waits-deployment").await.is_none());
    assert!(!support::exists(&members[0].1, "apps/v1", "Deployment", "default", "waits").await);
    apply_yaml(
        &cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: OverridePolicy
metadata: {name: waits-labels, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: waits}]
  overrideRules:
    - overriders:
        labelsOverrider: [{operator: add, value: {overridden: "yes"}}]
"#,
    )
    .await;
    let deploys = api(&members[0].1, "apps/v1", "Deployment", "default").await;
    eventually("waits in member1, overridden", T, &log, || async {
        get(&deploys, "waits")
            .await
            .filter(|d| d["metadata"]["labels"]["overridden"] == "yes")
    })
    .await;

    // A higher-priority policy with preemption: Always takes the template over.
    apply_yaml(
        &cp,
        &pp(
            "high",
            "contested",
            "member2",
            "  priority: 5\n  preemption: Always",
        ),
    )
    .await;
    support::placed(&members, "default", "contested", &["member2"], &log).await;
    let template = get(
        &api(&cp, "apps/v1", "Deployment", "default").await,
        "contested",
    )
    .await
    .unwrap();
    assert_eq!(
        template["metadata"]["annotations"]["propagationpolicy.karmada.io/name"],
        "high"
    );

    // Lazy: the policy change waits for the template's next change.
    apply_yaml(
        &cp,
        &pp("lazy", "lazy", "member2", "  activationPreference: Lazy"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    support::placed(&members, "default", "lazy", &["member1"], &log).await;
    api(&cp, "apps/v1", "Deployment", "default")
        .await
        .patch(
            "lazy",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"touched": "1"}}})),
        )
        .await
        .unwrap();
    support::placed(&members, "default", "lazy", &["member2"], &log).await;

    // tolerationSeconds: a NoExecute taint is tolerated for that long, then the workload
    // leaves; without a toleration it leaves at once.
    apply_yaml(&cp, &deployment("tolerant", "")).await;
    apply_yaml(&cp, &deployment("intolerant", "")).await;
    let toleration = "    clusterTolerations:\n      - {key: example.com/maintenance, operator: Exists, effect: NoExecute, tolerationSeconds: 8}\n";
    apply_yaml(&cp, &policy("tolerant", "tolerant", "", toleration)).await;
    apply_yaml(&cp, &policy("intolerant", "intolerant", "", "")).await;
    support::placed(
        &members,
        "default",
        "tolerant",
        &["member1", "member2"],
        &log,
    )
    .await;
    support::placed(
        &members,
        "default",
        "intolerant",
        &["member1", "member2"],
        &log,
    )
    .await;
    // Healthy in member2, so the copies leaving member1 are not kept for their replacement.
    for name in ["tolerant", "intolerant"] {
        mark_healthy(&members[1].1, name).await;
    }
    let clusters: Api<karmadactl::api::Cluster> = Api::all(cp.clone());
    let now = k8s_openapi::jiff::Timestamp::now();
    clusters
        .patch(
            "member1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": [{"key": "example.com/maintenance", "effect": "NoExecute", "timeAdded": now.to_string()}]}})),
        )
        .await
        .unwrap();
    support::placed(&members, "default", "intolerant", &["member2"], &log).await;
    let rb = binding(&cp, "tolerant-deployment").await.unwrap();
    let waited = k8s_openapi::jiff::Timestamp::now().duration_since(now);
    if waited.as_secs() < 7 {
        assert!(
            rb.spec.clusters.iter().any(|c| c.name == "member1"),
            "tolerated for 8s, gone after {waited:?}: {:?}",
            rb.spec.clusters
        );
    }
    support::placed(&members, "default", "tolerant", &["member2"], &log).await;
    let waited = k8s_openapi::jiff::Timestamp::now().duration_since(now);
    assert!(waited.as_secs() >= 8, "left after {waited:?}");
}

/// Issue 15 item 5: division like Karmada's scheduler, on members whose fake nodes and pods
/// give them free capacity (allocatable − allocated − allocating): rescaling keeps the current
/// split, `rescheduleTriggeredAt` divides anew, and too few free replicas is `Unschedulable`.
#[tokio::test(flavor = "multi_thread")]
async fn division_keeps_the_split_like_karmada() {
    use karmadactl::api::{Cluster, ResourceBinding};
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    for (name, member) in [("member1", &m1), ("member2", &m2)] {
        apply_yaml(
            member,
            &format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {name}-node}}\n"),
        )
        .await;
        let nodes = Api::<k8s_openapi::api::core::v1::Node>::all(member.clone());
        let status =
            json!({"status": {"allocatable": {"cpu": "10", "memory": "64Gi", "pods": "110"}}});
        nodes
            .patch_status(
                &format!("{name}-node"),
                &PatchParams::default(),
                &Patch::Merge(status),
            )
            .await
            .unwrap();
    }
    // 6 of member1's 10 CPUs are taken by a running pod.
    apply_yaml(
        &m1,
        r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: default}
---
apiVersion: v1
kind: Pod
metadata: {name: busy, namespace: default}
spec:
  nodeName: member1-node
  automountServiceAccountToken: false
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "6"}}}]
"#,
    )
    .await;
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let allocated_cpu = |c: Cluster| {
        c.status?
            .resource_summary?
            .allocated
            .get("cpu")
            .map(|q| q.0.clone())
    };
    eventually("member1 reports 6 CPUs allocated", T, &log, || async {
        (allocated_cpu(clusters.get("member1").await.ok()?)? == "6").then_some(())
    })
    .await;

    let yaml = |replicas: i32| {
        format!(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default, labels: {{app: web}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: nginx, resources: {{requests: {{cpu: "1"}}}}}}]}}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: web, namespace: default}}
spec:
  resourceSelectors: [{{apiVersion: apps/v1, kind: Deployment, name: web}}]
  placement:
    clusterAffinity: {{clusterNames: [member1, member2]}}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {{dynamicWeight: AvailableReplicas}}
"#
        )
    };
    let rbs: Api<ResourceBinding> = Api::namespaced(cp.clone(), "default");
    let split = |want: &'static [(&'static str, i32)]| {
        let rbs = rbs.clone();
        async move {
            let b = rbs.get_opt("web-deployment").await.ok()??;
            let got: Vec<(String, i32)> = b
                .spec
                .clusters
                .iter()
                .map(|c| (c.name.clone(), c.replicas))
                .collect();
            let want: Vec<(String, i32)> = want.iter().map(|(n, r)| (n.to_string(), *r)).collect();
            (got == want).then_some(())
        }
    };
    // Free 4:10 → 7 replicas split 2:5.
    apply_yaml(&cp, &yaml(7)).await;
    eventually("7 split 2:5 by free CPUs 4:10", T, &log, || {
        split(&[("member1", 2), ("member2", 5)])
    })
    .await;
    // member1 frees its CPUs (10:10); scaling to 9 divides only the 2 added replicas.
    Api::<k8s_openapi::api::core::v1::Pod>::namespaced(m1.clone(), "default")
        // No kubelet here: removed at once rather than waiting for one to confirm.
        .delete("busy", &kube::api::DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    eventually("member1 reports no CPU allocated", T, &log, || async {
        let c = clusters.get("member1").await.ok()?;
        let reported = c.status.as_ref()?.resource_summary.is_some();
        (reported && allocated_cpu(c).is_none_or(|q| q == "0")).then_some(())
    })
    .await;
    apply_yaml(&cp, &yaml(9)).await;
    eventually("scale up to 9 keeps 2:5 and adds 1:1", T, &log, || {
        split(&[("member1", 3), ("member2", 6)])
    })
    .await;
    // rescheduleTriggeredAt: a fresh division (current replicas count as free: 13:16).
    rbs.patch(
        "web-deployment",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"rescheduleTriggeredAt": k8s_openapi::jiff::Timestamp::now().to_string()}})),
    )
    .await
    .unwrap();
    eventually("a fresh division 4:5", T, &log, || {
        split(&[("member1", 4), ("member2", 5)])
    })
    .await;
    // Scale down: proportional to the current split.
    apply_yaml(&cp, &yaml(3)).await;
    eventually("scale down to 3 in proportion to 4:5", T, &log, || {
        split(&[("member1", 1), ("member2", 2)])
    })
    .await;
    // More than the free capacity: Unschedulable, the split stays.
    apply_yaml(&cp, &yaml(100)).await;
    let msg =
        support::binding_condition(&cp, "default", "web-deployment", "Scheduled", &log, |c| {
            c.status == "False" && c.reason == "Unschedulable"
        })
        .await;
    assert!(msg.contains("do not fit"), "{msg}");
    split(&[("member1", 1), ("member2", 2)])
        .await
        .expect("the split stays");
}

/// Issue 15 item 4 (part): a ClusterTaintPolicy is served and honoured: its NoExecute taint
/// lands on the clusters whose conditions match, workloads that do not tolerate it leave, and
/// the policy's removeOnConditions take it away again.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_taint_policy_is_honoured() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let members = vec![
        (
            "member1".to_string(),
            fed.bed.client("member1").await.unwrap(),
        ),
        (
            "member2".to_string(),
            fed.bed.client("member2").await.unwrap(),
        ),
    ];
    apply_yaml(&cp, &deployment("evictable", "")).await;
    apply_yaml(&cp, &policy("evictable", "evictable", "", "")).await;
    support::placed(
        &members,
        "default",
        "evictable",
        &["member1", "member2"],
        &log,
    )
    .await;

    let taint_policy = |add: &str, remove: &str| {
        format!(
            r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterTaintPolicy
metadata: {{name: drain-member1}}
spec:
  targetClusters: {{clusterNames: [member1]}}
  addOnConditions: [{{conditionType: Ready, operator: In, statusValues: [{add}]}}]
  removeOnConditions: [{{conditionType: Ready, operator: In, statusValues: [{remove}]}}]
  taints: [{{key: example.com/drain, effect: NoExecute}}]
"#
        )
    };
    // Healthy in member2: the graceful eviction of member1's copy ends at once.
    mark_healthy(&members[1].1, "evictable").await;
    // While member1 is Ready the policy adds the taint: the workload leaves member1 only.
    apply_yaml(&cp, &taint_policy("\"True\"", "\"False\"")).await;
    let clusters: Api<karmadactl::api::Cluster> = Api::all(cp.clone());
    eventually("member1 tainted by the policy", T, &log, || async {
        let c = clusters.get("member1").await.ok()?;
        c.spec
            .taints
            .iter()
            .any(|t| {
                t.key == "example.com/drain" && t.effect == "NoExecute" && t.time_added.is_some()
            })
            .then_some(())
    })
    .await;
    let m2 = clusters.get("member2").await.unwrap();
    assert!(m2.spec.taints.iter().all(|t| t.key != "example.com/drain"));
    support::placed(&members, "default", "evictable", &["member2"], &log).await;

    // The policy now removes it while member1 is Ready: the workload comes back.
    apply_yaml(&cp, &taint_policy("\"False\"", "\"True\"")).await;
    eventually("member1's taint removed by the policy", T, &log, || async {
        let c = clusters.get("member1").await.ok()?;
        c.spec
            .taints
            .iter()
            .all(|t| t.key != "example.com/drain")
            .then_some(())
    })
    .await;
    support::placed(
        &members,
        "default",
        "evictable",
        &["member1", "member2"],
        &log,
    )
    .await;
}
