//! `karmadactl get clusters [NAME...]` and `karmadactl get RESOURCE [NAME...]` for any kind
//! across the control plane and the member clusters.

use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use clap_complete::engine::CompletionCandidate;
use karmadactl::ops::get::resources::{self, Query, Scope};
use karmadactl::ops::get::{self, GetOptions};
use karmadactl::output;
use karmadactl::output::jsonpath::Template;
use karmadactl::output::printer::{self, Format, PrintOptions};

use crate::GlobalArgs;

/// Display member clusters, or any resource in the control plane and member clusters
#[derive(Debug, Args)]
#[command(
    long_about = "Display member clusters, or any resource in the control plane and member clusters.\n\n\
    `get clusters` lists the Cluster objects of the control plane. Any other TYPE (a plural, \
    singular, kind or short name, optionally with its group: deployments, deploy, \
    deployments.apps, pods, configmaps, a CRD) is resolved by discovery in every cluster asked. \
    Like Karmada's karmadactl, --operation-scope defaults to karmada (the control plane, where \
    templates and policies live); members or all add a CLUSTER column and query the member \
    clusters in parallel, each bounded by --member-timeout; their rows end with SYNCED: whether \
    the control plane holds the status shown (yes/no) and when it last received a change of it. A member that does not answer is \
    reported on stderr below the table (\"member3: unreachable (...)\") and does not fail the \
    command.",
    after_help = "Examples:\n  \
    karmadactl get clusters\n  \
    karmadactl get clusters -o wide\n  \
    karmadactl get cluster member1 -o yaml\n  \
    karmadactl get clusters -l region=eu -o name\n  \
    karmadactl get clusters --watch\n  \
    karmadactl get deployments\n  \
    karmadactl get deploy nginx --operation-scope all\n  \
    karmadactl get pods -A -s members -C member1,member2\n  \
    karmadactl get configmaps -n app -s members -o yaml\n  \
    karmadactl get deploy -s all -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.readyReplicas}{\"\\n\"}{end}'\n  \
    karmadactl get deploy -s members -o custom-columns=NAME:.metadata.name,CLUSTER:.metadata.annotations.resource\\.karmada\\.io/cached-from-cluster\n  \
    karmadactl get pods -s members --sort-by=.metadata.creationTimestamp --show-labels -L app\n  \
    karmadactl get deploy nginx -s all --watch --output-watch-events\n  \
    karmadactl get configmap settings --ignore-not-found -o name"
)]
pub struct GetArgs {
    /// Resource type: clusters (also cluster, clusters.cluster.karmada.io), or any kind
    #[arg(value_name = "TYPE")]
    pub resource: String,

    /// Names; all objects when none are given
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub names: Vec<String>,

    /// Output format: json, yaml, wide, name, jsonpath=TEMPLATE, jsonpath-file=FILE,
    /// jsonpath-as-json=TEMPLATE, custom-columns=HEADER:PATH,..., custom-columns-file=FILE. Wide
    /// adds columns (clusters: endpoint, provider, region, zones, taints, nodes; deployments:
    /// containers, images, selector; pods: IP, node). Templates are kubectl's JSONPath, e.g.
    /// '{.items[*].metadata.name}' or '{range .items[*]}{.metadata.name}{"\n"}{end}'
    #[arg(short, long, value_name = "FORMAT", value_parser = Format::parse, add = ArgValueCompleter::new(output_formats))]
    pub output: Option<Format>,

    /// Do not print the header line of tables and custom columns
    #[arg(long)]
    pub no_headers: bool,

    /// Add a LABELS column with all labels (tables only)
    #[arg(long)]
    pub show_labels: bool,

    /// Add a column for each of these label keys (comma-separated or repeated; tables only)
    #[arg(short = 'L', long, value_delimiter = ',', value_name = "LABEL")]
    pub label_columns: Vec<String>,

    /// Sort by the value at this JSONPath, e.g. .metadata.name or '{.metadata.creationTimestamp}'
    #[arg(long, value_name = "JSONPATH", value_parser = sort_by)]
    pub sort_by: Option<Template>,

    /// A name that does not exist is not an error
    #[arg(long)]
    pub ignore_not_found: bool,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(
        short,
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// List across all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Where to look: karmada (the control plane), members, or all
    #[arg(
        short = 's',
        long,
        value_enum,
        default_value = "karmada",
        value_name = "SCOPE"
    )]
    pub operation_scope: Scope,

    /// Only these member clusters (comma-separated); with --operation-scope members or all
    #[arg(short = 'C', long, value_delimiter = ',', value_name = "CLUSTER")]
    pub clusters: Vec<String>,

    /// How long to wait for each member cluster before reporting it unreachable
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = karmadactl::duration::parse_positive)]
    pub member_timeout: Duration,

    /// Label selector, e.g. -l region=eu,env!=test
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// After listing, print a row (or object) for every change until interrupted (Ctrl-C);
    /// members in scope are watched too
    #[arg(short, long)]
    pub watch: bool,

    /// With --watch: say what happened to each object (EVENT column ADDED, MODIFIED, DELETED;
    /// json/yaml print {type, object})
    #[arg(long, requires = "watch")]
    pub output_watch_events: bool,
}

/// `--sort-by`: kubectl's relaxed JSONPath.
fn sort_by(value: &str) -> Result<Template, String> {
    Template::parse_relaxed(value).map_err(|e| e.to_string())
}

/// Completes `-o` values.
fn output_formats(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    [
        "json",
        "yaml",
        "wide",
        "name",
        "jsonpath=",
        "jsonpath-file=",
        "jsonpath-as-json=",
        "custom-columns=",
        "custom-columns-file=",
    ]
    .into_iter()
    .filter(|f| f.starts_with(current.as_ref()))
    .map(CompletionCandidate::new)
    .collect()
}

/// Whether TYPE names the Cluster resource.
pub fn is_cluster_resource(resource: &str) -> bool {
    matches!(
        resource,
        "cluster" | "clusters" | "cluster.cluster.karmada.io" | "clusters.cluster.karmada.io"
    )
}

/// Accepts the names kubectl accepts for the Cluster resource.
pub fn check_resource(resource: &str, command: &str) -> anyhow::Result<()> {
    match resource {
        "cluster" | "clusters" | "cluster.cluster.karmada.io" | "clusters.cluster.karmada.io" => {
            Ok(())
        }
        other => usage!(
            "unsupported resource type {other:?}; karmadactl {command} supports: clusters (karmadactl {command} clusters NAME ...)"
        ),
    }
}

/// A cluster name must be a DNS label of at most 48 characters (as the Cluster CRD requires).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    karmadactl::api::names::validate_cluster_name(name)
        .map_err(|e| anyhow::Error::new(crate::Usage(e)))
}

impl GetArgs {
    fn validate(&self) -> anyhow::Result<GetOptions> {
        check_resource(&self.resource, "get")?;
        for name in &self.names {
            check_name(name)?;
        }
        if self.selector.is_some() && !self.names.is_empty() {
            usage!("name cannot be provided when a selector is specified");
        }
        if let Some(sel) = &self.selector
            && sel.trim().is_empty()
        {
            usage!("empty label selector; pass e.g. -l region=eu");
        }
        Ok(GetOptions {
            names: self.names.clone(),
            selector: self.selector.clone(),
            print: self.print_options()?,
        })
    }

    /// `-o` and the flags that shape the output, checked against each other.
    fn print_options(&self) -> anyhow::Result<PrintOptions> {
        let format = self.output.clone().unwrap_or_default();
        if !format.is_table() {
            if self.show_labels {
                usage!(
                    "--show-labels applies to tables only, not to -o {}",
                    self.output_name()
                );
            }
            if !self.label_columns.is_empty() {
                usage!(
                    "-L/--label-columns applies to tables only, not to -o {}",
                    self.output_name()
                );
            }
        }
        if let Some(bad) = self.label_columns.iter().find(|l| l.trim().is_empty()) {
            usage!("invalid label column {bad:?}; pass label keys, e.g. -L app,tier");
        }
        Ok(PrintOptions {
            format,
            no_headers: self.no_headers,
            show_labels: self.show_labels,
            label_columns: self.label_columns.clone(),
            sort_by: self.sort_by.clone(),
            output_watch_events: self.output_watch_events,
        })
    }

    fn output_name(&self) -> &'static str {
        match self.output {
            Some(Format::Json) => "json",
            Some(Format::Yaml) => "yaml",
            Some(Format::Name) => "name",
            Some(Format::JsonPath(_)) => "jsonpath",
            Some(Format::JsonPathAsJson(_)) => "jsonpath-as-json",
            Some(Format::CustomColumns(_)) => "custom-columns",
            _ => "wide",
        }
    }
}

impl GetArgs {
    /// The query for a resource other than clusters.
    fn query(&self) -> anyhow::Result<Query> {
        if self.selector.is_some() && !self.names.is_empty() {
            usage!("name cannot be provided when a selector is specified");
        }
        if !self.clusters.is_empty() && self.operation_scope == Scope::Karmada {
            usage!("-C/--clusters selects member clusters; add --operation-scope members (or all)");
        }
        for c in &self.clusters {
            check_name(c)?;
        }
        if self.resource.is_empty() || self.resource.contains('/') {
            usage!(
                "invalid resource type {:?}; pass a type such as deployments, then names",
                self.resource
            );
        }
        Ok(Query {
            resource: self.resource.clone(),
            names: self.names.clone(),
            namespace: self.namespace.clone(),
            all_namespaces: self.all_namespaces,
            selector: self.selector.clone(),
            scope: self.operation_scope,
            clusters: self.clusters.clone(),
            member_timeout: self.member_timeout,
            print: self.print_options()?,
        })
    }
}

async fn run_resources(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let query = args.query()?;
    let target = global.target();
    let gathered = resources::gather(&target, &query).await?;
    if args.watch {
        let items = gathered.items(&query)?;
        output::print(&printer::render_watch_start(
            &gathered.header(&query),
            &items,
            &query.print,
        )?);
        for note in gathered.notes(&query) {
            eprintln!("{note}");
        }
    } else {
        let rendered = gathered.render(&query)?;
        output::print(&rendered.stdout);
        for note in &rendered.stderr {
            eprintln!("{note}");
        }
    }
    let missing = gathered.missing(&query);
    if !missing.is_empty() && gathered.failures.is_empty() && !args.ignore_not_found {
        return Err(gathered.not_found(&missing).into());
    }
    if args.watch {
        tokio::select! {
            result = resources::watch(&target, &query, &gathered, output::print) => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    Ok(())
}

pub async fn run(args: GetArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    if !is_cluster_resource(&args.resource) {
        return run_resources(args, global).await;
    }
    if args.namespace.is_some()
        || args.all_namespaces
        || args.operation_scope != Scope::Karmada
        || !args.clusters.is_empty()
    {
        usage!(
            "clusters live in the control plane only; -n, -A, --operation-scope and -C do not apply to get clusters"
        );
    }
    let opts = args.validate()?;
    let target = global.target();
    let listing = get::list(&target, &opts).await?;
    if args.watch {
        let items = get::items(&listing.clusters, &opts.print)?;
        output::print(&printer::render_watch_start(
            get::header(&opts.print),
            &items,
            &opts.print,
        )?);
    } else {
        let rendered = listing.render(&opts.print)?;
        output::print(&rendered.stdout);
        if let Some(note) = &rendered.stderr {
            eprintln!("{note}");
        }
    }
    if !listing.missing.is_empty() && !args.ignore_not_found {
        return Err(get::not_found_all(&listing.missing).into());
    }
    if args.watch {
        tokio::select! {
            result = get::watch(&target, &opts, &listing, output::print) => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(resource: &str, names: &[&str], selector: Option<&str>) -> GetArgs {
        GetArgs {
            resource: resource.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            output: None,
            no_headers: false,
            show_labels: false,
            label_columns: vec![],
            sort_by: None,
            ignore_not_found: false,
            selector: selector.map(String::from),
            watch: false,
            output_watch_events: false,
            namespace: None,
            all_namespaces: false,
            operation_scope: Scope::Karmada,
            clusters: vec![],
            member_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn validation() {
        assert!(args("clusters", &[], None).validate().is_ok());
        assert!(args("cluster", &["member1"], None).validate().is_ok());
        assert!(args("pods", &[], None).validate().is_err());
        assert!(args("clusters", &["Bad_Name"], None).validate().is_err());
        let err = args("clusters", &["a"], Some("x=y"))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("selector"));
    }
}
