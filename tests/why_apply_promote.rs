//! `karmadactl why`, `apply` and `promote` end to end on one federation (control plane, two
//! members, the reconciler as a process), run as a user runs them: the binary, its stdout and
//! its exit status. Scenarios run in order in the `default` namespace with distinct names.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use karmadactl::api::{Cluster, ResourceBinding};
use karmadactl::testbed::CONTROL_PLANE;
use support::{apply_yaml, eventually, exists};

const T: Duration = Duration::from_secs(60);

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

    fn run(&self, args: &[&str]) -> Output {
        run(self.fed.bed.kubeconfig(), args)
    }

    /// Runs karmadactl, asserts success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "karmadactl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn why_json(&self, kind: &str, name: &str) -> Value {
        serde_json::from_str(&self.ok(&["why", kind, name, "-n", "default", "-o", "json"]))
            .expect("why -o json prints JSON")
    }

    /// Waits until Deployment `default/name` is in exactly `expected` members.
    async fn placed(&self, name: &str, expected: &[&str]) {
        let what = format!("deployment {name} in exactly {expected:?}");
        eventually(&what, T, &self.log(), || async {
            for (m, c) in [("member1", &self.m1), ("member2", &self.m2)] {
                if exists(c, "apps/v1", "Deployment", "default", name).await
                    != expected.contains(&m)
                {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }
}

fn run(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .env_remove("KUBECONFIG")
        .env_remove("COMPLETE")
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--karmada-context", CONTROL_PLANE])
        .args(args)
        .output()
        .expect("run karmadactl")
}

fn deployment(name: &str, replicas: i32, image: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: {image}}}]
"#
    )
}

fn policy(name: &str, selector: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: {name}, namespace: default}}
spec:
  resourceSelectors: [{selector}]
{extra}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn why_apply_promote() {
    let started = std::time::Instant::now();
    let fed = support::federation(&["member1", "member2"]).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    let env = Env { fed, cp, m1, m2 };
    eprintln!("federation up after {:?}", started.elapsed());

    why_without_policy(&env).await;
    why_competing_policies(&env).await;
    why_rejected_by_taint(&env).await;
    why_divided_with_overrides(&env).await;
    why_conflict(&env).await;
    apply_to_members(&env).await;
    promote_keeps_the_member_object(&env).await;
    promote_with_dependencies_dry_run_and_flags(&env).await;
    eprintln!("done after {:?}", started.elapsed());
}

async fn why_without_policy(env: &Env) {
    apply_yaml(&env.cp, &deployment("lonely", 1, "nginx")).await;
    // A typo in the name, and a policy for another kind.
    apply_yaml(
        &env.cp,
        &policy(
            "lonely-typo",
            "{apiVersion: apps/v1, kind: Deployment, name: lonley}",
            "  placement: {clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    apply_yaml(
        &env.cp,
        &policy(
            "lonely-svc",
            "{apiVersion: v1, kind: Service, name: lonely}",
            "  placement: {clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    let text = env.ok(&["why", "deployment", "lonely", "-n", "default"]);
    assert!(text.contains("Policy:"), "{text}");
    assert!(
        text.contains("no PropagationPolicy or ClusterPropagationPolicy selects it"),
        "{text}"
    );
    assert!(text.contains("Near misses:"), "{text}");
    assert!(
        text.contains("PropagationPolicy default/lonely-typo")
            && text.contains("name mismatch: selects \"lonley\""),
        "the near miss names the selector and why: {text}"
    );
    assert!(
        text.contains("PropagationPolicy default/lonely-svc")
            && text.contains("wrong kind: selects Service"),
        "{text}"
    );
    // Kind resolution like kubectl: short name, plural, group-qualified, Kind.
    for kind in ["deploy", "deployments", "deployments.apps", "Deployment"] {
        let v = env.why_json(kind, "lonely");
        assert_eq!(v["template"]["kind"], "Deployment", "{kind}");
        assert!(v["policy"]["winner"].is_null());
        assert_eq!(
            v["policy"]["nearMisses"][0]["policy"]["name"],
            "lonely-typo"
        );
    }
    let out = env.run(&["why", "deploy", "nope", "-n", "default"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

async fn why_competing_policies(env: &Env) {
    apply_yaml(
        &env.cp,
        &policy(
            "contest-by-label",
            "{apiVersion: apps/v1, kind: Deployment, labelSelector: {matchLabels: {app: contest}}}",
            "  placement: {clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    apply_yaml(
        &env.cp,
        &policy(
            "contest-by-name",
            "{apiVersion: apps/v1, kind: Deployment, name: contest}",
            "  placement: {clusterAffinity: {clusterNames: [member2]}}",
        ),
    )
    .await;
    apply_yaml(&env.cp, &deployment("contest", 1, "nginx")).await;
    env.placed("contest", &["member2"]).await;
    let text = env.ok(&["why", "deploy", "contest", "-n", "default"]);
    assert!(
        text.contains("Claimed by PropagationPolicy default/contest-by-name"),
        "{text}"
    );
    assert!(
        text.contains("PropagationPolicy default/contest-by-label")
            && text.contains("less precise match"),
        "the loser and why: {text}"
    );
    assert!(
        text.contains("not in clusterAffinity.clusterNames"),
        "member1 is rejected by affinity: {text}"
    );
    let v = env.why_json("deploy", "contest");
    assert_eq!(v["policy"]["winner"]["name"], "contest-by-name");
    assert_eq!(v["policy"]["winner"]["matchedBy"], "name");
    assert_eq!(
        v["policy"]["beaten"][0]["policy"]["name"],
        "contest-by-label"
    );
    assert!(
        v["policy"]["beaten"][0]["why"]
            .as_str()
            .unwrap()
            .contains("less precise match")
    );
    let clusters = v["placement"]["clusters"].as_array().unwrap();
    let m1 = clusters.iter().find(|c| c["cluster"] == "member1").unwrap();
    assert_eq!(m1["fits"], false);
    assert!(
        m1["reason"]
            .as_str()
            .unwrap()
            .contains("not in clusterAffinity.clusterNames")
    );
    let m2 = clusters.iter().find(|c| c["cluster"] == "member2").unwrap();
    assert_eq!(m2["fits"], true);
    assert_eq!(m2["targeted"], true);
    // Higher priority wins over the closer match; the claim stays until released, and why
    // says so.
    apply_yaml(
        &env.cp,
        &policy(
            "contest-vip",
            "{apiVersion: apps/v1, kind: Deployment, labelSelector: {matchLabels: {app: contest}}}",
            "  priority: 10\n  placement: {clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    let v = env.why_json("deploy", "contest");
    assert_eq!(v["policy"]["winner"]["name"], "contest-by-name");
    let vip = v["policy"]["beaten"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["policy"]["name"] == "contest-vip")
        .expect("contest-vip listed as beaten")
        .clone();
    assert!(
        vip["why"]
            .as_str()
            .unwrap()
            .contains("claimed the template earlier"),
        "{vip}"
    );
    // YAML carries the same facts.
    let yaml = env.ok(&["why", "deploy", "contest", "-n", "default", "-o", "yaml"]);
    let y: Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(y["policy"]["winner"]["name"], "contest-by-name");
}

async fn why_rejected_by_taint(env: &Env) {
    let clusters: Api<Cluster> = Api::all(env.cp.clone());
    clusters
        .patch(
            "member2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})),
        )
        .await
        .unwrap();
    apply_yaml(&env.cp, &deployment("picky", 1, "nginx")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "picky",
            "{apiVersion: apps/v1, kind: Deployment, name: picky}",
            "  placement: {clusterAffinity: {clusterNames: [member1, member2]}}",
        ),
    )
    .await;
    env.placed("picky", &["member1"]).await;
    let text = env.ok(&["why", "deploy", "picky", "-n", "default"]);
    assert!(
        text.contains("taint dedicated=gpu:NoSchedule is not tolerated"),
        "{text}"
    );
    let v = env.why_json("deploy", "picky");
    let m2 = v["placement"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "member2")
        .unwrap()
        .clone();
    assert_eq!(m2["fits"], false);
    assert!(m2["reason"].as_str().unwrap().contains("dedicated=gpu"));
    clusters
        .patch(
            "member2",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taints": null}})),
        )
        .await
        .unwrap();
}

async fn why_divided_with_overrides(env: &Env) {
    apply_yaml(&env.cp, &deployment("split", 3, "nginx:1.25")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "split",
            "{apiVersion: apps/v1, kind: Deployment, name: split}",
            r#"  placement:
    clusterAffinity: {clusterNames: [member1, member2]}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - {targetCluster: {clusterNames: [member1]}, weight: 2}
          - {targetCluster: {clusterNames: [member2]}, weight: 1}"#,
        ),
    )
    .await;
    apply_yaml(
        &env.cp,
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: OverridePolicy
metadata: {name: split-tag, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: split}]
  overrideRules:
    - targetCluster: {clusterNames: [member2]}
      overriders:
        imageOverrider: [{component: Tag, operator: replace, value: "1.27"}]
"#,
    )
    .await;
    let rbs: Api<ResourceBinding> = Api::namespaced(env.cp.clone(), "default");
    eventually("split scheduled 2:1", T, &env.log(), || async {
        let rb = rbs.get_opt("split-deployment").await.ok()??;
        let t: Vec<(String, i32)> = rb
            .spec
            .clusters
            .iter()
            .map(|t| (t.name.clone(), t.replicas))
            .collect();
        (t == vec![("member1".into(), 2), ("member2".into(), 1)]).then_some(())
    })
    .await;
    let text = env.ok(&["why", "deploy", "split", "-n", "default"]);
    assert!(text.contains("Replicas (Divided (Weighted)):"), "{text}");
    assert!(
        text.contains("member1=2, member2=1") && text.contains("member1 2, member2 1"),
        "weights and result: {text}"
    );
    assert!(
        text.contains("OverridePolicy default/split-tag: imageOverrider"),
        "{text}"
    );
    assert!(
        text.contains("spec.template.spec.containers[0].image: nginx:1.25 -> nginx:1.27"),
        "{text}"
    );
    let v = env.why_json("deploy", "split");
    assert_eq!(v["replicas"]["mode"], "Divided (Weighted)");
    assert_eq!(v["replicas"]["desired"], 3);
    assert_eq!(
        v["replicas"]["weights"],
        json!({"member1": 2, "member2": 1})
    );
    assert_eq!(v["replicas"]["result"], json!({"member1": 2, "member2": 1}));
    let o: Vec<&Value> = v["overrides"].as_array().unwrap().iter().collect();
    let o1 = o.iter().find(|o| o["cluster"] == "member1").unwrap();
    assert!(o1["changes"].as_array().unwrap().is_empty());
    let o2 = o.iter().find(|o| o["cluster"] == "member2").unwrap();
    assert_eq!(
        o2["changes"][0],
        json!({"path": "spec.template.spec.containers[0].image", "before": "nginx:1.25", "after": "nginx:1.27"})
    );
}

async fn why_conflict(env: &Env) {
    // Someone already runs "taken" in member1, outside Karmada.
    apply_yaml(&env.m1, &deployment("taken", 1, "theirs:1")).await;
    apply_yaml(&env.cp, &deployment("taken", 1, "nginx")).await;
    apply_yaml(
        &env.cp,
        &policy(
            "taken",
            "{apiVersion: apps/v1, kind: Deployment, name: taken}",
            "  placement: {clusterAffinity: {clusterNames: [member1]}}",
        ),
    )
    .await;
    let v = eventually("why reports the conflict", T, &env.log(), || async {
        let v = env.why_json("deploy", "taken");
        (v["apply"][0]["conflict"] == true).then_some(v)
    })
    .await;
    assert_eq!(v["apply"][0]["cluster"], "member1");
    assert_eq!(v["apply"][0]["applied"], "False");
    assert!(
        v["apply"][0]["message"]
            .as_str()
            .unwrap()
            .contains("conflictResolution: Overwrite")
    );
    assert_eq!(v["apply"][0]["clusterReady"], "True");
    let text = env.ok(&["why", "deploy", "taken", "-n", "default"]);
    assert!(
        text.contains("member1: Applied=False (AppliedFailed) CONFLICT"),
        "{text}"
    );
    assert!(text.contains("not managed by Karmada"), "{text}");
    // A healthy one for contrast.
    let v = env.why_json("deploy", "contest");
    assert_eq!(v["apply"][0]["cluster"], "member2");
    assert_eq!(v["apply"][0]["applied"], "True");
    assert_eq!(v["apply"][0]["conflict"], false);
}

async fn apply_to_members(env: &Env) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("applied.yaml");
    std::fs::write(
        &file,
        format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: applied-settings}}\ndata: {{mode: fast}}\n",
            deployment("applied", 1, "nginx")
        ),
    )
    .unwrap();
    let f = file.display().to_string();
    let out = env.ok(&["apply", "-f", &f, "-n", "default", "-C", "member2"]);
    assert_eq!(
        out,
        "deployment.apps/applied serverside-applied\n\
         propagationpolicy.policy.karmada.io/applied-deployment created\n\
         configmap/applied-settings serverside-applied\n\
         propagationpolicy.policy.karmada.io/applied-settings-configmap created\n"
    );
    env.placed("applied", &["member2"]).await;
    eventually("configmap in member2", T, &env.log(), || async {
        exists(&env.m2, "v1", "ConfigMap", "default", "applied-settings")
            .await
            .then_some(())
    })
    .await;
    assert!(!exists(&env.m1, "v1", "ConfigMap", "default", "applied-settings").await);
    // Again: nothing changes.
    let out = env.ok(&["apply", "-f", &f, "-n", "default", "-C", "member2"]);
    assert!(
        out.contains("propagationpolicy.policy.karmada.io/applied-deployment unchanged"),
        "{out}"
    );
    // Reserved namespaces are refused before anything is written.
    let reserved = dir.path().join("reserved.yaml");
    std::fs::write(
        &reserved,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope, namespace: karmada-system}\n",
    )
    .unwrap();
    let out = env.run(&[
        "apply",
        "-f",
        &reserved.display().to_string(),
        "--all-clusters",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reserved for Karmada"), "{err}");
    // Unknown clusters are refused too.
    let out = env.run(&["apply", "-f", &f, "-C", "member9"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no member cluster \"member9\""));
}

/// Upstream's flags: --dry-run, -d/--dependencies (with propagateDeps), --policy-name,
/// --auto-create-policy=false.
async fn promote_with_dependencies_dry_run_and_flags(env: &Env) {
    apply_yaml(
        &env.m1,
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: withdeps-config, namespace: default}
data: {k: v}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: withdeps, namespace: default, labels: {app: withdeps}}
spec:
  replicas: 1
  selector: {matchLabels: {app: withdeps}}
  template:
    metadata: {labels: {app: withdeps}}
    spec:
      containers:
      - name: main
        image: nginx
        envFrom: [{configMapRef: {name: withdeps-config}}]
"#,
    )
    .await;
    let promote = [
        "promote",
        "deployment",
        "withdeps",
        "-n",
        "default",
        "-C",
        "member1",
    ];
    let out = env.ok(&[
        &promote[..],
        &["-d", "--policy-name", "adopted", "--dry-run"],
    ]
    .concat());
    assert!(
        out.contains("propagationpolicy.policy.karmada.io/adopted would be created")
            && out.contains(
                "configmap/withdeps-config would be promoted from cluster member1 (a dependency)"
            )
            && out.contains("deployment.apps/withdeps would be promoted"),
        "{out}"
    );
    assert!(!exists(&env.cp, "apps/v1", "Deployment", "default", "withdeps").await);
    assert!(!exists(&env.cp, "v1", "ConfigMap", "default", "withdeps-config").await);

    let out = env.ok(&[&promote[..], &["-d", "--policy-name", "adopted"]].concat());
    assert!(
        out.contains("propagationpolicy.policy.karmada.io/adopted created")
            && out.contains("configmap/withdeps-config promoted"),
        "{out}"
    );
    assert!(exists(&env.cp, "v1", "ConfigMap", "default", "withdeps-config").await);
    let policy: Api<karmadactl::api::PropagationPolicy> =
        Api::namespaced(env.cp.clone(), "default");
    let p = policy.get("adopted").await.unwrap();
    assert!(p.spec.propagate_deps, "-d turns on propagateDeps");
    eventually("withdeps taken over", T, &env.log(), || async {
        let v = env.why_json("deploy", "withdeps");
        (v["apply"][0]["applied"] == "True").then_some(())
    })
    .await;

    // --auto-create-policy=false: only the template.
    apply_yaml(&env.m2, &deployment("nopolicy", 1, "nginx")).await;
    let out = env.ok(&[
        "promote",
        "deployment",
        "nopolicy",
        "-n",
        "default",
        "-C",
        "member2",
        "--auto-create-policy=false",
    ]);
    assert!(out.contains("no policy was created"), "{out}");
    assert!(exists(&env.cp, "apps/v1", "Deployment", "default", "nopolicy").await);
    assert!(
        policy
            .get_opt("nopolicy-deployment")
            .await
            .unwrap()
            .is_none()
    );
}

async fn promote_keeps_the_member_object(env: &Env) {
    apply_yaml(&env.m2, &deployment("legacy", 1, "nginx")).await;
    let member: Api<Deployment> = Api::namespaced(env.m2.clone(), "default");
    let before = member.get("legacy").await.unwrap();
    let uid = before.uid().unwrap();
    let out = env.ok(&[
        "promote",
        "deployment",
        "legacy",
        "-n",
        "default",
        "-C",
        "member2",
    ]);
    assert!(
        out.contains("propagationpolicy.policy.karmada.io/legacy-deployment created")
            && out.contains("deployment.apps/legacy promoted from cluster member2"),
        "{out}"
    );
    let taken = eventually("member2's legacy is taken over", T, &env.log(), || async {
        let d = member.get("legacy").await.ok()?;
        (d.labels().get("karmada.io/managed").map(String::as_str) == Some("true")).then_some(d)
    })
    .await;
    assert_eq!(taken.uid().unwrap(), uid, "the same object, not a new one");
    assert_eq!(
        taken.spec.template, before.spec.template,
        "the pod template is unchanged, so nothing restarts"
    );
    assert!(!exists(&env.m1, "apps/v1", "Deployment", "default", "legacy").await);
    // The control plane shows it now.
    let templates: Api<Deployment> = Api::namespaced(env.cp.clone(), "default");
    let t = templates.get("legacy").await.unwrap();
    assert!(t.metadata.owner_references.is_none());
    let v = env.why_json("deploy", "legacy");
    assert_eq!(v["policy"]["winner"]["name"], "legacy-deployment");
    eventually("legacy applied", T, &env.log(), || async {
        let v = env.why_json("deploy", "legacy");
        (v["apply"][0]["applied"] == "True").then_some(())
    })
    .await;
    // Twice is refused.
    let out = env.run(&[
        "promote",
        "deployment",
        "legacy",
        "-n",
        "default",
        "-C",
        "member2",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
