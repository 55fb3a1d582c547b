//! The clients really negotiate what they ask for (a server ignoring options would still
//! deliver the bytes): the server's transfer log line shows blksize and windowsize.
//!
//! This is the only test in its binary, so it can install a global log subscriber before
//! anything logs. A thread-local subscriber beside other tests in the same process lost
//! lines: a log call site first reached by another test, with no subscriber in sight,
//! may keep "never interested" for good.
//!
//! Needs curl and atftp (fails under `CI=1` without them, skips otherwise).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::time::Duration;

use server_support::clients::*;
use server_support::*;

/// Log lines written while the test runs.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_get_the_options_they_ask_for() {
    let log = CapturedLog::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
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
