//! The resource interpreter in the controllers: one reflector of ResourceInterpreterCustomizations
//! per process keeps [`Context::interpreter`] current (compiled scripts are reused while a
//! customization's generation is unchanged) and tells the controllers when to re-run; scripts
//! run off the async workers; a script that fails is reported as an Event.

use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, reflector, watcher};
use serde_json::Value;
use tokio::sync::watch;

use super::Context;
use crate::api::interpreter::ResourceInterpreterCustomization;
use crate::engine::interpreter::InterpretError;

/// Starts (once per process) the reflector feeding the interpreter; returns a receiver whose
/// value changes on every change of the customizations (0 until the first list is in).
pub fn changes(ctx: &Arc<Context>) -> watch::Receiver<u64> {
    ctx.customizations
        .get_or_init(|| {
            let (tx, rx) = watch::channel(0u64);
            let client = ctx.client.clone();
            let interpreter = ctx.interpreter.clone();
            tokio::spawn(async move {
                let (store, writer) = reflector::store::<ResourceInterpreterCustomization>();
                let mut events = reflector::reflector(
                    writer,
                    watcher(
                        Api::<ResourceInterpreterCustomization>::all(client),
                        watcher::Config::default(),
                    ),
                )
                .default_backoff()
                .boxed();
                while let Some(event) = events.next().await {
                    match event {
                        Ok(watcher::Event::InitApply(_) | watcher::Event::Init) => continue,
                        Ok(_) => {
                            let list: Vec<ResourceInterpreterCustomization> =
                                store.state().iter().map(|c| (**c).clone()).collect();
                            interpreter.set_customizations(&list);
                            tx.send_modify(|n| *n = n.wrapping_add(1).max(1));
                        }
                        Err(e) => {
                            tracing::warn!("watching ResourceInterpreterCustomizations: {e}");
                            // Without the CRD (an older control plane) nothing waits for it.
                            if *tx.borrow() == 0 {
                                tx.send_replace(1);
                            }
                        }
                    }
                }
            });
            rx
        })
        .clone()
}

/// Waits until the customizations were listed once, so no template is interpreted without them.
pub async fn ready(ctx: &Arc<Context>) {
    let mut rx = changes(ctx);
    let _ = rx.wait_for(|n| *n > 0).await;
}

/// A stream that yields once per change of the customizations after the first list.
pub fn change_events(ctx: &Arc<Context>) -> BoxStream<'static, ()> {
    let rx = changes(ctx);
    futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok().map(|()| ((), rx))
    })
    .boxed()
}

/// Runs an interpretation (it may run a script) without holding up the async workers.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Reason of the Event for a failed operation, e.g. `InterpretHealthFailed`.
fn reason(e: &InterpretError) -> String {
    format!("{}Failed", e.operation.name())
}

/// A Warning Event on `object` (a template or member manifest: apiVersion, kind, metadata) for
/// a script that failed, and a log line.
pub async fn report(ctx: &Context, object: &Value, uid: Option<&str>, err: &InterpretError) {
    let meta = &object["metadata"];
    tracing::warn!(
        kind = object["kind"].as_str().unwrap_or_default(),
        name = meta["name"].as_str().unwrap_or_default(),
        namespace = meta["namespace"].as_str().unwrap_or_default(),
        "{err}"
    );
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: object["apiVersion"].as_str().map(String::from),
        kind: object["kind"].as_str().map(String::from),
        name: meta["name"].as_str().map(String::from),
        namespace: meta["namespace"].as_str().map(String::from),
        uid: uid
            .map(String::from)
            .or_else(|| meta["uid"].as_str().map(String::from)),
        ..Default::default()
    };
    let note = err.to_string();
    super::toolkit::events::publish(ctx, &reference, true, &reason(err), &note, "Interpret").await;
}
