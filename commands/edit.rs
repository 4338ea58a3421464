//! `karmadactl edit (TYPE NAME | TYPE/NAME | -f FILE) [-C CLUSTER]`

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;
use karmadactl::ops::edit::{self, EditOptions};
use karmadactl::ops::objects::{self, Selection};
use karmadactl::ops::scope::{self, Requests};

use crate::GlobalArgs;
use crate::scope_args::{ClusterArg, DryRunArg, finish};

/// Edit a resource in the control plane or a member cluster with your editor
#[derive(Debug, Args)]
#[command(
    long_about = "Edit a resource in the Karmada control plane or, with -C, a member cluster.\n\n\
    The objects are written as YAML to a temporary file opened with $KUBE_EDITOR, else $EDITOR, \
    else vi (only on a terminal: without an editor and a terminal, edit fails at once instead \
    of waiting). When the editor exits, what you changed is sent as a JSON merge patch guarded \
    by the resourceVersion you edited, so a concurrent change is a conflict, not overwritten. \
    An emptied or unchanged file cancels the edit. If the server refuses the change, your \
    edited file is kept and its path printed.",
    after_help = "Examples:\n  \
    karmadactl edit propagationpolicy nginx-pp\n  \
    KUBE_EDITOR=\"nano\" karmadactl edit deployment/nginx -n web\n  \
    karmadactl edit configmap settings -C member1"
)]
pub struct EditArgs {
    /// TYPE NAME..., or TYPE/NAME...
    #[arg(value_name = "TYPE")]
    pub args: Vec<String>,

    /// Files naming the objects to edit; - for stdin
    #[arg(short, long = "filename", value_name = "FILE", value_hint = clap::ValueHint::AnyPath, conflicts_with = "args")]
    pub filename: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArg,

    /// Namespace (default: the namespace of the control plane's kubeconfig context)
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    #[command(flatten)]
    pub dry_run: DryRunArg,
}

pub async fn run(args: EditArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let types = objects::parse_args(&args.args)?;
    if args.filename.is_empty() && !types.iter().any(|t| !t.names.is_empty()) {
        anyhow::bail!("name the object to edit: TYPE NAME, TYPE/NAME or -f FILE");
    }
    // Decided before any request: no editor and no terminal fails at once.
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let editor = edit::choose_editor(
        std::env::var("KUBE_EDITOR").ok().as_deref(),
        std::env::var("EDITOR").ok().as_deref(),
        terminal,
    )?;
    let place = args.cluster.place()?;
    let session = scope::connect(&global.target(), &place, Requests::Bounded).await?;
    let opts = EditOptions {
        types,
        files: args.filename,
        selection: Selection {
            namespace: args.namespace,
            ..Default::default()
        },
        dry_run: args.dry_run.dry_run,
    };
    let originals = edit::load(&session, &opts).await?;
    let before = edit::document(&originals)?;
    let path = edit::temp_file(&before)?;
    let edited = async {
        edit::run_editor(&editor, &path).await?;
        std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("reading the edited file {}: {e}", path.display()))
    }
    .await;
    let text = match edited {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    let parsed = match edit::parse_edited(&text) {
        Ok(Some(p)) => p,
        Ok(None) => {
            let _ = std::fs::remove_file(&path);
            eprintln!("Edit cancelled, no changes made.");
            return Ok(());
        }
        Err(e) => {
            anyhow::bail!("{e}; your changes are kept in {}", path.display());
        }
    };
    let outcome = edit::apply(&session, &originals, &parsed, opts.dry_run).await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => anyhow::bail!("{e}; your changes are kept in {}", path.display()),
    };
    if outcome.errors.is_empty() {
        let _ = std::fs::remove_file(&path);
        if outcome.lines.is_empty() {
            eprintln!("Edit cancelled, no changes made.");
            return Ok(());
        }
        return finish(outcome, None);
    }
    eprintln!(
        "A copy of your changes has been stored to {:?}",
        path.display().to_string()
    );
    finish(outcome, None)
}
