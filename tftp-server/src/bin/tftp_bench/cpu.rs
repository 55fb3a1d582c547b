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

fn parse_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may contain spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
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
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn own_process_is_readable() {
        assert!(cpu_time("self").is_some());
    }
}
