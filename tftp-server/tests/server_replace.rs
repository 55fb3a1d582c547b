//! Files replaced while many clients download them: every completed download is exactly
//! one whole version, never a mix.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod server_support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use server_support::*;
use tftp_server::client::{fetch, ClientOptions};

fn versions(base_len: usize, seed: u8) -> Vec<Vec<u8>> {
    // Different lengths too, so a mix of versions cannot hide behind an equal size.
    (0..4u8)
        .map(|k| pattern(base_len + usize::from(k) * 1000, seed + k))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_completed_download_is_one_whole_version() {
    let trust_versions = versions(40_000, 10); // in memory (guarded, here by AcceptAll)
    let file_versions = versions(120_000, 20); // on disk, opened per transfer
    let dir = root_with(&[("CTLFile.tlv", &trust_versions[0]), ("fw.bin", &file_versions[0])]);
    let mut options = loopback_options();
    options.rescan_interval = Some(Duration::from_millis(5));
    let server = start_with(open_catalog(dir.path(), Arc::new(AcceptAll)), options);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let root = dir.path().to_path_buf();
        let (trust, file) = (trust_versions.clone(), file_versions.clone());
        std::thread::spawn(move || {
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) && round < 100_000 {
                round += 1;
                replace(&root, "CTLFile.tlv", &trust[round % trust.len()]);
                replace(&root, "fw.bin", &file[round % file.len()]);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    let mut downloads = tokio::task::JoinSet::new();
    for client in 0..8u16 {
        let address = server.address;
        downloads.spawn(async move {
            let options = match client % 3 {
                0 => ClientOptions::default(),
                1 => ClientOptions {
                    blksize: Some(1468),
                    ..ClientOptions::default()
                },
                _ => ClientOptions {
                    blksize: Some(1468),
                    windowsize: Some(8),
                    ..ClientOptions::default()
                },
            };
            let mut got = Vec::new();
            for _ in 0..6 {
                for name in ["CTLSEP001E4A93748B.tlv", "fw.bin"] {
                    let data = fetch(address, name, options.clone())
                        .await
                        .expect("download failed");
                    got.push((name, data));
                }
            }
            got
        });
    }
    let mut seen_trust = HashSet::new();
    let mut seen_file = HashSet::new();
    let mut completed = 0;
    while let Some(result) = downloads.join_next().await {
        for (name, data) in result.unwrap() {
            let (pool, seen) = if name == "fw.bin" {
                (&file_versions, &mut seen_file)
            } else {
                (&trust_versions, &mut seen_trust)
            };
            let version = pool.iter().position(|v| *v == data);
            assert!(
                version.is_some(),
                "{name}: download of {} bytes matches no version",
                data.len()
            );
            seen.insert(version.unwrap());
            completed += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(completed, 8 * 6 * 2);
    // The test only means something if replacements happened during the downloads.
    assert!(
        seen_trust.len() >= 2,
        "only trust-list versions {seen_trust:?} were served"
    );
    assert!(
        seen_file.len() >= 2,
        "only file versions {seen_file:?} were served"
    );
    server.stop().await;
}
