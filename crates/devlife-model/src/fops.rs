//! File operations: the [`FileOps`] trait upper layers implement, the contexts
//! the model hands them, wait queues ([`EventQueue`]), poll masks and tables,
//! and memory mappings ([`VmOps`]).
//!
//! Every operation except `release` and the close of a mapping is dispatched
//! by the model inside an access of the node's gate (see [`crate::chrdev`]);
//! the [`OpCtx`] proves it and carries what the operation may need (the
//! access and its [`Bound`] proof, the node, the open flags, the caller's
//! signal). `release` gets a [`ReleaseCtx`] instead: it runs even after unplug,
//! outside any gate, and must do no I/O.

use crate::activity::{self, BlockKind};
use crate::chrdev::Node;
use crate::errno::{Errno, KResult};
use devlife::{Access, Bound, Gate, WaitError, WaitOptions, WaitQueue};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Poll event bits (Linux `EPOLL*` values).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PollMask(pub u32);

impl PollMask {
    /// Data to read.
    pub const IN: PollMask = PollMask(0x001);
    /// Urgent / exceptional data (V4L2 events).
    pub const PRI: PollMask = PollMask(0x002);
    /// Writing is possible.
    pub const OUT: PollMask = PollMask(0x004);
    /// Error condition.
    pub const ERR: PollMask = PollMask(0x008);
    /// Hang up (device gone).
    pub const HUP: PollMask = PollMask(0x010);
    /// Invalid request.
    pub const NVAL: PollMask = PollMask(0x020);
    /// Normal data to read.
    pub const RDNORM: PollMask = PollMask(0x040);
    /// Normal data can be written.
    pub const WRNORM: PollMask = PollMask(0x100);
    /// Nothing.
    pub const NONE: PollMask = PollMask(0);
    /// What a file without a poll handler reports (`DEFAULT_POLLMASK`).
    pub const DEFAULT: PollMask = PollMask(0x001 | 0x004 | 0x040 | 0x100);

    /// Whether any bit of `other` is set.
    pub fn intersects(self, other: PollMask) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: PollMask) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for PollMask {
    type Output = PollMask;
    fn bitor(self, rhs: Self) -> Self {
        PollMask(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for PollMask {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for PollMask {
    type Output = PollMask;
    fn bitand(self, rhs: Self) -> Self {
        PollMask(self.0 & rhs.0)
    }
}

impl std::fmt::Debug for PollMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(u32, &str); 8] = [
            (0x001, "IN"),
            (0x002, "PRI"),
            (0x004, "OUT"),
            (0x008, "ERR"),
            (0x010, "HUP"),
            (0x020, "NVAL"),
            (0x040, "RDNORM"),
            (0x100, "WRNORM"),
        ];
        let mut first = true;
        for (bit, n) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        let rest = self.0 & !0x17f;
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
            first = false;
        }
        if first {
            f.write_str("0")?;
        }
        Ok(())
    }
}

/// Flags of an open file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFlags {
    /// Opened for reading.
    pub read: bool,
    /// Opened for writing.
    pub write: bool,
    /// `O_NONBLOCK`: sleeping calls return `EAGAIN` instead.
    pub nonblock: bool,
}

impl Default for OpenFlags {
    fn default() -> Self {
        Self::RDWR
    }
}

impl OpenFlags {
    /// `O_RDWR`.
    pub const RDWR: OpenFlags = OpenFlags {
        read: true,
        write: true,
        nonblock: false,
    };
    /// `O_RDONLY`.
    pub const RDONLY: OpenFlags = OpenFlags {
        read: true,
        write: false,
        nonblock: false,
    };
    /// `O_WRONLY`.
    pub const WRONLY: OpenFlags = OpenFlags {
        read: false,
        write: true,
        nonblock: false,
    };
    /// The same flags with `O_NONBLOCK`.
    pub fn nonblocking(mut self) -> Self {
        self.nonblock = true;
        self
    }
}

/// Per-file private data as the model stores it (type-erased).
pub type AnyPrivate = Box<dyn Any + Send + Sync>;

/// The file operations of a node, implemented by upper layers (media device,
/// video device, subdev, audio, misc drivers).
///
/// `open` returns the per-file private data; every other operation receives
/// it by shared reference (several threads may use one open file at once:
/// use interior mutability), and `release` receives it by value after the
/// last handle and the last mapping of the file are gone.
///
/// Default bodies follow Linux for a missing handler: `read`/`write` give
/// `EINVAL`, `ioctl` gives `ENOTTY`, `mmap` gives `ENODEV`, `poll` reports
/// [`PollMask::DEFAULT`].
///
/// # Contract
///
/// * Every operation but `release` runs inside the node's gate: the node is
///   not unplugged until it returns. It may sleep only through
///   [`OpCtx::wait_event`] (or hold the access across a hardware access),
///   so that unplug can wake it.
/// * `release` runs exactly once per open file, possibly after unplug, on
///   whichever thread closes the last handle; it must not touch hardware.
/// * Ops must not hold a strong reference to their own [`Node`] (that would
///   be a cycle: the node owns its ops).
pub trait FileOps: Send + Sync + 'static {
    /// Per-open-file private data (`file->private_data`).
    type Private: Send + Sync + 'static;

    /// Opens the node. Runs inside the gate.
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<Self::Private>;

    /// Last close of the file (all handles and mappings gone). No gate, no I/O.
    fn release(&self, ctx: &ReleaseCtx<'_>, private: Self::Private) {
        let _ = (ctx, private);
    }

    /// `read(2)`. Returns the number of bytes produced.
    fn read(&self, ctx: &OpCtx<'_>, private: &Self::Private, buf: &mut [u8]) -> KResult<usize> {
        let _ = (ctx, private, buf);
        Err(Errno::EINVAL)
    }

    /// `write(2)`. Returns the number of bytes consumed.
    fn write(&self, ctx: &OpCtx<'_>, private: &Self::Private, buf: &[u8]) -> KResult<usize> {
        let _ = (ctx, private, buf);
        Err(Errno::EINVAL)
    }

    /// `ioctl(2)`: `arg` is the in/out argument buffer (the caller's struct,
    /// `_IOC_SIZE(cmd)` bytes in Linux). Returns the syscall's non-negative result.
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        private: &Self::Private,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let _ = (ctx, private, cmd, arg);
        Err(Errno::ENOTTY)
    }

    /// Label of an ioctl for the watchdog, the journal and "blocked in" queries
    /// (e.g. `"VIDIOC_DQBUF"`).
    fn ioctl_name(&self, cmd: u32) -> &'static str {
        let _ = cmd;
        "ioctl"
    }

    /// `poll(2)`: returns the current mask and registers the queues a sleeper
    /// must be woken by in `table`.
    fn poll(&self, ctx: &OpCtx<'_>, private: &Self::Private, table: &mut PollTable) -> PollMask {
        let _ = (ctx, private, table);
        PollMask::DEFAULT
    }

    /// `mmap(2)`: returns the mapping's memory. The returned object keeps its
    /// backing memory alive for as long as the mapping exists.
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        private: &Self::Private,
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        let _ = (ctx, private, req);
        Err(Errno::ENODEV)
    }
}

/// Object-safe form of [`FileOps`] the model stores in a node.
pub(crate) trait ErasedOps: Send + Sync {
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<AnyPrivate>;
    fn release(&self, ctx: &ReleaseCtx<'_>, private: AnyPrivate);
    fn read(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &mut [u8]) -> KResult<usize>;
    fn write(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &[u8]) -> KResult<usize>;
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64>;
    fn ioctl_name(&self, cmd: u32) -> &'static str;
    fn poll(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), t: &mut PollTable) -> PollMask;
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>>;
}

impl<T: FileOps> ErasedOps for T {
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<AnyPrivate> {
        FileOps::open(self, ctx).map(|p| Box::new(p) as AnyPrivate)
    }
    fn release(&self, ctx: &ReleaseCtx<'_>, private: AnyPrivate) {
        // The private data was produced by `open` of these same ops.
        if let Ok(p) = private.downcast::<T::Private>() {
            FileOps::release(self, ctx, *p);
        }
    }
    fn read(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &mut [u8]) -> KResult<usize> {
        FileOps::read(self, ctx, down::<T>(p)?, buf)
    }
    fn write(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &[u8]) -> KResult<usize> {
        FileOps::write(self, ctx, down::<T>(p)?, buf)
    }
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        FileOps::ioctl(self, ctx, down::<T>(p)?, cmd, arg)
    }
    fn ioctl_name(&self, cmd: u32) -> &'static str {
        FileOps::ioctl_name(self, cmd)
    }
    fn poll(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), t: &mut PollTable) -> PollMask {
        match down::<T>(p) {
            Ok(p) => FileOps::poll(self, ctx, p, t),
            Err(_) => PollMask::NVAL,
        }
    }
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        FileOps::mmap(self, ctx, down::<T>(p)?, req)
    }
}

fn down<T: FileOps>(p: &(dyn Any + Send + Sync)) -> KResult<&T::Private> {
    p.downcast_ref::<T::Private>().ok_or(Errno::EBADF)
}

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

    fn listen(&self, wq: Weak<WaitQueue>) -> u64 {
        let mut l = self.listeners.lock();
        l.0 += 1;
        let id = l.0;
        l.1.push((id, wq));
        id
    }

    fn unlisten(&self, id: u64) {
        self.listeners.lock().1.retain(|(i, _)| *i != id);
    }
}

/// Collects the queues a `poll` sleeper must be woken by (`poll_table`).
#[derive(Default)]
pub struct PollTable {
    pub(crate) queues: Vec<Arc<EventQueue>>,
    pub(crate) active: bool,
    /// The events the caller polls for (`poll_requested_events`); `None`
    /// when unknown.
    pub(crate) requested: Option<PollMask>,
}

impl PollTable {
    /// Registers `queue` (`poll_wait`). Ignored when the model is only
    /// re-evaluating the mask.
    pub fn wait(&mut self, queue: &Arc<EventQueue>) {
        if self.active && !self.queues.iter().any(|q| Arc::ptr_eq(q, queue)) {
            self.queues.push(queue.clone());
        }
    }

    /// The events the caller asked for (`poll_requested_events`); when
    /// unknown, every event. A driver may start I/O only for the events
    /// asked for (vb2 starts its read emulator only for `IN`/`RDNORM`).
    pub fn requested(&self) -> PollMask {
        self.requested.unwrap_or(PollMask(u32::MAX))
    }

    /// Number of queues registered.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether no queue was registered.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

/// What the caller of `mmap` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    /// Offset in the file (`pgoff << PAGE_SHIFT`; V4L2 uses it as a buffer cookie).
    pub offset: u64,
    /// Length in bytes.
    pub len: usize,
    /// `PROT_WRITE` requested.
    pub write: bool,
}

/// The memory behind a mapping (`vm_operations_struct` plus the pages).
///
/// Reads and writes are plain memory accesses: they work after unplug and
/// after `release` of other files, because the object keeps its memory alive.
/// `close` is `vm_close`: called once when the mapping goes; no I/O.
pub trait VmOps: Send + Sync {
    /// Mapped length in bytes.
    fn len(&self) -> usize;
    /// Whether the mapping is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies mapped bytes at `offset` into `buf` (`EFAULT` when out of range).
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()>;
    /// Copies `data` into the mapping at `offset` (`EFAULT` when out of range).
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()>;
    /// `vm_close`: the mapping is going away. No I/O.
    fn close(&self) {}
}

/// A plain shared memory block usable as mapping memory (and by drivers as a
/// DMA buffer): cloning shares the bytes.
#[derive(Clone, Default)]
pub struct SharedMemory {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedMemory({} bytes)", self.bytes.lock().len())
    }
}

impl SharedMemory {
    /// `len` zeroed bytes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            bytes: Arc::new(Mutex::new(vec![0; len])),
        }
    }

    /// Runs `f` on the bytes.
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.bytes.lock())
    }
}

impl VmOps for SharedMemory {
    fn len(&self) -> usize {
        self.bytes.lock().len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        let b = self.bytes.lock();
        let end = offset.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
        let src = b.get(offset..end).ok_or(Errno::EFAULT)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        let mut b = self.bytes.lock();
        let end = offset.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        let dst = b.get_mut(offset..end).ok_or(Errno::EFAULT)?;
        dst.copy_from_slice(data);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_mask_ops_and_debug() {
        let m = PollMask::ERR | PollMask::HUP;
        assert!(m.contains(PollMask::HUP));
        assert!(!m.intersects(PollMask::IN));
        assert_eq!(format!("{m:?}"), "ERR|HUP");
        assert_eq!(format!("{:?}", PollMask::NONE), "0");
        assert_eq!(format!("{:?}", PollMask(0x401)), "IN|0x400");
    }

    #[test]
    fn shared_memory_bounds() {
        let m = SharedMemory::zeroed(8);
        m.write(4, &[1, 2, 3, 4]).unwrap();
        let mut b = [0; 4];
        m.read(4, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(m.write(6, &[0; 4]), Err(Errno::EFAULT));
        assert_eq!(m.read(usize::MAX, &mut b), Err(Errno::EFAULT));
    }
}
