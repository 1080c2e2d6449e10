//! CPU time spent during a measured phase, from Linux's /proc: by the server processes, by
//! PostgreSQL's processes, by this process (the simulated phones and devices), and how busy the
//! whole machine was. On a 2-core machine these say whether a phase was bound by the cores
//! rather than by waiting, and whether something else was running beside it.

/// Clock ticks per second in /proc's CPU times (USER_HZ, 100 on every Linux architecture the
/// bench runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Cumulative CPU times at one moment, in ticks.
#[derive(Debug, Clone, Copy)]
pub struct CpuReading {
    servers: u64,
    postgres: u64,
    bench: u64,
    machine_busy: u64,
    machine_all: u64,
}

/// CPU used between two readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub seconds: f64,
    /// CPU seconds of the server processes, PostgreSQL's processes and the bench itself.
    pub servers: f64,
    pub postgres: f64,
    pub bench: f64,
    /// The share of the whole machine's CPU time that was busy, whoever used it.
    pub machine_busy: f64,
}

impl CpuReading {
    pub fn now(server_pids: &[u32]) -> Self {
        let (machine_busy, machine_all) = machine_ticks();
        Self {
            servers: server_pids
                .iter()
                .map(|pid| process_ticks(&pid.to_string()))
                .sum(),
            postgres: postgres_ticks(),
            bench: process_ticks("self"),
            machine_busy,
            machine_all,
        }
    }

    /// What was used from `earlier` to this reading, `seconds` apart.
    pub fn since(&self, earlier: &Self, seconds: f64) -> CpuUse {
        let seconds_of = |now: u64, then: u64| now.saturating_sub(then) as f64 / TICKS_PER_SECOND;
        let all = self.machine_all.saturating_sub(earlier.machine_all).max(1) as f64;
        CpuUse {
            seconds,
            servers: seconds_of(self.servers, earlier.servers),
            postgres: seconds_of(self.postgres, earlier.postgres),
            bench: seconds_of(self.bench, earlier.bench),
            machine_busy: self.machine_busy.saturating_sub(earlier.machine_busy) as f64 / all,
        }
    }
}

impl CpuUse {
    /// "41 / 30 / 22 of 120 core-s, 98 % busy": server processes / PostgreSQL / this process,
    /// of what the cores had in the time, and how busy the machine was (anyone's work).
    pub fn describe(&self) -> String {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "{:.1} / {:.1} / {:.1} of {:.1} core-s, {:.0} % busy",
            self.servers,
            self.postgres,
            self.bench,
            self.seconds * cores,
            self.machine_busy * 100.0
        )
    }
}

/// utime + stime of `/proc/<pid>/stat` (0 if the process is gone).
fn process_ticks(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(0, |stat| stat_ticks(&stat))
}

fn stat_ticks(stat: &str) -> u64 {
    // The command name is in parentheses and may hold spaces: count fields after its end.
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// The CPU ticks of every process named `postgres` (the server and its backends). Pooled
/// connections live as long as the server processes, so their backends' times are all counted.
fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| stat_ticks(&stat))
        .sum()
}

/// The machine's busy and total ticks, from /proc/stat's first line.
fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else {
        return (0, 0);
    };
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let all: u64 = values.iter().sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (all.saturating_sub(idle), all)
}

#[cfg(test)]
mod tests {
    use super::stat_ticks;

    #[test]
    fn a_stat_line_gives_user_plus_system_time_even_with_spaces_in_the_name() {
        let stat = "4242 (muster bench) S 1 4242 4242 0 -1 4194560 2400 0 0 0 150 35 0 0 20 0 8 0";
        assert_eq!(stat_ticks(stat), 185);
    }
}
