//! `client::fetch` over real loopback sockets, against a minimal test shell around
//! `ServerSession` (the production shell lives in `server/` and has its own tests).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tftp_server::client::{fetch, ClientError, ClientFailure, ClientOptions};
use tftp_server::proto::{
    classify_initial, file_not_found, ErrorCode, Initial, RetransmitPolicy, ServerConfig, ServerEvent,
    ServerSession,
};
use tokio::net::UdpSocket;

/// Serves `files` on an OS-chosen loopback port for `requests` read requests, each on
/// its own ephemeral socket; returns the listening address. Every loop is bounded by the
/// sessions' timers, and the task ends with the test's runtime.
async fn spawn_test_server(
    listen: &str,
    files: HashMap<String, Bytes>,
    requests: usize,
) -> Option<SocketAddr> {
    let socket = UdpSocket::bind(listen).await.ok()?;
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        for _ in 0..requests {
            let (len, peer) = socket.recv_from(&mut buf).await.unwrap();
            match classify_initial(&buf[..len]) {
                Initial::Read(request) => match files.get(&request.filename) {
                    Some(file) => {
                        let session = ServerSession::new(
                            Instant::now(),
                            peer,
                            &request,
                            file.clone(),
                            &ServerConfig::default(),
                        );
                        tokio::spawn(run_transfer(address, session));
                    }
                    None => {
                        let error = file_not_found().to_datagram();
                        socket.send_to(&error, peer).await.unwrap();
                    }
                },
                Initial::Reject(error) => {
                    socket.send_to(&error.to_datagram(), peer).await.unwrap();
                }
                Initial::Ignore => {}
            }
        }
    });
    Some(address)
}

async fn run_transfer(listen: SocketAddr, mut session: ServerSession) -> ServerEvent {
    let socket = UdpSocket::bind(SocketAddr::new(listen.ip(), 0)).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        while let Some(transmit) = session.poll_transmit(&mut out) {
            socket.send_to(&out, transmit.destination).await.unwrap();
        }
        if let Some(event) = session.poll() {
            return event;
        }
        let deadline = tokio::time::Instant::from_std(session.poll_timeout().unwrap());
        match tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Ok(Ok((len, from))) => session.handle_datagram(Instant::now(), from, &buf[..len]),
            Ok(Err(error)) => panic!("recv: {error}"),
            Err(_) => session.handle_timeout(Instant::now()),
        }
    }
}

fn sample(len: usize) -> Bytes {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn quick_retransmit() -> RetransmitPolicy {
    RetransmitPolicy {
        initial: Duration::from_millis(20),
        max_interval: Duration::from_millis(40),
        max_retransmissions: 2,
    }
}

#[tokio::test]
async fn fetch_downloads_with_and_without_options_over_loopback() {
    let file = sample(200_000);
    let files = HashMap::from([("CTLFile.tlv".to_owned(), file.clone())]);
    let server = spawn_test_server("127.0.0.1:0", files, 3).await.unwrap();
    let profiles = [
        ClientOptions::default(),
        ClientOptions {
            blksize: Some(1468),
            request_tsize: true,
            ..ClientOptions::default()
        },
        ClientOptions {
            blksize: Some(1468),
            windowsize: Some(16),
            timeout_secs: Some(2),
            request_tsize: true,
            ..ClientOptions::default()
        },
    ];
    for options in profiles {
        let got = tokio::time::timeout(
            Duration::from_secs(20),
            fetch(server, "CTLFile.tlv", options.clone()),
        )
        .await
        .expect("fetch finished")
        .unwrap_or_else(|error| panic!("{options:?}: {error}"));
        assert!(got == file[..], "{options:?}: content differs");
    }
}

#[tokio::test]
async fn fetch_works_over_ipv6_loopback() {
    let file = sample(3000);
    let files = HashMap::from([("ITLFile.tlv".to_owned(), file.clone())]);
    let Some(server) = spawn_test_server("[::1]:0", files, 1).await else {
        eprintln!("note: ::1 not available here, IPv6 fetch not tested");
        return;
    };
    let got = fetch(server, "ITLFile.tlv", ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(got, file[..]);
}

#[tokio::test]
async fn fetch_reports_server_error() {
    let server = spawn_test_server("127.0.0.1:0", HashMap::new(), 1).await.unwrap();
    let error = fetch(server, "missing.tlv", ClientOptions::default())
        .await
        .unwrap_err();
    match error {
        ClientError::Transfer(ClientFailure::ServerError { code, message }) => {
            assert_eq!(code, ErrorCode::FILE_NOT_FOUND);
            assert_eq!(message, "file not found");
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn fetch_gives_up_when_nobody_answers() {
    // A bound socket that never replies.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let options = ClientOptions {
        retransmit: quick_retransmit(),
        ..ClientOptions::default()
    };
    let started = Instant::now();
    let error = fetch(silent.local_addr().unwrap(), "CTLFile.tlv", options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Transfer(ClientFailure::TimedOut { .. })),
        "{error}"
    );
    // The RRQ and its two retransmissions reached the silent socket.
    let mut buf = [0u8; 600];
    for _ in 0..3 {
        let (len, _) = tokio::time::timeout(Duration::from_secs(1), silent.recv_from(&mut buf))
            .await
            .expect("an RRQ was sent")
            .unwrap();
        assert_eq!(&buf[..2], [0, 1]);
        assert!(len > 2);
    }
    // Generous bound: only guards against an unbounded wait, not a speed assertion.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn fetch_rejects_invalid_request_before_sending() {
    let error = fetch("127.0.0.1:9".parse().unwrap(), "", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Request(_)), "{error}");
}

/// Runs atftpd (Debian package `atftpd`) on a free loopback port serving `dir`.
struct Atftpd {
    child: std::process::Child,
    address: SocketAddr,
}

impl Atftpd {
    fn start(dir: &std::path::Path) -> Option<Atftpd> {
        let Ok(path) = which("atftpd") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "atftpd is not installed (Debian package atftpd); CI must install it"
            );
            eprintln!("note: atftpd not installed, interop test skipped");
            return None;
        };
        // A free port: bind port 0, note it, release it for atftpd.
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let user = if is_root() { "root.root" } else { "nobody" };
        let child = std::process::Command::new(path)
            .args(["--daemon", "--no-fork", "--bind-address", "127.0.0.1"])
            .args(["--port", &port.to_string(), "--user", user])
            .args(["--logfile", "/dev/null"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start atftpd");
        Some(Atftpd {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }
}

impl Drop for Atftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(tool: &str) -> Result<std::path::PathBuf, ()> {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let candidate = std::path::Path::new(dir).join(tool);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(())
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

#[tokio::test]
async fn fetch_interoperates_with_atftpd() {
    let dir = std::env::temp_dir().join(format!("tftp1-atftpd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // blksize 512 * 70_000 blocks > 65_535: the lockstep download rolls the block number.
    let big = sample(512 * 70_000 + 100);
    let small = sample(10_000);
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("small.bin"), &small).unwrap();
    // atftpd drops privileges; the files must be readable by it.
    let Some(server) = Atftpd::start(&dir) else {
        return;
    };
    let profiles = [
        ("small.bin", &small, ClientOptions::default()),
        (
            "small.bin",
            &small,
            ClientOptions {
                blksize: Some(1468),
                windowsize: Some(16),
                request_tsize: true,
                ..ClientOptions::default()
            },
        ),
        (
            "big.bin",
            &big,
            ClientOptions {
                windowsize: Some(16),
                ..ClientOptions::default()
            },
        ),
    ];
    for (name, expected, options) in profiles {
        let got = tokio::time::timeout(
            Duration::from_secs(60),
            fetch(server.address, name, options.clone()),
        )
        .await
        .unwrap_or_else(|_| panic!("{name} {options:?}: no result within 60 s"))
        .unwrap_or_else(|error| panic!("{name} {options:?}: {error}"));
        assert!(got == expected[..], "{name} {options:?}: content differs");
    }
    let error = fetch(server.address, "missing.bin", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Transfer(ClientFailure::ServerError {
                code: ErrorCode::FILE_NOT_FOUND,
                ..
            })
        ),
        "{error}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
