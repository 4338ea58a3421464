//! karmadactl: a Karmada-compatible multi-cluster federation toolkit.
//!
//! The library holds everything the two binaries do, so tests reach it directly:
//! - [`api`]: the Karmada CRD types (cluster, policy, work) and their validation rules.
//! - [`reconciler`]: the controllers that turn templates + policies into Works on members.
//! - [`ops`]: what each `karmadactl` command does, given a client.
//! - [`connect`] and [`kubeconfig`]: reaching the control plane; writing kubeconfig files.
//! - [`member`]: building a client for a member cluster from its Cluster object and Secret.
//! - [`install`]: PKI, rendered manifests and kind, used by `init` and `hack/local-up.sh`.
//! - [`testbed`]: real kube-apiservers on loopback, for tests and local-up.

pub mod api;
pub mod build_info;
pub mod connect;
pub mod error;
pub mod install;
pub mod kubeconfig;
pub mod member;
pub mod ops;
pub mod output;
pub mod reconciler;
pub mod testbed;

pub use error::{Error, Result};
