//! Pull mode's objects, as Karmada names them: the bootstrap RBAC and `cluster-info` that
//! `token create` (and init) put in the control plane, the per-cluster RBAC the reconciler
//! grants an agent when it approves its certificate, and what `register` installs in the member.
//! Pure functions: no I/O, so init's dry run, the CLI and the reconciler render the same objects.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::api::{NAMESPACE_KARMADA_CLUSTER, names};

/// Group the bootstrap tokens authenticate into (`auth-extra-groups`), as upstream's.
pub const BOOTSTRAP_GROUP: &str = "system:bootstrappers:karmada:default-cluster-token";
/// Common-name prefix of an agent's client certificate: `system:karmada:agent:<cluster>`.
pub const AGENT_USER_PREFIX: &str = "system:karmada:agent:";
/// Organization of every agent's client certificate.
pub const AGENTS_GROUP: &str = "system:karmada:agents";
/// The signer agent CSRs ask for (kube-controller-manager's csrsigning signs it).
pub const SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// Where agents renew their Leases on the control plane (name: the cluster's).
pub const LEASE_NAMESPACE: &str = NAMESPACE_KARMADA_CLUSTER;
/// ClusterRole letting a bootstrap-token holder, and agents, create (and read back) CSRs only.
pub const BOOTSTRAP_ROLE: &str = "system:karmada:agent-bootstrapper";
/// Binding of [`BOOTSTRAP_ROLE`] to [`BOOTSTRAP_GROUP`] and [`AGENTS_GROUP`].
pub const BOOTSTRAP_BINDING: &str = "system:karmada:agent-bootstrap";
/// Role/RoleBinding letting anyone read `kube-public/cluster-info` (the CA is then pinned).
pub const CLUSTER_INFO_ROLE: &str = "system:karmada:bootstrap-signer-clusterinfo";
pub const CLUSTER_INFO: &str = "cluster-info";
pub const KUBE_PUBLIC: &str = "kube-public";

/// In the member, namespace `karmada-system`: the agent's Deployment, ServiceAccount,
/// ClusterRole(Binding) name and its control-plane kubeconfig Secret.
pub const AGENT: &str = "karmada-agent";
pub const AGENT_NAMESPACE: &str = "karmada-system";
pub const AGENT_SECRET: &str = "karmada-agent-config";
pub const KUBECONFIG_KEY: &str = "kubeconfig";
/// Label on everything register creates (member and control plane), naming the cluster.
pub const LABEL_AGENT_CLUSTER: &str = "agent.karmada.io/cluster";

const RBAC: &str = "rbac.authorization.k8s.io/v1";

fn labels(cluster: Option<&str>) -> Value {
    let mut l = json!({ "app.kubernetes.io/managed-by": "karmadactl" });
    if let Some(c) = cluster {
        l[LABEL_AGENT_CLUSTER] = json!(c);
    }
    l
}

/// The user name of a cluster's agent.
pub fn agent_user(cluster: &str) -> String {
    format!("{AGENT_USER_PREFIX}{cluster}")
}

/// The cluster an agent user name stands for, if it is one.
pub fn cluster_of_agent_user(user: &str) -> Option<&str> {
    user.strip_prefix(AGENT_USER_PREFIX)
        .filter(|c| names::validate_cluster_name(c).is_ok())
}

/// What a bootstrap-token holder may do on the control plane: create a CSR and read it back,
/// nothing else; read `cluster-info` (anonymously, before the CA is trusted). Namespace
/// `kube-public` is the apiserver's own.
pub fn bootstrap_objects() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": { "name": BOOTSTRAP_ROLE, "labels": labels(None) },
            "rules": [{
                "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
                "verbs": ["create", "get"],
            }],
        }),
        json!({
            "apiVersion": RBAC, "kind": "ClusterRoleBinding",
            "metadata": { "name": BOOTSTRAP_BINDING, "labels": labels(None) },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": BOOTSTRAP_ROLE },
            "subjects": [
                { "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": BOOTSTRAP_GROUP },
                { "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": AGENTS_GROUP },
            ],
        }),
        json!({
            "apiVersion": RBAC, "kind": "Role",
            "metadata": { "name": CLUSTER_INFO_ROLE, "namespace": KUBE_PUBLIC, "labels": labels(None) },
            "rules": [{
                "apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": [CLUSTER_INFO], "verbs": ["get"],
            }],
        }),
        json!({
            "apiVersion": RBAC, "kind": "RoleBinding",
            "metadata": { "name": CLUSTER_INFO_ROLE, "namespace": KUBE_PUBLIC, "labels": labels(None) },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": CLUSTER_INFO_ROLE },
            "subjects": [
                { "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:anonymous" },
                { "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": BOOTSTRAP_GROUP },
            ],
        }),
    ]
}

/// `kube-public/cluster-info`: a kubeconfig with the control plane's endpoint and CA (no
/// credentials), read by `register` before it trusts anything, then pinned by hash.
pub fn cluster_info(server: &str, ca_pem: &str) -> Value {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts: []\nusers: []\n"
    );
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": CLUSTER_INFO, "namespace": KUBE_PUBLIC, "labels": labels(None) },
        "data": { KUBECONFIG_KEY: kubeconfig },
    })
}

/// Name of the ClusterRole(Binding) of a cluster's agent on the control plane.
pub fn agent_cluster_role(cluster: &str) -> String {
    format!("system:karmada:{cluster}:agent")
}

/// Name of the Roles (and their bindings) of a cluster's agent: Works in its execution
/// namespace, its Lease in `karmada-cluster`.
pub fn agent_work_role(cluster: &str) -> String {
    format!("system:karmada:{cluster}:agent-work")
}
pub fn agent_lease_role(cluster: &str) -> String {
    format!("system:karmada:{cluster}:agent-lease")
}

/// What a cluster's agent may do on the control plane: its own Cluster (create, read, status),
/// its Works (execution namespace only), its Lease, its certificate renewals, Events, and read
/// Namespaces (a namespace's Work that is deleted while the namespace stays keeps it).
pub fn agent_control_plane_rbac(cluster: &str) -> Vec<Value> {
    let user = agent_user(cluster);
    let subject =
        json!([{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user }]);
    let es = names::execution_namespace(cluster);
    let role_ref = |kind: &str, name: &str| json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name });
    let meta = |name: &str, ns: Option<&str>| {
        let mut m = json!({ "name": name, "labels": labels(Some(cluster)) });
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    let cr = agent_cluster_role(cluster);
    let work = agent_work_role(cluster);
    let lease = agent_lease_role(cluster);
    vec![
        json!({
            "apiVersion": RBAC, "kind": "ClusterRole", "metadata": meta(&cr, None),
            "rules": [
                // list/watch with resourceNames: only with a metadata.name field selector.
                { "apiGroups": ["cluster.karmada.io"], "resources": ["clusters", "clusters/status"],
                  "resourceNames": [cluster], "verbs": ["get", "list", "watch", "update", "patch"] },
                // create cannot be limited by name; the agent only creates its own.
                { "apiGroups": ["cluster.karmada.io"], "resources": ["clusters"], "verbs": ["create"] },
                { "apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"] },
                { "apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"] },
            ],
        }),
        json!({
            "apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": meta(&cr, None),
            "roleRef": role_ref("ClusterRole", &cr), "subjects": subject,
        }),
        json!({
            "apiVersion": RBAC, "kind": "Role", "metadata": meta(&work, Some(&es)),
            "rules": [{ "apiGroups": ["work.karmada.io"], "resources": ["works", "works/status"],
                        "verbs": ["get", "list", "watch", "update", "patch"] }],
        }),
        json!({
            "apiVersion": RBAC, "kind": "RoleBinding", "metadata": meta(&work, Some(&es)),
            "roleRef": role_ref("Role", &work), "subjects": subject,
        }),
        json!({
            "apiVersion": RBAC, "kind": "Role", "metadata": meta(&lease, Some(LEASE_NAMESPACE)),
            "rules": [
                { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                  "resourceNames": [cluster], "verbs": ["get", "update", "patch"] },
                { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"] },
            ],
        }),
        json!({
            "apiVersion": RBAC, "kind": "RoleBinding", "metadata": meta(&lease, Some(LEASE_NAMESPACE)),
            "roleRef": role_ref("Role", &lease), "subjects": subject,
        }),
    ]
}

/// What register asks of the agent it deploys.
#[derive(Debug, Clone, Default)]
pub struct AgentSpec {
    pub cluster: String,
    pub image: String,
    /// The member's API endpoint as the control plane should record it.
    pub api_endpoint: String,
    pub provider: String,
    pub region: String,
    pub zones: Vec<String>,
}

impl AgentSpec {
    /// The agent's command-line flags (the Deployment's, and those a test passes to a local
    /// process).
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--mode=agent".to_string(),
            format!("--cluster-name={}", self.cluster),
            format!("--cluster-api-endpoint={}", self.api_endpoint),
            "--metrics-bind-address=0.0.0.0:10358".into(),
        ];
        if !self.provider.is_empty() {
            a.push(format!("--cluster-provider={}", self.provider));
        }
        if !self.region.is_empty() {
            a.push(format!("--cluster-region={}", self.region));
        }
        if !self.zones.is_empty() {
            a.push(format!("--cluster-zones={}", self.zones.join(",")));
        }
        a
    }
}

/// Everything register installs in the member, in apply order; the Secret holds the agent's
/// control-plane kubeconfig (`kubeconfig_yaml`).
pub fn member_objects(spec: &AgentSpec, kubeconfig_yaml: &str) -> Vec<Value> {
    let l = labels(Some(&spec.cluster));
    let meta = |name: &str| json!({ "name": name, "namespace": AGENT_NAMESPACE, "labels": l });
    let data = BTreeMap::from([(
        KUBECONFIG_KEY,
        base64::engine::general_purpose::STANDARD.encode(kubeconfig_yaml.as_bytes()),
    )]);
    vec![
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": AGENT_NAMESPACE } }),
        json!({ "apiVersion": "v1", "kind": "Secret", "metadata": meta(AGENT_SECRET), "type": "Opaque", "data": data }),
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(AGENT) }),
        json!({
            "apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": { "name": AGENT, "labels": l },
            // It applies whatever the control plane propagates to this cluster.
            "rules": [
                { "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] },
                { "nonResourceURLs": ["*"], "verbs": ["get"] },
            ],
        }),
        json!({
            "apiVersion": RBAC, "kind": "ClusterRoleBinding",
            "metadata": { "name": AGENT, "labels": l },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": AGENT },
            "subjects": [{ "kind": "ServiceAccount", "name": AGENT, "namespace": AGENT_NAMESPACE }],
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(AGENT),
            "spec": {
                "replicas": 1,
                // One agent at a time: the old one stops before the new one starts.
                "strategy": { "type": "Recreate" },
                "selector": { "matchLabels": { "app": AGENT } },
                "template": {
                    "metadata": { "labels": { "app": AGENT } },
                    "spec": {
                        "serviceAccountName": AGENT,
                        "containers": [{
                            "name": AGENT,
                            "image": spec.image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/usr/local/bin/karmada-reconciler"],
                            "args": spec.args(),
                            "ports": [{ "name": "metrics", "containerPort": 10358 }],
                            "livenessProbe": {
                                "httpGet": { "path": "/healthz", "port": 10358, "scheme": "HTTP" },
                                "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 6,
                            },
                        }],
                    },
                },
            },
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_users_map_back_to_their_cluster() {
        assert_eq!(cluster_of_agent_user(&agent_user("m-2")), Some("m-2"));
        assert_eq!(cluster_of_agent_user("system:karmada:agent:"), None);
        assert_eq!(cluster_of_agent_user("system:node:x"), None);
    }

    #[test]
    fn the_agent_rbac_names_only_its_cluster() {
        let rbac = serde_json::to_string(&agent_control_plane_rbac("m2")).unwrap();
        assert!(rbac.contains("karmada-es-m2"));
        assert!(!rbac.contains("\"*\""), "{rbac}");
    }
}
