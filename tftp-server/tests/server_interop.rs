//! Interoperability with real TFTP clients: curl, atftp, tftp-hpa's `tftp`, busybox tftp.
//!
//! Each tool missing makes its test fail under `CI=1` and skip (with a note) otherwise.
//! Debian packages: curl, atftp, tftp-hpa, busybox.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::process::Command;
use std::time::Duration;

use server_support::clients::*;
use server_support::*;

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
