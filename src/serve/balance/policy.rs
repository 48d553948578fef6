//! The balancer's decision: from one sample of how the active workers
//! ran, how many should be active next:
//! - **crowded**: active workers waiting for a CPU a quarter of the time
//!   or more means they are fighting over CPUs (with each other, a load
//!   generator or anything else): one fewer worker, and growing again is
//!   held off for longer each time this repeats;
//! - **spread**: active workers busy 80% of the time or more while 0.7 of
//!   a CPU or more went idle: as many more workers as CPUs went idle
//!   (rounded, 0.7 counting as one), so a burst on a many-core machine
//!   gets every idle core in one decision, never more than the CPUs the
//!   process may use (its affinity and CPU quota);
//! - **pack**: when the work would fit in one fewer worker at half load
//!   each: one fewer;
//! - **even out**: one active worker saturated while another has slack
//!   and a CPU is idle (the kernel handed most connections to one of
//!   them): the busier ones hand their excess to the others.
//!
//! After growing, the count holds for one sampling interval, so a ramp
//! that the first decision did not finish (the new workers' share of the
//! load shows only in the next sample) takes a few intervals, not
//! seconds; after shrinking it holds for a second, so that shrinking
//! stays cautious and each decision is judged on what it did.

use std::time::{Duration, Instant};

use crate::serve::limits::{BALANCE_EVERY, HOLD, MAX_HOLD};

/// Share of the time active workers must be running, on average, before
/// another worker is considered.
pub(crate) const SPREAD_BUSY: f64 = 0.8;

/// Idle CPU time (in CPUs) needed before another worker is made active.
pub(crate) const SPREAD_IDLE: f64 = 0.7;

/// Share of the time active workers waiting for a CPU, on average, that
/// counts as crowded.
pub(crate) const CROWDED_WAIT: f64 = 0.25;

/// The work of `n` active workers must fit in `n - 1` at this load each
/// before one is let go.
pub(crate) const PACK_BUSY: f64 = 0.5;

/// One sampling interval, for the active workers.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sample {
    /// Share of the interval each active worker was running.
    pub busy: Vec<f64>,
    /// Share of the interval each was runnable, waiting for a CPU.
    pub waiting: Vec<f64>,
    /// Idle time on the CPUs we may use, in CPUs (0.5: half of one).
    pub idle_cpus: f64,
}

/// What to do after a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// How many workers are to be active.
    pub active: usize,
    /// Whether the active workers should even out their connections.
    pub even_out: bool,
}

/// The decision, with its memory of recent ones.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// The most workers that may be active: the workers there are, and
    /// no more than the CPUs the process may use.
    workers: usize,
    active: usize,
    hold_until: Option<Instant>,
    /// Hold before growing after a crowded shrink; doubles each time.
    regrow: Duration,
}

impl Policy {
    pub(crate) fn new(workers: usize, active: usize) -> Policy {
        Policy {
            workers: workers.max(1),
            active: active.clamp(1, workers.max(1)),
            hold_until: None,
            regrow: HOLD,
        }
    }

    /// The same, never activating more than `cpus` workers (the CPUs
    /// the process may use: its affinity mask and CPU quota).
    pub(crate) fn with_cpus(self, cpus: usize) -> Policy {
        let workers = self.workers.min(cpus.max(1));
        Policy {
            workers,
            active: self.active.min(workers),
            ..self
        }
    }

    /// How many workers are active.
    pub(crate) fn active(&self) -> usize {
        self.active
    }

    /// What to do after `sample`, taken at `now`.
    pub(crate) fn decide(&mut self, sample: &Sample, now: Instant) -> Decision {
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
            // Each idle CPU can take a worker: 0.7 idle counts as one.
            let idle = (sample.idle_cpus + (1.0 - SPREAD_IDLE)).floor() as usize;
            let grown = (self.active + idle.max(1)).min(self.workers);
            self.change(grown, now + BALANCE_EVERY);
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
        // Growing holds for one sampling interval: an idle pool is not
        // packed within it...
        let idle = sample(&[0.0, 0.0], &[0.0, 0.0], 2.0);
        assert_eq!(p.decide(&idle, t0 + BALANCE_EVERY / 2).active, 2);
        // ...but is after it, and shrinking holds for longer.
        let t1 = t0 + BALANCE_EVERY;
        let mut p3 = Policy::new(3, 3);
        let idle3 = sample(&[0.0; 3], &[0.0; 3], 3.0);
        assert_eq!(p.decide(&idle, t1).active, 1);
        assert_eq!(p3.decide(&idle3, t1).active, 2);
        let idle2 = sample(&[0.0; 2], &[0.0; 2], 3.0);
        assert_eq!(p3.decide(&idle2, t1 + HOLD / 2).active, 2);
        assert_eq!(p3.decide(&idle2, t1 + HOLD).active, 1);
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

    /// What the active workers of a machine report: `cpus` CPUs, of
    /// which `neighbour` are kept busy by other processes, and `demand`
    /// CPUs' worth of work spread evenly over the `active` workers (who
    /// wait for a CPU when there are more of them than free CPUs).
    fn machine(cpus: f64, neighbour: f64, demand: f64, active: usize) -> Sample {
        let a = active as f64;
        let free = (cpus - neighbour).max(0.0);
        let ours = demand.min(a).min(free);
        let busy = ours / a;
        let waiting = if a > free { 1.0 - busy } else { 0.0 };
        Sample {
            busy: vec![busy; active],
            waiting: vec![waiting; active],
            idle_cpus: (free - ours).max(0.0),
        }
    }

    /// Runs `decisions` sampling intervals of `demand` from `at`, and
    /// returns the active counts decided.
    fn run(
        p: &mut Policy,
        at: &mut Instant,
        decisions: usize,
        (cpus, neighbour, demand): (f64, f64, f64),
    ) -> Vec<usize> {
        (0..decisions)
            .map(|_| {
                let sample = machine(cpus, neighbour, demand, p.active());
                *at += BALANCE_EVERY;
                p.decide(&sample, *at).active
            })
            .collect()
    }

    #[test]
    fn idle_burst_steady_idle_on_8_32_and_64_cpus() {
        for cpus in [8usize, 32, 64] {
            let c = cpus as f64;
            let mut p = Policy::new(cpus, 1).with_cpus(cpus);
            let mut t = Instant::now();
            assert_eq!(run(&mut p, &mut t, 8, (c, 0.0, 0.2)), vec![1; 8], "idle");
            // A burst that would take every CPU: all of them within
            // 4 intervals (1 s), never more.
            let ramp = run(&mut p, &mut t, 4, (c, 0.0, c * 2.0));
            assert_eq!(*ramp.last().unwrap(), cpus, "{cpus}: {ramp:?}");
            assert!(ramp.iter().all(|&n| n <= cpus));
            // Steady at half the machine: kept, not flapping.
            let steady = run(&mut p, &mut t, 40, (c, 0.0, c / 2.0));
            assert!(steady.iter().all(|&n| n == cpus), "{cpus}: {steady:?}");
            // Idle again: shrinks one worker at a time, a second apart.
            let calm = run(&mut p, &mut t, 4 * (cpus + 2), (c, 0.0, 0.2));
            assert_eq!(*calm.last().unwrap(), 1, "{cpus}: {calm:?}");
            assert!(calm.windows(2).all(|w| w[1] + 1 >= w[0]), "one at a time");
            let first_drop = calm.iter().position(|&n| n < cpus).unwrap();
            let second_drop = calm.iter().position(|&n| n < cpus - 1).unwrap();
            assert!(second_drop - first_drop >= 4, "{calm:?}");
        }
    }

    #[test]
    fn a_neighbour_on_half_the_cpus_leaves_at_most_the_free_half_used() {
        let mut p = Policy::new(64, 1).with_cpus(64);
        let mut t = Instant::now();
        let counts = run(&mut p, &mut t, 40, (64.0, 32.0, 128.0));
        assert!(counts.iter().all(|&n| n <= 32), "{counts:?}");
        assert_eq!(counts[3], 32, "the free half within a second: {counts:?}");
    }

    #[test]
    fn a_quota_of_4_on_64_cpus_activates_at_most_4() {
        let mut p = Policy::new(64, 1).with_cpus(4);
        let mut t = Instant::now();
        let counts = run(&mut p, &mut t, 40, (64.0, 0.0, 64.0));
        assert!(counts.iter().all(|&n| n <= 4), "{counts:?}");
        assert_eq!(counts[0], 4);
        assert_eq!(Policy::new(8, 8).with_cpus(2).active(), 2);
    }

    #[test]
    fn on_two_cores_a_load_generator_on_the_other_is_not_crowded_out() {
        let mut p = Policy::new(2, 1).with_cpus(2);
        let mut t = Instant::now();
        let counts = run(&mut p, &mut t, 20, (2.0, 1.0, 5.0));
        assert_eq!(counts, vec![1; 20]);
    }
}
