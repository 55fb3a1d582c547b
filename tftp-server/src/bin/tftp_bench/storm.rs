//! Boot-storm mode: N phones start (nearly) at once; each fetches its CTL, ITL and
//! configuration file in sequence over a fresh socket per transfer, as a phone does.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::args::{mac, Args};
use super::report::Report;
use super::transfer::{fetch, FailureKind};
use super::verify::Expected;

/// The three names a booting phone asks for, in order.
pub fn phone_files(mac: &str) -> [String; 3] {
    [
        format!("CTLSEP{mac}.tlv"),
        format!("ITLSEP{mac}.tlv"),
        format!("SEP{mac}.cnf.xml"),
    ]
}

/// The loopback address phone `index` sends from: its own 127.64.0.0/10 address, or the
/// server's address with `--single-source` (or on IPv6, which has only ::1).
pub fn phone_ip(args: &Args, server_ip: IpAddr, index: u32) -> IpAddr {
    if args.single_source || server_ip.is_ipv6() {
        return server_ip;
    }
    // Skip host parts .0 and .255 so no address looks like a network or broadcast one.
    let host = index / 254;
    let last = (index % 254) + 1;
    IpAddr::V4(Ipv4Addr::new(
        127,
        64 + (host >> 8) as u8,
        (host & 0xFF) as u8,
        last as u8,
    ))
}

struct PhoneResult {
    transfers: Vec<Result<Done, FailureKind>>,
    boot_time: Option<Duration>,
}

struct Done {
    bytes: u64,
    elapsed: Duration,
    blksize: u16,
    windowsize: u16,
}

/// Runs the storm and measures it.
pub async fn run(args: &Args) -> Result<Report, String> {
    let server = args.server.ok_or("--server is required")?;
    let options = Arc::new(args.client_options());
    let phones = args.phones;
    let concurrency = args.concurrency.unwrap_or(phones).min(phones);
    let expected = match &args.verify_root {
        Some(root) => {
            let names = (0..phones).flat_map(|i| phone_files(&mac(args.first_mac, i)));
            Some(Arc::new(Expected::load(root, names)?))
        }
        None => None,
    };
    let gate = Arc::new(Semaphore::new(concurrency as usize));
    let started = Instant::now();
    let deadline = started + args.time_limit;
    let mut tasks = JoinSet::new();
    for index in 0..phones {
        let start_at = started + args.ramp.mul_f64(f64::from(index) / f64::from(phones));
        let local_ip = phone_ip(args, server.ip(), index);
        let names = phone_files(&mac(args.first_mac, index));
        let options = Arc::clone(&options);
        let gate = Arc::clone(&gate);
        let expected = expected.clone();
        tasks.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(start_at)).await;
            let _permit = gate.acquire_owned().await;
            let boot_started = Instant::now();
            let mut transfers = Vec::with_capacity(names.len());
            for name in &names {
                let result = fetch(local_ip, server, name, &options, deadline).await;
                let result = result.and_then(|fetched| {
                    if let Some(expected) = &expected {
                        expected.check(name, &fetched.data)?;
                    }
                    Ok(Done {
                        bytes: fetched.data.len() as u64,
                        elapsed: fetched.elapsed,
                        blksize: fetched.blksize,
                        windowsize: fetched.windowsize,
                    })
                });
                transfers.push(result);
            }
            let all_ok = transfers.iter().all(Result::is_ok);
            PhoneResult {
                transfers,
                boot_time: all_ok.then(|| boot_started.elapsed()),
            }
        });
    }

    let mut report = Report {
        mode: "storm",
        label: args.label.clone().unwrap_or_else(|| "-".to_string()),
        server: server.to_string(),
        profile: args.profile.name(),
        requested_blksize: options.blksize,
        requested_windowsize: options.windowsize,
        phones: Some(phones),
        concurrency: Some(concurrency),
        transfers_planned: u64::from(phones) * 3,
        ..Report::default()
    };
    let mut finished_phones = 0u64;
    let mut last_end = started;
    // Every transfer stops at `deadline` by itself; the extra second only covers tasks
    // still waiting for their start or permit.
    let hard_stop = tokio::time::Instant::from_std(deadline + Duration::from_secs(1));
    loop {
        match tokio::time::timeout_at(hard_stop, tasks.join_next()).await {
            Ok(Some(Ok(phone))) => {
                finished_phones += 1;
                last_end = Instant::now();
                for transfer in &phone.transfers {
                    match transfer {
                        Ok(done) => {
                            report.record_success(done.bytes, done.elapsed, done.blksize, done.windowsize)
                        }
                        Err(kind) => report.record_failure(kind),
                    }
                }
                if let Some(boot) = phone.boot_time {
                    report.boot_times.push(boot);
                }
            }
            Ok(Some(Err(join_error))) => {
                return Err(format!("a phone task failed: {join_error}"));
            }
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                break;
            }
        }
    }
    let unfinished = u64::from(phones) - finished_phones;
    for _ in 0..unfinished * 3 {
        report.record_failure(&FailureKind::TimeLimit);
    }
    report.wall = last_end.duration_since(started);
    Ok(report)
}
