//! The real publish guard ([`CtlSignGuard`]) on files signed with the fixture PKI and on
//! the genuine Cisco CTL (read from ../shared/vectors).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};

use ctl_format::Role;
use ctl_sign::{build_signed, BuildInput, CertificateRecord, HashAlgorithm, KeyFileSigner, SecretSource};
use tftp_server::catalog::{CtlSignGuard, PublishGuard};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn cert(name: &str) -> CertificateRecord {
    CertificateRecord::from_file(&fixtures().join("pki").join(name)).expect("fixture certificate")
}

/// A CTL with the given SAST certificates and a CallManager record, signed by `key`.
fn signed(sasts: &[&str], key: &str) -> Vec<u8> {
    let mut entries: Vec<(Role, CertificateRecord)> = sasts.iter().map(|s| (Role::Sast, cert(s))).collect();
    entries.push((Role::CcmTftp, cert("CallManager.pem")));
    let input = BuildInput {
        entries,
        filename: "CTLFile.tlv".to_string(),
        digest: HashAlgorithm::Sha1,
        signer_version: None,
        timestamp: 1_735_776_000,
    };
    let token = KeyFileSigner::open(&fixtures().join("pki/keys").join(key), &SecretSource::None)
        .expect("fixture key");
    build_signed(&input, &token).expect("build")
}

#[test]
fn inspect_names_the_signer_of_the_genuine_cisco_file() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv");
    let genuine =
        std::fs::read(&path).unwrap_or_else(|e| panic!("test vector missing at {}: {e}", path.display()));
    let info = CtlSignGuard.inspect(&genuine).unwrap();
    assert!(info.signer.contains("CN=gigantic-6.cisco.com"), "{}", info.signer);
    assert!(info.signer.contains("24491f10703fea9b"), "{}", info.signer);
}

#[test]
fn rotation_signed_by_a_served_sast_is_accepted() {
    let served = signed(&["sast1.pem", "sast2.pem"], "sast1.key");
    let rotation = signed(&["sast2.pem", "sast3.pem"], "sast2.key");
    let info = CtlSignGuard.check_update(&served, &rotation).unwrap();
    assert!(info.signer.contains("SAST-ctl-fixture-2"), "{}", info.signer);
}

#[test]
fn unknown_signer_bad_signature_and_garbage_are_rejected_with_reasons() {
    let served = signed(&["sast1.pem", "sast2.pem"], "sast1.key");
    let unknown = signed(&["sast3.pem", "itlrecovery.pem"], "sast3.key");
    let reason = CtlSignGuard.check_update(&served, &unknown).unwrap_err().reason;
    assert!(
        reason.contains("not a SAST key of the installed list"),
        "{reason}"
    );

    let mut tampered = signed(&["sast1.pem", "sast2.pem"], "sast1.key");
    let location = ctl_format::TrustList::parse(&tampered)
        .unwrap()
        .signature_location()
        .unwrap();
    tampered[location.value_offset] ^= 0x80;
    let reason = CtlSignGuard.check_update(&served, &tampered).unwrap_err().reason;
    assert!(reason.contains("signature"), "{reason}");
    assert!(CtlSignGuard.inspect(&tampered).is_err());

    let reason = CtlSignGuard.check_update(&served, b"garbage").unwrap_err().reason;
    assert!(reason.contains("malformed"), "{reason}");
}

#[test]
fn with_an_unparsable_served_version_only_a_valid_file_is_accepted() {
    // No device can hold garbage, so they are all at first use: a self-consistent file passes.
    let good = signed(&["sast3.pem", "itlrecovery.pem"], "sast3.key");
    assert!(CtlSignGuard.check_update(b"garbage", &good).is_ok());
    assert!(CtlSignGuard.check_update(b"garbage", b"more garbage").is_err());
}
