//! `karmadactl describe (TYPE [NAME_PREFIX...] | TYPE/NAME...) [-s members -C CLUSTER]`

use clap::Args;
use karmadactl::ops::describe::{self, generic};
use karmadactl::ops::objects::{self, Selection};
use karmadactl::ops::scope::{self, Place, Requests};
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::{check_name, is_cluster_resource};
use crate::scope_args::ScopeArgs;

/// Show details of a resource or group of resources in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Show details of a resource or group of resources in the Karmada control plane or a \
    member cluster: every field of the object and the Events about it.\n\n\
    `describe cluster NAME` shows a member cluster: placement facts, taints, conditions, versions, \
    API enablements, capacity and events. Any other TYPE (a plural, singular, kind or short \
    name, optionally with its group) is resolved by discovery in the cluster asked: the control \
    plane by default, or the member named with -C (as --operation-scope members --cluster). Each \
    NAME is an exact name or, when no object has it, a name prefix.",
    after_help = "Examples:\n  \
    karmadactl describe cluster member1\n  \
    karmadactl describe deployment/nginx\n  \
    karmadactl describe propagationpolicy nginx-pp -n web\n  \
    karmadactl describe pods nginx --operation-scope=members --cluster=member1\n  \
    karmadactl describe -f pod.json -C member1\n  \
    karmadactl describe po -l app=nginx -C member1"
)]
pub struct DescribeArgs {
    /// TYPE [NAME_PREFIX...], or TYPE/NAME...
    #[arg(value_name = "TYPE", required_unless_present = "filename", num_args = 1.., add = clap_complete::engine::ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub args: Vec<String>,

    /// Files naming the objects to describe; - for stdin
    #[arg(short, long = "filename", value_name = "FILE", value_hint = clap::ValueHint::AnyPath, conflicts_with = "args")]
    pub filename: Vec<std::path::PathBuf>,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(
        short,
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// Describe matching objects across all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Label selector, e.g. -l app=nginx
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Show the Events about each object (--show-events=false to leave them out)
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub show_events: bool,
}

pub async fn run(args: DescribeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let place = args.scope.place()?;
    let target = global.target();
    let types = objects::parse_args(&args.args)?;
    if types.iter().any(|t| !t.names.is_empty()) && args.selector.is_some() {
        anyhow::bail!("name cannot be provided when a selector is specified");
    }
    // Clusters keep their own page (the control plane's Cluster objects).
    if place == Place::ControlPlane
        && let [t] = types.as_slice()
        && is_cluster_resource(&t.resource)
    {
        for name in &t.names {
            check_name(name)?;
        }
        let names = if t.names.is_empty() {
            let opts = karmadactl::ops::get::GetOptions {
                selector: args.selector.clone(),
                ..Default::default()
            };
            let listing = karmadactl::ops::get::list(&target, &opts).await?;
            if listing.clusters.is_empty() {
                eprintln!("No clusters found.");
            }
            listing
                .clusters
                .iter()
                .map(kube::ResourceExt::name_any)
                .collect()
        } else {
            t.names.clone()
        };
        for (i, name) in names.iter().enumerate() {
            let page = describe::describe(&target, name).await?;
            if i > 0 {
                output::print("\n\n");
            }
            output::print(&page);
        }
        return Ok(());
    }
    let session = scope::connect(&target, &place, Requests::Bounded).await?;
    let query = generic::DescribeQuery {
        types,
        files: args.filename,
        selection: Selection {
            namespace: args.namespace,
            all_namespaces: args.all_namespaces,
            selector: args.selector,
            field_selector: None,
        },
        show_events: args.show_events,
    };
    let pages = generic::describe(&session, &query).await?;
    if pages.is_empty() {
        eprintln!("{}", generic::no_resources(&session, &query));
    }
    output::print(&pages.join("\n\n"));
    Ok(())
}
