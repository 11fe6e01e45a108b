//! The read side of the gate: [`Gate::enter`], [`Gate::enter_as`] and the
//! exits that dropping an [`Access`] runs.
//!
//! The unplugger's half of the protocol is in `unplug.rs`; the argument below
//! covers both halves and is kept here, with the fence-free code it justifies.
//! # Read side
//!
//! `enter` stores the gate's id in a free slot of the calling thread's record
//! (see `registry.rs`) with a plain store, issues a *light* barrier and reads the
//! gate state. `exit` (dropping the [`Access`]) clears the slot with a plain
//! store, issues a light barrier and reads the state again; only if an unplug is
//! in progress does it take the gate's lock to wake the drainer. On the fast path
//! nothing is written to memory shared with another thread and no
//! read-modify-write instruction is executed. (The stores are `Release`, which
//! on x86 and with `membarrier` is the same `mov` as a relaxed store.)
//!
//! The fast path is taken only when it needs no decision: the process uses
//! `membarrier` (so the light barrier is a compiler fence, and only threads of
//! such a process get a fast-path record, see `registry::fast`), the thread
//! holds no other access (slot 0 is free) and the state byte is 0 (open and
//! not traced; tracing is a state bit so that one load and one test cover
//! both). Everything else — nesting, a first enter, full-fence mode, a traced
//! or unplugging gate — goes to the general path, which runs the same
//! protocol with the thread's own light barrier. An [`Access`] made with a
//! full fence carries a flag, so its exit also takes the general path and
//! issues the fence: the reader's barrier always matches the unplugger's
//! (`barrier.rs` fixes the mode once for the process).
//!
//! # Memory-ordering argument
//!
//! Enter is "publish, then check"; unplug is "flag, then scan":
//!
//! ```text
//!   reader (enter)                 unplugger
//!   slot := id        (release)    state |= DRAINING (SeqCst RMW)
//!   light barrier                  heavy barrier
//!   s := state        (relaxed)    scan slots        (acquire)
//! ```
//!
//! The light/heavy pair forbids the store-buffering outcome (see
//! [`crate::barrier`]), so either the reader sees `DRAINING` (and backs out
//! with `Gone`) or the scan sees the slot (and waits for it). There is no third
//! case: no access can begin after the scan that the scan did not see. A thread
//! that is new to the registry publishes its record (a release store of the
//! list head) before its first slot store; a scan that walks the list from an
//! older head misses the record, but then the same store-buffering argument on
//! (list head, state) makes that thread's state load see `DRAINING`.
//!
//! The heavy barrier is a system call (`membarrier`), and it is only needed
//! against another thread. A thread is counted in the registry (a `SeqCst`
//! RMW, then a full fence) before its first slot store; after setting
//! `DRAINING`, the unplugger issues a full fence and reads the count, and
//! skips the heavy barrier when the only record owned is its own. A thread
//! registering at that moment is either counted by that read, or its state
//! load (after its fence) sees `DRAINING`: the store-buffering argument again,
//! with full fences on both sides (`registry::only_caller_registered`).
//!
//! Exit is "clear, then check": `slot := 0` (release), light barrier, read the
//! state. Symmetrically, either the scan sees the cleared slot, or the exiting
//! thread sees `DRAINING` and takes the gate lock to notify; the drainer scans
//! and goes to sleep under that same lock, so the notification cannot fall in
//! the gap between a scan and the sleep.
//!
//! Data written in a section is safe to free once `unplug` returns: the scan's
//! acquire load reads either the exit's release store of 0, or a later release
//! store of the same slot by the same thread (a later access to another gate),
//! or, if the record changed owner, a store by a thread that claimed the record
//! with an acquire CAS after the previous owner's release; in every case the
//! section happens-before the end of the drain. This is what lets
//! [`crate::ResourceScope`] and [`crate::Revocable`] drop data after `unplug`.
//!
//! Sleeping inside a section is allowed: the slot belongs to the thread, not to
//! a CPU, and only this gate's unplug waits for it. Unplugging one gate never
//! waits for accesses to another gate, because the scan matches gate ids.
//!
//! If a thread holds more than [`SLOTS`] accesses at once, further
//! accesses use the gate's shared overflow counter: SeqCst RMW, then a full
//! fence, then the state load, which is the same protocol with a full fence as
//! the reader's barrier. The thread also notes the gate in its record, so that
//! an unplug from inside such an access is refused instead of waiting for itself.

use super::Gate;
use super::access::{Access, M_FENCE, M_LABELLED, M_OVERFLOW, M_SLOT, M_TRACE};
use super::core::GateCore;
use super::error::Gone;
use super::state::State;
use crate::barrier;
use crate::check::EventKind;
use crate::registry::{self, SLOTS, ThreadRecord};
use crate::sync::{Ordering, full_fence, lock};
use std::sync::atomic::compiler_fence;

impl Gate {
    /// Enters the gate. Fails with [`Gone`] once the gate is unplugged.
    ///
    /// The returned [`Access`] keeps any `unplug` waiting until it is dropped.
    /// It is not `Send`: it belongs to the calling thread's slot.
    #[inline]
    pub fn enter(&self) -> Result<Access<'_>, Gone> {
        self.core.enter_raw(None)
    }

    /// Enters the gate and labels the access for the watchdog (e.g. `"VIDIOC_DQBUF"`).
    ///
    /// The label costs one store on enter and one on exit, both on the fast
    /// path, so callers can label every operation: a drain that waits for
    /// this access then names it ([`Blocker::label`](super::Blocker::label)).
    #[inline]
    pub fn enter_as(&self, label: &'static str) -> Result<Access<'_>, Gone> {
        self.core.enter_raw(Some(label))
    }
}

/// Writes `label` (if any) into the label cell of `slot`, before the slot
/// itself: the slot's release store then publishes the text to a scan that
/// reads the slot. Returns the flag the access carries ([`M_LABELLED`] or 0).
#[inline(always)]
fn store_label(record: &ThreadRecord, slot: usize, label: Option<&'static str>) -> usize {
    match label {
        Some(l) => {
            // Release as well: a scanner that reads only the word also sees
            // the text (a label may be a leaked string written by this thread).
            record.labels[slot & (SLOTS - 1)].store(registry::pack_label(l), Ordering::Release);
            M_LABELLED
        }
        None => 0,
    }
}

impl GateCore {
    /// The fast path: the process uses `membarrier`, the thread is registered
    /// and holds no other access (the common case), so slot 0 is free and the
    /// light barrier is a compiler fence. Everything else takes
    /// [`GateCore::enter_general`].
    ///
    /// The only loads are of the thread's record pointer, of slot 0 (to see it
    /// is free), and of the gate's id and state; they feed predicted branches
    /// and addresses, and the stores write values that depend on no load, so
    /// back-to-back enter/exit pairs form no store-to-load dependency chain.
    #[inline(always)]
    fn enter_raw(&self, label: Option<&'static str>) -> Result<Access<'_>, Gone> {
        // A thread that may not take the fast path gets a record whose slot 0
        // is never free (`registry::fast`), so this one test covers both.
        let record = registry::fast();
        if record.slots[0].load(Ordering::Relaxed) != 0 {
            // Laid out off the straight line, so the fast path runs with no
            // taken branch.
            std::hint::cold_path();
            return self.enter_general(label);
        }
        // "Publish, then check" (module docs); as in `publish`, with
        // `record.fence` known to be false.
        let meta = store_label(record, 0, label);
        record.slots[0].store(self.id, Ordering::Release);
        compiler_fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::Relaxed);
        if !state.is_plain_open() {
            return self.entered_flagged(record, meta, state, label);
        }
        Ok(Access::new(self, record, meta))
    }

    /// Enter while the thread already holds accesses (nesting, several gates),
    /// is not registered yet, or uses full fences: the lowest free slot, or the
    /// overflow counter when all are taken.
    #[inline(never)]
    fn enter_general(&self, label: Option<&'static str>) -> Result<Access<'_>, Gone> {
        let record = registry::current();
        // Only this thread writes its slots, so a relaxed read is exact.
        match (0..SLOTS).find(|i| record.slots[*i].load(Ordering::Relaxed) == 0) {
            Some(slot) => self.publish(record, slot, label),
            None => self.enter_overflow(record, label),
        }
    }

    /// "Publish, then check" (module docs) in the free `slot`.
    #[inline(always)]
    fn publish(
        &self,
        record: &'static ThreadRecord,
        slot: usize,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        let meta = slot | store_label(record, slot, label) | if record.fence { M_FENCE } else { 0 };
        // Release (a plain `mov` on x86): a drainer whose scan reads this value
        // synchronises with everything this thread did before, including the
        // sections of earlier accesses that used this slot (see module docs).
        record.slots[slot].store(self.id, Ordering::Release);
        barrier::light(record.fence);
        // A relaxed load is enough: the light/heavy barrier pair orders it after
        // the slot store as seen by the unplugger (module docs).
        let state = self.state.load(Ordering::Relaxed);
        if !state.is_plain_open() {
            return self.entered_flagged(record, meta, state, label);
        }
        Ok(Access::new(self, record, meta))
    }

    /// The state check of an enter (slot and flags in `meta`) found a bit
    /// set: back out if the gate is unplugging, else (a traced gate) journal
    /// the enter.
    #[cold]
    #[inline(never)]
    fn entered_flagged(
        &self,
        record: &'static ThreadRecord,
        meta: usize,
        state: State,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        let slot = meta & M_SLOT;
        if state.is_unplugged() {
            if meta & M_LABELLED != 0 {
                record.labels[slot].store(0, Ordering::Relaxed);
            }
            self.exit_slot(record, slot);
            return Err(Gone);
        }
        debug_assert!(state.is_traced());
        self.journal(EventKind::Enter, label);
        Ok(Access::new(self, record, meta | M_TRACE))
    }

    #[cold]
    #[inline(never)]
    fn enter_overflow(
        &self,
        record: &'static ThreadRecord,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        lock(&record.overflow_held).push(self.id);
        self.cold.overflow.fetch_add(1, Ordering::SeqCst);
        // The same "publish, then check" as the slots, with a full fence in
        // place of the light barrier (the unplug side's heavy barrier pairs
        // with it either way).
        full_fence();
        let state = self.state.load(Ordering::SeqCst);
        if state.is_unplugged() {
            self.exit_overflow(record);
            return Err(Gone);
        }
        let flags = if state.is_traced() {
            self.journal(EventKind::Enter, label);
            M_TRACE
        } else {
            0
        };
        Ok(Access::new(self, record, M_OVERFLOW | flags))
    }

    /// "Clear, then check" (module docs).
    #[inline(always)]
    pub(super) fn exit_slot(&self, record: &ThreadRecord, slot: usize) {
        debug_assert!(slot < SLOTS);
        // The mask (SLOTS is a power of two) spares a bounds check.
        record.slots[slot & (SLOTS - 1)].store(0, Ordering::Release);
        barrier::light(record.fence);
        if self.state.load(Ordering::Relaxed).is_unplugged() {
            self.exit_while_unplugging();
        }
    }

    /// [`GateCore::exit_slot`] for an access made by the fast path: slot 0,
    /// and the thread's light barrier is a compiler fence.
    #[inline(always)]
    pub(super) fn exit_fast(&self, record: &ThreadRecord) {
        record.slots[0].store(0, Ordering::Release);
        compiler_fence(Ordering::SeqCst);
        if self.state.load(Ordering::Relaxed).is_unplugged() {
            self.exit_while_unplugging();
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn exit_overflow(&self, record: &ThreadRecord) {
        self.cold.overflow.fetch_sub(1, Ordering::SeqCst);
        {
            let mut held = lock(&record.overflow_held);
            if let Some(i) = held.iter().rposition(|g| *g == self.id) {
                held.swap_remove(i);
            }
        }
        full_fence();
        if self.state.load(Ordering::SeqCst).is_unplugged() {
            self.exit_while_unplugging();
        }
    }

    /// An exit that saw the gate unplugging: wakes the drainers (a system call
    /// only if one sleeps; it rescans under the lock). Letting only the last
    /// exit notify (each exit scanning after a full fence) was measured and
    /// was not faster with 100 sleepers: the scans cost what the wake-ups save.
    #[cold]
    #[inline(never)]
    fn exit_while_unplugging(&self) {
        self.notify_drainers();
    }

    #[cold]
    #[inline(never)]
    fn notify_drainers(&self) {
        let s = lock(&self.cold.slow);
        self.wake_sleepers(&s);
    }
}
