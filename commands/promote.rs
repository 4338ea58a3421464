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
    uid), so a Deployment's pods are not restarted. A cluster-scoped object (ClusterRole, CRD, \
    PersistentVolume, ...) gets a ClusterPropagationPolicy <name>-<kind> instead. Refused when \
    the control plane already has the template.",
    after_help = "Examples:\n  \
    karmadactl promote deployment nginx -n default -C member1\n  \
    karmadactl promote configmap settings -n shop -C member2\n  \
    karmadactl promote deployment web -n shop -C member1 -d --policy-name web\n  \
    karmadactl promote deployment web -n shop -C member1 --dry-run\n  \
    karmadactl promote clusterrole system:viewer -C member1"
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

    /// Create the PropagationPolicy that lets the reconciler take the object over
    /// (--auto-create-policy=false: only the template)
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub auto_create_policy: bool,

    /// Name of the PropagationPolicy [default: <name>-<kind>]
    #[arg(long, value_name = "NAME")]
    pub policy_name: Option<String>,

    /// Also promote what the workload's pod spec references (ConfigMaps, Secrets,
    /// ServiceAccount, PVCs), propagated along with it (propagateDeps)
    #[arg(short = 'd', long)]
    pub dependencies: bool,

    /// Check everything and say what would be created; create nothing
    #[arg(long)]
    pub dry_run: bool,
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
        auto_create_policy: args.auto_create_policy,
        policy_name: args.policy_name,
        dependencies: args.dependencies,
        dry_run: args.dry_run,
    };
    if let Some(name) = &opts.policy_name
        && !karmadactl::install::manifests::is_dns_subdomain(name)
    {
        usage!("--policy-name {name:?} is not a valid object name");
    }
    if !opts.auto_create_policy && opts.policy_name.is_some() {
        usage!("--policy-name names the policy --auto-create-policy=false does not create");
    }
    let lines = promote::promote(&global.target(), &opts).await?;
    output::print(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    Ok(())
}
