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
