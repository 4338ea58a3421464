//! `karmadactl create -f FILE [-C CLUSTER]`

use std::path::PathBuf;

use clap::Args;
use karmadactl::ops::create::{self, CreateOptions};
use karmadactl::ops::objects::ObjectOutput;
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::{ClusterArg, DryRunArg, finish};

/// Create resources from files or stdin in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Create resources from files or stdin, in the Karmada control plane (resource \
    templates and policies) or, with -C, in a member cluster. JSON and YAML are accepted, several \
    documents per file and kind: List. An object that already exists is an error; the others are \
    still created.",
    after_help = "Examples:\n  \
    karmadactl create -f propagationpolicy.yaml\n  \
    cat deployment.json | karmadactl create -f -\n  \
    karmadactl create -f ./manifests/ -n web\n  \
    karmadactl create -f configmap.yaml -C member1 --dry-run=server -o yaml"
)]
pub struct CreateArgs {
    /// Files or directories with the objects (YAML or JSON); - for stdin
    #[arg(short, long = "filename", value_name = "FILE", required = true, value_hint = clap::ValueHint::AnyPath)]
    pub filename: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArg,

    /// Namespace for objects that do not name one (default: the kubeconfig context's namespace)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    /// Print the created objects (name, json, yaml) instead of a line each
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<ObjectOutput>,
}

pub async fn run(args: CreateArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.cluster.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let opts = CreateOptions {
        files: args.filename,
        namespace: args.namespace,
        dry_run: args.dry_run.dry_run,
    };
    finish(create::create(&session, &opts).await?, args.output)
}
