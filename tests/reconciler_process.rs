//! karmada-reconciler as an operator runs it: leader election on a Lease (one active replica,
//! a standby takes over), /healthz, /readyz and Prometheus /metrics, graceful SIGTERM; absurd
//! durations refused at start.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use karmadactl::testbed::{BedSpec, CONTROL_PLANE, TestBed};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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

fn start(bed: &TestBed, port: u16, log: &str) -> Child {
    let out = std::fs::File::create(bed.dir().join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_karmada-reconciler"))
        .args([
            "--kubeconfig",
            &bed.kubeconfig().display().to_string(),
            "--context",
            CONTROL_PLANE,
        ])
        .args([
            "--leader-elect=true",
            "--metrics-bind-address",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap()
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

    let (p1, p2) = (free_port(), free_port());
    let mut first = start(&bed, p1, "reconciler-1.log");
    wait_for("first replica leads", Duration::from_secs(60), || {
        is_leader(p1).filter(|l| *l)
    });
    let mut second = start(&bed, p2, "reconciler-2.log");
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
    let metrics = wait_for("the first reconciliations", Duration::from_secs(60), || {
        let (_, m) = get(p1, "/metrics")?;
        let line = m.lines().find(|l| {
            l.starts_with("karmada_reconciler_reconciles_total{controller=\"namespace\"}")
        })?;
        (!line.ends_with(" 0")).then_some(m)
    });
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
        let line = m.lines().find(|l| {
            l.starts_with(
                "karmada_reconciler_api_requests_total{target=\"control-plane\",verb=\"WATCH\"}",
            )
        })?;
        (line.rsplit(' ').next()?.parse::<u64>().ok()? > 0).then_some(())
    });
    let lease = Api::<Lease>::namespaced(cp.clone(), "karmada-system")
        .get("karmada-reconciler")
        .await
        .unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some());

    // SIGTERM: the leader exits cleanly and promptly; the standby takes over.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    let status = wait_for(
        "leader exits after SIGTERM",
        Duration::from_secs(20),
        || first.try_wait().unwrap(),
    );
    assert!(status.success(), "exit status {status:?}");
    wait_for("standby takes over", Duration::from_secs(60), || {
        is_leader(p2).filter(|l| *l)
    });
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn absurd_durations_are_refused_at_start() {
    for flag in [
        "--cluster-status-update-frequency",
        "--cluster-failure-threshold",
        "--cluster-success-threshold",
        "--cluster-probe-timeout",
        "--failover-eviction-timeout",
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
