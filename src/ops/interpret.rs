//! `karmadactl interpret`: check ResourceInterpreterCustomization files, or run one of their
//! operations on local objects, without a control plane (like Karmada's `karmadactl interpret`).

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::api::interpreter::ResourceInterpreterCustomization;
use crate::api::work::AggregatedStatusItem;
use crate::engine::interpreter::lua::Limits;
use crate::engine::interpreter::{self, Interpreter, Operation, Source};
use crate::{Error, Result};

fn fail(msg: impl Into<String>) -> Error {
    Error::Other(anyhow::anyhow!(msg.into()))
}

/// The YAML or JSON documents of `path` (`-`: standard input).
fn documents(path: &Path) -> Result<Vec<(String, Value)>> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Error::io("reading stdin", e))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
    };
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc)
            .map_err(|e| fail(format!("{}: not YAML or JSON: {e}", path.display())))?;
        if !v.is_null() {
            out.push((path.display().to_string(), v));
        }
    }
    Ok(out)
}

/// Files of `paths`: files as given, directories' `.yaml`/`.yml`/`.json` files (sub-directories
/// too with `recursive`).
fn files(paths: &[PathBuf], recursive: bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::io(format!("reading {}", p.display()), e))?
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for e in entries {
                if e.is_dir() {
                    if recursive {
                        out.extend(files(&[e], true)?);
                    }
                } else if e
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                {
                    out.push(e);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The customizations in `paths`, each with the file it came from.
pub fn load(
    paths: &[PathBuf],
    recursive: bool,
) -> Result<Vec<(String, ResourceInterpreterCustomization)>> {
    let mut out = Vec::new();
    for f in files(paths, recursive)? {
        for (source, v) in documents(&f)? {
            let kind = v["kind"].as_str().unwrap_or_default();
            if kind != "ResourceInterpreterCustomization" {
                return Err(fail(format!(
                    "{source}: a {} is not a ResourceInterpreterCustomization",
                    if kind.is_empty() {
                        "document without kind"
                    } else {
                        kind
                    }
                )));
            }
            let c: ResourceInterpreterCustomization = serde_json::from_value(v).map_err(|e| {
                fail(format!(
                    "{source}: not a valid ResourceInterpreterCustomization: {e}"
                ))
            })?;
            out.push((source, c));
        }
    }
    if out.is_empty() {
        return Err(fail(
            "no ResourceInterpreterCustomization in the files given with -f",
        ));
    }
    Ok(out)
}

/// `--check`: for each customization, its target and each operation PASS, UNSET or ERROR (the
/// error names the customization, the script and the line). Returns the report and whether
/// every script passed.
pub fn check(list: &[(String, ResourceInterpreterCustomization)]) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    for (source, c) in list {
        out.push_str("-----------------------------------\n");
        let name = c.metadata.name.clone().unwrap_or_default();
        out.push_str(&format!(
            "SOURCE: {}\n",
            if name.is_empty() { source } else { &name }
        ));
        let target = &c.spec.target;
        if target.api_version.is_empty() || target.kind.is_empty() {
            ok = false;
            out.push_str("ERROR: spec.target needs apiVersion and kind\n");
            continue;
        }
        out.push_str(&format!("TARGET: {} {}\n", target.api_version, target.kind));
        out.push_str("RULES:\n");
        let report = interpreter::check(std::slice::from_ref(c), Limits::default())
            .remove(0)
            .1;
        let width = Operation::ALL
            .iter()
            .map(|o| o.name().len())
            .max()
            .unwrap_or(0)
            + 1;
        for op in Operation::ALL {
            let status = match report.iter().find(|(o, _)| *o == op) {
                None => "UNSET".to_string(),
                Some((_, Ok(()))) => "PASS".to_string(),
                Some((_, Err(e))) => {
                    ok = false;
                    format!("ERROR: {}", e.message)
                }
            };
            out.push_str(&format!(
                "    {:width$} {status}\n",
                format!("{}:", op.name())
            ));
        }
    }
    (out, ok)
}

/// What `--operation` runs on.
#[derive(Debug, Default)]
pub struct Inputs {
    pub desired: Option<PathBuf>,
    pub observed: Option<PathBuf>,
    pub status: Option<PathBuf>,
    pub desired_replica: i64,
}

fn one_object(path: &Path, what: &str) -> Result<Value> {
    let mut docs = documents(path)?;
    match docs.len() {
        1 => Ok(docs.remove(0).1),
        0 => Err(fail(format!("{}: no object in the {what}", path.display()))),
        n => Err(fail(format!(
            "{}: {n} objects in the {what}; give one",
            path.display()
        ))),
    }
}

fn status_items(path: &Path) -> Result<Vec<AggregatedStatusItem>> {
    let mut items = Vec::new();
    for (source, v) in documents(path)? {
        let list = match v {
            Value::Array(list) => list,
            one => vec![one],
        };
        for v in list {
            items.push(serde_json::from_value(v).map_err(|e| {
                fail(format!(
                    "{source}: not an aggregated status item (clusterName, status, applied, health): {e}"
                ))
            })?);
        }
    }
    Ok(items)
}

/// `--operation`: runs one operation of the customizations on the inputs, with the scripts of
/// these customizations only (no bundled or built-in fallback), and prints the results the way
/// Karmada's command does: `---`, `# [i/n] name:`, the value as YAML.
pub fn execute(
    list: &[(String, ResourceInterpreterCustomization)],
    operation: Operation,
    inputs: &Inputs,
) -> Result<String> {
    let desired = inputs
        .desired
        .as_deref()
        .map(|p| one_object(p, "desired file"))
        .transpose()?;
    let observed = inputs
        .observed
        .as_deref()
        .map(|p| one_object(p, "observed file"))
        .transpose()?;
    let object = || -> Result<&Value> {
        match (&desired, &observed) {
            (Some(_), Some(_)) => Err(fail(
                "give either --desired-file or --observed-file for this operation, not both",
            )),
            (Some(d), None) => Ok(d),
            (None, Some(o)) => Ok(o),
            (None, None) => Err(fail(format!(
                "{operation} needs an object: give --observed-file (or --desired-file)"
            ))),
        }
    };
    let subject = match operation {
        Operation::Retain => desired
            .as_ref()
            .ok_or_else(|| fail("Retain needs --desired-file and --observed-file"))?,
        _ => object()?,
    };
    let interp = Interpreter::new(Limits::default());
    let customizations: Vec<ResourceInterpreterCustomization> =
        list.iter().map(|(_, c)| c.clone()).collect();
    interp.set_customizations(&customizations);
    let api_version = subject["apiVersion"].as_str().unwrap_or_default();
    let kind = subject["kind"].as_str().unwrap_or_default();
    match interp.customization_for(api_version, kind, operation) {
        Some(c) if matches!(c.source(), Source::Customization(_)) => {}
        _ => {
            return Err(fail(format!(
                "no customization in the files has a {} script ({operation}) for {api_version} {kind}",
                operation.field()
            )));
        }
    }
    let err = |e: interpreter::InterpretError| fail(e.to_string());
    let results: Vec<(&str, Value)> = match operation {
        Operation::Retain => {
            let observed = observed
                .as_ref()
                .ok_or_else(|| fail("Retain needs --desired-file and --observed-file"))?;
            vec![(
                "retained",
                interp
                    .retain(subject, observed)
                    .map_err(err)?
                    .unwrap_or_default(),
            )]
        }
        Operation::InterpretReplica => {
            let r = interp.replicas(subject).map_err(err)?.unwrap_or_default();
            vec![
                ("replica", json!(r.replicas)),
                (
                    "requires",
                    serde_json::to_value(r.requirements).unwrap_or_default(),
                ),
            ]
        }
        Operation::InterpretComponent => vec![(
            "components",
            serde_json::to_value(interp.components(subject).map_err(err)?).unwrap_or_default(),
        )],
        Operation::ReviseReplica => vec![(
            "revised",
            interp
                .revise_replica(subject, inputs.desired_replica)
                .map_err(err)?
                .unwrap_or_default(),
        )],
        Operation::InterpretStatus => vec![(
            "status",
            interp
                .reflect_status(subject)
                .map_err(err)?
                .unwrap_or_default(),
        )],
        Operation::AggregateStatus => {
            let items = match &inputs.status {
                Some(p) => status_items(p)?,
                None => Vec::new(),
            };
            let status = interp.aggregate_status(subject, &items).map_err(err)?;
            let mut obj = subject.clone();
            if let (Some(m), Some(s)) = (obj.as_object_mut(), status) {
                m.insert("status".into(), s);
            }
            vec![("aggregatedStatus", obj)]
        }
        Operation::InterpretHealth => {
            let h = interp
                .health(subject, Some(subject), subject.get("status"))
                .map_err(err)?;
            vec![(
                "healthy",
                json!(h == crate::api::work::ResourceHealth::Healthy),
            )]
        }
        Operation::InterpretDependency => vec![(
            "dependencies",
            serde_json::to_value(interp.dependencies(subject).map_err(err)?).unwrap_or_default(),
        )],
    };
    let mut out = String::new();
    let n = results.len();
    for (i, (name, value)) in results.into_iter().enumerate() {
        out.push_str("---\n");
        out.push_str(&format!("# [{}/{n}] {name}:\n", i + 1));
        out.push_str(&serde_yaml::to_string(&value).unwrap_or_default());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMIZATION: &str = r#"
apiVersion: config.karmada.io/v1alpha1
kind: ResourceInterpreterCustomization
metadata:
  name: widget
spec:
  target:
    apiVersion: example.io/v1
    kind: Widget
  customizations:
    replicaResource:
      luaScript: |
        function GetReplicas(obj)
          return obj.spec.size, {resourceRequest = {cpu = "100m"}}
        end
    healthInterpretation:
      luaScript: |
        function InterpretHealth(observedObj)
          return observedObj.status.ready ==
        end
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn check_names_the_operation_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "c.yaml", CUSTOMIZATION);
        let list = load(&[f], false).unwrap();
        let (report, ok) = check(&list);
        assert!(!ok);
        assert!(report.contains("TARGET: example.io/v1 Widget"), "{report}");
        assert!(report.contains("InterpretReplica:    PASS"), "{report}");
        assert!(report.contains("Retain:              UNSET"), "{report}");
        assert!(
            report.contains("InterpretHealth:     ERROR: widget healthInterpretation:3:"),
            "{report}"
        );
    }

    #[test]
    fn execute_runs_one_operation() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "c.yaml", CUSTOMIZATION);
        let obj = write(
            dir.path(),
            "o.yaml",
            "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w, namespace: ns}\nspec: {size: 4}\n",
        );
        let list = load(&[f], false).unwrap();
        let out = execute(
            &list,
            Operation::InterpretReplica,
            &Inputs {
                observed: Some(obj.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            out.starts_with("---\n# [1/2] replica:\n4\n---\n# [2/2] requires:\n"),
            "{out}"
        );
        assert!(out.contains("cpu: 100m"), "{out}");
        let err = execute(
            &list,
            Operation::ReviseReplica,
            &Inputs {
                observed: Some(obj),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("replicaRevision"), "{err}");
    }
}
