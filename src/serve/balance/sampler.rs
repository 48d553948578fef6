//! Reading the kernel's statistics for the balancer. These are small
//! files in procfs, read in a few microseconds four times a second, so
//! they are read directly on the worker's thread.

use std::io;
use std::time::Instant;

use super::policy::Sample;
use crate::serve::pool::Pool;

/// The previous readings, to take differences from.
pub(crate) struct Sampler {
    /// CPUs this process may run on.
    cpus: Vec<usize>,
    /// Clock ticks per second in `/proc/stat`.
    ticks_per_second: f64,
    last: Option<Reading>,
}

struct Reading {
    at: Instant,
    /// Per worker: nanoseconds run and waited (none if not started).
    threads: Vec<Option<(u64, u64)>>,
    idle_ticks: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    pub(crate) fn new() -> Sampler {
        // SAFETY: sysconf takes no pointers.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Sampler {
            cpus: allowed_cpus(),
            ticks_per_second: if ticks > 0 { ticks as f64 } else { 100.0 },
            last: None,
        }
    }

    /// What happened since the previous call, for the active workers;
    /// `None` on the first call.
    pub(crate) fn sample(&mut self, pool: &Pool) -> io::Result<Option<Sample>> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let idle_ticks = parse_idle_ticks(&stat, &self.cpus)
            .ok_or_else(|| io::Error::other("unexpected /proc/stat"))?;
        let mut threads = Vec::new();
        for tid in pool.thread_ids() {
            threads.push(if tid == 0 {
                None
            } else {
                Some(thread_times(tid)?)
            });
        }
        let now = Reading {
            at: Instant::now(),
            threads,
            idle_ticks,
        };
        let sample = self
            .last
            .as_ref()
            .map(|last| self.since(last, &now, pool.active()));
        self.last = Some(now);
        Ok(sample)
    }

    fn since(&self, last: &Reading, now: &Reading, active: usize) -> Sample {
        let elapsed = now.at.duration_since(last.at).as_secs_f64().max(1e-3);
        let nanos = elapsed * 1e9;
        let mut sample = Sample {
            idle_cpus: now.idle_ticks.saturating_sub(last.idle_ticks) as f64
                / self.ticks_per_second
                / elapsed,
            ..Sample::default()
        };
        for (before, after) in last.threads.iter().zip(&now.threads).take(active) {
            let (run, wait) = match (before, after) {
                (Some(b), Some(a)) => (a.0.saturating_sub(b.0), a.1.saturating_sub(b.1)),
                _ => (0, 0),
            };
            sample.busy.push(run as f64 / nanos);
            sample.waiting.push(wait as f64 / nanos);
        }
        sample
    }
}

/// A thread's scheduler statistics line: nanoseconds running and
/// nanoseconds runnable but waiting.
pub(crate) fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace();
    let run = fields.next()?.parse().ok()?;
    let wait = fields.next()?.parse().ok()?;
    Some((run, wait))
}

/// Idle ticks (idle plus iowait) summed over `cpus`, from `/proc/stat`.
pub(crate) fn parse_idle_ticks(stat: &str, cpus: &[usize]) -> Option<u64> {
    let mut total = 0u64;
    let mut found = 0;
    for line in stat.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(cpu) = fields.next().and_then(|name| name.strip_prefix("cpu")) else {
            continue;
        };
        let Ok(cpu) = cpu.parse::<usize>() else {
            continue; // the "cpu" line: all CPUs together
        };
        if !cpus.contains(&cpu) {
            continue;
        }
        // user nice system idle iowait ...
        let idle: u64 = fields.nth(3)?.parse().ok()?;
        let iowait: u64 = fields.next()?.parse().ok()?;
        total += idle + iowait;
        found += 1;
    }
    (found > 0).then_some(total)
}

/// A thread's (run, wait) nanoseconds, from its schedstat file.
fn thread_times(tid: i32) -> io::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))?;
    parse_schedstat(&text).ok_or_else(|| io::Error::other("unexpected schedstat"))
}

/// The CPUs in this process's affinity mask (all of them if it cannot be
/// read): idle time elsewhere is of no use to our workers.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; the kernel
    // writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: set is valid for `size` bytes.
    let rc = unsafe { libc::sched_getaffinity(0, size, &mut set) };
    let all = size * 8;
    if rc != 0 {
        return (0..all).collect();
    }
    // SAFETY: i is below the set's capacity in bits.
    (0..all)
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_statistics_read_and_add_up() {
        let pool = Pool::new(2, 2);
        pool.register_thread(0);
        let mut sampler = Sampler::new();
        assert!(!sampler.cpus.is_empty());
        assert_eq!(
            sampler.sample(&pool).unwrap(),
            None,
            "first call has no interval"
        );
        let spin = Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(200) {
            std::hint::black_box(0);
        }
        let sample = sampler.sample(&pool).unwrap().unwrap();
        assert_eq!(sample.busy.len(), 2);
        // This thread spun for the whole interval, so it was running or
        // waiting to run all along; worker 1 never started. The kernel
        // brings its run time up to date only at ticks (10 ms at HZ=100)
        // and leaves out time stolen by a hypervisor, so a correct reading
        // can fall well short of 1; a wrong field or unit would be off by
        // orders of magnitude.
        let accounted = sample.busy[0] + sample.waiting[0];
        assert!(sample.busy[0] > 0.0, "{sample:?}");
        assert!((0.2..=1.1).contains(&accounted), "{sample:?}");
        assert_eq!(sample.busy[1], 0.0);
        let cpus = sampler.cpus.len() as f64;
        assert!((0.0..=cpus + 0.5).contains(&sample.idle_cpus), "{sample:?}");
    }

    #[test]
    fn schedstat_lines_parse_and_garbage_does_not() {
        assert_eq!(parse_schedstat("242620 17 2\n"), Some((242620, 17)));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("12"), None);
        assert_eq!(parse_schedstat("a b c"), None);
    }

    #[test]
    fn idle_ticks_add_up_over_the_allowed_cpus_only() {
        let stat = "cpu  10 0 20 900 40 0 0 0 0 0\n\
                    cpu0 5 0 10 500 30 0 0 0 0 0\n\
                    cpu1 5 0 10 400 10 0 0 0 0 0\n\
                    intr 1 2 3\n";
        assert_eq!(parse_idle_ticks(stat, &[0, 1]), Some(940));
        assert_eq!(parse_idle_ticks(stat, &[1]), Some(410));
        assert_eq!(parse_idle_ticks(stat, &[7]), None);
        assert_eq!(parse_idle_ticks("cpu0 1 2\n", &[0]), None, "truncated line");
        assert_eq!(parse_idle_ticks("", &[0]), None);
    }
}
