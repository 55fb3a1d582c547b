//! Signed trust lists made from the committed test PKI (fixtures/pki), for unit tests.
use std::path::PathBuf;

use ctl_format::Role;
use ctl_sign::{build_signed, BuildInput, CertificateRecord, HashAlgorithm, KeyFileSigner, SecretSource};

/// A fixture key pair.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Key {
    Sast1,
    Sast2,
    Sast3,
}

fn pki(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/pki")).join(name)
}

impl Key {
    fn stem(self) -> &'static str {
        match self {
            Key::Sast1 => "sast1",
            Key::Sast2 => "sast2",
            Key::Sast3 => "sast3",
        }
    }

    pub(crate) fn certificate(self) -> CertificateRecord {
        CertificateRecord::from_file(&pki(&format!("{}.pem", self.stem()))).expect("fixture cert")
    }

    fn signer(self) -> KeyFileSigner {
        KeyFileSigner::open(&pki(&format!("keys/{}.key", self.stem())), &SecretSource::None)
            .expect("fixture key")
    }
}

/// A CTLFile.tlv with `sasts`, the CallManager (CCM+TFTP), a TFTP server and CAPF,
/// signed by `signer`; `version` goes into the TIMESTAMP so versions differ.
pub(crate) fn signed(sasts: &[Key], signer: Key, version: u32) -> Vec<u8> {
    let mut entries: Vec<(Role, CertificateRecord)> =
        sasts.iter().map(|k| (Role::Sast, k.certificate())).collect();
    for (role, file) in [
        (Role::CcmTftp, "CallManager.pem"),
        (Role::Tftp, "tftp1.pem"),
        (Role::Capf, "CAPF.0"),
    ] {
        entries.push((
            role,
            CertificateRecord::from_file(&pki(file)).expect("fixture cert"),
        ));
    }
    let input = BuildInput {
        entries,
        filename: "CTLFile.tlv".to_owned(),
        digest: HashAlgorithm::Sha1,
        signer_version: None,
        timestamp: 1_700_000_000 + version,
    };
    build_signed(&input, &signer.signer()).expect("fixture file builds")
}
