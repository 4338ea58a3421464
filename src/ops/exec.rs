//! `karmadactl exec` and `karmadactl attach`: a process in a container of a pod in the control
//! plane or a member, over the API server's WebSocket streams (kube's `ws`): stdout and stderr
//! copied out, stdin (`-i`) copied in, a raw local terminal and its size with `-t`, and the
//! remote exit code returned.

use std::io::IsTerminal as _;

use futures::SinkExt as _;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::ResourceExt as _;
use kube::api::{Api, AttachParams, AttachedProcess, TerminalSize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use crate::ops::pods;
use crate::ops::scope::Session;
use crate::{Error, Result};

/// Exec or attach options, validated.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// `POD` or `TYPE/NAME`.
    pub pod: String,
    pub container: Option<String>,
    pub namespace: Option<String>,
    /// `-i`: pass stdin to the container.
    pub stdin: bool,
    /// `-t`: stdin is a TTY (the local terminal is put in raw mode).
    pub tty: bool,
    /// `-q`: only the remote session's output.
    pub quiet: bool,
}

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Run this command.
    Exec(Vec<String>),
    /// Attach to the container's main process.
    Attach,
}

/// The remote process ended with a non-zero exit code (kubectl: "command terminated with exit
/// code N"); `karmadactl` exits with the same code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("command terminated with exit code {0}")]
pub struct ExitCode(pub i32);

/// Starts the process and wires it to this process's stdin/stdout/stderr until it ends.
/// Returns the remote exit code (0, or [`ExitCode`] as an error is left to the caller).
/// `notes` receives what kubectl prints on stderr before the session ("Defaulted container",
/// "If you don't see a command prompt...").
pub async fn run(
    session: &Session,
    opts: &ExecOptions,
    mode: &Mode,
    notes: &mut dyn FnMut(String),
) -> Result<i32> {
    let namespace = session.namespace(opts.namespace.as_deref());
    let (pod, note) = pods::find(session, &namespace, &opts.pod).await?;
    if let Some(n) = note.filter(|_| !opts.quiet) {
        notes(n);
    }
    let what = match mode {
        Mode::Exec(_) => "exec",
        Mode::Attach => "attach",
    };
    pods::require_node(session, &pod, what)?;
    if let Some(phase) = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .filter(|p| matches!(*p, "Succeeded" | "Failed"))
    {
        return Err(Error::Invalid(format!(
            "cannot {what} into a container in a completed pod; {} is {phase}",
            pods::pod_name(session, &pod)
        )));
    }
    let (container, note) = pods::container(session, &pod, opts.container.as_deref())?;
    if let Some(n) = note.filter(|_| !opts.quiet) {
        notes(n);
    }
    // A TTY needs a terminal on this side; kubectl goes on without one.
    let tty = if opts.tty && !(opts.stdin && std::io::stdin().is_terminal()) {
        if !opts.quiet {
            notes("Unable to use a TTY - input is not a terminal or the right kind of file".into());
        }
        false
    } else {
        opts.tty
    };
    let params = AttachParams {
        container: Some(container.clone()),
        stdin: opts.stdin,
        stdout: true,
        stderr: !tty,
        tty,
        ..AttachParams::default()
    };
    let api: Api<Pod> = Api::namespaced(session.client.clone(), &namespace);
    let name = pod.name_any();
    let started = match mode {
        Mode::Exec(command) => api.exec(&name, command.clone(), &params).await,
        Mode::Attach => api.attach(&name, &params).await,
    };
    let mut process = started.map_err(|e| pods::kubelet_error(session, &pod, e))?;
    if *mode == Mode::Attach && (opts.stdin || tty) && !opts.quiet {
        notes("If you don't see a command prompt, try pressing enter.".into());
    }
    let _raw = if tty { RawTerminal::enable() } else { None };
    let status = wire(&mut process, opts.stdin, tty).await;
    let _ = process.join().await;
    match status {
        None => Ok(0),
        Some(s) => exit_code(session, &pod, &s),
    }
}

/// Copies the streams until the process ends; returns its Status.
async fn wire(process: &mut AttachedProcess, stdin: bool, tty: bool) -> Option<Status> {
    let status = process.take_status();
    let out = process
        .stdout()
        .map(|r| tokio::spawn(copy_out(r, tokio::io::stdout())));
    let err = process
        .stderr()
        .map(|r| tokio::spawn(copy_out(r, tokio::io::stderr())));
    let input = if stdin {
        process.stdin().map(|w| tokio::spawn(copy_stdin(w)))
    } else {
        None
    };
    let resize = if tty {
        process
            .terminal_size()
            .map(|tx| tokio::spawn(follow_terminal_size(tx)))
    } else {
        None
    };
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    for task in [out, err].into_iter().flatten() {
        let _ = task.await;
    }
    for task in [input, resize].into_iter().flatten() {
        task.abort();
    }
    status
}

async fn copy_out<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(mut from: R, mut to: W) {
    let _ = tokio::io::copy(&mut from, &mut to).await;
    let _ = to.flush().await;
}

/// Reads stdin on a plain thread (a blocking read must not hold up the runtime's shutdown)
/// and forwards it; end of input closes the remote stdin.
async fn copy_stdin<W: AsyncWrite + Unpin>(mut to: W) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        use std::io::Read as _;
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    while let Some(chunk) = rx.recv().await {
        if to.write_all(&chunk).await.is_err() || to.flush().await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// Sends the local terminal's size now and whenever it changes (SIGWINCH).
async fn follow_terminal_size(mut tx: futures::channel::mpsc::Sender<TerminalSize>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut changes) = signal(SignalKind::window_change()) else {
        return;
    };
    loop {
        if let Some(size) = terminal_size()
            && tx.send(size).await.is_err()
        {
            return;
        }
        if changes.recv().await.is_none() {
            return;
        }
    }
}

fn terminal_size() -> Option<TerminalSize> {
    // SAFETY: TIOCGWINSZ fills a plain struct; we pass a valid pointer to one.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            Some(TerminalSize {
                width: ws.ws_col,
                height: ws.ws_row,
            })
        } else {
            None
        }
    }
}

/// The local terminal in raw mode (keys go to the remote TTY as typed); restored on drop.
pub struct RawTerminal(libc::termios);

impl RawTerminal {
    pub fn enable() -> Option<RawTerminal> {
        // SAFETY: tcgetattr/tcsetattr on stdin with valid termios structs.
        unsafe {
            let mut original: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut original) != 0 {
                return None;
            }
            let mut raw = original;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawTerminal(original))
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in enable().
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}

/// What a final Status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The process exited with this code.
    Exited(i32),
    /// The API server could not reach the kubelet.
    KubeletUnreachable(String),
    /// Anything else the server refused.
    Failed(String),
}

/// Reads the final Status: Success is exit code 0, NonZeroExitCode carries the code.
pub fn ended(status: &Status) -> Ended {
    if status.status.as_deref() == Some("Success") {
        return Ended::Exited(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.reason.as_deref() == Some("ExitCode"))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse::<i32>().ok())
            .unwrap_or(1);
        return Ended::Exited(code);
    }
    let message = status.message.clone().unwrap_or_default();
    if status.code.is_some_and(|c| c >= 500) || looks_like_kubelet_failure(&message) {
        Ended::KubeletUnreachable(message)
    } else {
        Ended::Failed(message)
    }
}

/// The exit code a final Status carries, or the error it reports.
pub fn exit_code(session: &Session, pod: &Pod, status: &Status) -> Result<i32> {
    match ended(status) {
        Ended::Exited(code) => Ok(code),
        Ended::KubeletUnreachable(message) => {
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            Err(pods::kubelet_did_not_answer(session, pod, &node, &message))
        }
        Ended::Failed(message) => Err(Error::Invalid(format!(
            "{}: {message}",
            pods::pod_name(session, pod)
        ))),
    }
}

/// Messages the API server sends when it cannot reach a kubelet.
fn looks_like_kubelet_failure(message: &str) -> bool {
    [
        "dial tcp",
        "error dialing backend",
        "connection refused",
        "i/o timeout",
        "no route to host",
        "kubelet",
    ]
    .iter()
    .any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    #[test]
    fn kubelet_failures_are_recognised() {
        assert!(looks_like_kubelet_failure(
            "error dialing backend: dial tcp 127.0.0.1:1: connect: connection refused"
        ));
        assert!(!looks_like_kubelet_failure("container not found (\"x\")"));
    }

    #[test]
    fn final_status_gives_the_exit_code_or_the_failure() {
        let exited = |code: &str| Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some(code.into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(ended(&exited("3")), Ended::Exited(3));
        assert_eq!(
            ended(&Status {
                status: Some("Success".into()),
                ..Default::default()
            }),
            Ended::Exited(0)
        );
        let refused = Status {
            status: Some("Failure".into()),
            message: Some("error dialing backend: dial tcp 127.0.0.1:1: connection refused".into()),
            ..Default::default()
        };
        assert!(matches!(ended(&refused), Ended::KubeletUnreachable(_)));
        let other = Status {
            status: Some("Failure".into()),
            message: Some("container not found".into()),
            code: Some(400),
            ..Default::default()
        };
        assert_eq!(ended(&other), Ended::Failed("container not found".into()));
    }
}
