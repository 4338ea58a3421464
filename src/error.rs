//! The library's error type. Every variant reads as one line a user can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kubeconfig could not be read or does not hold what was asked for.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: PathBuf, message: String },

    /// The control plane (or a member) could not be reached.
    #[error("cannot reach {target}: {message}")]
    Unreachable { target: String, message: String },

    /// Input the user gave is wrong; `message` says how to fix it.
    #[error("{0}")]
    Invalid(String),

    /// A fault the user did not cause (a lost lease, a state that should not happen).
    #[error("internal error: {0}")]
    Internal(String),

    /// Something the user named does not exist.
    #[error("{0}")]
    NotFound(String),

    /// A wait ran out of time; `message` says what was last seen.
    #[error("timed out: {0}")]
    Timeout(String),

    /// The user interrupted (Ctrl-C); `message` says what was undone.
    #[error("interrupted: {0}")]
    Interrupted(String),

    #[error(transparent)]
    Kube(#[from] kube::Error),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
