//! One read transfer: resolve, snapshot, drive a [`ServerSession`] on its own socket, log.
//!
//! Every request that reaches a transfer task produces exactly one log line, target
//! `tftp::transfer`, level INFO (WARN when the transfer failed), with these fields:
//!
//! | field | meaning |
//! |---|---|
//! | `client` | client address and port |
//! | `requested` | name as the client sent it |
//! | `served` | file served (relative to the root), `-` if none |
//! | `mac` | device MAC from the requested name, `-` if none |
//! | `bytes` | size sent on the wire (after netascii conversion) |
//! | `blksize`, `windowsize` | negotiated |
//! | `duration_ms` | from request to end |
//! | `outcome` | `completed`, `not_found`, `access_denied`, `read_error`, `timed_out`, `client_error`, `aborted`, `shutdown`, `socket_error` |
//! | `detail` | reason for a failure, `-` otherwise |
//! | `sha256`, `signer` | for trust lists: content hash and signer (`-` otherwise) |
//! | `retransmissions` | timer-driven retransmission rounds |

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::answer_poll::{try_recv_from, AnswerPoll, POLL_BUDGET};
use super::batch::Batch;
use super::{Shared, Slot};
use crate::catalog::{Content, LookupError, Resolved};
use crate::proto::{
    file_not_found, ErrorCode, ErrorPacket, Mode, Request, ServerEvent, ServerFailure, ServerSession,
};

/// Largest file served in netascii mode. A netascii session holds its own converted copy
/// (up to twice the file), unlike octet sessions, which share one snapshot; this cap keeps
/// that copy small. Trust lists and configuration files are far below it; firmware is
/// fetched in octet mode.
pub const MAX_NETASCII_FILE: usize = 4 << 20;

/// Receive buffer of a transfer socket: it only ever receives ACKs and ERRORs; a longer
/// datagram is truncated and then ignored by the session as malformed.
const TRANSFER_RECEIVE_BUFFER: usize = 2048;

/// What ends up in the log line.
struct Record {
    client: SocketAddr,
    requested: String,
    served: Option<String>,
    mac: Option<String>,
    bytes: u64,
    blksize: u16,
    windowsize: u16,
    outcome: &'static str,
    detail: Option<String>,
    sha256: Option<String>,
    signer: Option<String>,
    retransmissions: u64,
    started: Instant,
}

impl Record {
    fn log(&self) {
        // Milliseconds to 0.1: a number in JSON, short in text.
        let duration_ms = (self.started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    target: "tftp::transfer",
                    $level,
                    client = %self.client,
                    requested = %self.requested,
                    served = %dash(&self.served),
                    mac = %dash(&self.mac),
                    bytes = self.bytes,
                    blksize = self.blksize,
                    windowsize = self.windowsize,
                    duration_ms,
                    outcome = %self.outcome,
                    detail = %dash(&self.detail),
                    sha256 = %dash(&self.sha256),
                    signer = %dash(&self.signer),
                    retransmissions = self.retransmissions,
                    "transfer"
                )
            };
        }
        match self.outcome {
            "completed" | "not_found" => line!(tracing::Level::INFO),
            _ => line!(tracing::Level::WARN),
        }
    }
}

/// Serves one read request from `peer` that arrived on `listener`. Holds `slot` (its place
/// in the limits) until it returns.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: Arc<UdpSocket>,
    request: Request,
    peer: SocketAddr,
    slot: Slot,
) {
    let _slot = slot;
    let mut record = Record {
        client: peer,
        requested: request.filename.clone(),
        served: None,
        mac: crate::catalog::device_mac(&request.filename),
        bytes: 0,
        blksize: 0,
        windowsize: 0,
        outcome: "completed",
        detail: None,
        sha256: None,
        signer: None,
        retransmissions: 0,
        started: Instant::now(),
    };
    run(&shared, &listener, &request, &mut record).await;
    record.log();
}

async fn run(shared: &Shared, listener: &UdpSocket, request: &Request, record: &mut Record) {
    let peer = record.client;
    // Errors before the transfer starts go out from the listening port: no socket to
    // create, and every client tested accepts them (the answer to a missing file must be
    // immediate: phones loop otherwise).
    let refuse = |packet: ErrorPacket| async move {
        let _ = listener.send_to(&packet.to_datagram(), peer).await;
    };
    let resolved: Resolved = match shared.catalog.resolve(&request.filename) {
        Ok(resolved) => resolved,
        Err(err) => {
            let (outcome, packet) = match &err {
                LookupError::NotFound => ("not_found", file_not_found()),
                LookupError::NameNotAllowed(_) | LookupError::AccessDenied => (
                    "access_denied",
                    ErrorPacket::new(ErrorCode::ACCESS_VIOLATION, err.to_string()),
                ),
            };
            record.outcome = outcome;
            record.detail = Some(err.to_string());
            refuse(packet).await;
            return;
        }
    };
    record.served = Some(resolved.served_name.clone());
    if let Some(mac) = &resolved.mac {
        record.mac = Some(mac.clone());
    }
    if let Some(trust) = &resolved.trust {
        record.sha256 = Some(trust.sha256.clone());
        record.signer = trust.signer.clone();
    }
    let snapshot = match &resolved.content {
        Content::Memory(bytes) => Ok(bytes.clone()),
        Content::File { .. } => {
            let catalog = Arc::clone(&shared.catalog);
            match tokio::task::spawn_blocking(move || catalog.load(&resolved)).await {
                Ok(result) => result,
                Err(join) => Err(std::io::Error::other(join.to_string())),
            }
        }
    };
    let snapshot = match snapshot {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(file = %record.served.as_deref().unwrap_or("-"), error = %err, "cannot read file to serve");
            record.outcome = "read_error";
            record.detail = Some(err.to_string());
            refuse(ErrorPacket::new(
                ErrorCode::NOT_DEFINED,
                "file cannot be read right now, try again",
            ))
            .await;
            return;
        }
    };
    if request.mode == Mode::Netascii && snapshot.len() > MAX_NETASCII_FILE {
        record.outcome = "access_denied";
        record.detail = Some("netascii refused for a large file".into());
        refuse(ErrorPacket::new(
            ErrorCode::ACCESS_VIOLATION,
            format!(
                "netascii mode is limited to files of {} MiB: request it in octet mode",
                MAX_NETASCII_FILE >> 20
            ),
        ))
        .await;
        return;
    }
    let local = listener
        .local_addr()
        .map(|address| SocketAddr::new(address.ip(), 0));
    let socket = match local {
        Ok(local) => UdpSocket::bind(local).await,
        Err(err) => Err(err),
    };
    let socket = match socket {
        Ok(socket) => socket,
        Err(err) => {
            record.outcome = "socket_error";
            record.detail = Some(err.to_string());
            refuse(ErrorPacket::new(ErrorCode::NOT_DEFINED, "server busy, try again")).await;
            return;
        }
    };
    let request = without_tsize_for_empty_file(request, snapshot.is_empty());
    let mut session = ServerSession::new(Instant::now(), peer, &request, snapshot, &shared.session);
    record.bytes = session.transfer_size();
    record.blksize = session.negotiated().blksize;
    record.windowsize = session.negotiated().windowsize;
    let (session, event) = match DedicatedThread::claim(&session, shared.segmentation_offload) {
        Some(thread) => {
            let stop = shared.stop.clone();
            let handoff = socket.into_std().and_then(|socket| {
                socket.set_nonblocking(false)?;
                socket.set_read_timeout(Some(DEDICATED_RECEIVE_SLICE))?;
                Ok(socket)
            });
            match handoff {
                Ok(socket) => {
                    let joined = tokio::task::spawn_blocking(move || {
                        let _thread = thread;
                        let event = drive_blocking(&socket, &mut session, &stop);
                        (session, event)
                    })
                    .await;
                    match joined {
                        Ok(done) => done,
                        Err(join) => {
                            record.outcome = "aborted";
                            record.detail = Some(join.to_string());
                            return;
                        }
                    }
                }
                Err(err) => {
                    record.outcome = "socket_error";
                    record.detail = Some(err.to_string());
                    return;
                }
            }
        }
        None => {
            let event = drive(
                &socket,
                &mut session,
                shared.stop.clone(),
                shared.segmentation_offload,
            )
            .await;
            (session, event)
        }
    };
    record.retransmissions = session.stats().retransmissions;
    match event {
        ServerEvent::Completed => record.outcome = "completed",
        ServerEvent::Failed(failure) => {
            record.outcome = match &failure {
                ServerFailure::TimedOut { .. } => "timed_out",
                ServerFailure::PeerError { .. } => "client_error",
                ServerFailure::Aborted(message) if message == SHUTDOWN_MESSAGE => "shutdown",
                ServerFailure::Aborted(_) => "aborted",
            };
            record.detail = Some(failure.to_string());
        }
    }
}

/// curl (7.x, 8.x) fails a download whose OACK says `tsize 0` ("invalid tsize value in
/// OACK"); RFC 2347 lets a server leave any option out of the OACK, so for an empty file
/// the `tsize` request is simply not answered.
fn without_tsize_for_empty_file(request: &Request, empty: bool) -> std::borrow::Cow<'_, Request> {
    if !empty {
        return std::borrow::Cow::Borrowed(request);
    }
    let mut request = request.clone();
    request
        .options
        .retain(|option| !option.name.eq_ignore_ascii_case("tsize"));
    std::borrow::Cow::Owned(request)
}

const SHUTDOWN_MESSAGE: &str = "server shutting down";

/// Transfers at least this large get a thread of their own.
///
/// A large file's throughput is set by how fast each window (or, in lockstep, each block)
/// follows the client's ACK. On a tokio task each round trip costs an epoll wake-up, a
/// readiness check and a second receive; a thread blocked in `recv_from` is woken straight
/// from the socket, and it can poll briefly before sleeping (see `answer_poll`), which a
/// task sharing the runtime must not. Small files (trust lists, configurations: the
/// boot-storm traffic) stay on the runtime, where thousands of transfers share few threads.
const DEDICATED_THREAD_MIN_BYTES: u64 = 1 << 20;
/// Dedicated threads at once, per process; further large transfers use tasks.
const MAX_DEDICATED_THREADS: usize = 32;
/// Longest a dedicated thread blocks in one receive: bounds how late it notices a due
/// retransmission or a shutdown.
const DEDICATED_RECEIVE_SLICE: Duration = Duration::from_millis(20);

static DEDICATED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// A place among the [`MAX_DEDICATED_THREADS`]; given back on drop.
struct DedicatedThread;

impl DedicatedThread {
    /// With segmentation offload (`--gso`, chosen to save CPU under many concurrent large
    /// transfers) windowed transfers stay on the runtime, which sends each window with one
    /// `sendmsg`, rather than on a polling thread.
    fn claim(session: &ServerSession, segmentation_offload: bool) -> Option<DedicatedThread> {
        let windowed = session.negotiated().windowsize > 1;
        if session.transfer_size() < DEDICATED_THREAD_MIN_BYTES || (windowed && segmentation_offload) {
            return None;
        }
        DEDICATED_THREADS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < MAX_DEDICATED_THREADS).then_some(running + 1)
            })
            .ok()
            .map(|_| DedicatedThread)
    }
}

impl Drop for DedicatedThread {
    fn drop(&mut self) {
        DEDICATED_THREADS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// [`drive`] for a thread of its own, on a blocking socket whose read timeout is
/// [`DEDICATED_RECEIVE_SLICE`].
fn drive_blocking(
    socket: &std::net::UdpSocket,
    session: &mut ServerSession,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> ServerEvent {
    let mut send_buffer = Vec::new();
    let mut receive_buffer = [0u8; TRANSFER_RECEIVE_BUFFER];
    let mut answer_poll = AnswerPoll::default();
    let mut outcome = None;
    let mut stopping = false;
    loop {
        while let Some(transmit) = session.poll_transmit(&mut send_buffer) {
            if let Err(err) = socket.send_to(&send_buffer, transmit.destination) {
                tracing::debug!(error = %err, "send failed");
            }
        }
        while let Some(event) = session.poll() {
            outcome.get_or_insert(event);
        }
        if session.is_finished() {
            break;
        }
        if !stopping && *stop.borrow() {
            stopping = true;
            session.abort(ErrorCode::NOT_DEFINED, SHUTDOWN_MESSAGE);
            continue;
        }
        match session.poll_timeout() {
            Some(deadline) if deadline <= Instant::now() => {
                session.handle_timeout(Instant::now());
                continue;
            }
            Some(_) => {}
            // The session always has a timer while it runs; without one nothing would
            // ever end this loop.
            None if outcome.is_none() => {
                session.abort(ErrorCode::NOT_DEFINED, "internal error: transfer stalled");
                continue;
            }
            None => break,
        }
        if answer_poll.should_poll() {
            let polling_since = Instant::now();
            let mut answered = false;
            while polling_since.elapsed() < POLL_BUDGET {
                match try_recv_from(socket, &mut receive_buffer) {
                    Ok(Some((len, from))) => {
                        session.handle_datagram(Instant::now(), from, &receive_buffer[..len]);
                        answered = true;
                        break;
                    }
                    Ok(None) => std::thread::yield_now(),
                    // Left to the blocking receive below, which reports it.
                    Err(_) => break,
                }
            }
            answer_poll.record(answered);
            if answered {
                continue;
            }
        }
        match socket.recv_from(&mut receive_buffer) {
            Ok((len, from)) => session.handle_datagram(Instant::now(), from, &receive_buffer[..len]),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(err) => {
                tracing::debug!(error = %err, "receive failed");
                // Do not spin if the error repeats.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    outcome.unwrap_or(ServerEvent::Failed(ServerFailure::Aborted(
        "session ended without an outcome".to_string(),
    )))
}

/// Runs the session until it is finished; returns its one terminal event.
///
/// The retransmission timer and the shutdown signal live for the whole transfer: in
/// lockstep every block is one loop turn, and re-registering both each turn was measurable
/// work per block.
async fn drive(
    socket: &UdpSocket,
    session: &mut ServerSession,
    mut stop: tokio::sync::watch::Receiver<bool>,
    segmentation_offload: bool,
) -> ServerEvent {
    let mut send_buffer = Vec::new();
    let mut batch = segmentation_offload.then(Batch::new);
    let mut receive_buffer = [0u8; TRANSFER_RECEIVE_BUFFER];
    let mut outcome = None;
    let mut stopping = false;
    let stop_requested = stop.wait_for(|stop| *stop);
    tokio::pin!(stop_requested);
    let timer = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(timer);
    let mut armed_for = None;
    loop {
        while let Some(transmit) = session.poll_transmit(&mut send_buffer) {
            let Some(batch) = batch.as_mut() else {
                // Each datagram goes out at once: the client starts on it while the rest of
                // the window is prepared.
                if let Err(err) = socket.send_to(&send_buffer, transmit.destination).await {
                    tracing::debug!(error = %err, "send failed");
                }
                continue;
            };
            if !batch.try_push(transmit.destination, &send_buffer) {
                batch.flush(socket).await;
                batch.try_push(transmit.destination, &send_buffer);
            }
        }
        if let Some(batch) = batch.as_mut() {
            batch.flush(socket).await;
        }
        while let Some(event) = session.poll() {
            outcome.get_or_insert(event);
        }
        if session.is_finished() {
            break;
        }
        // The session always has a timer while it runs; the fallback only guarantees that
        // a logic error cannot park this task forever.
        let deadline = session
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
        if armed_for != Some(deadline) {
            timer.as_mut().reset(tokio::time::Instant::from_std(deadline));
            armed_for = Some(deadline);
        }
        tokio::select! {
            _ = &mut stop_requested, if !stopping => {
                stopping = true;
                session.abort(ErrorCode::NOT_DEFINED, SHUTDOWN_MESSAGE);
            }
            received = socket.recv_from(&mut receive_buffer) => match received {
                Ok((len, from)) => session.handle_datagram(Instant::now(), from, &receive_buffer[..len]),
                Err(err) => tracing::debug!(error = %err, "receive failed"),
            },
            () = &mut timer => {
                // A fired timer stays fired: re-arm it on the next turn whatever the deadline.
                armed_for = None;
                if session.poll_timeout().is_none() && outcome.is_none() {
                    session.abort(ErrorCode::NOT_DEFINED, "internal error: transfer stalled");
                } else {
                    session.handle_timeout(Instant::now());
                }
            }
        }
    }
    outcome.unwrap_or(ServerEvent::Failed(ServerFailure::Aborted(
        "session ended without an outcome".to_string(),
    )))
}
