//! Customizations bundled with this project for third-party kinds that are common in
//! multi-cluster setups (written for this project, in Karmada's format). A user's
//! customization for the same kind and operation takes precedence.

use std::sync::OnceLock;

use crate::api::interpreter::ResourceInterpreterCustomization;

/// The bundled files, `<group>_<Kind>.yaml`.
pub const FILES: &[(&str, &str)] = &[
    (
        "apps.kruise.io_CloneSet.yaml",
        include_str!("bundled/apps.kruise.io_CloneSet.yaml"),
    ),
    (
        "apps.kruise.io_DaemonSet.yaml",
        include_str!("bundled/apps.kruise.io_DaemonSet.yaml"),
    ),
    (
        "apps.kruise.io_StatefulSet.yaml",
        include_str!("bundled/apps.kruise.io_StatefulSet.yaml"),
    ),
    (
        "argoproj.io_Rollout.yaml",
        include_str!("bundled/argoproj.io_Rollout.yaml"),
    ),
    (
        "helm.toolkit.fluxcd.io_HelmRelease.yaml",
        include_str!("bundled/helm.toolkit.fluxcd.io_HelmRelease.yaml"),
    ),
    (
        "kubeflow.org_PyTorchJob.yaml",
        include_str!("bundled/kubeflow.org_PyTorchJob.yaml"),
    ),
    (
        "kubeflow.org_TFJob.yaml",
        include_str!("bundled/kubeflow.org_TFJob.yaml"),
    ),
    (
        "kustomize.toolkit.fluxcd.io_Kustomization.yaml",
        include_str!("bundled/kustomize.toolkit.fluxcd.io_Kustomization.yaml"),
    ),
];

/// The bundled customizations, parsed once.
pub fn customizations() -> &'static [ResourceInterpreterCustomization] {
    static PARSED: OnceLock<Vec<ResourceInterpreterCustomization>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FILES
            .iter()
            .map(|(file, text)| {
                serde_yaml::from_str(text)
                    .unwrap_or_else(|e| panic!("bundled customization {file} does not parse: {e}"))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::api::interpreter::ResourceInterpreterCustomization;
    use crate::api::work::{AggregatedStatusItem, ResourceHealth};
    use crate::engine::interpreter::{Interpreter, Operation, Source};

    fn item(cluster: &str, status: Value) -> AggregatedStatusItem {
        AggregatedStatusItem {
            cluster_name: cluster.into(),
            status: Some(status.into()),
            applied: true,
            ..Default::default()
        }
    }

    /// A member's copy: the template with `replicas`, its status and Karmada's annotation.
    fn member(obj: &Value, status: Value) -> Value {
        let mut m = obj.clone();
        m["metadata"]["annotations"] = json!({"resourcetemplate.karmada.io/generation": "2"});
        m["metadata"]["generation"] = json!(1);
        m["status"] = status;
        m
    }

    fn pod_template() -> Value {
        json!({"spec": {"containers": [{"name": "app", "image": "app:1",
            "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}},
            "envFrom": [{"configMapRef": {"name": "app-config"}}]}]}})
    }

    /// Replicas, revision, reflection, aggregation over two members, and health of a kind
    /// whose replicas are divided.
    fn check_replicated(api_version: &str, kind: &str, counts: &[&str]) {
        let interpreter = Interpreter::default();
        let obj = json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "app", "namespace": "web", "generation": 2},
            "spec": {"replicas": 3, "template": pod_template()}});
        let r = interpreter
            .replicas(&obj)
            .unwrap()
            .expect("replicas interpreted");
        assert_eq!(r.replicas, 3, "{kind}");
        let req = r.requirements.expect("requirements");
        assert_eq!(req.resource_request["cpu"].0, "200m", "{kind}");
        assert_eq!(req.namespace, "web");
        let revised = interpreter.revise_replica(&obj, 2).unwrap().unwrap();
        assert_eq!(revised["spec"]["replicas"], 2, "{kind}");
        let deps = interpreter.dependencies(&obj).unwrap();
        assert_eq!(deps.len(), 1, "{kind}: {deps:?}");
        assert_eq!(
            (deps[0].kind.as_str(), deps[0].name.as_str()),
            ("ConfigMap", "app-config")
        );

        let mut status = json!({"observedGeneration": 1, "phase": "Healthy"});
        for c in counts {
            status[*c] = json!(2);
        }
        let live = member(&revised, status);
        let reflected = interpreter.reflect_status(&live).unwrap().unwrap();
        assert_eq!(reflected["generation"], 1, "{kind}");
        assert_eq!(reflected["resourceTemplateGeneration"], 2, "{kind}");
        assert_eq!(reflected[counts[0]], 2, "{kind}");
        assert_eq!(
            interpreter
                .health(&revised, Some(&live), Some(&reflected))
                .unwrap(),
            ResourceHealth::Healthy,
            "{kind}"
        );
        let mut behind = live.clone();
        behind["status"]["availableReplicas"] = json!(0);
        behind["status"]["updatedReplicas"] = json!(0);
        assert_eq!(
            interpreter.health(&revised, Some(&behind), None).unwrap(),
            ResourceHealth::Unhealthy,
            "{kind}"
        );
        let status = interpreter
            .aggregate_status(
                &obj,
                &[item("m1", reflected.clone()), item("m2", reflected)],
            )
            .unwrap()
            .unwrap();
        for c in counts {
            assert_eq!(status[*c], 4, "{kind} {c}: {status}");
        }
        assert_eq!(status["observedGeneration"], 2, "{kind}: {status}");
    }

    #[test]
    fn argo_rollout() {
        check_replicated(
            "argoproj.io/v1alpha1",
            "Rollout",
            &[
                "replicas",
                "readyReplicas",
                "availableReplicas",
                "updatedReplicas",
            ],
        );
    }

    #[test]
    fn kruise_cloneset_and_advanced_statefulset() {
        let counts = [
            "replicas",
            "readyReplicas",
            "availableReplicas",
            "updatedReplicas",
        ];
        check_replicated("apps.kruise.io/v1alpha1", "CloneSet", &counts);
        check_replicated("apps.kruise.io/v1beta1", "StatefulSet", &counts);
    }

    #[test]
    fn kruise_advanced_daemonset_is_not_divided() {
        let interpreter = Interpreter::default();
        let obj = json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "sys", "generation": 2},
            "spec": {"template": pod_template()}});
        assert_eq!(interpreter.replicas(&obj).unwrap(), None);
        assert_eq!(interpreter.revise_replica(&obj, 1).unwrap(), None);
        let st = json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
            "numberAvailable": 3, "numberReady": 3, "currentNumberScheduled": 3});
        let live = member(&obj, st);
        let reflected = interpreter.reflect_status(&live).unwrap().unwrap();
        assert_eq!(
            interpreter.health(&obj, Some(&live), None).unwrap(),
            ResourceHealth::Healthy
        );
        let s = interpreter
            .aggregate_status(&obj, &[item("a", reflected.clone()), item("b", reflected)])
            .unwrap()
            .unwrap();
        assert_eq!(s["numberReady"], 6);
        assert_eq!(s["desiredNumberScheduled"], 6);
    }

    fn check_flux(api_version: &str, kind: &str) {
        let interpreter = Interpreter::default();
        let obj = json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "app", "namespace": "flux", "generation": 4},
            "spec": {"interval": "5m", "serviceAccountName": "deployer"}});
        assert_eq!(interpreter.replicas(&obj).unwrap(), None, "{kind}");
        let ready = |s: &str| {
            json!({"observedGeneration": 4, "conditions": [{"type": "Ready", "status": s, "reason": "x",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
        };
        let mut live = obj.clone();
        live["metadata"]["generation"] = json!(4);
        live["status"] = ready("True");
        live["spec"]["suspend"] = json!(true);
        let reflected = interpreter.reflect_status(&live).unwrap().unwrap();
        assert_eq!(reflected["generation"], 4);
        assert_eq!(
            interpreter.health(&obj, Some(&live), None).unwrap(),
            ResourceHealth::Healthy,
            "{kind}"
        );
        let mut failing = live.clone();
        failing["status"] = ready("False");
        assert_eq!(
            interpreter.health(&obj, Some(&failing), None).unwrap(),
            ResourceHealth::Unhealthy,
            "{kind}"
        );
        let s = interpreter
            .aggregate_status(
                &obj,
                &[item("m1", reflected.clone()), item("m2", ready("False"))],
            )
            .unwrap()
            .unwrap();
        assert_eq!(s["conditions"][0]["status"], "False", "{kind}: {s}");
        assert_eq!(s["conditions"][0]["message"], "not ready in: m2");
        let s = interpreter
            .aggregate_status(
                &obj,
                &[item("m1", reflected.clone()), item("m2", reflected)],
            )
            .unwrap()
            .unwrap();
        assert_eq!(s["conditions"][0]["status"], "True", "{kind}: {s}");
        assert_eq!(s["observedGeneration"], 4);
        // A member's suspend survives the next apply.
        let retained = interpreter.retain(&obj, &live).unwrap().unwrap();
        assert_eq!(retained["spec"]["suspend"], true);
        let deps = interpreter.dependencies(&obj).unwrap();
        assert_eq!(deps[0].kind, "ServiceAccount");
    }

    #[test]
    fn flux_helmrelease_and_kustomization() {
        check_flux("helm.toolkit.fluxcd.io/v2", "HelmRelease");
        check_flux("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
    }

    fn check_kubeflow(kind: &str, field: &str, roles: &[&str]) {
        let interpreter = Interpreter::default();
        let mut specs = json!({});
        for r in roles {
            specs[*r] = json!({"replicas": 2, "template": pod_template()});
        }
        let obj = json!({"apiVersion": "kubeflow.org/v1", "kind": kind,
            "metadata": {"name": "train", "namespace": "ml", "generation": 1},
            "spec": {field: specs}});
        // Training jobs are not divided; their parts are components.
        assert_eq!(interpreter.replicas(&obj).unwrap(), None);
        let components = interpreter.components(&obj).unwrap().unwrap();
        assert_eq!(components.len(), roles.len(), "{kind}");
        assert_eq!(components[0].name, roles[0].to_lowercase());
        assert_eq!(components[0].replicas, 2);
        let running = json!({"replicaStatuses": {roles[0]: {"active": 2}},
            "conditions": [{"type": "Running", "status": "True"}], "startTime": "2026-01-01T00:00:05Z"});
        let failed = json!({"replicaStatuses": {roles[0]: {"failed": 1}},
            "conditions": [{"type": "Failed", "status": "True"}], "startTime": "2026-01-01T00:00:01Z"});
        let mut live = obj.clone();
        live["status"] = running.clone();
        assert_eq!(
            interpreter.health(&obj, Some(&live), None).unwrap(),
            ResourceHealth::Healthy
        );
        live["status"] = failed.clone();
        assert_eq!(
            interpreter.health(&obj, Some(&live), None).unwrap(),
            ResourceHealth::Unhealthy
        );
        let s = interpreter
            .aggregate_status(&obj, &[item("a", running), item("b", failed)])
            .unwrap()
            .unwrap();
        assert_eq!(s["replicaStatuses"][roles[0]]["active"], 2, "{s}");
        assert_eq!(s["replicaStatuses"][roles[0]]["failed"], 1, "{s}");
        assert_eq!(s["conditions"][0]["type"], "Failed");
        assert_eq!(s["startTime"], "2026-01-01T00:00:01Z");
        assert_eq!(interpreter.dependencies(&obj).unwrap().len(), 1);
    }

    #[test]
    fn kubeflow_pytorchjob_and_tfjob() {
        check_kubeflow("PyTorchJob", "pytorchReplicaSpecs", &["Master", "Worker"]);
        check_kubeflow("TFJob", "tfReplicaSpecs", &["Chief", "PS", "Worker"]);
    }

    #[test]
    fn every_bundled_script_checks() {
        for c in super::customizations() {
            for (op, r) in
                crate::engine::interpreter::check(std::slice::from_ref(c), Default::default())
                    .remove(0)
                    .1
            {
                assert!(
                    r.is_ok(),
                    "{} {op}: {r:?}",
                    c.metadata.name.as_deref().unwrap_or_default()
                );
            }
        }
    }

    /// A script written the way Karmada's documentation writes them: globals, `require`, a nil
    /// statusItems before any member reports.
    const USER_CLONESET: &str = r#"
apiVersion: config.karmada.io/v1alpha1
kind: ResourceInterpreterCustomization
metadata:
  name: my-cloneset
  generation: 1
spec:
  target:
    apiVersion: apps.kruise.io/v1alpha1
    kind: CloneSet
  customizations:
    replicaResource:
      luaScript: >
        local kube = require("kube")
        function GetReplicas(obj)
          replica = obj.spec.replicas * 2
          requirement = kube.accuratePodRequirements(obj.spec.template)
          return replica, requirement
        end
    statusAggregation:
      luaScript: >
        function AggregateStatus(desiredObj, statusItems)
          if statusItems == nil then
            desiredObj.status = {replicas = 0}
            return desiredObj
          end
          desiredObj.status = {replicas = #statusItems}
          return desiredObj
        end
"#;

    #[test]
    fn a_user_customization_overrides_the_bundled_one_per_operation() {
        let interpreter = Interpreter::default();
        let obj = json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "app", "namespace": "web"},
            "spec": {"replicas": 3, "template": pod_template()}});
        assert_eq!(interpreter.replicas(&obj).unwrap().unwrap().replicas, 3);
        let user: ResourceInterpreterCustomization = serde_yaml::from_str(USER_CLONESET).unwrap();
        interpreter.set_customizations(&[user]);
        assert_eq!(interpreter.replicas(&obj).unwrap().unwrap().replicas, 6);
        assert_eq!(
            interpreter.aggregate_status(&obj, &[]).unwrap().unwrap(),
            json!({"replicas": 0})
        );
        assert_eq!(
            interpreter
                .aggregate_status(&obj, &[item("a", json!({}))])
                .unwrap()
                .unwrap(),
            json!({"replicas": 1})
        );
        // Operations the user did not customize still come from the bundled customization.
        let revise = interpreter
            .customization_for(
                "apps.kruise.io/v1alpha1",
                "CloneSet",
                Operation::ReviseReplica,
            )
            .unwrap();
        assert!(matches!(revise.source(), Source::Bundled(_)));
        assert_eq!(
            interpreter.revise_replica(&obj, 1).unwrap().unwrap()["spec"]["replicas"],
            1
        );
        interpreter.set_customizations(&[]);
        assert_eq!(interpreter.replicas(&obj).unwrap().unwrap().replicas, 3);
    }

    #[test]
    fn a_failing_script_names_customization_operation_and_line() {
        let interpreter = Interpreter::default();
        let mut user: ResourceInterpreterCustomization =
            serde_yaml::from_str(USER_CLONESET).unwrap();
        user.spec
            .customizations
            .replica_resource
            .as_mut()
            .unwrap()
            .lua_script =
            "function GetReplicas(obj)\n  return obj.spec.missing.replicas\nend".into();
        interpreter.set_customizations(&[user]);
        let obj = json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "spec": {}});
        let err = interpreter.replicas(&obj).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "customization my-cloneset InterpretReplica: my-cloneset replicaResource:2:"
            ),
            "{err}"
        );
    }
}
