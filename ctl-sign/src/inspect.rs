//! What dumps show of a file: whole-file checksums and decoded certificates.

use ctl_format::dump::{hex, hex_separated, CertificateSummary, DumpContext};
use ctl_format::TrustList;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// SHA-256 of `bytes` as lower-case hex: the content hash logs, stores and pins use.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Decodes a DER certificate into what a dump shows; the error says why it does not decode.
pub fn certificate_summary(der: &[u8]) -> Result<CertificateSummary, String> {
    let (rest, certificate) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the certificate", rest.len()));
    }
    let key = match certificate.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(point)) => format!("EC {}", point.key_size()),
        Ok(other) => format!("{other:?}")
            .split('(')
            .next()
            .unwrap_or("other")
            .to_string(),
        Err(e) => format!("undecodable ({e})"),
    };
    let validity = certificate.validity();
    let iso = |t: &x509_parser::time::ASN1Time| {
        t.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    Ok(CertificateSummary {
        subject: certificate.subject().to_string(),
        issuer: certificate.issuer().to_string(),
        serial: hex_separated(certificate.raw_serial(), ":"),
        not_before: iso(&validity.not_before),
        not_after: iso(&validity.not_after),
        key,
        sha1: hex(&Sha1::digest(der)),
        sha256: hex(&Sha256::digest(der)),
    })
}

/// Checksums and decoded certificates of `file` (already parsed as `list`) for a dump.
pub fn dump_context(source: &str, file: &[u8], list: &TrustList) -> DumpContext {
    DumpContext {
        source: source.to_string(),
        md5: hex(&Md5::digest(file)),
        sha1: hex(&Sha1::digest(file)),
        sha256: hex(&Sha256::digest(file)),
        certificates: list
            .records
            .iter()
            .map(|r| r.certificate().map(certificate_summary))
            .collect(),
    }
}
