//! Building and signing trust lists from certificates with a security token, and
//! finishing offline-signed files.
use rsa::traits::PublicKeyParts;
use rsa::PublicKey;

use ctl_format::builder::{build_unsigned, HeaderFields, RecordFields, UnsignedFile};
use ctl_format::{Digest, FormatError, Role, TrustList};

use crate::cert::{CertificateRecord, KeyKind};
use crate::hash::HashAlgorithm;
use crate::token::{SecurityToken, SignError};
use crate::verify::{verify_file, VerifyError};

/// What goes into a trust list.
#[derive(Clone, Debug)]
pub struct BuildInput {
    /// Records in file order, each a certificate with its role.
    pub entries: Vec<(Role, CertificateRecord)>,
    /// FILENAME (tag 14), e.g. `CTLFile.tlv`; per-device files keep the canonical name.
    pub filename: String,
    /// Digest of the file signature.
    pub digest: HashAlgorithm,
    /// Signer version (tag 28), written only when `Some`.
    pub signer_version: Option<(u8, u8)>,
    /// TIMESTAMP (tag 15), Unix seconds.
    pub timestamp: u32,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No SAST record: nobody could sign the file.
    #[error("no SAST certificate given (--sast): a trust list must be signed by one of its SAST records")]
    NoSast,
    /// The signing certificate has no RSA key.
    #[error("SAST certificate {source_name} has a {kind} key; the signing certificate must be RSA (header signature algorithm 0)")]
    NonRsaSigner {
        /// The certificate.
        source_name: String,
        /// Its key kind.
        kind: String,
    },
    /// The token's key matches none of the SAST certificates.
    #[error("the key of {token} does not match any SAST certificate ({sasts}); refusing to sign")]
    KeyMismatch {
        /// The token description.
        token: String,
        /// The SAST certificates given.
        sasts: String,
    },
    /// The named signing certificate is not among the SAST records.
    #[error("signing certificate {0} is not one of the SAST records (give it with --sast too)")]
    SignerNotSast(String),
    /// The codec refused the layout (e.g. a record over 65535 bytes).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The token failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The signature made did not verify with the certificate's public key.
    #[error("the signature made by {token} does not verify with the public key of {cert}: {reason}")]
    SelfCheck {
        /// The token.
        token: String,
        /// The certificate.
        cert: String,
        /// Why.
        reason: String,
    },
    /// An offline signature does not fit or does not verify.
    #[error("signature rejected: {0}")]
    Attach(String),
}

/// A laid-out file waiting for its signature.
#[derive(Debug)]
pub struct Prepared {
    /// The file with a zero-filled signature slot.
    pub unsigned: UnsignedFile,
    /// Index of the SAST record that is to sign.
    pub signer_index: usize,
    /// Digest the signature must use.
    pub digest: HashAlgorithm,
    /// The signer certificate's RSA public key.
    pub signer_key: PublicKey,
}

/// Same RSA key (modulus and exponent).
pub fn same_rsa_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.n_bytes() == b.n_bytes() && a.e().to_be_bytes_trimmed_vartime() == b.e().to_be_bytes_trimmed_vartime()
}

/// The record fields of one certificate in one role.
pub fn record_fields(role: Role, cert: &CertificateRecord) -> RecordFields {
    let mut fields = RecordFields::new(role);
    fields.dns_name = Some(cert.dns_name.as_bytes().to_vec());
    fields.subject = Some(cert.subject.as_bytes().to_vec());
    fields.issuer = Some(cert.issuer.as_bytes().to_vec());
    fields.serial = Some(cert.serial.clone());
    fields.public_key = Some(cert.public_key.clone());
    fields.cert_signature = Some(cert.cert_signature.clone());
    fields.certificate = Some(cert.der.clone());
    fields.ip_address = cert.ip_address;
    fields
}

fn digest_code(hash: HashAlgorithm) -> Digest {
    Digest::from(hash.code())
}

fn sast_names(input: &BuildInput) -> String {
    let names: Vec<&str> = input
        .entries
        .iter()
        .filter(|(role, _)| *role == Role::Sast)
        .map(|(_, c)| c.source_name.as_str())
        .collect();
    names.join(", ")
}

/// Lays out the file for the SAST record at `signer_index`.
fn lay_out(input: &BuildInput, signer_index: usize) -> Result<Prepared, BuildError> {
    let (_, signer) = &input.entries[signer_index];
    let signer_key = signer.rsa_public_key().ok_or_else(|| BuildError::NonRsaSigner {
        source_name: signer.source_name.clone(),
        kind: format!("{:?}", signer.key_kind),
    })?;
    let header = HeaderFields {
        version: (1, 2),
        signer_version: input.signer_version,
        signer_name: signer.subject.as_bytes().to_vec(),
        signer_serial: signer.serial.clone(),
        ca_name: signer.issuer.as_bytes().to_vec(),
        digest: digest_code(input.digest),
        signature_algorithm: 0,
        signature_len: signer_key.size(),
        filename: input.filename.as_bytes().to_vec(),
        timestamp: input.timestamp,
    };
    let records: Vec<RecordFields> = input
        .entries
        .iter()
        .map(|(role, cert)| record_fields(*role, cert))
        .collect();
    let unsigned = build_unsigned(&header, &records)?;
    Ok(Prepared {
        unsigned,
        signer_index,
        digest: input.digest,
        signer_key,
    })
}

/// Lays out the file to be signed by the SAST certificate whose key is `token_key`.
/// Refuses when no SAST certificate carries that key.
pub fn prepare_for_key(
    input: &BuildInput,
    token_key: &PublicKey,
    token_description: &str,
) -> Result<Prepared, BuildError> {
    let sasts: Vec<usize> = (0..input.entries.len())
        .filter(|&i| input.entries[i].0 == Role::Sast)
        .collect();
    if sasts.is_empty() {
        return Err(BuildError::NoSast);
    }
    for &index in &sasts {
        if let Some(key) = input.entries[index].1.rsa_public_key() {
            if same_rsa_key(&key, token_key) {
                return lay_out(input, index);
            }
        }
    }
    // Explain the most likely cause: a non-RSA SAST certificate.
    if let Some(&index) = sasts
        .iter()
        .find(|&&i| !matches!(input.entries[i].1.key_kind, KeyKind::Rsa { .. }))
    {
        if sasts.len() == 1 {
            let cert = &input.entries[index].1;
            return Err(BuildError::NonRsaSigner {
                source_name: cert.source_name.clone(),
                kind: format!("{:?}", cert.key_kind),
            });
        }
    }
    Err(BuildError::KeyMismatch {
        token: token_description.to_owned(),
        sasts: sast_names(input),
    })
}

/// Lays out the file to be signed offline by the SAST certificate `signing_cert`
/// (matched by DER against the SAST entries).
pub fn prepare_for_certificate(
    input: &BuildInput,
    signing_cert: &CertificateRecord,
) -> Result<Prepared, BuildError> {
    if !input.entries.iter().any(|(r, _)| *r == Role::Sast) {
        return Err(BuildError::NoSast);
    }
    let index = input
        .entries
        .iter()
        .position(|(role, cert)| *role == Role::Sast && cert.der == signing_cert.der)
        .ok_or_else(|| BuildError::SignerNotSast(signing_cert.source_name.clone()))?;
    lay_out(input, index)
}

/// Signs a prepared file with the token and checks the result with the pure-Rust key.
pub fn sign_prepared(
    prepared: &Prepared,
    input: &BuildInput,
    token: &dyn SecurityToken,
) -> Result<Vec<u8>, BuildError> {
    if !same_rsa_key(token.public_key(), &prepared.signer_key) {
        return Err(BuildError::KeyMismatch {
            token: token.describe(),
            sasts: input.entries[prepared.signer_index].1.source_name.clone(),
        });
    }
    let message = prepared.unsigned.signed_bytes();
    let signature = token.sign(prepared.digest, &message)?;
    let cert_name = input.entries[prepared.signer_index].1.source_name.clone();
    if !crate::hash::verify_pkcs1v15(&prepared.signer_key, prepared.digest, &message, &signature) {
        return Err(BuildError::SelfCheck {
            token: token.describe(),
            cert: cert_name,
            reason: "PKCS#1 v1.5 verification failed".into(),
        });
    }
    let file = prepared.unsigned.with_signature(&signature)?;
    // Belt and braces: the finished file must verify as a reader sees it.
    verify_file(&file).map_err(|e| BuildError::SelfCheck {
        token: token.describe(),
        cert: cert_name,
        reason: e.to_string(),
    })?;
    Ok(file)
}

/// Builds and signs in one step.
pub fn build_signed(input: &BuildInput, token: &dyn SecurityToken) -> Result<Vec<u8>, BuildError> {
    let prepared = prepare_for_key(input, token.public_key(), &token.describe())?;
    sign_prepared(&prepared, input, token)
}

/// Inserts a detached signature into an unsigned file (as written by `ctl build
/// --emit-unsigned`) and returns the finished file only if it verifies.
pub fn attach_signature(unsigned_file: &[u8], signature: &[u8]) -> Result<Vec<u8>, BuildError> {
    let list = TrustList::parse(unsigned_file)?;
    let location = list.signature_location().ok_or(FormatError::NoSignature)?;
    if signature.len() != location.value_len {
        return Err(BuildError::Attach(format!(
            "signature is {} bytes but the file's signature slot (offset {}) is {} bytes; \
             was it made with the signing certificate's key?",
            signature.len(),
            location.value_offset,
            location.value_len
        )));
    }
    let mut file = unsigned_file.to_vec();
    file[location.value_offset..location.value_offset + location.value_len].copy_from_slice(signature);
    verify_file(&file).map_err(|e: VerifyError| BuildError::Attach(e.to_string()))?;
    Ok(file)
}
