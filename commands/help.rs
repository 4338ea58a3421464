//! Groups subcommands in `--help` like Karmada's karmadactl does.

/// Every visible subcommand belongs to exactly one group (a test checks this).
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "Cluster Registration Commands",
        &[
            "init",
            "deinit",
            "join",
            "unjoin",
            "token",
            "register",
            "unregister",
        ],
    ),
    (
        "Cluster Management Commands",
        &["cordon", "uncordon", "taint"],
    ),
    (
        "Basic Commands",
        &["explain", "get", "create", "delete", "edit"],
    ),
    (
        "Troubleshooting and Debugging Commands",
        &["attach", "logs", "exec", "describe", "why", "interpret"],
    ),
    ("Advanced Commands", &["apply", "promote", "top", "patch"]),
    ("Settings Commands", &["label", "annotate", "completion"]),
    (
        "Other Commands",
        &["api-resources", "api-versions", "version"],
    ),
];

/// Replaces clap's flat command list with the grouped one; `program` is how the user invoked
/// us (`karmadactl`, or `kubectl karmada` through the kubectl plugin).
pub fn grouped(cmd: clap::Command, program: &str) -> clap::Command {
    let mut listing = String::new();
    let width = cmd
        .get_subcommands()
        .map(|s| s.get_name().len())
        .max()
        .unwrap_or(0);
    for (group, names) in GROUPS {
        let subs: Vec<_> = names
            .iter()
            .filter_map(|n| cmd.find_subcommand(n))
            .filter(|s| !s.is_hide_set())
            .collect();
        if subs.is_empty() {
            continue;
        }
        listing.push_str(&format!("{group}:\n"));
        for s in subs {
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            listing.push_str(&format!("  {:width$}  {about}\n", s.get_name()));
        }
        listing.push('\n');
    }
    let template = format!(
        "{{about-with-newline}}\n{listing}{{usage-heading}} {{usage}}\n\nOptions:\n{{options}}{{after-help}}\n\n\
         Use \"{program} <command> --help\" for more information about a command.\n"
    );
    let cmd = if program == "karmadactl" {
        cmd
    } else {
        renamed(cmd, program)
    };
    cmd.bin_name(program)
        .help_template(template)
        .subcommand_help_heading("Commands")
        .disable_help_subcommand(true)
}

/// Example lines (`  karmadactl get ...` in after-help) say `program` instead.
fn renamed(cmd: clap::Command, program: &str) -> clap::Command {
    let swap = |text: String| -> String {
        text.lines()
            .map(|l| {
                let body = l.trim_start();
                match body.strip_prefix("karmadactl ") {
                    Some(rest) => format!("{}{program} {rest}", &l[..l.len() - body.len()]),
                    None => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut cmd = cmd;
    if let Some(text) = cmd.get_after_help().map(|t| swap(t.to_string())) {
        cmd = cmd.after_help(text);
    }
    if let Some(text) = cmd.get_after_long_help().map(|t| swap(t.to_string())) {
        cmd = cmd.after_long_help(text);
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, |sub| renamed(sub, program));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_is_in_one_group() {
        let cmd = <crate::Cli as clap::CommandFactory>::command();
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let n = GROUPS
                .iter()
                .filter(|(_, names)| names.contains(&sub.get_name()))
                .count();
            assert_eq!(
                n,
                1,
                "subcommand {} must be listed in exactly one help group",
                sub.get_name()
            );
        }
        for (_, names) in GROUPS {
            for name in *names {
                assert!(
                    cmd.find_subcommand(name).is_some(),
                    "help group lists unknown command {name}"
                );
            }
        }
    }
}
