//! `tftp-bench`: boot-storm and large-file load generator for TFTP servers on loopback,
//! built on the project's sans-IO client session. See `tftp-bench --help` and
//! `tftp-server/bench/README.md`.
//!
//! Exit status: 0 when every planned transfer completed, 1 when some failed (the report is
//! still printed), 2 for bad arguments or setup errors.
// The bench measures wall-clock time and owns sockets: the sans-IO bans do not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod tftp_bench;

use std::process::ExitCode;

use tftp_bench::args::{self, Mode};
use tftp_bench::{cpu, large, storm};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("table") {
        return table(&arguments[1..]);
    }
    let args = match args::parse(arguments) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tftp-bench: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if args.mode == Mode::Macs {
        for index in 0..args.phones {
            println!("{}", args::mac(args.first_mac, index));
        }
        return ExitCode::SUCCESS;
    }
    // One thread: the bench is pinned to one CPU (taskset) so it never competes with the
    // server under test for the other.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tftp-bench: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let server_cpu_before = args.server_pid.and_then(cpu::cpu_time_with_children);
    let bench_cpu_before = cpu::cpu_time("self");
    let result = runtime.block_on(async {
        match args.mode {
            Mode::Storm => storm::run(&args).await,
            Mode::Large => large::run(&args).await,
            Mode::Macs => unreachable!("handled above"),
        }
    });
    let mut report = match result {
        Ok(report) => report,
        Err(message) => {
            eprintln!("tftp-bench: {message}");
            return ExitCode::from(2);
        }
    };
    report.server_cpu = args
        .server_pid
        .and_then(|pid| Some(cpu::cpu_time_with_children(pid)?.saturating_sub(server_cpu_before?)));
    report.bench_cpu = cpu::cpu_time("self").and_then(|now| Some(now.saturating_sub(bench_cpu_before?)));
    report.finish();
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if report.failed() == 0 && report.transfers_ok == report.transfers_planned {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `tftp-bench table FILE [--ours LABEL] [--reference LABEL]`.
fn table(arguments: &[String]) -> ExitCode {
    let mut file = None;
    let mut ours = "ctl serve".to_string();
    let mut reference = "tftpd-hpa".to_string();
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        match (argument.as_str(), rest.clone().next()) {
            ("--ours", Some(value)) => {
                ours = value.clone();
                rest.next();
            }
            ("--reference", Some(value)) => {
                reference = value.clone();
                rest.next();
            }
            (path, _) if file.is_none() && !path.starts_with("--") => file = Some(path.to_string()),
            (other, _) => {
                eprintln!(
                    "tftp-bench table: unexpected argument {other:?}\n\n{}",
                    args::USAGE
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("tftp-bench table: missing FILE (JSON lines written by --json runs)");
        return ExitCode::from(2);
    };
    let jsonl = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("tftp-bench table: cannot read {file}: {error}");
            return ExitCode::from(2);
        }
    };
    match tftp_bench::table::render(&jsonl, &ours, &reference) {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("tftp-bench table: {file}: {message}");
            ExitCode::from(2)
        }
    }
}
