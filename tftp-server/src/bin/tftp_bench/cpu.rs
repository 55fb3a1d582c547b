//! CPU time of a process from `/proc/<pid>/stat` (Linux): how much work a server did for a
//! run, a figure far less disturbed by other jobs on a shared machine than wall time.

use std::time::Duration;

/// `/proc` reports CPU times in USER_HZ ticks, which Linux fixes at 100 per second for
/// user space on every mainstream architecture.
const TICKS_PER_SECOND: u64 = 100;

/// User + system time of `pid` (`"self"` for this process) plus that of its reaped
/// children (tftpd-hpa forks one child per transfer). `None` if unreadable.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// [`cpu_time`] of `pid` plus that of its current children, live or exited but not yet
/// reaped: a forking server (tftpd-hpa) may reap a transfer's child long after it ended,
/// and only then does its time show in the parent's counters.
pub fn cpu_time_with_children(pid: u32) -> Option<Duration> {
    let own = cpu_time(&pid.to_string())?;
    let mut children = Duration::ZERO;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(child) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) {
                if parent_of(&stat) == Some(pid) {
                    children += parse_stat(&stat).unwrap_or_default();
                }
            }
        }
    }
    Some(own + children)
}

/// Fields after the parenthesised command name (field 2, which may contain spaces).
fn fields_after_name(stat: &str) -> Option<Vec<&str>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace().collect())
}

fn parent_of(stat: &str) -> Option<u32> {
    // After the name: state(3) ppid(4).
    fields_after_name(stat)?.get(1)?.parse().ok()
}

fn parse_stat(stat: &str) -> Option<Duration> {
    let fields = fields_after_name(stat)?;
    // After the name: state(3) ... utime(14) stime(15) cutime(16) cstime(17).
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_user_system_and_children_ticks() {
        let stat = "4242 (in.tftpd x) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 50 7 3 20 0 1 0 100 0 0";
        assert_eq!(parse_stat(stat), Some(Duration::from_millis(3100)));
        assert_eq!(parent_of(stat), Some(1));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_readable() {
        assert!(cpu_time("self").is_some());
        assert!(cpu_time_with_children(std::process::id()).is_some());
    }
}
