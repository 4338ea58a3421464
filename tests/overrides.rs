//! Per-cluster changes and divided replicas, end to end on one federation (control plane, two
//! members, the reconciler as a process). Each scenario applies the exact YAML its docs page
//! shows, from `docs/examples/`.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde_json::json;

use karmadactl::api::{OverridePolicy, Work};
use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually};

const T: Duration = Duration::from_secs(60);

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Env {
    fed: support::Federation,
    cp: Client,
    m1: Client,
    m2: Client,
}

impl Env {
    fn log(&self) -> std::path::PathBuf {
        self.fed.bed.dir().join("reconciler.log")
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
    let fed = support::federation(&["member1", "member2"]).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    let env = Env { fed, cp, m1, m2 };
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
        .deployment_in(&env.m1, ns, "web", "web on member1 from the mirror", |d| {
            image(d) == "mirror.eu.example.com/nginx:1.25"
        })
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
        .deployment_in(&env.m2, ns, "web", "web on member2 with tag 1.27", |d| {
            image(d) == "nginx:1.27"
        })
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
        config(&env.m2).await.filter(|d| d.contains("member2"))
    })
    .await;
    let doc2: serde_json::Value = serde_yaml::from_str(&doc2).unwrap();
    assert_eq!(
        doc2,
        json!({"db": {"host": "db.member2.internal", "port": 5432}, "log": "debug"})
    );
    let doc1 = eventually("web-config on member1", T, &env.log(), || async {
        config(&env.m1).await
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
    env.deployment_in(&env.m2, ns, "web", "web on member2 with tag 1.28", |d| {
        image(d) == "nginx:1.28"
    })
    .await;
    let d1 = Api::<Deployment>::namespaced(env.m1.clone(), ns)
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
    let rbs: Api<karmadactl::api::ResourceBinding> = Api::namespaced(env.cp.clone(), ns);
    let message = eventually(
        "FullyApplied=False naming the broken override",
        T,
        &env.log(),
        || async {
            let rb = rbs.get_opt("web-config-configmap").await.ok()??;
            let c = rb
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "FullyApplied")?;
            (c.status == "False").then_some(c.message)
        },
    )
    .await;
    assert!(
        message.contains("OverridePolicy overrides-demo/web-config-member2 failed")
            && message.contains("/data/missing.yaml"),
        "{message}"
    );
    assert!(
        config(&env.m2)
            .await
            .unwrap()
            .contains("db.member2.internal")
    );

    // Deleting the policies restores the template's values everywhere.
    for name in ["web-per-cluster", "web-config-member2"] {
        ops.delete(name, &DeleteParams::default()).await.unwrap();
    }
    env.deployment_in(&env.m2, ns, "web", "web on member2 back to 1.25", |d| {
        image(d) == "nginx:1.25" && !d.labels().contains_key("canary")
    })
    .await;
    env.deployment_in(&env.m1, ns, "web", "web on member1 back to nginx", |d| {
        image(d) == "nginx:1.25"
    })
    .await;
    eventually("web-config on member2 restored", T, &env.log(), || async {
        config(&env.m2)
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
            &env.m1,
            ns,
            name,
            &format!("{name} on member1 with {want1}"),
            |d| replicas(d) == want1,
        )
        .await;
        env.deployment_in(
            &env.m2,
            ns,
            name,
            &format!("{name} on member2 with {want2}"),
            |d| replicas(d) == want2,
        )
        .await;
    }

    // Members have no kubelet: report each share ready by hand; the template sums them.
    for (m, share) in [(&env.m1, 1), (&env.m2, 1)] {
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
    env.deployment_in(&env.m1, ns, "even", "even on member1 with 2", |d| {
        replicas(d) == 2
    })
    .await;
    env.deployment_in(&env.m2, ns, "even", "even on member2 with 2", |d| {
        replicas(d) == 2
    })
    .await;
}
