//! What logs, exec and attach share: finding the pod (`POD`, `pod/NAME`, or `TYPE/NAME` of a
//! workload whose selector picks its pods), its container (`-c`, else the
//! `kubectl.kubernetes.io/default-container` annotation, else the first), and saying clearly
//! when the node's kubelet, which serves all three, does not answer.

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::ops::objects;
use crate::ops::scope::{Place, Session};
use crate::{Error, Result};

/// kubectl's annotation naming the container to use when none is given.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// `ns/name in cluster member1`: how messages name a pod.
pub fn pod_name(session: &Session, pod: &Pod) -> String {
    format!(
        "pod {}/{}{}",
        pod.namespace().unwrap_or_default(),
        pod.name_any(),
        session.place.suffix()
    )
}

/// The label selector (`k=v,...`) of a workload object: `spec.selector.matchLabels`
/// (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs) or a plain `spec.selector` map
/// (Services, ReplicationControllers).
pub fn selector_of(object: &Value) -> Option<String> {
    let sel = object.pointer("/spec/selector")?;
    let map = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .or_else(|| sel.as_object().filter(|m| m.values().all(Value::is_string)))?;
    if map.is_empty() {
        return None;
    }
    Some(
        map.iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Finds the pod `arg` names in `namespace`: `NAME`, `pod/NAME`, or `TYPE/NAME` of an object
/// with a selector (the first of its pods, by name). Returns the pod and a note for stderr
/// when a workload had several.
pub async fn find(session: &Session, namespace: &str, arg: &str) -> Result<(Pod, Option<String>)> {
    let pods: Api<Pod> = Api::namespaced(session.client.clone(), namespace);
    let (kind, name) = match arg.split_once('/') {
        Some((k, n)) if !k.is_empty() && !n.is_empty() => (Some(k), n),
        Some(_) => {
            return Err(Error::Invalid(format!(
                "invalid pod reference {arg:?}; pass POD or TYPE/NAME"
            )));
        }
        None => (None, arg),
    };
    let is_pod = |k: &str| matches!(k, "pod" | "pods" | "po" | "Pod");
    if kind.is_none_or(is_pod) {
        return match pods.get_opt(name).await {
            Ok(Some(p)) => Ok((p, None)),
            Ok(None) => Err(Error::NotFound(format!(
                "pod {name:?} not found in namespace {namespace}{}; list pods with `karmadactl \
                 get pods -n {namespace}{}`",
                session.place.suffix(),
                get_flags(&session.place)
            ))),
            Err(e) => Err(session.error(&format!("pod/{name}"), e)),
        };
    }
    let kind = kind.unwrap_or_default();
    let resolved = objects::resolve(session, kind).await?;
    let api = objects::api(&session.client, &resolved, Some(namespace));
    let object = match api.get_opt(name).await {
        Ok(Some(o)) => o,
        Ok(None) => return Err(objects::not_found(session, &resolved, namespace, name)),
        Err(e) => return Err(session.error(&objects::display_name(&resolved.ar, name), e)),
    };
    let shown = objects::display_name(&resolved.ar, name);
    let value = serde_json::to_value(&object).unwrap_or_default();
    let selector = selector_of(&value).ok_or_else(|| {
        Error::Invalid(format!(
            "{shown}{} has no label selector to find its pods; name a pod instead",
            session.place.suffix()
        ))
    })?;
    let mut list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| session.error(&shown, e))?
        .items;
    list.sort_by_key(|p| p.name_any());
    let count = list.len();
    let pod = list.into_iter().next().ok_or_else(|| {
        Error::NotFound(format!(
            "{shown}{} has no pods (selector {selector})",
            session.place.suffix()
        ))
    })?;
    let note = (count > 1).then(|| format!("Found {count} pods, using pod/{}", pod.name_any()));
    Ok((pod, note))
}

fn get_flags(place: &Place) -> String {
    match place {
        Place::ControlPlane => String::new(),
        Place::Member(m) => format!(" -s members -C {m}"),
    }
}

/// The names of the pod's (regular) containers.
pub fn containers(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// The container to use: `wanted`, else the default-container annotation, else the first
/// (with kubectl's note when there was a choice).
pub fn container(
    session: &Session,
    pod: &Pod,
    wanted: Option<&str>,
) -> Result<(String, Option<String>)> {
    let names = containers(pod);
    let init: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map(|c| c.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let ephemeral: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_ref())
        .map(|c| c.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    if let Some(w) = wanted {
        if names.iter().chain(&init).chain(&ephemeral).any(|n| n == w) {
            return Ok((w.to_string(), None));
        }
        return Err(Error::NotFound(format!(
            "container {w:?} is not in {} (it has: {}); pick one with -c",
            pod_name(session, pod),
            names.join(", ")
        )));
    }
    if let Some(d) = pod
        .annotations()
        .get(DEFAULT_CONTAINER_ANNOTATION)
        .filter(|d| names.contains(d))
    {
        return Ok((d.clone(), None));
    }
    let first = names
        .first()
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("{} has no containers", pod_name(session, pod))))?;
    let note = (names.len() > 1)
        .then(|| format!("Defaulted container {first:?} out of: {}", names.join(", ")));
    Ok((first, note))
}

/// Logs, exec and attach are served by the pod's node: the pod must be on one.
pub fn require_node(session: &Session, pod: &Pod, what: &str) -> Result<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} is not scheduled to a node yet, so it has no {what}; see `karmadactl \
                 describe pod {}{}`",
                pod_name(session, pod),
                pod.name_any(),
                describe_flags(&session.place)
            ))
        })
}

fn describe_flags(place: &Place) -> String {
    match place {
        Place::ControlPlane => String::new(),
        Place::Member(m) => format!(" -C {m}"),
    }
}

/// Turns the error of a request the kubelet serves into one line: a server error (5xx: the API
/// server could not reach the kubelet) names the pod and says the node's kubelet did not answer.
pub fn kubelet_error(session: &Session, pod: &Pod, err: kube::Error) -> Error {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default();
    match err {
        kube::Error::Api(s) if s.code >= 500 => {
            kubelet_did_not_answer(session, pod, &node, &s.message)
        }
        kube::Error::Api(s) => Error::Invalid(format!("{}: {}", pod_name(session, pod), s.message)),
        other => session.unreachable(other),
    }
}

/// The error for a kubelet the API server could not reach (also sent as a Status on an exec
/// stream).
pub fn kubelet_did_not_answer(session: &Session, pod: &Pod, node: &str, detail: &str) -> Error {
    Error::Unreachable {
        target: pod_name(session, pod),
        message: format!(
            "the kubelet of node {node} did not answer ({}); logs, exec and attach are served by \
             the node's kubelet: check the node with `karmadactl get nodes {node}{}`",
            detail.trim(),
            get_flags(&session.place)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_of_workloads_and_services() {
        assert_eq!(
            selector_of(
                &json!({"spec": {"selector": {"matchLabels": {"app": "web", "tier": "a"}}}})
            ),
            Some("app=web,tier=a".into())
        );
        assert_eq!(
            selector_of(&json!({"spec": {"selector": {"app": "web"}}})),
            Some("app=web".into())
        );
        assert_eq!(selector_of(&json!({"spec": {}})), None);
        assert_eq!(
            selector_of(&json!({"spec": {"selector": {"matchExpressions": []}}})),
            None
        );
    }
}
