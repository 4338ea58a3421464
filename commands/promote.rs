//! `karmadactl promote KIND NAME -C member1`

use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use karmadactl::ops::promote::{self, PromoteOptions};
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::check_name;

/// Adopt an object that already runs in a member cluster into the control plane
#[derive(Debug, Args)]
#[command(
    long_about = "Adopt an object that already runs in a member cluster into the control plane.\n\n\
    Reads KIND NAME from the member cluster, creates it in the control plane as a resource \
    template (without status, uid, resourceVersion, managedFields and ownerReferences) and a \
    PropagationPolicy <name>-<kind> targeting that member with conflictResolution Overwrite. \
    The reconciler then takes the member object over in place: it stays the same object (same \
    uid), so a Deployment's pods are not restarted. Refused when the control plane already has \
    the template.",
    after_help = "Examples:\n  \
    karmadactl promote deployment nginx -n default -C member1\n  \
    karmadactl promote configmap settings -n shop -C member2"
)]
pub struct PromoteArgs {
    /// Resource type: deployment, deploy, configmap, a CRD kind or plural
    #[arg(value_name = "KIND")]
    pub kind: String,

    /// Name of the object in the member cluster
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// The member cluster that runs the object
    #[arg(short = 'C', long = "cluster", value_name = "CLUSTER", required = true, add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub cluster: String,

    /// How long to wait for the member cluster
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = karmadactl::duration::parse_positive)]
    pub member_timeout: Duration,
}

pub async fn run(args: PromoteArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    check_name(&args.cluster)?;
    if args.kind.is_empty() || args.kind.contains('/') {
        usage!(
            "invalid resource type {:?}; pass a type then a name, e.g. karmadactl promote deployment nginx -C member1",
            args.kind
        );
    }
    let opts = PromoteOptions {
        kind: args.kind,
        name: args.name,
        namespace: args.namespace,
        cluster: args.cluster,
        member_timeout: args.member_timeout,
    };
    let lines = promote::promote(&global.target(), &opts).await?;
    output::print(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    Ok(())
}
