//! karmada-reconciler: the one controller process of the control plane. It turns resource
//! templates + policies into ResourceBindings and Works, applies them to member clusters and
//! brings their status back. See docs/architecture.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use karmadactl::reconciler::{self, Options};

#[derive(Debug, Parser)]
#[command(
    name = "karmada-reconciler",
    version,
    about = "Propagates resource templates to member clusters"
)]
struct Args {
    /// `reconciler`: the control plane's controllers. `agent`: the pull-mode agent of one member
    /// (--cluster-name), run in that member; its control-plane kubeconfig is the Secret
    /// karmada-system/karmada-agent-config that `karmadactl register` wrote there
    #[arg(long, value_enum, default_value = "reconciler")]
    mode: Mode,

    /// Kubeconfig of the Karmada control plane (default: in-cluster config, then $KUBECONFIG,
    /// ~/.kube/config); with --mode=agent, of the member the agent serves
    #[arg(long, env = "KARMADA_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,

    /// Agent: the member cluster's name in the control plane
    #[arg(long, required_if_eq("mode", "agent"))]
    cluster_name: Option<String>,

    /// Agent: the member's API endpoint recorded in its Cluster
    #[arg(long, default_value = "")]
    cluster_api_endpoint: String,

    /// Agent: the Cluster's provider
    #[arg(long, default_value = "")]
    cluster_provider: String,

    /// Agent: the Cluster's region
    #[arg(long, default_value = "")]
    cluster_region: String,

    /// Agent: the Cluster's zones
    #[arg(long, value_delimiter = ',')]
    cluster_zones: Vec<String>,

    /// Agent: how long its Lease in karmada-cluster lasts (renewed every quarter of it)
    #[arg(long, default_value = "40s", value_parser = karmadactl::duration::parse)]
    cluster_lease_duration: Duration,

    /// Agent: renew the client certificate once only this share of its lifetime is left
    #[arg(long, default_value_t = 0.2, value_parser = fraction)]
    cert_rotation_remaining_time_threshold: f64,

    /// Reconciler: how long a Pull cluster's agent may leave its Lease unrenewed before the
    /// cluster is marked Ready=Unknown
    #[arg(long, default_value = "40s", value_parser = karmadactl::duration::parse)]
    cluster_lease_grace: Duration,

    /// Context in --kubeconfig (default: its current context)
    #[arg(long)]
    context: Option<String>,

    /// Address for /healthz, /readyz and /metrics
    #[arg(long, default_value = "127.0.0.1:10358")]
    metrics_bind_address: SocketAddr,

    /// Take a Lease before reconciling, so only one replica acts at a time
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,

    /// Namespace of the leader-election Lease
    #[arg(long, default_value = "karmada-system")]
    leader_elect_namespace: String,

    /// How often each member's health is probed
    #[arg(long, default_value = "10s", value_parser = karmadactl::duration::parse)]
    cluster_status_update_frequency: Duration,

    /// How long a member may fail its probes before it is marked Ready=False
    #[arg(long, default_value = "30s", value_parser = karmadactl::duration::parse)]
    cluster_failure_threshold: Duration,

    /// How long a member's probes must succeed before it is marked Ready=True again
    #[arg(long, default_value = "30s", value_parser = karmadactl::duration::parse)]
    cluster_success_threshold: Duration,

    /// Timeout of one health probe
    #[arg(long, default_value = "5s", value_parser = karmadactl::duration::parse)]
    cluster_probe_timeout: Duration,

    /// Deprecated, no effect: as in Karmada, health taints are NoSchedule only and NoExecute
    /// (failover) comes from a ClusterTaintPolicy. Accepted so existing command lines work
    #[arg(long, value_parser = karmadactl::duration::parse)]
    failover_eviction_timeout: Option<Duration>,

    /// How long a graceful eviction task without gracePeriodSeconds keeps the old copy of a
    /// workload that is moving away (while its new copy is not healthy yet)
    #[arg(long, default_value = "10m", value_parser = karmadactl::duration::parse)]
    graceful_eviction_timeout: Duration,

    /// How a NoExecute taint evicts workloads whose policy sets no failover.cluster.purgeMode:
    /// Gracefully (keep the old copy until the new one is healthy) or Directly
    #[arg(long, default_value = "Gracefully", value_parser = karmadactl::reconciler::taint_eviction::parse_purge_mode)]
    no_execute_taint_eviction_purge_mode: karmadactl::api::policy::PurgeMode,

    /// How long deleting a Work retries a member that cannot be reached (or refuses) before
    /// giving up: the Work goes anyway and an Event names what was left in the member. A Cluster
    /// being deleted that is not Ready gives up at once
    #[arg(long, default_value = "5m", value_parser = karmadactl::duration::parse)]
    cluster_deletion_grace_period: Duration,

    /// Namespaces (regular expressions) never propagated to members, besides the reserved ones
    #[arg(long, value_delimiter = ',', default_value = "kube-.*")]
    skipped_propagating_namespaces: Vec<String>,

    /// Concurrent reconciliations per controller (Works: per member, see --member-concurrency)
    #[arg(long, default_value_t = 8)]
    concurrency: u16,

    /// Concurrent Work reconciliations per member cluster: a member that hangs holds only its
    /// own slots, the others keep their pace
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    member_concurrency: u16,

    /// Bound of one request to a member cluster (watches excepted: the member ends those)
    #[arg(long, default_value = "15s", value_parser = karmadactl::duration::parse)]
    member_request_timeout: Duration,

    /// Log as JSON lines
    #[arg(long)]
    log_json: bool,

    /// Install (server-side apply) the Karmada CRDs before starting, as `karmadactl init` does
    #[arg(long)]
    install_crds: bool,

    /// How long stopping may take after SIGTERM or SIGINT, whatever the process is doing:
    /// in-flight reconciliations finish, then the leader-election lease is released; what has
    /// not stopped by then is abandoned and the process exits 0
    #[arg(long, default_value = "10s", value_parser = karmadactl::duration::parse)]
    shutdown_grace_period: Duration,
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        _ => Err(format!("{s:?} is not a share between 0 (exclusive) and 1")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Reconciler,
    Agent,
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,kube_runtime=warn,kube_client=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder
            .with_ansi(karmadactl::output::color_enabled())
            .init();
    }
}

/// glibc gives each thread that meets contention an arena of its own (up to eight per CPU),
/// and what is freed in one arena is not reused by the others: with two, the propagation
/// bench's peak RSS fell by 8% (docs/performance.md). An operator's `MALLOC_ARENA_MAX` wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: only sets an allocator parameter, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let args = Args::parse();
    init_tracing(args.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(args));
    // Anything still running (abandoned at the end of the grace period) is dropped here; do not
    // wait on blocking threads either.
    runtime.shutdown_timeout(Duration::from_millis(500));
    code
}

/// Runs until stopped. Once SIGTERM or SIGINT arrives, everything left has
/// `--shutdown-grace-period` to finish; then the process exits 0 regardless.
async fn run(args: Args) -> ExitCode {
    // Registered before anything else, so no signal falls back to the default action (death).
    let shutdown = match shutdown_signal() {
        Ok(s) => s.boxed().shared(),
        Err(e) => {
            tracing::error!("cannot install the SIGTERM and SIGINT handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let grace = args.shutdown_grace_period;
    let work = start(args, shutdown.clone());
    tokio::pin!(work);
    let result = tokio::select! {
        result = &mut work => result,
        () = shutdown.clone() => match tokio::time::timeout(grace, &mut work).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    "shutdown did not complete within the grace period ({grace:?}, \
                     --shutdown-grace-period); exiting anyway"
                );
                return ExitCode::SUCCESS;
            }
        },
    };
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(args: Args, shutdown: Shared<BoxFuture<'static, ()>>) -> Result<(), String> {
    if args.failover_eviction_timeout.is_some() {
        tracing::warn!(
            "--failover-eviction-timeout has no effect: add a ClusterTaintPolicy with a NoExecute taint for failover (docs/failover.md)"
        );
    }
    if args.mode == Mode::Agent {
        return start_agent(args, shutdown).await;
    }
    let client = karmadactl::client::connect::control_plane_client(
        args.kubeconfig.as_deref(),
        args.context.as_deref(),
    )
    .await
    .map_err(|e| format!("cannot build a client for the control plane: {e}"))?;
    if args.install_crds {
        tokio::select! {
            biased;
            () = shutdown.clone() => return Ok(()),
            installed = karmadactl::install::crds::install_crds(&client) => {
                installed.map_err(|e| format!("installing the CRDs failed: {e}"))?;
            }
        }
        tracing::info!("CRDs installed");
    }
    let options = options(&args, None);
    reconciler::run(client, options, shutdown)
        .await
        .map_err(|e| e.to_string())
}

/// The reconciler's settings from its flags; `agent`: the cluster of `--mode=agent`.
fn options(args: &Args, agent: Option<String>) -> Options {
    Options {
        metrics_bind_address: args.metrics_bind_address,
        // An agent serves one member: there is no standby to hand over to.
        leader_elect: args.leader_elect && agent.is_none(),
        leader_elect_namespace: args.leader_elect_namespace.clone(),
        cluster_status_update_frequency: args.cluster_status_update_frequency,
        cluster_failure_threshold: args.cluster_failure_threshold,
        cluster_success_threshold: args.cluster_success_threshold,
        cluster_probe_timeout: args.cluster_probe_timeout,
        graceful_eviction_timeout: args.graceful_eviction_timeout,
        no_execute_taint_eviction_purge_mode: args.no_execute_taint_eviction_purge_mode,
        cluster_deletion_grace_period: args.cluster_deletion_grace_period,
        skipped_propagating_namespaces: args.skipped_propagating_namespaces.clone(),
        concurrency: args.concurrency,
        shutdown_grace_period: args.shutdown_grace_period,
        member_concurrency: args.member_concurrency,
        member_request_timeout: args.member_request_timeout,
        agent,
        cluster_lease_grace: args.cluster_lease_grace,
    }
}

async fn start_agent(args: Args, shutdown: Shared<BoxFuture<'static, ()>>) -> Result<(), String> {
    use karmadactl::reconciler::agent::{self, AgentOptions};
    let cluster = args.cluster_name.clone().unwrap_or_default();
    karmadactl::api::names::validate_cluster_name(&cluster)
        .map_err(|e| format!("--cluster-name: {e}"))?;
    let config = match &args.kubeconfig {
        Some(path) => karmadactl::client::connect::Target {
            kubeconfig: Some(path.clone()),
            context: args.context.clone(),
        }
        .config(None)
        .await
        .map_err(|e| e.to_string())?,
        None => kube::Config::infer()
            .await
            .map_err(|e| format!("no member config: {e}; pass --kubeconfig"))?,
    };
    let member = agent::member_clients(config, args.member_request_timeout)
        .map_err(|e| format!("cannot build a client for the member: {e}"))?;
    let options = options(&args, Some(cluster.clone()));
    let mut opts = AgentOptions::new(&cluster);
    opts.api_endpoint = args.cluster_api_endpoint;
    opts.provider = args.cluster_provider;
    opts.region = args.cluster_region;
    opts.zones = args.cluster_zones;
    opts.lease_duration = args.cluster_lease_duration;
    opts.renew_threshold = args.cert_rotation_remaining_time_threshold;
    agent::run(member, options, opts, shutdown)
        .await
        .map_err(|e| e.to_string())
}

/// Installs the SIGTERM and SIGINT handlers now; the future resolves on either signal.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
            _ = interrupt.recv() => tracing::info!("interrupt received, shutting down"),
        }
    })
}
