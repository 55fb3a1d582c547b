//! The publish guard: may a changed trust list replace the one being served?
//!
//! The catalog asks the guard before swapping a trust list. The question is the one
//! `ctl verify --trusted` answers: would a device that holds the served version accept the
//! candidate? Devices that reject a file keep their old list and silently stop applying
//! configuration, so a "no" keeps the old version on the wire.

use std::fmt;

/// What the catalog logs about an accepted trust list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustListInfo {
    /// Who signed it, e.g. the signer certificate's subject name and serial.
    pub signer: String,
    /// Accepted, but worth an operator's attention (e.g. fewer than two SAST records).
    pub warnings: Vec<String>,
}

impl TrustListInfo {
    /// Info naming only the signer.
    pub fn signed_by(signer: impl Into<String>) -> Self {
        TrustListInfo {
            signer: signer.into(),
            warnings: Vec::new(),
        }
    }
}

/// Why a trust list was refused. The reason is for operators' logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong, e.g. "signature does not verify with any SAST of the served version".
    pub reason: String,
}

impl Rejection {
    /// A rejection with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Rejection {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejection {}

/// Decides whether trust lists may be published.
///
/// Implementations must not panic on any input: `candidate` comes straight from the
/// served directory and may be garbage.
pub trait PublishGuard: Send + Sync {
    /// Parses a trust list for the logs (its signer). `Err` if it is malformed or its own
    /// signature does not verify.
    fn inspect(&self, candidate: &[u8]) -> Result<TrustListInfo, Rejection>;

    /// Would a device holding `served` accept `candidate`? `Ok` carries what to log about
    /// the candidate.
    fn check_update(&self, served: &[u8], candidate: &[u8]) -> Result<TrustListInfo, Rejection>;
}
