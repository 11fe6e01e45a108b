//! [`IrqLine`]: one interrupt line, its handler thread and its counters.

use crate::IrqCtx;
use crate::IrqReturn;
use crate::activity::{self, Activity, BlockKind, Frame};
use crate::errno::{Errno, KResult};
use crate::irq::Action;
use devlife::Monitor;
use devlife::check::{Report, ReportKind};
use parking_lot::{Condvar, Mutex};
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

pub(crate) struct LineState {
    action: Option<Arc<Action>>,
    pending: u64,
    running: Option<u64>,
    pub(crate) thread: Option<JoinHandle<()>>,
    thread_id: Option<ThreadId>,
    /// Bumped when `free` detaches the handler thread: a thread whose
    /// generation is old ends.
    generation: u64,
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

/// The controller's table of lines, by number, held weakly.
pub(crate) type LineTable = Mutex<BTreeMap<u32, Weak<IrqLine>>>;

/// One interrupt line.
///
/// # Invariants
///
/// At most one action is installed; its handler runs only on the line's
/// handler thread, one invocation at a time. After `free` of an action
/// returns, that action's handler is not running and will not run again.
pub struct IrqLine {
    pub(crate) number: u32,
    name: String,
    pub(crate) st: Mutex<LineState>,
    pub(crate) cv: Condvar,
    stats: Mutex<IrqStats>,
    monitor: Monitor,
    activity: Arc<Activity>,
    kernel: u64,
    /// The controller's table, where this line removes itself when it goes.
    table: Weak<LineTable>,
}

impl Drop for IrqLine {
    fn drop(&mut self) {
        // Our entry is the one whose weak can no longer be upgraded (line
        // numbers are never reused, so it is ours).
        if let Some(t) = self.table.upgrade() {
            let mut t = t.lock();
            if t.get(&self.number).is_some_and(|w| w.strong_count() == 0) {
                t.remove(&self.number);
            }
        }
        self.activity.forget_object(self.monitor_id());
    }
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
    pub(crate) fn new(
        number: u32,
        name: &str,
        monitor: &Monitor,
        activity: Arc<Activity>,
        kernel: u64,
        table: Weak<LineTable>,
    ) -> Self {
        Self {
            number,
            name: name.to_owned(),
            st: Mutex::new(LineState {
                action: None,
                pending: 0,
                running: None,
                thread: None,
                thread_id: None,
                generation: 0,
                stop: false,
            }),
            cv: Condvar::new(),
            stats: Mutex::new(IrqStats::default()),
            monitor: monitor.clone(),
            activity,
            kernel,
            table,
        }
    }

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

    fn thread_main(self: Arc<Self>, generation: u64) {
        loop {
            let action = {
                let mut st = self.st.lock();
                loop {
                    if st.stop || st.generation != generation {
                        // Stopped, or `free` took this thread's handle and
                        // waits for it to end.
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

    pub(crate) fn install(self: &Arc<Self>, action: Arc<Action>) -> KResult<()> {
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
            let generation = st.generation;
            let h = std::thread::Builder::new()
                .name(format!("irq/{}", self.number))
                .spawn(move || me.thread_main(generation))
                .map_err(|_| Errno::ENOMEM)?;
            st.thread_id = Some(h.thread().id());
            st.thread = Some(h);
        }
        Ok(())
    }

    /// Removes action `id` and waits until its handler is not running
    /// (unless called from the handler itself).
    pub(crate) fn free(&self, id: u64) {
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
        let on_handler_thread = st.thread_id == Some(std::thread::current().id());
        if st.running == Some(id) && !on_handler_thread {
            let _b = self
                .activity
                .block_as(BlockKind::Kernel, &self.name, "free_irq");
            while st.running == Some(id) {
                self.cv.wait(&mut st);
            }
        }
        // The handler thread goes with its handler (as `free_irq` stops an
        // IRQ thread): wait for it to end, so that nothing of this line
        // outlives the last handle and the hardware that raises it.
        let thread = if removed.is_some() && st.action.is_none() && !on_handler_thread {
            st.generation += 1;
            st.thread_id = None;
            self.cv.notify_all();
            st.thread.take()
        } else {
            None
        };
        drop(st);
        if let Some(h) = thread {
            let _ = h.join();
        }
        drop(removed);
    }

    pub(crate) fn stop(&self) {
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
