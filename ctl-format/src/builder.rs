//! The Cisco-layout builder: semantic fields in, Cisco's exact item order and lengths out.
//!
//! Header order (ctl-format.md §2): 1, 2, [28], 3{4, 5, 6}, 7{8, 9{10, 11}}, 12, 14, 15, then
//! 0-3 padding bytes so the header length is a multiple of 4. Record order (§3): 1, then
//! 2-12 in tag order, optional items only when present. The signature slot is sized from the
//! key and zero-filled; a signer fills it with [`UnsignedFile::with_signature`].

use std::net::Ipv4Addr;

use crate::codes::{index_for_signature_len, Digest, Role};
use crate::error::{FieldError, FormatError, Section};
use crate::model::{Header, Item, Record, SignatureLocation, TrustList};
use crate::tags::*;

/// Semantic header fields. Strings are given without their trailing NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFields {
    /// VERSION; every known file has (1, 2).
    pub version: (u8, u8),
    /// Signer version (tag 28), written only when present.
    pub signer_version: Option<(u8, u8)>,
    /// SIGNERNAME: the signer certificate's subject, byte-identical to its record's SUBJECTNAME.
    pub signer_name: Vec<u8>,
    /// SERIALNUMBER of the signer certificate.
    pub signer_serial: Vec<u8>,
    /// CANAME: the signer certificate's issuer, byte-identical to its record's ISSUERNAME.
    pub ca_name: Vec<u8>,
    /// DIGESTALGORTITHM.
    pub digest: Digest,
    /// SIGNATUREALGORTITHM (0 = RSA).
    pub signature_algorithm: u8,
    /// Signature length in bytes (the RSA modulus size: 64, 128, 256 or 512).
    pub signature_len: usize,
    /// FILENAME: `CTLFile.tlv` or `ITLFile.tlv`, also inside per-device files.
    pub filename: Vec<u8>,
    /// TIMESTAMP, Unix seconds.
    pub timestamp: u32,
}

impl HeaderFields {
    /// The semantic fields of a parsed header (for rebuilding or re-signing).
    pub fn from_header(header: &Header) -> Result<HeaderFields, FieldError> {
        Ok(HeaderFields {
            version: header.version()?,
            signer_version: header.signer_version()?,
            signer_name: header.signer_name()?.to_vec(),
            signer_serial: header.signer_serial()?.to_vec(),
            ca_name: header.ca_name()?.to_vec(),
            digest: header.digest()?,
            signature_algorithm: header.signature_algorithm()?,
            signature_len: header.signature()?.len(),
            filename: header.filename()?.to_vec(),
            timestamp: header.timestamp()?,
        })
    }
}

/// Semantic record fields. Strings are given without their trailing NUL; `None` leaves the
/// item out, `Some(empty)` writes an empty string (a lone NUL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFields {
    /// DNSNAME.
    pub dns_name: Option<Vec<u8>>,
    /// SUBJECTNAME.
    pub subject: Option<Vec<u8>>,
    /// FUNCTION.
    pub role: Role,
    /// ISSUERNAME.
    pub issuer: Option<Vec<u8>>,
    /// SERIALNUMBER.
    pub serial: Option<Vec<u8>>,
    /// PUBLICKEY.
    pub public_key: Option<Vec<u8>>,
    /// SIGNATURE (the certificate's own).
    pub cert_signature: Option<Vec<u8>>,
    /// CERTIFICATE (DER).
    pub certificate: Option<Vec<u8>>,
    /// IPADDRESS.
    pub ip_address: Option<Ipv4Addr>,
    /// CERTHASH.
    pub cert_hash: Option<Vec<u8>>,
    /// HASH ALGORITHM of CERTHASH.
    pub cert_hash_algorithm: Option<Digest>,
}

impl RecordFields {
    /// A record with only a role; fill in the rest.
    pub fn new(role: Role) -> RecordFields {
        RecordFields {
            dns_name: None,
            subject: None,
            role,
            issuer: None,
            serial: None,
            public_key: None,
            cert_signature: None,
            certificate: None,
            ip_address: None,
            cert_hash: None,
            cert_hash_algorithm: None,
        }
    }

    /// The semantic fields of a parsed record.
    pub fn from_record(record: &Record) -> Result<RecordFields, FieldError> {
        Ok(RecordFields {
            dns_name: record.dns_name().map(<[u8]>::to_vec),
            subject: record.subject().map(<[u8]>::to_vec),
            role: record.role()?,
            issuer: record.issuer().map(<[u8]>::to_vec),
            serial: record.serial().map(<[u8]>::to_vec),
            public_key: record.public_key().map(<[u8]>::to_vec),
            cert_signature: record.cert_signature().map(<[u8]>::to_vec),
            certificate: record.certificate().map(<[u8]>::to_vec),
            ip_address: record.ip_address()?,
            cert_hash: record.cert_hash().map(<[u8]>::to_vec),
            cert_hash_algorithm: record.cert_hash_algorithm()?,
        })
    }
}

fn with_nul(text: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(text.len() + 1);
    value.extend_from_slice(text);
    value.push(0);
    value
}

fn string_item(tag: u8, text: &[u8]) -> Item {
    Item::value(tag, with_nul(text))
}

fn header_items(fields: &HeaderFields, header_length: u16) -> Vec<Item> {
    let mut items = vec![
        Item::value(H_VERSION, [fields.version.0, fields.version.1]),
        Item::value(H_HEADER_LENGTH, header_length.to_be_bytes()),
    ];
    if let Some((major, minor)) = fields.signer_version {
        items.push(Item::value(H_SIGNER_VERSION, [major, minor]));
    }
    let key_size_index = index_for_signature_len(fields.signature_len).unwrap_or(u8::MAX);
    items.extend([
        Item::Container {
            tag: H_SIGNER_ID,
            children: vec![
                string_item(H_SIGNER_NAME, &fields.signer_name),
                Item::value(H_SERIAL_NUMBER, fields.signer_serial.clone()),
                string_item(H_CA_NAME, &fields.ca_name),
            ],
        },
        Item::Container {
            tag: H_SIGNATURE_INFO,
            children: vec![
                Item::value(H_DIGEST_ALGORITHM, [fields.digest.code()]),
                Item::Container {
                    tag: H_SIGNATURE_ALGO_INFO,
                    children: vec![
                        Item::value(H_SIGNATURE_ALGORITHM, [fields.signature_algorithm]),
                        Item::value(H_SIGNATURE_MODULUS, [key_size_index]),
                    ],
                },
            ],
        },
        Item::value(H_SIGNATURE, vec![0; fields.signature_len]),
        string_item(H_FILENAME, &fields.filename),
        Item::value(H_TIMESTAMP, fields.timestamp.to_be_bytes()),
    ]);
    items
}

fn record_items(fields: &RecordFields, index: usize) -> Result<Vec<Item>, FormatError> {
    let mut items = vec![Item::value(R_RECORD_LENGTH, [0, 0])];
    if let Some(dns_name) = &fields.dns_name {
        items.push(string_item(R_DNS_NAME, dns_name));
    }
    if let Some(subject) = &fields.subject {
        items.push(string_item(R_SUBJECT_NAME, subject));
    }
    items.push(Item::value(R_FUNCTION, fields.role.code().to_be_bytes()));
    if let Some(issuer) = &fields.issuer {
        items.push(string_item(R_ISSUER_NAME, issuer));
    }
    let raw = [
        (R_SERIAL_NUMBER, &fields.serial),
        (R_PUBLIC_KEY, &fields.public_key),
        (R_SIGNATURE, &fields.cert_signature),
        (R_CERTIFICATE, &fields.certificate),
    ];
    for (tag, value) in raw {
        if let Some(value) = value {
            items.push(Item::value(tag, value.clone()));
        }
    }
    if let Some(ip) = fields.ip_address {
        items.push(Item::value(R_IP_ADDRESS, ip.octets()));
    }
    if let Some(hash) = &fields.cert_hash {
        items.push(Item::value(R_CERT_HASH, hash.clone()));
    }
    if let Some(algorithm) = fields.cert_hash_algorithm {
        items.push(Item::value(R_HASH_ALGORITHM, [algorithm.code()]));
    }
    let length: usize = items.iter().map(Item::encoded_len).sum();
    let length = u16::try_from(length).map_err(|_| FormatError::TooLong {
        section: Section::Record(index),
        tag: R_RECORD_LENGTH,
        length,
        max: usize::from(u16::MAX),
    })?;
    items[0] = Item::value(R_RECORD_LENGTH, length.to_be_bytes());
    Ok(items)
}

/// A complete file whose signature slot is still zero-filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedFile {
    bytes: Vec<u8>,
    signature: SignatureLocation,
}

impl UnsignedFile {
    /// The complete file with a zero-filled signature slot.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Where the signature slot is.
    pub fn signature_location(&self) -> SignatureLocation {
        self.signature
    }

    /// Size of the signature slot in bytes.
    pub fn signature_len(&self) -> usize {
        self.signature.value_len
    }

    /// The message a signer signs: the file without the SIGNATURE item.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let range = self.signature.item_range();
        let mut message = Vec::with_capacity(self.bytes.len() - range.len());
        message.extend_from_slice(&self.bytes[..range.start]);
        message.extend_from_slice(&self.bytes[range.end..]);
        message
    }

    /// The finished file with `signature` in the slot; its length must equal the slot's.
    pub fn with_signature(&self, signature: &[u8]) -> Result<Vec<u8>, FormatError> {
        if signature.len() != self.signature.value_len {
            return Err(FormatError::SignatureLength {
                expected: self.signature.value_len,
                actual: signature.len(),
            });
        }
        let mut file = self.bytes.clone();
        let start = self.signature.value_offset;
        file[start..start + signature.len()].copy_from_slice(signature);
        Ok(file)
    }
}

impl TryFrom<&[u8]> for UnsignedFile {
    type Error = FormatError;

    /// Takes any parsed file (signed or not) as the slot to fill, e.g. for offline signing.
    fn try_from(file: &[u8]) -> Result<UnsignedFile, FormatError> {
        let list = TrustList::parse(file)?;
        let signature = list.signature_location().ok_or(FormatError::NoSignature)?;
        Ok(UnsignedFile {
            bytes: file.to_vec(),
            signature,
        })
    }
}

/// Lays out a file in Cisco's order with correct lengths and padding, signature slot zeroed.
pub fn build_unsigned(header: &HeaderFields, records: &[RecordFields]) -> Result<UnsignedFile, FormatError> {
    if index_for_signature_len(header.signature_len).is_none() {
        return Err(FormatError::BadValue {
            offset: 0,
            section: Section::Header,
            tag: H_SIGNATURE,
            length: header.signature_len,
            expected: "an RSA signature of 64, 128, 256 or 512 bytes",
        });
    }
    // The header's size does not depend on HEADERLENGTH's value, so lay it out once to measure.
    let unpadded: usize = header_items(header, 0).iter().map(Item::encoded_len).sum();
    let padding = (4 - unpadded % 4) % 4;
    let header_length = unpadded + padding;
    let header_length_u16 = u16::try_from(header_length).map_err(|_| FormatError::TooLong {
        section: Section::Header,
        tag: H_HEADER_LENGTH,
        length: header_length,
        max: usize::from(u16::MAX),
    })?;
    let mut header_items = header_items(header, header_length_u16);
    header_items.extend(std::iter::repeat_n(Item::Padding, padding));
    let list = TrustList {
        header: Header { items: header_items },
        records: records
            .iter()
            .enumerate()
            .map(|(index, fields)| record_items(fields, index).map(|items| Record { items }))
            .collect::<Result<_, _>>()?,
    };
    let bytes = list.to_bytes()?;
    let signature = list.signature_location().ok_or(FormatError::NoSignature)?;
    Ok(UnsignedFile { bytes, signature })
}
