//! Certificates to CTL records, security tokens (signers), signing, verification,
//! trust decisions, lint and diff.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
