//! End-to-end tests of `ctl fetch` against `ctl serve` on loopback (port 0).
//!
//! Signed trust lists are made here with ctl-sign from the committed test PKI
//! (fixtures/pki): three SAST keys, the CallManager (CCM+TFTP), a TFTP server and CAPF.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ctl_format::Role;
use ctl_sign::{build_signed, BuildInput, CertificateRecord, HashAlgorithm, KeyFileSigner, SecretSource};

const CTL: &str = env!("CARGO_BIN_EXE_ctl");

fn pki(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/pki")
        .join(name)
}

/// A CTLFile.tlv holding the SAST certificates `sasts` (1..=3 = fixtures sast1..3) and the
/// cluster certificates, signed with the key of SAST `signer`; `version` is its TIMESTAMP
/// offset so every version differs.
fn signed(sasts: &[u8], signer: u8, version: u32) -> Vec<u8> {
    let mut entries: Vec<(Role, CertificateRecord)> = sasts
        .iter()
        .map(|n| {
            (
                Role::Sast,
                CertificateRecord::from_file(&pki(&format!("sast{n}.pem"))).unwrap(),
            )
        })
        .collect();
    for (role, file) in [
        (Role::CcmTftp, "CallManager.pem"),
        (Role::Tftp, "tftp1.pem"),
        (Role::Capf, "CAPF.0"),
    ] {
        entries.push((role, CertificateRecord::from_file(&pki(file)).unwrap()));
    }
    let input = BuildInput {
        entries,
        filename: "CTLFile.tlv".to_owned(),
        digest: HashAlgorithm::Sha1,
        signer_version: None,
        timestamp: 1_700_000_000 + version,
    };
    let key = KeyFileSigner::open(&pki(&format!("keys/sast{signer}.key")), &SecretSource::None).unwrap();
    build_signed(&input, &key).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    tftp_server::trust_store::decide::sha256_hex(bytes)
}

/// A running `ctl serve --root DIR` on a loopback port chosen by the OS. Killed on drop.
struct Serve {
    child: Child,
    address: SocketAddr,
    _root: tempfile::TempDir,
}

impl Serve {
    /// Serves `files` (name, content) from a fresh directory on `listen` (e.g. 127.0.0.1:0).
    fn start_on(listen: &str, files: &[(&str, &[u8])]) -> Option<Serve> {
        let root = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(root.path().join(name), bytes).unwrap();
        }
        let mut child = Command::new(CTL)
            .args(["serve", "--root"])
            .arg(root.path())
            .args(["--listen", listen])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ctl serve starts");
        let (lines, received) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            match received.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(address) = line.strip_prefix("listening on ") {
                        let address = address.trim().parse().expect("address in banner");
                        return Some(Serve {
                            child,
                            address,
                            _root: root,
                        });
                    }
                }
                Err(_) => {
                    // Exited (e.g. no IPv6) or silent for 30 s.
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }

    fn start(files: &[(&str, &[u8])]) -> Serve {
        Serve::start_on("127.0.0.1:0", files).expect("ctl serve listens on 127.0.0.1")
    }

    /// Serves one CTLFile.tlv.
    fn ctl(bytes: &[u8]) -> Serve {
        Serve::start(&[("CTLFile.tlv", bytes)])
    }

    fn server(&self) -> String {
        self.address.to_string()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ctl(args: &[&str]) -> Output {
    Command::new(CTL)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// `ctl fetch --store STORE --timeout 1 --server S...` plus `extra` (and `--retries 0`
/// unless `extra` sets it).
fn fetch(store: &Path, servers: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec![
        "fetch".into(),
        "--store".into(),
        store.display().to_string(),
        "--timeout".into(),
        "1".into(),
    ];
    if !extra.contains(&"--retries") {
        args.extend(["--retries".into(), "0".into()]);
    }
    for s in servers {
        args.push("--server".into());
        args.push(s.clone());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ctl(&refs)
}

/// Every file in the store (recursively) with its bytes, except the lock file.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                if name != ".lock" {
                    out.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn show_json(store: &Path) -> serde_json::Value {
    let output = ctl(&[
        "fetch",
        "--show",
        "--json",
        "--store",
        &store.display().to_string(),
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A port on 127.0.0.1 where nothing listens (bound by the OS, then released).
fn dead_port() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    drop(socket);
    address.to_string()
}

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
    let out = fetch(store.path(), &[server.clone()], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(show_json(store.path())["state"]["server"], server);
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
