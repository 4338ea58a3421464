//! Member cluster lifecycle as a user runs it: `join` refusing bad input and leaving nothing
//! behind, rolling back a failure midway and working when re-run; `unjoin` end to end (Works,
//! execution namespace, propagated objects and member credentials removed), `unjoin --force`
//! with a stopped member; `get` across clusters; cluster-name completion from the live control
//! plane. Real kube-apiservers, a real reconciler process (needs `hack/build-test-binaries.sh`).

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use karmadactl::api::{Cluster, Work};
use karmadactl::testbed::{BedSpec, CONTROL_PLANE, TestBed};
use support::Federation;

const LONG: Duration = Duration::from_secs(120);

fn karmadactl(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_karmadactl"));
    cmd.env_remove("KUBECONFIG")
        .env_remove("COMPLETE")
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--karmada-context", CONTROL_PLANE])
        .args(args);
    cmd
}

fn run(kubeconfig: &Path, args: &[&str]) -> Output {
    karmadactl(kubeconfig, args)
        .output()
        .expect("run karmadactl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Expects success; returns (stdout, stderr).
fn ok(kubeconfig: &Path, args: &[&str]) -> (String, String) {
    let out = run(kubeconfig, args);
    assert!(
        out.status.success(),
        "karmadactl {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

/// Expects failure with exactly one line on stderr containing `needle`.
fn fails(kubeconfig: &Path, args: &[&str], needle: &str) -> String {
    let out = run(kubeconfig, args);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "karmadactl {args:?} should fail; stdout: {} stderr: {err}",
        text(&out.stdout)
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "karmadactl {args:?} should print one line, got:\n{err}"
    );
    assert!(
        err.contains(needle),
        "karmadactl {args:?}: expected {needle:?} in {err}"
    );
    err.trim_end().to_string()
}

/// A bed with `members`, the CRDs and a reconciler, where only `joined` are joined (by the CLI).
async fn federation_with(members: &[&str], joined: &[&str]) -> Federation {
    let bed = TestBed::start(BedSpec {
        controller_manager: true,
        ..BedSpec::new(members)
    })
    .await
    .expect("test bed starts");
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp)
        .await
        .expect("CRDs install");
    let reconciler = support::start_reconciler(&bed);
    for m in joined {
        let (stdout, _) = ok(
            bed.kubeconfig(),
            &[
                "join",
                m,
                "--cluster-kubeconfig",
                &bed.kubeconfig().display().to_string(),
            ],
        );
        assert!(stdout.contains(&format!("cluster({m}) is joined successfully")));
    }
    Federation { bed, reconciler }
}

async fn cluster_names(cp: &Client) -> Vec<String> {
    let mut v: Vec<String> = Api::<Cluster>::all(cp.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    v.sort();
    v
}

async fn secret_names(client: &Client, ns: &str) -> Vec<String> {
    let mut v: Vec<String> = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .map(|s| s.name_any())
        .collect();
    v.sort();
    v
}

/// Join's objects in a member: labelled ClusterRoles and ServiceAccounts, and whether the
/// namespace karmada-cluster is there (and not being deleted).
async fn member_credentials(member: &Client) -> (Vec<String>, Vec<String>, bool) {
    let system = ListParams::default().labels("karmada.io/system=true");
    let roles: Vec<String> = Api::<ClusterRole>::all(member.clone())
        .list(&system)
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.name_any())
        .collect();
    let sas: Vec<String> = Api::<ServiceAccount>::namespaced(member.clone(), "karmada-cluster")
        .list(&system)
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| s.name_any())
        .collect();
    let ns = Api::<Namespace>::all(member.clone())
        .get_opt("karmada-cluster")
        .await
        .unwrap()
        .is_some_and(|n| n.metadata.deletion_timestamp.is_none());
    (roles, sas, ns)
}

/// The bed's members run no namespace controller: finish a namespace deletion like it would
/// (the namespace is empty by then).
async fn finish_namespace_deletion(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    if let Some(mut ns) = api.get_opt(name).await.unwrap()
        && ns.metadata.deletion_timestamp.is_some()
    {
        if let Some(spec) = ns.spec.as_mut() {
            spec.finalizers = Some(vec![]);
        }
        let _ = api
            .replace_subresource("finalize", name, &PostParams::default(), &ns)
            .await;
    }
}

/// Nothing of a failed join is left: the Clusters and control-plane Secrets are as before, the
/// member has no credentials.
async fn assert_nothing_left(cp: &Client, member: &Client, clusters_before: &[&str]) {
    assert_eq!(cluster_names(cp).await, clusters_before);
    let mut expected: Vec<String> = clusters_before
        .iter()
        .flat_map(|c| [c.to_string(), format!("{c}-impersonator")])
        .collect();
    expected.sort();
    assert_eq!(secret_names(cp, "karmada-cluster").await, expected);
    let (roles, sas, ns) = member_credentials(member).await;
    assert!(
        roles.is_empty(),
        "cluster roles left in the member: {roles:?}"
    );
    assert!(
        sas.is_empty(),
        "service accounts left in the member: {sas:?}"
    );
    assert!(!ns, "namespace karmada-cluster left in the member");
}

/// What bash's completion function gets for `karmadactl <words>` with the last word being
/// completed.
fn complete(words: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .env_remove("KUBECONFIG")
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .env("_CLAP_IFS", "\n")
        .args(["--", "karmadactl"])
        .args(words)
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// The value candidates (clap adds the flags when there are none).
fn candidates(out: &Output) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn join_refuses_bad_input_rolls_back_and_works_when_rerun() {
    let fed = federation_with(&["member1", "member2"], &["member1"]).await;
    let kc = fed.bed.kubeconfig();
    let kcs = kc.display().to_string();
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    fails(
        kc,
        &[
            "join",
            "member2",
            "--cluster-kubeconfig",
            "/nonexistent/member.kc",
        ],
        "/nonexistent/member.kc",
    );
    let garbage = dir.path().join("garbage.kc");
    std::fs::write(&garbage, "clusters: [this is: not a kubeconfig\n").unwrap();
    let garbage_s = garbage.display().to_string();
    fails(
        kc,
        &["join", "member2", "--cluster-kubeconfig", &garbage_s],
        &garbage_s,
    );
    fails(
        kc,
        &[
            "join",
            "member2",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "nope",
        ],
        "no context \"nope\"",
    );
    fails(
        kc,
        &["join", "Member_2", "--cluster-kubeconfig", &kcs],
        "invalid cluster name",
    );
    fails(
        kc,
        &[
            "join",
            "member1",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "member2",
        ],
        "already joined",
    );
    fails(
        kc,
        &[
            "join",
            "again",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            "member1",
        ],
        "already joined as \"member1\"",
    );
    fails(
        kc,
        &[
            "join",
            "cp",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-context",
            CONTROL_PLANE,
        ],
        "control plane itself",
    );
    // The member's own kubeconfig with its server moved to a closed port.
    let member_kc = std::fs::read_to_string(&fed.bed.cluster("member2").kubeconfig).unwrap();
    let unreachable = dir.path().join("unreachable.kc");
    std::fs::write(
        &unreachable,
        member_kc.replace(&fed.bed.cluster("member2").server, "https://127.0.0.1:1"),
    )
    .unwrap();
    fails(
        kc,
        &[
            "join",
            "member2",
            "--cluster-kubeconfig",
            &unreachable.display().to_string(),
        ],
        "cannot reach",
    );
    assert_nothing_left(&cp, &m2, &["member1"]).await;

    // A failure midway: the API server rejects the Cluster (a region that is not a label
    // value; the CLI passes it through) after join has set up the member and obtained its
    // tokens. Everything is rolled back.
    let out = run(
        kc,
        &[
            "join",
            "member2",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-region",
            "eu west!",
        ],
    );
    assert!(
        !out.status.success(),
        "join should fail: {}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr).trim_end().lines().count(),
        1,
        "one line: {}",
        text(&out.stderr)
    );
    finish_namespace_deletion(&m2, "karmada-cluster").await;
    assert_nothing_left(&cp, &m2, &["member1"]).await;

    // Ctrl-C midway: once join has created its ServiceAccounts and cluster-admin binding in the
    // member (it then waits for their tokens), SIGINT. join undoes everything and says so.
    let child = karmadactl(kc, &["join", "member2", "--cluster-kubeconfig", &kcs])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> = Api::all(m2.clone());
    let deadline = Instant::now() + LONG;
    while bindings
        .get_opt("karmada-controller-manager:karmada-member2")
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "join never got to the binding");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "join should stop: {}",
        text(&out.stdout)
    );
    finish_namespace_deletion(&m2, "karmada-cluster").await;
    assert_nothing_left(&cp, &m2, &["member1"]).await;
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );

    // Re-running with a valid region works.
    let (stdout, _) = ok(
        kc,
        &[
            "join",
            "member2",
            "--cluster-kubeconfig",
            &kcs,
            "--cluster-region",
            "eu-west",
        ],
    );
    assert!(
        stdout.contains("cluster(member2) is joined successfully"),
        "{stdout}"
    );
    assert_eq!(cluster_names(&cp).await, ["member1", "member2"]);

    // Completion offers the live clusters, for every command that takes one.
    let flags = [
        "--kubeconfig",
        kcs.as_str(),
        "--karmada-context",
        CONTROL_PLANE,
    ];
    for words in [
        vec!["unjoin", ""],
        vec!["cordon", "mem"],
        vec!["uncordon", ""],
        vec!["taint", "clusters", ""],
        vec!["describe", "cluster", "m"],
        vec!["get", "clusters", ""],
        // -C/--cluster of the commands that run in one member.
        vec!["describe", "pods", "-C", ""],
        vec!["logs", "web", "-C", ""],
        vec!["exec", "web", "--cluster", ""],
        vec!["top", "node", "-C", ""],
        vec!["delete", "cm", "x", "-C", ""],
    ] {
        let mut line: Vec<&str> = flags.to_vec();
        line.extend(words.iter().copied());
        let (out, _) = complete(&line);
        assert!(out.status.success());
        assert_eq!(candidates(&out), ["member1", "member2"], "for {words:?}");
    }
    let mut line: Vec<&str> = flags.to_vec();
    line.extend(["unjoin", "member2"]);
    assert_eq!(candidates(&complete(&line).0), ["member2"]);
    let mut line: Vec<&str> = flags.to_vec();
    line.extend(["get", "pods", ""]);
    assert!(
        candidates(&complete(&line).0).is_empty(),
        "pods are not clusters"
    );
    // $KUBECONFIG is used when the line has no --kubeconfig.
    let out = Command::new(env!("CARGO_BIN_EXE_karmadactl"))
        .env("KUBECONFIG", kc)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "4")
        .env("_CLAP_IFS", "\n")
        .args([
            "--",
            "karmadactl",
            "--karmada-context",
            CONTROL_PLANE,
            "cordon",
            "",
        ])
        .output()
        .unwrap();
    assert_eq!(candidates(&out), ["member1", "member2"]);

    // A plain unjoin (no --cluster-kubeconfig) revokes the member token with the Cluster's own
    // credentials once the Cluster is gone: a copy of the token taken before stops working.
    let cluster = Api::<Cluster>::all(cp.clone())
        .get("member2")
        .await
        .unwrap();
    let copied = karmadactl::client::member::client(&cp, &cluster, Duration::from_secs(10))
        .await
        .unwrap();
    Api::<Namespace>::all(copied.clone())
        .get("kube-system")
        .await
        .expect("the token works while joined");
    let (stdout, stderr) = ok(kc, &["unjoin", "member2", "--yes"]);
    assert!(
        stdout.contains("cluster(member2) is unjoined successfully"),
        "{stdout}"
    );
    let log = fed.bed.dir().join("reconciler.log");
    support::eventually("cluster member2 gone", LONG, &log, || async {
        (cluster_names(&cp).await == ["member1"]).then_some(())
    })
    .await;
    // kube-apiserver caches a successful token check for 10 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Api::<Namespace>::all(copied.clone())
            .get("kube-system")
            .await
        {
            Err(kube::Error::Api(s)) if s.code == 401 => break,
            other if Instant::now() > deadline => {
                panic!("member2's token still works after unjoin: {other:?}\n{stdout}{stderr}")
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    let sas = Api::<ServiceAccount>::namespaced(m2.clone(), "karmada-cluster");
    assert!(sas.get_opt("karmada-member2").await.unwrap().is_none());
    assert!(
        stdout.contains("serviceaccount/karmada-cluster/karmada-member2"),
        "{stdout}"
    );
    // What its own credentials cannot remove is named, with how to finish.
    assert!(
        stderr.contains("clusterrolebinding/karmada-controller-manager:karmada-member2")
            && stderr.contains("--cluster-kubeconfig"),
        "{stderr}"
    );
    // ... and unjoin with the admin kubeconfig removes it.
    ok(
        kc,
        &["unjoin", "member2", "--yes", "--cluster-kubeconfig", &kcs],
    );
    finish_namespace_deletion(&m2, "karmada-cluster").await;
    let (roles, sas, ns) = member_credentials(&m2).await;
    assert!(
        roles.is_empty() && sas.is_empty() && !ns,
        "{roles:?} {sas:?} {ns}"
    );
}

#[test]
fn cluster_completion_is_silent_and_fast_without_a_control_plane() {
    let dir = tempfile::tempdir().unwrap();
    // A closed port (refused at once) and a blackhole address (the timeout must cut it).
    for server in ["https://127.0.0.1:1", "https://192.0.2.1:6443"] {
        let kc = dir.path().join("kc");
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
                 contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n\
                 current-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
            ),
        )
        .unwrap();
        let kcs = kc.display().to_string();
        let (out, took) = complete(&["--kubeconfig", &kcs, "unjoin", ""]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(candidates(&out).is_empty(), "{}", text(&out.stdout));
        assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
        assert!(took < Duration::from_secs(5), "{server}: took {took:?}");
    }
    // No kubeconfig at all.
    let (out, _) = complete(&["--kubeconfig", "/nonexistent/kc", "cordon", ""]);
    assert!(out.status.success());
    assert!(candidates(&out).is_empty());
}

const WORKLOAD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  namespace: default
  labels: {app: nginx}
spec:
  replicas: 1
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
---
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata:
  name: nginx
  namespace: default
spec:
  resourceSelectors:
  - apiVersion: apps/v1
    kind: Deployment
    name: nginx
  placement:
    clusterAffinity:
      clusterNames: [member1, member2]
"#;

async fn works_in(cp: &Client, ns: &str) -> usize {
    Api::<Work>::namespaced(cp.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| l.items.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn unjoin_end_to_end_and_get_across_clusters() {
    let mut fed = support::federation(&["member1", "member2"]).await;
    let kc = fed.bed.kubeconfig().to_path_buf();
    let kcs = kc.display().to_string();
    let log = fed.bed.dir().join("reconciler.log");
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let m1 = fed.bed.client("member1").await.unwrap();
    let m2 = fed.bed.client("member2").await.unwrap();
    support::apply_yaml(&cp, WORKLOAD).await;
    for (name, m) in [("member1", &m1), ("member2", &m2)] {
        support::eventually(&format!("nginx in {name}"), LONG, &log, || async {
            support::exists(m, "apps/v1", "Deployment", "default", "nginx")
                .await
                .then_some(())
        })
        .await;
    }

    // get: the control plane by default, members and all with a CLUSTER column.
    let (stdout, _) = ok(&kc, &["get", "deployments"]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("UP-TO-DATE"),
        "{stdout}"
    );
    assert!(!lines[0].contains("CLUSTER"), "{stdout}");
    assert_eq!(lines.len(), 2, "{stdout}");
    let (stdout, _) = ok(&kc, &["get", "deploy", "-s", "all"]);
    for cluster in ["karmada", "member1", "member2"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("nginx") && l.contains(cluster)),
            "no nginx row for {cluster}:\n{stdout}"
        );
    }
    assert!(stdout.lines().next().unwrap().contains("CLUSTER"));

    // SYNCED: whether the control plane holds each member object's current status.
    let row = |stdout: &str, cluster: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with("nginx") && l.contains(cluster))
            .unwrap_or_default()
            .to_string()
    };
    let in_sync = |cluster: &'static str| {
        let kc = kc.clone();
        move || {
            let kc = kc.clone();
            async move {
                let (stdout, _) = ok(&kc, &["get", "deploy", "-s", "members"]);
                row(&stdout, cluster).contains(" yes, ").then_some(())
            }
        }
    };
    support::eventually("member1 in sync", LONG, &log, in_sync("member1")).await;
    support::eventually("member2 in sync", LONG, &log, in_sync("member2")).await;
    // With the reconciler stopped, a status change in member1 does not reach the control
    // plane, and get says so for that row only.
    fed.reconciler.kill();
    Api::<Deployment>::namespaced(m1.clone(), "default")
        .patch_status(
            "nginx",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 1, "readyReplicas": 1}})),
        )
        .await
        .unwrap();
    let (stdout, _) = ok(&kc, &["get", "deploy", "-s", "all"]);
    assert!(row(&stdout, "member1").contains(" no, "), "{stdout}");
    assert!(row(&stdout, "member2").contains(" yes, "), "{stdout}");
    assert!(
        row(&stdout, "karmada").trim_end().ends_with(" -"),
        "{stdout}"
    );
    fed.reconciler = support::start_reconciler(&fed.bed);
    support::eventually("member1 in sync again", LONG, &log, in_sync("member1")).await;
    let (stdout, _) = ok(
        &kc,
        &[
            "get",
            "deployments.apps",
            "nginx",
            "-s",
            "members",
            "-C",
            "member2",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["kind"], "Deployment");
    assert_eq!(
        v["metadata"]["annotations"]["resource.karmada.io/cached-from-cluster"],
        "member2"
    );
    let (stdout, _) = ok(&kc, &["get", "pp", "-A", "-o", "name"]);
    assert_eq!(stdout, "propagationpolicy.policy.karmada.io/nginx\n");
    let (stdout, _) = ok(&kc, &["get", "namespaces", "kube-system", "-s", "all"]);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    fails(
        &kc,
        &["get", "deploy", "nosuch", "-s", "all"],
        "\"nosuch\" not found",
    );
    fails(
        &kc,
        &["get", "foos"],
        "doesn't have a resource type \"foos\"",
    );
    fails(
        &kc,
        &["get", "deploy", "-s", "members", "-C", "member9"],
        "member9",
    );
    fails(
        &kc,
        &["get", "deploy", "-C", "member1"],
        "--operation-scope",
    );

    // unjoin --dry-run says what would go and changes nothing; refusals are one line.
    let (stdout, _) = ok(
        &kc,
        &[
            "unjoin",
            "member1",
            "--dry-run",
            "--cluster-kubeconfig",
            &kcs,
        ],
    );
    assert!(
        stdout.contains("would delete cluster member1")
            && stdout.contains("would remove from member member1: ")
            && stdout.contains("clusterrole/karmada-controller-manager:karmada-member1"),
        "{stdout}"
    );
    fails(&kc, &["unjoin", "nosuch"], "\"nosuch\" not found");
    assert_eq!(cluster_names(&cp).await, ["member1", "member2"]);

    // unjoin with the member kubeconfig: everything of member1 goes, on both sides.
    let (stdout, _) = ok(
        &kc,
        &[
            "unjoin",
            "member1",
            "--wait",
            "90s",
            "--cluster-kubeconfig",
            &kcs,
        ],
    );
    assert!(
        stdout.contains("cluster(member1) is unjoined successfully"),
        "{stdout}"
    );
    assert!(
        stdout.contains("clusterrole/karmada-controller-manager:karmada-member1"),
        "{stdout}"
    );
    assert_eq!(cluster_names(&cp).await, ["member2"]);
    assert_eq!(works_in(&cp, "karmada-es-member1").await, 0);
    assert!(
        !support::exists(&m1, "apps/v1", "Deployment", "default", "nginx").await,
        "the propagated Deployment is removed from member1"
    );
    support::eventually("execution namespace gone", LONG, &log, || async {
        Api::<Namespace>::all(cp.clone())
            .get_opt("karmada-es-member1")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    support::eventually("member1's Secrets collected", LONG, &log, || async {
        let s = secret_names(&cp, "karmada-cluster").await;
        (!s.iter().any(|n| n.starts_with("member1"))).then_some(())
    })
    .await;
    let (roles, sas, ns) = member_credentials(&m1).await;
    assert!(
        roles.is_empty() && sas.is_empty() && !ns,
        "{roles:?} {sas:?} {ns}"
    );
    assert!(support::exists(&m2, "apps/v1", "Deployment", "default", "nginx").await);

    // A stopped member: get reports it and still succeeds; unjoin --force completes.
    fed.bed.stop_cluster("member2").await.unwrap();
    let start = Instant::now();
    let out = run(
        &kc,
        &["get", "deploy", "-s", "all", "--member-timeout", "3s"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(
        text(&out.stdout).contains("karmada"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("member2: unreachable ("),
        "{}",
        text(&out.stderr)
    );
    let (stdout, stderr) = ok(&kc, &["unjoin", "member2", "--yes", "--force"]);
    assert!(
        stdout.contains("cluster(member2) is unjoined successfully"),
        "{stdout}"
    );
    assert!(
        stderr.contains("member objects left in member2: deployment/default/nginx"),
        "{stderr}"
    );
    assert!(cluster_names(&cp).await.is_empty());
    support::eventually("member2's execution namespace gone", LONG, &log, || async {
        Api::<Namespace>::all(cp.clone())
            .get_opt("karmada-es-member2")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    drop(fed);
}
