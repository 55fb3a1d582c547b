//! Lossless reader, writer and Cisco-layout builder for Cisco CTL/ITL trust-list files
//! (`CTLFile.tlv`, `ITLFile.tlv`, `CTLSEP<MAC>.tlv`, …).
//!
//! Contract: this crate performs no I/O and no cryptography. [`TrustList::parse`] then
//! [`TrustList::to_bytes`] reproduces every input byte: header items, container tags 3/7/9,
//! lone `0x0D` padding, unknown and repeated tags in any order are all kept. Typed accessors
//! on [`Header`] and [`Record`] read the fields Cisco defines; the signed message is cut from
//! the raw bytes by [`signed_bytes`]. [`builder::build_unsigned`] writes new files in Cisco's
//! exact layout with a signature slot for a signer to fill.
//!
//! Errors ([`FormatError`]) name the byte offset, the section, the tag and what was expected.
//! The format is described in the project's `ctl-format.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builder;
mod codes;
pub mod dump;
mod error;
mod model;
pub mod reader;
pub mod tags;
mod writer;

pub use codes::{index_for_signature_len, key_bits_for_index, Digest, Role};
pub use error::{FieldError, FormatError, Section};
pub use model::{signed_bytes, Header, Item, ItemKind, LocatedItem, Record, SignatureLocation, TrustList};
