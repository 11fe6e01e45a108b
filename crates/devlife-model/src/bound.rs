//! [`BoundOnly`]: driver state that only a bound driver may touch.
//!
//! A framework driver's state outlives its binding: open files, mappings and
//! entities keep it until their last reference. Part of it, however, means
//! something only while the driver is bound: hardware bookkeeping (the
//! programmed DMA address, the engine's mode), IRQ state, anything `remove()`
//! tears down. The driver keeps that part in a `BoundOnly` cell made by
//! [`ProbeCtx::bound_only`](crate::ProbeCtx::bound_only); the cell is tied to
//! the binding, and every access after the binding's `remove()` returned is
//! reported as [`ReportKind::UseAfterRemove`] with the access site, the site
//! that made the cell, and the cell's history (made, removed, accessed),
//! although its memory is still alive.
//!
//! A correct framework driver needs no bookkeeping for it: file operations,
//! its IRQ handler, work and timers run inside gates that are unplugged
//! before `remove()`, so they never reach the cell afterwards. What does reach
//! it after `remove()` — a `release` or `vm_close` that touches hardware
//! state, a thread the driver left running — is the bug the checker names.

use crate::hw::HwSession;
use devlife::Monitor;
use devlife::check::{EventKind, Report, ReportKind};
use std::panic::Location;
use std::sync::Arc;

struct Inner<T> {
    value: T,
    id: u64,
    name: String,
    monitor: Monitor,
    made_at: &'static Location<'static>,
    session: Arc<HwSession>,
}

/// A bound-only cell (module docs). Cloning takes another handle to the same
/// value.
///
/// # Invariants
///
/// The value lives as long as any handle; the cell counts as removed from the
/// moment its binding's `remove()` returned, for good (a rebind makes new
/// cells).
pub struct BoundOnly<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for BoundOnly<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for BoundOnly<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundOnly")
            .field("name", &self.inner.name)
            .field("removed", &self.is_removed())
            .finish()
    }
}

impl<T> BoundOnly<T> {
    #[track_caller]
    pub(crate) fn new(monitor: &Monitor, session: Arc<HwSession>, name: &str, value: T) -> Self {
        let id = monitor.next_id();
        let made_at = Location::caller();
        monitor
            .journal()
            .record_at(id, name, EventKind::Alloc, None, made_at);
        Self {
            inner: Arc::new(Inner {
                value,
                id,
                name: name.to_owned(),
                monitor: monitor.clone(),
                made_at,
                session,
            }),
        }
    }

    /// The cell's id in the journal.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The cell's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether the binding's `remove()` returned.
    pub fn is_removed(&self) -> bool {
        self.inner.session.is_closed()
    }

    /// The value. After the binding's `remove()` returned the access is
    /// reported (use after remove) and the value is still returned: the
    /// memory is alive, only its meaning is gone.
    #[track_caller]
    #[inline]
    pub fn get(&self) -> &T {
        if self.is_removed() {
            self.report(Location::caller());
        }
        &self.inner.value
    }

    #[cold]
    fn report(&self, site: &'static Location<'static>) {
        let i = &self.inner;
        i.monitor.journal().record_at(
            i.id,
            &i.name,
            EventKind::Access,
            Some("bound-only access".to_owned()),
            site,
        );
        let mut r = Report::new(
            ReportKind::UseAfterRemove,
            i.id,
            &i.name,
            format!(
                "access to bound-only `{}` after `{}`'s remove() returned (thread `{}`)",
                i.name,
                i.session.owner(),
                crate::activity::thread_name()
            ),
            Some(site),
        );
        r.related.push(("made at", i.made_at));
        i.monitor.report(r);
    }
}
