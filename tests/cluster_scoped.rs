//! Cluster-scoped templates (issue 15 item 1), Karmada's marks on member objects (item 3) and
//! Karmada's Events (item 7), end to end on real kube-apiservers with the reconciler as a
//! process.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
use kube::{Client, ResourceExt as _};

use karmadactl::api::names::{binding_name, execution_namespace, work_name};
use karmadactl::api::{ClusterResourceBinding, ResourceBinding, Work};
use karmadactl::testbed::CONTROL_PLANE;

const T: Duration = Duration::from_secs(90);

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.io
spec:
  group: example.io
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

const TEMPLATES: &str = r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata:
  name: platform
spec:
  resourceSelectors:
    - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: "demo:reader"}
    - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, name: demo-reader}
    - {apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, name: gadgets.example.io}
    - {apiVersion: example.io/v1, kind: Gadget}
    - {apiVersion: v1, kind: PersistentVolume, name: pv-demo}
    - {apiVersion: storage.k8s.io/v1, kind: StorageClass, name: demo-sc}
    - {apiVersion: v1, kind: Namespace, name: demo-ns}
  placement:
    clusterAffinity:
      clusterNames: [member1, member2]
---
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterOverridePolicy
metadata:
  name: gold-in-member2
spec:
  resourceSelectors:
    - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: "demo:reader"}
  overrideRules:
    - targetCluster: {clusterNames: [member2]}
      overriders:
        labelsOverrider:
          - operator: add
            value: {tier: gold}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "demo:reader"
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: demo-reader
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "demo:reader"}
subjects:
  - {kind: ServiceAccount, name: default, namespace: default}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-demo
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/pv-demo}
  storageClassName: demo-sc
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: demo-sc
provisioner: kubernetes.io/no-provisioner
---
apiVersion: v1
kind: Namespace
metadata:
  name: demo-ns
  labels:
    namespace.karmada.io/skip-auto-propagation: "true"
"#;

const GADGET: &str = r#"
apiVersion: example.io/v1
kind: Gadget
metadata:
  name: g1
spec:
  size: 3
"#;

/// (apiVersion, kind, name) of every template the policy selects.
const OBJECTS: &[(&str, &str, &str)] = &[
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "demo:reader"),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "demo-reader",
    ),
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "gadgets.example.io",
    ),
    ("example.io/v1", "Gadget", "g1"),
    ("v1", "PersistentVolume", "pv-demo"),
    ("storage.k8s.io/v1", "StorageClass", "demo-sc"),
    ("v1", "Namespace", "demo-ns"),
];

/// A cluster-scoped object, if the cluster serves its kind and has it.
async fn get(client: &Client, api_version: &str, kind: &str, name: &str) -> Option<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (ar, _) =
        kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .ok()?;
    Api::<DynamicObject>::all_with(client.clone(), &ar)
        .get_opt(name)
        .await
        .ok()?
        .filter(|o| o.metadata.deletion_timestamp.is_none())
}

/// Events with `reason` about the object named `name`, found with kubectl's field selector.
async fn events(cp: &Client, reason: &str, name: &str) -> Vec<Event> {
    Api::<Event>::all(cp.clone())
        .list(&ListParams::default().fields(&format!("reason={reason},involvedObject.name={name}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_scoped_templates_propagate_with_karmadas_names_marks_and_events() {
    let fed = support::federation(&["member1", "member2"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let members = [
        ("member1", fed.bed.client("member1").await.unwrap()),
        ("member2", fed.bed.client("member2").await.unwrap()),
    ];

    // The CRD and its custom resource in one go: on the control plane the CR can only be
    // created once its CRD is served; in the members nothing orders them but retries.
    support::apply_yaml(&cp, CRD).await;
    support::apply_yaml(&cp, TEMPLATES).await;
    support::eventually("Gadget served on the control plane", T, &log, || async {
        kube::discovery::pinned_kind(&cp, &GroupVersionKind::gvk("example.io", "v1", "Gadget"))
            .await
            .ok()
    })
    .await;
    support::apply_yaml(&cp, GADGET).await;

    for (api_version, kind, name) in OBJECTS {
        for (member, client) in &members {
            support::eventually(&format!("{kind} {name} in {member}"), T, &log, || async {
                get(client, api_version, kind, name).await
            })
            .await;
        }
    }

    // A ClusterResourceBinding `<name>-<kind>` per template, scheduled to both members,
    // fully applied, with a Work per member in its execution namespace.
    let crbs: Api<ClusterResourceBinding> = Api::all(cp.clone());
    for (_, kind, name) in OBJECTS {
        let crb_name = binding_name(kind, name);
        let crb = support::eventually(&format!("{crb_name} fully applied"), T, &log, || async {
            let crb = crbs.get_opt(&crb_name).await.ok()??;
            let st = crb.status.clone()?;
            let full = st
                .conditions
                .iter()
                .any(|c| c.type_ == "FullyApplied" && c.status == "True");
            (full && st.aggregated_status.len() == 2).then_some(crb)
        })
        .await;
        assert!(
            crb.finalizers()
                .iter()
                .any(|f| f == "karmada.io/cluster-resource-binding-controller"),
            "{crb_name}: {:?}",
            crb.finalizers()
        );
        assert_eq!(crb.spec.resource.kind, *kind);
        let st = crb.status.unwrap();
        assert_eq!(
            st.aggregated_status
                .iter()
                .map(|i| (i.cluster_name.as_str(), i.applied))
                .collect::<Vec<_>>(),
            vec![("member1", true), ("member2", true)],
            "{crb_name}"
        );
        for (member, _) in &members {
            let works: Api<Work> = Api::namespaced(cp.clone(), &execution_namespace(member));
            let work = works
                .get(&work_name(kind, name, ""))
                .await
                .unwrap_or_else(|e| panic!("Work of {kind} {name} for {member}: {e}"));
            assert_eq!(
                work.annotations()
                    .get("clusterresourcebinding.karmada.io/name"),
                Some(&crb_name)
            );
            assert!(
                work.labels()
                    .contains_key("clusterresourcebinding.karmada.io/permanent-id")
            );
        }
    }
    assert_eq!(
        binding_name("ClusterRole", "demo:reader"),
        "demo.reader-clusterrole"
    );

    // `why` reads the ClusterResourceBinding of a cluster-scoped template: placement from it,
    // both members targeted and applied.
    let target = karmadactl::client::connect::Target {
        kubeconfig: Some(fed.bed.kubeconfig().to_path_buf()),
        context: Some(CONTROL_PLANE.into()),
    };
    let why = karmadactl::ops::why::why(&target, "clusterrole", "demo:reader", None)
        .await
        .unwrap();
    let placement = why.placement.expect("a placement section");
    assert_eq!(
        placement.source,
        "ClusterResourceBinding demo.reader-clusterrole"
    );
    assert!(why.notes.is_empty(), "{:?}", why.notes);
    assert!(
        placement.clusters.iter().all(|c| c.targeted),
        "{:?}",
        placement.clusters
    );
    assert_eq!(
        why.apply
            .iter()
            .map(|a| (a.cluster.as_str(), a.applied.as_deref()))
            .collect::<Vec<_>>(),
        vec![("member1", Some("True")), ("member2", Some("True"))]
    );

    // Karmada's marks on the member copy: the claim, the binding, the Work.
    let role = get(
        &members[0].1,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "demo:reader",
    )
    .await
    .unwrap();
    let crb = crbs.get("demo.reader-clusterrole").await.unwrap();
    let (labels, annotations) = (role.labels(), role.annotations());
    assert_eq!(
        labels.get("clusterresourcebinding.karmada.io/permanent-id"),
        crb.labels()
            .get("clusterresourcebinding.karmada.io/permanent-id")
    );
    for key in [
        "clusterpropagationpolicy.karmada.io/permanent-id",
        "work.karmada.io/permanent-id",
        "karmada.io/managed",
    ] {
        assert!(labels.contains_key(key), "label {key} on {labels:?}");
    }
    let expected = [
        ("clusterpropagationpolicy.karmada.io/name", "platform"),
        (
            "clusterresourcebinding.karmada.io/name",
            "demo.reader-clusterrole",
        ),
        ("work.karmada.io/conflict-resolution", "abort"),
        ("work.karmada.io/namespace", "karmada-es-member1"),
    ];
    for (k, v) in expected {
        assert_eq!(
            annotations.get(k).map(String::as_str),
            Some(v),
            "annotation {k}"
        );
    }

    // The ClusterOverridePolicy applies to member2's copy only.
    let role2 = get(
        &members[1].1,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "demo:reader",
    )
    .await
    .unwrap();
    assert_eq!(role2.labels().get("tier").map(String::as_str), Some("gold"));
    assert!(!labels.contains_key("tier"), "member1 has no override");

    // Events like Karmada's, on the template, the binding and the Work.
    for (reason, name) in [
        ("ApplyPolicySucceed", "demo:reader"),
        ("ApplyOverridePolicySucceed", "demo:reader"),
        ("ScheduleBindingSucceed", "demo.reader-clusterrole"),
        ("ScheduleBindingSucceed", "demo:reader"),
        ("SyncWorkSucceed", "demo.reader-clusterrole"),
        ("AggregateStatusSucceed", "demo.reader-clusterrole"),
        (
            "SyncSucceed",
            work_name("ClusterRole", "demo:reader", "").as_str(),
        ),
        ("CreateExecutionSpaceSucceed", "member1"),
    ] {
        support::eventually(&format!("a {reason} Event on {name}"), T, &log, || async {
            (!events(&cp, reason, name).await.is_empty()).then_some(())
        })
        .await;
    }

    // Deleting templates removes them from every member, and their bindings go.
    for (api_version, kind, name) in [
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "demo:reader"),
        ("example.io/v1", "Gadget", "g1"),
        ("storage.k8s.io/v1", "StorageClass", "demo-sc"),
    ] {
        let (group, version) = api_version.split_once('/').unwrap();
        let (ar, _) =
            kube::discovery::pinned_kind(&cp, &GroupVersionKind::gvk(group, version, kind))
                .await
                .unwrap();
        Api::<DynamicObject>::all_with(cp.clone(), &ar)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        for (member, client) in &members {
            support::eventually(
                &format!("{kind} {name} gone from {member}"),
                T,
                &log,
                || async {
                    get(client, api_version, kind, name)
                        .await
                        .is_none()
                        .then_some(())
                },
            )
            .await;
        }
        let crb_name = binding_name(kind, name);
        support::eventually(&format!("{crb_name} gone"), T, &log, || async {
            crbs.get_opt(&crb_name).await.ok()?.is_none().then_some(())
        })
        .await;
    }
    // What stays is untouched by the deletions.
    assert!(
        get(
            &members[1].1,
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "demo-reader"
        )
        .await
        .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaced_member_objects_carry_karmadas_marks_and_apply_policy_event_is_seen() {
    let fed = support::federation(&["member1"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    support::apply_yaml(
        &cp,
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, namespace: default, labels: {app: nginx}}
spec:
  replicas: 1
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: nginx-propagation, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: nginx}]
  conflictResolution: Overwrite
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#,
    )
    .await;

    // A script waiting for Karmada's ApplyPolicySucceed on the Deployment sees it quickly.
    support::eventually(
        "ApplyPolicySucceed on deployment nginx",
        Duration::from_secs(20),
        &log,
        || async {
            let found = Api::<Event>::namespaced(cp.clone(), "default")
                .list(
                    &ListParams::default()
                        .fields("reason=ApplyPolicySucceed,involvedObject.name=nginx"),
                )
                .await
                .ok()?
                .items;
            found
                .iter()
                .any(|e| {
                    e.involved_object.kind.as_deref() == Some("Deployment")
                        && e.message.as_deref()
                            == Some("Apply policy(default/nginx-propagation) succeed")
                })
                .then_some(())
        },
    )
    .await;

    let member_copy = support::eventually("nginx in member1", T, &log, || async {
        let api: Api<DynamicObject> = Api::namespaced_with(
            m1.clone(),
            "default",
            &kube::discovery::pinned_kind(&m1, &GroupVersionKind::gvk("apps", "v1", "Deployment"))
                .await
                .ok()?
                .0,
        );
        api.get_opt("nginx").await.ok()?
    })
    .await;
    let rb = Api::<ResourceBinding>::namespaced(cp.clone(), "default")
        .get("nginx-deployment")
        .await
        .unwrap();
    let (labels, annotations) = (member_copy.labels(), member_copy.annotations());
    assert_eq!(
        labels.get("resourcebinding.karmada.io/permanent-id"),
        rb.labels().get("resourcebinding.karmada.io/permanent-id"),
        "{labels:?}"
    );
    assert!(labels.contains_key("propagationpolicy.karmada.io/permanent-id"));
    assert!(labels.contains_key("work.karmada.io/permanent-id"));
    for (k, v) in [
        ("propagationpolicy.karmada.io/name", "nginx-propagation"),
        ("propagationpolicy.karmada.io/namespace", "default"),
        ("resourcebinding.karmada.io/name", "nginx-deployment"),
        ("resourcebinding.karmada.io/namespace", "default"),
        ("work.karmada.io/conflict-resolution", "overwrite"),
        ("work.karmada.io/name", "nginx-687f7fb96f"),
    ] {
        assert_eq!(
            annotations.get(k).map(String::as_str),
            Some(v),
            "annotation {k} on {annotations:?}"
        );
    }
    // Selecting member objects by Karmada's labels works.
    let selected = Api::<DynamicObject>::namespaced_with(
        m1.clone(),
        "default",
        &kube::discovery::pinned_kind(&m1, &GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .await
            .unwrap()
            .0,
    )
    .list(&ListParams::default().labels(&format!(
        "resourcebinding.karmada.io/permanent-id={}",
        rb.labels()["resourcebinding.karmada.io/permanent-id"]
    )))
    .await
    .unwrap();
    assert_eq!(selected.items.len(), 1);

    // Each reason once per transition, not per reconciliation: a settled system adds none.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = |reason: &'static str| {
        let cp = cp.clone();
        async move {
            events(&cp, reason, "nginx")
                .await
                .iter()
                .map(|e| e.count.unwrap_or(1).max(1) as usize)
                .sum::<usize>()
        }
    };
    assert_eq!(count("ApplyPolicySucceed").await, 1);
    assert_eq!(count("SyncWorkSucceed").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_resource_waits_for_its_crd_in_the_member_and_then_lands() {
    let fed = support::federation(&["member1"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    support::apply_yaml(&cp, CRD).await;
    support::eventually("Gadget served on the control plane", T, &log, || async {
        kube::discovery::pinned_kind(&cp, &GroupVersionKind::gvk("example.io", "v1", "Gadget"))
            .await
            .ok()
    })
    .await;
    // Only the custom resource is propagated at first: member1 does not serve its kind.
    support::apply_yaml(
        &cp,
        &format!(
            "{GADGET}---\n{}",
            r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata: {name: gadgets}
spec:
  resourceSelectors: [{apiVersion: example.io/v1, kind: Gadget}]
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#
        ),
    )
    .await;
    // As in Karmada, a cluster whose API enablements lack the kind is not a fit: the binding
    // says why and waits.
    let crbs: Api<ClusterResourceBinding> = Api::all(cp.clone());
    let message = support::eventually("g1-gadget not scheduled, and why", T, &log, || async {
        let crb = crbs.get_opt("g1-gadget").await.ok()??;
        crb.status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Scheduled" && c.status == "False")
            .map(|c| c.message)
    })
    .await;
    assert!(
        message.contains("does not serve example.io/v1 Gadget"),
        "{message}"
    );

    // Propagating the CRD lets the waiting custom resource land: the member's API enablements
    // now list the kind, and that Cluster change schedules the binding again.
    support::apply_yaml(
        &cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata: {name: gadget-crd}
spec:
  resourceSelectors: [{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, name: gadgets.example.io}]
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#,
    )
    .await;
    support::eventually("Gadget g1 in member1", T, &log, || async {
        get(&m1, "example.io/v1", "Gadget", "g1").await
    })
    .await;
    let works: Api<Work> = Api::namespaced(cp.clone(), "karmada-es-member1");
    let gadget_work = work_name("Gadget", "g1", "");
    support::eventually("the Gadget's Work applied", T, &log, || async {
        let w = works.get_opt(&gadget_work).await.ok()??;
        w.status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Applied" && c.status == "True")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_adopts_a_cluster_scoped_object_with_a_cluster_propagation_policy() {
    use karmadactl::client::connect::Target;
    use karmadactl::ops::promote::{PromoteOptions, promote};
    let fed = support::federation(&["member1"]).await;
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    support::apply_yaml(
        &m1,
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "legacy:viewer", labels: {team: ops}}
rules:
  - {apiGroups: [""], resources: [pods], verbs: [get]}
"#,
    )
    .await;
    let before = get(
        &m1,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "legacy:viewer",
    )
    .await
    .unwrap();
    let target = Target {
        kubeconfig: Some(fed.bed.kubeconfig().to_path_buf()),
        context: Some(CONTROL_PLANE.into()),
    };
    let opts = PromoteOptions {
        kind: "clusterrole".into(),
        name: "legacy:viewer".into(),
        cluster: "member1".into(),
        ..Default::default()
    };
    let lines = promote(&target, &opts).await.expect("promote").join("\n");
    assert!(
        lines.contains(
            "clusterpropagationpolicy.policy.karmada.io/legacy.viewer-clusterrole created"
        ) && lines.contains(
            "clusterrole.rbac.authorization.k8s.io/legacy:viewer promoted from cluster member1"
        ),
        "{lines}"
    );
    // The template is on the control plane, claimed by the ClusterPropagationPolicy, and the
    // member's object is taken over in place.
    let taken = support::eventually("member1's ClusterRole taken over", T, &log, || async {
        let r = get(
            &m1,
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "legacy:viewer",
        )
        .await?;
        (r.labels().get("karmada.io/managed").map(String::as_str) == Some("true")).then_some(r)
    })
    .await;
    assert_eq!(taken.uid(), before.uid(), "the same object, not a new one");
    assert_eq!(
        taken
            .annotations()
            .get("clusterresourcebinding.karmada.io/name")
            .map(String::as_str),
        Some("legacy.viewer-clusterrole")
    );
    let template = get(
        &cp,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "legacy:viewer",
    )
    .await
    .expect("the template on the control plane");
    assert_eq!(
        template.labels().get("team").map(String::as_str),
        Some("ops")
    );
    // Twice is refused.
    let again = promote(&target, &opts).await.unwrap_err().to_string();
    assert!(
        again.contains("already exists in the control plane"),
        "{again}"
    );
}
