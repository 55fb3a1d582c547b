//! End-to-end tests of `ctl fetch` against `ctl serve` on loopback (port 0).

mod fetch_support;

use std::process::{Child, Command, Stdio};

use ctl_sign::CertificateRecord;
use fetch_support::*;

#[test]
fn first_use_stores_the_file_warns_and_extracts_certificates() {
    let v1 = signed(&[1, 2], 1, 1);
    let serve = Serve::ctl(&v1);
    let store = tempfile::tempdir().unwrap();
    let out = fetch(store.path(), &[serve.server()], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("trust on first use"), "{stderr}");
    assert!(stderr.contains("secure environment"), "{stderr}");
    assert!(text(&out.stdout).contains(&sha256_hex(&v1)));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);

    let shown = show_json(store.path());
    assert_eq!(shown["state"]["how"], "first_use");
    assert_eq!(shown["state"]["sha256"], sha256_hex(&v1));
    assert_eq!(shown["state"]["server"], serve.server());
    assert!(shown["state"]["signer"]
        .as_str()
        .unwrap()
        .contains("SAST-ctl-fixture-1"));
    assert!(shown["state"]["accepted_at_utc"].as_str().unwrap().ends_with('Z'));
    // CAPF as CAPF.0 (PEM), the CallManager, TFTP and both SAST certificates.
    let capf_pem = std::fs::read_to_string(store.path().join("certs/CAPF.0")).unwrap();
    let capf_fixture = CertificateRecord::from_file(&pki("CAPF.0")).unwrap();
    let capf_stored = CertificateRecord::from_bytes(capf_pem.as_bytes(), "CAPF.0").unwrap();
    assert_eq!(capf_stored.der, capf_fixture.der);
    let roles: Vec<&str> = shown["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["SAST", "SAST", "CCM+TFTP", "TFTP", "CAPF"]);

    let text_show = ctl(&["fetch", "--show", "--store", &store.path().display().to_string()]);
    let shown = text(&text_show.stdout);
    assert!(shown.contains(&sha256_hex(&v1)), "{shown}");
    assert!(shown.contains("trust on first use"), "{shown}");
    assert!(shown.contains("certs/CAPF.0"), "{shown}");

    // The same file again: nothing changes, exit 10.
    let before = snapshot(store.path());
    let again = fetch(store.path(), &[serve.server()], &[]);
    assert_eq!(code(&again), 10, "{}", text(&again.stderr));
    assert!(!text(&again.stderr).contains("trust on first use"));
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn pinned_first_use_stores_nothing_on_a_mismatch() {
    let v1 = signed(&[1, 2], 1, 1);
    let other = signed(&[1, 2], 1, 2);
    let serve = Serve::ctl(&v1);
    let store = tempfile::tempdir().unwrap();
    let wrong = sha256_hex(&other);
    let out = fetch(store.path(), &[serve.server()], &["--expect-sha256", &wrong]);
    assert_eq!(code(&out), 12, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("does not match the pinned {wrong}")),
        "{stderr}"
    );
    assert!(stderr.contains(&serve.server()), "{stderr}");
    assert!(
        stderr.contains("no trust list: cannot connect securely"),
        "{stderr}"
    );
    assert!(
        snapshot(store.path()).is_empty(),
        "{:?}",
        snapshot(store.path()).keys()
    );

    // Pinned to a trust anchor that did not sign it: also nothing stored.
    let anchor2 = pki("sast2.pem").display().to_string();
    let out = fetch(store.path(), &[serve.server()], &["--trust-anchor", &anchor2]);
    assert_eq!(code(&out), 12, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not signed by the trust anchor"));
    assert!(snapshot(store.path()).is_empty());

    // The right pin: stored, recorded as pinned, no first-use warning.
    let out = fetch(
        store.path(),
        &[serve.server()],
        &["--expect-sha256", &sha256_hex(&v1).to_uppercase()],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("trust on first use"));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);
    let shown = show_json(store.path());
    assert_eq!(shown["state"]["how"], "first_use_pinned");
    assert_eq!(shown["state"]["pin"], "pinned by SHA-256");
}

#[test]
fn update_signed_by_the_second_sast_is_accepted_and_the_old_file_kept_as_backup() {
    let v1 = signed(&[1, 2], 1, 1);
    let v2 = signed(&[1, 2], 2, 2);
    let store = tempfile::tempdir().unwrap();
    let serve = Serve::ctl(&v1);
    assert_eq!(code(&fetch(store.path(), &[serve.server()], &[])), 0);
    drop(serve);
    let serve = Serve::ctl(&v2);
    let out = fetch(store.path(), &[serve.server()], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("verified with stored SAST CN=SAST-ctl-fixture-2"),
        "{stdout}"
    );
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v2);
    assert_eq!(
        std::fs::read(store.path().join("CTLFile.tlv.previous")).unwrap(),
        v1
    );
    let shown = show_json(store.path());
    assert_eq!(shown["state"]["how"], "signed_update");
    assert_eq!(shown["state"]["previous_sha256"], sha256_hex(&v1));
    assert_eq!(shown["previous"]["sha256"], sha256_hex(&v1));
}

#[test]
fn rejected_updates_leave_the_store_byte_for_byte_untouched() {
    let v1 = signed(&[1, 2], 1, 1);
    let v2 = signed(&[1, 2], 2, 2);
    let store = tempfile::tempdir().unwrap();
    let serve = Serve::ctl(&v1);
    assert_eq!(code(&fetch(store.path(), &[serve.server()], &[])), 0);
    drop(serve);
    let before = snapshot(store.path());

    let unknown_signer = signed(&[3], 3, 3);
    let mut bad_signature = v2.clone();
    let inside_last_certificate = bad_signature.len() - 20;
    bad_signature[inside_last_certificate] ^= 0x40;
    let garbage: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let truncated = v2[..v2.len() / 2].to_vec();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "unknown signer",
            &unknown_signer,
            "not a SAST key of the installed list",
        ),
        ("bad signature", &bad_signature, "signature does not verify"),
        ("garbage", &garbage, "malformed trust list"),
        ("truncated", &truncated, "malformed trust list"),
    ];
    for (label, bytes, reason) in cases {
        let serve = Serve::ctl(bytes);
        let out = fetch(store.path(), &[serve.server()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 11, "{label}: {stderr}");
        assert!(stderr.contains(reason), "{label}: {stderr}");
        assert!(
            stderr.contains(&format!("{} (attempt 1): rejected", serve.server())),
            "{label}: {stderr}"
        );
        assert!(stderr.contains("kept the stored trust list"), "{label}: {stderr}");
        assert_eq!(snapshot(store.path()), before, "{label}");
    }
}

#[test]
fn rotation_across_sast_keys_over_three_updates() {
    let store = tempfile::tempdir().unwrap();
    let path = store.path();
    let step = |bytes: &[u8], expected_code: i32| {
        let serve = Serve::ctl(bytes);
        let out = fetch(path, &[serve.server()], &[]);
        assert_eq!(code(&out), expected_code, "{}", text(&out.stderr));
    };
    let v1 = signed(&[1, 2], 1, 1);
    step(&v1, 0);
    // 1: the second SAST signs a list that drops sast1 and adds sast3.
    let u1 = signed(&[2, 3], 2, 2);
    step(&u1, 0);
    // sast1 is no longer trusted: a file it signs is refused.
    step(&signed(&[1, 2], 1, 3), 11);
    assert_eq!(std::fs::read(path.join("CTLFile.tlv")).unwrap(), u1);
    // 2: the new key sast3 signs.
    let u2 = signed(&[2, 3], 3, 4);
    step(&u2, 0);
    // 3: sast3 signs a list that drops sast2 and brings back sast1.
    let u3 = signed(&[3, 1], 3, 5);
    step(&u3, 0);
    assert_eq!(std::fs::read(path.join("CTLFile.tlv")).unwrap(), u3);
    assert_eq!(std::fs::read(path.join("CTLFile.tlv.previous")).unwrap(), u2);
    // sast2 is gone now.
    step(&signed(&[2, 3], 2, 6), 11);
    let certs: Vec<String> = snapshot(path)
        .into_keys()
        .filter(|k| k.starts_with("certs/SAST"))
        .collect();
    assert_eq!(
        certs,
        vec![
            "certs/SAST-SAST-ctl-fixture-1.pem",
            "certs/SAST-SAST-ctl-fixture-3.pem"
        ]
    );
}

#[test]
fn failover_from_a_dead_server_and_from_error_1_to_a_working_one() {
    let v1 = signed(&[1, 2], 1, 1);
    let good = Serve::ctl(&v1);
    let empty = Serve::start(&[]);
    let dead = dead_port();
    let store = tempfile::tempdir().unwrap();
    let out = fetch(
        store.path(),
        &[dead.clone(), empty.server(), good.server()],
        &["--retries", "1", "--retry-interval", "0", "--json"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "accepted_first_use");
    assert_eq!(report["server"], good.server());
    let attempts: Vec<(String, String)> = report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["server"].as_str().unwrap().to_owned(),
                a["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let failed = "transfer_failed".to_owned();
    assert_eq!(
        attempts,
        vec![
            (dead.clone(), failed.clone()),
            (dead.clone(), failed.clone()),
            (empty.server(), failed.clone()),
            (empty.server(), failed),
            (good.server(), "accepted_first_use".to_owned()),
        ]
    );
    let details = &report["attempts"];
    assert!(
        details[0]["detail"].as_str().unwrap().contains("timed out"),
        "{details}"
    );
    assert!(
        details[2]["detail"].as_str().unwrap().contains("error 1"),
        "{details}"
    );
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);
}

#[test]
fn a_rejected_file_on_one_server_does_not_stop_the_next() {
    let v1 = signed(&[1, 2], 1, 1);
    let v2 = signed(&[1, 2], 2, 2);
    let store = tempfile::tempdir().unwrap();
    let first = Serve::ctl(&v1);
    assert_eq!(code(&fetch(store.path(), &[first.server()], &[])), 0);
    let evil = Serve::ctl(&signed(&[3], 3, 9));
    let good = Serve::ctl(&v2);
    let out = fetch(store.path(), &[evil.server(), good.server()], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("{} (attempt 1): rejected", evil.server())));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v2);
}

#[test]
fn nothing_stored_and_no_server_answering_is_no_trust_list() {
    let store = tempfile::tempdir().unwrap();
    let out = fetch(store.path(), &[dead_port()], &[]);
    assert_eq!(code(&out), 12, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no trust list: cannot connect securely"));
    assert!(snapshot(store.path()).is_empty());
    let show = ctl(&["fetch", "--show", "--store", &store.path().display().to_string()]);
    assert_eq!(code(&show), 12);
    assert!(text(&show.stdout).contains("no trust list stored"));
}

#[test]
fn a_stored_list_survives_unreachable_servers() {
    let v1 = signed(&[1, 2], 1, 1);
    let store = tempfile::tempdir().unwrap();
    let serve = Serve::ctl(&v1);
    assert_eq!(code(&fetch(store.path(), &[serve.server()], &[])), 0);
    drop(serve);
    let before = snapshot(store.path());
    let out = fetch(store.path(), &[dead_port(), dead_port()], &[]);
    assert_eq!(code(&out), 11, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&sha256_hex(&v1)));
    assert_eq!(snapshot(store.path()), before);
}

#[test]
fn ipv6_loopback_server() {
    let v1 = signed(&[1, 2], 1, 1);
    let Some(serve) = Serve::start_on("[::1]:0", &[("CTLFile.tlv", &v1)]) else {
        if std::env::var_os("CI").is_some() {
            panic!("ctl serve could not listen on [::1] (IPv6 loopback missing?)");
        }
        eprintln!("note: skipping: no IPv6 loopback");
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let server = format!("[::1]:{}", serve.address.port());
    let out = fetch(store.path(), std::slice::from_ref(&server), &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(show_json(store.path())["state"]["server"], server);
}

#[test]
fn host_name_server_is_resolved() {
    let v1 = signed(&[1, 2], 1, 1);
    let serve = Serve::ctl(&v1);
    let store = tempfile::tempdir().unwrap();
    // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    let server = format!("localhost:{}", serve.address.port());
    let out = fetch(store.path(), std::slice::from_ref(&server), &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(store.path().join("CTLFile.tlv")).unwrap(), v1);
    assert_eq!(show_json(store.path())["state"]["server"], server);
    // A name that does not resolve is a failed attempt named in the error, not a crash.
    let nowhere = tempfile::tempdir().unwrap();
    let out = fetch(nowhere.path(), &["no-such-host.invalid".to_owned()], &[]);
    assert_eq!(code(&out), 12, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot resolve no-such-host.invalid"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn concurrent_runs_on_one_store_do_not_corrupt_it() {
    let v1 = signed(&[1, 2], 1, 1);
    let serve = Serve::ctl(&v1);
    let store = tempfile::tempdir().unwrap();
    let store_arg = store.path().display().to_string();
    let server = serve.server();
    let children: Vec<Child> = (0..4)
        .map(|_| {
            Command::new(CTL)
                .args([
                    "fetch",
                    "--retries",
                    "0",
                    "--store",
                    &store_arg,
                    "--server",
                    &server,
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    codes.sort();
    // Exactly one run took it on first use; the others found it already trusted.
    assert_eq!(codes, vec![0, 10, 10, 10]);
    let files = snapshot(store.path());
    assert_eq!(files["CTLFile.tlv"], v1);
    assert!(
        !files.keys().any(|k| k.contains("pending") || k.ends_with(".tmp")),
        "{:?}",
        files.keys()
    );
    assert_eq!(show_json(store.path())["state"]["sha256"], sha256_hex(&v1));
}

#[test]
fn usage_errors_exit_2() {
    let store = tempfile::tempdir().unwrap();
    let s = store.path().display().to_string();
    for args in [
        vec!["fetch", "--store", &s],
        vec![
            "fetch",
            "--store",
            &s,
            "--server",
            "127.0.0.1:1",
            "--retries",
            "4",
        ],
        vec![
            "fetch",
            "--store",
            &s,
            "--server",
            "127.0.0.1:1",
            "--retry-interval",
            "31",
        ],
        vec!["fetch", "--store", &s, "--server", "[::1"],
        vec!["fetch", "--store", &s, "--server", "host:0"],
        vec!["fetch", "--store", &s, "--show", "--server", "127.0.0.1:1"],
        vec![
            "fetch",
            "--store",
            &s,
            "--server",
            "h",
            "--expect-sha256",
            "ab",
            "--trust-anchor",
            "x.pem",
        ],
    ] {
        let out = ctl(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
    }
    assert!(snapshot(store.path()).is_empty());
}

#[test]
fn unreadable_trust_anchor_is_an_other_error_exit_1_and_stores_nothing() {
    let store = tempfile::tempdir().unwrap();
    let s = store.path().display().to_string();
    let not_a_cert = store.path().join("anchor.pem");
    std::fs::write(&not_a_cert, b"not a certificate").unwrap();
    for anchor in [
        store.path().join("missing.pem").display().to_string(),
        not_a_cert.display().to_string(),
    ] {
        let out = ctl(&[
            "fetch",
            "--store",
            &s,
            "--server",
            "127.0.0.1:1",
            "--retries",
            "0",
            "--trust-anchor",
            &anchor,
        ]);
        assert_eq!(code(&out), 1, "{anchor}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("--trust-anchor") && err.contains("anchor"), "{err}");
    }
    let left: Vec<_> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "anchor.pem")
        .collect();
    assert!(!left.iter().any(|n| n.ends_with(".tlv")), "{left:?}");
}
