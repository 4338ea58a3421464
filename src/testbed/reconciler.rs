//! `karmada-reconciler` as a child process of a test, a benchmark or a test bed: the one way
//! they start it. Spawned like the bed's own processes (parent-death signal, output to a log
//! file) and killed when the [`Reconciler`] guard drops, panics included, so a failing test
//! leaves no reconciler behind.
//!
//! ```no_run
//! # async fn demo(bed: &karmadactl::testbed::TestBed) -> karmadactl::Result<()> {
//! use std::time::Duration;
//! use karmadactl::testbed::Reconciler;
//! let mut reconciler = Reconciler::builder("target/debug/karmada-reconciler", bed)
//!     .args(["--leader-elect=false"])
//!     .env("RUST_LOG", "info")
//!     .start()?;
//! reconciler.wait_for_log("starting controllers", Duration::from_secs(60)).await?;
//! let status = reconciler.terminate(Duration::from_secs(15))?; // SIGTERM, bounded wait
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::process::{self, LOG_TAIL_LINES, Process};
use super::{CONTROL_PLANE, POLL_INTERVAL, TestBed};
use crate::{Error, Result};

/// How to start a reconciler; [`ReconcilerBuilder::start`] starts one, and a [`Reconciler`]
/// can start the same again ([`Reconciler::restart`]).
#[derive(Debug, Clone)]
pub struct ReconcilerBuilder {
    binary: PathBuf,
    kubeconfig: PathBuf,
    context: Option<String>,
    metrics_port: Option<u16>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    append_log: bool,
}

impl ReconcilerBuilder {
    /// `binary --kubeconfig KUBECONFIG`, output to `log` (truncated unless
    /// [`append_log`](Self::append_log)).
    pub fn new(
        binary: impl Into<PathBuf>,
        kubeconfig: impl Into<PathBuf>,
        log: impl Into<PathBuf>,
    ) -> Self {
        ReconcilerBuilder {
            binary: binary.into(),
            kubeconfig: kubeconfig.into(),
            context: None,
            metrics_port: None,
            args: Vec::new(),
            env: Vec::new(),
            log: log.into(),
            append_log: false,
        }
    }

    /// `--context`.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// The port of `--metrics-bind-address 127.0.0.1:PORT` (default: a free one).
    pub fn metrics_port(mut self, port: u16) -> Self {
        self.metrics_port = Some(port);
        self
    }

    /// More flags, after the kubeconfig, context and metrics address.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable on top of the inherited environment.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Where stdout and stderr go.
    pub fn log(mut self, log: impl Into<PathBuf>) -> Self {
        self.log = log.into();
        self
    }

    /// Append to the log instead of truncating it.
    pub fn append_log(mut self, append: bool) -> Self {
        self.append_log = append;
        self
    }

    /// Starts the process. It runs until [`Reconciler::terminate`], [`Reconciler::kill`] or
    /// the guard drops, and never outlives the calling process.
    pub fn start(&self) -> Result<Reconciler> {
        let port = match self.metrics_port {
            Some(port) => port,
            None => process::free_port()?,
        };
        if !self.append_log && self.log.exists() {
            std::fs::write(&self.log, b"")
                .map_err(|e| Error::io(format!("truncating {}", self.log.display()), e))?;
        }
        let mut args = vec![
            "--kubeconfig".to_string(),
            self.kubeconfig.display().to_string(),
        ];
        if let Some(context) = &self.context {
            args.extend(["--context".to_string(), context.clone()]);
        }
        args.extend([
            "--metrics-bind-address".to_string(),
            format!("127.0.0.1:{port}"),
        ]);
        args.extend(self.args.iter().cloned());
        let process = Process::spawn_with_env(
            "karmada-reconciler",
            &self.binary,
            &args,
            &self.env,
            &self.log,
        )?;
        let pid = process.pid().unwrap_or_default();
        Ok(Reconciler {
            spec: self.clone(),
            metrics_port: port,
            pid,
            process,
        })
    }
}

/// A running `karmada-reconciler`; SIGKILLed and reaped on drop.
#[derive(Debug)]
pub struct Reconciler {
    spec: ReconcilerBuilder,
    metrics_port: u16,
    pid: u32,
    process: Process,
}

impl Reconciler {
    /// For `bed`'s control plane: its kubeconfig, context [`CONTROL_PLANE`], output to
    /// `<bed dir>/reconciler.log`.
    pub fn builder(binary: impl Into<PathBuf>, bed: &TestBed) -> ReconcilerBuilder {
        ReconcilerBuilder::new(binary, bed.kubeconfig(), bed.dir().join("reconciler.log"))
            .context(CONTROL_PLANE)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its `/healthz`, `/readyz` and `/metrics` port on 127.0.0.1.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    pub fn log(&self) -> &Path {
        &self.spec.log
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.spec.log).unwrap_or_default()
    }

    /// "; last N lines of LOG:\n..." for messages.
    pub fn log_tail(&self) -> String {
        process::log_tail(&self.spec.log, LOG_TAIL_LINES)
    }

    /// The exit status once it has exited (by itself, or after [`terminate`](Self::terminate)).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.process.exited()
    }

    /// SIGTERM, then waits (blocking the thread) at most `timeout` for the exit. An error, with
    /// the log's end, if it is still running then (it is left running; the guard kills it).
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        self.process.signal(libc::SIGTERM);
        self.process.wait_timeout(timeout).ok_or_else(|| {
            Error::Timeout(format!(
                "karmada-reconciler (pid {}) still running {timeout:?} after SIGTERM{}",
                self.pid,
                self.log_tail()
            ))
        })
    }

    /// SIGKILL and reap: no graceful shutdown.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGKILL, then the same command again (same port and flags), appending to the log.
    pub fn restart(&mut self) -> Result<()> {
        self.process.kill();
        let spec = self
            .spec
            .clone()
            .metrics_port(self.metrics_port)
            .append_log(true);
        *self = spec.start()?;
        Ok(())
    }

    /// Waits until the log has a line containing `needle`. An error, with the log's end, if the
    /// process exits first or `timeout` passes.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().lines().any(|l| l.contains(needle)) {
                return Ok(());
            }
            if let Some(status) = self.process.exited() {
                return Err(self
                    .process
                    .exited_error(&format!("before logging {needle:?}"), status));
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "karmada-reconciler did not log {needle:?} within {timeout:?}{}",
                    self.log_tail()
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}
