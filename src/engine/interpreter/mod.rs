//! The resource interpreter: how the control plane reads and changes an object of any kind —
//! its replicas (and what one replica needs), a cluster's share of them, values a member
//! controls that applying must keep, the status it reports, its health, the sum of the
//! members' statuses, what it depends on. Pure: objects in, results out.
//!
//! Each operation is looked up in order: a user's `ResourceInterpreterCustomization` (by name,
//! the first one with a script for the operation), a customization bundled with this project
//! (`bundled/`), the built-in interpretation of Kubernetes' own kinds ([`builtin`]), and else
//! none: a kind nobody interprets has no replicas, so it is never divided.
//!
//! Scripts follow Karmada's conventions (function names, arguments, the `kube` library), so
//! customizations from Karmada's documentation work unchanged; see [`lua`] for the sandbox.

pub mod builtin;
pub mod bundled;
pub mod lua;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use kube::ResourceExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::interpreter::{CustomizationRules, ResourceInterpreterCustomization};
use crate::api::work::{AggregatedStatusItem, Component, ReplicaRequirements, ResourceHealth};
use crate::engine::{health, status};
use lua::{Arg, Limits, Shapes, Top, Vm};

/// The operations of Karmada's resource interpreter, with its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Retain,
    InterpretReplica,
    InterpretComponent,
    ReviseReplica,
    InterpretStatus,
    AggregateStatus,
    InterpretHealth,
    InterpretDependency,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::Retain,
        Operation::InterpretReplica,
        Operation::InterpretComponent,
        Operation::ReviseReplica,
        Operation::InterpretStatus,
        Operation::AggregateStatus,
        Operation::InterpretHealth,
        Operation::InterpretDependency,
    ];

    /// Karmada's name of the operation (`karmadactl interpret --operation`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Retain => "Retain",
            Operation::InterpretReplica => "InterpretReplica",
            Operation::InterpretComponent => "InterpretComponent",
            Operation::ReviseReplica => "ReviseReplica",
            Operation::InterpretStatus => "InterpretStatus",
            Operation::AggregateStatus => "AggregateStatus",
            Operation::InterpretHealth => "InterpretHealth",
            Operation::InterpretDependency => "InterpretDependency",
        }
    }

    /// The operation named `name`, in any case.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// The Lua function a script for this operation defines.
    pub fn function(self) -> &'static str {
        match self {
            Operation::Retain => "Retain",
            Operation::InterpretReplica => "GetReplicas",
            Operation::InterpretComponent => "GetComponents",
            Operation::ReviseReplica => "ReviseReplica",
            Operation::InterpretStatus => "ReflectStatus",
            Operation::AggregateStatus => "AggregateStatus",
            Operation::InterpretHealth => "InterpretHealth",
            Operation::InterpretDependency => "GetDependencies",
        }
    }

    /// The customization field holding this operation's script.
    pub fn field(self) -> &'static str {
        match self {
            Operation::Retain => "retention",
            Operation::InterpretReplica => "replicaResource",
            Operation::InterpretComponent => "componentResource",
            Operation::ReviseReplica => "replicaRevision",
            Operation::InterpretStatus => "statusReflection",
            Operation::AggregateStatus => "statusAggregation",
            Operation::InterpretHealth => "healthInterpretation",
            Operation::InterpretDependency => "dependencyInterpretation",
        }
    }

    pub fn script(self, rules: &CustomizationRules) -> Option<&str> {
        let s = match self {
            Operation::Retain => &rules.retention,
            Operation::InterpretReplica => &rules.replica_resource,
            Operation::InterpretComponent => &rules.component_resource,
            Operation::ReviseReplica => &rules.replica_revision,
            Operation::InterpretStatus => &rules.status_reflection,
            Operation::AggregateStatus => &rules.status_aggregation,
            Operation::InterpretHealth => &rules.health_interpretation,
            Operation::InterpretDependency => &rules.dependency_interpretation,
        };
        s.as_ref()
            .map(|s| s.lua_script.as_str())
            .filter(|s| !s.trim().is_empty())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An object a workload depends on (Karmada's `DependentObjectReference`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DependentObjectReference {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<Value>,
}

impl DependentObjectReference {
    /// A core/v1 object by name.
    pub fn core(kind: &str, namespace: &str, name: &str) -> Self {
        DependentObjectReference {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            label_selector: None,
        }
    }
}

/// Who answered an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A user's ResourceInterpreterCustomization, by name.
    Customization(String),
    /// A customization bundled with this project, by name.
    Bundled(String),
    /// The built-in interpretation of a Kubernetes kind.
    BuiltIn,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Customization(n) => write!(f, "customization {n}"),
            Source::Bundled(n) => write!(f, "bundled customization {n}"),
            Source::BuiltIn => f.write_str("built-in interpretation"),
        }
    }
}

/// A script failed: which customization, which operation, what went wrong (with the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpretError {
    pub source: Source,
    pub operation: Operation,
    pub message: String,
}

impl fmt::Display for InterpretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.source, self.operation, self.message)
    }
}

impl std::error::Error for InterpretError {}

pub type Result<T> = std::result::Result<T, InterpretError>;

/// Replicas of a workload and what one replica needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replicas {
    pub replicas: i32,
    pub requirements: Option<ReplicaRequirements>,
}

/// One customization, compiled on first use (its Lua state is kept, so a script is compiled
/// once per customization generation).
pub struct Compiled {
    pub name: String,
    generation: i64,
    pub api_version: String,
    pub kind: String,
    pub rules: CustomizationRules,
    bundled: bool,
    limits: Limits,
    vm: Mutex<Option<Loaded>>,
}

struct Loaded {
    vm: Vm,
    chunks: HashMap<Operation, mlua::Function>,
}

impl Compiled {
    pub fn new(c: &ResourceInterpreterCustomization, bundled: bool, limits: Limits) -> Self {
        Compiled {
            name: c.name_any(),
            generation: c.metadata.generation.unwrap_or(0),
            api_version: c.spec.target.api_version.clone(),
            kind: c.spec.target.kind.clone(),
            rules: c.spec.customizations.clone(),
            bundled,
            limits,
            vm: Mutex::new(None),
        }
    }

    pub fn source(&self) -> Source {
        if self.bundled {
            Source::Bundled(self.name.clone())
        } else {
            Source::Customization(self.name.clone())
        }
    }

    fn error(&self, operation: Operation, message: impl Into<String>) -> InterpretError {
        InterpretError {
            source: self.source(),
            operation,
            message: message.into(),
        }
    }

    /// Runs `f` with the Lua state and the compiled chunk of `op` (compiling it first if needed).
    fn with_chunk<T>(
        &self,
        op: Operation,
        f: impl FnOnce(&Vm, &mlua::Function) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let script = op
            .script(&self.rules)
            .ok_or_else(|| self.error(op, "no script for this operation"))?;
        let mut guard = self.vm.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let vm = Vm::new(self.limits).map_err(|e| self.error(op, e))?;
            *guard = Some(Loaded {
                vm,
                chunks: HashMap::new(),
            });
        }
        let loaded = guard.as_mut().expect("just set");
        if !loaded.chunks.contains_key(&op) {
            let chunk = loaded
                .vm
                .compile(&format!("{} {}", self.name, op.field()), script)
                .map_err(|e| self.error(op, e))?;
            loaded.chunks.insert(op, chunk);
        }
        f(&loaded.vm, &loaded.chunks[&op]).map_err(|e| self.error(op, e))
    }

    /// Syntax and the operation's function, for every script of this customization.
    pub fn check(&self) -> CheckReport {
        Operation::ALL
            .into_iter()
            .filter(|op| op.script(&self.rules).is_some())
            .map(|op| {
                let r = self.with_chunk(op, |vm, chunk| {
                    if vm.defines(chunk, op.function())? {
                        Ok(())
                    } else {
                        Err(format!(
                            "the script does not define function {}",
                            op.function()
                        ))
                    }
                });
                (op, r)
            })
            .collect()
    }

    /// Calls the operation's function with `args`; returns its results as JSON, empty tables
    /// shaped after `shapes_of` (and `top` for the first result).
    fn call(&self, op: Operation, args: &[Arg<'_>], nret: usize, top: Top) -> Result<Vec<Value>> {
        let refs: Vec<&Value> = args
            .iter()
            .filter_map(|a| match a {
                Arg::Json(v) => Some(*v),
                _ => None,
            })
            .collect();
        let shapes = Shapes::of(&refs);
        self.with_chunk(op, |vm, chunk| {
            let out = vm.call(chunk, op.function(), args, nret)?;
            out.iter()
                .map(|v| {
                    if matches!(v, mlua::Value::Nil) {
                        Ok(Value::Null)
                    } else {
                        lua::from_lua(vm.lua(), v, &shapes, top)
                    }
                })
                .collect()
        })
    }
}

/// The interpreter: the user's customizations (replaced as they change), the bundled ones and
/// the built-in interpretation.
pub struct Interpreter {
    user: RwLock<Vec<Arc<Compiled>>>,
    limits: Limits,
}

impl Default for Interpreter {
    fn default() -> Self {
        Interpreter::new(Limits::default())
    }
}

fn target_of(obj: &Value) -> (&str, &str) {
    (
        obj.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        obj.get("kind").and_then(Value::as_str).unwrap_or(""),
    )
}

impl Interpreter {
    pub fn new(limits: Limits) -> Self {
        Interpreter {
            user: RwLock::new(Vec::new()),
            limits,
        }
    }

    /// Replaces the user's customizations. A customization whose name, generation and rules
    /// are unchanged keeps its compiled scripts.
    pub fn set_customizations(&self, list: &[ResourceInterpreterCustomization]) {
        let old = self.user.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut new: Vec<Arc<Compiled>> = list
            .iter()
            .filter(|c| c.metadata.deletion_timestamp.is_none())
            .map(|c| {
                old.iter()
                    .find(|o| {
                        o.name == c.name_any()
                            && o.generation == c.metadata.generation.unwrap_or(0)
                            && o.rules == c.spec.customizations
                            && o.api_version == c.spec.target.api_version
                            && o.kind == c.spec.target.kind
                    })
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Compiled::new(c, false, self.limits)))
            })
            .collect();
        new.sort_by(|a, b| a.name.cmp(&b.name));
        *self.user.write().unwrap_or_else(|p| p.into_inner()) = new;
    }

    /// The customization (user's first, then bundled) with a script for `op` on this kind.
    pub fn customization_for(
        &self,
        api_version: &str,
        kind: &str,
        op: Operation,
    ) -> Option<Arc<Compiled>> {
        let matches = |c: &&Arc<Compiled>| {
            c.api_version == api_version && c.kind == kind && op.script(&c.rules).is_some()
        };
        let user = self.user.read().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = user.iter().find(matches) {
            return Some(c.clone());
        }
        drop(user);
        bundled_compiled(self.limits).iter().find(matches).cloned()
    }

    fn script(&self, obj: &Value, op: Operation) -> Option<Arc<Compiled>> {
        let (api_version, kind) = target_of(obj);
        self.customization_for(api_version, kind, op)
    }

    /// Replicas of `obj` and what one needs; `None` when nothing interprets its kind's
    /// replicas (it is then never divided).
    pub fn replicas(&self, obj: &Value) -> Result<Option<Replicas>> {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let with_ns = |mut r: Replicas| {
            if let Some(req) = r.requirements.as_mut()
                && req.namespace.is_empty()
            {
                req.namespace = ns.to_string();
            }
            r
        };
        let op = Operation::InterpretReplica;
        if let Some(c) = self.script(obj, op) {
            let out = c.call(op, &[Arg::Json(obj)], 2, Top::Object)?;
            let replicas = match &out[0] {
                Value::Number(n) => n.as_f64().unwrap_or(0.0) as i32,
                other => {
                    return Err(c.error(
                        op,
                        format!("GetReplicas must return a number first, not {other}"),
                    ));
                }
            };
            let requirements = match &out[1] {
                Value::Null => None,
                v @ Value::Object(_) => Some(
                    serde_json::from_value::<ReplicaRequirements>(quantities_as_strings(v))
                        .map_err(|e| {
                            c.error(op, format!("the requirements GetReplicas returned: {e}"))
                        })?,
                ),
                other => {
                    return Err(c.error(
                        op,
                        format!("GetReplicas must return a table (or nil) second, not {other}"),
                    ));
                }
            };
            return Ok(Some(with_ns(Replicas {
                replicas: replicas.max(0),
                requirements,
            })));
        }
        Ok(builtin::replicas(obj).map(|(replicas, requirements)| {
            with_ns(Replicas {
                replicas,
                requirements,
            })
        }))
    }

    /// `obj` with `replicas` as its replica count; `None` when nothing knows how.
    pub fn revise_replica(&self, obj: &Value, replicas: i64) -> Result<Option<Value>> {
        let op = Operation::ReviseReplica;
        if let Some(c) = self.script(obj, op) {
            let out = c.call(op, &[Arg::Json(obj), Arg::Int(replicas)], 1, Top::Object)?;
            return object_result(&c, op, out).map(Some);
        }
        Ok(builtin::revise_replica(obj, replicas))
    }

    /// `desired` with the values of `observed` (the member's object) that must be kept;
    /// `None` when no customization retains anything for this kind.
    pub fn retain(&self, desired: &Value, observed: &Value) -> Result<Option<Value>> {
        let op = Operation::Retain;
        if let Some(c) = self.script(desired, op) {
            let out = c.call(
                op,
                &[Arg::Json(desired), Arg::Json(observed)],
                1,
                Top::Object,
            )?;
            return object_result(&c, op, out).map(Some);
        }
        // Karmada's built-in rules (replicas with the retain label, Service addresses, ...).
        let kind = desired["kind"].as_str().unwrap_or_default();
        let kept = super::retain::retain(kind, desired, observed);
        Ok((kept != *desired).then_some(kept))
    }

    /// The status to record of a member object (`None`: nothing to record).
    pub fn reflect_status(&self, observed: &Value) -> Result<Option<Value>> {
        let op = Operation::InterpretStatus;
        if let Some(c) = self.script(observed, op) {
            let out = c.call(op, &[Arg::Json(observed)], 1, Top::Object)?;
            return match &out[0] {
                Value::Null => Ok(None),
                v @ Value::Object(_) => Ok(Some(v.clone())),
                other => Err(c.error(
                    op,
                    format!("ReflectStatus must return a table, not {other}"),
                )),
            };
        }
        Ok(status::reflect(observed))
    }

    /// Health of a member object: `observed` is the member's object (if read), `reflected`
    /// the status recorded of it, `manifest` what was applied.
    pub fn health(
        &self,
        manifest: &Value,
        observed: Option<&Value>,
        reflected: Option<&Value>,
    ) -> Result<ResourceHealth> {
        let op = Operation::InterpretHealth;
        if let Some(c) = self.script(manifest, op) {
            let Some(observed) = observed else {
                return Ok(ResourceHealth::Unknown);
            };
            let out = c.call(op, &[Arg::Json(observed)], 1, Top::Object)?;
            return match &out[0] {
                Value::Bool(true) => Ok(ResourceHealth::Healthy),
                Value::Bool(false) | Value::Null => Ok(ResourceHealth::Unhealthy),
                other => Err(c.error(
                    op,
                    format!("InterpretHealth must return a boolean, not {other}"),
                )),
            };
        }
        let native = builtin::native_kind(manifest).is_some();
        if native {
            Ok(health::manifest_health(manifest, reflected))
        } else {
            // Not a built-in kind: only the generic reading of conditions and generations.
            Ok(health::health("", None, reflected))
        }
    }

    /// The template's status summed over the members' (`None` leaves it alone).
    pub fn aggregate_status(
        &self,
        template: &Value,
        items: &[AggregatedStatusItem],
    ) -> Result<Option<Value>> {
        let op = Operation::AggregateStatus;
        if let Some(c) = self.script(template, op) {
            // Karmada passes nil when no member reported yet.
            let items_json = serde_json::to_value(items).unwrap_or_default();
            let arg = if items.is_empty() {
                Arg::Nil
            } else {
                Arg::Json(&items_json)
            };
            let out = c.call(op, &[Arg::Json(template), arg], 1, Top::Object)?;
            let obj = object_result(&c, op, out)?;
            return Ok(
                Some(obj.get("status").cloned().unwrap_or(Value::Null)).filter(|s| !s.is_null())
            );
        }
        let Some(kind) = builtin::native_kind(template) else {
            return Ok(None);
        };
        let generation = template
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        Ok(status::aggregate(
            kind,
            generation,
            template.get("status"),
            items,
        ))
    }

    /// What `obj` depends on (every user customization with a script adds to the list).
    pub fn dependencies(&self, obj: &Value) -> Result<Vec<DependentObjectReference>> {
        let op = Operation::InterpretDependency;
        let (api_version, kind) = target_of(obj);
        let user: Vec<Arc<Compiled>> = self
            .user
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| {
                c.api_version == api_version && c.kind == kind && op.script(&c.rules).is_some()
            })
            .cloned()
            .collect();
        let scripts = if user.is_empty() {
            self.script(obj, op).into_iter().collect()
        } else {
            user
        };
        if scripts.is_empty() {
            return Ok(builtin::dependencies(obj).unwrap_or_default());
        }
        let mut all = Vec::new();
        for c in scripts {
            let out = c.call(op, &[Arg::Json(obj)], 1, Top::List)?;
            let refs: Vec<DependentObjectReference> = match &out[0] {
                Value::Null => Vec::new(),
                v => serde_json::from_value(v.clone()).map_err(|e| {
                    c.error(
                        op,
                        format!("GetDependencies must return a list of references: {e}"),
                    )
                })?,
            };
            for r in refs {
                if !all.contains(&r) {
                    all.push(r);
                }
            }
        }
        Ok(all)
    }

    /// The components of a multi-template workload; `None` when nothing interprets them.
    pub fn components(&self, obj: &Value) -> Result<Option<Vec<Component>>> {
        let op = Operation::InterpretComponent;
        let Some(c) = self.script(obj, op) else {
            return Ok(None);
        };
        let out = c.call(op, &[Arg::Json(obj)], 1, Top::List)?;
        match &out[0] {
            Value::Null => Ok(Some(Vec::new())),
            v => {
                let mut v = v.clone();
                for comp in v.as_array_mut().into_iter().flatten() {
                    if let Some(r) = comp.get_mut("replicaRequirements") {
                        *r = quantities_as_strings(r);
                    }
                }
                serde_json::from_value(v).map(Some).map_err(|e| {
                    c.error(
                        op,
                        format!("GetComponents must return a list of components: {e}"),
                    )
                })
            }
        }
    }
}

fn object_result(c: &Compiled, op: Operation, out: Vec<Value>) -> Result<Value> {
    match out.into_iter().next() {
        Some(v @ Value::Object(_)) => Ok(v),
        other => Err(c.error(
            op,
            format!(
                "{} must return a table, not {}",
                op.function(),
                other.unwrap_or(Value::Null)
            ),
        )),
    }
}

/// Requirements a script returned, with numeric quantities (`cpu = 1`) as strings.
fn quantities_as_strings(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("resourceRequest").and_then(Value::as_object_mut) {
        for q in m.values_mut() {
            if let Value::Number(n) = q {
                *q = Value::String(n.to_string());
            }
        }
    }
    v
}

fn bundled_compiled(limits: Limits) -> &'static [Arc<Compiled>] {
    static BUNDLED: OnceLock<Vec<Arc<Compiled>>> = OnceLock::new();
    BUNDLED.get_or_init(|| {
        bundled::customizations()
            .iter()
            .map(|c| Arc::new(Compiled::new(c, true, limits)))
            .collect()
    })
}

/// The outcome of checking each script of one customization.
pub type CheckReport = Vec<(Operation, std::result::Result<(), InterpretError>)>;

/// Every customization of `list` checked (by name): syntax and the function of each operation.
pub fn check(
    list: &[ResourceInterpreterCustomization],
    limits: Limits,
) -> Vec<(String, CheckReport)> {
    list.iter()
        .map(|c| (c.name_any(), Compiled::new(c, false, limits).check()))
        .collect()
}
