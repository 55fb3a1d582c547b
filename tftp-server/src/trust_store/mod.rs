//! The CTI-client trust store behind `ctl fetch`: download `CTLFile.tlv` over TFTP the way
//! a JTAPI/TSP client does and keep it in a directory.
//!
//! * [`decide`]: the pure decision for one downloaded file — trust on first use (optionally
//!   pinned by SHA-256 or by a trust-anchor certificate), a signed update (the same
//!   decision as `ctl verify --trusted`), unchanged, or rejected.
//! * [`store`]: the directory — trusted file, backup, extracted certificates, state file,
//!   lock file — with crash-safe updates (the rename of the trusted file is the commit
//!   point; every open finishes or discards a half-done update).
//! * [`policy`]: server addresses and the retry schedule (JTAPI: 3 more attempts at 30 s;
//!   TSP: 0..=3 retries, interval ≤ 30 s).
//! * [`run`]: the fetch loop over servers and attempts, generic over a [`run::Fetcher`]
//!   (TFTP in production, a script in tests) and a [`run::Clock`] (a virtual clock in
//!   tests, so retry timing is tested without sleeping).

pub mod decide;
pub mod policy;
pub mod run;
pub mod store;
#[cfg(test)]
mod test_support;

pub use decide::{evaluate, Pin, RejectReason, Verdict};
pub use policy::{PolicyError, RetryPolicy, ServerSpec};
pub use run::{
    fetch_into_store, AttemptOutcome, AttemptRecord, Clock, FetchFailure, FetchPlan, FetchReport, Fetcher,
    Outcome, SystemClock, TftpFetcher,
};
pub use store::{Acceptance, CertificateFile, CommitStep, FaultHook, State, Store, StoreError, Trusted};
