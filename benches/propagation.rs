//! Propagation benchmark (docs/performance.md): N Deployment templates, each with a ConfigMap
//! it mounts (followed via propagateDeps), across K namespaces, one PropagationPolicy per
//! namespace targeting all M members; the reconciler runs as a release-mode process.
//!
//!   cargo bench --bench propagation -- [--templates N] [--namespaces K] [--members M]
//!       [--concurrency C] [--status-samples S] [--deps true|false] [--sweep] [--json PATH]
//!
//! Measures: time until every member object exists and per-object latency from template
//! creation to "present in every target member" (member objects seen by kube watchers, no
//! polling); where a Deployment template's time goes, stage by stage (watch events on the
//! control plane); member status change -> template status, while the propagation runs and
//! idle; reconciler peak RSS, CPU seconds, member writes and API requests per template (from
//! each kube-apiserver's `apiserver_request_total`, by resource and verb); and the floor: the
//! same member writes by a plain kube client at the same concurrency. `--sweep` runs 500, 1000,
//! 2000 and 4000 templates to 3 members and 200 to 10 members, and prints the slope of peak
//! RSS per 1000 templates.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Federation, diff, percentile, proc_stats};
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

use karmadactl::testbed::CONTROL_PLANE;

const LABEL: &str = "bench=propagation";
const CREATE_CONCURRENCY: usize = 16;

/// (kind, namespace, name) -> when a watcher first saw it.
type Seen = Arc<Mutex<HashMap<(&'static str, String, String), Instant>>>;

/// The pipeline stages of a Deployment template, in order, as the bench observes them
/// (watch events on the control plane and the members).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// The Deployment template was created (the client's create returned).
    Created = 0,
    /// The detector's claim labels are on the template.
    Claimed,
    /// Its ResourceBinding exists.
    Binding,
    /// The binding has `spec.clusters`.
    Scheduled,
    /// A Work exists for every member.
    Works,
    /// The Deployment exists in every member.
    Applied,
    /// Every Work says `Applied=True`.
    WorkStatus,
    /// The binding says `FullyApplied=True`.
    BindingStatus,
}

const STAGES: [(Stage, &str); 8] = [
    (Stage::Created, "created"),
    (Stage::Claimed, "detector: claimed"),
    (Stage::Binding, "detector: binding"),
    (Stage::Scheduled, "scheduler: scheduled"),
    (Stage::Works, "binding: all Works"),
    (Stage::Applied, "execution: in all members"),
    (Stage::WorkStatus, "execution: all Works Applied"),
    (Stage::BindingStatus, "binding: FullyApplied"),
];

/// First time each stage was seen, per Deployment template (`ns/name`).
#[derive(Clone, Default)]
struct Stages(Arc<Mutex<HashMap<String, [Option<Instant>; 8]>>>);

impl Stages {
    fn mark(&self, key: &str, stage: Stage) {
        self.mark_at(key, stage, Instant::now());
    }

    fn mark_at(&self, key: &str, stage: Stage, at: Instant) {
        let mut map = self.0.lock().unwrap();
        let slot = &mut map.entry(key.to_string()).or_default()[stage as usize];
        if slot.is_none() {
            *slot = Some(at);
        }
    }
}

/// When the bench's status probe (`readyReplicas: 1` in member1) first showed in a Work's
/// status and in its binding's `aggregatedStatus`, per Deployment template (`ns/name`).
type Probes = Arc<Mutex<HashMap<String, [Option<Instant>; 2]>>>;

fn probe_mark(probes: &Probes, key: &str, step: usize) {
    probes.lock().unwrap().entry(key.to_string()).or_default()[step]
        .get_or_insert_with(Instant::now);
}

/// Whether a reported member status says `readyReplicas >= 1` (only the probes set it).
fn probed(status: Option<&Value>) -> bool {
    status
        .and_then(|s| s["readyReplicas"].as_i64())
        .unwrap_or(0)
        >= 1
}

/// Watches ResourceBindings and Works of Deployment templates on the control plane and marks
/// the stages they show. Returns once both initial lists are done.
async fn watch_stages(client: Client, members: usize, stages: Stages, probes: Probes) {
    use karmadactl::api::{self as keys, ResourceBinding, Work};
    fn condition_true(
        conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
        type_: &str,
    ) -> bool {
        conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == "True")
    }
    let (tx1, rx1) = tokio::sync::oneshot::channel::<()>();
    let mut tx1 = Some(tx1);
    let st = stages.clone();
    let pr = probes.clone();
    let mut bindings = watcher(
        Api::<ResourceBinding>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .boxed();
    tokio::spawn(async move {
        while let Some(e) = bindings.next().await {
            let b = match e {
                Ok(watcher::Event::Apply(b)) | Ok(watcher::Event::InitApply(b)) => b,
                Ok(watcher::Event::InitDone) => {
                    if let Some(tx) = tx1.take() {
                        let _ = tx.send(());
                    }
                    continue;
                }
                _ => continue,
            };
            if b.spec.resource.kind != "Deployment" {
                continue;
            }
            let key = format!("{}/{}", b.spec.resource.namespace, b.spec.resource.name);
            st.mark(&key, Stage::Binding);
            if !b.spec.clusters.is_empty() {
                st.mark(&key, Stage::Scheduled);
            }
            if b.status
                .as_ref()
                .is_some_and(|s| condition_true(&s.conditions, keys::CONDITION_FULLY_APPLIED))
            {
                st.mark(&key, Stage::BindingStatus);
            }
            if b.status.as_ref().is_some_and(|s| {
                s.aggregated_status
                    .iter()
                    .any(|i| probed(i.status.as_ref().map(|r| r.value()).as_ref()))
            }) {
                probe_mark(&pr, &key, 1);
            }
        }
    });
    let (tx2, rx2) = tokio::sync::oneshot::channel::<()>();
    let mut tx2 = Some(tx2);
    let mut works = watcher(Api::<Work>::all(client), watcher::Config::default())
        .default_backoff()
        .boxed();
    tokio::spawn(async move {
        // (binding namespace/name) -> Works seen / applied, by namespace.
        let mut seen: HashMap<
            String,
            (
                std::collections::HashSet<String>,
                std::collections::HashSet<String>,
            ),
        > = HashMap::new();
        while let Some(e) = works.next().await {
            let w = match e {
                Ok(watcher::Event::Apply(w)) | Ok(watcher::Event::InitApply(w)) => w,
                Ok(watcher::Event::InitDone) => {
                    if let Some(tx) = tx2.take() {
                        let _ = tx.send(());
                    }
                    continue;
                }
                _ => continue,
            };
            let a = w.annotations();
            let (Some(ns), Some(name)) = (
                a.get(keys::ANNOTATION_RESOURCE_BINDING_NAMESPACE),
                a.get(keys::ANNOTATION_RESOURCE_BINDING_NAME),
            ) else {
                continue;
            };
            let Some(template) = name.strip_suffix("-deployment") else {
                continue;
            };
            let key = format!("{ns}/{template}");
            let entry = seen.entry(key.clone()).or_default();
            let wns = w.namespace().unwrap_or_default();
            entry.0.insert(wns.clone());
            if w.status
                .as_ref()
                .is_some_and(|s| condition_true(&s.conditions, keys::CONDITION_APPLIED))
            {
                entry.1.insert(wns);
            }
            if w.status.as_ref().is_some_and(|s| {
                s.manifest_statuses
                    .iter()
                    .any(|m| probed(m.status.as_ref().map(|r| r.value()).as_ref()))
            }) {
                probe_mark(&probes, &key, 0);
            }
            if entry.0.len() >= members {
                stages.mark(&key, Stage::Works);
            }
            if entry.1.len() >= members {
                stages.mark(&key, Stage::WorkStatus);
            }
        }
    });
    let _ = rx1.await;
    let _ = rx2.await;
}

/// Records the first sighting of every managed Deployment/ConfigMap of one member. Returns once
/// the initial list is done.
async fn watch_member(client: Client, seen: Seen) {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let ready = Arc::new(Mutex::new(Some(ready_tx)));
    let cfg = watcher::Config::default().labels("karmada.io/managed=true");
    // Metadata-only watches: (kind, Some((namespace, name)) on a sighting, None at InitDone).
    fn sightings<K>(
        api: Api<PartialObjectMeta<K>>,
        cfg: watcher::Config,
        kind: &'static str,
    ) -> impl futures::Stream<Item = (&'static str, Option<(String, String)>)> + Send
    where
        K: kube::Resource
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + Send
            + Sync
            + 'static,
        K::DynamicType: Default,
    {
        watcher(api, cfg)
            .default_backoff()
            .filter_map(move |e| async move {
                match e.ok()? {
                    watcher::Event::Apply(o) | watcher::Event::InitApply(o) => Some((
                        kind,
                        Some((o.namespace().unwrap_or_default(), o.name_any())),
                    )),
                    watcher::Event::InitDone => Some((kind, None)),
                    _ => None,
                }
            })
    }
    let deploys = sightings(
        Api::<PartialObjectMeta<Deployment>>::all(client.clone()),
        cfg.clone(),
        "Deployment",
    );
    let cms = sightings(
        Api::<PartialObjectMeta<ConfigMap>>::all(client),
        cfg,
        "ConfigMap",
    );
    let mut inits = 0;
    let mut stream = futures::stream::select(deploys.boxed(), cms.boxed());
    tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            match item {
                (kind, Some((ns, name))) => {
                    seen.lock()
                        .unwrap()
                        .entry((kind, ns, name))
                        .or_insert_with(Instant::now);
                }
                (_, None) => {
                    inits += 1;
                    if inits == 2
                        && let Some(tx) = ready.lock().unwrap().take()
                    {
                        let _ = tx.send(());
                    }
                }
            }
        }
    });
    let _ = ready_rx.await;
}

/// Records when each template's status first shows readyReplicas >= 1.
async fn watch_template_status(
    client: Client,
    ready: Arc<Mutex<HashMap<String, Instant>>>,
    stages: Stages,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut tx = Some(tx);
    let mut stream = watcher(
        Api::<Deployment>::all(client),
        watcher::Config::default().labels(LABEL),
    )
    .default_backoff()
    .boxed();
    tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            match item {
                Ok(watcher::Event::Apply(d)) | Ok(watcher::Event::InitApply(d)) => {
                    if d.labels()
                        .contains_key(karmadactl::api::LABEL_PROPAGATION_POLICY_PERMANENT_ID)
                    {
                        let key = format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any());
                        stages.mark(&key, Stage::Claimed);
                    }
                    let r = d
                        .status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0);
                    if r >= 1 {
                        let key = format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any());
                        ready
                            .lock()
                            .unwrap()
                            .entry(key)
                            .or_insert_with(Instant::now);
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
                _ => {}
            }
        }
    });
    let _ = rx.await;
}

fn policy(ns: &str, members: &[String]) -> Value {
    json!({
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
        "metadata": {"name": "bench", "namespace": ns},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment",
                "labelSelector": {"matchLabels": {"bench": "propagation"}}}],
            "propagateDeps": true,
            "placement": {"clusterAffinity": {"clusterNames": members}}
        }
    })
}

fn config_map(ns: &str, name: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{name}-cfg"), "namespace": ns},
        "data": {"app.conf": format!("name = {name}\nlisten = 8080\n")}
    }))
    .unwrap()
}

fn deployment(ns: &str, name: &str, with_config_map: bool) -> Deployment {
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"bench": "propagation", "app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}]}],
                    "volumes": [{"name": "cfg", "configMap": {"name": format!("{name}-cfg")}}]}}}
    });
    if !with_config_map {
        let pod = &mut d["spec"]["template"]["spec"];
        pod.as_object_mut().unwrap().remove("volumes");
        pod["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("volumeMounts");
    }
    serde_json::from_value(d).unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One propagation run's shape.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Deployment templates (each with its ConfigMap when `deps`).
    n: usize,
    k: usize,
    m: usize,
    concurrency: u16,
    samples: usize,
    deps: bool,
}

impl Shape {
    fn templates(&self) -> usize {
        if self.deps { 2 * self.n } else { self.n }
    }
}

#[tokio::main]
async fn main() {
    if common::skip_unless_bench("propagation") {
        return;
    }
    let base = Shape {
        n: common::arg("--templates").unwrap_or(1000),
        k: common::arg("--namespaces").unwrap_or(10),
        m: common::arg("--members").unwrap_or(3),
        concurrency: common::arg("--concurrency").unwrap_or(8),
        samples: common::arg("--status-samples").unwrap_or(20),
        deps: common::arg("--deps").unwrap_or(true),
    };
    let json_path: Option<String> = common::arg("--json");
    let sweep = std::env::args().any(|a| a == "--sweep");
    if !sweep {
        let report = run(base).await;
        if let Some(path) = json_path {
            std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
            eprintln!("wrote {path}");
        }
        return;
    }
    // The sweep: 500, 1000, 2000 and 4000 templates (half Deployments, half their
    // ConfigMaps) to 3 members, then 200 templates to 10 members.
    let mut shapes: Vec<Shape> = [250, 500, 1000, 2000]
        .iter()
        .map(|&n| Shape {
            n,
            deps: true,
            ..base
        })
        .collect();
    shapes.push(Shape {
        n: 100,
        m: 10,
        deps: true,
        ..base
    });
    let mut reports = Vec::new();
    for shape in shapes {
        reports.push(run(shape).await);
    }
    println!("\nsweep (templates = Deployments + their ConfigMaps)");
    println!(
        "{:>9} {:>7} {:>9} {:>10} {:>8} {:>10} {:>10} {:>8} {:>10}  load before/after",
        "templates",
        "members",
        "total s",
        "peak MiB",
        "CPU s",
        "cp req/t",
        "GET/t",
        "ratio",
        "status p99"
    );
    for r in &reports {
        println!(
            "{:>9} {:>7} {:>9.1} {:>10.1} {:>8.1} {:>10.2} {:>10.2} {:>7.2}x {:>9.0}ms  {} / {}",
            r["templates_total"],
            r["members"],
            r["total_seconds"].as_f64().unwrap_or(f64::NAN),
            r["reconciler"]["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
            r["reconciler"]["cpu_seconds_until_settled"]
                .as_f64()
                .unwrap_or(f64::NAN),
            r["reconciler"]["control_plane_requests_per_template"]
                .as_f64()
                .unwrap_or(f64::NAN),
            r["reconciler"]["control_plane_gets_per_template"]
                .as_f64()
                .unwrap_or(f64::NAN),
            r["floor"]["ratio_time"].as_f64().unwrap_or(f64::NAN),
            r["status_under_load_ms"]["p99"]
                .as_f64()
                .unwrap_or(f64::NAN),
            r["machine_before"]["loadavg"].as_str().unwrap_or_default(),
            r["machine_after"]["loadavg"].as_str().unwrap_or_default(),
        );
    }
    let points: Vec<(f64, f64)> = reports
        .iter()
        .filter(|r| r["members"] == 3)
        .map(|r| {
            (
                r["templates_total"].as_f64().unwrap_or(0.0),
                r["reconciler"]["peak_rss_mib"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let slope = common::slope(&points) * 1000.0;
    println!("peak RSS slope (3 members): {slope:.1} MiB per 1000 templates");
    if let Some(path) = json_path {
        let all = json!({"bench": "propagation-sweep", "runs": reports,
            "rss_slope_mib_per_1000_templates": slope});
        std::fs::write(&path, serde_json::to_string_pretty(&all).unwrap()).unwrap();
        eprintln!("wrote {path}");
    }
}

/// Member1's status of template `(ns, name)` is patched to ready; how long until the control
/// plane's template shows it (None after 120 s).
/// One status probe, in ms from the probe's member write being sent.
#[derive(Clone, Copy, Default)]
struct Trip {
    /// The member answered the write.
    written: f64,
    /// The Work's status showed it.
    work: f64,
    /// The binding's `aggregatedStatus` showed it.
    binding: f64,
    /// The template's status showed it (the round trip).
    template: f64,
}

async fn status_round_trip(
    member1: &Client,
    status_ready: &Arc<Mutex<HashMap<String, Instant>>>,
    probes: &Probes,
    ns: &str,
    name: &str,
) -> Option<Trip> {
    let patch = json!({"status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
        "updatedReplicas": 1}});
    let t0 = Instant::now();
    Api::<Deployment>::namespaced(member1.clone(), ns)
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .ok()?;
    let written = ms(t0.elapsed());
    let key = format!("{ns}/{name}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let at = |t: Option<Instant>| t.map(|t| ms(t.saturating_duration_since(t0)));
    loop {
        if let Some(t) = status_ready.lock().unwrap().get(&key) {
            let template = ms(t.saturating_duration_since(t0));
            // The control-plane watches may deliver the Work or binding after the template.
            let seen = probes
                .lock()
                .unwrap()
                .get(&key)
                .copied()
                .unwrap_or_default();
            return Some(Trip {
                written,
                work: at(seen[0]).unwrap_or(template),
                binding: at(seen[1]).unwrap_or(template),
                template,
            });
        }
        if Instant::now() > deadline {
            eprintln!("status of {key} never reached the template");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// p50 / p99 of each step of a set of status probes, and of the whole round trip.
fn trip_steps(trips: &[Trip]) -> Value {
    let sorted = |f: &dyn Fn(&Trip) -> f64| {
        let mut v: Vec<f64> = trips.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        json!({"p50": percentile(&v, 50.0), "p99": percentile(&v, 99.0)})
    };
    json!({
        "member write": sorted(&|t| t.written),
        "member -> Work status": sorted(&|t| t.work - t.written),
        "Work -> binding status": sorted(&|t| t.binding - t.work),
        "Work -> template status": sorted(&|t| t.template - t.work),
        "member answered -> template": sorted(&|t| t.template - t.written),
    })
}

/// p50 / p99 (bucket upper bounds, ms) of the reconciler's `cache_lag_seconds` histograms.
fn cache_lags(metrics: &str) -> String {
    karmadactl::testbed::metrics::histogram_quantiles(
        metrics,
        "karmada_reconciler_cache_lag_seconds",
        "cache",
        &[0.5, 0.99],
    )
    .iter()
    .map(|(cache, (q, total))| {
        format!(
            "{cache} ≤{:.0}/≤{:.0} ms ({total})",
            q[0] * 1000.0,
            q[1] * 1000.0
        )
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn describe_steps(steps: &Value) -> String {
    steps
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    format!(
                        "{k} {:.0}/{:.0}",
                        v["p50"].as_f64().unwrap_or(f64::NAN),
                        v["p99"].as_f64().unwrap_or(f64::NAN)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

async fn run(shape: Shape) -> Value {
    let Shape {
        n,
        k,
        m,
        concurrency,
        deps,
        ..
    } = shape;
    let samples = shape.samples.min(n / 2).max(1);
    let load_before = common::machine();
    eprintln!(
        "propagation bench: {n} Deployments{} in {k} namespaces -> {m} members; \
         reconciler {} (concurrency {concurrency}); machine {load_before}",
        if deps {
            format!(" (+{n} ConfigMaps)")
        } else {
            String::new()
        },
        common::reconciler_bin().display()
    );

    let setup = Instant::now();
    let mut fed = Federation::start(m, concurrency).await;
    let cp = fed.bed.client(CONTROL_PLANE).await.unwrap();
    let mut members = Vec::new();
    for name in &fed.members {
        members.push(fed.bed.client(name).await.unwrap());
    }
    let namespaces: Vec<String> = (0..k).map(|i| format!("bench-{i}")).collect();
    let ns_api: Api<Namespace> = Api::all(cp.clone());
    for ns in &namespaces {
        let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        ns_api.create(&PostParams::default(), &obj).await.unwrap();
        let pp = policy(ns, &fed.members);
        let ar = kube::discovery::ApiResource::erase::<karmadactl::api::PropagationPolicy>(&());
        let api: Api<DynamicObject> = Api::namespaced_with(cp.clone(), ns, &ar);
        api.patch("bench", &PatchParams::apply("bench"), &Patch::Apply(&pp))
            .await
            .unwrap();
    }
    // Namespaces reach the members through namespace_sync; not part of the measurement.
    for member in &members {
        let api: Api<Namespace> = Api::all(member.clone());
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let have = api.list(&ListParams::default()).await.unwrap();
            let have: Vec<String> = have.items.iter().map(|n| n.name_any()).collect();
            if namespaces.iter().all(|n| have.contains(n)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "namespaces never reached the members"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let seen: Vec<Seen> = (0..m).map(|_| Seen::default()).collect();
    for (client, seen) in members.iter().zip(&seen) {
        watch_member(client.clone(), seen.clone()).await;
    }
    let stages = Stages::default();
    let status_ready: Arc<Mutex<HashMap<String, Instant>>> = Default::default();
    watch_template_status(cp.clone(), status_ready.clone(), stages.clone()).await;
    let probes = Probes::default();
    watch_stages(cp.clone(), m, stages.clone(), probes.clone()).await;
    fed.quiesce(Duration::from_secs(2), Duration::from_secs(60))
        .await;
    eprintln!("setup took {:.1}s", setup.elapsed().as_secs_f64());

    // --- propagation ------------------------------------------------------------------------
    let mut cp_before = common::apiserver_requests(&cp).await;
    let cp_by_resource_before = common::apiserver_requests_by_resource(&cp).await;
    let mut member_before = Vec::new();
    let mut member_by_resource_before = Vec::new();
    for c in &members {
        member_before.push(common::apiserver_requests(c).await);
        member_by_resource_before.push(common::apiserver_requests_by_resource(c).await);
    }
    let metrics_before = fed.metrics().await;
    let writes_before =
        common::metric_sum(&metrics_before, "karmada_reconciler_member_writes_total");
    let own_before = own_requests(&metrics_before);
    let stats_before = proc_stats(fed.pid());
    let log_offset = std::fs::metadata(&fed.log).map(|m| m.len()).unwrap_or(0);
    let objects: Vec<(String, String)> = (0..n)
        .map(|i| (namespaces[i % k].clone(), format!("app-{i}")))
        .collect();

    // Status round trips while the propagation runs: templates spread over the creation
    // order, each as soon as member1 has its Deployment.
    let propagating = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let under_load = {
        let member1 = members[0].clone();
        let seen1 = seen[0].clone();
        let status_ready = status_ready.clone();
        let propagating = propagating.clone();
        let probes = probes.clone();
        let picks: Vec<(String, String)> = (0..samples)
            .map(|j| objects[j * n / samples].clone())
            .collect();
        tokio::spawn(async move {
            let mut lat = Vec::new();
            for (ns, name) in picks {
                let key = ("Deployment", ns.clone(), name.clone());
                while !seen1.lock().unwrap().contains_key(&key) {
                    if !propagating.load(std::sync::atomic::Ordering::Relaxed) {
                        return lat;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if !propagating.load(std::sync::atomic::Ordering::Relaxed) {
                    return lat;
                }
                if let Some(l) =
                    status_round_trip(&member1, &status_ready, &probes, &ns, &name).await
                {
                    lat.push(l);
                }
            }
            lat
        })
    };

    let started = Instant::now();
    let created: Vec<Instant> = futures::stream::iter(objects.iter().cloned())
        .map(|(ns, name)| {
            let cp = cp.clone();
            let stages = stages.clone();
            async move {
                let t0 = Instant::now();
                if deps {
                    Api::<ConfigMap>::namespaced(cp.clone(), &ns)
                        .create(&PostParams::default(), &config_map(&ns, &name))
                        .await
                        .unwrap();
                }
                let t1 = Instant::now();
                Api::<Deployment>::namespaced(cp, &ns)
                    .create(&PostParams::default(), &deployment(&ns, &name, deps))
                    .await
                    .unwrap();
                stages.mark_at(&format!("{ns}/{name}"), Stage::Created, t1);
                t0
            }
        })
        .buffered(CREATE_CONCURRENCY)
        .collect()
        .await;
    let created_in = started.elapsed();
    // Our own requests on the control plane: the creates (not the reconciler's).
    let per_pair = if deps { 2.0 } else { 1.0 };
    *cp_before.entry("POST".into()).or_default() += per_pair * n as f64;
    eprintln!(
        "created {} objects in {:.1}s",
        per_pair as usize * n,
        created_in.as_secs_f64()
    );

    let expected = per_pair as usize * n;
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut last_report = Instant::now();
    loop {
        let counts: Vec<usize> = seen
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap()
                    .keys()
                    .filter(|(_, ns, _)| ns.starts_with("bench-"))
                    .count()
            })
            .collect();
        if counts.iter().all(|c| *c >= expected) {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {:.0}s: member objects {counts:?} of {expected} each; reconciler {:?}",
                started.elapsed().as_secs_f64(),
                proc_stats(fed.pid())
            );
            last_report = Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "propagation did not finish: {counts:?} of {expected}; log {}",
            fed.log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    propagating.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut latencies = Vec::with_capacity(n);
    let mut last_seen = started;
    for (i, (ns, name)) in objects.iter().enumerate() {
        let mut done = created[i];
        let mut deployment_done = created[i];
        for s in &seen {
            let s = s.lock().unwrap();
            let d = s[&("Deployment", ns.clone(), name.clone())];
            deployment_done = deployment_done.max(d);
            done = done.max(d);
            if deps {
                done = done.max(s[&("ConfigMap", ns.clone(), format!("{name}-cfg"))]);
            }
        }
        stages.mark_at(&format!("{ns}/{name}"), Stage::Applied, deployment_done);
        last_seen = last_seen.max(done);
        latencies.push(ms(done - created[i]));
    }
    let total = last_seen - started;
    latencies.sort_by(f64::total_cmp);
    let stats_propagated = proc_stats(fed.pid());
    eprintln!(
        "all {} member objects present after {:.1}s",
        expected * m,
        total.as_secs_f64()
    );
    let trips_under_load = under_load.await.unwrap_or_default();
    let mut status_under_load: Vec<f64> = trips_under_load.iter().map(|t| t.template).collect();
    status_under_load.sort_by(f64::total_cmp);

    // Settle (binding/Work status updates trail the applies), then count requests.
    let quiet = fed
        .quiesce(Duration::from_secs(5), Duration::from_secs(300))
        .await;
    let settled = started.elapsed();
    let cp_requests = diff(&cp_before, &common::apiserver_requests(&cp).await);
    let mut cp_by_resource = common::diff_by_resource(
        &cp_by_resource_before,
        &common::apiserver_requests_by_resource(&cp).await,
    );
    // Leave out the bench's own creates and its status patches (member side).
    for (resource, count) in [("deployments", n), ("configmaps", if deps { n } else { 0 })] {
        if let Some(v) = cp_by_resource.get_mut(&(resource.to_string(), "POST".to_string())) {
            *v -= count as f64;
        }
    }
    cp_by_resource.retain(|_, v| *v > 0.0);
    let mut member_requests = std::collections::BTreeMap::<String, f64>::new();
    for (c, before) in members.iter().zip(&member_before) {
        for (verb, v) in diff(before, &common::apiserver_requests(c).await) {
            *member_requests.entry(verb).or_default() += v;
        }
    }
    let mut member_by_resource = std::collections::BTreeMap::<(String, String), f64>::new();
    for (c, before) in members.iter().zip(&member_by_resource_before) {
        for (key, v) in
            common::diff_by_resource(before, &common::apiserver_requests_by_resource(c).await)
        {
            *member_by_resource.entry(key).or_default() += v;
        }
    }
    let metrics_settled = fed.metrics().await;
    let member_writes =
        common::metric_sum(&metrics_settled, "karmada_reconciler_member_writes_total")
            - writes_before;
    // The reconciler's own count (karmada_reconciler_api_requests_total), by target and verb.
    let own_requests: std::collections::BTreeMap<String, f64> = own_requests(&metrics_settled)
        .into_iter()
        .map(|(k, v)| (k.clone(), v - own_before.get(&k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    let stats_settled = proc_stats(fed.pid());
    let attributed = attribute_requests(&fed.log, log_offset);
    // What became of the Events the reconciler recorded (karmada_reconciler_events_total).
    let events: std::collections::BTreeMap<&str, f64> = ["created", "folded", "dropped", "failed"]
        .into_iter()
        .map(|outcome| {
            let of = |text: &str| {
                common::metric_sum_where(
                    text,
                    "karmada_reconciler_events_total",
                    &format!("outcome=\"{outcome}\""),
                )
            };
            (outcome, of(&metrics_settled) - of(&metrics_before))
        })
        .collect();

    // --- stages: where a Deployment template's time goes ---------------------------------
    let stage_rows: Vec<(String, f64, f64, f64)> = {
        let map = stages.0.lock().unwrap();
        let mut rows = Vec::new();
        for w in 1..STAGES.len() {
            let mut step = Vec::new();
            let mut since_created = Vec::new();
            for times in map.values() {
                let (Some(created), Some(at)) = (times[0], times[w]) else {
                    continue;
                };
                // The latest earlier stage seen: stages may overlap (a Work's status can trail
                // the member's object).
                let previous = (0..w).rev().find_map(|p| times[p]).unwrap_or(created);
                step.push(ms(at.saturating_duration_since(previous)));
                since_created.push(ms(at.saturating_duration_since(created)));
            }
            step.sort_by(f64::total_cmp);
            since_created.sort_by(f64::total_cmp);
            rows.push((
                STAGES[w].1.to_string(),
                percentile(&step, 50.0),
                percentile(&step, 99.0),
                percentile(&since_created, 50.0),
            ));
        }
        rows
    };

    // --- status: member change -> template status, idle --------------------------------------
    let mut trips_idle = Vec::new();
    for j in 0..samples {
        // Other templates than the ones sampled under load.
        let (ns, name) = &objects[(j * n / samples + 1).min(n - 1)];
        if let Some(l) = status_round_trip(&members[0], &status_ready, &probes, ns, name).await {
            trips_idle.push(l);
        }
    }
    let mut status_lat: Vec<f64> = trips_idle.iter().map(|t| t.template).collect();
    status_lat.sort_by(f64::total_cmp);
    let (steps_under_load, steps_idle) = (trip_steps(&trips_under_load), trip_steps(&trips_idle));
    let stats_end = proc_stats(fed.pid());

    // --- floor: the same member writes by a plain client ---------------------------------
    let mut manifests = Vec::new();
    for kind in ["Deployment", "ConfigMap"] {
        let ar = match kind {
            "Deployment" => kube::discovery::ApiResource::erase::<Deployment>(&()),
            _ => kube::discovery::ApiResource::erase::<ConfigMap>(&()),
        };
        let list = Api::<DynamicObject>::all_with(members[0].clone(), &ar)
            .list(&ListParams::default().labels("karmada.io/managed=true"))
            .await
            .unwrap();
        for o in list.items {
            let ns = o.namespace().unwrap_or_default();
            if !ns.starts_with("bench-") {
                continue;
            }
            let mut v = serde_json::to_value(&o).unwrap();
            v.as_object_mut().unwrap().remove("status");
            let meta = json!({
                "name": o.name_any(),
                "namespace": ns.replacen("bench-", "floor-", 1),
                "labels": o.labels(),
                "annotations": o.annotations(),
            });
            v["metadata"] = meta;
            // List items carry no type; a server-side apply needs it.
            v["apiVersion"] = json!(ar.api_version);
            v["kind"] = json!(ar.kind);
            manifests.push((ar.clone(), v));
        }
    }
    for c in &members {
        let api: Api<Namespace> = Api::all(c.clone());
        for i in 0..k {
            let obj: Namespace =
                serde_json::from_value(json!({"metadata": {"name": format!("floor-{i}")}}))
                    .unwrap();
            api.create(&PostParams::default(), &obj).await.unwrap();
        }
    }
    let jobs: Vec<(Client, kube::discovery::ApiResource, Value)> = members
        .iter()
        .flat_map(|c| {
            manifests
                .iter()
                .map(move |(ar, v)| (c.clone(), ar.clone(), v.clone()))
        })
        .collect();
    let floor_writes = jobs.len();
    let floor_started = Instant::now();
    futures::stream::iter(jobs)
        .map(|(c, ar, v)| async move {
            let ns = v["metadata"]["namespace"].as_str().unwrap().to_string();
            let name = v["metadata"]["name"].as_str().unwrap().to_string();
            Api::<DynamicObject>::namespaced_with(c, &ns, &ar)
                .patch(
                    &name,
                    &PatchParams::apply("bench-floor").force(),
                    &Patch::Apply(&v),
                )
                .await
                .unwrap();
        })
        .buffer_unordered(concurrency as usize)
        .collect::<Vec<_>>()
        .await;
    let floor = floor_started.elapsed();

    // --- pipeline floor: every write the pipeline makes, by a plain client -----------------
    // The reconciler stops first: it would act on the copies.
    fed.reconciler.kill();
    let (pipeline_writes, pipeline_floor) =
        pipeline_floor(&cp, &members, &fed.members, &objects, k, concurrency).await;

    // --- report -------------------------------------------------------------------------------
    let per_obj = |v: f64| v / n as f64;
    let member_total = member_requests.get("total").copied().unwrap_or(0.0);
    let cp_total = cp_requests.get("total").copied().unwrap_or(0.0);
    let cp_gets = cp_requests.get("GET").copied().unwrap_or(0.0);
    let cpu_prop = stats_propagated.cpu_secs - stats_before.cpu_secs;
    let cpu_settled = stats_settled.cpu_secs - stats_before.cpu_secs;
    let rows: Vec<(&str, String)> = vec![
        (
            "templates x members",
            format!("{n} Deployments + {n} ConfigMaps x {m}"),
        ),
        ("member objects", format!("{}", expected * m)),
        (
            "create templates (client)",
            format!("{:.1} s", created_in.as_secs_f64()),
        ),
        (
            "total: all member objects present",
            format!("{:.1} s", total.as_secs_f64()),
        ),
        (
            "settled (reconciler quiet 5 s)",
            format!(
                "{:.1} s{}",
                settled.as_secs_f64() - 5.0,
                if quiet { "" } else { " (never quiet)" }
            ),
        ),
        (
            "latency create -> in all members p50/p90/p99",
            format!(
                "{:.0} / {:.0} / {:.0} ms",
                percentile(&latencies, 50.0),
                percentile(&latencies, 90.0),
                percentile(&latencies, 99.0)
            ),
        ),
        (
            "status member -> template p50/p99, under load",
            format!(
                "{:.0} / {:.0} ms ({} samples while propagating)",
                percentile(&status_under_load, 50.0),
                percentile(&status_under_load, 99.0),
                status_under_load.len()
            ),
        ),
        (
            "status member -> template p50/p99, idle",
            format!(
                "{:.0} / {:.0} ms ({} samples)",
                percentile(&status_lat, 50.0),
                percentile(&status_lat, 99.0),
                status_lat.len()
            ),
        ),
        (
            "status steps p50/p99 ms, under load",
            describe_steps(&steps_under_load),
        ),
        ("status steps p50/p99 ms, idle", describe_steps(&steps_idle)),
        (
            "shared caches: own write -> watch p50/p99 (samples)",
            cache_lags(&metrics_settled),
        ),
        (
            "reconciler peak RSS (VmHWM)",
            format!("{:.1} MiB", stats_end.hwm_kib as f64 / 1024.0),
        ),
        (
            "reconciler CPU until present / settled",
            format!("{cpu_prop:.1} s / {cpu_settled:.1} s"),
        ),
        (
            "member writes / template",
            format!("{:.2}", per_obj(member_writes)),
        ),
        (
            "member API requests / template",
            format!("{:.2} {member_requests:?}", per_obj(member_total)),
        ),
        (
            "control-plane API requests / template",
            format!("{:.2} {cp_requests:?}", per_obj(cp_total)),
        ),
        (
            "reconciler's own count / template",
            own_requests
                .iter()
                .map(|(target, v)| format!("{target} {:.2}", per_obj(*v)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "events / template (created, folded into a series, dropped)",
            format!(
                "{:.2}, {:.2}, {:.2}",
                per_obj(events["created"]),
                per_obj(events["folded"]),
                per_obj(events["dropped"])
            ),
        ),
        (
            "control-plane GETs / template",
            format!("{:.2}", per_obj(cp_gets)),
        ),
        (
            "floor: plain client, same writes",
            format!("{floor_writes} writes in {:.1} s", floor.as_secs_f64()),
        ),
        (
            "pipeline floor: plain client, the pipeline's writes",
            format!(
                "{pipeline_writes} writes in {:.1} s (ratio reconciler / pipeline floor {:.2}x)",
                pipeline_floor.as_secs_f64(),
                total.as_secs_f64() / pipeline_floor.as_secs_f64()
            ),
        ),
        (
            "ratio reconciler / floor",
            format!(
                "time {:.2}x, member requests {:.2}x",
                total.as_secs_f64() / floor.as_secs_f64(),
                member_total / floor_writes as f64
            ),
        ),
    ];
    println!();
    for (k, v) in &rows {
        println!("{k:<46} {v}");
    }
    let table = |title: &str, by: &std::collections::BTreeMap<(String, String), f64>| {
        println!("{title}, per Deployment template (resource VERB):");
        for ((resource, verb), v) in by {
            println!(
                "    {:<40} {:>8.2}   ({v:.0})",
                format!("{resource} {verb}"),
                per_obj(*v)
            );
        }
    };
    table("control-plane requests", &cp_by_resource);
    table("member requests (all members)", &member_by_resource);
    let attributed_report = print_attributed(&attributed, n);
    println!(
        "where a Deployment template's time goes (from watch events; step = since the previous stage):"
    );
    println!(
        "    {:<32} {:>10} {:>10} {:>16}",
        "stage", "step p50", "step p99", "since create p50"
    );
    for (name, p50, p99, since) in &stage_rows {
        println!("    {name:<32} {p50:>8.0}ms {p99:>8.0}ms {since:>14.0}ms");
    }
    let load_after = common::machine();
    println!("machine before/after: {load_before} / {load_after}");
    let report = json!({
        "bench": "propagation",
        "templates": n, "templates_total": shape.templates(), "deps": deps,
        "namespaces": k, "members": m, "concurrency": concurrency,
        "member_objects": expected * m,
        "create_seconds": created_in.as_secs_f64(),
        "total_seconds": total.as_secs_f64(),
        "settled_seconds": settled.as_secs_f64() - 5.0,
        "settled": quiet,
        "latency_ms": {"p50": percentile(&latencies, 50.0), "p90": percentile(&latencies, 90.0),
            "p99": percentile(&latencies, 99.0), "max": latencies.last()},
        "status_latency_ms": {"samples": status_lat.len(), "p50": percentile(&status_lat, 50.0),
            "p99": percentile(&status_lat, 99.0), "steps": steps_idle},
        "status_under_load_ms": {"samples": status_under_load.len(),
            "p50": percentile(&status_under_load, 50.0), "p99": percentile(&status_under_load, 99.0),
            "steps": steps_under_load},
        "cache_lag": cache_lags(&metrics_settled),
        "stages_ms": stage_rows.iter().map(|(s, p50, p99, since)| json!({"stage": s, "step_p50": p50, "step_p99": p99, "since_create_p50": since})).collect::<Vec<_>>(),
        "reconciler": {
            "binary": common::reconciler_bin(),
            "peak_rss_mib": stats_end.hwm_kib as f64 / 1024.0,
            "rss_end_mib": stats_end.rss_kib as f64 / 1024.0,
            "cpu_seconds_until_present": cpu_prop,
            "cpu_seconds_until_settled": cpu_settled,
            "member_writes": member_writes,
            "member_writes_per_template": per_obj(member_writes),
            "member_requests": member_requests,
            "member_requests_per_template": per_obj(member_total),
            "control_plane_requests": cp_requests,
            "control_plane_requests_per_template": per_obj(cp_total),
            "control_plane_gets_per_template": per_obj(cp_gets),
            "control_plane_by_resource": cp_by_resource.iter().map(|((r, v), c)| (format!("{r} {v}"), *c)).collect::<std::collections::BTreeMap<_, _>>(),
            "member_by_resource": member_by_resource.iter().map(|((r, v), c)| (format!("{r} {v}"), *c)).collect::<std::collections::BTreeMap<_, _>>(),
            "own_requests": own_requests,
            "attributed_per_template": attributed_report,
            "events": events,
        },
        "floor": {"writes": floor_writes, "seconds": floor.as_secs_f64(),
            "ratio_time": total.as_secs_f64() / floor.as_secs_f64(),
            "ratio_member_requests": member_total / floor_writes as f64},
        "pipeline_floor": {"writes": pipeline_writes, "seconds": pipeline_floor.as_secs_f64(),
            "ratio_time": total.as_secs_f64() / pipeline_floor.as_secs_f64()},
        "machine_before": load_before, "machine_after": load_after,
    });
    report
}

/// The reconciler's requests, from its `karmada_api` trace lines after `offset` in its log:
/// (target, whose, "resource VERB") -> count, where whose is `deployment` (a Deployment
/// template's own objects: the template, its binding, its Works, its member copies),
/// `dependency` (its ConfigMap's), `events`, or `other` (lists and watches, Clusters, leases,
/// discovery, probes).
/// The writes the pipeline makes for each template pair, made by a plain client on copies in
/// namespaces of their own (`pfloor-*`), `concurrency` pairs at once, each pair's steps in
/// order: claim both templates, apply both bindings, apply the Works, apply the member objects,
/// then the Works' status, the bindings' status and the template's status (copied from the
/// pipeline's). What the apiservers need for the pipeline's own writes, without its reads,
/// Events, queues and decisions. Returns (writes, time).
async fn pipeline_floor(
    cp: &Client,
    members: &[Client],
    member_names: &[String],
    objects: &[(String, String)],
    k: usize,
    concurrency: u16,
) -> (usize, Duration) {
    use karmadactl::api::{self as keys, ResourceBinding, Work};
    use kube::Resource as _;
    let floor_ns = |ns: &str| ns.replacen("bench-", "pfloor-", 1);
    let floor_work_ns = |w: &Work| {
        w.namespace()
            .unwrap_or_default()
            .replacen("karmada-es-", "pfloor-es-", 1)
    };
    let create_ns = |c: Client, name: String| async move {
        let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        Api::<Namespace>::all(c)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap();
    };
    for i in 0..k {
        create_ns(cp.clone(), format!("pfloor-{i}")).await;
        for c in members {
            create_ns(c.clone(), format!("pfloor-{i}")).await;
        }
    }
    for m in member_names {
        create_ns(cp.clone(), format!("pfloor-es-{m}")).await;
    }
    // The pipeline's objects, to copy.
    let mut bindings: HashMap<(String, String), ResourceBinding> = HashMap::new();
    for b in Api::<ResourceBinding>::all(cp.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        bindings.insert((b.namespace().unwrap_or_default(), b.name_any()), b);
    }
    let mut works: HashMap<(String, String), Vec<Work>> = HashMap::new();
    for w in Api::<Work>::all(cp.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let a = w.annotations();
        if let (Some(ns), Some(name)) = (
            a.get(keys::ANNOTATION_RESOURCE_BINDING_NAMESPACE),
            a.get(keys::ANNOTATION_RESOURCE_BINDING_NAME),
        ) {
            works.entry((ns.clone(), name.clone())).or_default().push(w);
        }
    }
    let mut templates: HashMap<(String, String), Deployment> = HashMap::new();
    for d in Api::<Deployment>::all(cp.clone())
        .list(&ListParams::default().labels(LABEL))
        .await
        .unwrap()
        .items
    {
        templates.insert((d.namespace().unwrap_or_default(), d.name_any()), d);
    }
    // The templates, created as the bench created the originals (not timed).
    futures::stream::iter(objects.iter().cloned())
        .map(|(ns, name)| {
            let cp = cp.clone();
            let ns = floor_ns(&ns);
            async move {
                Api::<ConfigMap>::namespaced(cp.clone(), &ns)
                    .create(&PostParams::default(), &config_map(&ns, &name))
                    .await
                    .unwrap();
                Api::<Deployment>::namespaced(cp, &ns)
                    .create(&PostParams::default(), &deployment(&ns, &name, true))
                    .await
                    .unwrap();
            }
        })
        .buffered(CREATE_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;

    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    futures::stream::iter(objects.iter().cloned())
        .map(|(ns, name)| {
            let (cp, writes) = (cp.clone(), writes.clone());
            let pns = floor_ns(&ns);
            let keys = [
                (ns.clone(), format!("{name}-deployment")),
                (ns.clone(), format!("{name}-cfg-configmap")),
            ];
            let pair_bindings: Vec<ResourceBinding> = keys
                .iter()
                .filter_map(|k| bindings.get(k).cloned())
                .collect();
            let pair_works: Vec<Work> = keys
                .iter()
                .flat_map(|k| works.get(k).cloned().unwrap_or_default())
                .collect();
            let template = templates.get(&(ns.clone(), name.clone())).cloned();
            let members: Vec<Client> = members.to_vec();
            async move {
                let count = |n: usize| {
                    writes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                };
                let apply = PatchParams::apply("bench-floor").force();
                // Claims.
                let claim = json!({"metadata": {"labels": {
                    karmadactl::api::LABEL_PROPAGATION_POLICY_PERMANENT_ID: "floor"}}});
                let d_api = Api::<Deployment>::namespaced(cp.clone(), &pns);
                let cm_api = Api::<ConfigMap>::namespaced(cp.clone(), &pns);
                let cfg = format!("{name}-cfg");
                let (params, merge) = (PatchParams::default(), Patch::Merge(&claim));
                let (a, b) = futures::join!(
                    d_api.patch(&name, &params, &merge),
                    cm_api.patch(&cfg, &params, &merge),
                );
                a.unwrap();
                b.unwrap();
                count(2);
                // Bindings.
                let rb_api = Api::<ResourceBinding>::namespaced(cp.clone(), &pns);
                futures::future::join_all(pair_bindings.iter().map(|b| {
                    let mut v = json!({"apiVersion": ResourceBinding::api_version(&()),
                        "kind": "ResourceBinding",
                        "metadata": {"name": b.name_any(), "namespace": pns},
                        "spec": serde_json::to_value(&b.spec).unwrap()});
                    v["spec"]["resource"]["namespace"] = json!(pns);
                    let (rb_api, apply) = (rb_api.clone(), apply.clone());
                    async move {
                        rb_api
                            .patch(&b.name_any(), &apply, &Patch::Apply(&v))
                            .await
                            .unwrap()
                    }
                }))
                .await;
                count(pair_bindings.len());
                // Works.
                futures::future::join_all(pair_works.iter().map(|w| {
                    let wns = floor_work_ns(w);
                    let v = json!({"apiVersion": "work.karmada.io/v1alpha1", "kind": "Work",
                        "metadata": {"name": w.name_any(), "namespace": wns,
                            "labels": w.labels(), "annotations": w.annotations()},
                        "spec": serde_json::to_value(&w.spec).unwrap()});
                    let (cp, apply) = (cp.clone(), apply.clone());
                    async move {
                        Api::<Work>::namespaced(cp, &wns)
                            .patch(&w.name_any(), &apply, &Patch::Apply(&v))
                            .await
                            .unwrap()
                    }
                }))
                .await;
                count(pair_works.len());
                // Member objects.
                futures::future::join_all(pair_works.iter().flat_map(|w| {
                    let member = w
                        .namespace()
                        .unwrap_or_default()
                        .strip_prefix("karmada-es-member")
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| members.get(i - 1).cloned());
                    let (pns, apply) = (pns.clone(), apply.clone());
                    w.spec.workload.manifests.iter().filter_map(move |m| {
                        let mut v = m.value();
                        v["metadata"]["namespace"] = json!(pns);
                        let kind = v["kind"].as_str().unwrap_or_default().to_string();
                        let ar = match kind.as_str() {
                            "Deployment" => kube::discovery::ApiResource::erase::<Deployment>(&()),
                            _ => kube::discovery::ApiResource::erase::<ConfigMap>(&()),
                        };
                        let name = v["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        let (member, pns, apply) = (member.clone()?, pns.clone(), apply.clone());
                        Some(async move {
                            Api::<DynamicObject>::namespaced_with(member, &pns, &ar)
                                .patch(&name, &apply, &Patch::Apply(&v))
                                .await
                                .unwrap()
                        })
                    })
                }))
                .await;
                count(pair_works.len());
                // Work status.
                futures::future::join_all(pair_works.iter().map(|w| {
                    let wns = floor_work_ns(w);
                    let st = json!({"status": serde_json::to_value(&w.status).unwrap()});
                    let cp = cp.clone();
                    async move {
                        Api::<Work>::namespaced(cp, &wns)
                            .patch_status(
                                &w.name_any(),
                                &PatchParams::default(),
                                &Patch::Merge(&st),
                            )
                            .await
                            .unwrap()
                    }
                }))
                .await;
                count(pair_works.len());
                // Binding status, template status.
                futures::future::join_all(pair_bindings.iter().map(|b| {
                    let st = json!({"status": serde_json::to_value(&b.status).unwrap()});
                    let rb_api = rb_api.clone();
                    async move {
                        rb_api
                            .patch_status(
                                &b.name_any(),
                                &PatchParams::default(),
                                &Patch::Merge(&st),
                            )
                            .await
                            .unwrap()
                    }
                }))
                .await;
                count(pair_bindings.len());
                let status = template
                    .and_then(|t| t.status)
                    .map(|s| serde_json::to_value(s).unwrap())
                    .unwrap_or_else(|| json!({"observedGeneration": 1}));
                d_api
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"status": status})),
                    )
                    .await
                    .unwrap();
                count(1);
            }
        })
        .buffer_unordered(concurrency as usize)
        .collect::<Vec<_>>()
        .await;
    let took = started.elapsed();
    (writes.load(std::sync::atomic::Ordering::Relaxed), took)
}

fn attribute_requests(
    log: &std::path::Path,
    offset: u64,
) -> std::collections::BTreeMap<(String, &'static str, String), f64> {
    use std::io::{BufRead as _, Seek as _};
    let mut out = std::collections::BTreeMap::new();
    let Ok(mut file) = std::fs::File::open(log) else {
        return out;
    };
    if file.seek(std::io::SeekFrom::Start(offset)).is_err() {
        return out;
    }
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Some((_, rest)) = line.split_once(" karmada_api: ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(target), Some(verb), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (whose, resource) = whose(path);
        *out.entry((target.to_string(), whose, format!("{resource} {verb}")))
            .or_default() += 1.0;
    }
    out
}

/// Whose request a path is (see [`attribute_requests`]) and its resource (`works/status`).
fn whose(path: &str) -> (&'static str, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") if segments.len() > 2 => &segments[2..],
        Some(&"apis") if segments.len() > 3 => &segments[3..],
        _ => return ("other", "discovery".into()),
    };
    let rest = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        &rest[2..]
    } else {
        rest
    };
    let resource = match rest.get(2) {
        Some(sub) => format!("{}/{sub}", rest[0]),
        None => rest[0].to_string(),
    };
    let name = rest.get(1).copied().unwrap_or_default();
    let whose = if rest[0] == "events" {
        "events"
    } else if name.contains("-cfg") {
        "dependency"
    } else if name.starts_with("app-") {
        "deployment"
    } else {
        "other"
    };
    (whose, resource)
}

/// Prints the attributed requests per Deployment template; returns them for the JSON report.
fn print_attributed(
    attributed: &std::collections::BTreeMap<(String, &'static str, String), f64>,
    n: usize,
) -> Value {
    if attributed.is_empty() {
        println!("requests by object: none traced (set karmada_api=trace in BENCH_RECONCILER_LOG)");
        return Value::Null;
    }
    let per = |v: f64| v / n as f64;
    let mut report = serde_json::Map::new();
    for target in ["control-plane", "member"] {
        println!(
            "{target} requests per Deployment template, by whose object (reconciler's trace):"
        );
        for whose in ["deployment", "dependency", "events", "other"] {
            let rows: Vec<(&String, f64)> = attributed
                .iter()
                .filter(|((t, w, _), _)| t == target && *w == whose)
                .map(|((_, _, r), v)| (r, *v))
                .collect();
            let total: f64 = rows.iter().map(|(_, v)| v).sum();
            let detail: Vec<String> = rows
                .iter()
                .map(|(r, v)| format!("{r} {:.2}", per(*v)))
                .collect();
            println!(
                "    {whose:<11} {:>7.2}   {}",
                per(total),
                detail.join(", ")
            );
            report.insert(
                format!("{target} {whose}"),
                json!({"total": per(total), "by": rows.iter().map(|(r, v)| ((*r).clone(), json!(per(*v)))).collect::<serde_json::Map<_, _>>()}),
            );
        }
    }
    Value::Object(report)
}

/// `karmada_reconciler_api_requests_total` summed by target (`control-plane`, `member`), and
/// by target and verb (`control-plane GET`).
fn own_requests(metrics: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for target in ["control-plane", "member"] {
        out.insert(
            target.to_string(),
            common::metric_sum_where(
                metrics,
                "karmada_reconciler_api_requests_total",
                &format!("target=\"{target}\""),
            ),
        );
        for verb in ["GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "DELETE"] {
            out.insert(
                format!("{target} {verb}"),
                common::metric_sum_where(
                    metrics,
                    "karmada_reconciler_api_requests_total",
                    &format!("target=\"{target}\",verb=\"{verb}\""),
                ),
            );
        }
    }
    out
}
