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
        let label = |k: &str| label(labels, k).unwrap_or_default();
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

/// One label's value in a sample's label text (`a="x",b="y"`).
fn label(labels: &str, name: &str) -> Option<String> {
    labels
        .split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
        .map(|v| v.trim_end_matches('"').to_string())
}

/// Quantiles of the histogram `name` (its `_bucket` samples), one per value of label `by`:
/// for each `q` the upper bound of the first bucket holding that share of the samples, and
/// the sample count. Histograms without samples are left out.
pub fn histogram_quantiles(
    metrics: &str,
    name: &str,
    by: &str,
    qs: &[f64],
) -> BTreeMap<String, (Vec<f64>, f64)> {
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let prefix = format!("{name}_bucket{{");
    for line in metrics.lines() {
        let Some((labels, count)) = line.strip_prefix(&prefix).and_then(|l| l.rsplit_once("} "))
        else {
            continue;
        };
        let (Some(key), Some(le)) = (label(labels, by), label(labels, "le")) else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::NAN)
        };
        buckets
            .entry(key)
            .or_default()
            .push((le, count.parse().unwrap_or(0.0)));
    }
    buckets
        .into_iter()
        .filter_map(|(key, mut b)| {
            b.sort_by(|x, y| x.0.total_cmp(&y.0));
            let total = b.last()?.1;
            (total > 0.0).then(|| {
                let at = |q: f64| {
                    b.iter()
                        .find(|(_, c)| *c >= q * total)
                        .map_or(f64::NAN, |(le, _)| *le)
                };
                (key, (qs.iter().map(|q| at(*q)).collect(), total))
            })
        })
        .collect()
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

    #[test]
    fn quantiles_are_bucket_bounds_per_label() {
        let text = r#"# TYPE lag histogram
lag_sum{cache="Work"} 1.5
lag_count{cache="Work"} 10
lag_bucket{cache="Work",le="0.001"} 0
lag_bucket{cache="Work",le="0.002"} 5
lag_bucket{cache="Work",le="0.004"} 9
lag_bucket{cache="Work",le="+Inf"} 10
lag_bucket{cache="Idle",le="0.001"} 0
lag_bucket{cache="Idle",le="+Inf"} 0
"#;
        let got = histogram_quantiles(text, "lag", "cache", &[0.5, 0.9, 0.99]);
        assert_eq!(got.len(), 1, "{got:?}");
        let (q, total) = &got["Work"];
        assert_eq!(*total, 10.0);
        assert_eq!(q[..2], [0.002, 0.004]);
        assert!(q[2].is_infinite());
    }
}
