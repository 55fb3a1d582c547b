//! Differences between two trust lists, for operators reviewing a change.
use ctl_format::{Record, TrustList};
use serde::Serialize;

use crate::verify::hex;

/// A record as shown in a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordSummary {
    /// Record index in its file.
    pub index: usize,
    /// Role name.
    pub role: String,
    /// Subject string.
    pub subject: String,
    /// Serial, hex.
    pub serial: String,
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A header field changed.
    Header {
        /// Field name.
        field: &'static str,
        /// Old value.
        old: String,
        /// New value.
        new: String,
    },
    /// The signer changed.
    SignerChanged {
        /// Old signer subject and serial.
        old: String,
        /// New signer subject and serial.
        new: String,
    },
    /// A record only in B.
    Added {
        /// The record.
        record: RecordSummary,
    },
    /// A record only in A.
    Removed {
        /// The record.
        record: RecordSummary,
    },
    /// Same certificate, different role.
    RoleChanged {
        /// In A.
        old: RecordSummary,
        /// In B.
        new: RecordSummary,
    },
    /// Same certificate and role, other fields differ.
    Changed {
        /// In A.
        old: RecordSummary,
        /// In B.
        new: RecordSummary,
        /// Which fields.
        fields: Vec<&'static str>,
    },
    /// Same subject, new serial: a renewed certificate.
    Renewed {
        /// In A.
        old: RecordSummary,
        /// In B.
        new: RecordSummary,
    },
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn summary(index: usize, record: &Record) -> RecordSummary {
    RecordSummary {
        index,
        role: record
            .role()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "?".into()),
        subject: text(record.subject()),
        serial: record.serial().map(hex).unwrap_or_default(),
    }
}

/// Identity of a record for matching: the certificate, else the public key, else DNS+role.
fn identity(record: &Record) -> Vec<u8> {
    if let Some(c) = record.certificate() {
        return [b"c".as_slice(), c].concat();
    }
    if let Some(k) = record.public_key() {
        return [b"k".as_slice(), k].concat();
    }
    [b"d".as_slice(), record.dns_name().unwrap_or_default()].concat()
}

/// Reads one header field as text.
type HeaderGetter = fn(&TrustList) -> String;

/// Differences from `a` to `b`.
pub fn diff(a: &TrustList, b: &TrustList) -> Vec<Change> {
    let mut out = Vec::new();
    let header_fields: [(&'static str, HeaderGetter); 5] = [
        ("version", |l| match l.header.version() {
            Ok((major, minor)) => format!("{major}.{minor}"),
            Err(_) => "unreadable".into(),
        }),
        ("digest", |l| match l.header.digest() {
            Ok(digest) => match digest.name() {
                Some(name) => name.to_owned(),
                None => format!("code {}", digest.code()),
            },
            Err(_) => "unreadable".into(),
        }),
        ("timestamp", |l| {
            l.header.timestamp().map(|t| t.to_string()).unwrap_or_default()
        }),
        ("filename", |l| text(l.header.filename().ok())),
        ("signer_version", |l| match l.header.signer_version() {
            Ok(Some((major, minor))) => format!("{major}.{minor}"),
            Ok(None) => "absent".into(),
            Err(_) => "unreadable".into(),
        }),
    ];
    for (field, get) in header_fields {
        let (old, new) = (get(a), get(b));
        if old != new {
            out.push(Change::Header { field, old, new });
        }
    }
    let signer = |l: &TrustList| {
        format!(
            "{} (serial {})",
            text(l.header.signer_name().ok()),
            l.header.signer_serial().map(hex).unwrap_or_default()
        )
    };
    if signer(a) != signer(b) {
        out.push(Change::SignerChanged {
            old: signer(a),
            new: signer(b),
        });
    }
    let mut unmatched_b: Vec<usize> = (0..b.records.len()).collect();
    let mut removed = Vec::new();
    for (i, ra) in a.records.iter().enumerate() {
        let id = identity(ra);
        let same_role = unmatched_b
            .iter()
            .position(|&j| identity(&b.records[j]) == id && b.records[j].role() == ra.role());
        let any_role = unmatched_b.iter().position(|&j| identity(&b.records[j]) == id);
        match same_role.or(any_role) {
            Some(pos) => {
                let j = unmatched_b.remove(pos);
                let rb = &b.records[j];
                if rb.role() != ra.role() {
                    out.push(Change::RoleChanged {
                        old: summary(i, ra),
                        new: summary(j, rb),
                    });
                } else {
                    let mut fields = Vec::new();
                    if ra.dns_name() != rb.dns_name() {
                        fields.push("dns_name");
                    }
                    if ra.ip_address().ok() != rb.ip_address().ok() {
                        fields.push("ip_address");
                    }
                    if ra.subject() != rb.subject() {
                        fields.push("subject");
                    }
                    if ra.issuer() != rb.issuer() {
                        fields.push("issuer");
                    }
                    if ra.items != rb.items && fields.is_empty() {
                        fields.push("other items");
                    }
                    if !fields.is_empty() {
                        out.push(Change::Changed {
                            old: summary(i, ra),
                            new: summary(j, rb),
                            fields,
                        });
                    }
                }
            }
            None => removed.push(i),
        }
    }
    // Renewals: a removed and an added record with the same subject and role.
    for i in removed {
        let ra = &a.records[i];
        let renewed = unmatched_b.iter().position(|&j| {
            b.records[j].subject() == ra.subject()
                && ra.subject().is_some()
                && b.records[j].role() == ra.role()
                && b.records[j].serial() != ra.serial()
        });
        match renewed {
            Some(pos) => {
                let j = unmatched_b.remove(pos);
                out.push(Change::Renewed {
                    old: summary(i, ra),
                    new: summary(j, &b.records[j]),
                });
            }
            None => out.push(Change::Removed {
                record: summary(i, ra),
            }),
        }
    }
    for j in unmatched_b {
        out.push(Change::Added {
            record: summary(j, &b.records[j]),
        });
    }
    out
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rec =
            |r: &RecordSummary| format!("#{} {} {} (serial {})", r.index + 1, r.role, r.subject, r.serial);
        match self {
            Change::Header { field, old, new } => write!(f, "header {field}: {old} -> {new}"),
            Change::SignerChanged { old, new } => write!(f, "SIGNER CHANGED: {old} -> {new}"),
            Change::Added { record } => write!(f, "+ {}", rec(record)),
            Change::Removed { record } => write!(f, "- {}", rec(record)),
            Change::RoleChanged { old, new } => {
                write!(f, "~ role {} -> {}: {}", old.role, new.role, rec(new))
            }
            Change::Changed { new, fields, .. } => write!(f, "~ {} changed: {}", rec(new), fields.join(", ")),
            Change::Renewed { old, new } => write!(
                f,
                "~ renewed {}: serial {} -> {}",
                new.subject, old.serial, new.serial
            ),
        }
    }
}
