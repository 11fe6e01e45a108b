//! Per-thread access records: the read side of every gate.
//!
//! Each thread that ever enters a gate owns one [`ThreadRecord`]: a small array of
//! slots, each holding the id of a gate the thread is currently inside (0 = free).
//! Only the owning thread writes its slots, with plain (release) stores; the unplug
//! side reads every record after a heavy barrier (see [`crate::barrier`]). Records
//! are allocated once and never freed: when a thread exits its record goes back to
//! the pool and the next new thread reuses it, so memory is bounded by the largest
//! number of threads that ever used gates at the same time.
//!
//! # Record reuse at thread exit
//!
//! The record is handed back by the destructor of a thread-local ([`Releaser`]).
//! Other thread-local destructors of the same thread may run after it and may
//! still hold, or create, accesses. Two rules keep a record single-owner:
//!
//! * a record with a live access (a non-zero slot or an overflow entry) is never
//!   handed back: the exiting thread keeps it for good (a leaked `Access` would
//!   keep its gate from draining anyway);
//! * an access created after the hand-back registers a fresh record, which stays
//!   owned forever because the thread can no longer arrange its release.
//!
//! Handing back is a release store of `owned`; claiming is an acquire CAS, so the
//! new owner sees the final slot values of the previous one.
//!
//! # Invariants
//!
//! * `slots[i]` is written only by the thread that currently owns the record.
//! * `overflow_held` lists the gates this thread entered through their overflow
//!   counters; it is written only by the owner (under its mutex).
//! * A record is owned by at most one live thread (`owned` is set under the
//!   registry lock when a thread claims it and cleared when that thread exits
//!   with no access held).

use crate::sync::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering, full_fence, lock,
};

/// Slots per thread: how many gate accesses one thread may hold at once before
/// further accesses fall back to the gate's shared overflow counter.
///
/// (Under `cfg(loom)` the model uses 2 slots, so that the model checks reach the
/// overflow path with little nesting and the scans stay short.)
#[cfg(not(loom))]
pub const SLOTS: usize = 16;
/// Slots per thread (reduced for the loom model checks).
#[cfg(loom)]
pub const SLOTS: usize = 2;

/// A watchdog label packed into one word, so that the owner publishes it with
/// a single store and a scanner on another thread can never read half of one
/// label and half of another: the address of the `'static` text in the high 48
/// bits, its length in the low 16. 0 means "no label".
///
/// A label whose address or length does not fit (no such address exists in
/// user space on x86-64 or AArch64 Linux) is replaced by [`UNFIT_LABEL`].
#[inline]
pub(crate) fn pack_label(label: &'static str) -> u64 {
    let fits = |l: &'static str| {
        let addr = l.as_ptr().expose_provenance() as u64;
        (addr >> 48 == 0 && l.len() <= 0xffff && !l.is_empty())
            .then_some(addr << 16 | l.len() as u64)
    };
    fits(label).unwrap_or_else(|| fits(UNFIT_LABEL).expect("a short static label fits"))
}

/// The label recorded in place of one that cannot be packed.
const UNFIT_LABEL: &str = "<unrepresentable label>";

/// The label packed by [`pack_label`], or `None` for 0.
pub(crate) fn unpack_label(word: u64) -> Option<&'static str> {
    if word == 0 {
        return None;
    }
    let ptr = std::ptr::with_exposed_provenance::<u8>((word >> 16) as usize);
    let len = (word & 0xffff) as usize;
    // SAFETY: every non-zero word stored in a label cell comes from
    // `pack_label` of a `&'static str` (an exposed address and the length of
    // valid UTF-8 that lives forever and is never written), so rebuilding
    // that slice yields the same `&'static str`.
    Some(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) })
}

/// One thread's access slots.
///
/// Aligned to 256 bytes: a record pointer then has 8 low zero bits, which an
/// [`Access`](crate::Access) uses for its slot index and flags, and the hot
/// `slots` words of two threads never share a cache line (nor the pair the
/// adjacent-line prefetcher pulls).
#[repr(C, align(256))]
pub(crate) struct ThreadRecord {
    /// Gate ids, 0 when free.
    pub slots: [AtomicU64; SLOTS],
    /// Readers of this process use a full fence as their light barrier (no
    /// `membarrier`); a copy of [`crate::barrier::readers_need_fence`]. Such a
    /// thread never takes the gate's fast path (see [`fast`]).
    pub fence: bool,
    /// Set while a live thread owns this record.
    owned: AtomicBool,
    /// The record pushed before this one (registry list; immutable).
    next: Option<&'static ThreadRecord>,
    /// Gates entered through their overflow counter (slow path only).
    pub overflow_held: Mutex<Vec<u64>>,
    /// Name of the owning thread (for watchdog reports).
    pub name: Mutex<String>,
    /// Watchdog labels of the accesses in `slots` ([`pack_label`]; 0 = none).
    /// Written only by the owner, with release stores, read by scans.
    pub labels: [AtomicU64; SLOTS],
}

impl ThreadRecord {
    /// A record owned by the caller, to be pushed in front of `next`.
    fn new(next: Option<&'static ThreadRecord>) -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
            fence: crate::barrier::readers_need_fence(),
            owned: AtomicBool::new(true),
            next,
            overflow_held: Mutex::new(Vec::new()),
            name: Mutex::new(String::new()),
            labels: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The record `FAST` holds while its thread may not take the gate's fast
    /// path (not registered yet, full-fence mode, or its record was handed
    /// back). It belongs to no thread and is in no registry list; its slot 0
    /// holds [`NOT_FAST_SLOT`] and is never written, so the fast path's one
    /// test, "slot 0 is free", sends such a thread to the general path with no
    /// separate "has a record" test.
    #[cfg(not(loom))]
    const fn not_fast() -> Self {
        let mut slots = [const { AtomicU64::new(0) }; SLOTS];
        slots[0] = AtomicU64::new(NOT_FAST_SLOT);
        Self {
            slots,
            fence: true,
            owned: AtomicBool::new(false),
            next: None,
            overflow_held: Mutex::new(Vec::new()),
            name: Mutex::new(String::new()),
            labels: [const { AtomicU64::new(0) }; SLOTS],
        }
    }

    /// [`ThreadRecord::not_fast`] for the loom model (loom's atomics have no
    /// `const` constructor).
    #[cfg(loom)]
    fn not_fast() -> Self {
        Self {
            slots: std::array::from_fn(|i| AtomicU64::new(if i == 0 { NOT_FAST_SLOT } else { 0 })),
            fence: true,
            owned: AtomicBool::new(false),
            next: None,
            overflow_held: Mutex::new(Vec::new()),
            name: Mutex::new(String::new()),
            labels: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Whether the owner currently holds an access to `gate` (owner-only query).
    pub fn holds(&self, gate: u64) -> bool {
        self.slots.iter().any(|s| s.load(Ordering::Relaxed) == gate)
            || lock(&self.overflow_held).contains(&gate)
    }

    /// Whether the owner holds any access at all (owner-only query).
    fn holds_any(&self) -> bool {
        self.slots.iter().any(|s| s.load(Ordering::Relaxed) != 0)
            || !lock(&self.overflow_held).is_empty()
    }
}

/// What slot 0 of the [`ThreadRecord::not_fast`] record holds: not 0 (so the
/// slot never looks free) and no gate's id (ids count up from 1).
const NOT_FAST_SLOT: u64 = u64::MAX;

/// The record no thread owns (see [`ThreadRecord::not_fast`]).
#[cfg(not(loom))]
static NOT_FAST: ThreadRecord = ThreadRecord::not_fast();

/// The record no thread owns (see [`ThreadRecord::not_fast`]).
#[cfg(not(loom))]
fn not_fast() -> &'static ThreadRecord {
    &NOT_FAST
}

/// The record no thread owns (see [`ThreadRecord::not_fast`]); one per model
/// execution, leaked like the real records.
#[cfg(loom)]
fn not_fast() -> &'static ThreadRecord {
    loom::lazy_static! {
        static ref NOT_FAST: &'static ThreadRecord = Box::leak(Box::new(ThreadRecord::not_fast()));
    }
    *NOT_FAST
}

/// Every record ever created, in an append-only singly linked list: scans
/// (drains, exits during an unplug, watchdog reports) walk it without a lock.
///
/// # Invariants
///
/// * `head` is null or points to a leaked (never freed) record, whose `next`
///   was set before the record was published and never changes.
/// * Records are pushed only under `lock`.
/// * `owners` is at least the number of records with `owned` set: it is
///   incremented before a claimed record is handed to its thread and
///   decremented only after a record is handed back.
pub(crate) struct Registry {
    /// Serialises registration (claiming a free record or pushing a new one).
    lock: Mutex<()>,
    head: AtomicPtr<ThreadRecord>,
    /// Records owned by live threads (see [`only_caller_registered`]). Not
    /// freed with the registry (leaked under loom, whose statics are dropped
    /// before the model threads' thread-locals), so a record's [`Releaser`]
    /// can always reach it.
    owners: &'static AtomicUsize,
}

#[cfg(not(loom))]
pub(crate) fn registry() -> &'static Registry {
    static OWNERS: AtomicUsize = AtomicUsize::new(0);
    static REG: Registry = Registry {
        lock: Mutex::new(()),
        head: AtomicPtr::new(std::ptr::null_mut()),
        owners: &OWNERS,
    };
    &REG
}

#[cfg(loom)]
pub(crate) fn registry() -> &'static Registry {
    loom::lazy_static! {
        static ref REG: Registry = Registry {
            lock: Mutex::new(()),
            head: AtomicPtr::new(std::ptr::null_mut()),
            owners: Box::leak(Box::new(AtomicUsize::new(0))),
        };
    }
    &REG
}

/// Calls `f` on the record of every registered thread (owned or idle),
/// without taking a lock. A record pushed during the walk may be missed; the
/// gate's ordering argument covers that case (see `gate.rs`).
pub(crate) fn for_each(mut f: impl FnMut(&'static ThreadRecord)) {
    let head = registry().head.load(Ordering::Acquire);
    // SAFETY: by the `Registry` invariant, `head` is null or a leaked record,
    // published with a release store that this acquire load pairs with.
    let mut next: Option<&'static ThreadRecord> = unsafe { head.as_ref() };
    while let Some(r) = next {
        f(r);
        next = r.next;
    }
}

/// Returns the record of every registered thread (owned or idle).
pub(crate) fn snapshot() -> Vec<&'static ThreadRecord> {
    let mut v = Vec::new();
    for_each(|r| v.push(r));
    v
}

/// Gives the record back to the pool when its thread exits, and takes it out
/// of the registry's count of owned records.
struct Releaser(&'static ThreadRecord, &'static AtomicUsize);

impl Drop for Releaser {
    fn drop(&mut self) {
        if self.0.holds_any() {
            // A later thread-local destructor still holds an access: the record
            // must keep a single owner, so this thread keeps it for good.
            return;
        }
        // Forget the record first so that an enter from a later thread-local
        // destructor registers afresh instead of sharing a record that another
        // thread may claim.
        let _ = CURRENT.try_with(|c| c.set(None));
        let _ = FAST.try_with(|c| c.set(not_fast()));
        // A swap, not a store: `owned` is claimed with a CAS, and every write
        // being an RMW keeps loom's model exact (tokio-rs/loom#254).
        self.0.owned.swap(false, Ordering::Release);
        // INVARIANT: the record is handed back, so it may leave the count.
        self.1.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(not(loom))]
thread_local! {
    static CURRENT: std::cell::Cell<Option<&'static ThreadRecord>> = const { std::cell::Cell::new(None) };
    static FAST: std::cell::Cell<&'static ThreadRecord> = const { std::cell::Cell::new(&NOT_FAST) };
    static RELEASER: std::cell::RefCell<Option<Releaser>> = const { std::cell::RefCell::new(None) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: std::cell::Cell<Option<&'static ThreadRecord>> = std::cell::Cell::new(None);
    static FAST: std::cell::Cell<&'static ThreadRecord> = std::cell::Cell::new(not_fast());
    static RELEASER: std::cell::RefCell<Option<Releaser>> = std::cell::RefCell::new(None);
}

/// The calling thread's record, registering the thread on first use.
#[inline(always)]
pub(crate) fn current() -> &'static ThreadRecord {
    // `CURRENT` has a const initialiser and no destructor, so `try_with` only
    // fails under loom after the model thread's locals were torn down.
    match CURRENT.try_with(|c| c.get()) {
        Ok(Some(r)) => r,
        _ => register(),
    }
}

/// The calling thread's record if it may take the gate's fast path: it is
/// registered and the process uses `membarrier` (a compiler fence is then the
/// whole light barrier). Otherwise the [`ThreadRecord::not_fast`] record,
/// whose slot 0 is never free, so the fast path's slot test sends the caller
/// to the general path, which registers the thread and honours
/// [`ThreadRecord::fence`]: the fast path never loads and tests the barrier
/// mode, nor whether the thread has a record.
#[inline(always)]
pub(crate) fn fast() -> &'static ThreadRecord {
    // `FAST` has a const initialiser and no destructor: `try_with` fails only
    // under loom, after the model thread's locals were torn down.
    FAST.try_with(|c| c.get()).unwrap_or_else(|_| not_fast())
}

/// The calling thread's record if it has one (never registers).
pub(crate) fn current_if_registered() -> Option<&'static ThreadRecord> {
    CURRENT.try_with(|c| c.get()).ok().flatten()
}

/// Whether the calling thread is the only one that owns a record, so that no
/// other thread can be inside a gate or about to enter one. The unplug side
/// then needs no heavy barrier: called after the `SeqCst` RMW that sets a
/// gate's `DRAINING` bit, its fence and load pair with the increment and fence
/// of [`register`], and the SeqCst-fence rule gives one of two outcomes for a
/// thread registering concurrently: this load sees its increment (the answer
/// is `false` and the caller issues the heavy barrier), or that thread's
/// state load, which follows its fence, sees `DRAINING` and it backs out. A
/// thread that already owns a record is counted, so the answer is `false`.
/// The memory-ordering argument of the gate is in `gate/read_side.rs`.
pub(crate) fn only_caller_registered() -> bool {
    full_fence();
    let owners = registry().owners.load(Ordering::SeqCst);
    owners <= usize::from(current_if_registered().is_some())
}

#[cold]
#[inline(never)]
fn register() -> &'static ThreadRecord {
    let rec = {
        let reg = registry();
        let _serialised = lock(&reg.lock);
        let mut reuse = None;
        for_each(|r| {
            if reuse.is_none()
                && r.owned
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                reuse = Some(r);
            }
        });
        match reuse {
            Some(r) => r,
            None => {
                // SAFETY: as in `for_each`; pushes are serialised by the lock,
                // so `head` does not change until the store below.
                let next = unsafe { reg.head.load(Ordering::Acquire).as_ref() };
                let r: &'static ThreadRecord = Box::leak(Box::new(ThreadRecord::new(next)));
                // Publishes the record (and its `next`) to lock-free walkers.
                reg.head
                    .store(std::ptr::from_ref(r).cast_mut(), Ordering::Release);
                r
            }
        }
    };
    // INVARIANT: counted before the thread can store into a slot. The SeqCst
    // RMW and fence pair with `only_caller_registered` (see there).
    registry().owners.fetch_add(1, Ordering::SeqCst);
    full_fence();
    let name = std::thread::current()
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:?}", std::thread::current().id()));
    *lock(&rec.name) = name;
    let _ = CURRENT.try_with(|c| c.set(Some(rec)));
    if !rec.fence {
        let _ = FAST.try_with(|c| c.set(rec));
    }
    // If the thread is already tearing down its thread-locals the record simply
    // stays owned (leaked to the pool); that costs memory, never correctness.
    let _ = RELEASER.try_with(|r| *r.borrow_mut() = Some(Releaser(rec, registry().owners)));
    rec
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{Access, Gate};
    use std::cell::RefCell;

    thread_local! {
        static HOLD: RefCell<Option<Access<'static>>> = const { RefCell::new(None) };
    }

    /// `HOLD` is initialised before the thread registers, so its destructor runs
    /// after the record's releaser: the record must not be handed back while the
    /// access it holds is still live (a new owner would share its slots).
    #[test]
    fn record_with_an_access_held_by_a_later_tls_destructor_is_kept() {
        static GATE: std::sync::OnceLock<Gate> = std::sync::OnceLock::new();
        let gate: &'static Gate = GATE.get_or_init(|| Gate::named("tls"));
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            HOLD.with(|h| {
                let a = gate.enter().unwrap();
                tx.send((current() as *const ThreadRecord).addr()).unwrap();
                *h.borrow_mut() = Some(a);
            });
        });
        let addr = rx.recv().unwrap();
        t.join().unwrap();
        // HOLD's destructor ran (after the releaser) and exited the gate.
        assert_eq!(gate.in_flight(), 0);
        let rec = snapshot()
            .into_iter()
            .find(|r| (*r as *const ThreadRecord).addr() == addr)
            .unwrap();
        assert!(rec.owned.load(Ordering::Acquire));
        assert!(rec.slots.iter().all(|s| s.load(Ordering::Relaxed) == 0));
        gate.unplug().unwrap();
    }

    /// A thread that exits with no access hands its record back: its `owned`
    /// flag is cleared. The registry lock is held from before the thread exits
    /// until the check, so no other thread can claim the record in between.
    #[test]
    fn record_is_handed_back_at_a_clean_exit() {
        let gate = Gate::named("clean");
        let g2 = gate.clone();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            drop(g2.enter().unwrap());
            addr_tx
                .send((current() as *const ThreadRecord).addr())
                .unwrap();
            go_rx.recv().unwrap();
        });
        let addr = addr_rx.recv().unwrap();
        let rec = snapshot()
            .into_iter()
            .find(|r| (*r as *const ThreadRecord).addr() == addr)
            .unwrap();
        assert!(
            rec.owned.load(Ordering::Acquire),
            "owned while its thread lives"
        );
        let no_claims = lock(&registry().lock);
        go_tx.send(()).unwrap();
        t.join().unwrap();
        assert!(
            !rec.owned.load(Ordering::Acquire),
            "the record was not handed back at a clean exit"
        );
        assert!(!rec.holds(gate.id()));
        drop(no_claims);
    }
}
