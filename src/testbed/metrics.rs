//! Reading a kube-apiserver's own request counts from its `/metrics` text, for the tests and
//! benchmarks that measure what the reconciler costs the apiservers.

use std::collections::BTreeMap;

/// `apiserver_request_total` by `(resource, verb)`, the resource with `/subresource` when
/// there is one (`works/status`); `leases` left out (the apiservers' own identity leases).
pub fn requests_by_resource(metrics: &str) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines() {
        let Some((labels, value)) = line
            .strip_prefix("apiserver_request_total{")
            .and_then(|l| l.rsplit_once("} "))
        else {
            continue;
        };
        let label = |k: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        let resource = label("resource");
        if resource == "leases" {
            continue;
        }
        let subresource = label("subresource");
        let resource = if subresource.is_empty() {
            resource
        } else {
            format!("{resource}/{subresource}")
        };
        *out.entry((resource, label("verb"))).or_default() += value.parse::<f64>().unwrap_or(0.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_resource_and_verb_without_leases() {
        let text = r#"# HELP apiserver_request_total Counter
apiserver_request_total{code="201",component="apiserver",resource="works",scope="resource",subresource="",verb="APPLY",version="v1alpha1"} 3
apiserver_request_total{code="200",component="apiserver",resource="works",scope="resource",subresource="",verb="APPLY",version="v1alpha1"} 2
apiserver_request_total{code="200",component="apiserver",resource="works",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 4
apiserver_request_total{code="200",component="apiserver",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 99
apiserver_request_count 7
"#;
        let got = requests_by_resource(text);
        let key = |r: &str, v: &str| (r.to_string(), v.to_string());
        assert_eq!(got.len(), 2);
        assert_eq!(got[&key("works", "APPLY")], 5.0);
        assert_eq!(got[&key("works/status", "PATCH")], 4.0);
    }
}
