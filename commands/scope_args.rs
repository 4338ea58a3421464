//! The flags that pick the one cluster a command runs in: `-s/--operation-scope` and
//! `-C/--cluster` (describe, logs, exec, attach, explain, api-resources, api-versions).

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
