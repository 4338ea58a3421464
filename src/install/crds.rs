//! Installing Karmada's CRDs into a control plane: the one code path shared by
//! `karmadactl init` and `hack/local-up.sh`.

use std::time::Duration;

use futures::future::try_join_all;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};

use crate::build_info::FIELD_MANAGER;
use crate::{Error, Result, api};

/// How long a CRD may take to become Established.
pub const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Server-side applies every CRD of [`api::crds`] (forcing ownership of conflicting fields)
/// and waits until each is Established, so the kinds can be used as soon as this returns.
pub async fn install_crds(client: &kube::Client) -> Result<()> {
    apply_and_wait(client, &api::crds(), ESTABLISH_TIMEOUT).await
}

/// Applies `crds` and waits up to `timeout` for each to be Established.
pub async fn apply_and_wait(
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
    timeout: Duration,
) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for crd in crds {
        let name = crd_name(crd)?;
        api.patch(name, &params, &Patch::Apply(crd))
            .await
            .map_err(|e| Error::Other(anyhow::anyhow!("applying CRD {name}: {e}")))?;
    }
    try_join_all(crds.iter().map(|crd| wait_established(&api, crd, timeout))).await?;
    Ok(())
}

async fn wait_established(
    api: &Api<CustomResourceDefinition>,
    crd: &CustomResourceDefinition,
    timeout: Duration,
) -> Result<()> {
    let name = crd_name(crd)?;
    let waited = tokio::time::timeout(
        timeout,
        await_condition(api.clone(), name, conditions::is_crd_established()),
    )
    .await;
    match waited {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Other(anyhow::anyhow!(
            "watching CRD {name} until Established: {e}"
        ))),
        Err(_) => {
            let seen = match api.get_opt(name).await {
                Ok(Some(crd)) => describe_conditions(&crd),
                Ok(None) => "the CRD no longer exists".to_string(),
                Err(e) => format!("could not read it back: {e}"),
            };
            Err(Error::Timeout(format!(
                "CRD {name} was not Established within {}s ({seen})",
                timeout.as_secs()
            )))
        }
    }
}

/// Directory (relative to the repository root) holding the rendered CRD manifests.
pub const MANIFEST_DIR: &str = "templates/crds";

/// File name of a CRD's manifest in [`MANIFEST_DIR`]: `<group>_<plural>.yaml`.
pub fn manifest_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// The YAML manifest of a CRD, as checked in under [`MANIFEST_DIR`].
pub fn render_manifest(crd: &CustomResourceDefinition) -> String {
    let body = serde_yaml::to_string(crd).expect("a CRD always serializes to YAML");
    format!(
        "# Generated from src/api by `UPDATE_GENERATED=1 cargo test --test crds`; do not edit.\n{body}"
    )
}

fn crd_name(crd: &CustomResourceDefinition) -> Result<&str> {
    crd.metadata
        .name
        .as_deref()
        .ok_or_else(|| Error::Invalid("a CRD without metadata.name cannot be applied".into()))
}

/// `Type=Status (Reason: message)` for each condition, or a note that there are none.
fn describe_conditions(crd: &CustomResourceDefinition) -> String {
    let conditions = crd
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .filter(|c| !c.is_empty());
    match conditions {
        None => "no conditions reported yet".to_string(),
        Some(list) => list
            .iter()
            .map(|c| {
                let mut s = format!("{}={}", c.type_, c.status);
                if let Some(reason) = c.reason.as_deref().filter(|r| !r.is_empty()) {
                    s.push_str(&format!(" ({reason}"));
                    if let Some(msg) = c.message.as_deref().filter(|m| !m.is_empty()) {
                        s.push_str(&format!(": {msg}"));
                    }
                    s.push(')');
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
        CustomResourceDefinitionCondition, CustomResourceDefinitionStatus,
    };

    #[test]
    fn describes_conditions() {
        let mut crd = api::crds().remove(0);
        assert_eq!(describe_conditions(&crd), "no conditions reported yet");
        crd.status = Some(CustomResourceDefinitionStatus {
            conditions: Some(vec![CustomResourceDefinitionCondition {
                type_: "NamesAccepted".into(),
                status: "False".into(),
                reason: Some("MultipleNamesNotAllowed".into()),
                message: Some("\"cpp\" is already in use".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert_eq!(
            describe_conditions(&crd),
            "NamesAccepted=False (MultipleNamesNotAllowed: \"cpp\" is already in use)"
        );
    }

    #[test]
    fn every_crd_has_a_name() {
        for crd in api::crds() {
            assert!(crd_name(&crd).is_ok());
        }
    }
}
