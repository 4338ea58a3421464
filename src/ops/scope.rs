//! Where a single-cluster command runs (describe, logs, exec, attach, explain, api-resources,
//! create, delete, edit, label, annotate, patch): the Karmada control plane by default, or one
//! member cluster named with `-C/--cluster`, reached with the credentials `join` stored in the
//! control plane (the Cluster's Secret), like Karmada's `--operation-scope members
//! --cluster NAME`.

use std::time::Duration;

use kube::api::Api;
use kube::{Client, ResourceExt as _};

use crate::api::Cluster;
use crate::client::connect::Target;
use crate::client::member::Access;
use crate::ops::get::{one_line, request_error};
use crate::{Error, Result};

/// How long a request to a member may take (connect, and each read unless streaming).
pub const MEMBER_TIMEOUT: Duration = Duration::from_secs(30);

/// `--operation-scope` of the single-cluster commands: the control plane or one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OperationScope {
    /// The Karmada control plane
    #[default]
    Karmada,
    /// The member cluster named with -C/--cluster
    Members,
}

/// The one cluster a command talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    ControlPlane,
    Member(String),
}

impl Place {
    /// From `--operation-scope` and `-C/--cluster`: `-C` alone means that member; `-s members`
    /// needs `-C`; `-s karmada` with `-C` is a contradiction.
    pub fn from_flags(scope: Option<OperationScope>, cluster: Option<&str>) -> Result<Place> {
        match (scope, cluster) {
            (Some(OperationScope::Members), None) => Err(Error::Invalid(
                "must specify a member cluster: add -C/--cluster NAME to --operation-scope members"
                    .into(),
            )),
            (Some(OperationScope::Karmada), Some(c)) => Err(Error::Invalid(format!(
                "-C/--cluster {c} names a member cluster, but --operation-scope is karmada; \
                 drop one of them"
            ))),
            (_, Some(c)) => {
                crate::api::names::validate_cluster_name(c).map_err(Error::Invalid)?;
                Ok(Place::Member(c.to_string()))
            }
            (_, None) => Ok(Place::ControlPlane),
        }
    }

    /// `karmada` or the member's name (the CLUSTER column of `get`).
    pub fn name(&self) -> &str {
        match self {
            Place::ControlPlane => crate::ops::get::resources::KARMADA,
            Place::Member(m) => m,
        }
    }

    pub fn is_member(&self) -> bool {
        matches!(self, Place::Member(_))
    }

    /// ` in member1` for members, nothing for the control plane: appended to object names in
    /// messages.
    pub fn suffix(&self) -> String {
        match self {
            Place::ControlPlane => String::new(),
            Place::Member(m) => format!(" in cluster {m}"),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::ControlPlane => write!(f, "the Karmada control plane"),
            Place::Member(m) => write!(f, "member cluster {m}"),
        }
    }
}

/// Whether requests may hold a connection open (logs -f, exec, attach, watches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requests {
    /// Each request bounded (members: [`MEMBER_TIMEOUT`]).
    Bounded,
    /// No read timeout: the stream ends when the server or the user ends it.
    Streaming,
}

/// A client for the place a command runs, with what messages need to name it.
#[derive(Clone)]
pub struct Session {
    pub client: Client,
    pub place: Place,
    /// `-n` when unset: the namespace of the control plane's kubeconfig context (for members
    /// too, as `get` does).
    pub default_namespace: String,
    /// The member's API endpoint (empty for the control plane).
    pub endpoint: String,
    target: Target,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("place", &self.place)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Connects to `place`. For a member, reads its Cluster and Secret from the control plane.
pub async fn connect(target: &Target, place: &Place, requests: Requests) -> Result<Session> {
    let mut config = target.config(None).await?;
    let default_namespace = config.default_namespace.clone();
    if requests == Requests::Streaming {
        config.read_timeout = None;
        config.write_timeout = None;
    }
    let cp = Client::try_from(config).map_err(|e| Error::Unreachable {
        target: target.describe(),
        message: e.to_string(),
    })?;
    let Place::Member(name) = place else {
        return Ok(Session {
            client: cp,
            place: place.clone(),
            default_namespace,
            endpoint: String::new(),
            target: target.clone(),
        });
    };
    let clusters: Api<Cluster> = Api::all(cp.clone());
    let cluster = match clusters.get_opt(name).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let known: Vec<String> = clusters
                .list(&Default::default())
                .await
                .map_err(|e| request_error(target, e))?
                .items
                .iter()
                .map(|c| c.name_any())
                .collect();
            return Err(Error::NotFound(format!(
                "no member cluster {name:?} (known: {}); check -C/--cluster or run \
                 `karmadactl get clusters`",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        Err(e) => return Err(request_error(target, e)),
    };
    let access = Access::load(&cp, &cluster).await?;
    let mut config = access.config(MEMBER_TIMEOUT)?;
    if requests == Requests::Streaming {
        config.read_timeout = None;
        config.write_timeout = None;
    }
    let client = Client::try_from(config).map_err(|e| Error::Unreachable {
        target: format!("member cluster {name}"),
        message: e.to_string(),
    })?;
    Ok(Session {
        client,
        place: place.clone(),
        default_namespace,
        endpoint: access.endpoint,
        target: target.clone(),
    })
}

impl Session {
    /// The namespace for `-n` (None: the default one).
    pub fn namespace(&self, flag: Option<&str>) -> String {
        flag.map(str::to_string)
            .unwrap_or_else(|| self.default_namespace.clone())
    }

    /// One line for a request that failed for another reason than the API refusing it
    /// (connection refused, TLS, timeout), naming where it was sent.
    pub fn unreachable(&self, err: kube::Error) -> Error {
        match &self.place {
            Place::ControlPlane => request_error(&self.target, err),
            Place::Member(m) => match err {
                kube::Error::Api(s) => Error::Invalid(format!(
                    "member cluster {m} refused the request: {}",
                    s.message
                )),
                other => Error::Unreachable {
                    target: format!("member cluster {m} at {}", self.endpoint),
                    message: format!(
                        "{}; check `karmadactl get clusters` and the member's API server",
                        one_line(&other)
                    ),
                },
            },
        }
    }

    /// An error about `what` (e.g. `deployment.apps/nginx`): the API's message for refusals,
    /// [`Session::unreachable`] otherwise.
    pub fn error(&self, what: &str, err: kube::Error) -> Error {
        match err {
            kube::Error::Api(s) if s.code == 404 => Error::NotFound(format!(
                "{what} not found{}: {}",
                self.place.suffix(),
                s.message
            )),
            kube::Error::Api(s) if s.code == 409 => {
                Error::Invalid(format!("{what}{}: {}", self.place.suffix(), s.message))
            }
            kube::Error::Api(s) if s.code == 401 || s.code == 403 => Error::Invalid(format!(
                "{what}{}: {}; check the credentials of {}",
                self.place.suffix(),
                s.message,
                match &self.place {
                    Place::ControlPlane => self.target.describe(),
                    Place::Member(m) => format!("cluster {m} (re-join it to renew them)"),
                }
            )),
            kube::Error::Api(s) => {
                Error::Invalid(format!("{what}{}: {}", self.place.suffix(), s.message))
            }
            other => self.unreachable(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_pick_one_place() {
        assert_eq!(Place::from_flags(None, None).unwrap(), Place::ControlPlane);
        assert_eq!(
            Place::from_flags(Some(OperationScope::Karmada), None).unwrap(),
            Place::ControlPlane
        );
        assert_eq!(
            Place::from_flags(None, Some("member1")).unwrap(),
            Place::Member("member1".into())
        );
        assert_eq!(
            Place::from_flags(Some(OperationScope::Members), Some("member1")).unwrap(),
            Place::Member("member1".into())
        );
        let err = Place::from_flags(Some(OperationScope::Members), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must specify a member cluster"), "{err}");
        assert!(Place::from_flags(Some(OperationScope::Karmada), Some("m")).is_err());
        assert!(Place::from_flags(None, Some("Bad_Name")).is_err());
    }
}
