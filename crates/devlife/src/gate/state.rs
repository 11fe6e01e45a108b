//! The gate state word: its bit layout and every operation on it.
//!
//! A gate's state is one byte read by every enter and exit. Keeping the bits
//! and what they mean in one type (as crossbeam-epoch does for its `Epoch`)
//! means no other file of the gate tests a bit by hand: the fast path asks
//! [`State::is_plain_open`], the exit asks [`State::is_unplugged`], and only
//! [`AtomicState`] changes the word.

use crate::sync::{AtomicU8, Ordering};

/// Entries are refused: an unplug has started.
const DRAINING: u8 = 1;
/// The drain has completed.
const DEAD: u8 = 2;
/// The gate journals enters and exits (fixed when the gate is built). Kept in
/// the state byte so that the fast path's one test (`state == 0`) also sends
/// traced gates to the general path, with no second load.
const TRACED: u8 = 4;
/// Either unplug bit.
const UNPLUGGED: u8 = DRAINING | DEAD;

/// A snapshot of a gate's state word.
///
/// # Invariants
///
/// * Only the bits `DRAINING`, `DEAD` and `TRACED` are ever set.
/// * `DEAD` is set only together with `DRAINING` (the drain follows the
///   refusal of new entries).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(super) struct State(u8);

impl State {
    /// The state of a new gate: open, and traced iff `traced`.
    pub(super) fn new_open(traced: bool) -> State {
        // INVARIANT: neither unplug bit is set; `TRACED` is fixed from here on.
        State(if traced { TRACED } else { 0 })
    }

    /// Open and not traced: the one test of the fast path, a compare with 0.
    #[inline(always)]
    pub(super) fn is_plain_open(self) -> bool {
        self.0 == 0
    }

    /// An unplug has started (entries are refused), or has completed.
    #[inline(always)]
    pub(super) fn is_unplugged(self) -> bool {
        self.0 & UNPLUGGED != 0
    }

    /// This state was read before the `DRAINING` bit was set, i.e. by the
    /// RMW of the unplug that set it.
    #[inline(always)]
    pub(super) fn was_open(self) -> bool {
        self.0 & DRAINING == 0
    }

    /// The drain of an unplug has completed.
    #[inline(always)]
    pub(super) fn is_dead(self) -> bool {
        self.0 & DEAD != 0
    }

    /// The gate journals enters and exits.
    #[inline(always)]
    pub(super) fn is_traced(self) -> bool {
        self.0 & TRACED != 0
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("draining", &(self.0 & DRAINING != 0))
            .field("dead", &self.is_dead())
            .field("traced", &self.is_traced())
            .finish()
    }
}

/// The shared state word of a gate.
///
/// # Invariants
///
/// * The word only gains bits: open → `DRAINING` → `DRAINING | DEAD`, and
///   `TRACED` is set at creation or never. Both changes are RMWs that only
///   add a bit, so concurrent unplugs agree on which of them was first.
/// * Every value it holds satisfies [`State`]'s invariants.
#[repr(transparent)]
pub(super) struct AtomicState(AtomicU8);

impl AtomicState {
    /// A word holding `initial`.
    pub(super) fn new(initial: State) -> Self {
        AtomicState(AtomicU8::new(initial.0))
    }

    /// Reads the word.
    #[inline(always)]
    pub(super) fn load(&self, order: Ordering) -> State {
        State(self.0.load(order))
    }

    /// Sets `DRAINING` (step 1 of unplug) and returns the state before: the
    /// caller whose returned state [`State::was_open`] is the first unplug.
    /// `SeqCst`, as the memory-ordering argument in `read_side.rs` requires.
    pub(super) fn begin_unplug(&self) -> State {
        // INVARIANT: an RMW that only adds a bit.
        State(self.0.fetch_or(DRAINING, Ordering::SeqCst))
    }

    /// Sets `DEAD` once the drain has completed.
    pub(super) fn mark_dead(&self) {
        // INVARIANT: called after `begin_unplug`, so `DEAD` joins `DRAINING`.
        // An RMW (not a store) because the state is also CASed (see the note
        // in `Signal::take` about loom); it keeps the word monotonic.
        self.0.fetch_or(DEAD, Ordering::AcqRel);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_word_only_gains_bits_and_each_test_reads_its_own() {
        for traced in [false, true] {
            let w = AtomicState::new(State::new_open(traced));
            let s = w.load(Ordering::Relaxed);
            assert_eq!(s.is_plain_open(), !traced);
            assert_eq!(s.is_traced(), traced);
            assert!(!s.is_unplugged() && !s.is_dead() && s.was_open());

            let before = w.begin_unplug();
            assert!(before.was_open());
            let s = w.load(Ordering::Relaxed);
            assert!(s.is_unplugged() && !s.is_dead() && !s.is_plain_open());
            assert_eq!(s.is_traced(), traced);
            // A second unplug learns it was not the first.
            assert!(!w.begin_unplug().was_open());

            w.mark_dead();
            let s = w.load(Ordering::Relaxed);
            assert!(s.is_unplugged() && s.is_dead() && !s.was_open());
            assert_eq!(s.is_traced(), traced);
        }
    }
}
