//! Lint: findings with stable codes and severities about a trust list that parses.
use ctl_format::{Digest, Role, TrustList};
use x509_parser::prelude::*;

use crate::verify::{hex, record_rsa_key};

/// How bad a finding is. `ctl build` refuses files with errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Will hurt later or on some devices.
    Warning,
    /// Devices will refuse the file, or it breaks a rule.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`, as in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint finding. `code` is stable across releases; `message` is for humans.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable code, e.g. `L001`.
    pub code: &'static str,
    /// Stable short name, e.g. `too-many-sast`.
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Record index the finding is about, if any.
    pub record: Option<usize>,
    /// Explanation.
    pub message: String,
}

/// Lint settings.
#[derive(Clone, Copy, Debug)]
pub struct LintOptions {
    /// "Now", Unix seconds (settable for tests).
    pub now: i64,
    /// Warn about certificates expiring within this many days.
    pub expiry_days: u32,
}

/// The known lint codes: (code, name, severity, meaning).
pub const CODES: &[(&str, &str, Severity, &str)] = &[
    (
        "L001",
        "too-many-sast",
        Severity::Error,
        "more than 2 SAST records",
    ),
    (
        "L002",
        "too-few-sast",
        Severity::Warning,
        "fewer than 2 SAST records: no key to rotate to",
    ),
    (
        "L003",
        "file-too-large",
        Severity::Error,
        "file over 64 KiB: phones fail to load it",
    ),
    (
        "L004",
        "too-many-certificates",
        Severity::Error,
        "over 39 certificates: phones fail to load it",
    ),
    (
        "L005",
        "rsa-key-too-large",
        Severity::Warning,
        "RSA key over 2048 bits",
    ),
    (
        "L006",
        "certificate-expired",
        Severity::Error,
        "certificate expired or not yet valid",
    ),
    (
        "L007",
        "certificate-expiring",
        Severity::Warning,
        "certificate expires within the warning window",
    ),
    (
        "L008",
        "no-callmanager",
        Severity::Warning,
        "no CCM or CCM+TFTP record",
    ),
    (
        "L009",
        "duplicate-record",
        Severity::Error,
        "the same certificate twice in the same role",
    ),
    (
        "L010",
        "signer-not-sast",
        Severity::Error,
        "the header's signer is not a SAST record of the file",
    ),
    (
        "L011",
        "noncanonical-filename",
        Severity::Error,
        "FILENAME is not CTLFile.tlv or ITLFile.tlv",
    ),
    (
        "L012",
        "sha1-digest",
        Severity::Info,
        "signed with SHA-1 (what CUCM 10.x and older phones use)",
    ),
    (
        "L013",
        "certificate-unparseable",
        Severity::Warning,
        "a record's certificate does not parse",
    ),
    (
        "L014",
        "record-key-mismatch",
        Severity::Error,
        "a record's PUBLICKEY is not its certificate's key",
    ),
];

fn finding(code: &'static str, record: Option<usize>, message: String) -> Finding {
    let (_, name, severity, _) =
        CODES
            .iter()
            .find(|(c, ..)| *c == code)
            .copied()
            .unwrap_or((code, "unknown", Severity::Error, ""));
    Finding {
        code,
        name,
        severity,
        record,
        message,
    }
}

/// Lints a parsed file; `file_len` is the encoded size.
pub fn lint(list: &TrustList, file_len: usize, options: LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let sasts: Vec<usize> = (0..list.records.len())
        .filter(|&i| list.records[i].role() == Ok(Role::Sast))
        .collect();
    if sasts.len() > 2 {
        out.push(finding(
            "L001",
            None,
            format!("{} SAST records; at most 2 are allowed", sasts.len()),
        ));
    } else if sasts.len() < 2 {
        out.push(finding(
            "L002",
            None,
            format!(
                "{} SAST record(s); keep 2 so one key can replace the other",
                sasts.len()
            ),
        ));
    }
    if file_len > 65536 {
        out.push(finding(
            "L003",
            None,
            format!("file is {file_len} bytes (over 64 KiB)"),
        ));
    }
    let cert_count = list.records.iter().filter(|r| r.certificate().is_some()).count();
    if cert_count > 39 {
        out.push(finding(
            "L004",
            None,
            format!("{cert_count} certificates (over 39)"),
        ));
    }
    for (index, record) in list.records.iter().enumerate() {
        // Findings number records from 1, like `ctl dump`; `record` in JSON is the index.
        let number = index + 1;
        if let Ok(key) = record_rsa_key(list, index) {
            use rsa::traits::PublicKeyParts;
            let bits = key.size() * 8;
            if bits > 2048 {
                out.push(finding(
                    "L005",
                    Some(index),
                    format!("record #{number}: RSA key of {bits} bits"),
                ));
            }
        }
        let Some(der) = record.certificate() else { continue };
        match parse_x509_certificate(der) {
            Err(e) => out.push(finding(
                "L013",
                Some(index),
                format!("record #{number}: certificate does not parse: {e}"),
            )),
            Ok((_, cert)) => {
                let subject = cert.subject().to_string();
                let not_after = cert.validity().not_after.timestamp();
                let not_before = cert.validity().not_before.timestamp();
                if not_after < options.now {
                    out.push(finding(
                        "L006",
                        Some(index),
                        format!(
                            "record #{number} ({subject}): expired {}",
                            cert.validity().not_after
                        ),
                    ));
                } else if not_before > options.now {
                    out.push(finding(
                        "L006",
                        Some(index),
                        format!(
                            "record #{number} ({subject}): not valid before {}",
                            cert.validity().not_before
                        ),
                    ));
                } else if not_after - options.now < i64::from(options.expiry_days) * 86400 {
                    let days = (not_after - options.now) / 86400;
                    out.push(finding(
                        "L007",
                        Some(index),
                        format!(
                            "record #{number} ({subject}): expires in {days} day(s) ({})",
                            cert.validity().not_after
                        ),
                    ));
                }
                if let Some(key) = record.public_key() {
                    if key != cert.public_key().subject_public_key.data.as_ref() {
                        out.push(finding(
                            "L014",
                            Some(index),
                            format!("record #{number}: PUBLICKEY differs from the certificate's key"),
                        ));
                    }
                }
            }
        }
    }
    if !list
        .records
        .iter()
        .any(|r| matches!(r.role(), Ok(Role::Ccm) | Ok(Role::CcmTftp)))
    {
        out.push(finding(
            "L008",
            None,
            "no CCM or CCM+TFTP record: devices cannot authenticate CallManager".into(),
        ));
    }
    for (i, a) in list.records.iter().enumerate() {
        for (j, b) in list.records.iter().enumerate().skip(i + 1) {
            if a.certificate().is_some() && a.certificate() == b.certificate() && a.role() == b.role() {
                out.push(finding(
                    "L009",
                    Some(j),
                    format!(
                        "records #{} and #{} hold the same certificate in the same role",
                        i + 1,
                        j + 1
                    ),
                ));
            }
        }
    }
    if list.signer_index().is_none() {
        let serial = list.header.signer_serial().map(hex).unwrap_or_default();
        out.push(finding(
            "L010",
            None,
            format!("no SAST record has the header's signer serial {serial} and issuer"),
        ));
    }
    match list.header.filename() {
        Ok(name) if name == b"CTLFile.tlv" || name == b"ITLFile.tlv" => {}
        Ok(name) => out.push(finding(
            "L011",
            None,
            format!(
                "FILENAME is {:?}; devices expect CTLFile.tlv or ITLFile.tlv (also inside per-device files)",
                String::from_utf8_lossy(name)
            ),
        )),
        Err(e) => out.push(finding("L011", None, format!("FILENAME unreadable: {e}"))),
    }
    if list.header.digest() == Ok(Digest::Sha1) {
        out.push(finding("L012", None, "signed with SHA-1".into()));
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)));
    out
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
