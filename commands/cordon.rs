//! `karmadactl cordon NAME` and `karmadactl uncordon NAME`

use clap::Args;
use karmadactl::ops::cordon;
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::check_name;

/// Mark a cluster as unschedulable (taint cluster.karmada.io/unschedulable:NoSchedule)
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  karmadactl cordon member1\n  karmadactl cordon member1 --dry-run"
)]
pub struct CordonArgs {
    /// Name of the member cluster
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// Send the change as a server-side dry run: validated, nothing is changed
    #[arg(long)]
    pub dry_run: bool,
}

/// Mark a cluster as schedulable again
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  karmadactl uncordon member1\n  karmadactl uncordon member1 --dry-run"
)]
pub struct UncordonArgs {
    /// Name of the member cluster
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// Send the change as a server-side dry run: validated, nothing is changed
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run_cordon(args: CordonArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let line = cordon::cordon(&global.target(), &args.name, args.dry_run).await?;
    output::print(&format!("{line}\n"));
    Ok(())
}

pub async fn run_uncordon(args: UncordonArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let line = cordon::uncordon(&global.target(), &args.name, args.dry_run).await?;
    output::print(&format!("{line}\n"));
    Ok(())
}
