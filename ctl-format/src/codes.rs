//! Wire enums that keep unknown values: record roles and digest algorithms.

use std::fmt;

/// The FUNCTION of a record. `u16 -> Role -> u16` is the identity for every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 0: System Administrator Security Token, may sign the trust list.
    Sast,
    /// 1: CallManager.
    Ccm,
    /// 2: CallManager and TFTP.
    CcmTftp,
    /// 3: TFTP server.
    Tftp,
    /// 4: Certificate Authority Proxy Function.
    Capf,
    /// 5: Survivable Remote Site Telephony.
    Srst,
    /// 7: HTTPS application server.
    AppServer,
    /// 21: Trust Verification Service (ITL).
    Tvs,
    /// Any other value, kept as read.
    Unknown(u16),
}

impl Role {
    /// Every named role, in code order.
    pub const NAMED: [Role; 8] = [
        Role::Sast,
        Role::Ccm,
        Role::CcmTftp,
        Role::Tftp,
        Role::Capf,
        Role::Srst,
        Role::AppServer,
        Role::Tvs,
    ];

    /// The wire value.
    pub fn code(self) -> u16 {
        match self {
            Role::Sast => 0,
            Role::Ccm => 1,
            Role::CcmTftp => 2,
            Role::Tftp => 3,
            Role::Capf => 4,
            Role::Srst => 5,
            Role::AppServer => 7,
            Role::Tvs => 21,
            Role::Unknown(code) => code,
        }
    }

    /// Short name as used in CUCM tooling (`SAST`, `CCM+TFTP`, …); `None` for unknown values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Role::Sast => "SAST",
            Role::Ccm => "CCM",
            Role::CcmTftp => "CCM+TFTP",
            Role::Tftp => "TFTP",
            Role::Capf => "CAPF",
            Role::Srst => "SRST",
            Role::AppServer => "APP-SERVER",
            Role::Tvs => "TVS",
            Role::Unknown(_) => return None,
        })
    }
}

impl From<u16> for Role {
    fn from(code: u16) -> Self {
        match code {
            0 => Role::Sast,
            1 => Role::Ccm,
            2 => Role::CcmTftp,
            3 => Role::Tftp,
            4 => Role::Capf,
            5 => Role::Srst,
            7 => Role::AppServer,
            21 => Role::Tvs,
            other => Role::Unknown(other),
        }
    }
}

impl From<Role> for u16 {
    fn from(role: Role) -> u16 {
        role.code()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown role {}", self.code()),
        }
    }
}

/// The digest algorithm of the file signature (header tag 8) or of a certificate hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digest {
    /// 1: SHA-1 (every known CUCM 10.x file).
    Sha1,
    /// 2: SHA-256 (code is a guess, see ctl-format.md).
    Sha256,
    /// 3: SHA-512.
    Sha512,
    /// Any other value, kept as read.
    Unknown(u8),
}

impl Digest {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Digest::Sha1 => 1,
            Digest::Sha256 => 2,
            Digest::Sha512 => 3,
            Digest::Unknown(code) => code,
        }
    }

    /// `SHA-1`, `SHA-256`, `SHA-512`; `None` for unknown values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Digest::Sha1 => "SHA-1",
            Digest::Sha256 => "SHA-256",
            Digest::Sha512 => "SHA-512",
            Digest::Unknown(_) => return None,
        })
    }
}

impl From<u8> for Digest {
    fn from(code: u8) -> Self {
        match code {
            1 => Digest::Sha1,
            2 => Digest::Sha256,
            3 => Digest::Sha512,
            other => Digest::Unknown(other),
        }
    }
}

impl From<Digest> for u8 {
    fn from(digest: Digest) -> u8 {
        digest.code()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown digest {}", self.code()),
        }
    }
}

/// RSA modulus size for a SIGNATUREMODULUS index (0 = 512 … 3 = 4096 bits).
pub fn key_bits_for_index(index: u8) -> Option<u32> {
    match index {
        0 => Some(512),
        1 => Some(1024),
        2 => Some(2048),
        3 => Some(4096),
        _ => None,
    }
}

/// SIGNATUREMODULUS index for a signature of `len` bytes, if Cisco defines one.
pub fn index_for_signature_len(len: usize) -> Option<u8> {
    match len {
        64 => Some(0),
        128 => Some(1),
        256 => Some(2),
        512 => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_every_u16() {
        for code in 0..=u16::MAX {
            assert_eq!(u16::from(Role::from(code)), code);
        }
    }

    #[test]
    fn digest_round_trips_every_u8() {
        for code in 0..=u8::MAX {
            assert_eq!(u8::from(Digest::from(code)), code);
        }
    }

    #[test]
    fn role_names_follow_cisco() {
        assert_eq!(Role::from(2).to_string(), "CCM+TFTP");
        assert_eq!(Role::from(7).to_string(), "APP-SERVER");
        assert_eq!(Role::from(21).to_string(), "TVS");
        assert_eq!(Role::from(6).to_string(), "unknown role 6");
    }
}
