//! karmadactl: a Karmada-compatible multi-cluster federation toolkit.
//!
//! The library holds everything the two binaries do, so tests reach it directly:
//! - [`api`]: the Karmada CRD types (cluster, policy, work) and their validation rules.
//! - [`engine`]: the decisions (matching, placement, division, overrides, render, status,
//!   health), pure functions shared by the controllers and `karmadactl why`.
//! - [`reconciler`]: the controllers that turn templates + policies into Works on members.
//! - [`ops`]: what each `karmadactl` command does, given a client.
//! - [`client`]: reaching the control plane and members, request counting, kind discovery.
//! - [`kubeconfig`]: reading and writing kubeconfig files.
//! - [`duration`], [`versions`]: the one duration syntax of every flag; pinned versions.
//! - [`install`]: PKI, rendered manifests and kind, used by `init` and `hack/local-up.sh`.
//! - [`testbed`]: real kube-apiservers on loopback, for tests and local-up.

pub mod api;
pub mod build_info;
pub mod client;
pub mod duration;
pub mod engine;
pub mod error;
pub mod install;
pub mod kubeconfig;
pub mod ops;
pub mod output;
pub mod reconciler;
pub mod testbed;
pub mod versions;

pub use error::{Error, Result};
