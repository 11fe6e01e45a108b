//! Deferred work: work items on a worker thread and timers, both with
//! cancel-and-wait (`cancel_work_sync`, `del_timer_sync`).
//!
//! A work item or timer may be *gated* by a binding's gate: its function then
//! runs inside an access of that gate (with a [`Bound`] proof), and not at all
//! once the gate is unplugged. The framework cancels every work item and timer
//! of a binding at unbind; the legacy style forgets, and its late runs touch
//! freed state.

use crate::activity::{Activity, BlockKind};
use devlife::{Access, Bound, Gate};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

/// What a work or timer function gets.
pub struct WorkCtx<'a> {
    access: Option<&'a Access<'a>>,
}

impl<'a> WorkCtx<'a> {
    /// The gate access a gated function runs in.
    pub fn access(&self) -> Option<&Access<'a>> {
        self.access
    }
    /// Proof that the binding is alive while the function runs (gated only).
    pub fn bound(&self) -> Option<Bound<'_>> {
        self.access.map(|a| a.bound())
    }
}

type WorkFn = Box<dyn Fn(&WorkCtx<'_>) + Send + Sync>;

#[derive(Default)]
struct RunState {
    pending: bool,
    running: bool,
    disabled: bool,
    runs: u64,
    runner: Option<ThreadId>,
}

struct Runnable {
    name: String,
    f: WorkFn,
    gate: Option<Gate>,
    st: Mutex<RunState>,
    cv: Condvar,
    activity: Arc<Activity>,
}

impl Runnable {
    /// Runs once if still pending (called by the worker / timer thread).
    fn run_if_pending(&self) {
        {
            let mut st = self.st.lock();
            if !st.pending || st.disabled {
                st.pending = false;
                return;
            }
            st.pending = false;
            st.running = true;
            st.runner = Some(std::thread::current().id());
        }
        match &self.gate {
            Some(g) => {
                if let Ok(a) = g.enter_as("work") {
                    (self.f)(&WorkCtx { access: Some(&a) });
                }
            }
            None => (self.f)(&WorkCtx { access: None }),
        }
        let mut st = self.st.lock();
        st.running = false;
        st.runner = None;
        st.runs += 1;
        self.cv.notify_all();
    }

    /// Clears a pending run and waits for a running one. Returns whether a
    /// run was pending.
    fn cancel_sync(&self, disable: bool) -> bool {
        let mut st = self.st.lock();
        let was = st.pending;
        st.pending = false;
        if disable {
            st.disabled = true;
        }
        if st.running && st.runner != Some(std::thread::current().id()) {
            let _b = self
                .activity
                .block_as(BlockKind::Kernel, &self.name, "cancel_sync");
            while st.running {
                self.cv.wait(&mut st);
            }
        }
        was
    }

    fn flush(&self) {
        let mut st = self.st.lock();
        if st.runner == Some(std::thread::current().id()) {
            return;
        }
        while st.pending || st.running {
            self.cv.wait(&mut st);
        }
    }
}

struct WqState {
    queue: VecDeque<Arc<Runnable>>,
    stop: bool,
    thread: Option<JoinHandle<()>>,
}

struct WqInner {
    name: String,
    st: Mutex<WqState>,
    cv: Condvar,
}

/// A workqueue with one worker thread (started on first use).
#[derive(Clone)]
pub struct Workqueue {
    inner: Arc<WqInner>,
    activity: Arc<Activity>,
}

impl std::fmt::Debug for Workqueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workqueue({})", self.inner.name)
    }
}

impl Workqueue {
    pub(crate) fn new(name: &str, activity: Arc<Activity>) -> Self {
        Self {
            inner: Arc::new(WqInner {
                name: name.to_owned(),
                st: Mutex::new(WqState {
                    queue: VecDeque::new(),
                    stop: false,
                    thread: None,
                }),
                cv: Condvar::new(),
            }),
            activity,
        }
    }

    /// A work item on this queue, optionally gated.
    pub fn work(
        &self,
        name: &str,
        gate: Option<&Gate>,
        f: impl Fn(&WorkCtx<'_>) + Send + Sync + 'static,
    ) -> Work {
        Work {
            r: Arc::new(Runnable {
                name: name.to_owned(),
                f: Box::new(f),
                gate: gate.cloned(),
                st: Mutex::new(RunState::default()),
                cv: Condvar::new(),
                activity: self.activity.clone(),
            }),
            wq: Arc::downgrade(&self.inner),
        }
    }

    fn enqueue(inner: &Arc<WqInner>, r: Arc<Runnable>) {
        let mut st = inner.st.lock();
        if st.stop {
            return;
        }
        st.queue.push_back(r);
        if st.thread.is_none() {
            let me = inner.clone();
            if let Ok(h) = std::thread::Builder::new()
                .name(format!("kworker/{}", inner.name))
                .spawn(move || worker_main(me))
            {
                st.thread = Some(h);
            }
        }
        inner.cv.notify_all();
    }

    pub(crate) fn shutdown(&self) {
        let h = {
            let mut st = self.inner.st.lock();
            st.stop = true;
            st.queue.clear();
            self.inner.cv.notify_all();
            st.thread.take()
        };
        if let Some(h) = h
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }
}

fn worker_main(wq: Arc<WqInner>) {
    loop {
        let r = {
            let mut st = wq.st.lock();
            loop {
                if st.stop {
                    return;
                }
                if let Some(r) = st.queue.pop_front() {
                    break r;
                }
                wq.cv.wait(&mut st);
            }
        };
        r.run_if_pending();
    }
}

/// A work item (`struct work_struct`). Cloning gives another handle.
#[derive(Clone)]
pub struct Work {
    r: Arc<Runnable>,
    wq: Weak<WqInner>,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work")
            .field("name", &self.r.name)
            .field("runs", &self.runs())
            .finish()
    }
}

impl Work {
    /// `schedule_work`: queues a run unless one is pending or the item is
    /// disabled. Returns whether it queued.
    pub fn schedule(&self) -> bool {
        {
            let mut st = self.r.st.lock();
            if st.pending || st.disabled {
                return false;
            }
            st.pending = true;
        }
        match self.wq.upgrade() {
            Some(wq) => {
                Workqueue::enqueue(&wq, self.r.clone());
                true
            }
            None => {
                self.r.st.lock().pending = false;
                false
            }
        }
    }
    /// `cancel_work_sync`: drops a pending run and waits for a running one.
    pub fn cancel_sync(&self) -> bool {
        self.r.cancel_sync(false)
    }
    /// Cancels and refuses every later `schedule` (used at unbind).
    pub fn disable_sync(&self) {
        self.r.cancel_sync(true);
    }
    /// `flush_work`: waits until no run is pending or running.
    pub fn flush(&self) {
        self.r.flush();
    }
    /// How many times the work function has run to its end.
    pub fn runs(&self) -> u64 {
        self.r.st.lock().runs
    }
    /// Whether a run is pending.
    pub fn is_pending(&self) -> bool {
        self.r.st.lock().pending
    }
}

struct TimerEntry {
    at: Instant,
    r: Weak<Runnable>,
    seq: u64,
}

struct TimerState {
    entries: Vec<TimerEntry>,
    seq: u64,
    stop: bool,
    thread: Option<JoinHandle<()>>,
}

struct TimerBaseInner {
    st: Mutex<TimerState>,
    cv: Condvar,
}

/// The timer thread of one kernel (started on first use).
#[derive(Clone)]
pub struct TimerBase {
    inner: Arc<TimerBaseInner>,
    activity: Arc<Activity>,
}

impl std::fmt::Debug for TimerBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimerBase({} armed)", self.inner.st.lock().entries.len())
    }
}

impl TimerBase {
    pub(crate) fn new(activity: Arc<Activity>) -> Self {
        Self {
            inner: Arc::new(TimerBaseInner {
                st: Mutex::new(TimerState {
                    entries: Vec::new(),
                    seq: 0,
                    stop: false,
                    thread: None,
                }),
                cv: Condvar::new(),
            }),
            activity,
        }
    }

    /// A timer, optionally gated.
    pub fn timer(
        &self,
        name: &str,
        gate: Option<&Gate>,
        f: impl Fn(&WorkCtx<'_>) + Send + Sync + 'static,
    ) -> Timer {
        Timer {
            r: Arc::new(Runnable {
                name: name.to_owned(),
                f: Box::new(f),
                gate: gate.cloned(),
                st: Mutex::new(RunState::default()),
                cv: Condvar::new(),
                activity: self.activity.clone(),
            }),
            base: Arc::downgrade(&self.inner),
        }
    }

    pub(crate) fn shutdown(&self) {
        let h = {
            let mut st = self.inner.st.lock();
            st.stop = true;
            st.entries.clear();
            self.inner.cv.notify_all();
            st.thread.take()
        };
        if let Some(h) = h
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }
}

fn timer_main(b: Arc<TimerBaseInner>) {
    loop {
        let r = {
            let mut st = b.st.lock();
            loop {
                if st.stop {
                    return;
                }
                let next = st
                    .entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, e)| (e.at, e.seq))
                    .map(|(i, e)| (i, e.at));
                match next {
                    None => b.cv.wait(&mut st),
                    Some((i, at)) => {
                        if at <= Instant::now() {
                            break st.entries.swap_remove(i).r;
                        }
                        b.cv.wait_until(&mut st, at);
                    }
                }
            }
        };
        if let Some(r) = r.upgrade() {
            r.run_if_pending();
        }
    }
}

/// A timer (`struct timer_list`). Cloning gives another handle.
#[derive(Clone)]
pub struct Timer {
    r: Arc<Runnable>,
    base: Weak<TimerBaseInner>,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("name", &self.r.name)
            .field("runs", &self.runs())
            .finish()
    }
}

impl Timer {
    /// `mod_timer`: fires once after `delay` (re-arming replaces a pending
    /// expiry). Returns whether it armed (not when disabled).
    pub fn arm(&self, delay: Duration) -> bool {
        {
            let mut st = self.r.st.lock();
            if st.disabled {
                return false;
            }
            st.pending = true;
        }
        let Some(b) = self.base.upgrade() else {
            self.r.st.lock().pending = false;
            return false;
        };
        let mut st = b.st.lock();
        if st.stop {
            return false;
        }
        // Drop an older expiry of this timer.
        let me = Arc::downgrade(&self.r);
        st.entries.retain(|e| !Weak::ptr_eq(&e.r, &me));
        st.seq += 1;
        let seq = st.seq;
        st.entries.push(TimerEntry {
            at: Instant::now() + delay,
            r: me,
            seq,
        });
        if st.thread.is_none() {
            let b2 = b.clone();
            if let Ok(h) = std::thread::Builder::new()
                .name("ktimer".into())
                .spawn(move || timer_main(b2))
            {
                st.thread = Some(h);
            }
        }
        b.cv.notify_all();
        true
    }
    /// `del_timer_sync`: disarms and waits for a running callback.
    pub fn cancel_sync(&self) -> bool {
        self.r.cancel_sync(false)
    }
    /// Cancels and refuses every later `arm` (`timer_shutdown_sync`).
    pub fn disable_sync(&self) {
        self.r.cancel_sync(true);
    }
    /// How many times the timer function has run to its end.
    pub fn runs(&self) -> u64 {
        self.r.st.lock().runs
    }
    /// Whether an expiry is pending.
    pub fn is_pending(&self) -> bool {
        self.r.st.lock().pending
    }
    /// Waits until no expiry is pending and the callback is not running.
    pub fn flush(&self) {
        self.r.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn work_runs_and_cancel_waits_for_running_instance() {
        let a = Arc::new(Activity::default());
        let wq = Workqueue::new("test", a.clone());
        let (in_tx, in_rx) = crossbeam::channel::bounded::<()>(1);
        let (go_tx, go_rx) = crossbeam::channel::bounded::<()>(1);
        let done = Arc::new(AtomicUsize::new(0));
        let d2 = done.clone();
        let w = wq.work("w", None, move |_| {
            let _ = in_tx.send(());
            let _ = go_rx.recv();
            d2.fetch_add(1, Ordering::SeqCst);
        });
        assert!(w.schedule());
        in_rx.recv().unwrap();
        assert!(w.schedule()); // a second run is queued while the first runs
        let w2 = w.clone();
        let canceller = std::thread::Builder::new()
            .name("canceller".into())
            .spawn(move || w2.cancel_sync())
            .unwrap();
        assert!(a.wait_blocked("canceller", "cancel_sync", Duration::from_secs(10)));
        go_tx.send(()).unwrap();
        assert!(canceller.join().unwrap()); // the queued run was cancelled
        assert_eq!(done.load(Ordering::SeqCst), 1);
        w.disable_sync();
        assert!(!w.schedule());
        wq.shutdown();
    }

    #[test]
    fn gated_work_and_timer_skip_after_unplug() {
        let a = Arc::new(Activity::default());
        let wq = Workqueue::new("g", a.clone());
        let tb = TimerBase::new(a);
        let gate = Gate::named("binding");
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let w = wq.work("w", Some(&gate), move |c| {
            assert!(c.bound().is_some());
            n2.fetch_add(1, Ordering::SeqCst);
        });
        let n3 = n.clone();
        let t = tb.timer("t", Some(&gate), move |_| {
            n3.fetch_add(10, Ordering::SeqCst);
        });
        w.schedule();
        w.flush();
        t.arm(Duration::ZERO);
        t.flush();
        assert_eq!(n.load(Ordering::SeqCst), 11);
        gate.unplug().unwrap();
        w.schedule();
        w.flush();
        t.arm(Duration::ZERO);
        t.flush();
        assert_eq!(n.load(Ordering::SeqCst), 11);
        t.arm(Duration::from_secs(3600));
        assert!(t.cancel_sync());
        assert!(!t.is_pending());
        wq.shutdown();
        tb.shutdown();
    }
}
