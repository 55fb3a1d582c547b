//! Server side of a read transfer: [`ServerSession`], plus [`classify_initial`] for the
//! datagrams arriving on the listening port.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::netascii;
use super::options::{negotiate, Negotiated, NegotiationLimits, RetransmitPolicy};
use super::packet::{encode_data, ErrorCode, ErrorPacket, Mode, Packet, Request};
use super::timer::{Backoff, Expiry};
use super::{Transmit, MAX_QUEUED_STRANGER_ERRORS};

/// Server configuration for one transfer (the shell keeps one and passes it to every
/// session).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// Caps on `blksize` (default 1468) and `windowsize` (default 64).
    pub limits: NegotiationLimits,
    /// Retransmission policy (the client's RFC 2349 `timeout` replaces its `initial`).
    pub retransmit: RetransmitPolicy,
}

/// What to do with a datagram that arrived on the listening port (69).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Initial {
    /// A read request with a supported mode (octet or netascii): look up
    /// `request.filename`; then either [`ServerSession::new`] or answer
    /// [`file_not_found`].
    Read(Request),
    /// Send this ERROR back to the sender and keep no state (WRQ, `mail` or unknown mode,
    /// malformed request).
    Reject(ErrorPacket),
    /// Drop silently: DATA/ACK/ERROR/OACK have no business on the listening port, and
    /// answering them could start an error ping-pong with another server.
    Ignore,
}

/// Triage of a datagram received on the listening port. Never panics.
pub fn classify_initial(datagram: &[u8]) -> Initial {
    match Packet::parse(datagram) {
        Ok(Packet::Rrq(request)) => match request.mode {
            Mode::Octet | Mode::Netascii => Initial::Read(request),
            Mode::Mail => Initial::Reject(ErrorPacket::new(
                ErrorCode::ILLEGAL_OPERATION,
                "mail mode is not supported",
            )),
            Mode::Other(_) => Initial::Reject(ErrorPacket::new(
                ErrorCode::ILLEGAL_OPERATION,
                "unknown transfer mode (use octet or netascii)",
            )),
        },
        Ok(Packet::Wrq(_)) => Initial::Reject(write_refused()),
        Ok(_) => Initial::Ignore,
        // A datagram too short to carry an opcode, or with an unknown opcode, is noise.
        Err(super::ParseError::TooShort { .. } | super::ParseError::UnknownOpcode { .. }) => Initial::Ignore,
        Err(error) => Initial::Reject(ErrorPacket::new(
            ErrorCode::ILLEGAL_OPERATION,
            format!("malformed request: {error}"),
        )),
    }
}

/// The ERROR 2 answering any WRQ: this server is read-only.
pub fn write_refused() -> ErrorPacket {
    ErrorPacket::new(ErrorCode::ACCESS_VIOLATION, "server is read-only")
}

/// The ERROR 1 for a name the catalog does not serve. The message names no server path.
pub fn file_not_found() -> ErrorPacket {
    ErrorPacket::new(ErrorCode::FILE_NOT_FOUND, "file not found")
}

/// How a server transfer ended without completing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServerFailure {
    /// The client sent ERROR (e.g. 8 rejecting the OACK); the transfer ended at once.
    #[error("client sent error {code}: {message}")]
    PeerError {
        /// Code sent by the client.
        code: ErrorCode,
        /// Message sent by the client.
        message: String,
    },
    /// No progress within the retransmission budget.
    #[error("timed out after {retransmissions} retransmissions")]
    TimedOut {
        /// Retransmissions made before giving up.
        retransmissions: u32,
    },
    /// The shell ended the transfer with [`ServerSession::abort`].
    #[error("aborted by the server: {0}")]
    Aborted(String),
}

/// Events of a server session (exactly one per session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// The last block was acknowledged.
    Completed,
    /// The transfer ended without completing.
    Failed(ServerFailure),
}

/// Counters for the transfer log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// DATA datagrams produced (including retransmissions).
    pub data_sent: u64,
    /// Timer-driven retransmission rounds.
    pub retransmissions: u64,
    /// ACKs ignored because they acknowledged nothing new.
    pub duplicate_acks: u64,
    /// Datagrams from other addresses (answered with ERROR 5 while under the cap).
    pub stranger_datagrams: u64,
    /// Datagrams from the peer that did not parse or were out of place.
    pub ignored_datagrams: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// OACK sent; waiting for ACK 0.
    AwaitingOackAck,
    /// Sending blocks.
    Transferring,
    /// Ended (completed or failed); only queued errors may still be sent.
    Ended,
}

/// The server side of one read transfer.
///
/// Serves one immutable snapshot of the file (a [`Bytes`] clone is cheap), so the client
/// gets one consistent version even if the catalog swaps the file meanwhile. Holds no
/// copy of the file (except the converted copy in netascii mode); memory is bounded by
/// the snapshot plus a few queued ERROR packets.
#[derive(Debug)]
pub struct ServerSession {
    peer: SocketAddr,
    data: Bytes,
    negotiated: Negotiated,
    state: State,
    /// Whether the OACK still has to be handed to `poll_transmit`.
    oack_pending: bool,
    /// Highest block acknowledged, counted from 1 without wrapping (0 = none yet).
    acked: u64,
    /// Next block to hand to `poll_transmit` in the current window.
    next_send: u64,
    /// Last block of the current window (inclusive).
    window_end: u64,
    /// Highest block ever handed out (ACKs above it are bogus).
    highest_sent: u64,
    /// Number of the final block (the first one shorter than `blksize`).
    last_block: u64,
    timer: Backoff,
    outgoing_errors: VecDeque<(SocketAddr, ErrorPacket)>,
    events: VecDeque<ServerEvent>,
    stats: TransferStats,
}

impl ServerSession {
    /// Starts serving `request` (already accepted by [`classify_initial`]) to `peer` from
    /// the snapshot `file`. The first datagram (OACK, or DATA 1 when no option was
    /// accepted) is ready in [`poll_transmit`](Self::poll_transmit) and the retransmission
    /// timer runs from `now`.
    ///
    /// Netascii requests are converted (see [`super::netascii`]); any other mode than
    /// octet is treated as octet (the shell should have rejected it via
    /// [`classify_initial`]).
    pub fn new(
        now: Instant,
        peer: SocketAddr,
        request: &Request,
        file: Bytes,
        config: &ServerConfig,
    ) -> Self {
        let data = match request.mode {
            Mode::Netascii => Bytes::from(netascii::encode(&file)),
            _ => file,
        };
        let negotiated = negotiate(&request.options, data.len() as u64, &config.limits);
        let mut policy = config.retransmit;
        if let Some(secs) = negotiated.timeout_secs {
            policy = policy.with_initial(Duration::from_secs(u64::from(secs)));
        }
        let last_block = data.len() as u64 / u64::from(negotiated.blksize) + 1;
        let mut session = ServerSession {
            peer,
            data,
            state: State::AwaitingOackAck,
            oack_pending: false,
            acked: 0,
            next_send: 1,
            window_end: 0,
            highest_sent: 0,
            last_block,
            timer: Backoff::new(policy),
            outgoing_errors: VecDeque::new(),
            events: VecDeque::new(),
            stats: TransferStats::default(),
            negotiated,
        };
        if session.negotiated.oack.is_empty() {
            session.start_window(now, 1);
        } else {
            session.oack_pending = true;
            session.timer.restart(now);
        }
        session
    }

    /// The client's address and port: the transfer's TID and the shell's session key. A
    /// repeated RRQ from this same address must not start a second session while this one
    /// lives (this session's own timer retransmits; see the module docs of `proto`).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Negotiated parameters (blksize, windowsize, tsize, the OACK sent).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Bytes on the wire for the whole file (after netascii conversion).
    pub fn transfer_size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Counters for logging.
    pub fn stats(&self) -> TransferStats {
        self.stats
    }

    /// True once the transfer ended and every queued datagram was handed out: the shell
    /// can drop the session and close its socket.
    pub fn is_finished(&self) -> bool {
        self.state == State::Ended && self.outgoing_errors.is_empty()
    }

    /// Feeds one datagram received on the transfer's socket from `from`.
    ///
    /// * from another address than [`peer`](Self::peer): ERROR 5 is queued for `from`
    ///   (at most a few at a time) and the transfer continues untouched;
    /// * ERROR from the peer: the transfer ends at once ([`ServerFailure::PeerError`]);
    /// * ACK of a block not yet acknowledged: the next window is sent (after a partial
    ///   window ACK, from the block after the acknowledged one);
    /// * an ACK that acknowledges nothing new is ignored: **it never resends data**
    ///   (Sorcerer's Apprentice); only the timer retransmits;
    /// * anything else (malformed, DATA, requests, OACK) is ignored.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if from != self.peer {
            self.stats.stranger_datagrams += 1;
            if self.outgoing_errors.len() < MAX_QUEUED_STRANGER_ERRORS {
                self.outgoing_errors.push_back((
                    from,
                    ErrorPacket::new(ErrorCode::UNKNOWN_TID, "unknown transfer ID"),
                ));
            }
            return;
        }
        if self.state == State::Ended {
            return;
        }
        match Packet::parse(datagram) {
            Ok(Packet::Ack { block }) => self.handle_ack(now, block),
            Ok(Packet::Error(error)) => self.end(ServerEvent::Failed(ServerFailure::PeerError {
                code: error.code,
                message: error.message,
            })),
            _ => self.stats.ignored_datagrams += 1,
        }
    }

    fn handle_ack(&mut self, now: Instant, block: u16) {
        if self.state == State::AwaitingOackAck {
            if block == 0 {
                self.oack_pending = false;
                self.start_window(now, 1);
            } else {
                self.stats.ignored_datagrams += 1;
            }
            return;
        }
        // Map the 16-bit block number into [acked, highest_sent] (windows are < 65536).
        let ahead = u64::from(block.wrapping_sub(self.acked as u16));
        if ahead == 0 {
            self.stats.duplicate_acks += 1;
            return;
        }
        if ahead > self.highest_sent - self.acked {
            self.stats.ignored_datagrams += 1;
            return;
        }
        self.acked += ahead;
        if self.acked >= self.last_block {
            self.end(ServerEvent::Completed);
        } else {
            self.start_window(now, self.acked + 1);
        }
    }

    fn start_window(&mut self, now: Instant, first: u64) {
        self.state = State::Transferring;
        self.next_send = first;
        self.window_end = (first + u64::from(self.negotiated.windowsize) - 1).min(self.last_block);
        self.timer.restart(now);
    }

    fn end(&mut self, event: ServerEvent) {
        self.state = State::Ended;
        self.oack_pending = false;
        self.timer.disarm();
        self.events.push_back(event);
    }

    /// The next datagram to send: written into `buf` (cleared first); returns where to
    /// send it. Call until `None` after every input.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        buf.clear();
        if let Some((destination, error)) = self.outgoing_errors.pop_front() {
            Packet::Error(error).encode(buf);
            return Some(Transmit { destination });
        }
        match self.state {
            State::AwaitingOackAck if self.oack_pending => {
                self.oack_pending = false;
                Packet::Oack {
                    options: self.negotiated.oack.clone(),
                }
                .encode(buf);
                Some(Transmit {
                    destination: self.peer,
                })
            }
            State::Transferring if self.next_send <= self.window_end => {
                let block = self.next_send;
                let blksize = u64::from(self.negotiated.blksize);
                let start = ((block - 1) * blksize).min(self.data.len() as u64) as usize;
                let end = (block * blksize).min(self.data.len() as u64) as usize;
                encode_data(block as u16, &self.data[start..end], buf);
                self.next_send += 1;
                self.highest_sent = self.highest_sent.max(block);
                self.stats.data_sent += 1;
                Some(Transmit {
                    destination: self.peer,
                })
            }
            _ => None,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer.deadline()
    }

    /// Retransmits the OACK or the current window from the first unacknowledged block if
    /// the deadline has passed (with exponential backoff), or gives up when the budget is
    /// spent. Calls before the deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Ended {
            return;
        }
        match self.timer.expire(now) {
            Expiry::NotDue => {}
            Expiry::GiveUp => self.end(ServerEvent::Failed(ServerFailure::TimedOut {
                retransmissions: self.stats.retransmissions as u32,
            })),
            Expiry::Retransmit => {
                self.stats.retransmissions += 1;
                match self.state {
                    State::AwaitingOackAck => self.oack_pending = true,
                    _ => self.next_send = self.acked + 1,
                }
            }
        }
    }

    /// The next event (one per session: completed or failed).
    pub fn poll(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Ends the transfer now (e.g. shutdown), queueing ERROR `code`/`message` for the peer.
    /// Does nothing if the transfer already ended.
    pub fn abort(&mut self, code: ErrorCode, message: &str) {
        if self.state == State::Ended {
            return;
        }
        self.outgoing_errors
            .push_back((self.peer, ErrorPacket::new(code, message)));
        self.end(ServerEvent::Failed(ServerFailure::Aborted(message.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrq_is_refused_with_error2() {
        let datagram = b"\x00\x02x\0octet\0";
        assert_eq!(
            classify_initial(datagram),
            Initial::Reject(ErrorPacket::new(ErrorCode(2), "server is read-only"))
        );
    }

    #[test]
    fn mail_and_unknown_modes_are_refused_with_error4() {
        for datagram in [&b"\x00\x01x\0MAIL\0"[..], b"\x00\x01x\0binary\0"] {
            match classify_initial(datagram) {
                Initial::Reject(error) => assert_eq!(error.code, ErrorCode(4)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn stray_packets_and_noise_on_listening_port_are_ignored() {
        for datagram in [&b"\x00\x04\x00\x01"[..], b"\x00\x05\x00\x01x\0", b"", b"\x00\x09"] {
            assert_eq!(classify_initial(datagram), Initial::Ignore);
        }
    }

    #[test]
    fn malformed_request_gets_error4_with_offset() {
        match classify_initial(b"\x00\x01name") {
            Initial::Reject(error) => {
                assert_eq!(error.code, ErrorCode(4));
                assert!(error.message.contains("offset 2"), "{}", error.message);
            }
            other => panic!("{other:?}"),
        }
    }
}
