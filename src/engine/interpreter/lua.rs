//! The Lua side of customizations: a sandboxed Lua 5.4 state per customization, the `kube`
//! helper library and the conversion of objects between JSON and Lua tables.
//!
//! Sandbox: only the base (without `load`, `loadfile`, `dofile`, `collectgarbage`, metatable
//! and raw access), `string`, `table`, `math` and `utf8` libraries; no `io`, `os`, `package`,
//! `debug` or `coroutine`; `require` knows only `"kube"`; scripts are loaded as text, never as
//! bytecode. Every call runs under a memory cap and an instruction and time budget, so a
//! script that loops or allocates without end fails with an error instead of holding a worker.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};
use serde_json::{Map, Value};

use crate::engine::quantity::{format_quantity, quantity};

/// What one call may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lua VM instructions per call.
    pub instructions: u64,
    /// Wall-clock time per call.
    pub time: Duration,
    /// Memory of one customization's Lua state.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: 50_000_000,
            time: Duration::from_secs(1),
            memory: 64 << 20,
        }
    }
}

/// Registry key of the metatable marking tables that came from JSON arrays, so an empty list
/// goes back as `[]` and not as `{}` (Lua has one kind of table for both).
const ARRAY_MARK: &str = "karmadactl.array";

/// Base functions a script may not call (they load code, reach the collector, or bypass
/// metatables); replaced by functions that fail with a clear message.
const BLOCKED: &[&str] = &[
    "load",
    "loadfile",
    "dofile",
    "loadstring",
    "collectgarbage",
    "getmetatable",
    "setmetatable",
    "rawget",
    "rawset",
    "rawequal",
    "rawlen",
    "print",
];

/// A sandboxed Lua state holding one customization's compiled scripts.
pub struct Vm {
    lua: Lua,
    limits: Limits,
}

impl Vm {
    pub fn new(limits: Limits) -> Result<Vm, String> {
        let libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8;
        let lua = Lua::new_with(libs, LuaOptions::default()).map_err(|e| e.to_string())?;
        lua.set_memory_limit(limits.memory)
            .map_err(|e| e.to_string())?;
        let setup = || -> mlua::Result<()> {
            let g = lua.globals();
            for name in BLOCKED {
                let n = name.to_string();
                g.set(
                    *name,
                    lua.create_function(move |_, ()| -> mlua::Result<()> {
                        Err(mlua::Error::runtime(format!(
                            "{n} is not available in resource interpreter scripts"
                        )))
                    })?,
                )?;
            }
            if let Ok(string) = g.get::<Table>("string") {
                string.set("dump", mlua::Value::Nil)?;
            }
            // Lua 5.1 spelling, for scripts written for Karmada's interpreter.
            let table: Table = g.get("table")?;
            g.set("unpack", table.get::<Function>("unpack")?)?;
            let kube = kube_library(&lua)?;
            g.set(
                "require",
                lua.create_function(move |_, name: String| {
                    if name == "kube" {
                        Ok(kube.clone())
                    } else {
                        Err(mlua::Error::runtime(format!(
                            "module {name:?} is not available (only \"kube\" is)"
                        )))
                    }
                })?,
            )?;
            lua.set_named_registry_value(ARRAY_MARK, lua.create_table()?)?;
            Ok(())
        };
        setup().map_err(|e| e.to_string())?;
        Ok(Vm { lua, limits })
    }

    /// Compiles `source` (text only) under `chunk_name`, which error messages start with.
    pub fn compile(&self, chunk_name: &str, source: &str) -> Result<Function, String> {
        self.lua
            .load(source)
            .set_name(format!("={chunk_name}"))
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| first_line(&e))
    }

    /// Runs `chunk` (which defines the function), then calls the global `function` with the
    /// arguments, under the budget. Returns `nret` results (missing ones as Nil).
    pub fn call(
        &self,
        chunk: &Function,
        function: &str,
        args: &[Arg<'_>],
        nret: usize,
    ) -> Result<Vec<mlua::Value>, String> {
        self.budgeted(|lua| {
            chunk.call::<()>(())?;
            let f: mlua::Value = lua.globals().get(function)?;
            let mlua::Value::Function(f) = f else {
                return Err(mlua::Error::runtime(format!(
                    "the script does not define function {function}"
                )));
            };
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(match a {
                    Arg::Json(v) => to_lua(lua, v)?,
                    Arg::Nil => mlua::Value::Nil,
                    Arg::Int(i) => mlua::Value::Integer(*i),
                });
            }
            let out: mlua::MultiValue = f.call(mlua::MultiValue::from_vec(values))?;
            let mut out: Vec<mlua::Value> = out.into_iter().collect();
            out.resize(nret, mlua::Value::Nil);
            Ok(out)
        })
    }

    /// Whether running `chunk` defines the global function `function`.
    pub fn defines(&self, chunk: &Function, function: &str) -> Result<bool, String> {
        self.budgeted(|lua| {
            lua.globals().set(function, mlua::Value::Nil)?;
            chunk.call::<()>(())?;
            Ok(matches!(
                lua.globals().get::<mlua::Value>(function)?,
                mlua::Value::Function(_)
            ))
        })
    }

    /// The Lua state, for converting results.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Runs `f` under the instruction and time budget (the memory cap is always on).
    fn budgeted<T>(&self, f: impl FnOnce(&Lua) -> mlua::Result<T>) -> Result<T, String> {
        let lua = &self.lua;
        let used = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let limits = self.limits;
        let step = 1000u32;
        let counter = used.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(step),
            move |_, _| {
                let n = counter.fetch_add(step as u64, Ordering::Relaxed) + step as u64;
                if n > limits.instructions {
                    return Err(mlua::Error::runtime(format!(
                        "script exceeded its budget of {} instructions",
                        limits.instructions
                    )));
                }
                if start.elapsed() > limits.time {
                    return Err(mlua::Error::runtime(format!(
                        "script exceeded its time budget of {:?}",
                        limits.time
                    )));
                }
                Ok(VmState::Continue)
            },
        )
        .map_err(|e| e.to_string())?;
        let result = f(lua);
        lua.remove_global_hook();
        let result = result.map_err(|e| match root(&e) {
            mlua::Error::MemoryError(_) => format!(
                "script exceeded its memory limit of {} MiB",
                limits.memory >> 20
            ),
            _ => first_line(&e),
        });
        if result.is_err() {
            // Whatever a failed script left behind goes before the next call.
            let _ = lua.gc_collect();
        }
        result
    }
}

fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        other => other,
    }
}

/// An argument of a script function.
pub enum Arg<'a> {
    Json(&'a Value),
    Int(i64),
    Nil,
}

fn first_line(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return first_line(cause),
        other => other.to_string(),
    };
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("runtime error: ")
        .or_else(|| line.strip_prefix("syntax error: "))
        .unwrap_or(line)
        .to_string()
}

// --- JSON <-> Lua ----------------------------------------------------------------------------

/// A JSON value as a Lua value: objects and arrays become tables (arrays marked), numbers
/// integers where they are whole.
pub fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<mlua::Value> {
    Ok(match v {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i),
            None => mlua::Value::Number(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            t.set_metatable(Some(lua.named_registry_value::<Table>(ARRAY_MARK)?))?;
            mlua::Value::Table(t)
        }
        Value::Object(m) => {
            let t = lua.create_table_with_capacity(0, m.len())?;
            for (k, item) in m {
                t.raw_set(k.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(t)
        }
    })
}

/// Paths (field names joined by `.`, list indexes left out) where the inputs of a call hold
/// an empty list or an empty object: how an empty table that comes back is told apart.
#[derive(Default)]
pub struct Shapes {
    lists: HashSet<String>,
    objects: HashSet<String>,
}

impl Shapes {
    pub fn of(values: &[&Value]) -> Shapes {
        let mut s = Shapes::default();
        for v in values {
            s.walk(v, "");
        }
        s
    }

    fn walk(&mut self, v: &Value, path: &str) {
        match v {
            Value::Array(items) if items.is_empty() => {
                self.lists.insert(path.to_string());
            }
            Value::Object(m) if m.is_empty() => {
                self.objects.insert(path.to_string());
            }
            Value::Array(items) => items.iter().for_each(|i| self.walk(i, path)),
            Value::Object(m) => {
                for (k, item) in m {
                    self.walk(item, &join(path, k));
                }
            }
            _ => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// What the top of a result is expected to be when it is an empty table.
#[derive(Clone, Copy, PartialEq)]
pub enum Top {
    Object,
    List,
}

/// A Lua result as JSON. An empty table is a list when it was one on the way in (or is the
/// top of a list result), an object when the inputs had an object there (or is the top of an
/// object result), and otherwise is left out, as Karmada does.
pub fn from_lua(lua: &Lua, v: &mlua::Value, shapes: &Shapes, top: Top) -> Result<Value, String> {
    let mark: Table = lua
        .named_registry_value(ARRAY_MARK)
        .map_err(|e| e.to_string())?;
    match convert(v, "", shapes, &mark, 0)? {
        Some(v) => Ok(v),
        None => Ok(match top {
            Top::Object => Value::Object(Map::new()),
            Top::List => Value::Array(Vec::new()),
        }),
    }
}

fn convert(
    v: &mlua::Value,
    path: &str,
    shapes: &Shapes,
    mark: &Table,
    depth: usize,
) -> Result<Option<Value>, String> {
    if depth > 100 {
        return Err("result nests deeper than 100 levels (a table that contains itself?)".into());
    }
    Ok(Some(match v {
        mlua::Value::Nil => Value::Null,
        mlua::Value::Boolean(b) => Value::Bool(*b),
        mlua::Value::Integer(i) => Value::from(*i),
        mlua::Value::Number(n) => number(*n)?,
        mlua::Value::String(s) => Value::String(s.to_string_lossy()),
        mlua::Value::Table(t) => {
            let marked = t.metatable().is_some_and(|m| m == *mark);
            let mut int_keys: Vec<(i64, mlua::Value)> = Vec::new();
            let mut str_keys: Vec<(String, mlua::Value)> = Vec::new();
            for pair in t.clone().pairs::<mlua::Value, mlua::Value>() {
                let (k, val) = pair.map_err(|e| e.to_string())?;
                match k {
                    mlua::Value::Integer(i) => int_keys.push((i, val)),
                    mlua::Value::Number(n) if n.fract() == 0.0 => int_keys.push((n as i64, val)),
                    mlua::Value::String(s) => str_keys.push((s.to_string_lossy(), val)),
                    other => {
                        return Err(format!(
                            "a table key of type {} cannot be turned into JSON",
                            other.type_name()
                        ));
                    }
                }
            }
            if int_keys.is_empty() && str_keys.is_empty() {
                if marked || shapes.lists.contains(path) {
                    return Ok(Some(Value::Array(Vec::new())));
                }
                if shapes.objects.contains(path) {
                    return Ok(Some(Value::Object(Map::new())));
                }
                return Ok(None);
            }
            if !int_keys.is_empty() && str_keys.is_empty() {
                int_keys.sort_by_key(|(i, _)| *i);
                if int_keys
                    .iter()
                    .enumerate()
                    .all(|(n, (i, _))| *i == n as i64 + 1)
                {
                    let mut out = Vec::with_capacity(int_keys.len());
                    for (_, val) in &int_keys {
                        if let Some(x) = convert(val, path, shapes, mark, depth + 1)? {
                            out.push(x);
                        }
                    }
                    return Ok(Some(Value::Array(out)));
                }
            }
            if !int_keys.is_empty() && !str_keys.is_empty() {
                return Err(format!(
                    "table at {} mixes list entries and named fields",
                    if path.is_empty() { "the top" } else { path }
                ));
            }
            let mut out = Map::new();
            for (k, val) in int_keys
                .into_iter()
                .map(|(i, v)| (i.to_string(), v))
                .chain(str_keys)
            {
                if let Some(x) = convert(&val, &join(path, &k), shapes, mark, depth + 1)? {
                    out.insert(k, x);
                }
            }
            Value::Object(out)
        }
        other => {
            return Err(format!(
                "a {} cannot be turned into JSON",
                other.type_name()
            ));
        }
    }))
}

fn number(n: f64) -> Result<Value, String> {
    if !n.is_finite() {
        return Err(format!("{n} is not a JSON number"));
    }
    // Whole numbers as integers, as Karmada's interpreter (Lua 5.1, floats only) writes them.
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        return Ok(Value::from(n as i64));
    }
    Ok(serde_json::Number::from_f64(n)
        .map(Value::Number)
        .unwrap_or(Value::Null))
}

// --- the kube library ------------------------------------------------------------------------

fn kube_library(lua: &Lua) -> mlua::Result<Table> {
    let kube = lua.create_table()?;
    kube.set(
        "resourceAdd",
        lua.create_function(|_, args: mlua::Variadic<mlua::Value>| {
            let mut sum = 0.0;
            for a in args.iter() {
                sum += lua_quantity(a)?;
            }
            Ok(format_quantity(sum))
        })?,
    )?;
    kube.set(
        "getResourceQuantity",
        lua.create_function(|_, q: mlua::Value| lua_quantity(&q))?,
    )?;
    kube.set(
        "accuratePodRequirements",
        lua.create_function(|lua, template: Table| {
            let template = table_json(lua, &template)?;
            match super::builtin::pod_requirements(template.get("spec").unwrap_or(&Value::Null)) {
                Some(r) => to_lua(lua, &serde_json::to_value(r).unwrap_or_default()),
                None => Ok(mlua::Value::Nil),
            }
        })?,
    )?;
    kube.set(
        "getPodDependencies",
        lua.create_function(|lua, (template, namespace): (Table, Option<String>)| {
            let template = table_json(lua, &template)?;
            let namespace = namespace.unwrap_or_else(|| "default".into());
            let refs = super::builtin::pod_dependencies(
                template.get("spec").unwrap_or(&Value::Null),
                &namespace,
            );
            to_lua(lua, &serde_json::to_value(refs).unwrap_or_default())
        })?,
    )?;
    Ok(kube)
}

fn table_json(lua: &Lua, t: &Table) -> mlua::Result<Value> {
    from_lua(
        lua,
        &mlua::Value::Table(t.clone()),
        &Shapes::default(),
        Top::Object,
    )
    .map_err(mlua::Error::runtime)
}

fn lua_quantity(v: &mlua::Value) -> mlua::Result<f64> {
    match v {
        mlua::Value::Nil => Ok(0.0),
        mlua::Value::Integer(i) => Ok(*i as f64),
        mlua::Value::Number(n) => Ok(*n),
        mlua::Value::String(s) => {
            let s = s.to_string_lossy();
            quantity(&s).ok_or_else(|| mlua::Error::runtime(format!("{s:?} is not a quantity")))
        }
        other => Err(mlua::Error::runtime(format!(
            "a quantity is a string, not a {}",
            other.type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(
        script: &str,
        function: &str,
        args: &[Arg<'_>],
        limits: Limits,
    ) -> Result<Value, String> {
        let vm = Vm::new(limits)?;
        let chunk = vm.compile("test", script)?;
        let refs: Vec<&Value> = args
            .iter()
            .filter_map(|a| match a {
                Arg::Json(v) => Some(*v),
                _ => None,
            })
            .collect();
        let out = vm.call(&chunk, function, args, 1)?;
        from_lua(vm.lua(), &out[0], &Shapes::of(&refs), Top::Object)
    }

    #[test]
    fn empty_tables_keep_their_shape_and_numbers_their_kind() {
        let obj = json!({"spec": {"list": [], "map": {}, "n": 3, "f": 1.5, "items": [{"a": []}]}});
        let out = run(
            "function F(o) o.spec.added = {} ; o.spec.half = o.spec.n / 2 ; o.spec.whole = 4 / 2 ; return o end",
            "F",
            &[Arg::Json(&obj)],
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"spec": {"list": [], "map": {}, "n": 3, "f": 1.5, "items": [{"a": []}], "half": 1.5, "whole": 2}})
        );
    }

    #[test]
    fn sandbox_has_no_io_os_or_loaders() {
        for (script, want) in [
            ("function F() return io.open('/etc/passwd') end", "io"),
            ("function F() return os.getenv('HOME') end", "os"),
            (
                "function F() return load('return 1')() end",
                "load is not available",
            ),
            ("function F() return require('os') end", "not available"),
            ("function F() return debug.getinfo(1) end", "debug"),
            ("function F() return package.path end", "package"),
        ] {
            let err = run(script, "F", &[], Limits::default()).unwrap_err();
            assert!(err.contains(want), "{script}: {err}");
        }
        let vm = Vm::new(Limits::default()).unwrap();
        // A precompiled chunk is refused.
        let err = vm.compile("bin", "\x1bLua").unwrap_err();
        assert!(
            err.contains("binary") || err.contains("attempt to load"),
            "{err}"
        );
    }

    #[test]
    fn endless_loops_and_allocations_fail_within_the_budget() {
        let limits = Limits {
            instructions: 5_000_000,
            time: Duration::from_secs(2),
            memory: 16 << 20,
        };
        let start = Instant::now();
        let err = run("function F() while true do end end", "F", &[], limits).unwrap_err();
        assert!(err.contains("budget"), "{err}");
        let err = run(
            "function F() local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep('x', 1000) .. i end end",
            "F",
            &[],
            limits,
        )
        .unwrap_err();
        assert!(err.contains("memory limit"), "{err}");
        let err = run(
            "function F() return string.rep('x', 1 << 28) end",
            "F",
            &[],
            limits,
        )
        .unwrap_err();
        assert!(err.contains("memory limit"), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "{:?}",
            start.elapsed()
        );
        // The state is usable after a failure.
        let vm = Vm::new(limits).unwrap();
        let bad = vm
            .compile("t", "function F() while true do end end")
            .unwrap();
        assert!(vm.call(&bad, "F", &[], 1).is_err());
        let good = vm.compile("t", "function G() return 7 end").unwrap();
        assert_eq!(
            vm.call(&good, "G", &[], 1).unwrap()[0],
            mlua::Value::Integer(7)
        );
    }

    #[test]
    fn kube_library() {
        let pod = json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {"resources": {"requests": {"cpu": "250m"}}}], "nodeSelector": {"disk": "ssd"},
            "volumes": [{"name": "c", "configMap": {"name": "conf"}}]}});
        let out = run(
            r#"local kube = require("kube")
            function F(t) return {sum = kube.resourceAdd("1", "500m", nil), q = kube.getResourceQuantity("2Ki"),
                req = kube.accuratePodRequirements(t), deps = kube.getPodDependencies(t, "ns")} end"#,
            "F",
            &[Arg::Json(&pod)],
            Limits::default(),
        )
        .unwrap();
        assert_eq!(out["sum"], "1500m");
        assert_eq!(out["q"], 2048);
        assert_eq!(out["req"]["resourceRequest"]["cpu"], "750m");
        assert_eq!(out["req"]["nodeClaim"]["nodeSelector"]["disk"], "ssd");
        assert_eq!(
            out["deps"],
            json!([{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "conf"}])
        );
    }

    #[test]
    fn errors_name_the_chunk_and_line() {
        let vm = Vm::new(Limits::default()).unwrap();
        let err = vm
            .compile("my-cust InterpretHealth", "function X()\n  return 1 +\nend")
            .unwrap_err();
        assert!(err.starts_with("my-cust InterpretHealth:3:"), "{err}");
        let chunk = vm
            .compile(
                "my-cust InterpretHealth",
                "function X(o)\n  return o.a.b\nend",
            )
            .unwrap();
        let err = vm
            .call(&chunk, "X", &[Arg::Json(&json!({}))], 1)
            .unwrap_err();
        assert!(err.starts_with("my-cust InterpretHealth:2:"), "{err}");
    }
}
