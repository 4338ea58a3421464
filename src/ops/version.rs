//! `karmadactl version`: this binary's build facts and, when reachable, the control plane's.

use std::time::Duration;

use serde::Serialize;

use crate::build_info::{BUILD, BuildInfo};
use crate::client::connect::Target;

/// How long `version` waits for the control plane before reporting it unreachable.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    pub git_version: String,
    pub platform: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub client: BuildInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerVersion>,
    /// Why the server version is missing, when it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_error: Option<String>,
}

/// Builds the report; asks the control plane only when `include_server`.
pub async fn report(target: &Target, include_server: bool) -> VersionReport {
    let mut report = VersionReport {
        client: BUILD,
        server: None,
        server_error: None,
    };
    if include_server {
        match server_version(target).await {
            Ok(v) => report.server = Some(v),
            Err(e) => report.server_error = Some(e.to_string()),
        }
    }
    report
}

async fn server_version(target: &Target) -> crate::Result<ServerVersion> {
    let client = target.client_with_timeout(Some(SERVER_TIMEOUT)).await?;
    let info = tokio::time::timeout(SERVER_TIMEOUT, client.apiserver_version())
        .await
        .map_err(|_| crate::Error::Unreachable {
            target: target.describe(),
            message: format!("no answer within {}s", SERVER_TIMEOUT.as_secs()),
        })?
        .map_err(|e| crate::Error::Unreachable {
            target: target.describe(),
            message: e.to_string(),
        })?;
    Ok(ServerVersion {
        git_version: info.git_version,
        platform: info.platform,
    })
}

impl VersionReport {
    /// The human form: one fact per line.
    pub fn human(&self) -> String {
        let c = &self.client;
        let mut out = format!(
            "karmadactl version: {}\ngit commit: {}\nbuild date: {}\nrustc: {}\nplatform: {}\n",
            c.version, c.git_commit, c.build_date, c.rustc, c.platform
        );
        match (&self.server, &self.server_error) {
            (Some(s), _) => out.push_str(&format!(
                "control plane: {} ({})\n",
                s.git_version, s.platform
            )),
            (None, Some(e)) => out.push_str(&format!("control plane: unreachable ({e})\n")),
            (None, None) => {}
        }
        out
    }
}
