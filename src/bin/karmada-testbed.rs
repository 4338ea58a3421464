//! karmada-testbed: runs a test bed (etcd, a kube-apiserver per cluster, kube-controller-manager
//! for the control plane) in the foreground until SIGTERM/SIGINT. A development tool; see
//! `hack/local-up.sh`, which starts it in the background and waits for `<state-dir>/ready`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use karmadactl::testbed::{BedSpec, CONTROL_PLANE, ReconcilerBuilder, TestBed};
use karmadactl::{Error, Result, kubeconfig};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(
    name = "karmada-testbed",
    version,
    about = "Runs real kube-apiservers on loopback for local development"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a control plane and member clusters; stop them on SIGTERM/SIGINT
    Up(UpArgs),
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Directory for certificates, etcd data, logs, and the `pids` and `ready` files
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,

    /// Number of member clusters (member1..memberN)
    #[arg(long, default_value_t = 2)]
    members: usize,

    /// Kubeconfig to merge the contexts into (karmada-apiserver, member1, ...)
    #[arg(long, value_name = "PATH")]
    kubeconfig_out: PathBuf,

    /// Also run this karmada-reconciler against the control plane (with --install-crds), logged
    /// to `<state-dir>/reconciler.log`, stopped with the bed
    #[arg(long, value_name = "PATH")]
    reconciler: Option<PathBuf>,

    /// The reconciler's /healthz, /readyz and /metrics port
    #[arg(long, default_value_t = 10358, value_name = "PORT")]
    reconciler_port: u16,
}

/// How long the reconciler may take to stop (its own grace period is 10 s).
const RECONCILER_STOP: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Up(args) = Cli::parse().command;
    match up(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("karmada-testbed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn up(args: UpArgs) -> Result<()> {
    let ready = args.state_dir.join("ready");
    let pids = args.state_dir.join("pids");
    for stale in [&ready, &pids] {
        remove_if_exists(stale)?;
    }
    // Listen before starting anything, so a signal during start-up also stops cleanly.
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::io("SIGTERM handler", e))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::io("SIGINT handler", e))?;

    let members: Vec<String> = (1..=args.members).map(|i| format!("member{i}")).collect();
    let spec = BedSpec {
        members,
        controller_manager: true,
        state_dir: Some(args.state_dir.clone()),
    };
    eprintln!(
        "karmada-testbed: starting {CONTROL_PLANE} and {} member(s) in {}",
        args.members,
        args.state_dir.display()
    );
    let mut bed = tokio::select! {
        bed = TestBed::start(spec) => bed?,
        _ = term.recv() => return Ok(()),
        _ = int.recv() => return Ok(()),
    };

    let entries: Vec<_> = bed.clusters().map(|c| c.entry()).collect();
    kubeconfig::merge_into_file(&args.kubeconfig_out, &entries, Some(CONTROL_PLANE))?;

    // The one reconciler launcher of tests, benches and local-up (killed with this process).
    let mut reconciler = match &args.reconciler {
        Some(binary) => Some(
            ReconcilerBuilder::new(
                binary,
                &args.kubeconfig_out,
                args.state_dir.join("reconciler.log"),
            )
            .context(CONTROL_PLANE)
            .metrics_port(args.reconciler_port)
            .args(["--install-crds", "--leader-elect=false"])
            .start()?,
        ),
        None => None,
    };

    let mut listing = format!("karmada-testbed {}\n", std::process::id());
    for (name, pid) in bed.pids() {
        listing.push_str(&format!("{name} {pid}\n"));
    }
    if let Some(r) = &reconciler {
        listing.push_str(&format!("karmada-reconciler {}\n", r.pid()));
    }
    write_atomically(&pids, &listing)?;
    write_atomically(&ready, &format!("{}\n", args.kubeconfig_out.display()))?;
    for cluster in bed.clusters() {
        eprintln!(
            "karmada-testbed: {} ready at {}",
            cluster.name, cluster.server
        );
    }
    eprintln!(
        "karmada-testbed: contexts written to {}; logs: {}",
        args.kubeconfig_out.display(),
        bed.dir().display()
    );

    let mut watch = tokio::time::interval(Duration::from_secs(2));
    let outcome = loop {
        tokio::select! {
            _ = term.recv() => break Ok(()),
            _ = int.recv() => break Ok(()),
            _ = watch.tick() => {
                if let Err(e) = bed.check_processes() {
                    break Err(e);
                }
                if let Some(status) = reconciler.as_mut().and_then(|r| r.exited()) {
                    eprintln!(
                        "karmada-testbed: karmada-reconciler exited ({status}); see {}",
                        args.state_dir.join("reconciler.log").display()
                    );
                    reconciler = None;
                }
            }
        }
    };
    // The reconciler first, while the control plane it talks to is still there.
    if let Some(mut r) = reconciler
        && let Err(e) = r.terminate(RECONCILER_STOP)
    {
        eprintln!("karmada-testbed: {e}");
    }
    // `ready` must not outlive the processes it vouches for.
    let _ = std::fs::remove_file(&ready);
    drop(bed);
    let _ = std::fs::remove_file(&pids);
    eprintln!("karmada-testbed: stopped");
    outcome
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Readers poll for these files; they must never see half a file.
fn write_atomically(path: &Path, content: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
