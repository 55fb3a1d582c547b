//! Which servers to ask, and when: server addresses and the retry schedule.
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

/// The TFTP port CTI clients use.
pub const DEFAULT_TFTP_PORT: u16 = 69;

/// One TFTP server as given by the operator: `HOST[:PORT]`, where HOST is an IPv4
/// address, an IPv6 address (`[::1]:69`, or bare `::1` without a port) or a host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Address literal (IPv6 without brackets) or host name.
    pub host: String,
    /// UDP port.
    pub port: u16,
}

impl ServerSpec {
    /// The addresses to try, in resolver order (a literal gives exactly one).
    pub fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }
}

impl FromStr for ServerSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("server {text:?}: {why} (expected HOST[:PORT], IPv6 as [ADDR]:PORT)");
        let parse_port = |p: &str| match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad("port must be 1..65535")),
            Ok(port) => Ok(port),
        };
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if let Some(rest) = text.strip_prefix('[') {
            let Some((addr, after)) = rest.split_once(']') else {
                return Err(bad("missing ']'"));
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address inside [ ]"));
            }
            let port = match after {
                "" => DEFAULT_TFTP_PORT,
                _ => match after.strip_prefix(':') {
                    Some(p) => parse_port(p)?,
                    None => return Err(bad("unexpected text after ']'")),
                },
            };
            return Ok(ServerSpec {
                host: addr.to_owned(),
                port,
            });
        }
        if text.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok(ServerSpec {
                host: text.to_owned(),
                port: DEFAULT_TFTP_PORT,
            });
        }
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) => (host, parse_port(port)?),
            None => (text, DEFAULT_TFTP_PORT),
        };
        let name_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !name_ok {
            return Err(bad("not an address or host name"));
        }
        Ok(ServerSpec {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How often one server is retried before the next is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    retries: u8,
    interval: Duration,
}

/// A retry policy outside what CTI clients allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// More than 3 retries.
    #[error("--retries {0}: at most 3 retries (TSP allows 0..3)")]
    TooManyRetries(u32),
    /// Interval over 30 seconds.
    #[error("--retry-interval {0}s: at most 30 seconds")]
    IntervalTooLong(u64),
}

/// One planned download attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedAttempt {
    /// Index into the server list.
    pub server_index: usize,
    /// 1 for the first attempt on this server, 2.. for retries.
    pub attempt: u32,
    /// Pause before this attempt (after the previous attempt ended).
    pub wait_before: Duration,
}

impl RetryPolicy {
    /// Maximum retries per server.
    pub const MAX_RETRIES: u8 = 3;
    /// Maximum interval between attempts.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(30);

    /// The JTAPI client's fixed policy: 3 more attempts at 30-second intervals.
    pub const JTAPI: RetryPolicy = RetryPolicy {
        retries: 3,
        interval: Duration::from_secs(30),
    };

    /// The TSP's configurable policy: `retries` 0..=3, `interval` at most 30 s.
    pub fn new(retries: u32, interval: Duration) -> Result<RetryPolicy, PolicyError> {
        if retries > u32::from(Self::MAX_RETRIES) {
            return Err(PolicyError::TooManyRetries(retries));
        }
        if interval > Self::MAX_INTERVAL {
            return Err(PolicyError::IntervalTooLong(interval.as_secs()));
        }
        Ok(RetryPolicy {
            retries: retries as u8,
            interval,
        })
    }

    /// Retries after the first attempt on each server.
    pub fn retries(&self) -> u8 {
        self.retries
    }

    /// Pause between two attempts on the same server.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Every attempt on `servers` servers, in order: each server gets one attempt plus
    /// `retries`, separated by `interval`; the next server follows without a pause.
    pub fn schedule(&self, servers: usize) -> Vec<PlannedAttempt> {
        let mut plan = Vec::with_capacity(servers * (usize::from(self.retries) + 1));
        for server_index in 0..servers {
            for attempt in 1..=u32::from(self.retries) + 1 {
                plan.push(PlannedAttempt {
                    server_index,
                    attempt,
                    wait_before: if attempt == 1 {
                        Duration::ZERO
                    } else {
                        self.interval
                    },
                });
            }
        }
        plan
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::JTAPI
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<(String, u16), String> {
        text.parse::<ServerSpec>().map(|s| (s.host, s.port))
    }

    #[test]
    fn server_specs_cover_ipv4_ipv6_names_and_default_port() {
        assert_eq!(spec("10.0.0.1"), Ok(("10.0.0.1".into(), 69)));
        assert_eq!(spec("10.0.0.1:6969"), Ok(("10.0.0.1".into(), 6969)));
        assert_eq!(spec("[::1]:6969"), Ok(("::1".into(), 6969)));
        assert_eq!(spec("[fe80::1]"), Ok(("fe80::1".into(), 69)));
        assert_eq!(spec("::1"), Ok(("::1".into(), 69)));
        assert_eq!(
            spec("cucm-pub.example.com"),
            Ok(("cucm-pub.example.com".into(), 69))
        );
        assert_eq!(spec("cucm-pub:1069"), Ok(("cucm-pub".into(), 1069)));
        for bad in [
            "",
            "host:0",
            "host:99999",
            "[::1",
            "[nothost]:69",
            "[::1]x",
            "a b",
            ":69",
        ] {
            let err = spec(bad).unwrap_err();
            assert!(err.contains("HOST[:PORT]"), "{bad}: {err}");
        }
    }

    #[test]
    fn display_brackets_ipv6_and_round_trips() {
        for text in ["10.0.0.1:69", "[::1]:6969", "cucm:69"] {
            assert_eq!(text.parse::<ServerSpec>().unwrap().to_string(), text);
        }
        assert_eq!(
            "[::1]:6969".parse::<ServerSpec>().unwrap().resolve().unwrap(),
            vec!["[::1]:6969".parse().unwrap()]
        );
    }

    #[test]
    fn jtapi_policy_is_four_attempts_thirty_seconds_apart_per_server() {
        let plan = RetryPolicy::default().schedule(2);
        let summary: Vec<(usize, u32, u64)> = plan
            .iter()
            .map(|p| (p.server_index, p.attempt, p.wait_before.as_secs()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 1, 0),
                (0, 2, 30),
                (0, 3, 30),
                (0, 4, 30),
                (1, 1, 0),
                (1, 2, 30),
                (1, 3, 30),
                (1, 4, 30),
            ]
        );
    }

    #[test]
    fn tsp_policy_limits() {
        assert_eq!(
            RetryPolicy::new(4, Duration::from_secs(1)),
            Err(PolicyError::TooManyRetries(4))
        );
        assert_eq!(
            RetryPolicy::new(1, Duration::from_secs(31)),
            Err(PolicyError::IntervalTooLong(31))
        );
        let none = RetryPolicy::new(0, Duration::from_secs(5)).unwrap();
        assert_eq!(none.schedule(3).len(), 3);
        assert!(none.schedule(3).iter().all(|p| p.wait_before.is_zero()));
        let two = RetryPolicy::new(2, Duration::from_secs(7)).unwrap();
        let waits: Vec<u64> = two.schedule(1).iter().map(|p| p.wait_before.as_secs()).collect();
        assert_eq!(waits, vec![0, 7, 7]);
    }
}
