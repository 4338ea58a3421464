//! What every controller shares, so each controller module reads as NAME / run / reconcile /
//! error_policy: the run-loop settings, the error policy with per-object backoff, the
//! conflict-safe status patch, conditions, caches, finalizers and the Event recorder.

pub mod backoff;
pub mod caches;
pub mod conditions;
pub mod events;
pub mod recorder;

use std::fmt::Debug;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{self, Action};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use backoff::Backoff;
pub use caches::{
    changes, cluster_cache, cluster_cache_of, fanout, outside_status_changes, remove_finalizer,
};
pub use conditions::set_condition;

use super::{Context, Error};

/// The run-loop settings of a controller: `--concurrency` workers, and events for one object
/// within `debounce` folded into one reconciliation.
pub fn config(ctx: &Context, debounce: Duration) -> controller::Config {
    controller::Config::default()
        .concurrency(ctx.options.concurrency)
        .debounce(debounce)
}

fn key(controller: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{controller}/{}/{name}", namespace.unwrap_or_default())
}

/// The error policy of every controller: count the failure, log it, and retry the object
/// after its own exponential backoff.
pub fn error_policy<K: Resource>(
    ctx: &Context,
    controller: &'static str,
    obj: &K,
    err: &Error,
) -> Action {
    ctx.metrics.error(controller);
    let (namespace, name) = (obj.meta().namespace.as_deref(), obj.name_any());
    let delay = ctx.backoff.failed(&key(controller, namespace, &name));
    tracing::warn!(controller, object = %format!("{}/{name}", namespace.unwrap_or_default()), retry_in = ?delay, "{err}");
    Action::requeue(delay)
}

/// Runs a controller's stream to its end; a successful reconciliation resets that object's
/// backoff.
pub async fn drive<K, E>(
    ctx: &Context,
    controller: &'static str,
    results: impl Stream<Item = Result<(ObjectRef<K>, Action), E>>,
) where
    K: Resource,
{
    results
        .for_each(|r| async move {
            if let Ok((obj, _)) = r {
                ctx.backoff
                    .succeeded(&key(controller, obj.namespace.as_deref(), &obj.name));
            }
        })
        .await;
}

/// Merge-patches only the given `status` fields, guarded by `resource_version`: controllers
/// that share a status (scheduler and binding) never undo each other's writes. `Ok(None)`
/// means the object changed meanwhile; its update event runs the reconciliation again.
/// `Ok(Some(written))` is the object as written, for the caches' read-your-writes.
pub async fn patch_status_guarded<K>(
    api: &Api<K>,
    name: &str,
    resource_version: Option<String>,
    status: Value,
) -> kube::Result<Option<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {"resourceVersion": resource_version}, "status": status});
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(written) => Ok(Some(written)),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(None),
        Err(e) => Err(e),
    }
}
