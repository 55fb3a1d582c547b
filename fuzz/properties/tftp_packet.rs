//! The `tftp_packet` property, shared by the fuzz target and by
//! `tftp-server/tests/proto_fuzz_corpus.rs` (which replays the corpus under plain `cargo test`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tftp_server::proto::{
    classify_initial, ClientOptions, ClientSession, Initial, Mode, Packet, Request, ServerConfig,
    ServerSession, TftpOption,
};

/// Panics when `data` breaks the property:
/// * parsing never panics;
/// * whatever parses re-encodes to a datagram that parses to the same packet, and the
///   encoding of that is stable (encode . parse is a fixpoint on encoded packets);
/// * `classify_initial` never panics; a read request it accepts starts a server session;
/// * feeding the datagram to a server session (from the peer and from a stranger) and to a
///   client session (as the server's reply), then draining transmits, events and timers,
///   never panics and leaves every emitted datagram parseable.
pub fn check(data: &[u8]) {
    if let Ok(packet) = Packet::parse(data) {
        let encoded = packet.to_datagram();
        let reparsed = Packet::parse(&encoded).expect("an encoded packet parses");
        assert_eq!(reparsed, packet, "encode then parse changed the packet");
        assert_eq!(reparsed.to_datagram(), encoded, "encoding is not stable");
    }

    let now = Instant::now();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let stranger: SocketAddr = "127.0.0.1:40001".parse().unwrap();
    let server_addr: SocketAddr = "127.0.0.1:69".parse().unwrap();
    let file = vec![0x5a; 1500];

    let request = match classify_initial(data) {
        Initial::Read(request) => request,
        Initial::Reject(error) => {
            Packet::parse(&error.to_datagram()).expect("a reject parses");
            Request {
                filename: "CTLFile.tlv".into(),
                mode: Mode::Octet,
                options: vec![TftpOption::new("windowsize", "4")],
            }
        }
        Initial::Ignore => Request {
            filename: "x".into(),
            mode: Mode::Netascii,
            options: Vec::new(),
        },
    };
    let mut server = ServerSession::new(now, peer, &request, file.into(), &ServerConfig::default());
    drain_server(&mut server);
    server.handle_datagram(now, peer, data);
    server.handle_datagram(now, stranger, data);
    drain_server(&mut server);
    let later = now + Duration::from_secs(1000);
    server.handle_timeout(later);
    drain_server(&mut server);

    let options = ClientOptions {
        blksize: Some(1024),
        windowsize: Some(4),
        request_tsize: true,
        ..ClientOptions::default()
    };
    let mut client = ClientSession::new(now, server_addr, "CTLFile.tlv", &options).unwrap();
    drain_client(&mut client);
    let server_tid: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    client.handle_datagram(now, server_tid, data);
    client.handle_datagram(now, server_tid, data);
    client.handle_datagram(now, stranger, data);
    drain_client(&mut client);
    client.handle_timeout(later);
    drain_client(&mut client);
}

fn drain_server(server: &mut ServerSession) {
    let mut buf = Vec::new();
    while server.poll_transmit(&mut buf).is_some() {
        Packet::parse(&buf).expect("the server sends valid packets");
    }
    while server.poll().is_some() {}
}

fn drain_client(client: &mut ClientSession) {
    let mut buf = Vec::new();
    while client.poll_transmit(&mut buf).is_some() {
        Packet::parse(&buf).expect("the client sends valid packets");
    }
    while client.poll().is_some() {}
}
