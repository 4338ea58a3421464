//! `karmadactl cordon`, `uncordon`, `taint`, `get clusters` and `describe cluster` as a user runs
//! them, against real kube-apiservers (needs `hack/build-test-binaries.sh`).
//!
//! Cluster objects are applied directly (Push mode, apiEndpoint = a member's server); status is
//! patched where a test needs Ready and friends. No reconciler runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, ObjectReference, Taint};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, CustomResourceExt};
use serde_json::{Value, json};

use karmadactl::api::{Cluster, ClusterSpec, TAINT_CLUSTER_UNSCHEDULABLE};
use karmadactl::testbed::{self, BedSpec, CONTROL_PLANE, TestBed};

fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `karmadactl --kubeconfig <kc> --karmada-context karmada-apiserver <args>`.
fn command(kubeconfig: &Path, args: &[&str]) -> Command {
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
    command(kubeconfig, args).output().expect("run karmadactl")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and expects success; returns stdout.
fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    let out = run(kubeconfig, args);
    assert!(
        out.status.success(),
        "karmadactl {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs and expects failure with exactly one line on stderr; returns that line.
fn fails(kubeconfig: &Path, args: &[&str]) -> String {
    let out = run(kubeconfig, args);
    assert!(
        !out.status.success(),
        "karmadactl {args:?} should fail; stdout: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "karmadactl {args:?} should print one line, got:\n{err}"
    );
    err.trim_end().to_string()
}

async fn install_cluster_crd(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        Cluster::crd_name(),
        &PatchParams::apply("cluster-commands-test").force(),
        &Patch::Apply(Cluster::crd()),
    )
    .await
    .expect("apply the Cluster CRD");
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(api, Cluster::crd_name(), conditions::is_crd_established()),
    )
    .await
    .expect("Cluster CRD established in time")
    .expect("watch the Cluster CRD");
}

/// The shared bed with the Cluster CRD installed, and a control-plane client.
async fn shared() -> (&'static TestBed, Client) {
    let bed = testbed::shared();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    install_cluster_crd(&cp).await;
    (bed, cp)
}

async fn create_cluster(
    cp: &Client,
    name: &str,
    endpoint: &str,
    labels: &[(&str, &str)],
    taints: Vec<Taint>,
) -> Cluster {
    let mut cluster = Cluster::new(
        name,
        ClusterSpec {
            api_endpoint: endpoint.to_string(),
            taints,
            region: "eu-west".into(),
            provider: "onprem".into(),
            zones: vec!["z1".into(), "z2".into()],
            ..Default::default()
        },
    );
    cluster.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    );
    Api::<Cluster>::all(cp.clone())
        .create(&PostParams::default(), &cluster)
        .await
        .expect("create Cluster")
}

/// Marks the cluster Ready with a version and node summary, as the status controller would.
async fn set_ready(cp: &Client, name: &str) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = json!({"status": {
        "kubernetesVersion": "v1.37.2",
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "ClusterReady",
            "message": "cluster is healthy and ready to accept workloads",
            "lastTransitionTime": now,
        }, {
            "type": "CompleteAPIEnablements", "status": "True", "reason": "Complete",
            "message": "cluster has collected all API resources",
            "lastTransitionTime": now,
        }],
        "apiEnablements": [
            {"groupVersion": "v1", "resources": [
                {"name": "pods", "kind": "Pod"}, {"name": "services", "kind": "Service"}]},
            {"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]},
        ],
        "nodeSummary": {"totalNum": 3, "readyNum": 2},
        "resourceSummary": {"allocatable": {"cpu": "12", "memory": "48Gi"},
                            "allocated": {"cpu": "3"}},
    }});
    Api::<Cluster>::all(cp.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch Cluster status");
}

async fn taints_of(cp: &Client, name: &str) -> Vec<Taint> {
    Api::<Cluster>::all(cp.clone())
        .get(name)
        .await
        .unwrap()
        .spec
        .taints
}

fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: value.map(String::from),
        effect: effect.into(),
        time_added: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cordon_and_uncordon_are_idempotent_and_keep_other_taints() {
    let (bed, cp) = shared().await;
    let kc = bed.kubeconfig();
    let name = unique("cordon");
    let other = taint("dedicated", Some("gpu"), "NoExecute");
    let server = &bed.cluster("member1").server;
    create_cluster(&cp, &name, server, &[], vec![other.clone()]).await;

    // --dry-run: the server validates the change and keeps nothing.
    assert_eq!(
        ok(kc, &["cordon", &name, "--dry-run"]),
        format!("cluster/{name} cordoned (dry run)\n")
    );
    assert_eq!(
        ok(
            kc,
            &["taint", "clusters", &name, "a=b:NoSchedule", "--dry-run"]
        ),
        format!("cluster/{name} tainted (dry run)\n")
    );
    assert_eq!(taints_of(&cp, &name).await, vec![other.clone()]);

    assert_eq!(
        ok(kc, &["cordon", &name]),
        format!("cluster/{name} cordoned\n")
    );
    assert_eq!(
        ok(kc, &["cordon", &name]),
        format!("cluster/{name} already cordoned\n")
    );
    let taints = taints_of(&cp, &name).await;
    let cordons = taints
        .iter()
        .filter(|t| t.key == TAINT_CLUSTER_UNSCHEDULABLE && t.effect == "NoSchedule")
        .count();
    assert_eq!(cordons, 1, "exactly one cordon taint: {taints:?}");
    assert!(taints.contains(&other), "other taints are kept: {taints:?}");

    assert_eq!(
        ok(kc, &["uncordon", &name, "--dry-run"]),
        format!("cluster/{name} uncordoned (dry run)\n")
    );
    assert_eq!(
        ok(kc, &["uncordon", &name]),
        format!("cluster/{name} uncordoned\n")
    );
    assert_eq!(
        ok(kc, &["uncordon", &name]),
        format!("cluster/{name} already uncordoned\n")
    );
    assert_eq!(taints_of(&cp, &name).await, vec![other]);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_taint_edits_are_not_lost() {
    let (bed, cp) = shared().await;
    let kc = bed.kubeconfig();
    let name = unique("concurrent");
    create_cluster(&cp, &name, &bed.cluster("member2").server, &[], vec![]).await;
    let keys: Vec<String> = (0..4).map(|i| format!("team{i}")).collect();
    let mut children = vec![command(kc, &["cordon", &name]).output_spawned()];
    for key in &keys {
        children.push(
            command(
                kc,
                &["taint", "clusters", &name, &format!("{key}=x:NoSchedule")],
            )
            .output_spawned(),
        );
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let taints = taints_of(&cp, &name).await;
    assert_eq!(taints.len(), 5, "every concurrent edit landed: {taints:?}");
    assert!(taints.iter().any(|t| t.key == TAINT_CLUSTER_UNSCHEDULABLE));
    for key in &keys {
        assert!(
            taints.iter().any(|t| &t.key == key),
            "{key} lost: {taints:?}"
        );
    }
}

trait SpawnOutput {
    fn output_spawned(&mut self) -> std::process::Child;
}

impl SpawnOutput for Command {
    fn output_spawned(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn karmadactl")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn taint_adds_overwrites_and_removes_like_kubectl() {
    let (bed, cp) = shared().await;
    let kc = bed.kubeconfig();
    let name = unique("taint");
    create_cluster(&cp, &name, &bed.cluster("member1").server, &[], vec![]).await;

    assert_eq!(
        ok(
            kc,
            &["taint", "clusters", &name, "dedicated=gpu:NoSchedule"]
        ),
        format!("cluster/{name} tainted\n")
    );
    assert_eq!(
        taints_of(&cp, &name).await,
        vec![taint("dedicated", Some("gpu"), "NoSchedule")]
    );

    // Same key and effect, other value: refused without --overwrite, nothing changes.
    let err = fails(kc, &["taint", "clusters", &name, "dedicated=ml:NoSchedule"]);
    assert!(
        err.contains(&format!(
            "cluster {name} already has dedicated taint(s) with same effect(s) and --overwrite is false"
        )),
        "{err}"
    );
    assert_eq!(
        taints_of(&cp, &name).await,
        vec![taint("dedicated", Some("gpu"), "NoSchedule")]
    );
    assert_eq!(
        ok(
            kc,
            &[
                "taint",
                "cluster",
                &name,
                "dedicated=ml:NoSchedule",
                "--overwrite"
            ]
        ),
        format!("cluster/{name} modified\n")
    );
    assert_eq!(
        taints_of(&cp, &name).await,
        vec![taint("dedicated", Some("ml"), "NoSchedule")]
    );

    // Several at once, then removal by key and effect, and by key.
    ok(
        kc,
        &[
            "taint",
            "clusters",
            &name,
            "spot:PreferNoSchedule",
            "dedicated:NoExecute",
        ],
    );
    assert_eq!(taints_of(&cp, &name).await.len(), 3);
    assert_eq!(
        ok(kc, &["taint", "clusters", &name, "spot:PreferNoSchedule-"]),
        format!("cluster/{name} untainted\n")
    );
    assert_eq!(
        ok(kc, &["taint", "clusters", &name, "dedicated-"]),
        format!("cluster/{name} untainted\n")
    );
    assert!(taints_of(&cp, &name).await.is_empty());

    let err = fails(kc, &["taint", "clusters", &name, "dedicated:NoSchedule-"]);
    assert!(
        err.contains(r#"taint "dedicated:NoSchedule" not found"#),
        "{err}"
    );

    // Bad specs fail before any request.
    for (spec, want) in [
        ("dedicated=gpu:Sometimes", "invalid taint effect: Sometimes"),
        ("dedicated=gpu", "invalid taint spec: dedicated=gpu"),
        ("dedicated", "needs an effect"),
        ("a=b=c:NoSchedule", "invalid taint spec"),
        ("bad key:NoSchedule", "invalid taint spec"),
    ] {
        let err = fails(kc, &["taint", "clusters", &name, spec]);
        assert!(err.contains(want), "{spec}: {err}");
    }
    let err = fails(kc, &["taint", "pods", &name, "a:NoSchedule"]);
    assert!(err.contains("unsupported resource type \"pods\""), "{err}");
    assert!(taints_of(&cp, &name).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_cluster_is_one_clear_line() {
    let (bed, _cp) = shared().await;
    let kc = bed.kubeconfig();
    let name = unique("nope");
    let want =
        format!("error: cluster {name:?} not found; list clusters with karmadactl get clusters");
    for args in [
        vec!["cordon", &name],
        vec!["uncordon", &name],
        vec!["taint", "clusters", &name, "a=b:NoSchedule"],
        vec!["describe", "cluster", &name],
        vec!["get", "clusters", &name],
    ] {
        assert_eq!(fails(kc, &args), want, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_control_plane_names_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let kubeconfig = dir.path().join("closed-port.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {CONTROL_PLANE}\n\
             clusters:\n- name: {CONTROL_PLANE}\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: admin\n  user:\n    token: t0ken\n\
             contexts:\n- name: {CONTROL_PLANE}\n  context:\n    cluster: {CONTROL_PLANE}\n    user: admin\n"
        ),
    )
    .unwrap();
    for args in [
        vec!["cordon", "member1"],
        vec!["uncordon", "member1"],
        vec!["taint", "clusters", "member1", "a=b:NoSchedule"],
        vec!["get", "clusters"],
        vec!["describe", "cluster", "member1"],
    ] {
        let err = fails(&kubeconfig, &args);
        assert!(err.starts_with("error: cannot reach"), "{args:?}: {err}");
        assert!(
            err.contains(&kubeconfig.display().to_string()) && err.contains(CONTROL_PLANE),
            "{args:?} must name the kubeconfig and context: {err}"
        );
        assert!(err.contains("onnection refused"), "{args:?}: {err}");
    }
}

fn lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_clusters_in_every_format() {
    // A bed of its own: "no clusters at all" must hold while the other tests create theirs.
    let bed = TestBed::start(BedSpec::new(&[])).await.expect("bed starts");
    let kc = bed.kubeconfig();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    install_cluster_crd(&cp).await;

    // None.
    for format in [None, Some("wide"), Some("name")] {
        let mut args = vec!["get", "clusters"];
        if let Some(f) = format {
            args.extend(["-o", f]);
        }
        let out = run(kc, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
        assert_eq!(stderr(&out), "No clusters found.\n", "{args:?}");
    }
    let empty: Value = serde_json::from_str(&ok(kc, &["get", "clusters", "-o", "json"])).unwrap();
    assert_eq!(empty["kind"], "List");
    assert_eq!(empty["items"], json!([]));

    // Two clusters, one Ready with a taint.
    let server = bed.cluster(CONTROL_PLANE).server.clone();
    create_cluster(
        &cp,
        "alpha",
        &server,
        &[("env", "prod")],
        vec![taint("dedicated", Some("gpu"), "NoSchedule")],
    )
    .await;
    create_cluster(
        &cp,
        "beta",
        "https://10.0.0.9:6443",
        &[("env", "test")],
        vec![],
    )
    .await;
    set_ready(&cp, "alpha").await;

    let table = lines(&ok(kc, &["get", "clusters"]));
    assert_eq!(table[0], ["NAME", "VERSION", "MODE", "READY", "AGE"]);
    assert_eq!(table.len(), 3, "{table:?}");
    assert_eq!(table[1][..4], ["alpha", "v1.37.2", "Push", "True"]);
    assert_eq!(table[2][..4], ["beta", "<none>", "Push", "Unknown"]);
    assert!(table[1][4].ends_with('s'), "age like 3s: {:?}", table[1]);

    let wide = lines(&ok(kc, &["get", "clusters", "-o", "wide"]));
    assert_eq!(
        wide[0],
        [
            "NAME",
            "VERSION",
            "MODE",
            "READY",
            "AGE",
            "APIENDPOINT",
            "PROVIDER",
            "REGION",
            "ZONES",
            "TAINTS",
            "NODES"
        ]
    );
    assert_eq!(
        wide[1][5..],
        [
            server.as_str(),
            "onprem",
            "eu-west",
            "z1,z2",
            "dedicated=gpu:NoSchedule",
            "2/3"
        ]
    );
    assert_eq!(wide[2][9..], ["<none>", "<none>"]);

    assert_eq!(
        ok(kc, &["get", "clusters", "-o", "name"]),
        "cluster.cluster.karmada.io/alpha\ncluster.cluster.karmada.io/beta\n"
    );

    let list: Value = serde_json::from_str(&ok(kc, &["get", "clusters", "-o", "json"])).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "Cluster");
    assert_eq!(items[0]["apiVersion"], "cluster.karmada.io/v1alpha1");
    assert_eq!(items[0]["metadata"]["name"], "alpha");
    assert_eq!(items[0]["status"]["kubernetesVersion"], "v1.37.2");
    assert!(items[0]["metadata"].get("managedFields").is_none());

    let yaml: Value = serde_yaml::from_str(&ok(kc, &["get", "clusters", "-o", "yaml"])).unwrap();
    assert_eq!(yaml["kind"], "List");
    assert_eq!(yaml["items"][1]["metadata"]["name"], "beta");

    // One name: the object itself. Several: a List.
    let one: Value =
        serde_json::from_str(&ok(kc, &["get", "cluster", "beta", "-o", "json"])).unwrap();
    assert_eq!(one["kind"], "Cluster");
    assert_eq!(one["spec"]["apiEndpoint"], "https://10.0.0.9:6443");
    let one: Value =
        serde_yaml::from_str(&ok(kc, &["get", "cluster", "alpha", "-o", "yaml"])).unwrap();
    assert_eq!(one["spec"]["taints"][0]["key"], "dedicated");
    let two = lines(&ok(kc, &["get", "clusters", "beta", "alpha"]));
    assert_eq!(two.len(), 3);
    assert_eq!(two[1][0], "beta");

    // Selector.
    assert_eq!(
        ok(kc, &["get", "clusters", "-l", "env=prod", "-o", "name"]),
        "cluster.cluster.karmada.io/alpha\n"
    );
    assert_eq!(
        ok(
            kc,
            &["get", "clusters", "--selector", "env!=prod", "-o", "name"]
        ),
        "cluster.cluster.karmada.io/beta\n"
    );
    let out = run(kc, &["get", "clusters", "-l", "env=nowhere"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "No clusters found.\n");

    // Found ones are printed, the missing one is an error.
    let out = run(kc, &["get", "clusters", "alpha", "gamma", "-o", "name"]);
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "cluster.cluster.karmada.io/alpha\n");
    assert!(stderr(&out).contains("cluster \"gamma\" not found"));
    let err = fails(kc, &["get", "clusters", "alpha", "-l", "env=prod"]);
    assert!(err.contains("selector"), "{err}");
    let err = fails(kc, &["get", "widgetsthatdonotexist"]);
    assert!(
        err.contains("widgetsthatdonotexist"),
        "an unknown type is named: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_watch_prints_a_row_per_change() {
    let (bed, cp) = shared().await;
    let kc = bed.kubeconfig();
    let label = unique("watch");
    let first = unique("watched");
    create_cluster(
        &cp,
        &first,
        &bed.cluster("member1").server,
        &[("suite", &label)],
        vec![],
    )
    .await;

    let selector = format!("suite={label}");
    let mut child = command(
        kc,
        &["get", "clusters", "-l", &selector, "--watch", "-o", "wide"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line for {what}"))
    };
    assert!(next("header").starts_with("NAME"));
    assert!(next("initial row").starts_with(&first));

    // A change to the listed cluster, then a new cluster: one row each.
    ok(kc, &["cordon", &first]);
    let row = next("cordon");
    assert!(
        row.starts_with(&first) && row.contains(TAINT_CLUSTER_UNSCHEDULABLE),
        "{row}"
    );
    let second = unique("watched");
    create_cluster(
        &cp,
        &second,
        &bed.cluster("member2").server,
        &[("suite", &label)],
        vec![],
    )
    .await;
    let row = next("new cluster");
    assert!(row.starts_with(&second), "{row}");
    // Clusters outside the selector are not shown.
    let outsider = unique("outsider");
    create_cluster(&cp, &outsider, &bed.cluster("member2").server, &[], vec![]).await;
    Api::<Cluster>::all(cp.clone())
        .delete(&second, &Default::default())
        .await
        .unwrap();
    let row = next("deletion");
    assert!(row.starts_with(&second), "{row}");

    assert!(child.try_wait().unwrap().is_none(), "--watch keeps running");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_shows_conditions_taints_and_events() {
    let (bed, cp) = shared().await;
    let kc = bed.kubeconfig();
    let name = unique("describe");
    let server = bed.cluster("member1").server.clone();
    create_cluster(&cp, &name, &server, &[("env", "prod")], vec![]).await;
    set_ready(&cp, &name).await;
    ok(kc, &["cordon", &name]);

    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some("default".into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("cluster.karmada.io/v1alpha1".into()),
            kind: Some("Cluster".into()),
            name: Some(name.clone()),
            ..Default::default()
        },
        reason: Some("CreateExecutionSpaceSucceed".into()),
        message: Some(format!(
            "Created execution space(karmada-es-{name}) for cluster"
        )),
        type_: Some("Normal".into()),
        last_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::now())),
        first_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::now())),
        count: Some(1),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some("cluster-controller".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    Api::<Event>::namespaced(cp.clone(), "default")
        .create(&PostParams::default(), &event)
        .await
        .expect("create Event");

    let page = ok(kc, &["describe", "cluster", &name]);
    for want in [
        format!("Name:               {name}"),
        "env=prod".to_string(),
        "Sync Mode:          Push".to_string(),
        format!("API Endpoint:       {server}"),
        "Provider:           onprem".to_string(),
        "Region:             eu-west".to_string(),
        "Zones:              z1,z2".to_string(),
        format!("Taints:             {TAINT_CLUSTER_UNSCHEDULABLE}:NoSchedule"),
        "Kubernetes Version: v1.37.2".to_string(),
        "Conditions:".to_string(),
        "cluster is healthy and ready to accept workloads".to_string(),
        "ClusterReady".to_string(),
        "CompleteAPIEnablements".to_string(),
        "API Enablements:    2 group-versions, 3 kinds, 3 resources".to_string(),
        "Nodes:              2 ready of 3 total".to_string(),
        "Resources:".to_string(),
        "CreateExecutionSpaceSucceed".to_string(),
        "cluster-controller".to_string(),
        format!("Created execution space(karmada-es-{name}) for cluster"),
    ] {
        assert!(page.contains(&want), "missing {want:?} in:\n{page}");
    }
    let ready = page
        .lines()
        .find(|l| l.trim_start().starts_with("Ready "))
        .expect("a Ready condition row");
    assert_eq!(
        ready.split_whitespace().take(4).collect::<Vec<_>>()[..2],
        ["Ready", "True"]
    );
    let cpu = page
        .lines()
        .find(|l| l.trim_start().starts_with("cpu "))
        .expect("a cpu row");
    assert_eq!(
        cpu.split_whitespace().collect::<Vec<_>>(),
        ["cpu", "12", "0", "3"]
    );

    // A cluster without status or events still describes.
    let bare = unique("bare");
    create_cluster(&cp, &bare, &server, &[], vec![]).await;
    let page = ok(kc, &["describe", "clusters", &bare]);
    assert!(page.contains("Conditions:         <none>"), "{page}");
    assert!(page.contains("Events:             <none>"), "{page}");
}

/// A ConfigMap labelled `suite=get` with `data.k`.
async fn config_map(client: &Client, name: &str, value: &str, labels: &[(&str, &str)]) {
    let mut all: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.insert("suite".into(), "get".into());
    let cm = k8s_openapi::api::core::v1::ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(all),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), value.to_string())])),
        ..Default::default()
    };
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .expect("create ConfigMap");
}

/// A `get` child process whose stdout lines arrive on a channel.
struct Watching {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watching {
    fn start(kubeconfig: &Path, args: &[&str]) -> Watching {
        let mut child = command(kubeconfig, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }

    fn next(&self, what: &str) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line for {what}"))
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_prints_like_kubectl_on_the_control_plane_and_members() {
    let bed = TestBed::start(BedSpec::new(&["member1", "member2"]))
        .await
        .expect("bed starts");
    let kc = bed.kubeconfig();
    let kcs = kc.display().to_string();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();
    for m in ["member1", "member2"] {
        ok(
            kc,
            &[
                "join",
                m,
                "--cluster-kubeconfig",
                &kcs,
                "--wait-timeout",
                "0",
            ],
        );
    }
    let m1 = bed.client("member1").await.unwrap();
    let m2 = bed.client("member2").await.unwrap();
    config_map(&cp, "alpha", "3", &[("tier", "web")]).await;
    config_map(&m1, "alpha", "1", &[("tier", "web")]).await;
    config_map(&m1, "beta", "20", &[]).await;
    config_map(&m2, "gamma", "0", &[("tier", "db")]).await;
    let all = ["get", "cm", "-s", "all", "-l", "suite=get"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        all.iter().copied().chain(extra.iter().copied()).collect()
    };

    // jsonpath with range and text; members' objects name their cluster in an annotation.
    let out = ok(
        kc,
        &with(&[
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}@{.metadata.annotations.resource\.karmada\.io/cached-from-cluster}{"\n"}{end}"#,
        ]),
    );
    assert_eq!(out, "alpha@\nalpha@member1\nbeta@member1\ngamma@member2\n");
    assert_eq!(
        ok(kc, &["get", "cm", "alpha", "-o", "jsonpath={.data.k}"]),
        "3",
        "one name: the template sees the object"
    );
    assert_eq!(
        ok(kc, &with(&["-o", "jsonpath={.items[*].data.k}"])),
        "3 1 20 0"
    );
    let values: Value = serde_json::from_str(&ok(
        kc,
        &with(&["-o", "jsonpath-as-json={.items[*].data.k}"]),
    ))
    .unwrap();
    assert_eq!(values, json!(["3", "1", "20", "0"]));

    // custom-columns, --sort-by (numbers by value, text by text), --no-headers.
    let table = lines(&ok(
        kc,
        &with(&[
            "-o",
            r"custom-columns=NAME:.metadata.name,K:.data.k,CLUSTER:.metadata.annotations.resource\.karmada\.io/cached-from-cluster",
            "--sort-by",
            "{.metadata.name}",
        ]),
    ));
    assert_eq!(
        table,
        [
            vec!["NAME", "K", "CLUSTER"],
            vec!["alpha", "3", "<none>"],
            vec!["alpha", "1", "member1"],
            vec!["beta", "20", "member1"],
            vec!["gamma", "0", "member2"],
        ]
    );
    let table = lines(&ok(kc, &with(&["--sort-by=.data.k", "--no-headers"])));
    let order: Vec<(&str, &str)> = table
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("gamma", "member2"),
            ("alpha", "member1"),
            ("beta", "member1"),
            ("alpha", "karmada")
        ],
        "sorted by data.k as text, no header"
    );

    // --show-labels and -L add columns at the end.
    let table = lines(&ok(kc, &with(&["--show-labels", "-L", "tier"])));
    assert_eq!(
        table[0],
        ["NAME", "CLUSTER", "AGE", "SYNCED", "TIER", "LABELS"]
    );
    let gamma = table.iter().find(|r| r[0] == "gamma").unwrap();
    assert_eq!(gamma[gamma.len() - 2..], ["db", "suite=get,tier=db"]);
    let beta = table.iter().find(|r| r[0] == "beta").unwrap();
    assert_eq!(beta.last().unwrap(), "suite=get", "no tier: empty cell");

    // --ignore-not-found; unsupported and bad formats are usage errors.
    let out = run(
        kc,
        &["get", "cm", "nosuch", "-s", "all", "--ignore-not-found"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        run(kc, &["get", "clusters", "nosuch", "--ignore-not-found"])
            .status
            .success()
    );
    let out = run(kc, &["get", "cm", "-o", "go-template={{.kind}}"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("jsonpath"), "{}", stderr(&out));
    let out = run(kc, &["get", "cm", "-o", "jsonpath={.items[9]}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("array index out of bounds"),
        "{}",
        stderr(&out)
    );
    let err = fails(kc, &["get", "cm", "-o", "json", "--show-labels"]);
    assert!(err.contains("tables only"), "{err}");

    // get clusters takes the same flags.
    assert_eq!(
        ok(
            kc,
            &[
                "get",
                "clusters",
                "--sort-by=.metadata.name",
                "-o",
                "jsonpath={.items[*].metadata.name}"
            ]
        ),
        "member1 member2"
    );
    assert_eq!(
        lines(&ok(
            kc,
            &[
                "get",
                "clusters",
                "--no-headers",
                "-o",
                "custom-columns=N:.metadata.name,E:.spec.apiEndpoint"
            ]
        ))[0],
        ["member1", &bed.cluster("member1").server]
    );

    // --watch for any kind, on the control plane and the members, with events.
    let watch = Watching::start(kc, &with(&["--watch", "--output-watch-events"]));
    assert!(watch.next("header").starts_with("EVENT"));
    for _ in 0..4 {
        assert!(watch.next("initial rows").starts_with("ADDED"));
    }
    config_map(&m2, "delta", "5", &[]).await;
    let row = lines(&watch.next("a new object in member2")).remove(0);
    assert_eq!(row[..3], ["ADDED", "delta", "member2"]);
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(m1.clone(), "default")
        .patch(
            "beta",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "21"}})),
        )
        .await
        .unwrap();
    let row = lines(&watch.next("a change in member1")).remove(0);
    assert_eq!(row[..3], ["MODIFIED", "beta", "member1"]);
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(cp.clone(), "default")
        .delete("alpha", &Default::default())
        .await
        .unwrap();
    let row = lines(&watch.next("a deletion on the control plane")).remove(0);
    assert_eq!(row[..3], ["DELETED", "alpha", "karmada"]);
    drop(watch);

    // Watch events as documents, through a jsonpath template.
    let watch = Watching::start(
        kc,
        &[
            "get",
            "cm",
            "-s",
            "members",
            "-C",
            "member1",
            "-l",
            "suite=get",
            "-w",
            "--output-watch-events",
            "-o",
            r#"jsonpath={.type} {.object.metadata.name} {.object.data.k}{"\n"}"#,
        ],
    );
    assert_eq!(watch.next("alpha"), "ADDED alpha 1");
    assert_eq!(watch.next("beta"), "ADDED beta 21");
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(m1.clone(), "default")
        .delete("beta", &Default::default())
        .await
        .unwrap();
    assert_eq!(watch.next("deleted"), "DELETED beta 21");
}
