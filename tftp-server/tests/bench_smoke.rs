//! `tftp-bench` end to end against the project's server on 127.0.0.1:0: it completes and
//! verifies every transfer, counts failures honestly, and refuses non-loopback targets.
//! No timing assertions (speed is measured by `bench/boot-storm.sh`, not tested).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use tftp_server::catalog::{Catalog, CatalogOptions, CtlSignGuard};
use tftp_server::server::{Server, ServerOptions};
use tokio::sync::oneshot;

const BENCH: &str = env!("CARGO_BIN_EXE_tftp-bench");

/// The five MACs of a 5-phone storm with the default first MAC (001E4A000001), as
/// documented in the bench's usage text.
const MACS: [&str; 5] = [
    "001E4A000001",
    "001E4A000002",
    "001E4A000003",
    "001E4A000004",
    "001E4A000005",
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tftproot")
}

/// A root with the signed samples and, when `configs`, one configuration file per MAC.
/// No per-device trust lists: the server's aliases serve them from the cluster files.
fn root(configs: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["CTLFile.tlv", "ITLFile.tlv"] {
        std::fs::copy(samples().join(name), dir.path().join(name))
            .unwrap_or_else(|error| panic!("fixtures/tftproot/{name}: {error}"));
    }
    if configs {
        for mac in MACS {
            let config = format!("<device><mac>{mac}</mac></device>\n");
            std::fs::write(dir.path().join(format!("SEP{mac}.cnf.xml")), config).unwrap();
        }
    }
    std::fs::write(dir.path().join("big.bin"), pattern(300_000)).unwrap();
    dir
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Runs the server on 127.0.0.1:0 in its own thread while `bench_args` run; returns the
/// bench's output. Stops the server afterwards.
fn with_server(root: &Path, bench_args: impl FnOnce(SocketAddr) -> Vec<String>) -> Output {
    let catalog = Catalog::open_dir(root, Arc::new(CtlSignGuard), CatalogOptions::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (address, server) = runtime.block_on(async {
        let options = ServerOptions {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            shutdown_grace: Duration::from_millis(200),
            ..ServerOptions::default()
        };
        let server = Server::bind(options, Arc::new(catalog)).unwrap();
        let address = server.local_addrs()[0];
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        (address, task)
    });
    let output = Command::new(BENCH)
        .args(bench_args(address))
        .output()
        .expect("run tftp-bench");
    let _ = stop.send(());
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await })
        .expect("server did not stop")
        .expect("server task panicked");
    output
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn storm_of_five_phones_completes_fifteen_verified_transfers() {
    let dir = root(true);
    for profile in ["none", "blksize", "window"] {
        let output = with_server(dir.path(), |address| {
            words(&format!(
                "storm --server {address} --phones 5 --profile {profile} --json --time-limit-s 60 --verify-root {}",
                dir.path().display()
            ))
        });
        let json = stdout(&output);
        assert!(
            output.status.success(),
            "{profile}: {json}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(json.contains(r#""transfers_ok":15"#), "{profile}: {json}");
        assert!(json.contains(r#""transfers_failed":0"#), "{profile}: {json}");
        assert!(json.contains(r#""phones_complete":5"#), "{profile}: {json}");
        let expected_windowsize = if profile == "window" {
            r#"{"16":15}"#
        } else {
            r#"{"1":15}"#
        };
        assert!(
            json.contains(&format!(r#""negotiated_windowsize":{expected_windowsize}"#)),
            "{profile}: {json}"
        );
    }
}

#[test]
fn missing_config_files_are_counted_as_server_errors() {
    let dir = root(false);
    let output = with_server(dir.path(), |address| {
        words(&format!(
            "storm --server {address} --phones 5 --json --time-limit-s 60"
        ))
    });
    let json = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{json}");
    // Trust lists come from the aliases; each SEP<MAC>.cnf.xml gets ERROR 1.
    assert!(json.contains(r#""transfers_ok":10"#), "{json}");
    assert!(json.contains(r#""failures":{"server_error_1":5}"#), "{json}");
    assert!(json.contains(r#""phones_complete":0"#), "{json}");
}

#[test]
fn large_mode_fetches_the_file_k_times() {
    let dir = root(false);
    let output = with_server(dir.path(), |address| {
        words(&format!(
            "large --server {address} --file big.bin --count 2 --profile window --verify-root {} --time-limit-s 60",
            dir.path().display()
        ))
    });
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("transfers: 2 ok / 2 planned, 0 failed"), "{text}");
    assert!(text.contains("600000 bytes"), "{text}");
}

#[test]
fn non_loopback_targets_are_refused() {
    let output = Command::new(BENCH)
        .args(words("storm --server 192.0.2.1:69 --phones 1"))
        .output()
        .expect("run tftp-bench");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only targets loopback"), "{stderr}");
}
