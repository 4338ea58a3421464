//! `karmadactl logs [-f] [-p] (POD | TYPE/NAME | -l SELECTOR) [-c CONTAINER] -C CLUSTER`

use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::logs::{self, LogsOptions};
use karmadactl::ops::scope::{self, Place, Requests};

use crate::GlobalArgs;

/// Print the logs for a container in a pod in a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Print the logs for a container in a pod in a member cluster. If the pod has only \
    one container, the container name is optional.\n\n\
    The pod is read in the member named with -C, with the credentials join stored; its log \
    comes from the kubelet of the pod's node (through the member's API server). A node whose \
    kubelet does not answer is reported with the pod and node names.",
    after_help = "Examples:\n  \
    karmadactl logs nginx -C member1\n  \
    karmadactl logs nginx --all-containers=true -C member1\n  \
    karmadactl logs -l app=nginx --all-containers=true -C member1\n  \
    karmadactl logs -p -c ruby web-1 -C member1\n  \
    karmadactl logs -f -c ruby web-1 -C member1\n  \
    karmadactl logs --tail=20 nginx -C member1\n  \
    karmadactl logs --since=1h deployment/nginx -C member1"
)]
pub struct LogsArgs {
    /// POD, or TYPE/NAME (a workload: the first of its pods)
    #[arg(value_name = "POD", required_unless_present = "selector")]
    pub pod: Option<String>,

    /// The member cluster the pod runs in
    #[arg(short = 'C', long, value_name = "CLUSTER", required = true, add = ArgValueCompleter::new(crate::cluster_completer::member_names))]
    pub cluster: String,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Container (default: the pod's default container, else its first)
    #[arg(short, long, value_name = "CONTAINER")]
    pub container: Option<String>,

    /// Every container of the pod(s)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set, conflicts_with = "container")]
    pub all_containers: bool,

    /// Stream the log until interrupted (Ctrl-C)
    #[arg(short, long)]
    pub follow: bool,

    /// The log of the previous, terminated instance of the container
    #[arg(short, long)]
    pub previous: bool,

    /// Lines of recent log to show; -1 for all (default: all, 10 with a selector)
    #[arg(long, value_name = "LINES", allow_negative_numbers = true)]
    pub tail: Option<i64>,

    /// Only lines newer than this duration, e.g. 5s, 2m, 3h
    #[arg(long, value_name = "DURATION", value_parser = karmadactl::duration::parse_positive, conflicts_with = "since_time")]
    pub since: Option<Duration>,

    /// Only lines after this time (RFC 3339, e.g. 2026-01-02T15:04:05Z)
    #[arg(long, value_name = "TIME")]
    pub since_time: Option<String>,

    /// Start each line with its timestamp
    #[arg(long)]
    pub timestamps: bool,

    /// Pods matching this label selector, e.g. -l app=nginx
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "pod")]
    pub selector: Option<String>,

    /// Start each line with [pod/NAME/CONTAINER]
    #[arg(long)]
    pub prefix: bool,

    /// How many logs -f may follow at once
    #[arg(long, value_name = "N", default_value_t = logs::MAX_LOG_REQUESTS)]
    pub max_log_requests: usize,

    /// Stop after this many bytes of each log
    #[arg(long, value_name = "BYTES")]
    pub limit_bytes: Option<i64>,
}

impl LogsArgs {
    fn options(&self) -> anyhow::Result<LogsOptions> {
        let since_time = self
            .since_time
            .as_deref()
            .map(|t| {
                t.parse::<k8s_openapi::jiff::Timestamp>().map_err(|e| {
                    anyhow::anyhow!(
                        "invalid --since-time {t:?}: {e}; use RFC 3339, e.g. 2026-01-02T15:04:05Z"
                    )
                })
            })
            .transpose()?;
        Ok(LogsOptions {
            pod: self.pod.clone(),
            container: self.container.clone(),
            namespace: self.namespace.clone(),
            selector: self.selector.clone(),
            all_containers: self.all_containers,
            follow: self.follow,
            previous: self.previous,
            tail: self.tail,
            since: self.since,
            since_time,
            timestamps: self.timestamps,
            limit_bytes: self.limit_bytes,
            prefix: self.prefix,
            max_log_requests: self.max_log_requests,
        })
    }
}

pub async fn run(args: LogsArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let opts = args.options()?;
    let place = Place::from_flags(None, Some(&args.cluster))?;
    let session = scope::connect(&global.target(), &place, Requests::Streaming).await?;
    let (sources, notes) = logs::sources(&session, &opts).await?;
    for note in notes {
        eprintln!("{note}");
    }
    let mut stdout = tokio::io::stdout();
    let result = tokio::select! {
        r = logs::stream(&session, &opts, &sources, &mut stdout) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    match result {
        Err(karmadactl::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => Ok(other?),
    }
}
