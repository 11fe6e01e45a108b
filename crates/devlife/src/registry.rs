//! Per-thread access records: the read side of every gate.
//!
//! Each thread that ever enters a gate owns one [`ThreadRecord`]: a small array of
//! slots, each holding the id of a gate the thread is currently inside (0 = free).
//! Only the owning thread writes its slots, with plain (relaxed) stores; the unplug
//! side reads every record after a heavy barrier (see [`crate::barrier`]). Records
//! are allocated once and never freed: when a thread exits its record goes back to
//! the pool and the next new thread reuses it, so memory is bounded by the largest
//! number of threads that ever used gates at the same time.
//!
//! # Invariants
//!
//! * `slots[i]` is written only by the thread that currently owns the record.
//! * `used` mirrors which slots are non-zero; it is written only by the owner.
//! * A record is owned by at most one live thread (`owned` is set under the
//!   registry lock when a thread claims it and cleared when that thread exits).

use crate::sync::{AtomicBool, AtomicU32, AtomicU64, Mutex, Ordering, lock};
use std::time::Instant;

/// Slots per thread: how many gate accesses one thread may hold at once before
/// further accesses fall back to the gate's shared overflow counter.
pub const SLOTS: usize = 16;

/// What a labelled access recorded for the watchdog.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotInfo {
    pub label: &'static str,
    pub since: Instant,
}

/// One thread's access slots.
pub(crate) struct ThreadRecord {
    /// Gate ids, 0 when free.
    pub slots: [AtomicU64; SLOTS],
    /// Bit i set when slot i is in use. Owner-only; relaxed load/store, never RMW.
    pub used: AtomicU32,
    /// Set while a live thread owns this record.
    owned: AtomicBool,
    /// Name of the owning thread (for watchdog reports).
    pub name: Mutex<String>,
    /// Labels and start times of labelled accesses (slow path only).
    pub info: Mutex<[Option<SlotInfo>; SLOTS]>,
}

impl ThreadRecord {
    fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
            used: AtomicU32::new(0),
            owned: AtomicBool::new(false),
            name: Mutex::new(String::new()),
            info: Mutex::new([None; SLOTS]),
        }
    }

    /// Whether any slot currently holds `gate`.
    pub fn holds(&self, gate: u64) -> bool {
        self.slots.iter().any(|s| s.load(Ordering::Relaxed) == gate)
    }
}

pub(crate) struct Registry {
    pub records: Mutex<Vec<&'static ThreadRecord>>,
}

#[cfg(not(loom))]
pub(crate) fn registry() -> &'static Registry {
    static REG: Registry = Registry {
        records: Mutex::new(Vec::new()),
    };
    &REG
}

#[cfg(loom)]
pub(crate) fn registry() -> &'static Registry {
    loom::lazy_static! {
        static ref REG: Registry = Registry { records: Mutex::new(Vec::new()) };
    }
    &REG
}

/// Returns the record of every registered thread (owned or idle).
pub(crate) fn snapshot() -> Vec<&'static ThreadRecord> {
    lock(&registry().records).clone()
}

/// Gives the record back to the pool when its thread exits.
struct Releaser(&'static ThreadRecord);

impl Drop for Releaser {
    fn drop(&mut self) {
        // Forget the record first so that an enter from a later thread-local
        // destructor registers afresh instead of sharing a record that another
        // thread may claim.
        let _ = CURRENT.try_with(|c| c.set(None));
        self.0.owned.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
thread_local! {
    static CURRENT: std::cell::Cell<Option<&'static ThreadRecord>> = const { std::cell::Cell::new(None) };
    static RELEASER: std::cell::RefCell<Option<Releaser>> = const { std::cell::RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: std::cell::Cell<Option<&'static ThreadRecord>> = std::cell::Cell::new(None);
    static RELEASER: std::cell::RefCell<Option<Releaser>> = std::cell::RefCell::new(None);
}

/// The calling thread's record, registering the thread on first use.
#[inline(always)]
pub(crate) fn current() -> &'static ThreadRecord {
    match CURRENT.with(|c| c.get()) {
        Some(r) => r,
        None => register(),
    }
}

/// The calling thread's record if it has one (never registers).
pub(crate) fn current_if_registered() -> Option<&'static ThreadRecord> {
    CURRENT.try_with(|c| c.get()).ok().flatten()
}

#[cold]
#[inline(never)]
fn register() -> &'static ThreadRecord {
    crate::barrier::init();
    let rec = {
        let mut recs = lock(&registry().records);
        let reuse = recs.iter().copied().find(|r| {
            r.owned
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        match reuse {
            Some(r) => r,
            None => {
                let r: &'static ThreadRecord = Box::leak(Box::new(ThreadRecord::new()));
                r.owned.store(true, Ordering::Relaxed);
                recs.push(r);
                r
            }
        }
    };
    let name = std::thread::current()
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:?}", std::thread::current().id()));
    *lock(&rec.name) = name;
    CURRENT.with(|c| c.set(Some(rec)));
    // If the thread is already tearing down its thread-locals the record simply
    // stays owned (leaked to the pool); that costs memory, never correctness.
    let _ = RELEASER.try_with(|r| *r.borrow_mut() = Some(Releaser(rec)));
    rec
}
