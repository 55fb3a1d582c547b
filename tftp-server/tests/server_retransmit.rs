//! The server's retransmission timer on real sockets: a silent client gets the same block
//! again after each wait, then nothing once the budget is spent; an ACK re-arms the timer
//! for the next block; a shutdown reaches a stalled client. Small files run on the async
//! runtime, large files on a thread of their own: both are checked.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use server_support::*;
use tftp_server::proto::RetransmitPolicy;
use tokio::net::UdpSocket;

fn quick_policy() -> RetransmitPolicy {
    RetransmitPolicy {
        initial: Duration::from_millis(100),
        max_interval: Duration::from_millis(200),
        max_retransmissions: 3,
    }
}

/// Large enough for a transfer to get a dedicated thread.
const LARGE: usize = 2 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_gets_the_block_again_then_the_server_gives_up() {
    silent_client(3000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_of_a_large_file_gets_the_block_again_then_the_server_gives_up() {
    silent_client(LARGE).await;
}

async fn silent_client(size: usize) {
    let dir = root_with(&[("fw.bin", &pattern(size, 7))]);
    let mut options = loopback_options();
    options.session.retransmit = quick_policy();
    let server = start_with(open_catalog(dir.path(), Arc::new(AcceptAll)), options);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();

    let started = Instant::now();
    let mut arrivals = Vec::new();
    while let Some((packet, _)) = recv_within(&client, Duration::from_secs(2)).await {
        assert_eq!(
            &packet[..4],
            &[0, 3, 0, 1],
            "only block 1 may come while nothing is acknowledged"
        );
        arrivals.push(started.elapsed());
    }
    // The first send plus exactly three retransmissions, then silence.
    assert_eq!(arrivals.len(), 4, "arrivals: {arrivals:?}");
    // Waits of 100, 200 and 200 ms (doubling, capped): each gap at least the wait.
    let gaps: Vec<Duration> = arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for (gap, wait) in gaps.iter().zip([100u64, 200, 200]) {
        assert!(*gap >= Duration::from_millis(wait - 10), "gaps {gaps:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_rearms_the_timer_for_the_next_block() {
    ack_rearms(1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_rearms_the_timer_for_the_next_block_of_a_large_file() {
    ack_rearms(LARGE).await;
}

async fn ack_rearms(size: usize) {
    let dir = root_with(&[("fw.bin", &pattern(size, 8))]);
    let mut options = loopback_options();
    options.session.retransmit = quick_policy();
    let server = start_with(open_catalog(dir.path(), Arc::new(AcceptAll)), options);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();

    let (first, transfer) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1]);
    // Wait for one retransmission of block 1, then acknowledge it.
    let (again, _) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&again[..4], &[0, 3, 0, 1]);
    client.send_to(&ack(1), transfer).await.unwrap();
    let acked = Instant::now();
    // Block 2 now, and its own retransmission a full wait later.
    let (second, _) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&second[..4], &[0, 3, 0, 2]);
    assert_eq!(&second[4..], &pattern(size, 8)[512..size.min(1024)]);
    let (retransmitted, _) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&retransmitted[..4], &[0, 3, 0, 2]);
    assert!(
        acked.elapsed() >= Duration::from_millis(90),
        "block 2 retransmitted too early"
    );
    client.send_to(&ack(2), transfer).await.unwrap();
    if size <= 1024 {
        // The last block is acknowledged: nothing more comes.
        assert!(recv_within(&client, Duration::from_millis(400)).await.is_none());
    } else {
        let (third, _) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
        assert_eq!(&third[..4], &[0, 3, 0, 3]);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reaches_a_stalled_client_of_a_large_file() {
    let dir = root_with(&[("fw.bin", &pattern(LARGE, 9))]);
    let mut options = loopback_options();
    options.shutdown_grace = Duration::from_millis(200);
    let server = start_with(open_catalog(dir.path(), Arc::new(AcceptAll)), options);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&rrq("fw.bin", &[]), server.address).await.unwrap();
    let (first, _) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1]);
    let stopping = Instant::now();
    server.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        stopping.elapsed()
    );
    let mut told = false;
    while let Some((packet, _)) = recv_within(&client, Duration::from_millis(500)).await {
        if let Some((code, message)) = as_error(&packet) {
            assert_eq!(code, 0);
            assert!(message.contains("shutting down"), "{message}");
            told = true;
        }
    }
    assert!(told, "the stalled client was not told about the shutdown");
}

/// The next `count` DATA packets' block numbers and payloads.
async fn receive_blocks(client: &UdpSocket, count: usize) -> Vec<(u16, Vec<u8>)> {
    let mut blocks = Vec::new();
    for _ in 0..count {
        let (packet, _) = recv_within(client, Duration::from_secs(2))
            .await
            .expect("a DATA packet");
        assert_eq!(&packet[..2], &[0, 3], "{packet:?}");
        blocks.push((u16::from_be_bytes([packet[2], packet[3]]), packet[4..].to_vec()));
    }
    blocks
}

fn numbers(blocks: &[(u16, Vec<u8>)]) -> Vec<u16> {
    blocks.iter().map(|(number, _)| *number).collect()
}

/// A large windowed transfer runs on a thread of its own that polls for ACKs before it
/// sleeps: a window nobody acknowledges comes again whole after the wait, a partial ACK
/// makes the next window start right after it, and a stranger writing to the transfer is
/// told ERROR 5 without disturbing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_windowed_transfer_recovers_from_loss_and_answers_strangers() {
    let content = pattern(LARGE, 10);
    let dir = root_with(&[("fw.bin", &content)]);
    let mut options = loopback_options();
    options.session.retransmit = quick_policy();
    let server = start_with(open_catalog(dir.path(), Arc::new(AcceptAll)), options);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(&rrq("fw.bin", &[("windowsize", "4")]), server.address)
        .await
        .unwrap();
    let (oack, transfer) = recv_within(&client, Duration::from_secs(2)).await.unwrap();
    assert_eq!(&oack[..2], &[0, 6], "OACK expected: {oack:?}");
    client.send_to(&ack(0), transfer).await.unwrap();

    let window = receive_blocks(&client, 4).await;
    assert_eq!(numbers(&window), [1, 2, 3, 4]);
    // Not acknowledged: the whole window again after the wait.
    let sent_again = Instant::now();
    let again = receive_blocks(&client, 4).await;
    assert_eq!(numbers(&again), [1, 2, 3, 4]);
    assert!(
        sent_again.elapsed() >= Duration::from_millis(50),
        "resent too early"
    );
    assert_eq!(again, window);

    // Blocks 3 and 4 "lost": ACK 2 starts the next window at block 3.
    client.send_to(&ack(2), transfer).await.unwrap();
    let next = receive_blocks(&client, 4).await;
    assert_eq!(numbers(&next), [3, 4, 5, 6]);
    assert_eq!(next[0].1, &content[1024..1536]);
    assert_eq!(next[3].1, &content[2560..3072]);

    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(&ack(6), transfer).await.unwrap();
    let (reply, from) = recv_within(&stranger, Duration::from_secs(2))
        .await
        .expect("no answer to the stranger");
    assert_eq!(from, transfer);
    assert_eq!(as_error(&reply).map(|error| error.0), Some(5), "{reply:?}");

    client.send_to(&ack(6), transfer).await.unwrap();
    let after = receive_blocks(&client, 4).await;
    assert_eq!(numbers(&after), [7, 8, 9, 10], "the stranger's ACK moved nothing");
    assert_eq!(after[0].1, &content[3072..3584]);
    server.stop().await;
}
