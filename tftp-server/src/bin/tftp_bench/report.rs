//! Results of a run: counting, percentiles, text and JSON output.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::transfer::FailureKind;

/// What one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// `storm` or `large`.
    pub mode: &'static str,
    pub label: String,
    pub server: String,
    pub profile: &'static str,
    pub requested_blksize: Option<u16>,
    pub requested_windowsize: Option<u16>,
    /// Storm: phones and concurrency; large: file name and count.
    pub phones: Option<u32>,
    pub concurrency: Option<u32>,
    pub file: Option<String>,
    /// Transfers that were due (phones × 3, or K).
    pub transfers_planned: u64,
    pub transfers_ok: u64,
    pub failures: BTreeMap<String, u64>,
    /// From the first request to the last transfer's end.
    pub wall: Duration,
    /// Bytes of completed transfers.
    pub bytes: u64,
    /// Per completed transfer.
    pub latencies: Vec<Duration>,
    /// Storm: per phone whose three files all arrived, first request to last block.
    pub boot_times: Vec<Duration>,
    /// Sum of the durations of completed transfers (large mode's throughput base).
    pub busy: Duration,
    pub blksizes: BTreeMap<u16, u64>,
    pub windowsizes: BTreeMap<u16, u64>,
    /// CPU time the server process used during the run (`--server-pid`).
    pub server_cpu: Option<Duration>,
    /// CPU time the bench used during the run.
    pub bench_cpu: Option<Duration>,
}

impl Report {
    pub fn record_failure(&mut self, kind: &FailureKind) {
        *self.failures.entry(kind.to_string()).or_default() += 1;
    }

    pub fn record_success(&mut self, bytes: u64, elapsed: Duration, blksize: u16, windowsize: u16) {
        self.transfers_ok += 1;
        self.bytes += bytes;
        self.busy += elapsed;
        self.latencies.push(elapsed);
        *self.blksizes.entry(blksize).or_default() += 1;
        *self.windowsizes.entry(windowsize).or_default() += 1;
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Completed transfers per second of wall time.
    pub fn transfers_per_second(&self) -> f64 {
        per_second(self.transfers_ok as f64, self.wall)
    }

    /// MiB per second while transferring (large mode runs transfers one after another).
    pub fn mib_per_second(&self) -> f64 {
        per_second(self.bytes as f64 / (1024.0 * 1024.0), self.busy)
    }

    /// Sorts the samples; call once before [`Report::to_text`] / [`Report::to_json`].
    pub fn finish(&mut self) {
        self.latencies.sort_unstable();
        self.boot_times.sort_unstable();
    }

    /// Human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "tftp-bench {} against {} ({})",
            self.mode, self.server, self.label
        );
        let _ = writeln!(
            out,
            "  profile {} (requested blksize {}, windowsize {}); negotiated blksize {}, windowsize {}",
            self.profile,
            optional(self.requested_blksize),
            optional(self.requested_windowsize),
            histogram(&self.blksizes),
            histogram(&self.windowsizes),
        );
        if let Some(phones) = self.phones {
            let _ = writeln!(
                out,
                "  phones {phones}, concurrency {}",
                self.concurrency.map_or("all".to_string(), |c| c.to_string())
            );
        }
        if let Some(file) = &self.file {
            let _ = writeln!(out, "  file {file}");
        }
        let _ = writeln!(
            out,
            "  transfers: {} ok / {} planned, {} failed{}",
            self.transfers_ok,
            self.transfers_planned,
            self.failed(),
            if self.failures.is_empty() {
                String::new()
            } else {
                format!(" ({})", histogram(&self.failures))
            }
        );
        let _ = writeln!(
            out,
            "  wall {:.3} s, {} bytes, {:.1} transfers/s, {:.1} MiB/s while transferring",
            self.wall.as_secs_f64(),
            self.bytes,
            self.transfers_per_second(),
            self.mib_per_second()
        );
        let _ = writeln!(
            out,
            "  latency ms: p50 {:.2}, p99 {:.2}, max {:.2}",
            millis(percentile(&self.latencies, 50.0)),
            millis(percentile(&self.latencies, 99.0)),
            millis(self.latencies.last().copied())
        );
        let cpu =
            |value: Option<Duration>| value.map_or("-".to_string(), |d| format!("{:.2}", d.as_secs_f64()));
        let _ = writeln!(
            out,
            "  CPU s: server {}, bench {}",
            cpu(self.server_cpu),
            cpu(self.bench_cpu)
        );
        if self.mode == "storm" {
            let _ = writeln!(
                out,
                "  phone boot (3 files) ms: p50 {:.2}, p99 {:.2}, max {:.2}; {} phones complete",
                millis(percentile(&self.boot_times, 50.0)),
                millis(percentile(&self.boot_times, 99.0)),
                millis(self.boot_times.last().copied()),
                self.boot_times.len()
            );
        }
        out
    }

    /// The report as one JSON object (one line).
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let mut field = |name: &str, value: String| {
            if out.len() > 1 {
                out.push(',');
            }
            let _ = write!(out, "{}:{value}", json_string(name));
        };
        field("mode", json_string(self.mode));
        field("label", json_string(&self.label));
        field("server", json_string(&self.server));
        field("profile", json_string(self.profile));
        field("requested_blksize", json_optional(self.requested_blksize));
        field("requested_windowsize", json_optional(self.requested_windowsize));
        field("phones", json_optional(self.phones));
        field("concurrency", json_optional(self.concurrency));
        field(
            "file",
            self.file.as_deref().map_or("null".to_string(), json_string),
        );
        field("transfers_planned", self.transfers_planned.to_string());
        field("transfers_ok", self.transfers_ok.to_string());
        field("transfers_failed", self.failed().to_string());
        field("failures", json_map(&self.failures));
        field("wall_s", json_number(self.wall.as_secs_f64()));
        field("bytes", self.bytes.to_string());
        field("transfers_per_s", json_number(self.transfers_per_second()));
        field("mib_per_s", json_number(self.mib_per_second()));
        field(
            "latency_p50_ms",
            json_number(millis(percentile(&self.latencies, 50.0))),
        );
        field(
            "latency_p99_ms",
            json_number(millis(percentile(&self.latencies, 99.0))),
        );
        field(
            "latency_max_ms",
            json_number(millis(self.latencies.last().copied())),
        );
        if self.mode == "storm" {
            field(
                "boot_p50_ms",
                json_number(millis(percentile(&self.boot_times, 50.0))),
            );
            field(
                "boot_p99_ms",
                json_number(millis(percentile(&self.boot_times, 99.0))),
            );
            field("phones_complete", self.boot_times.len().to_string());
        }
        let cpu =
            |value: Option<Duration>| value.map_or("null".to_string(), |d| json_number(d.as_secs_f64()));
        field("server_cpu_s", cpu(self.server_cpu));
        field("bench_cpu_s", cpu(self.bench_cpu));
        field("negotiated_blksize", json_map(&self.blksizes));
        field("negotiated_windowsize", json_map(&self.windowsizes));
        out.push('}');
        out
    }
}

fn per_second(amount: f64, time: Duration) -> f64 {
    if time.is_zero() {
        0.0
    } else {
        amount / time.as_secs_f64()
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[Duration], percent: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn millis(value: Option<Duration>) -> f64 {
    value.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

fn histogram<K: ToString>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "-".to_string();
    }
    map.iter()
        .map(|(key, count)| format!("{}×{count}", key.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        "null".to_string()
    }
}

fn json_optional<T: ToString>(value: Option<T>) -> String {
    value.map_or("null".to_string(), |v| v.to_string())
}

fn json_map<K: ToString>(map: &BTreeMap<K, u64>) -> String {
    let body = map
        .iter()
        .map(|(key, count)| format!("{}:{count}", json_string(&key.to_string())))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{body}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&values, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&values[..1], 99.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn json_escapes_strings_and_counts_failures() {
        let mut report = Report {
            mode: "storm",
            label: "a \"b\"\n".to_string(),
            ..Report::default()
        };
        report.record_failure(&FailureKind::Timeout);
        report.record_failure(&FailureKind::Timeout);
        report.record_failure(&FailureKind::ServerError(1));
        let json = report.to_json();
        assert!(json.contains(r#""label":"a \"b\"\u000a""#), "{json}");
        assert!(
            json.contains(r#""failures":{"server_error_1":1,"timeout":2}"#),
            "{json}"
        );
        assert!(json.contains(r#""transfers_failed":3"#), "{json}");
    }
}
