//! Pull mode end to end, as a user runs it: `token create --print-register-command` on the
//! control plane, `register` against member2 (CA pinned by hash, CSR approved by the
//! reconciler and signed by kube-controller-manager, agent installed in the member), the agent
//! (karmada-reconciler --mode=agent, run here as a local process: the bed has no kubelet)
//! creating its Pull Cluster and Lease and applying its Works beside member1 in push mode, then
//! `unregister`. Real kube-apiservers and processes (needs `hack/build-test-binaries.sh`).

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::Api;
use kube::{Client, ResourceExt as _};

use karmadactl::api::cluster::ClusterSyncMode;
use karmadactl::api::{Cluster, ResourceBinding, Work};
use karmadactl::install::agent;
use karmadactl::testbed::{CONTROL_PLANE, Reconciler};

const LONG: Duration = Duration::from_secs(120);

fn karmadactl(kubeconfig: &Path, args: &[&str]) -> Output {
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    let out = karmadactl(kubeconfig, args);
    assert!(
        out.status.success(),
        "karmadactl {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn fails(kubeconfig: &Path, args: &[&str], needle: &str) {
    let out = karmadactl(kubeconfig, args);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "karmadactl {args:?} should fail");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: { name: pull-web, namespace: default }
spec:
  replicas: 1
  selector: { matchLabels: { app: pull-web } }
  template:
    metadata: { labels: { app: pull-web } }
    spec: { containers: [ { name: web, image: nginx } ] }
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: { name: pull-web, namespace: default }
spec:
  resourceSelectors: [ { apiVersion: apps/v1, kind: Deployment, name: pull-web } ]
  placement: { clusterAffinity: { clusterNames: [ member1, member2 ] } }
"#;

/// The agent, as its Deployment would run it, against member2 (context `member2` of the bed's
/// kubeconfig stands in for the in-cluster config).
fn start_agent(bed: &karmadactl::testbed::TestBed, args: &[String]) -> Reconciler {
    Reconciler::builder(env!("CARGO_BIN_EXE_karmada-reconciler"), bed)
        .context("member2")
        .log(bed.dir().join("agent.log"))
        .args(
            args.iter()
                .filter(|a| !a.starts_with("--metrics-bind-address")),
        )
        .args([
            "--cluster-status-update-frequency=1s",
            "--cluster-success-threshold=1s",
            "--cluster-lease-duration=8s",
        ])
        .env("RUST_LOG", "info,karmadactl=debug")
        .start()
        .expect("start the agent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_a_pull_member_beside_a_push_member_propagate_then_unregister() {
    let bed = support::bed_with_crds(&["member1", "member2"]).await;
    let kc = bed.kubeconfig().to_path_buf();
    let reconciler = support::start_reconciler_with(&bed, &["--cluster-lease-grace", "6s"]);
    let log = reconciler.log().to_path_buf();
    support::join(&bed, "member1").await;
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    let member1 = bed.client("member1").await.unwrap();
    let member2 = bed.client("member2").await.unwrap();

    // token create prints the exact register line; list shows the token, never its secret.
    let line = ok(
        &kc,
        &[
            "token",
            "create",
            "--print-register-command",
            "--description",
            "e2e",
        ],
    );
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[..2], ["karmadactl", "register"], "{line}");
    let endpoint = words[2].to_string();
    let token = words[4].to_string();
    let hash = words[6].to_string();
    assert!(hash.starts_with("sha256:") && hash.len() == 71, "{line}");
    let listed = ok(&kc, &["token", "list"]);
    let id = token.split('.').next().unwrap();
    assert!(listed.contains(id) && listed.contains("e2e"), "{listed}");
    assert!(
        !listed.contains(token.split('.').nth(1).unwrap()),
        "{listed}"
    );

    // A wrong CA hash is refused before anything is sent or changed.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let register = |hash: &str, extra: &[&str]| {
        let mut args = vec![
            "register",
            &endpoint,
            "--token",
            &token,
            "--discovery-token-ca-cert-hash",
            hash,
            "--context",
            "member2",
            "--cluster-name",
            "member2",
            "--cluster-region",
            "eu-west",
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--karmada-agent-image") {
            args.extend(["--karmada-agent-image", "karmada-reconciler:e2e"]);
        }
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = register(&wrong, &[]);
    fails(
        &kc,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "hashes to",
    );
    let secrets: Api<Secret> = Api::namespaced(member2.clone(), agent::AGENT_NAMESPACE);
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );

    // A failure midway removes what the run created and keeps what was there: a binding
    // `karmada-agent` to another role cannot be changed (roleRef is immutable).
    let crbs: Api<ClusterRoleBinding> = Api::all(member2.clone());
    let foreign: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": { "name": agent::AGENT },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view" },
        "subjects": [],
    }))
    .unwrap();
    crbs.create(&Default::default(), &foreign).await.unwrap();
    let args = register(&hash, &[]);
    fails(
        &kc,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "removed again",
    );
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<ClusterRole>::all(member2.clone())
            .get_opt(agent::AGENT)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crbs.get_opt(agent::AGENT).await.unwrap().is_some(),
        "what was there stays"
    );
    crbs.delete(agent::AGENT, &Default::default())
        .await
        .unwrap();

    // The dry run validates the member objects and requests no certificate.
    let args = register(&hash, &["--dry-run"]);
    ok(&kc, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );

    let args = register(&hash, &["-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&ok(
        &kc,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
    .unwrap();
    assert_eq!(report["reusedCertificate"], false, "{report}");
    // Everything register installs was accepted by member2's apiserver.
    let deployments: Api<Deployment> = Api::namespaced(member2.clone(), agent::AGENT_NAMESPACE);
    let agent_deploy = serde_json::to_value(deployments.get(agent::AGENT).await.unwrap()).unwrap();
    let container = &agent_deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "karmada-reconciler:e2e");
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("--mode=agent")),
        "{container}"
    );
    assert!(
        Api::<ClusterRole>::all(member2.clone())
            .get_opt(agent::AGENT)
            .await
            .unwrap()
            .is_some()
    );
    // The agent's identity is granted on the control plane, scoped to member2.
    assert!(
        Api::<ClusterRole>::all(cp.clone())
            .get_opt(&agent::agent_cluster_role("member2"))
            .await
            .unwrap()
            .is_some()
    );
    // Re-running keeps the certificate (idempotent) and needs no new approval.
    let again: serde_json::Value = serde_json::from_str(&ok(
        &kc,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
    .unwrap();
    assert_eq!(again["reusedCertificate"], true, "{again}");

    // The agent's credentials reach only its own cluster's objects.
    let secret = secrets.get(agent::AGENT_SECRET).await.unwrap();
    let yaml = String::from_utf8(secret.data.unwrap()[agent::KUBECONFIG_KEY].0.clone()).unwrap();
    let agent_config = kube::Config::from_custom_kubeconfig(
        serde_yaml::from_str(&yaml).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let as_agent = Client::try_from(agent_config).unwrap();
    let denied = Api::<Work>::namespaced(as_agent.clone(), "karmada-es-member1")
        .list(&Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(denied, kube::Error::Api(ref s) if s.code == 403),
        "{denied}"
    );

    let agent_args: Vec<String> = report["agentArgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mut agent_process = start_agent(&bed, &agent_args);
    let agent_log = agent_process.log().to_path_buf();

    // The agent creates its Cluster (Pull) and keeps its Lease; the cluster turns Ready.
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let cluster = support::eventually("member2 Ready in Pull mode", LONG, &agent_log, || async {
        let c = clusters.get_opt("member2").await.ok()??;
        let ready = c
            .status
            .as_ref()?
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        ready.then_some(c)
    })
    .await;
    assert_eq!(cluster.spec.sync_mode, ClusterSyncMode::Pull);
    assert_eq!(cluster.spec.region, "eu-west");
    assert!(cluster.spec.secret_ref.is_none());
    assert!(!cluster.status.unwrap().kubernetes_version.is_empty());
    let leases: Api<Lease> = Api::namespaced(cp.clone(), agent::LEASE_NAMESPACE);
    assert!(leases.get_opt("member2").await.unwrap().is_some());
    let table = ok(&kc, &["get", "clusters"]);
    let row = table.lines().find(|l| l.starts_with("member2")).unwrap();
    assert!(row.contains("Pull") && row.contains("True"), "{table}");

    // Propagate to both: member1 through the control plane, member2 through its agent.
    support::apply_yaml(&cp, APP).await;
    let members = vec![
        ("member1".to_string(), member1.clone()),
        ("member2".to_string(), member2.clone()),
    ];
    support::placed(
        &members,
        "default",
        "pull-web",
        &["member1", "member2"],
        &agent_log,
    )
    .await;
    let works: Api<Work> = Api::namespaced(cp.clone(), "karmada-es-member2");
    support::eventually(
        "member2's Work Applied with status",
        LONG,
        &agent_log,
        || async {
            let list = works.list(&Default::default()).await.ok()?;
            let w = list
                .items
                .into_iter()
                .find(|w| w.name_any().starts_with("pull-web-"))?;
            let st = w.status?;
            let applied = st
                .conditions
                .iter()
                .any(|c| c.type_ == "Applied" && c.status == "True");
            (applied && st.manifest_statuses.first()?.status.is_some()).then_some(())
        },
    )
    .await;
    let bindings: Api<ResourceBinding> = Api::namespaced(cp.clone(), "default");
    support::eventually(
        "both clusters in the aggregated status",
        LONG,
        &log,
        || async {
            let b = bindings.get_opt("pull-web-deployment").await.ok()??;
            let items = b.status?.aggregated_status;
            let applied: Vec<&str> = items
                .iter()
                .filter(|i| i.applied)
                .map(|i| i.cluster_name.as_str())
                .collect();
            (applied.contains(&"member1") && applied.contains(&"member2")).then_some(())
        },
    )
    .await;
    // why explains the Pull cluster's Work like any other; cordon and uncordon work on it.
    let why = ok(&kc, &["why", "deploy", "pull-web", "-n", "default"]);
    assert!(
        why.lines().any(|l| l.contains("member2: Applied=True")),
        "{why}"
    );
    ok(&kc, &["cordon", "member2"]);
    let unschedulable = |c: &Cluster| {
        c.spec
            .taints
            .iter()
            .any(|t| t.key == "cluster.karmada.io/unschedulable")
    };
    assert!(unschedulable(&clusters.get("member2").await.unwrap()));
    ok(&kc, &["uncordon", "member2"]);
    assert!(!unschedulable(&clusters.get("member2").await.unwrap()));

    // member2's copy was applied by the agent, never by the control plane's reconciler.
    let applied_to_member2 = |text: String| {
        text.lines().any(|l| {
            l.contains("reconciler::execution")
                && l.contains("cluster=member2")
                && l.contains("applied")
        })
    };
    assert!(
        applied_to_member2(agent_process.log_text()),
        "{}",
        agent_process.log_tail()
    );
    assert!(!applied_to_member2(reconciler.log_text()));

    // A silent agent: its Lease expires and the control plane marks the cluster Unknown.
    agent_process.kill();
    support::eventually(
        "member2 Ready=Unknown once its lease lapses",
        LONG,
        &log,
        || async {
            let c = clusters.get_opt("member2").await.ok()??;
            c.status?
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "Unknown")
                .then_some(())
        },
    )
    .await;
    // Certificate rotation: an agent told to renew at once asks for a new certificate with its
    // own identity (the reconciler approves the renewal), stores it and goes on with it.
    let cert_of = |secret: Secret| {
        let yaml =
            String::from_utf8(secret.data.unwrap()[agent::KUBECONFIG_KEY].0.clone()).unwrap();
        let kc: kube::config::Kubeconfig = serde_yaml::from_str(&yaml).unwrap();
        kc.auth_infos[0]
            .auth_info
            .clone()
            .unwrap()
            .client_certificate_data
            .unwrap()
    };
    let first_cert = cert_of(secrets.get(agent::AGENT_SECRET).await.unwrap());
    let mut rotating_args = agent_args.clone();
    rotating_args.push("--cert-rotation-remaining-time-threshold=1".into());
    let mut rotating = start_agent(&bed, &rotating_args);
    rotating
        .wait_for_log("renewed the agent's certificate", LONG)
        .await
        .unwrap();
    let renewed = cert_of(secrets.get(agent::AGENT_SECRET).await.unwrap());
    assert_ne!(renewed, first_cert, "the Secret holds the new certificate");
    rotating
        .wait_for_log("certificate renewed; restarting on it", LONG)
        .await
        .unwrap();
    rotating.kill();

    let mut agent_process = start_agent(&bed, &agent_args);
    agent_process
        .wait_for_log("agent started", LONG)
        .await
        .unwrap();
    support::eventually("member2 Ready again", LONG, &agent_log, || async {
        let c = clusters.get_opt("member2").await.ok()??;
        c.status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
            .then_some(())
    })
    .await;

    // unregister: the agent removes what it applied, then the Cluster, its RBAC, its Lease and
    // the agent go; member1 keeps its copy.
    let kcs = kc.display().to_string();
    let out = ok(
        &kc,
        &[
            "unregister",
            "member2",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "member2",
            "--wait",
            "90s",
        ],
    );
    assert!(out.contains("cluster(member2) is unregistered"), "{out}");
    assert!(clusters.get_opt("member2").await.unwrap().is_none());
    assert!(!support::exists(&member2, "apps/v1", "Deployment", "default", "pull-web").await);
    assert!(support::exists(&member1, "apps/v1", "Deployment", "default", "pull-web").await);
    assert!(leases.get_opt("member2").await.unwrap().is_none());
    assert!(
        Api::<ClusterRole>::all(cp.clone())
            .get_opt(&agent::agent_cluster_role("member2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );
    assert!(deployments.get_opt(agent::AGENT).await.unwrap().is_none());
    agent_process.kill();

    // With the control plane gone, unregister --force still removes the agent from the member.
    let args = register(&hash, &[]);
    ok(&kc, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_some()
    );
    let mut dead: kube::config::Kubeconfig =
        serde_yaml::from_str(&std::fs::read_to_string(&kc).unwrap()).unwrap();
    for c in &mut dead.clusters {
        if c.name == CONTROL_PLANE {
            c.cluster.as_mut().unwrap().server = Some("https://127.0.0.1:1".into());
        }
    }
    let dead_path = bed.dir().join("dead-control-plane.kubeconfig");
    std::fs::write(&dead_path, serde_yaml::to_string(&dead).unwrap()).unwrap();
    let unforced = karmadactl(
        &dead_path,
        &[
            "unregister",
            "member2",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "member2",
        ],
    );
    assert!(!unforced.status.success());
    assert!(
        text(&unforced.stderr).contains("--force"),
        "{}",
        text(&unforced.stderr)
    );
    let forced = karmadactl(
        &dead_path,
        &[
            "unregister",
            "member2",
            "--force",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "member2",
        ],
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(
        text(&forced.stderr).contains("could not be reached"),
        "{}",
        text(&forced.stderr)
    );
    assert!(
        secrets
            .get_opt(agent::AGENT_SECRET)
            .await
            .unwrap()
            .is_none()
    );
    assert!(deployments.get_opt(agent::AGENT).await.unwrap().is_none());

    // token delete removes it.
    ok(&kc, &["token", "delete", id]);
    assert!(!ok(&kc, &["token", "list"]).contains(id));
    drop(reconciler);
}
