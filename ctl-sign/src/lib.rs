//! Certificates to CTL records, security tokens (signers), signing, verification,
//! trust decisions, lint and diff.
//!
//! Contract: every signature is verified with the pure-Rust public key, whichever token
//! made it. Secrets (PINs, passphrases) never reach `Debug` output or logs. File I/O is
//! limited to reading key, certificate and secret files and [`output::write_atomic`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod cert;
pub mod diff;
pub mod hash;
pub mod inspect;
pub mod keyfile;
pub mod lint;
pub mod output;
pub mod pkcs11;
pub mod secret;
pub mod token;
pub mod trust;
pub mod verify;

pub use build::{attach_signature, build_signed, BuildError, BuildInput};
pub use cert::{CertError, CertificateRecord, KeyKind};
pub use hash::HashAlgorithm;
pub use keyfile::KeyFileSigner;
pub use pkcs11::{Pkcs11Signer, Pkcs11Uri};
pub use secret::{Secret, SecretSource};
pub use token::{SecurityToken, SignError};
pub use trust::{would_accept, Decision, Rejection, TrustWarning};
pub use verify::{verify_file, Verified, VerifyError};

/// Opens the token named on the command line: an RFC 7512 `pkcs11:` URI or a key file path.
/// `secret` supplies the PIN or passphrase when one is needed.
pub fn open_token(name: &str, secret: &SecretSource) -> Result<Box<dyn SecurityToken>, SignError> {
    if name.starts_with("pkcs11:") {
        let uri = Pkcs11Uri::parse(name)?;
        Ok(Box::new(Pkcs11Signer::open(&uri, secret)?))
    } else {
        Ok(Box::new(KeyFileSigner::open(std::path::Path::new(name), secret)?))
    }
}
