//! Failover like Karmada's (issue 15 item 4), end to end: application failover with each purge
//! mode and state preservation, and cluster failover through graceful eviction tasks. The test
//! bed's members run no controllers, so a member Deployment reports no status (Unhealthy)
//! until a test writes one with a status patch, as a member's controllers would.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::{Client, ResourceExt as _};
use serde_json::json;

use karmadactl::api::work::{GracefulEvictionTask, ResourceHealth};
use karmadactl::api::{ResourceBinding, Work};
use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually, exists};

const T: Duration = Duration::from_secs(90);

fn deployment(name: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default, labels: {{app: {name}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: web, image: nginx}}]}}
"#
    )
}

/// One of member1/member2 (member1 first), with `failover` (YAML, may be empty) in its spec.
fn policy(name: &str, failover: &str) -> String {
    format!(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: {name}, namespace: default}}
spec:
  resourceSelectors: [{{apiVersion: apps/v1, kind: Deployment, name: {name}}}]
  propagateDeps: true
  placement:
    clusterAffinity: {{clusterNames: [member1, member2]}}
    spreadConstraints: [{{spreadByField: cluster, minGroups: 1, maxGroups: 1}}]
{failover}
"#
    )
}

fn application_failover(purge: &str, extra: &str) -> String {
    format!(
        r#"  failover:
    application:
      decisionConditions: {{tolerationSeconds: 10}}
      purgeMode: {purge}
{extra}      statePreservation:
        rules: [{{aliasLabelName: failover.example.com/replicas, jsonPath: "{{.replicas}}"}}]
"#
    )
}

async fn deployments(client: &Client) -> Api<DynamicObject> {
    let (ar, _) =
        kube::discovery::pinned_kind(client, &GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .await
            .expect("Deployments are served");
    Api::namespaced_with(client.clone(), "default", &ar)
}

/// Writes the member Deployment's status as its controller would: all replicas available
/// (healthy) or none (unhealthy).
async fn set_health(member: &Client, name: &str, healthy: bool) {
    let api = deployments(member).await;
    let d = api.get(name).await.expect("member Deployment");
    let available = i64::from(healthy);
    let status = json!({"status": {
        "observedGeneration": d.metadata.generation.unwrap_or(1),
        "replicas": 1, "updatedReplicas": 1,
        "readyReplicas": available, "availableReplicas": available,
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap_or_else(|e| panic!("status of {name} in the member: {e}"));
}

async fn binding(cp: &Client, name: &str) -> Option<ResourceBinding> {
    Api::<ResourceBinding>::namespaced(cp.clone(), "default")
        .get_opt(&format!("{name}-deployment"))
        .await
        .ok()
        .flatten()
}

fn targets(rb: &ResourceBinding) -> Vec<&str> {
    rb.spec.clusters.iter().map(|c| c.name.as_str()).collect()
}

/// The binding's eviction task from `cluster`, once the binding targets only `to`.
async fn moved(
    cp: &Client,
    name: &str,
    cluster: &str,
    to: &str,
    log: &std::path::Path,
) -> GracefulEvictionTask {
    let what = format!("{name} moved from {cluster} to {to} with an eviction task");
    eventually(&what, T, log, || async {
        let rb = binding(cp, name).await?;
        let task = rb
            .spec
            .graceful_eviction_tasks
            .iter()
            .find(|t| t.from_cluster == cluster)?
            .clone();
        (targets(&rb) == [to]).then_some(task)
    })
    .await
}

async fn healthy_in(cp: &Client, name: &str, cluster: &str, log: &std::path::Path) {
    let what = format!("{name} reported Healthy in {cluster}");
    eventually(&what, T, log, || async {
        binding(cp, name)
            .await?
            .status?
            .aggregated_status
            .iter()
            .any(|i| i.cluster_name == cluster && i.health == Some(ResourceHealth::Healthy))
            .then_some(())
    })
    .await;
}

async fn events(cp: &Client, reason: &str, name: &str) -> Vec<Event> {
    Api::<Event>::all(cp.clone())
        .list(&ListParams::default().fields(&format!("reason={reason},involvedObject.name={name}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

async fn work_in(cp: &Client, cluster: &str, name: &str) -> Option<Work> {
    Api::<Work>::namespaced(cp.clone(), &format!("karmada-es-{cluster}"))
        .get_opt(&karmadactl::api::names::work_name(
            "Deployment",
            name,
            "default",
        ))
        .await
        .ok()
        .flatten()
}

/// `failover.application`: a workload unhealthy in its cluster for `tolerationSeconds` moves.
/// `Gracefully` keeps the old copy until the new one is healthy, `Directly` removes it at once
/// (and carries `statePreservation` into the new copy's labels), `Never` keeps it until the
/// user confirms with `suppressDeletion: false`. EvictWorkloadFromClusterSucceed Events mark
/// the end of each eviction.
#[tokio::test(flavor = "multi_thread")]
async fn application_failover_with_each_purge_mode() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    let members = vec![
        ("member1".to_string(), m1.clone()),
        ("member2".to_string(), m2.clone()),
    ];
    let apps = ["grace", "direct", "never"];

    // Placed and healthy in member1 first, without failover.
    for app in apps {
        apply_yaml(&cp, &deployment(app)).await;
        apply_yaml(&cp, &policy(app, "")).await;
    }
    for app in apps {
        support::placed(&members, "default", app, &["member1"], &log).await;
        set_health(&m1, app, true).await;
        healthy_in(&cp, app, "member1", &log).await;
    }
    let failover = [
        application_failover("Gracefully", "      gracePeriodSeconds: 600\n"),
        application_failover("Directly", ""),
        application_failover("Never", ""),
    ];
    for (app, failover) in apps.iter().zip(&failover) {
        apply_yaml(&cp, &policy(app, failover)).await;
    }
    eventually(
        "the failover behaviour on every binding",
        T,
        &log,
        || async {
            for app in apps {
                binding(&cp, app).await?.spec.failover?.application?;
            }
            Some(())
        },
    )
    .await;
    // They fail in member1.
    for app in apps {
        set_health(&m1, app, false).await;
    }

    // Each moves to member2. A new copy unhealthy for tolerationSeconds would move again, so
    // member2's copies are made healthy as they arrive (`grace` once it has been looked at).
    let mut tasks = Vec::new();
    for app in apps {
        tasks.push(moved(&cp, app, "member1", "member2", &log).await);
    }
    for app in apps {
        let what = format!("{app} in member2");
        eventually(&what, T, &log, || async {
            exists(&m2, "apps/v1", "Deployment", "default", app)
                .await
                .then_some(())
        })
        .await;
    }
    // Directly: the new copy carries the preserved state while the task lasts.
    assert_eq!(tasks[1].clusters_before_failover, ["member1"]);
    let copy = deployments(&m2).await.get("direct").await.unwrap();
    assert_eq!(
        copy.labels()
            .get("failover.example.com/replicas")
            .map(String::as_str),
        Some("1"),
        "{:?}",
        copy.labels()
    );
    // ... and member1's copy goes at once, although the new one is not healthy.
    eventually("direct removed from member1 at once", T, &log, || async {
        (!exists(&m1, "apps/v1", "Deployment", "default", "direct").await).then_some(())
    })
    .await;
    for app in ["direct", "never"] {
        set_health(&m2, app, true).await;
    }

    // Gracefully: member1's copy stays while member2's is not healthy.
    let task = &tasks[0];
    assert_eq!(task.reason, "ApplicationFailure");
    assert_eq!(
        task.producer,
        "resource-binding-application-failover-controller"
    );
    assert_eq!(task.grace_period_seconds, Some(600));
    assert!(task.creation_timestamp.is_some());
    assert_eq!(
        task.preserved_label_state["failover.example.com/replicas"],
        "1"
    );
    let rb = binding(&cp, "grace").await.unwrap();
    assert!(
        rb.spec
            .graceful_eviction_tasks
            .iter()
            .any(|t| t.from_cluster == "member1"),
        "the task lasts while member2's copy is unhealthy: {:?}",
        rb.spec.graceful_eviction_tasks
    );
    assert!(exists(&m1, "apps/v1", "Deployment", "default", "grace").await);
    assert!(
        work_in(&cp, "member1", "grace")
            .await
            .is_some_and(|w| w.metadata.deletion_timestamp.is_none())
    );
    // Preserved state is injected only with purgeMode Directly (as in Karmada).
    let copy = deployments(&m2).await.get("grace").await.unwrap();
    assert!(!copy.labels().contains_key("failover.example.com/replicas"));
    // Healthy in member2: the task ends and member1's copy goes.
    set_health(&m2, "grace", true).await;
    support::placed(&members, "default", "grace", &["member2"], &log).await;
    let rb = binding(&cp, "grace").await.unwrap();
    assert!(
        rb.spec.graceful_eviction_tasks.is_empty(),
        "{:?}",
        rb.spec.graceful_eviction_tasks
    );
    for regarding in ["grace", "grace-deployment"] {
        let what = format!("EvictWorkloadFromClusterSucceed about {regarding}");
        eventually(&what, T, &log, || async {
            let found = events(&cp, "EvictWorkloadFromClusterSucceed", regarding).await;
            found
                .iter()
                .any(|e| e.message.as_deref().is_some_and(|m| m.contains("member1")))
                .then_some(())
        })
        .await;
    }

    support::placed(&members, "default", "direct", &["member2"], &log).await;

    // Never: the old copy stays even once the new one is healthy, until the user says so.
    assert_eq!(tasks[2].suppress_deletion, Some(true));
    healthy_in(&cp, "never", "member2", &log).await;
    // (By now `grace`, in the same state, was released long ago.)
    let rb = binding(&cp, "never").await.unwrap();
    assert_eq!(rb.spec.graceful_eviction_tasks.len(), 1);
    assert!(exists(&m1, "apps/v1", "Deployment", "default", "never").await);
    let mut tasks = rb.spec.graceful_eviction_tasks.clone();
    tasks[0].suppress_deletion = Some(false);
    Api::<ResourceBinding>::namespaced(cp.clone(), "default")
        .patch(
            "never-deployment",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"gracefulEvictionTasks": tasks}})),
        )
        .await
        .unwrap();
    support::placed(&members, "default", "never", &["member2"], &log).await;
    assert!(
        binding(&cp, "never")
            .await
            .unwrap()
            .spec
            .graceful_eviction_tasks
            .is_empty()
    );
}

/// Cluster failover: Karmada's health taints are NoSchedule only; a ClusterTaintPolicy adds
/// NoExecute when member1 is not Ready. The workload then leaves member1 through a graceful
/// eviction task (TaintUntolerated, TaintManager): member2 gets it, member1's Work is kept
/// until member2's copy is healthy, then it is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_failover_evicts_gracefully() {
    let mut fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    apply_yaml(
        &cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterTaintPolicy
metadata: {name: evict-not-ready}
spec:
  targetClusters: {clusterNames: [member1]}
  addOnConditions: [{conditionType: Ready, operator: NotIn, statusValues: ["True"]}]
  removeOnConditions: [{conditionType: Ready, operator: In, statusValues: ["True"]}]
  taints: [{key: cluster.karmada.io/not-ready, effect: NoExecute}]
"#,
    )
    .await;
    apply_yaml(&cp, &deployment("mover")).await;
    apply_yaml(&cp, &policy("mover", "")).await;
    eventually("mover's Work in member1 applied", T, &log, || async {
        work_in(&cp, "member1", "mover")
            .await?
            .status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Applied" && c.status == "True")
            .then_some(())
    })
    .await;

    fed.bed.stop_cluster("member1").await.unwrap();
    let clusters: Api<karmadactl::api::Cluster> = Api::all(cp.clone());
    eventually(
        "member1 not Ready, tainted NoSchedule by the controller and NoExecute by the policy",
        T,
        &log,
        || async {
            let c = clusters.get("member1").await.ok()?;
            let has = |effect: &str| {
                c.spec
                    .taints
                    .iter()
                    .any(|t| t.key == "cluster.karmada.io/not-ready" && t.effect == effect)
            };
            (has("NoSchedule") && has("NoExecute")).then_some(())
        },
    )
    .await;
    let task = moved(&cp, "mover", "member1", "member2", &log).await;
    assert_eq!(task.reason, "TaintUntolerated");
    assert_eq!(task.producer, "TaintManager");
    assert!(task.creation_timestamp.is_some());
    eventually("mover in member2", T, &log, || async {
        exists(&m2, "apps/v1", "Deployment", "default", "mover")
            .await
            .then_some(())
    })
    .await;
    let rb = binding(&cp, "mover").await.unwrap();
    assert_eq!(
        rb.spec.graceful_eviction_tasks.len(),
        1,
        "kept while member2's copy is unhealthy"
    );
    assert!(
        work_in(&cp, "member1", "mover")
            .await
            .is_some_and(|w| w.metadata.deletion_timestamp.is_none())
    );

    set_health(&m2, "mover", true).await;
    eventually("the task ends and member1's Work goes", T, &log, || async {
        let rb = binding(&cp, "mover").await?;
        let work = work_in(&cp, "member1", "mover").await;
        (rb.spec.graceful_eviction_tasks.is_empty()
            && work.is_none_or(|w| w.metadata.deletion_timestamp.is_some()))
        .then_some(())
    })
    .await;
    assert_eq!(targets(&binding(&cp, "mover").await.unwrap()), ["member2"]);
    eventually(
        "EvictWorkloadFromClusterSucceed about mover's binding",
        T,
        &log,
        || async {
            let found = events(&cp, "EvictWorkloadFromClusterSucceed", "mover-deployment").await;
            (!found.is_empty()).then_some(())
        },
    )
    .await;
}
