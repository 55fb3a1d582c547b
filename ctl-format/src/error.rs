//! Errors: each names the byte offset, the section, the tag and what was expected.

use std::fmt;

use crate::tags;

/// Where in the file something is: the header or a record (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The header, up to HEADERLENGTH.
    Header,
    /// Record number `index` (0-based; dumps print it 1-based like CUCM).
    Record(usize),
}

impl Section {
    /// Cisco's name for `tag` in this section, or `?` when unnamed.
    pub fn tag_name(self, tag: u8) -> &'static str {
        let name = match self {
            Section::Header => tags::header_tag_name(tag),
            Section::Record(_) => tags::record_tag_name(tag),
        };
        name.unwrap_or("?")
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("header"),
            Section::Record(index) => write!(f, "record #{}", index + 1),
        }
    }
}

/// `offset 0x0137 (311)`: hex for hex dumps, decimal for people.
struct Offset(usize);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset 0x{:04x} ({})", self.0, self.0)
    }
}

fn at(offset: usize) -> Offset {
    Offset(offset)
}

/// Everything that can be wrong with a trust-list file or with fields given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file ends inside an item's tag, length or value.
    #[error("{}: {section}, tag {tag} ({}): truncated item: expected {needed} bytes, only {available} left in the file", at(*offset), section.tag_name(*tag))]
    Truncated {
        /// Offset of the item.
        offset: usize,
        /// Header or record.
        section: Section,
        /// Tag of the item.
        tag: u8,
        /// Bytes the item needs from its offset (prefix included).
        needed: usize,
        /// Bytes left from its offset.
        available: usize,
    },
    /// An item's length runs past the end of its header, record or container.
    #[error("{}: {section}, tag {tag} ({}): length {length} runs past the end of the {within} at offset {end}", at(*offset), section.tag_name(*tag))]
    LengthPastEnd {
        /// Offset of the item.
        offset: usize,
        /// Header or record.
        section: Section,
        /// Tag of the item.
        tag: u8,
        /// Declared value length.
        length: u16,
        /// `"header"`, `"record"` or `"container"`.
        within: &'static str,
        /// Offset where the enclosing structure ends.
        end: usize,
    },
    /// HEADERLENGTH is smaller than the items already read or larger than the file.
    #[error("{}: header, tag 2 (HEADERLENGTH): value {declared} is inconsistent: expected {expected}", at(*offset))]
    HeaderLength {
        /// Offset of the HEADERLENGTH item.
        offset: usize,
        /// Declared header length.
        declared: usize,
        /// What would have been consistent.
        expected: &'static str,
    },
    /// RECORDLENGTH is below 5 or runs past the end of the file.
    #[error("{}: {section}, tag 1 (RECORDLENGTH): value {declared} is inconsistent: expected 5..={available} (bytes left in the file)", at(*offset))]
    RecordLength {
        /// Offset of the record.
        offset: usize,
        /// Header or record.
        section: Section,
        /// Declared record length.
        declared: usize,
        /// Bytes left from the record's offset.
        available: usize,
    },
    /// A record does not start with a 2-byte RECORDLENGTH item.
    #[error("{}: {section}: expected RECORDLENGTH (tag 1, length 2) to start the record, found tag {found_tag}", at(*offset))]
    RecordStart {
        /// Offset of the record.
        offset: usize,
        /// The record.
        section: Section,
        /// The tag found instead.
        found_tag: u8,
    },
    /// A container's length ends inside one of its children.
    #[error("{}: header, tag {tag} ({}): container length {declared} does not end on a child item boundary (a child ends at offset {child_end}, the container at {container_end})", at(*offset), Section::Header.tag_name(*tag))]
    ContainerLength {
        /// Offset of the container item.
        offset: usize,
        /// Container tag.
        tag: u8,
        /// Declared container length.
        declared: u16,
        /// Where the container should end.
        container_end: usize,
        /// Where the crossing child ends.
        child_end: usize,
    },
    /// Containers nested deeper than any known file.
    #[error("{}: header, tag {tag}: containers nested more than {max} deep", at(*offset))]
    NestingTooDeep {
        /// Offset of the too-deep container.
        offset: usize,
        /// Its tag.
        tag: u8,
        /// The limit.
        max: usize,
    },
    /// The header never states its length.
    #[error("{}: header: missing HEADERLENGTH (tag 2) before the end of the file", at(*offset))]
    MissingHeaderLength {
        /// End of the data searched.
        offset: usize,
    },
    /// An item that a typed view needs is absent.
    #[error("{}: {section}: missing tag {tag} ({})", at(*offset), section.tag_name(*tag))]
    MissingItem {
        /// Offset of the header or record.
        offset: usize,
        /// Header or record.
        section: Section,
        /// The missing tag.
        tag: u8,
    },
    /// An item has a length its typed view cannot accept.
    #[error("{}: {section}, tag {tag} ({}): length {length}: expected {expected}", at(*offset), section.tag_name(*tag))]
    BadValue {
        /// Offset of the item.
        offset: usize,
        /// Header or record.
        section: Section,
        /// Its tag.
        tag: u8,
        /// Its value length.
        length: usize,
        /// What the typed view needs.
        expected: &'static str,
    },
    /// Bytes after the last record that cannot form a record.
    #[error("{}: {count} bytes after the last record: expected end of file or a record (at least 5 bytes starting with RECORDLENGTH)", at(*offset))]
    TrailingBytes {
        /// Offset of the first stray byte.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// A value, record or header does not fit its u16 length.
    #[error("{section}, tag {tag} ({}): {length} bytes do not fit a 16-bit length (max {max})", section.tag_name(*tag))]
    TooLong {
        /// Header or record.
        section: Section,
        /// The tag whose length overflowed.
        tag: u8,
        /// The size that did not fit.
        length: usize,
        /// The maximum.
        max: usize,
    },
    /// A signature does not fit the slot laid out for it.
    #[error("signature is {actual} bytes, the header's SIGNATURE slot holds {expected}")]
    SignatureLength {
        /// Slot size.
        expected: usize,
        /// Given size.
        actual: usize,
    },
    /// The model has no SIGNATURE item.
    #[error("{}: header: missing tag 12 (SIGNATURE): nothing to sign or verify", at(0))]
    NoSignature,
}

/// An accessor failure before it is placed in the file (the accessor knows the item, not its offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// The tag is absent.
    Missing {
        /// The tag.
        tag: u8,
    },
    /// The tag is present with an unusable length.
    BadLength {
        /// The tag.
        tag: u8,
        /// Its length.
        length: usize,
        /// What is needed.
        expected: &'static str,
    },
}

impl FieldError {
    /// Places the error in the file: `offset` is the start of `section`.
    pub fn at(self, section: Section, offset: usize) -> FormatError {
        match self {
            FieldError::Missing { tag } => FormatError::MissingItem { offset, section, tag },
            FieldError::BadLength {
                tag,
                length,
                expected,
            } => FormatError::BadValue {
                offset,
                section,
                tag,
                length,
                expected,
            },
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Missing { tag } => write!(f, "missing tag {tag}"),
            FieldError::BadLength {
                tag,
                length,
                expected,
            } => write!(f, "tag {tag} has length {length}, expected {expected}"),
        }
    }
}

impl std::error::Error for FieldError {}
