//! One hand-broken file per `FormatError` variant: the variant, its fields, and a message that
//! names the offset (`offset 0x0137 (311)`), the section and the tag, as a hex-dump reader needs.

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields, UnsignedFile};
use ctl_format::reader::MAX_CONTAINER_DEPTH;
use ctl_format::{signed_bytes, Digest, FormatError, Header, Item, Record, Role, Section, TrustList};

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn container(tag: u8, children: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag, &children.concat())
}

fn nul(text: &str) -> Vec<u8> {
    [text.as_bytes(), &[0]].concat()
}

/// VERSION and HEADERLENGTH (10 bytes): the smallest header, no records.
fn tiny_header() -> Vec<u8> {
    [tlv(1, &[1, 2]), tlv(2, &[0, 10])].concat()
}

/// RECORDLENGTH = the record's size, then the items.
fn record(items: &[Vec<u8>]) -> Vec<u8> {
    let body = items.concat();
    [
        tlv(1, &u16::try_from(5 + body.len()).unwrap().to_be_bytes()),
        body,
    ]
    .concat()
}

/// Every header item `check_typed` needs, except `skip`, with HEADERLENGTH computed.
/// `replace` swaps in a different encoded item for a tag (a badly sized one).
fn full_header(skip: Option<u8>, replace: Option<(u8, Vec<u8>)>) -> Vec<u8> {
    let pick = |tag: u8, item: Vec<u8>| -> Option<Vec<u8>> {
        if skip == Some(tag) {
            return None;
        }
        match &replace {
            Some((t, other)) if *t == tag => Some(other.clone()),
            _ => Some(item),
        }
    };
    let signer_id: Vec<Vec<u8>> = [
        pick(4, tlv(4, &nul("CN=signer"))),
        pick(5, tlv(5, &[0x12, 0x34])),
        pick(6, tlv(6, &nul("CN=ca"))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let algo: Vec<Vec<u8>> = [pick(10, tlv(10, &[0])), pick(11, tlv(11, &[1]))]
        .into_iter()
        .flatten()
        .collect();
    let info: Vec<Vec<u8>> = [pick(8, tlv(8, &[1])), Some(container(9, &algo))]
        .into_iter()
        .flatten()
        .collect();
    let rest: Vec<Vec<u8>> = [
        Some(container(3, &signer_id)),
        Some(container(7, &info)),
        pick(12, tlv(12, &[0xAB; 128])),
        pick(14, tlv(14, &nul("CTLFile.tlv"))),
        pick(15, tlv(15, &[0x55, 0x4A, 0xD7, 0xB7])),
    ]
    .into_iter()
    .flatten()
    .collect();
    let rest = rest.concat();
    let length = u16::try_from(10 + rest.len()).unwrap();
    [tlv(1, &[1, 2]), tlv(2, &length.to_be_bytes()), rest].concat()
}

fn parse_err(file: &[u8]) -> FormatError {
    match TrustList::parse(file) {
        Ok(list) => panic!("broken file parsed: {list:?}"),
        Err(e) => e,
    }
}

/// The message names every fragment (offset, section, tag, expectation).
fn assert_message(error: &FormatError, fragments: &[&str]) {
    let message = error.to_string();
    for fragment in fragments {
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    }
}

/// Fails to compile when a variant is added without a test here.
#[allow(dead_code)]
fn every_variant_has_a_test_below(error: &FormatError) {
    match error {
        FormatError::Truncated { .. }
        | FormatError::LengthPastEnd { .. }
        | FormatError::HeaderLength { .. }
        | FormatError::RecordLength { .. }
        | FormatError::RecordStart { .. }
        | FormatError::ContainerLength { .. }
        | FormatError::NestingTooDeep { .. }
        | FormatError::MissingHeaderLength { .. }
        | FormatError::MissingItem { .. }
        | FormatError::BadValue { .. }
        | FormatError::TrailingBytes { .. }
        | FormatError::TooLong { .. }
        | FormatError::SignatureLength { .. }
        | FormatError::NoSignature => {}
    }
}

#[test]
fn helpers_make_valid_files_so_each_break_below_is_the_only_fault() {
    let file = [
        full_header(None, None),
        record(&[tlv(4, &[0, 0]), tlv(10, &[10, 0, 0, 1])]),
    ]
    .concat();
    let list = TrustList::parse(&file).unwrap();
    list.check_typed().unwrap();
    assert_eq!(list.to_bytes().unwrap(), file);
    TrustList::parse(&tiny_header()).unwrap();
}

// ---------------------------------------------------------------- Truncated

#[test]
fn truncated_value_at_the_end_of_the_header() {
    // HEADERLENGTH 14 = the file; TIMESTAMP at 10 needs 7 bytes, 4 are left.
    let file = [tlv(1, &[1, 2]), tlv(2, &[0, 14]), vec![15, 0, 4, 0x55]].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::Truncated {
            offset: 10,
            section: Section::Header,
            tag: 15,
            needed: 7,
            available: 4
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000a (10)",
            "header, tag 15 (TIMESTAMP)",
            "truncated",
            "expected 7 bytes",
            "4 left",
        ],
    );
}

#[test]
fn truncated_length_field_before_headerlength_is_known() {
    let file = [tlv(1, &[1, 2]), vec![2, 0]].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::Truncated {
            offset: 5,
            section: Section::Header,
            tag: 2,
            needed: 3,
            available: 2
        }
    );
    assert_message(
        &error,
        &["offset 0x0005 (5)", "tag 2 (HEADERLENGTH)", "truncated"],
    );
}

#[test]
fn truncated_item_in_the_last_record() {
    // RECORDLENGTH 9 = what is left; FUNCTION at 15 declares 5 bytes, 1 is there.
    let file = [tiny_header(), tlv(1, &[0, 9]), vec![4, 0, 5, 0]].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::Truncated {
            offset: 15,
            section: Section::Record(0),
            tag: 4,
            needed: 8,
            available: 4
        }
    );
    assert_message(&error, &["offset 0x000f (15)", "record #1, tag 4 (FUNCTION)"]);
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error_or_a_shorter_valid_file() {
    let header = full_header(None, None);
    let first = record(&[tlv(2, &nul("a")), tlv(4, &[0, 0]), tlv(10, &[10, 0, 0, 1])]);
    let second = record(&[tlv(4, &[0, 2])]);
    let file = [header.clone(), first.clone(), second].concat();
    let boundaries = [header.len(), header.len() + first.len(), file.len()];
    for cut in 0..file.len() {
        match TrustList::parse(&file[..cut]) {
            Ok(_) => assert!(boundaries.contains(&cut), "cut at {cut} parsed"),
            Err(e) => {
                assert!(!boundaries.contains(&cut), "cut at {cut}: {e}");
                assert!(e.to_string().starts_with("offset 0x"), "{e}");
            }
        }
    }
}

// ---------------------------------------------------------------- LengthPastEnd

#[test]
fn length_past_the_end_of_the_header() {
    // HEADERLENGTH 16, but FILENAME at 10 runs to 17; a record follows.
    let file = [
        tlv(1, &[1, 2]),
        tlv(2, &[0, 16]),
        tlv(14, &nul("abc")),
        tlv(1, &[0, 5]),
    ]
    .concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::LengthPastEnd {
            offset: 10,
            section: Section::Header,
            tag: 14,
            length: 4,
            within: "header",
            end: 16
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000a (10)",
            "header, tag 14 (FILENAME)",
            "length 4 runs past the end of the header at offset 16",
        ],
    );
}

#[test]
fn length_past_the_end_of_a_record() {
    // Record 1 at 10 says 9 bytes; SUBJECTNAME at 15 runs to 22; record 2 follows.
    let file = [
        tiny_header(),
        tlv(1, &[0, 9]),
        tlv(3, &nul("abc")),
        tlv(1, &[0, 5]),
    ]
    .concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::LengthPastEnd {
            offset: 15,
            section: Section::Record(0),
            tag: 3,
            length: 4,
            within: "record",
            end: 19
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000f (15)",
            "record #1, tag 3 (SUBJECTNAME)",
            "runs past the end of the record at offset 19",
        ],
    );
}

// ---------------------------------------------------------------- HeaderLength

#[test]
fn headerlength_smaller_than_the_items_already_read() {
    let file = [tlv(1, &[1, 2]), tlv(2, &[0, 9]), tlv(1, &[0, 5])].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::HeaderLength {
            offset: 5,
            declared: 9,
            expected: "at least the end of the HEADERLENGTH item itself"
        }
    );
    assert_message(
        &error,
        &["offset 0x0005 (5)", "tag 2 (HEADERLENGTH)", "value 9", "at least"],
    );
}

#[test]
fn headerlength_larger_than_the_file() {
    let file = [tlv(1, &[1, 2]), tlv(2, &312u16.to_be_bytes()), tlv(15, &[0; 4])].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::HeaderLength {
            offset: 5,
            declared: 312,
            expected: "no more than the file size"
        }
    );
    assert_message(
        &error,
        &["offset 0x0005 (5)", "HEADERLENGTH", "value 312", "file size"],
    );
}

#[test]
fn headerlength_counted_after_unknown_items_still_points_at_its_own_offset() {
    // HEADERLENGTH third, after an unknown item: the offset is where it really is.
    let file = [tlv(1, &[1, 2]), tlv(0x63, &[0; 300]), tlv(2, &[0, 20])].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::HeaderLength {
            offset: 308,
            declared: 20,
            expected: "at least the end of the HEADERLENGTH item itself"
        }
    );
    assert_message(&error, &["offset 0x0134 (308)"]);
}

// ---------------------------------------------------------------- RecordLength

#[test]
fn recordlength_below_five() {
    let file = [tiny_header(), tlv(1, &[0, 4]), vec![0; 5]].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::RecordLength {
            offset: 10,
            section: Section::Record(0),
            declared: 4,
            available: 10
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000a (10)",
            "record #1, tag 1 (RECORDLENGTH)",
            "value 4",
            "expected 5..=10",
        ],
    );
}

#[test]
fn recordlength_past_the_end_of_the_file() {
    let file = [tiny_header(), record(&[]), tlv(1, &[0, 100]), vec![1, 2, 3]].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::RecordLength {
            offset: 15,
            section: Section::Record(1),
            declared: 100,
            available: 8
        }
    );
    assert_message(&error, &["offset 0x000f (15)", "record #2", "value 100", "5..=8"]);
}

// ---------------------------------------------------------------- RecordStart

#[test]
fn record_not_starting_with_recordlength() {
    let file = [tiny_header(), tlv(4, &[0, 0])].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::RecordStart {
            offset: 10,
            section: Section::Record(0),
            found_tag: 4
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000a (10)",
            "record #1",
            "expected RECORDLENGTH",
            "found tag 4",
        ],
    );
}

#[test]
fn record_starting_with_a_recordlength_of_the_wrong_size() {
    let file = [tiny_header(), record(&[]), tlv(1, &[0, 0, 6])].concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::RecordStart {
            offset: 15,
            section: Section::Record(1),
            found_tag: 1
        }
    );
    assert_message(&error, &["offset 0x000f (15)", "record #2", "(tag 1, length 2)"]);
}

// ---------------------------------------------------------------- ContainerLength

#[test]
fn container_length_not_on_a_child_boundary() {
    // SIGNERID at 10 says 5 bytes (ends at 18); SIGNERNAME at 13 ends at 21.
    let file = [
        tlv(1, &[1, 2]),
        tlv(2, &[0, 21]),
        vec![3, 0, 5],
        tlv(4, &nul("abcd")),
    ]
    .concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::ContainerLength {
            offset: 10,
            tag: 3,
            declared: 5,
            container_end: 18,
            child_end: 21
        }
    );
    assert_message(
        &error,
        &[
            "offset 0x000a (10)",
            "tag 3 (SIGNERID)",
            "container length 5",
            "child ends at offset 21",
            "container at 18",
        ],
    );
}

#[test]
fn nested_container_crossing_its_parent() {
    // SIGNATUREINFO at 10 (length 6, ends at 19) holds SIGNATUREALGOINFO at 13 (length 4, ends at 20).
    let file = [
        tlv(1, &[1, 2]),
        tlv(2, &[0, 20]),
        vec![7, 0, 6, 9, 0, 4],
        tlv(10, &[0]),
    ]
    .concat();
    let error = parse_err(&file);
    assert_eq!(
        error,
        FormatError::ContainerLength {
            offset: 10,
            tag: 7,
            declared: 6,
            container_end: 19,
            child_end: 20
        }
    );
    assert_message(&error, &["offset 0x000a (10)", "tag 7 (SIGNATUREINFO)"]);
}

// ---------------------------------------------------------------- NestingTooDeep

fn nested_header(depth: usize) -> Vec<u8> {
    let mut inner = tlv(8, &[1]);
    for level in (0..depth).rev() {
        inner = container([3, 7, 9][level % 3], &[inner]);
    }
    let length = u16::try_from(10 + inner.len()).unwrap();
    [tlv(1, &[1, 2]), tlv(2, &length.to_be_bytes()), inner].concat()
}

#[test]
fn containers_nested_too_deep() {
    assert_eq!(MAX_CONTAINER_DEPTH, 4);
    let deepest_allowed = nested_header(MAX_CONTAINER_DEPTH);
    assert_eq!(
        TrustList::parse(&deepest_allowed).unwrap().to_bytes().unwrap(),
        deepest_allowed
    );
    // The fifth container (tag 3, 7, 9, 3, *7*) starts at 10 + 4 * 3 = 22.
    let error = parse_err(&nested_header(MAX_CONTAINER_DEPTH + 1));
    assert_eq!(
        error,
        FormatError::NestingTooDeep {
            offset: 22,
            tag: 7,
            max: 4
        }
    );
    assert_message(
        &error,
        &["offset 0x0016 (22)", "header, tag 7", "nested more than 4 deep"],
    );
}

// ---------------------------------------------------------------- MissingHeaderLength

#[test]
fn missing_headerlength() {
    let file = [tlv(1, &[1, 2]), tlv(14, &nul("x")), vec![13, 13]].concat();
    let error = parse_err(&file);
    assert_eq!(error, FormatError::MissingHeaderLength { offset: 12 });
    assert_message(&error, &["offset 0x000c (12)", "missing HEADERLENGTH (tag 2)"]);
    // A HEADERLENGTH of the wrong size does not count either; nor does an empty file.
    let file = [tlv(1, &[1, 2]), tlv(2, &[0, 0, 8])].concat();
    assert_eq!(parse_err(&file), FormatError::MissingHeaderLength { offset: 11 });
    let error = parse_err(&[]);
    assert_eq!(error, FormatError::MissingHeaderLength { offset: 0 });
    assert_message(&error, &["offset 0x0000 (0)"]);
}

/// HEADERLENGTH is a u16: a file of padding bytes without one is refused at offset 65535,
/// not scanned (one model item per byte) to its end.
#[test]
fn header_scan_stops_at_the_largest_possible_header() {
    let file = vec![13u8; 8 << 20];
    let error = parse_err(&file);
    assert_eq!(error, FormatError::MissingHeaderLength { offset: 65535 });
    assert_message(&error, &["offset 0xffff (65535)", "missing HEADERLENGTH (tag 2)"]);
    // An item straddling that offset runs past the largest header.
    let mut file = vec![13u8; 65530];
    file.extend(tlv(14, &[b'x'; 100]));
    let error = parse_err(&file);
    assert!(
        matches!(
            error,
            FormatError::LengthPastEnd {
                offset: 65530,
                end: 65535,
                ..
            }
        ),
        "{error:?}"
    );
}

// ---------------------------------------------------------------- MissingItem (check_typed)

#[test]
fn missing_header_item_found_by_check_typed() {
    let list = TrustList::parse(&full_header(Some(15), None)).unwrap();
    let error = list.check_typed().unwrap_err();
    assert_eq!(
        error,
        FormatError::MissingItem {
            offset: 0,
            section: Section::Header,
            tag: 15
        }
    );
    assert_message(
        &error,
        &["offset 0x0000 (0)", "header: missing tag 15 (TIMESTAMP)"],
    );
}

#[test]
fn missing_item_inside_a_container_found_by_check_typed() {
    let list = TrustList::parse(&full_header(Some(11), None)).unwrap();
    let error = list.check_typed().unwrap_err();
    assert_eq!(
        error,
        FormatError::MissingItem {
            offset: 0,
            section: Section::Header,
            tag: 11
        }
    );
    assert_message(&error, &["missing tag 11 (SIGNATUREMODULUS)"]);
}

#[test]
fn missing_function_in_the_second_record_found_by_check_typed() {
    let header = full_header(None, None);
    let first = record(&[tlv(4, &[0, 1])]);
    let file = [header.clone(), first.clone(), record(&[tlv(3, &nul("CN=x"))])].concat();
    let list = TrustList::parse(&file).unwrap();
    let error = list.check_typed().unwrap_err();
    let offset = header.len() + first.len();
    assert_eq!(
        error,
        FormatError::MissingItem {
            offset,
            section: Section::Record(1),
            tag: 4
        }
    );
    assert_message(
        &error,
        &[
            &format!("offset 0x{offset:04x} ({offset})"),
            "record #2: missing tag 4 (FUNCTION)",
        ],
    );
}

// ---------------------------------------------------------------- BadValue (check_typed, builder)

#[test]
fn ip_address_of_three_bytes_found_by_check_typed_at_the_item() {
    let header = full_header(None, None);
    let record_bytes = record(&[tlv(2, &nul("x")), tlv(4, &[0, 1]), tlv(10, &[10, 0, 1])]);
    let file = [header.clone(), record_bytes].concat();
    let list = TrustList::parse(&file).unwrap();
    let error = list.check_typed().unwrap_err();
    // RECORDLENGTH (5) + DNSNAME (5) + FUNCTION (5) precede the IPADDRESS item.
    let offset = header.len() + 15;
    assert_eq!(
        error,
        FormatError::BadValue {
            offset,
            section: Section::Record(0),
            tag: 10,
            length: 3,
            expected: "4 bytes"
        }
    );
    assert_message(
        &error,
        &[
            &format!("offset 0x{offset:04x} ({offset})"),
            "record #1, tag 10 (IPADDRESS)",
            "length 3",
            "expected 4 bytes",
        ],
    );
}

#[test]
fn header_items_of_the_wrong_size_are_reported_where_they_are() {
    // TIMESTAMP of 3 bytes: the last item of the header.
    let header = full_header(None, Some((15, tlv(15, &[1, 2, 3]))));
    let list = TrustList::parse(&header).unwrap();
    let error = list.check_typed().unwrap_err();
    let offset = header.len() - 6;
    assert_eq!(
        error,
        FormatError::BadValue {
            offset,
            section: Section::Header,
            tag: 15,
            length: 3,
            expected: "4 bytes"
        }
    );
    assert_message(
        &error,
        &[
            &format!("offset 0x{offset:04x} ({offset})"),
            "header, tag 15 (TIMESTAMP)",
        ],
    );

    // DIGESTALGORTITHM of 2 bytes inside SIGNATUREINFO: 10 + SIGNERID (3 + 13 + 5 + 9) + 3.
    let header = full_header(None, Some((8, tlv(8, &[1, 1]))));
    let error = TrustList::parse(&header).unwrap().check_typed().unwrap_err();
    assert_eq!(
        error,
        FormatError::BadValue {
            offset: 43,
            section: Section::Header,
            tag: 8,
            length: 2,
            expected: "1 byte"
        }
    );
    assert_message(
        &error,
        &["offset 0x002b (43)", "tag 8 (DIGESTALGORTITHM)", "length 2"],
    );
}

#[test]
fn builder_rejects_a_signature_length_no_key_size_has() {
    let mut header = header_fields();
    header.signature_len = 100;
    let error = build_unsigned(&header, &[]).unwrap_err();
    assert_eq!(
        error,
        FormatError::BadValue {
            offset: 0,
            section: Section::Header,
            tag: 12,
            length: 100,
            expected: "an RSA signature of 64, 128, 256 or 512 bytes"
        }
    );
    assert_message(&error, &["tag 12 (SIGNATURE)", "length 100"]);
}

// ---------------------------------------------------------------- TrailingBytes

#[test]
fn bytes_after_the_last_record() {
    let file = [tiny_header(), record(&[]), vec![1, 0, 2]].concat();
    let error = parse_err(&file);
    assert_eq!(error, FormatError::TrailingBytes { offset: 15, count: 3 });
    assert_message(&error, &["offset 0x000f (15)", "3 bytes after the last record"]);
}

// ---------------------------------------------------------------- TooLong (writer, builder)

fn header_fields() -> HeaderFields {
    HeaderFields {
        version: (1, 2),
        signer_version: None,
        signer_name: b"CN=signer".to_vec(),
        signer_serial: vec![0x12, 0x34],
        ca_name: b"CN=ca".to_vec(),
        digest: Digest::Sha1,
        signature_algorithm: 0,
        signature_len: 128,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp: 1,
    }
}

#[test]
fn writer_rejects_a_value_longer_than_65535() {
    let list = TrustList {
        header: Header {
            items: vec![Item::value(1, [1, 2])],
        },
        records: vec![
            Record {
                items: vec![Item::value(1, [0, 5])],
            },
            Record {
                items: vec![Item::value(1, [0, 5]), Item::value(9, vec![0; 70_000])],
            },
        ],
    };
    let error = list.to_bytes().unwrap_err();
    assert_eq!(
        error,
        FormatError::TooLong {
            section: Section::Record(1),
            tag: 9,
            length: 70_000,
            max: 65_535
        }
    );
    assert_message(
        &error,
        &["record #2, tag 9 (CERTIFICATE)", "70000 bytes", "max 65535"],
    );
}

#[test]
fn writer_rejects_a_container_whose_children_exceed_65535() {
    let list = TrustList {
        header: Header {
            items: vec![Item::Container {
                tag: 3,
                children: vec![Item::value(4, vec![0; 40_000]), Item::value(5, vec![0; 40_000])],
            }],
        },
        records: vec![],
    };
    let error = list.to_bytes().unwrap_err();
    assert_eq!(
        error,
        FormatError::TooLong {
            section: Section::Header,
            tag: 3,
            length: 80_006,
            max: 65_535
        }
    );
    assert_message(&error, &["header, tag 3 (SIGNERID)", "80006 bytes"]);
}

#[test]
fn builder_rejects_a_record_longer_than_65535() {
    let mut big = RecordFields::new(Role::Ccm);
    big.certificate = Some(vec![0x30; 65_530]);
    let records = [RecordFields::new(Role::Sast), big];
    let error = build_unsigned(&header_fields(), &records).unwrap_err();
    // RECORDLENGTH 5 + FUNCTION 5 + CERTIFICATE 3 + 65530.
    assert_eq!(
        error,
        FormatError::TooLong {
            section: Section::Record(1),
            tag: 1,
            length: 65_543,
            max: 65_535
        }
    );
    assert_message(&error, &["record #2, tag 1 (RECORDLENGTH)", "65543 bytes"]);
}

#[test]
fn builder_rejects_a_header_longer_than_65535() {
    let mut header = header_fields();
    header.signer_name = vec![b'a'; 65_500];
    let error = build_unsigned(&header, &[]).unwrap_err();
    match &error {
        FormatError::TooLong {
            section: Section::Header,
            tag: 2,
            length,
            max: 65_535,
        } => assert!(*length > 65_535 && length % 4 == 0, "padded size {length}"),
        other => panic!("expected TooLong for HEADERLENGTH, got {other:?}"),
    }
    assert_message(&error, &["header, tag 2 (HEADERLENGTH)"]);
}

// ---------------------------------------------------------------- SignatureLength, NoSignature

#[test]
fn with_signature_rejects_a_signature_of_the_wrong_size() {
    let unsigned = build_unsigned(&header_fields(), &[RecordFields::new(Role::Sast)]).unwrap();
    for wrong in [0, 127, 129, 256] {
        let error = unsigned.with_signature(&vec![1; wrong]).unwrap_err();
        assert_eq!(
            error,
            FormatError::SignatureLength {
                expected: 128,
                actual: wrong
            }
        );
        assert_message(
            &error,
            &[&format!("signature is {wrong} bytes"), "slot holds 128"],
        );
    }
}

#[test]
fn no_signature_item_to_cut_or_fill() {
    let file = [full_header(Some(12), None), record(&[tlv(4, &[0, 0])])].concat();
    let list = TrustList::parse(&file).unwrap();
    assert_eq!(list.signature_location(), None);
    assert_eq!(list.signed_bytes().unwrap_err(), FormatError::NoSignature);
    assert_eq!(signed_bytes(&file).unwrap_err(), FormatError::NoSignature);
    let error = UnsignedFile::try_from(&file[..]).unwrap_err();
    assert_eq!(error, FormatError::NoSignature);
    assert_message(
        &error,
        &["offset 0x0000 (0)", "header", "missing tag 12 (SIGNATURE)"],
    );
    // check_typed names it as a missing item at the header.
    assert_eq!(
        list.check_typed().unwrap_err(),
        FormatError::MissingItem {
            offset: 0,
            section: Section::Header,
            tag: 12
        }
    );
}

#[test]
fn raw_signed_bytes_report_parse_errors_with_their_offset() {
    let file = [tiny_header(), vec![1, 0, 2]].concat();
    let error = signed_bytes(&file).unwrap_err();
    assert_eq!(error, FormatError::TrailingBytes { offset: 10, count: 3 });
}
