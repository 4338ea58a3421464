//! `karmadactl top node|pod [NAME | -l SELECTOR] [-C member1,member2]`

use std::time::Duration;

use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::top::{self, SortBy, TopOptions};
use karmadactl::output;

use crate::GlobalArgs;

/// Display resource (CPU/memory) usage of nodes or pods in member clusters
#[derive(Debug, Args)]
#[command(
    long_about = "Display resource (CPU/memory) usage of nodes or pods in member clusters.\n\n\
    Each member is asked for its metrics API (metrics.k8s.io, served by metrics-server) with \
    the credentials join stored, in parallel; rows carry a CLUSTER column. A member without \
    the metrics API, or that does not answer, is reported on stderr with the fix, and the \
    command exits non-zero after printing what the others reported."
)]
pub struct TopArgs {
    #[command(subcommand)]
    pub command: TopCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    Node(TopNodeArgs),
    Pod(TopPodArgs),
}

/// Flags of both subcommands.
#[derive(Debug, Args)]
pub struct Common {
    /// Only these member clusters (comma-separated; default: all)
    #[arg(short = 'C', long, value_delimiter = ',', value_name = "CLUSTER", add = ArgValueCompleter::new(crate::cluster_completer::member_names))]
    pub clusters: Vec<String>,

    /// Label selector, e.g. -l node-role=worker
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "name")]
    pub selector: Option<String>,

    /// Sort by cpu or memory use (highest first)
    #[arg(long, value_enum, value_name = "FIELD")]
    pub sort_by: Option<SortBy>,

    /// Print without the header row
    #[arg(long)]
    pub no_headers: bool,

    /// How long to wait for each member cluster
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = karmadactl::duration::parse_positive)]
    pub member_timeout: Duration,
}

/// Display resource (CPU/memory) usage of nodes
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    karmadactl top node\n  \
    karmadactl top node --clusters=member1,member2\n  \
    karmadactl top node NODE_NAME -C member1\n  \
    karmadactl top node --sort-by=cpu")]
pub struct TopNodeArgs {
    /// A node name (default: every node)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    #[command(flatten)]
    pub common: Common,

    /// Percentages of the nodes' capacity instead of their allocatable resources
    #[arg(long)]
    pub show_capacity: bool,
}

/// Display resource (CPU/memory) usage of pods
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    karmadactl top pod\n  \
    karmadactl top pod -C member1,member2\n  \
    karmadactl top pod -n NAMESPACE\n  \
    karmadactl top pod POD_NAME --containers -C member1\n  \
    karmadactl top pod -l name=myLabel -A --sum")]
pub struct TopPodArgs {
    /// A pod name (default: every pod of the namespace)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    #[command(flatten)]
    pub common: Common,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(
        short,
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// Pods of every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Field selector, e.g. --field-selector metadata.name=web
    #[arg(long, value_name = "SELECTOR")]
    pub field_selector: Option<String>,

    /// One row per container
    #[arg(long)]
    pub containers: bool,

    /// Print the sum of the usage below the rows
    #[arg(long)]
    pub sum: bool,
}

fn options(name: Option<String>, c: &Common) -> anyhow::Result<TopOptions> {
    for cluster in &c.clusters {
        crate::get::check_name(cluster)?;
    }
    Ok(TopOptions {
        clusters: c.clusters.clone(),
        name,
        selector: c.selector.clone(),
        sort_by: c.sort_by,
        no_headers: c.no_headers,
        timeout: c.member_timeout,
        ..Default::default()
    })
}

fn finish(
    stdout: String,
    notes: Vec<String>,
    kind: &str,
    name: Option<&str>,
) -> anyhow::Result<()> {
    output::print(&stdout);
    if stdout.is_empty() && notes.is_empty() {
        if let Some(name) = name {
            anyhow::bail!(
                "{kind} {name:?} not found in the member clusters asked; list them with `karmadactl get {kind} -s members`"
            );
        }
        eprintln!("No {kind} found.");
    }
    for note in &notes {
        eprintln!("{note}");
    }
    if !notes.is_empty() {
        anyhow::bail!(
            "{} member cluster(s) could not report metrics (see above)",
            notes.len()
        );
    }
    Ok(())
}

pub async fn run(args: TopArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let target = global.target();
    match args.command {
        TopCommand::Node(a) => {
            let opts = TopOptions {
                show_capacity: a.show_capacity,
                ..options(a.name, &a.common)?
            };
            let found = top::nodes(&target, &opts).await?;
            finish(
                found.render(&opts),
                found.notes(),
                "nodes",
                opts.name.as_deref(),
            )
        }
        TopCommand::Pod(a) => {
            let opts = TopOptions {
                namespace: a.namespace,
                all_namespaces: a.all_namespaces,
                field_selector: a.field_selector,
                containers: a.containers,
                sum: a.sum,
                ..options(a.name, &a.common)?
            };
            let found = top::pods(&target, &opts).await?;
            finish(
                found.render(&opts),
                found.notes(),
                "pods",
                opts.name.as_deref(),
            )
        }
    }
}
