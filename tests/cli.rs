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
