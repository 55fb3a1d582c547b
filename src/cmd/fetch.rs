//! `ctl fetch`: download a trust list like a JTAPI/TSP client and keep it in a store.
//!
//! Exit codes: 0 a new file is trusted (first use or signed update); 10 unchanged (a
//! server delivered the file already trusted); 11 the stored trust list was kept (every
//! download failed or was rejected); 12 no trust list (nothing stored and nothing
//! acceptable downloaded; `--show` on an empty store); 1 other errors (store I/O, bad
//! trust-anchor file); 2 usage errors.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ctl_sign::CertificateRecord;
use serde_json::json;
use tftp_server::client::ClientOptions;
use tftp_server::proto::RetransmitPolicy;
use tftp_server::trust_store::{
    fetch_into_store, AttemptOutcome, AttemptRecord, FetchPlan, Outcome, Pin, RetryPolicy, ServerSpec, Store,
    SystemClock, TftpFetcher, Trusted, Verdict,
};

/// Exit status: a server delivered the file already trusted.
pub const EXIT_UNCHANGED: u8 = 10;
/// Exit status: no acceptable new file; the stored trust list stays in force.
pub const EXIT_KEPT_OLD: u8 = 11;
/// Exit status: no trust list stored and none acceptable downloaded.
pub const EXIT_NO_TRUST_LIST: u8 = 12;

/// Largest trust list accepted over TFTP (real ones are tens of kilobytes).
const MAX_TRUST_LIST_BYTES: u64 = 4 << 20;

/// Arguments of `ctl fetch`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 new trust list accepted, 10 unchanged, 11 kept the stored \
    trust list (downloads failed or were rejected), 12 no trust list, 1 other error, 2 usage error."
)]
pub struct Args {
    /// TFTP server HOST[:PORT] (IPv6 as [ADDR]:PORT; port 69 by default). Repeat for
    /// failover: servers are tried in order.
    #[arg(long = "server", value_name = "HOST[:PORT]", required_unless_present = "show")]
    pub servers: Vec<ServerSpec>,
    /// Store directory (created if missing): trusted file, backup, certificates, state.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// File to request and store.
    #[arg(long, value_name = "NAME")]
    pub file: Option<String>,
    /// Retries per server after the first attempt (TSP: 0-3) [default: 3, as JTAPI].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=3))]
    pub retries: Option<u32>,
    /// Seconds between attempts on one server (at most 30) [default: 30, as JTAPI].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=30))]
    pub retry_interval: Option<u64>,
    /// Give up one download after SECS without an answer [default: about 31 s, 1 s
    /// doubling to 8 s between retransmissions].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u32).range(1..=255))]
    pub timeout: Option<u32>,
    /// First use only: accept only a file with this SHA-256 (64 hex digits).
    #[arg(long, value_name = "HEX", conflicts_with = "trust_anchor")]
    pub expect_sha256: Option<String>,
    /// First use only: accept only a file signed by this certificate's key (PEM or DER).
    #[arg(long, value_name = "CERT")]
    pub trust_anchor: Option<PathBuf>,
    /// Print what the store trusts and since when; fetch nothing.
    #[arg(long, conflicts_with_all = ["servers", "retries", "retry_interval", "timeout", "expect_sha256", "trust_anchor"])]
    pub show: bool,
    /// Machine-readable output (JSON on stdout).
    #[arg(long)]
    pub json: bool,
}

fn pin(args: &Args) -> anyhow::Result<Pin> {
    if let Some(hex) = &args.expect_sha256 {
        return Pin::sha256_from_hex(hex).map_err(|e| anyhow::anyhow!("--expect-sha256 {e}"));
    }
    if let Some(path) = &args.trust_anchor {
        let cert = CertificateRecord::from_file(path).context("--trust-anchor")?;
        return Ok(Pin::TrustAnchor(Box::new(cert)));
    }
    Ok(Pin::None)
}

fn client_options(timeout: Option<u32>) -> ClientOptions {
    let mut options = ClientOptions {
        max_file_size: MAX_TRUST_LIST_BYTES,
        ..ClientOptions::default()
    };
    if let Some(secs) = timeout {
        // Retransmit every second; give up after `secs` seconds without progress.
        options.retransmit = RetransmitPolicy {
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(1),
            max_retransmissions: secs - 1,
        };
    }
    options
}

fn describe_attempt(record: &AttemptRecord, file: &str) -> String {
    let who = format!("{} (attempt {})", record.server, record.attempt);
    match &record.outcome {
        AttemptOutcome::TransferFailed(why) => format!("{who}: download of {file} failed: {why}"),
        AttemptOutcome::Downloaded { sha256, verdict } => match verdict {
            Verdict::Rejected(reason) => {
                format!("error: {who}: rejected {file} (sha256 {sha256}): {reason}; the store is unchanged")
            }
            Verdict::Unchanged => format!("{who}: {file} unchanged (sha256 {sha256})"),
            Verdict::FirstUse { .. } | Verdict::Update { .. } => {
                format!("{who}: accepted {file} (sha256 {sha256})")
            }
        },
    }
}

fn attempt_json(record: &AttemptRecord) -> serde_json::Value {
    let (result, sha256, detail) = match &record.outcome {
        AttemptOutcome::TransferFailed(why) => ("transfer_failed", None, Some(why.clone())),
        AttemptOutcome::Downloaded { sha256, verdict } => {
            let (result, detail) = match verdict {
                Verdict::FirstUse { .. } => ("accepted_first_use", None),
                Verdict::Update { .. } => ("accepted_update", None),
                Verdict::Unchanged => ("unchanged", None),
                Verdict::Rejected(reason) => ("rejected", Some(reason.to_string())),
            };
            (result, Some(sha256.clone()), detail)
        }
    };
    json!({
        "server": record.server,
        "attempt": record.attempt,
        "started_at": record.started_at,
        "result": result,
        "sha256": sha256,
        "detail": detail,
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = args
        .file
        .clone()
        .or_else(|| {
            if args.show {
                Store::held_file_name(&args.store)
            } else {
                None
            }
        })
        .unwrap_or_else(|| "CTLFile.tlv".to_owned());
    let store = Store::new(&args.store, &file)?;
    if args.show {
        return show(&store, args.json);
    }
    let policy = RetryPolicy::new(
        args.retries.unwrap_or(u32::from(RetryPolicy::JTAPI.retries())),
        args.retry_interval
            .map(Duration::from_secs)
            .unwrap_or(RetryPolicy::JTAPI.interval()),
    )?;
    let pin = pin(&args)?;
    let nothing_stored = store.show()?.is_none();
    if nothing_stored && matches!(pin, Pin::None) {
        eprintln!(
            "warning: no trust list in {}: the first {file} downloaded will be trusted without \
             verification against an earlier list (trust on first use). Do this only in a secure environment, or pin it \
             with --expect-sha256 or --trust-anchor.",
            args.store.display()
        );
    }
    if !nothing_stored && !matches!(pin, Pin::None) {
        eprintln!("note: a trust list is stored; the first-use pin is not used (updates must be signed by its SAST keys)");
    }
    let mut fetcher =
        TftpFetcher::new(client_options(args.timeout)).context("cannot start the TFTP client")?;
    let plan = FetchPlan {
        servers: &args.servers,
        filename: &file,
        policy,
        pin: &pin,
    };
    let report = fetch_into_store(&store, &plan, &mut fetcher, &mut SystemClock, &mut |record| {
        eprintln!("{}", describe_attempt(record, &file));
    })?;

    let (code, summary) = match &report.outcome {
        Outcome::Accepted {
            server,
            sha256,
            verdict,
        } => {
            let text = match verdict {
                Verdict::FirstUse {
                    pinned,
                    signer,
                    warnings,
                } => {
                    for w in warnings {
                        eprintln!("warning: {w}");
                    }
                    format!(
                        "accepted {file} from {server} ({}): sha256 {sha256}, signed by {signer}; stored in {}",
                        pinned.unwrap_or("trust on first use"),
                        args.store.display()
                    )
                }
                Verdict::Update {
                    signer,
                    verified_by,
                    warnings,
                } => {
                    for w in warnings {
                        eprintln!("warning: {w}");
                    }
                    format!(
                        "accepted new {file} from {server}: sha256 {sha256}, signed by {signer}, verified with \
                         stored SAST {verified_by}; previous file kept as {}",
                        store.previous_path().display()
                    )
                }
                _ => String::new(),
            };
            (ExitCode::SUCCESS, text)
        }
        Outcome::Unchanged { server, sha256 } => (
            ExitCode::from(EXIT_UNCHANGED),
            format!("unchanged: {server} serves the trusted {file} (sha256 {sha256})"),
        ),
        Outcome::KeptOld { sha256 } => (
            ExitCode::from(EXIT_KEPT_OLD),
            format!(
                "kept the stored trust list: no server delivered an acceptable new {file}; still trusting \
                 sha256 {sha256}"
            ),
        ),
        Outcome::NoTrustList => (
            ExitCode::from(EXIT_NO_TRUST_LIST),
            format!("no trust list: cannot connect securely (no server delivered an acceptable {file})"),
        ),
    };
    if args.json {
        let (outcome, server, sha256) = match &report.outcome {
            Outcome::Accepted {
                server,
                sha256,
                verdict: Verdict::FirstUse { .. },
            } => ("accepted_first_use", Some(server), Some(sha256)),
            Outcome::Accepted { server, sha256, .. } => ("accepted_update", Some(server), Some(sha256)),
            Outcome::Unchanged { server, sha256 } => ("unchanged", Some(server), Some(sha256)),
            Outcome::KeptOld { sha256 } => ("kept_old", None, Some(sha256)),
            Outcome::NoTrustList => ("no_trust_list", None, None),
        };
        let value = json!({
            "outcome": outcome,
            "file": file,
            "store": args.store.display().to_string(),
            "server": server,
            "sha256": sha256,
            "attempts": report.attempts.iter().map(attempt_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        eprintln!("{summary}");
    } else if code == ExitCode::SUCCESS || code == ExitCode::from(EXIT_UNCHANGED) {
        println!("{summary}");
    } else {
        eprintln!("error: {summary}");
    }
    Ok(code)
}

fn show(store: &Store, json_output: bool) -> anyhow::Result<ExitCode> {
    let Some(Trusted {
        bytes,
        state,
        certificates,
    }) = store.show()?
    else {
        if json_output {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "store": store.dir().display().to_string(),
                    "trusted": null,
                }))?
            );
        } else {
            println!("no trust list stored in {}", store.dir().display());
        }
        return Ok(ExitCode::from(EXIT_NO_TRUST_LIST));
    };
    let previous = std::fs::read(store.previous_path())
        .ok()
        .map(|b| tftp_server::trust_store::decide::sha256_hex(&b));
    if json_output {
        let value = json!({
            "store": store.dir().display().to_string(),
            "trusted": store.trusted_path().display().to_string(),
            "state": state,
            "previous": previous.as_ref().map(|sha| json!({
                "path": store.previous_path().display().to_string(),
                "sha256": sha,
            })),
            "certificates": certificates,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let how = match state.how {
        tftp_server::trust_store::Acceptance::FirstUse => "trust on first use (not pinned)",
        tftp_server::trust_store::Acceptance::FirstUsePinned => "first use, pinned",
        tftp_server::trust_store::Acceptance::SignedUpdate => "signed update",
        tftp_server::trust_store::Acceptance::Recovered => "recovered (history unknown)",
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<14} {v}\n"));
    line(
        "trusted file:",
        format!("{} ({} bytes)", store.trusted_path().display(), bytes.len()),
    );
    line("sha256:", state.sha256.clone());
    line(
        "trusted since:",
        state
            .accepted_at_utc
            .clone()
            .unwrap_or_else(|| "unknown".to_owned()),
    );
    line(
        "how:",
        match &state.pin {
            Some(pin) => format!("{how} ({pin})"),
            None => how.to_owned(),
        },
    );
    line(
        "from server:",
        state.server.clone().unwrap_or_else(|| "unknown".to_owned()),
    );
    line(
        "signed by:",
        state.signer.clone().unwrap_or_else(|| "unknown".to_owned()),
    );
    if let Some(v) = &state.verified_by {
        line("verified with:", format!("stored SAST {v}"));
    }
    if let Some(sha) = &previous {
        line(
            "previous:",
            format!("{} (sha256 {sha})", store.previous_path().display()),
        );
    }
    for w in &state.warnings {
        line("warning:", w.clone());
    }
    print!("{out}");
    println!("certificates ({}):", store.certs_dir().display());
    for c in &certificates {
        println!(
            "  {:<9} {:<44} {}  expires {}",
            c.role,
            c.path,
            c.subject,
            c.not_after.as_deref().unwrap_or("?")
        );
    }
    Ok(ExitCode::SUCCESS)
}
