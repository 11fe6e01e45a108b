//! Model checks of the gate, wait-queue and revocation protocols with `loom`.
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p devlife --release --test loom
//! ```
//!
//! The crate's atomics, mutexes, condition variables and thread-locals switch to
//! loom's models under `cfg(loom)` (`src/sync.rs`), and the heavy/light barrier
//! pair becomes `fence(SeqCst)` on both sides, so these tests explore the code
//! that ships. Data inside sections lives in `loom::cell::UnsafeCell`s: loom
//! reports any access to them that is not ordered by happens-before, which is
//! how "unplug never returns while an access is live" and "no access begins
//! after unplug returned" are checked (the unplugger writes the data after
//! `unplug` returns; a reader inside an access reads it).
//!
//! Each model is bounded to [`DEFAULT_PREEMPTIONS`] preemptions unless
//! `LOOM_MAX_PREEMPTIONS` says otherwise (loom's usual bound; bugs that need
//! more preemptions are rare). Under loom a thread has 2 access slots, so a
//! third nested access exercises the overflow counter.
#![cfg(loom)]

use devlife::{Gate, ResourceScope, Revocable, WaitError, WaitOptions, WaitQueue};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

/// Preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
const DEFAULT_PREEMPTIONS: usize = 3;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    b.check(f);
}

/// Data guarded by a gate: read inside accesses, written after unplug.
struct Guarded {
    gate: Gate,
    data: UnsafeCell<u32>,
}

// SAFETY (test): the protocol under test is what orders the accesses to `data`;
// loom checks that it does.
unsafe impl Sync for Guarded {}
unsafe impl Send for Guarded {}

impl Guarded {
    fn new(name: &str) -> Arc<Self> {
        Arc::new(Self {
            gate: Gate::named(name),
            data: UnsafeCell::new(0),
        })
    }

    /// A file operation: enter, read the object's memory, exit.
    fn fop(&self) -> bool {
        match self.gate.enter() {
            Ok(_a) => {
                let v = self.data.with(|p| unsafe { *p });
                assert_eq!(v, 0, "an access saw memory freed by unplug");
                true
            }
            Err(_) => false,
        }
    }

    /// Unbind: unplug, then "free" the memory (write it).
    fn unbind(&self) {
        self.gate.unplug().unwrap();
        assert!(self.gate.is_drained());
        self.data.with_mut(|p| unsafe { *p = 1 });
    }
}

/// Enter vs unplug: no access begins after unplug returns, and unplug never
/// returns while an access is live.
#[test]
fn enter_vs_unplug() {
    model(|| {
        let g = Guarded::new("g");
        let g2 = g.clone();
        let t = thread::spawn(move || {
            let first = g2.fop();
            let second = g2.fop();
            // Once refused, always refused.
            assert!(first || !second);
        });
        g.unbind();
        assert!(g.gate.enter().is_err());
        t.join().unwrap();
    });
}

/// Two readers and an unplugger.
#[test]
fn two_readers_vs_unplug() {
    model(|| {
        let g = Guarded::new("g");
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let g = g.clone();
                thread::spawn(move || {
                    g.fop();
                })
            })
            .collect();
        g.unbind();
        for t in ts {
            t.join().unwrap();
        }
    });
}

/// `Gate::unplug_all` with one barrier for two gates: a reader of the second
/// gate either is refused or is drained before its memory is written, as
/// with `Gate::unplug` alone.
#[test]
fn reader_vs_unplug_all() {
    model(|| {
        let a = Guarded::new("a");
        let b = Guarded::new("b");
        let b2 = b.clone();
        let t = thread::spawn(move || {
            b2.fop();
        });
        let results = Gate::unplug_all(&[&a.gate, &b.gate]);
        assert!(results.iter().all(|r| r.is_ok()));
        for g in [&a, &b] {
            assert!(g.gate.is_drained());
            g.data.with_mut(|p| unsafe { *p = 1 });
        }
        t.join().unwrap();
    });
}

/// A reader's exit races with the drain: the drainer must be notified (no
/// lost wake-up, which loom would report as a deadlock) and must observe the
/// section's writes. The unplug starts once the reader is inside, so the drain
/// really has an access to wait for.
#[test]
fn exit_notifies_the_drainer() {
    model(|| {
        let g = Guarded::new("g");
        let g2 = g.clone();
        let inside = Arc::new(AtomicBool::new(false));
        let inside2 = inside.clone();
        let t = thread::spawn(move || {
            let _a = g2.gate.enter().unwrap();
            inside2.store(true, Ordering::SeqCst);
            g2.data.with(|p| unsafe { assert_eq!(*p, 0) });
        });
        while !inside.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        g.unbind();
        t.join().unwrap();
    });
}

/// A sleeper in a wait queue is woken by unplug and returns `Gone`; the unplug
/// then drains it. A lost wake-up would leave both threads blocked, which loom
/// reports as a deadlock.
#[test]
fn sleeper_vs_unplug() {
    model(|| {
        let g = Guarded::new("g");
        let wq = Arc::new(WaitQueue::new(&g.gate));
        let (g2, wq2) = (g.clone(), wq.clone());
        let t = thread::spawn(move || {
            let Ok(a) = g2.gate.enter() else {
                return None;
            };
            let r = wq2.wait_until(&a, WaitOptions::default(), || None::<()>);
            g2.data.with(|p| unsafe { assert_eq!(*p, 0) });
            Some(r)
        });
        g.unbind();
        if let Some(r) = t.join().unwrap() {
            assert_eq!(r, Err(WaitError::Gone));
        }
    });
}

/// A producer completes the condition while unplug races: the sleeper returns
/// either the value or `Gone`, never hangs.
#[test]
fn sleeper_vs_producer_vs_unplug() {
    model(|| {
        let g = Guarded::new("g");
        let wq = Arc::new(WaitQueue::new(&g.gate));
        let ready = Arc::new(AtomicBool::new(false));
        let (g2, wq2, r2) = (g.clone(), wq.clone(), ready.clone());
        let sleeper = thread::spawn(move || {
            let a = g2.gate.enter().ok()?;
            Some(wq2.wait_until(&a, WaitOptions::default(), || {
                r2.load(Ordering::SeqCst).then_some(7)
            }))
        });
        let (wq3, r3) = (wq.clone(), ready.clone());
        let producer = thread::spawn(move || {
            r3.store(true, Ordering::SeqCst);
            wq3.wake_all();
        });
        g.unbind();
        producer.join().unwrap();
        match sleeper.join().unwrap() {
            None | Some(Ok(7)) | Some(Err(WaitError::Gone)) => {}
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// A signal raised while the sleeper sleeps interrupts it (no lost wake-up).
#[test]
fn signal_vs_sleeper() {
    model(|| {
        let gate = Gate::named("g");
        let wq = Arc::new(WaitQueue::new(&gate));
        let sig = devlife::Signal::new();
        let (g2, wq2, s2) = (gate.clone(), wq.clone(), sig.clone());
        let t = thread::spawn(move || {
            let a = g2.enter().unwrap();
            wq2.wait_until(&a, WaitOptions::default().interruptible(&s2), || None::<()>)
        });
        sig.raise();
        assert_eq!(t.join().unwrap(), Err(WaitError::Interrupted));
    });
}

/// Nested accesses (same gate twice, another gate in between, and a third
/// access that overflows the 2 model slots) against concurrent unplugs of both
/// gates, one of them unplugged twice at once.
#[test]
fn nested_accesses_vs_concurrent_unplugs() {
    model(|| {
        let a = Guarded::new("a");
        let b = Guarded::new("b");
        let (a2, b2) = (a.clone(), b.clone());
        let reader = thread::spawn(move || {
            let Ok(x) = a2.gate.enter() else { return };
            let y = b2.gate.enter();
            // Third access: both slots are taken, so this uses a's overflow
            // counter (or fails if a is already unplugging).
            let z = a2.gate.enter();
            a2.data.with(|p| unsafe { assert_eq!(*p, 0) });
            if y.is_ok() {
                b2.data.with(|p| unsafe { assert_eq!(*p, 0) });
            }
            drop(x);
            if z.is_ok() {
                a2.data.with(|p| unsafe { assert_eq!(*p, 0) });
            }
            drop(y);
            drop(z);
        });
        let a3 = a.clone();
        let second = thread::spawn(move || {
            let st = a3.gate.unplug().unwrap();
            assert!(a3.gate.is_drained());
            st.first
        });
        b.unbind();
        a.gate.unplug().unwrap();
        // Both unplugs of `a` returned only after the drain.
        let second_first = second.join().unwrap();
        a.data.with_mut(|p| unsafe { *p = 1 });
        reader.join().unwrap();
        let _ = second_first;
    });
}

/// An access that goes straight to the overflow counter (both model slots are
/// held by another gate) against the unplug of its gate: the overflow path's
/// own "publish, then check" must hold without help from any slot.
#[test]
fn overflow_access_vs_unplug() {
    model(|| {
        let a = Guarded::new("a");
        let b = Gate::named("b");
        let a2 = a.clone();
        let reader = thread::spawn(move || {
            let _y1 = b.enter().unwrap();
            let _y2 = b.enter().unwrap();
            a2.fop();
        });
        a.unbind();
        reader.join().unwrap();
    });
}

/// Concurrent unplugs of one gate: exactly one is first, both wait for the
/// reader (the reader writes inside its access, both unpluggers read after).
#[test]
fn concurrent_unplugs_both_drain() {
    model(|| {
        let g = Guarded::new("g");
        let g2 = g.clone();
        let reader = thread::spawn(move || {
            if let Ok(_a) = g2.gate.enter() {
                g2.data.with_mut(|p| unsafe { *p = 5 });
            }
        });
        let g3 = g.clone();
        let other = thread::spawn(move || {
            let st = g3.gate.unplug().unwrap();
            g3.data.with(|p| unsafe { assert!(*p == 0 || *p == 5) });
            st.first
        });
        let st = g.gate.unplug().unwrap();
        g.data.with(|p| unsafe { assert!(*p == 0 || *p == 5) });
        let other_first = other.join().unwrap();
        assert!(st.first ^ other_first, "exactly one unplug is first");
        reader.join().unwrap();
    });
}

/// An access to gate A never blocks the unplug of gate B: the reader of A stays
/// inside until B's unplug has returned (a dependency would deadlock).
#[test]
fn other_gates_reader_never_blocks_unplug() {
    model(|| {
        let a = Gate::named("a");
        let b = Gate::named("b");
        let b_done = Arc::new(AtomicBool::new(false));
        let entered = Arc::new(AtomicBool::new(false));
        let (a2, d2, e2) = (a.clone(), b_done.clone(), entered.clone());
        let reader = thread::spawn(move || {
            let _x = a2.enter().unwrap();
            e2.store(true, Ordering::SeqCst);
            while !d2.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        });
        while !entered.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        let st = b.unplug().unwrap();
        assert_eq!(st.in_flight, 0);
        b_done.store(true, Ordering::SeqCst);
        reader.join().unwrap();
        a.unplug().unwrap();
    });
}

/// A thread's record is handed back at its exit and reused by the next thread;
/// the drain still sees every access.
#[test]
fn record_reuse_after_thread_exit() {
    model(|| {
        let g = Guarded::new("g");
        let g1 = g.clone();
        let first = thread::spawn(move || {
            g1.fop();
        });
        first.join().unwrap();
        let g2 = g.clone();
        let second = thread::spawn(move || {
            g2.fop();
        });
        g.unbind();
        second.join().unwrap();
    });
}

/// A value that records its drop and whose memory is checked by loom.
struct Res {
    data: UnsafeCell<u32>,
    drops: Arc<AtomicUsize>,
}

// SAFETY (test): see `Guarded`.
unsafe impl Sync for Res {}
unsafe impl Send for Res {}

impl Res {
    fn new(drops: &Arc<AtomicUsize>) -> Self {
        Self {
            data: UnsafeCell::new(42),
            drops: drops.clone(),
        }
    }
    fn read(&self) {
        self.data.with(|p| unsafe { assert_eq!(*p, 42) });
    }
}

impl Drop for Res {
    fn drop(&mut self) {
        // A write: races with any read not ordered before the drop.
        self.data.with_mut(|p| unsafe { *p = 0 });
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Revocable access vs revoke (twice, concurrently): the value is dropped
/// exactly once, never while a guard lives.
#[test]
fn revocable_access_vs_revoke() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Arc::new(Revocable::new(Res::new(&drops)));
        let r2 = r.clone();
        let reader = thread::spawn(move || {
            if let Ok(v) = r2.try_access() {
                v.read();
                // The guard is still alive here.
                v.read();
            }
        });
        let r3 = r.clone();
        let revoker = thread::spawn(move || r3.revoke().unwrap());
        let mine = r.revoke().unwrap();
        let theirs = revoker.join().unwrap();
        assert!(mine ^ theirs, "exactly one revoke drops the value");
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        reader.join().unwrap();
        assert!(r.try_access().is_err());
        drop(r);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Devres through a guard and through a `Bound` proof vs revoke of the scope.
#[test]
fn resource_scope_access_vs_revoke() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let gate = Gate::named("dev");
        let scope = ResourceScope::new(&gate);
        let r1 = scope.add(Res::new(&drops)).unwrap();
        let r2 = scope.add(Res::new(&drops)).unwrap();
        let (g2, h1, h2) = (gate.clone(), r1.clone(), r2.clone());
        let reader = thread::spawn(move || {
            if let Ok(v) = h1.try_access() {
                v.read();
            }
            if let Ok(a) = g2.enter() {
                let b = a.bound();
                h1.access(&b).unwrap().read();
                h2.access(&b).unwrap().read();
            }
        });
        assert_eq!(scope.revoke().unwrap(), 2);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(r1.is_revoked() && r2.is_revoked());
        assert!(r1.try_access().is_err());
        reader.join().unwrap();
        drop((r1, r2));
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

/// A cancel hook runs exactly once even with two concurrent unplugs, before
/// either returns.
#[test]
fn hook_runs_once_before_unplug_returns() {
    model(|| {
        let gate = Gate::named("g");
        let runs = Arc::new(AtomicUsize::new(0));
        let r2 = runs.clone();
        gate.on_unplug(move || {
            r2.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        let (g2, r3) = (gate.clone(), runs.clone());
        let t = thread::spawn(move || {
            g2.unplug().unwrap();
            assert_eq!(r3.load(Ordering::SeqCst), 1);
        });
        gate.unplug().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        t.join().unwrap();
    });
}
