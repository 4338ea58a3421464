//! The CRDs rendered from `src/api`: the checked-in manifests are fresh, the schemas are ones a
//! kube-apiserver accepts, and Karmada-style YAML round-trips through the Rust types unchanged.
//!
//! Regenerate the manifests with `UPDATE_GENERATED=1 cargo test --test crds`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use karmadactl::api::{self, policy};
use karmadactl::install::crds::{MANIFEST_DIR, manifest_file_name, render_manifest};
use kube::{CustomResourceExt, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test crds";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn generated_crd_manifests_are_fresh() {
    let dir = repo_root().join(MANIFEST_DIR);
    let update = std::env::var("UPDATE_GENERATED").is_ok_and(|v| v == "1");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }

    let mut problems = Vec::new();
    let mut expected_files = BTreeSet::new();
    for crd in api::crds() {
        let name = manifest_file_name(&crd);
        let path = dir.join(&name);
        let want = render_manifest(&crd);
        expected_files.insert(name.clone());
        let have = std::fs::read_to_string(&path).ok();
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        if update {
            std::fs::write(&path, &want).unwrap();
        } else if have.is_none() {
            problems.push(format!("{MANIFEST_DIR}/{name} is missing"));
        } else {
            problems.push(format!("{MANIFEST_DIR}/{name} is stale"));
        }
    }

    // Files nobody renders any more.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && !expected_files.contains(&name) {
                if update {
                    std::fs::remove_file(entry.path()).unwrap();
                } else {
                    problems.push(format!(
                        "{MANIFEST_DIR}/{name} is not rendered from src/api"
                    ));
                }
            }
        }
    }

    assert!(
        problems.is_empty(),
        "{}\nregenerate with: {REGENERATE}",
        problems.join("\n")
    );
}

#[test]
fn manifests_parse_back_to_the_same_crds() {
    for crd in api::crds() {
        let text = render_manifest(&crd);
        let parsed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_yaml::from_str(&text).unwrap();
        assert_eq!(parsed, crd, "{}", manifest_file_name(&crd));
    }
}

#[test]
fn crd_set_and_names_match_karmada() {
    let names: Vec<_> = api::crds()
        .iter()
        .map(|c| {
            (
                c.metadata.name.clone().unwrap(),
                c.spec.scope.clone(),
                c.spec.names.short_names.clone().unwrap_or_default(),
                c.spec
                    .versions
                    .iter()
                    .map(|v| v.name.clone())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let want = [
        ("clusters.cluster.karmada.io", "Cluster", vec![], "v1alpha1"),
        (
            "resourceinterpretercustomizations.config.karmada.io",
            "Cluster",
            vec!["ric"],
            "v1alpha1",
        ),
        (
            "clusteroverridepolicies.policy.karmada.io",
            "Cluster",
            vec!["cop"],
            "v1alpha1",
        ),
        (
            "clusterpropagationpolicies.policy.karmada.io",
            "Cluster",
            vec!["cpp"],
            "v1alpha1",
        ),
        (
            "clustertaintpolicies.policy.karmada.io",
            "Cluster",
            vec![],
            "v1alpha1",
        ),
        (
            "overridepolicies.policy.karmada.io",
            "Namespaced",
            vec!["op"],
            "v1alpha1",
        ),
        (
            "propagationpolicies.policy.karmada.io",
            "Namespaced",
            vec!["pp"],
            "v1alpha1",
        ),
        (
            "clusterresourcebindings.work.karmada.io",
            "Cluster",
            vec!["crb"],
            "v1alpha2",
        ),
        (
            "resourcebindings.work.karmada.io",
            "Namespaced",
            vec!["rb"],
            "v1alpha2",
        ),
        (
            "works.work.karmada.io",
            "Namespaced",
            vec!["wk"],
            "v1alpha1",
        ),
    ];
    assert_eq!(names.len(), want.len());
    for ((name, scope, short, versions), (wname, wscope, wshort, wversion)) in
        names.iter().zip(want)
    {
        assert_eq!(name, wname);
        assert_eq!(scope, wscope, "{name}");
        assert_eq!(short, &wshort, "{name}");
        assert_eq!(versions, &vec![wversion.to_string()], "{name}");
    }

    // The cluster-scoped twins report their own identity.
    assert_eq!(
        api::ClusterPropagationPolicy::kind(&()),
        "ClusterPropagationPolicy"
    );
    assert_eq!(
        api::ClusterPropagationPolicy::plural(&()),
        "clusterpropagationpolicies"
    );
    assert_eq!(
        api::ClusterPropagationPolicy::api_version(&()),
        "policy.karmada.io/v1alpha1"
    );
    assert_eq!(
        api::ClusterResourceBinding::crd_name(),
        "clusterresourcebindings.work.karmada.io"
    );
    assert_eq!(api::ClusterOverridePolicy::shortnames(), &["cop"]);
}

#[test]
fn printer_columns_match_karmada() {
    let columns = |crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
        crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.priority.unwrap_or(0) == 0)
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        columns(api::Cluster::crd()),
        ["VERSION", "MODE", "READY", "AGE"]
    );
    assert_eq!(
        columns(api::interpreter::ResourceInterpreterCustomization::crd()),
        ["TARGET-API-VERSION", "TARGET-KIND", "AGE"]
    );
    assert_eq!(
        columns(api::PropagationPolicy::crd()),
        ["CONFLICT-RESOLUTION", "PRIORITY", "AGE"]
    );
    assert_eq!(
        columns(api::ClusterPropagationPolicy::crd()),
        ["CONFLICT-RESOLUTION", "PRIORITY", "AGE"]
    );
    assert_eq!(
        columns(api::ResourceBinding::crd()),
        ["SCHEDULED", "FULLYAPPLIED", "AGE"]
    );
    assert_eq!(
        columns(api::ClusterResourceBinding::crd()),
        ["SCHEDULED", "FULLYAPPLIED", "AGE"]
    );
    assert_eq!(
        columns(api::Work::crd()),
        ["WORKLOAD-KIND", "APPLIED", "AGE"]
    );
}

/// Kubernetes only accepts structural schemas: no references, no `anyOf`/`oneOf` without a
/// type, every node typed (or explicitly open), and every CEL rule should explain itself.
#[test]
fn schemas_are_structural_and_rules_explain_themselves() {
    fn walk(path: &str, node: &Value, problems: &mut Vec<String>) {
        let Some(obj) = node.as_object() else { return };
        for banned in [
            "$ref",
            "anyOf",
            "oneOf",
            "allOf",
            "not",
            "definitions",
            "$defs",
        ] {
            if obj.contains_key(banned) {
                problems.push(format!("{path}: has {banned}"));
            }
        }
        let open = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            || obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        if !obj.contains_key("type") && !open {
            problems.push(format!("{path}: no type"));
        }
        if let Some(rules) = obj
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        {
            for rule in rules {
                let is_transition = rule["rule"].as_str().unwrap_or("").contains("oldSelf");
                let message = rule.get("message").and_then(Value::as_str).unwrap_or("");
                if message.len() < 20 && !is_transition {
                    problems.push(format!(
                        "{path}: rule {} has no helpful message",
                        rule["rule"]
                    ));
                }
            }
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                walk(&format!("{path}.{k}"), v, problems);
            }
        }
        if let Some(items) = obj.get("items") {
            walk(&format!("{path}[]"), items, problems);
        }
        if let Some(extra) = obj.get("additionalProperties").filter(|v| v.is_object()) {
            walk(&format!("{path}{{}}"), extra, problems);
        }
    }

    let mut problems = Vec::new();
    for crd in api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        for version in &crd.spec.versions {
            let schema = serde_json::to_value(
                version
                    .schema
                    .as_ref()
                    .unwrap()
                    .open_api_v3_schema
                    .as_ref()
                    .unwrap(),
            )
            .unwrap();
            walk(&name, &schema, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Parses `value` as `T` and serializes it back.
fn through<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("does not parse as {}: {e}", std::any::type_name::<T>()));
    serde_json::to_value(&typed).unwrap()
}

fn samples() -> Vec<(PathBuf, Value)> {
    let dir = repo_root().join("tests/samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let value: Value = serde_yaml::from_str(&text).unwrap();
            (p, value)
        })
        .collect()
}

fn round_trip(path: &Path, value: &Value) -> Value {
    match value["kind"].as_str().unwrap() {
        "Cluster" => through::<api::Cluster>(value),
        "PropagationPolicy" => through::<api::PropagationPolicy>(value),
        "ClusterPropagationPolicy" => through::<api::ClusterPropagationPolicy>(value),
        "OverridePolicy" => through::<api::OverridePolicy>(value),
        "ClusterOverridePolicy" => through::<api::ClusterOverridePolicy>(value),
        "ResourceBinding" => through::<api::ResourceBinding>(value),
        "ClusterResourceBinding" => through::<api::ClusterResourceBinding>(value),
        "Work" => through::<api::Work>(value),
        other => panic!("{}: unknown kind {other}", path.display()),
    }
}

#[test]
fn karmada_samples_round_trip_unchanged() {
    let samples = samples();
    assert!(
        samples.len() >= 8,
        "tests/samples holds the Karmada-style samples"
    );
    for (path, value) in &samples {
        assert_eq!(
            &round_trip(path, value),
            value,
            "{} changed in a round trip",
            path.display()
        );
    }
}

#[test]
fn cluster_scoped_twins_round_trip_as_themselves() {
    // A ClusterResourceBinding carries status like its namespaced twin.
    let (path, mut rb) = samples()
        .into_iter()
        .find(|(p, _)| p.ends_with("resourcebinding-nginx.yaml"))
        .unwrap();
    rb["kind"] = "ClusterResourceBinding".into();
    rb["metadata"].as_object_mut().unwrap().remove("namespace");
    let back = round_trip(&path, &rb);
    assert_eq!(back, rb);
    assert!(back["status"]["aggregatedStatus"].is_array());
}

#[test]
fn typed_access_to_samples() {
    let value = samples()
        .into_iter()
        .find(|(p, _)| p.ends_with("propagationpolicy-divided-weighted.yaml"))
        .unwrap()
        .1;
    let pp: api::PropagationPolicy = serde_json::from_value(value).unwrap();
    assert_eq!(pp.spec.priority(), 10);
    assert_eq!(
        pp.spec.conflict_resolution(),
        policy::ConflictResolution::Overwrite
    );
    assert_eq!(pp.spec.scheduler_name(), "default-scheduler");
    assert_eq!(
        pp.spec.placement.replica_scheduling_type(),
        policy::ReplicaSchedulingType::Divided
    );
    let weights = &pp.spec.placement.replica_scheduling.as_ref().unwrap();
    let list = &weights
        .weight_preference
        .as_ref()
        .unwrap()
        .static_weight_list;
    assert_eq!(list.iter().map(|w| w.weight).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(
        pp.spec
            .placement
            .cluster_affinity
            .as_ref()
            .unwrap()
            .exclude_clusters,
        ["member3"]
    );

    let nginx: api::PropagationPolicy = serde_json::from_value(
        samples()
            .into_iter()
            .find(|(p, _)| p.ends_with("propagationpolicy-nginx.yaml"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(
        nginx.spec.placement.replica_scheduling_type(),
        policy::ReplicaSchedulingType::Duplicated
    );
    assert_eq!(nginx.spec.priority(), 0);
    assert_eq!(
        nginx.spec.conflict_resolution(),
        policy::ConflictResolution::Abort
    );
}
