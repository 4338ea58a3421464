//! Hidden `karmadactl generate-man --dir DIR`: man pages (section 1) for karmadactl and every
//! visible subcommand, rendered from the clap tree by clap_mangen (docs/man/ holds them;
//! tests/cli.rs checks they are fresh).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write karmadactl.1, karmadactl-get.1, ... into
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(args: ManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.dir.display()))?;
    // The tree without the grouped help template (man pages have their own layout).
    let cmd = <crate::Cli as clap::CommandFactory>::command();
    let failed = |e: std::io::Error| {
        anyhow::anyhow!("cannot write man pages to {}: {e}", args.dir.display())
    };
    clap_mangen::generate_to(cmd, &args.dir).map_err(failed)?;
    // The root page also says what the exit statuses mean.
    let root = args.dir.join("karmadactl.1");
    let mut page = std::fs::read_to_string(&root).map_err(failed)?;
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::EXIT_STATUSES {
        page.push_str(&format!(".TP\n{code}\n{}\n", roff_text(meaning)));
    }
    std::fs::write(&root, page).map_err(failed)?;
    Ok(())
}

/// Text safe in a roff paragraph: backslashes, and leading dots or quotes, escaped.
fn roff_text(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}
