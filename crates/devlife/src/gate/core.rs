//! [`GateCore`]: the shared part of a gate, its memory layout, and the
//! slow-path lock with the condition variable its sleepers wait on.

use super::state::AtomicState;
use super::watchdog::{DrainStall, StallFn};
use crate::check::{EventKind, Monitor};
use crate::sync::{Arc, AtomicUsize, Condvar, Mutex, MutexGuard, ThreadId, wait};
use crate::wait::WqShared;
use std::collections::BTreeMap;
use std::time::Duration;

/// A cancel hook registered with [`Gate::on_unplug`](super::Gate::on_unplug).
pub(super) type Hook = Box<dyn FnOnce() + Send>;

/// What the gate lock protects: the unplug-time callbacks, the sleepers'
/// count and the progress of step 2.
pub(super) struct Slow {
    pub(super) hooks: Vec<(u64, Hook)>,
    pub(super) next_hook: u64,
    pub(super) queues: BTreeMap<u64, Arc<WqShared>>,
    /// Threads sleeping on the gate's condition variable (drainers, and
    /// unplugs waiting for step 2); it is signalled only when this is non-zero.
    pub(super) waiters: usize,
    /// Step 2 of the first unplug has completed.
    pub(super) woken: bool,
    pub(super) waker: Option<ThreadId>,
    pub(super) stalls: Vec<DrainStall>,
}

/// The shared part of a gate.
///
/// The fields read on the fast path (`id`, `state`) sit on their own
/// cache lines (the struct is 128-byte aligned, which also keeps them off the
/// line of the `Arc` reference counts); the fields written by the slow paths
/// (overflow counter, lock, condition variable) sit in [`Cold`], on other lines.
///
/// # Invariants
///
/// * `state` only gains bits (see [`AtomicState`]); it is traced iff the
///   gate was built with `trace`.
/// * With `DEAD` set, no slot of any thread holds `id` and `overflow` is 0, and none ever
///   will again.
#[repr(C, align(128))]
pub(crate) struct GateCore {
    pub(crate) id: u64,
    pub(super) state: AtomicState,
    pub(super) name: String,
    pub(super) watchdog: Option<Duration>,
    pub(super) on_stall: Option<StallFn>,
    pub(super) monitor: Option<Monitor>,
    pub(super) cold: Cold,
}

/// The slow-path, written part of a gate (see [`GateCore`]).
#[repr(C, align(128))]
pub(super) struct Cold {
    pub(super) overflow: AtomicUsize,
    pub(super) slow: Mutex<Slow>,
    pub(super) cv: Condvar,
}

impl GateCore {
    /// Sleeps on the gate's condition variable (at most `max`), counted in
    /// `Slow::waiters`.
    pub(super) fn sleep<'a>(
        &self,
        mut s: MutexGuard<'a, Slow>,
        max: Duration,
    ) -> MutexGuard<'a, Slow> {
        s.waiters += 1;
        let mut s = wait(&self.cold.cv, s, Some(max));
        s.waiters -= 1;
        s
    }

    /// Wakes every thread sleeping in [`GateCore::sleep`]; the caller holds the lock.
    pub(super) fn wake_sleepers(&self, s: &Slow) {
        if s.waiters > 0 {
            self.cold.cv.notify_all();
        }
    }

    /// Records a lifetime event of this gate in its monitor's journal, if it
    /// has a monitor.
    pub(super) fn journal(&self, kind: EventKind, label: Option<&'static str>) {
        if let Some(m) = &self.monitor {
            m.journal().record_named(self.id, &self.name, kind, label);
        }
    }
}
