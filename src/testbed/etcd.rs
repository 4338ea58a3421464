//! The one etcd every cluster of a bed stores its data in (each under its own prefix).

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::process::{Process, free_port, wait_ready};
use super::{POLL_INTERVAL, START_TIMEOUT};
use crate::Result;

pub(crate) struct Etcd {
    pub(crate) process: Process,
    pub(crate) url: String,
}

impl Etcd {
    /// Starts etcd with its data in `dir/data` and waits until `/health` says so.
    pub(crate) async fn start(binary: &Path, dir: &Path) -> Result<Etcd> {
        let client_port = free_port()?;
        let peer_port = free_port()?;
        let url = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let args = vec![
            "--name=testbed".to_string(),
            format!("--data-dir={}", dir.join("data").display()),
            format!("--listen-client-urls={url}"),
            format!("--advertise-client-urls={url}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=testbed={peer}"),
            // Throwaway data: skipping fsync makes every apiserver write much faster.
            "--unsafe-no-fsync=true".to_string(),
            "--log-level=warn".to_string(),
        ];
        let mut process = Process::spawn("etcd", binary, &args, &dir.join("etcd.log"))?;
        wait_ready(&mut process, "etcd", START_TIMEOUT, POLL_INTERVAL, || {
            health(client_port)
        })
        .await?;
        Ok(Etcd { process, url })
    }
}

/// etcd's `/health` over plain HTTP/1.0; no HTTP client library needed for one GET.
async fn health(port: u16) -> std::result::Result<(), String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        std::io::Result::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "no answer within 5s".to_string())?
        .map_err(|e| e.to_string())?;
    let ok = response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200");
    if ok && response.contains(r#""health":"true""#) {
        return Ok(());
    }
    Err(response.lines().last().unwrap_or_default().to_string())
}
