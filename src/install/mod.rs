//! Installing the control plane: PKI, rendered manifests, kind.

pub mod agent;
pub mod bundle;
pub mod config;
pub mod crds;
pub mod kind;
pub mod manifests;
pub mod pki;
