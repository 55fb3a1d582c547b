//! The publish guard end to end: `ctl serve --root` with the fixture trust lists, files
//! replaced under it, candidates made with `ctl build` and the fixture PKI.

mod serve_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serve_support::*;
use tftp_server::catalog::sha256_hex;

/// `ctl build` of a CTL signed by `signer_key`, with the given SAST certificates.
fn build_ctl(out: &Path, sasts: &[&str], signer_key: &str) -> Vec<u8> {
    let pki = fixture("pki");
    let mut command = Command::new(CTL);
    command.args([
        "build",
        "--force",
        "--timestamp",
        "1735776000",
        "--lint-now",
        "1735776000",
        "-o",
    ]);
    command.arg(out);
    for sast in sasts {
        command.arg("--sast").arg(pki.join(sast));
    }
    command
        .arg("--ccm-tftp")
        .arg(format!("{},ip=192.0.2.10", pki.join("CallManager.pem").display()))
        .arg("--signer")
        .arg(pki.join("keys").join(signer_key));
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "ctl build: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(out).unwrap()
}

fn start(root: &Path, extra: &[&str]) -> Serve {
    let mut args = vec![
        "--root",
        root.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--rescan-ms",
        "30",
    ];
    args.extend_from_slice(extra);
    Serve::start(&args, root, 1)
}

/// Waits for the guard's verdict on the file with this content.
fn verdict(serve: &Serve, bytes: &[u8]) -> String {
    let sha = sha256_hex(bytes);
    serve
        .wait_for_log(Duration::from_secs(15), |l| {
            l.contains(&sha) && l.contains("trust list")
        })
        .unwrap_or_else(|| panic!("no verdict for {sha}: {:#?}", serve.log_lines()))
}

#[test]
fn bad_replacements_keep_the_old_version_and_a_signed_rotation_is_picked_up() {
    let root = tftproot_copy();
    let work = tempfile::tempdir().unwrap();
    let v1 = read_fixture("tftproot/CTLFile.tlv");
    let serve = start(root.path(), &[]);
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), v1);

    // Signed by a key that is no SAST of the served version (sast1 + sast2).
    let unknown = build_ctl(
        &work.path().join("unknown.tlv"),
        &["sast3.pem", "itlrecovery.pem"],
        "sast3.key",
    );
    // A proper rotation: signed by sast2, which v1 trusts.
    let rotation = build_ctl(
        &work.path().join("rotation.tlv"),
        &["sast2.pem", "sast3.pem"],
        "sast2.key",
    );
    // The rotation with one signature bit flipped.
    let mut bad_signature = rotation.clone();
    let location = ctl_format::TrustList::parse(&rotation)
        .unwrap()
        .signature_location()
        .unwrap();
    bad_signature[location.value_offset + location.value_len / 2] ^= 0x01;
    let garbage = b"this is not a trust list".to_vec();
    let truncated = rotation[..rotation.len() / 2].to_vec();

    for (what, candidate) in [
        ("unknown signer", &unknown),
        ("bad signature", &bad_signature),
        ("garbage", &garbage),
        ("truncated", &truncated),
    ] {
        replace(root.path(), "CTLFile.tlv", candidate);
        let line = verdict(&serve, candidate);
        assert!(
            line.contains("ERROR") && line.contains("NOT published"),
            "{what}: {line}"
        );
        assert!(
            line.contains("file=CTLFile.tlv") && line.contains("reason="),
            "{what}: {line}"
        );
        assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), v1, "{what}");
        assert_eq!(
            fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(),
            v1,
            "{what}"
        );
    }

    replace(root.path(), "CTLFile.tlv", &rotation);
    let line = verdict(&serve, &rotation);
    assert!(line.contains("trust list updated"), "{line}");
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), rotation);
    assert_eq!(
        fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(),
        rotation
    );
    let transfer = serve
        .wait_for_log(Duration::from_secs(10), |l| {
            l.contains("requested=CTLSEP001E4A93748B.tlv") && l.contains(&sha256_hex(&rotation))
        })
        .expect("transfer line with the new hash");
    assert!(transfer.contains("signer=CN=SAST-ctl-fixture-2"), "{transfer}");
    serve.terminate();
}

#[test]
fn per_device_file_must_be_acceptable_to_devices_holding_the_cluster_file() {
    let root = tftproot_copy();
    let work = tempfile::tempdir().unwrap();
    let v1 = read_fixture("tftproot/CTLFile.tlv");
    let serve = start(root.path(), &[]);
    let unknown = build_ctl(
        &work.path().join("unknown.tlv"),
        &["sast3.pem", "itlrecovery.pem"],
        "sast3.key",
    );
    replace(root.path(), "CTLSEP001E4A93748B.tlv", &unknown);
    assert!(verdict(&serve, &unknown).contains("NOT published"));
    assert_eq!(fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(), v1);
    let device = build_ctl(
        &work.path().join("device.tlv"),
        &["sast1.pem", "sast2.pem"],
        "sast1.key",
    );
    replace(root.path(), "CTLSEP001E4A93748B.tlv", &device);
    assert!(verdict(&serve, &device).contains("trust list updated"));
    assert_eq!(fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(), device);
    // Other devices still get the cluster file.
    assert_eq!(fetch(serve.address(), "CTLSEP00000000000A.tlv").unwrap(), v1);
    serve.terminate();
}

#[test]
fn allow_untrusted_update_publishes_a_reset() {
    let root = tftproot_copy();
    let work = tempfile::tempdir().unwrap();
    let serve = start(root.path(), &["--allow-untrusted-update"]);
    let reset = build_ctl(
        &work.path().join("reset.tlv"),
        &["sast3.pem", "itlrecovery.pem"],
        "sast3.key",
    );
    replace(root.path(), "CTLFile.tlv", &reset);
    let line = verdict(&serve, &reset);
    assert!(
        line.contains("WARN") && line.contains("allow-untrusted-update"),
        "{line}"
    );
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), reset);
    serve.terminate();
}

/// A restart must not put a broken trust list on the wire: with nothing served before it,
/// a list whose signature fails is refused (ERROR 1, logged), the other lists are served.
#[test]
fn tampered_trust_list_present_at_startup_is_not_served() {
    let root = tftproot_copy();
    let mut tampered = read_fixture("tftproot/CTLFile.tlv");
    let location = ctl_format::TrustList::parse(&tampered)
        .unwrap()
        .signature_location()
        .unwrap();
    tampered[location.value_offset] ^= 0x01;
    replace(root.path(), "CTLFile.tlv", &tampered);
    let serve = start(root.path(), &[]);
    let line = verdict(&serve, &tampered);
    assert!(
        line.contains("ERROR") && line.contains("NOT published") && line.contains("reason="),
        "{line}"
    );
    let refused = fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap_err();
    assert!(refused.contains("not found"), "{refused}");
    assert_eq!(
        fetch(serve.address(), "ITLFile.tlv").unwrap(),
        read_fixture("tftproot/ITLFile.tlv")
    );
    serve.terminate();
}

/// With --state-dir the guard survives a restart: a list signed by an untrusted key that
/// replaced the published one while the server was down is not served after it restarts.
#[test]
fn state_dir_keeps_devices_on_the_published_version_across_a_restart() {
    let root = tftproot_copy();
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let v1 = read_fixture("tftproot/CTLFile.tlv");
    let state_arg = state.path().to_str().unwrap();
    let serve = start(root.path(), &["--state-dir", state_arg]);
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), v1);
    assert!(serve.terminate().success());
    assert_eq!(std::fs::read(state.path().join("ctlfile.tlv")).unwrap(), v1);

    let unknown = build_ctl(
        &work.path().join("unknown.tlv"),
        &["sast3.pem", "itlrecovery.pem"],
        "sast3.key",
    );
    replace(root.path(), "CTLFile.tlv", &unknown);
    let serve = start(root.path(), &["--state-dir", state_arg]);
    let line = verdict(&serve, &unknown);
    assert!(line.contains("NOT published"), "{line}");
    assert_eq!(fetch(serve.address(), "CTLFile.tlv").unwrap(), v1);
    assert_eq!(fetch(serve.address(), "CTLSEP001E4A93748B.tlv").unwrap(), v1);
    serve.terminate();
}
