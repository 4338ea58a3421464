//! Installing the control plane: PKI, rendered manifests, kind.
