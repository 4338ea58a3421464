//! Installing the control plane: PKI, rendered manifests, kind.

pub mod crds;
pub mod pki;
