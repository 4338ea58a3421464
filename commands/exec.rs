//! `karmadactl exec (POD | TYPE/NAME) [-c CONTAINER] [-s members -C CLUSTER] -- COMMAND [args...]`

use clap::Args;
use karmadactl::ops::exec::{self, ExecOptions, Mode};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::ScopeArgs;

/// Execute a command in a container in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Execute a command in a container in the Karmada control plane or a member cluster \
    (-C, as --operation-scope members --cluster).\n\n\
    The session runs over the API server's WebSocket streams; the pod's node's kubelet runs the \
    command, so a node whose kubelet does not answer is reported with the pod and node names. \
    karmadactl exits with the command's exit code.",
    after_help = "Examples:\n  \
    karmadactl exec mypod -C member1 -- date\n  \
    karmadactl exec mypod -c ruby-container -C member1 -- date\n  \
    karmadactl exec mypod -c ruby-container -i -t -C member1 -- bash -il\n  \
    karmadactl exec deploy/mydeployment -C member1 -- date\n  \
    karmadactl exec mypod --operation-scope=members --cluster=member1 -- ls -t /usr"
)]
pub struct ExecArgs {
    /// POD, or TYPE/NAME (a workload: the first of its pods)
    #[arg(value_name = "POD")]
    pub pod: String,

    /// The command and its arguments (after --)
    #[arg(value_name = "COMMAND", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,

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

pub async fn run(args: ExecArgs, global: &GlobalArgs) -> anyhow::Result<()> {
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
    let code = exec::run(&session, &opts, &Mode::Exec(args.command), &mut |n| {
        eprintln!("{n}")
    })
    .await?;
    finish(code, opts.quiet)
}

/// A non-zero remote exit code becomes karmadactl's (kubectl's message first, unless -q).
pub fn finish(code: i32, quiet: bool) -> anyhow::Result<()> {
    if code == 0 {
        return Ok(());
    }
    let err = exec::ExitCode(code);
    if !quiet {
        eprintln!("{err}");
    }
    Err(err.into())
}
