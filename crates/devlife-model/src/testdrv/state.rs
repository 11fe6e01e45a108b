//! The test driver's state, its binding data and its per-file data.

use crate::chrdev::Node;
use crate::fops::{EventQueue, SharedMemory};
use crate::hw::Registers;
use devlife::Devres;
use devlife::check::Shadow;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

pub(crate) enum RegsAccess {
    Framework(Devres<Registers>),
    Legacy(Registers),
}

/// Driver state (`struct testdrv`).
pub struct State {
    pub(crate) fifo: Mutex<VecDeque<u32>>,
    pub(crate) readq: Arc<EventQueue>,
    pub(crate) produced: AtomicU64,
    pub(crate) consumed: AtomicU32,
    pub(crate) opens: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) deferred: AtomicU64,
    pub(crate) disconnected: AtomicBool,
    pub(crate) mem: SharedMemory,
    pub(crate) regs: RegsAccess,
}

impl State {
    /// Words produced (seen by the IRQ handler) so far.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::Acquire)
    }
    /// Words written through `write`.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Runs of the deferred work so far.
    pub fn deferred(&self) -> u64 {
        self.deferred.load(Ordering::Acquire)
    }
    /// Open files right now (maintained by open/release).
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Acquire)
    }
}

/// What the binding holds.
pub struct TestData {
    /// The state (the binding's reference).
    pub state: Shadow<State>,
    /// The character device node the file was opened on.
    pub node: Node,
}

/// Per-file data.
pub struct FilePriv {
    pub(crate) reads: AtomicU64,
}
