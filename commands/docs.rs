//! Hidden `karmadactl generate-docs`: renders docs/commands.md from the clap tree, so the
//! reference never drifts from `--help` (tests/cli.rs checks it).

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
         regenerate with `UPDATE_GENERATED=1 cargo test --test cli`. -->\n\n",
    );
    let mut root = root.clone().term_width(100);
    root.build();
    section(&mut out, &root, "karmadactl", 2);
    out.push_str("## Exit status\n\n| status | meaning |\n| --- | --- |\n");
    for (code, meaning) in crate::EXIT_STATUSES {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out.push_str(
        "\nThe same commands run as a kubectl plugin: an executable named `kubectl-karmada` \
         (e.g. a symlink to karmadactl, see docs/install.md) makes `kubectl karmada ...` work, \
         and its help then says `kubectl karmada`. `NO_COLOR` (any non-empty value) turns off \
         colours in help, errors and logs.\n",
    );
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
