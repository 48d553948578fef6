//! How many workers are active: as few as the load needs, more only while
//! there are idle CPUs for them to run on.
//!
//! Four times a second the balancer reads, from the kernel's scheduler
//! statistics, how much of that time each active worker ran and how much
//! it spent runnable but waiting for a CPU, and how much CPU time went
//! idle on the CPUs this process may use. Then:
//! - **crowded**: active workers waiting for a CPU a quarter of the time
//!   or more means they are fighting over CPUs (with each other, a load
//!   generator or anything else): one fewer worker, and growing again is
//!   held off for longer each time this repeats;
//! - **spread**: active workers busy 80% of the time or more while 0.7 of
//!   a CPU or more went idle: one more worker;
//! - **pack**: when the work would fit in one fewer worker at half load
//!   each: one fewer;
//! - **even out**: one active worker saturated while another has slack
//!   and a CPU is idle (the kernel handed most connections to one of
//!   them): the busier ones hand their excess to the others.
//!
//! After any change the count holds for at least a second, so each
//! decision is judged on what it did.

use std::time::{Duration, Instant};

use clap::ValueEnum;
use tokio::sync::watch;

use crate::serve::limits::{BALANCE_EVERY, HOLD, MAX_HOLD};
use crate::serve::pool::Pool;

/// Share of the time active workers must be running, on average, before
/// another worker is considered.
pub const SPREAD_BUSY: f64 = 0.8;

/// Idle CPU time (in CPUs) needed before another worker is made active.
pub const SPREAD_IDLE: f64 = 0.7;

/// Share of the time active workers waiting for a CPU, on average, that
/// counts as crowded.
pub const CROWDED_WAIT: f64 = 0.25;

/// The work of `n` active workers must fit in `n - 1` at this load each
/// before one is let go.
pub const PACK_BUSY: f64 = 0.5;

/// `--balance`: how the workers share the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Balance {
    /// As few active workers as the load needs, more while CPUs are idle.
    Pack,
    /// Every worker accepts all the time (a machine with CPUs to spare).
    Spread,
}

/// One sampling interval, for the active workers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Share of the interval each active worker was running.
    pub busy: Vec<f64>,
    /// Share of the interval each was runnable, waiting for a CPU.
    pub waiting: Vec<f64>,
    /// Idle time on the CPUs we may use, in CPUs (0.5: half of one).
    pub idle_cpus: f64,
}

/// What to do after a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// How many workers are to be active.
    pub active: usize,
    /// Whether the active workers should even out their connections.
    pub even_out: bool,
}

/// The decision, with its memory of recent ones.
#[derive(Debug, Clone)]
pub struct Policy {
    workers: usize,
    active: usize,
    hold_until: Option<Instant>,
    /// Hold before growing after a crowded shrink; doubles each time.
    regrow: Duration,
}

impl Policy {
    pub fn new(workers: usize, active: usize) -> Policy {
        Policy {
            workers: workers.max(1),
            active: active.clamp(1, workers.max(1)),
            hold_until: None,
            regrow: HOLD,
        }
    }

    /// What to do after `sample`, taken at `now`.
    pub fn decide(&mut self, sample: &Sample, now: Instant) -> Decision {
        let mut even_out = false;
        if self.hold_until.is_none_or(|t| now >= t) {
            even_out = self.adjust(sample, now);
        }
        Decision {
            active: self.active,
            even_out,
        }
    }

    /// Changes the active count if the sample calls for it; true when
    /// instead the active workers should even out.
    fn adjust(&mut self, sample: &Sample, now: Instant) -> bool {
        let n = self.active as f64;
        let busy: f64 = sample.busy.iter().sum();
        let waiting = sample.waiting.iter().sum::<f64>() / n;
        if self.active > 1 && waiting >= CROWDED_WAIT {
            self.change(self.active - 1, now + self.regrow);
            self.regrow = (self.regrow * 2).min(MAX_HOLD);
        } else if self.active < self.workers
            && busy / n >= SPREAD_BUSY
            && sample.idle_cpus >= SPREAD_IDLE
        {
            self.change(self.active + 1, now + HOLD);
        } else if self.active > 1 && busy <= (n - 1.0) * PACK_BUSY {
            self.change(self.active - 1, now + HOLD);
        } else if self.active > 1 {
            // More than one worker and not crowded: growing was right.
            self.regrow = HOLD;
            let max = sample.busy.iter().copied().fold(0.0, f64::max);
            let min = sample.busy.iter().copied().fold(1.0, f64::min);
            if max >= SPREAD_BUSY && min <= PACK_BUSY && sample.idle_cpus >= SPREAD_IDLE {
                self.hold_until = Some(now + HOLD);
                return true;
            }
        }
        false
    }

    fn change(&mut self, active: usize, hold_until: Instant) {
        self.active = active;
        self.hold_until = Some(hold_until);
    }
}

/// A thread's scheduler statistics line: nanoseconds running and
/// nanoseconds runnable but waiting.
pub fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_ascii_whitespace();
    let run = fields.next()?.parse().ok()?;
    let wait = fields.next()?.parse().ok()?;
    Some((run, wait))
}

/// Idle ticks (idle plus iowait) summed over `cpus`, from `/proc/stat`.
pub fn parse_idle_ticks(stat: &str, cpus: &[usize]) -> Option<u64> {
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

mod sampler;

pub use sampler::Sampler;

/// Adjusts the pool's active count until `shutdown`. Gives up (leaving
/// the count as it is) if the kernel's statistics cannot be read.
pub async fn run(pool: std::sync::Arc<Pool>, mut shutdown: watch::Receiver<bool>) {
    let mut sampler = Sampler::new();
    let mut policy = Policy::new(pool.workers(), pool.active());
    let mut tick = tokio::time::interval(BALANCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|&stop| stop) => return,
        }
        let sample = match sampler.sample(&pool) {
            Ok(Some(sample)) => sample,
            Ok(None) => continue,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read CPU statistics; worker balancing is off");
                pool.set_active(pool.workers());
                return;
            }
        };
        tracing::trace!(?sample, "worker load");
        let decision = policy.decide(&sample, Instant::now());
        if decision.active != pool.active() {
            tracing::debug!(decision.active, ?sample, "active workers");
            pool.set_active(decision.active);
        } else if decision.even_out {
            tracing::debug!(?sample, "evening out the workers' connections");
            pool.even_out();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(busy: &[f64], waiting: &[f64], idle_cpus: f64) -> Sample {
        Sample {
            busy: busy.to_vec(),
            waiting: waiting.to_vec(),
            idle_cpus,
        }
    }

    #[test]
    fn a_saturated_worker_gets_help_only_when_a_cpu_is_idle() {
        let t0 = Instant::now();
        let mut p = Policy::new(2, 1);
        // A load generator has the other CPU: nothing idle, stay at one.
        assert_eq!(p.decide(&sample(&[0.97], &[0.02], 0.05), t0).active, 1);
        // A remote client: the other CPU is idle.
        assert_eq!(p.decide(&sample(&[0.97], &[0.02], 0.95), t0).active, 2);
        // Never beyond the workers there are.
        let later = t0 + HOLD * 2;
        assert_eq!(
            p.decide(&sample(&[0.95, 0.95], &[0.0, 0.0], 0.9), later)
                .active,
            2
        );
    }

    #[test]
    fn a_light_load_stays_on_one_worker_whatever_is_idle() {
        let mut p = Policy::new(4, 1);
        assert_eq!(
            p.decide(&sample(&[0.6], &[0.0], 3.0), Instant::now())
                .active,
            1
        );
    }

    #[test]
    fn each_change_holds_for_a_while() {
        let t0 = Instant::now();
        let mut p = Policy::new(2, 1);
        assert_eq!(p.decide(&sample(&[0.9], &[0.0], 1.0), t0).active, 2);
        // Even an idle pool is not packed within the hold...
        let idle = sample(&[0.0, 0.0], &[0.0, 0.0], 2.0);
        assert_eq!(p.decide(&idle, t0 + HOLD / 2).active, 2);
        // ...but is after it.
        assert_eq!(p.decide(&idle, t0 + HOLD).active, 1);
    }

    #[test]
    fn light_work_is_packed_onto_fewer_workers() {
        let t0 = Instant::now();
        let mut p = Policy::new(3, 3);
        // 0.9 of work fits in two workers at half load: let one go.
        assert_eq!(
            p.decide(&sample(&[0.3, 0.3, 0.3], &[0.0; 3], 2.0), t0)
                .active,
            2
        );
        // 0.7 over two does not fit in one at half load: keep both.
        let later = t0 + HOLD;
        assert_eq!(
            p.decide(&sample(&[0.35, 0.35], &[0.0; 2], 1.0), later)
                .active,
            2
        );
    }

    #[test]
    fn crowded_workers_shrink_and_wait_longer_each_time_before_growing() {
        let t0 = Instant::now();
        let mut p = Policy::new(2, 2);
        let crowded = sample(&[0.6, 0.6], &[0.4, 0.3], 0.0);
        let saturated = sample(&[0.95], &[0.0], 0.9);
        assert_eq!(p.decide(&crowded, t0).active, 1);
        // First regrow hold: HOLD.
        assert_eq!(p.decide(&saturated, t0 + HOLD / 2).active, 1);
        let t1 = t0 + HOLD;
        assert_eq!(p.decide(&saturated, t1).active, 2);
        let t2 = t1 + HOLD;
        assert_eq!(p.decide(&crowded, t2).active, 1);
        // Second time: twice as long.
        assert_eq!(p.decide(&saturated, t2 + HOLD * 3 / 2).active, 1);
        assert_eq!(p.decide(&saturated, t2 + HOLD * 2).active, 2);
        // Two workers running side by side without crowding resets it.
        let t3 = t2 + HOLD * 3;
        assert_eq!(
            p.decide(&sample(&[0.9, 0.9], &[0.05, 0.05], 0.1), t3)
                .active,
            2
        );
        assert_eq!(p.decide(&crowded, t3).active, 1);
        assert_eq!(p.decide(&saturated, t3 + HOLD).active, 2);
    }

    #[test]
    fn the_regrow_hold_is_bounded() {
        let mut t = Instant::now();
        let mut p = Policy::new(2, 2);
        for _ in 0..10 {
            p.decide(&sample(&[0.6, 0.6], &[0.5, 0.5], 0.0), t);
            t += MAX_HOLD;
            p.decide(&sample(&[0.95], &[0.0], 1.0), t);
            t += MAX_HOLD;
        }
        assert_eq!(p.active, 2, "still regrows after the longest hold");
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

    #[test]
    fn a_lopsided_pool_evens_out_only_when_a_cpu_is_idle() {
        let t0 = Instant::now();
        let mut p = Policy::new(2, 2);
        // The kernel gave worker 1 every connection; the other CPU runs the
        // load generator: evening out would only crowd it.
        let d = p.decide(&sample(&[0.0, 0.99], &[0.0, 0.0], 0.0), t0);
        assert_eq!((d.active, d.even_out), (2, false));
        // A remote client: the other CPU is idle.
        let lopsided = sample(&[0.0, 0.99], &[0.0, 0.0], 0.95);
        let d = p.decide(&lopsided, t0);
        assert_eq!((d.active, d.even_out), (2, true));
        // Then it holds, to see what that did.
        assert!(!p.decide(&lopsided, t0 + HOLD / 2).even_out);
        assert!(p.decide(&lopsided, t0 + HOLD).even_out);
    }
}
