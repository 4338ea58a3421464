//! The versions this build pins, in one place: `hack/versions.env`, read at compile time, so
//! `init`'s images, the test bed's binaries and the scripts agree.

const VERSIONS_ENV: &str = include_str!("../hack/versions.env");

fn pinned(key: &str) -> &'static str {
    VERSIONS_ENV
        .lines()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or_else(|| panic!("hack/versions.env sets {key}"))
}

/// `KUBE_VERSION`, e.g. `v1.37.2`: kube-apiserver and kube-controller-manager.
pub fn kube_version() -> &'static str {
    pinned("KUBE_VERSION")
}

/// `ETCD_VERSION` without the `v`, e.g. `3.7.0`.
pub fn etcd_version() -> &'static str {
    pinned("ETCD_VERSION").trim_start_matches('v')
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_pinned() {
        assert!(super::kube_version().starts_with("v1."));
        assert!(super::etcd_version().starts_with('3'));
    }
}
