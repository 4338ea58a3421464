//! The flags that pick the one cluster a command runs in: `-s/--operation-scope` and
//! `-C/--cluster` (describe, logs, exec, attach, explain, api-resources, api-versions), or
//! `-C/--cluster` alone (create, delete, edit, label, annotate, patch), and `--dry-run`.

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::scope::{OperationScope, Place};

/// `-s/--operation-scope` and `-C/--cluster`, as Karmada's karmadactl has them.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Where to run: karmada (the control plane, the default) or members (the member cluster
    /// named with -C)
    #[arg(short = 's', long, value_enum, value_name = "SCOPE")]
    pub operation_scope: Option<OperationScope>,

    /// The member cluster to run in, reached with the credentials join stored (implies
    /// --operation-scope members)
    #[arg(short = 'C', long, value_name = "CLUSTER", add = ArgValueCompleter::new(crate::cluster_completer::member_names))]
    pub cluster: Option<String>,
}

impl ScopeArgs {
    pub fn place(&self) -> anyhow::Result<Place> {
        Ok(Place::from_flags(
            self.operation_scope,
            self.cluster.as_deref(),
        )?)
    }
}

/// `-C/--cluster` alone (create, delete, edit, label, annotate, patch): the control plane
/// unless a member is named.
#[derive(Debug, Clone, Args)]
pub struct ClusterArg {
    /// Run in this member cluster instead of the control plane, with the credentials join
    /// stored
    #[arg(short = 'C', long, value_name = "CLUSTER", add = ArgValueCompleter::new(crate::cluster_completer::member_names))]
    pub cluster: Option<String>,
}

impl ClusterArg {
    pub fn place(&self) -> anyhow::Result<Place> {
        Ok(Place::from_flags(None, self.cluster.as_deref())?)
    }
}

/// kubectl's `--dry-run[=none|client|server]` (bare `--dry-run` is `client`).
#[derive(Debug, Clone, Args)]
pub struct DryRunArg {
    /// none: write; client: print what would be written without sending it; server: the API
    /// server checks the write without persisting it
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client", default_value = "none")]
    pub dry_run: karmadactl::ops::objects::DryRun,
}

/// Prints a write command's outcome: `-o` or the lines on stdout, then one `error:` line per
/// object that failed; fails (exit 1) when any did.
pub fn finish(
    outcome: karmadactl::ops::create::Outcome,
    output: Option<karmadactl::ops::objects::ObjectOutput>,
) -> anyhow::Result<()> {
    let text = match output {
        Some(o) => karmadactl::ops::objects::render_objects(o, &outcome.written)?,
        None => outcome.lines.iter().map(|l| format!("{l}\n")).collect(),
    };
    karmadactl::output::print(&text);
    match outcome.errors.as_slice() {
        [] => Ok(()),
        [one] => Err(anyhow::anyhow!("{one}")),
        many => {
            for e in &many[..many.len() - 1] {
                eprintln!("error: {e}");
            }
            Err(anyhow::anyhow!("{}", many[many.len() - 1]))
        }
    }
}
