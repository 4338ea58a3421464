//! Real kube-apiservers on loopback, for tests and `hack/local-up.sh`.
//!
//! A [`TestBed`] runs one etcd and one kube-apiserver per cluster: the Karmada control plane
//! ([`CONTROL_PLANE`]) and the members named in [`BedSpec::members`]. Each cluster has its own CA,
//! serving certificate, admin client certificate (CN=admin, O=system:masters), service-account
//! keys and etcd prefix, so clusters are as independent as real ones; RBAC and TLS verification
//! are on.
//!
//! ```no_run
//! # async fn demo() -> karmadactl::Result<()> {
//! use karmadactl::testbed::{BedSpec, TestBed, CONTROL_PLANE};
//! let bed = TestBed::start(BedSpec::new(&["member1"])).await?;
//! let control_plane = bed.client(CONTROL_PLANE).await?;
//! let member1 = bed.client("member1").await?;
//! # Ok(()) }
//! ```
//!
//! Tests that can share clusters use [`shared()`] (control plane + member1 + member2, started
//! once per test process) and give everything they create unique names.
//!
//! Files: state and logs go to `<target dir>/testbed/<bed id>/` (see [`target_dir`]):
//! `etcd/etcd.log`, `<cluster>/kube-apiserver.log`, `<cluster>/kubeconfig`, `<cluster>/pki/`,
//! `kubeconfig` (all contexts). The directory is removed when the bed is dropped, unless
//! `KARMADACTL_KEEP_TESTBED=1`; after a failed start or a panicking test only the etcd data is
//! removed and the path of the logs is printed.
//! A caller-provided [`BedSpec::state_dir`] belongs to the caller and is never removed.
//!
//! Processes: every child gets `PR_SET_PDEATHSIG(SIGKILL)` and is killed when the bed drops, so
//! nothing outlives the test process, however it ends. Tests and benchmarks start
//! `karmada-reconciler` the same way, through [`Reconciler`], a guard that kills it on drop.

mod apiserver;
mod controller_manager;
mod etcd;
pub mod metrics;
mod process;
mod reconciler;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kube::config::Kubeconfig;

use self::apiserver::{ClusterState, unknown_cluster};
use self::etcd::Etcd;
use self::process::Process;
pub use self::reconciler::{Reconciler, ReconcilerBuilder};
use crate::install::pki::CertificateAuthority;
use crate::kubeconfig::{self, Credential};
use crate::{Error, Result};

/// The control plane's cluster and context name, as `karmadactl init` names it.
pub const CONTROL_PLANE: &str = "karmada-apiserver";

/// Set to `1` to keep bed directories (state and logs) after the bed is dropped.
pub const KEEP_ENV: &str = "KARMADACTL_KEEP_TESTBED";

/// Overrides where the Kubernetes binaries are looked up.
pub const BIN_DIR_ENV: &str = "KARMADACTL_TEST_BIN_DIR";

/// Generous: three apiservers starting at once on a loaded 2-core machine take a while.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Long enough for a local-up environment left running for months.
pub(crate) const CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

pub use crate::versions::kube_version;

/// `$KARMADACTL_CACHE`, else `$XDG_CACHE_HOME/karmadactl`, else `~/.cache/karmadactl`, as in
/// `hack/build-test-binaries.sh`.
pub fn cache_dir() -> PathBuf {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("KARMADACTL_CACHE") {
        return dir.into();
    }
    let base = env("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".cache")
    });
    base.join("karmadactl")
}

/// Where etcd, kube-apiserver and kube-controller-manager are: `$KARMADACTL_TEST_BIN_DIR`, else
/// `<cache>/bin/kube-<KUBE_VERSION>` (filled by `hack/build-test-binaries.sh`).
pub fn binaries_dir() -> PathBuf {
    match std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => dir.into(),
        None => cache_dir()
            .join("bin")
            .join(format!("kube-{}", kube_version())),
    }
}

fn binary(name: &str) -> Result<PathBuf> {
    let path = binaries_dir().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::NotFound(format!(
            "{} is missing; run hack/build-test-binaries.sh (or set {BIN_DIR_ENV} to a directory \
             with etcd, kube-apiserver and kube-controller-manager)",
            path.display()
        )))
    }
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else the nearest ancestor of the running
/// executable holding cargo's `CACHEDIR.TAG` (test binaries live in `target/debug/deps`), else
/// `target/` next to this crate's `Cargo.toml`.
pub fn target_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return manifest.join(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| manifest.join("target"))
}

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct BedSpec {
    /// Member cluster names (also their context names), e.g. `["member1", "member2"]`.
    pub members: Vec<String>,
    /// Also run kube-controller-manager for the control plane (namespace deletion, garbage
    /// collection, service-account tokens).
    pub controller_manager: bool,
    /// Where state and logs go. Default: `<target dir>/testbed/<bed id>`, removed on drop. A
    /// directory given here belongs to the caller: it is not removed, and the parts the bed
    /// writes (etcd data, per-cluster files) are replaced at start.
    pub state_dir: Option<PathBuf>,
}

impl BedSpec {
    pub fn new(members: &[&str]) -> Self {
        BedSpec {
            members: members.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let mut seen = vec![CONTROL_PLANE];
        for name in &self.members {
            let valid = !name.is_empty()
                && name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-');
            if !valid {
                return Err(Error::Invalid(format!(
                    "member name {name:?} is not a DNS label; use lowercase letters, digits and '-'"
                )));
            }
            if seen.contains(&name.as_str()) {
                return Err(Error::Invalid(format!(
                    "member name {name:?} is used twice or is the control plane's; give each \
                     member a unique name"
                )));
            }
            seen.push(name);
        }
        Ok(())
    }
}

/// One running cluster of the bed.
#[derive(Debug)]
pub struct BedCluster {
    /// Cluster, context and user name in every kubeconfig the bed writes.
    pub name: String,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// A kubeconfig with only this cluster; its context is named after it.
    pub kubeconfig: PathBuf,
    /// The cluster's CA certificate (PEM).
    pub ca_pem: String,
    pub port: u16,
    admin: Credential,
    ca: CertificateAuthority,
}

/// Running etcd + kube-apiservers (+ kube-controller-manager). Everything stops on drop.
pub struct TestBed {
    id: String,
    dir: PathBuf,
    owns_dir: bool,
    failed: bool,
    kubeconfig: PathBuf,
    /// The control plane first, then the members in spec order.
    clusters: Vec<ClusterState>,
    controller_manager: Option<Process>,
    etcd: Option<Etcd>,
}

impl std::fmt::Debug for TestBed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBed")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .field("clusters", &self.clusters().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TestBed {
    /// Starts etcd, then all kube-apiservers concurrently (and kube-controller-manager as soon as
    /// the control plane is ready), and returns once every one answers `/readyz` and has its
    /// `default` namespace.
    pub async fn start(spec: BedSpec) -> Result<TestBed> {
        spec.validate()?;
        let etcd_bin = binary("etcd")?;
        let apiserver_bin = binary("kube-apiserver")?;
        let kcm_bin = spec
            .controller_manager
            .then(|| binary("kube-controller-manager"))
            .transpose()?;

        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (dir, owns_dir) = match &spec.state_dir {
            Some(dir) => (dir.clone(), false),
            None => (target_dir().join("testbed").join(&id), true),
        };
        let names: Vec<&str> = std::iter::once(CONTROL_PLANE)
            .chain(spec.members.iter().map(String::as_str))
            .collect();
        // Start from scratch: stale etcd data would not match the new certificates.
        let stale: Vec<PathBuf> = if owns_dir {
            vec![dir.clone()]
        } else {
            names.iter().chain(&["etcd"]).map(|n| dir.join(n)).collect()
        };
        for sub in stale {
            if sub.exists() {
                std::fs::remove_dir_all(&sub)
                    .map_err(|e| Error::io(format!("removing stale {}", sub.display()), e))?;
            }
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;

        let mut bed = TestBed {
            id,
            kubeconfig: dir.join("kubeconfig"),
            dir,
            owns_dir,
            failed: false,
            clusters: Vec::new(),
            controller_manager: None,
            etcd: None,
        };
        match bed.boot(&names, &etcd_bin, &apiserver_bin, kcm_bin).await {
            Ok(()) => Ok(bed),
            Err(e) => {
                // Keep the logs the error points at.
                bed.failed = true;
                Err(e)
            }
        }
    }

    async fn boot(
        &mut self,
        names: &[&str],
        etcd_bin: &Path,
        apiserver_bin: &Path,
        kcm_bin: Option<PathBuf>,
    ) -> Result<()> {
        let etcd = self
            .etcd
            .insert(Etcd::start(etcd_bin, &self.dir.join("etcd")).await?);
        let etcd_url = etcd.url.clone();
        for name in names {
            let port = process::free_port()?;
            let state =
                ClusterState::prepare(name, &self.dir.join(name), apiserver_bin, &etcd_url, port)?;
            self.clusters.push(state);
        }
        let mut combined = Kubeconfig::default();
        for cluster in self.clusters() {
            kubeconfig::upsert(&mut combined, &cluster.entry());
        }
        combined.current_context = Some(CONTROL_PLANE.to_string());
        kubeconfig::write(&self.kubeconfig, &combined)?;

        // kube-controller-manager needs only the control plane: it starts while the members'
        // apiservers are still coming up.
        let kcm_dir = self.dir.join(CONTROL_PLANE);
        let (control_plane, members) = self
            .clusters
            .split_first_mut()
            .expect("the control plane is always there");
        let control_plane_and_kcm = async {
            control_plane.start().await?;
            match kcm_bin {
                Some(bin) => controller_manager::start(&bin, &kcm_dir, control_plane)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let members = futures::future::try_join_all(members.iter_mut().map(ClusterState::start));
        let (kcm, _) = futures::future::try_join(control_plane_and_kcm, members).await?;
        self.controller_manager = kcm;
        Ok(())
    }

    /// Unique within the machine while the bed runs (`<pid>-<n>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The bed's state directory (certificates, kubeconfigs, etcd data, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One kubeconfig with a context per cluster (named after it); current context
    /// [`CONTROL_PLANE`].
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The cluster named `name`. Panics when there is none: that is a bug in the test.
    pub fn cluster(&self, name: &str) -> &BedCluster {
        match self.try_cluster(name) {
            Ok(cluster) => cluster,
            Err(e) => panic!("{e}"),
        }
    }

    fn try_cluster(&self, name: &str) -> Result<&BedCluster> {
        self.clusters()
            .find(|c| c.name == name)
            .ok_or_else(|| unknown_cluster(name, &self.names()))
    }

    fn names(&self) -> Vec<&str> {
        self.clusters().map(|c| c.name.as_str()).collect()
    }

    /// The control plane first, then the members.
    pub fn clusters(&self) -> impl Iterator<Item = &BedCluster> {
        self.clusters.iter().map(|c| &c.info)
    }

    /// The member clusters, in spec order.
    pub fn members(&self) -> impl Iterator<Item = &BedCluster> {
        self.clusters().skip(1)
    }

    /// A new admin client for cluster `name`, bound to the caller's tokio runtime.
    pub async fn client(&self, name: &str) -> Result<kube::Client> {
        let cluster = self.try_cluster(name)?;
        crate::client::connect::client_for(&cluster.kubeconfig, Some(name)).await
    }

    /// Kills cluster `name`'s kube-apiserver: the cluster becomes unreachable (connection
    /// refused) while its data stays in etcd.
    pub async fn stop_cluster(&mut self, name: &str) -> Result<()> {
        self.state_mut(name)?.stop();
        Ok(())
    }

    /// Starts cluster `name`'s kube-apiserver again on the same port, etcd prefix and
    /// certificates, and waits until it is ready. A no-op if it is running.
    pub async fn start_cluster(&mut self, name: &str) -> Result<()> {
        self.state_mut(name)?.start().await
    }

    fn state_mut(&mut self, name: &str) -> Result<&mut ClusterState> {
        let Some(index) = self.clusters.iter().position(|c| c.info.name == name) else {
            return Err(unknown_cluster(name, &self.names()));
        };
        Ok(&mut self.clusters[index])
    }

    /// `(process name, pid)` of every running child: etcd, each kube-apiserver, and
    /// kube-controller-manager.
    pub fn pids(&self) -> Vec<(String, u32)> {
        let etcd = self
            .etcd
            .as_ref()
            .and_then(|e| e.process.pid())
            .map(|pid| ("etcd".to_string(), pid));
        let apiservers = self.clusters.iter().filter_map(|c| {
            let pid = c.process.as_ref()?.pid()?;
            Some((format!("kube-apiserver/{}", c.info.name), pid))
        });
        let kcm = self
            .controller_manager
            .as_ref()
            .and_then(Process::pid)
            .map(|pid| ("kube-controller-manager".to_string(), pid));
        etcd.into_iter().chain(apiservers).chain(kcm).collect()
    }

    /// An error (with the end of its log) if a process exited by itself; clusters stopped with
    /// [`TestBed::stop_cluster`] do not count. For long-running beds (`karmada-testbed up`).
    pub fn check_processes(&mut self) -> Result<()> {
        let etcd = self.etcd.as_mut().map(|e| &mut e.process);
        let apiservers = self.clusters.iter_mut().filter_map(|c| c.process.as_mut());
        let kcm = self.controller_manager.as_mut();
        for process in etcd.into_iter().chain(apiservers).chain(kcm) {
            if let Some(status) = process.exited() {
                return Err(process.exited_error("unexpectedly", status));
            }
        }
        Ok(())
    }

    /// Log file of every process the bed started.
    pub fn logs(&self) -> Vec<PathBuf> {
        let etcd = self.etcd.as_ref().map(|e| e.process.log().to_path_buf());
        let apiservers = self
            .clusters
            .iter()
            .filter_map(|c| c.process.as_ref().map(|p| p.log().to_path_buf()));
        let kcm = self
            .controller_manager
            .as_ref()
            .map(|p| p.log().to_path_buf());
        etcd.into_iter().chain(apiservers).chain(kcm).collect()
    }

    /// Called once the processes are dead. An own directory is removed, except with
    /// `KARMADACTL_KEEP_TESTBED=1` (kept whole) or after a failure or panic (logs, certificates
    /// and kubeconfigs kept; etcd data, 120+ MB of preallocated WAL, removed).
    fn clean_up_dir(&self) {
        if !self.owns_dir {
            return;
        }
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("testbed {}: kept {}", self.id, self.dir.display());
        } else if self.failed || std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir.join("etcd").join("data"));
            eprintln!(
                "testbed {}: logs kept in {} (set {KEEP_ENV}=1 to keep etcd data too)",
                self.id,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        // Clients of etcd first, etcd last, so nothing logs spurious connection errors.
        if let Some(kcm) = &mut self.controller_manager {
            kcm.kill();
        }
        for cluster in &mut self.clusters {
            cluster.stop();
        }
        if let Some(etcd) = &mut self.etcd {
            etcd.process.kill();
        }
        self.clean_up_dir();
    }
}

static SHARED: OnceLock<std::result::Result<TestBed, String>> = OnceLock::new();

/// The bed shared by all tests of this test process: control plane, `member1`, `member2`.
/// Started on first use, stopped when the process exits. Tests must use unique names and
/// must not stop its clusters (start a bed of their own for that).
pub fn shared() -> &'static TestBed {
    let bed = SHARED.get_or_init(|| {
        // Its own thread and runtime: the caller may be inside a runtime (block_on would panic)
        // or in a plain #[test].
        let started = std::thread::Builder::new()
            .name("testbed-shared".into())
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("building a tokio runtime: {e}"))?;
                runtime
                    .block_on(TestBed::start(BedSpec::new(&["member1", "member2"])))
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| format!("spawning the testbed thread: {e}"))
            .and_then(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err("the testbed thread panicked".into()))
            });
        if started.is_ok() {
            // Statics are never dropped; this stops the processes and removes the directory.
            // SAFETY: registering a plain extern "C" fn with no captured state.
            unsafe { libc::atexit(stop_shared) };
        }
        started
    });
    match bed {
        Ok(bed) => bed,
        Err(e) => panic!("the shared test bed did not start: {e}"),
    }
}

extern "C" fn stop_shared() {
    let Some(Ok(bed)) = SHARED.get() else { return };
    for (_, pid) in bed.pids() {
        // SAFETY: these are our own children, not yet reaped (the bed is never dropped).
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
    bed.clean_up_dir();
}
