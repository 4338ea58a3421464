//! The controllers of karmada-reconciler, one module each.
