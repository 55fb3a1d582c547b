//! Property tests: generated models round-trip; arbitrary and mutated bytes never panic and,
//! when they parse, re-write to the same bytes (the `ctl_roundtrip` fuzz property).
//!
//! Case counts are kept modest so the whole file runs in a few seconds; the fuzzer
//! (`fuzz/`, target `ctl_roundtrip`) is the long-running counterpart.

use std::net::Ipv4Addr;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{Digest, Header, Item, Record, Role, TrustList};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

#[path = "../../fuzz/properties/ctl_roundtrip.rs"]
mod ctl_roundtrip;

fn genuine() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/cisco-cucm10-tokenless-CTLFile.tlv"
    );
    std::fs::read(path).unwrap_or_else(|e| panic!("test vector missing at {path}: {e}"))
}

// ---------------------------------------------------------------- lossless model

/// A header item: a value (any tag but the container tags 3/7/9 and padding 13, which the
/// header reads differently), a lone padding byte, or a container of such items.
fn header_item() -> impl Strategy<Value = Item> {
    let value_tag = any::<u8>().prop_filter("not a container or padding tag", |tag| {
        !matches!(tag, 3 | 7 | 9 | 13)
    });
    let leaf = prop_oneof![
        5 => (value_tag, vec(any::<u8>(), 0..12)).prop_map(|(tag, value)| Item::Value { tag, value }),
        1 => Just(Item::Padding),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        (select(vec![3u8, 7, 9]), vec(inner, 0..4))
            .prop_map(|(tag, children)| Item::Container { tag, children })
    })
}

/// A header with consistent HEADERLENGTH: some items, HEADERLENGTH, more items. Before
/// HEADERLENGTH no top-level tag 2 may appear (the reader would take it as the length).
fn header() -> impl Strategy<Value = Header> {
    let before = vec(
        header_item().prop_filter("no early tag 2", |item| item.tag() != 2),
        0..4,
    );
    (before, vec(header_item(), 0..8)).prop_map(|(before, after)| {
        let mut items = before;
        let length_at = items.len();
        items.push(Item::value(2, [0, 0]));
        items.extend(after);
        let length: usize = items.iter().map(Item::encoded_len).sum();
        items[length_at] = Item::value(2, u16::try_from(length).unwrap().to_be_bytes());
        Header { items }
    })
}

/// A record: RECORDLENGTH then any items (in records every tag, 13 included, is a plain value).
fn record() -> impl Strategy<Value = Record> {
    vec((any::<u8>(), vec(any::<u8>(), 0..16)), 0..8).prop_map(|values| {
        let mut items = vec![Item::value(1, [0, 0])];
        items.extend(values.into_iter().map(|(tag, value)| Item::Value { tag, value }));
        let length: usize = items.iter().map(Item::encoded_len).sum();
        items[0] = Item::value(1, u16::try_from(length).unwrap().to_be_bytes());
        Record { items }
    })
}

fn trust_list() -> impl Strategy<Value = TrustList> {
    (header(), vec(record(), 0..5)).prop_map(|(header, records)| TrustList { header, records })
}

/// Mutations applied to an encoded file.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBits {
        at: usize,
        mask: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    Delete {
        at: usize,
    },
    /// Overwrite two bytes (often a length field) with an arbitrary u16.
    SetU16 {
        at: usize,
        value: u16,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are taken modulo the file size when applied.
    prop_oneof![
        3 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::FlipBits { at, mask }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        1 => any::<usize>().prop_map(|at| Mutation::Delete { at }),
        2 => (any::<usize>(), any::<u16>()).prop_map(|(at, value)| Mutation::SetU16 { at, value }),
    ]
}

fn apply(file: &mut Vec<u8>, mutation: &Mutation) {
    if file.is_empty() {
        return;
    }
    let len = file.len();
    match *mutation {
        Mutation::FlipBits { at, mask } => file[at % len] ^= mask,
        Mutation::Truncate { at } => file.truncate(at % len),
        Mutation::Insert { at, byte } => file.insert(at % (len + 1), byte),
        Mutation::Delete { at } => {
            file.remove(at % len);
        }
        Mutation::SetU16 { at, value } => {
            if len >= 2 {
                let at = at % (len - 1);
                file[at..at + 2].copy_from_slice(&value.to_be_bytes());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_model_written_then_read_is_the_same_model(list in trust_list()) {
        let bytes = list.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), list.record_offset(list.records.len()));
        let read = TrustList::parse(&bytes).unwrap();
        prop_assert_eq!(&read, &list);
        prop_assert_eq!(read.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(bytes in vec(any::<u8>(), 0..600)) {
        ctl_roundtrip::check(&bytes);
    }

    #[test]
    fn bytes_with_a_plausible_start_parse_or_fail_without_panicking(
        tail in vec(any::<u8>(), 0..300),
        header_length in 10u16..80,
    ) {
        // VERSION and HEADERLENGTH up front so random tails reach the deeper code paths.
        let mut bytes = vec![1, 0, 2, 1, 2, 2, 0, 2];
        bytes.extend_from_slice(&header_length.to_be_bytes());
        bytes.extend(tail);
        ctl_roundtrip::check(&bytes);
    }

    #[test]
    fn mutated_generated_files_never_panic(
        list in trust_list(),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut bytes = list.to_bytes().unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        ctl_roundtrip::check(&bytes);
    }
}

// ---------------------------------------------------------------- builder

fn header_fields() -> impl Strategy<Value = HeaderFields> {
    (
        (any::<(u8, u8)>(), proptest::option::of(any::<(u8, u8)>())),
        (
            vec(any::<u8>(), 0..40),
            vec(any::<u8>(), 0..20),
            vec(any::<u8>(), 0..40),
        ),
        (any::<u8>(), any::<u8>(), select(vec![64usize, 128, 256, 512])),
        (vec(any::<u8>(), 0..16), any::<u32>()),
    )
        .prop_map(
            |(
                (version, signer_version),
                (signer_name, signer_serial, ca_name),
                (digest, signature_algorithm, signature_len),
                (filename, timestamp),
            )| HeaderFields {
                version,
                signer_version,
                signer_name,
                signer_serial,
                ca_name,
                digest: Digest::from(digest),
                signature_algorithm,
                signature_len,
                filename,
                timestamp,
            },
        )
}

fn bytes_opt(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(vec(any::<u8>(), 0..max))
}

fn record_fields() -> impl Strategy<Value = RecordFields> {
    (
        (bytes_opt(20), bytes_opt(40), any::<u16>(), bytes_opt(40)),
        (bytes_opt(20), bytes_opt(70), bytes_opt(70), bytes_opt(200)),
        (
            proptest::option::of(any::<u32>()),
            bytes_opt(32),
            proptest::option::of(any::<u8>()),
        ),
    )
        .prop_map(
            |(
                (dns_name, subject, role, issuer),
                (serial, public_key, cert_signature, certificate),
                (ip, cert_hash, hash_algorithm),
            )| RecordFields {
                dns_name,
                subject,
                role: Role::from(role),
                issuer,
                serial,
                public_key,
                cert_signature,
                certificate,
                ip_address: ip.map(Ipv4Addr::from),
                cert_hash,
                cert_hash_algorithm: hash_algorithm.map(Digest::from),
            },
        )
}

/// Items a built record must have, in Cisco's tag order, from its fields alone.
fn expected_record_tags(fields: &RecordFields) -> Vec<u8> {
    let present = [
        (2, fields.dns_name.is_some()),
        (3, fields.subject.is_some()),
        (4, true),
        (5, fields.issuer.is_some()),
        (6, fields.serial.is_some()),
        (7, fields.public_key.is_some()),
        (8, fields.cert_signature.is_some()),
        (9, fields.certificate.is_some()),
        (10, fields.ip_address.is_some()),
        (11, fields.cert_hash.is_some()),
        (12, fields.cert_hash_algorithm.is_some()),
    ];
    std::iter::once(1)
        .chain(present.into_iter().filter(|(_, p)| *p).map(|(tag, _)| tag))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn built_files_read_back_to_the_same_fields(
        header in header_fields(),
        records in vec(record_fields(), 0..4),
    ) {
        let unsigned = build_unsigned(&header, &records).unwrap();
        let bytes = unsigned.bytes();
        // HEADERLENGTH read straight from the bytes: bytes 8..10 after VERSION's 5.
        let header_length = usize::from(u16::from_be_bytes([bytes[8], bytes[9]]));
        prop_assert_eq!(header_length % 4, 0);
        let list = TrustList::parse(bytes).unwrap();
        prop_assert_eq!(list.to_bytes().unwrap(), bytes);
        prop_assert_eq!(list.header.encoded_len(), header_length);
        list.check_typed().unwrap();
        prop_assert_eq!(&HeaderFields::from_header(&list.header).unwrap(), &header);
        prop_assert_eq!(list.records.len(), records.len());
        for (fields, record) in records.iter().zip(&list.records) {
            prop_assert_eq!(&RecordFields::from_record(record).unwrap(), fields);
            let tags: Vec<u8> = record.items.iter().map(Item::tag).collect();
            prop_assert_eq!(tags, expected_record_tags(fields));
            prop_assert_eq!(usize::from(record.record_length().unwrap()), record.encoded_len());
        }
        let message = unsigned.signed_bytes();
        prop_assert_eq!(message.len(), bytes.len() - 3 - header.signature_len);
        let signed = unsigned.with_signature(&vec![0x5A; header.signature_len]).unwrap();
        prop_assert_eq!(ctl_format::signed_bytes(&signed).unwrap(), message);
    }
}

// ---------------------------------------------------------------- the genuine file, mutated

/// Record boundaries walked from the bytes alone: HEADERLENGTH, then RECORDLENGTH after RECORDLENGTH.
fn genuine_boundaries(file: &[u8]) -> Vec<usize> {
    let mut offset = usize::from(u16::from_be_bytes([file[8], file[9]]));
    let mut boundaries = vec![offset];
    while offset < file.len() {
        offset += usize::from(u16::from_be_bytes([file[offset + 3], file[offset + 4]]));
        boundaries.push(offset);
    }
    boundaries
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn genuine_file_with_flipped_bits_never_panics(
        flips in vec((any::<usize>(), 1u8..=255), 1..8),
    ) {
        let mut file = genuine();
        for (at, mask) in &flips {
            let len = file.len();
            file[at % len] ^= mask;
        }
        ctl_roundtrip::check(&file);
    }

    #[test]
    fn genuine_file_truncated_parses_only_at_record_boundaries(cut in 0usize..7166) {
        let file = genuine();
        let boundaries = genuine_boundaries(&file);
        prop_assert_eq!(boundaries.len(), 7, "header end and 6 record ends");
        let truncated = &file[..cut];
        let parsed = TrustList::parse(truncated);
        prop_assert_eq!(parsed.is_ok(), boundaries.contains(&cut), "cut at {}: {:?}", cut, parsed);
        if let Err(error) = parsed {
            prop_assert!(error.to_string().starts_with("offset 0x"), "{}", error);
        }
        ctl_roundtrip::check(truncated);
    }

    #[test]
    fn genuine_file_with_mixed_mutations_never_panics(mutations in vec(mutation(), 1..6)) {
        let mut file = genuine();
        for m in &mutations {
            apply(&mut file, m);
        }
        ctl_roundtrip::check(&file);
    }
}

#[test]
fn genuine_file_truncated_at_every_record_boundary_keeps_the_leading_records() {
    let file = genuine();
    for (count, end) in genuine_boundaries(&file).into_iter().enumerate() {
        let list = TrustList::parse(&file[..end]).unwrap();
        assert_eq!(list.records.len(), count);
        assert_eq!(list.to_bytes().unwrap(), &file[..end]);
    }
}
