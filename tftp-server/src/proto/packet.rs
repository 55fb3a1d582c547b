//! TFTP packets (RFC 1350, RFC 2347 OACK): one type per packet, read and written here.
//!
//! Parsing is *complete* (one datagram in, one packet out), never panics on any input, and
//! returns a typed [`ParseError`] naming the packet, the field and the byte offset.
//! Encoding cannot fail and appends to a caller's buffer.
//!
//! Leniency, chosen for interoperability with field clients:
//! * opcode-specific fields are strict (a truncated header or an unterminated filename,
//!   mode or option is an error);
//! * a request or OACK may end with extra NUL bytes after its last complete option pair
//!   (some boot ROMs pad requests); they are ignored;
//! * an ACK may carry trailing bytes, which are ignored (tftp-hpa accepts them too);
//! * an ERROR message may lack its terminating NUL and may be invalid UTF-8 (it is only
//!   ever shown to humans, so it is decoded lossily).

use std::fmt;

/// Opcode of a read request.
pub const OPCODE_RRQ: u16 = 1;
/// Opcode of a write request.
pub const OPCODE_WRQ: u16 = 2;
/// Opcode of a data block.
pub const OPCODE_DATA: u16 = 3;
/// Opcode of an acknowledgement.
pub const OPCODE_ACK: u16 = 4;
/// Opcode of an error.
pub const OPCODE_ERROR: u16 = 5;
/// Opcode of an option acknowledgement (RFC 2347).
pub const OPCODE_OACK: u16 = 6;

/// Size of the DATA/ACK header (opcode + block number).
pub const DATA_HEADER_LEN: usize = 4;

/// A TFTP error code. A newtype rather than an enum so every `u16` on the wire survives a
/// parse/encode round trip; the RFC 1350/2347 values are associated constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// 0: not defined, see error message.
    pub const NOT_DEFINED: ErrorCode = ErrorCode(0);
    /// 1: file not found.
    pub const FILE_NOT_FOUND: ErrorCode = ErrorCode(1);
    /// 2: access violation (also: "this server is read-only" for a WRQ).
    pub const ACCESS_VIOLATION: ErrorCode = ErrorCode(2);
    /// 3: disk full or allocation exceeded.
    pub const DISK_FULL: ErrorCode = ErrorCode(3);
    /// 4: illegal TFTP operation.
    pub const ILLEGAL_OPERATION: ErrorCode = ErrorCode(4);
    /// 5: unknown transfer ID (a datagram from a port that is not the transfer's peer).
    pub const UNKNOWN_TID: ErrorCode = ErrorCode(5);
    /// 6: file already exists.
    pub const FILE_EXISTS: ErrorCode = ErrorCode(6);
    /// 7: no such user.
    pub const NO_SUCH_USER: ErrorCode = ErrorCode(7);
    /// 8: option negotiation refused (RFC 2347).
    pub const OPTION_NEGOTIATION: ErrorCode = ErrorCode(8);

    /// The RFC's short description of the code, or "unknown error code".
    pub fn description(self) -> &'static str {
        match self.0 {
            0 => "not defined",
            1 => "file not found",
            2 => "access violation",
            3 => "disk full or allocation exceeded",
            4 => "illegal TFTP operation",
            5 => "unknown transfer ID",
            6 => "file already exists",
            7 => "no such user",
            8 => "option negotiation refused",
            _ => "unknown error code",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.description())
    }
}

/// Transfer mode of a request. Parsed case-insensitively; written in lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `netascii`: text with CR LF line ends (see [`super::netascii`]).
    Netascii,
    /// `octet`: raw bytes.
    Octet,
    /// `mail`: obsolete (RFC 1350 says it should not be implemented).
    Mail,
    /// Any other mode string, kept as received.
    Other(String),
}

impl Mode {
    fn from_wire(text: &str) -> Mode {
        if text.eq_ignore_ascii_case("netascii") {
            Mode::Netascii
        } else if text.eq_ignore_ascii_case("octet") {
            Mode::Octet
        } else if text.eq_ignore_ascii_case("mail") {
            Mode::Mail
        } else {
            Mode::Other(text.to_owned())
        }
    }

    /// The mode as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mode::Netascii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
            Mode::Other(text) => text,
        }
    }
}

/// One option name/value pair of a request or OACK, exactly as on the wire (the name keeps
/// its case; interpretation is in [`super::options`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TftpOption {
    /// Option name, e.g. `blksize` (compared case-insensitively by the negotiation).
    pub name: String,
    /// Option value, e.g. `1468`.
    pub value: String,
}

impl TftpOption {
    /// Convenience constructor.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        TftpOption {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A read or write request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// The requested file name, as sent by the client (not validated as a path here).
    pub filename: String,
    /// Transfer mode.
    pub mode: Mode,
    /// RFC 2347 options in the order received (duplicates and unknown names kept).
    pub options: Vec<TftpOption>,
}

/// An ERROR packet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrorPacket {
    /// Error code.
    pub code: ErrorCode,
    /// Human-readable message (never contains server paths when built by this crate).
    pub message: String,
}

impl ErrorPacket {
    /// Convenience constructor.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorPacket {
            code,
            message: message.into(),
        }
    }

    /// The encoded datagram.
    pub fn to_datagram(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.message.len());
        Packet::Error(self.clone()).encode(&mut out);
        out
    }
}

/// A TFTP packet. DATA borrows its payload from the datagram (no copy).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Packet<'a> {
    /// Read request (opcode 1).
    Rrq(Request),
    /// Write request (opcode 2).
    Wrq(Request),
    /// Data block (opcode 3).
    Data {
        /// Block number (wraps from 65535 to 0 on long transfers).
        block: u16,
        /// Payload: `blksize` bytes, fewer in the last block.
        data: &'a [u8],
    },
    /// Acknowledgement (opcode 4).
    Ack {
        /// Acknowledged block number (0 acknowledges an OACK).
        block: u16,
    },
    /// Error (opcode 5).
    Error(ErrorPacket),
    /// Option acknowledgement (opcode 6, RFC 2347).
    Oack {
        /// Accepted options with their final values.
        options: Vec<TftpOption>,
    },
}

/// Why a datagram is not a TFTP packet. Offsets are byte offsets into the datagram.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer than the two bytes of an opcode.
    #[error("datagram of {len} byte(s) is too short for a TFTP opcode (need 2 bytes at offset 0)")]
    TooShort {
        /// Datagram length.
        len: usize,
    },
    /// An opcode outside 1..=6.
    #[error("unknown TFTP opcode {opcode} at offset 0 (expected 1..=6)")]
    UnknownOpcode {
        /// The opcode read.
        opcode: u16,
    },
    /// A fixed-size field is cut short.
    #[error("{packet} packet truncated at offset {offset}: expected {expected}")]
    Truncated {
        /// Packet kind, e.g. "ACK".
        packet: &'static str,
        /// Offset where the field starts.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A string field has no terminating NUL.
    #[error("{packet} {field} starting at offset {offset} is not terminated by a NUL byte")]
    Unterminated {
        /// Packet kind, e.g. "RRQ".
        packet: &'static str,
        /// Field, e.g. "filename".
        field: &'static str,
        /// Offset where the field starts.
        offset: usize,
    },
    /// A string field is not UTF-8.
    #[error("{packet} {field} at offset {offset} is not valid UTF-8")]
    NotUtf8 {
        /// Packet kind.
        packet: &'static str,
        /// Field.
        field: &'static str,
        /// Offset where the field starts.
        offset: usize,
    },
    /// An option name is followed by the end of the packet instead of a value.
    #[error("{packet} option {name:?} at offset {offset} has no value")]
    OptionWithoutValue {
        /// Packet kind.
        packet: &'static str,
        /// The option name.
        name: String,
        /// Offset of the option name.
        offset: usize,
    },
}

fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    let pair = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes([pair[0], pair[1]]))
}

/// Reads a NUL-terminated UTF-8 string at `offset`; returns it and the offset after the NUL.
fn read_string<'a>(
    bytes: &'a [u8],
    offset: usize,
    packet: &'static str,
    field: &'static str,
) -> Result<(&'a str, usize), ParseError> {
    let rest = bytes.get(offset..).unwrap_or(&[]);
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(ParseError::Unterminated {
            packet,
            field,
            offset,
        })?;
    let text = std::str::from_utf8(&rest[..len]).map_err(|_| ParseError::NotUtf8 {
        packet,
        field,
        offset,
    })?;
    Ok((text, offset + len + 1))
}

/// Reads option pairs from `offset` to the end. A tail made only of NUL bytes is padding.
fn read_options(
    bytes: &[u8],
    mut offset: usize,
    packet: &'static str,
) -> Result<Vec<TftpOption>, ParseError> {
    let mut options = Vec::new();
    loop {
        let rest = bytes.get(offset..).unwrap_or(&[]);
        if rest.iter().all(|&b| b == 0) {
            return Ok(options);
        }
        let name_offset = offset;
        let (name, after_name) = read_string(bytes, offset, packet, "option name")?;
        if after_name >= bytes.len() {
            return Err(ParseError::OptionWithoutValue {
                packet,
                name: name.to_owned(),
                offset: name_offset,
            });
        }
        let (value, after_value) = read_string(bytes, after_name, packet, "option value")?;
        options.push(TftpOption::new(name, value));
        offset = after_value;
    }
}

fn read_request(bytes: &[u8], packet: &'static str) -> Result<Request, ParseError> {
    let (filename, after_filename) = read_string(bytes, 2, packet, "filename")?;
    let (mode, after_mode) = read_string(bytes, after_filename, packet, "mode")?;
    let options = read_options(bytes, after_mode, packet)?;
    Ok(Request {
        filename: filename.to_owned(),
        mode: Mode::from_wire(mode),
        options,
    })
}

impl<'a> Packet<'a> {
    /// Parses one datagram. Never panics; see the module docs for what is tolerated.
    pub fn parse(datagram: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        let opcode = read_u16(datagram, 0).ok_or(ParseError::TooShort { len: datagram.len() })?;
        match opcode {
            OPCODE_RRQ => Ok(Packet::Rrq(read_request(datagram, "RRQ")?)),
            OPCODE_WRQ => Ok(Packet::Wrq(read_request(datagram, "WRQ")?)),
            OPCODE_DATA => {
                let block = read_u16(datagram, 2).ok_or(ParseError::Truncated {
                    packet: "DATA",
                    offset: 2,
                    expected: "a 2-byte block number",
                })?;
                Ok(Packet::Data {
                    block,
                    data: &datagram[DATA_HEADER_LEN..],
                })
            }
            OPCODE_ACK => {
                let block = read_u16(datagram, 2).ok_or(ParseError::Truncated {
                    packet: "ACK",
                    offset: 2,
                    expected: "a 2-byte block number",
                })?;
                Ok(Packet::Ack { block })
            }
            OPCODE_ERROR => {
                let code = read_u16(datagram, 2).ok_or(ParseError::Truncated {
                    packet: "ERROR",
                    offset: 2,
                    expected: "a 2-byte error code",
                })?;
                let rest = &datagram[4..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                Ok(Packet::Error(ErrorPacket {
                    code: ErrorCode(code),
                    message: String::from_utf8_lossy(&rest[..end]).into_owned(),
                }))
            }
            OPCODE_OACK => Ok(Packet::Oack {
                options: read_options(datagram, 2, "OACK")?,
            }),
            opcode => Err(ParseError::UnknownOpcode { opcode }),
        }
    }

    /// Appends the encoded packet to `out`. Cannot fail.
    ///
    /// Strings are written up to their first NUL byte (a NUL cannot be represented inside a
    /// TFTP string; cutting there keeps the following fields aligned).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Packet::Rrq(request) => encode_request(OPCODE_RRQ, request, out),
            Packet::Wrq(request) => encode_request(OPCODE_WRQ, request, out),
            Packet::Data { block, data } => encode_data(*block, data, out),
            Packet::Ack { block } => encode_ack(*block, out),
            Packet::Error(error) => {
                out.extend_from_slice(&OPCODE_ERROR.to_be_bytes());
                out.extend_from_slice(&error.code.0.to_be_bytes());
                write_string(&error.message, out);
            }
            Packet::Oack { options } => {
                out.extend_from_slice(&OPCODE_OACK.to_be_bytes());
                write_options(options, out);
            }
        }
    }

    /// The encoded packet as a new buffer.
    pub fn to_datagram(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    out.extend_from_slice(&bytes[..end]);
    out.push(0);
}

fn write_options(options: &[TftpOption], out: &mut Vec<u8>) {
    for option in options {
        write_string(&option.name, out);
        write_string(&option.value, out);
    }
}

fn encode_request(opcode: u16, request: &Request, out: &mut Vec<u8>) {
    out.extend_from_slice(&opcode.to_be_bytes());
    write_string(&request.filename, out);
    write_string(request.mode.as_str(), out);
    write_options(&request.options, out);
}

/// Appends a DATA packet (header + `data`) to `out` without building a [`Packet`].
pub fn encode_data(block: u16, data: &[u8], out: &mut Vec<u8>) {
    out.reserve(DATA_HEADER_LEN + data.len());
    out.extend_from_slice(&OPCODE_DATA.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(data);
}

/// Appends an ACK packet to `out`.
pub fn encode_ack(block: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&OPCODE_ACK.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrq_with_options_parses() {
        let datagram = b"\x00\x01CTLFile.tlv\0OCTET\0blksize\x001468\0tsize\x000\0";
        let packet = Packet::parse(datagram).unwrap();
        assert_eq!(
            packet,
            Packet::Rrq(Request {
                filename: "CTLFile.tlv".into(),
                mode: Mode::Octet,
                options: vec![TftpOption::new("blksize", "1468"), TftpOption::new("tsize", "0")],
            })
        );
    }

    #[test]
    fn request_padding_after_options_is_ignored() {
        let datagram = b"\x00\x01a\0octet\0blksize\x00512\0\0\0";
        let Packet::Rrq(request) = Packet::parse(datagram).unwrap() else {
            panic!("not an RRQ")
        };
        assert_eq!(request.options, vec![TftpOption::new("blksize", "512")]);
    }

    #[test]
    fn unterminated_filename_names_field_and_offset() {
        let error = Packet::parse(b"\x00\x01CTLFile.tlv").unwrap_err();
        assert_eq!(
            error,
            ParseError::Unterminated {
                packet: "RRQ",
                field: "filename",
                offset: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "RRQ filename starting at offset 2 is not terminated by a NUL byte"
        );
    }

    #[test]
    fn option_without_value_is_an_error() {
        let error = Packet::parse(b"\x00\x01a\0octet\0blksize\0").unwrap_err();
        assert_eq!(
            error,
            ParseError::OptionWithoutValue {
                packet: "RRQ",
                name: "blksize".into(),
                offset: 10
            }
        );
    }

    #[test]
    fn unknown_opcode_and_short_datagrams_are_errors() {
        assert_eq!(
            Packet::parse(b"\x00\x07").unwrap_err(),
            ParseError::UnknownOpcode { opcode: 7 }
        );
        assert_eq!(
            Packet::parse(b"\x00").unwrap_err(),
            ParseError::TooShort { len: 1 }
        );
        assert!(matches!(
            Packet::parse(b"\x00\x04\x01").unwrap_err(),
            ParseError::Truncated { packet: "ACK", .. }
        ));
        assert!(matches!(
            Packet::parse(b"\x00\x03").unwrap_err(),
            ParseError::Truncated { packet: "DATA", .. }
        ));
    }

    #[test]
    fn data_borrows_payload_and_empty_payload_is_valid() {
        assert_eq!(
            Packet::parse(b"\x00\x03\xff\xffabc").unwrap(),
            Packet::Data {
                block: 65535,
                data: b"abc"
            }
        );
        assert_eq!(
            Packet::parse(b"\x00\x03\x00\x00").unwrap(),
            Packet::Data { block: 0, data: b"" }
        );
    }

    #[test]
    fn error_without_nul_and_with_bad_utf8_is_tolerated() {
        assert_eq!(
            Packet::parse(b"\x00\x05\x00\x08no\xff").unwrap(),
            Packet::Error(ErrorPacket::new(ErrorCode(8), "no\u{fffd}"))
        );
    }

    #[test]
    fn encoder_cuts_strings_at_nul() {
        let packet = Packet::Error(ErrorPacket::new(ErrorCode(1), "a\0b"));
        assert_eq!(packet.to_datagram(), b"\x00\x05\x00\x01a\0");
    }

    #[test]
    fn error_code_u16_round_trip_is_identity_for_every_value() {
        for code in 0..=u16::MAX {
            let datagram = ErrorPacket::new(ErrorCode(code), "x").to_datagram();
            match Packet::parse(&datagram).unwrap() {
                Packet::Error(error) => assert_eq!(error.code.0, code),
                other => panic!("parsed as {other:?}"),
            }
        }
    }
}
