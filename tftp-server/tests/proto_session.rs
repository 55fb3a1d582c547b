//! Virtual-clock tests of the sans-IO sessions, one per protocol rule.
//!
//! A `Pair` harness drives a `ClientSession` against a `ServerSession` (plus a minimal
//! "shell" for the listening port) through in-memory queues; time only moves when the
//! harness jumps to the next deadline, so loss and backoff tests run in microseconds.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tftp_server::proto::{
    classify_initial, ClientEvent, ClientFailure, ClientOptions, ClientSession, ErrorCode, ErrorPacket,
    Initial, Mode, NegotiationLimits, Packet, Request, RetransmitPolicy, ServerConfig, ServerEvent,
    ServerFailure, ServerSession, TftpOption,
};

const CLIENT: &str = "127.0.0.1:40000";
const LISTEN: &str = "127.0.0.1:69";
const SERVER_TID: &str = "127.0.0.1:50000";
const STRANGER: &str = "127.0.0.1:40001";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// Deterministic file contents of `len` bytes.
fn file_of(len: usize) -> Bytes {
    (0..len).map(|i| (i.wrapping_mul(7) ^ (i >> 8)) as u8).collect()
}

/// One datagram in flight.
#[derive(Clone, Debug)]
struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl Datagram {
    fn packet(&self) -> Packet<'_> {
        Packet::parse(&self.bytes).expect("sessions only send valid packets")
    }
    fn data_block(&self) -> Option<u16> {
        match self.packet() {
            Packet::Data { block, .. } => Some(block),
            _ => None,
        }
    }
    fn ack_block(&self) -> Option<u16> {
        match self.packet() {
            Packet::Ack { block } => Some(block),
            _ => None,
        }
    }
}

/// What the network does with a datagram.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Deliver,
    Drop,
    Duplicate,
}

/// A datagram handed out by a session.
#[derive(Clone, Debug)]
struct Sent {
    datagram: Datagram,
}

/// Decides the fate of each datagram, given it and its index among all sent.
type Network = Box<dyn FnMut(&Sent, usize) -> Fate>;

struct Pair {
    start: Instant,
    now: Instant,
    client: ClientSession,
    server: Option<ServerSession>,
    file: Bytes,
    config: ServerConfig,
    in_flight: VecDeque<Datagram>,
    /// Every datagram handed out by either session, in order.
    sent: Vec<Sent>,
    client_events: Vec<ClientEvent>,
    /// Virtual time at which the client reported its outcome.
    client_done_at: Option<Duration>,
    server_events: Vec<ServerEvent>,
    /// RRQs that reached the listening port after the session existed (dropped by the
    /// shell, as the repeated-RRQ rule requires).
    repeated_requests: usize,
    /// Decides the fate of each datagram, given its index in `sent`.
    network: Network,
}

impl Pair {
    fn new(file: Bytes, client_options: ClientOptions, config: ServerConfig) -> Pair {
        let start = Instant::now();
        let client =
            ClientSession::new(start, addr(LISTEN), "CTLFile.tlv", &client_options).expect("valid request");
        Pair {
            start,
            now: start,
            client,
            server: None,
            file,
            config,
            in_flight: VecDeque::new(),
            sent: Vec::new(),
            client_events: Vec::new(),
            client_done_at: None,
            server_events: Vec::new(),
            repeated_requests: 0,
            network: Box::new(|_, _| Fate::Deliver),
        }
    }

    /// Virtual time the download took (the client's dally after it is not counted).
    fn download_time(&self) -> Duration {
        self.client_done_at.expect("client finished")
    }

    /// Collects every pending transmit of both sides into the network.
    fn flush(&mut self) {
        let mut buf = Vec::new();
        while let Some(transmit) = self.client.poll_transmit(&mut buf) {
            self.emit(addr(CLIENT), transmit.destination, buf.clone());
        }
        if let Some(server) = self.server.as_mut() {
            let mut outgoing = Vec::new();
            while let Some(transmit) = server.poll_transmit(&mut buf) {
                outgoing.push((transmit.destination, buf.clone()));
            }
            for (to, bytes) in outgoing {
                self.emit(addr(SERVER_TID), to, bytes);
            }
        }
        while let Some(event) = self.client.poll() {
            self.client_done_at.get_or_insert(self.now - self.start);
            self.client_events.push(event);
        }
        if let Some(server) = self.server.as_mut() {
            while let Some(event) = server.poll() {
                self.server_events.push(event);
            }
        }
    }

    fn emit(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let sent = Sent {
            datagram: Datagram { from, to, bytes },
        };
        let fate = (self.network)(&sent, self.sent.len());
        match fate {
            Fate::Deliver => self.in_flight.push_back(sent.datagram.clone()),
            Fate::Drop => {}
            Fate::Duplicate => {
                self.in_flight.push_back(sent.datagram.clone());
                self.in_flight.push_back(sent.datagram.clone());
            }
        }
        self.sent.push(sent);
    }

    /// Delivers one datagram (the "shell" part for the listening port included).
    fn deliver(&mut self, datagram: Datagram) {
        let now = self.now;
        if datagram.to == addr(CLIENT) {
            self.client.handle_datagram(now, datagram.from, &datagram.bytes);
        } else if datagram.to == addr(LISTEN) {
            if self.server.is_some() {
                self.repeated_requests += 1;
                return;
            }
            match classify_initial(&datagram.bytes) {
                Initial::Read(request) => {
                    self.server = Some(ServerSession::new(
                        now,
                        datagram.from,
                        &request,
                        self.file.clone(),
                        &self.config,
                    ));
                }
                other => panic!("unexpected initial datagram: {other:?}"),
            }
        } else if datagram.to == addr(SERVER_TID) {
            if let Some(server) = self.server.as_mut() {
                server.handle_datagram(now, datagram.from, &datagram.bytes);
            }
        }
        // Datagrams to anyone else (strangers) vanish.
    }

    /// One step: flush, then deliver everything in flight, or else advance the clock to
    /// the earliest deadline. Returns false when nothing is left to do.
    fn step(&mut self) -> bool {
        self.flush();
        if !self.in_flight.is_empty() {
            // One batch: what is in flight now; answers travel in the next step.
            let batch: Vec<Datagram> = self.in_flight.drain(..).collect();
            for datagram in batch {
                self.deliver(datagram);
                self.flush();
            }
            return true;
        }
        let deadlines = [
            self.client.poll_timeout(),
            self.server.as_ref().and_then(|s| s.poll_timeout()),
        ];
        let Some(next) = deadlines.into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        self.client.handle_timeout(now);
        if let Some(server) = self.server.as_mut() {
            server.handle_timeout(now);
        }
        true
    }

    /// Runs until both sides are idle, at most `max_steps` steps.
    fn drive(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            if !self.step() {
                return;
            }
        }
        panic!("pair still busy after {max_steps} steps");
    }

    fn downloaded(&self) -> &[u8] {
        match self.client_events.as_slice() {
            [ClientEvent::Done(file)] => file,
            other => panic!("client did not finish exactly once: {other:?}"),
        }
    }

    fn server_completed(&self) -> bool {
        self.server_events == [ServerEvent::Completed]
    }

    /// DATA block numbers sent by the server, in order.
    fn data_blocks_sent(&self) -> Vec<u16> {
        self.sent
            .iter()
            .filter(|s| s.datagram.from == addr(SERVER_TID))
            .filter_map(|s| s.datagram.data_block())
            .collect()
    }
}

fn options_with(blksize: Option<u16>, windowsize: Option<u16>) -> ClientOptions {
    ClientOptions {
        blksize,
        windowsize,
        ..ClientOptions::default()
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for driving a server session by hand.

fn rrq(options: &[(&str, &str)]) -> Request {
    Request {
        filename: "CTLFile.tlv".into(),
        mode: Mode::Octet,
        options: options
            .iter()
            .map(|(name, value)| TftpOption::new(*name, *value))
            .collect(),
    }
}

fn drain(server: &mut ServerSession) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(transmit) = server.poll_transmit(&mut buf) {
        out.push((transmit.destination, buf.clone()));
    }
    out
}

fn ack(block: u16) -> Vec<u8> {
    Packet::Ack { block }.to_datagram()
}

fn data_blocks(datagrams: &[(SocketAddr, Vec<u8>)]) -> Vec<u16> {
    datagrams
        .iter()
        .map(|(_, bytes)| match Packet::parse(bytes).unwrap() {
            Packet::Data { block, .. } => block,
            other => panic!("expected DATA, got {other:?}"),
        })
        .collect()
}

fn oack_of(datagrams: &[(SocketAddr, Vec<u8>)]) -> Vec<TftpOption> {
    match datagrams {
        [(_, bytes)] => match Packet::parse(bytes).unwrap() {
            Packet::Oack { options } => options,
            other => panic!("expected OACK, got {other:?}"),
        },
        other => panic!("expected exactly one datagram, got {}", other.len()),
    }
}

fn server_for(options: &[(&str, &str)], file_len: usize, config: ServerConfig) -> (Instant, ServerSession) {
    let now = Instant::now();
    let session = ServerSession::new(now, addr(CLIENT), &rrq(options), file_of(file_len), &config);
    (now, session)
}

fn opts(pairs: &[(&str, &str)]) -> Vec<TftpOption> {
    pairs.iter().map(|(n, v)| TftpOption::new(*n, *v)).collect()
}

// ---------------------------------------------------------------------------------------
// Server rules.

#[test]
fn duplicate_ack_does_not_resend_data() {
    let (start, mut server) = server_for(&[], 2000, ServerConfig::default());
    assert_eq!(data_blocks(&drain(&mut server)), [1]);
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    assert_eq!(data_blocks(&drain(&mut server)), [2]);
    // The client repeats ACK 1 (e.g. its timer fired): no data in answer.
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.stats().duplicate_acks, 2);
    // Only the timer retransmits, and only once per expiry.
    server.handle_timeout(start + Duration::from_secs(1));
    assert_eq!(data_blocks(&drain(&mut server)), [2]);
}

#[test]
fn duplicate_ack_of_oack_does_not_resend_first_window() {
    let (start, mut server) = server_for(&[("windowsize", "4")], 5000, ServerConfig::default());
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("windowsize", "4")]));
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    assert_eq!(data_blocks(&drain(&mut server)), [1, 2, 3, 4]);
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    assert!(drain(&mut server).is_empty());
}

#[test]
fn lost_last_ack_retransmits_with_backoff_then_gives_up() {
    let (start, mut server) = server_for(&[], 1100, ServerConfig::default());
    assert_eq!(data_blocks(&drain(&mut server)), [1]);
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    assert_eq!(data_blocks(&drain(&mut server)), [2]);
    server.handle_datagram(start, addr(CLIENT), &ack(2));
    assert_eq!(data_blocks(&drain(&mut server)), [3]); // the last block (76 bytes)
                                                       // The ACK of block 3 never arrives. Record when the block is sent again.
    let mut retransmitted_at = Vec::new();
    let mut now = start;
    for _ in 0..20 {
        let Some(deadline) = server.poll_timeout() else {
            break;
        };
        // An early (spurious) call changes nothing.
        server.handle_timeout(deadline - Duration::from_millis(1));
        assert!(drain(&mut server).is_empty());
        now = deadline;
        server.handle_timeout(now);
        let sent = drain(&mut server);
        if !sent.is_empty() {
            assert_eq!(data_blocks(&sent), [3]);
            retransmitted_at.push((now - start).as_secs());
        }
    }
    // Default policy: 1 s doubling up to 8 s, 5 retransmissions, then one more wait.
    assert_eq!(retransmitted_at, [1, 3, 7, 15, 23]);
    assert_eq!((now - start).as_secs(), 31);
    assert_eq!(
        server.poll(),
        Some(ServerEvent::Failed(ServerFailure::TimedOut {
            retransmissions: 5
        }))
    );
    assert!(server.is_finished());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn negotiated_timeout_sets_the_first_retransmission_wait() {
    let (start, mut server) = server_for(&[("timeout", "3")], 100, ServerConfig::default());
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("timeout", "3")]));
    assert_eq!(server.poll_timeout(), Some(start + Duration::from_secs(3)));
    server.handle_timeout(start + Duration::from_secs(3));
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("timeout", "3")]));
    // Doubled, and the default 8 s cap does not cut it below 6 s.
    assert_eq!(server.poll_timeout(), Some(start + Duration::from_secs(9)));
}

#[test]
fn stranger_tid_gets_error5_and_transfer_continues() {
    let file = file_of(600 * 512 / 100);
    let mut pair = Pair::new(file.clone(), options_with(None, None), ServerConfig::default());
    // Run until the transfer is under way, then a stranger writes to both sides.
    for _ in 0..4 {
        pair.step();
    }
    assert!(pair.server.is_some());
    assert!(pair.client_events.is_empty(), "transfer already over");
    let bogus = ack(1);
    pair.in_flight.push_back(Datagram {
        from: addr(STRANGER),
        to: addr(SERVER_TID),
        bytes: bogus.clone(),
    });
    pair.in_flight.push_back(Datagram {
        from: addr(STRANGER),
        to: addr(CLIENT),
        bytes: Packet::Data {
            block: 2,
            data: b"evil",
        }
        .to_datagram(),
    });
    pair.drive(10_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    let errors_to_stranger: Vec<_> = pair
        .sent
        .iter()
        .filter(|s| s.datagram.to == addr(STRANGER))
        .map(|s| (s.datagram.from, s.datagram.packet().to_datagram()))
        .collect();
    let error5 = ErrorPacket::new(ErrorCode::UNKNOWN_TID, "unknown transfer ID").to_datagram();
    assert_eq!(
        errors_to_stranger,
        [(addr(SERVER_TID), error5.clone()), (addr(CLIENT), error5)]
    );
    assert_eq!(pair.server.as_ref().unwrap().stats().stranger_datagrams, 1);
    // No retransmission was needed: the strangers did not disturb the transfer.
    assert_eq!(pair.download_time(), Duration::ZERO);
}

#[test]
fn stranger_flood_queues_a_bounded_number_of_errors() {
    let (start, mut server) = server_for(&[], 100, ServerConfig::default());
    drain(&mut server);
    for port in 0..1000u16 {
        let stranger = SocketAddr::new(addr(CLIENT).ip(), 1000 + port);
        server.handle_datagram(start, stranger, &ack(1));
    }
    let sent = drain(&mut server);
    assert_eq!(sent.len(), tftp_server::proto::MAX_QUEUED_STRANGER_ERRORS);
    assert!(sent.iter().all(|(to, _)| *to != addr(CLIENT)));
    // The real client still completes the transfer.
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    assert_eq!(server.poll(), Some(ServerEvent::Completed));
}

#[test]
fn windowsize_16_recovers_from_loss_mid_window() {
    let file = file_of(512 * 100 + 17);
    let mut pair = Pair::new(
        file.clone(),
        options_with(None, Some(16)),
        ServerConfig::default(),
    );
    let mut dropped = false;
    pair.network = Box::new(move |sent, _| {
        // Lose block 21 (the 5th block of the second window) the first time only.
        if !dropped && sent.datagram.data_block() == Some(21) {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    pair.drive(10_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    // The client's gap ACK (ACK 20) made the server restart from 21 at once: no timer.
    assert_eq!(pair.download_time(), Duration::ZERO);
    let acks: Vec<u16> = pair
        .sent
        .iter()
        .filter(|s| s.datagram.from == addr(CLIENT))
        .filter_map(|s| s.datagram.ack_block())
        .collect();
    assert!(acks.starts_with(&[0, 16, 20, 36]), "acks: {acks:?}");
    let blocks = pair.data_blocks_sent();
    let count_21 = blocks.iter().filter(|&&b| b == 21).count();
    assert_eq!(count_21, 2);
}

#[test]
fn windowsize_16_recovers_from_loss_of_first_block_of_window_by_timer() {
    let file = file_of(512 * 40);
    let mut pair = Pair::new(
        file.clone(),
        options_with(None, Some(16)),
        ServerConfig::default(),
    );
    let mut dropped = false;
    pair.network = Box::new(move |sent, _| {
        if !dropped && sent.datagram.data_block() == Some(17) {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    pair.drive(10_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    // The client's ACK 16 repeats an acknowledged block, so the server must wait for its
    // timer (1 s) rather than resend on a duplicate ACK.
    assert_eq!(pair.download_time(), Duration::from_secs(1));
}

#[test]
fn lost_window_ack_is_recovered() {
    let file = file_of(512 * 40);
    let mut pair = Pair::new(file.clone(), options_with(None, Some(8)), ServerConfig::default());
    let mut dropped = false;
    pair.network = Box::new(move |sent, _| {
        if !dropped && sent.datagram.from == addr(CLIENT) && sent.datagram.ack_block() == Some(8) {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    pair.drive(10_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    assert_eq!(pair.download_time(), Duration::from_secs(1));
}

#[test]
fn duplicated_packets_mid_window_do_not_cause_retransmissions() {
    for windowsize in [None, Some(8)] {
        let blocks = 50;
        let file = file_of(512 * blocks + 100);
        let mut pair = Pair::new(
            file.clone(),
            options_with(None, windowsize),
            ServerConfig::default(),
        );
        // Duplicate every third datagram in both directions.
        pair.network = Box::new(|_, index| {
            if index % 3 == 1 {
                Fate::Duplicate
            } else {
                Fate::Deliver
            }
        });
        pair.drive(10_000);
        assert_eq!(pair.downloaded(), &file[..], "windowsize {windowsize:?}");
        assert!(pair.server_completed());
        let sent = pair.data_blocks_sent();
        assert_eq!(sent.len(), blocks + 1, "windowsize {windowsize:?}: {sent:?}");
        assert_eq!(pair.download_time(), Duration::ZERO);
    }
}

#[test]
fn lockstep_data_loss_is_retransmitted_by_timer() {
    let file = file_of(512 * 5);
    let mut pair = Pair::new(file.clone(), ClientOptions::default(), ServerConfig::default());
    let mut dropped = 0;
    pair.network = Box::new(move |sent, _| {
        if dropped < 2 && sent.datagram.data_block() == Some(3) {
            dropped += 1;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    pair.drive(10_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    // Block 3 lost twice: server resends after 1 s then 2 s more.
    assert_eq!(pair.download_time(), Duration::from_secs(3));
}

#[test]
fn block_number_rolls_over_after_65535() {
    // blksize 8 keeps the file small: 65_540 blocks, the last one short.
    let file = file_of(8 * 65_539 + 3);
    let mut pair = Pair::new(
        file.clone(),
        options_with(Some(8), Some(64)),
        ServerConfig::default(),
    );
    pair.drive(100_000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    let blocks = pair.data_blocks_sent();
    assert_eq!(blocks.len(), 65_540);
    let at = blocks.iter().position(|&b| b == 65_535).unwrap();
    assert_eq!(&blocks[at..], [65_535, 0, 1, 2, 3, 4]);
}

#[test]
fn block_number_rolls_over_in_lockstep_too() {
    let file = file_of(8 * 65_537);
    let mut pair = Pair::new(file.clone(), options_with(Some(8), None), ServerConfig::default());
    pair.drive(300_000);
    assert_eq!(pair.downloaded(), &file[..]);
    // Exactly a multiple of blksize: an empty final block 65_538 (number 2).
    assert_eq!(pair.data_blocks_sent().last(), Some(&2));
}

#[test]
fn oack_lists_only_accepted_options() {
    let (_, mut server) = server_for(
        &[
            ("blksize", "1024"),
            ("multicast", ""),
            ("timeout", "300"),
            ("windowsize", "0"),
            ("tsize", "0"),
            ("rollover", "0"),
        ],
        4321,
        ServerConfig::default(),
    );
    assert_eq!(
        oack_of(&drain(&mut server)),
        opts(&[("blksize", "1024"), ("tsize", "4321")])
    );
}

#[test]
fn option_names_are_case_insensitive() {
    let (start, mut server) = server_for(
        &[
            ("BlkSize", "1000"),
            ("TSIZE", "0"),
            ("WindowSize", "2"),
            ("TimeOut", "5"),
        ],
        2500,
        ServerConfig::default(),
    );
    // Accepted, and echoed with the client's spelling.
    assert_eq!(
        oack_of(&drain(&mut server)),
        opts(&[
            ("BlkSize", "1000"),
            ("TSIZE", "2500"),
            ("WindowSize", "2"),
            ("TimeOut", "5")
        ])
    );
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    let sent = drain(&mut server);
    assert_eq!(data_blocks(&sent), [1, 2]);
    assert_eq!(sent[0].1.len(), 4 + 1000);
}

#[test]
fn unknown_options_are_ignored() {
    let (_, mut server) = server_for(&[("foo", "bar"), ("blksize2", "8")], 700, ServerConfig::default());
    // Nothing accepted: no OACK, DATA 1 at once with RFC 1350's 512-byte blocks.
    let sent = drain(&mut server);
    assert_eq!(data_blocks(&sent), [1]);
    assert_eq!(sent[0].1.len(), 4 + 512);
}

#[test]
fn blksize_is_capped_by_config() {
    let (start, mut server) = server_for(&[("blksize", "65464")], 5000, ServerConfig::default());
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("blksize", "1468")]));
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    assert_eq!(drain(&mut server)[0].1.len(), 4 + 1468);

    let config = ServerConfig {
        limits: NegotiationLimits {
            max_blksize: 600,
            ..NegotiationLimits::default()
        },
        ..ServerConfig::default()
    };
    let (_, mut server) = server_for(&[("blksize", "1468")], 5000, config);
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("blksize", "600")]));
}

#[test]
fn windowsize_is_capped_by_config() {
    let config = ServerConfig {
        limits: NegotiationLimits {
            max_windowsize: 4,
            ..NegotiationLimits::default()
        },
        ..ServerConfig::default()
    };
    let (start, mut server) = server_for(&[("windowsize", "16")], 512 * 20, config);
    assert_eq!(oack_of(&drain(&mut server)), opts(&[("windowsize", "4")]));
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    assert_eq!(data_blocks(&drain(&mut server)), [1, 2, 3, 4]);
}

#[test]
fn client_error8_ends_transfer() {
    let (start, mut server) = server_for(&[("blksize", "1024")], 5000, ServerConfig::default());
    assert_eq!(oack_of(&drain(&mut server)).len(), 1);
    let reject = ErrorPacket::new(ErrorCode::OPTION_NEGOTIATION, "no thanks").to_datagram();
    server.handle_datagram(start, addr(CLIENT), &reject);
    assert_eq!(
        server.poll(),
        Some(ServerEvent::Failed(ServerFailure::PeerError {
            code: ErrorCode(8),
            message: "no thanks".into()
        }))
    );
    // Over at once: nothing to send, no timer, later ACKs and timeouts change nothing.
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.poll_timeout(), None);
    assert!(server.is_finished());
    server.handle_datagram(start, addr(CLIENT), &ack(0));
    server.handle_timeout(start + Duration::from_secs(60));
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.poll(), None);
}

#[test]
fn client_error_mid_transfer_ends_transfer() {
    let (start, mut server) = server_for(&[], 5000, ServerConfig::default());
    drain(&mut server);
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    drain(&mut server);
    let error = ErrorPacket::new(ErrorCode::DISK_FULL, "full").to_datagram();
    server.handle_datagram(start, addr(CLIENT), &error);
    assert!(matches!(
        server.poll(),
        Some(ServerEvent::Failed(ServerFailure::PeerError {
            code: ErrorCode(3),
            ..
        }))
    ));
    assert!(drain(&mut server).is_empty());
}

#[test]
fn abort_sends_error_to_peer_and_ends() {
    let (_, mut server) = server_for(&[], 5000, ServerConfig::default());
    drain(&mut server);
    server.abort(ErrorCode::NOT_DEFINED, "server shutting down");
    let sent = drain(&mut server);
    assert_eq!(
        sent,
        [(
            addr(CLIENT),
            ErrorPacket::new(ErrorCode(0), "server shutting down").to_datagram()
        )]
    );
    assert!(server.is_finished());
    assert!(matches!(
        server.poll(),
        Some(ServerEvent::Failed(ServerFailure::Aborted(_)))
    ));
}

#[test]
fn ack_for_block_never_sent_is_ignored() {
    let (start, mut server) = server_for(&[], 5000, ServerConfig::default());
    drain(&mut server);
    server.handle_datagram(start, addr(CLIENT), &ack(7));
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.poll(), None);
    server.handle_datagram(start, addr(CLIENT), &ack(1));
    assert_eq!(data_blocks(&drain(&mut server)), [2]);
}

#[test]
fn malformed_datagrams_from_peer_are_ignored() {
    let (start, mut server) = server_for(&[], 5000, ServerConfig::default());
    drain(&mut server);
    for garbage in [
        &b""[..],
        b"\x00",
        b"\x00\x04\x00",
        b"\xff\xff\xff\xff",
        b"\x00\x03\x00\x01x",
    ] {
        server.handle_datagram(start, addr(CLIENT), garbage);
    }
    assert!(drain(&mut server).is_empty());
    assert_eq!(server.poll(), None);
    assert_eq!(server.stats().ignored_datagrams, 5);
}

#[test]
fn empty_file_is_one_empty_block() {
    let mut pair = Pair::new(Bytes::new(), ClientOptions::default(), ServerConfig::default());
    pair.drive(100);
    assert_eq!(pair.downloaded(), b"");
    assert_eq!(pair.data_blocks_sent(), [1]);
    assert!(pair.server_completed());
}

#[test]
fn netascii_is_converted_and_tsize_counts_converted_bytes() {
    let file = Bytes::from_static(b"line one\nline two\r\nbare cr\r end");
    let client_options = ClientOptions {
        netascii: true,
        request_tsize: true,
        ..ClientOptions::default()
    };
    let mut pair = Pair::new(file.clone(), client_options, ServerConfig::default());
    pair.drive(100);
    assert_eq!(pair.downloaded(), &file[..]);
    assert_eq!(pair.client.announced_size(), Some(file.len() as u64 + 4));
    let wire: Vec<u8> = pair
        .sent
        .iter()
        .filter_map(|s| match s.datagram.packet() {
            Packet::Data { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(wire, b"line one\r\nline two\r\0\r\nbare cr\r\0 end");
}

#[test]
fn repeated_rrq_does_not_start_a_second_transfer() {
    // The server's first OACK is lost; the client's timer resends the RRQ while the
    // server's timer resends the OACK. The harness plays the shell here, dropping the
    // repeated RRQ (session key = client address and port); this checks that the two
    // sessions still complete one transfer. The real shell's rule is tested over sockets in
    // server_loopback.rs (repeated_request_from_same_port_does_not_start_a_second_transfer).
    let file = file_of(3000);
    let mut pair = Pair::new(
        file.clone(),
        options_with(Some(1024), None),
        ServerConfig::default(),
    );
    let mut dropped = false;
    pair.network = Box::new(move |sent, _| {
        if !dropped && matches!(sent.datagram.packet(), Packet::Oack { .. }) {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    pair.drive(1000);
    assert_eq!(pair.downloaded(), &file[..]);
    assert!(pair.server_completed());
    assert_eq!(pair.repeated_requests, 1);
    assert_eq!(pair.server.as_ref().unwrap().peer(), addr(CLIENT));
}

// ---------------------------------------------------------------------------------------
// Client rules.

fn client_for(options: &ClientOptions) -> (Instant, ClientSession) {
    let now = Instant::now();
    let client = ClientSession::new(now, addr(LISTEN), "CTLFile.tlv", options).unwrap();
    (now, client)
}

fn drain_client(client: &mut ClientSession) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(transmit) = client.poll_transmit(&mut buf) {
        out.push((transmit.destination, buf.clone()));
    }
    out
}

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    Packet::Data { block, data: payload }.to_datagram()
}

#[test]
fn client_request_carries_chosen_options() {
    let options = ClientOptions {
        blksize: Some(1468),
        windowsize: Some(16),
        timeout_secs: Some(2),
        request_tsize: true,
        ..ClientOptions::default()
    };
    let (_, mut client) = client_for(&options);
    let sent = drain_client(&mut client);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, addr(LISTEN));
    assert_eq!(
        Packet::parse(&sent[0].1).unwrap(),
        Packet::Rrq(rrq(&[
            ("blksize", "1468"),
            ("windowsize", "16"),
            ("timeout", "2"),
            ("tsize", "0")
        ]))
    );
}

#[test]
fn client_locks_tid_to_first_reply_port() {
    let (start, mut client) = client_for(&ClientOptions::default());
    drain_client(&mut client);
    // Another host cannot hijack the transfer before the lock: silently ignored.
    client.handle_datagram(start, addr("127.0.0.2:50000"), &data(1, b"evil"));
    assert!(drain_client(&mut client).is_empty());
    client.handle_datagram(start, addr(SERVER_TID), &data(1, &[1; 512]));
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(1))]);
    assert_eq!(client.peer(), Some(addr(SERVER_TID)));
    // Same host, other port: ERROR 5 to it, transfer unaffected.
    client.handle_datagram(start, addr("127.0.0.1:50001"), &data(2, b"evil"));
    let sent = drain_client(&mut client);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, addr("127.0.0.1:50001"));
    assert!(matches!(
        Packet::parse(&sent[0].1).unwrap(),
        Packet::Error(ErrorPacket {
            code: ErrorCode(5),
            ..
        })
    ));
    client.handle_datagram(start, addr(SERVER_TID), &data(2, b"end"));
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(2))]);
    let mut expected = vec![1; 512];
    expected.extend_from_slice(b"end");
    assert_eq!(client.poll(), Some(ClientEvent::Done(expected)));
}

#[test]
fn client_rejects_oack_with_unrequested_or_larger_values_with_error8() {
    let cases: [&[(&str, &str)]; 4] = [
        &[("blksize", "2048")], // larger than asked
        &[("windowsize", "4")], // not asked
        &[("blksize", "abc")],  // not a number
        &[("timeout", "5")],    // not asked
    ];
    for oack in cases {
        let (start, mut client) = client_for(&options_with(Some(1024), None));
        drain_client(&mut client);
        let datagram = Packet::Oack { options: opts(oack) }.to_datagram();
        client.handle_datagram(start, addr(SERVER_TID), &datagram);
        let sent = drain_client(&mut client);
        assert_eq!(sent.len(), 1, "{oack:?}");
        assert!(matches!(
            Packet::parse(&sent[0].1).unwrap(),
            Packet::Error(ErrorPacket {
                code: ErrorCode(8),
                ..
            })
        ));
        assert!(matches!(
            client.poll(),
            Some(ClientEvent::Failed(ClientFailure::BadOack(_)))
        ));
        assert!(client.is_finished());
    }
}

#[test]
fn client_accepts_smaller_blksize_from_oack() {
    let (start, mut client) = client_for(&options_with(Some(1468), Some(4)));
    drain_client(&mut client);
    let datagram = Packet::Oack {
        options: opts(&[("BLKSIZE", "512")]),
    }
    .to_datagram();
    client.handle_datagram(start, addr(SERVER_TID), &datagram);
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(0))]);
    assert_eq!(client.blksize(), 512);
    assert_eq!(client.windowsize(), 1);
}

#[test]
fn client_falls_back_to_defaults_when_server_ignores_options() {
    let (start, mut client) = client_for(&options_with(Some(1468), Some(16)));
    drain_client(&mut client);
    client.handle_datagram(start, addr(SERVER_TID), &data(1, &[9; 512]));
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(1))]);
    assert_eq!(client.blksize(), 512);
}

#[test]
fn server_error_ends_client_session() {
    let (start, mut client) = client_for(&ClientOptions::default());
    drain_client(&mut client);
    let error = ErrorPacket::new(ErrorCode::FILE_NOT_FOUND, "file not found").to_datagram();
    client.handle_datagram(start, addr(SERVER_TID), &error);
    assert_eq!(
        client.poll(),
        Some(ClientEvent::Failed(ClientFailure::ServerError {
            code: ErrorCode(1),
            message: "file not found".into()
        }))
    );
    assert!(client.is_finished());
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn client_retransmits_rrq_with_backoff_then_gives_up() {
    let (start, mut client) = client_for(&ClientOptions::default());
    let first = drain_client(&mut client);
    let mut resent_at = Vec::new();
    let mut now = start;
    while let Some(deadline) = client.poll_timeout() {
        now = deadline;
        client.handle_timeout(now);
        let sent = drain_client(&mut client);
        if !sent.is_empty() {
            assert_eq!(sent, first);
            resent_at.push((now - start).as_secs());
        }
    }
    assert_eq!(resent_at, [1, 3, 7, 15, 23]);
    assert_eq!((now - start), RetransmitPolicy::default().give_up_after());
    assert!(matches!(
        client.poll(),
        Some(ClientEvent::Failed(ClientFailure::TimedOut { .. }))
    ));
}

#[test]
fn client_reacks_a_repeated_final_block_while_dallying() {
    let (start, mut client) = client_for(&ClientOptions::default());
    drain_client(&mut client);
    client.handle_datagram(start, addr(SERVER_TID), &data(1, b"short"));
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(1))]);
    assert_eq!(client.poll(), Some(ClientEvent::Done(b"short".to_vec())));
    assert!(!client.is_finished());
    // Our final ACK was lost; the server repeats the block.
    client.handle_datagram(
        start + Duration::from_millis(900),
        addr(SERVER_TID),
        &data(1, b"short"),
    );
    assert_eq!(drain_client(&mut client), [(addr(SERVER_TID), ack(1))]);
    client.handle_timeout(start + Duration::from_secs(1));
    assert!(client.is_finished());
    assert_eq!(client.poll(), None);
}

#[test]
fn client_refuses_files_over_its_limit_with_error3() {
    let options = ClientOptions {
        max_file_size: 1000,
        ..ClientOptions::default()
    };
    let (start, mut client) = client_for(&options);
    drain_client(&mut client);
    client.handle_datagram(start, addr(SERVER_TID), &data(1, &[0; 512]));
    drain_client(&mut client);
    client.handle_datagram(start, addr(SERVER_TID), &data(2, &[0; 512]));
    let sent = drain_client(&mut client);
    assert!(matches!(
        Packet::parse(&sent[0].1).unwrap(),
        Packet::Error(ErrorPacket {
            code: ErrorCode(3),
            ..
        })
    ));
    assert_eq!(
        client.poll(),
        Some(ClientEvent::Failed(ClientFailure::TooLarge { limit: 1000 }))
    );
}

#[test]
fn client_rejects_block_longer_than_blksize() {
    let (start, mut client) = client_for(&ClientOptions::default());
    drain_client(&mut client);
    client.handle_datagram(start, addr(SERVER_TID), &data(1, &[0; 513]));
    assert!(matches!(
        client.poll(),
        Some(ClientEvent::Failed(ClientFailure::Protocol(_)))
    ));
}

#[test]
fn client_request_validation() {
    let now = Instant::now();
    let server = addr(LISTEN);
    assert!(ClientSession::new(now, server, "", &ClientOptions::default()).is_err());
    assert!(ClientSession::new(now, server, "a\0b", &ClientOptions::default()).is_err());
    assert!(ClientSession::new(now, server, &"x".repeat(600), &ClientOptions::default()).is_err());
    assert!(ClientSession::new(now, server, "f", &options_with(Some(7), None)).is_err());
    assert!(ClientSession::new(now, server, "f", &options_with(None, Some(0))).is_err());
}
