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
    what it had to leave behind.\n\n\
    Like upstream's, unjoin waits (--wait, default 60s) until the Cluster is gone, and asks \
    nothing when stdin is not a terminal; on a terminal it asks for confirmation unless \
    --yes.",
    after_help = "Examples:\n  \
    karmadactl unjoin member1\n  \
    karmadactl unjoin member1 --wait 2m\n  \
    karmadactl unjoin member1 --dry-run\n  \
    karmadactl unjoin member1 --cluster-kubeconfig=$HOME/.kube/member1.config\n  \
    karmadactl unjoin member3 --force"
)]
pub struct UnjoinArgs {
    /// Name of the member cluster
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// Do not ask for confirmation on a terminal (without one, unjoin never asks)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Finish even if the member is unreachable: remove the finalizers of the Cluster and its
    /// Works after a short wait, and report what is left in the member
    #[arg(long)]
    pub force: bool,

    /// How long to wait until the Cluster is gone (e.g. 60s, 2m); 0 returns once its deletion
    /// is requested (not with --force or --cluster-kubeconfig, which always wait)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        num_args = 0..=1,
        default_missing_value = "60s",
        value_parser = karmadactl::duration::parse
    )]
    pub wait: Duration,

    /// Seconds to wait (the older spelling of --wait)
    #[arg(long, hide = true, value_name = "SECONDS")]
    pub wait_timeout: Option<u64>,

    /// Show what unjoin would delete, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Namespace join kept the member's credentials in (control plane and member)
    #[arg(long, default_value = "karmada-cluster", value_name = "NAMESPACE")]
    pub cluster_namespace: String,

    /// Kubeconfig of the member cluster: also remove join's objects from the member
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub cluster_kubeconfig: Option<PathBuf>,

    /// Context in --cluster-kubeconfig (default: a context named NAME, else the current one)
    #[arg(long, value_name = "CONTEXT", requires = "cluster_kubeconfig")]
    pub cluster_context: Option<String>,
}

pub async fn run(args: UnjoinArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let wait = match args.wait_timeout {
        Some(secs) => Duration::from_secs(secs),
        None => args.wait,
    };
    crate::get::check_name(&args.name)?;
    if wait.is_zero() && (args.force || args.cluster_kubeconfig.is_some()) {
        usage!(
            "--wait 0 does not go with --force or --cluster-kubeconfig, which wait for the Cluster to go"
        );
    }
    let opts = UnjoinOptions {
        name: args.name.clone(),
        member_kubeconfig: args.cluster_kubeconfig,
        member_context: args.cluster_context,
        force: args.force,
        wait: !wait.is_zero(),
        wait_timeout: if wait.is_zero() {
            Duration::from_secs(60)
        } else {
            wait
        },
        cluster_namespace: Some(args.cluster_namespace.clone()),
        ..Default::default()
    };
    let cp = global.target().client().await?;
    let plan = unjoin::plan(&cp, &opts).await?;
    if args.dry_run {
        let mut out = String::new();
        match &plan.cluster {
            Some(_) => out.push_str(&format!(
                "would delete cluster {name} from the control plane (its Works, the objects they \
                 propagated to it, execution namespace karmada-es-{name} and its Secrets in {ns} follow)\n",
                name = args.name,
                ns = args.cluster_namespace
            )),
            None => out.push_str(&format!(
                "cluster {} is not in the control plane\n",
                args.name
            )),
        }
        if let Some(member) = &plan.member {
            let objects =
                unjoin::member_objects(member, &args.name, &args.cluster_namespace).await?;
            if objects.is_empty() {
                out.push_str("nothing of join's is left in the member\n");
            } else {
                out.push_str(&format!(
                    "would remove from member {}: {}\n",
                    args.name,
                    objects.join(", ")
                ));
            }
        }
        if let Some(e) = &plan.member_error {
            out.push_str(&format!("{e}\n"));
        }
        out.push_str("(dry run: nothing was changed)\n");
        output::print(&out);
        return Ok(());
    }
    if !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
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

/// Asks on the terminal (only called with one).
fn confirm(name: &str) -> anyhow::Result<()> {
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
