//! Facts recorded at build time (see build.rs).

use serde::Serialize;

/// What `karmadactl version` reports about this binary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub build_date: &'static str,
    pub rustc: &'static str,
    pub platform: &'static str,
}

pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    git_commit: env!("KARMADACTL_GIT_COMMIT"),
    build_date: env!("KARMADACTL_BUILD_DATE"),
    rustc: env!("KARMADACTL_RUSTC"),
    platform: env!("KARMADACTL_TARGET"),
};

/// The field manager name used for every server-side apply this project makes.
pub const FIELD_MANAGER: &str = "karmadactl";
