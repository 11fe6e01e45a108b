//! The asymmetric barrier pair used by the gate.
//!
//! Readers (gate `enter`/`exit`) issue a *light* barrier; the unplug side issues a
//! *heavy* barrier. The pair must behave like a full fence on both sides: for a
//! reader that executes `store(slot); light(); load(flag)` and an unplugger that
//! executes `store(flag); heavy(); load(slot)`, at least one of the two loads
//! observes the other side's store (the store-buffering litmus test is forbidden).
//!
//! * With `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (Linux ≥ 4.14), the light
//!   barrier is a compiler fence only, and the heavy barrier makes the kernel run a
//!   full memory barrier on every CPU currently running a thread of this process
//!   (threads that are not running pass through the scheduler, which is a full
//!   barrier). This is how liburcu's "memb" flavour and the kernel's SRCU-fast
//!   readers avoid fences on the read side.
//! * Without it (other OSes, Miri, loom, a kernel that refuses the registration),
//!   both sides use `fence(SeqCst)`, which is correct everywhere.
//!
//! # Both sides agree on the mode by construction
//!
//! A compiler-fence reader is only correct against a `membarrier` unplugger, so
//! readers and unpluggers must never use different modes. The mode lives in one
//! write-once cell ([`ModeCell`]): the first *query*, from whichever side, makes
//! the decision (registration included) under the cell's lock and publishes it
//! with a release store; every later query, from either side, reads that value
//! with an acquire load. There is no "not yet decided" answer that a side could
//! act on, so a first unplug racing a first enter cannot pick the fence while the
//! reader relies on `membarrier`. A successful registration happens-before every
//! query that answers "membarrier", so the heavy side's `membarrier` call never
//! runs unregistered.
//!
//! In practice the decision is taken when the first gate is built
//! ([`init`], called by `GateBuilder::build`), so neither side pays for it later.

use crate::sync::{AtomicU8, Mutex, Ordering, lock};
use std::sync::atomic::compiler_fence;

const UNDECIDED: u8 = 0;
const FENCE: u8 = 1;
const MEMBARRIER: u8 = 2;

/// A write-once choice of barrier mode (see the module docs).
///
/// # Invariants
///
/// * `mode` moves from `UNDECIDED` to `FENCE` or `MEMBARRIER` once, under
///   `decide`, and never changes again.
/// * `mode == MEMBARRIER` only after the process registered for private
///   expedited `membarrier` (the probe returned true).
pub(crate) struct ModeCell {
    mode: AtomicU8,
    decide: Mutex<()>,
}

impl ModeCell {
    /// An undecided cell.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            mode: AtomicU8::new(UNDECIDED),
            decide: Mutex::new(()),
        }
    }

    /// An undecided cell (loom's atomics have no `const` constructor).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            mode: AtomicU8::new(UNDECIDED),
            decide: Mutex::new(()),
        }
    }

    /// Whether the process uses `membarrier`, deciding with `probe` (which
    /// registers and reports success) on the first call. Every caller, reader
    /// or unplugger, gets the same answer.
    #[inline]
    pub(crate) fn uses_membarrier(&self, probe: impl FnOnce() -> bool) -> bool {
        match self.mode.load(Ordering::Acquire) {
            UNDECIDED => self.decide(probe),
            m => m == MEMBARRIER,
        }
    }

    #[cold]
    #[inline(never)]
    fn decide(&self, probe: impl FnOnce() -> bool) -> bool {
        let _serialised = lock(&self.decide);
        match self.mode.load(Ordering::Acquire) {
            UNDECIDED => {
                let ok = probe();
                let m = if ok { MEMBARRIER } else { FENCE };
                // A swap, not a store: under loom every write being an RMW keeps
                // the model exact (tokio-rs/loom#254).
                self.mode.swap(m, Ordering::AcqRel);
                ok
            }
            m => m == MEMBARRIER,
        }
    }
}

#[cfg(not(loom))]
fn mode() -> &'static ModeCell {
    static MODE: ModeCell = ModeCell::new();
    &MODE
}

#[cfg(loom)]
fn mode() -> &'static ModeCell {
    loom::lazy_static! {
        static ref MODE: ModeCell = ModeCell::new();
    }
    &MODE
}

/// Decides, once per process, whether `membarrier` is available, and returns
/// the decision. Called when a gate is built and when a thread registers, so
/// the decision is normally taken before any reader or unplugger needs it.
pub(crate) fn init() -> bool {
    mode().uses_membarrier(try_register)
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
fn try_register() -> bool {
    use rustix::thread::{MembarrierCommand, membarrier};
    if std::env::var_os("DEVLIFE_NO_MEMBARRIER").is_some() {
        return false;
    }
    membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok()
        && membarrier(MembarrierCommand::PrivateExpedited).is_ok()
}

#[cfg(not(all(target_os = "linux", not(loom), not(miri))))]
fn try_register() -> bool {
    false
}

/// Whether the process uses `membarrier` for the heavy side.
pub fn uses_membarrier() -> bool {
    init()
}

/// Whether readers must use a full fence (no `membarrier`). The same cell as
/// the heavy side reads, so the answer is the one [`heavy`] acts on.
pub(crate) fn readers_need_fence() -> bool {
    !init()
}

/// Read-side barrier: a compiler fence when the heavy side is `membarrier`,
/// a full fence otherwise. `fence` is [`readers_need_fence`], cached by the
/// caller (each thread record keeps a copy, on the line the reader touches).
#[inline(always)]
pub(crate) fn light(fence: bool) {
    if fence {
        crate::sync::full_fence();
    } else {
        compiler_fence(Ordering::SeqCst);
    }
}

/// Unplug-side barrier: pairs with every `light()` executed by any thread.
pub(crate) fn heavy() {
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    if init() {
        use rustix::thread::{MembarrierCommand, membarrier};
        crate::sync::full_fence();
        // The registration succeeded when the mode was decided, so failure here
        // means the kernel changed its mind; there is no correct fallback for
        // readers that already ran without fences, so keep retrying (EINTR is
        // the only plausible error).
        while membarrier(MembarrierCommand::PrivateExpedited).is_err() {
            std::thread::yield_now();
        }
        crate::sync::full_fence();
        return;
    }
    crate::sync::full_fence();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The interleaving behind the old bug, made deterministic: the unplug side
    /// asks for the mode before any reader has decided it, then a reader's
    /// registration succeeds. Both must act on the same mode. (The old code
    /// read a flag that defaulted to "fence" on the heavy side and decided only
    /// on the reader side, so the unplugger used a fence while the reader
    /// relied on `membarrier`.)
    #[test]
    fn unplug_before_the_first_reader_agrees_with_it() {
        let cell = ModeCell::new();
        let heavy_side = cell.uses_membarrier(|| true);
        let reader_side = cell.uses_membarrier(|| panic!("decided twice"));
        assert!(heavy_side);
        assert_eq!(heavy_side, reader_side);
    }

    /// A refused registration is also final: a later probe that would succeed
    /// is never run, so a reader cannot switch to compiler fences after an
    /// unplugger settled on the full fence.
    #[test]
    fn a_refused_registration_is_final() {
        let cell = ModeCell::new();
        assert!(!cell.uses_membarrier(|| false));
        assert!(!cell.uses_membarrier(|| true));
    }

    /// Racing first queries from many threads all get one answer, and the probe
    /// runs once.
    #[test]
    fn racing_first_queries_agree() {
        let cell = ModeCell::new();
        let probes = std::sync::atomic::AtomicUsize::new(0);
        let answers: Vec<bool> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|i| {
                    let (cell, probes) = (&cell, &probes);
                    s.spawn(move || {
                        cell.uses_membarrier(|| {
                            probes.fetch_add(1, Ordering::SeqCst);
                            i % 2 == 0
                        })
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| *a == answers[0]));
    }

    /// The process-wide mode is decided by building a gate, and the thread
    /// records cache the same answer the heavy side uses.
    #[test]
    fn gate_build_decides_and_records_agree() {
        let g = crate::Gate::new();
        assert_eq!(mode().mode.load(Ordering::Acquire) == MEMBARRIER, init());
        assert_ne!(mode().mode.load(Ordering::Acquire), UNDECIDED);
        drop(g.enter().unwrap());
        let rec = crate::registry::current();
        assert_eq!(rec.fence, !uses_membarrier());
    }
}

/// Loom model of the mode decision: a first unplug racing a first enter, with
/// a registration that succeeds. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p devlife --release --lib barrier`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn first_unplug_vs_first_enter_agree_on_the_mode() {
        loom::model(|| {
            let cell = Arc::new(ModeCell::new());
            let c2 = cell.clone();
            let reader = loom::thread::spawn(move || c2.uses_membarrier(|| true));
            let unplugger = cell.uses_membarrier(|| true);
            assert_eq!(reader.join().unwrap(), unplugger);
        });
    }
}
