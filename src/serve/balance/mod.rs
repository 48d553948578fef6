//! How many workers are active: as few as the load needs, more only while
//! there are idle CPUs for them to run on.
//!
//! Four times a second the balancer reads, from the kernel's scheduler
//! statistics, how much of that time each active worker ran and how much
//! it spent runnable but waiting for a CPU, and how much CPU time went
//! idle on the CPUs this process may use (the [`Sampler`]); the [`Policy`]
//! then decides the active count, which the pool applies.

use std::time::Instant;

use clap::ValueEnum;

use crate::serve::limits::BALANCE_EVERY;
use crate::serve::pool::Pool;
use crate::shutdown::Shutdown;

mod policy;
mod sampler;

pub(crate) use policy::Policy;
pub(crate) use sampler::Sampler;

/// `--balance`: how the workers share the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Balance {
    /// As few active workers as the load needs, more while CPUs are idle.
    #[default]
    Pack,
    /// Every worker accepts all the time (a machine with CPUs to spare).
    Spread,
}

/// Adjusts the pool's active count until shutdown starts. Gives up, with
/// every worker active, if the kernel's statistics cannot be read.
pub(crate) async fn run(pool: std::sync::Arc<Pool>, mut shutdown: Shutdown) {
    let mut sampler = Sampler::new();
    // The CPUs this process may use: its affinity mask and its CPU quota
    // (cgroup v2 cpu.max, v1 cpu.cfs_quota_us), as the standard library
    // reads them. More active workers than that would only wait.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut policy = Policy::new(pool.workers(), pool.active()).with_cpus(cpus);
    if policy.active() != pool.active() {
        pool.set_active(policy.active());
    }
    let mut tick = tokio::time::interval(BALANCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.stopping() => return,
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
