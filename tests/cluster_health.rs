//! Cluster health comes from the health endpoints, not from the facts collected beside them: a
//! member whose aggregated API is broken (an APIService pointing at a Service without
//! endpoints, the classic dead metrics-server) stays Ready, keeps its workloads and reports its
//! API enablements as partial.

mod support;

use std::time::Duration;

use kube::Api;

use karmadactl::api::Cluster;
use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually, exists};

const T: Duration = Duration::from_secs(60);

const WORKLOAD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: health}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: steady, namespace: health, labels: {app: steady}}
spec:
  replicas: 1
  selector: {matchLabels: {app: steady}}
  template:
    metadata: {labels: {app: steady}}
    spec:
      containers: [{name: main, image: nginx}]
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: steady, namespace: health}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: steady}]
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#;

/// A metrics API nobody serves: the Service has no selector and no endpoints.
const BROKEN_APISERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec:
  ports: [{port: 443, targetPort: 4443}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: metrics-server, namespace: kube-system, port: 443}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
"#;

#[tokio::test(flavor = "multi_thread")]
async fn broken_aggregated_api_neither_unreadies_nor_evicts() {
    let fed = support::federation(&["member1"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let member = fed.bed.client("member1").await.unwrap();
    let clusters: Api<Cluster> = Api::all(cp.clone());

    apply_yaml(&cp, WORKLOAD).await;
    eventually("health/steady in member1", T, &log, || async {
        exists(&member, "apps/v1", "Deployment", "health", "steady")
            .await
            .then_some(())
    })
    .await;

    apply_yaml(&member, BROKEN_APISERVICE).await;
    // The member's discovery really is broken: its aggregated group is listed, but answers
    // 503, or nothing at all for a long while (the aggregator dials a Service IP nobody has).
    eventually(
        "metrics.k8s.io/v1beta1 is listed and broken",
        T,
        &log,
        || async {
            let groups = member.list_api_groups().await.ok()?;
            groups.groups.iter().find(|g| g.name == "metrics.k8s.io")?;
            let req = http::Request::get("/apis/metrics.k8s.io/v1beta1")
                .body(Vec::new())
                .unwrap();
            match tokio::time::timeout(Duration::from_secs(3), member.request_text(req)).await {
                Err(_) => Some(()),
                Ok(Err(kube::Error::Api(s))) if s.code == 503 => Some(()),
                _ => None,
            }
        },
    )
    .await;
    // Probed every second, well past the failure threshold (3s) and the eviction timeout (5s):
    // still Ready, never tainted, the workload still there, the enablements that could be read
    // still listed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        let c = clusters.get("member1").await.unwrap();
        let status = c.status.clone().unwrap_or_default();
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
        assert_eq!(
            ready.map(|r| r.status.as_str()),
            Some("True"),
            "member1 left Ready: {ready:?}"
        );
        assert!(
            c.spec.taints.is_empty(),
            "member1 was tainted: {:?}",
            c.spec.taints
        );
        assert!(
            status
                .api_enablements
                .iter()
                .any(|a| a.group_version == "apps/v1"),
            "apps/v1 is still listed"
        );
        assert!(
            exists(&member, "apps/v1", "Deployment", "health", "steady").await,
            "health/steady was evicted from member1"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Meanwhile the enablements are marked partial.
    eventually(
        "CompleteAPIEnablements=False (Partial)",
        T,
        &log,
        || async {
            let c = clusters.get("member1").await.ok()?;
            let cond = c
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "CompleteAPIEnablements")?;
            (cond.status == "False" && cond.reason == "Partial").then_some(())
        },
    )
    .await;

    // Repaired, the enablements are complete again.
    Api::<k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService>::all(
        member.clone(),
    )
    .delete("v1beta1.metrics.k8s.io", &Default::default())
    .await
    .unwrap();
    eventually("CompleteAPIEnablements=True again", T, &log, || async {
        let c = clusters.get("member1").await.ok()?;
        let cond = c
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "CompleteAPIEnablements")?;
        (cond.status == "True").then_some(())
    })
    .await;
}
