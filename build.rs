// Records build facts that `karmadactl version` prints: git commit, build date, rustc, target.
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit =
        run("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
    let commit = if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    };
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|e| {
            run(
                "date",
                &["-u", "-d", &format!("@{e}"), "+%Y-%m-%dT%H:%M:%SZ"],
            )
        })
        .or_else(|| run("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KARMADACTL_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KARMADACTL_BUILD_DATE={date}");
    println!("cargo:rustc-env=KARMADACTL_RUSTC={rustc_version}");
    println!(
        "cargo:rustc-env=KARMADACTL_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    // Rebuild when HEAD moves, not on every source change. Ask git where HEAD and the refs are:
    // in a worktree `.git` is a file, and a path that does not exist makes cargo rerun this
    // script (and so rebuild the crate, the date having changed) on every command.
    // Only this branch's ref: other worktrees' commits touch `refs/heads` too.
    let git_dir = run("git", &["rev-parse", "--git-dir"]).unwrap_or_else(|| ".git".into());
    println!("cargo:rerun-if-changed={git_dir}/HEAD");
    if let (Some(common), Some(branch)) = (
        run("git", &["rev-parse", "--git-common-dir"]),
        run("git", &["symbolic-ref", "-q", "HEAD"]),
    ) {
        let loose = std::path::Path::new(&common).join(&branch);
        let watched = if loose.exists() {
            loose
        } else {
            std::path::Path::new(&common).join("packed-refs")
        };
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}
