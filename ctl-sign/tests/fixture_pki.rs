//! The committed fixture PKI regenerates byte for byte, and certificates become the
//! record fields CUCM would write.
mod support;

#[path = "support/test_pki.rs"]
mod test_pki;

use ctl_sign::{CertificateRecord, KeyKind};
use support::tools::pki;

#[test]
fn regenerating_the_pki_gives_the_committed_bytes() {
    for (file, pem) in test_pki::generate(&pki()) {
        let committed = std::fs::read_to_string(pki().join(&file)).unwrap();
        assert_eq!(pem, committed, "{file} differs from a fresh generation");
    }
}

#[test]
fn names_are_cucm_style_in_cn_ou_o_l_st_c_order() {
    // DER order C, ST, L, O, OU, CN.
    let cm = CertificateRecord::from_file(&pki().join("CallManager.pem")).unwrap();
    assert_eq!(
        cm.subject,
        "CN=cucm-pub.example.com;OU=VTG;O=ctl fixtures;L=San Jose;ST=CA;C=US"
    );
    assert_eq!(cm.issuer, cm.subject, "self-signed");
    assert_eq!(cm.dns_name, "cucm-pub");
    // DER order CN, O, C.
    let tftp = CertificateRecord::from_file(&pki().join("tftp1.pem")).unwrap();
    assert_eq!(tftp.subject, "CN=tftp1.example.com;O=ctl fixtures;C=US");
    let sast1 = CertificateRecord::from_file(&pki().join("sast1.pem")).unwrap();
    assert_eq!(sast1.issuer, "CN=CTL Test Manufacturing CA;O=ctl fixtures;C=US");
}

#[test]
fn serial_is_der_integer_content_and_key_is_pkcs1() {
    let sast1 = CertificateRecord::from_file(&pki().join("sast1.pem")).unwrap();
    assert_eq!(sast1.serial, [0x3a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0x01]);
    // Top bit set: the DER content keeps its leading zero.
    let sast2 = CertificateRecord::from_file(&pki().join("sast2.pem")).unwrap();
    assert_eq!(
        sast2.serial,
        [0x00, 0x9a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0x02]
    );
    // PKCS#1 RSAPublicKey: 140 bytes at 1024 bits, 270 at 2048 (ctl-format.md §3).
    assert_eq!(sast2.public_key.len(), 140);
    assert_eq!(&sast2.public_key[..4], &[0x30, 0x81, 0x89, 0x02]);
    assert_eq!(sast1.public_key.len(), 270);
    assert_eq!(sast1.key_kind, KeyKind::Rsa { bits: 2048 });
    assert_eq!(sast1.cert_signature.len(), 256, "signed by the 2048-bit CA");
    // The DER certificate ends with its own signature value.
    assert!(sast1.der.ends_with(&sast1.cert_signature));
}

#[test]
fn capf_dot_zero_pem_and_der_read_the_same() {
    let pem = CertificateRecord::from_file(&pki().join("CAPF.0")).unwrap();
    let der = CertificateRecord::from_bytes(&pem.der, "CAPF.der").unwrap();
    assert_eq!(pem.der, der.der);
    assert_eq!(pem.subject, der.subject);
    assert_eq!(
        pem.subject,
        "CN=CAPF-5e1f0a27;OU=VTG;O=ctl fixtures;L=San Jose;ST=CA;C=US"
    );
}

#[test]
fn ec_certificate_record_holds_the_uncompressed_point() {
    let ec = CertificateRecord::from_file(&pki().join("ec-sast.pem")).unwrap();
    assert_eq!(ec.key_kind, KeyKind::Ec { bits: 256 });
    assert_eq!(ec.public_key.len(), 65);
    assert_eq!(ec.public_key[0], 0x04);
    assert!(ec.rsa_public_key().is_none());
}

#[test]
fn corrupt_certificates_are_refused_with_the_file_name() {
    let good = std::fs::read(pki().join("sast1.pem")).unwrap();
    let der = CertificateRecord::from_bytes(&good, "x").unwrap().der;
    let mut truncated = der.clone();
    truncated.truncate(der.len() - 10);
    let err = CertificateRecord::from_bytes(&truncated, "broken.der").unwrap_err();
    assert!(
        err.to_string().starts_with("broken.der: not a valid X.509"),
        "{err}"
    );
    let err = CertificateRecord::from_bytes(b"hello", "hello.pem").unwrap_err();
    assert!(err.to_string().contains("neither PEM nor DER"), "{err}");
    let key = std::fs::read(pki().join("keys/sast1.key")).unwrap();
    let err = CertificateRecord::from_bytes(&key, "sast1.key").unwrap_err();
    assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
}
