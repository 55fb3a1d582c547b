//! End-to-end tests of `ctl verify`, `ctl lint` and `ctl diff` (the real binary).
//! Exit codes: 0 verified/accepted, 1 error, 2 usage, 3 rejected, 4 malformed.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{Digest, TrustList};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pki(name: &str) -> String {
    repo().join("fixtures/pki").join(name).display().to_string()
}

fn ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(args)
        .output()
        .expect("run ctl")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn genuine() -> Option<PathBuf> {
    let path = repo().join("../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv");
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("genuine vector missing: {}", path.display());
    }
    eprintln!("note: skipping, {} not present", path.display());
    None
}

const TS: &str = "1735689600";

/// Builds a file with the given SAST certificates (by fixture stem), signed by `signer`.
fn build(dir: &Path, name: &str, sasts: &[&str], signer: &str) -> PathBuf {
    let out = dir.join(name);
    let o = out.display().to_string();
    let mut args: Vec<String> = [
        "build",
        "-o",
        &o,
        "--timestamp",
        TS,
        "--lint-now",
        TS,
        "--allow-lint-errors",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in sasts {
        args.push("--sast".into());
        args.push(pki(&format!("{s}.pem")));
    }
    args.extend([
        "--ccm-tftp".into(),
        pki("CallManager.pem"),
        "--capf".into(),
        pki("CAPF.0"),
    ]);
    args.extend(["--signer".into(), pki(&format!("keys/{signer}.key"))]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = ctl(&refs);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

fn trusted(old: &Path, new: &Path) -> Output {
    ctl(&[
        "verify",
        "--trusted",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ])
}

#[test]
fn genuine_cisco_file_verifies_and_names_record_0() {
    let Some(path) = genuine() else { return };
    let out = ctl(&["verify", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("signature OK (sha1, signed by SAST record #1)"),
        "{}",
        stdout(&out)
    );
    let json = ctl(&["verify", "--json", path.to_str().unwrap()]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["verified"], true);
    assert_eq!(value["detail"]["signer_index"], 0);
}

#[test]
fn flipped_bytes_of_the_genuine_file_fail_with_a_reason() {
    let Some(path) = genuine() else { return };
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Header length field, signer name, digest code, signature, a record's subject,
    // a certificate byte, the last byte.
    for offset in [9usize, 20, 150, 200, 400, 3000, bytes.len() - 1] {
        let mut altered = bytes.clone();
        altered[offset] ^= 0x40;
        let file = dir.path().join(format!("flip{offset}.tlv"));
        std::fs::write(&file, &altered).unwrap();
        let out = ctl(&["verify", file.to_str().unwrap()]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(3) | Some(4)),
            "offset {offset}: exit {code:?}"
        );
        assert!(
            stdout(&out).contains("FAILED:"),
            "offset {offset}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn trust_chain_rotation_is_checked_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Installed: signed by S1, lists S1 and S2.
    let old = build(d, "old.tlv", &["sast1", "sast2"], "sast1");
    // Signed by S2 (listed in OLD): accepted.
    let by_s2 = build(d, "by_s2.tlv", &["sast1", "sast2"], "sast2");
    let out = trusted(&old, &by_s2);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("accepted"));
    // Signed by S3 (not in OLD): rejected, exit 3.
    let by_s3 = build(d, "by_s3.tlv", &["sast2", "sast3"], "sast3");
    let out = trusted(&old, &by_s3);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("rejected"));
    assert!(stdout(&out).contains("not a SAST key of the installed list"));

    // Three-step rotation S1 -> S3: {S1,S2}/S1 -> {S2,S3}/S2 -> {S3,S2}/S3.
    let step2 = build(d, "step2.tlv", &["sast2", "sast3"], "sast2");
    let step3 = build(d, "step3.tlv", &["sast3", "sast2"], "sast3");
    assert_eq!(trusted(&old, &step2).status.code(), Some(0));
    assert_eq!(trusted(&step2, &step3).status.code(), Some(0));
    // A device that missed step 2 cannot take step 3.
    assert_eq!(trusted(&old, &step3).status.code(), Some(3));

    // Accepted but dangerous: only one SAST, keeping none of the installed SAST keys.
    let lonely = build(d, "lonely.tlv", &["sast3"], "sast3");
    let out = trusted(&step3, &lonely);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 SAST record(s)"));

    // JSON form.
    let json = ctl(&[
        "verify",
        "--json",
        "--trusted",
        old.to_str().unwrap(),
        by_s3.to_str().unwrap(),
    ]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["decision"], "rejected");
    assert_eq!(value["reason"]["kind"], "signer_not_trusted");

    // Malformed candidate: exit 4.
    let junk = d.join("junk.tlv");
    std::fs::write(&junk, b"\x01\x00\x02\x01").unwrap();
    assert_eq!(trusted(&old, &junk).status.code(), Some(4));
    assert_eq!(ctl(&["verify", junk.to_str().unwrap()]).status.code(), Some(4));
    // Unreadable file: exit 1.
    assert_eq!(
        ctl(&["verify", d.join("absent").to_str().unwrap()]).status.code(),
        Some(1)
    );
}

#[test]
fn lint_reports_stable_codes_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.tlv");
    let o = out.display().to_string();
    let result = ctl(&[
        "build",
        "-o",
        &o,
        "--timestamp",
        TS,
        "--lint-now",
        TS,
        "--allow-lint-errors",
        "--sast",
        &pki("sast1.pem"),
        "--sast",
        &pki("sast2.pem"),
        "--sast",
        &pki("sast3.pem"),
        "--tftp",
        &pki("expired.pem"),
        "--tftp",
        &pki("big4096.pem"),
        "--capf",
        &pki("CAPF.0"),
        "--capf",
        &pki("CAPF.0"),
        "--filename",
        "CTLSEP001E4A93748B.tlv",
        "--signer",
        &pki("keys/sast1.key"),
    ]);
    assert!(result.status.success());
    let lint = ctl(&["lint", "--json", "--now", TS, &o]);
    assert_eq!(lint.status.code(), Some(3), "errors present");
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&lint.stdout).unwrap();
    let codes: Vec<&str> = findings.iter().map(|f| f["code"].as_str().unwrap()).collect();
    for expected in ["L001", "L005", "L006", "L008", "L009", "L011", "L012"] {
        assert!(codes.contains(&expected), "{expected} missing from {codes:?}");
    }
    let expired = findings.iter().find(|f| f["code"] == "L006").unwrap();
    assert_eq!(expired["severity"], "error");
    assert_eq!(expired["record"], 3);

    // Expiry window: 2049-12-31 is 30 days after 2049-12-01.
    let fixture = repo().join("fixtures/tftproot/CTLFile.tlv");
    let f = fixture.to_str().unwrap();
    let near_end = "2522275200"; // 2049-12-06
    let lint = ctl(&["lint", "--now", near_end, "--expiry-days", "30", f]);
    assert_eq!(lint.status.code(), Some(0));
    assert!(
        stdout(&lint).contains("L007 warning certificate-expiring"),
        "{}",
        stdout(&lint)
    );
    let lint = ctl(&["lint", "--now", near_end, "--expiry-days", "10", f]);
    assert!(!stdout(&lint).contains("L007"));
    // The committed sample is clean apart from the SHA-1 note.
    let lint = ctl(&["lint", "--json", "--now", TS, f]);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&lint.stdout).unwrap();
    let codes: Vec<&str> = findings.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["L012"]);
}

#[test]
fn diff_shows_signer_change_records_and_header_fields() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = build(d, "a.tlv", &["sast1", "sast2"], "sast1");
    let b = build(d, "b.tlv", &["sast2", "sast3"], "sast2");
    let text = ctl(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(text.status.success());
    let t = stdout(&text);
    assert!(t.contains("SIGNER CHANGED"), "{t}");
    assert!(t.contains("- #1 SAST CN=SAST-ctl-fixture-1"), "{t}");
    assert!(t.contains("+ #2 SAST CN=SAST-ctl-fixture-3"), "{t}");
    let json = ctl(&["diff", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    let changes: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    let kinds: Vec<&str> = changes.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "signer_changed").count(), 1);
    assert!(
        kinds.contains(&"added") && kinds.contains(&"removed"),
        "{kinds:?}"
    );
    let same = ctl(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(stdout(&same).trim(), "no differences");
    assert!(same.status.success());
    // A file that does not parse: exit 1, one line naming it.
    let junk = d.join("junk.tlv");
    std::fs::write(&junk, b"\x01\x00\x02\x01").unwrap();
    let broken = ctl(&["diff", a.to_str().unwrap(), junk.to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(1));
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        err.contains("junk.tlv is malformed") && err.contains("offset"),
        "{err}"
    );
    // Header change: CTL vs ITL samples.
    let ctl_file = repo().join("fixtures/tftproot/CTLFile.tlv");
    let itl_file = repo().join("fixtures/tftproot/ITLFile.tlv");
    let t = stdout(&ctl(&[
        "diff",
        ctl_file.to_str().unwrap(),
        itl_file.to_str().unwrap(),
    ]));
    assert!(t.contains("header filename: CTLFile.tlv -> ITLFile.tlv"), "{t}");
}

/// The committed sample rebuilt with `change` applied to its header fields, keeping the
/// original signature bytes (the checks below fail before the signature is looked at, or
/// because it no longer matches).
fn sample_with_header(dir: &Path, name: &str, change: impl FnOnce(&mut HeaderFields, &TrustList)) -> PathBuf {
    let bytes = std::fs::read(repo().join("fixtures/tftproot/CTLFile.tlv")).unwrap();
    let list = TrustList::parse(&bytes).unwrap();
    let mut header = HeaderFields::from_header(&list.header).unwrap();
    change(&mut header, &list);
    let records: Vec<RecordFields> = list
        .records
        .iter()
        .map(|r| RecordFields::from_record(r).unwrap())
        .collect();
    let file = build_unsigned(&header, &records)
        .unwrap()
        .with_signature(list.header.signature().unwrap())
        .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, file).unwrap();
    path
}

#[test]
fn verify_names_each_reason_for_refusing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            sample_with_header(d, "unknown-signer.tlv", |h, _| h.signer_serial = vec![0x0b, 0xad]),
            "unknown signer: no record has serial 0bad",
        ),
        (
            // The header names the CallManager record (CCM+TFTP, record index 2).
            sample_with_header(d, "ccm-signer.tlv", |h, list| {
                let ccm = &list.records[2];
                h.signer_name = ccm.subject().unwrap().to_vec();
                h.signer_serial = ccm.serial().unwrap().to_vec();
                h.ca_name = ccm.issuer().unwrap().to_vec();
            }),
            "signer is record #3, which has role CCM+TFTP, not SAST",
        ),
        (
            sample_with_header(d, "digest-9.tlv", |h, _| h.digest = Digest::from(9)),
            "unsupported digest algorithm code 9",
        ),
        (
            sample_with_header(d, "algorithm-5.tlv", |h, _| h.signature_algorithm = 5),
            "unsupported signature algorithm code 5",
        ),
        (
            sample_with_header(d, "new-timestamp.tlv", |h, _| h.timestamp += 1),
            "bad signature",
        ),
    ];
    for (path, reason) in &cases {
        let out = ctl(&["verify", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{}: {}", path.display(), stdout(&out));
        assert!(
            stdout(&out).contains("FAILED:") && stdout(&out).contains(reason),
            "expected {reason:?}: {}",
            stdout(&out)
        );
        let json = ctl(&["verify", "--json", path.to_str().unwrap()]);
        let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(value["verified"], false);
        assert_eq!(value["malformed"], false);
        assert!(value["reason"].as_str().unwrap().contains(reason));
    }
    // A device holding the sample refuses the unsupported-digest file too.
    let sample = repo().join("fixtures/tftproot/CTLFile.tlv");
    let out = trusted(&sample, &cases[2].0);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("rejected: candidate cannot be checked"),
        "{}",
        stdout(&out)
    );
    // Lint flags the header naming a non-SAST signer.
    let out = ctl(&["lint", "--now", TS, cases[1].0.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("L010 error signer-not-sast"),
        "{}",
        stdout(&out)
    );
}
