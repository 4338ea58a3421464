//! The controllers of `karmada-reconciler`, one module each, on kube-runtime:
//!
//! ```text
//! template + policy --detector--> ResourceBinding --scheduler--> binding.spec.clusters
//!   --binding--> Work per cluster (karmada-es-<cluster>) --execution--> member object
//!   member status --execution--> Work status --binding-status--> binding status --> template status
//! (Cluster)OverridePolicy --binding--> per-cluster changes in each Work (overrides.rs)
//! Cluster --cluster_health--> Ready, version, APIs, summaries, health taints
//! NoExecute taint --scheduler (taint_eviction)--> binding.spec.gracefulEvictionTasks
//! unhealthy workload --application_failover--> binding.spec.gracefulEvictionTasks
//! new targets healthy / grace over --graceful_eviction--> task removed, old Work deleted
//! Namespace --namespace_sync--> a Work per member cluster
//! ```
//! Every controller only writes when something would change.

pub mod agent;
pub mod agent_csr;
pub mod application_failover;
pub mod binding;
pub mod binding_status;
pub mod cache;
pub mod cluster_health;
pub mod context;
pub mod dependencies;
pub mod detector;
pub mod execution;
pub mod graceful_eviction;
pub mod interpreting;
pub mod leader;
pub mod member_watches;
pub mod metrics;
pub mod namespace_sync;
pub mod packed;
pub mod scheduler;
pub mod server;
pub mod taint_eviction;
pub mod toolkit;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use kube::Client;

pub use context::Context;

/// A shutdown signal that also fires when the returned sender is used or dropped (leadership
/// lost, a controller ended).
pub(crate) fn stoppable(shutdown: Shutdown) -> (tokio::sync::oneshot::Sender<()>, Shutdown) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop: Shutdown = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = stop_rx => {}
        }
    }
    .boxed()
    .shared();
    (stop_tx, stop)
}

/// Settings of one reconciler process (the binary's flags).
#[derive(Debug, Clone)]
pub struct Options {
    pub metrics_bind_address: SocketAddr,
    pub leader_elect: bool,
    pub leader_elect_namespace: String,
    pub cluster_status_update_frequency: Duration,
    /// How long probe failures must last before a Ready cluster is marked not Ready.
    pub cluster_failure_threshold: Duration,
    /// How long probe successes must last before a not-Ready cluster is marked Ready.
    pub cluster_success_threshold: Duration,
    pub cluster_probe_timeout: Duration,
    /// How long a graceful eviction task without `gracePeriodSeconds` keeps the old copy at
    /// most (`--graceful-eviction-timeout`).
    pub graceful_eviction_timeout: Duration,
    /// How a NoExecute taint evicts when the policy sets no `failover.cluster.purgeMode`.
    pub no_execute_taint_eviction_purge_mode: crate::api::policy::PurgeMode,
    /// How long a Work's deletion retries a member that cannot be reached (or refuses) before
    /// its finalizer is released anyway, with an Event naming what was left in the member.
    pub cluster_deletion_grace_period: Duration,
    pub skipped_propagating_namespaces: Vec<String>,
    /// Concurrent reconciliations per controller (the execution controller: see
    /// `member_concurrency`).
    pub concurrency: u16,
    /// How long stopping may take once shutdown is requested (see [`run`]).
    pub shutdown_grace_period: Duration,
    /// Concurrent Work reconciliations per member cluster.
    pub member_concurrency: u16,
    /// Bound of one member request other than a watch.
    pub member_request_timeout: Duration,
    /// Set in a pull-mode agent: the one cluster it serves (see [`agent`]).
    pub agent: Option<String>,
    /// How long a Pull cluster's Lease may go unrenewed before the control plane marks it
    /// Ready=Unknown.
    pub cluster_lease_grace: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            metrics_bind_address: ([127, 0, 0, 1], 0).into(),
            leader_elect: false,
            leader_elect_namespace: "karmada-system".into(),
            cluster_status_update_frequency: Duration::from_secs(10),
            cluster_failure_threshold: Duration::from_secs(30),
            cluster_success_threshold: Duration::from_secs(30),
            cluster_probe_timeout: Duration::from_secs(5),
            graceful_eviction_timeout: Duration::from_secs(600),
            no_execute_taint_eviction_purge_mode: crate::api::policy::PurgeMode::Gracefully,
            cluster_deletion_grace_period: Duration::from_secs(300),
            skipped_propagating_namespaces: vec!["kube-.*".into()],
            concurrency: 8,
            shutdown_grace_period: Duration::from_secs(10),
            member_concurrency: 8,
            member_request_timeout: crate::client::member::DEFAULT_REQUEST_TIMEOUT,
            agent: None,
            cluster_lease_grace: Duration::from_secs(40),
        }
    }
}

/// Resolves once when the process should stop; cloneable so every controller can wait on it.
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// The reconciler's error type: what failed, for logs and Events.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Kube(#[from] kube::Error),
    #[error("member cluster {cluster}: {message}")]
    Member { cluster: String, message: String },
    /// A fault of ours, not of the object reconciled.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0}")]
    Lib(#[from] crate::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs every controller until `shutdown` resolves, leadership is lost, or a controller (or the
/// probe server) stops on its own; the latter two are errors.
///
/// Whatever phase the process is in (starting, waiting for the lease, starting controllers,
/// syncing caches, reconciling, the API unreachable), stopping is bounded by
/// [`Options::shutdown_grace_period`]: the controllers get 70% of it to finish their in-flight
/// reconciliations (those still running then are aborted), then the lease is released within
/// the next 20%. The caller should still enforce the whole grace as a hard deadline.
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let shutdown: Shutdown = shutdown.boxed().shared();
    let grace = options.shutdown_grace_period;
    // What the controllers stop on: `shutdown`, or `stop_tx` when leadership is lost or another
    // controller ended.
    let (stop_tx, stop) = stoppable(shutdown.clone());
    let health = server::Health::default();
    let ctx = Arc::new(Context::new(client.clone(), options.clone()));
    ctx.metrics.register_controllers(&CONTROLLERS);

    // Serves until this function returns (then the set aborts it); /readyz turns 503 while
    // stopping.
    let mut server = tokio::task::JoinSet::new();
    server.spawn(server::serve(
        options.metrics_bind_address,
        health.clone(),
        ctx.metrics.clone(),
        futures::future::pending(),
    ));

    // Ready once serving: a standby replica is healthy too; `karmada_reconciler_leader` says
    // which replica is active.
    health.ready.store(true, Ordering::Relaxed);
    let mut elector = None;
    if options.leader_elect {
        let namespace = &options.leader_elect_namespace;
        let candidate = tokio::select! {
            biased;
            _ = shutdown.clone() => None,
            started = leader::Elector::start(&client, namespace) => Some(started?),
            ended = server.join_next() => return Err(server_ended(ended)),
        };
        let Some(mut candidate) = candidate else {
            tracing::info!("stopped before joining leader election");
            return Ok(());
        };
        let acquired = tokio::select! {
            biased;
            _ = shutdown.clone() => false,
            acquired = candidate.acquired() => {
                acquired?;
                true
            }
            ended = server.join_next() => {
                release_lease(candidate, grace.mul_f64(0.2)).await;
                return Err(server_ended(ended));
            }
        };
        if !acquired {
            tracing::info!("stopped before acquiring the leader-election lease");
            release_lease(candidate, grace.mul_f64(0.9)).await;
            return Ok(());
        }
        elector = Some(candidate);
    }

    ctx.metrics.leader.set(1);
    tracing::info!("starting controllers");
    let mut controllers = tokio::task::JoinSet::new();
    let mut running = HashMap::new();
    let tasks: [(&'static str, BoxFuture<'static, ()>); 9] = [
        ("detector", detector::run(ctx.clone(), stop.clone()).boxed()),
        (
            "scheduler",
            scheduler::run(ctx.clone(), stop.clone()).boxed(),
        ),
        ("binding", binding::run(ctx.clone(), stop.clone()).boxed()),
        (
            "graceful-eviction",
            graceful_eviction::run(ctx.clone(), stop.clone()).boxed(),
        ),
        (
            "application-failover",
            application_failover::run(ctx.clone(), stop.clone()).boxed(),
        ),
        (
            "execution",
            execution::run(ctx.clone(), stop.clone()).boxed(),
        ),
        (
            "cluster",
            cluster_health::run(ctx.clone(), stop.clone()).boxed(),
        ),
        (
            "namespace",
            namespace_sync::run(ctx.clone(), stop.clone()).boxed(),
        ),
        (
            "agent-csr",
            agent_csr::run(ctx.clone(), stop.clone()).boxed(),
        ),
    ];
    for (name, task) in tasks {
        running.insert(controllers.spawn(task).id(), name);
    }

    let mut lease_lost = false;
    let outcome = tokio::select! {
        biased;
        _ = shutdown.clone() => Ok(()),
        _ = lost(&mut elector) => {
            lease_lost = true;
            Err(crate::Error::Internal(
                "lost the leader-election lease; exiting so a restart can re-acquire it".into()
            ))
        }
        ended = controllers.join_next_with_id() => {
            let (name, how) = finished(&mut running, ended);
            Err(crate::Error::Internal(format!("controller {name} {how} on its own; exiting so a restart brings it back")))
        }
        ended = server.join_next() => Err(server_ended(ended)),
    };
    if let Err(e) = &outcome {
        tracing::error!("{e}; stopping");
    }
    let stopping = tokio::time::Instant::now();
    let _ = stop_tx.send(());
    health.ready.store(false, Ordering::Relaxed);

    // Without the lease another replica may act already: no reconciliation may go on writing.
    if lease_lost {
        tracing::info!("aborting the controllers at once");
        controllers.abort_all();
    }
    // The controllers first: a reconciliation in flight may still write, so the lease is held
    // until they are done.
    tracing::info!(grace = ?grace, "stopping controllers");
    let controllers_deadline = stopping + grace.mul_f64(0.7);
    let drained = tokio::time::timeout_at(controllers_deadline, async {
        while let Some(ended) = controllers.join_next_with_id().await {
            let (name, how) = finished(&mut running, Some(ended));
            if how != "stopped" && !lease_lost {
                tracing::error!(controller = name, "controller {how} while stopping");
            }
        }
    })
    .await;
    if drained.is_err() {
        let mut stuck: Vec<&str> = running.values().copied().collect();
        stuck.sort_unstable();
        tracing::warn!(
            "controllers still running after {:?} of the shutdown grace period, aborted: {}",
            grace.mul_f64(0.7),
            stuck.join(", ")
        );
        controllers.abort_all();
    }
    if let Some(elector) = elector {
        // A lost lease is not ours to release: only stop the lease manager.
        let lease_deadline = if lease_lost {
            tokio::time::Instant::now() + Duration::from_secs(1)
        } else {
            stopping + grace.mul_f64(0.9)
        };
        release_lease(
            elector,
            lease_deadline.saturating_duration_since(tokio::time::Instant::now()),
        )
        .await;
    }
    ctx.metrics.leader.set(0);
    tracing::info!("controllers stopped");
    outcome
}

/// The controllers, as named in metrics and logs.
const CONTROLLERS: [&str; 10] = [
    "detector",
    "scheduler",
    "binding",
    binding_status::CONTROLLER,
    "graceful-eviction",
    "application-failover",
    "execution",
    "cluster",
    "namespace",
    "agent-csr",
];

/// Resolves once leadership is lost; never without leader election.
async fn lost(elector: &mut Option<leader::Elector>) {
    match elector {
        Some(elector) => elector.lost().await,
        None => futures::future::pending().await,
    }
}

/// The name of the controller that ended and how ("stopped", "panicked: ...").
fn finished(
    running: &mut HashMap<tokio::task::Id, &'static str>,
    ended: Option<Result<(tokio::task::Id, ()), tokio::task::JoinError>>,
) -> (&'static str, String) {
    match ended {
        None => ("(none)", "stopped".into()),
        Some(Ok((id, ()))) => (running.remove(&id).unwrap_or("?"), "stopped".into()),
        Some(Err(e)) => {
            let name = running.remove(&e.id()).unwrap_or("?");
            let how = if e.is_panic() {
                format!("panicked: {}", panic_message(e.into_panic()))
            } else {
                "was cancelled".into()
            };
            (name, how)
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// The probe server ended before the process did (it does not stop by itself).
fn server_ended(
    ended: Option<Result<std::io::Result<()>, tokio::task::JoinError>>,
) -> crate::Error {
    match ended {
        Some(Ok(Err(e))) => crate::Error::io("serving /healthz, /readyz and /metrics", e),
        Some(Err(e)) if e.is_panic() => crate::Error::Internal(format!(
            "the /healthz, /readyz and /metrics server panicked: {}",
            panic_message(e.into_panic())
        )),
        _ => crate::Error::Internal(
            "the /healthz, /readyz and /metrics server stopped unexpectedly".into(),
        ),
    }
}

/// Releases the lease (if held) within `timeout`, and says how that went.
async fn release_lease(elector: leader::Elector, timeout: Duration) {
    match elector.release(timeout).await {
        leader::Released::Released => {
            tracing::info!("left leader election (lease released if held)")
        }
        leader::Released::Failed(e) => tracing::warn!(
            "could not release the leader-election lease ({e}); it expires on its own"
        ),
        leader::Released::TimedOut => tracing::warn!(
            "releasing the leader-election lease took longer than {timeout:?}; gave up, it expires on its own"
        ),
    }
}
