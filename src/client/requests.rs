//! Counts every request the reconciler sends to a Kubernetes API server, by target, verb and
//! resource: `karmada_reconciler_api_requests_total{target="control-plane"|"member",
//! verb="GET"|...,resource="deployments"|"works/status"|...}` (resource empty for discovery and
//! health endpoints).
//! A tower layer on the kube clients, so nothing is missed (reflector lists and watches
//! included) and call sites stay unaware of it. Each request is also traced (target
//! `karmada_api`) with its path.

use std::sync::LazyLock;
use std::task::{Context, Poll};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub target: &'static str,
    pub verb: &'static str,
    /// The resource's plural, with `/subresource` if any; empty for other paths.
    pub resource: String,
}

/// Process-wide: clients are built in several places (control plane, each member).
pub static API_REQUESTS: LazyLock<Family<RequestLabels, Counter>> = LazyLock::new(Family::default);

/// The `target` label of the control plane's client.
pub const CONTROL_PLANE: &str = "control-plane";
/// The `target` label of member clients.
pub const MEMBER: &str = "member";

/// A kube client whose requests are counted under `target`.
pub fn counted_client(config: kube::Config, target: &'static str) -> kube::Result<kube::Client> {
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&Count { target })
        .build())
}

/// The API server's verb for a request: WATCH, LIST (a collection) or GET, else the method.
pub fn verb(method: &http::Method, uri: &http::Uri) -> &'static str {
    match *method {
        http::Method::GET => {
            let watch = uri
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
            if watch {
                "WATCH"
            } else if is_collection(uri.path()) {
                "LIST"
            } else {
                "GET"
            }
        }
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// `/api/v1/namespaces/x/pods`, `/apis/apps/v1/deployments`: a collection; `.../pods/p`, a
/// namespace `/api/v1/namespaces/x` and discovery paths are not.
fn is_collection(path: &str) -> bool {
    resource_segments(path).is_some_and(|rest| rest.len() == 1)
}

/// The path's segments after the group version and the namespace: `[plural, name, sub]`.
fn resource_segments(path: &str) -> Option<Vec<&str>> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") if segments.len() >= 3 => &segments[2..],
        Some(&"apis") if segments.len() >= 4 => &segments[3..],
        _ => return None,
    };
    let rest = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        &rest[2..]
    } else {
        rest
    };
    Some(rest.to_vec())
}

/// The resource a request is about: `deployments`, `deployments/status`; empty for discovery
/// and health endpoints.
pub fn resource(uri: &http::Uri) -> String {
    match resource_segments(uri.path()).as_deref() {
        Some([plural]) | Some([plural, _]) => plural.to_string(),
        Some([plural, _, sub, ..]) => format!("{plural}/{sub}"),
        _ => String::new(),
    }
}

#[derive(Clone)]
struct Count {
    target: &'static str,
}

impl<S> tower_layer::Layer<S> for Count {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            target: self.target,
        }
    }
}

#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    target: &'static str,
}

impl<S, B> tower_service::Service<http::Request<B>> for Counted<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let labels = RequestLabels {
            target: self.target,
            verb: verb(req.method(), req.uri()),
            resource: resource(req.uri()),
        };
        API_REQUESTS.get_or_create(&labels).inc();
        // One line per request with `RUST_LOG=karmada_api=trace`: the propagation bench
        // attributes requests to the objects they concern from these.
        tracing::trace!(target: "karmada_api", "{} {} {}", labels.target, labels.verb, req.uri().path());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(method: http::Method, uri: &str) -> &'static str {
        verb(&method, &uri.parse().unwrap())
    }

    #[test]
    fn verbs_follow_the_api_server() {
        use http::Method;
        assert_eq!(v(Method::GET, "/api/v1/namespaces/a/configmaps"), "LIST");
        assert_eq!(v(Method::GET, "/api/v1/namespaces/a/configmaps/c"), "GET");
        assert_eq!(v(Method::GET, "/api/v1/namespaces/a"), "GET");
        assert_eq!(v(Method::GET, "/api/v1/namespaces"), "LIST");
        assert_eq!(
            v(Method::GET, "/apis/apps/v1/deployments?labelSelector=x"),
            "LIST"
        );
        assert_eq!(
            v(
                Method::GET,
                "/apis/apps/v1/namespaces/a/deployments?watch=true&resourceVersion=1"
            ),
            "WATCH"
        );
        assert_eq!(v(Method::GET, "/apis/apps/v1"), "GET");
        assert_eq!(v(Method::GET, "/readyz"), "GET");
        assert_eq!(v(Method::GET, "/api"), "GET");
        assert_eq!(
            v(
                Method::PATCH,
                "/apis/apps/v1/namespaces/a/deployments/d/status"
            ),
            "PATCH"
        );
    }

    #[test]
    fn resources_are_named_by_their_plural() {
        let r = |uri: &str| resource(&uri.parse().unwrap());
        assert_eq!(r("/api/v1/namespaces/a/configmaps"), "configmaps");
        assert_eq!(r("/api/v1/namespaces/a/configmaps/c"), "configmaps");
        assert_eq!(r("/api/v1/namespaces/a"), "namespaces");
        assert_eq!(r("/api/v1/namespaces"), "namespaces");
        assert_eq!(
            r("/apis/work.karmada.io/v1alpha1/namespaces/karmada-es-m1/works/w/status"),
            "works/status"
        );
        assert_eq!(r("/apis/apps/v1/deployments?watch=true"), "deployments");
        assert_eq!(r("/apis/apps/v1"), "");
        assert_eq!(r("/api/v1"), "");
        assert_eq!(r("/readyz"), "");
    }

    #[tokio::test]
    async fn a_counted_client_counts() {
        // No server needed: the count happens before the connection is tried.
        let mut config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        config.connect_timeout = Some(std::time::Duration::from_millis(200));
        let client = counted_client(config, "test-target").unwrap();
        let labels = RequestLabels {
            target: "test-target",
            verb: "GET",
            resource: String::new(),
        };
        let before = API_REQUESTS.get_or_create(&labels).get();
        let _ = client.apiserver_version().await;
        assert_eq!(API_REQUESTS.get_or_create(&labels).get(), before + 1);
    }
}
