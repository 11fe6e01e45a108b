//! Modules: a reference count that open files hold (`try_module_get` at
//! open), and unloading that is refused with `EBUSY` while it is not zero.
//!
//! # Protocol
//!
//! The count and the "going" flag share one atomic word. `try_get` adds one
//! only while the flag is clear (compare-and-swap loop); unload moves the word
//! from exactly `0` to `GOING`. So either an open got its reference first and
//! the unload fails with `EBUSY`, or the unload won and the open fails: there
//! is no window in which a file of an unloading module can be opened.

use crate::errno::{Errno, KResult};
use devlife::Monitor;
use devlife::check::LiveToken;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const GOING: u64 = 1 << 63;

pub(crate) struct ModuleInner {
    name: String,
    id: u64,
    refs: AtomicU64,
    monitor: Monitor,
    _live: LiveToken,
}

/// A loaded module (`struct module`). Cloning gives another handle.
///
/// # Invariants
///
/// Once going, the module never hands out a new reference.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.name)
            .field("refs", &self.refcount())
            .field("going", &self.is_going())
            .finish()
    }
}

impl Module {
    pub(crate) fn new(monitor: &Monitor, name: &str) -> Self {
        let id = monitor.next_id();
        monitor.journal().note(id, name, "module loaded");
        Self {
            inner: Arc::new(ModuleInner {
                name: name.to_owned(),
                id,
                refs: AtomicU64::new(0),
                monitor: monitor.clone(),
                _live: monitor.live("module"),
            }),
        }
    }

    /// The module name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// References held right now (open files, other users).
    pub fn refcount(&self) -> u64 {
        self.inner.refs.load(Ordering::Acquire) & !GOING
    }

    /// Whether an unload started.
    pub fn is_going(&self) -> bool {
        self.inner.refs.load(Ordering::Acquire) & GOING != 0
    }

    /// `try_module_get`: a reference, unless the module is being unloaded.
    pub fn try_get(&self) -> Option<ModuleRef> {
        let mut cur = self.inner.refs.load(Ordering::Acquire);
        loop {
            if cur & GOING != 0 {
                return None;
            }
            match self.inner.refs.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(ModuleRef {
                        module: self.clone(),
                    });
                }
                Err(c) => cur = c,
            }
        }
    }

    /// Marks the module going if nobody holds a reference (`EBUSY` otherwise).
    pub(crate) fn begin_unload(&self) -> KResult<()> {
        self.inner
            .refs
            .compare_exchange(0, GOING, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| {
                self.inner
                    .monitor
                    .journal()
                    .note(self.inner.id, &self.inner.name, "module going");
            })
            .map_err(|_| Errno::EBUSY)
    }

    /// Whether two handles name the same module.
    pub fn ptr_eq(a: &Module, b: &Module) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

/// A counted reference to a module (`module_put` on drop).
pub struct ModuleRef {
    module: Module,
}

impl std::fmt::Debug for ModuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleRef({})", self.module.name())
    }
}

impl ModuleRef {
    /// The module this reference holds.
    pub fn module(&self) -> &Module {
        &self.module
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        self.module.inner.refs.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unload_refused_while_referenced_and_get_refused_while_going() {
        let m = Monitor::new();
        let md = Module::new(&m, "misc_test");
        let r = md.try_get().unwrap();
        assert_eq!(md.refcount(), 1);
        assert_eq!(md.begin_unload(), Err(Errno::EBUSY));
        drop(r);
        md.begin_unload().unwrap();
        assert!(md.is_going());
        assert!(md.try_get().is_none());
        assert_eq!(md.refcount(), 0);
    }

    #[test]
    fn racing_get_and_unload_never_both_win() {
        for _ in 0..200 {
            let m = Monitor::new();
            let md = Module::new(&m, "race");
            let md2 = md.clone();
            let t = std::thread::spawn(move || md2.try_get());
            let unloaded = md.begin_unload().is_ok();
            let got = t.join().unwrap();
            // The reference is still held here, so exactly one side won.
            assert!(unloaded ^ got.is_some());
        }
    }
}
