//! `ctl lint`: findings with stable codes. Exit 0 without errors, 3 with errors, 4 malformed.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctl_format::TrustList;
use ctl_sign::lint::{has_errors, lint, LintOptions};

/// Arguments of `ctl lint`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to lint.
    pub file: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// "Now" for expiry checks, Unix seconds (default: the real clock).
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
    /// Warn about certificates that expire within this many days.
    #[arg(long, default_value_t = 30)]
    pub expiry_days: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let list = match TrustList::parse(&bytes) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("ctl: {}: malformed: {e}", args.file.display());
            return Ok(ExitCode::from(super::verify::EXIT_MALFORMED));
        }
    };
    let now = match args.now {
        Some(n) => n,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    let findings = lint(
        &list,
        bytes.len(),
        LintOptions {
            now,
            expiry_days: args.expiry_days,
        },
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else if findings.is_empty() {
        println!("{}: no findings", args.file.display());
    } else {
        for f in &findings {
            println!("{} {} {}: {}", f.code, f.severity, f.name, f.message);
        }
    }
    Ok(if has_errors(&findings) {
        ExitCode::from(super::verify::EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}
