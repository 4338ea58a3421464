//! Every file under `docs/examples/` applied, end to end, exactly as its docs page shows it:
//! overrides and divided replicas on a federation of two members; spread constraints, cluster
//! affinity fallback, status aggregation of more kinds and the README's nginx on one of three
//! members (each a control plane, the members and the reconciler as a process).

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use karmadactl::api::work::ResourceHealth;
use karmadactl::api::{Cluster, OverridePolicy, ResourceBinding, Work};
use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually, example, exists};

const T: Duration = Duration::from_secs(60);

/// Every file under docs/examples is applied by some test, as `example("NAME")`.
#[test]
fn every_example_is_applied_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources: String = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root.join("docs/examples")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !sources.contains(&format!("example(\"{name}\")")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "no test applies docs/examples/{missing:?}"
    );
}

struct Env {
    fed: support::Federation,
    cp: Client,
    members: Vec<(String, Client)>,
}

impl Env {
    async fn new(members: &[&str]) -> Env {
        let fed = support::federation(members).await;
        let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
        let mut clients = Vec::new();
        for m in members {
            clients.push((m.to_string(), fed.bed.client(m).await.unwrap()));
        }
        Env {
            fed,
            cp,
            members: clients,
        }
    }

    fn log(&self) -> std::path::PathBuf {
        self.fed.bed.dir().join("reconciler.log")
    }

    fn m(&self, name: &str) -> &Client {
        &self
            .members
            .iter()
            .find(|(n, _)| n == name)
            .expect("member")
            .1
    }

    /// Waits until Deployment `ns/name` in `member` satisfies `check`, and returns it.
    async fn deployment_in(
        &self,
        member: &Client,
        ns: &str,
        name: &str,
        what: &str,
        check: impl Fn(&Deployment) -> bool,
    ) -> Deployment {
        let api: Api<Deployment> = Api::namespaced(member.clone(), ns);
        eventually(what, T, &self.log(), || async {
            let d = api.get_opt(name).await.ok()??;
            check(&d).then_some(d)
        })
        .await
    }
}

fn image(d: &Deployment) -> String {
    d.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn overrides_and_divided_replicas() {
    let started = std::time::Instant::now();
    let env = Env::new(&["member1", "member2"]).await;
    eprintln!("federation up after {:?}", started.elapsed());

    overrides(&env).await;
    eprintln!("overrides done after {:?}", started.elapsed());
    divided(&env).await;
    eprintln!("divided done after {:?}", started.elapsed());
}

async fn overrides(env: &Env) {
    let ns = "overrides-demo";
    apply_yaml(&env.cp, &example("overrides.yaml")).await;

    // member1: the mirror registry; member2: the newer tag, extra args and a label.
    let d1 = env
        .deployment_in(
            env.m("member1"),
            ns,
            "web",
            "web on member1 from the mirror",
            |d| image(d) == "mirror.eu.example.com/nginx:1.25",
        )
        .await;
    assert_eq!(
        d1.annotations()
            .get("example.com/owner")
            .map(String::as_str),
        Some("platform-team"),
        "the ClusterOverridePolicy applies too"
    );
    assert!(!d1.labels().contains_key("canary"));
    let d2 = env
        .deployment_in(
            env.m("member2"),
            ns,
            "web",
            "web on member2 with tag 1.27",
            |d| image(d) == "nginx:1.27",
        )
        .await;
    let args = d2.spec.template.spec.as_ref().unwrap().containers[0]
        .args
        .clone();
    assert_eq!(
        args,
        Some(vec![
            "-g".into(),
            "daemon off;".into(),
            "-e".into(),
            "stderr".into()
        ])
    );
    assert_eq!(d2.labels().get("canary").map(String::as_str), Some("true"));
    assert_eq!(
        d2.labels().get("karmada.io/managed").map(String::as_str),
        Some("true"),
        "bookkeeping survives overrides"
    );

    // The fieldOverrider edits the YAML document inside the ConfigMap on member2 only.
    let config = |c: &Client| {
        let api: Api<ConfigMap> = Api::namespaced(c.clone(), ns);
        async move {
            api.get_opt("web-config")
                .await
                .ok()??
                .data?
                .get("app.yaml")
                .cloned()
        }
    };
    let doc2 = eventually("web-config on member2", T, &env.log(), || async {
        config(env.m("member2"))
            .await
            .filter(|d| d.contains("member2"))
    })
    .await;
    let doc2: serde_json::Value = serde_yaml::from_str(&doc2).unwrap();
    assert_eq!(
        doc2,
        json!({"db": {"host": "db.member2.internal", "port": 5432}, "log": "debug"})
    );
    let doc1 = eventually("web-config on member1", T, &env.log(), || async {
        config(env.m("member1")).await
    })
    .await;
    assert!(doc1.contains("db.default.internal"), "{doc1}");

    // The Work records what was applied, like Karmada.
    let works: Api<Work> = Api::namespaced(env.cp.clone(), "karmada-es-member2");
    let work = works
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|w| w.name_any().starts_with("web-"))
        .expect("web's Work on member2");
    let applied = work.annotations()["policy.karmada.io/applied-overrides"].clone();
    assert!(
        applied.contains("\"policyName\":\"web-per-cluster\""),
        "{applied}"
    );
    assert!(
        work.annotations()
            .contains_key("policy.karmada.io/applied-cluster-overrides")
    );

    // Editing the policy re-renders: member2 moves to 1.28, member1 is not rewritten.
    let m1_version = d1.resource_version();
    let ops: Api<OverridePolicy> = Api::namespaced(env.cp.clone(), ns);
    let yaml = example("overrides.yaml").replace("value: \"1.27\"", "value: \"1.28\"");
    apply_yaml(&env.cp, &yaml).await;
    env.deployment_in(
        env.m("member2"),
        ns,
        "web",
        "web on member2 with tag 1.28",
        |d| image(d) == "nginx:1.28",
    )
    .await;
    let d1 = Api::<Deployment>::namespaced(env.m("member1").clone(), ns)
        .get("web")
        .await
        .unwrap();
    assert_eq!(
        d1.resource_version(),
        m1_version,
        "member1's copy did not change, so it was not written"
    );

    // A broken rule does not touch the member copy and says why on the binding.
    ops.patch(
        "web-config-member2",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"overrideRules": [{"targetCluster": {"clusterNames": ["member2"]},
            "overriders": {"fieldOverrider": [{"fieldPath": "/data/missing.yaml",
                "yaml": [{"subPath": "/a", "operator": "add", "value": 1}]}]}}]}}),
        ),
    )
    .await
    .unwrap();
    let message = support::binding_condition(
        &env.cp,
        ns,
        "web-config-configmap",
        "FullyApplied",
        &env.log(),
        |c| c.status == "False",
    )
    .await;
    assert!(
        message.contains("OverridePolicy overrides-demo/web-config-member2 failed")
            && message.contains("/data/missing.yaml"),
        "{message}"
    );
    assert!(
        config(env.m("member2"))
            .await
            .unwrap()
            .contains("db.member2.internal")
    );

    // Deleting the policies restores the template's values everywhere.
    for name in ["web-per-cluster", "web-config-member2"] {
        ops.delete(name, &DeleteParams::default()).await.unwrap();
    }
    env.deployment_in(
        env.m("member2"),
        ns,
        "web",
        "web on member2 back to 1.25",
        |d| image(d) == "nginx:1.25" && !d.labels().contains_key("canary"),
    )
    .await;
    env.deployment_in(
        env.m("member1"),
        ns,
        "web",
        "web on member1 back to nginx",
        |d| image(d) == "nginx:1.25",
    )
    .await;
    eventually("web-config on member2 restored", T, &env.log(), || async {
        config(env.m("member2"))
            .await
            .filter(|d| d.contains("db.default.internal"))
    })
    .await;
}

async fn divided(env: &Env) {
    let ns = "divided-demo";
    apply_yaml(&env.cp, &example("divided-replicas.yaml")).await;
    // 2 replicas at 1:1 → 1 and 1; 3 at 2:1 → 2 and 1.
    for (name, want1, want2) in [("even", 1, 1), ("weighted", 2, 1)] {
        env.deployment_in(
            env.m("member1"),
            ns,
            name,
            &format!("{name} on member1 with {want1}"),
            |d| replicas(d) == want1,
        )
        .await;
        env.deployment_in(
            env.m("member2"),
            ns,
            name,
            &format!("{name} on member2 with {want2}"),
            |d| replicas(d) == want2,
        )
        .await;
    }

    // Members have no kubelet: report each share ready by hand; the template sums them.
    for (m, share) in [(env.m("member1"), 1), (env.m("member2"), 1)] {
        let api: Api<Deployment> = Api::namespaced(m.clone(), ns);
        let generation = api.get("even").await.unwrap().metadata.generation.unwrap();
        api.patch_status(
            "even",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"observedGeneration": generation, "replicas": share,
                "readyReplicas": share, "availableReplicas": share, "updatedReplicas": share}}),
            ),
        )
        .await
        .unwrap();
    }
    let cp: Api<Deployment> = Api::namespaced(env.cp.clone(), ns);
    eventually(
        "even READY 2/2 on the control plane",
        T,
        &env.log(),
        || async {
            let s = cp.get("even").await.ok()?.status?;
            (s.ready_replicas == Some(2)
                && s.available_replicas == Some(2)
                && s.replicas == Some(2))
            .then_some(())
        },
    )
    .await;

    // Scaling the template re-divides: 4 at 1:1 → 2 and 2.
    cp.patch(
        "even",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 4}})),
    )
    .await
    .unwrap();
    env.deployment_in(
        env.m("member1"),
        ns,
        "even",
        "even on member1 with 2",
        |d| replicas(d) == 2,
    )
    .await;
    env.deployment_in(
        env.m("member2"),
        ns,
        "even",
        "even on member2 with 2",
        |d| replicas(d) == 2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn spread_affinities_status_and_nginx() {
    let started = std::time::Instant::now();
    let env = Env::new(&["member1", "member2", "member3"]).await;
    eprintln!("federation up after {:?}", started.elapsed());
    // What `join --cluster-region/--cluster-zones/--cluster-provider` records (see the header
    // of spread.yaml).
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    for (name, region, zone, provider) in [
        ("member1", "eu", "eu-1", "acme"),
        ("member2", "eu", "eu-2", "acme"),
        ("member3", "us", "us-1", "other"),
    ] {
        clusters
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"spec": {"region": region, "zones": [zone], "provider": provider}}),
                ),
            )
            .await
            .unwrap();
    }

    // README: nginx goes to member1 only.
    apply_yaml(&env.cp, &example("nginx.yaml")).await;
    env.placed("default", "nginx", &["member1"]).await;

    spread(&env).await;
    eprintln!("spread done after {:?}", started.elapsed());
    affinities(&env).await;
    eprintln!("affinities done after {:?}", started.elapsed());
    status_kinds(&env).await;
    eprintln!("status done after {:?}", started.elapsed());
}

impl Env {
    /// Waits until Deployment `ns/name` is in exactly the `expected` members.
    async fn placed(&self, ns: &str, name: &str, expected: &[&str]) {
        support::placed(&self.members, ns, name, expected, &self.log()).await;
    }

    /// Waits for the binding's `Scheduled` condition to have `status`; returns its message.
    async fn scheduled(&self, ns: &str, binding: &str, status: &str) -> String {
        support::binding_condition(&self.cp, ns, binding, "Scheduled", &self.log(), |c| {
            c.status == status
        })
        .await
    }

    fn karmadactl(&self, args: &[&str]) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_karmadactl"))
            .arg("--kubeconfig")
            .arg(self.fed.bed.kubeconfig())
            .args(["--karmada-context", CONTROL_PLANE])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "karmadactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn spread(env: &Env) {
    let ns = "spread-demo";
    apply_yaml(&env.cp, &example("spread.yaml")).await;
    env.placed(ns, "per-region", &["member1", "member3"]).await;
    env.placed(ns, "one-provider", &["member1", "member2"])
        .await;
    env.placed(ns, "every-zone", &["member1", "member2", "member3"])
        .await;
    // Two regions cannot satisfy minGroups 3: nothing is placed, and the binding says why.
    let why = env.scheduled(ns, "three-regions-deployment", "False").await;
    assert!(
        why.contains(
            "needs at least 3 region group(s) but the fitting clusters span 2 \
             (eu: member1,member2; us: member3)"
        ),
        "{why}"
    );
    env.placed(ns, "three-regions", &[]).await;
}

async fn affinities(env: &Env) {
    let ns = "affinities-demo";
    // member1 (the primary term) is cordoned: web starts in the backup term's clusters.
    env.karmadactl(&["cordon", "member1"]);
    apply_yaml(&env.cp, &example("cluster-affinities.yaml")).await;
    env.placed(ns, "web", &["member2", "member3"]).await;
    let observed = |term: &'static str| async move {
        let rbs: Api<ResourceBinding> = Api::namespaced(env.cp.clone(), ns);
        eventually(&format!("term {term} recorded"), T, &env.log(), || async {
            let st = rbs.get_opt("web-deployment").await.ok()??.status?;
            (st.scheduler_observed_affinity_name == term).then_some(())
        })
        .await
    };
    observed("backup").await;
    // Once member1 takes workloads again, web returns to the primary term.
    env.karmadactl(&["uncordon", "member1"]);
    env.placed(ns, "web", &["member1"]).await;
    observed("primary").await;
}

/// Patches the status of `kind` `ns/name` in `member`, as its controllers would (the test bed's
/// members run none).
async fn set_status(
    member: &Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    status: Value,
) {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let (ar, _) = kube::discovery::pinned_kind(member, &gvk).await.unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(member.clone(), ns, &ar);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap_or_else(|e| panic!("status of {kind} {name}: {e}"));
}

async fn status_kinds(env: &Env) {
    let ns = "status-demo";
    apply_yaml(&env.cp, &example("status-kinds.yaml")).await;
    let kinds = [
        ("apps/v1", "StatefulSet", "db"),
        ("apps/v1", "DaemonSet", "agent"),
        ("batch/v1", "Job", "migrate"),
        ("v1", "Service", "web"),
        ("v1", "PersistentVolumeClaim", "data"),
    ];
    for (m, c) in &env.members {
        let want = m != "member3";
        for (api_version, kind, name) in kinds {
            eventually(
                &format!("{kind} {name} in {m}: {want}"),
                T,
                &env.log(),
                || async { (exists(c, api_version, kind, ns, name).await == want).then_some(()) },
            )
            .await;
        }
    }

    let (m1, m2) = (env.m("member1"), env.m("member2"));
    let now = "2026-01-01T00:00:00Z";
    for (m, lb_ip, ready) in [(m1, "192.0.2.1", 3), (m2, "192.0.2.2", 1)] {
        set_status(
            m,
            "apps/v1",
            "StatefulSet",
            ns,
            "db",
            json!({"observedGeneration": 1,
            "replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1,
            "availableReplicas": 1}),
        )
        .await;
        // member1 runs the agent on all 3 nodes, member2 on 1 of 3.
        set_status(
            m,
            "apps/v1",
            "DaemonSet",
            ns,
            "agent",
            json!({"observedGeneration": 1,
            "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberMisscheduled": 0,
            "numberReady": ready, "updatedNumberScheduled": 3, "numberAvailable": ready,
            "numberUnavailable": 3 - ready}),
        )
        .await;
        set_status(
            m,
            "batch/v1",
            "Job",
            ns,
            "migrate",
            json!({"startTime": now,
            "completionTime": now, "succeeded": 1, "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "lastTransitionTime": now}]}),
        )
        .await;
        set_status(
            m,
            "v1",
            "Service",
            ns,
            "web",
            json!({"loadBalancer": {"ingress": [{"ip": lb_ip}]}}),
        )
        .await;
        set_status(
            m,
            "v1",
            "PersistentVolumeClaim",
            ns,
            "data",
            json!({"phase": "Bound",
            "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}),
        )
        .await;
    }

    // The templates on the control plane carry the sums.
    let template = |api_version: &'static str, kind: &'static str, name: &'static str| {
        let cp = env.cp.clone();
        async move {
            let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
            let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
            let (ar, _) = kube::discovery::pinned_kind(&cp, &gvk).await.ok()?;
            let api: Api<DynamicObject> = Api::namespaced_with(cp, ns, &ar);
            api.get(name).await.ok().map(|o| o.data["status"].clone())
        }
    };
    let check = |what: &'static str, api_version, kind, name, ok: fn(&Value) -> bool| {
        let template = &template;
        async move {
            let last = eventually(what, T, &env.log(), || async {
                let s = template(api_version, kind, name).await?;
                ok(&s).then_some(s)
            })
            .await;
            eprintln!("{kind} {name}: {last}");
        }
    };
    check("db readyReplicas 2", "apps/v1", "StatefulSet", "db", |s| {
        s["readyReplicas"] == 2 && s["replicas"] == 2 && s["availableReplicas"] == 2
    })
    .await;
    check("agent 4 of 6 ready", "apps/v1", "DaemonSet", "agent", |s| {
        s["desiredNumberScheduled"] == 6 && s["numberReady"] == 4 && s["numberUnavailable"] == 2
    })
    .await;
    check(
        "migrate Complete, succeeded 2",
        "batch/v1",
        "Job",
        "migrate",
        |s| {
            s["succeeded"] == 2
                && s["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Complete" && c["status"] == "True")
                })
        },
    )
    .await;
    check("web has both ingresses", "v1", "Service", "web", |s| {
        let ips: Vec<&Value> = s["loadBalancer"]["ingress"]
            .as_array()
            .map(|a| a.iter().map(|i| &i["ip"]).collect())
            .unwrap_or_default();
        ips == [&json!("192.0.2.1"), &json!("192.0.2.2")]
    })
    .await;
    check("data Bound", "v1", "PersistentVolumeClaim", "data", |s| {
        s["phase"] == "Bound" && s["capacity"]["storage"] == "1Gi"
    })
    .await;

    // Per-cluster health on the binding: the agent is short of ready pods in member2.
    let rbs: Api<ResourceBinding> = Api::namespaced(env.cp.clone(), ns);
    let health = eventually("agent health per cluster", T, &env.log(), || async {
        let st = rbs.get_opt("agent-daemonset").await.ok()??.status?;
        let h: Vec<(String, Option<ResourceHealth>)> = st
            .aggregated_status
            .into_iter()
            .map(|i| (i.cluster_name, i.health))
            .collect();
        (h.len() == 2 && h.iter().all(|(_, h)| h.is_some())).then_some(h)
    })
    .await;
    assert_eq!(
        health,
        vec![
            ("member1".to_string(), Some(ResourceHealth::Healthy)),
            ("member2".to_string(), Some(ResourceHealth::Unhealthy)),
        ]
    );
    // One member's PVC lost: the template says Lost.
    set_status(
        m2,
        "v1",
        "PersistentVolumeClaim",
        ns,
        "data",
        json!({"phase": "Lost"}),
    )
    .await;
    check("data Lost", "v1", "PersistentVolumeClaim", "data", |s| {
        s["phase"] == "Lost"
    })
    .await;
}
