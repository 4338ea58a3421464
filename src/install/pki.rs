//! The project's PKI: a certificate authority that issues serving and client certificates, and
//! service-account signing keys. Used by the test bed and `karmadactl init` (etcd, apiserver,
//! front-proxy). Keys are ECDSA P-256, which Kubernetes, etcd and rustls all accept.
//!
//! Everything is held as PEM strings so callers write files or kubeconfigs directly; `Debug`
//! never prints key material.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData as _,
};

use crate::{Error, Result};

/// Certificates start this long before "now" so a peer whose clock lags a little accepts them.
pub const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Longest validity a certificate may ask for: 100 years (the longest duration any flag
/// accepts). Anything longer is an error, not an overflow.
pub const MAX_VALIDITY: Duration = Duration::from_secs(100 * 365 * 86400);

/// A PEM certificate and its PEM (PKCS#8) private key.
#[derive(Clone)]
pub struct CertAndKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAndKey")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

/// What to put in an issued certificate.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Subject CN; for client certificates Kubernetes reads it as the user name.
    pub common_name: String,
    /// Subject O entries (at most two); for client certificates Kubernetes reads them as groups.
    pub organizations: Vec<String>,
    /// Subject alternative names; entries that parse as IP addresses become IP SANs.
    pub sans: Vec<String>,
    pub server_auth: bool,
    pub client_auth: bool,
    pub validity: Duration,
}

impl CertSpec {
    /// A TLS server certificate for `sans` (DNS names and/or IP addresses).
    pub fn serving(common_name: &str, sans: &[&str], validity: Duration) -> Self {
        CertSpec {
            common_name: common_name.into(),
            organizations: Vec::new(),
            sans: sans.iter().map(|s| s.to_string()).collect(),
            server_auth: true,
            client_auth: false,
            validity,
        }
    }

    /// A client certificate for Kubernetes user `user` in `groups` (e.g. `system:masters`).
    pub fn client(user: &str, groups: &[&str], validity: Duration) -> Self {
        CertSpec {
            common_name: user.into(),
            organizations: groups.iter().map(|g| g.to_string()).collect(),
            sans: Vec::new(),
            server_auth: false,
            client_auth: true,
            validity,
        }
    }
}

/// A CA that signs certificates. Holds its own certificate and key as PEM.
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
    subject: String,
    /// Its own expiry (seconds since the epoch): nothing it signs outlives it.
    not_after: i64,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject)
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

impl CertificateAuthority {
    /// A new self-signed CA named `common_name`, valid for `validity` from now.
    pub fn generate(common_name: &str, validity: Duration) -> Result<Self> {
        let key = KeyPair::generate().map_err(|e| pki_error("generating a CA key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, validity, None)?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| pki_error("self-signing the CA certificate", e))?;
        Self::from_pem(&cert.pem(), &key.serialize_pem())
    }

    /// Loads a CA from its PEM certificate and PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| {
            Error::Invalid(format!(
                "CA private key: {e}; pass an unencrypted PEM private key"
            ))
        })?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| {
            Error::Invalid(format!(
                "CA certificate: not PEM ({e}); pass the CA's PEM certificate"
            ))
        })?;
        let cert = pem.parse_x509().map_err(|e| {
            Error::Invalid(format!(
                "CA certificate: {e}; pass the CA's PEM certificate"
            ))
        })?;
        let subject = cert.subject().to_string();
        let not_after = cert.validity().not_after.timestamp();
        if !cert.is_ca() {
            return Err(Error::Invalid(format!(
                "certificate {subject:?} is not a CA (no basicConstraints CA:TRUE); pass the CA's certificate"
            )));
        }
        // A mismatched key signs certificates nobody can verify; catch it here, not at handshake.
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(Error::Invalid(format!(
                "the private key does not belong to CA certificate {subject:?}; pass the matching key"
            )));
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|e| pki_error("reading the CA certificate", e))?;
        Ok(CertificateAuthority {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            subject,
            not_after,
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a certificate with a fresh key, signed by this CA. It expires after
    /// `spec.validity` or with the CA, whichever comes first.
    pub fn issue(&self, spec: &CertSpec) -> Result<CertAndKey> {
        if spec.common_name.is_empty() {
            return Err(Error::Invalid(
                "certificate common name is empty; give the user or service a name".into(),
            ));
        }
        let mut params = CertificateParams::new(spec.sans.clone()).map_err(|e| {
            Error::Invalid(format!(
                "certificate SANs {:?}: {e}; use DNS names or IP addresses",
                spec.sans
            ))
        })?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.common_name.as_str());
        // rcgen keeps one value per attribute type; a second O goes in under the same OID
        // (2.5.4.10) spelled as a custom type. More than two cannot be expressed with rcgen.
        let org_types = [
            DnType::OrganizationName,
            DnType::CustomDnType(vec![2, 5, 4, 10]),
        ];
        if spec.organizations.len() > org_types.len() {
            return Err(Error::Invalid(format!(
                "certificate for {:?}: at most {} organizations (groups) are supported, got {:?}; \
                 bind RBAC roles to the user instead",
                spec.common_name,
                org_types.len(),
                spec.organizations
            )));
        }
        for (ty, org) in org_types.into_iter().zip(&spec.organizations) {
            params.distinguished_name.push(ty, org.as_str());
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        if spec.server_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if spec.client_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        params.use_authority_key_identifier_extension = true;
        set_validity(
            &mut params,
            spec.validity,
            Some((self.not_after, &self.subject)),
        )?;
        let key = KeyPair::generate().map_err(|e| pki_error("generating a key", e))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| pki_error("signing a certificate", e))?;
        Ok(CertAndKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Shorthand for [`CertSpec::serving`].
    pub fn serving_cert(
        &self,
        common_name: &str,
        sans: &[&str],
        validity: Duration,
    ) -> Result<CertAndKey> {
        self.issue(&CertSpec::serving(common_name, sans, validity))
    }

    /// Shorthand for [`CertSpec::client`].
    pub fn client_cert(
        &self,
        user: &str,
        groups: &[&str],
        validity: Duration,
    ) -> Result<CertAndKey> {
        self.issue(&CertSpec::client(user, groups, validity))
    }
}

/// The key pair kube-apiserver signs service-account tokens with
/// (`--service-account-signing-key-file` = private, `--service-account-key-file` = public) and
/// kube-controller-manager's `--service-account-private-key-file`.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// PKCS#8 "PRIVATE KEY" PEM.
    pub private_key_pem: String,
    /// SubjectPublicKeyInfo "PUBLIC KEY" PEM.
    pub public_key_pem: String,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("public_key_pem", &self.public_key_pem)
            .field("private_key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

impl ServiceAccountKey {
    pub fn generate() -> Result<Self> {
        let key =
            KeyPair::generate().map_err(|e| pki_error("generating a service-account key", e))?;
        Ok(ServiceAccountKey {
            private_key_pem: key.serialize_pem(),
            public_key_pem: key.public_key_pem(),
        })
    }
}

/// Seconds from now until the certificate `cert_pem` expires (negative once it has); `None`
/// when it is not a PEM certificate.
pub fn seconds_left(cert_pem: &str) -> Option<i64> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).ok()?;
    let cert = pem.parse_x509().ok()?;
    Some(cert.validity().not_after.timestamp() - now_secs().ok()? as i64)
}

fn now_secs() -> Result<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::Invalid("the system clock is before 1970; fix the clock".into()))
}

/// Sets not-before (now − [`CLOCK_SKEW`]) and not-after (now + `validity`, but no later than
/// `cap`, the signing CA's own expiry). Validity is bounded by [`MAX_VALIDITY`], so the date
/// arithmetic cannot overflow.
fn set_validity(
    params: &mut CertificateParams,
    validity: Duration,
    cap: Option<(i64, &str)>,
) -> Result<()> {
    if validity.is_zero() {
        return Err(Error::Invalid(
            "certificate validity is zero; give a positive duration".into(),
        ));
    }
    if validity > MAX_VALIDITY {
        return Err(Error::Invalid(format!(
            "certificate validity of {}s is too long (at most 100 years); give a shorter duration",
            validity.as_secs()
        )));
    }
    let now = now_secs()?;
    let mut not_after = now + validity.as_secs();
    if let Some((ca_not_after, ca)) = cap {
        if ca_not_after <= now as i64 {
            return Err(Error::Invalid(format!(
                "CA {ca:?} has expired; pass a valid CA (or let init create one)"
            )));
        }
        not_after = not_after.min(ca_not_after as u64);
    }
    // rcgen takes `time::OffsetDateTime`; building it from the epoch avoids a direct `time` dependency.
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(now.saturating_sub(CLOCK_SKEW.as_secs()));
    params.not_after = epoch + Duration::from_secs(not_after);
    Ok(())
}

fn pki_error(what: &str, e: rcgen::Error) -> Error {
    Error::Other(anyhow::anyhow!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use x509_parser::der_parser::oid::Oid;
    use x509_parser::extensions::GeneralName;
    use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME};
    use x509_parser::prelude::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn der(pem: &str) -> Vec<u8> {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    }

    fn now_secs() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn attrs(name: &X509Name<'_>, oid: &Oid<'_>) -> Vec<String> {
        name.iter_by_oid(oid)
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn ca_is_self_signed_ca_with_requested_validity() {
        let ca = CertificateAuthority::generate("test-ca", 10 * DAY).unwrap();
        let bytes = der(ca.cert_pem());
        let (_, cert) = X509Certificate::from_der(&bytes).unwrap();
        assert!(cert.is_ca());
        assert_eq!(cert.subject(), cert.issuer());
        cert.verify_signature(None).unwrap();
        assert_eq!(attrs(cert.subject(), &OID_X509_COMMON_NAME), ["test-ca"]);
        let not_after = cert.validity().not_after.timestamp();
        let expected = now_secs() + 10 * DAY.as_secs() as i64;
        assert!(
            (expected - 60..=expected).contains(&not_after),
            "{not_after} vs {expected}"
        );
        assert!(cert.validity().not_before.timestamp() <= now_secs() - 60);
    }

    #[test]
    fn serving_cert_has_sans_server_auth_and_verifies_against_ca() {
        let ca = CertificateAuthority::generate("ca", DAY).unwrap();
        let issued = ca
            .serving_cert("kube-apiserver", &["127.0.0.1", "localhost", "::1"], DAY)
            .unwrap();
        let bytes = der(&issued.cert_pem);
        let (_, cert) = X509Certificate::from_der(&bytes).unwrap();
        let ca_der = der(ca.cert_pem());
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        assert!(!cert.is_ca());

        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        let mut dns = Vec::new();
        let mut ips = Vec::new();
        for name in &san.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => ips.push(match b.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()),
                }),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
        assert_eq!(dns, ["localhost"]);
        assert_eq!(
            ips,
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        // The key in the PEM is the one the certificate certifies.
        let key = KeyPair::from_pem(&issued.key_pem).unwrap();
        assert_eq!(
            cert.public_key().raw,
            key.subject_public_key_info().as_slice()
        );
    }

    #[test]
    fn client_cert_carries_user_and_groups() {
        let ca = CertificateAuthority::generate("ca", 3 * DAY).unwrap();
        let issued = ca
            .client_cert("admin", &["system:masters", "team-a"], 2 * DAY)
            .unwrap();
        let bytes = der(&issued.cert_pem);
        let (_, cert) = X509Certificate::from_der(&bytes).unwrap();
        assert_eq!(attrs(cert.subject(), &OID_X509_COMMON_NAME), ["admin"]);
        assert_eq!(
            attrs(cert.subject(), &OID_X509_ORGANIZATION_NAME),
            ["system:masters", "team-a"]
        );
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth);
        assert!(cert.subject_alternative_name().unwrap().is_none());
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert_eq!(lifetime as u64, 2 * DAY.as_secs() + CLOCK_SKEW.as_secs());
    }

    #[test]
    fn loaded_ca_issues_certs_that_chain_to_it() {
        let original = CertificateAuthority::generate("reloaded", DAY).unwrap();
        let ca = CertificateAuthority::from_pem(original.cert_pem(), original.key_pem()).unwrap();
        let issued = ca.client_cert("u", &[], DAY).unwrap();
        let bytes = der(&issued.cert_pem);
        let (_, cert) = X509Certificate::from_der(&bytes).unwrap();
        let ca_der = der(original.cert_pem());
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
    }

    #[test]
    fn loading_rejects_mismatched_key_and_non_ca_certificates() {
        let a = CertificateAuthority::generate("a", DAY).unwrap();
        let b = CertificateAuthority::generate("b", DAY).unwrap();
        let err = CertificateAuthority::from_pem(a.cert_pem(), b.key_pem()).unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");

        let leaf = a.serving_cert("leaf", &["localhost"], DAY).unwrap();
        let err = CertificateAuthority::from_pem(&leaf.cert_pem, &leaf.key_pem).unwrap_err();
        assert!(err.to_string().contains("not a CA"), "{err}");

        let err = CertificateAuthority::from_pem("garbage", a.key_pem()).unwrap_err();
        assert!(err.to_string().contains("CA certificate"), "{err}");
    }

    #[test]
    fn service_account_key_pair_matches_and_is_pem() {
        let sa = ServiceAccountKey::generate().unwrap();
        assert!(
            sa.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(sa.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = KeyPair::from_pem(&sa.private_key_pem).unwrap();
        assert_eq!(key.public_key_pem(), sa.public_key_pem);
    }

    #[test]
    fn debug_never_prints_keys() {
        let ca = CertificateAuthority::generate("dbg", DAY).unwrap();
        let issued = ca.client_cert("u", &[], DAY).unwrap();
        let sa = ServiceAccountKey::generate().unwrap();
        let body = |pem: &str| pem.lines().nth(1).unwrap().to_string();
        for (debug, key) in [
            (format!("{ca:?}"), body(ca.key_pem())),
            (format!("{issued:?}"), body(&issued.key_pem)),
            (format!("{sa:?}"), body(&sa.private_key_pem)),
        ] {
            assert!(!debug.contains(&key), "{debug}");
            assert!(debug.contains("redacted"), "{debug}");
        }
    }

    #[test]
    fn absurd_validity_is_an_error_not_a_panic() {
        let ca = CertificateAuthority::generate("ca", DAY).unwrap();
        for v in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(10_000 * 365 * DAY.as_secs()),
        ] {
            let err = ca.client_cert("u", &[], v).unwrap_err();
            assert!(err.to_string().contains("too long"), "{err}");
            let err = CertificateAuthority::generate("ca", v).unwrap_err();
            assert!(err.to_string().contains("too long"), "{err}");
        }
        // 100 years, the longest duration any flag accepts, still works.
        ca.client_cert("u", &[], 100 * 365 * DAY).unwrap();
    }

    #[test]
    fn rejects_empty_names_and_zero_validity() {
        let ca = CertificateAuthority::generate("ca", DAY).unwrap();
        assert!(ca.client_cert("", &[], DAY).is_err());
        assert!(ca.client_cert("u", &[], Duration::ZERO).is_err());
        assert!(CertificateAuthority::generate("ca", Duration::ZERO).is_err());
        let err = ca.client_cert("u", &["a", "b", "c"], DAY).unwrap_err();
        assert!(err.to_string().contains("at most 2"), "{err}");
    }
}
