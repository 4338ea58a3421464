//! kubectl's habits across members, as a user runs them against real kube-apiservers (needs
//! `hack/build-test-binaries.sh`): api-resources, api-versions, explain, describe, logs, exec,
//! attach and top (troubleshooting), and create, delete, edit, label, annotate and patch (edits),
//! on the control plane and on member1 with `-C member1`.
//!
//! The shared bed's member1 is joined once (credentials in the control plane, as `karmadactl
//! join` stores them); no reconciler runs, so nothing propagates: every member object here is
//! created in the member directly. Pods never run (there is no kubelet): logs, exec and attach
//! are tested on a Pod bound to a Node object whose kubelet endpoint nobody listens on.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::runtime::wait::{await_condition, conditions};

use karmadactl::client::connect::Target;
use karmadactl::ops::join::{self, JoinOptions};
use karmadactl::testbed::{self, CONTROL_PLANE, TestBed};

mod support;

const MEMBER: &str = "member1";
/// Joined too; serves no metrics API.
const OTHER: &str = "member2";

/// `metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics as CRDs: the shape metrics-server
/// serves, so `top` reads real objects from a real API server.
fn metrics_crds() -> String {
    let crd = |plural: &str, singular: &str, kind: &str, scope: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.metrics.k8s.io\n\
             \x20 annotations: {{api-approved.kubernetes.io: \"unapproved, a stand-in for metrics-server in tests\"}}\n\
             spec:\n  group: metrics.k8s.io\n  scope: {scope}\n  names: {{plural: {plural}, singular: {singular}, kind: {kind}}}\n\
             \x20 versions:\n  - name: v1beta1\n    served: true\n    storage: true\n\
             \x20   schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
        )
    };
    format!(
        "{}---\n{}",
        crd("nodes", "nodemetrics", "NodeMetrics", "Cluster"),
        crd("pods", "podmetrics", "PodMetrics", "Namespaced")
    )
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The shared bed with the CRDs and member1 joined; clients of the control plane and member1.
struct Env {
    bed: &'static TestBed,
    cp: Client,
    member: Client,
}

static JOINED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn env() -> Env {
    let bed = testbed::shared();
    JOINED
        .get_or_init(|| async {
            let cp = bed.client(CONTROL_PLANE).await.unwrap();
            karmadactl::install::crds::install_crds(&cp)
                .await
                .expect("CRDs install");
            let target = Target {
                kubeconfig: Some(bed.kubeconfig().to_path_buf()),
                context: Some(CONTROL_PLANE.into()),
            };
            for name in [MEMBER, OTHER] {
                let opts = JoinOptions {
                    name: name.into(),
                    member_kubeconfig: bed.kubeconfig().to_path_buf(),
                    ..Default::default()
                };
                let (plan, member, ca) = join::plan(&cp, &target, &opts).await.expect("join plan");
                join::join(&cp, &plan, &member, ca, &opts)
                    .await
                    .expect("join");
            }
            // member1 serves a metrics API (CRDs standing in for metrics-server); member2 none.
            let member = bed.client(MEMBER).await.unwrap();
            support::apply_yaml(&member, &metrics_crds()).await;
            for crd in ["nodes.metrics.k8s.io", "pods.metrics.k8s.io"] {
                let api: kube::Api<CustomResourceDefinition> = kube::Api::all(member.clone());
                tokio::time::timeout(
                    std::time::Duration::from_secs(60),
                    await_condition(api, crd, conditions::is_crd_established()),
                )
                .await
                .expect("metrics CRD established in time")
                .expect("watch the CRD");
            }
        })
        .await;
    Env {
        bed,
        cp: bed.client(CONTROL_PLANE).await.unwrap(),
        member: bed.client(MEMBER).await.unwrap(),
    }
}

impl Env {
    fn kubeconfig(&self) -> &Path {
        self.bed.kubeconfig()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_karmadactl"));
        cmd.env_remove("KUBECONFIG")
            .env_remove("COMPLETE")
            .env_remove("EDITOR")
            .env_remove("KUBE_EDITOR")
            .env("NO_COLOR", "1")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(["--karmada-context", CONTROL_PLANE])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run karmadactl")
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "karmadactl {args:?} failed: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    /// Runs and expects failure with exactly one line on stderr; returns that line.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
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
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn namespace(client: &Client, name: &str) {
    support::apply_yaml(
        client,
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_resources_and_versions_on_the_control_plane_and_a_member() {
    let env = env().await;

    let cp = env.ok(&["api-resources"]);
    let header = cp.lines().next().unwrap();
    for col in ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"] {
        assert!(header.contains(col), "{header}");
    }
    let pp = cp
        .lines()
        .find(|l| l.starts_with("propagationpolicies "))
        .unwrap_or_else(|| panic!("no propagationpolicies in\n{cp}"));
    assert!(pp.contains("policy.karmada.io/v1alpha1"), "{pp}");
    assert!(pp.contains("PropagationPolicy"), "{pp}");

    let member = env.ok(&["api-resources", "-C", MEMBER, "-o", "name"]);
    assert!(member.lines().any(|l| l == "pods"), "{member}");
    assert!(member.lines().any(|l| l == "deployments.apps"), "{member}");
    assert!(
        !member.contains("karmada.io"),
        "the member serves no Karmada API: {member}"
    );
    // The long form of the upstream flags says the same.
    assert_eq!(
        env.ok(&[
            "api-resources",
            "--operation-scope=members",
            "--cluster=member1",
            "-o",
            "name"
        ]),
        member
    );

    let cluster_scoped = env.ok(&[
        "api-resources",
        "-C",
        MEMBER,
        "--namespaced=false",
        "--no-headers",
    ]);
    assert!(cluster_scoped.lines().any(|l| l.starts_with("nodes ")));
    assert!(!cluster_scoped.lines().any(|l| l.starts_with("pods ")));
    assert!(!cluster_scoped.contains("NAMESPACED"));

    let wide = env.ok(&["api-resources", "--api-group=apps", "-o", "wide"]);
    assert!(wide.lines().next().unwrap().contains("VERBS"));
    assert!(
        wide.lines().skip(1).all(|l| l.contains("apps/v1")),
        "{wide}"
    );

    let versions = env.ok(&["api-versions"]);
    assert!(versions.lines().any(|l| l == "policy.karmada.io/v1alpha1"));
    assert!(versions.lines().any(|l| l == "v1"));
    let member_versions = env.ok(&["api-versions", "-C", MEMBER]);
    assert!(member_versions.lines().any(|l| l == "apps/v1"));
    assert!(!member_versions.contains("karmada.io"));

    let err = env.fails(&["api-resources", "-s", "members"]);
    assert!(err.contains("must specify a member cluster"), "{err}");
    let err = env.fails(&["api-versions", "-C", "nosuch"]);
    assert!(
        err.contains("no member cluster \"nosuch\"") && err.contains("member1"),
        "{err}"
    );
}

/// Whether a line of `page` starts with `label` (indentation included) and ends with ` value`.
fn has_field(page: &str, label: &str, value: &str) -> bool {
    page.lines()
        .any(|l| l.starts_with(label) && l.ends_with(&format!(" {value}")))
}

/// Records a core/v1 Event about an object, as a controller would.
async fn event_about(client: &Client, ns: &str, kind: &str, name: &str, uid: &str, reason: &str) {
    use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let event = Event {
        metadata: kube::api::ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some(kind.into()),
            name: Some(name.into()),
            namespace: Some(ns.into()),
            uid: Some(uid.into()),
            ..Default::default()
        },
        reason: Some(reason.into()),
        message: Some(format!("{reason} happened to {name}")),
        type_: Some("Warning".into()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(3),
        source: Some(EventSource {
            component: Some("test-controller".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    kube::Api::<Event>::namespaced(client.clone(), ns)
        .create(&Default::default(), &event)
        .await
        .expect("create Event");
}

fn deployment(name: &str, ns: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{app: {app}}}\n\
         spec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n      labels: {{app: {app}}}\n\
         \x20   spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_any_kind_with_events_in_the_control_plane_and_a_member() {
    let env = env().await;
    let ns = unique("describe");
    namespace(&env.cp, &ns).await;
    namespace(&env.member, &ns).await;

    // A control-plane ConfigMap with an Event about it.
    support::apply_yaml(
        &env.cp,
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\n  labels: {{tier: web}}\ndata:\n  colour: blue\n"
        ),
    )
    .await;
    let cm: k8s_openapi::api::core::v1::ConfigMap = kube::Api::namespaced(env.cp.clone(), &ns)
        .get("settings")
        .await
        .unwrap();
    let uid = cm.metadata.uid.clone().unwrap();
    event_about(&env.cp, &ns, "ConfigMap", "settings", &uid, "Audited").await;

    let page = env.ok(&["describe", "configmap", "settings", "-n", &ns]);
    for want in [
        "Name:         settings".to_string(),
        format!("Namespace:    {ns}"),
        "Labels:       tier=web".to_string(),
        "API Version:  v1".to_string(),
        "Kind:         ConfigMap".to_string(),
        "Data:\n  colour:  blue\n".to_string(),
        "Events:".to_string(),
        "Audited".to_string(),
        "(x3)".to_string(),
        "test-controller".to_string(),
        "Audited happened to settings".to_string(),
    ] {
        assert!(page.contains(&want), "missing {want:?} in:\n{page}");
    }
    assert!(has_field(&page, "  UID:", &uid), "{page}");
    let quiet = env.ok(&["describe", "cm/settings", "-n", &ns, "--show-events=false"]);
    assert!(!quiet.contains("Events"), "{quiet}");

    // A member Deployment, by TYPE/NAME and by name prefix, with -C and the upstream flags.
    support::apply_yaml(&env.member, &deployment("web-frontend", &ns, "web")).await;
    support::apply_yaml(&env.member, &deployment("web-backend", &ns, "web")).await;
    let page = env.ok(&["describe", "deploy/web-frontend", "-n", &ns, "-C", MEMBER]);
    for want in [
        "Name:         web-frontend",
        "Kind:         Deployment",
        "- Image:  ",
        "Events:       <none>",
    ] {
        assert!(page.contains(want), "missing {want:?} in:\n{page}");
    }
    assert!(has_field(&page, "  Replicas:", "2"), "{page}");
    let both = env.ok(&[
        "describe",
        "deployments",
        "web-",
        "-n",
        &ns,
        "--operation-scope=members",
        "--cluster=member1",
    ]);
    assert!(both.contains("Name:         web-backend"), "{both}");
    assert!(both.contains("Name:         web-frontend"), "{both}");
    let selected = env.ok(&[
        "describe", "deploy", "-l", "app=web", "-n", &ns, "-C", MEMBER,
    ]);
    assert_eq!(selected.matches("Kind:         Deployment").count(), 2);

    let f = file(&env, "web.yaml", &deployment("web-frontend", &ns, "web"));
    let from_file = env.ok(&["describe", "-f", f.to_str().unwrap(), "-C", MEMBER]);
    assert!(
        from_file.starts_with("Name:         web-frontend\n"),
        "{from_file}"
    );

    // The control plane has no such Deployment: one line naming what and where.
    let err = env.fails(&["describe", "deploy", "web-frontend", "-n", &ns]);
    assert_eq!(
        err,
        format!("error: deployments.apps \"web-frontend\" not found in namespace {ns}")
    );
    let err = env.fails(&["describe", "deploy", "nosuch", "-n", &ns, "-C", MEMBER]);
    assert!(
        err.ends_with(&format!("not found in namespace {ns} in cluster member1")),
        "{err}"
    );
    let err = env.fails(&["describe", "propagationpolicies", "x", "-C", MEMBER]);
    assert!(
        err.contains("doesn't have a resource type \"propagationpolicies\" in cluster member1"),
        "{err}"
    );
    let out = env.run(&["describe", "pods", "-n", &ns, "-C", MEMBER]);
    assert!(out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        format!("No resources found in {ns} namespace in cluster member1.")
    );

    // Clusters keep their own page.
    let page = env.ok(&["describe", "cluster", MEMBER]);
    assert!(page.contains("Sync Mode:          Push"), "{page}");
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// In the member: a Node whose kubelet endpoint is `127.0.0.1:<kubelet_port>`, and namespace
/// `ns` with its default ServiceAccount (no controller creates it on the bed).
async fn fake_node(member: &Client, ns: &str, node: &str, kubelet_port: u16) {
    use k8s_openapi::api::core::v1::Node;
    namespace(member, ns).await;
    support::apply_yaml(
        member,
        &format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: {ns}\n"
        ),
    )
    .await;
    support::apply_yaml(
        member,
        &format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {node}\n"),
    )
    .await;
    let status = serde_json::json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "fake", "lastHeartbeatTime": "2026-01-01T00:00:00Z",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
    }});
    kube::Api::<Node>::all(member.clone())
        .patch_status(
            node,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .expect("node status");
}

/// A Pod bound to `node` (None: not scheduled) with containers `app` and `sidecar`.
fn pod(name: &str, ns: &str, node: Option<&str>, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{{labels}}}\n\
         spec:\n{}  automountServiceAccountToken: false\n  containers:\n  - name: app\n    image: busybox:1.37\n\
         \x20 - name: sidecar\n    image: busybox:1.37\n",
        node.map(|n| format!("  nodeName: {n}\n"))
            .unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_exec_attach_name_the_pod_when_no_kubelet_answers() {
    let env = env().await;
    let ns = unique("pods");
    let node = unique("fake-node");
    fake_node(&env.member, &ns, &node, closed_port()).await;
    support::apply_yaml(&env.member, &pod("web", &ns, Some(&node), "app: web")).await;
    support::apply_yaml(&env.member, &pod("web-2", &ns, Some(&node), "app: web")).await;
    support::apply_yaml(&env.member, &pod("pending", &ns, None, "app: other")).await;

    let kubelet_down = |err: &str| {
        assert!(
            err.contains(&format!("pod {ns}/web in cluster member1"))
                && err.contains(&format!("the kubelet of node {node} did not answer")),
            "the error must name the pod and say its node's kubelet did not answer: {err}"
        );
    };
    for args in [
        vec!["logs", "web", "-n", &ns, "-C", MEMBER],
        vec![
            "logs",
            "web",
            "-c",
            "sidecar",
            "--tail=5",
            "--since=1h",
            "-n",
            &ns,
            "-C",
            MEMBER,
        ],
        vec!["logs", "-f", "pod/web", "-n", &ns, "--cluster", MEMBER],
        vec!["exec", "web", "-n", &ns, "-C", MEMBER, "--", "date"],
        vec![
            "exec",
            "web",
            "-c",
            "app",
            "-n",
            &ns,
            "--operation-scope=members",
            "--cluster=member1",
            "--",
            "ls",
            "-l",
        ],
        vec!["attach", "web", "-n", &ns, "-C", MEMBER],
    ] {
        let out = env.run(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        let last = err
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        kubelet_down(&last);
        // Only kubectl's notes may come before the error.
        for line in err.trim_end().lines().rev().skip(1) {
            assert!(line.starts_with("Defaulted container"), "{args:?}: {err}");
        }
    }
    // A workload's pods are found by its selector; kubectl's notes on stderr first.
    support::apply_yaml(&env.member, &deployment("web", &ns, "web")).await;
    let out = env.run(&["logs", "deploy/web", "-n", &ns, "-C", MEMBER]);
    let err = stderr(&out);
    assert!(err.contains("Found 2 pods, using pod/web"), "{err}");
    assert!(
        err.contains("Defaulted container \"app\" out of: app, sidecar"),
        "{err}"
    );
    kubelet_down(err.trim_end().lines().last().unwrap());

    // Selectors read every matching pod.
    let out = env.run(&["logs", "-l", "app=web", "--prefix", "-n", &ns, "-C", MEMBER]);
    assert!(!out.status.success());
    kubelet_down(stderr(&out).trim_end());

    let err = env.fails(&["logs", "pending", "-n", &ns, "-C", MEMBER]);
    assert!(
        err.contains(&format!(
            "pod {ns}/pending in cluster member1 is not scheduled to a node yet"
        )),
        "{err}"
    );
    let err = env.fails(&["exec", "pending", "-n", &ns, "-C", MEMBER, "--", "date"]);
    assert!(err.contains("not scheduled to a node yet"), "{err}");
    let err = env.fails(&["logs", "web", "-c", "nosuch", "-n", &ns, "-C", MEMBER]);
    assert!(
        err.contains("container \"nosuch\" is not in pod") && err.contains("app, sidecar"),
        "{err}"
    );
    let err = env.fails(&["logs", "nosuch", "-n", &ns, "-C", MEMBER]);
    assert!(
        err.contains(&format!(
            "pod \"nosuch\" not found in namespace {ns} in cluster member1"
        )),
        "{err}"
    );
    let err = env.fails(&["exec", "web", "-n", &ns, "-s", "members", "--", "date"]);
    assert!(err.contains("must specify a member cluster"), "{err}");
    let out = env.run(&["logs", "web", "-n", &ns]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--cluster <CLUSTER>"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn top_reads_each_members_metrics_api_and_names_those_without() {
    let env = env().await;
    let ns = unique("top");
    let node = unique("metrics-node");
    fake_node(&env.member, &ns, &node, closed_port()).await;
    support::apply_yaml(
        &env.member,
        &format!(
            "apiVersion: metrics.k8s.io/v1beta1\nkind: NodeMetrics\nmetadata:\n  name: {node}\n\
             timestamp: \"2026-01-01T00:00:00Z\"\nwindow: 10s\nusage: {{cpu: 250000000n, memory: 524288Ki}}\n"
        ),
    )
    .await;
    for (pod, app_cpu) in [("web", "100m"), ("db", "300m")] {
        support::apply_yaml(
            &env.member,
            &format!(
                "apiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata:\n  name: {pod}\n  namespace: {ns}\n  labels: {{app: {pod}}}\n\
                 timestamp: \"2026-01-01T00:00:00Z\"\nwindow: 10s\ncontainers:\n\
                 - {{name: app, usage: {{cpu: {app_cpu}, memory: 64Mi}}}}\n\
                 - {{name: sidecar, usage: {{cpu: 5m, memory: 16Mi}}}}\n"
            ),
        )
        .await;
    }
    let row = |text: &str, first: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|cols| cols.first().map(String::as_str) == Some(first))
            .unwrap_or_else(|| panic!("no row {first} in\n{text}"))
    };

    // One member: its rows, with Karmada's columns.
    let nodes = env.ok(&["top", "node", "--clusters", MEMBER]);
    assert_eq!(
        nodes
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "NAME",
            "CLUSTER",
            "CPU(cores)",
            "CPU%",
            "MEMORY(bytes)",
            "MEMORY%"
        ]
    );
    assert_eq!(
        row(&nodes, &node),
        [&node, MEMBER, "250m", "12%", "512Mi", "12%"]
    );
    let capacity = env.ok(&[
        "top",
        "node",
        &node,
        "-C",
        MEMBER,
        "--show-capacity",
        "--no-headers",
    ]);
    assert_eq!(
        row(&capacity, &node),
        [&node, MEMBER, "250m", "6%", "512Mi", "6%"]
    );

    let pods = env.ok(&[
        "top",
        "pod",
        "-n",
        &ns,
        "-C",
        MEMBER,
        "--sort-by=cpu",
        "--sum",
    ]);
    let lines: Vec<&str> = pods.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "CLUSTER", "CPU(cores)", "MEMORY(bytes)"]
    );
    assert_eq!(row(&pods, "db"), ["db", MEMBER, "305m", "80Mi"]);
    assert!(lines[1].starts_with("db "), "sorted by cpu: {pods}");
    assert_eq!(
        lines.last().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["410m", "160Mi"]
    );
    let containers = env.ok(&["top", "pod", "web", "-n", &ns, "-C", MEMBER, "--containers"]);
    assert_eq!(
        row(&containers, "web"),
        ["web", "app", MEMBER, "100m", "64Mi"]
    );
    let selected = env.ok(&["top", "pod", "-l", "app=db", "-A", "-C", MEMBER]);
    assert_eq!(row(&selected, &ns), [&ns, "db", MEMBER, "305m", "80Mi"]);

    // Every member: member2 has no metrics API; it is named, with the fix, and member1's rows
    // are still printed.
    let out = env.run(&["top", "node"]);
    assert!(!out.status.success());
    assert_eq!(row(&stdout(&out), &node)[1], MEMBER);
    let err = stderr(&out);
    assert!(
        err.contains(
            "member2: the metrics API (metrics.k8s.io/v1beta1) is not available; install metrics-server in that cluster"
        ),
        "{err}"
    );
    let out = env.run(&["top", "pod", "-n", &ns, "-C", OTHER]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).starts_with("member2: the metrics API"),
        "{}",
        stderr(&out)
    );

    let err = env.fails(&["top", "pod", "nosuch", "-n", &ns, "-C", MEMBER]);
    assert!(err.contains("pods \"nosuch\" not found"), "{err}");
    let err = env.fails(&["top", "node", "-C", "nosuch"]);
    assert!(err.contains("no member cluster \"nosuch\""), "{err}");
}

/// Writes `text` to a fresh file in the bed's directory.
fn file(env: &Env, name: &str, text: &str) -> std::path::PathBuf {
    let path = env.bed.dir().join(format!("{}-{name}", unique("f")));
    std::fs::write(&path, text).unwrap();
    path
}

async fn configmap(
    client: &Client,
    ns: &str,
    name: &str,
) -> Option<k8s_openapi::api::core::v1::ConfigMap> {
    kube::Api::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_label_annotate_patch_delete_in_the_control_plane_and_a_member() {
    let env = env().await;
    let ns = unique("edits");
    namespace(&env.cp, &ns).await;
    namespace(&env.member, &ns).await;
    let manifests = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: {ns}\ndata:\n  colour: blue\n---\n\
         apiVersion: policy.karmada.io/v1alpha1\nkind: PropagationPolicy\nmetadata:\n  name: cfg-pp\n  namespace: {ns}\n\
         spec:\n  resourceSelectors:\n  - {{apiVersion: v1, kind: ConfigMap, name: cfg}}\n  placement:\n    clusterAffinity:\n      clusterNames: [member1]\n"
    );
    let f = file(&env, "cfg.yaml", &manifests);
    let f = f.to_str().unwrap();

    // create: dry runs write nothing; then the objects; a second time they already exist.
    assert_eq!(
        env.ok(&["create", "-f", f, "--dry-run"]),
        "configmap/cfg created (dry run)\npropagationpolicy.policy.karmada.io/cfg-pp created (dry run)\n"
    );
    assert_eq!(
        env.ok(&["create", "-f", f, "--dry-run=server", "-o", "name"]),
        "configmap/cfg\npropagationpolicy.policy.karmada.io/cfg-pp\n"
    );
    assert!(configmap(&env.cp, &ns, "cfg").await.is_none());
    assert_eq!(
        env.ok(&["create", "-f", f]),
        "configmap/cfg created\npropagationpolicy.policy.karmada.io/cfg-pp created\n"
    );
    let out = env.run(&["create", "-f", f]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("error: configmap/cfg already exists; update it with `karmadactl apply -f` or delete it first"),
        "{err}"
    );
    // The same file into member1, from stdin.
    let mut child = env
        .command(&["create", "-f", "-", "-C", MEMBER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let cm_only = manifests.split("---").next().unwrap().to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cm_only.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "configmap/cfg created\n");
    assert!(configmap(&env.member, &ns, "cfg").await.is_some());
    let err = env.fails(&["create", "-f", f, "-C", OTHER]);
    assert!(
        err.contains("member cluster member2 does not serve policy.karmada.io/v1alpha1 PropagationPolicy; install its CRD first"),
        "{err}"
    );
    let cm_file = file(&env, "cm.yaml", &cm_only);
    let err = env.fails(&["create", "-f", cm_file.to_str().unwrap(), "-C", OTHER]);
    assert!(
        err.contains(&format!(
            "in cluster member2: namespaces \"{ns}\" not found; create the namespace first"
        )),
        "{err}"
    );

    // label: set, refuse to overwrite, overwrite, no change, remove; a member with -C.
    let n = ["-n", ns.as_str()];
    let with_ns = |args: &[&str]| -> Vec<String> {
        args.iter().chain(n.iter()).map(|s| s.to_string()).collect()
    };
    let ok = |args: &[&str]| {
        let a = with_ns(args);
        env.ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let fails = |args: &[&str]| {
        let a = with_ns(args);
        env.fails(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(
        ok(&["label", "configmap", "cfg", "env=prod", "tier=web"]),
        "configmap/cfg labeled\n"
    );
    assert_eq!(
        fails(&["label", "cm/cfg", "env=dev"]),
        "error: configmap/cfg: 'env' already has a value (prod), and --overwrite is false"
    );
    assert_eq!(
        ok(&["label", "cm/cfg", "env=dev", "--overwrite"]),
        "configmap/cfg labeled\n"
    );
    assert_eq!(
        ok(&["label", "cm", "cfg", "env=dev"]),
        "configmap/cfg not labeled\n"
    );
    assert_eq!(
        ok(&["label", "cm", "cfg", "tier-"]),
        "configmap/cfg labeled\n"
    );
    let labels = configmap(&env.cp, &ns, "cfg")
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap();
    assert_eq!(labels.get("env").map(String::as_str), Some("dev"));
    assert!(!labels.contains_key("tier"));
    assert_eq!(ok(&["label", "cm", "cfg", "--list"]), "env=dev\n");
    assert_eq!(
        ok(&["label", "cm", "cfg", "where=member", "-C", MEMBER]),
        "configmap/cfg labeled\n"
    );
    let member_labels = configmap(&env.member, &ns, "cfg")
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap();
    assert_eq!(
        member_labels.get("where").map(String::as_str),
        Some("member")
    );
    assert!(!member_labels.contains_key("env"));
    let err = fails(&["label", "cm", "cfg", "x=y", "--resource-version=1"]);
    assert!(
        err.contains("configmap/cfg") && err.contains("modified"),
        "{err}"
    );
    // Every object of a type, by selector.
    assert_eq!(
        ok(&["label", "cm", "-l", "env=dev", "selected=yes"]),
        "configmap/cfg labeled\n"
    );

    // annotate: the same rules for annotations.
    assert_eq!(
        ok(&["annotate", "propagationpolicy", "cfg-pp", "owner=team-a"]),
        "propagationpolicy.policy.karmada.io/cfg-pp annotated\n"
    );
    let err = fails(&["annotate", "pp", "cfg-pp", "owner=team-b"]);
    assert!(
        err.contains("'owner' already has a value (team-a)"),
        "{err}"
    );
    assert!(ok(&["annotate", "pp", "cfg-pp", "--list"]).contains("owner=team-a\n"));
    assert_eq!(
        ok(&["annotate", "pp", "cfg-pp", "owner-", "--dry-run=server"]),
        "propagationpolicy.policy.karmada.io/cfg-pp annotated (server dry run)\n"
    );
    assert!(ok(&["annotate", "pp", "cfg-pp", "--list"]).contains("owner=team-a"));

    // patch: strategic (built-in kinds), merge, json; CRDs refuse strategic with the fix.
    assert_eq!(
        ok(&["patch", "cm", "cfg", "-p", r#"{"data":{"size":"xl"}}"#]),
        "configmap/cfg patched\n"
    );
    assert_eq!(
        ok(&["patch", "cm", "cfg", "-p", "data: {size: xl}"]),
        "configmap/cfg patched (no change)\n"
    );
    let err = fails(&["patch", "pp", "cfg-pp", "-p", r#"{"spec":{"priority":3}}"#]);
    assert!(
        err.contains("strategic merge patch is not supported") && err.contains("--type merge"),
        "{err}"
    );
    assert_eq!(
        ok(&[
            "patch",
            "pp",
            "cfg-pp",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"priority":3}}"#
        ]),
        "propagationpolicy.policy.karmada.io/cfg-pp patched\n"
    );
    let patched = ok(&[
        "patch",
        "cm/cfg",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/data/colour","value":"green"}]"#,
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&patched).unwrap();
    assert_eq!(v["data"]["colour"], "green");
    assert!(v["metadata"].get("managedFields").is_none());
    support::apply_yaml(&env.member, &deployment("web", &ns, "web")).await;
    assert_eq!(
        ok(&[
            "patch",
            "deploy",
            "web",
            "--subresource",
            "scale",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":5}}"#,
            "-C",
            MEMBER
        ]),
        "deployment.apps/web patched\n"
    );
    let d: k8s_openapi::api::apps::v1::Deployment = kube::Api::namespaced(env.member.clone(), &ns)
        .get("web")
        .await
        .unwrap();
    assert_eq!(d.spec.replicas, Some(5));
    let err = fails(&["patch", "deploy", "web", "-p", r#"{"spec":{"replicas":1}}"#]);
    assert_eq!(
        err,
        format!("error: deployments.apps \"web\" not found in namespace {ns}")
    );

    // delete: by name (waits until gone), missing names, a member, -f, -l, --all.
    let err = fails(&["delete", "cm"]);
    assert!(err.contains("no name was specified"), "{err}");
    let err = fails(&["delete", "cm", "nosuch"]);
    assert_eq!(
        err,
        format!("error: configmaps \"nosuch\" not found in namespace {ns}")
    );
    assert_eq!(ok(&["delete", "cm", "nosuch", "--ignore-not-found"]), "");
    assert_eq!(
        ok(&["delete", "deploy/web", "-C", MEMBER, "--dry-run=server"]),
        "deployment.apps \"web\" deleted (server dry run)\n"
    );
    assert_eq!(
        ok(&["delete", "deploy/web", "-C", MEMBER]),
        "deployment.apps \"web\" deleted\n"
    );
    assert!(!support::exists(&env.member, "apps/v1", "Deployment", &ns, "web").await);
    let err = fails(&["delete", "cm", "cfg", "-i"]);
    assert!(err.contains("--interactive needs a terminal"), "{err}");
    assert_eq!(
        ok(&["delete", "-f", f]),
        "configmap \"cfg\" deleted\npropagationpolicy.policy.karmada.io \"cfg-pp\" deleted\n"
    );
    assert!(configmap(&env.cp, &ns, "cfg").await.is_none());
    assert!(configmap(&env.member, &ns, "cfg").await.is_some());
    for i in 0..3 {
        support::apply_yaml(
            &env.member,
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-{i}\n  namespace: {ns}\n  labels: {{batch: b{}}}\n", i % 2),
        )
        .await;
    }
    assert_eq!(
        ok(&["delete", "cm", "-l", "batch=b1", "-C", MEMBER]),
        "configmap \"extra-1\" deleted\n"
    );
    assert_eq!(
        ok(&["delete", "cm/extra-0", "-C", MEMBER, "-o", "name"]),
        "configmap/extra-0\n"
    );
    let all = ok(&[
        "delete",
        "configmaps",
        "--all",
        "-C",
        MEMBER,
        "--wait=false",
    ]);
    for name in ["cfg", "extra-2"] {
        assert!(
            all.contains(&format!("configmap \"{name}\" deleted")),
            "{all}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn edit_applies_what_the_editor_changed_and_never_waits_without_one() {
    let env = env().await;
    let ns = unique("edit");
    namespace(&env.cp, &ns).await;
    namespace(&env.member, &ns).await;
    for client in [&env.cp, &env.member] {
        support::apply_yaml(
            client,
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: {ns}\ndata:\n  colour: blue\n  size: m\n"),
        )
        .await;
    }
    let edit = |editor: Option<&str>, extra: &[&str]| -> Output {
        let mut args = vec!["edit", "configmap", "cfg", "-n", &ns];
        args.extend(extra);
        let mut cmd = env.command(&args);
        if let Some(e) = editor {
            cmd.env("EDITOR", e);
        }
        cmd.output().unwrap()
    };

    // No editor, no terminal: a clear error at once, nothing changed.
    let started = std::time::Instant::now();
    let out = edit(None, &[]);
    assert!(!out.status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("edit needs an editor: set KUBE_EDITOR or EDITOR"),
        "{err}"
    );

    // An editor that changes one field: only that is sent.
    let out = edit(Some("sed -i 's/colour: blue/colour: red/'"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "configmap/cfg edited\n");
    let data = configmap(&env.cp, &ns, "cfg").await.unwrap().data.unwrap();
    assert_eq!(data.get("colour").map(String::as_str), Some("red"));
    assert_eq!(data.get("size").map(String::as_str), Some("m"));

    // KUBE_EDITOR wins over EDITOR; an untouched file cancels.
    let mut cmd = env.command(&["edit", "cm/cfg", "-n", &ns]);
    cmd.env("EDITOR", "false").env("KUBE_EDITOR", "true");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "Edit cancelled, no changes made.");
    let out = edit(Some("truncate -s 0"), &[]);
    assert!(out.status.success());
    assert_eq!(stderr(&out).trim(), "Edit cancelled, no changes made.");

    // In a member with -C; the control plane's copy is untouched.
    let out = edit(Some("sed -i 's/size: m/size: xl/'"), &["-C", MEMBER]);
    assert!(out.status.success(), "{}", stderr(&out));
    let member = configmap(&env.member, &ns, "cfg")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(member.get("size").map(String::as_str), Some("xl"));
    assert_eq!(member.get("colour").map(String::as_str), Some("blue"));

    // Renaming is refused; a change the server refuses keeps the edited file.
    let out = edit(Some("sed -i 's/^  name: cfg/  name: other/'"), &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("apiVersion, kind, name and namespace cannot be changed in edit"),
        "{}",
        stderr(&out)
    );
    let out = edit(Some("sed -i 's/^data:/immutable: notabool\\ndata:/'"), &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let kept = err
        .lines()
        .find_map(|l| l.strip_prefix("A copy of your changes has been stored to "))
        .unwrap_or_else(|| panic!("no kept copy in {err}"));
    let kept: String = serde_json::from_str(kept).unwrap();
    assert!(
        std::fs::read_to_string(&kept)
            .unwrap()
            .contains("immutable: notabool")
    );
    std::fs::remove_file(&kept).unwrap();
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: configmap/cfg"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_reads_the_openapi_v3_of_the_control_plane_and_a_member() {
    let env = env().await;
    let pp = env.ok(&["explain", "propagationpolicies"]);
    assert!(
        pp.starts_with("GROUP:      policy.karmada.io\nKIND:       PropagationPolicy\nVERSION:    v1alpha1\n\nDESCRIPTION:\n"),
        "{pp}"
    );
    assert!(pp.contains("\nFIELDS:\n  apiVersion\t<string>\n"), "{pp}");
    assert!(pp.contains("  spec\t<Object> -required-\n"), "{pp}");

    let affinity = env.ok(&["explain", "pp.spec.placement.clusterAffinity"]);
    assert!(
        affinity.contains("FIELD: clusterAffinity <Object>"),
        "{affinity}"
    );
    assert!(
        affinity.contains("  clusterNames\t<[]string>"),
        "{affinity}"
    );

    let tree = env.ok(&["explain", "clusters", "--recursive"]);
    assert!(tree.contains("    apiEndpoint\t<string>\n"), "{tree}");
    assert!(
        !tree.contains("APIEndpoint is"),
        "recursive lists no descriptions: {tree}"
    );

    let replicas = env.ok(&[
        "explain",
        "deployments.spec.replicas",
        "--api-version=apps/v1",
    ]);
    assert!(replicas.contains("KIND:       Deployment"), "{replicas}");
    assert!(replicas.contains("FIELD: replicas <integer>"), "{replicas}");

    let containers = env.ok(&["explain", "pods.spec.containers", "-C", MEMBER]);
    assert!(
        containers.contains("KIND:       Pod\nVERSION:    v1\n"),
        "{containers}"
    );
    assert!(
        containers.contains("FIELD: containers <[]Container>"),
        "{containers}"
    );
    assert!(containers.contains("  image\t<string>"), "{containers}");

    let err = env.fails(&[
        "explain",
        "propagationpolicies",
        "--operation-scope=members",
        "--cluster=member1",
    ]);
    assert_eq!(
        err,
        "error: the server doesn't have a resource type \"propagationpolicies\" in cluster member1"
    );
    let err = env.fails(&["explain", "deployments.spec.nope"]);
    assert!(
        err.contains("field \"nope\" does not exist in deployments.apps.spec (it has: "),
        "{err}"
    );
}

/// An HTTPS server standing in for a kubelet: it answers `/containerLogs/NS/POD/CONTAINER`
/// with three lines naming the pod and container (and, with `follow=true`, a line every 200ms
/// until the client goes), and records each request's path and query.
struct FakeKubelet {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

async fn fake_kubelet() -> FakeKubelet {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    // Its own thread and runtime: it must outlive the test's commands, not the test's runtime.
    let listener = listener.into_std().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let target = head.split_whitespace().nth(1).unwrap_or_default().to_string();
                    seen.lock().unwrap().push(target.clone());
                    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                    let (pod, container) = match parts.as_slice() {
                        ["containerLogs", _, pod, container] => (pod.to_string(), container.to_string()),
                        _ => {
                            let _ = tls.write_all(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n").await;
                            return;
                        }
                    };
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
                        .await;
                    for i in 1..=3 {
                        let _ = tls.write_all(format!("line {i} of {pod}/{container}\n").as_bytes()).await;
                    }
                    let _ = tls.flush().await;
                    if query.split('&').any(|q| q == "follow=true") {
                        for i in 4..300 {
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                            let line = format!("line {i} of {pod}/{container}\n");
                            if tls.write_all(line.as_bytes()).await.is_err() || tls.flush().await.is_err() {
                                return;
                            }
                        }
                    }
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    FakeKubelet { port, requests }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_stream_from_the_nodes_kubelet_with_kubectls_flags() {
    let env = env().await;
    let kubelet = fake_kubelet().await;
    let ns = unique("logs");
    let node = unique("kubelet-node");
    fake_node(&env.member, &ns, &node, kubelet.port).await;
    support::apply_yaml(&env.member, &pod("web", &ns, Some(&node), "app: web")).await;
    support::apply_yaml(&env.member, &pod("web-2", &ns, Some(&node), "app: web")).await;

    // One container: the kubelet's text as is; kubectl's flags reach the kubelet.
    let out = env.ok(&[
        "logs",
        "web",
        "-c",
        "sidecar",
        "--tail=2",
        "--timestamps",
        "--since=1h",
        "-n",
        &ns,
        "-C",
        MEMBER,
    ]);
    assert_eq!(
        out,
        "line 1 of web/sidecar\nline 2 of web/sidecar\nline 3 of web/sidecar\n"
    );
    let request = kubelet.requests.lock().unwrap().last().cloned().unwrap();
    assert!(
        request.starts_with(&format!("/containerLogs/{ns}/web/sidecar?")),
        "{request}"
    );
    for q in ["tailLines=2", "timestamps=true", "sinceSeconds=3600"] {
        assert!(request.contains(q), "{q} missing in {request}");
    }
    // The default container, with kubectl's note.
    let o = env.run(&["logs", "pod/web", "-n", &ns, "-C", MEMBER]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("line 1 of web/app\n"));
    assert_eq!(
        stderr(&o).trim(),
        "Defaulted container \"app\" out of: app, sidecar"
    );

    // A selector reads every pod (10 lines each unless --tail), --prefix names the source.
    let out = env.ok(&[
        "logs",
        "-l",
        "app=web",
        "--prefix",
        "--all-containers",
        "-n",
        &ns,
        "-C",
        MEMBER,
    ]);
    for source in ["web/app", "web/sidecar", "web-2/app", "web-2/sidecar"] {
        assert!(
            out.contains(&format!("[pod/{source}] line 3 of {source}\n")),
            "{out}"
        );
    }
    assert!(
        kubelet
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("tailLines=10"))
    );

    // -f streams until interrupted; Ctrl-C ends it cleanly.
    let mut child = env
        .command(&["logs", "-f", "web", "-c", "app", "-n", &ns, "-C", MEMBER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    for want in 1..=5 {
        let line = lines.next().expect("a streamed line").unwrap();
        assert_eq!(line, format!("line {want} of web/app"));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends -f cleanly: {status:?}");
}
