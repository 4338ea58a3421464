//! `karmadactl api-resources` and `karmadactl api-versions`

use clap::Args;
use karmadactl::ops::api_resources::{self, ResourcesOptions, ResourcesOutput, SortBy};
use karmadactl::ops::scope::{self, Requests};
use karmadactl::output;

use crate::GlobalArgs;
use crate::scope_args::ScopeArgs;

/// Print the supported API resources on the server
#[derive(Debug, Args)]
#[command(
    long_about = "Print the supported API resources on the server: the Karmada control plane, or \
    the member cluster named with -C (--operation-scope members).",
    after_help = "Examples:\n  \
    karmadactl api-resources\n  \
    karmadactl api-resources -o wide\n  \
    karmadactl api-resources --api-group=policy.karmada.io\n  \
    karmadactl api-resources --namespaced=false -C member1\n  \
    karmadactl api-resources --verbs=list,get -o name"
)]
pub struct ApiResourcesArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Limit to resources in this API group ('' for the core group)
    #[arg(long, value_name = "GROUP")]
    pub api_group: Option<String>,

    /// true: only namespaced resources; false: only cluster-scoped ones (default: both)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub namespaced: Option<bool>,

    /// Limit to resources that support these verbs (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "VERB")]
    pub verbs: Vec<String>,

    /// Limit to resources in these categories (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "CATEGORY")]
    pub categories: Vec<String>,

    /// Sort by name or kind (default: by group, then name)
    #[arg(long, value_enum, value_name = "FIELD")]
    pub sort_by: Option<SortBy>,

    /// Print without the header row
    #[arg(long)]
    pub no_headers: bool,

    /// Accepted for compatibility: discovery is always read fresh
    #[arg(long)]
    pub cached: bool,

    /// Output format: wide adds VERBS and CATEGORIES; name prints resource.group
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<ResourcesOutput>,
}

/// Print the supported API versions on the server, in the form "group/version"
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    karmadactl api-versions\n  \
    karmadactl api-versions -C member1")]
pub struct ApiVersionsArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
}

pub async fn run_resources(args: ApiResourcesArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.scope.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let discovered = api_resources::discover(&session).await?;
    let opts = ResourcesOptions {
        api_group: args.api_group,
        namespaced: args.namespaced,
        verbs: args.verbs,
        categories: args.categories,
        sort_by: args.sort_by,
        no_headers: args.no_headers,
        output: args.output.unwrap_or_default(),
    };
    output::print(&discovered.render_resources(&opts));
    for note in discovered.notes(&session) {
        eprintln!("warning: {note}");
    }
    Ok(())
}

pub async fn run_versions(args: ApiVersionsArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.scope.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let discovered = api_resources::discover(&session).await?;
    output::print(&discovered.render_versions());
    Ok(())
}
