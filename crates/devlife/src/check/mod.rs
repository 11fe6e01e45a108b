//! Checker foundations shared by every layer.
//!
//! * [`Journal`]: an ordered log of lifetime events (enter, exit, unplug begin/end,
//!   wake, release, free, access, ...), searchable per object;
//! * [`Shadow`]: an instrumented allocation that knows when it was "freed" and
//!   reports every access after that, KASAN-style, with the access site, the
//!   allocation and free sites and the object's event history;
//! * [`Ledger`]: live-object accounting per type (created, released, live);
//! * [`Lockdep`]: the lock-order checker (a cycle among lock classes is
//!   reported with both acquisition sites, before it can deadlock);
//! * [`Reports`]: the reports collected by all checkers, deduplicated.
//!
//! A [`Monitor`] bundles them; one monitor usually covers one model
//! instance (one test, one stress run), so parallel tests do not mix.

mod journal;
mod kasan;
mod ledger;
mod lockdep;
mod report;

pub use journal::{Event, EventKind, Journal};
pub use kasan::{Shadow, ShadowRef};
pub use ledger::{Ledger, LiveCount, LiveToken};
pub use lockdep::{CheckedMutex, CheckedMutexGuard, Held, Lockdep, lock_class};
pub use report::{Report, ReportKind, Reports, UnknownReportKind};

use std::sync::Arc;

/// The checkers of one model instance. Cheap to clone (shared handles).
#[derive(Clone, Default)]
pub struct Monitor {
    inner: Arc<MonitorInner>,
}

#[derive(Default)]
struct MonitorInner {
    journal: Journal,
    ledger: Ledger,
    reports: Reports,
    lockdep: Lockdep,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("events", &self.inner.journal.len())
            .field("reports", &self.inner.reports.len())
            .finish()
    }
}

impl Monitor {
    /// A fresh monitor with an empty journal, ledger and report list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lifetime journal.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The ledger: objects created and released per type, for leak checks
    /// and release counts ([`Ledger::released`]).
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// Every checker report raised so far.
    pub fn reports(&self) -> &Reports {
        &self.inner.reports
    }

    /// Records a report, attaching the object's journal history. A report of
    /// a kind and site already kept is only counted (see [`Reports`]); the
    /// journal still records it.
    pub fn report(&self, mut r: Report) {
        let repeat = self.inner.reports.bump(&r.key());
        if !repeat
            && r.history.is_empty()
            && let Some(obj) = r.object
        {
            r.history = self.inner.journal.history(obj);
        }
        self.inner.journal.record_named(
            r.object.unwrap_or(0),
            &r.object_name,
            EventKind::Report(r.kind),
            None,
        );
        if !repeat {
            self.inner.reports.push(r);
        }
    }

    /// The lock-order checker of this instance.
    pub fn lockdep(&self) -> &Lockdep {
        &self.inner.lockdep
    }

    /// The leak checker: records one [`ReportKind::Leak`] report for every type
    /// that still has live objects, and returns how many reports it added.
    ///
    /// Call it when every handle should be gone (after the last close of a
    /// test, after a plug/unplug cycle): any live object is a leak.
    ///
    /// ```
    /// use devlife::{Monitor, check::ReportKind};
    /// let m = Monitor::new();
    /// let token = m.live("vimc_device");
    /// assert_eq!(m.check_leaks(), 1);
    /// assert_eq!(m.reports().count(ReportKind::Leak), 1);
    /// drop(token);
    /// assert_eq!(m.check_leaks(), 0);
    /// ```
    #[track_caller]
    pub fn check_leaks(&self) -> usize {
        let site = std::panic::Location::caller();
        let leaks = self.inner.ledger.leaks();
        for c in &leaks {
            self.report(Report::new(
                ReportKind::Leak,
                0,
                c.type_name,
                format!(
                    "{} object(s) of type `{}` still alive ({} created, {} released)",
                    c.live(),
                    c.type_name,
                    c.created,
                    c.released
                ),
                Some(site),
            ));
        }
        leaks.len()
    }

    /// Accounts one live object of `type_name` until the token is dropped.
    pub fn live(&self, type_name: &'static str) -> LiveToken {
        self.inner.ledger.token(type_name)
    }

    /// Allocates an object id (ids are process-unique).
    pub fn next_id(&self) -> u64 {
        next_object_id()
    }
}

/// A process-unique object id (shared with gate ids' number space: never 0).
pub fn next_object_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deliberately wrong code: an object whose handle is forgotten (a reference
    /// cycle, a missing `put`) is still alive when everything should be released.
    #[test]
    fn leak_checker_fires_on_a_forgotten_object() {
        let m = Monitor::new();
        let kept = m.live("media_entity");
        let forgotten = m.live("media_device");
        let released = m.live("video_device");
        drop(released);
        drop(kept);
        // `forgotten` is still alive: its `put` was never called.
        assert_eq!(m.check_leaks(), 1);
        let reps = m.reports().all();
        assert_eq!(reps.len(), 1);
        assert_eq!(reps[0].kind, ReportKind::Leak);
        assert_eq!(reps[0].object_name, "media_device");
        assert!(reps[0].message.contains("1 object(s)"), "{}", reps[0]);
        assert!(reps[0].site.unwrap().file().ends_with("mod.rs"));
        assert!(
            reps[0]
                .to_string()
                .contains("BUG: devlife: leak in media_device")
        );
        drop(forgotten);
        assert_eq!(m.check_leaks(), 0);
    }

    #[test]
    fn leak_checker_is_silent_when_everything_was_released() {
        let m = Monitor::new();
        let a = m.live("a");
        let b = m.live("b");
        drop((a, b));
        assert_eq!(m.check_leaks(), 0);
        assert!(m.reports().is_empty());
    }
}
