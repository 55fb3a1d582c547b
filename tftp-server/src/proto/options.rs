//! RFC 2347 option negotiation for read transfers: `blksize` (RFC 2348), `timeout` and
//! `tsize` (RFC 2349), `windowsize` (RFC 7440).
//!
//! Rules (server side, [`negotiate`]):
//! * option names are compared case-insensitively; the OACK echoes the client's spelling;
//! * unknown options, options with an unparsable or out-of-range value, and repeats of an
//!   option already seen are ignored (left out of the OACK);
//! * the OACK lists only accepted options, in the order the client sent them; when nothing
//!   is accepted there is no OACK and the transfer starts with DATA 1 (RFC 1350 behaviour).

use std::time::Duration;

use super::packet::TftpOption;

/// Option name `blksize` (RFC 2348).
pub const BLKSIZE: &str = "blksize";
/// Option name `timeout` (RFC 2349).
pub const TIMEOUT: &str = "timeout";
/// Option name `tsize` (RFC 2349).
pub const TSIZE: &str = "tsize";
/// Option name `windowsize` (RFC 7440).
pub const WINDOWSIZE: &str = "windowsize";

/// Block size of RFC 1350 (used when `blksize` is not negotiated).
pub const DEFAULT_BLKSIZE: u16 = 512;
/// Smallest valid `blksize` (RFC 2348).
pub const MIN_BLKSIZE: u16 = 8;
/// Largest valid `blksize` (RFC 2348).
pub const MAX_BLKSIZE: u16 = 65464;
/// Default server cap on `blksize`: 1468 + 4 (TFTP) + 8 (UDP) + 20 (IPv4) = 1500-byte MTU.
pub const DEFAULT_BLKSIZE_CAP: u16 = 1468;
/// Default server cap on `windowsize`.
pub const DEFAULT_WINDOWSIZE_CAP: u16 = 64;
/// Valid `timeout` values in seconds (RFC 2349).
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=255;
/// Default largest `timeout` accepted. A longer one is declined (left out of the OACK; the
/// server keeps its own policy): a client asking 255 s would otherwise hold a transfer slot
/// for about 25 minutes of retransmissions.
pub const DEFAULT_MAX_TIMEOUT_SECS: u8 = 30;

/// Exponential-backoff retransmission policy shared by server and client sessions.
///
/// After a send that expects an answer, the session waits `initial`; each retransmission
/// doubles the wait, capped at `max_interval`; after `max_retransmissions` retransmissions
/// without progress it waits one more interval and gives up. Progress (a new ACK, a new
/// block) resets the wait to `initial`. The total time without progress before giving up is
/// therefore bounded by [`RetransmitPolicy::give_up_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetransmitPolicy {
    /// First wait (replaced by the negotiated RFC 2349 `timeout` when there is one).
    pub initial: Duration,
    /// Cap on one wait.
    pub max_interval: Duration,
    /// Retransmissions before giving up.
    pub max_retransmissions: u32,
}

impl Default for RetransmitPolicy {
    /// 1 s, doubling up to 8 s, 5 retransmissions: gives up after 31 s without progress.
    fn default() -> Self {
        RetransmitPolicy {
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(8),
            max_retransmissions: 5,
        }
    }
}

impl RetransmitPolicy {
    /// Total time without progress after which a session gives up.
    pub fn give_up_after(&self) -> Duration {
        let mut interval = self.initial;
        let mut total = interval;
        for _ in 0..self.max_retransmissions {
            interval = next_interval(interval, self.max_interval);
            total = total.saturating_add(interval);
        }
        total
    }

    /// The policy with `initial` replaced by a negotiated timeout (the cap is raised to it
    /// if needed, so the first wait is never shortened).
    pub fn with_initial(self, initial: Duration) -> Self {
        RetransmitPolicy {
            initial,
            max_interval: self.max_interval.max(initial),
            ..self
        }
    }
}

pub(crate) fn next_interval(interval: Duration, cap: Duration) -> Duration {
    // Never shrink: a wait already above the cap stays as it is.
    interval.saturating_mul(2).min(cap.max(interval))
}

/// Server limits applied while negotiating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegotiationLimits {
    /// Largest block size granted (clamped into 8..=65464). Default 1468.
    pub max_blksize: u16,
    /// Largest window granted (at least 1). Default 64.
    pub max_windowsize: u16,
    /// Largest `timeout` (seconds) accepted; longer ones are declined, since RFC 2349 lets
    /// a server only echo or refuse it. Default 30.
    pub max_timeout_secs: u8,
}

impl Default for NegotiationLimits {
    fn default() -> Self {
        NegotiationLimits {
            max_blksize: DEFAULT_BLKSIZE_CAP,
            max_windowsize: DEFAULT_WINDOWSIZE_CAP,
            max_timeout_secs: DEFAULT_MAX_TIMEOUT_SECS,
        }
    }
}

/// Outcome of negotiation: the transfer parameters and the OACK to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Block size in bytes (512 when not negotiated).
    pub blksize: u16,
    /// Window size in blocks (1 when not negotiated).
    pub windowsize: u16,
    /// Accepted RFC 2349 timeout in seconds (the retransmission interval to start from).
    pub timeout_secs: Option<u8>,
    /// Transfer size announced in the OACK, if the client asked for `tsize`.
    pub tsize: Option<u64>,
    /// Options to put in the OACK; empty means "send no OACK, start with DATA 1".
    pub oack: Vec<TftpOption>,
}

impl Default for Negotiated {
    fn default() -> Self {
        Negotiated {
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            timeout_secs: None,
            tsize: None,
            oack: Vec::new(),
        }
    }
}

/// Parses a decimal option value: ASCII digits only (no sign, no spaces), at most 20 digits.
pub fn parse_number(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Negotiates the options of a read request for a transfer of `transfer_size` bytes (the
/// size on the wire, i.e. after netascii conversion).
pub fn negotiate(requested: &[TftpOption], transfer_size: u64, limits: &NegotiationLimits) -> Negotiated {
    let blksize_cap = limits.max_blksize.clamp(MIN_BLKSIZE, MAX_BLKSIZE);
    let windowsize_cap = limits.max_windowsize.max(1);
    let mut negotiated = Negotiated::default();
    let mut seen = [false; 4];
    for option in requested {
        let names = [BLKSIZE, TIMEOUT, TSIZE, WINDOWSIZE];
        let Some(index) = names
            .iter()
            .position(|name| option.name.eq_ignore_ascii_case(name))
        else {
            continue; // unknown option: ignored
        };
        if seen[index] {
            continue; // a repeated option: the first one counts
        }
        let Some(value) = parse_number(&option.value) else {
            continue;
        };
        let answer = match names[index] {
            BLKSIZE => {
                if !(u64::from(MIN_BLKSIZE)..=u64::from(MAX_BLKSIZE)).contains(&value) {
                    continue;
                }
                let granted = (value as u16).min(blksize_cap);
                negotiated.blksize = granted;
                granted.to_string()
            }
            TIMEOUT => {
                if !TIMEOUT_RANGE.contains(&value) || value > u64::from(limits.max_timeout_secs) {
                    continue;
                }
                negotiated.timeout_secs = Some(value as u8);
                value.to_string()
            }
            TSIZE => {
                negotiated.tsize = Some(transfer_size);
                transfer_size.to_string()
            }
            _ => {
                if !(1..=u64::from(u16::MAX)).contains(&value) {
                    continue;
                }
                let granted = (value as u16).min(windowsize_cap);
                negotiated.windowsize = granted;
                granted.to_string()
            }
        };
        seen[index] = true;
        negotiated.oack.push(TftpOption::new(option.name.clone(), answer));
    }
    negotiated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<TftpOption> {
        pairs.iter().map(|(n, v)| TftpOption::new(*n, *v)).collect()
    }

    #[test]
    fn no_options_means_no_oack_and_rfc1350_defaults() {
        let negotiated = negotiate(&[], 10, &NegotiationLimits::default());
        assert_eq!(negotiated, Negotiated::default());
        assert_eq!(negotiated.blksize, 512);
    }

    #[test]
    fn blksize_outside_rfc_range_is_ignored() {
        for value in [
            "7",
            "65465",
            "0",
            "-1",
            "+512",
            " 512",
            "",
            "99999999999999999999999",
        ] {
            let negotiated = negotiate(&opts(&[("blksize", value)]), 0, &NegotiationLimits::default());
            assert!(negotiated.oack.is_empty(), "value {value:?} accepted");
            assert_eq!(negotiated.blksize, 512);
        }
    }

    #[test]
    fn repeated_option_first_wins() {
        let negotiated = negotiate(
            &opts(&[("blksize", "1024"), ("BLKSIZE", "8")]),
            0,
            &NegotiationLimits::default(),
        );
        assert_eq!(negotiated.blksize, 1024);
        assert_eq!(negotiated.oack, opts(&[("blksize", "1024")]));
    }

    #[test]
    fn timeout_out_of_range_is_ignored_and_valid_is_echoed() {
        let limits = NegotiationLimits::default();
        assert!(negotiate(&opts(&[("timeout", "0")]), 0, &limits).oack.is_empty());
        assert!(negotiate(&opts(&[("timeout", "256")]), 0, &limits)
            .oack
            .is_empty());
        let negotiated = negotiate(&opts(&[("timeout", "30")]), 0, &limits);
        assert_eq!(negotiated.timeout_secs, Some(30));
        assert_eq!(negotiated.oack, opts(&[("timeout", "30")]));
        // Above the server's cap (default 30 s) it is declined, not shortened.
        let negotiated = negotiate(&opts(&[("timeout", "31")]), 0, &limits);
        assert_eq!(negotiated.timeout_secs, None);
        assert!(negotiated.oack.is_empty());
        let generous = NegotiationLimits {
            max_timeout_secs: 255,
            ..limits
        };
        let negotiated = negotiate(&opts(&[("timeout", "255")]), 0, &generous);
        assert_eq!(negotiated.timeout_secs, Some(255));
        assert_eq!(negotiated.oack, opts(&[("timeout", "255")]));
    }

    #[test]
    fn tsize_is_answered_with_transfer_size() {
        let negotiated = negotiate(&opts(&[("tsize", "0")]), 123_456, &NegotiationLimits::default());
        assert_eq!(negotiated.tsize, Some(123_456));
        assert_eq!(negotiated.oack, opts(&[("tsize", "123456")]));
    }

    #[test]
    fn windowsize_is_capped_and_zero_ignored() {
        let limits = NegotiationLimits {
            max_windowsize: 16,
            ..Default::default()
        };
        let negotiated = negotiate(&opts(&[("windowsize", "100")]), 0, &limits);
        assert_eq!(negotiated.windowsize, 16);
        assert_eq!(negotiated.oack, opts(&[("windowsize", "16")]));
        assert!(negotiate(&opts(&[("windowsize", "0")]), 0, &limits)
            .oack
            .is_empty());
    }

    #[test]
    fn default_policy_gives_up_after_31_seconds() {
        assert_eq!(
            RetransmitPolicy::default().give_up_after(),
            Duration::from_secs(1 + 2 + 4 + 8 + 8 + 8)
        );
    }
}
