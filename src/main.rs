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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ctl: {err:#}");
            ExitCode::from(cmd::EXIT_FAILURE)
        }
    }
}
