//! Hand-made files for every record variant of ctl-format.md §3 and the header variations of
//! §2, plus the Cisco-layout builder checked against an independent byte walker.
//!
//! The bytes are laid out here by small TLV helpers, never by the crate's writer or builder,
//! so a bug shared by reader and writer cannot hide behind a round trip.

use std::net::Ipv4Addr;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields};
use ctl_format::{key_bits_for_index, signed_bytes, Digest, Item, Role, TrustList};

// ---------------------------------------------------------------- hand-made TLV helpers

/// Tag, 2-byte big-endian length, value.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let length = u16::try_from(value.len()).expect("test values fit a u16");
    let mut out = vec![tag];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// Container: tag and the total size of the children, which follow inline.
fn container(tag: u8, children: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag, &children.concat())
}

/// A string value with its trailing NUL.
fn nul(text: &str) -> Vec<u8> {
    let mut value = text.as_bytes().to_vec();
    value.push(0);
    value
}

/// A record: RECORDLENGTH (counting its own 5 bytes) then the items.
fn record(items: &[Vec<u8>]) -> Vec<u8> {
    let body = items.concat();
    let length = u16::try_from(5 + body.len()).unwrap();
    [tlv(1, &length.to_be_bytes()), body].concat()
}

const SIGNER: &str = "CN=cucm-pub.example.net;OU=Voice;O=Example;L=Wellington;ST=WGN;C=NZ";
const ISSUER: &str = "CN=Example Issuing CA;O=Example;C=NZ";
const SERIAL: [u8; 10] = [0x5e, 0x01, 0x7f, 0x10, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
const TIMESTAMP: u32 = 0x6553_F100;

/// The header items of §2 in an explicit order; lengths, padding and HEADERLENGTH computed.
struct HeaderSpec {
    signer_version: Option<[u8; 2]>,
    /// certutils >= 4.13 writes SIGNERID children as 4, 6, 5.
    certutils_order: bool,
    signer: String,
    issuer: String,
    serial: Vec<u8>,
    digest: u8,
    key_index: u8,
    signature: Vec<u8>,
    filename: String,
    /// Extra items after TIMESTAMP (before padding).
    extra: Vec<Vec<u8>>,
}

impl Default for HeaderSpec {
    fn default() -> Self {
        HeaderSpec {
            signer_version: None,
            certutils_order: false,
            signer: SIGNER.into(),
            issuer: ISSUER.into(),
            serial: SERIAL.to_vec(),
            digest: 1,
            key_index: 1,
            signature: (0..128).map(|i| i as u8 ^ 0xA5).collect(),
            filename: "CTLFile.tlv".into(),
            extra: Vec::new(),
        }
    }
}

/// A laid-out header with the offsets a test wants to check independently.
struct BuiltHeader {
    bytes: Vec<u8>,
    padding: usize,
    signature_item_offset: usize,
}

impl HeaderSpec {
    fn build(&self) -> BuiltHeader {
        let (name, serial, issuer) = (
            tlv(4, &nul(&self.signer)),
            tlv(5, &self.serial),
            tlv(6, &nul(&self.issuer)),
        );
        let signer_id = if self.certutils_order {
            container(3, &[name, issuer, serial])
        } else {
            container(3, &[name, serial, issuer])
        };
        let signature_info = container(
            7,
            &[
                tlv(8, &[self.digest]),
                container(9, &[tlv(10, &[0]), tlv(11, &[self.key_index])]),
            ],
        );
        let mut before_signature = vec![tlv(1, &[1, 2]), tlv(2, &[0xEE, 0xEE])];
        if let Some(version) = self.signer_version {
            before_signature.push(tlv(28, &version));
        }
        before_signature.extend([signer_id, signature_info]);
        let before_signature = before_signature.concat();
        let mut rest = vec![
            tlv(12, &self.signature),
            tlv(14, &nul(&self.filename)),
            tlv(15, &TIMESTAMP.to_be_bytes()),
        ];
        rest.extend(self.extra.iter().cloned());
        let mut bytes = [before_signature.clone(), rest.concat()].concat();
        let padding = (4 - bytes.len() % 4) % 4;
        bytes.extend(std::iter::repeat_n(0x0D, padding));
        let length = u16::try_from(bytes.len()).unwrap();
        bytes[8..10].copy_from_slice(&length.to_be_bytes());
        BuiltHeader {
            bytes,
            padding,
            signature_item_offset: before_signature.len(),
        }
    }
}

/// Parses, asserts the model writes back byte for byte, and returns it.
fn parse_round_trip(file: &[u8]) -> TrustList {
    let list = TrustList::parse(file).unwrap_or_else(|e| panic!("hand-made file must parse: {e}"));
    assert_eq!(list.to_bytes().unwrap(), file, "writes back byte for byte");
    list
}

fn tags(items: &[Item]) -> Vec<u8> {
    items.iter().map(Item::tag).collect()
}

// ---------------------------------------------------------------- record fields

/// Fake but distinguishable record values (the codec treats them as opaque bytes).
struct Values {
    dns: Vec<u8>,
    subject: Vec<u8>,
    role: u16,
    issuer: Vec<u8>,
    serial: Vec<u8>,
    public_key: Vec<u8>,
    cert_signature: Vec<u8>,
    certificate: Vec<u8>,
    ip: [u8; 4],
    cert_hash: Vec<u8>,
    hash_algorithm: u8,
}

impl Values {
    fn sample(role: u16) -> Values {
        // 140 bytes like a 1024-bit PKCS#1 RSAPublicKey.
        let mut public_key = vec![0x30, 0x81, 0x89, 0x02, 0x81, 0x81, 0x00];
        public_key.extend((0..133).map(|i| (i * 7) as u8));
        Values {
            dns: b"cucm-pub".to_vec(),
            subject: SIGNER.as_bytes().to_vec(),
            role,
            issuer: ISSUER.as_bytes().to_vec(),
            serial: SERIAL.to_vec(),
            public_key,
            cert_signature: (0..128).map(|i| (255 - i) as u8).collect(),
            certificate: [&[0x30, 0x82, 0x01, 0x00][..], &[0x42; 256]].concat(),
            ip: [10, 1, 2, 3],
            cert_hash: (1..=20).collect(),
            hash_algorithm: 1,
        }
    }

    /// The encoded item for a record tag.
    fn item(&self, tag: u8) -> Vec<u8> {
        match tag {
            2 => tlv(2, &[&self.dns[..], &[0]].concat()),
            3 => tlv(3, &[&self.subject[..], &[0]].concat()),
            4 => tlv(4, &self.role.to_be_bytes()),
            5 => tlv(5, &[&self.issuer[..], &[0]].concat()),
            6 => tlv(6, &self.serial),
            7 => tlv(7, &self.public_key),
            8 => tlv(8, &self.cert_signature),
            9 => tlv(9, &self.certificate),
            10 => tlv(10, &self.ip),
            11 => tlv(11, &self.cert_hash),
            12 => tlv(12, &[self.hash_algorithm]),
            _ => unreachable!("no sample value for record tag {tag}"),
        }
    }

    fn record(&self, tags: &[u8]) -> Vec<u8> {
        record(&tags.iter().map(|&tag| self.item(tag)).collect::<Vec<_>>())
    }
}

/// Every typed record accessor agrees with `values` for the tags present and is `None` otherwise.
fn assert_record_matches(list: &TrustList, index: usize, values: &Values, present: &[u8], record_len: usize) {
    let record = &list.records[index];
    let mut expected_tags = vec![1];
    expected_tags.extend_from_slice(present);
    assert_eq!(
        tags(&record.items),
        expected_tags,
        "record {index}: items in file order"
    );
    assert_eq!(usize::from(record.record_length().unwrap()), record_len);
    assert_eq!(record.encoded_len(), record_len);
    let has = |tag: u8| present.contains(&tag);
    assert_eq!(record.dns_name(), has(2).then_some(&values.dns[..]));
    assert_eq!(record.subject(), has(3).then_some(&values.subject[..]));
    assert_eq!(record.role().unwrap(), Role::from(values.role));
    assert_eq!(record.issuer(), has(5).then_some(&values.issuer[..]));
    assert_eq!(record.serial(), has(6).then_some(&values.serial[..]));
    assert_eq!(record.public_key(), has(7).then_some(&values.public_key[..]));
    assert_eq!(
        record.cert_signature(),
        has(8).then_some(&values.cert_signature[..])
    );
    assert_eq!(record.certificate(), has(9).then_some(&values.certificate[..]));
    assert_eq!(
        record.ip_address().unwrap(),
        has(10).then_some(Ipv4Addr::from(values.ip))
    );
    assert_eq!(record.cert_hash(), has(11).then_some(&values.cert_hash[..]));
    assert_eq!(
        record.cert_hash_algorithm().unwrap(),
        has(12).then_some(Digest::from(values.hash_algorithm))
    );
}

/// One header and one record of the given variant: parses, accessors, byte-for-byte.
fn check_variant(values: &Values, present: &[u8]) -> TrustList {
    let header = HeaderSpec::default().build();
    let record_bytes = values.record(present);
    let file = [header.bytes.clone(), record_bytes.clone()].concat();
    let list = parse_round_trip(&file);
    assert_eq!(list.records.len(), 1);
    assert_eq!(list.record_offset(0), header.bytes.len());
    assert_record_matches(&list, 0, values, present, record_bytes.len());
    list.check_typed().unwrap();
    list
}

#[test]
fn variant_a_cucm_tokenless_tags_1_to_10() {
    let values = Values::sample(0);
    let list = check_variant(&values, &[2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(list.records[0].role().unwrap(), Role::Sast);
}

#[test]
fn variant_a_two_records_and_the_signer_is_found_by_serial_and_issuer() {
    let header = HeaderSpec::default().build();
    let mut other = Values::sample(2);
    other.serial = vec![0x01];
    let sast = Values::sample(0);
    let tags_a = [2, 3, 4, 5, 6, 7, 8, 9, 10];
    let (first, second) = (other.record(&tags_a), sast.record(&tags_a));
    let file = [header.bytes.clone(), first.clone(), second.clone()].concat();
    let list = parse_round_trip(&file);
    assert_record_matches(&list, 0, &other, &tags_a, first.len());
    assert_record_matches(&list, 1, &sast, &tags_a, second.len());
    assert_eq!(list.record_offset(1), header.bytes.len() + first.len());
    assert_eq!(list.signer_index(), Some(1));
}

#[test]
fn variant_b_hardware_token_sast_with_empty_dns_name() {
    let mut values = Values::sample(0);
    values.dns = Vec::new();
    values.subject = br#"cn="SAST-ADN0054f509        ";ou=IPCBU;o="Cisco Systems"#.to_vec();
    values.issuer = br#"cn=Cisco Manufacturing CA;o=Cisco Systems"#.to_vec();
    let list = check_variant(&values, &[2, 3, 4, 5, 6, 7, 9, 10]);
    // The empty string is a lone NUL on the wire.
    let record = &list.records[0];
    assert_eq!(record.items[1], Item::value(2, [0]));
    assert_eq!(record.dns_name(), Some(&b""[..]));
    assert_eq!(record.cert_signature(), None);
}

#[test]
fn variant_c_server_record_from_the_ctl_client() {
    let mut values = Values::sample(4);
    values.dns = b"capf-host".to_vec();
    let list = check_variant(&values, &[2, 3, 4, 5, 6, 7, 9, 10]);
    assert_eq!(list.records[0].role().unwrap(), Role::Capf);
}

#[test]
fn variant_d_non_secure_placeholder_is_33_bytes() {
    let mut values = Values::sample(1);
    values.dns = b"192.168.1.10".to_vec();
    values.ip = [192, 168, 1, 10];
    let record_bytes = values.record(&[2, 4, 10]);
    // Independently of the reader: RECORDLENGTH 33 on the wire and the record is 33 bytes.
    assert_eq!(record_bytes.len(), 33);
    assert_eq!(&record_bytes[..5], &[1, 0, 2, 0, 33]);
    let list = check_variant(&values, &[2, 4, 10]);
    let record = &list.records[0];
    assert_eq!(record.record_length().unwrap(), 33);
    assert_eq!(record.dns_name(), Some(&b"192.168.1.10"[..]));
    assert_eq!(record.ip_address().unwrap(), Some(Ipv4Addr::new(192, 168, 1, 10)));
    assert_eq!(record.certificate(), None);
    assert_eq!(list.signer_index(), None);
}

#[test]
fn variant_e_certutils_before_4_13_without_dns_or_ip() {
    let mut values = Values::sample(0);
    values.subject = b"CN=cucm-pub,OU=Voice,O=Example,C=NZ".to_vec();
    values.issuer = b"CN=cucm-pub,OU=Voice,O=Example,C=NZ".to_vec();
    // EC key: uncompressed point 04 || X || Y.
    values.public_key = [&[0x04][..], &[0x11; 32], &[0x22; 32]].concat();
    let list = check_variant(&values, &[3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(list.records[0].public_key().unwrap().len(), 65);
}

#[test]
fn variant_f_certutils_4_13_writes_function_after_serial() {
    let values = Values::sample(21);
    let list = check_variant(&values, &[3, 5, 6, 4, 7, 8, 9]);
    assert_eq!(list.records[0].role().unwrap(), Role::Tvs);
}

#[test]
fn record_with_cert_hash_and_its_algorithm() {
    let mut values = Values::sample(7);
    values.hash_algorithm = 3;
    let list = check_variant(&values, &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let record = &list.records[0];
    assert_eq!(record.role().unwrap(), Role::AppServer);
    assert_eq!(record.cert_hash_algorithm().unwrap(), Some(Digest::Sha512));
}

#[test]
fn unknown_roles_survive_the_round_trip() {
    for code in [6u16, 22, 0x0100, 0xFFFF] {
        let list = check_variant(&Values::sample(code), &[2, 4, 10]);
        let role = list.records[0].role().unwrap();
        assert_eq!(role, Role::Unknown(code));
        assert_eq!(role.to_string(), format!("unknown role {code}"));
    }
}

// ---------------------------------------------------------------- header variations

#[test]
fn cisco_header_typed_accessors_and_signature_location() {
    let spec = HeaderSpec::default();
    let header = spec.build();
    let record_bytes = Values::sample(0).record(&[2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let file = [header.bytes.clone(), record_bytes].concat();
    let list = parse_round_trip(&file);
    let h = &list.header;
    assert_eq!(h.version().unwrap(), (1, 2));
    assert_eq!(usize::from(h.header_length().unwrap()), header.bytes.len());
    assert_eq!(h.header_length().unwrap() % 4, 0);
    assert_eq!(h.signer_version().unwrap(), None);
    assert_eq!(h.signer_name().unwrap(), SIGNER.as_bytes());
    assert_eq!(h.signer_serial().unwrap(), SERIAL);
    assert_eq!(h.ca_name().unwrap(), ISSUER.as_bytes());
    assert_eq!(h.digest().unwrap(), Digest::Sha1);
    assert_eq!(h.signature_algorithm().unwrap(), 0);
    assert_eq!(h.key_size_index().unwrap(), 1);
    assert_eq!(h.signature().unwrap(), spec.signature);
    assert_eq!(h.filename().unwrap(), b"CTLFile.tlv");
    assert_eq!(h.timestamp().unwrap(), TIMESTAMP);
    assert_eq!(
        tags(&h.items),
        [&[1, 2, 3, 7, 12, 14, 15][..], &vec![13; header.padding]].concat()
    );
    list.check_typed().unwrap();

    let location = list.signature_location().unwrap();
    assert_eq!(location.item_offset, header.signature_item_offset);
    assert_eq!(location.value_offset, header.signature_item_offset + 3);
    assert_eq!(location.value_len, 128);
    // The signed message is the file with exactly those 131 bytes cut out.
    let cut = header.signature_item_offset..header.signature_item_offset + 131;
    let expected = [&file[..cut.start], &file[cut.end..]].concat();
    assert_eq!(signed_bytes(&file).unwrap(), expected);
    assert_eq!(list.signed_bytes().unwrap(), expected);
}

#[test]
fn certutils_header_with_tag_28_and_signer_id_order_4_6_5() {
    let spec = HeaderSpec {
        signer_version: Some([1, 1]),
        certutils_order: true,
        ..HeaderSpec::default()
    };
    let header = spec.build();
    let values = Values::sample(0);
    let file = [header.bytes.clone(), values.record(&[3, 5, 6, 4, 7, 8, 9])].concat();
    let list = parse_round_trip(&file);
    let h = &list.header;
    assert_eq!(h.signer_version().unwrap(), Some((1, 1)));
    assert_eq!(
        tags(&h.items),
        [&[1, 2, 28, 3, 7, 12, 14, 15][..], &vec![13; header.padding]].concat()
    );
    match &h.items[3] {
        Item::Container { tag: 3, children } => assert_eq!(tags(children), [4, 6, 5]),
        other => panic!("expected the SIGNERID container, found {other:?}"),
    }
    assert_eq!(h.signer_serial().unwrap(), SERIAL);
    assert_eq!(h.ca_name().unwrap(), ISSUER.as_bytes());
    assert_eq!(
        list.signer_index(),
        Some(0),
        "serial and issuer match whatever the item order"
    );
    list.check_typed().unwrap();
}

#[test]
fn signer_needs_serial_and_issuer_and_the_sast_role() {
    let header = HeaderSpec::default().build();
    let tags_a = [2, 3, 4, 5, 6, 7, 8, 9, 10];
    let mut other_issuer = Values::sample(0);
    other_issuer.issuer = b"CN=Someone Else".to_vec();
    let not_sast = Values::sample(2);
    let file = [
        header.bytes.clone(),
        other_issuer.record(&tags_a),
        not_sast.record(&tags_a),
    ]
    .concat();
    assert_eq!(parse_round_trip(&file).signer_index(), None);
    let file = [file, Values::sample(0).record(&tags_a)].concat();
    assert_eq!(parse_round_trip(&file).signer_index(), Some(2));
}

#[test]
fn unknown_header_tags_are_kept_in_place_and_inside_containers() {
    let mut spec = HeaderSpec {
        extra: vec![tlv(0x63, b"vendor"), tlv(0x20, &[])],
        ..HeaderSpec::default()
    };
    spec.signer = "CN=x".into();
    let mut header = spec.build();
    // Add an unknown child to SIGNERID (offset 10) by hand: grow the container and HEADERLENGTH.
    let child = tlv(0x40, &[1, 2, 3]);
    let container_len = u16::from_be_bytes([header.bytes[11], header.bytes[12]]);
    let insert_at = 13 + usize::from(container_len);
    header.bytes.splice(insert_at..insert_at, child.iter().copied());
    header.bytes[11..13].copy_from_slice(&(container_len + 6).to_be_bytes());
    let unpadded = header.bytes.len() - header.padding;
    header.bytes.truncate(unpadded);
    let padding = (4 - unpadded % 4) % 4;
    header.bytes.extend(std::iter::repeat_n(0x0D, padding));
    let length = u16::try_from(header.bytes.len()).unwrap();
    header.bytes[8..10].copy_from_slice(&length.to_be_bytes());

    let file = [header.bytes.clone(), Values::sample(3).record(&[2, 4, 10])].concat();
    let list = parse_round_trip(&file);
    let h = &list.header;
    assert_eq!(
        tags(&h.items),
        [&[1, 2, 3, 7, 12, 14, 15, 0x63, 0x20][..], &vec![13; padding]].concat()
    );
    assert_eq!(h.find(0x63), Some(&b"vendor"[..]));
    assert_eq!(h.find(0x20), Some(&b""[..]));
    assert_eq!(h.find(0x40), Some(&[1, 2, 3][..]), "found inside SIGNERID");
    assert_eq!(h.signer_name().unwrap(), b"CN=x");
    list.check_typed().unwrap();
}

#[test]
fn unknown_and_repeated_record_tags_keep_order_and_the_first_value_wins() {
    let header = HeaderSpec::default().build();
    // Tag 13 is padding only in the header; in a record it is an ordinary item with a length.
    let record_bytes = record(&[
        tlv(4, &[0, 2]),
        tlv(0x63, b"?"),
        tlv(13, &[0x0D, 0x0D]),
        tlv(3, &nul("first")),
        tlv(4, &[0, 0]),
        tlv(3, &nul("second")),
        tlv(0xFF, &[]),
    ]);
    let file = [header.bytes, record_bytes.clone()].concat();
    let list = parse_round_trip(&file);
    let record = &list.records[0];
    assert_eq!(tags(&record.items), [1, 4, 0x63, 13, 3, 4, 3, 0xFF]);
    assert_eq!(record.role().unwrap(), Role::CcmTftp);
    assert_eq!(record.subject(), Some(&b"first"[..]));
    assert_eq!(record.find(13), Some(&[0x0D, 0x0D][..]));
    assert_eq!(record.find(0xFF), Some(&b""[..]));
    assert_eq!(usize::from(record.record_length().unwrap()), record_bytes.len());
}

#[test]
fn repeated_header_tags_keep_every_copy_and_the_first_value_wins() {
    let spec = HeaderSpec {
        extra: vec![tlv(15, &[0, 0, 0, 1]), tlv(14, &nul("ITLFile.tlv"))],
        ..HeaderSpec::default()
    };
    let file = spec.build().bytes;
    let list = parse_round_trip(&file);
    assert_eq!(list.header.timestamp().unwrap(), TIMESTAMP);
    assert_eq!(list.header.filename().unwrap(), b"CTLFile.tlv");
    assert_eq!(list.records.len(), 0);
}

#[test]
fn empty_strings_are_a_lone_nul() {
    let spec = HeaderSpec {
        signer: String::new(),
        issuer: String::new(),
        filename: String::new(),
        ..HeaderSpec::default()
    };
    let mut values = Values::sample(0);
    values.dns.clear();
    values.subject.clear();
    values.issuer.clear();
    let file = [spec.build().bytes, values.record(&[2, 3, 4, 5, 6, 7, 9, 10])].concat();
    let list = parse_round_trip(&file);
    assert_eq!(list.header.signer_name().unwrap(), b"");
    assert_eq!(list.header.ca_name().unwrap(), b"");
    assert_eq!(list.header.filename().unwrap(), b"");
    assert_eq!(list.header.find(4), Some(&[0][..]), "stored with its NUL");
    let record = &list.records[0];
    assert_eq!(record.dns_name(), Some(&b""[..]));
    assert_eq!(record.subject(), Some(&b""[..]));
    assert_eq!(record.issuer(), Some(&b""[..]));
    list.check_typed().unwrap();
}

#[test]
fn digest_codes_sha512_sha256_and_unknown() {
    for (code, digest) in [
        (1, Digest::Sha1),
        (2, Digest::Sha256),
        (3, Digest::Sha512),
        (9, Digest::Unknown(9)),
    ] {
        let spec = HeaderSpec {
            digest: code,
            ..HeaderSpec::default()
        };
        let list = parse_round_trip(&spec.build().bytes);
        assert_eq!(list.header.digest().unwrap(), digest);
        assert_eq!(list.header.digest().unwrap().code(), code);
    }
    assert_eq!(Digest::Sha512.to_string(), "SHA-512");
}

#[test]
fn rsa_2048_signature_slot_of_256_bytes() {
    let spec = HeaderSpec {
        digest: 3,
        key_index: 2,
        signature: (0..256).map(|i| i as u8).collect(),
        filename: "ITLFile.tlv".into(),
        ..HeaderSpec::default()
    };
    let header = spec.build();
    let file = [
        header.bytes.clone(),
        Values::sample(21).record(&[2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ]
    .concat();
    let list = parse_round_trip(&file);
    assert_eq!(list.header.key_size_index().unwrap(), 2);
    assert_eq!(key_bits_for_index(2), Some(2048));
    assert_eq!(list.header.signature().unwrap(), spec.signature);
    let location = list.signature_location().unwrap();
    assert_eq!(
        (location.item_offset, location.value_len),
        (header.signature_item_offset, 256)
    );
    assert_eq!(signed_bytes(&file).unwrap().len(), file.len() - 259);
}

#[test]
fn zero_to_three_padding_bytes_make_the_header_a_multiple_of_four() {
    let mut seen = [false; 4];
    // Growing the signer name one byte at a time walks through every padding count.
    for extra in 0..4 {
        let spec = HeaderSpec {
            signer: format!("CN={}", "a".repeat(extra)),
            ..HeaderSpec::default()
        };
        let header = spec.build();
        seen[header.padding] = true;
        let record_bytes = Values::sample(1).record(&[2, 4, 10]);
        let file = [header.bytes.clone(), record_bytes].concat();
        let list = parse_round_trip(&file);
        let padding_items = list.header.items.iter().filter(|i| **i == Item::Padding).count();
        assert_eq!(padding_items, header.padding);
        assert_eq!(list.header.items.len(), 7 + header.padding);
        assert_eq!(list.header.encoded_len() % 4, 0);
        assert_eq!(list.records.len(), 1, "the record after the padding is read");
    }
    assert_eq!(seen, [true; 4], "every padding count 0-3 was exercised");
}

#[test]
fn header_only_file_without_records() {
    let file = HeaderSpec::default().build().bytes;
    let list = parse_round_trip(&file);
    assert!(list.records.is_empty());
    assert_eq!(list.record_offset(0), file.len());
}

// ---------------------------------------------------------------- builder

/// An item as found by the independent walker below.
#[derive(Debug, Clone, PartialEq)]
struct Walked {
    offset: usize,
    tag: u8,
    /// Length field (None for padding).
    length: Option<usize>,
}

/// Walks the header without the crate: containers 3/7/9 are stepped into, 0x0D is one byte.
fn walk_header(bytes: &[u8]) -> (usize, Vec<Walked>) {
    let header_length = usize::from(u16::from_be_bytes([bytes[8], bytes[9]]));
    let mut items = Vec::new();
    let mut offset = 0;
    while offset < header_length {
        let tag = bytes[offset];
        if tag == 13 {
            items.push(Walked {
                offset,
                tag,
                length: None,
            });
            offset += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([bytes[offset + 1], bytes[offset + 2]]));
        items.push(Walked {
            offset,
            tag,
            length: Some(length),
        });
        offset += if matches!(tag, 3 | 7 | 9) { 3 } else { 3 + length };
    }
    assert_eq!(offset, header_length, "header items end exactly at HEADERLENGTH");
    (header_length, items)
}

/// Walks records by RECORDLENGTH; returns each record's items (offset, tag, length).
fn walk_records(bytes: &[u8], start: usize) -> Vec<Vec<Walked>> {
    let mut records = Vec::new();
    let mut offset = start;
    while offset < bytes.len() {
        assert_eq!(
            &bytes[offset..offset + 3],
            &[1, 0, 2],
            "record starts with RECORDLENGTH"
        );
        let end = offset + usize::from(u16::from_be_bytes([bytes[offset + 3], bytes[offset + 4]]));
        let mut items = Vec::new();
        let mut cursor = offset;
        while cursor < end {
            let length = usize::from(u16::from_be_bytes([bytes[cursor + 1], bytes[cursor + 2]]));
            items.push(Walked {
                offset: cursor,
                tag: bytes[cursor],
                length: Some(length),
            });
            cursor += 3 + length;
        }
        assert_eq!(cursor, end, "record items end exactly at RECORDLENGTH");
        records.push(items);
        offset = end;
    }
    assert_eq!(offset, bytes.len());
    records
}

/// Container length = sum of the encoded sizes of the items it covers (checked by offsets).
fn assert_container_covers(items: &[Walked], container_tag: u8, children: &[u8]) {
    let at = items.iter().position(|i| i.tag == container_tag).unwrap();
    let container = &items[at];
    let last = &items[at + children.len()];
    let child_tags: Vec<u8> = items[at + 1..=at + children.len()]
        .iter()
        .map(|i| i.tag)
        .collect();
    assert_eq!(child_tags, children, "children of container {container_tag}");
    // For a value this is the end of its value; for a nested container, the end of its children.
    let children_end = last.offset + 3 + last.length.unwrap();
    assert_eq!(
        container.offset + 3 + container.length.unwrap(),
        children_end,
        "container {container_tag} length covers exactly its children"
    );
}

fn header_fields(signer_version: Option<(u8, u8)>, digest: Digest, signature_len: usize) -> HeaderFields {
    HeaderFields {
        version: (1, 2),
        signer_version,
        signer_name: SIGNER.as_bytes().to_vec(),
        signer_serial: SERIAL.to_vec(),
        ca_name: ISSUER.as_bytes().to_vec(),
        digest,
        signature_algorithm: 0,
        signature_len,
        filename: b"CTLFile.tlv".to_vec(),
        timestamp: TIMESTAMP,
    }
}

/// RecordFields with exactly the tags of `present` filled from `values`.
fn record_fields(values: &Values, present: &[u8]) -> RecordFields {
    let has = |tag: u8| present.contains(&tag);
    let mut fields = RecordFields::new(Role::from(values.role));
    fields.dns_name = has(2).then(|| values.dns.clone());
    fields.subject = has(3).then(|| values.subject.clone());
    fields.issuer = has(5).then(|| values.issuer.clone());
    fields.serial = has(6).then(|| values.serial.clone());
    fields.public_key = has(7).then(|| values.public_key.clone());
    fields.cert_signature = has(8).then(|| values.cert_signature.clone());
    fields.certificate = has(9).then(|| values.certificate.clone());
    fields.ip_address = has(10).then(|| Ipv4Addr::from(values.ip));
    fields.cert_hash = has(11).then(|| values.cert_hash.clone());
    fields.cert_hash_algorithm = has(12).then(|| Digest::from(values.hash_algorithm));
    fields
}

/// ctl-format.md §2's size formula, before padding.
fn spec_header_size(fields: &HeaderFields) -> usize {
    5 + 5
        + if fields.signer_version.is_some() { 5 } else { 0 }
        + 3
        + (3 + fields.signer_name.len() + 1)
        + (3 + fields.signer_serial.len())
        + (3 + fields.ca_name.len() + 1)
        + 3
        + 4
        + 3
        + 4
        + 4
        + (3 + fields.signature_len)
        + (3 + fields.filename.len() + 1)
        + 7
}

/// The record tag sets of variants A-F plus the optional hash items, and a DNS-less role.
const FIELD_SETS: [&[u8]; 7] = [
    &[2, 3, 4, 5, 6, 7, 8, 9, 10],
    &[2, 3, 4, 5, 6, 7, 9, 10],
    &[2, 4, 10],
    &[3, 4, 5, 6, 7, 8, 9],
    &[4],
    &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    &[4, 11],
];

#[test]
fn builder_lays_out_cisco_order_lengths_and_padding() {
    let cases = [
        (None, Digest::Sha1, 128usize),
        (Some((1, 1)), Digest::Sha512, 256),
        (Some((1, 0)), Digest::Sha256, 64),
        (None, Digest::Sha512, 512),
    ];
    let mut paddings_seen = [false; 4];
    for (case, (signer_version, digest, signature_len)) in cases.into_iter().enumerate() {
        for name_extra in 0..4 {
            let mut header = header_fields(signer_version, digest, signature_len);
            header.signer_name.extend(std::iter::repeat_n(b'x', name_extra));
            let values = Values::sample(case as u16);
            let records: Vec<RecordFields> =
                FIELD_SETS.iter().map(|set| record_fields(&values, set)).collect();
            let unsigned = build_unsigned(&header, &records).unwrap();
            let bytes = unsigned.bytes();

            // Header: length, padding, order, container lengths — all read from the bytes.
            let (header_length, items) = walk_header(bytes);
            let unpadded = spec_header_size(&header);
            let padding = (4 - unpadded % 4) % 4;
            paddings_seen[padding] = true;
            assert_eq!(header_length, unpadded + padding, "§2 formula, rounded up");
            assert_eq!(header_length % 4, 0);
            let mut expected_tags = vec![1, 2];
            if signer_version.is_some() {
                expected_tags.push(28);
            }
            expected_tags.extend([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]);
            expected_tags.extend(std::iter::repeat_n(13, padding));
            let walked_tags: Vec<u8> = items.iter().map(|i| i.tag).collect();
            assert_eq!(walked_tags, expected_tags, "Cisco header order");
            assert_container_covers(&items, 3, &[4, 5, 6]);
            assert_container_covers(&items, 7, &[8, 9]);
            assert_container_covers(&items, 9, &[10, 11]);
            let info = items.iter().find(|i| i.tag == 7).unwrap();
            assert_eq!(info.length, Some(15), "SIGNATUREINFO is 4 + 3 + 4 + 4");
            let algo = items.iter().find(|i| i.tag == 9).unwrap();
            assert_eq!(algo.length, Some(8));
            let modulus = items.iter().find(|i| i.tag == 11).unwrap();
            let expected_index = match signature_len {
                64 => 0,
                128 => 1,
                256 => 2,
                _ => 3,
            };
            assert_eq!(bytes[modulus.offset + 3], expected_index);
            let signature = items.iter().find(|i| i.tag == 12).unwrap();
            assert_eq!(signature.length, Some(signature_len));
            let slot = unsigned.signature_location();
            assert_eq!(
                (slot.item_offset, slot.value_len),
                (signature.offset, signature_len)
            );
            assert!(bytes[slot.value_offset..slot.value_offset + signature_len]
                .iter()
                .all(|&b| b == 0));
            if let Some((major, minor)) = signer_version {
                let version = items.iter().find(|i| i.tag == 28).unwrap();
                assert_eq!(
                    &bytes[version.offset..version.offset + 5],
                    &[28, 0, 2, major, minor]
                );
            }

            // Records: RECORDLENGTH, Cisco tag order, optional items only when present.
            let walked = walk_records(bytes, header_length);
            assert_eq!(walked.len(), FIELD_SETS.len());
            for (set, record) in FIELD_SETS.iter().zip(&walked) {
                let mut expected = vec![1];
                expected.extend(set.iter().copied());
                expected.sort_unstable();
                let got: Vec<u8> = record.iter().map(|i| i.tag).collect();
                assert_eq!(got, expected, "record tags in Cisco order, only those present");
            }

            // The parsed file gives back the same semantic fields.
            let list = TrustList::parse(bytes).unwrap();
            assert_eq!(list.to_bytes().unwrap(), bytes);
            list.check_typed().unwrap();
            assert_eq!(HeaderFields::from_header(&list.header).unwrap(), header);
            for (fields, parsed) in records.iter().zip(&list.records) {
                assert_eq!(&RecordFields::from_record(parsed).unwrap(), fields);
            }
        }
    }
    assert_eq!(paddings_seen, [true; 4], "every padding count 0-3 was exercised");
}

#[test]
fn builder_signature_slot_is_filled_in_place_and_signed_bytes_leave_it_out() {
    let header = header_fields(None, Digest::Sha1, 128);
    let records = [record_fields(&Values::sample(0), FIELD_SETS[0])];
    let unsigned = build_unsigned(&header, &records).unwrap();
    let slot = unsigned.signature_location();
    assert_eq!(unsigned.signature_len(), 128);
    let signature: Vec<u8> = (0..128).map(|i| (i * 3) as u8).collect();
    let signed = unsigned.with_signature(&signature).unwrap();
    assert_eq!(signed.len(), unsigned.bytes().len());
    assert_eq!(&signed[slot.value_offset..slot.value_offset + 128], signature);
    assert_eq!(
        &signed[..slot.value_offset],
        &unsigned.bytes()[..slot.value_offset]
    );
    assert_eq!(
        &signed[slot.value_offset + 128..],
        &unsigned.bytes()[slot.value_offset + 128..]
    );
    // The message does not depend on the signature: the same before and after signing.
    let message = unsigned.signed_bytes();
    assert_eq!(message.len(), signed.len() - 131);
    assert_eq!(signed_bytes(&signed).unwrap(), message);
    assert_eq!(
        TrustList::parse(&signed).unwrap().header.signature().unwrap(),
        signature
    );
    assert_eq!(TrustList::parse(&signed).unwrap().signer_index(), Some(0));
}

#[test]
fn builder_signer_record_with_matching_serial_and_issuer_is_found() {
    let header = header_fields(None, Digest::Sha1, 128);
    let mut signer = Values::sample(0);
    signer.issuer = ISSUER.as_bytes().to_vec();
    let other = Values::sample(2);
    let records = [
        record_fields(&other, FIELD_SETS[0]),
        record_fields(&signer, FIELD_SETS[0]),
    ];
    let unsigned = build_unsigned(&header, &records).unwrap();
    let list = TrustList::parse(unsigned.bytes()).unwrap();
    assert_eq!(list.signer_index(), Some(1));
}

#[test]
fn builder_writes_empty_strings_as_a_lone_nul_and_leaves_out_none() {
    let header = header_fields(None, Digest::Sha1, 128);
    let mut fields = RecordFields::new(Role::Sast);
    fields.dns_name = Some(Vec::new());
    let unsigned = build_unsigned(&header, &[fields]).unwrap();
    let bytes = unsigned.bytes();
    let (header_length, _) = walk_header(bytes);
    assert_eq!(
        &bytes[header_length..],
        &[1, 0, 2, 0, 14, 2, 0, 1, 0, 4, 0, 2, 0, 0],
        "RECORDLENGTH 14, DNSNAME = NUL, FUNCTION = SAST and nothing else"
    );
}
