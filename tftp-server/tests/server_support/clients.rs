//! Real TFTP clients driven as child processes: curl, atftp, tftp-hpa's `tftp`, busybox.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs a client command off the async executor, bounded in time by the tool's own flags
/// and by `timeout` (the child is killed after it).
pub async fn run_tool(mut command: Command, timeout: Duration) -> Output {
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
pub enum Client {
    Curl(&'static [&'static str]),
    Atftp(&'static [&'static str]),
    TftpHpa,
    Busybox,
}

impl Client {
    pub fn tool(self) -> &'static str {
        match self {
            Client::Curl(_) => "curl",
            Client::Atftp(_) => "atftp",
            Client::TftpHpa => "tftp",
            Client::Busybox => "busybox",
        }
    }

    pub fn command(self, server: SocketAddr, name: &str, out: &Path) -> Command {
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
    pub async fn download(self, server: SocketAddr, name: &str) -> Option<Vec<u8>> {
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

pub const CURL_DEFAULT: Client = Client::Curl(&[]);
pub const CURL_BLKSIZE: Client = Client::Curl(&["--tftp-blksize", "1468"]);
pub const CURL_NO_OPTIONS: Client = Client::Curl(&["--tftp-no-options"]);
pub const ATFTP_WINDOW: Client = Client::Atftp(&["blksize 1468", "windowsize 16", "tsize"]);
