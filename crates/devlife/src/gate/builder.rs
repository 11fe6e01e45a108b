//! [`GateBuilder`]: a gate's name, watchdog, monitor and tracing, fixed
//! before the gate exists.

use super::Gate;
use super::core::{Cold, GateCore, Slow};
use super::state::{AtomicState, State};
use super::watchdog::{DrainStall, StallFn};
use crate::barrier;
use crate::check::Monitor;
use crate::sync::{Arc, AtomicUsize, Condvar, Mutex};
use std::collections::BTreeMap;
use std::time::Duration;

/// A process-unique gate id; 0 is never handed out (it marks a free slot).
fn next_gate_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Configures a [`Gate`] before it is created.
#[must_use]
pub struct GateBuilder {
    pub(super) name: String,
    pub(super) watchdog: Option<Duration>,
    pub(super) on_stall: Option<StallFn>,
    pub(super) monitor: Option<Monitor>,
    pub(super) trace: bool,
}

impl GateBuilder {
    /// Names the gate (used in watchdog reports and the journal).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Reports accesses that keep a drain waiting longer than `after`
    /// (then again after twice as long, and so on).
    pub fn watchdog(mut self, after: Duration) -> Self {
        self.watchdog = Some(after);
        self
    }
    /// Calls `f` for every watchdog report (in addition to recording it).
    pub fn on_stall(mut self, f: impl Fn(&DrainStall) + Send + Sync + 'static) -> Self {
        self.on_stall = Some(Box::new(f));
        self
    }
    /// Records unplug events (and stall reports) in `monitor`.
    pub fn monitor(mut self, monitor: &Monitor) -> Self {
        self.monitor = Some(monitor.clone());
        self
    }
    /// Also journal every enter and exit (slow; for scenario replay and tests).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }
    /// Creates the gate, open.
    pub fn build(self) -> Gate {
        // Fix the barrier mode before any thread can enter or unplug this gate
        // (the decision is write-once; see `barrier.rs`).
        barrier::init();
        Gate {
            core: Arc::new(GateCore {
                id: next_gate_id(),
                state: AtomicState::new(State::new_open(self.trace)),
                cold: Cold {
                    overflow: AtomicUsize::new(0),
                    slow: Mutex::new(Slow {
                        hooks: Vec::new(),
                        next_hook: 1,
                        queues: BTreeMap::new(),
                        waiters: 0,
                        woken: false,
                        waker: None,
                        stalls: Vec::new(),
                    }),
                    cv: Condvar::new(),
                },
                name: self.name,
                watchdog: self.watchdog,
                on_stall: self.on_stall,
                monitor: self.monitor,
            }),
        }
    }
}
