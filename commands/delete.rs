//! `karmadactl delete (-f FILE | TYPE [NAME...] | TYPE/NAME... | TYPE -l SELECTOR | TYPE --all) [-C CLUSTER]`

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use karmadactl::ops::delete::{self, Cascade, DeleteOptions};
use karmadactl::ops::objects::{self, DryRun, ObjectOutput, Selection};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::{ClusterArg, DryRunArg, finish};

/// Delete resources by file names, stdin, resources and names, or by resources and label selector
#[derive(Debug, Args)]
#[command(
    long_about = "Delete resources by file names, stdin, resources and names, or by resources and \
    label selector, in the Karmada control plane or, with -C, a member cluster.\n\n\
    Deleting a resource template in the control plane also removes its propagated copies from \
    the members (unless its policy preserves them). By default the command waits until the \
    objects are gone, finalizers included (--wait=false returns at once). Like kubectl, there \
    is no confirmation unless -i is given, which needs a terminal.",
    after_help = "Examples:\n  \
    karmadactl delete -f ./propagationpolicy.yaml\n  \
    cat propagationpolicy.json | karmadactl delete -f -\n  \
    karmadactl delete propagationpolicy,service baz foo\n  \
    karmadactl delete propagationpolicies,services -l name=myLabel\n  \
    karmadactl delete deployment/nginx -C member1\n  \
    karmadactl delete propagationpolicies --all -n web"
)]
pub struct DeleteArgs {
    /// TYPE [NAME...], or TYPE/NAME...
    #[arg(value_name = "TYPE")]
    pub args: Vec<String>,

    /// Files or directories with the objects to delete; - for stdin
    #[arg(short, long = "filename", value_name = "FILE", value_hint = clap::ValueHint::AnyPath, conflicts_with = "args")]
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

    /// A missing object is not an error
    #[arg(long)]
    pub ignore_not_found: bool,

    /// What happens to dependents: background, foreground or orphan
    #[arg(long, value_enum, value_name = "MODE", default_value = "background")]
    pub cascade: Cascade,

    /// Seconds the objects get to terminate gracefully (default: their own)
    #[arg(long, value_name = "SECONDS")]
    pub grace_period: Option<u32>,

    /// Immediate shutdown (--grace-period=1)
    #[arg(long, conflicts_with = "grace_period")]
    pub now: bool,

    /// Delete at once without waiting for graceful termination (--grace-period=0)
    #[arg(long, conflicts_with_all = ["grace_period", "now"])]
    pub force: bool,

    /// Wait until the objects are gone before returning
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,

    /// How long to wait for the objects to go (0: until they are gone)
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = karmadactl::duration::parse)]
    pub timeout: Duration,

    #[command(flatten)]
    pub dry_run: DryRunArg,

    /// Ask for confirmation first (needs a terminal)
    #[arg(short, long)]
    pub interactive: bool,

    /// Print only the names of what was deleted (name)
    #[arg(short, long, value_name = "FORMAT", value_parser = ["name"])]
    pub output: Option<String>,
}

impl DeleteArgs {
    fn options(&self) -> anyhow::Result<DeleteOptions> {
        let types = objects::parse_args(&self.args)?;
        if self.filename.is_empty() && types.is_empty() {
            anyhow::bail!(
                "you must provide one or more resources by argument or filename (TYPE NAME, TYPE/NAME, -l, --all or -f FILE)"
            );
        }
        let named = types.iter().any(|t| !t.names.is_empty());
        if named && (self.all || self.selector.is_some()) {
            anyhow::bail!("name cannot be provided when a selector or --all is specified");
        }
        if self.filename.is_empty()
            && !named
            && !self.all
            && self.selector.is_none()
            && self.field_selector.is_none()
        {
            anyhow::bail!(
                "resource(s) were provided, but no name was specified; pass names, -l SELECTOR or --all"
            );
        }
        if self.all_namespaces && named {
            anyhow::bail!("-A applies to -l and --all, not to names");
        }
        Ok(DeleteOptions {
            types,
            files: self.filename.clone(),
            selection: Selection {
                namespace: self.namespace.clone(),
                all_namespaces: self.all_namespaces,
                selector: self.selector.clone(),
                field_selector: self.field_selector.clone(),
            },
            all: self.all,
            ignore_not_found: self.ignore_not_found || self.all || self.selector.is_some(),
            cascade: self.cascade,
            grace_period: if self.force {
                Some(0)
            } else if self.now {
                Some(1)
            } else {
                self.grace_period
            },
            dry_run: self.dry_run.dry_run,
            wait: self.wait,
            timeout: (!self.timeout.is_zero()).then_some(self.timeout),
        })
    }
}

pub async fn run(args: DeleteArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let opts = args.options()?;
    if args.interactive && !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        anyhow::bail!("--interactive needs a terminal to ask on; drop -i to delete without asking");
    }
    let place = args.cluster.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let (targets, mut errors) = delete::targets(&session, &opts).await?;
    if targets.is_empty() && errors.is_empty() {
        eprintln!("No resources found{}", session.place.suffix());
        return Ok(());
    }
    if args.interactive && !targets.is_empty() {
        eprintln!(
            "You are about to delete the following {} resource(s){}:",
            targets.len(),
            session.place.suffix()
        );
        for t in &targets {
            eprintln!("{}", objects::display_name(&t.resolved.ar, &t.name));
        }
        let go = dialoguer::Confirm::new()
            .with_prompt("Do you want to continue?")
            .default(false)
            .interact()?;
        if !go {
            eprintln!("deletion is cancelled");
            return Ok(());
        }
    }
    if args.force && opts.dry_run == DryRun::None {
        eprintln!(
            "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated."
        );
    }
    let mut outcome = delete::delete(&session, &opts, &targets).await?;
    errors.append(&mut outcome.errors);
    outcome.errors = errors;
    let output = args.output.is_some().then_some(ObjectOutput::Name);
    finish(outcome, output)
}
