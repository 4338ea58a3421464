//! The SYNCED column of `get -s members|all`: does the control plane hold the status this
//! member object has right now, and when did it last receive a change of it?
//!
//! The reconciler copies each member object's status into its Work
//! (`status.manifestStatuses`), and from there into the binding and the template. `get`
//! reads the member object live, so comparing the two says whether the template's status is
//! current for that cluster. The time is the Work's last status write (its `status`
//! managedFields entry): the last change the control plane received from that cluster.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt as _};

use crate::api::{self as keys, Work, names};
use crate::engine::status::reflect;
use crate::output;

/// One member object's status freshness on the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// The Work holds exactly the member's current status.
    Yes { last: Option<Timestamp> },
    /// The member's status moved on (or was never collected); the control plane is behind.
    No { last: Option<Timestamp> },
    /// Not propagated by Karmada (no Work behind it), or a control-plane row.
    NotPropagated,
    /// The Works could not be read.
    Unknown,
}

impl Synced {
    /// The table cell: `yes, 12s ago`, `no, 3m ago`, `no, never`, `-` or `?`.
    pub fn cell(&self) -> String {
        let when = |t: &Option<Timestamp>| match t {
            Some(t) => format!("{} ago", output::age(*t)),
            None => "never".into(),
        };
        match self {
            Synced::Yes { last } => format!("yes, {}", when(last)),
            Synced::No { last } => format!("no, {}", when(last)),
            Synced::NotPropagated => "-".into(),
            Synced::Unknown => "?".into(),
        }
    }
}

/// The freshness of each of `objects` (of `kind`, read from member `cluster`), in the same
/// order.
pub async fn states(
    cp: &Client,
    cluster: &str,
    kind: &str,
    objects: &[DynamicObject],
) -> Vec<Synced> {
    let propagated = |o: &DynamicObject| o.annotations().contains_key(keys::ANNOTATION_WORK_NAME);
    if !objects.iter().any(propagated) {
        return vec![Synced::NotPropagated; objects.len()];
    }
    let api: Api<Work> = Api::namespaced(cp.clone(), &names::execution_namespace(cluster));
    let works: BTreeMap<String, Work> = match api.list(&ListParams::default()).await {
        Ok(list) => list.items.into_iter().map(|w| (w.name_any(), w)).collect(),
        Err(_) => return vec![Synced::Unknown; objects.len()],
    };
    objects
        .iter()
        .map(|o| {
            let work = o
                .annotations()
                .get(keys::ANNOTATION_WORK_NAME)
                .and_then(|name| works.get(name));
            match work {
                Some(w) => state(w, kind, o),
                None if propagated(o) => Synced::No { last: None },
                None => Synced::NotPropagated,
            }
        })
        .collect()
}

/// Compares `live` (a `kind`; list items carry no kind of their own) with what `work`
/// reported for it.
pub fn state(work: &Work, kind: &str, live: &DynamicObject) -> Synced {
    let last = last_status_write(work);
    let reported = work.status.as_ref().and_then(|s| {
        s.manifest_statuses.iter().find(|m| {
            m.identifier.kind == kind
                && m.identifier.name == live.name_any()
                && m.identifier.namespace == live.namespace().unwrap_or_default()
        })
    });
    let current = serde_json::to_value(live).ok().and_then(|v| reflect(&v));
    match reported {
        Some(m) if m.status.as_ref().map(|s| s.value()) == current => Synced::Yes { last },
        _ => Synced::No { last },
    }
}

/// When the Work's status was last written (the newest `status` managedFields entry).
fn last_status_write(work: &Work) -> Option<Timestamp> {
    work.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|f| f.subresource.as_deref() == Some("status"))
        .filter_map(|f| f.time.as_ref().map(|t| t.0))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::WorkStatus;
    use crate::api::work::{ManifestStatus, ResourceIdentifier};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, Time};
    use serde_json::json;

    /// As a list item: no apiVersion or kind.
    fn live(ready: i64) -> DynamicObject {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "generation": 2},
            "status": {"readyReplicas": ready}
        }))
        .unwrap()
    }

    fn work(reported: Option<serde_json::Value>, written: Option<Timestamp>) -> Work {
        let mut w = Work::new("web-123", Default::default());
        w.metadata.managed_fields = written.map(|t| {
            vec![ManagedFieldsEntry {
                manager: Some("karmada-reconciler".into()),
                subresource: Some("status".into()),
                time: Some(Time(t)),
                ..Default::default()
            }]
        });
        w.status = Some(WorkStatus {
            manifest_statuses: vec![ManifestStatus {
                identifier: ResourceIdentifier {
                    kind: "Deployment".into(),
                    name: "web".into(),
                    namespace: "default".into(),
                    version: "v1".into(),
                    group: "apps".into(),
                    resource: "deployments".into(),
                    ordinal: 0,
                },
                status: reported.map(Into::into),
                health: None,
            }],
            ..Default::default()
        });
        w
    }

    #[test]
    fn equal_status_is_in_sync_and_a_moved_status_is_behind() {
        let t = Timestamp::now();
        let w = work(Some(json!({"readyReplicas": 1, "generation": 2})), Some(t));
        assert_eq!(
            state(&w, "Deployment", &live(1)),
            Synced::Yes { last: Some(t) }
        );
        assert_eq!(
            state(&w, "Deployment", &live(2)),
            Synced::No { last: Some(t) }
        );
        let never = work(None, None);
        assert_eq!(
            state(&never, "Deployment", &live(1)),
            Synced::No { last: None }
        );
        assert_eq!(Synced::No { last: None }.cell(), "no, never");
        assert!(Synced::Yes { last: Some(t) }.cell().starts_with("yes, "));
        assert!(Synced::Yes { last: Some(t) }.cell().ends_with("s ago"));
    }
}
