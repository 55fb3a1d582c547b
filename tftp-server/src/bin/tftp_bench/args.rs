//! Command line of `tftp-bench` (hand-parsed: a handful of flags, no extra dependency).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tftp_server::proto::{ClientOptions, RetransmitPolicy};

pub const USAGE: &str = "\
tftp-bench: load generator for TFTP servers on loopback (built on tftp-server's client session)

USAGE:
  tftp-bench storm --server ADDR [options]   N phones boot at once; each fetches
                                             CTLSEP<MAC>.tlv, ITLSEP<MAC>.tlv, SEP<MAC>.cnf.xml
  tftp-bench large --server ADDR --file NAME [options]
                                             fetch one big file K times, one after another
  tftp-bench macs [--phones N] [--first-mac HEX]
                                             print the MACs a storm will use, one per line
  tftp-bench table FILE [--ours LABEL] [--reference LABEL]
                                             markdown tables with ratios from the JSON
                                             lines of --json runs (default labels:
                                             \"ctl serve\", tftpd-hpa)

COMMON OPTIONS:
  --server ADDR         server address; must be loopback (127.0.0.0/8 or ::1)
  --profile P           none | blksize | window   (default: none)
                          none:    plain RFC 1350 request, 512-byte blocks, lockstep
                          blksize: blksize=1468
                          window:  blksize=1468 + windowsize=16
  --blksize N           override the profile's blksize
  --windowsize N        override the profile's windowsize (implies it is requested)
  --tsize               also request tsize
  --retransmit-ms MS    client's first retransmission wait (default 1000, doubling, max 8 s)
  --retries N           client retransmissions before giving up (default 5)
  --time-limit-s S      hard limit for the whole run (default 300); unfinished transfers
                        count as failures of kind time_limit
  --verify-root DIR     compare every file received with DIR/<name> (per-device names
                        fall back to CTLFile.tlv / ITLFile.tlv like the server's aliases)
  --label TEXT          name of the server under test, echoed in the report
  --server-pid PID      also report the CPU time that process (and its reaped children)
                        used during the run, from /proc (Linux)
  --json                print the report as one JSON object

STORM OPTIONS:
  --phones N            simulated phones (default 100)
  --concurrency C       phones booting at the same time at most (default: all)
  --ramp-ms MS          spread the phones' start times over MS milliseconds (default 0)
  --first-mac HEX       first MAC, 12 hex digits (default 001E4A000001); then +1 per phone
  --single-source       all phones use the server's IP; default: each phone gets its own
                        loopback IP (127.64.x.y), like real phones on a voice VLAN

LARGE OPTIONS:
  --file NAME           file to fetch
  --count K             downloads (default 3)
";

/// Which option set the simulated clients request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// No options.
    None,
    /// blksize 1468.
    Blksize,
    /// blksize 1468 + windowsize 16.
    Window,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::None => "none",
            Profile::Blksize => "blksize",
            Profile::Window => "window",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Storm,
    Large,
    Macs,
}

/// Everything the command line said.
#[derive(Clone, Debug)]
pub struct Args {
    pub mode: Mode,
    pub server: Option<SocketAddr>,
    pub profile: Profile,
    pub blksize: Option<u16>,
    pub windowsize: Option<u16>,
    pub tsize: bool,
    pub retransmit: Duration,
    pub retries: u32,
    pub time_limit: Duration,
    pub verify_root: Option<PathBuf>,
    pub label: Option<String>,
    pub server_pid: Option<u32>,
    pub json: bool,
    pub phones: u32,
    pub concurrency: Option<u32>,
    pub ramp: Duration,
    pub first_mac: u64,
    pub single_source: bool,
    pub file: Option<String>,
    pub count: u32,
}

/// Largest number of phones: bounds memory and the loopback addresses used.
pub const MAX_PHONES: u32 = 1_000_000;
/// Largest MAC value (48 bits).
const MAX_MAC: u64 = (1 << 48) - 1;

impl Args {
    /// The client options of the chosen profile and overrides.
    pub fn client_options(&self) -> ClientOptions {
        let (blksize, windowsize) = match self.profile {
            Profile::None => (None, None),
            Profile::Blksize => (Some(1468), None),
            Profile::Window => (Some(1468), Some(16)),
        };
        ClientOptions {
            blksize: self.blksize.or(blksize),
            windowsize: self.windowsize.or(windowsize),
            request_tsize: self.tsize,
            retransmit: RetransmitPolicy {
                initial: self.retransmit,
                max_interval: Duration::from_secs(8).max(self.retransmit),
                max_retransmissions: self.retries,
            },
            ..ClientOptions::default()
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse(arguments: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut arguments = arguments.into_iter();
    let mode = match arguments.next().as_deref() {
        Some("storm") => Mode::Storm,
        Some("large") => Mode::Large,
        Some("macs") => Mode::Macs,
        Some("-h" | "--help") => return Err(String::new()),
        Some(other) => return Err(format!("unknown mode {other:?} (expected storm, large or macs)")),
        None => return Err("missing mode (storm, large or macs)".to_string()),
    };
    let mut args = Args {
        mode,
        server: None,
        profile: Profile::None,
        blksize: None,
        windowsize: None,
        tsize: false,
        retransmit: Duration::from_secs(1),
        retries: 5,
        time_limit: Duration::from_secs(300),
        verify_root: None,
        label: None,
        server_pid: None,
        json: false,
        phones: 100,
        concurrency: None,
        ramp: Duration::ZERO,
        first_mac: 0x001E_4A00_0001,
        single_source: false,
        file: None,
        count: 3,
    };
    while let Some(flag) = arguments.next() {
        let mut value = || arguments.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => {
                let text = value()?;
                args.server = Some(
                    text.parse()
                        .map_err(|_| format!("--server {text:?} is not an address like 127.0.0.1:6969"))?,
                );
            }
            "--profile" => {
                args.profile = match value()?.as_str() {
                    "none" => Profile::None,
                    "blksize" => Profile::Blksize,
                    "window" => Profile::Window,
                    other => return Err(format!("--profile {other:?}: expected none, blksize or window")),
                }
            }
            "--blksize" => args.blksize = Some(number(&flag, &value()?, 8, 65464)? as u16),
            "--windowsize" => args.windowsize = Some(number(&flag, &value()?, 1, 65535)? as u16),
            "--tsize" => args.tsize = true,
            "--retransmit-ms" => {
                args.retransmit = Duration::from_millis(number(&flag, &value()?, 1, 60_000)?)
            }
            "--retries" => args.retries = number(&flag, &value()?, 0, 100)? as u32,
            "--time-limit-s" => args.time_limit = Duration::from_secs(number(&flag, &value()?, 1, 86_400)?),
            "--verify-root" => args.verify_root = Some(PathBuf::from(value()?)),
            "--label" => args.label = Some(value()?),
            "--server-pid" => args.server_pid = Some(number(&flag, &value()?, 1, u32::MAX.into())? as u32),
            "--json" => args.json = true,
            "--phones" => args.phones = number(&flag, &value()?, 1, MAX_PHONES.into())? as u32,
            "--concurrency" => {
                args.concurrency = Some(number(&flag, &value()?, 1, MAX_PHONES.into())? as u32)
            }
            "--ramp-ms" => args.ramp = Duration::from_millis(number(&flag, &value()?, 0, 3_600_000)?),
            "--first-mac" => {
                let text = value()?;
                if text.len() != 12 {
                    return Err(format!("--first-mac {text:?}: expected 12 hex digits"));
                }
                args.first_mac = u64::from_str_radix(&text, 16)
                    .map_err(|_| format!("--first-mac {text:?}: expected 12 hex digits"))?;
            }
            "--single-source" => args.single_source = true,
            "--file" => args.file = Some(value()?),
            "--count" => args.count = number(&flag, &value()?, 1, 10_000)? as u32,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if args.first_mac + u64::from(args.phones) - 1 > MAX_MAC {
        return Err("--first-mac + --phones runs past FFFFFFFFFFFF".to_string());
    }
    if args.mode != Mode::Macs {
        let server = args.server.ok_or("--server is required")?;
        // Loopback only: this tool floods its target.
        if !server.ip().is_loopback() {
            return Err(format!(
                "refusing to load {server}: tftp-bench only targets loopback addresses (127.0.0.0/8, ::1)"
            ));
        }
        if server.port() == 0 {
            return Err("--server needs a port".to_string());
        }
    }
    if args.mode == Mode::Large && args.file.is_none() {
        return Err("large mode needs --file NAME".to_string());
    }
    Ok(args)
}

fn number(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(format!(
            "{flag} {text:?}: expected a whole number in {min}..={max}"
        )),
    }
}

/// The MAC of phone `index` as 12 upper-case hex digits (the form phones use in names).
pub fn mac(first_mac: u64, index: u32) -> String {
    format!("{:012X}", first_mac + u64::from(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn non_loopback_server_is_refused() {
        let error = parse_line("storm --server 192.0.2.1:69").unwrap_err();
        assert!(error.contains("loopback"), "{error}");
        assert!(parse_line("storm --server [::1]:6969").is_ok());
        assert!(parse_line("storm --server 127.0.0.2:6969").is_ok());
    }

    #[test]
    fn profiles_request_the_documented_options() {
        let window = parse_line("storm --server 127.0.0.1:1 --profile window").unwrap();
        let options = window.client_options();
        assert_eq!((options.blksize, options.windowsize), (Some(1468), Some(16)));
        let none = parse_line("storm --server 127.0.0.1:1").unwrap().client_options();
        assert_eq!((none.blksize, none.windowsize), (None, None));
        let custom = parse_line("large --server 127.0.0.1:1 --file f --profile window --windowsize 32")
            .unwrap()
            .client_options();
        assert_eq!(custom.windowsize, Some(32));
    }

    #[test]
    fn macs_are_twelve_upper_case_hex_digits() {
        assert_eq!(mac(0x001E_4A00_00FF, 1), "001E4A000100");
        assert!(parse_line("macs --phones 2 --first-mac FFFFFFFFFFFF").is_err());
    }
}
