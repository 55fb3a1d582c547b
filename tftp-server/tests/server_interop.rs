//! Interoperability with real TFTP clients: curl, atftp, tftp-hpa's `tftp`, busybox tftp.
//!
//! Each tool missing makes its test fail under `CI=1` and skip (with a note) otherwise.
//! Debian packages: curl, atftp, tftp-hpa, busybox.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use server_support::*;

/// Runs a client command off the async executor, bounded in time by the tool's own flags
/// and by `timeout` (the child is killed after it).
async fn run_tool(mut command: Command, timeout: Duration) -> Output {
    let description = format!("{command:?}");
    let task = tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn client");
        let started = std::time::Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if started.elapsed() > timeout {
                let _ = child.kill();
                let output = child.wait_with_output().expect("output");
                panic!("client did not finish within {timeout:?}: {output:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let output = task.await.expect("client task");
    eprintln!(
        "{description}: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Curl(&'static [&'static str]),
    Atftp(&'static [&'static str]),
    TftpHpa,
    Busybox,
}

impl Client {
    fn tool(self) -> &'static str {
        match self {
            Client::Curl(_) => "curl",
            Client::Atftp(_) => "atftp",
            Client::TftpHpa => "tftp",
            Client::Busybox => "busybox",
        }
    }

    fn command(self, server: SocketAddr, name: &str, out: &Path) -> Command {
        let host = server.ip().to_string();
        let port = server.port().to_string();
        match self {
            Client::Curl(flags) => {
                let mut command = Command::new("curl");
                command
                    .args(["--silent", "--show-error", "--fail", "--max-time", "120"])
                    .args(flags)
                    .arg("--output")
                    .arg(out)
                    .arg(format!("tftp://{host}:{port}/{name}"));
                command
            }
            Client::Atftp(options) => {
                let mut command = Command::new("atftp");
                for option in options {
                    command.args(["--option", option]);
                }
                command
                    .args(["--get", "--remote-file", name, "--local-file"])
                    .arg(out)
                    .args([&host, &port]);
                command
            }
            Client::TftpHpa => {
                let mut command = Command::new("tftp");
                command
                    .args(["-m", "binary", &host, &port, "-c", "get", name])
                    .arg(out);
                command
            }
            Client::Busybox => {
                let mut command = Command::new("busybox");
                command
                    .args(["tftp", "-g", "-r", name, "-l"])
                    .arg(out)
                    .args([&host, &port]);
                command
            }
        }
    }

    /// Downloads `name`; returns the bytes or `None` if the tool reported failure.
    async fn download(self, server: SocketAddr, name: &str) -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("download");
        let output = run_tool(self.command(server, name, &out), Duration::from_secs(180)).await;
        let said = [&output.stdout[..], &output.stderr[..]].concat();
        let said = String::from_utf8_lossy(&said).to_lowercase();
        // tftp-hpa exits 0 even on a server error; it only says so.
        let failed = !output.status.success() || said.contains("error");
        if failed {
            None
        } else {
            Some(std::fs::read(&out).unwrap_or_default())
        }
    }
}

const CURL_DEFAULT: Client = Client::Curl(&[]);
const CURL_BLKSIZE: Client = Client::Curl(&["--tftp-blksize", "1468"]);
const CURL_NO_OPTIONS: Client = Client::Curl(&["--tftp-no-options"]);
const ATFTP_WINDOW: Client = Client::Atftp(&["blksize 1468", "windowsize 16", "tsize"]);

async fn small_files_and_aliases(client: Client) {
    if !tool_available(client.tool()) {
        return;
    }
    let content = pattern(100_000, 11);
    let dir = root_with(&[
        ("fw.bin", &content),
        ("empty.bin", b""),
        ("CTLFile.tlv", &pattern(4321, 12)),
        ("sep001e4a93748b.cnf.xml", b"<device>phone</device>"),
    ]);
    let server = start(dir.path());
    assert_eq!(
        client.download(server.address, "fw.bin").await.as_deref(),
        Some(&content[..]),
        "{client:?}"
    );
    assert_eq!(
        client.download(server.address, "empty.bin").await.as_deref(),
        Some(&b""[..]),
        "{client:?}"
    );
    assert_eq!(
        client.download(server.address, "CTLSEP001E4A93748B.tlv").await,
        Some(pattern(4321, 12)),
        "{client:?}"
    );
    assert_eq!(
        client
            .download(server.address, "SEP001E4A93748B.cnf.xml")
            .await
            .as_deref(),
        Some(&b"<device>phone</device>"[..]),
        "{client:?}"
    );
    assert_eq!(
        client.download(server.address, "missing.bin").await,
        None,
        "{client:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_default_options() {
    small_files_and_aliases(CURL_DEFAULT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_blksize_1468() {
    small_files_and_aliases(CURL_BLKSIZE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_no_options() {
    small_files_and_aliases(CURL_NO_OPTIONS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atftp_blksize_windowsize_tsize() {
    small_files_and_aliases(ATFTP_WINDOW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_hpa_no_options() {
    small_files_and_aliases(Client::TftpHpa).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_tftp() {
    small_files_and_aliases(Client::Busybox).await;
}

/// tftp-hpa's `tftp` in netascii mode decodes what the server encoded: the file arrives
/// as it is on disk, though it crossed the wire as CR LF / CR NUL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_hpa_netascii_round_trips_line_ends() {
    if !tool_available("tftp") {
        return;
    }
    // Over one block, so the conversion crosses a block boundary too.
    let mut content = Vec::new();
    for line in 0..200 {
        content.extend_from_slice(format!("<line n=\"{line}\"/>\n").as_bytes());
        if line % 7 == 0 {
            // Unconverted, CR LF would arrive as LF and this comparison would fail.
            content.extend_from_slice(b"bare\rcr\r\n");
        }
    }
    let dir = root_with(&[("SEP001E4A93748B.cnf.xml", &content)]);
    let server = start(dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("download");
    let mut command = Command::new("tftp");
    command
        .args(["-m", "netascii"])
        .arg(server.address.ip().to_string())
        .arg(server.address.port().to_string())
        .args(["-c", "get", "SEP001E4A93748B.cnf.xml"])
        .arg(&out);
    let output = run_tool(command, Duration::from_secs(60)).await;
    let said = String::from_utf8_lossy(&[&output.stdout[..], &output.stderr[..]].concat()).to_lowercase();
    assert!(output.status.success() && !said.contains("error"), "{said}");
    assert_eq!(std::fs::read(&out).unwrap(), content);
    server.stop().await;
}

/// 40 MB at 512-byte blocks: block numbers roll over past 65535; compared byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_megabytes_at_blksize_512_roll_over() {
    let content = pattern(40_000_000, 13);
    let dir = root_with(&[("big.bin", &content)]);
    let server = start(dir.path());
    for client in [CURL_NO_OPTIONS, Client::TftpHpa] {
        if !tool_available(client.tool()) {
            continue;
        }
        let data = client
            .download(server.address, "big.bin")
            .await
            .expect("download failed");
        assert_eq!(data.len(), content.len(), "{client:?}");
        assert!(data == content, "{client:?}: 40 MB download differs");
    }
    server.stop().await;
}

/// Log lines written while a test runs, for asserting what the server negotiated.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The clients really negotiate what they ask for (a server ignoring options would still
/// deliver the bytes): the transfer log line shows blksize and windowsize. Runs on a
/// current-thread runtime so the thread-local log capture sees the server's tasks.
#[tokio::test(flavor = "current_thread")]
async fn clients_get_the_options_they_ask_for() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let content = pattern(300_000, 14);
    let dir = root_with(&[("fw.bin", &content)]);
    let server = start(dir.path());
    for (client, expected) in [
        (CURL_BLKSIZE, "blksize=1468 windowsize=1 "),
        (CURL_NO_OPTIONS, "blksize=512 windowsize=1 "),
        (ATFTP_WINDOW, "blksize=1468 windowsize=16 "),
    ] {
        if !tool_available(client.tool()) {
            continue;
        }
        let before = log.text().len();
        let data = client.download(server.address, "fw.bin").await;
        assert!(data == Some(content.clone()), "{client:?}: download differs");
        // The server logs once it has the final ACK, which may be after the client exits.
        let mut line = None;
        for _ in 0..200 {
            line = log.text()[before..]
                .lines()
                .find(|l| l.contains("requested=fw.bin"))
                .map(str::to_owned);
            if line.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let line = line.unwrap_or_else(|| panic!("{client:?}: no transfer line in {}", log.text()));
        assert!(line.contains(expected), "{client:?}: {line}");
        assert!(line.contains("outcome=completed"), "{client:?}: {line}");
    }
    server.stop().await;
}
