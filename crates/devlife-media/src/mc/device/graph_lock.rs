//! The graph lock (`graph_mutex`) and the removals deferred while it is busy.
//!
//! An entity or interface whose last reference drops must leave the graph,
//! but the drop may happen while the lock is held (even by the dropping
//! thread). The removal is queued instead ([`GraphLock::reap`]) and run by
//! the next holder, or at once if the lock is free.

use super::hooks::{EntityNotifyFn, Installed, SourceHooks};
use super::links::MediaDeviceOps;
use crate::mc::graph::Graph;
use parking_lot::{Mutex, MutexGuard};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Everything the graph lock protects.
pub(crate) struct GraphData {
    pub(crate) graph: Graph,
    pub(super) ops: Option<Arc<dyn MediaDeviceOps>>,
    pub(super) source: Option<Installed<Arc<dyn SourceHooks>>>,
    pub(super) notify: Vec<Installed<EntityNotifyFn>>,
    pub(super) next_token: u64,
}

/// Something to remove from the graph when the lock is next taken.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reap {
    /// The entity with this id.
    Entity(u32),
    /// The interface with this id.
    Interface(u32),
}

/// `graph_mutex`, with a count of waiting threads (tests order threads on it)
/// and a queue of removals requested while it was busy.
pub(super) struct GraphLock {
    pub(super) mutex: Mutex<GraphData>,
    pub(super) waiters: AtomicUsize,
    pending: Mutex<Vec<Reap>>,
    npending: AtomicUsize,
}

/// The graph lock held (`mutex_lock(&mdev->graph_mutex)`).
///
/// Derefs to the [`Graph`]. Dropping it unlocks. The lock is not recursive:
/// while holding a guard, do not call the [`MediaDevice`] methods documented
/// as taking the graph lock (use the [`Graph`] methods instead). Dropping
/// the last reference of an entity or interface while holding it is fine
/// (the removal is deferred to the next holder).
pub struct GraphGuard<'a> {
    pub(super) g: MutexGuard<'a, GraphData>,
}

impl std::ops::Deref for GraphGuard<'_> {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.g.graph
    }
}

impl std::ops::DerefMut for GraphGuard<'_> {
    fn deref_mut(&mut self) -> &mut Graph {
        &mut self.g.graph
    }
}

impl GraphLock {
    /// An unlocked lock over an empty graph with no hooks.
    pub(super) fn new() -> Self {
        GraphLock {
            mutex: Mutex::new(GraphData {
                graph: Graph::default(),
                ops: None,
                source: None,
                notify: Vec::new(),
                next_token: 1,
            }),
            waiters: AtomicUsize::new(0),
            pending: Mutex::new(Vec::new()),
            npending: AtomicUsize::new(0),
        }
    }

    /// Takes the lock (counting this thread as a waiter while it blocks) and
    /// runs the removals queued while it was busy.
    pub(super) fn lock(&self) -> GraphGuard<'_> {
        let g = match self.mutex.try_lock() {
            Some(g) => g,
            None => {
                self.waiters.fetch_add(1, Ordering::SeqCst);
                let g = self.mutex.lock();
                self.waiters.fetch_sub(1, Ordering::SeqCst);
                g
            }
        };
        let mut g = GraphGuard { g };
        self.drain(&mut g);
        g
    }

    /// Runs the queued removals; the caller holds the lock.
    fn drain(&self, g: &mut GraphGuard<'_>) {
        // Fast path: nothing queued (a reaper increments before it tries the
        // lock, so a holder that happens after it sees the count).
        if self.npending.load(Ordering::Acquire) == 0 {
            return;
        }
        let pending = {
            let mut p = self.pending.lock();
            self.npending.store(0, Ordering::Release);
            std::mem::take(&mut *p)
        };
        for r in pending {
            match r {
                Reap::Entity(id) => {
                    g.g.graph.remove_entity(id);
                }
                Reap::Interface(id) => {
                    g.g.graph.remove_interface(id);
                }
            }
        }
    }

    /// Queues a removal, and runs it at once if the lock is free.
    pub(super) fn reap(&self, r: Reap) {
        {
            let mut p = self.pending.lock();
            p.push(r);
            self.npending.store(p.len(), Ordering::Release);
        }
        if let Some(g) = self.mutex.try_lock() {
            let mut g = GraphGuard { g };
            self.drain(&mut g);
        }
    }
}
