//! Client side of a read transfer: [`ClientSession`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::netascii;
use super::options::{
    parse_number, RetransmitPolicy, BLKSIZE, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE, TIMEOUT,
    TIMEOUT_RANGE, TSIZE, WINDOWSIZE,
};
use super::packet::{encode_ack, ErrorCode, ErrorPacket, Mode, Packet, Request, TftpOption};
use super::timer::{Backoff, Expiry};
use super::{Transmit, MAX_QUEUED_STRANGER_ERRORS};

/// Longest RRQ RFC 2347 allows (512 bytes).
pub const MAX_REQUEST_LEN: usize = 512;

/// What the client asks for and how patiently. `Default` sends a plain RFC 1350 octet
/// request with no options, like tftp-hpa's `tftp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Requested `blksize` (8..=65464); `None` sends no option (512-byte blocks).
    pub blksize: Option<u16>,
    /// Requested `windowsize` (1..=65535); `None` sends no option (lockstep).
    pub windowsize: Option<u16>,
    /// Requested RFC 2349 `timeout` in seconds (1..=255); also the client's own first
    /// retransmission wait when accepted.
    pub timeout_secs: Option<u8>,
    /// Ask for `tsize` (the server's answer is in [`ClientSession::announced_size`]).
    pub request_tsize: bool,
    /// `true` requests netascii and converts the result back to local bytes.
    pub netascii: bool,
    /// Client retransmission policy (RRQ and ACK retransmissions).
    pub retransmit: RetransmitPolicy,
    /// Largest file accepted; beyond it the client sends ERROR 3 and fails. This bounds
    /// the memory a hostile server can make the client use.
    pub max_file_size: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            blksize: None,
            windowsize: None,
            timeout_secs: None,
            request_tsize: false,
            netascii: false,
            retransmit: RetransmitPolicy::default(),
            max_file_size: 1 << 30,
        }
    }
}

/// Why a request cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Empty file name.
    #[error("the file name is empty")]
    EmptyFilename,
    /// The file name contains a NUL byte, which TFTP cannot carry.
    #[error("the file name contains a NUL byte at offset {offset}")]
    NulInFilename {
        /// Offset of the NUL in the name.
        offset: usize,
    },
    /// An option value is outside its RFC range.
    #[error("option {option} = {value} is outside its valid range {range}")]
    OptionOutOfRange {
        /// Option name.
        option: &'static str,
        /// Requested value.
        value: u64,
        /// Valid range, for the message.
        range: &'static str,
    },
    /// The encoded RRQ would exceed 512 bytes (RFC 2347).
    #[error("the request would be {len} bytes, more than the 512 allowed")]
    TooLong {
        /// Encoded length.
        len: usize,
    },
}

/// How a client transfer failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientFailure {
    /// The server answered ERROR.
    #[error("server sent error {code}: {message}")]
    ServerError {
        /// Code sent by the server.
        code: ErrorCode,
        /// Message sent by the server.
        message: String,
    },
    /// No answer (to the RRQ) or no progress (during the transfer) within the budget.
    #[error("timed out {waiting_for} after {retransmissions} retransmissions")]
    TimedOut {
        /// "waiting for the server" or "waiting for data".
        waiting_for: &'static str,
        /// Retransmissions made before giving up.
        retransmissions: u32,
    },
    /// The server's OACK was unacceptable; ERROR 8 was sent to it.
    #[error("option negotiation failed: {0}")]
    BadOack(String),
    /// The file exceeds [`ClientOptions::max_file_size`]; ERROR 3 was sent.
    #[error("the file exceeds the {limit}-byte limit")]
    TooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// The server broke the protocol (e.g. a block longer than blksize); ERROR 4 was sent.
    #[error("protocol violation by the server: {0}")]
    Protocol(&'static str),
}

/// Events of a client session (exactly one per session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The whole file (netascii already converted back when requested).
    Done(Vec<u8>),
    /// The transfer failed.
    Failed(ClientFailure),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// RRQ sent, no reply yet.
    Requesting,
    /// Locked to the server's TID, receiving blocks.
    Transferring,
    /// File complete, final ACK sent; re-ACKs a retransmitted final block until the dally
    /// deadline.
    Dallying,
    /// Over.
    Ended,
}

/// The client side of one read transfer (sans-IO).
///
/// TID locking: before the first reply, datagrams are accepted only from the server's IP
/// address (any port); the first OACK/DATA fixes the peer's address and port. Afterwards
/// datagrams from anyone else get ERROR 5 and are otherwise ignored.
#[derive(Debug)]
pub struct ClientSession {
    server: SocketAddr,
    peer: Option<SocketAddr>,
    state: State,
    request: Vec<u8>,
    requested: ClientOptions,
    options_sent: bool,
    rrq_pending: bool,
    ack_pending: Option<u16>,
    /// A re-ACK for an out-of-order block was already sent since the last progress.
    gap_acked: bool,
    blksize: u16,
    windowsize: u16,
    /// Next block expected, counted from 1 without wrapping.
    expected: u64,
    /// In-order blocks received since the last ACK sent.
    since_ack: u16,
    announced_size: Option<u64>,
    received: Vec<u8>,
    dally: Duration,
    timer: Backoff,
    outgoing_errors: VecDeque<(SocketAddr, ErrorPacket)>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    /// Prepares the RRQ for `filename` at `server` (ready in
    /// [`poll_transmit`](Self::poll_transmit)); the retransmission timer runs from `now`.
    pub fn new(
        now: Instant,
        server: SocketAddr,
        filename: &str,
        options: &ClientOptions,
    ) -> Result<Self, RequestError> {
        if filename.is_empty() {
            return Err(RequestError::EmptyFilename);
        }
        if let Some(offset) = filename.bytes().position(|b| b == 0) {
            return Err(RequestError::NulInFilename { offset });
        }
        let mut request_options = Vec::new();
        if let Some(blksize) = options.blksize {
            if !(MIN_BLKSIZE..=MAX_BLKSIZE).contains(&blksize) {
                return Err(RequestError::OptionOutOfRange {
                    option: BLKSIZE,
                    value: blksize.into(),
                    range: "8..=65464",
                });
            }
            request_options.push(TftpOption::new(BLKSIZE, blksize.to_string()));
        }
        if let Some(windowsize) = options.windowsize {
            if windowsize == 0 {
                return Err(RequestError::OptionOutOfRange {
                    option: WINDOWSIZE,
                    value: 0,
                    range: "1..=65535",
                });
            }
            request_options.push(TftpOption::new(WINDOWSIZE, windowsize.to_string()));
        }
        if let Some(timeout) = options.timeout_secs {
            if timeout == 0 {
                return Err(RequestError::OptionOutOfRange {
                    option: TIMEOUT,
                    value: 0,
                    range: "1..=255",
                });
            }
            request_options.push(TftpOption::new(TIMEOUT, timeout.to_string()));
        }
        if options.request_tsize {
            request_options.push(TftpOption::new(TSIZE, "0"));
        }
        let options_sent = !request_options.is_empty();
        let request = Packet::Rrq(Request {
            filename: filename.to_owned(),
            mode: if options.netascii {
                Mode::Netascii
            } else {
                Mode::Octet
            },
            options: request_options,
        })
        .to_datagram();
        if request.len() > MAX_REQUEST_LEN {
            return Err(RequestError::TooLong { len: request.len() });
        }
        let mut timer = Backoff::new(options.retransmit);
        timer.restart(now);
        Ok(ClientSession {
            server,
            peer: None,
            state: State::Requesting,
            request,
            requested: options.clone(),
            options_sent,
            rrq_pending: true,
            ack_pending: None,
            gap_acked: false,
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            expected: 1,
            since_ack: 0,
            announced_size: None,
            received: Vec::new(),
            dally: options.retransmit.initial,
            timer,
            outgoing_errors: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// The server's transfer address once locked (its first reply's source).
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Negotiated block size (512 until an OACK says otherwise).
    pub fn blksize(&self) -> u16 {
        self.blksize
    }

    /// Negotiated window size (1 until an OACK says otherwise).
    pub fn windowsize(&self) -> u16 {
        self.windowsize
    }

    /// The `tsize` the server announced, if asked and answered.
    pub fn announced_size(&self) -> Option<u64> {
        self.announced_size
    }

    /// Bytes received so far (on the wire, before netascii conversion).
    pub fn bytes_received(&self) -> u64 {
        self.received.len() as u64
    }

    /// True once the session has nothing left to do: failed, or completed and dallied.
    pub fn is_finished(&self) -> bool {
        self.state == State::Ended && self.outgoing_errors.is_empty()
    }

    /// Feeds one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        match self.peer {
            Some(peer) if from != peer => {
                if self.state != State::Ended && self.outgoing_errors.len() < MAX_QUEUED_STRANGER_ERRORS {
                    self.outgoing_errors.push_back((
                        from,
                        ErrorPacket::new(ErrorCode::UNKNOWN_TID, "unknown transfer ID"),
                    ));
                }
                return;
            }
            // Before locking only the server host may answer (from any port).
            None if from.ip() != self.server.ip() => return,
            _ => {}
        }
        let Ok(packet) = Packet::parse(datagram) else {
            return;
        };
        match (self.state, packet) {
            (State::Ended, _) => {}
            (_, Packet::Error(error)) if self.state != State::Dallying => {
                self.fail(ClientFailure::ServerError {
                    code: error.code,
                    message: error.message,
                })
            }
            (State::Requesting, Packet::Oack { options }) => {
                self.peer = Some(from);
                self.state = State::Transferring;
                match self.accept_oack(&options) {
                    Ok(()) => {
                        self.ack_pending = Some(0);
                        self.timer.restart(now);
                    }
                    Err(reason) => {
                        self.send_error_and_fail(
                            ErrorCode::OPTION_NEGOTIATION,
                            ClientFailure::BadOack(reason),
                        );
                    }
                }
            }
            (State::Requesting, Packet::Data { block: 1, data }) => {
                // No OACK: the server ignored our options; RFC 1350 defaults apply.
                self.peer = Some(from);
                self.state = State::Transferring;
                self.receive_block(now, 1, data);
            }
            (State::Transferring, Packet::Data { block, data }) => self.receive_block(now, block, data),
            (State::Transferring, Packet::Oack { .. }) if self.expected == 1 => {
                // Our ACK 0 was lost and the server repeated its OACK.
                self.reack_once();
            }
            (State::Dallying, Packet::Data { block, .. }) if block == (self.expected - 1) as u16 => {
                // The final ACK was lost: acknowledge the final block again.
                self.ack_pending = Some(block);
            }
            _ => {}
        }
    }

    fn accept_oack(&mut self, options: &[TftpOption]) -> Result<(), String> {
        if !self.options_sent {
            return Err("OACK received but no option was requested".into());
        }
        for option in options {
            let value = parse_number(&option.value)
                .ok_or_else(|| format!("option {} has non-numeric value", option.name))?;
            let name = option.name.to_ascii_lowercase();
            match name.as_str() {
                BLKSIZE => match self.requested.blksize {
                    Some(asked) if (u64::from(MIN_BLKSIZE)..=u64::from(asked)).contains(&value) => {
                        self.blksize = value as u16
                    }
                    _ => return Err(format!("blksize {value} was not offered")),
                },
                WINDOWSIZE => match self.requested.windowsize {
                    Some(asked) if (1..=u64::from(asked)).contains(&value) => self.windowsize = value as u16,
                    _ => return Err(format!("windowsize {value} was not offered")),
                },
                TIMEOUT => match self.requested.timeout_secs {
                    Some(asked) if value == u64::from(asked) && TIMEOUT_RANGE.contains(&value) => {
                        let policy = self.requested.retransmit.with_initial(Duration::from_secs(value));
                        self.timer.set_policy(policy);
                        self.dally = policy.initial;
                    }
                    _ => return Err(format!("timeout {value} was not offered")),
                },
                TSIZE if self.requested.request_tsize => {
                    if value > self.requested.max_file_size {
                        return Err(format!(
                            "file of {value} bytes exceeds the {}-byte limit",
                            self.requested.max_file_size
                        ));
                    }
                    self.announced_size = Some(value);
                }
                _ => return Err(format!("option {} was not requested", option.name)),
            }
        }
        Ok(())
    }

    fn receive_block(&mut self, now: Instant, block: u16, data: &[u8]) {
        if block != self.expected as u16 {
            // Half the block-number space behind `expected` counts as the past.
            let is_old_duplicate = block.wrapping_sub(self.expected as u16) >= 0x8000;
            if is_old_duplicate && self.windowsize > 1 {
                // In a window, a repeated block is a network duplicate or a window the
                // server resent; re-ACKing it mid-window would make the server restart
                // a window still in flight. Our own timer re-ACKs if we stall.
                return;
            }
            // A gap, or (lockstep) a repeated block whose ACK was lost: tell the server
            // where we are, once until the next progress.
            self.reack_once();
            return;
        }
        if data.len() > usize::from(self.blksize) {
            self.send_error_and_fail(
                ErrorCode::ILLEGAL_OPERATION,
                ClientFailure::Protocol("data block longer than the negotiated blksize"),
            );
            return;
        }
        if self.received.len() as u64 + data.len() as u64 > self.requested.max_file_size {
            let limit = self.requested.max_file_size;
            self.send_error_and_fail(ErrorCode::DISK_FULL, ClientFailure::TooLarge { limit });
            return;
        }
        self.received.extend_from_slice(data);
        self.expected += 1;
        self.since_ack += 1;
        self.gap_acked = false;
        if data.len() < usize::from(self.blksize) {
            self.ack_pending = Some(block);
            self.state = State::Dallying;
            self.timer.arm_once(now, self.dally);
            let file = std::mem::take(&mut self.received);
            let file = if self.requested.netascii {
                netascii::decode(&file)
            } else {
                file
            };
            self.events.push_back(ClientEvent::Done(file));
            return;
        }
        if self.since_ack >= self.windowsize {
            self.ack_pending = Some(block);
            self.since_ack = 0;
        }
        self.timer.restart(now);
    }

    fn reack_once(&mut self) {
        if !self.gap_acked {
            self.gap_acked = true;
            self.since_ack = 0;
            self.ack_pending = Some((self.expected - 1) as u16);
        }
    }

    fn send_error_and_fail(&mut self, code: ErrorCode, failure: ClientFailure) {
        if let Some(peer) = self.peer {
            self.outgoing_errors
                .push_back((peer, ErrorPacket::new(code, failure.to_string())));
        }
        self.fail(failure);
    }

    fn fail(&mut self, failure: ClientFailure) {
        self.state = State::Ended;
        self.rrq_pending = false;
        self.ack_pending = None;
        self.timer.disarm();
        self.events.push_back(ClientEvent::Failed(failure));
    }

    /// The next datagram to send: written into `buf` (cleared first); returns where to
    /// send it. Call until `None` after every input.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        buf.clear();
        if let Some((destination, error)) = self.outgoing_errors.pop_front() {
            Packet::Error(error).encode(buf);
            return Some(Transmit { destination });
        }
        if self.rrq_pending {
            self.rrq_pending = false;
            buf.extend_from_slice(&self.request);
            return Some(Transmit {
                destination: self.server,
            });
        }
        let block = self.ack_pending.take()?;
        encode_ack(block, buf);
        Some(Transmit {
            destination: self.peer.unwrap_or(self.server),
        })
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer.deadline()
    }

    /// On a passed deadline: retransmits the RRQ (no reply yet) or the last ACK (no
    /// progress), with exponential backoff; gives up when the budget is spent; ends the
    /// dally period after completion. Calls before the deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Ended => {}
            State::Dallying => {
                if self.timer.is_due(now) {
                    self.timer.disarm();
                    self.state = State::Ended;
                }
            }
            State::Requesting | State::Transferring => match self.timer.expire(now) {
                Expiry::NotDue => {}
                Expiry::Retransmit if self.state == State::Requesting => self.rrq_pending = true,
                Expiry::Retransmit => {
                    self.since_ack = 0;
                    self.gap_acked = false;
                    self.ack_pending = Some((self.expected - 1) as u16);
                }
                Expiry::GiveUp => {
                    let waiting_for = if self.state == State::Requesting {
                        "waiting for the server"
                    } else {
                        "waiting for data"
                    };
                    self.fail(ClientFailure::TimedOut {
                        waiting_for,
                        retransmissions: self.requested.retransmit.max_retransmissions,
                    })
                }
            },
        }
    }

    /// The next event (one per session: done or failed).
    pub fn poll(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
