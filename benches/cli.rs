//! CLI latency (docs/performance.md): `karmadactl version --client` and `karmadactl get
//! clusters` (10 Cluster objects on a real control-plane kube-apiserver) as whole processes,
//! repeated; wall time and peak RSS of each run from wait4's rusage.
//!
//!   cargo bench --bench cli -- [--runs N] [--json PATH]
//!
//! The binary is the one cargo built for the bench (release profile), or `$KARMADACTL_BIN`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{median, percentile};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use karmadactl::testbed::{BedSpec, CONTROL_PLANE, TestBed};

fn karmadactl() -> PathBuf {
    std::env::var_os("KARMADACTL_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_karmadactl")))
}

/// Runs `args` once; returns (wall ms, max RSS KiB) or panics with its stderr on failure.
fn run_once(args: &[String]) -> (f64, u64) {
    let t0 = Instant::now();
    let child = Command::new(karmadactl())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start karmadactl");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; pid is our unreaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t0.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(r, pid, "wait4 failed");
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut err);
        }
        panic!("karmadactl {args:?} failed ({status}): {err}");
    }
    std::mem::forget(child); // already reaped
    (wall, usage.ru_maxrss as u64)
}

/// Peak RSS (KiB) of one run under GNU time, which forks the command from its own small
/// process. (wait4's ru_maxrss of a child we spawn includes our own pages: Command spawns with
/// vfork semantics, so before exec the child shares this process's memory.)
fn peak_rss_gnu_time(args: &[String]) -> Option<u64> {
    let out = tempfile::NamedTempFile::new().ok()?;
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(out.path())
        .arg(karmadactl())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(())?;
    std::fs::read_to_string(out.path())
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn measure(name: &str, args: &[String], runs: usize) -> serde_json::Value {
    for _ in 0..3 {
        run_once(args); // warm the page cache
    }
    let (mut wall, rusage_rss): (Vec<f64>, Vec<f64>) = (0..runs)
        .map(|_| run_once(args))
        .map(|(w, r)| (w, r as f64 / 1024.0))
        .unzip();
    // GNU time when installed (apt-get install time); else wait4's figure, an upper bound.
    let mut rss: Vec<f64> = (0..runs.min(10))
        .filter_map(|_| peak_rss_gnu_time(args))
        .map(|k| k as f64 / 1024.0)
        .collect();
    let rss_source = if rss.is_empty() {
        rss = rusage_rss;
        "wait4 ru_maxrss (upper bound: includes the parent's pages)"
    } else {
        "/usr/bin/time %M"
    };
    wall.sort_by(f64::total_cmp);
    rss.sort_by(f64::total_cmp);
    let row = json!({
        "command": name, "runs": runs,
        "wall_ms": {"median": median(&wall), "min": wall[0], "p90": percentile(&wall, 90.0),
            "max": wall[wall.len() - 1]},
        "max_rss_mib": {"median": median(&rss), "max": rss[rss.len() - 1], "source": rss_source},
    });
    println!(
        "{name:<40} median {:>7.1} ms  min {:>7.1}  p90 {:>7.1}  peak RSS {:>5.1} MiB (max {:.1})",
        median(&wall),
        wall[0],
        percentile(&wall, 90.0),
        median(&rss),
        rss[rss.len() - 1]
    );
    row
}

#[tokio::main]
async fn main() {
    if common::skip_unless_bench("cli") {
        return;
    }
    let runs: usize = common::arg("--runs").unwrap_or(30);
    let json_path: Option<String> = common::arg("--json");
    let before = common::machine();
    eprintln!(
        "cli bench: {} x{runs}; machine {before}",
        karmadactl().display()
    );

    let bed = TestBed::start(BedSpec::new(&[]))
        .await
        .expect("test bed starts (run hack/build-test-binaries.sh first)");
    let cp = bed.client(CONTROL_PLANE).await.unwrap();
    karmadactl::install::crds::install_crds(&cp).await.unwrap();
    let ar = kube::discovery::ApiResource::erase::<karmadactl::api::Cluster>(&());
    let clusters: Api<DynamicObject> = Api::all_with(cp.clone(), &ar);
    for i in 1..=10 {
        let name = format!("member{i}");
        let obj = json!({
            "apiVersion": "cluster.karmada.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {"syncMode": "Push", "apiEndpoint": format!("https://10.0.0.{i}:6443")}
        });
        clusters
            .patch(&name, &PatchParams::apply("bench"), &Patch::Apply(&obj))
            .await
            .unwrap();
        let status = json!({"status": {"kubernetesVersion": "v1.37.2",
            "conditions": [{"type": "Ready", "status": "True", "reason": "ClusterReady",
                "message": "cluster is healthy and ready to accept workloads",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        clusters
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }
    let kubeconfig = bed.kubeconfig().display().to_string();
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let rows = vec![
        measure(
            "karmadactl version --client",
            &s(&["version", "--client"]),
            runs,
        ),
        measure(
            "karmadactl get clusters (10)",
            &s(&["--kubeconfig", &kubeconfig, "get", "clusters"]),
            runs,
        ),
    ];
    let after = common::machine();
    println!("machine before/after: {before} / {after}");
    if let Some(path) = json_path {
        let report = json!({"bench": "cli", "binary": karmadactl(), "results": rows,
            "machine_before": before, "machine_after": after});
        std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("wrote {path}");
    }
}
