//! `ctl verify`: check a file's signature, or whether a device holding OLD accepts NEW.
//!
//! Exit codes: 0 verified / accepted; 1 I/O or usage error; 3 rejected (bad signature,
//! unknown or untrusted signer, unsupported digest); 4 malformed file.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctl_format::TrustList;
use ctl_sign::{verify_file, would_accept, Decision, Rejection};

/// Exit status: the file is refused.
pub const EXIT_REJECTED: u8 = 3;
/// Exit status: the file is not a readable trust list.
pub const EXIT_MALFORMED: u8 = 4;

/// Arguments of `ctl verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to check (NEW when --trusted is given).
    pub file: PathBuf,
    /// The installed trust list (OLD): decide whether a device holding it accepts FILE.
    #[arg(long, value_name = "OLD")]
    pub trusted: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = read(&args.file)?;
    let name = args.file.display();
    if let Some(old_path) = &args.trusted {
        let old_bytes = read(old_path)?;
        let installed = match TrustList::parse(&old_bytes) {
            Ok(list) => list,
            Err(e) => {
                eprintln!("ctl: installed list {} is malformed: {e}", old_path.display());
                return Ok(ExitCode::from(EXIT_MALFORMED));
            }
        };
        let decision = would_accept(&installed, &bytes);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&decision)?);
        }
        return Ok(match decision {
            Decision::Accepted {
                installed_sast_index,
                candidate_signer_index,
                warnings,
            } => {
                if !args.json {
                    println!(
                        "accepted: a device holding {} would install {name} (signed with the key of installed SAST record #{}{})",
                        old_path.display(),
                        installed_sast_index + 1,
                        candidate_signer_index.map(|i| format!(", record #{} of the new file", i + 1)).unwrap_or_default()
                    );
                    for w in warnings {
                        eprintln!("warning: {w}");
                    }
                }
                ExitCode::SUCCESS
            }
            Decision::Rejected { reason } => {
                if !args.json {
                    println!("rejected: {reason}");
                }
                ExitCode::from(if matches!(reason, Rejection::Malformed(_)) {
                    EXIT_MALFORMED
                } else {
                    EXIT_REJECTED
                })
            }
        });
    }
    match verify_file(&bytes) {
        Ok(verified) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"verified": true, "detail": verified}))?
                );
            } else {
                println!(
                    "{name}: signature OK ({}, signed by SAST record #{})",
                    verified.digest,
                    verified.signer_index + 1
                );
                for check in &verified.sast_checks {
                    println!(
                        "  SAST record #{}: {}",
                        check.index + 1,
                        if check.verifies {
                            "key verifies the signature"
                        } else {
                            "key does not verify the signature"
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"verified": false, "malformed": e.is_malformed(), "reason": e.to_string()})
                    )?
                );
            } else {
                println!("{name}: FAILED: {e}");
            }
            Ok(ExitCode::from(if e.is_malformed() {
                EXIT_MALFORMED
            } else {
                EXIT_REJECTED
            }))
        }
    }
}
