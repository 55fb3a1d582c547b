//! `would_accept` on files laid out field by field, for the cases `ctl build` cannot make
//! (it refuses a signer that is not one of the file's own SAST records).
use std::path::PathBuf;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{Digest, Role, TrustList};
use ctl_sign::build::record_fields;
use ctl_sign::{
    would_accept, CertificateRecord, Decision, HashAlgorithm, KeyFileSigner, SecretSource, SecurityToken,
    TrustWarning,
};

fn pki(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/pki")
        .join(name)
}

fn cert(name: &str) -> CertificateRecord {
    CertificateRecord::from_file(&pki(name)).unwrap()
}

/// A file whose header names `signer` and which `key` signs, holding `sasts` as SAST
/// records plus the CallManager.
fn signed_file(signer: &str, key: &str, sasts: &[&str]) -> Vec<u8> {
    let signer = cert(signer);
    let header = HeaderFields {
        version: (1, 2),
        signer_version: None,
        signer_name: signer.subject.into_bytes(),
        signer_serial: signer.serial,
        ca_name: signer.issuer.into_bytes(),
        digest: Digest::Sha1,
        signature_algorithm: 0,
        signature_len: 256,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp: 1_735_689_600,
    };
    let mut records: Vec<RecordFields> = sasts
        .iter()
        .map(|name| record_fields(Role::Sast, &cert(name)))
        .collect();
    records.push(record_fields(Role::CcmTftp, &cert("CallManager.pem")));
    let unsigned = build_unsigned(&header, &records).unwrap();
    let token = KeyFileSigner::open(&pki(&format!("keys/{key}")), &SecretSource::None).unwrap();
    let signature = token.sign(HashAlgorithm::Sha1, &unsigned.signed_bytes()).unwrap();
    unsigned.with_signature(&signature).unwrap()
}

#[test]
fn a_candidate_dropping_every_installed_sast_is_accepted_with_a_warning() {
    let installed = signed_file("sast1.pem", "sast1.key", &["sast1.pem", "sast2.pem"]);
    let installed = TrustList::parse(&installed).unwrap();
    // Signed by sast1 (trusted), but lists only sast3 and ITLRecovery: the header's signer
    // is found in the installed list only.
    let candidate = signed_file("sast1.pem", "sast1.key", &["sast3.pem", "itlrecovery.pem"]);
    let Decision::Accepted {
        installed_sast_index,
        candidate_signer_index,
        warnings,
    } = would_accept(&installed, &candidate)
    else {
        panic!("expected acceptance");
    };
    assert_eq!(installed_sast_index, 0);
    assert_eq!(candidate_signer_index, None);
    assert!(
        warnings.contains(&TrustWarning::KeepsNoInstalledSast),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| matches!(w, TrustWarning::NotSelfConsistent { .. })),
        "{warnings:?}"
    );
    assert!(!warnings
        .iter()
        .any(|w| matches!(w, TrustWarning::FewerThanTwoSast { .. })));
    let text = TrustWarning::KeepsNoInstalledSast.to_string();
    assert!(text.contains("none of the installed SAST keys"), "{text}");

    // Keeping one of the installed keys (sast2) silences the warning.
    let keeps = signed_file("sast1.pem", "sast1.key", &["sast2.pem", "sast3.pem"]);
    let Decision::Accepted { warnings, .. } = would_accept(&installed, &keeps) else {
        panic!("expected acceptance");
    };
    assert!(
        !warnings.contains(&TrustWarning::KeepsNoInstalledSast),
        "{warnings:?}"
    );
}
