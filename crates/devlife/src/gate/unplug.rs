//! The unplug side of the gate: refuse entries, have sleepers woken, drain.
//!
//! This is the unplugger's half of the protocol whose memory-ordering
//! argument is written in `read_side.rs`: "flag, then scan" — set `DRAINING`
//! with a `SeqCst` RMW, issue the heavy barrier, then scan every thread's
//! slots with acquire loads, sleeping under the gate lock until the scan finds
//! none of this gate's accesses.

use super::Gate;
use super::core::GateCore;
use super::error::{UnplugError, UnplugStats};
use crate::barrier;
use crate::check::EventKind;
use crate::registry;
use crate::sync::{Ordering, lock};
use std::time::{Duration, Instant};

/// Upper bound on one sleep of the drainer. The protocol never needs it (every
/// exit that matters notifies), it only bounds the damage of a bug.
pub(super) const BACKSTOP: Duration = Duration::from_millis(100);

impl Gate {
    /// Unplugs the gate: refuse new entries, wake sleepers and run cancel hooks,
    /// then wait until every in-flight access has been dropped.
    ///
    /// Idempotent: later and concurrent calls also return only after the drain.
    /// Fails without draining if called from inside an access of this same gate.
    pub fn unplug(&self) -> Result<UnplugStats, UnplugError> {
        self.core.unplug()
    }

    /// Unplugs several gates (the nodes of one device at unbind) as
    /// [`Gate::unplug`] unplugs one, with one heavy barrier for all of them:
    /// every gate refuses new entries first, then one barrier (a
    /// `membarrier` system call when another thread owns a gate record),
    /// then step 2 (wake sleepers, run cancel hooks) of every gate, then the
    /// drain of each, in order. Returns one result per gate, in order.
    ///
    /// Because every gate is woken before any is drained, a thread inside
    /// one gate asleep on a queue of another leaves too; unplugged one after
    /// the other, the first drain would wait for it forever.
    pub fn unplug_all(gates: &[&Gate]) -> Vec<Result<UnplugStats, UnplugError>> {
        let t0 = Instant::now();
        let firsts: Vec<bool> = gates.iter().map(|g| g.core.refuse()).collect();
        if firsts.iter().any(|f| *f) {
            GateCore::barrier_after_refuse();
        }
        let stats: Vec<UnplugStats> = gates
            .iter()
            .zip(&firsts)
            .map(|(g, first)| {
                let mut st = UnplugStats {
                    first: *first,
                    ..UnplugStats::default()
                };
                if *first {
                    g.core.wake_and_cancel(&mut st);
                }
                st
            })
            .collect();
        gates
            .iter()
            .zip(stats)
            .map(|(g, st)| g.core.complete(st, t0))
            .collect()
    }

    /// Number of accesses currently inside the gate (a scan; racy by nature).
    pub fn in_flight(&self) -> usize {
        self.core.busy()
    }
}

impl GateCore {
    /// Number of accesses inside this gate, over all threads: the scan.
    pub(super) fn busy(&self) -> usize {
        let mut n = self.cold.overflow.load(Ordering::SeqCst);
        registry::for_each(|r| {
            n += r
                .slots
                .iter()
                .filter(|s| s.load(Ordering::Acquire) == self.id)
                .count();
        });
        n
    }

    fn unplug(&self) -> Result<UnplugStats, UnplugError> {
        let t0 = Instant::now();
        let mut stats = UnplugStats {
            first: self.refuse(),
            ..UnplugStats::default()
        };
        if stats.first {
            Self::barrier_after_refuse();
            // Step 2: wake sleepers and cancel pending I/O, outside the lock.
            self.wake_and_cancel(&mut stats);
        }
        self.complete(stats, t0)
    }

    /// Step 1: sets `DRAINING`, so that new entries are refused. Returns
    /// whether this call was the first to set it (the one that runs step 2).
    fn refuse(&self) -> bool {
        // An RMW that only adds the bit: the first caller sees it clear.
        let first = self.state.begin_unplug().was_open();
        if first {
            self.journal(EventKind::UnplugBegin, None);
        }
        first
    }

    /// After step 1 of the gates being unplugged: the heavy barrier, after
    /// which every enter that a drain's scan will not see observes
    /// `DRAINING`. With no other thread owning a record, the fence of the
    /// check stands in for it (`registry::only_caller_registered`).
    fn barrier_after_refuse() {
        if !registry::only_caller_registered() {
            barrier::heavy();
        }
    }

    /// The rest of an unplug once step 1, the barrier and (for the first
    /// unplug) step 2 are done: a later unplug waits for the first one's
    /// step 2, then steps 3-4 (refused from inside an access of this gate).
    fn complete(&self, mut stats: UnplugStats, t0: Instant) -> Result<UnplugStats, UnplugError> {
        if !stats.first {
            self.wait_until_woken()?;
        }
        if let Some(rec) = registry::current_if_registered()
            && rec.holds(self.id)
        {
            return Err(UnplugError::InsideAccess(self.name.clone()));
        }
        stats.in_flight = self.drain(t0);
        self.state.mark_dead();
        if stats.first {
            self.journal(EventKind::UnplugEnd, None);
        }
        stats.elapsed = t0.elapsed();
        Ok(stats)
    }

    /// Steps 3-4: waits until no access to this gate remains. Returns how many
    /// were in flight at the first scan.
    ///
    /// The scan and the decision to sleep happen under the gate lock, and an
    /// exit that sees the gate unplugging notifies under the same lock, so no
    /// notification falls between a scan and the sleep (`read_side.rs`).
    fn drain(&self, unplug_start: Instant) -> usize {
        // The watchdog counts from the start of the unplug call (no second
        // clock read on the idle path).
        let t0 = unplug_start;
        let mut next_report = self.watchdog;
        let mut s = lock(&self.cold.slow);
        let first = self.busy();
        let mut busy = first;
        while busy != 0 {
            let max = match next_report {
                Some(at) => at
                    .saturating_sub(t0.elapsed())
                    .clamp(Duration::from_micros(50), BACKSTOP),
                None => BACKSTOP,
            };
            s = self.sleep(s, max);
            busy = self.busy();
            if let Some(at) = next_report
                && busy != 0
                && t0.elapsed() >= at
            {
                next_report = Some(at * 2);
                // Report with the lock released: the callback may use the gate.
                drop(s);
                let stall = self.report_stall(unplug_start);
                s = lock(&self.cold.slow);
                s.stalls.push(stall);
                busy = self.busy();
            }
        }
        first
    }
}
