//! The TFTP protocol core: packets and sans-IO read-transfer sessions.
//!
//! **Contract: this module performs no I/O and reads no clock.** No sockets, no files, no
//! threads, no `Instant::now()` — enforced by `clippy::disallowed_methods` /
//! `disallowed_types` (configured in `tftp-server/clippy.toml`, denied here, allowed at the
//! crate root for the shell; other targets of the package — tests, benches, bins — opt in
//! with `#![allow(clippy::disallowed_methods, clippy::disallowed_types)]`). Time is an input: every call that can change state takes `now`.
//! Everything here is therefore deterministic and tested on a virtual clock.
//!
//! # Layout
//! * [`packet`]: RRQ/WRQ/DATA/ACK/ERROR/OACK parse + encode ([`Packet`], [`ParseError`]).
//! * [`options`]: RFC 2347/2348/2349/7440 negotiation ([`negotiate`], [`RetransmitPolicy`]).
//! * [`netascii`]: netascii conversion (read requests in netascii are **converted**, not
//!   refused).
//! * [`server`]: [`ServerSession`] (one read transfer) and [`classify_initial`] (what to do
//!   with a datagram on the listening port).
//! * [`client`]: [`ClientSession`] (one download).
//!
//! # Driving a session (quinn-proto style)
//! Both sessions have the same surface:
//!
//! | call | when |
//! |---|---|
//! | `handle_datagram(now, from, bytes)` | a datagram arrived on the transfer's socket |
//! | `poll_transmit(&mut buf) -> Option<Transmit>` | after every input, until `None`: send `buf` to `Transmit::destination` |
//! | `poll() -> Option<Event>` | after every input: exactly one terminal event per session |
//! | `poll_timeout() -> Option<Instant>` | the next deadline; `None` = no timer |
//! | `handle_timeout(now)` | when the deadline passed (early or repeated calls are harmless) |
//! | `is_finished()` | the session can be dropped (terminal and nothing left to send) |
//!
//! Send every pending transmit **before** acting on an event, so a final ACK or ERROR is
//! not lost when the shell tears the transfer down.
//!
//! # Server shell recipe
//! ```text
//! listening socket receives (datagram, from):
//!     if sessions.contains_key(&from)  -> drop it (repeated RRQ: see below)
//!     match classify_initial(datagram):
//!         Initial::Ignore            -> drop
//!         Initial::Reject(error)     -> send error.to_datagram() to `from`
//!         Initial::Read(request)     -> resolve request.filename in the catalog:
//!             not found              -> send file_not_found().to_datagram() to `from`
//!             found(bytes::Bytes)    -> bind an ephemeral socket (the server TID),
//!                                       ServerSession::new(now, from, &request, snapshot, &config),
//!                                       sessions.insert(from, ...) and run the loop above
//! ```
//! The file is passed as a [`bytes::Bytes`] snapshot: a transfer serves exactly the version
//! it started with, whatever the catalog does meanwhile.
//!
//! **Repeated RRQ.** The session key is the client's address and port
//! ([`ServerSession::peer`]). A client whose first OACK/DATA got lost retransmits its RRQ to
//! port 69 from the same port; the shell must not start a second transfer for a key that
//! has a live session — just drop the datagram: the live session's own timer retransmits.
//! (Optionally keep finished keys for a few seconds to drop late duplicates too.)
//!
//! **Stranger TIDs.** A datagram on a transfer's socket from any other address makes the
//! session queue ERROR 5 for that address (a few at most, to bound memory under a flood);
//! the transfer continues. The shell just sends what `poll_transmit` gives it, to the
//! destination it names.
//!
//! # Server rules ([`ServerSession`])
//! * OACK lists only accepted options, with the client's spelling; names are
//!   case-insensitive; unknown or invalid options are ignored; no accepted option → no
//!   OACK, DATA 1 straight away.
//! * `blksize` 8..=65464, capped by [`NegotiationLimits::max_blksize`] (default 1468);
//!   `timeout` 1..=255 s (echoed; becomes the first retransmission wait); `tsize` answered
//!   with the size on the wire; `windowsize` 1..=65535 capped by
//!   [`NegotiationLimits::max_windowsize`] (default 64).
//! * Block numbers roll over from 65535 to **0** (as tftp-hpa and curl expect).
//! * A new ACK (for any block of the window) sends the next window, from the block after
//!   the acknowledged one (go-back-N); an ACK acknowledging nothing new is ignored and
//!   **never resends data**; only the timer retransmits, with exponential backoff and a
//!   bounded total ([`RetransmitPolicy::give_up_after`], 31 s by default).
//! * Any ERROR from the client (e.g. 8 rejecting the OACK) ends the transfer at once.
//! * Netascii is converted (LF → CR LF, CR → CR NUL); `mail` and unknown modes get ERROR 4
//!   and a WRQ gets ERROR 2 "server is read-only" (from [`classify_initial`]).
//!
//! # Client rules ([`ClientSession`])
//! Sends the RRQ with the chosen [`ClientOptions`]; accepts replies only from the server's
//! IP until the first OACK/DATA locks the peer's address+port; ERROR 5 to strangers after
//! that; validates the OACK (only requested options, values not above what was asked,
//! timeout echoed exactly; otherwise ERROR 8 and failure); ACKs every `windowsize` blocks
//! and the last block; on a gap re-ACKs the last in-order block once (RFC 7440), and on a
//! repeated block too in lockstep (its ACK was lost) but not within a window (that would
//! restart a window still in flight); on timeout retransmits the RRQ or the last ACK with
//! backoff; after the last block it
//! emits [`ClientEvent::Done`] and then lingers ("dallies") one retransmission interval to
//! re-ACK a repeated final block.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod client;
pub mod netascii;
pub mod options;
pub mod packet;
pub mod server;
mod timer;

use std::net::SocketAddr;

pub use client::{ClientEvent, ClientFailure, ClientOptions, ClientSession, RequestError};
pub use options::{negotiate, Negotiated, NegotiationLimits, RetransmitPolicy};
pub use packet::{ErrorCode, ErrorPacket, Mode, Packet, ParseError, Request, TftpOption};
pub use server::{
    classify_initial, file_not_found, write_refused, Initial, ServerConfig, ServerEvent, ServerFailure,
    ServerSession, TransferStats,
};

/// Where to send the datagram just written into the caller's buffer by `poll_transmit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination address (the peer, or a stranger getting ERROR 5).
    pub destination: SocketAddr,
}

/// At most this many ERROR 5 replies to strangers are queued at once per session; more
/// strangers in the same burst are dropped silently.
pub const MAX_QUEUED_STRANGER_ERRORS: usize = 8;
