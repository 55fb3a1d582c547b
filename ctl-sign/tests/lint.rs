//! `lint` on lists laid out field by field from the fixture certificates: each code fires
//! on the fault it names and stays quiet on the clean list.
use std::path::PathBuf;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{Digest, Role, TrustList};
use ctl_sign::build::record_fields;
use ctl_sign::lint::{has_errors, lint, Finding, LintOptions, Severity};
use ctl_sign::CertificateRecord;

/// 2025-01-01, inside every fixture certificate's validity except expired.pem.
const NOW: i64 = 1_735_689_600;

fn cert(name: &str) -> CertificateRecord {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/pki")
        .join(name);
    CertificateRecord::from_file(&path).unwrap()
}

/// A file signed (slot zeroed) by sast1, holding `records`; returns the parsed list and size.
fn file(records: &[RecordFields]) -> (TrustList, usize) {
    let signer = cert("sast1.pem");
    let header = HeaderFields {
        version: (1, 2),
        signer_version: None,
        signer_name: signer.subject.into_bytes(),
        signer_serial: signer.serial,
        ca_name: signer.issuer.into_bytes(),
        digest: Digest::Sha512,
        signature_algorithm: 0,
        signature_len: 256,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp: NOW as u32,
    };
    let unsigned = build_unsigned(&header, records).unwrap();
    let bytes = unsigned.bytes().to_vec();
    (TrustList::parse(&bytes).unwrap(), bytes.len())
}

fn clean_records() -> Vec<RecordFields> {
    vec![
        record_fields(Role::Sast, &cert("sast1.pem")),
        record_fields(Role::Sast, &cert("sast2.pem")),
        record_fields(Role::CcmTftp, &cert("CallManager.pem")),
        record_fields(Role::Capf, &cert("CAPF.0")),
    ]
}

fn findings(records: &[RecordFields]) -> Vec<Finding> {
    let (list, len) = file(records);
    lint(
        &list,
        len,
        LintOptions {
            now: NOW,
            expiry_days: 30,
        },
    )
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn clean_sha512_list_has_no_findings() {
    assert_eq!(codes(&findings(&clean_records())), Vec::<&str>::new());
}

#[test]
fn one_sast_is_a_warning_only() {
    let mut records = clean_records();
    records.remove(1);
    let found = findings(&records);
    assert_eq!(codes(&found), vec!["L002"]);
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(
        found[0].message.contains("1 SAST record(s)"),
        "{}",
        found[0].message
    );
    assert!(!has_errors(&found));
}

/// `base` plus copies of `name` under unknown role codes (distinct roles, so no L009).
fn padded(name: &str, total: usize) -> Vec<RecordFields> {
    let mut records = clean_records();
    let extra = cert(name);
    let mut code = 100u16;
    while records.len() < total {
        records.push(record_fields(Role::from(code), &extra));
        code += 1;
    }
    records
}

#[test]
fn over_39_certificates_is_an_error_even_under_64_kib() {
    let (list, len) = file(&padded("CallManager.pem", 40));
    assert!(len <= 65536, "{len} bytes: this case must stay under 64 KiB");
    let found = lint(
        &list,
        len,
        LintOptions {
            now: NOW,
            expiry_days: 30,
        },
    );
    assert_eq!(codes(&found), vec!["L004"]);
    assert_eq!(found[0].severity, Severity::Error);
    assert!(
        found[0].message.contains("40 certificates"),
        "{}",
        found[0].message
    );

    let (list, len) = file(&padded("CallManager.pem", 39));
    let found = lint(
        &list,
        len,
        LintOptions {
            now: NOW,
            expiry_days: 30,
        },
    );
    assert_eq!(codes(&found), Vec::<&str>::new(), "39 certificates are allowed");
}

#[test]
fn over_64_kib_is_an_error_even_under_39_certificates() {
    // RSA-4096 certificates are large: 36 of them exceed 64 KiB.
    let (list, len) = file(&padded("big4096.pem", 39));
    assert!(len > 65536, "{len} bytes: this case must exceed 64 KiB");
    let found = lint(
        &list,
        len,
        LintOptions {
            now: NOW,
            expiry_days: 30,
        },
    );
    let l003 = found.iter().find(|f| f.code == "L003").expect("L003");
    assert_eq!(l003.severity, Severity::Error);
    assert!(l003.message.contains(&format!("{len} bytes")), "{}", l003.message);
    assert!(!codes(&found).contains(&"L004"));
    assert!(
        codes(&found).contains(&"L005"),
        "RSA 4096 keys: {:?}",
        codes(&found)
    );
    assert!(has_errors(&found));
    // The size rule counts the bytes given, at the boundary.
    let (list, _) = file(&clean_records());
    let at = |n| {
        codes(&lint(
            &list,
            n,
            LintOptions {
                now: NOW,
                expiry_days: 30,
            },
        ))
        .contains(&"L003")
    };
    assert!(!at(65536) && at(65537));
}

#[test]
fn unparseable_certificate_and_mismatched_public_key() {
    let mut records = clean_records();
    // Record 3: CAPF with a truncated certificate.
    let der = records[3].certificate.clone().unwrap();
    records[3].certificate = Some(der[..der.len() / 2].to_vec());
    // Record 2: CallManager's certificate with TFTP's public key.
    records[2].public_key = Some(cert("tftp1.pem").public_key);
    let found = findings(&records);
    let l013 = found.iter().find(|f| f.code == "L013").expect("L013");
    assert_eq!((l013.severity, l013.record), (Severity::Warning, Some(3)));
    let l014 = found.iter().find(|f| f.code == "L014").expect("L014");
    assert_eq!((l014.severity, l014.record), (Severity::Error, Some(2)));
    assert_eq!(codes(&found), vec!["L014", "L013"], "errors sort first");
}

#[test]
fn signer_missing_from_the_sast_records() {
    let mut records = clean_records();
    records[0].role = Role::Ccm; // sast1 is listed, but not as SAST
    let found = findings(&records);
    let l010 = found.iter().find(|f| f.code == "L010").expect("L010");
    assert_eq!(l010.severity, Severity::Error);
    assert!(codes(&found).contains(&"L002"));
}

#[test]
fn not_yet_valid_is_l006_and_the_same_certificate_in_two_roles_is_not_a_duplicate() {
    let mut records = clean_records();
    records.push(record_fields(Role::Tftp, &cert("CallManager.pem")));
    let (list, len) = file(&records);
    // 2023: before every fixture certificate's notBefore (2024-01-01).
    let found = lint(
        &list,
        len,
        LintOptions {
            now: 1_672_531_200,
            expiry_days: 30,
        },
    );
    let early: Vec<_> = found.iter().filter(|f| f.code == "L006").collect();
    assert_eq!(early.len(), records.len(), "{found:?}");
    assert!(
        early[0].message.contains("not valid before"),
        "{}",
        early[0].message
    );
    let found = lint(
        &list,
        len,
        LintOptions {
            now: NOW,
            expiry_days: 30,
        },
    );
    assert!(!codes(&found).contains(&"L009"), "{:?}", codes(&found));
}
