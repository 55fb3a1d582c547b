//! `ctl dump`: show a CTL/ITL file item by item.
use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use ctl_format::{dump, TrustList};

/// Output layouts.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per item, records numbered with their role, certificates decoded.
    Text,
    /// Machine-readable; `items[].raw` concatenated reproduces the file.
    Json,
    /// The layout of CUCM's `show ctl`.
    Cisco,
}

/// Arguments of `ctl dump`.
#[derive(clap::Args)]
pub struct Args {
    /// File to dump (`-` reads stdin).
    pub file: String,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// Reads `path`, or stdin for `-`.
pub fn read_input(path: &str) -> anyhow::Result<Vec<u8>> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("{path}: cannot read"))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&args.file)?;
    let source = if args.file == "-" {
        "<stdin>"
    } else {
        args.file.as_str()
    };
    let list = TrustList::parse(&bytes).with_context(|| source.to_string())?;
    let context = ctl_sign::inspect::dump_context(source, &bytes, &list);
    let format = if args.json { Format::Json } else { args.format };
    let output = match format {
        Format::Text => dump::text_dump(&list, &context),
        Format::Cisco => dump::cisco_dump(&list, &context),
        Format::Json => serde_json::to_string_pretty(&dump::json_dump(&list, &context))? + "\n",
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(output.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS).context("writing to stdout"),
    }
}
