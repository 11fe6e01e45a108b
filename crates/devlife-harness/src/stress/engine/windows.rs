//! The stop-point mode (`--stop-points`): instead of hoping that timing puts
//! an unplug inside a call, a userspace thread stops at a stop point the
//! seed picks (`open:entered`, `ioctl:entered`, `release:begin`, ...; see
//! `devlife_model::stop`) and asks for an unplug of the device it is using
//! right there. A kernel thread takes the request before any random action,
//! unbinds or hot-unplugs that device, and the caller resumes once the
//! unplug has finished or is parked (a framework unplug waits for the call:
//! the drain). The choice of the points comes from each thread's own
//! generator seeded from the run's seed, so `--seed` replays it.

use super::Ctx;
use super::watch::Worker;
use crate::stress::stats::{Outcome, ThreadStats};
use crate::stress::target::KernelOp;
use parking_lot::{Condvar, Mutex};
use rand::Rng;
use rand::rngs::SmallRng;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Chance that a thread stops at a point it passes (one in sixteen).
const STOP_CHANCE: f64 = 1.0 / 16.0;
/// How long a stopped thread waits for a kernel thread to take its request
/// and settle (it then goes on regardless: nothing can hang on a window).
const SETTLE: Duration = Duration::from_millis(20);

/// What a window's unplug is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Queued, no kernel thread took it yet.
    Pending,
    /// A kernel thread (named) is running the unplug.
    Started,
    /// The unplug returned (or there was nothing to unplug).
    Done,
}

/// One request: unplug target `target` while the requesting thread is
/// stopped at a point.
///
/// # Invariants
///
/// `state` only moves forward: `Pending` → `Started` → `Done` (or
/// `Pending` → `Done`).
pub(super) struct Window {
    /// Index of the target in `Ctx::instances`.
    target: usize,
    state: Mutex<(Phase, String)>,
    cv: Condvar,
}

impl Window {
    fn set(&self, p: Phase, by: &str) {
        let mut s = self.state.lock();
        *s = (p, by.to_owned());
        self.cv.notify_all();
    }

    /// Waits until the unplug finished or its thread is parked in the
    /// model, at most [`SETTLE`]. Returns whether it settled.
    fn settle(&self, ctx: &Ctx) -> bool {
        let deadline = Instant::now() + SETTLE;
        loop {
            let (phase, by) = self.state.lock().clone();
            match phase {
                Phase::Done => return true,
                Phase::Started
                    if ctx
                        .kernel
                        .activity()
                        .blocked()
                        .iter()
                        .any(|b| b.thread == by) =>
                {
                    return true;
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return false;
            }
            let mut s = self.state.lock();
            if s.0 == phase {
                self.cv.wait_for(&mut s, Duration::from_micros(500));
            }
        }
    }
}

/// The queue of windows asked for, shared by every thread of a run.
#[derive(Default)]
pub(super) struct Windows {
    queue: Mutex<Vec<Arc<Window>>>,
}

impl Windows {
    /// Whether a stopped thread waits for an unplug.
    pub(super) fn pending(&self) -> bool {
        !self.queue.lock().is_empty()
    }
}

/// The stop-point hook of a userspace thread: `rng` decides where it stops,
/// `target` says which target its current call is on, `opened` counts the
/// windows it opened.
pub(super) struct UserHook {
    pub(super) ctx: Arc<Ctx>,
    pub(super) rng: std::cell::RefCell<SmallRng>,
    pub(super) target: std::cell::Cell<usize>,
    pub(super) opened: std::cell::Cell<u64>,
}

impl UserHook {
    /// Called at every stop point the thread passes.
    pub(super) fn at(&self, _point: &'static str) {
        let ctx = &self.ctx;
        if ctx.stop.load(Ordering::Acquire) || !self.rng.borrow_mut().random_bool(STOP_CHANCE) {
            return;
        }
        let w = Arc::new(Window {
            target: self.target.get(),
            state: Mutex::new((Phase::Pending, String::new())),
            cv: Condvar::new(),
        });
        ctx.windows.queue.lock().push(w.clone());
        if w.settle(ctx) {
            self.opened.set(self.opened.get() + 1);
        } else {
            // Nobody took it in time: withdraw it if it is still queued.
            ctx.windows.queue.lock().retain(|x| !Arc::ptr_eq(x, &w));
        }
    }
}

/// Serves one queued window, if any: unbinds or hot-unplugs its target
/// (whichever the target supports, picked by `rng`) while the caller is
/// stopped. Returns whether there was one.
pub(super) fn serve(ctx: &Ctx, me: &Worker, rng: &mut SmallRng, st: &mut ThreadStats) -> bool {
    let w = {
        let mut q = ctx.windows.queue.lock();
        if q.is_empty() {
            return false;
        }
        q.remove(0)
    };
    let (name, t) = (&ctx.instances[w.target].0, &ctx.instances[w.target].1);
    let ops: Vec<KernelOp> = t
        .kernel_ops()
        .iter()
        .copied()
        .filter(|o| matches!(o, KernelOp::Unbind | KernelOp::HotUnplug))
        .collect();
    if ops.is_empty() || !t.fully_bound() {
        w.set(Phase::Done, &me.name);
        return true;
    }
    let op = ops[rng.random_range(0..ops.len())];
    w.set(Phase::Started, &me.name);
    me.begin(op.name(), name);
    let t0 = Instant::now();
    let r = t.perform(op, rng);
    let dt = t0.elapsed();
    me.end();
    w.set(Phase::Done, &me.name);
    st.record(op.name(), Outcome::from(&r));
    if r.is_ok() {
        st.unplug_latency.push(dt);
        *st.unplugs.entry(op.name()).or_default() += 1;
        st.unplugs_at_stop_points += 1;
        me.unplugs.fetch_add(1, Ordering::Relaxed);
    }
    true
}
