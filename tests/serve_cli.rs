//! End-to-end tests of `ctl serve`: the built-in samples, flags, config file, log lines,
//! SIGTERM, and the README's `curl ... | ctl dump -` line.

mod serve_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serve_support::*;
use tftp_server::catalog::sha256_hex;

#[test]
fn serves_the_built_in_samples_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let serve = Serve::start(&["--listen", "127.0.0.1:0"], elsewhere.path(), 1);
    assert!(
        serve.banner.iter().any(|l| l.contains("built-in samples")),
        "{:?}",
        serve.banner
    );
    let ctl = read_fixture("tftproot/CTLFile.tlv");
    let itl = read_fixture("tftproot/ITLFile.tlv");
    let config = read_fixture("tftproot/SEP001E4A93748B.cnf.xml");
    assert_eq!(fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(), ctl);
    assert_eq!(fetch(serve.address(), "ITLSEP001E4A93748B.tlv").unwrap(), itl);
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), ctl);
    assert_eq!(fetch(serve.address(), "SEP001E4A93748B.cnf.xml").unwrap(), config);
    let missing = fetch(serve.address(), "SEP00000000000A.cnf.xml").unwrap_err();
    assert!(missing.contains("not found"), "{missing}");
    let status = serve.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn one_log_line_per_transfer_names_device_file_hash_and_signer() {
    let elsewhere = tempfile::tempdir().unwrap();
    let serve = Serve::start(&["--listen", "127.0.0.1:0"], elsewhere.path(), 1);
    fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap();
    fetch(serve.address(), "nothing.bin").unwrap_err();
    let sha = sha256_hex(&read_fixture("tftproot/CTLFile.tlv"));
    let line = serve
        .wait_for_log(Duration::from_secs(10), |l| {
            l.contains("requested=CTLSEP001E4A93748B.tlv")
        })
        .unwrap_or_else(|| panic!("no transfer line: {:#?}", serve.log_lines()));
    for field in [
        "tftp::transfer",
        "served=CTLFile.tlv",
        "mac=001E4A93748B",
        &format!("bytes={}", read_fixture("tftproot/CTLFile.tlv").len()),
        "blksize=512",
        "windowsize=1",
        "outcome=completed",
        &format!("sha256={sha}"),
        "signer=CN=SAST-ctl-fixture-1",
        "client=127.0.0.1:",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "missing {field} in {line}");
    }
    let line = serve
        .wait_for_log(Duration::from_secs(10), |l| l.contains("requested=nothing.bin"))
        .unwrap();
    assert!(line.contains("outcome=not_found"), "{line}");
    // Startup names each trust list with its hash and signer.
    let startup = serve
        .wait_for_log(Duration::from_secs(1), |l| {
            l.contains("serving trust list") && l.contains("CTLFile.tlv")
        })
        .unwrap();
    assert!(
        startup.contains(&sha) && startup.contains("SAST-ctl-fixture-1"),
        "{startup}"
    );
    let log = serve.log_handle();
    let status = serve.terminate();
    assert!(status.success(), "{status:?}");
    // Graceful: the shutdown is logged (the reader thread may lag the exit a little).
    let stopped = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        log.lock().unwrap().iter().any(|l| l.contains("server stopped"))
    });
    assert!(stopped, "{:#?}", log.lock().unwrap());
}

#[test]
fn json_log_lines_parse_and_carry_the_fields() {
    let elsewhere = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
        elsewhere.path(),
        1,
    );
    fetch(serve.address(), "ITLSEP001E4A93748B.tlv").unwrap();
    let line = serve
        .wait_for_log(Duration::from_secs(10), |l| l.contains("ITLSEP001E4A93748B.tlv"))
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(value["target"], "tftp::transfer");
    assert_eq!(value["served"], "ITLFile.tlv");
    assert_eq!(value["mac"], "001E4A93748B");
    assert_eq!(value["outcome"], "completed");
    assert_eq!(value["sha256"], sha256_hex(&read_fixture("tftproot/ITLFile.tlv")));
    assert_eq!(value["bytes"], read_fixture("tftproot/ITLFile.tlv").len() as u64);
    for line in serve.log_lines() {
        serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    serve.terminate();
}

#[test]
fn root_several_listeners_and_config_file() {
    let root = tftproot_copy();
    std::fs::write(root.path().join("firmware.bin"), vec![7u8; 100_000]).unwrap();
    let ipv6 = std::net::UdpSocket::bind("[::1]:0").is_ok();
    let config = root.path().join("serve.toml");
    let listen = if ipv6 {
        r#"["127.0.0.1:0", "[::1]:0"]"#
    } else {
        r#"["127.0.0.1:0"]"#
    };
    std::fs::write(
        &config,
        format!(
            "root = {:?}\nlisten = {listen}\nmax_transfers = 16\n",
            root.path().to_str().unwrap()
        ),
    )
    .unwrap();
    let serve = Serve::start(
        &["--config", config.to_str().unwrap()],
        root.path(),
        if ipv6 { 2 } else { 1 },
    );
    assert!(
        serve.banner.iter().any(|l| l.starts_with("serving /")),
        "{:?}",
        serve.banner
    );
    for address in serve.addresses.clone() {
        assert_eq!(fetch(address, "FIRMWARE.BIN").unwrap(), vec![7u8; 100_000]);
    }
    serve.terminate();
    // Flags win over the file: --listen replaces the file's list.
    let serve = Serve::start(
        &["--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"],
        root.path(),
        1,
    );
    assert_eq!(serve.addresses.len(), 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        serve
            .log_lines()
            .iter()
            .filter(|l| l.contains("listening"))
            .count(),
        0,
        "addresses go to stdout, not the log"
    );
    serve.terminate();
}

#[test]
fn bad_root_and_busy_address_fail_with_a_clear_message() {
    let output = Command::new(CTL)
        .args(["serve", "--root", "/nonexistent/tftp", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/tftp"), "{stderr}");

    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(CTL)
        .args(["serve", "--listen", &address])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}

/// The README's line: `curl tftp://127.0.0.1:6969/CTLSEP001E4A93748B.tlv | ctl dump -`.
#[test]
fn curl_output_pipes_into_ctl_dump() {
    if !tool_available("curl") {
        return;
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let serve = Serve::start(&["--listen", "127.0.0.1:0"], elsewhere.path(), 1);
    let url = format!("tftp://{}/CTLSEP001E4A93748B.tlv", serve.address());
    let curl = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30", &url])
        .output()
        .unwrap();
    assert!(curl.status.success(), "{curl:?}");
    assert_eq!(curl.stdout, read_fixture("tftproot/CTLFile.tlv"));
    let mut dump = Command::new(CTL)
        .args(["dump", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    dump.stdin.take().unwrap().write_all(&curl.stdout).unwrap();
    let dumped = dump.wait_with_output().unwrap();
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let text = String::from_utf8_lossy(&dumped.stdout);
    assert!(text.contains("SAST-ctl-fixture-1"), "{text}");
    serve.terminate();
}

/// Sends a write request and waits for the server's ERROR 2 (so it has been handled).
fn refused_write(server: std::net::SocketAddr) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    socket
        .send_to(b"\x00\x02CTLFile.tlv\x00octet\x00", server)
        .unwrap();
    let mut reply = [0u8; 600];
    let (len, _) = socket.recv_from(&mut reply).expect("an answer to the WRQ");
    assert_eq!(&reply[..4], b"\x00\x05\x00\x02", "{:?}", &reply[..len]);
}

#[test]
fn verbose_flag_adds_debug_lines_and_sigint_stops_gracefully() {
    let elsewhere = tempfile::tempdir().unwrap();
    // Default level (info): the refused request is answered but not logged.
    let quiet = Serve::start(&["--listen", "127.0.0.1:0"], elsewhere.path(), 1);
    refused_write(quiet.address());
    fetch(quiet.address(), "CTLFile.tlv").unwrap();
    quiet
        .wait_for_log(Duration::from_secs(10), |l| l.contains("requested=CTLFile.tlv"))
        .unwrap_or_else(|| panic!("no transfer line: {:#?}", quiet.log_lines()));
    assert!(
        !quiet.log_lines().iter().any(|l| l.contains("request refused")),
        "{:#?}",
        quiet.log_lines()
    );
    // Ctrl-C (SIGINT) stops it as gracefully as SIGTERM.
    let log = quiet.log_handle();
    let status = quiet.signal("INT");
    assert!(status.success(), "{status:?}");
    let stopped = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        let lines = log.lock().unwrap();
        lines.iter().any(|l| l.contains("SIGINT received"))
            && lines.iter().any(|l| l.contains("server stopped"))
    });
    assert!(stopped, "{:#?}", log.lock().unwrap());
    // -v: debug lines, e.g. the refused write request with its error code.
    let verbose = Serve::start(&["--listen", "127.0.0.1:0", "-v"], elsewhere.path(), 1);
    refused_write(verbose.address());
    let line = verbose
        .wait_for_log(Duration::from_secs(10), |l| l.contains("request refused"))
        .unwrap_or_else(|| panic!("no debug line: {:#?}", verbose.log_lines()));
    assert!(line.contains("DEBUG") && line.contains("code=2"), "{line}");
    verbose.terminate();
    // RUST_LOG wins over -v: debug without -v, and warn silences the info lines even with -v.
    let debug =
        Serve::try_start_with_log_filter(&["--listen", "127.0.0.1:0"], elsewhere.path(), 1, Some("debug"))
            .unwrap();
    refused_write(debug.address());
    debug
        .wait_for_log(Duration::from_secs(10), |l| l.contains("request refused"))
        .unwrap_or_else(|| panic!("RUST_LOG=debug: {:#?}", debug.log_lines()));
    debug.terminate();
    let warn = Serve::try_start_with_log_filter(
        &["--listen", "127.0.0.1:0", "-v"],
        elsewhere.path(),
        1,
        Some("warn"),
    )
    .unwrap();
    refused_write(warn.address());
    fetch(warn.address(), "CTLFile.tlv").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let lines = warn.log_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("request refused") || l.contains("requested=CTLFile.tlv")),
        "{lines:#?}"
    );
    warn.terminate();
}
