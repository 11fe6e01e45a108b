//! Calls that may sleep run off the FUSE workers, and signals sent to their
//! callers are forwarded to them.
//!
//! A FUSE worker that sleeps in `VIDIOC_DQBUF` cannot serve anybody else, and
//! fuser answers `FUSE_INTERRUPT` with `ENOSYS`, so the kernel never tells the
//! server that a blocked client got a signal. [`Blocking::spawn`] runs such a
//! call on a thread of its own (the thread keeps the `Reply*` and answers when
//! the model returns); the thread's model [`Signal`] is registered with the
//! caller's thread id. A watcher reads `/proc/<tid>/status` of every waiting
//! caller and raises the model signal when a signal is pending there that is
//! neither blocked nor ignored (a fatal `SIGKILL` included): the model call
//! returns `EINTR`, the reply goes out, the kernel delivers the signal. See
//! docs/fuse.md ("Blocking calls and signals").

use devlife::Signal;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often the watcher looks at the callers of waiting calls.
const SCAN_PERIOD: Duration = Duration::from_millis(5);

struct Pending {
    tid: u32,
    signal: Signal,
    raised: bool,
}

struct Inner {
    table: Mutex<HashMap<u64, Pending>>,
    changed: Condvar,
    next: AtomicU64,
    stop: AtomicBool,
    interrupts: AtomicU64,
}

/// The runner of sleeping calls and the signal watcher of one server.
///
/// # Invariants
///
/// Every call started by [`spawn`](Self::spawn) is in the table from before it
/// starts until after it returned; the watcher only raises signals of calls in
/// the table, so a raised signal can only interrupt the call it was meant for
/// (each call has a fresh thread, hence a fresh model signal).
#[derive(Clone)]
pub(crate) struct Blocking {
    inner: Arc<Inner>,
}

impl Blocking {
    /// A runner with its watcher thread.
    pub(crate) fn new() -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            table: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
            next: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            interrupts: AtomicU64::new(0),
        });
        let w = inner.clone();
        std::thread::Builder::new()
            .name("fuse-sigwatch".into())
            .spawn(move || watch(&w))?;
        Ok(Self { inner })
    }

    /// Runs `f` on a new thread on behalf of client thread `tid`. If no thread
    /// can be created, `f` runs on the caller (a FUSE worker), which is still
    /// correct, only less concurrent.
    pub(crate) fn spawn(&self, tid: u32, f: impl FnOnce() + Send + 'static) {
        let inner = self.inner.clone();
        let slot = Arc::new(Mutex::new(Some(f)));
        let s2 = slot.clone();
        let r = std::thread::Builder::new()
            .name(format!("fuse-call-{tid}"))
            .spawn(move || {
                if let Some(f) = s2.lock().take() {
                    run_registered(&inner, tid, f);
                }
            });
        if r.is_err()
            && let Some(f) = slot.lock().take()
        {
            run_registered(&self.inner, tid, f);
        }
    }

    /// Calls waiting right now.
    pub(crate) fn pending(&self) -> usize {
        self.inner.table.lock().len()
    }

    /// Signals forwarded so far.
    pub(crate) fn interrupts(&self) -> u64 {
        self.inner.interrupts.load(Ordering::Relaxed)
    }

    /// Stops the watcher (calls still waiting are answered by the unplug).
    pub(crate) fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let _g = self.inner.table.lock();
        self.inner.changed.notify_all();
    }
}

fn run_registered(inner: &Inner, tid: u32, f: impl FnOnce()) {
    let id = inner.next.fetch_add(1, Ordering::Relaxed);
    {
        let mut t = inner.table.lock();
        t.insert(
            id,
            Pending {
                tid,
                signal: devlife_model::current_signal(),
                raised: false,
            },
        );
        inner.changed.notify_all();
    }
    f();
    inner.table.lock().remove(&id);
}

fn watch(inner: &Inner) {
    let mut t = inner.table.lock();
    loop {
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        if t.is_empty() {
            inner.changed.wait(&mut t);
            continue;
        }
        let todo: Vec<(u64, u32)> = t
            .iter()
            .filter(|(_, p)| !p.raised)
            .map(|(id, p)| (*id, p.tid))
            .collect();
        drop(t);
        let hit: Vec<u64> = todo
            .into_iter()
            .filter(|&(_, tid)| signal_pending(tid))
            .map(|(id, _)| id)
            .collect();
        t = inner.table.lock();
        for id in hit {
            if let Some(p) = t.get_mut(&id) {
                p.raised = true;
                p.signal.raise();
                inner.interrupts.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.changed.wait_for(&mut t, SCAN_PERIOD);
    }
}

/// Whether thread `tid` has a signal pending that will be acted upon: pending
/// for the thread or its process, not blocked by the thread, not ignored. A
/// thread that no longer exists counts as interrupted (nobody waits for the
/// answer).
pub(crate) fn signal_pending(tid: u32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return true;
    };
    let field = |name: &str| -> u64 {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    const SIGKILL_BIT: u64 = 1 << (libc::SIGKILL - 1);
    let pending = field("SigPnd:") | field("ShdPnd:");
    pending & SIGKILL_BIT != 0 || pending & !field("SigBlk:") & !field("SigIgn:") != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_thread_has_no_pending_signal_and_a_missing_thread_counts_as_interrupted() {
        let tid = std::process::id();
        assert!(!signal_pending(tid));
        assert!(signal_pending(u32::MAX - 7));
    }
}
