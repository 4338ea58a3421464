//! `karmadactl attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-s members -C CLUSTER]`

use clap::Args;
use karmadactl::ops::exec::{self, ExecOptions, Mode};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::ScopeArgs;

/// Attach to a running container in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Attach to a process that is already running inside an existing container, in the \
    Karmada control plane or a member cluster (-C, as --operation-scope members --cluster).\n\n\
    The session runs over the API server's WebSocket streams through the kubelet of the pod's \
    node; a node whose kubelet does not answer is reported with the pod and node names.",
    after_help = "Examples:\n  \
    karmadactl attach mypod -C member1\n  \
    karmadactl attach mypod -c ruby-container --operation-scope=members --cluster=member1\n  \
    karmadactl attach mypod -c ruby-container -i -t -C member1\n  \
    karmadactl attach rs/nginx -C member1"
)]
pub struct AttachArgs {
    /// POD, or TYPE/NAME (a workload: the first of its pods)
    #[arg(value_name = "POD")]
    pub pod: String,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Container (default: the pod's default container, else its first)
    #[arg(short, long, value_name = "CONTAINER")]
    pub container: Option<String>,

    /// Pass stdin to the container
    #[arg(short = 'i', long)]
    pub stdin: bool,

    /// Stdin is a TTY (the local terminal goes into raw mode)
    #[arg(short, long)]
    pub tty: bool,

    /// Only print output from the remote session
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(args: AttachArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.scope.place()?;
    let opts = ExecOptions {
        pod: args.pod,
        container: args.container,
        namespace: args.namespace,
        stdin: args.stdin,
        tty: args.tty,
        quiet: args.quiet,
    };
    let session = scope::connect(&global.target(), &place, Requests::Streaming).await?;
    let code = exec::run(&session, &opts, &Mode::Attach, &mut |n| eprintln!("{n}")).await?;
    crate::exec::finish(code, opts.quiet)
}
