//! State shared by the controllers of one reconciler process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use kube::Client;

use super::Options;
use super::cache::Caches;
use super::metrics::Metrics;
use super::toolkit::Backoff;
use super::toolkit::recorder::Recorder;
use crate::client::member;
use crate::engine::cluster::Observation;
use crate::engine::interpreter::Interpreter;

/// Field manager of every write the reconciler makes, on the control plane and on members.
pub const MANAGER: &str = "karmada-reconciler";

pub struct Context {
    pub client: Client,
    pub options: Options,
    pub metrics: Metrics,
    pub members: member::Clients,
    /// Sends Events in the background, folding repeats (see `toolkit::recorder`).
    pub recorder: Recorder,
    /// What each member's probes last said and since when: drives the success and failure
    /// thresholds of its Ready condition.
    pub ready_observations: Mutex<HashMap<String, Observation>>,
    /// Per-object retry delays of failed reconciliations (every controller's).
    pub backoff: Backoff,
    /// The last Event outcome per object and step, so Events mark transitions.
    pub transitions: super::toolkit::events::Transitions,
    /// The resource interpreter, kept current with the ResourceInterpreterCustomizations by
    /// `interpreting::changes`.
    pub interpreter: Arc<Interpreter>,
    /// Changes of the customizations (see `interpreting::changes`), once started.
    pub customizations: OnceLock<tokio::sync::watch::Receiver<u64>>,
    /// The stores every controller reads (bindings, Works, templates), each started on first
    /// use.
    pub caches: Caches,
    /// Successful schedulings whose status the binding status controller writes.
    pub handovers: super::scheduler::Handovers,
    /// Work status writes, for the binding status controllers.
    pub status_writes: super::binding_status::StatusWrites,
}

impl Context {
    pub fn new(client: Client, options: Options) -> Self {
        let instance = std::env::var("HOSTNAME").unwrap_or_else(|_| MANAGER.into());
        let metrics = Metrics::default();
        Context {
            members: member::Clients::new(options.member_request_timeout),
            caches: Caches::new(client.clone(), metrics.clone()),
            recorder: Recorder::new(client.clone(), instance, metrics.clone()),
            client,
            options,
            metrics,
            ready_observations: Mutex::new(HashMap::new()),
            backoff: Backoff::default(),
            transitions: Default::default(),
            interpreter: Arc::new(Interpreter::default()),
            customizations: OnceLock::new(),
            handovers: Default::default(),
            status_writes: Default::default(),
        }
    }
}
