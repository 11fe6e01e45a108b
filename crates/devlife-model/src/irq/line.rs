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
    /// Set when the line stops (its last reference went, or the controller
    /// shut down): the handler thread ends.
    stop: bool,
}

/// What the handler thread shares with its line: the state and the condition
/// variable it sleeps on. The thread holds this strongly and the line only
/// weakly, so that the line can die while its thread sleeps.
pub(crate) struct LineSync {
    pub(crate) st: Mutex<LineState>,
    pub(crate) cv: Condvar,
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
/// The handler thread is started by the line's first request and lives as
/// long as the line: it sleeps between a `free` and the next request (a
/// bind/unbind cycle starts no thread), and ends when the line is dropped
/// or stopped, so removing the device leaves no thread behind.
pub struct IrqLine {
    pub(crate) number: u32,
    name: String,
    pub(crate) sync: Arc<LineSync>,
    stats: Mutex<IrqStats>,
    monitor: Monitor,
    activity: Arc<Activity>,
    kernel: u64,
    /// The controller's table, where this line removes itself when it goes.
    table: Weak<LineTable>,
}

impl Drop for IrqLine {
    fn drop(&mut self) {
        // The handler thread ends with the line. It may be the thread that
        // dropped the last reference (after a delivery): it then sees `stop`
        // on its next turn and is not joined by itself.
        let (h, removed) = self.halt();
        drop(removed);
        if let Some(h) = h {
            let _ = h.join();
        }
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
            sync: Arc::new(LineSync {
                st: Mutex::new(LineState {
                    action: None,
                    pending: 0,
                    running: None,
                    thread: None,
                    thread_id: None,
                    stop: false,
                }),
                cv: Condvar::new(),
            }),
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
        self.sync.st.lock().action.is_some()
    }

    /// The hardware raises the line: the interrupt is queued for the handler
    /// thread, or counted as unhandled when no handler is installed.
    pub fn raise(&self) {
        self.stats.lock().raised += 1;
        let mut st = self.sync.st.lock();
        if st.action.is_none() {
            drop(st);
            self.stats.lock().unhandled += 1;
            return;
        }
        st.pending += 1;
        self.sync.cv.notify_all();
    }

    /// Waits until no interrupt is pending or being handled (a test helper;
    /// `timeout` is a safety bound). Returns whether the line went idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.sync.st.lock();
        while st.pending > 0 || st.running.is_some() {
            if self.sync.cv.wait_until(&mut st, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    /// The handler thread: sleeps until an interrupt is pending with an
    /// action installed, runs the handler through a strong reference taken
    /// for that delivery only, and ends when the line stops.
    fn thread_main(sync: Arc<LineSync>, line: Weak<IrqLine>) {
        loop {
            let action = {
                let mut st = sync.st.lock();
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
                        sync.cv.notify_all();
                    }
                    sync.cv.wait(&mut st);
                }
            };
            if let Some(l) = line.upgrade() {
                l.deliver(&action);
                // Drop our references before announcing the line idle, so
                // that whoever waits for idleness (free_irq, tests) sees the
                // handler's data released if the action was freed meanwhile.
                // If ours was the line's last reference, its drop stops this
                // thread (it does not join itself).
                drop(action);
                drop(l);
            } else {
                drop(action);
            }
            let mut st = sync.st.lock();
            st.running = None;
            sync.cv.notify_all();
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
        let mut st = self.sync.st.lock();
        if st.action.is_some() || st.stop {
            return Err(Errno::EBUSY);
        }
        self.activity.name_object(
            self.monitor_id(),
            format!("irq/{}-{}", self.number, action.name).into(),
        );
        st.action = Some(action);
        if st.thread.is_none() {
            let sync = self.sync.clone();
            let line = Arc::downgrade(self);
            let h = std::thread::Builder::new()
                .name(format!("irq/{}", self.number))
                .spawn(move || Self::thread_main(sync, line))
                .map_err(|_| Errno::ENOMEM)?;
            st.thread_id = Some(h.thread().id());
            st.thread = Some(h);
        }
        Ok(())
    }

    /// Removes action `id` and waits until its handler is not running
    /// (unless called from the handler itself). The handler thread stays,
    /// asleep, for the line's next request.
    pub(crate) fn free(&self, id: u64) {
        // The action is dropped after the line lock is released: its captured
        // data may hold the last reference to something whose destructor
        // stops this very line.
        let mut removed = None;
        let mut st = self.sync.st.lock();
        if st.action.as_ref().is_some_and(|a| a.id == id) {
            removed = st.action.take();
            // Only waiters for idleness care that nothing is pending any
            // more; the handler thread sleeps on until a request and a raise.
            if st.pending > 0 {
                st.pending = 0;
                self.sync.cv.notify_all();
            }
        }
        let on_handler_thread = st.thread_id == Some(std::thread::current().id());
        if st.running == Some(id) && !on_handler_thread {
            let _b = self
                .activity
                .block_as(BlockKind::Kernel, &self.name, "free_irq");
            while st.running == Some(id) {
                self.sync.cv.wait(&mut st);
            }
        }
        drop(st);
        drop(removed);
    }

    /// Marks the line stopped, uninstalls its action (returned, to be
    /// dropped outside the lock) and takes its handler thread's handle,
    /// unless called on that thread (which then ends on its next turn).
    fn halt(&self) -> (Option<JoinHandle<()>>, Option<Arc<Action>>) {
        let mut st = self.sync.st.lock();
        st.stop = true;
        let removed = st.action.take();
        self.sync.cv.notify_all();
        let h = if st.thread_id == Some(std::thread::current().id()) {
            None
        } else {
            st.thread.take()
        };
        (h, removed)
    }

    pub(crate) fn stop(&self) {
        let (h, removed) = self.halt();
        drop(removed);
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}
