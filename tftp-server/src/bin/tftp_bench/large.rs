//! Large-file mode: one big file fetched K times, one download after another.

use std::time::Instant;

use super::args::Args;
use super::report::Report;
use super::transfer::fetch;
use super::verify::Expected;

/// Runs the downloads and measures them.
pub async fn run(args: &Args) -> Result<Report, String> {
    let server = args.server.ok_or("--server is required")?;
    let file = args.file.clone().ok_or("--file is required")?;
    let mut options = args.client_options();
    options.max_file_size = options.max_file_size.max(4 << 30);
    let expected = match &args.verify_root {
        Some(root) => Some(Expected::load(root, std::iter::once(file.clone()))?),
        None => None,
    };
    let mut report = Report {
        mode: "large",
        label: args.label.clone().unwrap_or_else(|| "-".to_string()),
        server: server.to_string(),
        profile: args.profile.name(),
        requested_blksize: options.blksize,
        requested_windowsize: options.windowsize,
        file: Some(file.clone()),
        transfers_planned: u64::from(args.count),
        ..Report::default()
    };
    let started = Instant::now();
    let deadline = started + args.time_limit;
    for _ in 0..args.count {
        let result = fetch(server.ip(), server, &file, &options, deadline)
            .await
            .and_then(|fetched| {
                if let Some(expected) = &expected {
                    expected.check(&file, &fetched.data)?;
                }
                Ok(fetched)
            });
        match result {
            Ok(fetched) => report.record_success(
                fetched.data.len() as u64,
                fetched.elapsed,
                fetched.blksize,
                fetched.windowsize,
            ),
            Err(kind) => report.record_failure(&kind),
        }
    }
    report.wall = started.elapsed();
    Ok(report)
}
