//! What an operation gets: [`OpCtx`] inside the node's gate, [`ReleaseCtx`] for
//! `release` outside it.

use crate::EventQueue;
use crate::OpenFlags;
use crate::activity::{self, BlockKind};
use crate::chrdev::Node;
use crate::errno::{Errno, KResult};
use devlife::{Access, Bound, Gate, WaitError, WaitOptions, WaitQueue};
use std::sync::Arc;
use std::time::Duration;

/// What a file operation running inside a node's gate gets from the model.
///
/// # Invariants
///
/// While an `OpCtx` exists, `access` is held: the node's gate cannot finish
/// unplugging (framework style), so everything reachable from the node stays
/// usable and device resources may be reached with [`OpCtx::bound`].
pub struct OpCtx<'a> {
    pub(crate) access: &'a Access<'a>,
    pub(crate) node: &'a Node,
    pub(crate) flags: OpenFlags,
    pub(crate) op: &'static str,
    pub(crate) file_id: u64,
}

impl<'a> OpCtx<'a> {
    /// The gate access this operation runs in.
    pub fn access(&self) -> &Access<'a> {
        self.access
    }

    /// Proof that the node is bound for the duration of the operation. In the
    /// legacy entry-check style this proves only the node's private op gate,
    /// so it opens no device resource.
    pub fn bound(&self) -> Bound<'_> {
        self.access.bound()
    }

    /// The node being operated on.
    pub fn node(&self) -> &Node {
        self.node
    }

    /// The kernel (absent only while the kernel itself is being dropped).
    pub fn kernel(&self) -> Option<crate::Kernel> {
        self.node.kernel()
    }

    /// The flags the file was opened with.
    pub fn flags(&self) -> OpenFlags {
        self.flags
    }

    /// Whether the file is non-blocking (`O_NONBLOCK`).
    pub fn nonblocking(&self) -> bool {
        self.flags.nonblock
    }

    /// The operation label (`"read"`, `"VIDIOC_DQBUF"`, ...).
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// Journal id of the open file (0 during `open`).
    pub fn file_id(&self) -> u64 {
        self.file_id
    }

    /// Whether the node started unplugging: long operations should bail out.
    pub fn is_unplugging(&self) -> bool {
        self.access.is_unplugging()
    }

    /// The errno this node kind returns for this operation after unplug.
    pub fn gone_errno(&self) -> Errno {
        self.node.policy().errno_for(self.op)
    }

    /// Sleeps until `cond` returns `Some` (`wait_event_interruptible`).
    ///
    /// * non-blocking file and `cond` false: `EAGAIN`;
    /// * the node unplugged (framework style): the node's gone errno;
    /// * the calling thread's signal raised: `EINTR`.
    ///
    /// While sleeping, the thread is published as blocked in this operation
    /// (see [`crate::Activity`]).
    pub fn wait_event<T>(&self, queue: &EventQueue, cond: impl FnMut() -> Option<T>) -> KResult<T> {
        match self.wait_inner(queue, None, cond)? {
            Some(v) => Ok(v),
            None => Err(Errno::ETIMEDOUT),
        }
    }

    /// Like [`wait_event`](Self::wait_event) with a timeout: `Ok(None)` when it
    /// expired.
    pub fn wait_event_timeout<T>(
        &self,
        queue: &EventQueue,
        timeout: Duration,
        cond: impl FnMut() -> Option<T>,
    ) -> KResult<Option<T>> {
        self.wait_inner(queue, Some(timeout), cond)
    }

    fn wait_inner<T>(
        &self,
        queue: &EventQueue,
        timeout: Option<Duration>,
        mut cond: impl FnMut() -> Option<T>,
    ) -> KResult<Option<T>> {
        if let Some(v) = cond() {
            return Ok(Some(v));
        }
        if self.flags.nonblock {
            return Err(Errno::EAGAIN);
        }
        let waiter = Waiter::new(self.node.op_gate(), std::slice::from_ref(&queue));
        let signal = activity::current_signal();
        let opts = WaitOptions {
            timeout,
            signal: Some(&signal),
        };
        let _blocked = self
            .node
            .shared()
            .activity
            .block(BlockKind::Wait, self.node.name());
        match waiter.wq.wait_until(self.access, opts, cond) {
            Ok(v) => Ok(Some(v)),
            Err(WaitError::TimedOut) => Ok(None),
            Err(WaitError::Interrupted) => Err(Errno::EINTR),
            Err(WaitError::Gone) => Err(self.gone_errno()),
        }
    }
}

/// A per-sleep devlife wait queue on the operation's gate, registered as a
/// listener of one or more [`EventQueue`]s.
pub(crate) struct Waiter<'q> {
    pub(crate) wq: Arc<WaitQueue>,
    queues: Vec<(&'q EventQueue, u64)>,
}

impl<'q> Waiter<'q> {
    pub(crate) fn new(gate: &Gate, queues: &[&'q EventQueue]) -> Self {
        let wq = Arc::new(WaitQueue::new(gate));
        let queues = queues
            .iter()
            .map(|q| (*q, q.listen(Arc::downgrade(&wq))))
            .collect();
        Self { wq, queues }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        for (q, id) in &self.queues {
            q.unlisten(*id);
        }
    }
}

/// What `release` gets: no gate (the node may be unplugged), no I/O allowed.
pub struct ReleaseCtx<'a> {
    pub(crate) node: &'a Node,
    pub(crate) file_id: u64,
    pub(crate) flags: OpenFlags,
}

impl ReleaseCtx<'_> {
    /// The node of the file.
    pub fn node(&self) -> &Node {
        self.node
    }
    /// Journal id of the file.
    pub fn file_id(&self) -> u64 {
        self.file_id
    }
    /// Flags the file was opened with.
    pub fn flags(&self) -> OpenFlags {
        self.flags
    }
    /// Whether the node has been unplugged (the device is gone).
    pub fn is_unplugged(&self) -> bool {
        self.node.is_unplugged()
    }
}
