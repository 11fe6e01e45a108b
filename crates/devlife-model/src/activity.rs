//! Who is doing what: the operation stack of each thread, the table of
//! blocked threads, and per-thread signals.
//!
//! Deterministic tests and the scenario runner need to order threads without
//! sleeps: "wait until thread `reader` is blocked inside `read` of `misc0`",
//! then unbind. Every file operation pushes a frame on a thread-local stack
//! (no shared write); when the operation sleeps (in a wait queue, in a stalled
//! hardware access, ...) the thread *publishes* itself in its kernel's
//! [`Activity`] table, and removes itself when it wakes. Observers wait on the
//! table's condition variable, so "blocked" means really parked, not "about to".
//!
//! Each thread also owns a [`Signal`] (see [`current_signal`]): raising it makes
//! the interruptible wait the thread is in (or its next one) return `EINTR`,
//! like a Linux signal. [`Activity::signal`] raises the signal of a blocked
//! thread by name.

use devlife::Signal;
use parking_lot::{Condvar, Mutex};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One operation in progress on the current thread.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// Kernel instance id.
    pub kernel: u64,
    /// Id of the node (or other object, e.g. an IRQ line) whose name the
    /// kernel's [`Activity`] knows (no shared write on the fast path).
    pub object: u64,
    /// Operation label (`"read"`, `"ioctl"`, `"VIDIOC_DQBUF"`, `"irq"`).
    pub op: &'static str,
    /// Device whose binding the node belongs to (0 when none).
    pub device: u64,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static SIGNAL: Signal = Signal::new();
}

/// The calling thread's signal. Raising it interrupts the thread's current or
/// next interruptible sleep inside a file operation (`EINTR`).
pub fn current_signal() -> Signal {
    SIGNAL.with(Signal::clone)
}

/// The calling thread's name as used in activity reports.
pub fn thread_name() -> String {
    let t = std::thread::current();
    t.name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:?}", t.id()))
}

/// Pops the frame pushed by [`push_frame`] when dropped.
pub(crate) struct FrameGuard(());

impl Drop for FrameGuard {
    fn drop(&mut self) {
        FRAMES.with(|f| {
            f.borrow_mut().pop();
        });
    }
}

pub(crate) fn push_frame(frame: Frame) -> FrameGuard {
    FRAMES.with(|f| f.borrow_mut().push(frame));
    FrameGuard(())
}

/// The innermost operation of the calling thread, if any.
pub(crate) fn top_frame() -> Option<Frame> {
    FRAMES.with(|f| f.borrow().last().cloned())
}

/// Whether the calling thread is inside an operation of a node of `device`
/// (used to refuse an unbind that would wait for itself).
pub(crate) fn inside_device(kernel: u64, device: u64) -> bool {
    FRAMES.with(|f| {
        f.borrow()
            .iter()
            .any(|fr| fr.kernel == kernel && fr.device == device && device != 0)
    })
}

/// Why a thread is parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Sleeping on a wait queue (blocking read, DQBUF, poll, ...).
    Wait,
    /// Waiting for simulated hardware (register access or bus transfer latency, stall).
    Hardware,
    /// Waiting inside the model for something else (module unload, `free_irq`, cancel).
    Kernel,
}

/// A thread published as blocked.
#[derive(Clone, Debug)]
pub struct Blocked {
    /// Name of the blocked thread.
    pub thread: String,
    /// Object (node name, or what the thread waits for).
    pub object: String,
    /// Operation label (`"read"`, `"ioctl"`, `"VIDIOC_DQBUF"`, ...), `"-"` outside any operation.
    pub op: &'static str,
    /// What it waits for.
    pub kind: BlockKind,
    /// When it started waiting.
    pub since: Instant,
    /// Journal id of the node (or other object) the operation runs on, 0
    /// outside any operation.
    pub object_id: u64,
    id: u64,
    signal: Signal,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "thread `{}` blocked ({:?}) in `{}` of `{}`",
            self.thread, self.kind, self.op, self.object
        )
    }
}

#[derive(Default)]
struct Table {
    blocked: Vec<Blocked>,
    next: u64,
    /// Bumped on every change, so waiters can tell changes apart.
    version: u64,
}

/// The blocked-thread table of one kernel.
///
/// # Invariants
///
/// An entry exists exactly while the [`BlockGuard`] that created it lives.
#[derive(Default)]
pub struct Activity {
    table: Mutex<Table>,
    cv: Condvar,
    names: Mutex<std::collections::HashMap<u64, Arc<str>>>,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("blocked", &self.table.lock().blocked.len())
            .finish()
    }
}

/// Keeps the calling thread published as blocked until dropped.
pub struct BlockGuard<'a> {
    activity: &'a Activity,
    id: u64,
}

impl Drop for BlockGuard<'_> {
    fn drop(&mut self) {
        self.activity.unpublish(self.id);
    }
}

/// A [`BlockGuard`] that owns a handle on its table.
pub struct OwnedBlockGuard {
    activity: Arc<Activity>,
    id: u64,
}

impl std::fmt::Debug for OwnedBlockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnedBlockGuard({})", self.id)
    }
}

impl Drop for OwnedBlockGuard {
    fn drop(&mut self) {
        self.activity.unpublish(self.id);
    }
}

impl Activity {
    /// Publishes the calling thread as blocked for `kind`, inside its innermost
    /// operation (or on `object` if it is in none).
    pub fn block(&self, kind: BlockKind, object: &str) -> BlockGuard<'_> {
        let (obj, op, oid) = match top_frame() {
            Some(f) => (
                self.names
                    .lock()
                    .get(&f.object)
                    .map_or_else(|| object.to_owned(), |n| n.to_string()),
                f.op,
                f.object,
            ),
            None => (object.to_owned(), "-", 0),
        };
        self.publish(kind, obj, op, oid)
    }

    /// Publishes the calling thread as blocked in operation `op` on `object`
    /// (used by kernel-side waits: `"unplug"`, `"unbind"`, `"free_irq"`, ...).
    pub fn block_as(&self, kind: BlockKind, object: &str, op: &'static str) -> BlockGuard<'_> {
        self.publish(kind, object.to_owned(), op, 0)
    }

    fn publish(
        &self,
        kind: BlockKind,
        obj: String,
        op: &'static str,
        object_id: u64,
    ) -> BlockGuard<'_> {
        let mut t = self.table.lock();
        t.next += 1;
        let id = t.next;
        t.blocked.push(Blocked {
            thread: thread_name(),
            object: obj,
            op,
            kind,
            since: Instant::now(),
            object_id,
            id,
            signal: current_signal(),
        });
        t.version += 1;
        self.cv.notify_all();
        BlockGuard { activity: self, id }
    }

    /// Like [`block_as`](Self::block_as), with a guard that owns its handle
    /// on the table (can be stored and dropped elsewhere).
    pub fn block_owned(
        self: &Arc<Self>,
        kind: BlockKind,
        object: &str,
        op: &'static str,
    ) -> OwnedBlockGuard {
        let g = self.publish(kind, object.to_owned(), op, 0);
        let id = g.id;
        std::mem::forget(g);
        OwnedBlockGuard {
            activity: self.clone(),
            id,
        }
    }

    /// Unplugs `gate`, publishing the calling thread as blocked in `op` on
    /// `object` from the moment the gate refuses new entries (its cancel
    /// hooks run) until the drain is over. An observer that sees the entry
    /// knows the gate is unplugged.
    pub fn unplug_published(
        self: &Arc<Self>,
        gate: &devlife::Gate,
        object: &str,
        op: &'static str,
    ) -> Result<devlife::UnplugStats, devlife::UnplugError> {
        let slot: Arc<Mutex<Option<OwnedBlockGuard>>> = Arc::new(Mutex::new(None));
        let (s2, a2, o2) = (slot.clone(), self.clone(), object.to_owned());
        let _ = gate.on_unplug(move || {
            *s2.lock() = Some(a2.block_owned(BlockKind::Kernel, &o2, op));
        });
        let r = gate.unplug();
        let g = slot.lock().take();
        drop(g);
        r
    }

    fn unpublish(&self, id: u64) {
        let mut t = self.table.lock();
        t.blocked.retain(|b| b.id != id);
        t.version += 1;
        self.cv.notify_all();
    }

    /// Names object `id` in blocked-thread reports.
    pub(crate) fn name_object(&self, id: u64, name: Arc<str>) {
        self.names.lock().insert(id, name);
    }

    /// Forgets the name of object `id`.
    pub(crate) fn forget_object(&self, id: u64) {
        self.names.lock().remove(&id);
    }

    /// How many objects are named right now (each live node and each line
    /// that ever had a handler).
    #[cfg(test)]
    pub(crate) fn named_objects(&self) -> usize {
        self.names.lock().len()
    }

    /// The threads blocked right now.
    pub fn blocked(&self) -> Vec<Blocked> {
        self.table.lock().blocked.clone()
    }

    /// Waits until `pred` holds on the blocked-thread table, or `timeout`
    /// passes (a safety bound against hangs, not a timing assertion).
    /// Returns whether `pred` held.
    pub fn wait_for(&self, timeout: Duration, mut pred: impl FnMut(&[Blocked]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut t = self.table.lock();
        loop {
            if pred(&t.blocked) {
                return true;
            }
            if self.cv.wait_until(&mut t, deadline).timed_out() {
                return pred(&t.blocked);
            }
        }
    }

    /// Waits until thread `thread` is blocked inside operation `op` (any
    /// object). `op` may be `"*"` for any operation.
    pub fn wait_blocked(&self, thread: &str, op: &str, timeout: Duration) -> bool {
        self.wait_for(timeout, |b| {
            b.iter()
                .any(|x| x.thread == thread && (op == "*" || x.op == op))
        })
    }

    /// Raises the signal of every blocked entry of `thread`. Returns whether
    /// the thread was blocked.
    pub fn signal(&self, thread: &str) -> bool {
        let sigs: Vec<Signal> = self
            .table
            .lock()
            .blocked
            .iter()
            .filter(|b| b.thread == thread)
            .map(|b| b.signal.clone())
            .collect();
        for s in &sigs {
            s.raise();
        }
        !sigs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_observe_and_signal() {
        let a = Arc::new(Activity::default());
        let a2 = a.clone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::Builder::new()
            .name("sleeper".into())
            .spawn(move || {
                a2.name_object(42, "misc0".into());
                let _f = push_frame(Frame {
                    kernel: 1,
                    object: 42,
                    op: "read",
                    device: 7,
                });
                assert!(inside_device(1, 7));
                assert!(!inside_device(1, 8));
                let _g = a2.block(BlockKind::Wait, "ignored");
                rx.recv().unwrap();
                current_signal().is_pending()
            })
            .unwrap();
        assert!(a.wait_blocked("sleeper", "read", Duration::from_secs(10)));
        let b = a.blocked();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].object, "misc0");
        assert!(b[0].to_string().contains("sleeper"));
        assert!(a.signal("sleeper"));
        tx.send(()).unwrap();
        assert!(t.join().unwrap());
        assert!(a.wait_for(Duration::from_secs(10), |b| b.is_empty()));
        assert!(!a.signal("sleeper"));
        assert!(top_frame().is_none());
    }
}
