//! `karmadactl unjoin NAME`

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::unjoin::{self, UnjoinOptions};
use karmadactl::output;

use crate::GlobalArgs;

/// Remove a member cluster from the control plane
#[derive(Debug, Args)]
#[command(
    long_about = "Remove a member cluster from the control plane.\n\n\
    Deletes the Cluster object; karmada-reconciler then deletes its Works (removing the \
    propagated objects from the member) and its execution namespace karmada-es-NAME. With \
    --cluster-kubeconfig, unjoin also removes what join created in the member (service \
    accounts, token secrets, cluster role and binding, namespace karmada-cluster; only objects \
    labelled karmada.io/system=true). Without it, when the member answers, unjoin waits for \
    the Cluster to go and then revokes the member token with the Cluster's own credentials \
    (deleting its service accounts), and names what only an admin can remove. With --force it \
    finishes even when the member is unreachable or the reconciler is not running, and says \
    what it had to leave behind.",
    after_help = "Examples:\n  \
    karmadactl unjoin member1\n  \
    karmadactl unjoin member1 --yes --wait\n  \
    karmadactl unjoin member1 --yes --cluster-kubeconfig=$HOME/.kube/member1.config\n  \
    karmadactl unjoin member3 --yes --force"
)]
pub struct UnjoinArgs {
    /// Name of the member cluster
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Finish even if the member is unreachable: remove the finalizers of the Cluster and its
    /// Works after a short wait, and report what is left in the member
    #[arg(long)]
    pub force: bool,

    /// Wait until the Cluster is gone (implied by --force and --cluster-kubeconfig)
    #[arg(long)]
    pub wait: bool,

    /// How long to wait for the Cluster to be removed
    #[arg(long, default_value = "60", value_name = "SECONDS")]
    pub wait_timeout: u64,

    /// Kubeconfig of the member cluster: also remove join's objects from the member
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub cluster_kubeconfig: Option<PathBuf>,

    /// Context in --cluster-kubeconfig (default: a context named NAME, else the current one)
    #[arg(long, value_name = "CONTEXT", requires = "cluster_kubeconfig")]
    pub cluster_context: Option<String>,
}

pub async fn run(args: UnjoinArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    karmadactl::api::names::validate_cluster_name(&args.name).map_err(anyhow::Error::msg)?;
    if args.wait_timeout == 0 {
        anyhow::bail!("--wait-timeout must be at least 1 second");
    }
    let opts = UnjoinOptions {
        name: args.name.clone(),
        member_kubeconfig: args.cluster_kubeconfig,
        member_context: args.cluster_context,
        force: args.force,
        wait: args.wait,
        wait_timeout: Duration::from_secs(args.wait_timeout),
        ..Default::default()
    };
    let cp = global.target().client().await?;
    let plan = unjoin::plan(&cp, &opts).await?;
    if !args.yes {
        confirm(&args.name)?;
    }
    let spinner = crate::progress::spinner(&format!("unjoining cluster {}", args.name));
    let result = unjoin::unjoin(&cp, plan, &opts, |m| spinner.set_message(m.to_string())).await;
    spinner.finish_and_clear();
    let report = result?;
    if !report.forced.is_empty() {
        eprintln!(
            "warning: removed the finalizers of {}",
            report.forced.join(", ")
        );
    }
    for line in &report.leftovers {
        eprintln!("warning: {line}");
    }
    if !report.member_removed.is_empty() {
        output::print(&format!(
            "removed from member {}: {}\n",
            report.cluster,
            report.member_removed.join(", ")
        ));
    }
    output::print(&format!(
        "cluster({}) is unjoined successfully\n",
        report.cluster
    ));
    Ok(())
}

/// Asks on the terminal; refuses without one (scripts pass --yes).
fn confirm(name: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        anyhow::bail!(
            "refusing to unjoin cluster {name} without confirmation: stdin is not a terminal; pass --yes"
        );
    }
    let yes = dialoguer::Confirm::new()
        .with_prompt(format!(
            "Unjoin cluster {name}? Its Works and the objects they propagated to it are removed"
        ))
        .default(false)
        .interact()
        .map_err(|e| anyhow::anyhow!("cannot ask for confirmation: {e}; pass --yes"))?;
    if !yes {
        anyhow::bail!("unjoin of cluster {name} cancelled");
    }
    Ok(())
}
