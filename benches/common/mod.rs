//! Shared by the benchmarks: a federation on the test bed with the reconciler as a separate
//! (release) process whose metrics port and pid we know, process statistics from /proc, the
//! reconciler's and the apiservers' request counters, and small statistics helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use karmadactl::client::connect::Target;
use karmadactl::ops::join::{self, JoinOptions};
use karmadactl::testbed::{BedSpec, CONTROL_PLANE, Reconciler, TestBed};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The reconciler binary: `$KARMADA_RECONCILER_BIN`, else the one cargo built for this bench
/// (`cargo bench` builds it with the release profile).
pub fn reconciler_bin() -> PathBuf {
    std::env::var_os("KARMADA_RECONCILER_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_karmada-reconciler")))
}

/// The reconciler stops first (fields drop in order), while its clusters are still there.
pub struct Federation {
    pub reconciler: Reconciler,
    pub bed: TestBed,
    pub metrics_port: u16,
    pub log: PathBuf,
    pub members: Vec<String>,
}

impl Federation {
    /// Control plane (with kube-controller-manager) + `members`, the CRDs, the reconciler,
    /// and every member joined and Ready.
    pub async fn start(members: usize, concurrency: u16) -> Federation {
        let names: Vec<String> = (1..=members).map(|i| format!("member{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        // kube-controller-manager's garbage collector removes the bindings (and so the Works
        // and member objects) of deleted templates, as in a real control plane.
        let bed = TestBed::start(BedSpec {
            controller_manager: true,
            ..BedSpec::new(&refs)
        })
        .await
        .expect("test bed starts (run hack/build-test-binaries.sh first)");
        let cp = bed.client(CONTROL_PLANE).await.unwrap();
        karmadactl::install::crds::install_crds(&cp)
            .await
            .expect("CRDs install");
        let reconciler = spawn_reconciler(&bed, concurrency);
        let (metrics_port, log) = (reconciler.metrics_port(), reconciler.log().to_path_buf());
        let target = Target {
            kubeconfig: Some(bed.kubeconfig().to_path_buf()),
            context: Some(CONTROL_PLANE.into()),
        };
        for m in &names {
            let opts = JoinOptions {
                name: m.clone(),
                member_kubeconfig: bed.kubeconfig().to_path_buf(),
                ..Default::default()
            };
            let (plan, member, ca) = join::plan(&cp, &target, &opts).await.expect("join plan");
            join::join(&cp, &plan, &member, ca, &opts)
                .await
                .expect("join");
            join::wait_ready(&cp, m, Duration::from_secs(120))
                .await
                .expect("member becomes Ready");
        }
        Federation {
            reconciler,
            bed,
            metrics_port,
            log,
            members: names,
        }
    }

    pub fn pid(&self) -> u32 {
        self.reconciler.pid()
    }

    /// SIGKILL the reconciler and start a new one (same flags and port, log appended).
    pub fn restart_reconciler(&mut self) {
        self.reconciler
            .restart()
            .unwrap_or_else(|e| panic!("restarting {}: {e}", reconciler_bin().display()));
    }

    pub async fn metrics(&self) -> String {
        scrape(self.metrics_port).await
    }

    /// Waits until the reconciler has run no reconciliation for `quiet` (at most `limit`).
    pub async fn quiesce(&self, quiet: Duration, limit: Duration) -> bool {
        let start = tokio::time::Instant::now();
        let mut last = -1.0;
        let mut since = tokio::time::Instant::now();
        while start.elapsed() < limit {
            // The cluster controller probes members periodically; everything else is event-driven.
            let text = self.metrics().await;
            let now = metric_sum(&text, "karmada_reconciler_reconciles_total")
                - metric_sum_where(
                    &text,
                    "karmada_reconciler_reconciles_total",
                    "controller=\"cluster\"",
                );
            if now != last {
                last = now;
                since = tokio::time::Instant::now();
            } else if since.elapsed() >= quiet {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }
}

/// The reconciler as the benchmarks run it; its log is `<bed dir>/reconciler.log`.
fn spawn_reconciler(bed: &TestBed, concurrency: u16) -> Reconciler {
    Reconciler::builder(reconciler_bin(), bed)
        .args([
            "--leader-elect=false",
            "--cluster-status-update-frequency",
            "5s",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .env(
            "RUST_LOG",
            // `karmada_api=trace`: one line per request, which the propagation bench attributes
            // to the objects the requests concern.
            std::env::var("BENCH_RECONCILER_LOG").unwrap_or_else(|_| {
                "info,kube_runtime=warn,kube_client=warn,karmada_api=trace".into()
            }),
        )
        .start()
        .unwrap_or_else(|e| panic!("starting {}: {e}", reconciler_bin().display()))
}

/// `GET /metrics` from the reconciler (empty while it is not listening).
pub async fn scrape(port: u16) -> String {
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

/// Sum of every sample of `name` (any labels) in a Prometheus text exposition.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Like [`metric_sum`], only samples whose labels contain `label` (e.g. `controller="cluster"`).
pub fn metric_sum_where(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `apiserver_request_total` of one kube-apiserver, by verb, leaving out `leases` (the
/// apiserver's own identity leases; the reconciler runs without leader election here).
pub async fn apiserver_requests(client: &kube::Client) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for ((_, verb), n) in apiserver_requests_by_resource(client).await {
        *out.entry(verb).or_default() += n;
    }
    out
}

/// `after - before`, per verb, plus "total".
pub fn diff(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    let total = out.values().sum();
    out.insert("total".into(), total);
    out
}

/// Peak and current resident set (KiB) and CPU seconds (user+system) of `pid`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStats {
    pub hwm_kib: u64,
    pub rss_kib: u64,
    pub cpu_secs: f64,
}

pub fn proc_stats(pid: u32) -> ProcStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after "(comm) ": state is the 1st; utime and stime the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    ProcStats {
        hwm_kib: kib("VmHWM:"),
        rss_kib: kib("VmRSS:"),
        cpu_secs: (ticks(11) + ticks(12)) / tick,
    }
}

/// Nearest-rank percentile of sorted `values` (`p` in 0..=100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

/// Load average and how many CPUs, to print next to every figure.
pub fn machine() -> serde_json::Value {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "loadavg": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it.
/// Benchmarks start real clusters for minutes, so under `cargo test` they only say how to run.
pub fn skip_unless_bench(name: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return false;
    }
    eprintln!(
        "{name}: a benchmark; run it with `cargo bench --bench {name}` (skipped under cargo test)"
    );
    true
}

/// `--name value` from the command line (cargo bench adds `--bench`, which we ignore).
pub fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}"))
        })
}

/// `apiserver_request_total` of one kube-apiserver by `(resource, verb)` (leases left out), to
/// show which kinds a request count comes from.
pub async fn apiserver_requests_by_resource(
    client: &kube::Client,
) -> BTreeMap<(String, String), f64> {
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client.request_text(req).await.unwrap_or_default();
    karmadactl::testbed::metrics::requests_by_resource(&text)
}

/// `after - before` of [`apiserver_requests_by_resource`], only what grew.
pub fn diff_by_resource(
    before: &BTreeMap<(String, String), f64>,
    after: &BTreeMap<(String, String), f64>,
) -> BTreeMap<(String, String), f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// Least-squares slope of `y` over `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let num: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    num / den
}
