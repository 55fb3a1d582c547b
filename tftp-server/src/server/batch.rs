//! Sends a window of DATA blocks with one system call.
//!
//! Profiling the large-file benchmark showed most server cycles in the kernel, one datagram
//! per `sendto`. On Linux, UDP generic segmentation offload (the `UDP_SEGMENT` control
//! message) lets one `sendmsg` carry a whole window: the kernel splits the buffer into
//! datagrams of `segment` bytes, the last one possibly shorter. The socket's options are
//! left alone (no DF bit is forced, unlike QUIC-oriented crates), so large blksize values
//! still fragment as before. Kernels or paths without GSO make the first such send fail;
//! GSO is then switched off for the process and every datagram goes out on its own.
//!
//! Batching is opt-in (`ServerOptions::segmentation_offload`): it saves CPU, but the
//! client sees nothing of a window until all of it is sent, while single datagrams let it
//! work on the first blocks as the rest go out. On loopback single large transfers ran
//! about 15 % faster without batching (tftp-server/bench/README.md).

use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Whether segmentation offload still looks usable (cleared on the first refusal).
static GSO_USABLE: AtomicBool = AtomicBool::new(true);

/// Kernel limit on segments per send (UDP_MAX_SEGMENTS is 64 on older kernels).
const MAX_SEGMENTS: usize = 64;
/// Stay under the 64 KiB IP datagram limit that bounds one GSO send.
const MAX_BATCH_BYTES: usize = 60_000;

/// Consecutive datagrams of one size to one destination, sent together.
pub(super) struct Batch {
    buffer: Vec<u8>,
    destination: Option<SocketAddr>,
    segment: usize,
    count: usize,
    closed: bool,
}

impl Batch {
    pub(super) fn new() -> Batch {
        Batch {
            // Grows to at most one window (≤ MAX_BATCH_BYTES) only for transfers that use one.
            buffer: Vec::new(),
            destination: None,
            segment: 0,
            count: 0,
            closed: false,
        }
    }

    /// Adds `datagram` if it can ride in the current batch; returns false when the caller
    /// must flush first.
    pub(super) fn try_push(&mut self, destination: SocketAddr, datagram: &[u8]) -> bool {
        if self.count == 0 {
            self.buffer.clear();
            self.buffer.extend_from_slice(datagram);
            self.destination = Some(destination);
            self.segment = datagram.len();
            self.count = 1;
            self.closed = false;
            return true;
        }
        let fits = GSO_USABLE.load(Ordering::Relaxed)
            && !self.closed
            && self.destination == Some(destination)
            && datagram.len() <= self.segment
            && self.count < MAX_SEGMENTS
            && self.buffer.len() + datagram.len() <= MAX_BATCH_BYTES;
        if fits {
            self.buffer.extend_from_slice(datagram);
            self.count += 1;
            // Only the last segment may be shorter than the others.
            self.closed = datagram.len() < self.segment;
        }
        fits
    }

    /// Sends whatever is batched. A failed send is a lost datagram like any other: the
    /// session's retransmission timer covers it.
    pub(super) async fn flush(&mut self, socket: &UdpSocket) {
        let Some(destination) = self.destination.take() else {
            return;
        };
        let count = std::mem::take(&mut self.count);
        if count == 1 {
            if let Err(err) = socket.send_to(&self.buffer, destination).await {
                tracing::debug!(error = %err, "send failed");
            }
            return;
        }
        let segment = u16::try_from(self.segment).unwrap_or(u16::MAX);
        let address = SockaddrStorage::from(destination);
        let sent = socket
            .async_io(Interest::WRITABLE, || {
                sendmsg(
                    socket.as_raw_fd(),
                    &[IoSlice::new(&self.buffer)],
                    &[ControlMessage::UdpGsoSegments(&segment)],
                    MsgFlags::empty(),
                    Some(&address),
                )
                .map_err(std::io::Error::from)
            })
            .await;
        if let Err(err) = sent {
            tracing::debug!(error = %err, "segmented send refused; sending datagrams one by one from now on");
            GSO_USABLE.store(false, Ordering::Relaxed);
            for datagram in self.buffer.chunks(self.segment) {
                if let Err(err) = socket.send_to(datagram, destination).await {
                    tracing::debug!(error = %err, "send failed");
                }
            }
        }
    }
}
