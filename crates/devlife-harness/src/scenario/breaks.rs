//! Breakpoints: named points where a scenario thread stops until the runner
//! lets it go.
//!
//! Points are reached through three hooks, all routed to [`point`]: the
//! model's stop points ([`devlife_model::stop`]: `open:entered`,
//! `ioctl:entered`, `release:begin`, `probe:node-registered`, ...) and
//! devlife-media's (`media_ioctl`, `media_open`), one hook installed around
//! every operation of a scenario thread; the kernel's unbind hook
//! (`unbind:removed`, ... one per [`UnbindPhase`]); and the runner's own
//! `open:lookup` (after the path lookup found the node, before its `open`).
//!
//! A thread stopped at a point publishes itself in the kernel's activity
//! table as blocked in an operation named after the point, so `wait T at P`
//! is the same activity wait as `wait T blocked VIDIOC_DQBUF`.

use devlife_model::{BlockKind, Kernel, UnbindPhase};
use parking_lot::{Condvar, Mutex};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The runner's own point between the path lookup and the node's `open`.
pub const OPEN_LOOKUP: &str = "open:lookup";

/// Every point name the runner knows, besides the drivers' own.
pub const POINTS: &[&str] = &[
    devlife_media::mc::preempt::MEDIA_IOCTL,
    devlife_media::mc::preempt::MEDIA_OPEN,
    OPEN_LOOKUP,
    "unbind:begin",
    "unbind:nodes-unplugged",
    "unbind:drained",
    "unbind:removed",
    "unbind:irqs-freed",
    "unbind:devm",
    "unbind:resources-released",
    "unbind:nodes-unregistered",
    "unbind:done",
];

/// Every point name a scenario can use besides the drivers' own: the
/// runner's and media's ([`POINTS`]) and the model's stop points.
pub fn all_points() -> Vec<&'static str> {
    let mut v = POINTS.to_vec();
    v.extend(devlife_model::stop::POINTS.iter().map(|(n, _)| *n));
    v
}

/// The point name of an unbind phase.
pub fn phase_point(p: UnbindPhase) -> &'static str {
    match p {
        UnbindPhase::Begin => "unbind:begin",
        UnbindPhase::NodesUnplugged => "unbind:nodes-unplugged",
        UnbindPhase::Drained => "unbind:drained",
        UnbindPhase::Removed => "unbind:removed",
        UnbindPhase::IrqsFreed => "unbind:irqs-freed",
        UnbindPhase::DevmAction(_) => "unbind:devm",
        UnbindPhase::ResourcesReleased => "unbind:resources-released",
        UnbindPhase::NodesUnregistered => "unbind:nodes-unregistered",
        UnbindPhase::Done => "unbind:done",
    }
}

#[derive(Default)]
struct State {
    /// Armed points: (name, hits still to let pass).
    armed: Vec<(String, u32)>,
    /// The point the thread is stopped at.
    stopped: Option<&'static str>,
    /// Set by `resume`, consumed by the stopped thread.
    go: bool,
    /// Everything disarmed and every stop released (hang cleanup).
    released: bool,
    /// Whether every point reached is recorded in `traced`.
    trace: bool,
    /// Points reached while tracing, in order.
    traced: Vec<&'static str>,
}

/// The breakpoints of one scenario thread.
///
/// # Invariants
///
/// `stopped` is `Some` exactly while the owning thread waits at a point
/// (see [`point`]).
pub struct Breaks {
    kernel: Kernel,
    state: Mutex<State>,
    cv: Condvar,
}

impl Breaks {
    /// Breakpoints of a thread of `kernel`.
    pub fn new(kernel: &Kernel) -> Arc<Self> {
        Arc::new(Self {
            kernel: kernel.clone(),
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        })
    }

    /// Arms `point`: the thread stops the `skip + 1`th time it reaches it.
    pub fn arm(&self, point: &str, skip: u32) {
        self.state.lock().armed.push((point.to_owned(), skip));
    }

    /// Called by the owning thread at `name`.
    fn hit(&self, name: &'static str) {
        let mut s = self.state.lock();
        if s.released {
            return;
        }
        if s.trace {
            s.traced.push(name);
        }
        let Some(i) = s.armed.iter().position(|(p, _)| p == name) else {
            return;
        };
        if s.armed[i].1 > 0 {
            s.armed[i].1 -= 1;
            return;
        }
        s.armed.remove(i);
        s.stopped = Some(name);
        s.go = false;
        self.cv.notify_all();
        // Published while stopped: observers wait on the activity table.
        let _b = self
            .kernel
            .activity()
            .block_as(BlockKind::Kernel, "breakpoint", name);
        while !s.go && !s.released {
            self.cv.wait(&mut s);
        }
        s.stopped = None;
        s.go = false;
        self.cv.notify_all();
    }

    /// Waits (up to `timeout`) until the thread is stopped, then lets it go.
    /// Returns the point it was stopped at, or `None` on timeout.
    pub fn resume(&self, timeout: Duration) -> Option<&'static str> {
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock();
        while s.stopped.is_none() {
            if self.cv.wait_until(&mut s, deadline).timed_out() && s.stopped.is_none() {
                return None;
            }
        }
        let p = s.stopped;
        s.go = true;
        self.cv.notify_all();
        p
    }

    /// Starts recording every point the thread reaches.
    pub fn trace(&self) {
        self.state.lock().trace = true;
    }

    /// The points recorded since [`trace`](Self::trace), in order.
    pub fn traced(&self) -> Vec<&'static str> {
        self.state.lock().traced.clone()
    }

    /// Where the thread is stopped now.
    pub fn stopped(&self) -> Option<&'static str> {
        self.state.lock().stopped
    }

    /// Disarms everything and releases a stopped thread for good (cleanup
    /// after a failure).
    pub fn release_all(&self) {
        let mut s = self.state.lock();
        s.armed.clear();
        s.released = true;
        self.cv.notify_all();
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Breaks>>> = const { RefCell::new(None) };
}

/// Installs `b` as the calling thread's breakpoints.
pub fn install(b: Arc<Breaks>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(b));
}

/// A point named `name`: stops the calling thread if it armed this point.
pub fn point(name: &'static str) {
    let b = CURRENT.with(|c| c.borrow().clone());
    if let Some(b) = b {
        b.hit(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_stops_at_its_point_until_resumed() {
        let k = Kernel::new();
        let b = Breaks::new(&k);
        b.arm("p", 1);
        let b2 = b.clone();
        let t = std::thread::Builder::new()
            .name("bp-thread".into())
            .spawn(move || {
                install(b2);
                point("other");
                point("p"); // first hit passes (skip 1)
                point("p"); // stops
                point("p"); // disarmed: passes
            })
            .unwrap();
        assert!(k.wait_blocked("bp-thread", "p", Duration::from_secs(30)));
        assert_eq!(b.stopped(), Some("p"));
        assert_eq!(b.resume(Duration::from_secs(30)), Some("p"));
        t.join().unwrap();
        assert_eq!(b.stopped(), None);
        assert_eq!(b.resume(Duration::ZERO), None);
    }

    #[test]
    fn release_all_frees_a_stopped_thread() {
        let k = Kernel::new();
        let b = Breaks::new(&k);
        b.arm("q", 0);
        let b2 = b.clone();
        let t = std::thread::Builder::new()
            .name("bp-release".into())
            .spawn(move || {
                install(b2);
                point("q");
            })
            .unwrap();
        assert!(k.wait_blocked("bp-release", "q", Duration::from_secs(30)));
        b.release_all();
        t.join().unwrap();
        assert!(k.activity().blocked().is_empty());
    }
}
