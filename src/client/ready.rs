//! Waiting for a reflector store's first list, safely from many tasks at once.
//!
//! kube-runtime's `Store::wait_until_ready` keeps one waker for all the clones of a store (a
//! oneshot receiver behind a mutex): of several tasks that start waiting before the first list
//! is in, only the last to poll is woken, and the others wait forever. Controllers that share a
//! store, or that wait inside reconciliations running side by side, hit exactly that on start-up
//! (a first ConfigMap binding, say, never rendered). Here each waiter polls again on a short
//! tick, which sees the list once it is in.

use std::hash::Hash;
use std::time::Duration;

use kube::Resource;
use kube::runtime::reflector::Store;

/// How often a waiter looks again; the first list takes far longer.
const TICK: Duration = Duration::from_millis(50);

/// Waits until `store` has its first list; `false` if its writer is gone (the watch stopped).
pub async fn store_ready<K>(store: &Store<K>) -> bool
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    loop {
        match tokio::time::timeout(TICK, store.wait_until_ready()).await {
            Ok(result) => return result.is_ok(),
            Err(_) => continue,
        }
    }
}

/// [`store_ready`] within `limit`: `None` if the list is not in by then.
pub async fn store_ready_within<K>(store: &Store<K>, limit: Duration) -> Option<bool>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    tokio::time::timeout(limit, store_ready(store)).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher;

    /// Eight tasks wait on one store before its first list; all of them see it. With
    /// `Store::wait_until_ready` alone, seven would still be waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_concurrent_waiter_sees_the_first_list() {
        let mut writer: Writer<ConfigMap> = Writer::new(());
        let store = writer.as_reader();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store_ready(&store).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        for w in waiters {
            let seen = tokio::time::timeout(Duration::from_secs(5), w).await;
            assert!(matches!(seen, Ok(Ok(true))), "a waiter never saw the list");
        }
    }

    #[tokio::test]
    async fn a_dropped_writer_ends_the_wait() {
        let writer: Writer<ConfigMap> = Writer::new(());
        let store = writer.as_reader();
        drop(writer);
        assert_eq!(
            store_ready_within(&store, Duration::from_secs(5)).await,
            Some(false)
        );
    }
}
