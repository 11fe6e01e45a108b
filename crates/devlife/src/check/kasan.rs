//! [`Shadow`]: an instrumented allocation with KASAN-style use-after-free reports.
//!
//! Safe Rust cannot touch freed memory, so the bug class is modelled: a shadow
//! allocation keeps its value (like KASAN's quarantine) but knows when it was
//! "freed" and reports every access after that point, naming the access site,
//! the allocation and free sites and the object's journal history.
//!
//! * Framework style: the value is freed when the last [`Shadow`] handle drops
//!   (release on the last reference), so no access after the free is possible.
//! * Legacy style: the driver calls [`Shadow::free`] at unbind (`devm_kzalloc`
//!   memory freed by the driver core) while other handles (open files, IRQ
//!   handlers) still reach it; their accesses are reported.

use super::Monitor;
use super::journal::EventKind;
use super::ledger::LiveToken;
use super::report::{Report, ReportKind};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

struct Inner<T> {
    value: T,
    id: u64,
    name: String,
    monitor: Monitor,
    alloc_site: &'static Location<'static>,
    freed: AtomicBool,
    free_site: Mutex<Option<&'static Location<'static>>>,
    _live: LiveToken,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        if !self.freed.load(Ordering::Acquire) {
            self.monitor
                .journal()
                .record_named(self.id, &self.name, EventKind::Release, None);
        }
    }
}

/// An instrumented, reference-counted allocation. Cloning takes a reference.
pub struct Shadow<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Shadow<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Shadow<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shadow")
            .field("name", &self.inner.name)
            .field("freed", &self.is_freed())
            .finish()
    }
}

/// A checked reference to a shadow allocation's value.
pub type ShadowRef<'a, T> = &'a T;

impl<T> Shadow<T> {
    /// Allocates `value` under `name` (accounted as live type `type_name`).
    #[track_caller]
    pub fn new(
        monitor: &Monitor,
        type_name: &'static str,
        name: impl Into<String>,
        value: T,
    ) -> Self {
        let id = monitor.next_id();
        let name = name.into();
        let site = Location::caller();
        monitor
            .journal()
            .record_at(id, &name, EventKind::Alloc, None, site);
        Self {
            inner: Arc::new(Inner {
                value,
                id,
                name,
                monitor: monitor.clone(),
                alloc_site: site,
                freed: AtomicBool::new(false),
                free_site: Mutex::new(None),
                _live: monitor.live(type_name),
            }),
        }
    }

    /// The object's id in the journal.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Accesses the value; reports a use-after-free if it was freed.
    #[track_caller]
    #[inline]
    pub fn get(&self) -> ShadowRef<'_, T> {
        if self.inner.freed.load(Ordering::Acquire) {
            self.report_uaf(Location::caller(), "read/write");
        }
        &self.inner.value
    }

    /// Checks the allocation without using it (an explicit probe, e.g. from an
    /// IRQ handler about to dereference its `dev_id`). Returns `false` and
    /// reports if it was freed.
    #[track_caller]
    pub fn check(&self, what: &str) -> bool {
        if self.inner.freed.load(Ordering::Acquire) {
            self.report_uaf(Location::caller(), what);
            false
        } else {
            true
        }
    }

    /// Frees the allocation now (legacy, devm style). Handles keep the value
    /// reachable but every later access is reported; a second free is a
    /// double-free report.
    #[track_caller]
    pub fn free(&self) {
        let site = Location::caller();
        let mut fs = self
            .inner
            .free_site
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.inner.freed.swap(true, Ordering::AcqRel) {
            drop(fs);
            let mut r = Report::new(
                ReportKind::DoubleFree,
                self.inner.id,
                &self.inner.name,
                format!("double free of `{}`", self.inner.name),
                Some(site),
            );
            r.related.push(("allocated", self.inner.alloc_site));
            if let Some(f) = *self
                .inner
                .free_site
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
            {
                r.related.push(("first freed", f));
            }
            self.inner.monitor.report(r);
            return;
        }
        *fs = Some(site);
        self.inner.monitor.journal().record_at(
            self.inner.id,
            &self.inner.name,
            EventKind::Free,
            None,
            site,
        );
    }

    /// Whether [`free`](Self::free) was called.
    pub fn is_freed(&self) -> bool {
        self.inner.freed.load(Ordering::Acquire)
    }

    /// Number of handles to the allocation.
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    #[cold]
    fn report_uaf(&self, site: &'static Location<'static>, what: &str) {
        let m = &self.inner.monitor;
        m.journal().record_at(
            self.inner.id,
            &self.inner.name,
            EventKind::Access,
            Some(what.to_owned()),
            site,
        );
        let mut r = Report::new(
            ReportKind::UseAfterFree,
            self.inner.id,
            &self.inner.name,
            format!(
                "{what} of `{}` after it was freed (thread `{}`)",
                self.inner.name,
                std::thread::current().name().unwrap_or("?")
            ),
            Some(site),
        );
        r.related.push(("allocated", self.inner.alloc_site));
        if let Some(f) = *self
            .inner
            .free_site
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            r.related.push(("freed", f));
        }
        m.report(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_release_is_silent() {
        let m = Monitor::new();
        let s = Shadow::new(&m, "State", "state0", 5u32);
        let s2 = s.clone();
        assert_eq!(*s.get(), 5);
        drop(s);
        assert_eq!(*s2.get(), 5);
        drop(s2);
        assert!(m.reports().is_empty());
        assert_eq!(m.ledger().live("State"), 0);
        assert_eq!(
            m.journal().events().last().unwrap().kind,
            EventKind::Release
        );
    }

    #[test]
    fn legacy_free_then_access_fires_with_sites_and_history() {
        let m = Monitor::new();
        let s = Shadow::new(&m, "State", "vimc_sensor", 5u32);
        let file_ref = s.clone();
        s.free(); // devm: freed at unbind
        let _ = file_ref.get(); // the open file still uses it
        let reps = m.reports().all();
        assert_eq!(reps.len(), 1);
        let r = &reps[0];
        assert_eq!(r.kind, ReportKind::UseAfterFree);
        assert!(r.site.unwrap().file().ends_with("kasan.rs"));
        assert_eq!(r.related.len(), 2);
        let kinds: Vec<_> = r.history.iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Alloc, EventKind::Free, EventKind::Access]
        );
        let text = r.to_string();
        assert!(text.contains("use-after-free in vimc_sensor"), "{text}");
        s.free();
        assert_eq!(m.reports().count(ReportKind::DoubleFree), 1);
    }
}
