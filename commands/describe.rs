//! `karmadactl describe cluster NAME...`

use clap::Args;
use karmadactl::ops::describe;
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::{check_name, check_resource};

/// Show details of member clusters: conditions, taints, versions, capacity and events
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  karmadactl describe cluster member1")]
pub struct DescribeArgs {
    /// Resource type: cluster (also clusters)
    #[arg(value_name = "TYPE")]
    pub resource: String,

    /// Cluster names
    #[arg(value_name = "NAME", required = true, add = clap_complete::engine::ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub names: Vec<String>,
}

pub async fn run(args: DescribeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    check_resource(&args.resource, "describe")?;
    for name in &args.names {
        check_name(name)?;
    }
    let target = global.target();
    for (i, name) in args.names.iter().enumerate() {
        let page = describe::describe(&target, name).await?;
        if i > 0 {
            output::print("\n\n");
        }
        output::print(&page);
    }
    Ok(())
}
