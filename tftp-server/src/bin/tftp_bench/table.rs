//! `tftp-bench table FILE`: turns the JSON lines of several runs into markdown tables with
//! ratios against the best peer, and checks the targets of issue 4.

use std::fmt::Write as _;

use serde_json::Value;

/// One run, as read back from its JSON line.
struct Run {
    label: String,
    mode: String,
    profile: String,
    phones: Option<u64>,
    file: Option<String>,
    planned: u64,
    ok: u64,
    failed: u64,
    failures: String,
    transfers_per_s: f64,
    mib_per_s: f64,
    bytes: u64,
    p50: Option<f64>,
    p99: Option<f64>,
    requested_blksize: Option<u64>,
    requested_windowsize: Option<u64>,
    negotiated_blksize: Vec<u64>,
    negotiated_windowsize: Vec<u64>,
    server_cpu_s: Option<f64>,
}

impl Run {
    fn from_json(value: &Value) -> Option<Run> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let number = |key: &str| value.get(key).and_then(Value::as_f64);
        let whole = |key: &str| value.get(key).and_then(Value::as_u64);
        let keys = |key: &str| -> Vec<u64> {
            value
                .get(key)
                .and_then(Value::as_object)
                .map(|map| map.keys().filter_map(|k| k.parse().ok()).collect())
                .unwrap_or_default()
        };
        let failures = value
            .get("failures")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(kind, count)| format!("{kind} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        Some(Run {
            label: text("label")?,
            mode: text("mode")?,
            profile: text("profile")?,
            phones: whole("phones"),
            file: text("file"),
            planned: whole("transfers_planned")?,
            ok: whole("transfers_ok")?,
            failed: whole("transfers_failed")?,
            failures,
            transfers_per_s: number("transfers_per_s")?,
            mib_per_s: number("mib_per_s").unwrap_or(0.0),
            bytes: whole("bytes").unwrap_or(0),
            p50: number("latency_p50_ms"),
            p99: number("latency_p99_ms"),
            requested_blksize: whole("requested_blksize"),
            requested_windowsize: whole("requested_windowsize"),
            negotiated_blksize: keys("negotiated_blksize"),
            negotiated_windowsize: keys("negotiated_windowsize"),
            server_cpu_s: number("server_cpu_s"),
        })
    }

    /// The figure compared: transfers/s for storms, MiB/s for large files.
    fn figure(&self) -> f64 {
        if self.mode == "storm" {
            self.transfers_per_s
        } else {
            self.mib_per_s
        }
    }

    /// Server CPU per unit of work: µs per transfer (storm) or ms per MiB (large file).
    fn server_cost(&self) -> String {
        let Some(cpu) = self.server_cpu_s else {
            return "-".to_string();
        };
        if self.mode == "storm" && self.ok > 0 {
            format!("{:.0}", cpu * 1e6 / self.ok as f64)
        } else if self.bytes > 0 {
            format!("{:.1}", cpu * 1e3 / (self.bytes as f64 / (1024.0 * 1024.0)))
        } else {
            "-".to_string()
        }
    }

    /// What the server agreed to, with a note when it ignored a requested option.
    fn negotiated(&self) -> String {
        let list = |values: &[u64]| {
            if values.is_empty() {
                "-".to_string()
            } else {
                values.iter().map(u64::to_string).collect::<Vec<_>>().join("/")
            }
        };
        let mut out = format!(
            "blksize {}, windowsize {}",
            list(&self.negotiated_blksize),
            list(&self.negotiated_windowsize)
        );
        if let Some(asked) = self.requested_blksize {
            if !self.negotiated_blksize.is_empty() && !self.negotiated_blksize.contains(&asked) {
                out.push_str(" — blksize not accepted");
            }
        }
        if let Some(asked) = self.requested_windowsize {
            if self.negotiated_windowsize == [1] && asked > 1 {
                out.push_str(" — **windowsize not supported** (lockstep)");
            }
        }
        out
    }
}

/// Builds the tables. `ours` is the label of the server under test; `reference` the peer
/// of the no-options large-file target (tftpd-hpa).
pub fn render(jsonl: &str, ours: &str, reference: &str) -> Result<String, String> {
    let mut runs = Vec::new();
    for (number, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(line).map_err(|error| format!("line {}: not JSON: {error}", number + 1))?;
        runs.push(
            Run::from_json(&value).ok_or_else(|| format!("line {}: not a tftp-bench report", number + 1))?,
        );
    }
    let mut out = String::new();
    let mut verdicts = Vec::new();
    for mode in ["storm", "large"] {
        // Profiles in order of first appearance.
        let mut profiles: Vec<&str> = Vec::new();
        for run in runs.iter().filter(|run| run.mode == mode) {
            if !profiles.contains(&run.profile.as_str()) {
                profiles.push(&run.profile);
            }
        }
        if profiles.is_empty() {
            continue;
        }
        let first = runs
            .iter()
            .find(|run| run.mode == mode)
            .expect("a run of this mode");
        if mode == "storm" {
            let _ = writeln!(
                out,
                "\n**Boot storm** — {} phones booting at once, each fetching CTLSEP<MAC>.tlv, ITLSEP<MAC>.tlv, SEP<MAC>.cnf.xml\n",
                first.phones.unwrap_or(0)
            );
            let _ = writeln!(out, "| profile | server | transfers/s | × best peer | p50 ms | p99 ms | server CPU µs/transfer | ok / planned | failures | negotiated |");
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---|---|");
        } else {
            let size = first.bytes as f64 / first.ok.max(1) as f64 / (1024.0 * 1024.0);
            let _ = writeln!(
                out,
                "\n**Large file** — {} ({size:.0} MiB) downloaded one after another\n",
                first.file.as_deref().unwrap_or("-")
            );
            let _ = writeln!(out, "| profile | server | MiB/s | × best peer | × {reference} | server CPU ms/MiB | ok / planned | failures | negotiated |");
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|---|");
        }
        for profile in profiles {
            let rows: Vec<&Run> = runs
                .iter()
                .filter(|run| run.mode == mode && run.profile == profile)
                .collect();
            let best_peer = rows
                .iter()
                .filter(|run| run.label != ours)
                .max_by(|a, b| a.figure().total_cmp(&b.figure()));
            let reference_run = rows.iter().find(|run| run.label == reference);
            for run in &rows {
                let ratio = |other: Option<&&Run>| match other {
                    Some(other) if other.figure() > 0.0 => format!("{:.2}×", run.figure() / other.figure()),
                    _ => "-".to_string(),
                };
                let name = if run.label == ours {
                    format!("**{}**", run.label)
                } else {
                    run.label.clone()
                };
                let failures = if run.failures.is_empty() {
                    "0".to_string()
                } else {
                    run.failures.clone()
                };
                if mode == "storm" {
                    let _ = writeln!(
                        out,
                        "| {profile} | {name} | {:.0} | {} | {} | {} | {} | {} / {} | {failures} | {} |",
                        run.transfers_per_s,
                        ratio(best_peer),
                        optional(run.p50),
                        optional(run.p99),
                        run.server_cost(),
                        run.ok,
                        run.planned,
                        run.negotiated()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "| {profile} | {name} | {:.1} | {} | {} | {} | {} / {} | {failures} | {} |",
                        run.mib_per_s,
                        ratio(best_peer),
                        ratio(reference_run),
                        run.server_cost(),
                        run.ok,
                        run.planned,
                        run.negotiated()
                    );
                }
            }
            let ours_run = rows.iter().find(|run| run.label == ours);
            verdicts.push(verdict(
                mode,
                profile,
                ours_run.copied(),
                best_peer.copied(),
                reference_run.copied(),
                reference,
            ));
        }
    }
    let _ = writeln!(out, "\n**Targets**\n");
    for line in verdicts.into_iter().flatten() {
        let _ = writeln!(out, "- {line}");
    }
    Ok(out)
}

fn optional(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.1}"))
}

/// Issue 4's targets: storm ≥ 2× best peer with zero failures; large file with
/// windowsize ≥ best peer; large file without options ≥ tftpd-hpa.
fn verdict(
    mode: &str,
    profile: &str,
    ours: Option<&Run>,
    best_peer: Option<&Run>,
    reference: Option<&Run>,
    reference_name: &str,
) -> Option<String> {
    let ours = ours?;
    let met = |yes: bool| if yes { "MET" } else { "NOT MET" };
    let complete = ours.failed == 0 && ours.ok == ours.planned;
    match (mode, profile) {
        ("storm", _) => {
            let peer = best_peer?;
            let ratio = ours.figure() / peer.figure().max(f64::MIN_POSITIVE);
            Some(format!(
                "boot storm, profile {profile}: {:.0} vs best peer {} {:.0} transfers/s = {ratio:.2}× (target ≥ 2×), {} failures → {}",
                ours.figure(),
                peer.label,
                peer.figure(),
                ours.failed,
                met(ratio >= 2.0 && complete)
            ))
        }
        ("large", "window") => {
            let peer = best_peer?;
            Some(format!(
                "large file, windowsize: {:.1} vs best peer {} {:.1} MiB/s = {:.2}× (target ≥ 1×) → {}",
                ours.figure(),
                peer.label,
                peer.figure(),
                ours.figure() / peer.figure().max(f64::MIN_POSITIVE),
                met(ours.figure() >= peer.figure() && complete)
            ))
        }
        ("large", "none") => {
            let peer = reference?;
            Some(format!(
                "large file, no options: {:.1} vs {reference_name} {:.1} MiB/s = {:.2}× (target ≥ 1×) → {}",
                ours.figure(),
                peer.figure(),
                ours.figure() / peer.figure().max(f64::MIN_POSITIVE),
                met(ours.figure() >= peer.figure() && complete)
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, mode: &str, profile: &str, figure: f64, failed: u64, windowsize: &str) -> String {
        format!(
            r#"{{"mode":"{mode}","label":"{label}","profile":"{profile}","phones":10,"file":null,"transfers_planned":30,"transfers_ok":{},"transfers_failed":{failed},"failures":{{}},"transfers_per_s":{figure},"mib_per_s":{figure},"bytes":1000,"latency_p50_ms":1.0,"latency_p99_ms":2.0,"requested_blksize":1468,"requested_windowsize":16,"negotiated_blksize":{{"1468":30}},"negotiated_windowsize":{windowsize},"server_cpu_s":0.3}}"#,
            30 - failed
        )
    }

    #[test]
    fn ratios_are_against_the_best_peer_and_targets_are_judged() {
        let input = [
            line("ours", "storm", "window", 900.0, 0, r#"{"16":30}"#),
            line("slow", "storm", "window", 100.0, 0, r#"{"1":30}"#),
            line("fast", "storm", "window", 300.0, 0, r#"{"16":30}"#),
        ]
        .join("\n");
        let table = render(&input, "ours", "slow").unwrap();
        // 0.3 s of server CPU for 30 transfers: 10000 µs each.
        assert!(
            table.contains("| window | **ours** | 900 | 3.00× | 1.0 | 2.0 | 10000 | 30 / 30 |"),
            "{table}"
        );
        assert!(table.contains("| window | slow | 100 | 0.33× |"), "{table}");
        assert!(table.contains("windowsize not supported"), "{table}");
        assert!(
            table.contains("= 3.00× (target ≥ 2×), 0 failures → MET"),
            "{table}"
        );
    }

    #[test]
    fn failures_fail_the_storm_target_whatever_the_speed() {
        let input = [
            line("ours", "storm", "none", 900.0, 1, r#"{"1":29}"#),
            line("peer", "storm", "none", 100.0, 0, r#"{"1":30}"#),
        ]
        .join("\n");
        let table = render(&input, "ours", "peer").unwrap();
        assert!(table.contains("1 failures → NOT MET"), "{table}");
    }
}
