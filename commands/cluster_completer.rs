//! Completes cluster names from the live control plane (clap_complete's dynamic completion).
//!
//! The completer sees only the word being completed, so it reads `--kubeconfig` and
//! `--karmada-context` from the command line the shell passed (else `$KUBECONFIG`). It lists
//! Clusters with a short timeout and offers nothing, silently, when the control plane cannot
//! be reached.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use clap_complete::engine::CompletionCandidate;
use karmadactl::api::Cluster;
use karmadactl::client::connect::Target;
use kube::ResourceExt as _;
use kube::api::{Api, ListParams};

/// The whole completion request is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Flags of any subcommand that take a separate value (to skip over them).
const VALUE_FLAGS: &[&str] = &[
    "--kubeconfig",
    "--karmada-context",
    "-o",
    "--output",
    "-l",
    "--selector",
    "-n",
    "--namespace",
    "-s",
    "--operation-scope",
    "-C",
    "--clusters",
    "--cluster",
    "--member-timeout",
    "--cluster-kubeconfig",
    "--cluster-context",
    "--wait-timeout",
];

/// Commands whose first positional is a resource type; names are clusters only for clusters.
const TYPED: &[&str] = &["get", "taint", "describe"];

/// `ArgValueCompleter` for a cluster name.
pub fn cluster_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let words = command_words(&args);
    if !wants_clusters(&words) {
        return Vec::new();
    }
    complete(&words, current)
}

fn complete(words: &[String], current: &OsStr) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy().to_string();
    let target = target_from(words);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let names = runtime.block_on(async {
        tokio::time::timeout(TIMEOUT, list(&target))
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    });
    // Do not wait for connections still being torn down.
    runtime.shutdown_background();
    names
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// `ArgValueCompleter` for a flag that always names a member cluster (`-C/--cluster`).
pub fn member_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let args: Vec<OsString> = std::env::args_os().collect();
    complete(&command_words(&args), current)
}

async fn list(target: &Target) -> Option<Vec<String>> {
    let client = target.client_with_timeout(Some(TIMEOUT)).await.ok()?;
    let clusters: Api<Cluster> = Api::all(client);
    let mut names: Vec<String> = clusters
        .list_metadata(&ListParams::default())
        .await
        .ok()?
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    names.sort();
    Some(names)
}

/// The words of the command being completed: after `--` and the program name, like
/// `COMPLETE=bash karmadactl -- karmadactl get clusters m`.
fn command_words(args: &[OsString]) -> Vec<String> {
    let all: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match all.iter().position(|a| a == "--") {
        Some(i) => all.into_iter().skip(i + 2).collect(),
        None => all.into_iter().skip(1).collect(),
    }
}

/// The positional words (flags and their values removed).
fn positionals(words: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            skip = !w.contains('=') && VALUE_FLAGS.contains(&w.as_str());
            continue;
        }
        out.push(w.as_str());
    }
    out
}

/// For get/taint/describe, only when the resource type is clusters.
fn wants_clusters(words: &[String]) -> bool {
    let pos = positionals(words);
    match pos.first() {
        Some(cmd) if TYPED.contains(cmd) => pos.get(1).is_some_and(|t| {
            matches!(
                *t,
                "cluster"
                    | "clusters"
                    | "cluster.cluster.karmada.io"
                    | "clusters.cluster.karmada.io"
            )
        }),
        _ => true,
    }
}

/// `--kubeconfig` and `--karmada-context` as given on the line being completed.
fn target_from(words: &[String]) -> Target {
    let mut target = Target::default();
    let mut iter = words.iter().peekable();
    while let Some(w) = iter.next() {
        for (flag, slot) in [("--kubeconfig", 0), ("--karmada-context", 1)] {
            let value = if let Some(v) = w.strip_prefix(&format!("{flag}=")) {
                Some(v.to_string())
            } else if w == flag {
                iter.peek().map(|v| v.to_string())
            } else {
                None
            };
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                if slot == 0 {
                    target.kubeconfig = Some(v.into());
                } else {
                    target.context = Some(v);
                }
            }
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        command_words(&args)
    }

    #[test]
    fn reads_the_control_plane_flags_from_the_line() {
        let w = words("karmadactl -- karmadactl --kubeconfig /k cordon --karmada-context=cp m");
        let t = target_from(&w);
        assert_eq!(t.kubeconfig.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(t.context.as_deref(), Some("cp"));
    }

    #[test]
    fn typed_commands_complete_clusters_only() {
        assert!(wants_clusters(&words("karmadactl -- karmadactl unjoin m")));
        assert!(wants_clusters(&words(
            "karmadactl -- karmadactl --kubeconfig /k get clusters m"
        )));
        assert!(!wants_clusters(&words(
            "karmadactl -- karmadactl get pods m"
        )));
        assert!(wants_clusters(&words(
            "karmadactl -- karmadactl taint -o x cluster m"
        )));
    }
}
