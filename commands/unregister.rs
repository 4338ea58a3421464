//! `karmadactl unregister NAME`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::client::connect::Target;
use karmadactl::ops::unregister::{self, UnregisterOptions};
use karmadactl::output;

use crate::GlobalArgs;

/// Remove a pull-mode cluster: its Cluster, its agent's RBAC and Lease, and the agent
#[derive(Debug, Args)]
#[command(
    long_about = "Remove a pull-mode cluster registered with `karmadactl register`.\n\n\
    Deletes the Cluster from the control plane and waits (--wait) while its agent removes what \
    the cluster's Works propagated, then deletes the agent's RBAC and Lease in the control \
    plane. With --cluster-kubeconfig it also removes what register installed in the member \
    (the karmada-agent Deployment, the karmada-agent-config Secret, ServiceAccount, ClusterRole \
    and binding; namespace karmada-system stays). With --force it finishes when the agent or \
    the whole control plane is gone, and says what it had to leave.",
    after_help = "Examples:\n  \
    karmadactl unregister member2 --cluster-kubeconfig=member2.config\n  \
    karmadactl unregister member2 --dry-run --cluster-kubeconfig=member2.config\n  \
    karmadactl unregister member2 --force --cluster-kubeconfig=member2.config"
)]
pub struct UnregisterArgs {
    /// Name of the cluster
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// How long to wait for the Cluster to go (e.g. 60s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = karmadactl::duration::parse)]
    pub wait: Duration,

    /// Finish even without the agent (remove the finalizers after --wait) or without the
    /// control plane (clean up only the member)
    #[arg(long)]
    pub force: bool,

    /// Show what would be removed, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Kubeconfig of the member: also remove the agent from it
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub cluster_kubeconfig: Option<PathBuf>,

    /// Context in --cluster-kubeconfig (default: its current one)
    #[arg(long, value_name = "CONTEXT", requires = "cluster_kubeconfig")]
    pub cluster_context: Option<String>,
}

pub async fn run(args: UnregisterArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    crate::get::check_name(&args.name)?;
    if args.wait.is_zero() {
        usage!("--wait must be more than 0: the agent needs time to remove what was propagated");
    }
    let opts = UnregisterOptions {
        name: args.name.clone(),
        wait: args.wait,
        force: args.force,
        dry_run: args.dry_run,
    };
    // The control plane must answer (unless --force): ask it something cheap first.
    let cp = match global.target().client().await {
        Ok(c) => match c.apiserver_version().await {
            Ok(_) => Ok(c),
            Err(e) => Err(karmadactl::Error::Unreachable {
                target: global.target().describe(),
                message: e.to_string(),
            }),
        },
        Err(e) => Err(e),
    };
    let member = match &args.cluster_kubeconfig {
        Some(path) => Some(
            Target {
                kubeconfig: Some(path.clone()),
                context: args.cluster_context.clone(),
            }
            .client()
            .await?,
        ),
        None => None,
    };
    let spinner = crate::progress::spinner(&format!("unregistering cluster {}", args.name));
    let result = unregister::unregister(cp, member.as_ref(), &opts, |m| {
        spinner.set_message(m.to_string())
    })
    .await;
    spinner.finish_and_clear();
    let report = result?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = String::new();
    if !report.control_plane_removed.is_empty() {
        out.push_str(&format!(
            "{verb} from the control plane: {}\n",
            report.control_plane_removed.join(", ")
        ));
    }
    if !report.member_removed.is_empty() {
        out.push_str(&format!(
            "{verb} from member {}: {}\n",
            report.cluster,
            report.member_removed.join(", ")
        ));
    }
    if args.dry_run {
        out.push_str("(dry run: nothing was changed)\n");
    } else {
        out.push_str(&format!("cluster({}) is unregistered\n", report.cluster));
    }
    output::print(&out);
    Ok(())
}
