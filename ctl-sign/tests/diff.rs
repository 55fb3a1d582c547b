//! `diff` on lists built field by field: every kind of change is reported, nothing else.
use std::net::Ipv4Addr;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{Digest, Role, TrustList};
use ctl_sign::diff::{diff, Change};

fn record(role: Role, subject: &str, serial: u8, certificate: &[u8]) -> RecordFields {
    let mut fields = RecordFields::new(role);
    fields.dns_name = Some(subject.split('.').next().unwrap().as_bytes().to_vec());
    fields.subject = Some(format!("CN={subject}").into_bytes());
    fields.issuer = Some(b"CN=ca".to_vec());
    fields.serial = Some(vec![serial]);
    fields.public_key = Some(vec![0x30, serial]);
    fields.certificate = Some(certificate.to_vec());
    fields
}

fn list(signer_serial: u8, timestamp: u32, records: &[RecordFields]) -> TrustList {
    let header = HeaderFields {
        version: (1, 2),
        signer_version: None,
        signer_name: b"CN=sast1".to_vec(),
        signer_serial: vec![signer_serial],
        ca_name: b"CN=ca".to_vec(),
        digest: Digest::Sha1,
        signature_algorithm: 0,
        signature_len: 128,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp,
    };
    TrustList::parse(build_unsigned(&header, records).unwrap().bytes()).unwrap()
}

#[test]
fn identical_lists_have_no_changes() {
    let records = [record(Role::Sast, "sast1", 1, b"cert-sast1")];
    assert_eq!(diff(&list(1, 100, &records), &list(1, 100, &records)), vec![]);
}

#[test]
fn every_kind_of_change_is_reported() {
    let old = list(
        1,
        100,
        &[
            record(Role::Sast, "sast1", 1, b"cert-sast1"),
            record(Role::CcmTftp, "cucm.example.com", 2, b"cert-cucm-2024"),
            record(Role::Tftp, "tftp.example.com", 3, b"cert-tftp"),
            record(Role::Capf, "capf", 4, b"cert-capf"),
            record(Role::Ccm, "gone.example.com", 5, b"cert-gone"),
        ],
    );
    let mut moved_tftp = record(Role::Tftp, "tftp.example.com", 3, b"cert-tftp");
    moved_tftp.ip_address = Some(Ipv4Addr::new(192, 0, 2, 11));
    let new = list(
        2,
        200,
        &[
            record(Role::Sast, "sast1", 1, b"cert-sast1"),
            record(Role::CcmTftp, "cucm.example.com", 9, b"cert-cucm-2026"),
            moved_tftp,
            record(Role::Tvs, "capf", 4, b"cert-capf"),
            record(Role::Sast, "sast2", 6, b"cert-sast2"),
        ],
    );
    let changes = diff(&old, &new);
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::Header { field: "timestamp", old, new } if old == "100" && new == "200")
        ),
        "{text:?}"
    );
    assert!(
        changes.iter().any(|c| matches!(c, Change::SignerChanged { .. })),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("SIGNER CHANGED")), "{text:?}");
    assert!(changes.iter().any(|c| matches!(c, Change::Renewed { old, new } if old.serial == "02" && new.serial == "09" && new.subject == "CN=cucm.example.com")), "{text:?}");
    assert!(changes.iter().any(|c| matches!(c, Change::Changed { new, fields, .. } if new.subject == "CN=tftp.example.com" && fields == &vec!["ip_address"])), "{text:?}");
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::RoleChanged { old, new } if old.role == "CAPF" && new.role == "TVS")
        ),
        "{text:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::Removed { record } if record.subject == "CN=gone.example.com")),
        "{text:?}"
    );
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::Added { record } if record.subject == "CN=sast2" && record.role == "SAST")
        ),
        "{text:?}"
    );
    // The unchanged SAST record is not mentioned.
    assert!(!text.iter().any(|t| t.contains("#1 SAST CN=sast1")), "{text:?}");
    assert_eq!(changes.len(), 7, "{text:?}");
}

#[test]
fn header_version_digest_and_signer_version_changes_are_reported_readably() {
    let records = [record(Role::Sast, "sast1", 1, b"cert-sast1")];
    let header = |version, signer_version, digest| HeaderFields {
        version,
        signer_version,
        signer_name: b"CN=sast1".to_vec(),
        signer_serial: vec![1],
        ca_name: b"CN=ca".to_vec(),
        digest,
        signature_algorithm: 0,
        signature_len: 128,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp: 100,
    };
    let parse =
        |fields: &HeaderFields| TrustList::parse(build_unsigned(fields, &records).unwrap().bytes()).unwrap();
    let old = parse(&header((1, 2), None, Digest::Sha1));
    let new = parse(&header((1, 1), Some((1, 1)), Digest::Sha512));
    let text: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "header version: 1.2 -> 1.1",
            "header digest: SHA-1 -> SHA-512",
            "header signer_version: absent -> 1.1",
        ],
    );
    let unknown = parse(&header((1, 2), None, Digest::from(9u8)));
    let text: Vec<String> = diff(&old, &unknown).iter().map(ToString::to_string).collect();
    assert_eq!(text, ["header digest: SHA-1 -> code 9"]);
}

#[test]
fn same_subject_with_the_same_serial_is_not_called_a_renewal() {
    let old = list(1, 100, &[record(Role::CcmTftp, "cucm", 2, b"cert-a")]);
    let new = list(1, 100, &[record(Role::CcmTftp, "cucm", 2, b"cert-b")]);
    let changes = diff(&old, &new);
    assert!(
        !changes.iter().any(|c| matches!(c, Change::Renewed { .. })),
        "{changes:?}"
    );
    assert!(changes.iter().any(|c| matches!(c, Change::Removed { .. })));
    assert!(changes.iter().any(|c| matches!(c, Change::Added { .. })));
}
