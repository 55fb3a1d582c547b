//! The genuine Cisco CUCM 10 tokenless CTL (../shared/vectors, never copied into the repo).
use ctl_sign::{verify_file, HashAlgorithm, VerifyError};

fn genuine() -> Option<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv"
    );
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if std::env::var_os("CI").is_some() => panic!("genuine vector {path}: {e}"),
        Err(e) => {
            eprintln!("skipping: genuine vector {path} not readable: {e}");
            None
        }
    }
}

#[test]
fn genuine_file_verifies_with_sha1_signed_by_record_0() {
    let Some(bytes) = genuine() else { return };
    let verified = verify_file(&bytes).expect("genuine file verifies");
    assert_eq!(verified.signer_index, 0);
    assert_eq!(verified.digest, HashAlgorithm::Sha1);
    // Two SAST records (publisher CallManager and ITLRecovery); only record 0's key signed.
    let checks: Vec<(usize, bool)> = verified
        .sast_checks
        .iter()
        .map(|c| (c.index, c.verifies))
        .collect();
    assert_eq!(checks, vec![(0, true), (4, false)]);
}

#[test]
fn flipping_any_single_byte_breaks_verification() {
    let Some(bytes) = genuine() else { return };
    let mut malformed = 0;
    // Every byte of the file: dependencies are optimised in dev builds (root Cargo.toml), so
    // the ~7000 flips, each costing up to three RSA verifications, take seconds.
    let offsets = 0..bytes.len();
    let mut tried = 0;
    for offset in offsets {
        tried += 1;
        let mut altered = bytes.clone();
        altered[offset] ^= 0x01;
        match verify_file(&altered) {
            Ok(v) => panic!("flip at offset {offset} still verifies: {v:?}"),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                if matches!(e, VerifyError::Malformed(_)) {
                    malformed += 1;
                }
            }
        }
    }
    // Both kinds of failure occur: structure damage and signature damage.
    assert!(malformed > 0 && malformed < tried, "{malformed} of {tried}");
}
