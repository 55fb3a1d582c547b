//! Key-file security tokens: PKCS#1 and PKCS#8 (PEM or DER), encrypted PKCS#8 and PKCS#12.
use std::fmt;
use std::path::{Path, PathBuf};

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::hash::HashAlgorithm;
use crate::secret::{Secret, SecretSource};
use crate::token::{SecurityToken, SignError};

/// OID rsaEncryption (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// The container a key was read from (reported to the user, useful in tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFileFormat {
    /// PKCS#1 `RSAPrivateKey`, PEM (`RSA PRIVATE KEY`).
    Pkcs1Pem,
    /// PKCS#1 `RSAPrivateKey`, DER.
    Pkcs1Der,
    /// PKCS#8 `PrivateKeyInfo`, PEM (`PRIVATE KEY`).
    Pkcs8Pem,
    /// PKCS#8 `PrivateKeyInfo`, DER.
    Pkcs8Der,
    /// PKCS#8 `EncryptedPrivateKeyInfo`, PEM (`ENCRYPTED PRIVATE KEY`).
    EncryptedPkcs8Pem,
    /// PKCS#8 `EncryptedPrivateKeyInfo`, DER.
    EncryptedPkcs8Der,
    /// PKCS#12 / PFX (`.p12`, `.pfx`), as CUCM exports ITLRecovery.
    Pkcs12,
}

/// A private key held in a file, decrypted in memory.
pub struct KeyFileSigner {
    path: PathBuf,
    format: KeyFileFormat,
    key: PrivateKey,
    public: PublicKey,
    /// Certificates bundled in a PKCS#12 file (DER), in file order.
    bundled_certificates: Vec<Vec<u8>>,
}

impl fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFileSigner")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("key", &"<private>")
            .finish()
    }
}

impl KeyFileSigner {
    /// Opens a key file. `passphrase` is consulted only if the file is encrypted
    /// (a PKCS#12 file is first tried with the empty password).
    pub fn open(path: &Path, passphrase: &SecretSource) -> Result<Self, SignError> {
        let bytes = std::fs::read(path).map_err(|source| SignError::KeyFileIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(path, &bytes, passphrase)
    }

    /// Reads a key from bytes; `path` is used only in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8], passphrase: &SecretSource) -> Result<Self, SignError> {
        let (format, key, certs) = decode_key(path, bytes, passphrase)?;
        let public = key.to_public_key();
        Ok(KeyFileSigner {
            path: path.to_owned(),
            format,
            key,
            public,
            bundled_certificates: certs,
        })
    }

    /// The container the key came from.
    pub fn format(&self) -> KeyFileFormat {
        self.format
    }

    /// Certificates that came with the key (PKCS#12 only), DER.
    pub fn bundled_certificates(&self) -> &[Vec<u8>] {
        &self.bundled_certificates
    }
}

impl SecurityToken for KeyFileSigner {
    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, hash: HashAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let result = match hash {
            HashAlgorithm::Sha1 => self.key.pkcs1v15_sign::<Sha1>(message),
            HashAlgorithm::Sha256 => self.key.pkcs1v15_sign::<Sha256>(message),
            HashAlgorithm::Sha512 => self.key.pkcs1v15_sign::<Sha512>(message),
        };
        result.map_err(|e| SignError::Signing(e.to_string()))
    }
}

type Decoded = (KeyFileFormat, PrivateKey, Vec<Vec<u8>>);

fn format_err(path: &Path, reason: impl Into<String>) -> SignError {
    SignError::KeyFormat {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn decode_key(path: &Path, bytes: &[u8], passphrase: &SecretSource) -> Result<Decoded, SignError> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        return decode_pem(path, bytes, passphrase);
    }
    let is_p12_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"));
    if is_p12_name {
        return decode_pkcs12(path, bytes, passphrase);
    }
    if let Ok(key) = decode_pkcs8(path, bytes) {
        return Ok((KeyFileFormat::Pkcs8Der, key, Vec::new()));
    }
    if pkcs8::PrivateKeyInfoRef::try_from(bytes).is_ok() {
        // Well-formed PKCS#8 that is not RSA: report the algorithm.
        return Err(decode_pkcs8(path, bytes).unwrap_err());
    }
    if let Ok(key) = PrivateKey::from_pkcs1_der(bytes) {
        return Ok((KeyFileFormat::Pkcs1Der, key, Vec::new()));
    }
    if pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes).is_ok() {
        let key = decode_encrypted_pkcs8(path, bytes, passphrase)?;
        return Ok((KeyFileFormat::EncryptedPkcs8Der, key, Vec::new()));
    }
    if looks_like_pfx(bytes) {
        return decode_pkcs12(path, bytes, passphrase);
    }
    Err(format_err(
        path,
        "not a private key: expected PEM (RSA PRIVATE KEY, PRIVATE KEY, ENCRYPTED PRIVATE KEY) \
         or DER (PKCS#1, PKCS#8, encrypted PKCS#8, PKCS#12)",
    ))
}

/// PFX starts SEQUENCE { INTEGER 3, ... }.
fn looks_like_pfx(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&0x30) {
        return false;
    }
    let skip = match bytes.get(1) {
        Some(&l) if l < 0x80 => 2,
        Some(&l) => 2 + (l & 0x7f) as usize,
        None => return false,
    };
    bytes.get(skip..skip + 3) == Some(&[0x02, 0x01, 0x03])
}

fn decode_pem(path: &Path, bytes: &[u8], passphrase: &SecretSource) -> Result<Decoded, SignError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format_err(
            path,
            "legacy OpenSSL-encrypted PEM (Proc-Type header) is not supported; convert it with \
             `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW` (encrypted PKCS#8)",
        ));
    }
    let mut labels = Vec::new();
    for (index, block) in x509_parser::pem::Pem::iter_from_buffer(bytes).enumerate() {
        let block = block.map_err(|e| format_err(path, format!("PEM block {index}: {e}")))?;
        match block.label.as_str() {
            "RSA PRIVATE KEY" => {
                let key = PrivateKey::from_pkcs1_der(&block.contents)
                    .map_err(|e| format_err(path, format!("RSA PRIVATE KEY block is not PKCS#1: {e}")))?;
                return Ok((KeyFileFormat::Pkcs1Pem, key, Vec::new()));
            }
            "PRIVATE KEY" => {
                let key = decode_pkcs8(path, &block.contents)?;
                return Ok((KeyFileFormat::Pkcs8Pem, key, Vec::new()));
            }
            "ENCRYPTED PRIVATE KEY" => {
                let key = decode_encrypted_pkcs8(path, &block.contents, passphrase)?;
                return Ok((KeyFileFormat::EncryptedPkcs8Pem, key, Vec::new()));
            }
            other => labels.push(other.to_owned()),
        }
    }
    if labels.is_empty() {
        Err(format_err(path, "no PEM block found"))
    } else {
        Err(format_err(
            path,
            format!(
                "no private key in this PEM file (found {}); give the key file, not the certificate",
                labels.join(", ")
            ),
        ))
    }
}

fn decode_pkcs8(path: &Path, der: &[u8]) -> Result<PrivateKey, SignError> {
    let info =
        pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| format_err(path, format!("not PKCS#8: {e}")))?;
    let oid = info.algorithm.oid.to_string();
    if oid != RSA_ENCRYPTION_OID {
        return Err(SignError::NotRsa {
            path: path.to_owned(),
            algorithm: algorithm_name(&oid),
        });
    }
    PrivateKey::from_pkcs8_der(der).map_err(|e| format_err(path, format!("bad RSA key: {e}")))
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "EC (id-ecPublicKey)".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        other => format!("OID {other}"),
    }
}

fn decode_encrypted_pkcs8(
    path: &Path,
    der: &[u8],
    passphrase: &SecretSource,
) -> Result<PrivateKey, SignError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| format_err(path, format!("not encrypted PKCS#8: {e}")))?;
    let secret = passphrase.resolve(&format!("passphrase for {}", path.display()))?;
    let document = info
        .decrypt(secret.expose().as_bytes())
        .map_err(|e| SignError::WrongPassphrase {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    // A wrong passphrase occasionally yields valid padding but garbage: report that as a
    // passphrase problem too.
    decode_pkcs8(path, document.as_bytes()).map_err(|e| match e {
        SignError::NotRsa { .. } => e,
        other => SignError::WrongPassphrase {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    })
}

fn decode_pkcs12(path: &Path, bytes: &[u8], passphrase: &SecretSource) -> Result<Decoded, SignError> {
    // Exports made with an empty password are common; try that before asking.
    let archive = match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, "") {
        Ok(archive) => archive,
        Err(p12_keystore::error::Error::MacError(_)) | Err(_) => {
            let secret: Secret = passphrase.resolve(&format!("passphrase for {}", path.display()))?;
            p12_keystore::Pkcs12Archive::from_pkcs12(bytes, secret.expose()).map_err(|e| match e {
                p12_keystore::error::Error::MacError(_)
                | p12_keystore::error::Error::UnpadError
                | p12_keystore::error::Error::InvalidPrivateKey => SignError::WrongPassphrase {
                    path: path.to_owned(),
                    detail: e.to_string(),
                },
                other => format_err(path, format!("cannot read PKCS#12: {other}")),
            })?
        }
    };
    let bag = archive
        .keys
        .first()
        .ok_or_else(|| format_err(path, "PKCS#12 file holds no private key"))?;
    let key = decode_pkcs8(path, bag.key.as_der())?;
    let certs = archive.certs.iter().map(|c| c.cert.as_der().to_vec()).collect();
    Ok((KeyFileFormat::Pkcs12, key, certs))
}
