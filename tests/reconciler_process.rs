//! karmada-reconciler as an operator runs it: leader election on a Lease (one active replica,
//! a standby takes over), /healthz, /readyz and Prometheus /metrics, graceful SIGTERM whatever
//! the process is doing; absurd durations refused at start.
//!
//! Every wait is on something observable (a log line, /metrics, the Lease), never on a fixed
//! pause, so a loaded machine only makes the tests slower.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use karmadactl::testbed::{BedSpec, CONTROL_PLANE, Reconciler, TestBed};

/// The default `--shutdown-grace-period`.
const GRACE: Duration = Duration::from_secs(10);
/// Beyond the grace (which the reconciler enforces itself): process exit and reaping on a
/// loaded machine.
const EXIT_SLACK: Duration = Duration::from_secs(2);

/// A plain HTTP/1.0 GET; returns (status code, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

fn is_leader(port: u16) -> Option<bool> {
    let (_, metrics) = get(port, "/metrics")?;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("karmada_reconciler_leader "))?;
    Some(line.ends_with(" 1"))
}

/// A replica (with leader election unless `flags` say otherwise), its log in
/// `<bed dir>/<name>.log`; killed when dropped.
fn start(bed: &TestBed, name: &str, flags: &[&str]) -> Reconciler {
    let elect = !flags.iter().any(|f| f.starts_with("--leader-elect"));
    Reconciler::builder(env!("CARGO_BIN_EXE_karmada-reconciler"), bed)
        .log(bed.dir().join(format!("{name}.log")))
        .args(elect.then_some("--leader-elect=true"))
        .args(flags.iter().copied())
        .start()
        .unwrap()
}

/// SIGTERM; the process must exit 0 within `grace` (plus [`EXIT_SLACK`]).
fn sigterm(reconciler: &mut Reconciler, grace: Duration, phase: &str) {
    let sent = Instant::now();
    let status = reconciler
        .terminate(grace + EXIT_SLACK)
        .unwrap_or_else(|e| panic!("SIGTERM {phase}: {e}"));
    assert!(
        status.success(),
        "SIGTERM {phase}: exit status {status:?}{}",
        reconciler.log_tail()
    );
    eprintln!("SIGTERM {phase}: exited 0 after {:?}", sent.elapsed());
}

/// Polls the log every few milliseconds (not [`Reconciler::wait_for_log`]'s 200 ms): the
/// caller acts as soon as `needle` shows.
fn wait_for_log_now(reconciler: &mut Reconciler, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reconciler.log_text().contains(needle) {
        assert!(
            reconciler.exited().is_none(),
            "exited before logging {needle:?}{}",
            reconciler.log_tail()
        );
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log{}",
            reconciler.log_tail()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn reconciled_namespaces(port: u16) -> Option<()> {
    let (_, m) = get(port, "/metrics")?;
    let line = m
        .lines()
        .find(|l| l.starts_with("karmada_reconciler_reconciles_total{controller=\"namespace\"}"))?;
    (!line.ends_with(" 0")).then_some(())
}

async fn lease_holder(cp: &kube::Client) -> Option<String> {
    Api::<Lease>::namespaced(cp.clone(), "karmada-system")
        .get_opt("karmada-reconciler")
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_election_probes_metrics_and_sigterm() {
    let bed = TestBed::start(BedSpec::new(&[])).await.unwrap();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();

    let mut first = start(&bed, "reconciler-1", &[]);
    let p1 = first.metrics_port();
    wait_for("first replica leads", Duration::from_secs(60), || {
        is_leader(p1).filter(|l| *l)
    });
    let mut second = start(&bed, "reconciler-2", &[]);
    let p2 = second.metrics_port();
    wait_for("second replica serves", Duration::from_secs(60), || {
        is_leader(p2)
    });
    assert_eq!(is_leader(p2), Some(false), "only one replica may be active");

    for port in [p1, p2] {
        assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200));
        assert_eq!(
            get(port, "/readyz").map(|r| r.0),
            Some(200),
            "a standby is ready too"
        );
    }
    // The namespace controller reconciles the control plane's namespaces as soon as it starts.
    wait_for("the first reconciliations", Duration::from_secs(60), || {
        reconciled_namespaces(p1)
    });
    let (_, metrics) = get(p1, "/metrics").expect("/metrics answers");
    for family in [
        "reconciles counter",
        "reconcile_errors counter",
        "reconcile_duration_seconds histogram",
        "queue_depth gauge",
    ] {
        let line = format!("# TYPE karmada_reconciler_{family}");
        assert!(metrics.contains(&line), "/metrics lacks {line}:\n{metrics}");
    }
    assert!(
        metrics.contains("karmada_reconciler_reconciles_total{controller=\"namespace\"}"),
        "{metrics}"
    );
    // Its own count of API requests: the controllers' watches of the control plane.
    wait_for("a counted WATCH request", Duration::from_secs(30), || {
        let (_, m) = get(p1, "/metrics")?;
        // Summed over the resource label.
        let watches: u64 = m
            .lines()
            .filter(|l| {
                l.starts_with(
                    "karmada_reconciler_api_requests_total{target=\"control-plane\",verb=\"WATCH\",",
                )
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        (watches > 0).then_some(())
    });
    let lease = Api::<Lease>::namespaced(cp.clone(), "karmada-system")
        .get("karmada-reconciler")
        .await
        .unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some());

    // SIGTERM: the leader exits cleanly and promptly; the standby takes over.
    sigterm(&mut first, GRACE, "to the leader");
    wait_for("standby takes over", Duration::from_secs(60), || {
        is_leader(p2).filter(|l| *l)
    });
    second.kill();
}

/// SIGTERM in every phase of a replica's life ends it, with status 0, within the grace
/// period, releasing the lease when the API is there to take the release.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_every_phase_exits_within_the_grace_period() {
    let mut bed = TestBed::start(BedSpec::new(&[])).await.unwrap();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();

    let mut leader = start(&bed, "leader", &[]);
    wait_for("the first replica leads", Duration::from_secs(60), || {
        is_leader(leader.metrics_port()).filter(|l| *l)
    });
    let holder = lease_holder(&cp).await;
    assert!(holder.is_some(), "the leader holds the lease");

    // Starting: its first log line comes after the signal handlers are installed.
    let mut starting = start(&bed, "starting", &[]);
    wait_for_log_now(&mut starting, "serving /healthz");
    sigterm(&mut starting, GRACE, "while starting");

    // A standby, waiting for the lease the leader holds.
    let mut standby = start(&bed, "standby", &[]);
    wait_for_log_now(&mut standby, "waiting for the leader-election lease");
    wait_for("the standby serves", Duration::from_secs(60), || {
        is_leader(standby.metrics_port()).filter(|l| !*l)
    });
    sigterm(&mut standby, GRACE, "while waiting for the lease");
    assert_eq!(
        lease_holder(&cp).await,
        holder,
        "a standby leaves the lease alone"
    );

    // The leader, reconciling: it releases the lease on its way out.
    wait_for("the first reconciliations", Duration::from_secs(60), || {
        reconciled_namespaces(leader.metrics_port())
    });
    sigterm(&mut leader, GRACE, "while reconciling");
    assert_eq!(
        lease_holder(&cp).await,
        None,
        "the leader released the lease"
    );

    // Right after "starting controllers": their caches are (most likely) still syncing.
    let mut new_leader = start(&bed, "new-leader", &[]);
    wait_for_log_now(&mut new_leader, "starting controllers");
    sigterm(&mut new_leader, GRACE, "right after starting controllers");

    // Reconciling, then the control plane goes away: nothing answers, the lease cannot be
    // released.
    let mut cut_off = start(&bed, "cut-off", &[]);
    wait_for(
        "the next replica reconciles",
        Duration::from_secs(60),
        || reconciled_namespaces(cut_off.metrics_port()),
    );
    bed.stop_cluster(CONTROL_PLANE).await.unwrap();
    sigterm(&mut cut_off, GRACE, "with the control plane unreachable");

    // Started while the control plane is unreachable: the controllers' caches never sync. A
    // shorter grace than the default, by flag.
    let grace = Duration::from_secs(4);
    let mut unsynced = start(
        &bed,
        "unsynced",
        &["--leader-elect=false", "--shutdown-grace-period", "4s"],
    );
    wait_for_log_now(&mut unsynced, "starting controllers");
    sigterm(&mut unsynced, grace, "while caches cannot sync");
}

#[test]
fn absurd_durations_are_refused_at_start() {
    for flag in [
        "--cluster-status-update-frequency",
        "--cluster-failure-threshold",
        "--cluster-success-threshold",
        "--cluster-probe-timeout",
        "--failover-eviction-timeout",
        "--graceful-eviction-timeout",
    ] {
        for value in ["1e400", "99999999999999999999h", "-1s", "36600d"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_karmada-reconciler"))
                .arg(format!("{flag}={value}"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
            assert!(
                err.contains(flag)
                    && (err.contains("invalid duration") || err.contains("too long")),
                "{flag} {value}: {err}"
            );
        }
    }
}

/// A loopback TCP proxy to the control plane that the test can cut: new connections are refused
/// and open ones dropped, as when a network partition isolates the leader.
struct Proxy {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn to(upstream: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Proxy { port, cut, task }
    }

    fn cut(self) {
        self.task.abort();
        let _ = self.cut.send(true);
    }
}

/// The time at the start of a log line (tracing's RFC 3339 UTC timestamp).
fn logged_at(log: &str, needle: &str) -> Option<String> {
    log.lines()
        .find(|l| l.contains(needle))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
}

/// A leader cut off from its control plane stops acting before its lease expires, and exits
/// non-zero, so the standby that takes over never acts beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_leader_cut_off_stops_before_the_standby_takes_over() {
    let bed = TestBed::start(BedSpec::new(&[])).await.unwrap();
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();
    let server = bed
        .clusters()
        .find(|c| c.name == CONTROL_PLANE)
        .unwrap()
        .server
        .clone();
    let upstream: std::net::SocketAddr = server.trim_start_matches("https://").parse().unwrap();
    let proxy = Proxy::to(upstream).await;
    let proxied = bed.dir().join("proxied.kubeconfig");
    let text = std::fs::read_to_string(bed.kubeconfig())
        .unwrap()
        .replace(&server, &format!("https://127.0.0.1:{}", proxy.port));
    karmadactl::kubeconfig::write_private(&proxied, text.as_bytes()).unwrap();

    let mut leader = karmadactl::testbed::ReconcilerBuilder::new(
        env!("CARGO_BIN_EXE_karmada-reconciler"),
        &proxied,
        bed.dir().join("cut-off-leader.log"),
    )
    .context(CONTROL_PLANE)
    .args(["--leader-elect=true"])
    .start()
    .unwrap();
    wait_for("the proxied replica leads", Duration::from_secs(60), || {
        is_leader(leader.metrics_port()).filter(|l| *l)
    });
    let standby = start(&bed, "standby", &[]);
    wait_for("the standby serves", Duration::from_secs(60), || {
        is_leader(standby.metrics_port()).filter(|l| !*l)
    });

    proxy.cut();
    let status = wait_for("the cut-off leader exits", Duration::from_secs(60), || {
        leader.exited()
    });
    assert!(
        !status.success(),
        "a leader that lost its lease exits non-zero, got {status:?}{}",
        leader.log_tail()
    );
    wait_for("the standby takes over", Duration::from_secs(60), || {
        is_leader(standby.metrics_port()).filter(|l| *l)
    });
    let old = leader.log_text();
    let stopped = logged_at(&old, "aborting the controllers at once").unwrap_or_else(|| {
        panic!(
            "the old leader aborted its controllers{}",
            leader.log_tail()
        )
    });
    assert!(
        old.contains("was not seen renewed"),
        "the old leader says why{}",
        leader.log_tail()
    );
    let took_over = logged_at(&standby.log_text(), "acquired the leader-election lease")
        .expect("the standby logs its acquisition");
    // RFC 3339 UTC timestamps of one clock compare as text.
    assert!(
        stopped < took_over,
        "the old leader stopped acting at {stopped}, after the standby took over at {took_over}"
    );
    eprintln!("cut-off leader stopped at {stopped}; standby took over at {took_over}");
}
