//! How Karmada names the objects it derives: bindings, Works, execution namespaces.
//!
//! These names are part of the observable contract (tools and users look objects up by them),
//! so they must match Karmada's exactly.

use crate::api::{EXECUTION_NAMESPACE_PREFIX, NAMESPACE_KARMADA_CLUSTER, NAMESPACE_KARMADA_SYSTEM};

/// Name of the (Cluster)ResourceBinding for a template: `<name>-<kind>`, lowercased, with `:`
/// in the name (RBAC objects) turned into `.`.
pub fn binding_name(kind: &str, name: &str) -> String {
    format!("{}-{}", name.replace(':', "."), kind).to_lowercase()
}

/// Name of the Work for a template in an execution namespace: `<name>-<hash>`, where the
/// hash covers `namespace-name-kind` (`name-kind` for cluster-scoped templates).
pub fn work_name(kind: &str, name: &str, namespace: &str) -> String {
    let name = name.replace(':', ".").to_lowercase();
    let key = if namespace.is_empty() {
        format!("{name}-{kind}")
    } else {
        format!("{namespace}-{name}-{kind}")
    }
    .to_lowercase();
    format!(
        "{name}-{}",
        safe_encode(&fnv1a32(key.as_bytes()).to_string())
    )
}

/// The key a dependency's binding uses to label who depends on it (see
/// [`LABEL_DEPENDED_BY_PREFIX`](crate::api::LABEL_DEPENDED_BY_PREFIX)).
pub fn binding_reference_key(namespace: &str, name: &str) -> String {
    let key = if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    };
    safe_encode(&fnv1a32(key.as_bytes()).to_string())
}

/// Longest cluster name, as Karmada allows: it leaves room for `karmada-es-` and other prefixes
/// in names derived from it (the Cluster CRD enforces the same limit).
pub const CLUSTER_NAME_MAX_LEN: usize = 48;

/// Checks a cluster name like Kubernetes checks a DNS-1123 label, with Karmada's length limit.
pub fn validate_cluster_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= CLUSTER_NAME_MAX_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid cluster name {name:?}: use at most {CLUSTER_NAME_MAX_LEN} lowercase letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// The execution namespace of a member cluster: `karmada-es-<cluster>`.
pub fn execution_namespace(cluster: &str) -> String {
    format!("{EXECUTION_NAMESPACE_PREFIX}{cluster}")
}

/// The member cluster an execution namespace belongs to, if it is one.
pub fn cluster_of_execution_namespace(namespace: &str) -> Option<&str> {
    namespace
        .strip_prefix(EXECUTION_NAMESPACE_PREFIX)
        .filter(|c| !c.is_empty())
}

/// Namespaces whose contents are never propagated: `karmada-system`, `karmada-cluster` and
/// execution namespaces.
pub fn is_reserved_namespace(namespace: &str) -> bool {
    namespace == NAMESPACE_KARMADA_SYSTEM
        || namespace == NAMESPACE_KARMADA_CLUSTER
        || namespace.starts_with(EXECUTION_NAMESPACE_PREFIX)
}

/// ServiceAccount the control plane uses in a member: `karmada-<cluster>`.
pub fn member_service_account(cluster: &str) -> String {
    format!("karmada-{cluster}")
}

/// ClusterRole(Binding) granting that ServiceAccount access:
/// `karmada-controller-manager:<service account>`.
pub fn member_cluster_role(service_account: &str) -> String {
    format!("karmada-controller-manager:{service_account}")
}

/// Secret holding the impersonator token of a member: `<cluster>-impersonator`.
pub fn impersonator_secret(cluster: &str) -> String {
    format!("{cluster}-impersonator")
}

/// 32-bit FNV-1a.
fn fnv1a32(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Maps each byte to a character that cannot form words or be confused (the alphabet
/// Kubernetes uses for generated name suffixes), by byte value modulo its length.
fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names() {
        assert_eq!(binding_name("Deployment", "nginx"), "nginx-deployment");
        assert_eq!(
            binding_name("ClusterRole", "system:Controller"),
            "system.controller-clusterrole"
        );
    }

    #[test]
    fn work_names() {
        assert_eq!(
            work_name("Deployment", "nginx", "default"),
            "nginx-687f7fb96f"
        );
        let cluster_scoped = work_name("ClusterRole", "system:aggregate", "");
        assert!(
            cluster_scoped.starts_with("system.aggregate-"),
            "{cluster_scoped}"
        );
        // Only the lowercase name and the safe alphabet appear.
        let suffix = cluster_scoped.trim_start_matches("system.aggregate-");
        assert!(!suffix.is_empty());
        assert!(
            suffix
                .bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
        // The namespace takes part in the hash.
        assert_ne!(
            work_name("Deployment", "nginx", "default"),
            work_name("Deployment", "nginx", "other")
        );
        // Case does not matter.
        assert_eq!(
            work_name("deployment", "NGINX", "Default"),
            "nginx-687f7fb96f"
        );
    }

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a32(b""), 0x811c9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn namespaces() {
        assert_eq!(execution_namespace("member1"), "karmada-es-member1");
        assert_eq!(
            cluster_of_execution_namespace("karmada-es-member1"),
            Some("member1")
        );
        assert_eq!(cluster_of_execution_namespace("default"), None);
        assert!(is_reserved_namespace("karmada-system"));
        assert!(is_reserved_namespace("karmada-cluster"));
        assert!(is_reserved_namespace("karmada-es-member1"));
        assert!(!is_reserved_namespace("default"));
    }

    #[test]
    fn member_names() {
        assert_eq!(member_service_account("m1"), "karmada-m1");
        assert_eq!(
            member_cluster_role("karmada-m1"),
            "karmada-controller-manager:karmada-m1"
        );
        assert_eq!(impersonator_secret("m1"), "m1-impersonator");
        assert_ne!(
            binding_reference_key("a", "x"),
            binding_reference_key("b", "x")
        );
        assert_eq!(
            binding_reference_key("", "x"),
            binding_reference_key("", "x")
        );
    }
}
