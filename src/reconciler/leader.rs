//! Leader election on a coordination.k8s.io Lease (kube-lease-manager), so only one replica
//! reconciles at a time.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube_lease_manager::LeaseManagerBuilder;

use super::Shutdown;

pub const LEASE_NAME: &str = "karmada-reconciler";

/// Waits until this process holds the lease. Returns a future that resolves if the lease is
/// lost, or `None` when `shutdown` came first.
pub async fn acquire(
    client: &Client,
    namespace: &str,
    shutdown: Shutdown,
) -> crate::Result<Option<BoxFuture<'static, ()>>> {
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
        .map_err(|e| crate::Error::Internal(format!("leader election: {e}")))?;
    let (mut state, task) = manager.watch().await;
    tracing::info!(%identity, lease = %format!("{namespace}/{LEASE_NAME}"), "waiting for the leader-election lease");
    let mut shutdown = shutdown;
    loop {
        if *state.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return Err(crate::Error::Internal("leader election stopped unexpectedly".into()));
                }
            }
            _ = &mut shutdown => {
                drop(state);
                let _ = task.await;
                return Ok(None);
            }
        }
    }
    tracing::info!("acquired the leader-election lease");
    Ok(Some(
        async move {
            while state.changed().await.is_ok() {
                if !*state.borrow_and_update() {
                    break;
                }
            }
            drop(task);
        }
        .boxed(),
    ))
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
