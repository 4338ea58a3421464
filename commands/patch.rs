//! `karmadactl patch (TYPE NAME | TYPE/NAME | -f FILE) -p PATCH [--type strategic|merge|json] [-C CLUSTER]`

use std::path::PathBuf;

use clap::Args;
use karmadactl::ops::objects::{self, ObjectOutput, Selection};
use karmadactl::ops::patch::{self, PatchOptions, PatchType};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::{ClusterArg, DryRunArg, finish};

/// Update fields of a resource in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Update fields of a resource using a strategic merge patch, a JSON merge patch, \
    or a JSON patch, in the Karmada control plane or, with -C, a member cluster. JSON and YAML \
    formats are accepted. Custom resources (PropagationPolicies, Clusters...) take --type merge \
    or --type json.",
    after_help = "Examples:\n  \
    karmadactl patch deployment nginx -p '{\"spec\":{\"replicas\":3}}'\n  \
    karmadactl patch -f deployment.yaml -p '{\"spec\":{\"replicas\":3}}'\n  \
    karmadactl patch pp nginx-pp --type merge -p '{\"spec\":{\"placement\":{\"clusterAffinity\":{\"clusterNames\":[\"member1\"]}}}}'\n  \
    karmadactl patch deployment nginx --type json -p '[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]'\n  \
    karmadactl patch deployment nginx --subresource scale --type merge -p '{\"spec\":{\"replicas\":2}}' -C member1"
)]
pub struct PatchArgs {
    /// TYPE NAME..., or TYPE/NAME...
    #[arg(value_name = "TYPE")]
    pub args: Vec<String>,

    /// The patch (JSON or YAML)
    #[arg(
        short,
        long,
        value_name = "PATCH",
        required_unless_present = "patch_file",
        conflicts_with = "patch_file"
    )]
    pub patch: Option<String>,

    /// A file holding the patch
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub patch_file: Option<PathBuf>,

    /// strategic (default), merge or json
    #[arg(
        long = "type",
        value_enum,
        value_name = "TYPE",
        default_value = "strategic"
    )]
    pub patch_type: PatchType,

    /// Files naming the objects to patch; - for stdin
    #[arg(short, long = "filename", value_name = "FILE", value_hint = clap::ValueHint::AnyPath, conflicts_with = "args")]
    pub filename: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArg,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Patch this subresource instead (status, scale)
    #[arg(long, value_name = "SUBRESOURCE")]
    pub subresource: Option<String>,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    /// Print the patched objects (name, json, yaml) instead of a line each
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<ObjectOutput>,
}

pub async fn run(args: PatchArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let types = objects::parse_args(&args.args)?;
    if args.filename.is_empty() && !types.iter().any(|t| !t.names.is_empty()) {
        anyhow::bail!("name the object to patch: TYPE NAME, TYPE/NAME or -f FILE");
    }
    let text = match (&args.patch, &args.patch_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading --patch-file {}: {e}", f.display()))?,
        (None, None) => unreachable!("clap requires -p or --patch-file"),
    };
    let place = args.cluster.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let opts = PatchOptions {
        types,
        files: args.filename,
        selection: Selection {
            namespace: args.namespace,
            ..Default::default()
        },
        patch: text,
        patch_type: args.patch_type,
        subresource: args.subresource,
        dry_run: args.dry_run.dry_run,
    };
    finish(patch::patch(&session, &opts).await?, args.output)
}
