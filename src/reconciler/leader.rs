//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so only one replica
//! reconciles at a time.
//!
//! The lease manager runs on its own task and reports on a watch channel whether this process
//! holds the lease. Dropping the receiving end tells that task to release the lease (if held) and
//! end; [`Elector::release`] does that and waits for it, within a bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub const LEASE_NAME: &str = "karmada-reconciler";
/// How long the lease is valid after each renewal.
const LEASE_SECONDS: u64 = 15;
/// The lease manager renews this long before the lease expires (every 8 s).
const RENEW_GRACE_SECONDS: u64 = 7;
/// A leader that has not seen its renewal stops acting this long before its lease expires, so
/// it is done before a standby may take over; a renewal seen up to 4 s late is still in time.
const STOP_BEFORE_EXPIRY: Duration = Duration::from_secs(3);

/// This process's candidacy for the lease: the lease manager's task and its state channel.
pub struct Elector {
    identity: String,
    lease: String,
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
    /// Watches the Lease once held; see [`Elector::lost`].
    expiry: Option<Expiry>,
    leases: Api<Lease>,
}

/// When the held lease expires, by this process's clock, as last seen renewed in the API. The
/// lease manager keeps retrying quietly while the API is unreachable and would go on believing
/// it leads long after a standby took over; this does not.
struct Expiry {
    at: Arc<Mutex<Result<Instant, String>>>,
    task: JoinHandle<()>,
}

impl Drop for Expiry {
    fn drop(&mut self) {
        self.task.abort();
    }
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
            .with_duration(LEASE_SECONDS)
            .with_grace(RENEW_GRACE_SECONDS)
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
            expiry: None,
            leases: Api::namespaced(client.clone(), namespace),
        })
    }

    /// Resolves once this process holds the lease. Cancel-safe.
    pub async fn acquired(&mut self) -> crate::Result<()> {
        loop {
            if *self.state.borrow_and_update() {
                tracing::info!(identity = %self.identity, lease = %self.lease, "acquired the leader-election lease");
                self.expiry = Some(self.watch_expiry());
                return Ok(());
            }
            if self.state.changed().await.is_err() {
                return Err(crate::Error::Internal(
                    "the leader-election task stopped unexpectedly".into(),
                ));
            }
        }
    }

    /// Resolves once this process no longer holds the lease, the lease manager stopped, or the
    /// lease has not been seen renewed and is about to expire (the API unreachable, say): a
    /// leader that cannot prove it leads stops before a standby may start. Cancel-safe.
    pub async fn lost(&mut self) {
        let expiry = self.expiry.as_ref().map(|e| e.at.clone());
        let expired = async move {
            let Some(at) = expiry else {
                return futures::future::pending().await;
            };
            loop {
                let next = match &*at.lock().expect("lease expiry lock") {
                    Err(why) => {
                        tracing::error!("{why}");
                        return;
                    }
                    Ok(at) => *at,
                };
                let stop_at = next.checked_sub(STOP_BEFORE_EXPIRY).unwrap_or(next);
                if Instant::now() >= stop_at {
                    tracing::error!(
                        "the leader-election lease was not seen renewed and expires in {:?}; stopping before a standby may take over",
                        next.saturating_duration_since(Instant::now())
                    );
                    return;
                }
                // Renewals move the deadline: look again at least every second.
                tokio::time::sleep_until(stop_at.min(Instant::now() + Duration::from_secs(1)))
                    .await;
            }
        };
        let released = async {
            loop {
                if !*self.state.borrow_and_update() {
                    return;
                }
                if self.state.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::select! {
            _ = expired => {}
            _ = released => {}
        }
    }

    /// Watches the Lease and keeps [`Expiry::at`] at its last renewal plus its duration (the
    /// lease manager writes renewTime with this process's clock). Acquiring just renewed it.
    fn watch_expiry(&self) -> Expiry {
        let at = Arc::new(Mutex::new(Ok(
            Instant::now() + Duration::from_secs(LEASE_SECONDS)
        )));
        let shared = at.clone();
        let identity = self.identity.clone();
        let config = watcher::Config::default().fields(&format!("metadata.name={LEASE_NAME}"));
        let events = watcher(self.leases.clone(), config)
            .default_backoff()
            .applied_objects();
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                let Ok(lease) = event else { continue };
                let spec = lease.spec.unwrap_or_default();
                let mut at = shared.lock().expect("lease expiry lock");
                if spec.holder_identity.as_deref() != Some(identity.as_str()) {
                    *at = Err(format!(
                        "the leader-election lease is held by {} now",
                        spec.holder_identity.as_deref().unwrap_or("nobody")
                    ));
                    return;
                }
                let Some(renewed) = spec.renew_time.map(|t| t.0) else {
                    continue;
                };
                let seconds = spec
                    .lease_duration_seconds
                    .map_or(LEASE_SECONDS as i64, i64::from);
                let left_ms =
                    renewed.as_millisecond() + seconds * 1000 - Timestamp::now().as_millisecond();
                let left = Duration::from_millis(left_ms.max(0) as u64);
                if let Ok(current) = at.as_mut() {
                    *current = (*current).max(Instant::now() + left);
                }
            }
        });
        Expiry { at, task }
    }

    /// Stops competing: the lease manager releases the lease if this process holds it. Waits
    /// at most `timeout` for that, then aborts the lease manager.
    pub async fn release(self, timeout: Duration) -> Released {
        let Elector {
            state,
            mut task,
            expiry,
            ..
        } = self;
        drop(expiry);
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
