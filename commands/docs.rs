//! Hidden `karmadactl generate-docs`: renders docs/commands.md from the clap tree, so the
//! reference never drifts from `--help` (tests/generated.rs checks it).

use clap::Args;

#[derive(Debug, Args)]
pub struct DocsArgs {}

pub fn run(_: DocsArgs) -> anyhow::Result<()> {
    karmadactl::output::print(&render(&crate::command()));
    Ok(())
}

pub fn render(root: &clap::Command) -> String {
    let mut out = String::from(
        "# Command reference\n\n<!-- Generated from the CLI by `karmadactl generate-docs`; \
         regenerate with `UPDATE_GENERATED=1 cargo test --test generated`. -->\n\n",
    );
    let mut root = root.clone().term_width(100);
    root.build();
    section(&mut out, &root, "karmadactl", 2);
    out
}

fn section(out: &mut String, cmd: &clap::Command, path: &str, depth: usize) {
    let mut cmd = cmd.clone().bin_name(path);
    out.push_str(&format!("{} `{path}`\n\n", "#".repeat(depth)));
    // Render the same text `--help` prints, without terminal styling or wrapping.
    let help = cmd.render_long_help().to_string();
    out.push_str("```text\n");
    for line in help.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        section(out, sub, &format!("{path} {}", sub.get_name()), depth + 1);
    }
}
