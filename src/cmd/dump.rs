//! `ctl dump`: placeholder until the codec lands.
use std::process::ExitCode;

/// Arguments of `ctl dump`.
#[derive(clap::Args)]
pub struct Args {
    /// File to dump (`-` reads stdin).
    pub file: String,
}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("ctl dump is not implemented yet")
}
