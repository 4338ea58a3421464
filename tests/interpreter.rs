//! The resource interpreter end to end: a CRD workload taught to the control plane by a
//! ResourceInterpreterCustomization is divided 2:1 across two members by static weights, and
//! the members' statuses come back summed into the template by the customization's
//! AggregateStatus; a CRD nobody interprets is not divided; a script that never ends is
//! reported as an Event and holds up nothing else.

mod support;

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually};

const T: Duration = Duration::from_secs(90);

fn crd(kind: &str, plural: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.workload.example.io")},
        "spec": {"group": "workload.example.io", "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .unwrap()
}

const CUSTOMIZATION: &str = r#"
apiVersion: config.karmada.io/v1alpha1
kind: ResourceInterpreterCustomization
metadata:
  name: workload
spec:
  target:
    apiVersion: workload.example.io/v1alpha1
    kind: Workload
  customizations:
    replicaResource:
      luaScript: >
        function GetReplicas(obj)
          return obj.spec.replicas, nil
        end
    replicaRevision:
      luaScript: >
        function ReviseReplica(obj, desiredReplica)
          obj.spec.replicas = desiredReplica
          return obj
        end
    statusReflection:
      luaScript: >
        function ReflectStatus(observedObj)
          if observedObj.status == nil then
            return {}
          end
          return {readyReplicas = observedObj.status.readyReplicas}
        end
    statusAggregation:
      luaScript: >
        function AggregateStatus(desiredObj, statusItems)
          local ready = 0
          local clusters = {}
          for i = 1, #(statusItems or {}) do
            local s = statusItems[i].status
            if s ~= nil and s.readyReplicas ~= nil then
              ready = ready + s.readyReplicas
            end
            table.insert(clusters, statusItems[i].clusterName)
          end
          desiredObj.status = {readyReplicas = ready, clusters = table.concat(clusters, ",")}
          return desiredObj
        end
    healthInterpretation:
      luaScript: >
        function InterpretHealth(observedObj)
          return observedObj.status ~= nil and observedObj.status.readyReplicas == observedObj.spec.replicas
        end
"#;

const OBJECTS: &str = r#"
apiVersion: workload.example.io/v1alpha1
kind: Workload
metadata:
  name: app
  namespace: default
spec:
  replicas: 3
---
apiVersion: workload.example.io/v1alpha1
kind: Gadget
metadata:
  name: thing
  namespace: default
spec:
  replicas: 3
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: weighted
  namespace: default
spec:
  resourceSelectors:
    - apiVersion: workload.example.io/v1alpha1
      kind: Workload
    - apiVersion: workload.example.io/v1alpha1
      kind: Gadget
  placement:
    clusterAffinity:
      clusterNames: [member1, member2]
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - targetCluster: {clusterNames: [member1]}
            weight: 2
          - targetCluster: {clusterNames: [member2]}
            weight: 1
"#;

fn api(client: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("workload.example.io", "v1alpha1", kind),
        &format!("{}s", kind.to_lowercase()),
    );
    Api::namespaced_with(client.clone(), "default", &ar)
}

async fn replicas(client: &kube::Client, kind: &str, name: &str) -> Option<i64> {
    api(client, kind)
        .get_opt(name)
        .await
        .ok()??
        .data
        .pointer("/spec/replicas")?
        .as_i64()
}

#[tokio::test(flavor = "multi_thread")]
async fn customized_crd_is_divided_and_its_status_aggregated() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    for c in [&cp, &m1, &m2] {
        karmadactl::install::crds::apply_and_wait(
            c,
            &[crd("Workload", "workloads"), crd("Gadget", "gadgets")],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }
    apply_yaml(&cp, CUSTOMIZATION).await;
    apply_yaml(&cp, OBJECTS).await;

    // The customized kind is divided by the weights; the other one is not divided at all.
    eventually("Workload divided 2:1", T, &log, || async {
        (replicas(&m1, "Workload", "app").await == Some(2)
            && replicas(&m2, "Workload", "app").await == Some(1))
        .then_some(())
    })
    .await;
    eventually(
        "Gadget in both members, 3 replicas each",
        T,
        &log,
        || async {
            (replicas(&m1, "Gadget", "thing").await == Some(3)
                && replicas(&m2, "Gadget", "thing").await == Some(3))
            .then_some(())
        },
    )
    .await;
    let bindings: Api<karmadactl::api::ResourceBinding> = Api::namespaced(cp.clone(), "default");
    let rb = bindings.get("app-workload").await.unwrap();
    assert_eq!(rb.spec.replicas, 3);
    assert_eq!(bindings.get("thing-gadget").await.unwrap().spec.replicas, 0);

    // Members report; the customization sums their reports onto the template.
    for (client, ready) in [(&m1, 2), (&m2, 1)] {
        api(client, "Workload")
            .patch_status(
                "app",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"readyReplicas": ready}})),
            )
            .await
            .unwrap();
    }
    let cp_workloads = api(&cp, "Workload");
    let status = eventually("template status aggregated", T, &log, || async {
        let s = cp_workloads
            .get("app")
            .await
            .ok()?
            .data
            .get("status")?
            .clone();
        (s["readyReplicas"] == 3).then_some(s)
    })
    .await;
    assert_eq!(status["clusters"], "member1,member2");
    // Health from the customization: both copies have all their replicas ready.
    eventually("both members Healthy in the binding", T, &log, || async {
        let rb = bindings.get("app-workload").await.ok()?;
        let items = rb.status?.aggregated_status;
        (items.len() == 2
            && items
                .iter()
                .all(|i| i.health == Some(karmadactl::api::work::ResourceHealth::Healthy)))
        .then_some(())
    })
    .await;

    // A script that never ends: an Event on the template, the binding keeps its replicas, and
    // other templates still propagate.
    let endless = CUSTOMIZATION.replace("return obj.spec.replicas, nil", "while true do end");
    apply_yaml(&cp, &endless).await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(cp.clone(), "default");
    let note = eventually("an InterpretReplicaFailed Event", T, &log, || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("InterpretReplicaFailed"))
            .and_then(|e| e.note)
    })
    .await;
    assert!(
        note.contains("customization workload InterpretReplica"),
        "{note}"
    );
    assert!(note.contains("budget"), "{note}");
    api(&cp, "Gadget")
        .patch(
            "thing",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    eventually("Gadget update still propagates", T, &log, || async {
        (replicas(&m1, "Gadget", "thing").await == Some(4)).then_some(())
    })
    .await;
    assert_eq!(bindings.get("app-workload").await.unwrap().spec.replicas, 3);
}
