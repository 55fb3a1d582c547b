//! `ctl`: build, sign, verify, dump, serve and fetch Cisco CTL/ITL trust lists.
//!
//! This binary is thin: it turns arguments into library calls and errors into exit codes.
//! Each subcommand lives in `cmd/<name>.rs` with its own `Args` and `run`.
#![forbid(unsafe_code)]

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ctl", version, about = "Cisco CTL/ITL trust-list toolchain")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dump a CTL/ITL file as text, JSON or CUCM `show ctl` layout.
    Dump(cmd::dump::Args),
    /// Build and sign a CTL/ITL file from certificates with a security token.
    Build(Box<cmd::build::Args>),
    /// Check a file's signature, or whether a device holding OLD would accept it (--trusted).
    Verify(cmd::verify::Args),
    /// Report problems devices would have with a file (stable codes).
    Lint(cmd::lint::Args),
    /// Show what changed between two trust lists.
    Diff(cmd::diff::Args),
    /// Insert an offline-made signature into a file from `ctl build --emit-unsigned`.
    AttachSignature(cmd::attach_signature::Args),
    /// Serve trust lists and files over TFTP (no arguments: the built-in samples on 127.0.0.1:6969).
    Serve(cmd::serve::Args),
    /// Download a trust list like a CTI client: trust on first use, signed updates, failover.
    Fetch(cmd::fetch::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Build(args) => cmd::build::run(*args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::AttachSignature(args) => cmd::attach_signature::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Fetch(args) => cmd::fetch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ctl: {}", error_line(&err));
            ExitCode::from(cmd::EXIT_FAILURE)
        }
    }
}

/// The error and its causes on one line, `: `-separated. Library errors often name their
/// cause in their own message too (`cannot read X: No such file…`); a cause whose text is
/// already on the line is not repeated.
fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
