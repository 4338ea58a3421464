//! `karmadactl logs (POD | TYPE/NAME | -l SELECTOR) -C CLUSTER`: a container's log from a member
//! cluster, like `kubectl logs` (`-f`, `-c`, `--all-containers`, `--tail`, `--since`,
//! `--since-time`, `--previous`, `--timestamps`, `--prefix`, `--limit-bytes`).

use std::time::Duration;

use futures::{AsyncBufReadExt as _, StreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams, LogParams};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::ops::pods;
use crate::ops::scope::Session;
use crate::{Error, Result};

/// kubectl's default number of concurrent streams with `-f`.
pub const MAX_LOG_REQUESTS: usize = 5;
/// kubectl's `--tail` when a selector is given and `--tail` is not.
pub const SELECTOR_TAIL: i64 = 10;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// `POD` or `TYPE/NAME`; None with a selector.
    pub pod: Option<String>,
    pub container: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<String>,
    pub all_containers: bool,
    pub follow: bool,
    pub previous: bool,
    /// `--tail`; negative or None: everything (10 with a selector, as kubectl).
    pub tail: Option<i64>,
    pub since: Option<Duration>,
    pub since_time: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<i64>,
    /// `--prefix`: each line starts with `[pod/NAME/CONTAINER]`.
    pub prefix: bool,
    pub max_log_requests: usize,
}

/// One log to read.
#[derive(Debug, Clone)]
pub struct Source {
    pub pod: Pod,
    pub container: String,
}

impl Source {
    fn prefix(&self) -> String {
        format!("[pod/{}/{}] ", self.pod.name_any(), self.container)
    }
}

/// The pods and containers `opts` names, and notes for stderr (kubectl's "Defaulted
/// container", "Found 3 pods").
pub async fn sources(session: &Session, opts: &LogsOptions) -> Result<(Vec<Source>, Vec<String>)> {
    let namespace = session.namespace(opts.namespace.as_deref());
    let mut notes = Vec::new();
    let pods: Vec<Pod> = match (&opts.pod, &opts.selector) {
        (Some(arg), None) => {
            let (pod, note) = pods::find(session, &namespace, arg).await?;
            notes.extend(note);
            vec![pod]
        }
        (None, Some(sel)) => {
            let api: Api<Pod> = Api::namespaced(session.client.clone(), &namespace);
            let mut list = api
                .list(&ListParams::default().labels(sel))
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) if s.code == 400 => {
                        Error::Invalid(format!("invalid label selector {sel:?}: {}", s.message))
                    }
                    e => session.error("pods", e),
                })?
                .items;
            list.sort_by_key(|p| p.name_any());
            if list.is_empty() {
                return Err(Error::NotFound(format!(
                    "no pods match {sel:?} in namespace {namespace}{}",
                    session.place.suffix()
                )));
            }
            list
        }
        _ => {
            return Err(Error::Invalid(
                "pass either a POD (or TYPE/NAME) or a selector (-l), not both".into(),
            ));
        }
    };
    let mut out = Vec::new();
    for pod in pods {
        pods::require_node(session, &pod, "logs")?;
        if opts.all_containers {
            let spec = pod.spec.clone().unwrap_or_default();
            for c in spec
                .init_containers
                .iter()
                .flatten()
                .chain(spec.containers.iter())
            {
                out.push(Source {
                    pod: pod.clone(),
                    container: c.name.clone(),
                });
            }
        } else {
            let (container, note) = pods::container(session, &pod, opts.container.as_deref())?;
            if opts.pod.is_some() {
                notes.extend(note);
            }
            out.push(Source { pod, container });
        }
    }
    Ok((out, notes))
}

fn params(opts: &LogsOptions, container: &str) -> LogParams {
    let tail = match opts.tail {
        Some(t) if t >= 0 => Some(t),
        Some(_) => None,
        None if opts.selector.is_some() => Some(SELECTOR_TAIL),
        None => None,
    };
    LogParams {
        container: Some(container.to_string()),
        follow: opts.follow,
        limit_bytes: opts.limit_bytes,
        pretty: false,
        previous: opts.previous,
        since_seconds: opts
            .since
            .map(|d| d.as_secs() as i64 + i64::from(d.subsec_nanos() > 0))
            .map(|s| s.max(1)),
        since_time: opts.since_time,
        tail_lines: tail,
        timestamps: opts.timestamps,
    }
}

/// Copies every source's log to `out`: one after the other, or (with `-f` and several
/// sources) interleaved by line. A pod whose kubelet does not answer fails with a line naming
/// the pod and its node.
pub async fn stream<W: AsyncWrite + Unpin + Send>(
    session: &Session,
    opts: &LogsOptions,
    sources: &[Source],
    out: &mut W,
) -> Result<()> {
    let max = if opts.max_log_requests == 0 {
        MAX_LOG_REQUESTS
    } else {
        opts.max_log_requests
    };
    if opts.follow && sources.len() > max {
        return Err(Error::Invalid(format!(
            "you are attempting to follow {} log streams, but maximum allowed concurrency is \
             {max}; use --max-log-requests to increase the limit",
            sources.len()
        )));
    }
    let io = |e: std::io::Error| Error::io("writing logs", e);
    if !opts.follow || sources.len() == 1 {
        for s in sources {
            let api: Api<Pod> = Api::namespaced(
                session.client.clone(),
                &s.pod.namespace().unwrap_or_default(),
            );
            let reader = api
                .log_stream(&s.pod.name_any(), &params(opts, &s.container))
                .await
                .map_err(|e| pods::kubelet_error(session, &s.pod, e))?;
            if opts.prefix {
                let prefix = s.prefix();
                let mut lines = reader.lines();
                while let Some(line) = lines.next().await {
                    let line = line.map_err(|e| Error::io("reading logs", e))?;
                    out.write_all(format!("{prefix}{line}\n").as_bytes())
                        .await
                        .map_err(io)?;
                    out.flush().await.map_err(io)?;
                }
            } else {
                let mut reader = reader;
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = futures::AsyncReadExt::read(&mut reader, &mut buf)
                        .await
                        .map_err(|e| Error::io("reading logs", e))?;
                    if n == 0 {
                        break;
                    }
                    out.write_all(&buf[..n]).await.map_err(io)?;
                    out.flush().await.map_err(io)?;
                }
            }
        }
        return Ok(());
    }
    // Several streams followed at once: merge by line.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<String>>(256);
    for s in sources {
        let tx = tx.clone();
        let session = session.clone();
        let s = s.clone();
        let lp = params(opts, &s.container);
        let prefix = if opts.prefix {
            s.prefix()
        } else {
            String::new()
        };
        tokio::spawn(async move {
            let api: Api<Pod> = Api::namespaced(
                session.client.clone(),
                &s.pod.namespace().unwrap_or_default(),
            );
            let reader = match api.log_stream(&s.pod.name_any(), &lp).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(pods::kubelet_error(&session, &s.pod, e))).await;
                    return;
                }
            };
            let mut lines = reader.lines();
            while let Some(line) = lines.next().await {
                let item = line
                    .map(|l| format!("{prefix}{l}\n"))
                    .map_err(|e| Error::io("reading logs", e));
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    drop(tx);
    while let Some(item) = rx.recv().await {
        out.write_all(item?.as_bytes()).await.map_err(io)?;
        out.flush().await.map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_kubectl_defaults() {
        let opts = LogsOptions {
            since: Some(Duration::from_millis(1500)),
            ..Default::default()
        };
        let p = params(&opts, "web");
        assert_eq!(p.container.as_deref(), Some("web"));
        assert_eq!(p.since_seconds, Some(2));
        assert_eq!(p.tail_lines, None);
        let with_selector = LogsOptions {
            selector: Some("app=web".into()),
            ..Default::default()
        };
        assert_eq!(params(&with_selector, "c").tail_lines, Some(SELECTOR_TAIL));
        let all = LogsOptions {
            selector: Some("app=web".into()),
            tail: Some(-1),
            ..Default::default()
        };
        assert_eq!(params(&all, "c").tail_lines, None);
    }
}
