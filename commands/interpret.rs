//! `karmadactl interpret -f FILE (--check | --operation OP ...)`

use std::path::PathBuf;

use clap::Args;
use karmadactl::engine::interpreter::Operation;
use karmadactl::ops::interpret::{self, Inputs};
use karmadactl::output;

/// Validate and test interpreter customizations before applying them to the control plane
#[derive(Debug, Args)]
#[command(
    long_about = "Validate and test ResourceInterpreterCustomizations before applying them to the \
    control plane. Works on local files only; nothing is read from or written to a cluster.\n\n\
    --check loads every script (syntax, and that it defines its operation's function, e.g. \
    GetReplicas for replicaResource) and prints PASS, UNSET or ERROR per operation; an error \
    names the customization, the script and the line. It exits 1 when any script fails.\n\n\
    --operation runs one operation of the customizations on the objects given, in the same \
    sandbox as the reconciler (no io, os or package; a memory cap and an instruction and time \
    budget), and prints its results. Operations: Retain, InterpretReplica, InterpretComponent, \
    ReviseReplica, InterpretStatus, AggregateStatus, InterpretHealth, InterpretDependency \
    (any case).",
    after_help = "Examples:\n  \
    karmadactl interpret -f customization.yaml --check\n  \
    karmadactl interpret -f customization.yaml --operation interpretReplica --observed-file observed.yaml\n  \
    karmadactl interpret -f customization.yaml --operation reviseReplica --observed-file observed.yaml --desired-replica 2\n  \
    karmadactl interpret -f customization.yaml --operation retain --desired-file desired.yaml --observed-file observed.yaml\n  \
    karmadactl interpret -f customization.yaml --operation aggregateStatus --observed-file observed.yaml --status-file status.yaml\n  \
    karmadactl interpret -f customization.yaml --operation interpretHealth --observed-file observed.yaml"
)]
pub struct InterpretArgs {
    /// Files or directories with the customizations (YAML or JSON; `-` for stdin)
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true, value_hint = clap::ValueHint::AnyPath)]
    pub filename: Vec<PathBuf>,

    /// Process the directories given with -f recursively
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// Validate the customizations' scripts
    #[arg(long, conflicts_with = "operation")]
    pub check: bool,

    /// The operation to run, e.g. InterpretReplica, AggregateStatus, InterpretHealth
    #[arg(long, value_name = "OPERATION")]
    pub operation: Option<String>,

    /// The object passed as desiredObj (Retain; or instead of --observed-file)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub desired_file: Option<PathBuf>,

    /// The object passed as observedObj (the object of most operations)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub observed_file: Option<PathBuf>,

    /// Aggregated status items (clusterName, status, applied, health) passed as statusItems to AggregateStatus; one per document or a list
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub status_file: Option<PathBuf>,

    /// The desiredReplica argument of ReviseReplica
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub desired_replica: i32,
}

impl InterpretArgs {
    fn validate(&self) -> anyhow::Result<Option<Operation>> {
        if !self.check && self.operation.is_none() {
            usage!("give --check, or --operation with the objects to run it on");
        }
        let operation = match &self.operation {
            None => None,
            Some(name) => match Operation::parse(name) {
                Some(op) => Some(op),
                None => usage!(
                    "operation {name:?} is not supported; use one of: {}",
                    Operation::ALL.map(Operation::name).join(", ")
                ),
            },
        };
        Ok(operation)
    }
}

pub async fn run(args: InterpretArgs) -> anyhow::Result<()> {
    let operation = args.validate()?;
    let list = interpret::load(&args.filename, args.recursive)?;
    match operation {
        None => {
            let (report, ok) = interpret::check(&list);
            output::print(&report);
            if !ok {
                anyhow::bail!("some scripts failed the check (see ERROR above)");
            }
        }
        Some(op) => {
            let inputs = Inputs {
                desired: args.desired_file,
                observed: args.observed_file,
                status: args.status_file,
                desired_replica: args.desired_replica.into(),
            };
            output::print(&interpret::execute(&list, op, &inputs)?);
        }
    }
    Ok(())
}
