//! The CLI as a user runs it: generated files are fresh, completion works in a real bash,
//! errors are one clear line, and a closed pipe is not an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test cli";

fn karmadactl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_karmadactl"));
    // Keep the user's real kubeconfig out of these tests.
    cmd.env("KUBECONFIG", "/nonexistent/karmadactl-test-kubeconfig")
        .env_remove("COMPLETE");
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = karmadactl().args(args).output().expect("run karmadactl");
    assert!(
        out.status.success(),
        "karmadactl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Compares a generated file with what the CLI prints now; rewrites it under UPDATE_GENERATED.
fn check_generated(path: &str, fresh: &str) {
    let file = repo(path);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, fresh).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        stored == fresh,
        "{path} is stale; regenerate it with `{REGENERATE}` and commit the result"
    );
}

const SHELLS: &[(&str, &str)] = &[
    ("bash", "completions/karmadactl.bash"),
    ("zsh", "completions/_karmadactl"),
    ("fish", "completions/karmadactl.fish"),
    ("powershell", "completions/_karmadactl.ps1"),
    ("elvish", "completions/karmadactl.elv"),
];

#[test]
fn completion_scripts_are_fresh() {
    for (shell, path) in SHELLS {
        let script = stdout_of(&["completion", shell]);
        assert!(
            script.contains("karmadactl"),
            "{shell} script does not mention karmadactl"
        );
        check_generated(path, &script);
    }
}

#[test]
fn command_reference_is_fresh() {
    let docs = stdout_of(&["generate-docs"]);
    assert!(docs.contains("## `karmadactl`"));
    assert!(docs.contains("### `karmadactl version`"));
    check_generated("docs/commands.md", &docs);
}

#[test]
fn bash_script_registers_completion_in_a_real_bash() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p karmadactl",
            repo("completions/karmadactl.bash").display()
        ))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "complete -p failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("-F _clap_complete_karmadactl karmadactl"),
        "unexpected registration: {stdout}"
    );
}

#[test]
fn completion_callback_offers_subcommands_and_flags() {
    // What the registered bash function runs when the user types `karmadactl ver<TAB>`.
    let out = karmadactl()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "1")
        .env("_CLAP_IFS", "\n")
        .args(["--", "karmadactl", "ver"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "version");

    let out = karmadactl()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_IFS", "\n")
        .args(["--", "karmadactl", "completion", "f"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "fish");
}

#[test]
fn help_groups_commands_like_karmadactl() {
    let help = stdout_of(&["--help"]);
    let settings = help.find("Settings Commands:").expect("Settings group");
    let other = help.find("Other Commands:").expect("Other group");
    assert!(settings < other);
    assert!(help[settings..other].contains("completion"));
    assert!(help[other..].contains("version"));
    assert!(
        !help.contains("generate-docs"),
        "hidden commands must not be listed"
    );
}

#[test]
fn version_client_prints_build_facts_in_every_format() {
    let human = stdout_of(&["version", "--client"]);
    for field in [
        "karmadactl version:",
        "git commit:",
        "build date:",
        "rustc:",
        "platform:",
    ] {
        assert!(human.contains(field), "missing {field} in {human}");
    }
    assert!(
        !human.contains("control plane"),
        "--client must not contact the control plane"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&["version", "--client", "-o", "json"])).unwrap();
    assert_eq!(json["client"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        json["client"]["rustc"]
            .as_str()
            .unwrap()
            .starts_with("rustc ")
    );
    assert!(json.get("server").is_none());

    let yaml: serde_json::Value =
        serde_yaml::from_str(&stdout_of(&["version", "--client", "-o", "yaml"])).unwrap();
    assert_eq!(yaml["client"]["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn version_without_a_control_plane_says_why() {
    let out = karmadactl()
        .args(["version", "--kubeconfig", "/nonexistent/kc"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "version reports an unreachable server, it does not fail"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("control plane: unreachable"), "{stdout}");
    assert!(
        stdout.contains("/nonexistent/kc"),
        "the message names the kubeconfig it tried: {stdout}"
    );
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let out = karmadactl().args(["completion", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
}

#[test]
fn closed_pipe_is_not_an_error() {
    let mut child = karmadactl()
        .args(["generate-docs"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once, like `karmadactl ... | head -0`.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn man_pages_are_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let out = karmadactl()
        .args(["generate-man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let fresh = names(dir.path());
    for want in ["karmadactl.1", "karmadactl-get.1", "karmadactl-init.1"] {
        assert!(fresh.iter().any(|n| n == want), "{want} missing: {fresh:?}");
    }
    assert!(
        !fresh.iter().any(|n| n.contains("generate")),
        "hidden commands get no page: {fresh:?}"
    );
    let root = std::fs::read_to_string(dir.path().join("karmadactl.1")).unwrap();
    assert!(root.contains(".SH \"EXIT STATUS\""), "{root}");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        let _ = std::fs::remove_dir_all(repo("docs/man"));
    }
    for name in &fresh {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        check_generated(&format!("docs/man/{name}"), &text);
    }
    assert_eq!(
        names(&repo("docs/man")),
        fresh,
        "docs/man has pages the CLI no longer generates; regenerate with `{REGENERATE}`"
    );
}

#[test]
fn runs_as_a_kubectl_plugin_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-karmada");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_karmadactl"), &plugin).unwrap();
    let run = |args: &[&str]| {
        Command::new(&plugin)
            .args(args)
            .env("KUBECONFIG", "/nonexistent/karmadactl-test-kubeconfig")
            .env_remove("COMPLETE")
            .output()
            .unwrap()
    };
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Usage: kubectl karmada [OPTIONS] <COMMAND>"),
        "{help}"
    );
    assert!(
        help.contains("Use \"kubectl karmada <command> --help\""),
        "{help}"
    );
    let help = String::from_utf8_lossy(&run(&["get", "--help"]).stdout).into_owned();
    assert!(help.contains("Usage: kubectl karmada get"), "{help}");
    assert!(
        help.contains("  kubectl karmada get clusters\n"),
        "examples: {help}"
    );
    assert!(!help.contains("  karmadactl get"), "{help}");
    let out = run(&["version", "--client", "-o", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["client"]["version"], env!("CARGO_PKG_VERSION"));
    let out = run(&["get", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Usage: kubectl karmada get"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Through kubectl itself when it is installed: plugins are found on PATH.
    let Some(kubectl) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubectl"))
            .find(|p| p.is_file())
    }) else {
        eprintln!("kubectl not on PATH: skipping `kubectl karmada`");
        return;
    };
    let path = std::env::join_paths(
        std::iter::once(dir.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = Command::new(kubectl)
        .args(["karmada", "version", "--client"])
        .env("PATH", path)
        .env("KUBECONFIG", "/nonexistent/karmadactl-test-kubeconfig")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl karmada: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("karmadactl version:"));
}

#[test]
fn exit_status_is_0_done_1_failed_2_usage() {
    let code = |args: &[&str]| karmadactl().args(args).output().unwrap().status.code();
    assert_eq!(code(&["--help"]), Some(0));
    assert_eq!(code(&["version", "--client"]), Some(0));
    // clap's own usage errors and ours (checked before anything is attempted).
    assert_eq!(code(&["get"]), Some(2));
    assert_eq!(code(&["no-such-command"]), Some(2));
    assert_eq!(code(&["get", "clusters", "a", "-l", "x=y"]), Some(2));
    assert_eq!(code(&["get", "cm", "-o", "yaml", "--show-labels"]), Some(2));
    assert_eq!(code(&["taint", "clusters", "m1", "bad=spec"]), Some(2));
    assert_eq!(
        code(&["init", "--etcd-replicas", "2", "--dry-run"]),
        Some(2)
    );
    // A failure: the control plane cannot be reached.
    assert_eq!(code(&["get", "clusters"]), Some(1));
    assert_eq!(code(&["cordon", "m1"]), Some(1));
}

#[test]
fn no_color_turns_colours_off() {
    let help = |no_color: bool| {
        let mut cmd = karmadactl();
        cmd.arg("--help").env("CLICOLOR_FORCE", "1");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    assert!(help(false).contains('\u{1b}'), "forced colours are used");
    assert!(!help(true).contains('\u{1b}'), "NO_COLOR wins");
    let out = karmadactl()
        .args(["get", "--bogus"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}
