//! `karmadactl explain TYPE[.FIELD...] [--recursive] [--api-version=GROUP/VERSION] [-s members -C CLUSTER]`

use clap::Args;
use karmadactl::ops::explain::{self, ExplainOptions};
use karmadactl::ops::scope::{self, Requests};
use karmadactl::output;

use crate::GlobalArgs;
use crate::scope_args::ScopeArgs;

/// Get the documentation of a resource and its fields
#[derive(Debug, Args)]
#[command(
    long_about = "Describe the fields of a resource type, from the OpenAPI v3 schema the Karmada \
    control plane (Karmada's policies and Clusters included) or a member cluster (-C) serves.\n\n\
    Fields are named with a dot path: TYPE.FIELD.FIELD.",
    after_help = "Examples:\n  \
    karmadactl explain propagationpolicies\n  \
    karmadactl explain pp.spec.placement.clusterAffinity\n  \
    karmadactl explain clusters --recursive\n  \
    karmadactl explain deployments.spec.replicas --api-version=apps/v1\n  \
    karmadactl explain pods.spec.containers -C member1"
)]
pub struct ExplainArgs {
    /// TYPE, or TYPE.FIELD.FIELD...
    #[arg(value_name = "TYPE")]
    pub path: String,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Every field below, with names and types only
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub recursive: bool,

    /// The group/version of the type (default: its preferred version)
    #[arg(long, value_name = "GROUP/VERSION")]
    pub api_version: Option<String>,

    /// Output format (plaintext is the only one)
    #[arg(short, long, value_name = "FORMAT", value_parser = ["plaintext"], default_value = "plaintext")]
    pub output: String,
}

pub async fn run(args: ExplainArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.scope.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let opts = ExplainOptions {
        path: args.path,
        api_version: args.api_version,
        recursive: args.recursive,
    };
    output::print(&explain::explain(&session, &opts).await?);
    Ok(())
}
