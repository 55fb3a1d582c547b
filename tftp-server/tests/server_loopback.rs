//! The server on loopback with the project's own client and raw packets.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::time::Duration;

use server_support::*;
use tftp_server::client::{fetch, ClientOptions};
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_files_with_and_without_options() {
    let content = pattern(100_000, 1);
    let dir = root_with(&[
        ("fw.bin", &content),
        ("empty.bin", b""),
        ("exact.bin", &pattern(1024, 2)),
    ]);
    let server = start(dir.path());
    let profiles = [
        ClientOptions::default(),
        ClientOptions {
            blksize: Some(1468),
            ..ClientOptions::default()
        },
        ClientOptions {
            blksize: Some(1468),
            windowsize: Some(16),
            request_tsize: true,
            ..ClientOptions::default()
        },
    ];
    for options in profiles {
        assert_eq!(
            fetch(server.address, "fw.bin", options.clone()).await.unwrap(),
            content
        );
        assert_eq!(
            fetch(server.address, "empty.bin", options.clone()).await.unwrap(),
            b""
        );
        assert_eq!(
            fetch(server.address, "exact.bin", options).await.unwrap(),
            pattern(1024, 2)
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_device_aliases_and_case_insensitive_names() {
    let dir = root_with(&[
        ("CTLFile.tlv", b"cluster ctl"),
        ("ITLFile.tlv", b"cluster itl"),
        ("CTLSEP00000000000A.tlv", b"device ctl"),
        ("sep001e4a93748b.cnf.xml", b"<device/>"),
    ]);
    let server = start(dir.path());
    let get = |name: &'static str| fetch(server.address, name, ClientOptions::default());
    assert_eq!(get("CTLSEP00000000000A.tlv").await.unwrap(), b"device ctl");
    assert_eq!(get("CTLSEP001E4A93748B.tlv").await.unwrap(), b"cluster ctl");
    assert_eq!(get("ITLSEP001E4A93748B.tlv").await.unwrap(), b"cluster itl");
    assert_eq!(get("SEP001E4A93748B.cnf.xml").await.unwrap(), b"<device/>");
    assert_eq!(get("ctlfile.TLV").await.unwrap(), b"cluster ctl");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_name_gets_error_1_at_once() {
    let dir = root_with(&[("CTLFile.tlv", b"x")]);
    let server = start(dir.path());
    // Well below the 1 s first retransmission: the answer is immediate, not a timeout.
    let asked = std::time::Instant::now();
    let (_socket, reply) = raw_request(server.address, &rrq("SEP001E4A93748B.cnf.xml", &[])).await;
    let waited = asked.elapsed();
    let (packet, _) = reply.expect("no reply");
    assert_eq!(as_error(&packet).map(|e| e.0), Some(1), "{packet:?}");
    assert!(waited < Duration::from_millis(500), "ERROR 1 took {waited:?}");
    let error = fetch(server.address, "nothing.bin", ClientOptions::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not found"), "{error}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_attempts_are_refused_without_paths() {
    let outside = root_with(&[("secret.txt", b"secret")]);
    let dir = root_with(&[("inside.txt", b"inside")]);
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("escape.txt")).unwrap();
    let server = start(dir.path());
    let secret = outside.path().join("secret.txt").display().to_string();
    let outside_name = outside.path().file_name().unwrap().to_string_lossy().into_owned();
    let attempts = [
        format!("../{outside_name}/secret.txt"),
        secret.clone(),
        format!("..\\{outside_name}\\secret.txt"),
        "escape.txt".to_string(),
        "./inside.txt".to_string(),
        "sub/../../inside.txt".to_string(),
    ];
    for attempt in &attempts {
        let (_socket, reply) = raw_request(server.address, &rrq(attempt, &[])).await;
        let (packet, _) = reply.unwrap_or_else(|| panic!("{attempt}: no reply"));
        let (code, message) =
            as_error(&packet).unwrap_or_else(|| panic!("{attempt}: not an error: {packet:?}"));
        assert!(code == 1 || code == 2, "{attempt}: code {code}");
        assert!(
            !message.contains(&*dir.path().to_string_lossy()),
            "{attempt}: {message}"
        );
        assert!(
            !message.contains(&*outside.path().to_string_lossy()),
            "{attempt}: {message}"
        );
    }
    assert_eq!(
        fetch(server.address, "inside.txt", ClientOptions::default())
            .await
            .unwrap(),
        b"inside"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_request_gets_error_2() {
    let dir = root_with(&[("CTLFile.tlv", b"x")]);
    let server = start(dir.path());
    let mut wrq = rrq("CTLFile.tlv", &[]);
    wrq[1] = 2;
    let (_socket, reply) = raw_request(server.address, &wrq).await;
    let (packet, _) = reply.expect("no reply");
    assert_eq!(as_error(&packet).map(|e| e.0), Some(2));
    assert_eq!(std::fs::read(dir.path().join("CTLFile.tlv")).unwrap(), b"x");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_request_from_same_port_does_not_start_a_second_transfer() {
    let dir = root_with(&[("fw.bin", &pattern(5000, 3))]);
    let server = start(dir.path());
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let request = rrq("fw.bin", &[]);
    socket.send_to(&request, server.address).await.unwrap();
    socket.send_to(&request, server.address).await.unwrap();
    socket.send_to(&request, server.address).await.unwrap();
    // Collect for less than the 1 s retransmission interval, acknowledging nothing.
    let mut sources = Vec::new();
    while let Some((packet, from)) = recv_within(&socket, Duration::from_millis(400)).await {
        assert_eq!(&packet[..4], &[0, 3, 0, 1], "expected DATA 1");
        sources.push(from);
    }
    assert_eq!(
        sources.len(),
        1,
        "DATA 1 came {} times from {sources:?}",
        sources.len()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_datagrams_do_not_disturb_the_server() {
    let content = pattern(30_000, 4);
    let dir = root_with(&[("fw.bin", &content)]);
    let server = start(dir.path());
    let noise = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0, 1],
        vec![0, 1, b'x'],
        b"\x00\x01fw.bin\x00".to_vec(),
        b"\x00\x01fw.bin\x00octet".to_vec(),
        b"\x00\x01fw.bin\x00octet\x00blksize\x00".to_vec(),
        b"\x00\x01fw.bin\x00octet\x00blksize\x00999999999999999999999\x00".to_vec(),
        b"\x00\x01fw.bin\x00octet\x00windowsize\x000\x00tsize\x00-1\x00".to_vec(),
        b"\x00\x01fw.bin\x00mail\x00".to_vec(),
        b"\x00\x03\x00\x01data".to_vec(),
        b"\x00\x04\xff\xff".to_vec(),
        b"\x00\x05\x00\x00".to_vec(),
        b"\x00\x06blksize\x00".to_vec(),
        b"\xff\xff\xff\xff".to_vec(),
        vec![0xAB; 65_000],
    ];
    junk.push([&b"\x00\x01"[..], &vec![b'a'; 60_000], b"\x00octet\x00"].concat());
    for datagram in &junk {
        noise.send_to(datagram, server.address).await.unwrap();
    }
    // Also throw junk at a running transfer's socket.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();
    let (first, transfer_tid) = recv_within(&socket, Duration::from_secs(5)).await.unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1]);
    for datagram in &junk {
        noise.send_to(datagram, transfer_tid).await.unwrap();
        socket.send_to(datagram, transfer_tid).await.unwrap();
    }
    // The server still serves, whole and correct.
    assert_eq!(
        fetch(server.address, "fw.bin", ClientOptions::default())
            .await
            .unwrap(),
        content
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stranger_tid_gets_error_5_and_the_transfer_completes() {
    // 3000 bytes: blocks 1..=6, acknowledged by hand.
    let content = pattern(3000, 9);
    let dir = root_with(&[("fw.bin", &content)]);
    let server = start(dir.path());
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();
    let (first, tid) = recv_within(&client, Duration::from_secs(5)).await.unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1]);
    // The transfer has its own socket (transfer ID), not the listening port.
    assert_eq!(tid.ip(), server.address.ip());
    assert_ne!(tid.port(), server.address.port());
    let mut received = first[4..].to_vec();
    // Another port writes into the transfer: it is told ERROR 5, the client is not.
    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(&ack(1), tid).await.unwrap();
    let (reply, from) = recv_within(&stranger, Duration::from_secs(5))
        .await
        .expect("no answer to the stranger");
    assert_eq!(from, tid);
    assert_eq!(as_error(&reply).map(|e| e.0), Some(5), "{reply:?}");
    // The stranger's ACK 1 did not advance the transfer: nothing reached the client.
    assert!(recv_within(&client, Duration::from_millis(200)).await.is_none());
    let mut block = 1u16;
    loop {
        client.send_to(&ack(block), tid).await.unwrap();
        if block == 6 {
            break;
        }
        let (packet, from) = recv_within(&client, Duration::from_secs(5)).await.unwrap();
        assert_eq!(from, tid);
        block = u16::from_be_bytes([packet[2], packet[3]]);
        received.extend_from_slice(&packet[4..]);
    }
    assert_eq!(received, content);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netascii_request_is_converted_on_the_wire() {
    let dir = root_with(&[("SEP001E4A93748B.cnf.xml", b"<a>\n<b/>\r\n</a>\r")]);
    let server = start(dir.path());
    let mut request = rrq("SEP001E4A93748B.cnf.xml", &[]);
    let mode = request.len() - b"octet\0".len();
    request.truncate(mode);
    request.extend_from_slice(b"NetAscii\0");
    let (socket, reply) = raw_request(server.address, &request).await;
    let (packet, tid) = reply.expect("no reply");
    // LF becomes CR LF, CR becomes CR NUL (RFC 764); one short block.
    assert_eq!(packet, b"\x00\x03\x00\x01<a>\r\n<b/>\r\0\r\n</a>\r\0");
    socket.send_to(&ack(1), tid).await.unwrap();
    server.stop().await;
}

/// A netascii session holds its own converted copy, so large files are refused in that
/// mode with a clear ERROR (octet still serves them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netascii_request_for_a_large_file_is_refused_with_a_clear_error() {
    let limit = tftp_server::server::transfer::MAX_NETASCII_FILE;
    let dir = root_with(&[("fw.bin", &pattern(limit + 1, 3))]);
    let server = start(dir.path());
    let mut request = rrq("fw.bin", &[]);
    request.truncate(request.len() - b"octet\0".len());
    request.extend_from_slice(b"netascii\0");
    let (_socket, reply) = raw_request(server.address, &request).await;
    let (packet, _) = reply.expect("no reply");
    assert_eq!(&packet[..4], &[0, 5, 0, 2], "ERROR 2 expected: {packet:?}");
    let message = String::from_utf8_lossy(&packet[4..]);
    assert!(message.contains("octet mode"), "{message}");
    let (_socket, reply) = raw_request(server.address, &rrq("fw.bin", &[])).await;
    let (packet, _) = reply.expect("no reply to octet");
    assert_eq!(&packet[..4], &[0, 3, 0, 1], "DATA 1 expected in octet mode");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_and_global_limits_drop_extra_requests_until_a_slot_frees() {
    let dir = root_with(&[("fw.bin", &pattern(3000, 5))]);
    for per_client in [true, false] {
        let mut options = loopback_options();
        if per_client {
            options.max_transfers_per_client = 1;
        } else {
            options.max_transfers = 1;
        }
        let server = start_with(open_catalog(dir.path(), std::sync::Arc::new(AcceptAll)), options);
        // First transfer: holds its slot while we do not acknowledge.
        let first = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        first.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();
        let (packet, tid) = recv_within(&first, Duration::from_secs(5)).await.unwrap();
        assert_eq!(&packet[..4], &[0, 3, 0, 1]);
        // Second client (same IP, other port): dropped, no answer at all.
        let second = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        second.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();
        assert!(recv_within(&second, Duration::from_millis(300)).await.is_none());
        // Finish the first transfer: 3000 bytes = blocks 1..=6.
        let mut block = 1u16;
        loop {
            first.send_to(&ack(block), tid).await.unwrap();
            if block == 6 {
                break;
            }
            let (packet, _) = recv_within(&first, Duration::from_secs(5)).await.unwrap();
            block = u16::from_be_bytes([packet[2], packet[3]]);
        }
        // The client retries, as clients do, and is served now.
        let data = fetch(server.address, "fw.bin", Default::default()).await.unwrap();
        assert_eq!(data, pattern(3000, 5));
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_listening_and_aborts_stalled_transfers_after_the_grace() {
    let dir = root_with(&[("fw.bin", &pattern(3000, 6))]);
    let server = start(dir.path());
    let address = server.address;
    let stalled = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stalled.send_to(&rrq("fw.bin", &[]), address).await.unwrap();
    let (packet, _) = recv_within(&stalled, Duration::from_secs(5)).await.unwrap();
    assert_eq!(&packet[..4], &[0, 3, 0, 1]);
    server.stop().await; // grace 500 ms, then ERROR 0
    let mut got_error = false;
    while let Some((packet, _)) = recv_within(&stalled, Duration::from_millis(500)).await {
        if let Some((code, message)) = as_error(&packet) {
            assert_eq!(code, 0);
            assert!(message.contains("shutting down"), "{message}");
            got_error = true;
        }
    }
    assert!(got_error, "stalled client was not told about the shutdown");
    // Nobody listens any more.
    let (_socket, reply) = raw_request_short(address).await;
    assert!(reply.is_none());
}

async fn raw_request_short(
    address: std::net::SocketAddr,
) -> (UdpSocket, Option<(Vec<u8>, std::net::SocketAddr)>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(&rrq("fw.bin", &[]), address).await.unwrap();
    let reply = recv_within(&socket, Duration::from_millis(300)).await;
    (socket, reply)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_ipv4_and_ipv6_together() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("note: no IPv6 loopback here; skipping");
        return;
    }
    // A small file (async runtime) and a large one (a thread of its own, which polls for
    // ACKs with its own receive call), lockstep and windowed, over both families.
    let large = pattern(2 * 1024 * 1024 + 100, 8);
    let dir = root_with(&[("fw.bin", &pattern(2000, 7)), ("large.bin", &large)]);
    let mut options = loopback_options();
    options.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    let server = start_with(open_catalog(dir.path(), std::sync::Arc::new(AcceptAll)), options);
    assert_eq!(server.addresses.len(), 2);
    let windowed = ClientOptions {
        windowsize: Some(16),
        ..ClientOptions::default()
    };
    for address in server.addresses.clone() {
        assert_eq!(
            fetch(address, "fw.bin", Default::default()).await.unwrap(),
            pattern(2000, 7)
        );
        for options in [ClientOptions::default(), windowed.clone()] {
            let data = fetch(address, "large.bin", options).await.unwrap();
            assert!(data == large, "{address}: large download differs");
        }
    }
    server.stop().await;
}

/// Windows sent with segmentation offload (one sendmsg per window) arrive intact, including
/// the short last block and a window cut by the end of the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_sent_with_segmentation_offload_arrive_intact() {
    let content = pattern(1468 * 40 + 77, 9);
    let dir = root_with(&[("fw.bin", &content), ("exact.bin", &pattern(1468 * 32, 10))]);
    let options = tftp_server::server::ServerOptions {
        segmentation_offload: true,
        ..loopback_options()
    };
    let server = start_with(open_catalog(dir.path(), std::sync::Arc::new(AcceptAll)), options);
    for windowsize in [16, 7, 64] {
        let options = ClientOptions {
            blksize: Some(1468),
            windowsize: Some(windowsize),
            ..ClientOptions::default()
        };
        let data = fetch(server.address, "fw.bin", options.clone()).await.unwrap();
        assert!(data == content, "windowsize {windowsize}");
        let data = fetch(server.address, "exact.bin", options).await.unwrap();
        assert!(data == pattern(1468 * 32, 10), "windowsize {windowsize}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_numbers_roll_over_on_a_large_file() {
    // 40 MB at 512-byte blocks is 78,125 blocks: past 65535.
    let content = pattern(40_000_000, 8);
    let dir = root_with(&[("big.bin", &content)]);
    let server = start(dir.path());
    let options = ClientOptions {
        windowsize: Some(16),
        ..ClientOptions::default()
    };
    let data = fetch(server.address, "big.bin", options).await.unwrap();
    assert!(data == content, "40 MB download differs (len {})", data.len());
    server.stop().await;
}
