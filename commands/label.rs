//! `karmadactl label` and `karmadactl annotate`: `TYPE NAME KEY=VAL KEY-` on the control plane
//! or a member (-C).

use std::path::PathBuf;

use clap::Args;
use karmadactl::ops::label::{self, MetaOptions, Which};
use karmadactl::ops::objects::{self, ObjectOutput, Selection};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::{ClusterArg, DryRunArg, finish};

/// What label and annotate share.
#[derive(Debug, Args)]
pub struct MetaArgs {
    /// TYPE NAME... or TYPE/NAME..., then KEY=VALUE to set and KEY- to remove
    #[arg(value_name = "ARGS", required = true, num_args = 1..)]
    pub args: Vec<String>,

    /// Files naming the objects; - for stdin
    #[arg(short, long = "filename", value_name = "FILE", value_hint = clap::ValueHint::AnyPath)]
    pub filename: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArg,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(
        short,
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// With -l or --all: in every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Label selector, e.g. -l app=nginx
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Field selector, e.g. --field-selector metadata.name=web
    #[arg(long, value_name = "SELECTOR")]
    pub field_selector: Option<String>,

    /// Every object of the types in the namespace
    #[arg(long, conflicts_with = "selector")]
    pub all: bool,

    /// Replace values of keys that are already set
    #[arg(long)]
    pub overwrite: bool,

    /// Print the current keys and values instead of changing them
    #[arg(long)]
    pub list: bool,

    /// Only change an object still at this resourceVersion
    #[arg(long, value_name = "VERSION")]
    pub resource_version: Option<String>,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    /// Print the changed objects (name, json, yaml) instead of a line each
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<ObjectOutput>,
}

/// Update the labels on a resource in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Update the labels on a resource in the Karmada control plane or, with -C, a \
    member cluster.\n\n\
    KEY=VALUE sets a label, KEY- removes it. A key that already has another value needs \
    --overwrite. Keys and values follow Kubernetes' rules (values: at most 63 characters, \
    letters, digits, '-', '_' and '.').",
    after_help = "Examples:\n  \
    karmadactl label deployment foo resourcetemplate.karmada.io/deletion-protected=Always\n  \
    karmadactl label --overwrite deployment foo resourcetemplate.karmada.io/deletion-protected=\n  \
    karmadactl label deployments --all env=prod\n  \
    karmadactl label -f deployment.yaml env=prod\n  \
    karmadactl label deployment foo env=prod --resource-version=1\n  \
    karmadactl label deployment foo bar-\n  \
    karmadactl label nodes node1 disktype=ssd -C member1"
)]
pub struct LabelArgs {
    #[command(flatten)]
    pub meta: MetaArgs,
}

/// Update the annotations on a resource in the control plane or a member cluster
#[derive(Debug, Args)]
#[command(
    long_about = "Update the annotations on a resource in the Karmada control plane or, with -C, a \
    member cluster.\n\n\
    KEY=VALUE sets an annotation, KEY- removes it. A key that already has another value needs \
    --overwrite.",
    after_help = "Examples:\n  \
    karmadactl annotate deployment foo description='my frontend'\n  \
    karmadactl annotate -f deployment.yaml description='my frontend'\n  \
    karmadactl annotate --overwrite deployment foo description='my frontend running nginx'\n  \
    karmadactl annotate deployments --all description='my frontend running nginx'\n  \
    karmadactl annotate deployment foo description-\n  \
    karmadactl annotate pods web owner=team-a -C member1"
)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub meta: MetaArgs,
}

async fn run(which: Which, a: MetaArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let (resources, changes) = label::split_args(&a.args)?;
    let types = if a.filename.is_empty() {
        objects::parse_args(&resources)?
    } else {
        if !resources.is_empty() {
            anyhow::bail!("pass the objects either with -f or as arguments, not both");
        }
        Vec::new()
    };
    if a.filename.is_empty() && types.is_empty() {
        anyhow::bail!(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>"
        );
    }
    let named = types.iter().any(|t| !t.names.is_empty());
    if a.filename.is_empty()
        && !named
        && !a.all
        && a.selector.is_none()
        && a.field_selector.is_none()
    {
        anyhow::bail!(
            "resource(s) were provided, but no name was specified; pass names, -l SELECTOR or --all"
        );
    }
    if named && (a.all || a.selector.is_some()) {
        anyhow::bail!("name cannot be provided when a selector or --all is specified");
    }
    if !a.list && changes.set.is_empty() && changes.remove.is_empty() {
        anyhow::bail!(
            "at least one change is required: KEY=VALUE to set, KEY- to remove (or --list)"
        );
    }
    if a.list && !(changes.set.is_empty() && changes.remove.is_empty()) {
        anyhow::bail!("--list takes no changes");
    }
    let place = a.cluster.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let opts = MetaOptions {
        which,
        types,
        files: a.filename,
        selection: Selection {
            namespace: a.namespace,
            all_namespaces: a.all_namespaces,
            selector: a.selector,
            field_selector: a.field_selector,
        },
        all: a.all,
        changes,
        overwrite: a.overwrite,
        list: a.list,
        resource_version: a.resource_version,
        dry_run: a.dry_run.dry_run,
    };
    finish(label::run(&session, &opts).await?, a.output)
}

pub async fn run_label(args: LabelArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    run(Which::Labels, args.meta, global).await
}

pub async fn run_annotate(args: AnnotateArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    run(Which::Annotations, args.meta, global).await
}
