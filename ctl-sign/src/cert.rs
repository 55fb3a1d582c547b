//! Certificates to record fields: CUCM-style names, raw serial, PKCS#1 public key,
//! the certificate's own signature and the DER certificate.
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::PublicKey;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey as X509PublicKey;

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The file could not be read.
    #[error("cannot read certificate {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a PEM or DER certificate.
    #[error("{source_name}: {reason}")]
    Invalid {
        /// File name or other label.
        source_name: String,
        /// What was wrong.
        reason: String,
    },
}

/// The kind of public key a certificate carries.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KeyKind {
    /// RSA with this many modulus bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// Elliptic curve with this many bits.
    Ec {
        /// Curve size in bits.
        bits: usize,
    },
    /// Anything else (named by its OID).
    Other(String),
}

/// Everything a CTL record needs from one certificate.
#[derive(Clone, Debug)]
pub struct CertificateRecord {
    /// Where it came from (file name), for messages.
    pub source_name: String,
    /// The DER certificate (record tag 9).
    pub der: Vec<u8>,
    /// CUCM-style subject `CN=…;OU=…;O=…;L=…;ST=…;C=…` (tag 3), without NUL.
    pub subject: String,
    /// CUCM-style issuer (tag 5), without NUL.
    pub issuer: String,
    /// Serial number: the DER INTEGER content bytes (tag 6).
    pub serial: Vec<u8>,
    /// RSA: DER `RSAPublicKey` (PKCS#1); EC: the point as in the certificate (tag 7).
    pub public_key: Vec<u8>,
    /// The key type and size.
    pub key_kind: KeyKind,
    /// The certificate's own signatureValue bytes (tag 8).
    pub cert_signature: Vec<u8>,
    /// DNS name (tag 2): the CN's first label unless overridden; may be empty.
    pub dns_name: String,
    /// IPv4 address (tag 10), if given.
    pub ip_address: Option<Ipv4Addr>,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
}

impl CertificateRecord {
    /// Reads a PEM (first CERTIFICATE block) or DER certificate file. `CAPF.0` is PEM.
    pub fn from_file(path: &Path) -> Result<Self, CertError> {
        let bytes = std::fs::read(path).map_err(|source| CertError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads PEM or DER bytes; `source_name` labels errors.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Self, CertError> {
        let der = certificate_der(bytes, source_name)?;
        Self::from_der(der, source_name)
    }

    /// Builds the record fields from one DER certificate.
    pub fn from_der(der: Vec<u8>, source_name: &str) -> Result<Self, CertError> {
        let invalid = |reason: String| CertError::Invalid {
            source_name: source_name.to_owned(),
            reason,
        };
        let (rest, cert) = parse_x509_certificate(&der)
            .map_err(|e| invalid(format!("not a valid X.509 certificate (DER): {e}")))?;
        if !rest.is_empty() {
            return Err(invalid(format!(
                "{} bytes of trailing data after the certificate at byte offset {}",
                rest.len(),
                der.len() - rest.len()
            )));
        }
        let subject = cucm_name(cert.subject());
        let issuer = cucm_name(cert.issuer());
        let serial = cert.tbs_certificate.raw_serial().to_vec();
        let spki = cert.public_key();
        let key_bytes = spki.subject_public_key.data.to_vec();
        let key_kind = match spki.parsed() {
            Ok(X509PublicKey::RSA(rsa)) => KeyKind::Rsa { bits: rsa.key_size() },
            Ok(X509PublicKey::EC(point)) => KeyKind::Ec {
                bits: point.key_size(),
            },
            _ => KeyKind::Other(spki.algorithm.algorithm.to_id_string()),
        };
        if let KeyKind::Other(oid) = &key_kind {
            return Err(invalid(format!(
                "unsupported public key algorithm {oid} (CTL records hold RSA or EC keys)"
            )));
        }
        let cert_signature = cert.signature_value.data.to_vec();
        let dns_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(|cn| cn.split('.').next().unwrap_or("").to_owned())
            .unwrap_or_default();
        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        Ok(CertificateRecord {
            source_name: source_name.to_owned(),
            subject,
            issuer,
            serial,
            public_key: key_bytes,
            key_kind,
            cert_signature,
            dns_name,
            ip_address: None,
            not_before,
            not_after,
            der,
        })
    }

    /// The RSA public key, if this certificate has one.
    pub fn rsa_public_key(&self) -> Option<PublicKey> {
        match self.key_kind {
            KeyKind::Rsa { .. } => PublicKey::from_pkcs1_der(&self.public_key).ok(),
            _ => None,
        }
    }
}

/// Extracts the DER certificate from PEM (the first `CERTIFICATE` block) or DER bytes.
pub fn certificate_der(bytes: &[u8], source_name: &str) -> Result<Vec<u8>, CertError> {
    let invalid = |reason: String| CertError::Invalid {
        source_name: source_name.to_owned(),
        reason,
    };
    if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        let mut labels = Vec::new();
        for (index, block) in x509_parser::pem::Pem::iter_from_buffer(bytes).enumerate() {
            let block = block.map_err(|e| invalid(format!("PEM block {index}: {e}")))?;
            if block.label == "CERTIFICATE" || block.label == "X509 CERTIFICATE" {
                return Ok(block.contents);
            }
            labels.push(block.label);
        }
        return Err(invalid(format!(
            "no CERTIFICATE block in PEM file (found: {})",
            if labels.is_empty() {
                "none".to_owned()
            } else {
                labels.join(", ")
            }
        )));
    }
    if bytes.first() != Some(&0x30) {
        return Err(invalid(format!(
            "neither PEM nor DER: byte 0 is 0x{:02x}, expected 0x30 (DER SEQUENCE) or \
             \"-----BEGIN CERTIFICATE-----\"",
            bytes.first().copied().unwrap_or(0)
        )));
    }
    Ok(bytes.to_vec())
}

/// Attribute order CUCM writes, whatever the DER order.
const CUCM_ORDER: [(&str, &str); 6] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.11", "OU"),
    ("2.5.4.10", "O"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.6", "C"),
];

/// Formats a name CUCM-style: `CN=…;OU=…;O=…;L=…;ST=…;C=…`, in that order, `;` between,
/// missing attributes left out. Repeated attributes keep their DER order. Attributes CUCM
/// does not list (e.g. emailAddress) follow, by short name or dotted OID, so two
/// different names never collapse to the same string.
pub fn cucm_name(name: &X509Name<'_>) -> String {
    let attrs: Vec<(String, String)> = name
        .iter_attributes()
        .map(|a| (a.attr_type().to_id_string(), attribute_text(a)))
        .collect();
    let mut parts = Vec::new();
    for (oid, short) in CUCM_ORDER {
        for (_, value) in attrs.iter().filter(|(o, _)| o == oid) {
            parts.push(format!("{short}={value}"));
        }
    }
    for (oid, value) in &attrs {
        if CUCM_ORDER.iter().any(|(o, _)| o == oid) {
            continue;
        }
        let key = match oid.as_str() {
            "1.2.840.113549.1.9.1" => "emailAddress".to_owned(),
            "0.9.2342.19200300.100.1.25" => "DC".to_owned(),
            "2.5.4.5" => "serialNumber".to_owned(),
            "0.9.2342.19200300.100.1.1" => "UID".to_owned(),
            other => other.to_owned(),
        };
        parts.push(format!("{key}={value}"));
    }
    parts.join(";")
}

fn attribute_text(attr: &AttributeTypeAndValue<'_>) -> String {
    match attr.as_str() {
        Ok(s) => s.to_owned(),
        // BMPString and friends: decode UTF-16BE, else show the bytes lossily.
        Err(_) => {
            let raw = attr.attr_value().data;
            if raw.len() % 2 == 0 {
                let units: Vec<u16> = raw.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                if let Ok(s) = String::from_utf16(&units) {
                    return s;
                }
            }
            String::from_utf8_lossy(raw).into_owned()
        }
    }
}
