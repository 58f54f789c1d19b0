//! The process metrics Prometheus client libraries export (`process_*`), read from
//! `/proc` on each scrape. Elsewhere than Linux they are absent.

/// Linux reports CPU times in clock ticks of `USER_HZ`, which is 100 on every
/// architecture the kernel's user ABI supports.
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc` says about this process.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessReading {
    /// Resident set size, bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
    /// Start time, seconds since the epoch.
    pub start_time_seconds: Option<f64>,
}

/// Reads this process's numbers; what cannot be read is `None`.
pub fn read() -> ProcessReading {
    let mut r = ProcessReading::default();
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        r.resident_memory_bytes = kb("VmRSS:").map(|k| k * 1024);
        r.virtual_memory_bytes = kb("VmSize:").map(|k| k * 1024);
        r.threads = kb("Threads:");
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        let (cpu, start_ticks) = parse_stat(&stat);
        r.cpu_seconds = cpu;
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_boot_time(&s));
        if let (Some(ticks), Some(boot)) = (start_ticks, boot) {
            r.start_time_seconds = Some(boot as f64 + ticks as f64 / TICKS_PER_SECOND);
        }
    }
    r.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    r
}

/// CPU seconds (utime + stime) and the start time in ticks after boot, from
/// `/proc/self/stat` (fields 14, 15 and 22; the command name in field 2 may hold
/// spaces and parentheses, so fields are counted from its closing parenthesis).
fn parse_stat(stat: &str) -> (Option<f64>, Option<u64>) {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return (None, None);
    };
    // `rest` starts at field 3 (state).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu = match (field(14), field(15)) {
        (Some(u), Some(s)) => Some((u + s) as f64 / TICKS_PER_SECOND),
        _ => None,
    };
    (cpu, field(22))
}

fn parse_boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_the_command_name_s_end() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 12345 100000 2000 18446744073709551615";
        let (cpu, start) = parse_stat(line);
        assert_eq!(cpu, Some(3.0));
        assert_eq!(start, Some(12345));
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn this_process_has_memory_and_cpu() {
        let r = read();
        if cfg!(target_os = "linux") {
            assert!(r.resident_memory_bytes.unwrap_or(0) > 0, "{r:?}");
            assert!(r.cpu_seconds.is_some(), "{r:?}");
            assert!(r.open_fds.unwrap_or(0) > 0, "{r:?}");
        }
    }
}
