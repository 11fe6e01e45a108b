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
//! The choice is made once, before the first thread registers with the gate
//! registry, and never changes afterwards, so both sides always agree.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering, compiler_fence};

static MEMBARRIER: AtomicBool = AtomicBool::new(false);
static INIT: OnceLock<bool> = OnceLock::new();

/// Decides, once per process, whether `membarrier` is available.
///
/// Called by the registry before any thread can enter a gate.
pub(crate) fn init() -> bool {
    *INIT.get_or_init(|| {
        let ok = try_register();
        MEMBARRIER.store(ok, Ordering::Relaxed);
        ok
    })
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

/// Whether readers must use a full fence (no `membarrier`). Fixed at [`init`].
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
    if MEMBARRIER.load(Ordering::Relaxed) {
        use rustix::thread::{MembarrierCommand, membarrier};
        crate::sync::full_fence();
        if membarrier(MembarrierCommand::PrivateExpedited).is_ok() {
            crate::sync::full_fence();
            return;
        }
        // The registration succeeded at init, so failure here means the kernel
        // changed its mind; there is no correct fallback for readers that already
        // ran without fences, so keep retrying (EINTR is the only plausible error).
        loop {
            if membarrier(MembarrierCommand::PrivateExpedited).is_ok() {
                crate::sync::full_fence();
                return;
            }
            std::thread::yield_now();
        }
    }
    crate::sync::full_fence();
}
