//! The one writer: encodes the model item by item.

use crate::error::{FormatError, Section};
use crate::model::{Item, TrustList};

const MAX_LEN: usize = u16::MAX as usize;

/// Appends one item. A container's length is written as a maximal placeholder and patched
/// once its children are written, so a partial write can never look like a shorter item.
pub(crate) fn write_item(item: &Item, section: Section, out: &mut Vec<u8>) -> Result<(), FormatError> {
    match item {
        Item::Value { tag, value } => {
            let length = u16::try_from(value.len()).map_err(|_| FormatError::TooLong {
                section,
                tag: *tag,
                length: value.len(),
                max: MAX_LEN,
            })?;
            out.push(*tag);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(value);
        }
        Item::Container { tag, children } => {
            let start = out.len();
            out.push(*tag);
            out.extend_from_slice(&[0xFF, 0xFF]);
            for child in children {
                write_item(child, section, out)?;
            }
            let inner = out.len() - start - 3;
            let length = u16::try_from(inner).map_err(|_| FormatError::TooLong {
                section,
                tag: *tag,
                length: inner,
                max: MAX_LEN,
            })?;
            out[start + 1..start + 3].copy_from_slice(&length.to_be_bytes());
        }
        Item::Padding => out.push(crate::tags::H_PADDING),
    }
    Ok(())
}

/// Encodes a whole file. Fails only when a value or container exceeds its 16-bit length.
pub fn write_trust_list(list: &TrustList) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::with_capacity(list.record_offset(list.records.len()));
    for item in &list.header.items {
        write_item(item, Section::Header, &mut out)?;
    }
    for (index, record) in list.records.iter().enumerate() {
        for item in &record.items {
            write_item(item, Section::Record(index), &mut out)?;
        }
    }
    Ok(out)
}
