//! Shared harness for the server tests: a server on loopback port 0 in a temp root, raw
//! TFTP packets, external-tool policy.
#![allow(dead_code, clippy::disallowed_methods, clippy::disallowed_types)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tftp_server::catalog::{Catalog, CatalogOptions, PublishGuard, Rejection, TrustListInfo};
use tftp_server::server::{Server, ServerOptions};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

pub mod clients;

/// Accepts every trust list (for tests that are not about the guard).
pub struct AcceptAll;

impl PublishGuard for AcceptAll {
    fn inspect(&self, _candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        Ok(TrustListInfo::signed_by("test signer"))
    }
    fn check_update(&self, _served: &[u8], _candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        Ok(TrustListInfo::signed_by("test signer"))
    }
}

/// A running server; shuts down when `stop` is called or the value is dropped.
pub struct Running {
    pub address: SocketAddr,
    pub addresses: Vec<SocketAddr>,
    pub catalog: Arc<Catalog>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Requests shutdown and waits for `run` to return (bounded).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server did not stop within 20 s")
                .expect("server task panicked");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

pub fn loopback_options() -> ServerOptions {
    ServerOptions {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        rescan_interval: Some(Duration::from_millis(20)),
        shutdown_grace: Duration::from_millis(500),
        ..ServerOptions::default()
    }
}

pub fn start_with(catalog: Arc<Catalog>, options: ServerOptions) -> Running {
    let server = Server::bind(options, Arc::clone(&catalog)).expect("bind");
    let addresses = server.local_addrs();
    let (shutdown, receiver) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = receiver.await;
    }));
    Running {
        address: addresses[0],
        addresses,
        catalog,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

pub fn open_catalog(root: &Path, guard: Arc<dyn PublishGuard>) -> Arc<Catalog> {
    Arc::new(Catalog::open_dir(root, guard, CatalogOptions::default()).expect("open root"))
}

pub fn start(root: &Path) -> Running {
    start_with(open_catalog(root, Arc::new(AcceptAll)), loopback_options())
}

pub fn root_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

/// Write aside and rename over: the replacement operators should do.
pub fn replace(dir: &Path, name: &str, bytes: &[u8]) {
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, bytes).unwrap();
    std::fs::rename(&temp, dir.join(name)).unwrap();
}

/// Deterministic test content: not all zeros, so misplaced blocks are caught.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

pub fn rrq(name: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut packet = vec![0, 1];
    packet.extend_from_slice(name.as_bytes());
    packet.push(0);
    packet.extend_from_slice(b"octet\0");
    for (key, value) in options {
        packet.extend_from_slice(key.as_bytes());
        packet.push(0);
        packet.extend_from_slice(value.as_bytes());
        packet.push(0);
    }
    packet
}

pub fn ack(block: u16) -> Vec<u8> {
    let mut packet = vec![0, 4];
    packet.extend_from_slice(&block.to_be_bytes());
    packet
}

/// Receives one datagram within `wait`, or `None`.
pub async fn recv_within(socket: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buffer = vec![0u8; 70_000];
    match tokio::time::timeout(wait, socket.recv_from(&mut buffer)).await {
        Ok(Ok((len, from))) => Some((buffer[..len].to_vec(), from)),
        _ => None,
    }
}

/// Parses an ERROR packet into (code, message).
pub fn as_error(packet: &[u8]) -> Option<(u16, String)> {
    if packet.len() < 5 || packet[..2] != [0, 5] {
        return None;
    }
    let code = u16::from_be_bytes([packet[2], packet[3]]);
    let text = &packet[4..];
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    Some((code, String::from_utf8_lossy(&text[..end]).into_owned()))
}

/// Sends a raw RRQ from a fresh socket and returns the first reply.
pub async fn raw_request(server: SocketAddr, packet: &[u8]) -> (UdpSocket, Option<(Vec<u8>, SocketAddr)>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(packet, server).await.unwrap();
    let reply = recv_within(&socket, Duration::from_secs(5)).await;
    (socket, reply)
}

/// Whether an external tool may be skipped (no CI) or must be present (CI set).
/// Returns `false` (after printing a note) when the test should be skipped.
pub fn tool_available(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("`{tool}` is required for this test (CI is set); install it (see .ci/run)");
    }
    eprintln!("note: `{tool}` not installed; skipping this test (it fails under CI=1)");
    false
}
