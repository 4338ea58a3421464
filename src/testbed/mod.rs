//! Real kube-apiservers on loopback for tests and hack/local-up.sh.
