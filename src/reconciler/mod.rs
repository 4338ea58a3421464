//! The controllers of `karmada-reconciler`, one module each, on kube-runtime:
//!
//! ```text
//! template + policy --detector--> ResourceBinding --scheduler--> binding.spec.clusters
//!   --binding--> Work per cluster (karmada-es-<cluster>) --execution--> member object
//!   member status --execution--> Work status --binding--> binding status --> template status
//! (Cluster)OverridePolicy --binding--> per-cluster changes in each Work (overrides.rs)
//! Cluster --cluster_health--> Ready, version, APIs, summaries, health taints
//! Namespace --namespace_sync--> a Work per member cluster
//! ```
//! Every controller only writes when something would change.

pub mod binding;
pub mod cluster_health;
pub mod context;
pub mod dependencies;
pub mod detector;
pub mod execution;
pub mod leader;
pub mod member_watches;
pub mod metrics;
pub mod namespace_sync;
pub mod scheduler;
pub mod server;
pub mod toolkit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use kube::Client;

pub use context::Context;

/// Settings of one reconciler process (the binary's flags).
#[derive(Debug, Clone)]
pub struct Options {
    pub metrics_bind_address: SocketAddr,
    pub leader_elect: bool,
    pub leader_elect_namespace: String,
    pub cluster_status_update_frequency: Duration,
    pub cluster_failure_threshold: Duration,
    pub cluster_probe_timeout: Duration,
    /// How long a cluster may stay not Ready before its workloads move away (NoExecute taint).
    pub failover_eviction_timeout: Duration,
    pub skipped_propagating_namespaces: Vec<String>,
    /// Concurrent reconciliations per controller (the execution controller: see
    /// `member_concurrency`).
    pub concurrency: u16,
    /// Concurrent Work reconciliations per member cluster.
    pub member_concurrency: u16,
    /// Bound of one member request other than a watch.
    pub member_request_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            metrics_bind_address: ([127, 0, 0, 1], 0).into(),
            leader_elect: false,
            leader_elect_namespace: "karmada-system".into(),
            cluster_status_update_frequency: Duration::from_secs(10),
            cluster_failure_threshold: Duration::from_secs(30),
            cluster_probe_timeout: Duration::from_secs(5),
            failover_eviction_timeout: Duration::from_secs(300),
            skipped_propagating_namespaces: vec!["kube-.*".into()],
            concurrency: 8,
            member_concurrency: 8,
            member_request_timeout: crate::client::member::DEFAULT_REQUEST_TIMEOUT,
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

/// Runs every controller until `shutdown` resolves (or leadership is lost).
pub async fn run(
    client: Client,
    options: Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let shutdown: Shutdown = shutdown.boxed().shared();
    let health = server::Health::default();
    let ctx = Arc::new(Context::new(client.clone(), options.clone()));
    ctx.metrics.register_controllers(&[
        "detector",
        "scheduler",
        "binding",
        "execution",
        "cluster",
        "namespace",
    ]);

    let server = tokio::spawn(server::serve(
        options.metrics_bind_address,
        health.clone(),
        ctx.metrics.clone(),
        shutdown.clone(),
    ));

    // Ready once serving: a standby replica is healthy too; `karmada_reconciler_leader` says
    // which replica is active.
    health
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let lost_lease = if options.leader_elect {
        match leader::acquire(&client, &options.leader_elect_namespace, shutdown.clone()).await? {
            Some(lost) => lost,
            None => return Ok(()), // shut down while waiting for the lease
        }
    } else {
        futures::future::pending().boxed()
    };

    ctx.metrics.leader.set(1);
    tracing::info!("starting controllers");
    let controllers = futures::future::join_all([
        tokio::spawn(detector::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(scheduler::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(binding::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(execution::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(cluster_health::run(ctx.clone(), shutdown.clone())),
        tokio::spawn(namespace_sync::run(ctx.clone(), shutdown.clone())),
    ]);
    tokio::select! {
        _ = controllers => tracing::info!("controllers stopped"),
        _ = lost_lease => {
            return Err(crate::Error::Internal("lost the leader-election lease; exiting so a restart can re-acquire it".into()));
        }
    }
    server.abort();
    Ok(())
}
