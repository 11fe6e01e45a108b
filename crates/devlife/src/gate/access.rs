//! [`Access`]: the guard of one section inside a gate, and its tag encoding.
//!
//! An [`Access`] is two words: the gate, and the thread's record pointer whose
//! low 8 bits (records are 256-byte aligned) carry the slot index and the
//! `M_*` flags below. Two words travel in registers (a `Result<Access, Gone>`
//! too); a third word made the compiler move the guard through the stack with
//! mixed-size stores and loads, which stalls store forwarding on every enter.

use super::core::GateCore;
use crate::check::EventKind;
use crate::registry::{SLOTS, ThreadRecord};
use crate::sync::Ordering;
use std::fmt;
use std::marker::PhantomData;

/// The slot index of an access that holds a slot.
pub(super) const M_SLOT: usize = 0xf;
/// The access counts in the gate's overflow counter, not in a slot.
pub(super) const M_OVERFLOW: usize = 1 << 4;
/// The access has a watchdog label to clear.
pub(super) const M_LABELLED: usize = 1 << 5;
/// The gate journals enters and exits.
pub(super) const M_TRACE: usize = 1 << 6;
/// The thread uses full fences as its light barrier (no `membarrier`): the
/// exit must take the general path, which issues one.
pub(super) const M_FENCE: usize = 1 << 7;
/// All tag bits.
const M_ALL: usize = 0xff;
const _: () = assert!(
    SLOTS.is_power_of_two() && SLOTS <= M_SLOT + 1 && std::mem::align_of::<ThreadRecord>() > M_ALL
);

/// Proof that the calling thread is inside a gate: the object behind it has not
/// finished unplugging, and will not until this guard is dropped.
///
/// # Invariants
///
/// * While an `Access` lives, its slot (or the overflow counter) counts it, so
///   `unplug` of its gate cannot return.
/// * `Access` is `!Send` and `!Sync`: the slot belongs to the creating thread.
#[must_use = "dropping the Access immediately exits the gate"]
pub struct Access<'a> {
    gate: &'a GateCore,
    /// The thread's record, tagged with the slot index and `M_*` flags.
    tagged: *const ThreadRecord,
    _not_send: PhantomData<*const ()>,
}

impl<'a> Access<'a> {
    /// The guard of an access of `gate` by the thread of `record`, in the
    /// slot and with the flags encoded in `meta`.
    #[inline(always)]
    pub(super) fn new(gate: &'a GateCore, record: &'static ThreadRecord, meta: usize) -> Self {
        debug_assert!(meta <= M_ALL);
        let tagged = (record as *const ThreadRecord).map_addr(|a| a | meta);
        Access {
            gate,
            tagged,
            _not_send: PhantomData,
        }
    }

    /// Slot index and flags.
    #[inline(always)]
    pub(super) fn meta(&self) -> usize {
        self.tagged.addr() & M_ALL
    }
}

impl Access<'_> {
    /// Id of the gate this access is inside.
    pub fn gate_id(&self) -> u64 {
        self.gate.id
    }

    /// Whether the gate started unplugging while this access was held: long
    /// operations should check it and bail out early.
    pub fn is_unplugging(&self) -> bool {
        self.gate.state.load(Ordering::Acquire).is_unplugged()
    }

    /// A typestate proof that the object behind the gate is still bound for as
    /// long as this access is held (see [`crate::Bound`]).
    pub fn bound(&self) -> crate::Bound<'_> {
        crate::Bound::from_gate(self.gate.id)
    }
}

impl fmt::Debug for Access<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("gate", &self.gate.name)
            .field("overflow", &(self.meta() & M_OVERFLOW != 0))
            .field("slot", &(self.meta() & M_SLOT))
            .finish()
    }
}

/// Exit of a nested (slot > 0), labelled, traced, full-fence or overflow access. Takes the
/// access's two words by value so that the fast path never spills the guard.
#[cold]
#[inline(never)]
fn drop_slow(gate: &GateCore, tagged: *const ThreadRecord) {
    let meta = tagged.addr() & M_ALL;
    // SAFETY: with the tag bits cleared, `tagged` is the pointer made from a
    // `&'static ThreadRecord` in `Access::new` (same provenance, `map_addr`
    // keeps it); records are leaked and never freed, so the reference is
    // valid for `'static`, and only shared references to records are ever made.
    let record: &'static ThreadRecord = unsafe { &*tagged.map_addr(|a| a & !M_ALL) };
    if meta & M_LABELLED != 0 {
        record.labels[meta & M_SLOT].store(0, Ordering::Relaxed);
    }
    if meta & M_TRACE != 0 {
        gate.journal(EventKind::Exit, None);
    }
    if meta & M_OVERFLOW != 0 {
        gate.exit_overflow(record);
    } else {
        gate.exit_slot(record, meta & M_SLOT);
    }
}

impl Drop for Access<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Fast path: slot 0, no flag (so a compiler-fence thread), and the
        // tagged pointer is the record.
        let meta = self.meta();
        if meta == 0 {
            // SAFETY: no tag bit is set, so `tagged` is the pointer made from
            // a `&'static ThreadRecord` in `new` (see `drop_slow`); using
            // it as it is spares the mask.
            self.gate.exit_fast(unsafe { &*self.tagged });
        } else if meta == M_LABELLED {
            // The labelled twin of the fast path (`Gate::enter_as` in slot 0).
            // SAFETY: the tag is exactly `M_LABELLED`, so subtracting it gives
            // the pointer made from a `&'static ThreadRecord` in `new` (see
            // `drop_slow`); the subtraction folds into the stores'
            // addresses where a mask would be one more instruction.
            let record: &ThreadRecord = unsafe { &*self.tagged.map_addr(|a| a - M_LABELLED) };
            std::hint::cold_path();
            record.labels[0].store(0, Ordering::Relaxed);
            self.gate.exit_fast(record);
        } else {
            std::hint::cold_path();
            drop_slow(self.gate, self.tagged);
        }
    }
}
