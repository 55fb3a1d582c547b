//! `ctl diff A B`: what changed between two trust lists. Exit 0 (also when they differ).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctl_format::TrustList;

/// Arguments of `ctl diff`.
#[derive(clap::Args)]
pub struct Args {
    /// The old file.
    pub a: PathBuf,
    /// The new file.
    pub b: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn load(path: &PathBuf) -> anyhow::Result<TrustList> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    TrustList::parse(&bytes).with_context(|| format!("{} is malformed", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let changes = ctl_sign::diff::diff(&load(&args.a)?, &load(&args.b)?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
    } else if changes.is_empty() {
        println!("no differences");
    } else {
        for change in &changes {
            println!("{change}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
