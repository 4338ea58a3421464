//! `karmadactl version`

use clap::Args;
use karmadactl::ops::version;
use karmadactl::output::{self, DocFormat};

use crate::GlobalArgs;

/// Print the client version and, when reachable, the control plane's
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  karmadactl version\n  karmadactl version --client -o json")]
pub struct VersionArgs {
    /// Only the client version; do not contact the control plane
    #[arg(long)]
    pub client: bool,

    /// Output format
    #[arg(short, long, value_enum)]
    pub output: Option<DocFormat>,
}

pub async fn run(args: VersionArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let report = version::report(&global.target(), !args.client).await;
    let text = match args.output {
        Some(format) => output::document(&report, format)?,
        None => report.human(),
    };
    output::print(&text);
    Ok(())
}
