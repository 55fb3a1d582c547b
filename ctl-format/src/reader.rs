//! The one reader: complete (not streaming) nom parsers over a whole file.
//!
//! Lengths are checked against the enclosing header, container, record and file before any
//! value is copied, so hostile input cannot make the reader allocate more than it was given
//! (plus a constant per item) and never panics.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u8};
use nom::{IResult, Parser};

use crate::error::{FormatError, Section};
use crate::model::{Header, Item, Record, TrustList};
use crate::tags::{is_container, H_HEADER_LENGTH, H_PADDING, R_RECORD_LENGTH};

/// HEADERLENGTH is a u16, so no header reaches past this offset; the header scan stops
/// here even before HEADERLENGTH is found, which bounds the items a hostile file can make.
pub const MAX_HEADER_LENGTH: usize = u16::MAX as usize;

/// No known file nests containers more than 2 deep (7 holds 9); this cap bounds recursion.
pub const MAX_CONTAINER_DEPTH: usize = 4;

/// Tag and 2-byte big-endian length.
fn item_prefix(input: &[u8]) -> IResult<&[u8], (u8, u16)> {
    (be_u8, be_u16).parse(input)
}

/// A value of `length` bytes.
fn item_value(input: &[u8], length: u16) -> IResult<&[u8], &[u8]> {
    take(length).parse(input)
}

/// What encloses the item being read: decides which error a length overrun is.
#[derive(Clone, Copy)]
enum Scope {
    Header,
    Record(usize),
    Container { offset: usize, tag: u8, declared: u16 },
}

impl Scope {
    fn section(self) -> Section {
        match self {
            Scope::Header | Scope::Container { .. } => Section::Header,
            Scope::Record(index) => Section::Record(index),
        }
    }
}

struct Reader<'a> {
    file: &'a [u8],
}

impl<'a> Reader<'a> {
    /// The error for an item at `offset` that needs bytes up to `needed_end` but its scope ends at `limit`.
    fn overrun(
        &self,
        offset: usize,
        tag: u8,
        length: u16,
        needed_end: usize,
        limit: usize,
        scope: Scope,
    ) -> FormatError {
        let section = scope.section();
        if limit >= self.file.len() {
            return FormatError::Truncated {
                offset,
                section,
                tag,
                needed: needed_end - offset,
                available: self.file.len() - offset,
            };
        }
        match scope {
            Scope::Header => FormatError::LengthPastEnd {
                offset,
                section,
                tag,
                length,
                within: "header",
                end: limit,
            },
            Scope::Record(_) => FormatError::LengthPastEnd {
                offset,
                section,
                tag,
                length,
                within: "record",
                end: limit,
            },
            Scope::Container {
                offset: container_offset,
                tag: container_tag,
                declared,
            } => FormatError::ContainerLength {
                offset: container_offset,
                tag: container_tag,
                declared,
                container_end: limit,
                child_end: needed_end,
            },
        }
    }

    /// Reads the tag and length at `offset`, which must lie before `limit`.
    fn prefix(&self, offset: usize, limit: usize, scope: Scope) -> Result<(u8, u16), FormatError> {
        let tag = self.file[offset];
        let bytes = &self.file[offset..limit.min(self.file.len())];
        match item_prefix(bytes) {
            Ok((_, prefix)) => Ok(prefix),
            Err(_) => Err(self.overrun(offset, tag, 0, offset + 3, limit, scope)),
        }
    }

    /// Reads one item at `offset` that must end by `limit`; returns it and the next offset.
    fn item(
        &self,
        offset: usize,
        limit: usize,
        scope: Scope,
        depth: usize,
    ) -> Result<(Item, usize), FormatError> {
        let in_header = !matches!(scope, Scope::Record(_));
        if in_header && self.file[offset] == H_PADDING {
            return Ok((Item::Padding, offset + 1));
        }
        let (tag, length) = self.prefix(offset, limit, scope)?;
        let value_start = offset + 3;
        let end = value_start + usize::from(length);
        if end > limit {
            return Err(self.overrun(offset, tag, length, end, limit, scope));
        }
        if in_header && is_container(tag) {
            if depth >= MAX_CONTAINER_DEPTH {
                return Err(FormatError::NestingTooDeep {
                    offset,
                    tag,
                    max: MAX_CONTAINER_DEPTH,
                });
            }
            let inner = Scope::Container {
                offset,
                tag,
                declared: length,
            };
            let mut children = Vec::new();
            let mut position = value_start;
            while position < end {
                let (child, next) = self.item(position, end, inner, depth + 1)?;
                children.push(child);
                position = next;
            }
            return Ok((Item::Container { tag, children }, end));
        }
        let value = match item_value(&self.file[value_start..limit], length) {
            Ok((_, value)) => value,
            Err(_) => return Err(self.overrun(offset, tag, length, end, limit, scope)),
        };
        Ok((
            Item::Value {
                tag,
                value: value.to_vec(),
            },
            end,
        ))
    }

    /// The header: items until HEADERLENGTH is known and reached.
    fn header(&self) -> Result<(Header, usize), FormatError> {
        let mut items = Vec::new();
        let mut position = 0;
        let mut header_end: Option<usize> = None;
        loop {
            let limit = header_end.unwrap_or(self.file.len().min(MAX_HEADER_LENGTH));
            if position == limit {
                match header_end {
                    Some(end) => return Ok((Header { items }, end)),
                    None => return Err(FormatError::MissingHeaderLength { offset: position }),
                }
            }
            let (item, next) = self.item(position, limit, Scope::Header, 0)?;
            if header_end.is_none() {
                if let Item::Value {
                    tag: H_HEADER_LENGTH,
                    value,
                } = &item
                {
                    if let Ok(bytes) = <[u8; 2]>::try_from(value.as_slice()) {
                        let declared = usize::from(u16::from_be_bytes(bytes));
                        if declared < next {
                            return Err(FormatError::HeaderLength {
                                offset: position,
                                declared,
                                expected: "at least the end of the HEADERLENGTH item itself",
                            });
                        }
                        if declared > self.file.len() {
                            return Err(FormatError::HeaderLength {
                                offset: position,
                                declared,
                                expected: "no more than the file size",
                            });
                        }
                        header_end = Some(declared);
                    }
                }
            }
            items.push(item);
            position = next;
        }
    }

    /// Records from `start` to the end of the file.
    fn records(&self, start: usize) -> Result<Vec<Record>, FormatError> {
        let mut records = Vec::new();
        let mut position = start;
        while position < self.file.len() {
            let index = records.len();
            let section = Section::Record(index);
            let remaining = self.file.len() - position;
            if remaining < 5 {
                return Err(FormatError::TrailingBytes {
                    offset: position,
                    count: remaining,
                });
            }
            let (tag, length) = self.prefix(position, self.file.len(), Scope::Record(index))?;
            if tag != R_RECORD_LENGTH || length != 2 {
                return Err(FormatError::RecordStart {
                    offset: position,
                    section,
                    found_tag: tag,
                });
            }
            let value = &self.file[position + 3..position + 5];
            let declared = usize::from(u16::from_be_bytes([value[0], value[1]]));
            if declared < 5 || declared > remaining {
                return Err(FormatError::RecordLength {
                    offset: position,
                    section,
                    declared,
                    available: remaining,
                });
            }
            let end = position + declared;
            let mut items = vec![Item::value(R_RECORD_LENGTH, value)];
            let mut cursor = position + 5;
            while cursor < end {
                let (item, next) = self.item(cursor, end, Scope::Record(index), 0)?;
                items.push(item);
                cursor = next;
            }
            records.push(Record { items });
            position = end;
        }
        Ok(records)
    }
}

/// Reads a complete CTL/ITL file into the lossless model.
pub fn parse_trust_list(file: &[u8]) -> Result<TrustList, FormatError> {
    let reader = Reader { file };
    let (header, header_end) = reader.header()?;
    let records = reader.records(header_end)?;
    Ok(TrustList { header, records })
}
