//! [`EventQueue`]: a driver's wait queue that sleepers of any node listen on.

use devlife::WaitQueue;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// A wait queue head (`wait_queue_head_t`) that a driver owns and wakes when
/// its state changes. It is not tied to any gate: a sleeper inside a file
/// operation sleeps on a per-sleep devlife [`WaitQueue`] of the node's gate
/// that listens to this queue, so unplugging the *node* wakes it, whichever
/// object owns the queue.
///
/// # Invariants
///
/// A sleeper registers as a listener before it evaluates its condition, and
/// [`wake_all`](Self::wake_all) takes the listener lock after the waker's
/// state change: either the sleeper sees the change, or it is woken.
#[derive(Default)]
pub struct EventQueue {
    listeners: Mutex<Listeners>,
}

/// Next listener id, and the listeners (id, per-sleep queue).
type Listeners = (u64, Vec<(u64, Weak<WaitQueue>)>);

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("sleepers", &self.listeners.lock().1.len())
            .finish()
    }
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes every sleeper so it re-evaluates its condition.
    pub fn wake_all(&self) {
        let ls: Vec<Arc<WaitQueue>> = self
            .listeners
            .lock()
            .1
            .iter()
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        for l in ls {
            l.wake_all();
        }
    }

    /// Number of sleepers right now.
    pub fn sleepers(&self) -> usize {
        self.listeners.lock().1.len()
    }

    pub(crate) fn listen(&self, wq: Weak<WaitQueue>) -> u64 {
        let mut l = self.listeners.lock();
        l.0 += 1;
        let id = l.0;
        l.1.push((id, wq));
        id
    }

    pub(crate) fn unlisten(&self, id: u64) {
        self.listeners.lock().1.retain(|(i, _)| *i != id);
    }
}
