//! The tokio server shell around the sans-IO [`crate::proto`] sessions.
//!
//! It owns what the protocol core must not: sockets, timers, the [`Catalog`], limits and
//! logging.
//!
//! * Listens on any number of addresses (IPv4 and IPv6; IPv6 sockets are v6-only so
//!   `0.0.0.0` and `[::]` can both be given).
//! * Every accepted read request gets its own task and ephemeral socket (same IP as the
//!   listening socket, port 0): the server's transfer ID.
//! * Read-only: a WRQ gets ERROR 2; malformed requests get ERROR 4; stray packets on the
//!   listening port are dropped.
//! * Limits: at most [`ServerOptions::max_transfers`] transfers at once, at most
//!   [`ServerOptions::max_transfers_per_client`] per client IP, one per client address and
//!   port (a repeated RRQ is dropped: the running session retransmits by itself).
//!   Requests over a limit are dropped silently so the client retries later, which is what
//!   a booting phone needs. Memory per transfer is a few kilobytes of buffers plus a shared
//!   reference to the file snapshot; each file version is in memory once however many
//!   transfers serve it (see [`Catalog::load`]). Netascii sessions hold a converted copy,
//!   so netascii is refused for files over [`transfer::MAX_NETASCII_FILE`].
//! * Graceful shutdown: [`Server::run`] stops listening when its `shutdown` future
//!   completes, lets running transfers finish for [`ServerOptions::shutdown_grace`], then
//!   aborts the rest with ERROR 0.
//! * One log line per transfer (target `tftp::transfer`, see [`transfer`]).

mod answer_poll;
mod batch;
pub mod transfer;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::catalog::Catalog;
use crate::proto::{classify_initial, Initial, ServerConfig};

/// Default TFTP port for `ctl serve` without arguments (69 needs privileges).
pub const DEFAULT_UNPRIVILEGED_PORT: u16 = 6969;

/// Settings of a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Addresses to listen on (port 0 picks a free port; see [`Server::local_addrs`]).
    pub listen: Vec<SocketAddr>,
    /// Transfers running at once, all clients together. Sized for boot storms.
    pub max_transfers: usize,
    /// Transfers running at once from one client IP (phones behind NAT share one).
    pub max_transfers_per_client: usize,
    /// Negotiation caps and retransmission policy of every session.
    pub session: ServerConfig,
    /// How often the catalog rescans its root; `None` never rescans.
    pub rescan_interval: Option<Duration>,
    /// How long running transfers may finish after shutdown is requested.
    pub shutdown_grace: Duration,
    /// Receive buffer (SO_RCVBUF) asked for on listening sockets, to absorb boot-storm
    /// bursts of requests. The kernel may grant less.
    pub receive_buffer_bytes: Option<usize>,
    /// Send each window of DATA blocks with one `sendmsg` (Linux UDP segmentation offload)
    /// instead of one datagram per call. Fewer system calls and less CPU per MiB, which
    /// counts when many large transfers run at once; but the client then receives a
    /// window only once all of it is sent, and large windowed transfers then stay on the
    /// runtime instead of a thread of their own that polls for ACKs, so a single large
    /// transfer on loopback is markedly slower. Off by default.
    pub segmentation_offload: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], DEFAULT_UNPRIVILEGED_PORT))],
            max_transfers: 4096,
            max_transfers_per_client: 64,
            session: ServerConfig::default(),
            rescan_interval: Some(Duration::from_secs(2)),
            shutdown_grace: Duration::from_secs(5),
            receive_buffer_bytes: Some(4 * 1024 * 1024),
            segmentation_offload: false,
        }
    }
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listening address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// No listening address was given.
    #[error("no address to listen on")]
    NoAddress,
}

/// A bound, not yet running TFTP server.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<Arc<UdpSocket>>,
    catalog: Arc<Catalog>,
    options: ServerOptions,
}

impl Server {
    /// Binds every listening address. Must be called inside a tokio runtime.
    pub fn bind(options: ServerOptions, catalog: Arc<Catalog>) -> Result<Server, ServerError> {
        if options.listen.is_empty() {
            return Err(ServerError::NoAddress);
        }
        let mut listeners = Vec::with_capacity(options.listen.len());
        for &address in &options.listen {
            let socket = bind_listener(address, options.receive_buffer_bytes)
                .map_err(|source| ServerError::Bind { address, source })?;
            listeners.push(Arc::new(socket));
        }
        Ok(Server {
            listeners,
            catalog,
            options,
        })
    }

    /// The addresses actually bound (with the ports the OS chose for port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|socket| socket.local_addr().ok())
            .collect()
    }

    /// The catalog being served.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Serves until `shutdown` completes, then stops listening, gives running transfers
    /// [`ServerOptions::shutdown_grace`] to finish and aborts the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let max_transfers = self
            .options
            .max_transfers
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let (stop_sender, stop) = watch::channel(false);
        let shared = Arc::new(Shared {
            catalog: Arc::clone(&self.catalog),
            session: self.options.session,
            max_per_client: self.options.max_transfers_per_client.max(1),
            permits: Arc::new(Semaphore::new(max_transfers)),
            active: Arc::new(Mutex::new(ActiveTable::default())),
            dropped: DropCounter::default(),
            stop,
            segmentation_offload: self.options.segmentation_offload,
        });
        let watcher = self
            .options
            .rescan_interval
            .map(|interval| self.catalog.spawn_watcher(interval));
        let mut listeners = JoinSet::new();
        for socket in self.listeners {
            listeners.spawn(listen(Arc::clone(&shared), socket));
        }

        shutdown.await;

        listeners.abort_all();
        while listeners.join_next().await.is_some() {}
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        let running = max_transfers - shared.permits.available_permits();
        tracing::info!(
            running,
            grace_ms = self.options.shutdown_grace.as_millis() as u64,
            "shutting down: no new transfers; waiting for running ones"
        );
        let all_done = || shared.permits.acquire_many(max_transfers as u32);
        if tokio::time::timeout(self.options.shutdown_grace, all_done())
            .await
            .is_err()
        {
            let _ = stop_sender.send(true);
            // Aborting only queues one ERROR per session; this completes almost at once.
            let _ = tokio::time::timeout(Duration::from_secs(2), all_done()).await;
        }
        tracing::info!("server stopped");
    }
}

/// Binds a listening socket; IPv6 sockets are v6-only so IPv4 and IPv6 wildcards coexist.
fn bind_listener(address: SocketAddr, receive_buffer: Option<usize>) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::DGRAM, Some(Protocol::UDP))?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if let Some(size) = receive_buffer {
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = socket.set_recv_buffer_size(size);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// State shared by the listeners and transfer tasks.
pub(crate) struct Shared {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) session: ServerConfig,
    max_per_client: usize,
    permits: Arc<Semaphore>,
    active: Arc<Mutex<ActiveTable>>,
    dropped: DropCounter,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) segmentation_offload: bool,
}

/// Who is being served right now.
#[derive(Default)]
struct ActiveTable {
    peers: HashSet<SocketAddr>,
    per_ip: HashMap<IpAddr, usize>,
}

/// A transfer's place in the limits; released on drop, whatever way the task ends.
pub(crate) struct Slot {
    peer: SocketAddr,
    active: Arc<Mutex<ActiveTable>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        active.peers.remove(&self.peer);
        if let Some(count) = active.per_ip.get_mut(&self.peer.ip()) {
            *count -= 1;
            if *count == 0 {
                active.per_ip.remove(&self.peer.ip());
            }
        }
    }
}

/// Requests dropped because of limits, reported at most every few seconds.
#[derive(Default)]
struct DropCounter {
    count: AtomicU64,
    last_report: Mutex<Option<Instant>>,
}

impl DropCounter {
    const REPORT_EVERY: Duration = Duration::from_secs(5);

    fn record(&self, peer: SocketAddr, why: &'static str) {
        let total = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(client = %peer, why, "request dropped");
        let now = Instant::now();
        let mut last = self.last_report.lock().unwrap_or_else(|p| p.into_inner());
        let due = match *last {
            Some(at) => now.duration_since(at) >= Self::REPORT_EVERY,
            None => true,
        };
        if due {
            *last = Some(now);
            tracing::warn!(
                dropped_total = total,
                last_reason = why,
                "requests dropped by transfer limits (clients will retry)"
            );
        }
    }
}

impl Shared {
    /// Admits a read request from `peer`, or says why not (duplicate or over a limit).
    fn admit(&self, peer: SocketAddr) -> Result<Slot, Refusal> {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if active.peers.contains(&peer) {
            return Err(Refusal::Duplicate);
        }
        if active.per_ip.get(&peer.ip()).copied().unwrap_or(0) >= self.max_per_client {
            return Err(Refusal::Limit("per-client transfer limit"));
        }
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| Refusal::Limit("server transfer limit"))?;
        active.peers.insert(peer);
        *active.per_ip.entry(peer.ip()).or_default() += 1;
        Ok(Slot {
            peer,
            active: Arc::clone(&self.active),
            _permit: permit,
        })
    }
}

/// Why a read request does not start a transfer.
enum Refusal {
    /// Same client address and port as a running transfer: its session retransmits.
    Duplicate,
    /// Over a limit.
    Limit(&'static str),
}

/// Receives on a listening socket forever (until aborted). Never returns on a bad datagram.
async fn listen(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    // Requests are small; 64 KiB takes any datagram whole so nothing is misparsed.
    let mut buffer = vec![0u8; 65536];
    loop {
        let (len, from) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(err) => {
                tracing::debug!(error = %err, "receive error on listening socket");
                // Do not spin if the error repeats.
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        match classify_initial(&buffer[..len]) {
            Initial::Ignore => {
                tracing::trace!(client = %from, len, "datagram ignored on listening port")
            }
            Initial::Reject(error) => {
                tracing::debug!(client = %from, code = error.code.0, message = %error.message, "request refused");
                let _ = socket.send_to(&error.to_datagram(), from).await;
            }
            Initial::Read(request) => match shared.admit(from) {
                Ok(slot) => {
                    tokio::spawn(transfer::serve(
                        Arc::clone(&shared),
                        Arc::clone(&socket),
                        request,
                        from,
                        slot,
                    ));
                }
                Err(Refusal::Duplicate) => {
                    tracing::debug!(client = %from, "repeated request ignored: its transfer is running")
                }
                Err(Refusal::Limit(why)) => shared.dropped.record(from, why),
            },
        }
    }
}
