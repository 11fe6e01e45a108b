//! Interrupts: lines raised by simulated hardware, handled on one handler
//! thread per line (like a threaded IRQ); `free_irq` that waits for a running
//! handler; framework IRQs gated by the binding's gate, and devm-style
//! (legacy) IRQs that are not.
//!
//! An interrupt delivered to an action whose `dev_id` has been released (a
//! devm/kfree'd driver state that the handler still points to) is reported as
//! [`ReportKind::IrqAfterRelease`] before the handler runs. Every request made
//! during a probe also carries that binding: a handler about to run after the
//! binding's `remove()` returned is reported the same way (a framework handler
//! gated by its binding never gets there; one requested outside the framework's
//! `request_irq` and left installed does).

use crate::activity::{self, Activity, BlockKind, Frame};
use crate::errno::{Errno, KResult};
use crate::hw::HwSession;
use devlife::check::{Report, ReportKind, Shadow};
use devlife::{Access, Bound, Gate, Monitor};
use parking_lot::{Condvar, Mutex};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

/// What a handler says about an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqReturn {
    /// Not ours / nothing done (`IRQ_NONE`).
    None,
    /// Handled (`IRQ_HANDLED`).
    Handled,
}

/// What a handler gets.
pub struct IrqCtx<'a> {
    line: u32,
    access: Option<&'a Access<'a>>,
}

impl<'a> IrqCtx<'a> {
    /// The line number.
    pub fn line(&self) -> u32 {
        self.line
    }
    /// The binding's gate access a framework handler runs in (`None` for
    /// devm/legacy handlers).
    pub fn access(&self) -> Option<&Access<'a>> {
        self.access
    }
    /// Proof that the device is bound while the handler runs (framework
    /// handlers only): opens the binding's device resources.
    pub fn bound(&self) -> Option<Bound<'_>> {
        self.access.map(|a| a.bound())
    }
}

/// The `dev_id` of a handler, checked at each delivery: if it was released,
/// the delivery is reported as an interrupt on released data.
pub struct IrqDevId {
    name: String,
    alive: Box<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for IrqDevId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IrqDevId({})", self.name)
    }
}

impl IrqDevId {
    /// A `dev_id` that is an instrumented allocation (freed = released).
    pub fn shadow<T: Send + Sync + 'static>(s: &Shadow<T>) -> Self {
        let s2 = s.clone();
        Self {
            name: s.name().to_owned(),
            alive: Box::new(move || !s2.is_freed()),
        }
    }
    /// A `dev_id` with a custom liveness test.
    pub fn custom(name: &str, alive: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self {
            name: name.to_owned(),
            alive: Box::new(alive),
        }
    }
}

type Handler = Box<dyn Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync>;

pub(crate) struct Action {
    id: u64,
    name: String,
    handler: Handler,
    gate: Option<Gate>,
    dev_id: Option<IrqDevId>,
    /// The binding that requested it during its probe (framework and devm
    /// IRQs alike): a handler run after its `remove()` returned is reported.
    owner: Option<Arc<HwSession>>,
}

struct LineState {
    action: Option<Arc<Action>>,
    pending: u64,
    running: Option<u64>,
    thread: Option<JoinHandle<()>>,
    thread_id: Option<ThreadId>,
    stop: bool,
}

/// Counters of one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IrqStats {
    /// Times the hardware raised the line.
    pub raised: u64,
    /// Handler invocations.
    pub delivered: u64,
    /// Handlers that returned `Handled`.
    pub handled: u64,
    /// Raises with no handler installed (spurious).
    pub unhandled: u64,
    /// Deliveries refused because the handler's binding gate was unplugged.
    pub gated: u64,
    /// Deliveries to a released `dev_id`.
    pub after_release: u64,
}

/// One interrupt line.
///
/// # Invariants
///
/// At most one action is installed; its handler runs only on the line's
/// handler thread, one invocation at a time. After `free` of an action
/// returns, that action's handler is not running and will not run again.
pub struct IrqLine {
    number: u32,
    name: String,
    st: Mutex<LineState>,
    cv: Condvar,
    stats: Mutex<IrqStats>,
    monitor: Monitor,
    activity: Arc<Activity>,
    kernel: u64,
}

impl std::fmt::Debug for IrqLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqLine")
            .field("number", &self.number)
            .field("name", &self.name)
            .finish()
    }
}

impl IrqLine {
    /// The line number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Counters so far.
    pub fn stats(&self) -> IrqStats {
        *self.stats.lock()
    }

    /// Whether an action is installed.
    pub fn is_requested(&self) -> bool {
        self.st.lock().action.is_some()
    }

    /// The hardware raises the line: the interrupt is queued for the handler
    /// thread, or counted as unhandled when no handler is installed.
    pub fn raise(&self) {
        self.stats.lock().raised += 1;
        let mut st = self.st.lock();
        if st.action.is_none() {
            drop(st);
            self.stats.lock().unhandled += 1;
            return;
        }
        st.pending += 1;
        self.cv.notify_all();
    }

    /// Waits until no interrupt is pending or being handled (a test helper;
    /// `timeout` is a safety bound). Returns whether the line went idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.st.lock();
        while st.pending > 0 || st.running.is_some() {
            if self.cv.wait_until(&mut st, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    fn thread_main(self: Arc<Self>) {
        loop {
            let action = {
                let mut st = self.st.lock();
                loop {
                    if st.stop {
                        return;
                    }
                    if st.pending > 0 {
                        if let Some(a) = st.action.clone() {
                            st.pending -= 1;
                            st.running = Some(a.id);
                            break a;
                        }
                        st.pending = 0;
                        self.cv.notify_all();
                    }
                    if st.action.is_none() {
                        // free_irq removed the handler: the thread goes away
                        // with it (the next request_irq starts a new one), so
                        // plug/unplug cycles do not accumulate threads.
                        st.thread = None;
                        st.thread_id = None;
                        return;
                    }
                    self.cv.wait(&mut st);
                }
            };
            self.deliver(&action);
            // Drop our reference before announcing the line idle, so that
            // whoever waits for idleness (free_irq, tests) sees the handler's
            // data released if the action was freed meanwhile.
            drop(action);
            let mut st = self.st.lock();
            st.running = None;
            self.cv.notify_all();
        }
    }

    fn deliver(&self, a: &Action) {
        let mut released = false;
        if let Some(d) = &a.dev_id
            && !(d.alive)()
        {
            released = true;
            self.report_released(
                a,
                format!(
                    "interrupt {} delivered to handler `{}` whose dev_id `{}` was released",
                    self.number, a.name, d.name
                ),
            );
        }
        // The handler is about to run: if its binding's remove() returned,
        // it runs for a driver that is gone (whatever its data says).
        let after_remove = |released: &mut bool| {
            if !*released
                && let Some(o) = &a.owner
                && o.is_closed()
            {
                *released = true;
                self.report_released(
                    a,
                    format!(
                        "interrupt {} runs handler `{}` after `{}`'s remove() returned",
                        self.number,
                        a.name,
                        o.owner()
                    ),
                );
            }
        };
        let _f = activity::push_frame(Frame {
            kernel: self.kernel,
            object: self.monitor_id(),
            op: "irq",
            device: 0,
        });
        let r = match &a.gate {
            Some(g) => match g.enter_as("irq") {
                Ok(acc) => {
                    after_remove(&mut released);
                    Some((a.handler)(&IrqCtx {
                        line: self.number,
                        access: Some(&acc),
                    }))
                }
                Err(_) => None,
            },
            None => {
                after_remove(&mut released);
                Some((a.handler)(&IrqCtx {
                    line: self.number,
                    access: None,
                }))
            }
        };
        let mut s = self.stats.lock();
        if released {
            s.after_release += 1;
        }
        match r {
            None => s.gated += 1,
            Some(r) => {
                s.delivered += 1;
                if r == IrqReturn::Handled {
                    s.handled += 1;
                }
            }
        }
    }

    fn report_released(&self, a: &Action, message: String) {
        self.monitor.report(Report::new(
            ReportKind::IrqAfterRelease,
            self.monitor_id(),
            &format!("irq/{}-{}", self.number, a.name),
            message,
            None,
        ));
    }

    fn monitor_id(&self) -> u64 {
        // Lines are identified by number in reports; use a stable id per line.
        (1u64 << 56) | self.number as u64
    }

    fn install(self: &Arc<Self>, action: Arc<Action>) -> KResult<()> {
        let mut st = self.st.lock();
        if st.action.is_some() {
            return Err(Errno::EBUSY);
        }
        self.activity.name_object(
            self.monitor_id(),
            format!("irq/{}-{}", self.number, action.name).into(),
        );
        st.action = Some(action);
        if st.thread.is_none() {
            let me = self.clone();
            let h = std::thread::Builder::new()
                .name(format!("irq/{}", self.number))
                .spawn(move || me.thread_main())
                .map_err(|_| Errno::ENOMEM)?;
            st.thread_id = Some(h.thread().id());
            st.thread = Some(h);
        }
        Ok(())
    }

    /// Removes action `id` and waits until its handler is not running
    /// (unless called from the handler itself).
    fn free(&self, id: u64) {
        // The action is dropped after the line lock is released: its captured
        // data may hold the last reference to something whose destructor
        // stops this very line.
        let mut removed = None;
        let mut st = self.st.lock();
        if st.action.as_ref().is_some_and(|a| a.id == id) {
            removed = st.action.take();
            st.pending = 0;
            self.cv.notify_all();
        }
        if st.running == Some(id) && st.thread_id != Some(std::thread::current().id()) {
            let _b = self
                .activity
                .block_as(BlockKind::Kernel, &self.name, "free_irq");
            while st.running == Some(id) {
                self.cv.wait(&mut st);
            }
        }
        drop(st);
        drop(removed);
    }

    fn stop(&self) {
        let (h, removed) = {
            let mut st = self.st.lock();
            st.stop = true;
            let removed = st.action.take();
            self.cv.notify_all();
            let h = if st.thread_id == Some(std::thread::current().id()) {
                None
            } else {
                st.thread.take()
            };
            (h, removed)
        };
        drop(removed);
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

struct HandleInner {
    line: Arc<IrqLine>,
    id: u64,
    freed: AtomicBool,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        if !self.freed.swap(true, Ordering::AcqRel) {
            self.line.free(self.id);
        }
    }
}

/// A requested interrupt. `free` (or dropping the last clone) is `free_irq`.
#[derive(Clone)]
pub struct IrqHandle {
    inner: Arc<HandleInner>,
}

impl std::fmt::Debug for IrqHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqHandle")
            .field("line", &self.inner.line.number)
            .field("freed", &self.is_freed())
            .finish()
    }
}

impl IrqHandle {
    /// `free_irq`: uninstalls the handler and waits for a running invocation
    /// to finish. Idempotent.
    pub fn free(&self) {
        if !self.inner.freed.swap(true, Ordering::AcqRel) {
            self.inner.line.free(self.inner.id);
        }
    }
    /// Whether it was freed.
    pub fn is_freed(&self) -> bool {
        self.inner.freed.load(Ordering::Acquire)
    }
    /// The line.
    pub fn line(&self) -> &Arc<IrqLine> {
        &self.inner.line
    }
}

/// How to request an interrupt.
pub struct IrqRequest {
    pub(crate) name: String,
    pub(crate) handler: Handler,
    pub(crate) gate: Option<Gate>,
    pub(crate) dev_id: Option<IrqDevId>,
}

impl IrqRequest {
    /// A handler named `name`.
    pub fn new(
        name: impl Into<String>,
        handler: impl Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            handler: Box::new(handler),
            gate: None,
            dev_id: None,
        }
    }
    /// Runs the handler inside `gate` (not at all once it is unplugged).
    pub fn gated(mut self, gate: &Gate) -> Self {
        self.gate = Some(gate.clone());
        self
    }
    /// The data the handler uses, checked at each delivery.
    pub fn dev_id(mut self, d: IrqDevId) -> Self {
        self.dev_id = Some(d);
        self
    }
}

/// The interrupt controller of one kernel.
pub struct IrqController {
    lines: Mutex<BTreeMap<u32, Arc<IrqLine>>>,
    next: AtomicU32,
    next_action: AtomicU64,
    monitor: Monitor,
    activity: Arc<Activity>,
    kernel: u64,
}

impl std::fmt::Debug for IrqController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqController")
            .field("lines", &self.lines.lock().len())
            .finish()
    }
}

impl IrqController {
    pub(crate) fn new(monitor: &Monitor, activity: Arc<Activity>, kernel: u64) -> Self {
        Self {
            lines: Mutex::new(BTreeMap::new()),
            next: AtomicU32::new(32),
            next_action: AtomicU64::new(1),
            monitor: monitor.clone(),
            activity,
            kernel,
        }
    }

    /// Allocates a new line for a piece of hardware.
    pub fn allocate_line(&self, name: &str) -> Arc<IrqLine> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let line = Arc::new(IrqLine {
            number,
            name: name.to_owned(),
            st: Mutex::new(LineState {
                action: None,
                pending: 0,
                running: None,
                thread: None,
                thread_id: None,
                stop: false,
            }),
            cv: Condvar::new(),
            stats: Mutex::new(IrqStats::default()),
            monitor: self.monitor.clone(),
            activity: self.activity.clone(),
            kernel: self.kernel,
        });
        self.lines.lock().insert(number, line.clone());
        line
    }

    /// The line with this number.
    pub fn line(&self, number: u32) -> Option<Arc<IrqLine>> {
        self.lines.lock().get(&number).cloned()
    }

    /// `request_irq` (without fault injection; see
    /// [`crate::ProbeCtx::request_irq`]). `EINVAL` for an unknown line,
    /// `EBUSY` if a handler is installed.
    pub fn request(&self, number: u32, req: IrqRequest) -> KResult<IrqHandle> {
        let line = self.line(number).ok_or(Errno::EINVAL)?;
        let id = self.next_action.fetch_add(1, Ordering::Relaxed);
        line.install(Arc::new(Action {
            id,
            name: req.name,
            handler: req.handler,
            gate: req.gate,
            dev_id: req.dev_id,
            owner: crate::driver::probing_session(),
        }))?;
        Ok(IrqHandle {
            inner: Arc::new(HandleInner {
                line,
                id,
                freed: AtomicBool::new(false),
            }),
        })
    }
}

impl Drop for IrqController {
    fn drop(&mut self) {
        let lines: Vec<_> = std::mem::take(&mut *self.lines.lock())
            .into_values()
            .collect();
        for l in lines {
            l.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn ctl() -> (Monitor, IrqController) {
        let m = Monitor::new();
        let c = IrqController::new(&m, Arc::new(Activity::default()), 1);
        (m, c)
    }

    /// The handler thread goes away with `free_irq` and a new request starts
    /// a new one: plug/unplug cycles do not accumulate threads.
    #[test]
    fn handler_thread_exits_after_free_and_restarts_on_request() {
        let (_m, c) = ctl();
        let line = c.allocate_line("cycle");
        let hits = Arc::new(AtomicUsize::new(0));
        for round in 1..=3 {
            let h2 = hits.clone();
            let h = c
                .request(
                    line.number(),
                    IrqRequest::new("cycle", move |_| {
                        h2.fetch_add(1, Ordering::SeqCst);
                        IrqReturn::Handled
                    }),
                )
                .unwrap();
            line.raise();
            assert!(line.wait_idle(Duration::from_secs(30)));
            assert_eq!(hits.load(Ordering::SeqCst), round);
            h.free();
            // Wait (bounded only as a hang guard) for the thread to leave.
            let mut st = line.st.lock();
            while st.thread.is_some() {
                let _ = line.cv.wait_for(&mut st, Duration::from_millis(10));
            }
        }
    }

    #[test]
    fn raise_deliver_and_free_waits_for_running_handler() {
        let (_m, c) = ctl();
        let line = c.allocate_line("t");
        let hits = Arc::new(AtomicUsize::new(0));
        let (enter_tx, enter_rx) = crossbeam::channel::bounded::<()>(1);
        let (go_tx, go_rx) = crossbeam::channel::bounded::<()>(1);
        let h2 = hits.clone();
        let h = c
            .request(
                line.number(),
                IrqRequest::new("t", move |_| {
                    h2.fetch_add(1, Ordering::SeqCst);
                    let _ = enter_tx.send(());
                    let _ = go_rx.recv();
                    IrqReturn::Handled
                }),
            )
            .unwrap();
        assert_eq!(
            c.request(line.number(), IrqRequest::new("x", |_| IrqReturn::None))
                .unwrap_err(),
            Errno::EBUSY
        );
        line.raise();
        enter_rx.recv().unwrap();
        // The handler is running: free_irq must wait for it.
        let h2 = h.clone();
        let freer = std::thread::spawn(move || h2.free());
        // Let the handler finish; free returns after.
        go_tx.send(()).unwrap();
        freer.join().unwrap();
        assert!(h.is_freed());
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let s = line.stats();
        assert_eq!(
            (s.raised, s.delivered, s.handled, s.unhandled),
            (2, 1, 1, 1)
        );
    }

    #[test]
    fn gated_handler_does_not_run_after_unplug_and_released_dev_id_reports() {
        let (m, c) = ctl();
        let line = c.allocate_line("g");
        let gate = Gate::named("binding");
        let hits = Arc::new(AtomicUsize::new(0));
        let h2 = hits.clone();
        let _h = c
            .request(
                line.number(),
                IrqRequest::new("g", move |ctx| {
                    assert!(ctx.bound().is_some());
                    h2.fetch_add(1, Ordering::SeqCst);
                    IrqReturn::Handled
                })
                .gated(&gate),
            )
            .unwrap();
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        gate.unplug().unwrap();
        line.raise();
        assert!(line.wait_idle(Duration::from_secs(10)));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(line.stats().gated, 1);
        assert!(m.reports().is_empty());

        let line2 = c.allocate_line("l");
        let state = Shadow::new(&m, "state", "legacy_state", 1u32);
        let s2 = state.clone();
        let _h2 = c
            .request(
                line2.number(),
                IrqRequest::new("l", move |_| {
                    let _ = *s2.get();
                    IrqReturn::Handled
                })
                .dev_id(IrqDevId::shadow(&state)),
            )
            .unwrap();
        state.free();
        line2.raise();
        assert!(line2.wait_idle(Duration::from_secs(10)));
        assert_eq!(m.reports().count(ReportKind::IrqAfterRelease), 1);
        assert_eq!(m.reports().count(ReportKind::UseAfterFree), 1);
    }
}
