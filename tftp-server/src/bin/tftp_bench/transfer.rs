//! One download driven by the project's sans-IO [`ClientSession`] on its own UDP socket.
//!
//! Like `tftp_server::client::fetch`, but it binds a chosen local address (so simulated
//! phones can each have their own loopback IP), reports what was negotiated, classifies
//! failures for the report and stops at the run's global deadline.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tftp_server::proto::{ClientEvent, ClientFailure, ClientOptions, ClientSession};
use tokio::net::UdpSocket;

/// A completed download.
pub struct Fetched {
    /// The file.
    pub data: Vec<u8>,
    /// Block size in effect (512 when the server did not accept the option).
    pub blksize: u16,
    /// Window size in effect (1 when the server did not accept the option).
    pub windowsize: u16,
    /// From binding the socket to the last block.
    pub elapsed: Duration,
}

/// Why a download failed, grouped for the report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// No answer or no progress within the client's retransmission budget.
    Timeout,
    /// The server answered ERROR with this code.
    ServerError(u16),
    /// The server's OACK was not acceptable.
    BadOack,
    /// Larger than the client's limit.
    TooLarge,
    /// The server broke the protocol.
    Protocol,
    /// A socket call failed (bind, send, receive).
    Socket(String),
    /// The request could not be built (bad option value, name too long).
    Request,
    /// The file received differs from the expected one (`--verify-root`).
    ContentMismatch,
    /// The run's total time limit ended the transfer (or it never started).
    TimeLimit,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Timeout => f.write_str("timeout"),
            FailureKind::ServerError(code) => write!(f, "server_error_{code}"),
            FailureKind::BadOack => f.write_str("bad_oack"),
            FailureKind::TooLarge => f.write_str("too_large"),
            FailureKind::Protocol => f.write_str("protocol"),
            FailureKind::Socket(kind) => write!(f, "socket_{kind}"),
            FailureKind::Request => f.write_str("bad_request"),
            FailureKind::ContentMismatch => f.write_str("content_mismatch"),
            FailureKind::TimeLimit => f.write_str("time_limit"),
        }
    }
}

impl From<ClientFailure> for FailureKind {
    fn from(failure: ClientFailure) -> Self {
        match failure {
            ClientFailure::ServerError { code, .. } => FailureKind::ServerError(code.0),
            ClientFailure::TimedOut { .. } => FailureKind::Timeout,
            ClientFailure::BadOack(_) => FailureKind::BadOack,
            ClientFailure::TooLarge { .. } => FailureKind::TooLarge,
            ClientFailure::Protocol(_) => FailureKind::Protocol,
        }
    }
}

fn socket_failure(error: &std::io::Error) -> FailureKind {
    FailureKind::Socket(format!("{:?}", error.kind()).to_lowercase())
}

/// Downloads `filename` from `server` over a fresh socket bound to `local_ip`, giving up
/// at `deadline` (the run's time limit) at the latest.
pub async fn fetch(
    local_ip: IpAddr,
    server: SocketAddr,
    filename: &str,
    options: &ClientOptions,
    deadline: Instant,
) -> Result<Fetched, FailureKind> {
    let started = Instant::now();
    if started >= deadline {
        return Err(FailureKind::TimeLimit);
    }
    let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0))
        .await
        .map_err(|error| socket_failure(&error))?;
    let mut session =
        ClientSession::new(started, server, filename, options).map_err(|_| FailureKind::Request)?;
    // One byte more than the largest legal DATA so an oversized block is seen as such
    // (the session rejects it) instead of being silently truncated.
    let largest_block = usize::from(options.blksize.unwrap_or(512).max(512));
    let mut receive_buffer = vec![0u8; largest_block + 4 + 1];
    let mut send_buffer = Vec::with_capacity(600);
    loop {
        while let Some(transmit) = session.poll_transmit(&mut send_buffer) {
            socket
                .send_to(&send_buffer, transmit.destination)
                .await
                .map_err(|error| socket_failure(&error))?;
        }
        if let Some(event) = session.poll() {
            return match event {
                ClientEvent::Done(data) => Ok(Fetched {
                    data,
                    blksize: session.blksize(),
                    windowsize: session.windowsize(),
                    elapsed: started.elapsed(),
                }),
                ClientEvent::Failed(failure) => Err(failure.into()),
            };
        }
        // The session always has a timer while it runs; the fallback keeps a logic error
        // from waiting past the run's deadline.
        let session_deadline = session.poll_timeout().unwrap_or(deadline);
        let wait_until = tokio::time::Instant::from_std(session_deadline.min(deadline));
        match tokio::time::timeout_at(wait_until, socket.recv_from(&mut receive_buffer)).await {
            Ok(Ok((len, from))) => session.handle_datagram(Instant::now(), from, &receive_buffer[..len]),
            Ok(Err(error)) => return Err(socket_failure(&error)),
            Err(_elapsed) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(FailureKind::TimeLimit);
                }
                session.handle_timeout(now);
            }
        }
    }
}
