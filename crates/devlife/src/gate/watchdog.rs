//! The drain watchdog: which accesses keep an unplug waiting ([`Blocker`]),
//! and the report filed when a drain waits too long ([`DrainStall`]).

use super::Gate;
use super::core::GateCore;
use crate::check::{Report, ReportKind};
use crate::registry;
use crate::sync::{Ordering, lock};
use std::fmt;
use std::time::{Duration, Instant};

/// The callback given with [`GateBuilder::on_stall`](super::GateBuilder::on_stall).
pub(super) type StallFn = Box<dyn Fn(&DrainStall) + Send + Sync>;

/// One access that keeps a drain waiting, as named by the watchdog.
#[derive(Debug, Clone)]
pub struct Blocker {
    /// Name of the thread holding the access.
    pub thread: String,
    /// Label given with [`Gate::enter_as`], if any.
    pub label: Option<&'static str>,
    /// A time since which the access has been inside the gate (no clock is
    /// read on enter): in a watchdog report, the start of the unplug, since
    /// no access can begin after it; `None` from [`Gate::blockers`].
    pub since: Option<Instant>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread `{}`", self.thread)?;
        if let Some(l) = self.label {
            write!(f, " in `{l}`")?;
        }
        if let Some(s) = self.since {
            write!(f, " for at least {:?}", s.elapsed())?;
        }
        Ok(())
    }
}

/// A watchdog report: the drain of `gate` has been waiting for `waited`.
#[derive(Debug, Clone)]
pub struct DrainStall {
    /// Name of the gate the drain waits on.
    pub gate: String,
    /// How long the drain had been waiting.
    pub waited: Duration,
    /// The accesses that keep it waiting.
    pub blockers: Vec<Blocker>,
}

impl fmt::Display for DrainStall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unplug of `{}` has waited {:?} for {} access(es):",
            self.gate,
            self.waited,
            self.blockers.len()
        )?;
        for b in &self.blockers {
            write!(f, " [{b}]")?;
        }
        Ok(())
    }
}

impl Gate {
    /// The accesses currently inside this gate (a scan of all threads).
    pub fn blockers(&self) -> Vec<Blocker> {
        self.core.blockers(None)
    }

    /// Watchdog reports produced by drains of this gate so far.
    pub fn stalls(&self) -> Vec<DrainStall> {
        lock(&self.core.cold.slow).stalls.clone()
    }
}

impl GateCore {
    /// The accesses inside this gate; `since` is what each [`Blocker`] says
    /// about how long it has been inside.
    pub(super) fn blockers(&self, since: Option<Instant>) -> Vec<Blocker> {
        let mut out = Vec::new();
        for r in registry::snapshot() {
            for (i, s) in r.slots.iter().enumerate() {
                if s.load(Ordering::Acquire) == self.id {
                    out.push(Blocker {
                        thread: lock(&r.name).clone(),
                        label: registry::unpack_label(r.labels[i].load(Ordering::Acquire)),
                        since,
                    });
                }
            }
        }
        let mut named = 0;
        for r in registry::snapshot() {
            let n = lock(&r.overflow_held)
                .iter()
                .filter(|g| **g == self.id)
                .count();
            if n > 0 {
                let thread = lock(&r.name).clone();
                for _ in 0..n {
                    out.push(Blocker {
                        thread: thread.clone(),
                        label: None,
                        since: None,
                    });
                }
                named += n;
            }
        }
        // Overflow accesses whose bookkeeping is in flight right now.
        for _ in named..self.cold.overflow.load(Ordering::SeqCst) {
            out.push(Blocker {
                thread: String::from("<overflow access>"),
                label: None,
                since: None,
            });
        }
        out
    }

    /// Builds the report of a drain that has been waiting since
    /// `unplug_start`, gives it to the stall callback and files it with the
    /// monitor. Called with the gate lock released: the callback may use the
    /// gate.
    pub(super) fn report_stall(&self, unplug_start: Instant) -> DrainStall {
        let stall = DrainStall {
            gate: self.name.clone(),
            waited: unplug_start.elapsed(),
            // No access can begin after the unplug started, so every
            // blocker has been inside at least since then.
            blockers: self.blockers(Some(unplug_start)),
        };
        if let Some(f) = &self.on_stall {
            f(&stall);
        }
        if let Some(m) = &self.monitor {
            m.report(Report::new(
                ReportKind::DrainStall,
                self.id,
                &self.name,
                stall.to_string(),
                None,
            ));
        }
        stall
    }
}
