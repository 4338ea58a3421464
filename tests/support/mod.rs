//! Helpers for end-to-end tests: a control plane with the CRDs, a reconciler process, and
//! joined members.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use karmadactl::client::connect::Target;
use karmadactl::ops::join::{self, JoinOptions};
use karmadactl::testbed::{BedSpec, CONTROL_PLANE, Reconciler, TestBed};

/// A bed with the control plane (plus kube-controller-manager for garbage collection), the
/// CRDs, a running reconciler, and every member joined. The reconciler stops first (fields
/// drop in order), while the clusters it talks to are still there.
pub struct Federation {
    pub reconciler: Reconciler,
    pub bed: TestBed,
}

pub async fn federation(members: &[&str]) -> Federation {
    let bed = bed_with_crds(members).await;
    let reconciler = start_reconciler(&bed);
    // Join every member at once: each join mostly waits on its own member.
    let joins = members.iter().map(|m| join(&bed, m));
    futures::future::join_all(joins).await;
    Federation { reconciler, bed }
}

/// A bed with the control plane (plus kube-controller-manager) and the CRDs; no reconciler,
/// nothing joined.
pub async fn bed_with_crds(members: &[&str]) -> TestBed {
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
    bed
}

/// Joins member `name` (its context in the bed's kubeconfig) like `karmadactl join`, and waits
/// until it is Ready.
pub async fn join(bed: &TestBed, name: &str) {
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    let target = Target {
        kubeconfig: Some(bed.kubeconfig().to_path_buf()),
        context: Some(CONTROL_PLANE.into()),
    };
    let opts = JoinOptions {
        name: name.to_string(),
        member_kubeconfig: bed.kubeconfig().to_path_buf(),
        ..Default::default()
    };
    let (plan, member, ca) = join::plan(&cp, &target, &opts).await.expect("join plan");
    join::join(&cp, &plan, &member, ca, &opts)
        .await
        .expect("join");
    join::wait_ready(&cp, &opts.name, Duration::from_secs(60))
        .await
        .expect("member becomes Ready");
}

/// The flags every test reconciler runs with: fast probes and short grace periods.
pub const RECONCILER_FLAGS: &[(&str, &str)] = &[
    ("--cluster-status-update-frequency", "1s"),
    ("--cluster-failure-threshold", "3s"),
    ("--cluster-success-threshold", "3s"),
    ("--cluster-probe-timeout", "2s"),
];

/// The reconciler against `bed`'s control plane, with short health-probe timings; its log is
/// `<bed dir>/reconciler.log` (truncated). Killed when the guard drops.
pub fn start_reconciler(bed: &TestBed) -> Reconciler {
    start_reconciler_with(bed, &[])
}

/// The reconciler with `extra` flags after the test bed's defaults.
pub fn start_reconciler_with(bed: &TestBed, extra: &[&str]) -> Reconciler {
    start(bed, 0, &[], extra)
}

/// A reconciler serving `/metrics` on `metrics_port` (0: any), with [`RECONCILER_FLAGS`] where
/// `overrides` (flag, value) replace or add to them.
pub fn start_reconciler_on(
    bed: &TestBed,
    metrics_port: u16,
    overrides: &[(&str, &str)],
) -> Reconciler {
    start(bed, metrics_port, overrides, &[])
}

fn start(
    bed: &TestBed,
    metrics_port: u16,
    overrides: &[(&str, &str)],
    extra: &[&str],
) -> Reconciler {
    let mut flags: Vec<(&str, &str)> = RECONCILER_FLAGS
        .iter()
        .filter(|(f, _)| !overrides.iter().any(|(o, _)| o == f))
        .copied()
        .collect();
    flags.extend_from_slice(overrides);
    let mut builder = Reconciler::builder(env!("CARGO_BIN_EXE_karmada-reconciler"), bed)
        .args(["--leader-elect=false"])
        .args(flags.iter().flat_map(|(f, v)| [*f, *v]))
        .args(extra.iter().copied());
    if metrics_port != 0 {
        builder = builder.metrics_port(metrics_port);
    }
    builder
        .env(
            "RUST_LOG",
            std::env::var("KARMADACTL_TEST_RECONCILER_LOG")
                .unwrap_or_else(|_| "info,karmadactl=debug".into()),
        )
        .start()
        .expect("start karmada-reconciler")
}

/// A free loopback port (for a reconciler's `--metrics-bind-address`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free loopback port")
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /metrics` from a reconciler on `port` (empty while it is not listening).
pub async fn scrape(port: u16) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return String::new();
    };
    let req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await;
    out
}

/// The sum of the samples of metric `name` whose labels contain every one of `labels`
/// (e.g. `target="control-plane"`) in a Prometheus text exposition.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `check` until it returns Some, or panics after `timeout` with `what` and the
/// reconciler's log tail.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, log: &Path, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = tail
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!(
                "timed out waiting for {what}\n--- reconciler log tail ---\n{}",
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text of `docs/examples/NAME`: tests apply the exact files the docs show.
pub fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Server-side applies every document of `yaml` (any kind) with `client`.
pub async fn apply_yaml(client: &kube::Client, yaml: &str) {
    use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
    use serde::Deserialize as _;
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_json::Value::deserialize(doc).expect("valid YAML");
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject = serde_json::from_value(value.clone()).expect("an object");
        let types = obj.types.clone().expect("apiVersion and kind");
        let gvk = GroupVersionKind::try_from(&types).expect("valid apiVersion");
        let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .expect("kind is served");
        let name = obj.metadata.name.clone().expect("a name");
        let api: Api<DynamicObject> = match (&caps.scope, obj.metadata.namespace.as_deref()) {
            (kube::discovery::Scope::Namespaced, ns) => {
                Api::namespaced_with(client.clone(), ns.unwrap_or("default"), &ar)
            }
            (kube::discovery::Scope::Cluster, _) => Api::all_with(client.clone(), &ar),
        };
        api.patch(
            &name,
            &PatchParams::apply("e2e-test").force(),
            &Patch::Apply(&value),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {} {name}: {e}", types.kind));
    }
}

/// Waits (up to a minute) until binding `ns/name` has a condition of `type_` that `ok` accepts;
/// returns its message.
pub async fn binding_condition(
    cp: &kube::Client,
    ns: &str,
    name: &str,
    type_: &str,
    log: &Path,
    ok: impl Fn(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition) -> bool,
) -> String {
    let api: kube::Api<karmadactl::api::ResourceBinding> = kube::Api::namespaced(cp.clone(), ns);
    let what = format!("binding {ns}/{name}: {type_} as expected");
    eventually(&what, Duration::from_secs(60), log, || async {
        let c = api
            .get_opt(name)
            .await
            .ok()??
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)?;
        ok(&c).then_some(c.message)
    })
    .await
}

/// Waits (up to a minute) until Deployment `ns/name` is in exactly the `expected` members.
pub async fn placed(
    members: &[(String, kube::Client)],
    ns: &str,
    name: &str,
    expected: &[&str],
    log: &Path,
) {
    let what = format!("deployment {ns}/{name} in exactly {expected:?}");
    eventually(&what, Duration::from_secs(60), log, || async {
        for (m, c) in members {
            if exists(c, "apps/v1", "Deployment", ns, name).await != expected.contains(&m.as_str())
            {
                return None;
            }
        }
        Some(())
    })
    .await;
}

/// Whether a namespaced object of `kind` (core/v1 or apps/v1) exists.
pub async fn exists(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> bool {
    use kube::api::{Api, DynamicObject, GroupVersionKind};
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (ar, _) =
        kube::discovery::pinned_kind(client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .expect("kind is served");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    api.get_opt(name)
        .await
        .expect("get")
        .is_some_and(|o| o.metadata.deletion_timestamp.is_none())
}
