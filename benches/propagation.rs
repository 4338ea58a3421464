//! Propagation benchmark (docs/performance.md): N Deployment templates, each with a ConfigMap
//! it mounts (followed via propagateDeps), across K namespaces, one PropagationPolicy per
//! namespace targeting all M members; the reconciler runs as a release-mode process.
//!
//!   cargo bench --bench propagation -- [--templates N] [--namespaces K] [--members M]
//!       [--concurrency C] [--status-samples S] [--json PATH]
//!
//! Measures: time until every member object exists and per-object latency from template
//! creation to "present in every target member" (member objects seen by kube watchers, no
//! polling); member status change -> template status; reconciler peak RSS, CPU seconds, member
//! writes and API requests per object (from each kube-apiserver's `apiserver_request_total`);
//! and the floor: the same member writes by a plain kube client at the same concurrency.

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
async fn watch_template_status(client: Client, ready: Arc<Mutex<HashMap<String, Instant>>>) {
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

fn deployment(ns: &str, name: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"bench": "propagation", "app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}]}],
                    "volumes": [{"name": "cfg", "configMap": {"name": format!("{name}-cfg")}}]}}}
    }))
    .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    if common::skip_unless_bench("propagation") {
        return;
    }
    let n: usize = common::arg("--templates").unwrap_or(1000);
    let k: usize = common::arg("--namespaces").unwrap_or(10);
    let m: usize = common::arg("--members").unwrap_or(3);
    let concurrency: u16 = common::arg("--concurrency").unwrap_or(8);
    let samples: usize = common::arg("--status-samples").unwrap_or(20).min(n);
    let json_path: Option<String> = common::arg("--json");
    let load_before = common::machine();
    eprintln!(
        "propagation bench: {n} templates (+{n} ConfigMaps) in {k} namespaces -> {m} members; \
         reconciler {} (concurrency {concurrency}); machine {load_before}",
        common::reconciler_bin().display()
    );

    let setup = Instant::now();
    let fed = Federation::start(m, concurrency).await;
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
    let status_ready: Arc<Mutex<HashMap<String, Instant>>> = Default::default();
    watch_template_status(cp.clone(), status_ready.clone()).await;
    fed.quiesce(Duration::from_secs(2), Duration::from_secs(60))
        .await;
    eprintln!("setup took {:.1}s", setup.elapsed().as_secs_f64());

    // --- propagation ------------------------------------------------------------------------
    let mut cp_before = common::apiserver_requests(&cp).await;
    let mut member_before = Vec::new();
    for c in &members {
        member_before.push(common::apiserver_requests(c).await);
    }
    let metrics_before = fed.metrics().await;
    let writes_before =
        common::metric_sum(&metrics_before, "karmada_reconciler_member_writes_total");
    let own_before = own_requests(&metrics_before);
    let stats_before = proc_stats(fed.pid());
    let objects: Vec<(String, String)> = (0..n)
        .map(|i| (namespaces[i % k].clone(), format!("app-{i}")))
        .collect();
    let started = Instant::now();
    let created: Vec<Instant> = futures::stream::iter(objects.iter().cloned())
        .map(|(ns, name)| {
            let cp = cp.clone();
            async move {
                let t0 = Instant::now();
                Api::<ConfigMap>::namespaced(cp.clone(), &ns)
                    .create(&PostParams::default(), &config_map(&ns, &name))
                    .await
                    .unwrap();
                Api::<Deployment>::namespaced(cp, &ns)
                    .create(&PostParams::default(), &deployment(&ns, &name))
                    .await
                    .unwrap();
                t0
            }
        })
        .buffered(CREATE_CONCURRENCY)
        .collect()
        .await;
    let created_in = started.elapsed();
    // Our own requests on the control plane: 2 creates per object (not the reconciler's).
    *cp_before.entry("POST".into()).or_default() += 2.0 * n as f64;
    eprintln!(
        "created {} objects in {:.1}s",
        2 * n,
        created_in.as_secs_f64()
    );

    let expected = 2 * n;
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
    let mut latencies = Vec::with_capacity(n);
    let mut last_seen = started;
    for (i, (ns, name)) in objects.iter().enumerate() {
        let mut done = created[i];
        for s in &seen {
            let s = s.lock().unwrap();
            for key in [
                ("Deployment", ns.clone(), name.clone()),
                ("ConfigMap", ns.clone(), format!("{name}-cfg")),
            ] {
                done = done.max(s[&key]);
            }
        }
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

    // Settle (binding/Work status updates trail the applies), then count requests.
    let quiet = fed
        .quiesce(Duration::from_secs(5), Duration::from_secs(300))
        .await;
    let settled = started.elapsed();
    let cp_requests = diff(&cp_before, &common::apiserver_requests(&cp).await);
    let mut member_requests = std::collections::BTreeMap::<String, f64>::new();
    for (c, before) in members.iter().zip(&member_before) {
        for (verb, v) in diff(before, &common::apiserver_requests(c).await) {
            *member_requests.entry(verb).or_default() += v;
        }
    }
    let metrics_settled = fed.metrics().await;
    let member_writes =
        common::metric_sum(&metrics_settled, "karmada_reconciler_member_writes_total")
            - writes_before;
    // The reconciler's own count (karmada_reconciler_api_requests_total), by target.
    let own_requests: std::collections::BTreeMap<String, f64> = own_requests(&metrics_settled)
        .into_iter()
        .map(|(k, v)| (k.clone(), v - own_before.get(&k).copied().unwrap_or(0.0)))
        .collect();
    let stats_settled = proc_stats(fed.pid());

    // --- status: member change -> template status ----------------------------------------
    let mut status_lat = Vec::new();
    let m1_deploys = |ns: &str| Api::<Deployment>::namespaced(members[0].clone(), ns);
    for j in 0..samples {
        let (ns, name) = &objects[j * n / samples.max(1)];
        let patch = json!({"status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "updatedReplicas": 1}});
        let t0 = Instant::now();
        m1_deploys(ns)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        let key = format!("{ns}/{name}");
        let deadline = Instant::now() + Duration::from_secs(120);
        let done = loop {
            if let Some(t) = status_ready.lock().unwrap().get(&key) {
                break Some(*t);
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        match done {
            Some(t) => status_lat.push(ms(t.saturating_duration_since(t0))),
            None => eprintln!("status of {key} never reached the template"),
        }
    }
    status_lat.sort_by(f64::total_cmp);
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

    // --- report -------------------------------------------------------------------------------
    let per_obj = |v: f64| v / n as f64;
    let member_total = member_requests.get("total").copied().unwrap_or(0.0);
    let cp_total = cp_requests.get("total").copied().unwrap_or(0.0);
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
            "status member -> template p50/p99",
            format!(
                "{:.0} / {:.0} ms ({} samples)",
                percentile(&status_lat, 50.0),
                percentile(&status_lat, 99.0),
                status_lat.len()
            ),
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
            "floor: plain client, same writes",
            format!("{floor_writes} writes in {:.1} s", floor.as_secs_f64()),
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
    let load_after = common::machine();
    println!("machine before/after: {load_before} / {load_after}");
    let report = json!({
        "bench": "propagation",
        "templates": n, "namespaces": k, "members": m, "concurrency": concurrency,
        "member_objects": expected * m,
        "create_seconds": created_in.as_secs_f64(),
        "total_seconds": total.as_secs_f64(),
        "settled_seconds": settled.as_secs_f64() - 5.0,
        "settled": quiet,
        "latency_ms": {"p50": percentile(&latencies, 50.0), "p90": percentile(&latencies, 90.0),
            "p99": percentile(&latencies, 99.0), "max": latencies.last()},
        "status_latency_ms": {"samples": status_lat.len(), "p50": percentile(&status_lat, 50.0),
            "p99": percentile(&status_lat, 99.0)},
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
            "own_requests": own_requests,
        },
        "floor": {"writes": floor_writes, "seconds": floor.as_secs_f64(),
            "ratio_time": total.as_secs_f64() / floor.as_secs_f64(),
            "ratio_member_requests": member_total / floor_writes as f64},
        "machine_before": load_before, "machine_after": load_after,
    });
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("wrote {path}");
    }
}

/// `karmada_reconciler_api_requests_total` summed by target (`control-plane`, `member`).
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
    }
    out
}
