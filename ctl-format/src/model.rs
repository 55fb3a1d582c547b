//! The lossless model: every item of the file in order, with typed accessors on top.

use std::net::Ipv4Addr;

use crate::codes::{Digest, Role};
use crate::error::{FieldError, FormatError, Section};
use crate::tags::*;

/// One item of a header or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Tag, 2-byte length, value.
    Value {
        /// The tag.
        tag: u8,
        /// The value bytes (strings keep their trailing NUL here).
        value: Vec<u8>,
    },
    /// Header container (tags 3, 7, 9): tag and 2-byte length, children inline.
    Container {
        /// The tag.
        tag: u8,
        /// The items the length covers.
        children: Vec<Item>,
    },
    /// A lone `0x0D` header padding byte.
    Padding,
}

impl Item {
    /// A value item.
    pub fn value(tag: u8, value: impl Into<Vec<u8>>) -> Item {
        Item::Value {
            tag,
            value: value.into(),
        }
    }

    /// The item's tag (13 for padding).
    pub fn tag(&self) -> u8 {
        match self {
            Item::Value { tag, .. } | Item::Container { tag, .. } => *tag,
            Item::Padding => H_PADDING,
        }
    }

    /// Size of the encoded item, children included.
    pub fn encoded_len(&self) -> usize {
        match self {
            Item::Value { value, .. } => 3 + value.len(),
            Item::Container { children, .. } => 3 + children.iter().map(Item::encoded_len).sum::<usize>(),
            Item::Padding => 1,
        }
    }
}

/// Depth-first search for the first value item with `tag`.
fn find_value(items: &[Item], tag: u8) -> Option<&[u8]> {
    items.iter().find_map(|item| match item {
        Item::Value { tag: t, value } if *t == tag => Some(value.as_slice()),
        Item::Container { children, .. } => find_value(children, tag),
        _ => None,
    })
}

fn required(items: &[Item], tag: u8) -> Result<&[u8], FieldError> {
    find_value(items, tag).ok_or(FieldError::Missing { tag })
}

fn fixed<const N: usize>(value: &[u8], tag: u8, expected: &'static str) -> Result<[u8; N], FieldError> {
    value.try_into().map_err(|_| FieldError::BadLength {
        tag,
        length: value.len(),
        expected,
    })
}

/// A string value without its trailing NUL (a value without NUL is returned whole).
fn string(value: &[u8]) -> &[u8] {
    value.strip_suffix(&[0]).unwrap_or(value)
}

/// The header: items up to HEADERLENGTH, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Items in file order.
    pub items: Vec<Item>,
}

impl Header {
    /// Encoded size of the header.
    pub fn encoded_len(&self) -> usize {
        self.items.iter().map(Item::encoded_len).sum()
    }

    /// The first value of `tag` anywhere in the header (containers searched).
    pub fn find(&self, tag: u8) -> Option<&[u8]> {
        find_value(&self.items, tag)
    }

    /// VERSION (major, minor).
    pub fn version(&self) -> Result<(u8, u8), FieldError> {
        let [major, minor] = fixed(required(&self.items, H_VERSION)?, H_VERSION, "2 bytes")?;
        Ok((major, minor))
    }

    /// HEADERLENGTH as stored.
    pub fn header_length(&self) -> Result<u16, FieldError> {
        let bytes = fixed(
            required(&self.items, H_HEADER_LENGTH)?,
            H_HEADER_LENGTH,
            "2 bytes",
        )?;
        Ok(u16::from_be_bytes(bytes))
    }

    /// Signer version (tag 28), when present.
    pub fn signer_version(&self) -> Result<Option<(u8, u8)>, FieldError> {
        self.find(H_SIGNER_VERSION)
            .map(|value| fixed(value, H_SIGNER_VERSION, "2 bytes").map(|[a, b]| (a, b)))
            .transpose()
    }

    /// SIGNERNAME without NUL.
    pub fn signer_name(&self) -> Result<&[u8], FieldError> {
        required(&self.items, H_SIGNER_NAME).map(string)
    }

    /// SERIALNUMBER of the signer certificate, raw.
    pub fn signer_serial(&self) -> Result<&[u8], FieldError> {
        required(&self.items, H_SERIAL_NUMBER)
    }

    /// CANAME without NUL.
    pub fn ca_name(&self) -> Result<&[u8], FieldError> {
        required(&self.items, H_CA_NAME).map(string)
    }

    /// DIGESTALGORTITHM.
    pub fn digest(&self) -> Result<Digest, FieldError> {
        let [code] = fixed(
            required(&self.items, H_DIGEST_ALGORITHM)?,
            H_DIGEST_ALGORITHM,
            "1 byte",
        )?;
        Ok(Digest::from(code))
    }

    /// SIGNATUREALGORTITHM (0 = RSA).
    pub fn signature_algorithm(&self) -> Result<u8, FieldError> {
        let [code] = fixed(
            required(&self.items, H_SIGNATURE_ALGORITHM)?,
            H_SIGNATURE_ALGORITHM,
            "1 byte",
        )?;
        Ok(code)
    }

    /// SIGNATUREMODULUS key-size index.
    pub fn key_size_index(&self) -> Result<u8, FieldError> {
        let [code] = fixed(
            required(&self.items, H_SIGNATURE_MODULUS)?,
            H_SIGNATURE_MODULUS,
            "1 byte",
        )?;
        Ok(code)
    }

    /// SIGNATURE bytes.
    pub fn signature(&self) -> Result<&[u8], FieldError> {
        required(&self.items, H_SIGNATURE)
    }

    /// FILENAME without NUL.
    pub fn filename(&self) -> Result<&[u8], FieldError> {
        required(&self.items, H_FILENAME).map(string)
    }

    /// TIMESTAMP, Unix seconds.
    pub fn timestamp(&self) -> Result<u32, FieldError> {
        let bytes = fixed(required(&self.items, H_TIMESTAMP)?, H_TIMESTAMP, "4 bytes")?;
        Ok(u32::from_be_bytes(bytes))
    }
}

/// One record: items in file order, RECORDLENGTH first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Items in file order.
    pub items: Vec<Item>,
}

impl Record {
    /// Encoded size of the record.
    pub fn encoded_len(&self) -> usize {
        self.items.iter().map(Item::encoded_len).sum()
    }

    /// The first value of `tag` in the record.
    pub fn find(&self, tag: u8) -> Option<&[u8]> {
        find_value(&self.items, tag)
    }

    /// RECORDLENGTH as stored.
    pub fn record_length(&self) -> Result<u16, FieldError> {
        let bytes = fixed(
            required(&self.items, R_RECORD_LENGTH)?,
            R_RECORD_LENGTH,
            "2 bytes",
        )?;
        Ok(u16::from_be_bytes(bytes))
    }

    /// FUNCTION.
    pub fn role(&self) -> Result<Role, FieldError> {
        let bytes = fixed(required(&self.items, R_FUNCTION)?, R_FUNCTION, "2 bytes")?;
        Ok(Role::from(u16::from_be_bytes(bytes)))
    }

    /// DNSNAME without NUL (empty for token records).
    pub fn dns_name(&self) -> Option<&[u8]> {
        self.find(R_DNS_NAME).map(string)
    }

    /// SUBJECTNAME without NUL.
    pub fn subject(&self) -> Option<&[u8]> {
        self.find(R_SUBJECT_NAME).map(string)
    }

    /// ISSUERNAME without NUL.
    pub fn issuer(&self) -> Option<&[u8]> {
        self.find(R_ISSUER_NAME).map(string)
    }

    /// SERIALNUMBER, raw.
    pub fn serial(&self) -> Option<&[u8]> {
        self.find(R_SERIAL_NUMBER)
    }

    /// PUBLICKEY: PKCS#1 `RSAPublicKey` DER, or an EC point.
    pub fn public_key(&self) -> Option<&[u8]> {
        self.find(R_PUBLIC_KEY)
    }

    /// SIGNATURE: the certificate's own signatureValue.
    pub fn cert_signature(&self) -> Option<&[u8]> {
        self.find(R_SIGNATURE)
    }

    /// CERTIFICATE, DER.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.find(R_CERTIFICATE)
    }

    /// IPADDRESS.
    pub fn ip_address(&self) -> Result<Option<Ipv4Addr>, FieldError> {
        self.find(R_IP_ADDRESS)
            .map(|value| fixed::<4>(value, R_IP_ADDRESS, "4 bytes").map(Ipv4Addr::from))
            .transpose()
    }

    /// CERTHASH.
    pub fn cert_hash(&self) -> Option<&[u8]> {
        self.find(R_CERT_HASH)
    }

    /// HASH ALGORITHM of CERTHASH.
    pub fn cert_hash_algorithm(&self) -> Result<Option<Digest>, FieldError> {
        self.find(R_HASH_ALGORITHM)
            .map(|value| fixed::<1>(value, R_HASH_ALGORITHM, "1 byte").map(|[code]| Digest::from(code)))
            .transpose()
    }
}

/// Where the header's SIGNATURE item is in the encoded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureLocation {
    /// Offset of the item's tag byte.
    pub item_offset: usize,
    /// Offset of the first signature byte.
    pub value_offset: usize,
    /// Signature length in bytes.
    pub value_len: usize,
}

impl SignatureLocation {
    /// The item's byte range (prefix and value), which the signed message leaves out.
    pub fn item_range(&self) -> std::ops::Range<usize> {
        self.item_offset..self.value_offset + self.value_len
    }
}

/// What kind of item a [`LocatedItem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Tag, length, value.
    Value,
    /// Tag and length; the children follow as their own located items.
    Container,
    /// A lone padding byte.
    Padding,
}

/// An item with its place in the encoded file, as yielded by [`TrustList::located_items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocatedItem<'a> {
    /// Offset of the tag byte.
    pub offset: usize,
    /// Header or record.
    pub section: Section,
    /// Container nesting depth (0 at top level).
    pub depth: usize,
    /// The tag.
    pub tag: u8,
    /// Value, container or padding.
    pub kind: ItemKind,
    /// The length field (value length, or children total for containers); 0 for padding.
    pub length: usize,
    /// The value bytes; empty for containers and padding.
    pub value: &'a [u8],
}

impl LocatedItem<'_> {
    /// Size of this item's own bytes: prefix and value, but not a container's children.
    pub fn own_len(&self) -> usize {
        match self.kind {
            ItemKind::Value => 3 + self.value.len(),
            ItemKind::Container => 3,
            ItemKind::Padding => 1,
        }
    }
}

fn locate<'a>(
    items: &'a [Item],
    section: Section,
    depth: usize,
    offset: &mut usize,
    out: &mut Vec<LocatedItem<'a>>,
) {
    for item in items {
        let start = *offset;
        match item {
            Item::Value { tag, value } => {
                out.push(LocatedItem {
                    offset: start,
                    section,
                    depth,
                    tag: *tag,
                    kind: ItemKind::Value,
                    length: value.len(),
                    value,
                });
                *offset += 3 + value.len();
            }
            Item::Container { tag, children } => {
                out.push(LocatedItem {
                    offset: start,
                    section,
                    depth,
                    tag: *tag,
                    kind: ItemKind::Container,
                    length: item.encoded_len() - 3,
                    value: &[],
                });
                *offset += 3;
                locate(children, section, depth + 1, offset, out);
            }
            Item::Padding => {
                out.push(LocatedItem {
                    offset: start,
                    section,
                    depth,
                    tag: H_PADDING,
                    kind: ItemKind::Padding,
                    length: 0,
                    value: &[],
                });
                *offset += 1;
            }
        }
    }
}

/// A whole CTL/ITL file: header, then records to end of file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustList {
    /// The header.
    pub header: Header,
    /// The records in file order.
    pub records: Vec<Record>,
}

impl TrustList {
    /// Reads a complete file. Reading then [`TrustList::to_bytes`] reproduces the input.
    pub fn parse(bytes: &[u8]) -> Result<TrustList, FormatError> {
        crate::reader::parse_trust_list(bytes)
    }

    /// Writes the model exactly as it stands (stored lengths are written as stored).
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        crate::writer::write_trust_list(self)
    }

    /// Offset of record `index` in the encoded file (`index == len` gives the file size).
    pub fn record_offset(&self, index: usize) -> usize {
        self.header.encoded_len()
            + self
                .records
                .iter()
                .take(index)
                .map(Record::encoded_len)
                .sum::<usize>()
    }

    /// Every item in file order with its offset; container children follow their container.
    pub fn located_items(&self) -> Vec<LocatedItem<'_>> {
        let mut out = Vec::new();
        let mut offset = 0;
        locate(&self.header.items, Section::Header, 0, &mut offset, &mut out);
        for (index, record) in self.records.iter().enumerate() {
            locate(&record.items, Section::Record(index), 0, &mut offset, &mut out);
        }
        out
    }

    /// Where the header's SIGNATURE item lies in the encoded file.
    pub fn signature_location(&self) -> Option<SignatureLocation> {
        self.located_items()
            .into_iter()
            .find(|item| {
                item.section == Section::Header && item.kind == ItemKind::Value && item.tag == H_SIGNATURE
            })
            .map(|item| SignatureLocation {
                item_offset: item.offset,
                value_offset: item.offset + 3,
                value_len: item.value.len(),
            })
    }

    /// The signed message: the encoded file without the SIGNATURE item.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let location = self.signature_location().ok_or(FormatError::NoSignature)?;
        let mut bytes = self.to_bytes()?;
        bytes.drain(location.item_range());
        Ok(bytes)
    }

    /// Index of the record that signed the file: the first SAST record whose SERIALNUMBER and
    /// ISSUERNAME equal the header's SERIALNUMBER and CANAME.
    pub fn signer_index(&self) -> Option<usize> {
        let serial = self.header.signer_serial().ok()?;
        let issuer = self.header.ca_name().ok()?;
        self.records.iter().position(|record| {
            record.role() == Ok(Role::Sast)
                && record.serial() == Some(serial)
                && record.issuer() == Some(issuer)
        })
    }

    /// Places an accessor error: a missing item at the start of its section, a badly sized
    /// one at its own offset (the first item with that tag, as the accessors read it).
    fn place(&self, error: FieldError, section: Section, section_offset: usize) -> FormatError {
        let offset = match error {
            FieldError::Missing { .. } => section_offset,
            FieldError::BadLength { tag, .. } => self
                .located_items()
                .into_iter()
                .find(|item| item.section == section && item.kind == ItemKind::Value && item.tag == tag)
                .map_or(section_offset, |item| item.offset),
        };
        error.at(section, offset)
    }

    /// Checks that every item a typed view needs is present and well-sized:
    /// the header's signing fields and each record's FUNCTION. Errors name the offset.
    pub fn check_typed(&self) -> Result<(), FormatError> {
        let header = &self.header;
        let in_header = |e: FieldError| self.place(e, Section::Header, 0);
        header.version().map_err(in_header)?;
        header.header_length().map_err(in_header)?;
        header.signer_version().map_err(in_header)?;
        header.signer_name().map_err(in_header)?;
        header.signer_serial().map_err(in_header)?;
        header.ca_name().map_err(in_header)?;
        header.digest().map_err(in_header)?;
        header.signature_algorithm().map_err(in_header)?;
        header.key_size_index().map_err(in_header)?;
        header.signature().map_err(in_header)?;
        header.filename().map_err(in_header)?;
        header.timestamp().map_err(in_header)?;
        for (index, record) in self.records.iter().enumerate() {
            let in_record = |e: FieldError| self.place(e, Section::Record(index), self.record_offset(index));
            record.role().map_err(in_record)?;
            record.ip_address().map_err(in_record)?;
            record.cert_hash_algorithm().map_err(in_record)?;
        }
        Ok(())
    }
}

/// The signed message cut from the raw file bytes (the file minus its SIGNATURE item).
pub fn signed_bytes(file: &[u8]) -> Result<Vec<u8>, FormatError> {
    let list = TrustList::parse(file)?;
    let location = list.signature_location().ok_or(FormatError::NoSignature)?;
    let mut message = Vec::with_capacity(file.len() - (location.value_len + 3));
    message.extend_from_slice(&file[..location.item_offset]);
    message.extend_from_slice(&file[location.item_range().end..]);
    Ok(message)
}
