//! Karmada-compatible API types: cluster.karmada.io, policy.karmada.io, work.karmada.io.
