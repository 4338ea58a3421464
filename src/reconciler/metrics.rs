//! Prometheus metrics of the reconciler: reconciles, errors, durations and in-flight work per
//! controller, and API requests sent (`requests.rs`), exposed on `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabel {
    pub cache: String,
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<ControllerLabel, Counter>,
    errors: Family<ControllerLabel, Counter>,
    duration: Family<ControllerLabel, Histogram>,
    in_flight: Family<ControllerLabel, Gauge>,
    /// Writes to member clusters (applies and deletes), for the benchmark's cost per object.
    pub member_writes: Counter,
    /// 1 while this process holds the leader-election lease (or runs without election).
    pub leader: Gauge,
    /// Watches running in each member cluster (one per kind applied there).
    pub member_watches: Family<ClusterLabel, Gauge>,
    /// Events recorded, by what became of them.
    events: Family<OutcomeLabel, Counter>,
    /// How long a shared cache takes to show this process's own writes (its watch's lag).
    pub cache_lag: Family<CacheLabel, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("karmada_reconciler");
        let reconciles = Family::<ControllerLabel, Counter>::default();
        let errors = Family::<ControllerLabel, Counter>::default();
        let duration = Family::<ControllerLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let in_flight = Family::<ControllerLabel, Gauge>::default();
        let member_writes = Counter::default();
        let leader = Gauge::default();
        let member_watches = Family::<ClusterLabel, Gauge>::default();
        let events = Family::<OutcomeLabel, Counter>::default();
        let cache_lag = Family::<CacheLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        for outcome in ["created", "folded", "dropped", "failed"] {
            let _ = events.get_or_create(&OutcomeLabel { outcome });
        }
        registry.register(
            "leader",
            "1 while this process is the active reconciler, 0 while it waits for the lease",
            leader.clone(),
        );
        registry.register(
            "reconciles",
            "Reconciliations run, per controller",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciliations that failed and will be retried",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconciliation",
            duration.clone(),
        );
        registry.register(
            "queue_depth",
            "Reconciliations in progress, per controller (kube-runtime keeps the pending queue internal)",
            in_flight.clone(),
        );
        registry.register(
            "member_writes",
            "Create, apply and delete calls made to member clusters",
            member_writes.clone(),
        );
        registry.register(
            "api_requests",
            "Requests sent to Kubernetes API servers, by target (control-plane or member) and verb",
            crate::client::requests::API_REQUESTS.clone(),
        );
        registry.register(
            "member_watches",
            "Watches of managed objects running in each member cluster (one per kind)",
            member_watches.clone(),
        );
        registry.register(
            "events",
            "Events recorded: created (a new Event), folded (a repeat counted in an existing Event's series), dropped (the send queue was full), failed (refused by the API server)",
            events.clone(),
        );
        registry.register(
            "cache_lag_seconds",
            "Time from a write of this process to the watch of a shared cache delivering it, per cache",
            cache_lag.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            reconciles,
            errors,
            duration,
            in_flight,
            member_writes,
            leader,
            member_watches,
            events,
            cache_lag,
        }
    }
}

impl Metrics {
    /// Starts timing one reconciliation; the guard records it when dropped.
    pub fn start(&self, controller: &'static str) -> ReconcileTimer {
        let label = ControllerLabel { controller };
        self.reconciles.get_or_create(&label).inc();
        // Publish the error counter at 0 too, so dashboards see the series before a failure.
        let _ = self.errors.get_or_create(&label);
        self.in_flight.get_or_create(&label).inc();
        ReconcileTimer {
            metrics: self.clone(),
            label,
            started: Instant::now(),
        }
    }

    /// Publishes every series of these controllers at zero, so dashboards and scrapes see them
    /// before the first reconciliation.
    pub fn register_controllers(&self, controllers: &[&'static str]) {
        for controller in controllers {
            let label = ControllerLabel { controller };
            let _ = self.reconciles.get_or_create(&label);
            let _ = self.errors.get_or_create(&label);
            let _ = self.duration.get_or_create(&label);
            let _ = self.in_flight.get_or_create(&label);
        }
    }

    /// Counts an Event by what became of it (see `toolkit::recorder`).
    pub fn event(&self, outcome: &'static str) {
        self.events.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn error(&self, controller: &'static str) {
        self.errors
            .get_or_create(&ControllerLabel { controller })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

pub struct ReconcileTimer {
    metrics: Metrics,
    label: ControllerLabel,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.metrics
            .duration
            .get_or_create(&self.label)
            .observe(self.started.elapsed().as_secs_f64());
        self.metrics.in_flight.get_or_create(&self.label).dec();
    }
}
