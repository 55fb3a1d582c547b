//! Dumps for people (text, CUCM `show ctl` layout) and programs (JSON).
//!
//! Rendering only: whatever needs hashing or X.509 decoding (file checksums, certificate
//! details) is computed by the caller and passed in a [`DumpContext`], keeping this crate
//! free of cryptography.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

use crate::codes::{key_bits_for_index, Digest, Role};
use crate::error::Section;
use crate::model::{ItemKind, LocatedItem, Record, TrustList};
use crate::tags::*;

/// What a dump shows of one certificate, decoded by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// Subject, RFC 4514 style.
    pub subject: String,
    /// Issuer, RFC 4514 style.
    pub issuer: String,
    /// Serial, colon-separated hex.
    pub serial: String,
    /// Start of validity, UTC ISO-8601.
    pub not_before: String,
    /// End of validity, UTC ISO-8601.
    pub not_after: String,
    /// Key type and size, e.g. `RSA 1024`.
    pub key: String,
    /// SHA-1 fingerprint of the DER certificate, hex.
    pub sha1: String,
    /// SHA-256 fingerprint of the DER certificate, hex.
    pub sha256: String,
}

/// Facts about the file computed outside this crate.
#[derive(Debug, Clone, Default)]
pub struct DumpContext {
    /// Where the bytes came from (a path or `-`).
    pub source: String,
    /// MD5 of the whole file, hex (what a phone shows under Trust List).
    pub md5: String,
    /// SHA-1 of the whole file, hex.
    pub sha1: String,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Per record: its certificate decoded, an error message, or `None` without certificate.
    pub certificates: Vec<Option<Result<CertificateSummary, String>>>,
}

/// Lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Upper-case hex with `sep` between bytes (`24:49:1F`, `BD 78`).
pub fn hex_separated(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// A string value shown as text: NUL dropped, non-printable bytes escaped.
fn text(value: &[u8]) -> String {
    let value = value.strip_suffix(&[0]).unwrap_or(value);
    String::from_utf8_lossy(value)
        .chars()
        .flat_map(char::escape_default)
        .collect()
}

fn json_string(value: &[u8]) -> String {
    String::from_utf8_lossy(value.strip_suffix(&[0]).unwrap_or(value)).into_owned()
}

/// UTC ISO-8601 for a Unix timestamp.
pub fn utc_iso8601(seconds: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(seconds))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

fn short_blob(value: &[u8]) -> String {
    const SHOWN: usize = 16;
    if value.len() <= SHOWN {
        hex_separated(value, " ")
    } else {
        format!("{} …", hex_separated(&value[..SHOWN], " "))
    }
}

fn is_string_tag(section: Section, tag: u8) -> bool {
    match section {
        Section::Header => matches!(tag, H_SIGNER_NAME | H_CA_NAME | H_FILENAME),
        Section::Record(_) => matches!(tag, R_DNS_NAME | R_SUBJECT_NAME | R_ISSUER_NAME),
    }
}

/// The decoded value of one item, as the text dump shows it.
pub fn describe_value(item: &LocatedItem<'_>) -> String {
    let value = item.value;
    if item.kind == ItemKind::Container {
        return format!("({} bytes of items follow)", item.length);
    }
    if item.kind == ItemKind::Padding {
        return "padding".to_string();
    }
    if is_string_tag(item.section, item.tag) {
        return format!("\"{}\"", text(value));
    }
    match (item.section, item.tag, value) {
        (Section::Header, H_VERSION | H_SIGNER_VERSION, [major, minor]) => format!("{major}.{minor}"),
        (Section::Header, H_HEADER_LENGTH, [a, b]) => u16::from_be_bytes([*a, *b]).to_string(),
        (Section::Header, H_SERIAL_NUMBER, _) | (Section::Record(_), R_SERIAL_NUMBER, _) => {
            hex_separated(value, ":")
        }
        (Section::Header, H_DIGEST_ALGORITHM, [code]) => format!("{code} ({})", Digest::from(*code)),
        (Section::Header, H_SIGNATURE_ALGORITHM, [code]) => {
            format!("{code} ({})", if *code == 0 { "RSA" } else { "unknown" })
        }
        (Section::Header, H_SIGNATURE_MODULUS, [index]) => match key_bits_for_index(*index) {
            Some(bits) => format!("{index} ({bits} bits)"),
            None => format!("{index} (unknown size)"),
        },
        (Section::Header, H_TIMESTAMP, [a, b, c, d]) => {
            let seconds = u32::from_be_bytes([*a, *b, *c, *d]);
            format!("{seconds} ({})", utc_iso8601(seconds))
        }
        (Section::Record(_), R_RECORD_LENGTH, [a, b]) => u16::from_be_bytes([*a, *b]).to_string(),
        (Section::Record(_), R_FUNCTION, [a, b]) => {
            let role = Role::from(u16::from_be_bytes([*a, *b]));
            format!("{} ({role})", role.code())
        }
        (Section::Record(_), R_IP_ADDRESS, [a, b, c, d]) => format!("{a}.{b}.{c}.{d}"),
        (Section::Record(_), R_HASH_ALGORITHM, [code]) => format!("{code} ({})", Digest::from(*code)),
        _ => short_blob(value),
    }
}

fn item_name(item: &LocatedItem<'_>) -> &'static str {
    item.section.tag_name(item.tag)
}

fn record_role(record: &Record) -> String {
    match record.role() {
        Ok(role) => role.to_string(),
        Err(_) => "no FUNCTION".to_string(),
    }
}

/// The text dump for people.
pub fn text_dump(list: &TrustList, context: &DumpContext) -> String {
    let mut out = String::new();
    let size = list.record_offset(list.records.len());
    let _ = writeln!(out, "File:    {} ({size} bytes)", context.source);
    let _ = writeln!(out, "MD5:     {}", context.md5);
    let _ = writeln!(out, "SHA-1:   {}", context.sha1);
    let _ = writeln!(out, "SHA-256: {}", context.sha256);
    let signer = list.signer_index();
    match signer {
        Some(index) => {
            let _ = writeln!(
                out,
                "Signer:  record #{} ({})",
                index + 1,
                record_role(&list.records[index])
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Signer:  no SAST record matches the header's serial and issuer"
            );
        }
    }
    let items = list.located_items();
    let mut current: Option<Section> = None;
    for item in &items {
        if current != Some(item.section) {
            current = Some(item.section);
            match item.section {
                Section::Header => {
                    let _ = writeln!(out, "\nHeader ({} bytes)", list.header.encoded_len());
                }
                Section::Record(index) => {
                    let record = &list.records[index];
                    let mark = if signer == Some(index) {
                        "  <- signed this file"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "\nRecord #{} {} (offset 0x{:04x}, {} bytes){mark}",
                        index + 1,
                        record_role(record),
                        item.offset,
                        record.encoded_len()
                    );
                }
            }
            let _ = writeln!(
                out,
                "  {:<8} {:>3}  {:<22} {:>5}  value",
                "offset", "tag", "name", "len"
            );
        }
        let indent = "  ".repeat(item.depth);
        let name = format!("{indent}{}", item_name(item));
        let length = if item.kind == ItemKind::Padding {
            "-".to_string()
        } else {
            item.length.to_string()
        };
        let _ = writeln!(
            out,
            "  0x{:06x} {:>3}  {:<22} {:>5}  {}",
            item.offset,
            item.tag,
            name,
            length,
            describe_value(item)
        );
        if let Section::Record(index) = item.section {
            if item.tag == R_CERTIFICATE && item.kind == ItemKind::Value {
                write_certificate(&mut out, context.certificates.get(index).cloned().flatten());
            }
        }
    }
    out
}

fn write_certificate(out: &mut String, certificate: Option<Result<CertificateSummary, String>>) {
    match certificate {
        Some(Ok(c)) => {
            let _ = writeln!(out, "{:>40}Subject:   {}", "", c.subject);
            let _ = writeln!(out, "{:>40}Issuer:    {}", "", c.issuer);
            let _ = writeln!(out, "{:>40}Serial:    {}", "", c.serial);
            let _ = writeln!(out, "{:>40}Validity:  {} to {}", "", c.not_before, c.not_after);
            let _ = writeln!(out, "{:>40}Key:       {}", "", c.key);
            let _ = writeln!(out, "{:>40}SHA-1:     {}", "", c.sha1);
            let _ = writeln!(out, "{:>40}SHA-256:   {}", "", c.sha256);
        }
        Some(Err(message)) => {
            let _ = writeln!(out, "{:>40}(certificate does not decode: {message})", "");
        }
        None => {}
    }
}

fn cisco_function(role: Role) -> String {
    match role {
        Role::Sast => "System Administrator Security Token".to_string(),
        other => other.to_string(),
    }
}

fn cisco_value(item: &LocatedItem<'_>, certificate_sha1: Option<&str>) -> String {
    let value = item.value;
    match (item.section, item.kind, item.tag) {
        (_, ItemKind::Container, _) => (item.length).to_string(),
        (
            Section::Header,
            _,
            H_SIGNATURE | H_DIGEST_ALGORITHM | H_SIGNATURE_ALGORITHM | H_SIGNATURE_MODULUS,
        )
        | (Section::Header, _, H_TIMESTAMP)
        | (Section::Record(_), _, R_PUBLIC_KEY | R_SIGNATURE) => String::new(),
        (Section::Record(_), _, R_CERTIFICATE) => match certificate_sha1 {
            Some(sha1) => format!("{} (SHA1 Hash HEX)", sha1.to_uppercase()),
            None => String::new(),
        },
        (Section::Record(_), _, R_FUNCTION) if value.len() == 2 => {
            cisco_function(Role::from(u16::from_be_bytes([value[0], value[1]])))
        }
        (Section::Header, _, H_SERIAL_NUMBER) | (Section::Record(_), _, R_SERIAL_NUMBER) => {
            hex_separated(value, ":")
        }
        (s, _, t) if is_string_tag(s, t) => text(value),
        _ => describe_value(item),
    }
}

/// The layout of CUCM's `show ctl`, for putting beside CUCM's own output.
pub fn cisco_dump(list: &TrustList, context: &DumpContext) -> String {
    let mut out = String::new();
    let size = list.record_offset(list.records.len());
    let _ = writeln!(out, "The checksum value of the CTL file:");
    let _ = writeln!(out, "{}(MD5)", context.md5);
    let _ = writeln!(out, "{}(SHA1)\n", context.sha1);
    let _ = writeln!(out, "        Length of CTL file: {size}");
    let _ = writeln!(out, "        Parse CTL File");
    let _ = writeln!(out, "        ----------------\n");
    let version = list
        .header
        .version()
        .map(|(a, b)| format!("{a}.{b}"))
        .unwrap_or_else(|_| "?".into());
    let header_length = list
        .header
        .header_length()
        .map(|l| l.to_string())
        .unwrap_or_else(|_| "?".into());
    let _ = writeln!(out, "        Version:        {version}");
    let _ = writeln!(out, "        HeaderLength:   {header_length} (BYTES)\n");
    let signer = list.signer_index();
    let items = list.located_items();
    let table_head = "        BYTEPOS TAG                 LENGTH  VALUE\n        ------- ---                 ------  -----\n";
    out.push_str(table_head);
    let mut current = Section::Header;
    for item in &items {
        if item.section != current {
            if let Section::Record(previous) = current {
                if signer == Some(previous) {
                    let _ = writeln!(out, "        This etoken was used to sign the CTL file.");
                }
            }
            current = item.section;
            if let Section::Record(index) = item.section {
                let _ = writeln!(out, "\n        CTL Record #:{}\n        ----", index + 1);
                out.push_str(table_head);
            }
        }
        // CUCM leaves the VERSION, HEADERLENGTH and padding items out of the table.
        if item.section == Section::Header && matches!(item.tag, H_VERSION | H_HEADER_LENGTH)
            || item.kind == ItemKind::Padding
        {
            continue;
        }
        let certificate_sha1 = match item.section {
            Section::Record(index) => context
                .certificates
                .get(index)
                .and_then(|c| c.as_ref())
                .and_then(|c| c.as_ref().ok())
                .map(|c| c.sha1.as_str()),
            Section::Header => None,
        };
        let length = if item.kind == ItemKind::Container {
            2
        } else {
            item.length
        };
        let line = format!(
            "        {:<7} {:<19} {:<7} {}",
            item.tag,
            item_name(item),
            length,
            cisco_value(item, certificate_sha1)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if let Section::Record(previous) = current {
        if signer == Some(previous) {
            let _ = writeln!(out, "        This etoken was used to sign the CTL file.");
        }
    }
    out
}

fn opt<T: Serialize, E>(result: Result<T, E>) -> Value {
    result.ok().map_or(Value::Null, |v| json!(v))
}

/// The JSON dump for programs. Concatenating `items[].raw` reproduces the file.
pub fn json_dump(list: &TrustList, context: &DumpContext) -> Value {
    let header = &list.header;
    let signature = list.signature_location();
    let header_json = json!({
        "version": opt(header.version().map(|(a, b)| format!("{a}.{b}"))),
        "header_length": opt(header.header_length()),
        "signer_version": opt(header.signer_version().map(|v| v.map(|(a, b)| format!("{a}.{b}")))),
        "signer_name": opt(header.signer_name().map(json_string)),
        "signer_serial": opt(header.signer_serial().map(hex)),
        "ca_name": opt(header.ca_name().map(json_string)),
        "digest": opt(header.digest().map(|d| d.name().map_or_else(|| format!("unknown {}", d.code()), str::to_string))),
        "digest_code": opt(header.digest().map(Digest::code)),
        "signature_algorithm": opt(header.signature_algorithm()),
        "key_size_index": opt(header.key_size_index()),
        "key_bits": header.key_size_index().ok().and_then(key_bits_for_index),
        "signature": opt(header.signature().map(hex)),
        "signature_offset": signature.map(|s| s.value_offset),
        "signature_length": signature.map(|s| s.value_len),
        "filename": opt(header.filename().map(json_string)),
        "timestamp": opt(header.timestamp()),
        "timestamp_utc": opt(header.timestamp().map(utc_iso8601)),
    });
    let signer = list.signer_index();
    let records: Vec<Value> = list
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let role = record.role().ok();
            let certificate = match context.certificates.get(index).cloned().flatten() {
                Some(Ok(summary)) => json!(summary),
                Some(Err(message)) => json!({ "error": message }),
                None => Value::Null,
            };
            json!({
                "index": index,
                "offset": list.record_offset(index),
                "length": record.encoded_len(),
                "role": role.map(|r| r.to_string()),
                "role_code": role.map(Role::code),
                "dns_name": record.dns_name().map(json_string),
                "subject": record.subject().map(json_string),
                "issuer": record.issuer().map(json_string),
                "serial": record.serial().map(hex),
                "public_key": record.public_key().map(hex),
                "certificate_signature": record.cert_signature().map(hex),
                "certificate": record.certificate().map(hex),
                "ip_address": record.ip_address().ok().flatten().map(|ip| ip.to_string()),
                "cert_hash": record.cert_hash().map(hex),
                "cert_hash_algorithm": record.cert_hash_algorithm().ok().flatten().map(|d| d.to_string()),
                "signed_this_file": signer == Some(index),
                "certificate_details": certificate,
            })
        })
        .collect();
    let items: Vec<Value> = list
        .located_items()
        .iter()
        .map(|item| {
            let mut raw = Vec::with_capacity(item.own_len());
            match item.kind {
                ItemKind::Padding => raw.push(H_PADDING),
                _ => {
                    raw.push(item.tag);
                    raw.extend_from_slice(&(item.length as u16).to_be_bytes());
                    raw.extend_from_slice(item.value);
                }
            }
            let (section, record) = match item.section {
                Section::Header => ("header", None),
                Section::Record(index) => ("record", Some(index)),
            };
            json!({
                "offset": item.offset,
                "section": section,
                "record": record,
                "depth": item.depth,
                "tag": item.tag,
                "name": item_name(item),
                "kind": match item.kind { ItemKind::Value => "value", ItemKind::Container => "container", ItemKind::Padding => "padding" },
                "length": item.length,
                "raw": hex(&raw),
            })
        })
        .collect();
    json!({
        "source": context.source,
        "size": list.record_offset(list.records.len()),
        "md5": context.md5,
        "sha1": context.sha1,
        "sha256": context.sha256,
        "header": header_json,
        "records": records,
        "signer_record": signer,
        "items": items,
    })
}
