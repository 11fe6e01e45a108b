//! The coordinator's view of the threads: what each is doing, signals for
//! long sleepers, hang records, and joining at wind-down.

use super::super::stats::ThreadStats;
use super::super::summary::Hang;
use devlife_model::{BlockKind, Kernel};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a thread is doing, for the hang watchdog.
pub(super) struct Slot {
    pub(super) op: &'static str,
    pub(super) object: String,
    pub(super) since: Option<Instant>,
}

/// Shared between one worker thread and the coordinator.
pub(super) struct Worker {
    pub(super) name: String,
    pub(super) ops: AtomicU64,
    pub(super) unplugs: AtomicU64,
    pub(super) slot: Mutex<Slot>,
}

impl Worker {
    pub(super) fn new(name: String) -> Arc<Self> {
        Arc::new(Self {
            name,
            ops: AtomicU64::new(0),
            unplugs: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                op: "",
                object: String::new(),
                since: None,
            }),
        })
    }

    pub(super) fn begin(&self, op: &'static str, object: &str) {
        let mut s = self.slot.lock();
        s.op = op;
        s.object.clear();
        s.object.push_str(object);
        s.since = Some(Instant::now());
    }

    pub(super) fn end(&self) {
        self.slot.lock().since = None;
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// `(op, object, start)` if the thread is in a call.
    pub(super) fn current(&self) -> Option<(&'static str, String, Instant)> {
        let s = self.slot.lock();
        s.since.map(|t| (s.op, s.object.clone(), t))
    }
}

/// Signals every userspace thread that has slept in one call for longer
/// than `after`. Returns how many were signalled.
pub(super) fn signal_sleepers(k: &Kernel, after: Duration) -> u64 {
    let mut n = 0;
    for b in k.activity().blocked() {
        if b.kind == BlockKind::Wait
            && b.thread.starts_with("stress-user")
            && b.since.elapsed() >= after
            && k.activity().signal(&b.thread)
        {
            n += 1;
        }
    }
    n
}

/// Records (once per call) every worker in one call for longer than `limit`.
pub(super) fn watch(
    workers: &[Arc<Worker>],
    limit: Duration,
    hangs: &mut Vec<Hang>,
    seen: &mut Vec<(String, Instant)>,
) {
    for w in workers {
        let Some((op, object, since)) = w.current() else {
            continue;
        };
        let t = since.elapsed();
        if t < limit {
            continue;
        }
        // One report per call: calls are told apart by their start time.
        if seen.iter().any(|(n, s)| *n == w.name && *s == since) {
            continue;
        }
        seen.push((w.name.clone(), since));
        hangs.push(Hang {
            thread: w.name.clone(),
            op: op.to_owned(),
            object,
            stuck_ms: t.as_millis() as u64,
            recovered: true,
        });
    }
}

/// Joins `threads`, waiting at most `limit` for all of them. A thread still
/// running then is reported as hung (and stays detached); userspace threads
/// are sent signals for a while first so that a legacy sleeper nobody woke
/// can still leave.
pub(super) fn join_all(
    threads: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)>,
    limit: Duration,
    hangs: &mut Vec<Hang>,
    k: &Kernel,
    users: bool,
) -> Vec<(Arc<Worker>, ThreadStats)> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && threads.iter().any(|(_, h)| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut out = Vec::new();
    let mut stuck = Vec::new();
    for (w, h) in threads {
        if h.is_finished() {
            if let Ok(s) = h.join() {
                out.push((w, s));
            }
            continue;
        }
        let (op, object, t) = w
            .current()
            .map(|(op, o, since)| (op, o, since.elapsed()))
            .unwrap_or(("-", String::new(), limit));
        // Replace an earlier "recovered" record of the same call.
        hangs.retain(|x| !(x.thread == w.name && x.op == op && x.recovered));
        hangs.push(Hang {
            thread: w.name.clone(),
            op: op.to_owned(),
            object,
            stuck_ms: t.as_millis() as u64,
            recovered: false,
        });
        stuck.push((w, h));
    }
    if users && !stuck.is_empty() {
        // Let them go if a signal can: 1 s of signals, then detach.
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && stuck.iter().any(|(_, h)| !h.is_finished()) {
            for (w, _) in &stuck {
                k.activity().signal(&w.name);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (w, h) in stuck {
            if h.is_finished()
                && let Ok(s) = h.join()
            {
                out.push((w, s));
            }
        }
    }
    out
}
