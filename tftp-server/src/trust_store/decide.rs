//! The decision for one downloaded file, given what the store holds. Pure: no I/O.
use ctl_format::{Role, TrustList};
use ctl_sign::build::same_rsa_key;
use ctl_sign::verify::record_rsa_key;
use ctl_sign::{verify_file, would_accept, CertificateRecord, Decision};
use sha2::{Digest as _, Sha256};

/// How an operator pins the first download instead of trusting whatever arrives.
#[derive(Clone, Debug, Default)]
pub enum Pin {
    /// Trust on first use: the first file that parses and verifies on its own is taken.
    #[default]
    None,
    /// The first file must have exactly this SHA-256.
    Sha256([u8; 32]),
    /// The first file must be signed by the key of this certificate.
    TrustAnchor(Box<CertificateRecord>),
}

impl Pin {
    /// Parses a SHA-256 pin: 64 hex digits (`:` and spaces allowed between bytes).
    pub fn sha256_from_hex(text: &str) -> Result<Pin, String> {
        let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "{text:?} is not a SHA-256: expected 64 hex digits, got {} characters",
                digits.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|e| format!("{text:?}: {e}"))?;
        }
        Ok(Pin::Sha256(out))
    }

    /// Name of the pin for the state file and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Pin::None => "trust on first use",
            Pin::Sha256(_) => "pinned by SHA-256",
            Pin::TrustAnchor(_) => "pinned by trust anchor",
        }
    }
}

/// What to do with a downloaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing stored yet: store it (trust on first use, or it matched the pin).
    FirstUse {
        /// `None` for plain trust on first use, else the pin it matched.
        pinned: Option<&'static str>,
        /// Subject of the record that signed it.
        signer: String,
        /// Things that will hurt later.
        warnings: Vec<String>,
    },
    /// Signed by a SAST key of the stored file: replace the stored file.
    Update {
        /// Subject of the candidate's signer (header SIGNERNAME).
        signer: String,
        /// Subject of the stored file's SAST record whose key verified it.
        verified_by: String,
        /// Things that will hurt later (the next rotation).
        warnings: Vec<String>,
    },
    /// Byte-identical to the stored file.
    Unchanged,
    /// Not acceptable: keep what is stored.
    Rejected(RejectReason),
}

/// Why a downloaded file was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// It is not a readable trust list (garbage, truncated).
    #[error("malformed trust list: {0}")]
    Malformed(String),
    /// First use: the file's own signature does not verify (corrupted or tampered).
    #[error("first download does not verify on its own: {0}")]
    NotSelfConsistent(String),
    /// First use pinned by SHA-256: a different file arrived.
    #[error("SHA-256 {actual} does not match the pinned {expected}")]
    Sha256Mismatch {
        /// The pin (hex).
        expected: String,
        /// The download (hex).
        actual: String,
    },
    /// First use pinned by a trust anchor: not signed by its key.
    #[error("not signed by the trust anchor {anchor}: {detail}")]
    AnchorMismatch {
        /// The anchor certificate's subject.
        anchor: String,
        /// Who signed it instead, or why that could not be checked.
        detail: String,
    },
    /// Not signed by a SAST key of the stored file (unknown signer, bad signature, ...).
    #[error("{0}")]
    NotTrusted(ctl_sign::Rejection),
    /// The stored file itself cannot be read as a trust list, so nothing can be verified.
    #[error("the stored trust list cannot be read ({0}); no update can be verified against it")]
    StoredUnreadable(String),
}

use ctl_format::dump::hex;
pub use ctl_sign::inspect::sha256_hex;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches('\0').to_owned()
}

fn record_subject(list: &TrustList, index: usize) -> String {
    list.records
        .get(index)
        .and_then(|r| r.subject())
        .map(text)
        .unwrap_or_else(|| format!("record #{}", index + 1))
}

fn sast_count_warning(list: &TrustList) -> Option<String> {
    let count = list.records.iter().filter(|r| r.role() == Ok(Role::Sast)).count();
    (count < 2).then(|| {
        format!(
            "the trust list has {count} SAST record(s): losing that key leaves no way to \
             sign an update this store accepts"
        )
    })
}

/// Decides what a CTI client holding `stored` (or nothing) does with `candidate`.
///
/// * identical bytes: [`Verdict::Unchanged`];
/// * nothing stored: the file must parse and verify on its own, and match `pin`;
/// * stored: [`ctl_sign::would_accept`] (signed by a SAST key of the stored file). `pin`
///   only guards the first download and is ignored here.
pub fn evaluate(stored: Option<&[u8]>, candidate: &[u8], pin: &Pin) -> Verdict {
    let reject = Verdict::Rejected;
    if stored == Some(candidate) {
        return Verdict::Unchanged;
    }
    let list = match TrustList::parse(candidate).and_then(|l| l.check_typed().map(|()| l)) {
        Ok(list) => list,
        Err(e) => return reject(RejectReason::Malformed(e.to_string())),
    };
    match stored {
        None => first_use(&list, candidate, pin),
        Some(stored) => {
            let installed = match TrustList::parse(stored).and_then(|l| l.check_typed().map(|()| l)) {
                Ok(list) => list,
                Err(e) => return reject(RejectReason::StoredUnreadable(e.to_string())),
            };
            match would_accept(&installed, candidate) {
                Decision::Rejected { reason } => reject(RejectReason::NotTrusted(reason)),
                Decision::Accepted {
                    installed_sast_index,
                    warnings,
                    ..
                } => Verdict::Update {
                    signer: text(list.header.signer_name().unwrap_or_default()),
                    verified_by: record_subject(&installed, installed_sast_index),
                    warnings: warnings.iter().map(|w| w.to_string()).collect(),
                },
            }
        }
    }
}

fn first_use(list: &TrustList, candidate: &[u8], pin: &Pin) -> Verdict {
    let reject = Verdict::Rejected;
    if let Pin::Sha256(expected) = pin {
        let actual = Sha256::digest(candidate);
        if actual.as_slice() != expected.as_slice() {
            return reject(RejectReason::Sha256Mismatch {
                expected: hex(expected),
                actual: hex(&actual),
            });
        }
    }
    let verified = match verify_file(candidate) {
        Ok(v) => v,
        Err(e) => return reject(RejectReason::NotSelfConsistent(e.to_string())),
    };
    let signer = record_subject(list, verified.signer_index);
    if let Pin::TrustAnchor(anchor) = pin {
        let mismatch = |detail: String| {
            reject(RejectReason::AnchorMismatch {
                anchor: anchor.subject.clone(),
                detail,
            })
        };
        let Some(anchor_key) = anchor.rsa_public_key() else {
            return mismatch("the trust anchor has no RSA key".to_owned());
        };
        match record_rsa_key(list, verified.signer_index) {
            Ok(key) if same_rsa_key(&key, &anchor_key) => {}
            Ok(_) => return mismatch(format!("it is signed by {signer}")),
            Err(e) => return mismatch(format!("signer key unreadable: {e}")),
        }
    }
    let pinned = match pin {
        Pin::None => None,
        other => Some(other.kind()),
    };
    Verdict::FirstUse {
        pinned,
        signer,
        warnings: sast_count_warning(list).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust_store::test_support::{signed, Key};

    #[test]
    fn first_use_takes_a_self_consistent_file_and_reports_its_signer() {
        let file = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        match evaluate(None, &file, &Pin::None) {
            Verdict::FirstUse {
                pinned: None,
                signer,
                warnings,
            } => {
                assert!(signer.contains("SAST"), "{signer}");
                assert!(warnings.is_empty(), "{warnings:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn first_use_with_one_sast_warns() {
        let file = signed(&[Key::Sast1], Key::Sast1, 1);
        let Verdict::FirstUse { warnings, .. } = evaluate(None, &file, &Pin::None) else {
            panic!("not accepted")
        };
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("1 SAST record"));
    }

    #[test]
    fn first_use_refuses_garbage_truncation_and_a_broken_signature() {
        let file = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        assert!(matches!(
            evaluate(None, b"<html>not found</html>", &Pin::None),
            Verdict::Rejected(RejectReason::Malformed(_))
        ));
        assert!(matches!(
            evaluate(None, &file[..file.len() / 2], &Pin::None),
            Verdict::Rejected(RejectReason::Malformed(_))
        ));
        let mut flipped = file.clone();
        let last = flipped.len() - 10; // inside the last certificate: signed bytes
        flipped[last] ^= 0x01;
        assert!(matches!(
            evaluate(None, &flipped, &Pin::None),
            Verdict::Rejected(RejectReason::NotSelfConsistent(_))
        ));
    }

    #[test]
    fn sha256_pin_accepts_the_pinned_file_only() {
        let file = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let other = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 2);
        let pin = Pin::sha256_from_hex(&sha256_hex(&file)).unwrap();
        assert!(matches!(
            evaluate(None, &file, &pin),
            Verdict::FirstUse {
                pinned: Some("pinned by SHA-256"),
                ..
            }
        ));
        match evaluate(None, &other, &pin) {
            Verdict::Rejected(RejectReason::Sha256Mismatch { expected, actual }) => {
                assert_eq!(expected, sha256_hex(&file));
                assert_eq!(actual, sha256_hex(&other));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn sha256_pin_parsing() {
        assert!(Pin::sha256_from_hex("abc").is_err());
        assert!(Pin::sha256_from_hex(&"zz".repeat(32)).is_err());
        let colons = vec!["AB"; 32].join(":");
        let Ok(Pin::Sha256(bytes)) = Pin::sha256_from_hex(&colons) else {
            panic!("colon form refused")
        };
        assert_eq!(bytes, [0xab; 32]);
    }

    #[test]
    fn trust_anchor_pin_checks_the_signing_key() {
        let by_sast1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let by_sast2 = signed(&[Key::Sast1, Key::Sast2], Key::Sast2, 1);
        let anchor = Pin::TrustAnchor(Box::new(Key::Sast1.certificate()));
        assert!(matches!(
            evaluate(None, &by_sast1, &anchor),
            Verdict::FirstUse {
                pinned: Some("pinned by trust anchor"),
                ..
            }
        ));
        assert!(matches!(
            evaluate(None, &by_sast2, &anchor),
            Verdict::Rejected(RejectReason::AnchorMismatch { .. })
        ));
    }

    #[test]
    fn updates_need_a_sast_key_of_the_stored_file() {
        let stored = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let by_second = signed(&[Key::Sast2, Key::Sast3], Key::Sast2, 2);
        let by_stranger = signed(&[Key::Sast3], Key::Sast3, 2);
        assert_eq!(evaluate(Some(&stored), &stored, &Pin::None), Verdict::Unchanged);
        match evaluate(Some(&stored), &by_second, &Pin::None) {
            Verdict::Update {
                verified_by,
                warnings,
                ..
            } => {
                assert!(verified_by.contains("SAST"), "{verified_by}");
                assert!(warnings.is_empty(), "{warnings:?}");
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(
            evaluate(Some(&stored), &by_stranger, &Pin::None),
            Verdict::Rejected(RejectReason::NotTrusted(
                ctl_sign::Rejection::SignerNotTrusted { .. }
            ))
        ));
        assert!(matches!(
            evaluate(Some(b"junk"), &by_second, &Pin::None),
            Verdict::Rejected(RejectReason::StoredUnreadable(_))
        ));
    }
}
