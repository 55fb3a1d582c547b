//! The security-token abstraction: anything that can make an RSASSA-PKCS1-v1_5 signature.
use rsa::PublicKey;

use crate::hash::HashAlgorithm;

/// A security token holding one RSA signing key: a key file, a PKCS#12 bundle or a
/// PKCS#11 device. Object safe, so the CLI picks a backend at run time.
///
/// Implementations never print secrets in `Debug` or logs.
pub trait SecurityToken: Send {
    /// Human-readable description for messages ("key file sast1.key",
    /// "PKCS#11 token ctl, object sast1"). Never contains a PIN or passphrase.
    fn describe(&self) -> String;

    /// The public half of the signing key, read from the token (never trusted from the
    /// file being built).
    fn public_key(&self) -> &PublicKey;

    /// Signature size in bytes (the modulus size, k).
    fn signature_len(&self) -> usize {
        use rsa::traits::PublicKeyParts;
        self.public_key().size()
    }

    /// Signs `message` (the token hashes it with `hash`) with RSASSA-PKCS1-v1_5.
    fn sign(&self, hash: HashAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Why a token could not be opened or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    KeyFileIo {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file's contents are not a key this tool can read.
    #[error("{path}: {reason}")]
    KeyFormat {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The passphrase did not decrypt the key.
    #[error("{path}: wrong passphrase (or corrupt file): {detail}")]
    WrongPassphrase {
        /// The file.
        path: std::path::PathBuf,
        /// Library detail.
        detail: String,
    },
    /// The key is not an RSA key.
    #[error("{path}: the key is not an RSA key ({algorithm}); CTL/ITL signatures are RSA")]
    NotRsa {
        /// The file.
        path: std::path::PathBuf,
        /// The algorithm found.
        algorithm: String,
    },
    /// Obtaining a passphrase or PIN failed.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// A PKCS#11 URI could not be parsed.
    #[error("invalid PKCS#11 URI: {0}")]
    Pkcs11Uri(String),
    /// A PKCS#11 operation failed.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// The signing operation itself failed.
    #[error("signing failed: {0}")]
    Signing(String),
}
