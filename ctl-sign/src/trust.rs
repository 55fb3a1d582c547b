//! The trust decision: would a device holding the installed trust list accept a candidate?
//! Used by `ctl verify --trusted`, the TFTP server's publish guard and `ctl fetch`.
use ctl_format::{Role, TrustList};

use crate::build::same_rsa_key;
use crate::hash::verify_pkcs1v15;
use crate::verify::{header_hash, hex, record_rsa_key, verify_file};

/// The answer to "would a device holding the installed list accept this file?".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The device would accept and install it.
    Accepted {
        /// SAST record of the installed list whose key verified the candidate.
        installed_sast_index: usize,
        /// Signer record in the candidate, if the candidate names one.
        candidate_signer_index: Option<usize>,
        /// Things that will hurt later (the next rotation).
        warnings: Vec<TrustWarning>,
    },
    /// The device would refuse it and keep the installed list.
    Rejected {
        /// Why.
        reason: Rejection,
    },
}

impl Decision {
    /// True for [`Decision::Accepted`].
    pub fn is_accepted(&self) -> bool {
        matches!(self, Decision::Accepted { .. })
    }
}

/// Why a device would refuse the candidate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Rejection {
    /// The candidate cannot be parsed.
    #[error("candidate is malformed: {0}")]
    Malformed(String),
    /// The candidate's digest or algorithm is not supported.
    #[error("candidate cannot be checked: {0}")]
    Unsupported(String),
    /// The installed list has no SAST record with an RSA key.
    #[error("the installed list has no SAST record with an RSA key: it can never accept an update")]
    InstalledHasNoSast,
    /// The candidate's signer cannot be identified.
    #[error("candidate's signer (serial {serial}, issuer {issuer:?}) is in neither the candidate nor the installed list")]
    UnknownSigner {
        /// Header serial (hex).
        serial: String,
        /// Header issuer.
        issuer: String,
    },
    /// The signer's key is not a SAST key of the installed list.
    #[error("candidate is signed by {signer:?}, whose key is not a SAST key of the installed list")]
    SignerNotTrusted {
        /// Signer subject.
        signer: String,
    },
    /// The signature does not verify under the trusted key.
    #[error("candidate's signature does not verify with installed SAST record #{} (same key as its signer)", .installed_sast_index + 1)]
    BadSignature {
        /// Installed SAST record.
        installed_sast_index: usize,
    },
}

/// A warning attached to an accepted candidate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrustWarning {
    /// Fewer than two SAST records: losing one key orphans every device.
    FewerThanTwoSast {
        /// SAST records in the candidate.
        count: usize,
    },
    /// The candidate keeps none of the installed SAST keys.
    KeepsNoInstalledSast,
    /// The candidate does not verify on its own (e.g. signer record missing from it): a
    /// device without a trust list (first use) would still take it, but tools may not.
    NotSelfConsistent {
        /// The verification error.
        reason: String,
    },
}

impl std::fmt::Display for TrustWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustWarning::FewerThanTwoSast { count } => write!(
                f,
                "candidate has {count} SAST record(s); keep two so one key can replace the other"
            ),
            TrustWarning::KeepsNoInstalledSast => write!(
                f,
                "candidate keeps none of the installed SAST keys: devices that miss this update \
                 can never accept a later file signed by the new keys"
            ),
            TrustWarning::NotSelfConsistent { reason } => {
                write!(f, "candidate does not verify on its own: {reason}")
            }
        }
    }
}

fn sast_indices(list: &TrustList) -> Vec<usize> {
    (0..list.records.len())
        .filter(|&i| list.records[i].role() == Ok(Role::Sast))
        .collect()
}

/// Would a device holding `installed` accept `candidate_bytes`?
///
/// The candidate's signer is the record its header names (serial and issuer), looked up in
/// the candidate and then in the installed list; its public key must be the key of a SAST
/// record of the installed list, and the signature (over the candidate's raw bytes, with
/// its header digest) must verify under that key.
pub fn would_accept(installed: &TrustList, candidate_bytes: &[u8]) -> Decision {
    let reject = |reason| Decision::Rejected { reason };
    let candidate = match TrustList::parse(candidate_bytes) {
        Ok(list) => list,
        Err(e) => return reject(Rejection::Malformed(e.to_string())),
    };
    if let Err(e) = candidate.check_typed() {
        return reject(Rejection::Malformed(e.to_string()));
    }
    let message = match ctl_format::signed_bytes(candidate_bytes) {
        Ok(m) => m,
        Err(e) => return reject(Rejection::Malformed(e.to_string())),
    };
    let digest = match header_hash(&candidate) {
        Ok(d) => d,
        Err(e) => return reject(Rejection::Unsupported(e.to_string())),
    };
    match candidate.header.signature_algorithm() {
        Ok(0) => {}
        Ok(other) => {
            return reject(Rejection::Unsupported(format!(
                "signature algorithm code {other} (only 0 = RSA is known)"
            )))
        }
        Err(e) => return reject(Rejection::Malformed(e.to_string())),
    }
    // check_typed succeeded, so these accessors succeed.
    let signature = candidate.header.signature().unwrap_or_default();
    let serial = candidate.header.signer_serial().unwrap_or_default();
    let issuer = candidate.header.ca_name().unwrap_or_default();
    let signer_name =
        String::from_utf8_lossy(candidate.header.signer_name().unwrap_or_default()).into_owned();

    let installed_sasts: Vec<(usize, rsa::PublicKey)> = sast_indices(installed)
        .into_iter()
        .filter_map(|i| record_rsa_key(installed, i).ok().map(|k| (i, k)))
        .collect();
    if installed_sasts.is_empty() {
        return reject(Rejection::InstalledHasNoSast);
    }

    let candidate_signer_index = candidate.signer_index();
    let signer_key = match candidate_signer_index {
        Some(i) => record_rsa_key(&candidate, i).ok(),
        None => installed_sasts
            .iter()
            .find(|(i, _)| {
                installed.records[*i].serial() == Some(serial)
                    && installed.records[*i].issuer() == Some(issuer)
            })
            .map(|(_, k)| k.clone()),
    };
    let Some(signer_key) = signer_key else {
        return reject(Rejection::UnknownSigner {
            serial: hex(serial),
            issuer: String::from_utf8_lossy(issuer).into_owned(),
        });
    };
    let Some((installed_sast_index, trusted_key)) =
        installed_sasts.iter().find(|(_, k)| same_rsa_key(k, &signer_key))
    else {
        return reject(Rejection::SignerNotTrusted { signer: signer_name });
    };
    if !verify_pkcs1v15(trusted_key, digest, &message, signature) {
        return reject(Rejection::BadSignature {
            installed_sast_index: *installed_sast_index,
        });
    }

    let mut warnings = Vec::new();
    let candidate_sasts = sast_indices(&candidate);
    if candidate_sasts.len() < 2 {
        warnings.push(TrustWarning::FewerThanTwoSast {
            count: candidate_sasts.len(),
        });
    }
    let keeps_any = candidate_sasts.iter().any(|&i| {
        record_rsa_key(&candidate, i)
            .map(|k| installed_sasts.iter().any(|(_, ik)| same_rsa_key(ik, &k)))
            .unwrap_or(false)
    });
    if !keeps_any {
        warnings.push(TrustWarning::KeepsNoInstalledSast);
    }
    if let Err(e) = verify_file(candidate_bytes) {
        warnings.push(TrustWarning::NotSelfConsistent {
            reason: e.to_string(),
        });
    }
    Decision::Accepted {
        installed_sast_index: *installed_sast_index,
        candidate_signer_index,
        warnings,
    }
}
