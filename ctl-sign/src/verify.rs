//! Checking a file's signature, and the trust decision "would a device holding OLD
//! accept NEW?".
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::PublicKey;

use ctl_format::{FormatError, Role, TrustList};

use crate::hash::{verify_pkcs1v15, HashAlgorithm};

/// A verified file: who signed it and with what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// Index (0-based) of the SAST record that signed.
    pub signer_index: usize,
    /// Digest used.
    pub digest: HashAlgorithm,
    /// For every SAST record: whether its key verifies the signature.
    pub sast_checks: Vec<SastCheck>,
}

/// Whether one SAST record's key verifies the file signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SastCheck {
    /// Record index (0-based).
    pub index: usize,
    /// The key verifies the signature.
    pub verifies: bool,
}

/// Why a file does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file cannot be parsed.
    #[error("malformed file: {0}")]
    Malformed(#[from] FormatError),
    /// The header's digest code is not one this tool can compute.
    #[error("unsupported digest algorithm code {0} in header tag 8")]
    UnsupportedDigest(u8),
    /// The header's signature algorithm is not RSA.
    #[error("unsupported signature algorithm code {0} in header tag 10 (only 0 = RSA is known)")]
    UnsupportedSignatureAlgorithm(u8),
    /// No record matches the header's signer serial and issuer.
    #[error("unknown signer: no record has serial {serial} and issuer {issuer:?} (header tags 5 and 6)")]
    UnknownSigner {
        /// Header serial, hex.
        serial: String,
        /// Header CA name.
        issuer: String,
    },
    /// The record matching the signer is not a SAST record.
    #[error("signer is record #{}, which has role {role}, not SAST: only SAST records may sign", .index + 1)]
    SignerNotSast {
        /// Record index.
        index: usize,
        /// Its role.
        role: String,
    },
    /// The signer record has no usable RSA key.
    #[error("signer record #{} has no usable RSA public key: {reason}", .index + 1)]
    SignerKey {
        /// Record index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The signature does not verify under the signer's key.
    #[error("bad signature: the {digest} PKCS#1 v1.5 signature does not verify with the key of signer record #{}{hint}", .signer_index + 1)]
    BadSignature {
        /// Signer record.
        signer_index: usize,
        /// Digest used.
        digest: HashAlgorithm,
        /// Extra explanation.
        hint: String,
    },
}

impl VerifyError {
    /// True when the file itself could not be read as a trust list.
    pub fn is_malformed(&self) -> bool {
        matches!(self, VerifyError::Malformed(_))
    }
}

pub(crate) use ctl_format::dump::hex;

/// The RSA key of a record (PUBLICKEY tag 7, PKCS#1 DER).
pub fn record_rsa_key(list: &TrustList, index: usize) -> Result<PublicKey, String> {
    let der = list.records[index]
        .public_key()
        .ok_or_else(|| "no PUBLICKEY item (tag 7)".to_owned())?;
    PublicKey::from_pkcs1_der(der).map_err(|e| format!("PUBLICKEY is not a PKCS#1 RSA key: {e}"))
}

/// The header digest as a computable algorithm.
pub fn header_hash(list: &TrustList) -> Result<HashAlgorithm, VerifyError> {
    let code = list
        .header
        .digest()
        .map_err(|e| e.at(ctl_format::Section::Header, 0))?
        .code();
    HashAlgorithm::from_code(code).ok_or(VerifyError::UnsupportedDigest(code))
}

/// Verifies a whole file as a device with no trust list would check it internally:
/// finds the signer (SAST record with the header's serial and issuer) and checks the
/// signature over the raw bytes with the header's digest.
pub fn verify_file(bytes: &[u8]) -> Result<Verified, VerifyError> {
    let list = TrustList::parse(bytes)?;
    list.check_typed()?;
    let message = ctl_format::signed_bytes(bytes)?;
    let algorithm = list
        .header
        .signature_algorithm()
        .map_err(|e| e.at(ctl_format::Section::Header, 0))?;
    if algorithm != 0 {
        return Err(VerifyError::UnsupportedSignatureAlgorithm(algorithm));
    }
    let digest = header_hash(&list)?;
    let signature = list
        .header
        .signature()
        .map_err(|e| e.at(ctl_format::Section::Header, 0))?;
    let serial = list
        .header
        .signer_serial()
        .map_err(|e| e.at(ctl_format::Section::Header, 0))?;
    let issuer = list
        .header
        .ca_name()
        .map_err(|e| e.at(ctl_format::Section::Header, 0))?;

    let sast_checks: Vec<SastCheck> = list
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.role() == Ok(Role::Sast))
        .map(|(index, _)| SastCheck {
            index,
            verifies: record_rsa_key(&list, index)
                .map(|key| verify_pkcs1v15(&key, digest, &message, signature))
                .unwrap_or(false),
        })
        .collect();

    let signer_index = match list.signer_index() {
        Some(index) => index,
        None => {
            let matching = list
                .records
                .iter()
                .position(|r| r.serial() == Some(serial) && r.issuer() == Some(issuer));
            return Err(match matching {
                Some(index) => VerifyError::SignerNotSast {
                    index,
                    role: list.records[index]
                        .role()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| "?".into()),
                },
                None => VerifyError::UnknownSigner {
                    serial: hex(serial),
                    issuer: String::from_utf8_lossy(issuer).into_owned(),
                },
            });
        }
    };
    let key = record_rsa_key(&list, signer_index).map_err(|reason| VerifyError::SignerKey {
        index: signer_index,
        reason,
    })?;
    if !verify_pkcs1v15(&key, digest, &message, signature) {
        let other = sast_checks.iter().find(|c| c.verifies && c.index != signer_index);
        let hint = match other {
            Some(c) => format!(
                " (SAST record #{} would verify it: the header names the wrong signer)",
                c.index + 1
            ),
            None => " (file altered after signing, or signed with another key)".to_owned(),
        };
        return Err(VerifyError::BadSignature {
            signer_index,
            digest,
            hint,
        });
    }
    Ok(Verified {
        signer_index,
        digest,
        sast_checks,
    })
}
