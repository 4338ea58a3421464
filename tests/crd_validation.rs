//! The CRDs against a real kube-apiserver: `install_crds` installs them, Karmada YAML is
//! accepted unchanged, common mistakes are rejected with a message that names the field and the
//! fix (no admission webhook involved), and `kubectl get` shows Karmada's columns.
//! Needs the binaries from `hack/build-test-binaries.sh`.

use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, CustomResourceExt};
use serde_json::{Value, json};

use karmadactl::api;
use karmadactl::install::crds::install_crds;
use karmadactl::testbed::{self, CONTROL_PLANE};

const TEST_MANAGER: &str = "crd-validation-test";

fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A control-plane client with the CRDs installed (installing is idempotent).
async fn control_plane() -> Client {
    let client = testbed::shared()
        .client(CONTROL_PLANE)
        .await
        .expect("control-plane client");
    install_crds(&client).await.expect("install_crds");
    client
}

fn resource_of(kind: &str) -> (ApiResource, bool) {
    match kind {
        "Cluster" => (api::Cluster::api_resource(), false),
        "PropagationPolicy" => (api::PropagationPolicy::api_resource(), true),
        "ClusterPropagationPolicy" => (api::ClusterPropagationPolicy::api_resource(), false),
        "OverridePolicy" => (api::OverridePolicy::api_resource(), true),
        "ClusterOverridePolicy" => (api::ClusterOverridePolicy::api_resource(), false),
        "ResourceBinding" => (api::ResourceBinding::api_resource(), true),
        "ClusterResourceBinding" => (api::ClusterResourceBinding::api_resource(), false),
        "Work" => (api::Work::api_resource(), true),
        "ResourceInterpreterCustomization" => (
            api::interpreter::ResourceInterpreterCustomization::api_resource(),
            false,
        ),
        other => panic!("unknown kind {other}"),
    }
}

fn api_for(client: &Client, object: &Value) -> (Api<DynamicObject>, String) {
    let (ar, namespaced) = resource_of(object["kind"].as_str().unwrap());
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let api = if namespaced {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        Api::namespaced_with(client.clone(), ns, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    };
    (api, name)
}

/// Server-side applies `object`; `dry_run` leaves nothing behind.
async fn apply(
    client: &Client,
    object: &Value,
    dry_run: bool,
) -> Result<DynamicObject, kube::Error> {
    let (api, name) = api_for(client, object);
    let mut params = PatchParams::apply(TEST_MANAGER).force();
    params.dry_run = dry_run;
    api.patch(&name, &params, &Patch::Apply(object)).await
}

async fn ensure_namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

fn samples() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
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
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                yaml(&text),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_crds_establishes_every_crd_and_is_idempotent() {
    let client = control_plane().await;
    install_crds(&client)
        .await
        .expect("a second install is a no-op");
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    for crd in api::crds() {
        let name = crd.metadata.name.unwrap();
        let live = crds.get(&name).await.unwrap();
        let established = live
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} is not Established");
        let managers: Vec<_> = live
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert!(
            managers
                .iter()
                .any(|m| m == karmadactl::build_info::FIELD_MANAGER),
            "{name} managed by {managers:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn karmada_yaml_is_accepted_and_defaulted_like_karmada() {
    let client = control_plane().await;
    for (file, object) in samples() {
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            ensure_namespace(&client, ns).await;
        }
        apply(&client, &object, false)
            .await
            .unwrap_or_else(|e| panic!("{file} was rejected: {e}"));
    }

    // Defaults Karmada's CRDs and webhook set.
    let pps: Api<api::PropagationPolicy> = Api::namespaced(client.clone(), "default");
    let pp = pps.get("nginx-propagation").await.unwrap();
    assert_eq!(pp.spec.priority, Some(0));
    assert_eq!(
        pp.spec.conflict_resolution,
        Some(api::policy::ConflictResolution::Abort)
    );
    assert_eq!(
        pp.spec.preemption,
        Some(api::policy::PreemptionBehavior::Never)
    );
    assert_eq!(pp.spec.scheduler_name, "default-scheduler");

    // replicaScheduling without a type means Divided.
    let mut divided = yaml(
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: divided-default, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    replicaScheduling: {replicaDivisionPreference: Aggregated}
    spreadConstraints: [{maxGroups: 2}]
"#,
    );
    divided["metadata"]["name"] = unique("divided").into();
    let created = apply(&client, &divided, false).await.unwrap();
    let pp: api::PropagationPolicy =
        serde_json::from_value(serde_json::to_value(created).unwrap()).unwrap();
    let placement = &pp.spec.placement;
    assert_eq!(
        placement.replica_scheduling_type(),
        api::policy::ReplicaSchedulingType::Divided
    );
    assert_eq!(placement.spread_constraints[0].min_groups, 1);
    assert_eq!(
        placement.spread_constraints[0].effective_field(),
        Some(api::policy::SpreadFieldValue::Cluster)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_cases_karmada_allows_are_accepted() {
    let client = control_plane().await;
    let accepted = [
        // A label spread needs no cluster constraint; an entry with neither field nor label
        // counts as the cluster constraint.
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterPropagationPolicy
metadata: {name: ok-spread}
spec:
  resourceSelectors: [{apiVersion: v1, kind: Namespace}]
  placement:
    spreadConstraints:
      - {spreadByLabel: team, maxGroups: 2}
      - {spreadByField: zone, maxGroups: 2}
      - {maxGroups: 3}
"#,
        // Tolerations with the default (empty) operator and effect; Exists without value.
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: ok-tolerations, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: a, labelSelector: {matchLabels: {x: y}}}]
  placement:
    clusterTolerations:
      - {key: a, value: b}
      - {operator: Exists}
"#,
        // Overflow tiers with Aggregated division.
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: ok-overflow, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinities:
      - affinityName: local
        clusterNames: [member1]
        overflowAffinities:
          - {affinityName: cloud, clusterNames: [member2]}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Aggregated}
"#,
        // Removing needs no value; a fieldOverrider with only yaml operations.
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: OverridePolicy
metadata: {name: ok-remove, namespace: default}
spec:
  overrideRules:
    - overriders:
        imageOverrider: [{component: Tag, operator: remove}]
        plaintext: [{path: /metadata/annotations, operator: remove}]
        fieldOverrider: [{fieldPath: /data/a.yaml, yaml: [{subPath: /x, operator: remove}]}]
"#,
        // The deprecated form alone is still fine.
        r#"
apiVersion: policy.karmada.io/v1alpha1
kind: ClusterOverridePolicy
metadata: {name: ok-deprecated}
spec:
  targetCluster: {clusterNames: [member1]}
  overriders:
    plaintext: [{path: /spec/replicas, operator: replace, value: 1}]
"#,
        // A pull-mode cluster with zones and no endpoint.
        r#"
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: pull-member}
spec:
  syncMode: Pull
  zones: [z1, z2]
  proxyURL: socks5://proxy.example.com:1080
"#,
    ];
    for text in accepted {
        let object = yaml(text);
        apply(&client, &object, true)
            .await
            .unwrap_or_else(|e| panic!("rejected: {e}\n{text}"));
    }
}

struct Mistake {
    what: &'static str,
    object: &'static str,
    /// Each must appear in the API server's message: the field, and words of the fix.
    expect: &'static [&'static str],
}

const PP: &str = "apiVersion: policy.karmada.io/v1alpha1\nkind: PropagationPolicy\nmetadata: {name: mistake, namespace: default}\n";
const OP: &str = "apiVersion: policy.karmada.io/v1alpha1\nkind: OverridePolicy\nmetadata: {name: mistake, namespace: default}\n";
const CLUSTER: &str = "apiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\n";

const MISTAKES: &[Mistake] = &[
    Mistake {
        what: "empty resourceSelectors",
        object: "spec: {resourceSelectors: []}",
        expect: &["spec.resourceSelectors", "at least 1"],
    },
    Mistake {
        what: "selector without kind",
        object: "spec: {resourceSelectors: [{apiVersion: apps/v1, name: nginx}]}",
        expect: &["spec.resourceSelectors[0].kind", "Required"],
    },
    Mistake {
        what: "selector with an empty apiVersion",
        object: "spec: {resourceSelectors: [{apiVersion: '', kind: Deployment}]}",
        expect: &["spec.resourceSelectors[0].apiVersion", "at least 1"],
    },
    Mistake {
        what: "clusterAffinity and clusterAffinities together",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinity: {clusterNames: [member1]}
    clusterAffinities: [{affinityName: a, clusterNames: [member2]}]",
        expect: &["spec.placement", "cannot both be set", "move it into clusterAffinities"],
    },
    Mistake {
        what: "duplicate affinityName",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinities: [{affinityName: a, clusterNames: [m1]}, {affinityName: a, clusterNames: [m2]}]",
        expect: &["spec.placement.clusterAffinities", "unique affinityName", "rename"],
    },
    Mistake {
        what: "empty affinityName",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinities: [{affinityName: '', clusterNames: [m1]}]",
        expect: &["spec.placement.clusterAffinities[0].affinityName", "at least 1"],
    },
    Mistake {
        what: "spreadByField and spreadByLabel in one entry",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    spreadConstraints: [{spreadByField: cluster, spreadByLabel: team, maxGroups: 2}]",
        expect: &["spec.placement.spreadConstraints[0]", "cannot both be set", "separate entries"],
    },
    Mistake {
        what: "minGroups above maxGroups",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    spreadConstraints: [{spreadByField: cluster, maxGroups: 1, minGroups: 3}]",
        expect: &["spec.placement.spreadConstraints[0]", "maxGroups must be greater than or equal to minGroups"],
    },
    Mistake {
        what: "unknown spreadByField",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    spreadConstraints: [{spreadByField: country, maxGroups: 1}]",
        expect: &["spec.placement.spreadConstraints[0].spreadByField", "\"cluster\", \"region\", \"zone\", \"provider\""],
    },
    Mistake {
        what: "the same spreadByField twice",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    spreadConstraints:
      - {spreadByField: region, maxGroups: 1}
      - {spreadByField: region, maxGroups: 2}
      - {spreadByField: cluster, maxGroups: 2}",
        expect: &["spec.placement.spreadConstraints", "only one spreadConstraints entry", "merge"],
    },
    Mistake {
        what: "spread by region without a cluster constraint",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    spreadConstraints: [{spreadByField: region, maxGroups: 1}]",
        expect: &["spec.placement.spreadConstraints", "spreadByField: cluster", "add one"],
    },
    Mistake {
        what: "static weight 0",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    replicaScheduling:
      weightPreference:
        staticWeightList: [{targetCluster: {clusterNames: [m1]}, weight: 0}]",
        expect: &["staticWeightList[0].weight", "greater than or equal to 1"],
    },
    Mistake {
        what: "static weight without targetCluster",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    replicaScheduling:
      weightPreference:
        staticWeightList: [{weight: 2}]",
        expect: &["staticWeightList[0].targetCluster", "Required"],
    },
    Mistake {
        what: "unknown replicaSchedulingType",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement: {replicaScheduling: {replicaSchedulingType: Split}}",
        expect: &["replicaSchedulingType", "supported values: \"Duplicated\", \"Divided\""],
    },
    Mistake {
        what: "unknown conflictResolution",
        object: "spec: {resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}], conflictResolution: Merge}",
        expect: &["spec.conflictResolution", "supported values: \"Abort\", \"Overwrite\""],
    },
    Mistake {
        what: "priority beyond int32",
        object: "spec: {resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}], priority: 3000000000}",
        expect: &["spec.priority", "2147483647"],
    },
    Mistake {
        what: "toleration with an unknown effect",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement: {clusterTolerations: [{key: k, operator: Exists, effect: NoRun}]}",
        expect: &["spec.placement.clusterTolerations", "NoSchedule, PreferNoSchedule or NoExecute"],
    },
    Mistake {
        what: "toleration with operator Lt",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement: {clusterTolerations: [{key: k, operator: Lt, value: '3'}]}",
        expect: &["spec.placement.clusterTolerations", "Exists or Equal"],
    },
    Mistake {
        what: "fieldSelector on an unsupported cluster field",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinity: {fieldSelector: {matchExpressions: [{key: name, operator: In, values: [a]}]}}",
        expect: &["fieldSelector.matchExpressions[0].key", "\"provider\", \"region\", \"zone\""],
    },
    Mistake {
        what: "fieldSelector with operator Exists",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  placement:
    clusterAffinity: {fieldSelector: {matchExpressions: [{key: region, operator: Exists}]}}",
        expect: &["fieldSelector.matchExpressions[0].operator", "\"In\", \"NotIn\""],
    },
    Mistake {
        what: "preemption Always with an unnamed selector",
        object: "spec: {resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}], preemption: Always}",
        expect: &["spec.resourceSelectors", "name each selector", "preemption: Never"],
    },
    Mistake {
        what: "application failover without propagateDeps",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  failover: {application: {decisionConditions: {tolerationSeconds: 30}}}",
        expect: &["spec.propagateDeps", "set propagateDeps: true"],
    },
    Mistake {
        what: "suspending all and some clusters at once",
        object: "spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]
  suspension: {dispatching: true, dispatchingOnClusters: {clusterNames: [m1]}}",
        expect: &["spec.suspension", "remove dispatchingOnClusters"],
    },
];

const OVERRIDE_MISTAKES: &[Mistake] = &[
    Mistake {
        what: "plaintext path that is not a JSON pointer",
        object: "spec:
  overrideRules: [{overriders: {plaintext: [{path: spec/replicas, operator: replace, value: 2}]}}]",
        expect: &["spec.overrideRules[0].overriders.plaintext[0].path", "starting with '/'", "/spec/replicas"],
    },
    Mistake {
        what: "imageOverrider with an unknown component",
        object: "spec:
  overrideRules: [{overriders: {imageOverrider: [{component: Digest, operator: replace, value: x}]}}]",
        expect: &["imageOverrider[0].component", "\"Registry\", \"Repository\", \"Tag\""],
    },
    Mistake {
        what: "imageOverrider replace without a value",
        object: "spec:
  overrideRules: [{overriders: {imageOverrider: [{component: Tag, operator: replace}]}}]",
        expect: &["imageOverrider[0].value", "set value or use operator remove"],
    },
    Mistake {
        what: "plaintext with an unknown operator",
        object: "spec:
  overrideRules: [{overriders: {plaintext: [{path: /a, operator: move}]}}]",
        expect: &["plaintext[0].operator", "\"add\", \"remove\", \"replace\""],
    },
    Mistake {
        what: "commandOverrider replace",
        object: "spec:
  overrideRules: [{overriders: {commandOverrider: [{containerName: c, operator: replace, value: [a]}]}}]",
        expect: &["commandOverrider[0].operator", "\"add\", \"remove\""],
    },
    Mistake {
        what: "overrideRules with the deprecated targetCluster",
        object: "spec:
  targetCluster: {clusterNames: [m1]}
  overrideRules: [{overriders: {plaintext: [{path: /a, operator: remove}]}}]",
        expect: &["spec.targetCluster", "move it into an overrideRules entry"],
    },
    Mistake {
        what: "overrideRules with the deprecated overriders",
        object: "spec:
  overriders: {plaintext: [{path: /a, operator: remove}]}
  overrideRules: [{overriders: {plaintext: [{path: /b, operator: remove}]}}]",
        expect: &["spec.overriders", "move them into an overrideRules entry"],
    },
    Mistake {
        what: "fieldOverrider with both json and yaml",
        object: "spec:
  overrideRules:
    - overriders:
        fieldOverrider:
          - fieldPath: /data/x
            json: [{subPath: /a, operator: remove}]
            yaml: [{subPath: /a, operator: remove}]",
        expect: &["fieldOverrider[0]", "exactly one of json or yaml"],
    },
    Mistake {
        what: "fieldOverrider with a relative fieldPath",
        object: "spec:
  overrideRules:
    - overriders:
        fieldOverrider: [{fieldPath: data/x, yaml: [{subPath: /a, operator: remove}]}]",
        expect: &["fieldOverrider[0].fieldPath", "starting with '/'"],
    },
];

const CLUSTER_MISTAKES: &[Mistake] = &[
    Mistake {
        what: "cluster name longer than 48 characters",
        object: "metadata: {name: a-very-long-cluster-name-that-goes-on-and-on-and-on-x}
spec: {syncMode: Push}",
        expect: &["at most 48 characters", "choose a shorter name"],
    },
    Mistake {
        what: "unknown syncMode",
        object: "metadata: {name: bad-mode}
spec: {syncMode: Both}",
        expect: &["spec.syncMode", "\"Push\", \"Pull\""],
    },
    Mistake {
        what: "missing syncMode",
        object: "metadata: {name: no-mode}
spec: {apiEndpoint: 'https://10.0.0.1:6443'}",
        expect: &["spec.syncMode", "Required"],
    },
    Mistake {
        what: "zone and zones together",
        object: "metadata: {name: zones}
spec: {syncMode: Push, zone: a, zones: [b]}",
        expect: &["spec.zone", "remove zone"],
    },
    Mistake {
        what: "taint with an unknown effect",
        object: "metadata: {name: taints}
spec: {syncMode: Push, taints: [{key: k, effect: Never}]}",
        expect: &["spec.taints", "NoSchedule, PreferNoSchedule or NoExecute"],
    },
    Mistake {
        what: "the same taint twice",
        object: "metadata: {name: taints2}
spec: {syncMode: Push, taints: [{key: k, effect: NoSchedule}, {key: k, value: v, effect: NoSchedule}]}",
        expect: &["spec.taints", "remove the duplicate"],
    },
    Mistake {
        what: "proxyURL with an unsupported scheme",
        object: "metadata: {name: proxy}
spec: {syncMode: Push, proxyURL: 'ftp://proxy:21'}",
        expect: &["spec.proxyURL", "http://, https:// or socks5://"],
    },
    Mistake {
        what: "apiEndpoint that is not a URL",
        object: "metadata: {name: endpoint}
spec: {syncMode: Push, apiEndpoint: 'not a url'}",
        expect: &["spec.apiEndpoint", "https://10.0.0.2:6443"],
    },
    Mistake {
        what: "secretRef without namespace",
        object: "metadata: {name: secret}
spec: {syncMode: Push, secretRef: {name: s}}",
        expect: &["spec.secretRef.namespace", "Required"],
    },
    Mistake {
        // The reconciler reads this Secret with its own rights and sends its token to
        // apiEndpoint: a Cluster must not be able to point it at any other Secret.
        what: "secretRef outside karmada-cluster",
        object: "metadata: {name: secret-elsewhere}
spec: {syncMode: Push, apiEndpoint: 'https://203.0.113.7:6443', secretRef: {namespace: kube-system, name: s}}",
        expect: &["spec.secretRef", "karmada-cluster"],
    },
    Mistake {
        what: "impersonatorSecretRef outside karmada-cluster",
        object: "metadata: {name: impersonator-elsewhere}
spec: {syncMode: Push, impersonatorSecretRef: {namespace: default, name: s}}",
        expect: &["spec.impersonatorSecretRef", "karmada-cluster"],
    },
    Mistake {
        what: "region that is not a label value",
        object: "metadata: {name: region}
spec: {syncMode: Push, region: 'eu west'}",
        expect: &["spec.region"],
    },
];

const CUSTOMIZATION: &str =
    "apiVersion: config.karmada.io/v1alpha1\nkind: ResourceInterpreterCustomization\n";

const CUSTOMIZATION_MISTAKES: &[Mistake] = &[
    Mistake {
        what: "customization without target kind",
        object: "metadata: {name: no-kind}
spec: {target: {apiVersion: example.io/v1, kind: ''}, customizations: {}}",
        expect: &["spec.target.kind", "target.kind is required"],
    },
    Mistake {
        what: "customization without target apiVersion",
        object: "metadata: {name: no-api-version}
spec: {target: {apiVersion: '', kind: Widget}, customizations: {}}",
        expect: &["spec.target.apiVersion", "target.apiVersion is required"],
    },
    Mistake {
        what: "customization with an empty script",
        object: "metadata: {name: empty-script}
spec: {target: {apiVersion: example.io/v1, kind: Widget}, customizations: {replicaResource: {luaScript: ''}}}",
        expect: &["spec.customizations.replicaResource.luaScript", "remove the operation"],
    },
];

async fn check_rejections(client: &Client, header: &str, mistakes: &[Mistake]) -> Vec<String> {
    let mut failures = Vec::new();
    for m in mistakes {
        let object = yaml(&format!("{header}{}", m.object));
        match apply(client, &object, true).await {
            Ok(_) => failures.push(format!("accepted: {}", m.what)),
            Err(kube::Error::Api(status)) => {
                if status.code != 422 {
                    failures.push(format!(
                        "{}: HTTP {} {}",
                        m.what, status.code, status.message
                    ));
                }
                let missing: Vec<_> = m
                    .expect
                    .iter()
                    .filter(|want| !status.message.contains(**want))
                    .collect();
                if !missing.is_empty() {
                    failures.push(format!(
                        "{}: message lacks {missing:?}:\n    {}",
                        m.what, status.message
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", m.what)),
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread")]
async fn mistakes_are_rejected_with_a_message_naming_field_and_fix() {
    let client = control_plane().await;
    let mut failures = check_rejections(&client, PP, MISTAKES).await;
    failures.extend(check_rejections(&client, OP, OVERRIDE_MISTAKES).await);
    failures.extend(check_rejections(&client, CLUSTER, CLUSTER_MISTAKES).await);
    failures.extend(check_rejections(&client, CUSTOMIZATION, CUSTOMIZATION_MISTAKES).await);

    // ClusterPropagationPolicy shares the rules.
    let cpp = "apiVersion: policy.karmada.io/v1alpha1\nkind: ClusterPropagationPolicy\nmetadata: {name: mistake}\n";
    failures.extend(check_rejections(&client, cpp, &MISTAKES[..4]).await);

    assert!(
        MISTAKES.len() + OVERRIDE_MISTAKES.len() + CLUSTER_MISTAKES.len() >= 10,
        "at least ten kinds of mistake are covered"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduler_name_cannot_change() {
    let client = control_plane().await;
    let name = unique("immutable");
    let mut object = yaml(&format!(
        "{PP}spec: {{resourceSelectors: [{{apiVersion: apps/v1, kind: Deployment}}]}}"
    ));
    object["metadata"]["name"] = name.clone().into();
    apply(&client, &object, false).await.unwrap();
    object["spec"]["schedulerName"] = "other-scheduler".into();
    let err = apply(&client, &object, false).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("spec.schedulerName") && message.contains("delete and re-create"),
        "{message}"
    );
    // Other fields still change.
    object["spec"]["schedulerName"] = "default-scheduler".into();
    object["spec"]["priority"] = 3.into();
    apply(&client, &object, false).await.unwrap();
}

/// The columns `kubectl get` prints: the server's Table rendering of each kind.
async fn table(client: &Client, path: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let request = http::Request::get(path)
        .header(
            "Accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .unwrap();
    let text = client.request_text(request).await.unwrap();
    let table: Value = serde_json::from_str(&text).unwrap();
    let columns = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["priority"].as_i64().unwrap_or(0) == 0)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let rows = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cells"].as_array().unwrap().clone())
        .collect();
    (columns, rows)
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_prints_karmada_columns() {
    let client = control_plane().await;

    // A cluster with status, as the health controller would write it.
    let name = unique("columns");
    let cluster = yaml(&format!(
        "{CLUSTER}metadata: {{name: {name}}}\nspec: {{syncMode: Pull}}"
    ));
    apply(&client, &cluster, false).await.unwrap();
    let clusters: Api<api::Cluster> = Api::all(client.clone());
    let status = json!({
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "status": {
            "kubernetesVersion": "v1.37.2",
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "ClusterReady",
                "message": "cluster is healthy and ready to accept workloads",
                "lastTransitionTime": "2026-10-01T10:00:00Z"
            }]
        }
    });
    clusters
        .patch_status(
            &name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    assert!(clusters.get(&name).await.unwrap().is_ready());

    let (columns, rows) = table(
        &client,
        &format!("/apis/cluster.karmada.io/v1alpha1/clusters?fieldSelector=metadata.name={name}"),
    )
    .await;
    assert_eq!(columns, ["Name", "VERSION", "MODE", "READY", "AGE"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        &rows[0][..4],
        [json!(name), json!("v1.37.2"), json!("Pull"), json!("True")]
    );

    let (columns, _) = table(
        &client,
        "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies",
    )
    .await;
    assert_eq!(columns, ["Name", "CONFLICT-RESOLUTION", "PRIORITY", "AGE"]);
    let (columns, _) = table(
        &client,
        "/apis/policy.karmada.io/v1alpha1/clusterpropagationpolicies",
    )
    .await;
    assert_eq!(columns, ["Name", "CONFLICT-RESOLUTION", "PRIORITY", "AGE"]);
    let (columns, _) = table(
        &client,
        "/apis/work.karmada.io/v1alpha2/namespaces/default/resourcebindings",
    )
    .await;
    assert_eq!(columns, ["Name", "SCHEDULED", "FULLYAPPLIED", "AGE"]);
    let (columns, _) = table(
        &client,
        "/apis/work.karmada.io/v1alpha2/clusterresourcebindings",
    )
    .await;
    assert_eq!(columns, ["Name", "SCHEDULED", "FULLYAPPLIED", "AGE"]);
    let (columns, _) = table(&client, "/apis/work.karmada.io/v1alpha1/works").await;
    assert_eq!(columns, ["Name", "WORKLOAD-KIND", "APPLIED", "AGE"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_clients_work_for_every_kind() {
    let client = control_plane().await;
    ensure_namespace(&client, "karmada-es-typed").await;

    let crb_name = unique("typed-crb");
    let crbs: Api<api::ClusterResourceBinding> = Api::all(client.clone());
    let crb = api::ClusterResourceBinding::new(
        &crb_name,
        api::ResourceBindingSpec {
            resource: api::work::ObjectReference {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: "ClusterRole".into(),
                name: "reader".into(),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let created = crbs.create(&PostParams::default(), &crb).await.unwrap();
    assert_eq!(created.spec.resource.name, "reader");
    assert_eq!(
        created.spec.conflict_resolution(),
        api::policy::ConflictResolution::Abort
    );

    let mut with_status = created.clone();
    with_status.status = Some(api::ResourceBindingStatus {
        scheduler_observed_generation: 1,
        aggregated_status: vec![api::work::AggregatedStatusItem {
            cluster_name: "member1".into(),
            applied: true,
            health: Some(api::work::ResourceHealth::Healthy),
            status: Some(json!({"anything": {"nested": [1, 2]}}).into()),
            ..Default::default()
        }],
        ..Default::default()
    });
    let updated = crbs
        .replace_status(&crb_name, &PostParams::default(), &with_status)
        .await
        .unwrap();
    let item = &updated.status.unwrap().aggregated_status[0];
    assert_eq!(
        item.status.as_ref().map(|s| s.value()),
        Some(json!({"anything": {"nested": [1, 2]}}))
    );

    let cpps: Api<api::ClusterPropagationPolicy> = Api::all(client.clone());
    let cpp = api::ClusterPropagationPolicy::new(
        &unique("typed-cpp"),
        api::PropagationSpec {
            resource_selectors: vec![api::policy::ResourceSelector {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    let created = cpps.create(&PostParams::default(), &cpp).await.unwrap();
    assert_eq!(created.spec.priority, Some(0));

    let works: Api<api::Work> = Api::namespaced(client.clone(), "karmada-es-typed");
    let work = api::Work::new(
        &unique("typed-work"),
        api::WorkSpec {
            workload: api::work::WorkloadTemplate {
                manifests: vec![api::RawManifest::from(json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "cm", "namespace": "default"},
                    "data": {"k": "v"}
                }))],
            },
            ..Default::default()
        },
    );
    let created = works.create(&PostParams::default(), &work).await.unwrap();
    assert_eq!(created.spec.workload.manifests[0].value()["data"]["k"], "v");
}
