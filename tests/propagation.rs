//! The seed's walkthrough, end to end on real kube-apiservers with the reconciler as a
//! process: a Deployment and a PropagationPolicy on the control plane land in member1 only,
//! status flows back (READY 1/1), updates propagate, drift is reverted, and deleting the
//! policy tears nothing down.

mod support;

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
