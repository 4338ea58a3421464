//! The reconciler's behaviour beyond the walkthrough, end to end on one federation (a control
//! plane and three members, the reconciler as a process). Scenarios run in order, each in its
//! own namespace; the namespaces themselves reach the members through namespace sync.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde_json::json;

use karmadactl::api::{Cluster, ResourceBinding, Work};
use karmadactl::testbed::CONTROL_PLANE;
use support::{Federation, apply_yaml, eventually, exists};

const T: Duration = Duration::from_secs(60);
/// The namespace of docs/examples/failover.yaml.
const FAILOVER: &str = "failover-demo";

fn deployment(ns: &str, name: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: nginx}}]
"#
    )
}

fn policy(ns: &str, name: &str, selector: &str, placement: &str) -> String {
    format!(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec:
  resourceSelectors: [{selector}]
  placement: {placement}
"#
    )
}

struct Env {
    fed: Federation,
    cp: Client,
    members: Vec<(String, Client)>,
}

impl Env {
    fn log(&self) -> std::path::PathBuf {
        self.fed.bed.dir().join("reconciler.log")
    }

    fn member(&self, name: &str) -> &Client {
        &self
            .members
            .iter()
            .find(|(n, _)| n == name)
            .expect("member")
            .1
    }

    /// Waits until `name` (a Deployment in `ns`) is in exactly the `expected` members.
    async fn placed(&self, ns: &str, name: &str, expected: &[&str]) {
        support::placed(&self.members, ns, name, expected, &self.log()).await;
    }

    async fn namespace(&self, ns: &str) {
        apply_yaml(
            &self.cp,
            &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"),
        )
        .await;
        let what = format!("namespace {ns} in every member");
        eventually(&what, T, &self.log(), || async {
            for (_, c) in &self.members {
                Api::<Namespace>::all(c.clone()).get_opt(ns).await.ok()??;
            }
            Some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_scenarios() {
    let fed = support::federation(&["member1", "member2", "member3"]).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let mut members = Vec::new();
    for m in ["member1", "member2", "member3"] {
        members.push((m.to_string(), fed.bed.client(m).await.unwrap()));
    }
    let mut env = Env { fed, cp, members };

    // Labels and fields the affinity scenarios select on.
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    clusters
        .patch(
            "member1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"env": "prod"}}})),
        )
        .await
        .unwrap();
    clusters
        .patch(
            "member2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"region": "eu-west", "provider": "acme"}})),
        )
        .await
        .unwrap();

    namespace_sync(&env).await;
    affinity(&env).await;
    precedence(&env).await;
    custom_resource(&env).await;
    assigned_fields(&env).await;
    dependencies_follow(&env).await;
    binding_deleted_by_hand(&env).await;
    conflicts(&env).await;
    cordon(&env).await;
    suspension(&env).await;
    preserved_on_deletion(&env).await;
    capacity(&env).await;
    credentials_from_cluster_object(&env).await;
    member_outage(&mut env).await;
    cluster_removal(&env).await;
    quiescent(&env).await;
}

/// Once everything converged, the reconciler writes nothing more: no loops between controllers.
async fn quiescent(env: &Env) {
    let writes = || {
        let log = std::fs::read_to_string(env.log()).unwrap_or_default();
        log.lines()
            .filter(|l| {
                l.contains("binding updated")
                    || l.contains("template status updated")
                    || l.contains("claiming template")
            })
            .count()
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = writes();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = writes();
    assert_eq!(
        before,
        after,
        "the reconciler kept writing after convergence; see {}",
        env.log().display()
    );
}

async fn namespace_sync(env: &Env) {
    env.namespace("shop").await;
    // Skipped: kube-*, default, and namespaces that opt out.
    apply_yaml(
        &env.cp,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-extra}\n",
    )
    .await;
    apply_yaml(&env.cp, "apiVersion: v1\nkind: Namespace\nmetadata: {name: private, labels: {namespace.karmada.io/skip-auto-propagation: \"true\"}}\n").await;
    env.namespace("marker").await; // created after the skipped ones: once it is there, they would be too
    for (m, c) in &env.members {
        let ns: Api<Namespace> = Api::all(c.clone());
        assert!(
            ns.get_opt("kube-extra").await.unwrap().is_none(),
            "kube-extra must not reach {m}"
        );
        assert!(
            ns.get_opt("private").await.unwrap().is_none(),
            "an opted-out namespace must not reach {m}"
        );
    }
    // The seed's flow in a new namespace: create it, then apply the workload and its policy.
    apply_yaml(&env.cp, &deployment("shop", "cart")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "shop",
            "cart",
            "{apiVersion: apps/v1, kind: Deployment, name: cart}",
            "{clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    env.placed("shop", "cart", &["member1"]).await;

    // Deleting the namespace on the control plane removes it from the members.
    Api::<Namespace>::all(env.cp.clone())
        .delete("marker", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "namespace marker gone from members",
        T,
        &env.log(),
        || async {
            for (_, c) in &env.members {
                let ns = Api::<Namespace>::all(c.clone())
                    .get_opt("marker")
                    .await
                    .ok()?;
                if ns.is_some_and(|n| n.metadata.deletion_timestamp.is_none()) {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
}

async fn affinity(env: &Env) {
    env.namespace("aff").await;
    for name in ["by-label", "by-field", "by-exclude"] {
        apply_yaml(&env.cp, &deployment("aff", name)).await;
    }
    let sel = |n: &str| format!("{{apiVersion: apps/v1, kind: Deployment, name: {n}}}");
    apply_yaml(
        &env.cp,
        &policy(
            "aff",
            "by-label",
            &sel("by-label"),
            "{clusterAffinity: {labelSelector: {matchLabels: {env: prod}}}}",
        ),
    )
    .await;
    apply_yaml(&env.cp, &policy("aff", "by-field", &sel("by-field"),
        "{clusterAffinity: {fieldSelector: {matchExpressions: [{key: region, operator: In, values: [eu-west]}]}}}")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "aff",
            "by-exclude",
            &sel("by-exclude"),
            "{clusterAffinity: {exclude: [member1]}}",
        ),
    )
    .await;
    env.placed("aff", "by-label", &["member1"]).await;
    env.placed("aff", "by-field", &["member2"]).await;
    env.placed("aff", "by-exclude", &["member2", "member3"])
        .await;

    // No cluster fits: the binding says why, per cluster.
    apply_yaml(&env.cp, &deployment("aff", "nowhere")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "aff",
            "nowhere",
            &sel("nowhere"),
            "{clusterAffinity: {labelSelector: {matchLabels: {env: moon}}}}",
        ),
    )
    .await;
    let message = support::binding_condition(
        &env.cp,
        "aff",
        "nowhere-deployment",
        "Scheduled",
        &env.log(),
        |c| c.status == "False",
    )
    .await;
    assert!(message.contains("0/3 clusters fit"), "{message}");
    assert!(
        message.contains("member1 labels do not match clusterAffinity.labelSelector (env=moon)"),
        "{message}"
    );
}

async fn precedence(env: &Env) {
    env.namespace("prec").await;
    // Name match beats kind-only match.
    apply_yaml(
        &env.cp,
        &policy(
            "prec",
            "any-deployment",
            "{apiVersion: apps/v1, kind: Deployment}",
            "{clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    apply_yaml(
        &env.cp,
        &policy(
            "prec",
            "web-only",
            "{apiVersion: apps/v1, kind: Deployment, name: web}",
            "{clusterAffinity: {clusterNames: [member2]}}",
        ),
    )
    .await;
    // A ClusterPropagationPolicy loses to any PropagationPolicy.
    apply_yaml(
        &env.cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata: {name: prec-cluster-wide}
spec:
  priority: 100
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, namespace: prec}]
  placement: {clusterAffinity: {clusterNames: [member3]}}
"#,
    )
    .await;
    apply_yaml(&env.cp, &deployment("prec", "web")).await;
    apply_yaml(&env.cp, &deployment("prec", "api")).await;
    env.placed("prec", "web", &["member2"]).await;
    env.placed("prec", "api", &["member1"]).await;
    // Higher priority beats a closer match.
    let mut high = policy(
        "prec",
        "vip",
        "{apiVersion: apps/v1, kind: Deployment}",
        "{clusterAffinity: {clusterNames: [member3]}}",
    );
    high = high.replace("spec:\n", "spec:\n  priority: 10\n");
    apply_yaml(&env.cp, &high).await;
    apply_yaml(&env.cp, &deployment("prec", "late")).await;
    env.placed("prec", "late", &["member3"]).await;
    // ... but a claimed template keeps its policy.
    env.placed("prec", "web", &["member2"]).await;
    let d: Api<Deployment> = Api::namespaced(env.cp.clone(), "prec");
    assert_eq!(
        d.get("web")
            .await
            .unwrap()
            .annotations()
            .get("propagationpolicy.karmada.io/name")
            .map(String::as_str),
        Some("web-only")
    );
}

async fn custom_resource(env: &Env) {
    let crd = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;
    apply_yaml(&env.cp, crd).await;
    for (_, c) in &env.members {
        apply_yaml(c, crd).await;
    }
    env.namespace("crd").await;
    tokio::time::sleep(Duration::from_secs(2)).await; // let discovery see the new kind
    apply_yaml(&env.cp, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: gizmo, namespace: crd}\nspec: {size: 3}\n").await;
    apply_yaml(
        &env.cp,
        &policy(
            "crd",
            "widgets",
            "{apiVersion: example.com/v1, kind: Widget}",
            "{clusterAffinity: {clusterNames: [member3]}}",
        ),
    )
    .await;
    eventually("widget gizmo in member3", T, &env.log(), || async {
        exists(
            env.member("member3"),
            "example.com/v1",
            "Widget",
            "crd",
            "gizmo",
        )
        .await
        .then_some(())
    })
    .await;
}

/// A Service and a Job carry fields the control plane's API server assigned (cluster IP, the
/// Job's selector and labels); members assign their own, so they propagate cleanly.
async fn assigned_fields(env: &Env) {
    env.namespace("kinds").await;
    apply_yaml(
        &env.cp,
        r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: kinds}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: kinds}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox}]
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: kinds, namespace: kinds}
spec:
  resourceSelectors: [{apiVersion: v1, kind: Service}, {apiVersion: batch/v1, kind: Job}]
  placement: {clusterAffinity: {clusterNames: [member1]}}
"#,
    )
    .await;
    let m1 = env.member("member1").clone();
    eventually(
        "Service and Job applied in member1",
        T,
        &env.log(),
        || async {
            (exists(&m1, "v1", "Service", "kinds", "web").await
                && exists(&m1, "batch/v1", "Job", "kinds", "once").await)
                .then_some(())
        },
    )
    .await;
    let cp_ip = Api::<k8s_openapi::api::core::v1::Service>::namespaced(env.cp.clone(), "kinds")
        .get("web")
        .await
        .unwrap()
        .spec
        .unwrap()
        .cluster_ip;
    let m1_ip = Api::<k8s_openapi::api::core::v1::Service>::namespaced(m1.clone(), "kinds")
        .get("web")
        .await
        .unwrap()
        .spec
        .unwrap()
        .cluster_ip;
    assert!(cp_ip.is_some() && m1_ip.is_some());
}

async fn dependencies_follow(env: &Env) {
    env.namespace("deps").await;
    apply_yaml(&env.cp, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: deps}\ndata: {mode: fast}\n").await;
    let d = deployment("deps", "worker").replace(
        "containers: [{name: main, image: nginx}]",
        "containers: [{name: main, image: nginx, envFrom: [{configMapRef: {name: settings}}]}]",
    );
    apply_yaml(&env.cp, &d).await;
    let p = policy(
        "deps",
        "worker",
        "{apiVersion: apps/v1, kind: Deployment, name: worker}",
        "{clusterAffinity: {clusterNames: [member2]}}",
    )
    .replace("spec:\n", "spec:\n  propagateDeps: true\n");
    apply_yaml(&env.cp, &p).await;
    env.placed("deps", "worker", &["member2"]).await;
    eventually(
        "configmap settings follows worker to member2",
        T,
        &env.log(),
        || async {
            exists(env.member("member2"), "v1", "ConfigMap", "deps", "settings")
                .await
                .then_some(())
        },
    )
    .await;
    assert!(!exists(env.member("member1"), "v1", "ConfigMap", "deps", "settings").await);

    // An edit of the dependency alone reaches the member (nothing else about worker changes).
    apply_yaml(&env.cp, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: deps}\ndata: {mode: careful}\n").await;
    let m2_config = |name: &'static str| {
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(env.member("member2").clone(), "deps");
        async move { api.get_opt(name).await.ok()??.data?.get("mode").cloned() }
    };
    eventually("the edited settings in member2", T, &env.log(), || async {
        m2_config("settings").await.filter(|m| m == "careful")
    })
    .await;

    // A dependency created after its workload follows once it exists.
    let d = deployment("deps", "early").replace(
        "containers: [{name: main, image: nginx}]",
        "containers: [{name: main, image: nginx, envFrom: [{configMapRef: {name: later}}]}]",
    );
    apply_yaml(&env.cp, &d).await;
    let p = policy(
        "deps",
        "early",
        "{apiVersion: apps/v1, kind: Deployment, name: early}",
        "{clusterAffinity: {clusterNames: [member2]}}",
    )
    .replace("spec:\n", "spec:\n  propagateDeps: true\n");
    apply_yaml(&env.cp, &p).await;
    env.placed("deps", "early", &["member2"]).await;
    apply_yaml(&env.cp, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later, namespace: deps}\ndata: {mode: late}\n").await;
    eventually(
        "configmap later follows early to member2",
        T,
        &env.log(),
        || async { m2_config("later").await.filter(|m| m == "late") },
    )
    .await;
}

/// A binding deleted by hand is recreated from its template and policy.
async fn binding_deleted_by_hand(env: &Env) {
    apply_yaml(&env.cp, &deployment("deps", "phoenix")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "deps",
            "phoenix",
            "{apiVersion: apps/v1, kind: Deployment, name: phoenix}",
            "{clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    env.placed("deps", "phoenix", &["member1"]).await;
    let rbs: Api<ResourceBinding> = Api::namespaced(env.cp.clone(), "deps");
    let old_uid = rbs.get("phoenix-deployment").await.unwrap().uid();
    rbs.delete("phoenix-deployment", &DeleteParams::default())
        .await
        .unwrap();
    eventually("phoenix's binding recreated", T, &env.log(), || async {
        let b = rbs.get_opt("phoenix-deployment").await.ok()??;
        (b.uid() != old_uid && b.metadata.deletion_timestamp.is_none()).then_some(())
    })
    .await;
    env.placed("deps", "phoenix", &["member1"]).await;
}

async fn conflicts(env: &Env) {
    env.namespace("clash").await;
    // Someone already runs "taken" in member1, outside Karmada.
    let theirs = deployment("clash", "taken").replace("image: nginx", "image: theirs:1");
    apply_yaml(env.member("member1"), &theirs).await;
    apply_yaml(&env.cp, &deployment("clash", "taken")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "clash",
            "taken",
            "{apiVersion: apps/v1, kind: Deployment, name: taken}",
            "{clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    let message = support::binding_condition(
        &env.cp,
        "clash",
        "taken-deployment",
        "FullyApplied",
        &env.log(),
        |c| c.status == "False" && c.message.contains("not managed"),
    )
    .await;
    assert!(
        message.contains("conflictResolution: Overwrite"),
        "the message names the fix: {message}"
    );
    let member: Api<Deployment> = Api::namespaced(env.member("member1").clone(), "clash");
    let live = member.get("taken").await.unwrap();
    assert!(
        !live.labels().contains_key("karmada.io/managed"),
        "Abort leaves their object alone"
    );
    assert_eq!(
        live.spec.template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("theirs:1")
    );

    // With Overwrite it is taken over.
    let overwrite = policy(
        "clash",
        "taken",
        "{apiVersion: apps/v1, kind: Deployment, name: taken}",
        "{clusterAffinity: {clusterNames: [member1]}}",
    )
    .replace("spec:\n", "spec:\n  conflictResolution: Overwrite\n");
    apply_yaml(&env.cp, &overwrite).await;
    eventually("member1 copy taken over", T, &env.log(), || async {
        let d = member.get("taken").await.ok()?;
        let ours = d.labels().get("karmada.io/managed").map(String::as_str) == Some("true");
        let image = d.spec.template.spec?.containers.first()?.image.clone()?;
        (ours && image == "nginx").then_some(())
    })
    .await;
}

async fn cordon(env: &Env) {
    env.namespace("cordon").await;
    let sel = |n: &str| format!("{{apiVersion: apps/v1, kind: Deployment, name: {n}}}");
    apply_yaml(&env.cp, &deployment("cordon", "before")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "cordon",
            "before",
            &sel("before"),
            "{clusterAffinity: {clusterNames: [member1, member3]}}",
        ),
    )
    .await;
    env.placed("cordon", "before", &["member1", "member3"])
        .await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .args([
            "--kubeconfig",
            &env.fed.bed.kubeconfig().display().to_string(),
            "--karmada-context",
            CONTROL_PLANE,
            "cordon",
            "member3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    apply_yaml(&env.cp, &deployment("cordon", "after")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "cordon",
            "after",
            &sel("after"),
            "{clusterAffinity: {clusterNames: [member1, member3]}}",
        ),
    )
    .await;
    env.placed("cordon", "after", &["member1"]).await;
    // Existing placements stay on the cordoned cluster.
    env.placed("cordon", "before", &["member1", "member3"])
        .await;
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    clusters
        .patch(
            "member3",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": null}})),
        )
        .await
        .unwrap();
}

/// `suspension.dispatching` pauses applying without losing the binding or the Work.
/// docs/examples/suspension.yaml: dispatching held back, then resumed.
async fn suspension(env: &Env) {
    let ns = "suspension-demo";
    let suspended = support::example("suspension.yaml");
    apply_yaml(&env.cp, &suspended).await;
    let works: Api<Work> = Api::namespaced(env.cp.clone(), "karmada-es-member1");
    let work_name = karmadactl::api::names::work_name("Deployment", "held", ns);
    eventually(
        "a suspended Work, not dispatched",
        T,
        &env.log(),
        || async {
            let w = works.get_opt(&work_name).await.ok()??;
            let dispatching = w
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Dispatching")?;
            (w.spec.suspend_dispatching == Some(true) && dispatching.status == "False")
                .then_some(())
        },
    )
    .await;
    assert!(
        !exists(env.member("member1"), "apps/v1", "Deployment", ns, "held").await,
        "a suspended Work must not be applied"
    );
    let resumed = suspended.replace("dispatching: true", "dispatching: false");
    assert_ne!(resumed, suspended);
    apply_yaml(&env.cp, &resumed).await;
    env.placed(ns, "held", &["member1"]).await;
}

/// Divided by free capacity: members report node allocatable (fake Nodes here, no kubelet) in
/// their resourceSummary; dynamic weights divide by it, Aggregated packs the roomiest first.
async fn capacity(env: &Env) {
    use k8s_openapi::api::core::v1::Node;
    for (member, cpu) in [("member1", "4"), ("member2", "2")] {
        let nodes: Api<Node> = Api::all(env.member(member).clone());
        let node = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("{member}-node")}})).unwrap();
        nodes.create(&Default::default(), &node).await.unwrap();
        let status = json!({"status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}, "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}});
        nodes
            .patch_status(
                &format!("{member}-node"),
                &PatchParams::default(),
                &Patch::Merge(status),
            )
            .await
            .unwrap();
    }
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    eventually(
        "members report their allocatable cpu",
        T,
        &env.log(),
        || async {
            let cpu = |c: Cluster| {
                c.status?
                    .resource_summary?
                    .allocatable
                    .get("cpu")
                    .map(|q| q.0.clone())
            };
            let (a, b) = (
                cpu(clusters.get("member1").await.ok()?)?,
                cpu(clusters.get("member2").await.ok()?)?,
            );
            (a == "4" && b == "2").then_some(())
        },
    )
    .await;

    env.namespace("sized").await;
    let d = deployment("sized", "web")
        .replace("replicas: 2", "replicas: 3")
        .replace(
            "image: nginx}",
            "image: nginx, resources: {requests: {cpu: \"1\"}}}",
        );
    apply_yaml(&env.cp, &d).await;
    let dynamic = "{clusterAffinity: {clusterNames: [member1, member2]}, replicaScheduling: {replicaSchedulingType: Divided, \
        replicaDivisionPreference: Weighted, weightPreference: {dynamicWeight: AvailableReplicas}}}";
    apply_yaml(
        &env.cp,
        &policy(
            "sized",
            "web",
            "{apiVersion: apps/v1, kind: Deployment, name: web}",
            dynamic,
        ),
    )
    .await;
    let replicas = |member: &str| {
        let api: Api<Deployment> = Api::namespaced(env.member(member).clone(), "sized");
        async move {
            api.get_opt("web")
                .await
                .ok()
                .flatten()
                .and_then(|d| d.spec.replicas)
        }
    };
    eventually(
        "3 replicas divided 2:1 by free cpu (4:2)",
        T,
        &env.log(),
        || async {
            (replicas("member1").await == Some(2) && replicas("member2").await == Some(1))
                .then_some(())
        },
    )
    .await;
    let aggregated = "{clusterAffinity: {clusterNames: [member1, member2]}, replicaScheduling: {replicaSchedulingType: Divided, \
        replicaDivisionPreference: Aggregated}}";
    apply_yaml(
        &env.cp,
        &policy(
            "sized",
            "web",
            "{apiVersion: apps/v1, kind: Deployment, name: web}",
            aggregated,
        ),
    )
    .await;
    // Like Karmada, a policy change keeps the current split while the replica count stays;
    // rescheduleTriggeredAt (what a WorkloadRebalancer sets) asks for a fresh division.
    let rbs = Api::<ResourceBinding>::namespaced(env.cp.clone(), "sized");
    eventually(
        "the binding has the Aggregated placement",
        T,
        &env.log(),
        || async {
            let b = rbs.get_opt("web-deployment").await.ok()??;
            let pref = b
                .spec
                .placement?
                .replica_scheduling?
                .replica_division_preference;
            (pref == Some(karmadactl::api::policy::ReplicaDivisionPreference::Aggregated))
                .then_some(())
        },
    )
    .await;
    rbs.patch(
            "web-deployment",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"rescheduleTriggeredAt": k8s_openapi::jiff::Timestamp::now().to_string()}})),
        )
        .await
        .unwrap();
    eventually(
        "Aggregated packs all 3 onto member1, which has room",
        T,
        &env.log(),
        || async {
            (replicas("member1").await == Some(3) && replicas("member2").await.is_none())
                .then_some(())
        },
    )
    .await;
}

/// `preserveResourcesOnDeletion: true`: deleting the template leaves the member copies.
async fn preserved_on_deletion(env: &Env) {
    env.namespace("keep").await;
    apply_yaml(&env.cp, &deployment("keep", "stays")).await;
    let p = policy(
        "keep",
        "stays",
        "{apiVersion: apps/v1, kind: Deployment, name: stays}",
        "{clusterAffinity: {clusterNames: [member1]}}",
    )
    .replace("spec:\n", "spec:\n  preserveResourcesOnDeletion: true\n");
    apply_yaml(&env.cp, &p).await;
    env.placed("keep", "stays", &["member1"]).await;
    Api::<Deployment>::namespaced(env.cp.clone(), "keep")
        .delete("stays", &DeleteParams::default())
        .await
        .unwrap();
    let works: Api<Work> = Api::namespaced(env.cp.clone(), "karmada-es-member1");
    let work_name = karmadactl::api::names::work_name("Deployment", "stays", "keep");
    eventually(
        "the Work is gone with its template",
        T,
        &env.log(),
        || async {
            works
                .get_opt(&work_name)
                .await
                .ok()?
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(
        exists(
            env.member("member1"),
            "apps/v1",
            "Deployment",
            "keep",
            "stays"
        )
        .await,
        "the member copy is preserved"
    );
}

async fn credentials_from_cluster_object(env: &Env) {
    // What a tool that only knows Karmada's conventions does: Cluster → secretRef → token + caBundle.
    let cluster = Api::<Cluster>::all(env.cp.clone())
        .get("member2")
        .await
        .unwrap();
    let secret_ref = cluster.spec.secret_ref.clone().unwrap();
    assert_eq!(
        (secret_ref.namespace.as_str(), secret_ref.name.as_str()),
        ("karmada-cluster", "member2")
    );
    let secret =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.cp.clone(), "karmada-cluster")
            .get("member2")
            .await
            .unwrap();
    let data = secret.data.unwrap();
    let token = String::from_utf8(data["token"].0.clone()).unwrap();
    let ca = data["caBundle"].0.clone();
    assert!(
        secret
            .metadata
            .owner_references
            .unwrap()
            .iter()
            .any(|o| o.kind == "Cluster" && o.name == "member2")
    );
    let mut config = kube::Config::new(cluster.spec.api_endpoint.parse().unwrap());
    let certs = rustls_pem_certs(&ca);
    config.root_cert = Some(certs);
    config.auth_info.token = Some(token.into());
    let member = Client::try_from(config).unwrap();
    let ns = Api::<Namespace>::all(member)
        .get("kube-system")
        .await
        .expect("member reachable with the Cluster's credentials");
    assert_eq!(
        ns.uid().unwrap(),
        cluster.spec.id,
        "cluster id is the member's kube-system UID"
    );
}

fn rustls_pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    for block in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body: String = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        use base64::Engine as _;
        out.push(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        );
    }
    out
}

async fn member_outage(env: &mut Env) {
    env.namespace("outage").await;
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    // docs/examples/failover.yaml: "mover" runs on one of member2/member3; member2 is cordoned
    // while it is placed, so it lands on member3, and stays there once member2 is uncordoned.
    // "pinned" (member3 only) tolerates the not-ready NoExecute taint its ClusterTaintPolicy adds.
    let cordon = json!({"spec": {"taints": [{"key": "cluster.karmada.io/unschedulable", "effect": "NoSchedule"}]}});
    clusters
        .patch("member2", &PatchParams::default(), &Patch::Merge(cordon))
        .await
        .unwrap();
    apply_yaml(&env.cp, &support::example("failover.yaml")).await;
    env.placed(FAILOVER, "mover", &["member3"]).await;
    env.placed(FAILOVER, "pinned", &["member3"]).await;
    clusters
        .patch(
            "member2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": null}})),
        )
        .await
        .unwrap();

    env.fed.bed.stop_cluster("member3").await.unwrap();
    let log = env.log();
    // Once the process is gone the probe cannot connect: Ready=False, ClusterNotReachable, and
    // the not-ready taint (while it shuts down, /readyz may briefly answer ClusterNotReady).
    eventually(
        "member3 Ready=False (ClusterNotReachable) with the not-ready taint",
        T,
        &log,
        || async {
            let c = clusters.get("member3").await.ok()?;
            let ready = c
                .status
                .as_ref()?
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")?
                .clone();
            let tainted = c
                .spec
                .taints
                .iter()
                .any(|t| t.key == "cluster.karmada.io/not-ready" && t.effect == "NoSchedule");
            (ready.status == "False" && ready.reason == "ClusterNotReachable" && tainted)
                .then_some(())
        },
    )
    .await;

    // Others keep converging meanwhile.
    apply_yaml(&env.cp, &deployment("outage", "steady")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "outage",
            "steady",
            "{apiVersion: apps/v1, kind: Deployment, name: steady}",
            "{clusterAffinity: {clusterNames: [member1, member2]}}",
        ),
    )
    .await;
    let m1 = env.member("member1").clone();
    let m2 = env.member("member2").clone();
    eventually(
        "steady on member1 and member2 while member3 is down",
        T,
        &log,
        || async {
            (exists(&m1, "apps/v1", "Deployment", "outage", "steady").await
                && exists(&m2, "apps/v1", "Deployment", "outage", "steady").await)
                .then_some(())
        },
    )
    .await;

    // Failover: the example's ClusterTaintPolicy taints member3 NoExecute (the controller's own
    // health taint is NoSchedule only, as in Karmada) and mover moves to member2.
    eventually("member3 tainted not-ready:NoExecute", T, &log, || async {
        let c = clusters.get("member3").await.ok()?;
        c.spec
            .taints
            .iter()
            .any(|t| t.key == "cluster.karmada.io/not-ready" && t.effect == "NoExecute")
            .then_some(())
    })
    .await;
    eventually("mover fails over to member2", T, &log, || async {
        exists(&m2, "apps/v1", "Deployment", FAILOVER, "mover")
            .await
            .then_some(())
    })
    .await;
    let pinned: Vec<String> = Api::<ResourceBinding>::namespaced(env.cp.clone(), FAILOVER)
        .get("pinned-deployment")
        .await
        .unwrap()
        .spec
        .clusters
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        pinned,
        ["member3"],
        "a tolerated NoExecute taint does not evict"
    );
    // mover left member3 through a graceful eviction task, which keeps its Work there until
    // the new copy is healthy: member2's controllers would report that; here a status patch does.
    let mover = Api::<ResourceBinding>::namespaced(env.cp.clone(), FAILOVER)
        .get("mover-deployment")
        .await
        .unwrap();
    assert!(
        mover
            .spec
            .graceful_eviction_tasks
            .iter()
            .any(|t| t.from_cluster == "member3" && t.reason == "TaintUntolerated"),
        "{:?}",
        mover.spec.graceful_eviction_tasks
    );
    let deploys: Api<Deployment> = Api::namespaced(m2.clone(), FAILOVER);
    let generation = deploys.get("mover").await.unwrap().metadata.generation;
    deploys
        .patch_status(
            "mover",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"observedGeneration": generation, "replicas": 1,
                "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}),
            ),
        )
        .await
        .unwrap();
    eventually("mover's eviction task ends", T, &log, || async {
        Api::<ResourceBinding>::namespaced(env.cp.clone(), FAILOVER)
            .get("mover-deployment")
            .await
            .ok()?
            .spec
            .graceful_eviction_tasks
            .is_empty()
            .then_some(())
    })
    .await;

    env.fed.bed.start_cluster("member3").await.unwrap();
    eventually(
        "member3 Ready again without the not-ready taint",
        T,
        &log,
        || async {
            let c = clusters.get("member3").await.ok()?;
            let ready = c
                .status
                .as_ref()?
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let untainted = !c
                .spec
                .taints
                .iter()
                .any(|t| t.key == "cluster.karmada.io/not-ready");
            (ready && untainted).then_some(())
        },
    )
    .await;
    // It converges: the namespace created while it was down arrives.
    let m3 = env.member("member3").clone();
    eventually(
        "namespace outage reaches member3 after restart",
        T,
        &log,
        || async {
            Api::<Namespace>::all(m3.clone())
                .get_opt("outage")
                .await
                .ok()?
                .map(|_| ())
        },
    )
    .await;
    // Back to health: the NoExecute taint goes and the evicted copy is removed from member3.
    eventually(
        "mover removed from member3 after it recovered",
        T,
        &log,
        || async {
            let c = clusters.get("member3").await.ok()?;
            let untainted = !c.spec.taints.iter().any(|t| t.effect == "NoExecute");
            (untainted && !exists(&m3, "apps/v1", "Deployment", FAILOVER, "mover").await)
                .then_some(())
        },
    )
    .await;
    assert!(exists(&m3, "apps/v1", "Deployment", FAILOVER, "pinned").await);
}

async fn cluster_removal(env: &Env) {
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    clusters
        .delete("member3", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "Cluster member3 gone with its Works and execution namespace",
        T,
        &env.log(),
        || async {
            let gone = clusters.get_opt("member3").await.ok()?.is_none();
            let ns = Api::<Namespace>::all(env.cp.clone())
                .get_opt("karmada-es-member3")
                .await
                .ok()?;
            let works = Api::<Work>::namespaced(env.cp.clone(), "karmada-es-member3")
                .list(&ListParams::default())
                .await
                .map(|l| l.items.len())
                .unwrap_or(0);
            (gone && works == 0 && ns.is_none_or(|n| n.metadata.deletion_timestamp.is_some()))
                .then_some(())
        },
    )
    .await;
}
