//! Getting a client certificate through a CertificateSigningRequest (signer
//! `kubernetes.io/kube-apiserver-client`): `register` does it with a bootstrap token, the agent
//! again with its current certificate before that one expires.

use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestSpec,
};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use rcgen::{CertificateParams, DnType, KeyPair};

use crate::install::agent::{AGENTS_GROUP, SIGNER, agent_user};
use crate::{Error, Result};

/// A certificate and the key it was issued for (PEM).
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issued(<redacted>)")
    }
}

/// The PEM certificate request of an agent (`CN=system:karmada:agent:<cluster>`,
/// `O=system:karmada:agents`) and its new key.
pub fn agent_request(cluster: &str) -> Result<(String, KeyPair)> {
    let pki = |what: &str, e: rcgen::Error| Error::Internal(format!("{what}: {e}"));
    let key = KeyPair::generate().map_err(|e| pki("generating a key", e))?;
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| pki("certificate request", e))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, agent_user(cluster));
    params
        .distinguished_name
        .push(DnType::OrganizationName, AGENTS_GROUP);
    let csr = params
        .serialize_request(&key)
        .map_err(|e| pki("signing the certificate request", e))?;
    let pem = csr.pem().map_err(|e| pki("encoding the request", e))?;
    Ok((pem, key))
}

/// Creates CSR `name` for an agent of `cluster` with `client` and waits up to `timeout` for it
/// to be approved and signed. The CSR is deleted afterwards (it holds no secret, but clutters).
pub async fn request_agent_certificate(
    client: &Client,
    name: &str,
    cluster: &str,
    expiration: Duration,
    timeout: Duration,
) -> Result<Issued> {
    let (request, key) = agent_request(cluster)?;
    let api: Api<CertificateSigningRequest> = Api::all(client.clone());
    let csr = CertificateSigningRequest {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(
                [(
                    crate::install::agent::LABEL_AGENT_CLUSTER.to_string(),
                    cluster.to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(request.into_bytes()),
            signer_name: SIGNER.into(),
            expiration_seconds: Some(expiration.as_secs().clamp(600, i32::MAX as u64) as i32),
            usages: Some(vec![
                "digital signature".into(),
                "key encipherment".into(),
                "client auth".into(),
            ]),
            ..Default::default()
        },
        status: None,
    };
    api.create(&PostParams::default(), &csr).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let outcome = loop {
        let current = api.get(name).await?;
        let status = current.status.unwrap_or_default();
        let conditions = status.conditions.unwrap_or_default();
        if let Some(c) = conditions
            .iter()
            .find(|c| (c.type_ == "Denied" || c.type_ == "Failed") && c.status == "True")
        {
            break Err(Error::Invalid(format!(
                "certificate signing request {name} was {}: {}",
                c.type_.to_lowercase(),
                c.message.clone().unwrap_or_default()
            )));
        }
        if let Some(cert) = status.certificate.filter(|c| !c.0.is_empty()) {
            break Ok(Issued {
                cert_pem: String::from_utf8_lossy(&cert.0).into_owned(),
                key_pem: key.serialize_pem(),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            let approved = conditions
                .iter()
                .any(|c| c.type_ == "Approved" && c.status == "True");
            break Err(Error::Timeout(if approved {
                format!(
                    "certificate signing request {name} is approved but not signed after {}s: the control plane's kube-controller-manager must run the csrsigning controller with the CA (karmadactl init sets it up)",
                    timeout.as_secs()
                )
            } else {
                format!(
                    "certificate signing request {name} is not approved after {}s: karmada-reconciler approves agent requests; check that it runs, or approve it by hand (`kubectl certificate approve {name}` on the control plane)",
                    timeout.as_secs()
                )
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Best effort: the signed certificate is in hand (or the request failed) either way.
    let _ = api.delete(name, &DeleteParams::default()).await;
    outcome
}

/// A short random suffix for object names (`[a-z0-9]{5}`).
pub fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..5].to_string()
}

/// Seconds since the epoch of a PEM certificate's notBefore and notAfter.
pub fn validity(cert_pem: &str) -> Option<(i64, i64)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some((
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    ))
}

/// Default share of a certificate's lifetime left when it is renewed (upstream's
/// `--cert-rotation-remaining-time-threshold`).
pub const RENEW_THRESHOLD: f64 = 0.2;

/// How long until a certificate valid from `not_before` to `not_after` should be renewed: once
/// only `threshold` of its lifetime is left (80% through by default; now if that is past).
pub fn renew_in(not_before: i64, not_after: i64, now: i64) -> Duration {
    renew_in_at(not_before, not_after, now, RENEW_THRESHOLD)
}

/// [`renew_in`] with another threshold (0 to 1).
pub fn renew_in_at(not_before: i64, not_after: i64, now: i64, threshold: f64) -> Duration {
    let lifetime = (not_after - not_before) as f64;
    let at = not_before + (lifetime * (1.0 - threshold.clamp(0.0, 1.0))) as i64;
    Duration::from_secs(at.saturating_sub(now).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer as _;

    #[test]
    fn renewal_is_at_four_fifths_of_the_lifetime() {
        assert_eq!(renew_in(0, 100, 0), Duration::from_secs(80));
        assert_eq!(renew_in(0, 100, 50), Duration::from_secs(30));
        assert_eq!(renew_in(0, 100, 90), Duration::ZERO);
        assert_eq!(renew_in_at(0, 100, 0, 0.5), Duration::from_secs(50));
        assert_eq!(renew_in_at(0, 100, 0, 1.0), Duration::ZERO);
    }

    #[test]
    fn the_request_names_the_agent() {
        let (pem, _) = agent_request("m2").unwrap();
        let (_, der) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&der.contents)
                .unwrap();
        let subject = csr.certification_request_info.subject.to_string();
        assert!(subject.contains("system:karmada:agent:m2"), "{subject}");
        assert!(subject.contains("system:karmada:agents"), "{subject}");
    }
}
