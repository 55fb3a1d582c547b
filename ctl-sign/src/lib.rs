//! Certificates to CTL records, security tokens (signers), signing, verification,
//! trust decisions, lint and diff.
//!
//! Contract: every signature is verified with the pure-Rust public key, whichever token
//! made it. Secrets (PINs, passphrases) never reach `Debug` output or logs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cert;
pub mod hash;
pub mod inspect;
pub mod keyfile;
pub mod pkcs11;
pub mod secret;
pub mod token;

pub use cert::{CertError, CertificateRecord, KeyKind};
pub use hash::HashAlgorithm;
pub use keyfile::KeyFileSigner;
pub use pkcs11::{Pkcs11Signer, Pkcs11Uri};
pub use secret::{Secret, SecretSource};
pub use token::{SecurityToken, SignError};
