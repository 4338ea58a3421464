//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so only one replica
//! reconciles at a time.
//!
//! The lease manager runs on its own task and reports on a watch channel whether this process
//! holds the lease. Dropping the receiving end tells that task to release the lease (if held) and
//! end; [`Elector::release`] does that and waits for it, within a bound.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const LEASE_NAME: &str = "karmada-reconciler";

/// This process's candidacy for the lease: the lease manager's task and its state channel.
pub struct Elector {
    identity: String,
    lease: String,
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

/// How [`Elector::release`] ended.
#[derive(Debug)]
pub enum Released {
    /// The lease manager stopped; it released the lease if this process held it.
    Released,
    /// The lease manager stopped without releasing the lease (the API refused or was
    /// unreachable); it expires on its own.
    Failed(String),
    /// The lease manager did not stop within the bound and was aborted (typically waiting out a
    /// back-off while the API is unreachable); the lease expires on its own.
    TimedOut,
}

impl Elector {
    /// Makes sure the lease's namespace exists and starts competing for the lease.
    pub async fn start(client: &Client, namespace: &str) -> crate::Result<Elector> {
        ensure_namespace(client, namespace).await?;
        let identity = format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "karmada-reconciler".into()),
            uuid::Uuid::new_v4().simple()
        );
        let manager = LeaseManagerBuilder::new(client.clone(), LEASE_NAME)
            .with_namespace(namespace)
            .with_identity(identity.clone())
            .with_duration(15)
            .with_grace(5)
            .build()
            .await
            .map_err(|e| lease_error("starting leader election", e))?;
        let (state, task) = manager.watch().await;
        let lease = format!("{namespace}/{LEASE_NAME}");
        tracing::info!(%identity, %lease, "waiting for the leader-election lease");
        Ok(Elector {
            identity,
            lease,
            state,
            task,
        })
    }

    /// Resolves once this process holds the lease. Cancel-safe.
    pub async fn acquired(&mut self) -> crate::Result<()> {
        loop {
            if *self.state.borrow_and_update() {
                tracing::info!(identity = %self.identity, lease = %self.lease, "acquired the leader-election lease");
                return Ok(());
            }
            if self.state.changed().await.is_err() {
                return Err(crate::Error::Internal(
                    "the leader-election task stopped unexpectedly".into(),
                ));
            }
        }
    }

    /// Resolves once this process no longer holds the lease (or the lease manager stopped).
    /// Cancel-safe.
    pub async fn lost(&mut self) {
        loop {
            if !*self.state.borrow_and_update() {
                return;
            }
            if self.state.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops competing: the lease manager releases the lease if this process holds it. Waits
    /// at most `timeout` for that, then aborts the lease manager.
    pub async fn release(self, timeout: Duration) -> Released {
        let Elector {
            state, mut task, ..
        } = self;
        drop(state);
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(Ok(_))) => Released::Released,
            Ok(Ok(Err(e))) => Released::Failed(e.to_string()),
            Ok(Err(e)) => Released::Failed(format!("the lease manager's task failed: {e}")),
            Err(_) => {
                task.abort();
                Released::TimedOut
            }
        }
    }
}

fn lease_error(what: &str, e: LeaseManagerError) -> crate::Error {
    crate::Error::Internal(format!("{what}: {e}"))
}

async fn ensure_namespace(client: &Client, name: &str) -> crate::Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    if api.get_opt(name).await?.is_none() {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(
            name,
            &PatchParams::apply(super::context::MANAGER),
            &Patch::Apply(ns),
        )
        .await?;
    }
    Ok(())
}
