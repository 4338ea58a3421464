//! The kind path of `karmadactl init`: check Docker and kind, create or reuse the host cluster
//! `karmada-host`, and build + load the karmada-reconciler image. Every step runs the real
//! `docker` / `kind` executables found on PATH, so tests substitute stand-ins there.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{Error, Result};

/// The kind cluster init creates and deinit deletes.
pub const CLUSTER: &str = "karmada-host";

/// The image's Dockerfile; `Dockerfile` at the repository root is the same file.
pub const DOCKERFILE: &str = "\
# karmada-reconciler, as `karmadactl init` builds it around an installed binary.
# Build by hand: cp $(command -v karmada-reconciler) . && docker build -t karmada-reconciler:dev .
FROM gcr.io/distroless/cc-debian12:nonroot
COPY karmada-reconciler /usr/local/bin/karmada-reconciler
ENTRYPOINT [\"/usr/local/bin/karmada-reconciler\"]
";

/// The first `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn run<I, S>(program: &str, args: I) -> Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    Command::new(program)
        .args(&args)
        .output()
        .map_err(|e| Error::io(format!("running {program} {}", shown.join(" ")), e))
}

/// Runs `program args` and returns stdout, or an error with the last lines of stderr.
fn run_ok(program: &str, args: &[&str], hint: &str) -> Result<String> {
    let out = run(program, args)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(Error::Other(anyhow::anyhow!(
        "`{program} {}` failed ({}): {}; {hint}",
        args.join(" "),
        out.status,
        tail(&out.stderr, 5)
    )))
}

fn tail(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let s = lines[start..].join(" | ");
    if s.is_empty() { "no output".into() } else { s }
}

/// Docker and kind are installed and the Docker daemon answers.
pub fn check_tools() -> Result<()> {
    const OR_EXISTING: &str =
        "or install into an existing cluster with --kubeconfig (and --context)";
    if which("docker").is_none() {
        return Err(Error::NotFound(format!(
            "docker not found on PATH: install Docker (https://docs.docker.com/engine/install/), {OR_EXISTING}"
        )));
    }
    if which("kind").is_none() {
        return Err(Error::NotFound(format!(
            "kind not found on PATH: install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), {OR_EXISTING}"
        )));
    }
    let out = run("docker", ["info", "--format", "{{.ServerVersion}}"])?;
    if !out.status.success() {
        return Err(Error::Unreachable {
            target: "the Docker daemon".into(),
            message: format!(
                "`docker info` failed: {}; the Docker daemon does not answer: start it \
                 (`sudo systemctl start docker`, or open Docker Desktop) and check that your user \
                 may use it (`docker info`), {OR_EXISTING}",
                tail(&out.stderr, 3)
            ),
        });
    }
    Ok(())
}

/// Whether kind has a cluster named `name`.
pub fn cluster_exists(name: &str) -> Result<bool> {
    let out = run_ok("kind", &["get", "clusters"], "check that kind works")?;
    Ok(out.lines().any(|l| l.trim() == name))
}

/// The kind cluster configuration: one node whose NodePort `node_port` is published on the
/// host's 127.0.0.1, so karmada-apiserver is reachable at `https://127.0.0.1:<node_port>`.
pub fn cluster_config(node_port: u16) -> String {
    format!(
        "kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraPortMappings:
  - containerPort: {node_port}
    hostPort: {node_port}
    listenAddress: \"127.0.0.1\"
    protocol: TCP
"
    )
}

/// Fails clearly when `port` on 127.0.0.1 is taken (kind could not publish the NodePort).
pub fn check_port_free(port: u16) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Invalid(format!(
            "port {port} on 127.0.0.1 is not available ({e}); kind must publish karmada-apiserver \
             there: stop what listens on it (`ss -ltnp 'sport = :{port}'`) or pass --port with \
             another NodePort in 30000-32767"
        ))),
    }
}

/// Creates kind cluster `name` publishing `node_port`.
pub fn create_cluster(name: &str, node_port: u16, work_dir: &Path) -> Result<()> {
    let config = work_dir.join("kind-config.yaml");
    std::fs::write(&config, cluster_config(node_port))
        .map_err(|e| Error::io(format!("writing {}", config.display()), e))?;
    let config = config.display().to_string();
    run_ok(
        "kind",
        &["create", "cluster", "--name", name, "--config", &config],
        "see kind's message above; `kind delete cluster --name karmada-host` cleans up a half-made cluster",
    )
    .map(drop)
}

/// `kind get kubeconfig --name <name>`.
pub fn kubeconfig(name: &str) -> Result<String> {
    run_ok(
        "kind",
        &["get", "kubeconfig", "--name", name],
        "is the kind cluster running (`kind get clusters`)?",
    )
}

pub fn delete_cluster(name: &str) -> Result<()> {
    run_ok(
        "kind",
        &["delete", "cluster", "--name", name],
        "delete it by hand with `kind delete cluster`",
    )
    .map(drop)
}

/// The installed karmada-reconciler: next to the running karmadactl, else on PATH.
pub fn reconciler_binary() -> Result<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("karmada-reconciler")))
        .filter(|p| is_executable(p))
        .or_else(|| which("karmada-reconciler"))
        .ok_or_else(|| {
            Error::NotFound(
                "karmada-reconciler not found next to karmadactl or on PATH: install it \
                 (`cargo install --path . --locked`) or pass --reconciler-image with a pushed image"
                    .into(),
            )
        })
}

/// The tag init gives the image it builds: it changes exactly when the binary does.
pub fn reconciler_image_tag(binary: &Path) -> Result<String> {
    let bytes =
        std::fs::read(binary).map_err(|e| Error::io(format!("reading {}", binary.display()), e))?;
    Ok(format!(
        "karmada-reconciler:v{}-{}",
        env!("CARGO_PKG_VERSION"),
        super::manifests::short_hash(&bytes)
    ))
}

/// `docker build` of [`DOCKERFILE`] around `binary`, tagged `tag`.
pub fn build_image(binary: &Path, tag: &str, work_dir: &Path) -> Result<()> {
    let context = work_dir.join("image");
    std::fs::create_dir_all(&context)
        .map_err(|e| Error::io(format!("creating {}", context.display()), e))?;
    std::fs::copy(binary, context.join("karmada-reconciler"))
        .map_err(|e| Error::io(format!("copying {}", binary.display()), e))?;
    std::fs::write(context.join("Dockerfile"), DOCKERFILE)
        .map_err(|e| Error::io("writing the Dockerfile", e))?;
    let dir = context.display().to_string();
    run_ok(
        "docker",
        &["build", "-t", tag, &dir],
        "or build and push an image yourself and pass --reconciler-image",
    )
    .map(drop)
}

/// `kind load docker-image <tag> --name <cluster>`.
pub fn load_image(tag: &str, cluster: &str) -> Result<()> {
    run_ok(
        "kind",
        &["load", "docker-image", tag, "--name", cluster],
        "check `docker images` lists it",
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_publishes_the_node_port_on_loopback() {
        let c = cluster_config(32443);
        assert!(c.contains("containerPort: 32443"));
        assert!(c.contains("hostPort: 32443"));
        assert!(c.contains("listenAddress: \"127.0.0.1\""));
    }

    #[test]
    fn dockerfile_matches_the_repository_copy() {
        let repo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile"))
            .expect("Dockerfile at the repository root");
        assert_eq!(repo, DOCKERFILE);
    }
}
