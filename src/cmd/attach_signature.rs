//! `ctl attach-signature`: finish an offline-signed file.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctl_sign::output::write_atomic;

/// Arguments of `ctl attach-signature`.
#[derive(clap::Args)]
pub struct Args {
    /// The unsigned file written by `ctl build --emit-unsigned`.
    pub unsigned: PathBuf,
    /// Detached raw PKCS#1 v1.5 signature (e.g. from `openssl dgst -sha1 -sign`).
    #[arg(long)]
    pub signature: PathBuf,
    /// Output file (written only if the signature verifies).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let unsigned =
        std::fs::read(&args.unsigned).with_context(|| format!("cannot read {}", args.unsigned.display()))?;
    let signature = std::fs::read(&args.signature)
        .with_context(|| format!("cannot read {}", args.signature.display()))?;
    let file = match ctl_sign::attach_signature(&unsigned, &signature) {
        Ok(file) => file,
        // A parse error is about the unsigned file: name it, as `ctl dump` would.
        Err(ctl_sign::BuildError::Format(e)) => anyhow::bail!(
            "{}: {e} ({} not written)",
            args.unsigned.display(),
            args.output.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("{}: not written", args.output.display())),
    };
    write_atomic(&args.output, &file, args.force)?;
    println!("wrote {} (signature verified)", args.output.display());
    Ok(ExitCode::SUCCESS)
}
