//! The genuine Cisco CUCM 10.x CTL file (read from ../shared/vectors, never copied here).

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{signed_bytes, Digest, Role, TrustList};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha1::Sha1;

fn genuine() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv"
    );
    std::fs::read(path).unwrap_or_else(|e| {
        panic!("test vector missing at {path}: {e} (it lives in ../shared/vectors beside the repository)")
    })
}

fn verify_sha1(public_key_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let key = RsaPublicKey::from_pkcs1_der(public_key_der).expect("record public key is PKCS#1");
    let verifier = VerifyingKey::<Sha1>::new(key);
    let signature = Signature::try_from(signature).expect("signature bytes");
    verifier.verify(message, &signature).is_ok()
}

#[test]
fn parses_and_writes_back_byte_for_byte() {
    let file = genuine();
    assert_eq!(file.len(), 7166);
    let list = TrustList::parse(&file).expect("genuine file parses");
    assert_eq!(list.to_bytes().unwrap(), file);
}

#[test]
fn header_fields_match_the_published_description() {
    let list = TrustList::parse(&genuine()).unwrap();
    let header = &list.header;
    assert_eq!(header.version().unwrap(), (1, 2));
    assert_eq!(header.header_length().unwrap(), 312);
    assert_eq!(header.signer_version().unwrap(), None);
    assert_eq!(
        header.signer_name().unwrap(),
        b"CN=gigantic-6.cisco.com;OU=VTG;O=Alpha;L=SJ;ST=CA;C=US"
    );
    assert_eq!(
        header.signer_serial().unwrap(),
        [0x24, 0x49, 0x1F, 0x10, 0x70, 0x3F, 0xEA, 0x9B]
    );
    assert_eq!(header.ca_name().unwrap(), header.signer_name().unwrap());
    assert_eq!(header.digest().unwrap(), Digest::Sha1);
    assert_eq!(header.signature_algorithm().unwrap(), 0);
    assert_eq!(header.key_size_index().unwrap(), 1);
    assert_eq!(header.signature().unwrap().len(), 128);
    assert_eq!(header.filename().unwrap(), b"CTLFile.tlv");
    assert_eq!(header.timestamp().unwrap(), 0x554A_D7B7);
    list.check_typed().unwrap();
}

#[test]
fn six_records_with_cisco_roles_and_record_one_signs() {
    let list = TrustList::parse(&genuine()).unwrap();
    let roles: Vec<Role> = list.records.iter().map(|r| r.role().unwrap()).collect();
    assert_eq!(
        roles,
        [
            Role::Sast,
            Role::CcmTftp,
            Role::CcmTftp,
            Role::Capf,
            Role::Sast,
            Role::CcmTftp
        ]
    );
    assert_eq!(list.signer_index(), Some(0));
    for record in &list.records {
        let tags: Vec<u8> = record.items.iter().map(|item| item.tag()).collect();
        assert_eq!(
            tags,
            (1..=10).collect::<Vec<u8>>(),
            "variant A: tags 1-10 in order"
        );
    }
    assert_eq!(list.records[0].dns_name().unwrap(), b"gigantic-6");
    assert!(list.records[3]
        .subject()
        .unwrap()
        .starts_with(b"CN=CAPF-2076a1a2"));
    assert!(list.records[4]
        .subject()
        .unwrap()
        .starts_with(b"CN=ITLRECOVERY_gigantic-6.cisco.com"));
    assert_eq!(list.records[0].public_key().unwrap().len(), 140);
}

#[test]
fn signed_bytes_are_the_file_minus_the_signature_item_and_verify() {
    let file = genuine();
    let list = TrustList::parse(&file).unwrap();
    let location = list.signature_location().unwrap();
    assert_eq!((location.item_offset, location.value_len), (0x9e, 128));
    let message = signed_bytes(&file).unwrap();
    assert_eq!(message.len(), 7035);
    assert_eq!(message, list.signed_bytes().unwrap());
    let signature = list.header.signature().unwrap();
    assert!(verify_sha1(
        list.records[0].public_key().unwrap(),
        &message,
        signature
    ));
    // The other SAST (ITLRecovery) did not sign this file.
    assert!(!verify_sha1(
        list.records[4].public_key().unwrap(),
        &message,
        signature
    ));
}

#[test]
fn cisco_layout_rebuild_matches_every_byte_but_the_signature() {
    let file = genuine();
    let list = TrustList::parse(&file).unwrap();
    let header = HeaderFields::from_header(&list.header).unwrap();
    let records: Vec<RecordFields> = list
        .records
        .iter()
        .map(|r| RecordFields::from_record(r).unwrap())
        .collect();
    let unsigned = build_unsigned(&header, &records).unwrap();
    let rebuilt = unsigned.bytes();
    assert_eq!(rebuilt.len(), file.len());
    let slot = unsigned.signature_location();
    let differing: Vec<usize> = (0..file.len()).filter(|&i| rebuilt[i] != file[i]).collect();
    assert!(
        differing
            .iter()
            .all(|i| (slot.value_offset..slot.value_offset + 128).contains(i)),
        "only signature bytes differ: {differing:?}"
    );
    let signature = list.header.signature().unwrap();
    assert!(verify_sha1(
        list.records[0].public_key().unwrap(),
        &unsigned.signed_bytes(),
        signature
    ));
    assert_eq!(unsigned.with_signature(signature).unwrap(), file);
}
