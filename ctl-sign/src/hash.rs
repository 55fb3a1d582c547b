//! Digest algorithms a trust list can be signed with, and PKCS#1 v1.5 verification.
use rsa::traits::PublicKeyParts;
use rsa::PublicKey;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha512};

/// A digest the signer can actually compute (header tag 8 values 1, 2, 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HashAlgorithm {
    /// SHA-1 (code 1): what CUCM 10.x writes and every phone reads.
    Sha1,
    /// SHA-256 (code 2): the code is a guess, so the CLI hides it behind an explicit flag.
    Sha256,
    /// SHA-512 (code 3).
    Sha512,
}

impl HashAlgorithm {
    /// The header tag 8 code.
    pub fn code(self) -> u8 {
        match self {
            HashAlgorithm::Sha1 => 1,
            HashAlgorithm::Sha256 => 2,
            HashAlgorithm::Sha512 => 3,
        }
    }

    /// The algorithm for a header tag 8 code, if supported.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(HashAlgorithm::Sha1),
            2 => Some(HashAlgorithm::Sha256),
            3 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The name used on the command line and in reports (`sha1`, `sha256`, `sha512`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Digest of `message`.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => Sha1::digest(message).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(message).to_vec(),
        }
    }

    /// The DER `DigestInfo` prefix of RFC 8017 §9.2 note 1 (what CKM_RSA_PKCS needs in front
    /// of the raw digest).
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashAlgorithm::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
            ],
            HashAlgorithm::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
                0x05, 0x00, 0x04, 0x20,
            ],
            HashAlgorithm::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
                0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// `DigestInfo` DER of `message` (prefix + digest).
    pub fn digest_info(self, message: &[u8]) -> Vec<u8> {
        let mut out = self.digest_info_prefix().to_vec();
        out.extend_from_slice(&self.digest(message));
        out
    }
}

impl std::fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HashAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Ok(HashAlgorithm::Sha1),
            "sha256" => Ok(HashAlgorithm::Sha256),
            "sha512" => Ok(HashAlgorithm::Sha512),
            _ => Err(format!("unknown digest {s:?} (expected sha1 or sha512)")),
        }
    }
}

/// Verifies an RSASSA-PKCS1-v1_5 signature with the pure-Rust public key, whatever made it.
pub fn verify_pkcs1v15(key: &PublicKey, hash: HashAlgorithm, message: &[u8], signature: &[u8]) -> bool {
    // The rsa crate rejects signatures of the wrong length itself; check anyway so the
    // result never depends on that detail.
    if signature.len() != key.size() {
        return false;
    }
    let result = match hash {
        HashAlgorithm::Sha1 => key.pkcs1v15_verify::<Sha1>(message, signature),
        HashAlgorithm::Sha256 => key.pkcs1v15_verify::<Sha256>(message, signature),
        HashAlgorithm::Sha512 => key.pkcs1v15_verify::<Sha512>(message, signature),
    };
    result.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for alg in [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
            assert_eq!(HashAlgorithm::from_code(alg.code()), Some(alg));
        }
        assert_eq!(HashAlgorithm::from_code(0), None);
        assert_eq!(HashAlgorithm::from_code(4), None);
    }

    #[test]
    fn digest_info_lengths_match_the_der_length_bytes() {
        for alg in [HashAlgorithm::Sha1, HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
            let info = alg.digest_info(b"abc");
            // Outer SEQUENCE length byte covers the rest of the structure.
            assert_eq!(info[1] as usize, info.len() - 2, "{alg}");
        }
        // Known SHA-1("abc") from FIPS 180.
        assert_eq!(
            HashAlgorithm::Sha1.digest(b"abc"),
            [
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50, 0xc2,
                0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ]
        );
    }
}
