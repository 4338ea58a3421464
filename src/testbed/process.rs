//! Child processes of the test bed: spawned with `PR_SET_PDEATHSIG(SIGKILL)` from one thread that
//! lives as long as the process, logged to a file, killed on drop.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How many log lines a start-up error shows.
pub(crate) const LOG_TAIL_LINES: usize = 30;

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// The Linux parent-death signal fires when the *thread* that forked the child exits, not the
/// process. Test runtimes come and go, so every child is forked by this one thread, which never
/// exits: children then die exactly when the process dies (including SIGKILL of the process).
fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("testbed-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawning the testbed spawner thread");
        Mutex::new(tx)
    })
}

/// A running child process whose stdout and stderr go to `log`.
#[derive(Debug)]
pub(crate) struct Process {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Starts `program args...`, appending its output to `log`.
    pub(crate) fn spawn(name: &str, program: &Path, args: &[String], log: &Path) -> Result<Self> {
        Self::spawn_with_env(name, program, args, &[], log)
    }

    /// Like [`Process::spawn`], with `env` added to the inherited environment.
    pub(crate) fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
        let stderr = file
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", log.display()), e))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(stderr);
        let parent = std::process::id();
        // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect; then nobody would kill us.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::other("parent exited during spawn"));
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        spawner()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((command, tx))
            .map_err(|_| Error::Invalid("the testbed spawner thread is gone".into()))?;
        let child = rx
            .recv()
            .map_err(|_| Error::Invalid("the testbed spawner thread is gone".into()))?
            .map_err(|e| {
                let hint = if e.kind() == io::ErrorKind::NotFound {
                    "; run hack/build-test-binaries.sh"
                } else {
                    ""
                };
                Error::io(format!("starting {name} ({}){hint}", program.display()), e)
            })?;
        Ok(Process {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        })
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status if the process has exited (or was killed).
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends `signal` unless the process has exited (and been reaped: its pid may be reused).
    /// Returns whether it was sent.
    pub(crate) fn signal(&mut self, signal: libc::c_int) -> bool {
        if self.exited().is_some() {
            return false;
        }
        let Some(pid) = self.pid() else { return false };
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(pid as libc::pid_t, signal) == 0 }
    }

    /// Waits (blocking the thread) at most `timeout` for the process to exit.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap. Test beds hold no data worth a graceful shutdown.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// An error for a process that exited (`when`: "during start-up"), with the end of its log.
    pub(crate) fn exited_error(&self, when: &str, status: ExitStatus) -> Error {
        Error::Unreachable {
            target: self.name.clone(),
            message: format!("exited {when} ({status}){}", self.log_tail()),
        }
    }

    /// "; last N lines of LOG:\n..." for error messages.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log, LOG_TAIL_LINES)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    format!(
        "; last {} lines of {}:\n{tail}",
        all.len().min(lines),
        log.display()
    )
}

/// A loopback port nobody listens on now. Ports handed out by this process are never handed
/// out again, so beds started in parallel in one test process do not collide.
pub(crate) fn free_port() -> Result<u16> {
    static TAKEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let taken = taken.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("binding a free loopback port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("binding a free loopback port", e))?
            .port();
        if taken.insert(port) {
            return Ok(port);
        }
    }
    Err(Error::Invalid(
        "no free loopback port found after 100 tries; stop some test beds".into(),
    ))
}

/// Polls `check` every `interval` until it returns `Ok`, the process exits, or `timeout` passes.
/// `check` returns `Err(what was seen)` while not ready.
pub(crate) async fn wait_ready<F, Fut>(
    process: &mut Process,
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = process.exited() {
            return Err(process.exited_error("during start-up", status));
        }
        let last = match check().await {
            Ok(()) => return Ok(()),
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "{what} not ready after {}s (last seen: {last}){}",
                timeout.as_secs(),
                process.log_tail()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}
