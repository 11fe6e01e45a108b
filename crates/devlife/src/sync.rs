//! Synchronisation primitives, switched to `loom`'s models under `cfg(loom)`.
//!
//! Every atomic, lock and condition variable that takes part in the gate,
//! wait-queue and revocation protocols comes from here, so that the loom
//! model checks in `tests/loom.rs` explore exactly the code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub(crate) use std::sync::atomic::Ordering;

/// Locks a mutex, ignoring poisoning.
///
/// A panic inside a critical section of this crate never leaves the protected
/// data in a state that breaks an invariant (all updates are single stores or
/// vector pushes), so continuing with the inner value is correct.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Waits on a condition variable, with an upper bound on the sleep where the
/// platform has timed waits (loom does not model time, so it waits without one).
pub(crate) fn wait<'a, T>(
    cv: &Condvar,
    g: MutexGuard<'a, T>,
    max: Option<std::time::Duration>,
) -> MutexGuard<'a, T> {
    #[cfg(loom)]
    {
        let _ = max;
        cv.wait(g).unwrap()
    }
    #[cfg(not(loom))]
    {
        match max {
            Some(d) => {
                cv.wait_timeout(g, d)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
            None => cv
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }
}

/// A full memory fence.
pub(crate) fn full_fence() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
    #[cfg(not(loom))]
    std::sync::atomic::fence(Ordering::SeqCst);
}

/// Identifies the calling (model) thread. Under loom every model thread runs on
/// the same OS thread, so `std::thread::current().id()` cannot tell them apart.
#[cfg(loom)]
pub(crate) type ThreadId = loom::thread::ThreadId;
/// Identifies the calling thread.
#[cfg(not(loom))]
pub(crate) type ThreadId = std::thread::ThreadId;

/// The id of the calling (model) thread.
pub(crate) fn current_thread_id() -> ThreadId {
    #[cfg(loom)]
    {
        loom::thread::current().id()
    }
    #[cfg(not(loom))]
    {
        std::thread::current().id()
    }
}

/// Gives other (model) threads a chance to run.
#[allow(dead_code)]
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}
