//! [`WaitQueue`]: sleeping inside a gate access until a condition holds.
//!
//! A blocking `VIDIOC_DQBUF`, `poll` or `read` sleeps on a wait queue of its
//! node. Unplugging the node's gate wakes every queue of the gate, and every
//! sleeper returns [`WaitError::Gone`] instead of sleeping on forever (the
//! bug of drivers that only cleared a `registered` flag). A sleeper can also be
//! interrupted on its own, like a signal makes a Linux sleep return `EINTR`,
//! and can give up after a timeout.
//!
//! # Protocol
//!
//! The queue keeps a generation counter under its mutex. A waiter reads the
//! generation, evaluates its condition, and sleeps only while the generation is
//! unchanged; [`WaitQueue::wake_all`] bumps the generation under the same mutex
//! (and signals the condition variable only if someone sleeps on it: a
//! condition-variable broadcast is a system call even with no sleeper, and an
//! unplug wakes every queue of its gate).
//! A producer that changes the state and then calls `wake_all` can therefore
//! never be missed: either the waiter's condition check already sees the new
//! state, or the waiter is still before its sleep and sees the new generation.
//! Unplug sets the gate state *before* waking, so the same argument covers it.

use crate::gate::{Access, Gate};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering, full_fence, lock, wait};
use std::time::{Duration, Instant};

/// Why a wait ended without its condition becoming true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The gate was unplugged (`ENODEV`).
    #[error("device gone while waiting")]
    Gone,
    /// The timeout expired (`ETIMEDOUT`/`EAGAIN` depending on the caller).
    #[error("wait timed out")]
    TimedOut,
    /// The waiter's [`Signal`] was raised (`EINTR`).
    #[error("wait interrupted")]
    Interrupted,
}

impl WaitError {
    /// The errno a Linux syscall returns for this outcome.
    pub fn errno(self) -> i32 {
        match self {
            WaitError::Gone => 19,       // ENODEV
            WaitError::TimedOut => 110,  // ETIMEDOUT
            WaitError::Interrupted => 4, // EINTR
        }
    }
}

/// Shared state of a queue; also referenced by its gate for wake-up at unplug.
///
/// # Invariants
///
/// `inside` is at least the number of threads inside
/// [`WaitQueue::wait_until`] on this queue: it is incremented before the
/// waiter's first look at the gate state and decremented after its last.
pub(crate) struct WqShared {
    state: Mutex<WqState>,
    cv: Condvar,
    inside: AtomicUsize,
}

/// # Invariants
///
/// `waiters` is the number of threads inside `cv.wait` on this queue.
struct WqState {
    generation: u64,
    waiters: usize,
}

impl WqShared {
    pub(crate) fn wake_all(&self) {
        if self.bump() {
            self.cv.notify_all();
        }
    }

    /// Whether the unplug of this queue's gate must bump it: a thread is
    /// inside [`WaitQueue::wait_until`]. Called by the unplugger after it set
    /// the gate's `DRAINING` bit and issued a full fence; a waiter counts
    /// itself in `inside` and issues a full fence before it reads the gate
    /// state. By the store-buffering argument with fences on both sides,
    /// either this load sees the waiter, or the waiter sees `DRAINING` and
    /// returns `Gone` without sleeping. An idle queue (an open file nobody
    /// waits on) then costs the unplug one load instead of a lock and unlock.
    pub(crate) fn may_have_waiters(&self) -> bool {
        self.inside.load(Ordering::Relaxed) != 0
    }

    /// The first half of [`WqShared::wake_all`]: bumps the generation, so
    /// that no waiter goes to sleep on the old one, and says whether a waiter
    /// already sleeps (then the caller must call [`WqShared::notify`]).
    pub(crate) fn bump(&self) -> bool {
        let mut s = lock(&self.state);
        s.generation = s.generation.wrapping_add(1);
        s.waiters > 0
    }

    /// The second half of [`WqShared::wake_all`]: wakes the sleepers, which
    /// see the generation bumped before.
    pub(crate) fn notify(&self) {
        self.cv.notify_all();
    }
}

fn next_queue_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A wait queue attached to a [`Gate`]; unplugging the gate wakes it.
///
/// ```
/// use devlife::{Gate, WaitQueue, WaitOptions, WaitError};
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// let gate = Gate::named("video0");
/// let wq = Arc::new(WaitQueue::new(&gate));
/// let ready = Arc::new(AtomicBool::new(false));
/// let (g2, wq2, r2) = (gate.clone(), wq.clone(), ready.clone());
/// let (tx, rx) = std::sync::mpsc::channel();
/// let t = std::thread::spawn(move || {
///     let a = g2.enter().unwrap();
///     tx.send(()).unwrap();
///     wq2.wait_until(&a, WaitOptions::default(), || r2.load(Ordering::SeqCst).then_some(()))
/// });
/// rx.recv().unwrap(); // the sleeper is inside the gate
/// gate.unplug().unwrap(); // wakes the sleeper, then drains
/// assert_eq!(t.join().unwrap(), Err(WaitError::Gone));
/// ```
pub struct WaitQueue {
    id: u64,
    gate: Gate,
    shared: Arc<WqShared>,
}

/// Options of one wait.
#[derive(Default, Clone, Copy)]
pub struct WaitOptions<'a> {
    /// Give up after this long.
    pub timeout: Option<Duration>,
    /// Return [`WaitError::Interrupted`] when this signal is raised.
    pub signal: Option<&'a Signal>,
}

impl<'a> WaitOptions<'a> {
    /// Wait with a timeout.
    pub fn timeout(d: Duration) -> Self {
        Self {
            timeout: Some(d),
            signal: None,
        }
    }
    /// Also stop when `signal` is raised.
    pub fn interruptible(mut self, signal: &'a Signal) -> Self {
        self.signal = Some(signal);
        self
    }
}

impl WaitQueue {
    /// A queue woken by `gate`'s unplug.
    pub fn new(gate: &Gate) -> Self {
        let id = next_queue_id();
        let shared = Arc::new(WqShared {
            state: Mutex::new(WqState {
                generation: 0,
                waiters: 0,
            }),
            cv: Condvar::new(),
            inside: AtomicUsize::new(0),
        });
        gate.register_queue(id, shared.clone());
        Self {
            id,
            gate: gate.clone(),
            shared,
        }
    }

    /// Wakes every sleeper so it re-evaluates its condition.
    pub fn wake_all(&self) {
        self.shared.wake_all();
    }

    /// Sleeps until `cond` returns `Some`, the gate is unplugged, the timeout
    /// expires or the signal is raised. `cond` is evaluated with no lock of this
    /// queue held, so it may take the caller's own locks.
    ///
    /// The caller proves with `access` that it is inside a gate (normally this
    /// queue's gate); the access is held across the sleep, and the unplug of the
    /// gate wakes the sleep before it waits for the access to end.
    pub fn wait_until<T>(
        &self,
        access: &Access<'_>,
        opts: WaitOptions<'_>,
        mut cond: impl FnMut() -> Option<T>,
    ) -> Result<T, WaitError> {
        let deadline = opts.timeout.map(|t| Instant::now() + t);
        let _armed = opts.signal.map(|s| s.arm(&self.shared));
        // Counted, then a full fence, before the first read of the gate state
        // (`WqShared::may_have_waiters`).
        let _inside = Inside::enter(&self.shared);
        loop {
            let generation = lock(&self.shared.state).generation;
            if let Some(v) = cond() {
                return Ok(v);
            }
            if self.gate.is_unplugged() || access.is_unplugging() {
                return Err(WaitError::Gone);
            }
            if let Some(s) = opts.signal
                && s.take()
            {
                return Err(WaitError::Interrupted);
            }
            let mut g = lock(&self.shared.state);
            while g.generation == generation {
                let max = match deadline {
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            drop(g);
                            // One last look: the condition may have become true.
                            return cond().ok_or(WaitError::TimedOut);
                        }
                        Some(d - now)
                    }
                    None => None,
                };
                g.waiters += 1;
                g = wait(&self.shared.cv, g, max);
                g.waiters -= 1;
            }
        }
    }
}

/// A thread's presence in [`WaitQueue::wait_until`], counted in
/// `WqShared::inside` for as long as the guard lives.
struct Inside<'a>(&'a WqShared);

impl<'a> Inside<'a> {
    fn enter(q: &'a WqShared) -> Self {
        q.inside.fetch_add(1, Ordering::Relaxed);
        full_fence();
        Inside(q)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.inside.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for WaitQueue {
    fn drop(&mut self) {
        self.gate.unregister_queue(self.id);
    }
}

impl std::fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitQueue")
            .field("gate", &self.gate.name())
            .finish()
    }
}

struct SignalState {
    raised: AtomicBool,
    waiting_on: Mutex<Option<Arc<WqShared>>>,
}

/// A signal-like interruption for one sleeper (Linux `EINTR`).
///
/// Raising it wakes the wait it is armed in; the wait consumes it and returns
/// [`WaitError::Interrupted`]. A signal raised while nobody waits stays pending
/// until the next interruptible wait, as a pending Linux signal does.
#[derive(Clone)]
pub struct Signal {
    state: Arc<SignalState>,
}

impl Default for Signal {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("pending", &self.is_pending())
            .finish()
    }
}

struct Armed<'a>(&'a Signal);

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        *lock(&self.0.state.waiting_on) = None;
    }
}

impl Signal {
    /// A signal that is not pending.
    pub fn new() -> Self {
        Self {
            state: Arc::new(SignalState {
                raised: AtomicBool::new(false),
                waiting_on: Mutex::new(None),
            }),
        }
    }

    /// Raises the signal and wakes the wait it is armed in, if any.
    pub fn raise(&self) {
        let q = {
            let w = lock(&self.state.waiting_on);
            self.state.raised.swap(true, Ordering::SeqCst);
            w.clone()
        };
        if let Some(q) = q {
            q.wake_all();
        }
    }

    /// Whether the signal is pending.
    pub fn is_pending(&self) -> bool {
        self.state.raised.load(Ordering::SeqCst)
    }

    fn arm(&self, q: &Arc<WqShared>) -> Armed<'_> {
        *lock(&self.state.waiting_on) = Some(q.clone());
        Armed(self)
    }

    fn take(&self) -> bool {
        // A CAS, like `raise`'s swap: every write of `raised` is a
        // read-modify-write, which also keeps loom's model exact (loom mixes up
        // plain stores racing with RMWs, tokio-rs/loom#254).
        self.state
            .raised
            .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering as O};

    #[test]
    fn condition_wakeup() {
        let g = Gate::new();
        let wq = std::sync::Arc::new(WaitQueue::new(&g));
        let v = std::sync::Arc::new(AtomicUsize::new(0));
        let (g2, wq2, v2) = (g.clone(), wq.clone(), v.clone());
        let t = std::thread::spawn(move || {
            let a = g2.enter().unwrap();
            wq2.wait_until(&a, WaitOptions::default(), || {
                let x = v2.load(O::SeqCst);
                (x > 0).then_some(x)
            })
        });
        std::thread::sleep(Duration::from_millis(10));
        v.store(7, O::SeqCst);
        wq.wake_all();
        assert_eq!(t.join().unwrap(), Ok(7));
    }

    #[test]
    fn timeout_and_signal() {
        let g = Gate::new();
        let wq = WaitQueue::new(&g);
        let a = g.enter().unwrap();
        let r: Result<(), _> =
            wq.wait_until(&a, WaitOptions::timeout(Duration::from_millis(5)), || None);
        assert_eq!(r, Err(WaitError::TimedOut));
        let s = Signal::new();
        s.raise();
        let r: Result<(), _> = wq.wait_until(&a, WaitOptions::default().interruptible(&s), || None);
        assert_eq!(r, Err(WaitError::Interrupted));
        assert!(!s.is_pending());
    }

    #[test]
    fn signal_wakes_a_sleeping_waiter() {
        let g = Gate::new();
        let wq = std::sync::Arc::new(WaitQueue::new(&g));
        let s = Signal::new();
        let (g2, wq2, s2) = (g.clone(), wq.clone(), s.clone());
        let t = std::thread::spawn(move || {
            let a = g2.enter().unwrap();
            wq2.wait_until(&a, WaitOptions::default().interruptible(&s2), || None::<()>)
        });
        std::thread::sleep(Duration::from_millis(10));
        s.raise();
        assert_eq!(t.join().unwrap(), Err(WaitError::Interrupted));
        // The gate is untouched by the signal.
        assert!(g.enter().is_ok());
    }

    #[test]
    fn unplug_wakes_all_sleepers() {
        let g = Gate::new();
        let wq = std::sync::Arc::new(WaitQueue::new(&g));
        let ts: Vec<_> = (0..8)
            .map(|_| {
                let (g2, wq2) = (g.clone(), wq.clone());
                std::thread::spawn(move || {
                    let a = g2.enter().unwrap();
                    wq2.wait_until(&a, WaitOptions::default(), || None::<()>)
                })
            })
            .collect();
        while g.in_flight() < 8 {
            std::thread::yield_now();
        }
        g.unplug().unwrap();
        for t in ts {
            assert_eq!(t.join().unwrap(), Err(WaitError::Gone));
        }
    }
}
