//! Adaptive polling for the client's answer on a dedicated transfer thread.
//!
//! After a window (or, in lockstep, a block) goes out, the thread waits for the client's
//! ACK. Sleeping in the kernel and being woken again costs tens of microseconds on a
//! virtual machine, more than a close client (same host, loopback, containers) needs to
//! answer: measured on loopback, that wake-up was most of each window's round trip. So the
//! thread first checks the socket without blocking for up to [`POLL_BUDGET`], and only then
//! sleeps.
//!
//! Polling only pays when answers come within the budget. On a LAN they do not, and
//! polling would burn CPU for nothing, so a miss makes the thread skip polling for the next
//! 1, 2, 4 … [`MAX_SKIPPED_WAITS`] waits; a hit resets that. A far client therefore costs
//! one budget's worth of polling every thousand waits.

use std::io;
use std::io::IoSliceMut;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{recvmsg, MsgFlags, SockaddrStorage};

/// Longest a thread polls for one answer before it sleeps.
pub(super) const POLL_BUDGET: Duration = Duration::from_micros(50);
/// Most waits skipped (sleeping at once) after consecutive misses.
pub(super) const MAX_SKIPPED_WAITS: u32 = 1024;

/// Whether to poll before the next wait, learnt from how the last polls went.
#[derive(Debug)]
pub(super) struct AnswerPoll {
    /// Waits still to sleep through without polling.
    skip: u32,
    /// Waits to skip after the next miss.
    next_skip: u32,
}

impl Default for AnswerPoll {
    fn default() -> Self {
        AnswerPoll {
            skip: 0,
            next_skip: 1,
        }
    }
}

impl AnswerPoll {
    /// Called once per wait: whether this wait should start by polling.
    pub(super) fn should_poll(&mut self) -> bool {
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    /// Records whether the answer came while polling.
    pub(super) fn record(&mut self, answered: bool) {
        if answered {
            self.next_skip = 1;
        } else {
            self.skip = self.next_skip;
            self.next_skip = (self.next_skip * 2).min(MAX_SKIPPED_WAITS);
        }
    }
}

/// Receives one datagram if one is queued, without blocking, whatever the socket's mode.
pub(super) fn try_recv_from(
    socket: &UdpSocket,
    buffer: &mut [u8],
) -> io::Result<Option<(usize, SocketAddr)>> {
    let mut iov = [IoSliceMut::new(buffer)];
    match recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, None, MsgFlags::MSG_DONTWAIT) {
        Ok(message) => {
            let from = message.address.and_then(|address| {
                address
                    .as_sockaddr_in()
                    .map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4)))
                    .or_else(|| {
                        address
                            .as_sockaddr_in6()
                            .map(|v6| SocketAddr::from(std::net::SocketAddrV6::from(*v6)))
                    })
            });
            match from {
                Some(from) => Ok(Some((message.bytes, from))),
                // A datagram without an IP source cannot be answered; it is dropped.
                None => Ok(None),
            }
        }
        Err(nix::errno::Errno::EAGAIN) => Ok(None),
        Err(errno) => Err(io::Error::from(errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_while_answers_come_in_time() {
        let mut poll = AnswerPoll::default();
        for _ in 0..100 {
            assert!(poll.should_poll());
            poll.record(true);
        }
    }

    #[test]
    fn misses_back_off_exponentially_up_to_the_cap() {
        let mut poll = AnswerPoll::default();
        let mut runs_of_skipped_waits = Vec::new();
        let mut skipped = 0;
        for _ in 0..6000 {
            if poll.should_poll() {
                if skipped > 0 {
                    runs_of_skipped_waits.push(skipped);
                }
                skipped = 0;
                poll.record(false);
            } else {
                skipped += 1;
            }
        }
        assert_eq!(
            &runs_of_skipped_waits[..12],
            &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1024]
        );
        assert!(runs_of_skipped_waits.iter().all(|&run| run <= MAX_SKIPPED_WAITS));
    }

    #[test]
    fn a_hit_after_misses_resets_the_backoff() {
        let mut poll = AnswerPoll::default();
        for _ in 0..5 {
            poll.record(false);
        }
        while !poll.should_poll() {}
        poll.record(true);
        assert!(poll.should_poll());
        poll.record(false);
        assert!(!poll.should_poll(), "one wait skipped after the first miss");
        assert!(poll.should_poll());
    }

    #[test]
    fn try_recv_from_returns_none_when_nothing_is_queued_and_the_datagram_otherwise() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        // The receiver is blocking: try_recv_from must still return at once.
        let mut buffer = [0u8; 64];
        assert!(try_recv_from(&receiver, &mut buffer).unwrap().is_none());
        sender.send_to(b"ack", receiver.local_addr().unwrap()).unwrap();
        let mut received = None;
        for _ in 0..1000 {
            received = try_recv_from(&receiver, &mut buffer).unwrap();
            if received.is_some() {
                break;
            }
            std::thread::yield_now();
        }
        let (len, from) = received.expect("datagram queued on loopback");
        assert_eq!(&buffer[..len], b"ack");
        assert_eq!(from, sender.local_addr().unwrap());
    }
}
