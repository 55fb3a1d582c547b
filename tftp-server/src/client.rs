//! A small async TFTP client: a tokio UDP socket driving a [`ClientSession`].
//!
//! ```no_run
//! # async fn example() -> Result<(), tftp_server::client::ClientError> {
//! use tftp_server::client::{fetch, ClientOptions};
//! let options = ClientOptions { blksize: Some(1468), ..ClientOptions::default() };
//! let file = fetch("127.0.0.1:6969".parse().unwrap(), "CTLFile.tlv", options).await?;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;

pub use crate::proto::{ClientEvent, ClientFailure, ClientOptions, ClientSession, RequestError};

/// Largest datagram a TFTP peer can send (blksize 65464 + 4-byte header, with room).
const RECEIVE_BUFFER_LEN: usize = 65536;

/// Why [`fetch`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be built (empty name, option out of range, too long).
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
    /// The transfer failed (server error, timeout, bad OACK, ...).
    #[error("transfer failed: {0}")]
    Transfer(#[from] ClientFailure),
    /// A socket operation failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}

/// Downloads `filename` from the TFTP server at `server` and returns its contents.
///
/// Binds an ephemeral UDP port (on the loopback address when the server is on loopback,
/// otherwise on the unspecified address of the server's family) and returns as soon as the
/// last block is acknowledged; it does not linger for a lost final ACK (the server then
/// retransmits and times out on its side, the file here is complete). Every wait is
/// bounded by `options.retransmit`, so the call always ends.
pub async fn fetch(
    server: SocketAddr,
    filename: &str,
    options: ClientOptions,
) -> Result<Vec<u8>, ClientError> {
    let socket = UdpSocket::bind(local_address_for(server)).await?;
    let mut session = ClientSession::new(Instant::now(), server, filename, &options)?;
    let mut receive_buffer = vec![0u8; RECEIVE_BUFFER_LEN];
    let mut send_buffer = Vec::with_capacity(RECEIVE_BUFFER_LEN);
    loop {
        while let Some(transmit) = session.poll_transmit(&mut send_buffer) {
            socket.send_to(&send_buffer, transmit.destination).await?;
        }
        if let Some(event) = session.poll() {
            return match event {
                ClientEvent::Done(file) => Ok(file),
                ClientEvent::Failed(failure) => Err(failure.into()),
            };
        }
        let Some(deadline) = session.poll_timeout() else {
            // Not reachable while the session runs (it always has a timer); guard anyway
            // so a logic error cannot make this wait forever.
            return Err(ClientFailure::Protocol("session stopped without an outcome").into());
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(deadline, socket.recv_from(&mut receive_buffer)).await {
            Ok(Ok((len, from))) => session.handle_datagram(Instant::now(), from, &receive_buffer[..len]),
            Ok(Err(error)) => return Err(error.into()),
            Err(_elapsed) => session.handle_timeout(Instant::now()),
        }
    }
}

fn local_address_for(server: SocketAddr) -> SocketAddr {
    let ip = match server.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}
