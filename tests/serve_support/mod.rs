//! Harness for `ctl serve` end-to-end tests: runs the real binary on loopback port 0,
//! collects its log lines, stops it with SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CTL: &str = env!("CARGO_BIN_EXE_ctl");

pub fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

pub fn read_fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A running `ctl serve`.
pub struct Serve {
    child: Option<Child>,
    /// Addresses from the "listening on" lines.
    pub addresses: Vec<SocketAddr>,
    /// Everything printed on stdout before the addresses.
    pub banner: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `ctl serve ARGS` in `cwd` and waits (at most 30 s) for `listeners`
    /// "listening on" lines.
    pub fn start(args: &[&str], cwd: &Path, listeners: usize) -> Serve {
        Serve::try_start(args, cwd, listeners).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Serve::start`], but an exit or silence (e.g. no IPv6 on the host) is an error.
    pub fn try_start(args: &[&str], cwd: &Path, listeners: usize) -> Result<Serve, String> {
        Serve::try_start_with_log_filter(args, cwd, listeners, None)
    }

    /// Like [`Serve::try_start`], with `RUST_LOG` set to `filter` (removed when `None`).
    pub fn try_start_with_log_filter(
        args: &[&str],
        cwd: &Path,
        listeners: usize,
        filter: Option<&str>,
    ) -> Result<Serve, String> {
        let mut command = Command::new(CTL);
        match filter {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command
            .arg("serve")
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ctl serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let (lines, received) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child: Some(child),
            addresses: Vec::new(),
            banner: Vec::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while serve.addresses.len() < listeners {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => match line.strip_prefix("listening on ") {
                    Some(address) => serve.addresses.push(address.parse().expect("address")),
                    None => serve.banner.push(line),
                },
                Err(_) => {
                    return Err(format!(
                        "ctl serve printed no address within 30 s; stdout so far {:?}; log {:#?}",
                        serve.banner,
                        serve.log_lines()
                    ))
                }
            }
        }
        Ok(serve)
    }

    pub fn address(&self) -> SocketAddr {
        self.addresses[0]
    }

    /// The shared log buffer (still filled after [`Serve::terminate`]).
    pub fn log_handle(&self) -> Arc<Mutex<Vec<String>>> {
        Arc::clone(&self.log)
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) for a log line matching `predicate`.
    pub fn wait_for_log(&self, timeout: Duration, predicate: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log_lines().into_iter().find(|line| predicate(line)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits (at most 20 s) for the exit.
    pub fn terminate(self) -> ExitStatus {
        self.signal("TERM")
    }

    /// Sends signal `name` (`TERM`, `INT`) and waits (at most 20 s) for the exit.
    pub fn signal(mut self, name: &str) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("ctl serve did not exit within 20 s of SIG{name}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Downloads with the project's client (blocking wrapper).
pub fn fetch(server: SocketAddr, name: &str) -> Result<Vec<u8>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(tftp_server::client::fetch(server, name, Default::default()))
        .map_err(|e| e.to_string())
}

/// Whether an external tool may be skipped (no CI) or must be present (CI set).
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

/// Write aside and rename over.
pub fn replace(dir: &Path, name: &str, bytes: &[u8]) {
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, bytes).unwrap();
    std::fs::rename(&temp, dir.join(name)).unwrap();
}

/// A copy of fixtures/tftproot in a temp dir.
pub fn tftproot_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["CTLFile.tlv", "ITLFile.tlv", "SEP001E4A93748B.cnf.xml"] {
        std::fs::copy(fixture(&format!("tftproot/{name}")), dir.path().join(name)).unwrap();
    }
    dir
}
