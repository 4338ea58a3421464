//! `karmadactl`: the CLI. This crate only parses arguments into typed structs, checks them
//! without I/O and calls the library (`karmadactl::ops`). One module per subcommand.

/// Returns a [`Usage`] error: the command line cannot be used as given (exit status 2).
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::Usage(format!($($arg)*)).into())
    };
}

mod api_resources;
mod apply;
mod attach;
mod cluster_completer;
mod completion;
mod cordon;
mod create;
mod delete;
mod describe;
mod docs;
mod edit;
mod exec;
mod explain;
mod get;
mod help;
mod init;
mod init_config;
mod interpret;
mod join;
mod label;
mod logs;
mod man;
mod patch;
mod progress;
mod promote;
mod register;
mod scope_args;
mod taint;
mod token;
mod top;
mod unjoin;
mod unregister;
mod version;
mod why;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use karmadactl::client::connect::Target;

/// karmadactl controls a Karmada-compatible multi-cluster control plane.
#[derive(Debug, Parser)]
#[command(
    name = "karmadactl",
    bin_name = "karmadactl",
    disable_version_flag = true
)]
#[command(about = "karmadactl controls a Karmada-compatible multi-cluster control plane.")]
#[command(
    long_about = "karmadactl controls a Karmada-compatible multi-cluster control plane.\n\n\
    Register member clusters, steer scheduling, and inspect what was propagated where.\n\
    Apply resource templates and policies with kubectl against the control plane, or with\n\
    `karmadactl apply -C <clusters>`; `karmadactl why` explains where something went and why."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig of the Karmada control plane (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub kubeconfig: Option<PathBuf>,

    /// Context of the Karmada control plane in the kubeconfig (default: its current context)
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub karmada_context: Option<String>,

    /// More log output on stderr: -v info, -vv debug, -vvv trace; errors show their causes
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    pub fn target(&self) -> Target {
        Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.karmada_context.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Cordon(cordon::CordonArgs),
    Uncordon(cordon::UncordonArgs),
    Taint(taint::TaintArgs),
    Get(get::GetArgs),
    Describe(describe::DescribeArgs),
    Why(why::WhyArgs),
    Interpret(interpret::InterpretArgs),
    Apply(apply::ApplyArgs),
    Promote(promote::PromoteArgs),
    Logs(logs::LogsArgs),
    Exec(exec::ExecArgs),
    Attach(attach::AttachArgs),
    Top(top::TopArgs),
    Create(create::CreateArgs),
    Delete(delete::DeleteArgs),
    Edit(edit::EditArgs),
    Label(label::LabelArgs),
    Annotate(label::AnnotateArgs),
    Patch(patch::PatchArgs),
    Explain(explain::ExplainArgs),
    ApiResources(api_resources::ApiResourcesArgs),
    ApiVersions(api_resources::ApiVersionsArgs),
    Init(Box<init::InitArgs>),
    Deinit(init::DeinitArgs),
    Join(join::JoinArgs),
    Unjoin(unjoin::UnjoinArgs),
    Token(token::TokenArgs),
    Register(register::RegisterArgs),
    Unregister(unregister::UnregisterArgs),
    Completion(completion::CompletionArgs),
    Version(version::VersionArgs),
    #[command(name = "generate-docs", hide = true)]
    GenerateDocs(docs::DocsArgs),
    #[command(name = "generate-man", hide = true)]
    GenerateMan(man::ManArgs),
}

/// An error in the command line itself, found before anything was attempted: flags that do not
/// go together or a value that cannot be right. Exit status 2, like clap's own usage errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Exit statuses (docs/commands.md and the man page list them): 0 done, 1 failed, 2 usage.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// The exit statuses, for the generated reference and man page: (status, meaning).
pub const EXIT_STATUSES: &[(u8, &str)] = &[
    (
        0,
        "Done. Also for --help, and for `get` when members could not be asked (they are \
         reported on stderr) or a name is missing with --ignore-not-found.",
    ),
    (
        1,
        "Failed: the control plane or a cluster refused or could not be reached, something \
         asked for does not exist, a wait timed out, or a confirmation was declined. One line \
         on stderr says what (-v adds its causes).",
    ),
    (
        2,
        "Usage: the command line cannot be used as given (unknown command or flag, a missing \
         or malformed value, flags that do not go together, a confirmation needed where there \
         is no terminal to ask on). Nothing was attempted.",
    ),
];

/// The clap tree with the grouped help applied; used for parsing, completion and docs.
pub fn command() -> clap::Command {
    help::grouped(Cli::command(), "karmadactl")
}

/// How the user invoked us: `kubectl karmada` when run as the kubectl plugin (an executable
/// named `kubectl-karmada`, e.g. a symlink to karmadactl), else `karmadactl`.
pub fn program_name() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let file = std::path::Path::new(&argv0)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file == "kubectl-karmada" || file.starts_with("kubectl-karmada.") {
        "kubectl karmada"
    } else {
        "karmadactl"
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("KARMADACTL_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "karmadactl={level},{}",
                if verbose >= 3 { "kube=debug" } else { "warn" }
            ))
        });
    // kube-client logs every failed request at ERROR before returning the error, which the CLI
    // then reports itself as one line: keep that duplicate for -v and KARMADACTL_LOG.
    let filter = if verbose == 0 && std::env::var_os("KARMADACTL_LOG").is_none() {
        filter.add_directive("kube_client=off".parse().expect("a valid directive"))
    } else {
        filter
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(karmadactl::output::color_enabled())
        .with_target(verbose >= 2)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Cordon(args) => cordon::run_cordon(args, &global).await,
        Command::Uncordon(args) => cordon::run_uncordon(args, &global).await,
        Command::Taint(args) => taint::run(args, &global).await,
        Command::Get(args) => get::run(args, &global).await,
        Command::Describe(args) => describe::run(args, &global).await,
        Command::Why(args) => why::run(args, &global).await,
        Command::Interpret(args) => interpret::run(args).await,
        Command::Apply(args) => apply::run(args, &global).await,
        Command::Promote(args) => promote::run(args, &global).await,
        Command::Logs(args) => logs::run(args, &global).await,
        Command::Exec(args) => exec::run(args, &global).await,
        Command::Attach(args) => attach::run(args, &global).await,
        Command::Top(args) => top::run(args, &global).await,
        Command::Create(args) => create::run(args, &global).await,
        Command::Delete(args) => delete::run(args, &global).await,
        Command::Edit(args) => edit::run(args, &global).await,
        Command::Label(args) => label::run_label(args, &global).await,
        Command::Annotate(args) => label::run_annotate(args, &global).await,
        Command::Patch(args) => patch::run(args, &global).await,
        Command::Explain(args) => explain::run(args, &global).await,
        Command::ApiResources(args) => api_resources::run_resources(args, &global).await,
        Command::ApiVersions(args) => api_resources::run_versions(args, &global).await,
        Command::Completion(args) => completion::run(args),
        Command::Init(args) => init::run_init(*args, &global).await,
        Command::Deinit(args) => init::run_deinit(args, &global).await,
        Command::Join(args) => join::run(args, &global).await,
        Command::Unjoin(args) => unjoin::run(args, &global).await,
        Command::Token(args) => token::run(args, &global).await,
        Command::Register(args) => register::run(args, &global).await,
        Command::Unregister(args) => unregister::run(args, &global).await,
        Command::Version(args) => version::run(args, &global).await,
        Command::GenerateDocs(args) => docs::run(args),
        Command::GenerateMan(args) => man::run(args),
    }
}

fn main() -> ExitCode {
    // Shell completion requests (COMPLETE=bash karmadactl -- ...) are answered before parsing.
    completion::handle_env();

    let matches = help::grouped(Cli::command(), program_name()).get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let verbose = cli.global.verbose;
    init_tracing(verbose);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // exec/attach: the remote command's exit code, already reported.
            if let Some(code) = err.downcast_ref::<karmadactl::ops::exec::ExitCode>() {
                return ExitCode::from(u8::try_from(code.0).unwrap_or(1));
            }
            report_error(&err, verbose);
            if err.downcast_ref::<Usage>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// One clear line; with -v the chain of causes below it.
fn report_error(err: &anyhow::Error, verbose: u8) {
    eprintln!("error: {err}");
    // A 404 for the whole API path means the context is a plain cluster, not the control plane.
    if err
        .chain()
        .any(|c| c.to_string().contains("404 page not found"))
    {
        eprintln!(
            "hint: that context does not serve the Karmada API (cluster.karmada.io); \
             point --karmada-context or --kubeconfig at the Karmada control plane, e.g. --karmada-context karmada-apiserver"
        );
    }
    if verbose > 0 {
        for cause in err.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
    }
}
