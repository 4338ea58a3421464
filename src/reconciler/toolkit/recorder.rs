//! Sends the reconciler's Events from a background task, so a reconciliation never waits on
//! one, and folds repeats: the same reason (and, for warnings, the same note) about the same
//! object becomes one Event whose `series.count` grows, as `events.k8s.io/v1` intends, instead
//! of a new Event each time.
//!
//! The queue is bounded: when the API server cannot keep up, Events are dropped (and counted)
//! rather than memory growing or reconciliations slowing down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::mpsc;

use super::super::metrics::Metrics;

/// Events waiting to be sent; past this, new ones are dropped (counted). In a burst the queue
/// fills whatever its size (two in flight send slower than reconciliations record), so it is
/// kept small: each waiting Event holds half a kilobyte.
const QUEUE: usize = 2048;
/// Events taken from the queue at once; repeats among them are folded before sending.
const BATCH: usize = 512;
/// Events sent at once. Two: Events are the least needed writes, and in a burst (thousands of
/// templates) more senders would only take the API server from the pipeline (the queue then
/// fills and drops, counted).
const IN_FLIGHT: usize = 2;
/// A repeat this long after the last one starts a new Event rather than extending the series.
const SERIES_TTL: Duration = Duration::from_secs(600);
/// Series remembered; past this, those older than `SERIES_TTL` are forgotten (and if that is
/// not enough, all of them: a repeat then starts a new Event).
const SERIES_CAP: usize = 50_000;

/// One Event to publish.
#[derive(Clone, Debug)]
pub struct Record {
    pub regarding: ObjectReference,
    pub warning: bool,
    pub reason: String,
    pub note: String,
    pub action: String,
}

/// What makes two Events the same one: the object, the reason and the type; for warnings also
/// the note, so a different failure is not hidden behind an earlier one's message.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    regarding: [String; 5],
    reason: String,
    warning: bool,
    note: Option<String>,
}

impl Key {
    fn of(r: &Record) -> Self {
        let o = &r.regarding;
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Key {
            regarding: [
                s(&o.api_version),
                s(&o.kind),
                s(&o.namespace),
                s(&o.name),
                s(&o.uid),
            ],
            reason: r.reason.clone(),
            warning: r.warning,
            note: r.warning.then(|| r.note.clone()),
        }
    }
}

/// A [`Key`] as the series map keeps it: a 64-bit hash (thousands of series are remembered;
/// two keys sharing a hash would only share a series count).
fn series_key(key: &Key) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// An Event already in the API server.
#[derive(Clone, Debug)]
struct Sent {
    name: String,
    namespace: String,
    count: i32,
    at: Instant,
}

/// The sending side, cheap to call from any reconciliation.
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    metrics: Metrics,
}

impl Recorder {
    /// Starts the background sender (it ends when the recorder is dropped).
    pub fn new(client: kube::Client, reporter: String, metrics: Metrics) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(send_all(client, reporter, rx, metrics.clone()));
        Recorder { tx, metrics }
    }

    /// Queues an Event; never waits.
    pub fn record(&self, record: Record) {
        if let Err(e) = self.tx.try_send(record) {
            self.metrics.event("dropped");
            tracing::debug!(
                "event dropped (the queue is full): {:?}",
                e.into_inner().reason
            );
        }
    }
}

/// Folds a batch: one entry per key, in first-seen order, with how many times it was recorded.
/// The note kept is the first one's (an Event's note cannot change once it exists).
fn fold(batch: Vec<Record>) -> Vec<(Key, Record, i32)> {
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut out: Vec<(Key, Record, i32)> = Vec::new();
    for r in batch {
        let key = Key::of(&r);
        match index.get(&key) {
            Some(&i) => out[i].2 += 1,
            None => {
                index.insert(key.clone(), out.len());
                out.push((key, r, 1));
            }
        }
    }
    out
}

async fn send_all(
    client: kube::Client,
    reporter: String,
    mut rx: mpsc::Receiver<Record>,
    metrics: Metrics,
) {
    let mut series: HashMap<u64, Sent> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if series.len() >= SERIES_CAP {
            series.retain(|_, s| s.at.elapsed() < SERIES_TTL);
            if series.len() >= SERIES_CAP {
                series.clear();
            }
        }
        let jobs: Vec<_> = fold(batch)
            .into_iter()
            .map(|(key, record, n)| {
                let key = series_key(&key);
                let previous = series
                    .get(&key)
                    .filter(|s| s.at.elapsed() < SERIES_TTL)
                    .cloned();
                (key, record, n, previous)
            })
            .collect();
        let sent: Vec<_> = futures::stream::iter(jobs)
            .map(|(key, record, n, previous)| {
                let (client, reporter, metrics) = (&client, &reporter, &metrics);
                async move {
                    let result = send(client, reporter, &record, n, previous, metrics).await;
                    if let Err(e) = &result {
                        metrics.event("failed");
                        tracing::debug!(reason = %record.reason, "event not recorded: {e}");
                    }
                    (key, result)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for (key, result) in sent {
            if let Ok(s) = result {
                series.insert(key, s);
            }
        }
    }
}

/// Extends the series of `previous` by `n`, or creates the Event (with a series when `n > 1`).
async fn send(
    client: &kube::Client,
    reporter: &str,
    record: &Record,
    n: i32,
    previous: Option<Sent>,
    metrics: &Metrics,
) -> kube::Result<Sent> {
    let now = Timestamp::now();
    if let Some(p) = previous {
        let count = p.count + n;
        let patch = json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
        let api: Api<Event> = Api::namespaced(client.clone(), &p.namespace);
        match api
            .patch(&p.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                metrics.event("folded");
                return Ok(Sent {
                    count,
                    at: Instant::now(),
                    ..p
                });
            }
            // Expired (the API server keeps Events for an hour) or deleted: start anew.
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let namespace = record
        .regarding
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = format!(
        "{}.{:x}",
        name_prefix(record.regarding.name.as_deref().unwrap_or(reporter)),
        now.as_nanosecond()
    );
    let event = Event {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.clone()),
            ..Default::default()
        },
        action: Some(record.action.clone()),
        reason: Some(record.reason.clone()),
        // The API server caps an Event's note at 1 kB.
        note: Some(record.note.chars().take(1000).collect()),
        event_time: Some(MicroTime(now)),
        series: (n > 1).then_some(EventSeries {
            count: n,
            last_observed_time: MicroTime(now),
        }),
        regarding: Some(record.regarding.clone()),
        reporting_controller: Some(super::super::context::MANAGER.into()),
        reporting_instance: Some(reporter.to_string()),
        type_: Some(if record.warning { "Warning" } else { "Normal" }.into()),
        ..Default::default()
    };
    Api::<Event>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &event)
        .await?;
    metrics.event("created");
    if n > 1 {
        for _ in 1..n {
            metrics.event("folded");
        }
    }
    Ok(Sent {
        name,
        namespace,
        count: n.max(1),
        at: Instant::now(),
    })
}

/// The start of an Event's name for an object: its name as a lowercase RFC 1123 subdomain
/// (`system:controller` ClusterRoles and the like have names Events cannot start with).
fn name_prefix(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .replace(':', ".")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(200)
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if cleaned.is_empty() {
        "event".into()
    } else {
        cleaned.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, reason: &str, warning: bool, note: &str) -> Record {
        Record {
            regarding: ObjectReference {
                kind: Some("Deployment".into()),
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            warning,
            reason: reason.into(),
            note: note.into(),
            action: "Apply".into(),
        }
    }

    #[test]
    fn repeats_fold_by_object_and_reason() {
        let folded = fold(vec![
            record("a", "SyncSucceed", false, "to member1"),
            record("a", "SyncSucceed", false, "to member2"),
            record("b", "SyncSucceed", false, "to member1"),
            record("a", "ReflectStatusSucceed", false, "x"),
            record("a", "SyncFailed", true, "conflict"),
            record("a", "SyncFailed", true, "conflict"),
            record("a", "SyncFailed", true, "forbidden"),
        ]);
        let summary: Vec<(&str, &str, &str, i32)> = folded
            .iter()
            .map(|(_, r, n)| {
                (
                    r.regarding.name.as_deref().unwrap(),
                    r.reason.as_str(),
                    r.note.as_str(),
                    *n,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a", "SyncSucceed", "to member1", 2),
                ("b", "SyncSucceed", "to member1", 1),
                ("a", "ReflectStatusSucceed", "x", 1),
                ("a", "SyncFailed", "conflict", 2),
                ("a", "SyncFailed", "forbidden", 1),
            ]
        );
    }

    #[test]
    fn event_names_start_with_a_subdomain() {
        assert_eq!(name_prefix("nginx"), "nginx");
        assert_eq!(
            name_prefix("demo.reader-clusterrole"),
            "demo.reader-clusterrole"
        );
        assert_eq!(name_prefix("system:controller"), "system.controller");
        assert_eq!(name_prefix("Upper"), "upper");
        assert_eq!(name_prefix(":x:"), "x");
        assert_eq!(name_prefix(""), "event");
    }
}
