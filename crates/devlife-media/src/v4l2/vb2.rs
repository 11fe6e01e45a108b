//! The buffer queue (videobuf2-like): `REQBUFS`, `QUERYBUF`, `QBUF`, `DQBUF`,
//! `STREAMON`, `STREAMOFF`, `mmap`, `poll` and the `read()` emulator, plus the
//! driver side ([`BufferQueue`], [`ActiveBuffer`]) that an IRQ handler or a
//! kthread uses to take the next queued buffer, fill it and complete it.
//!
//! # Locks (as in vb2)
//!
//! * `io` (`q->lock`): serialises the queue ioctls and is held across the
//!   driver's `queue_setup`, `start_streaming` and `stop_streaming`. A
//!   blocking `DQBUF` (or `read`) releases it while it sleeps, like vb2's
//!   `wait_prepare`/`wait_finish`.
//! * `core` (`q->done_lock`): buffer states and lists. Short sections only;
//!   it is the only lock the driver side takes, so a driver may complete
//!   buffers from a thread that `stop_streaming` joins.
//!
//! Lock order: `io` before `core`.
//!
//! # Lifetime
//!
//! A buffer's memory is an `Arc<`[`BufferMemory`]`>` shared by the queue, by
//! each mapping of it and by the driver while it fills it. Freeing buffers
//! (`REQBUFS(0)`, release of the owner, unplug) only drops the queue's
//! reference: a mapping keeps the memory alive after unbind and after the
//! queue is gone ("orphaned buffers"), and unmapping does no I/O.
//!
//! Each streaming session has a *generation*. Cancelling the queue (stream
//! off, unplug) bumps it, so a driver that completes a buffer too late (an
//! IRQ racing with unbind) gets [`Stale`] and touches nothing of the queue.
//!
//! At unplug the video device kills the queue ([`Queue::kill`]): the driver's
//! `stop_streaming` runs (the hardware is still there: nodes are unplugged
//! before `remove()`), buffers return, sleepers are woken (with `ENODEV`, by
//! the node's gate), and every later queue operation is refused.

use crate::uapi::io::V4l2CreateBuffers;
use crate::uapi::videodev2::{
    Timeval, V4l2Buffer, V4l2Requestbuffers, buf_cap, buf_flag, buf_type, field, memory,
};
use devlife::Monitor;
use devlife::check::LiveToken;
use devlife_model::{Errno, EventQueue, KResult, MmapRequest, OpCtx, PollMask, PollTable, VmOps};
use parking_lot::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Page size used for buffer allocation and mmap offsets.
pub const PAGE_SIZE: usize = 4096;
/// `PLANE_INDEX_SHIFT` of vb2: the mmap cookie of buffer `i` is `i << 15`.
pub const PLANE_INDEX_SHIFT: u32 = 12 + 3;
/// `VB2_MAX_FRAME`: the default maximum number of buffers of a queue.
pub const VB2_MAX_FRAME: u32 = 32;

/// The I/O methods a queue offers (`q->io_modes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoModes {
    /// MMAP streaming.
    pub mmap: bool,
    /// `read()` emulation.
    pub read: bool,
}

impl Default for IoModes {
    fn default() -> Self {
        Self {
            mmap: true,
            read: true,
        }
    }
}

/// Static configuration of a queue (`struct vb2_queue` fields a driver sets).
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// The buffer type (only capture types are served).
    pub type_: u32,
    /// Offered I/O methods.
    pub io_modes: IoModes,
    /// Buffers that must be queued before `start_streaming` is called.
    pub min_queued_buffers: u32,
    /// Minimum number of buffers `REQBUFS` allocates (also the read emulator's count).
    pub min_reqbufs_allocation: u32,
    /// Maximum number of buffers.
    pub max_num_buffers: u32,
    /// `V4L2_BUF_FLAG_TIMESTAMP_*` | `V4L2_BUF_FLAG_TSTAMP_SRC_*`.
    pub timestamp_flags: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            type_: buf_type::VIDEO_CAPTURE,
            io_modes: IoModes::default(),
            min_queued_buffers: 0,
            min_reqbufs_allocation: 2,
            max_num_buffers: VB2_MAX_FRAME,
            timestamp_flags: buf_flag::TIMESTAMP_MONOTONIC | buf_flag::TSTAMP_SRC_EOF,
        }
    }
}

/// The memory of one buffer: page-aligned bytes shared by the queue, its
/// mappings and the driver filling it.
///
/// # Invariants
///
/// `mapped` counts the live [`VmOps`] mappings created from this memory.
pub struct BufferMemory {
    bytes: Mutex<Box<[u8]>>,
    mapped: AtomicUsize,
    _live: LiveToken,
}

impl std::fmt::Debug for BufferMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferMemory")
            .field("len", &self.len())
            .field("mapped", &self.mapped())
            .finish()
    }
}

impl BufferMemory {
    fn new(monitor: &Monitor, len: usize) -> Arc<Self> {
        Arc::new(Self {
            bytes: Mutex::new(vec![0; len].into_boxed_slice()),
            mapped: AtomicUsize::new(0),
            _live: monitor.live("vb2_buffer_mem"),
        })
    }

    /// Allocated length (page aligned).
    pub fn len(&self) -> usize {
        self.bytes.lock().len()
    }

    /// Whether the memory is empty (never for a queue buffer).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live mappings of this memory.
    pub fn mapped(&self) -> usize {
        self.mapped.load(Ordering::Acquire)
    }

    /// Runs `f` on the bytes.
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.bytes.lock())
    }
}

/// One mapping of a buffer (the `vm_area_struct`'s private data): keeps the
/// memory alive; dropping it does no I/O.
struct Vb2Mapping {
    mem: Arc<BufferMemory>,
}

impl Vb2Mapping {
    fn new(mem: Arc<BufferMemory>) -> Self {
        mem.mapped.fetch_add(1, Ordering::AcqRel);
        Self { mem }
    }
}

impl Drop for Vb2Mapping {
    fn drop(&mut self) {
        self.mem.mapped.fetch_sub(1, Ordering::AcqRel);
    }
}

impl VmOps for Vb2Mapping {
    fn len(&self) -> usize {
        self.mem.len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        self.mem.with(|b| {
            let end = offset.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
            buf.copy_from_slice(b.get(offset..end).ok_or(Errno::EFAULT)?);
            Ok(())
        })
    }
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        self.mem.with(|b| {
            let end = offset.checked_add(data.len()).ok_or(Errno::EFAULT)?;
            b.get_mut(offset..end)
                .ok_or(Errno::EFAULT)?
                .copy_from_slice(data);
            Ok(())
        })
    }
}

/// State of a buffer (`enum vb2_buffer_state`, without requests and preparing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufState {
    /// Owned by userspace.
    Dequeued,
    /// Queued by userspace, not yet given to the driver (streaming not started).
    Queued,
    /// Owned by the driver (waiting to be filled, or being filled).
    Active,
    /// Filled, waiting for `DQBUF`.
    Done,
    /// Completed with an error, waiting for `DQBUF`.
    Error,
}

struct Slot {
    mem: Arc<BufferMemory>,
    /// Plane size from `queue_setup` (`v4l2_buffer.length`).
    length: u32,
    state: BufState,
    bytesused: u32,
    field: u32,
    sequence: u32,
    timestamp: Timeval,
    /// Payload flags (`KEYFRAME`, ...) set by the driver.
    flags: u32,
    /// `PREPARE_BUF` was called and the buffer not queued since.
    prepared: bool,
}

/// The buffer lists and states (`done_lock` domain).
struct Core {
    bufs: Vec<Slot>,
    /// Buffers given to the driver and not yet taken with `next_buffer`.
    driver: VecDeque<u32>,
    /// Completed buffers, in completion order.
    done: VecDeque<u32>,
    /// Buffers owned by the queue (QBUF'ed and not yet DQBUF'ed).
    queued_count: u32,
    streaming: bool,
    start_streaming_called: bool,
    error: bool,
    waiting_in_dqbuf: bool,
    dead: bool,
    generation: u64,
    sequence: u32,
}

/// Shared between the queue and every driver handle.
struct Shared {
    core: Mutex<Core>,
    done_wq: Arc<EventQueue>,
    timestamp_flags: u32,
}

impl Shared {
    fn now(&self) -> Timeval {
        Timeval::from_duration(monotonic_now())
    }
}

/// The model's `CLOCK_MONOTONIC`: time since the first use in this process.
pub fn monotonic_now() -> Duration {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// The read emulator's state (`struct vb2_fileio_data`).
#[derive(Debug, Default)]
struct FileIo {
    /// The buffer being read: index, position, payload size.
    cur: Option<(u32, usize, usize)>,
}

/// The ioctl-serialised state (`q->lock` domain).
struct Io {
    memory: u32,
    owner: Option<u64>,
    fileio: Option<FileIo>,
}

/// The driver callbacks the queue needs (`struct vb2_ops`).
pub(crate) trait QueueDriver {
    /// Buffer size for the current format, and may adjust the count.
    fn queue_setup(&self, count: &mut u32) -> KResult<u32>;
    /// Starts streaming; `q` is the driver's handle.
    fn start_streaming(&self, ctx: &OpCtx<'_>, q: &BufferQueue) -> KResult<()>;
    /// Stops streaming: after it returns the driver completes no buffer.
    fn stop_streaming(&self, q: &BufferQueue);
    /// A buffer was given to the driver while streaming.
    fn buf_queued(&self, q: &BufferQueue);
}

/// A vb2 queue.
///
/// # Invariants
///
/// * `queued_count` equals the number of buffers in state `Queued`, `Active`,
///   `Done` or `Error`.
/// * A buffer index is in `driver` only in state `Active`, in `done` only in
///   state `Done` or `Error`.
/// * Once `dead`, the queue holds no buffer and accepts no operation.
pub(crate) struct Queue {
    cfg: QueueConfig,
    io: Mutex<Io>,
    shared: Arc<Shared>,
    monitor: Monitor,
}

fn page_align(n: usize) -> usize {
    n.div_ceil(PAGE_SIZE).max(1) * PAGE_SIZE
}

impl Queue {
    pub(crate) fn new(cfg: QueueConfig, monitor: &Monitor) -> Self {
        Self {
            cfg,
            io: Mutex::new(Io {
                memory: 0,
                owner: None,
                fileio: None,
            }),
            shared: Arc::new(Shared {
                core: Mutex::new(Core {
                    bufs: Vec::new(),
                    driver: VecDeque::new(),
                    done: VecDeque::new(),
                    queued_count: 0,
                    streaming: false,
                    start_streaming_called: false,
                    error: false,
                    waiting_in_dqbuf: false,
                    dead: false,
                    generation: 0,
                    sequence: 0,
                }),
                done_wq: Arc::new(EventQueue::new()),
                timestamp_flags: cfg.timestamp_flags,
            }),
            monitor: monitor.clone(),
        }
    }

    pub(crate) fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// The driver's handle.
    pub(crate) fn handle(&self) -> BufferQueue {
        BufferQueue {
            shared: self.shared.clone(),
        }
    }

    /// Runs `f` with the queue locked and idle: `EBUSY` while buffers are
    /// allocated or the read emulator runs (format changes, `vb2_is_busy`).
    pub(crate) fn with_idle<R>(&self, f: impl FnOnce() -> KResult<R>) -> KResult<R> {
        let io = self.io.lock();
        {
            let c = self.shared.core.lock();
            if c.dead {
                return Err(Errno::ENODEV);
            }
            if io.fileio.is_some() || !c.bufs.is_empty() {
                return Err(Errno::EBUSY);
            }
        }
        f()
    }

    /// Whether the queue is streaming.
    pub(crate) fn is_streaming(&self) -> bool {
        self.shared.core.lock().streaming
    }

    fn caps(&self) -> u32 {
        let mut c = buf_cap::SUPPORTS_ORPHANED_BUFS;
        if self.cfg.io_modes.mmap {
            c |= buf_cap::SUPPORTS_MMAP;
        }
        c
    }

    fn check_owner(io: &Io, file: u64) -> KResult<()> {
        match io.owner {
            Some(o) if o != file => Err(Errno::EBUSY),
            _ => Ok(()),
        }
    }

    fn check_alive(&self) -> KResult<()> {
        if self.shared.core.lock().dead {
            Err(Errno::ENODEV)
        } else {
            Ok(())
        }
    }

    // ----- REQBUFS --------------------------------------------------------

    /// `VIDIOC_REQBUFS` (`vb2_ioctl_reqbufs`).
    pub(crate) fn reqbufs(
        &self,
        file: u64,
        p: &mut V4l2Requestbuffers,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        p.capabilities = self.caps();
        p.flags = 0;
        p.reserved = [0; 3];
        if p.memory != memory::MMAP || !self.cfg.io_modes.mmap {
            // USERPTR and DMABUF need the caller's memory or fds: not served.
            return Err(Errno::EINVAL);
        }
        if p.type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        Self::check_owner(&io, file)?;
        let mut count = p.count;
        self.reqbufs_core(&mut io, &mut count, drv)?;
        p.count = count;
        io.owner = (count != 0).then_some(file);
        Ok(())
    }

    /// `vb2_core_reqbufs`.
    fn reqbufs_core(&self, io: &mut Io, count: &mut u32, drv: &dyn QueueDriver) -> KResult<()> {
        {
            let c = self.shared.core.lock();
            if c.streaming {
                return Err(Errno::EBUSY);
            }
            if c.waiting_in_dqbuf && *count != 0 {
                return Err(Errno::EBUSY);
            }
        }
        if *count == 0 || !self.shared.core.lock().bufs.is_empty() {
            self.cancel(None);
            self.free_buffers();
            if *count == 0 {
                io.memory = 0;
                return Ok(());
            }
        }
        let mut n = (*count)
            .max(self.cfg.min_reqbufs_allocation)
            .min(self.cfg.max_num_buffers);
        let size = drv.queue_setup(&mut n)?;
        let n = n.min(self.cfg.max_num_buffers);
        if size == 0 || n == 0 {
            return Err(Errno::EINVAL);
        }
        let alloc = page_align(size as usize);
        let mut c = self.shared.core.lock();
        c.bufs = (0..n)
            .map(|_| Slot {
                mem: BufferMemory::new(&self.monitor, alloc),
                length: size,
                state: BufState::Dequeued,
                bytesused: 0,
                field: field::NONE,
                sequence: 0,
                timestamp: Timeval::default(),
                flags: 0,
                prepared: false,
            })
            .collect();
        io.memory = memory::MMAP;
        *count = n;
        Ok(())
    }

    // ----- CREATE_BUFS / PREPARE_BUF ----------------------------------------

    /// `VIDIOC_CREATE_BUFS` (`vb2_ioctl_create_bufs`, as Linux 6.1 answers
    /// it): adds `count` buffers
    /// of at least `sizeimage` bytes (`EINVAL` if smaller than the current
    /// format needs, as vimc's `queue_setup` says) after the existing ones;
    /// `count == 0` only checks memory and type. `ENOBUFS` when full.
    pub(crate) fn create_bufs(
        &self,
        file: u64,
        p: &mut V4l2CreateBuffers,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        let nbufs = self.shared.core.lock().bufs.len() as u32;
        p.index = nbufs;
        p.capabilities = self.caps();
        p.flags = 0;
        // `max_num_buffers` (6.8+) stays zero: the field is `reserved[0]` for
        // the 6.1-era v4l-utils docs/compliance.md measures against, which
        // checks that it is zero.
        p.max_num_buffers = 0;
        p.reserved = [0; 5];
        // vb2_verify_memory_type
        let verify = if p.memory != memory::MMAP
            || !self.cfg.io_modes.mmap
            || p.format.type_ != self.cfg.type_
        {
            Err(Errno::EINVAL)
        } else if io.fileio.is_some() {
            Err(Errno::EBUSY)
        } else {
            Ok(())
        };
        if p.count == 0 {
            return match verify {
                Err(Errno::EBUSY) => Ok(()),
                r => r,
            };
        }
        verify?;
        Self::check_owner(&io, file)?;
        let want = p.format.pix().sizeimage;
        if want == 0 {
            return Err(Errno::EINVAL);
        }
        if nbufs >= self.cfg.max_num_buffers {
            return Err(Errno::ENOBUFS);
        }
        if nbufs > 0 && io.memory != memory::MMAP {
            return Err(Errno::EINVAL);
        }
        if nbufs == 0 && self.shared.core.lock().waiting_in_dqbuf {
            return Err(Errno::EBUSY);
        }
        let mut n = p.count.min(self.cfg.max_num_buffers - nbufs);
        // The driver's queue_setup for the current format: the minimum size.
        let mut probe = n;
        let need = drv.queue_setup(&mut probe)?;
        if want < need {
            return Err(Errno::EINVAL);
        }
        n = n.min(self.cfg.max_num_buffers - nbufs);
        let alloc = page_align(want as usize);
        let mut c = self.shared.core.lock();
        for _ in 0..n {
            c.bufs.push(Slot {
                mem: BufferMemory::new(&self.monitor, alloc),
                length: want,
                state: BufState::Dequeued,
                bytesused: 0,
                field: field::NONE,
                sequence: 0,
                timestamp: Timeval::default(),
                flags: 0,
                prepared: false,
            });
        }
        io.memory = memory::MMAP;
        io.owner = Some(file);
        p.count = n;
        Ok(())
    }

    /// `VIDIOC_PREPARE_BUF` (`vb2_prepare_buf`): a dequeued buffer becomes
    /// prepared (`V4L2_BUF_FLAG_PREPARED`); `QBUF` then takes it as is.
    /// `EINVAL` for a buffer that is queued or already prepared.
    pub(crate) fn prepare_buf(&self, file: u64, b: &mut V4l2Buffer) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let mut c = self.shared.core.lock();
        let index = self.check_buf(&c, b, &io)?;
        let s = &mut c.bufs[index as usize];
        if s.state != BufState::Dequeued || s.prepared {
            return Err(Errno::EINVAL);
        }
        s.prepared = true;
        self.fill(&c, index, b);
        Ok(())
    }

    /// Drops the queue's reference to every buffer (mappings keep theirs).
    fn free_buffers(&self) {
        let old = {
            let mut c = self.shared.core.lock();
            c.driver.clear();
            c.done.clear();
            c.queued_count = 0;
            std::mem::take(&mut c.bufs)
        };
        // Memory that is not mapped is freed here, outside the lock.
        drop(old);
    }

    // ----- QUERYBUF / QBUF / DQBUF ------------------------------------------

    fn fill(&self, c: &Core, index: u32, b: &mut V4l2Buffer) {
        let s = &c.bufs[index as usize];
        b.index = index;
        b.type_ = self.cfg.type_;
        b.memory = memory::MMAP;
        b.bytesused = s.bytesused;
        b.field = s.field;
        b.timestamp = s.timestamp;
        b.sequence = s.sequence;
        b.timecode = Default::default();
        b.set_m_offset(index << PLANE_INDEX_SHIFT);
        b.length = s.length;
        b.reserved2 = 0;
        b.request_fd = 0;
        let mut flags = s.flags & (buf_flag::KEYFRAME | buf_flag::LAST);
        match s.state {
            BufState::Queued | BufState::Active => flags |= buf_flag::QUEUED,
            BufState::Error => flags |= buf_flag::ERROR | buf_flag::DONE,
            BufState::Done => flags |= buf_flag::DONE,
            BufState::Dequeued if s.prepared => flags |= buf_flag::PREPARED,
            BufState::Dequeued => {}
        }
        flags |=
            self.shared.timestamp_flags & (buf_flag::TIMESTAMP_MASK | buf_flag::TSTAMP_SRC_MASK);
        if s.mem.mapped() > 0 {
            flags |= buf_flag::MAPPED;
        }
        b.flags = flags;
    }

    fn check_buf(&self, c: &Core, b: &V4l2Buffer, io: &Io) -> KResult<u32> {
        if b.type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        if b.index as usize >= c.bufs.len() {
            return Err(Errno::EINVAL);
        }
        if b.memory != io.memory {
            return Err(Errno::EINVAL);
        }
        Ok(b.index)
    }

    /// `VIDIOC_QUERYBUF`.
    pub(crate) fn querybuf(&self, b: &mut V4l2Buffer) -> KResult<()> {
        let _io = self.io.lock();
        let c = self.shared.core.lock();
        if c.dead {
            return Err(Errno::ENODEV);
        }
        if b.type_ != self.cfg.type_ || b.index as usize >= c.bufs.len() {
            return Err(Errno::EINVAL);
        }
        self.fill(&c, b.index, b);
        Ok(())
    }

    /// `VIDIOC_QBUF`.
    pub(crate) fn qbuf(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        b: &mut V4l2Buffer,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let index = self.check_buf(&self.shared.core.lock(), b, &io)?;
        self.qbuf_core(ctx, index, drv)?;
        let c = self.shared.core.lock();
        self.fill(&c, index, b);
        Ok(())
    }

    /// `vb2_core_qbuf` (called with `io` held).
    fn qbuf_core(&self, ctx: &OpCtx<'_>, index: u32, drv: &dyn QueueDriver) -> KResult<()> {
        let (to_driver, start) = {
            let mut c = self.shared.core.lock();
            if c.error {
                return Err(Errno::EIO);
            }
            let s = &mut c.bufs[index as usize];
            if s.state != BufState::Dequeued {
                return Err(Errno::EINVAL);
            }
            s.bytesused = 0;
            s.flags = 0;
            s.prepared = false;
            c.queued_count += 1;
            if c.start_streaming_called {
                c.bufs[index as usize].state = BufState::Active;
                c.driver.push_back(index);
                (true, false)
            } else {
                c.bufs[index as usize].state = BufState::Queued;
                let start = c.streaming && c.queued_count >= self.cfg.min_queued_buffers;
                (false, start)
            }
        };
        if to_driver {
            drv.buf_queued(&self.handle());
        }
        if start {
            self.start_streaming(ctx, drv)?;
        }
        Ok(())
    }

    /// `VIDIOC_DQBUF`.
    pub(crate) fn dqbuf(&self, ctx: &OpCtx<'_>, file: u64, b: &mut V4l2Buffer) -> KResult<()> {
        let mut io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if b.type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        let index = self.wait_done(ctx, &mut io)?;
        let mut c = self.shared.core.lock();
        self.fill(&c, index, b);
        // The buffer left the done list: DONE is always clear after DQBUF
        // (ERROR stays).
        b.flags &= !buf_flag::DONE;
        Self::dequeued(&mut c, index);
        Ok(())
    }

    fn dequeued(c: &mut Core, index: u32) {
        c.bufs[index as usize].state = BufState::Dequeued;
        c.queued_count = c.queued_count.saturating_sub(1);
    }

    /// `__vb2_wait_for_done_vb` + `__vb2_get_done_vb`: pops the first done
    /// buffer, sleeping (with `io` released) while there is none.
    fn wait_done(&self, ctx: &OpCtx<'_>, io: &mut MutexGuard<'_, Io>) -> KResult<u32> {
        loop {
            {
                let mut c = self.shared.core.lock();
                if c.dead {
                    return Err(Errno::ENODEV);
                }
                if c.waiting_in_dqbuf {
                    return Err(Errno::EBUSY);
                }
                if !c.streaming {
                    return Err(Errno::EINVAL);
                }
                if c.error {
                    return Err(Errno::EIO);
                }
                if let Some(i) = c.done.pop_front() {
                    return Ok(i);
                }
                if ctx.nonblocking() {
                    return Err(Errno::EAGAIN);
                }
                c.waiting_in_dqbuf = true;
            }
            let shared = &self.shared;
            let r = MutexGuard::unlocked(io, || {
                ctx.wait_event(&shared.done_wq, || {
                    let c = shared.core.lock();
                    (!c.done.is_empty() || !c.streaming || c.error || c.dead).then_some(())
                })
            });
            self.shared.core.lock().waiting_in_dqbuf = false;
            r?;
        }
    }

    // ----- STREAMON / STREAMOFF ------------------------------------------------

    /// `VIDIOC_STREAMON`.
    pub(crate) fn streamon(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        type_: u32,
        drv: &dyn QueueDriver,
    ) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        self.streamon_core(ctx, drv)
    }

    fn streamon_core(&self, ctx: &OpCtx<'_>, drv: &dyn QueueDriver) -> KResult<()> {
        let start = {
            let mut c = self.shared.core.lock();
            if c.streaming {
                return Ok(());
            }
            if c.bufs.is_empty() || (c.bufs.len() as u32) < self.cfg.min_queued_buffers {
                return Err(Errno::EINVAL);
            }
            c.sequence = 0;
            c.queued_count >= self.cfg.min_queued_buffers
        };
        if start {
            self.start_streaming(ctx, drv)?;
        }
        self.shared.core.lock().streaming = true;
        Ok(())
    }

    /// `vb2_start_streaming`: hands the queued buffers to the driver and calls
    /// its `start_streaming`; on failure the buffers go back to `Queued`.
    fn start_streaming(&self, ctx: &OpCtx<'_>, drv: &dyn QueueDriver) -> KResult<()> {
        {
            let mut c = self.shared.core.lock();
            let queued: Vec<u32> = (0..c.bufs.len() as u32)
                .filter(|&i| c.bufs[i as usize].state == BufState::Queued)
                .collect();
            for i in queued {
                c.bufs[i as usize].state = BufState::Active;
                c.driver.push_back(i);
            }
            c.start_streaming_called = true;
            c.generation += 1;
        }
        let h = self.handle();
        match drv.start_streaming(ctx, &h) {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut c = self.shared.core.lock();
                c.start_streaming_called = false;
                c.generation += 1;
                c.driver.clear();
                // vb2 expects the driver to return them as QUEUED; it forces
                // those it kept. Buffers the driver completed instead (a bug
                // vb2 only warns about) are taken back too.
                c.done.clear();
                for s in c.bufs.iter_mut() {
                    if matches!(s.state, BufState::Active | BufState::Done | BufState::Error) {
                        s.state = BufState::Queued;
                    }
                }
                Err(e)
            }
        }
    }

    /// `VIDIOC_STREAMOFF`.
    pub(crate) fn streamoff(&self, file: u64, type_: u32, drv: &dyn QueueDriver) -> KResult<()> {
        let io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        if type_ != self.cfg.type_ {
            return Err(Errno::EINVAL);
        }
        self.cancel(Some(drv));
        Ok(())
    }

    /// `__vb2_queue_cancel`: stops the driver (if `drv` is given and it was
    /// started), returns every buffer to userspace and wakes the sleepers.
    ///
    /// Without `drv` the driver is *not* called; callers pass `None` only when
    /// the driver was never started or has already been stopped.
    fn cancel(&self, drv: Option<&dyn QueueDriver>) {
        let was_started = {
            let c = self.shared.core.lock();
            c.start_streaming_called
        };
        if let (true, Some(d)) = (was_started, drv) {
            d.stop_streaming(&self.handle());
        }
        {
            let mut c = self.shared.core.lock();
            c.streaming = false;
            c.start_streaming_called = false;
            c.error = false;
            c.generation += 1;
            c.driver.clear();
            c.done.clear();
            c.queued_count = 0;
            for s in c.bufs.iter_mut() {
                s.state = BufState::Dequeued;
            }
        }
        self.shared.done_wq.wake_all();
    }

    // ----- mmap / poll ------------------------------------------------------------

    /// `vb2_mmap`: maps the buffer whose cookie is `req.offset`.
    pub(crate) fn mmap(&self, req: &MmapRequest) -> KResult<Arc<dyn VmOps>> {
        let io = self.io.lock();
        let c = self.shared.core.lock();
        if c.dead {
            return Err(Errno::ENODEV);
        }
        if io.memory != memory::MMAP {
            return Err(Errno::EINVAL);
        }
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let cookie = req.offset;
        if cookie & ((1 << PLANE_INDEX_SHIFT) - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let index = usize::try_from(cookie >> PLANE_INDEX_SHIFT).map_err(|_| Errno::EINVAL)?;
        let slot = c.bufs.get(index).ok_or(Errno::EINVAL)?;
        if req.len > slot.mem.len() {
            return Err(Errno::EINVAL);
        }
        Ok(Arc::new(Vb2Mapping::new(slot.mem.clone())))
    }

    /// `vb2_poll` for a capture queue. May start the read emulator, as vb2
    /// does when nothing else uses the queue.
    pub(crate) fn poll(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        table: &mut PollTable,
        drv: &dyn QueueDriver,
    ) -> PollMask {
        // `v4l2_poll` on an unregistered node: the node's gone mask.
        if ctx.is_unplugging() {
            return ctx.node().policy().poll;
        }
        // A capture queue has nothing to report to a caller that does not
        // poll for input (vb2_core_poll).
        let wants_read = table
            .requested()
            .intersects(PollMask::IN | PollMask::RDNORM);
        if !wants_read {
            return PollMask::NONE;
        }
        table.wait(&self.shared.done_wq);
        let mut io = self.io.lock();
        let idle = {
            let c = self.shared.core.lock();
            if c.dead {
                return PollMask::ERR;
            }
            c.bufs.is_empty()
        };
        if idle && io.fileio.is_none() && self.cfg.io_modes.read {
            // No buffers and no emulator: nobody owns the queue.
            if self.init_fileio(ctx, &mut io, drv).is_err() {
                return PollMask::ERR;
            }
            io.owner = Some(file);
        }
        let c = self.shared.core.lock();
        if !c.streaming || c.error {
            return PollMask::ERR;
        }
        if !c.done.is_empty() {
            return PollMask::IN | PollMask::RDNORM;
        }
        PollMask::NONE
    }

    // ----- read() emulation -----------------------------------------------------------

    /// `vb2_read` (`__vb2_perform_fileio` for capture).
    pub(crate) fn read(
        &self,
        ctx: &OpCtx<'_>,
        file: u64,
        buf: &mut [u8],
        drv: &dyn QueueDriver,
    ) -> KResult<usize> {
        if !self.cfg.io_modes.read {
            return Err(Errno::EINVAL);
        }
        let mut io = self.io.lock();
        self.check_alive()?;
        Self::check_owner(&io, file)?;
        if io.fileio.is_none() {
            self.init_fileio(ctx, &mut io, drv)?;
            io.owner = Some(file);
        }
        if self.shared.core.lock().waiting_in_dqbuf {
            return Err(Errno::EBUSY);
        }
        let cur = io.fileio.as_ref().and_then(|f| f.cur);
        let (index, pos, size) = match cur {
            Some(c) => c,
            None => {
                let index = self.wait_done(ctx, &mut io)?;
                let mut c = self.shared.core.lock();
                let size = (c.bufs[index as usize].bytesused as usize)
                    .min(c.bufs[index as usize].mem.len());
                Self::dequeued(&mut c, index);
                (index, 0, size)
            }
        };
        // The emulator may have been torn down while we slept (unplug).
        let Some(fio) = io.fileio.as_mut() else {
            return Err(Errno::ENODEV);
        };
        let n = buf.len().min(size - pos);
        let mem = {
            let c = self.shared.core.lock();
            match c.bufs.get(index as usize) {
                Some(s) => s.mem.clone(),
                None => return Err(Errno::ENODEV),
            }
        };
        mem.with(|b| buf[..n].copy_from_slice(&b[pos..pos + n]));
        let pos = pos + n;
        if pos == size {
            fio.cur = None;
            self.qbuf_core(ctx, index, drv)?;
        } else {
            fio.cur = Some((index, pos, size));
        }
        Ok(n)
    }

    /// `__vb2_init_fileio` for reading: allocate, queue everything, stream on.
    fn init_fileio(&self, ctx: &OpCtx<'_>, io: &mut Io, drv: &dyn QueueDriver) -> KResult<()> {
        {
            let c = self.shared.core.lock();
            if c.streaming || !c.bufs.is_empty() {
                return Err(Errno::EBUSY);
            }
        }
        let mut count = self.cfg.min_reqbufs_allocation.max(1);
        io.fileio = Some(FileIo::default());
        let r = (|| {
            self.reqbufs_core(io, &mut count, drv)?;
            for i in 0..count {
                self.qbuf_core(ctx, i, drv)?;
            }
            self.streamon_core(ctx, drv)
        })();
        if let Err(e) = r {
            self.cancel(Some(drv));
            self.free_buffers();
            io.fileio = None;
            io.memory = 0;
            return Err(e);
        }
        Ok(())
    }

    // ----- release / unplug -------------------------------------------------------------

    /// The file `file` is closed: if it owns the queue, release the queue
    /// (`vb2_queue_release`). `drv` is `None` when the driver may not be
    /// called (the node is unplugged: [`kill`](Self::kill) stops it).
    pub(crate) fn release(&self, file: u64, drv: Option<&dyn QueueDriver>) {
        let mut io = self.io.lock();
        if io.owner != Some(file) {
            return;
        }
        io.owner = None;
        if self.shared.core.lock().dead {
            return;
        }
        let started = self.shared.core.lock().start_streaming_called;
        if started && drv.is_none() {
            // The driver is running and may not be stopped from here: leave
            // the buffers to the unplug path, which stops it first.
            return;
        }
        io.fileio = None;
        self.cancel(drv);
        self.free_buffers();
        io.memory = 0;
    }

    /// Unplug (`vb2_video_unregister_device`'s queue release): stops the
    /// driver if it streams, returns and frees every buffer, wakes every
    /// sleeper, and refuses every later operation. Idempotent.
    pub(crate) fn kill(&self, drv: &dyn QueueDriver) {
        let io = self.io.lock();
        self.kill_with(io, drv);
    }

    /// [`kill`](Self::kill) unless an operation holds the queue lock (an
    /// ioctl still in flight inside the driver): then nothing is done and
    /// `false` returned; the caller leaves it to the post-drain path
    /// ([`VideoDevice::unregister`](super::VideoDevice::unregister)). Never
    /// waits for the queue lock, so it is safe in an unplug cancel hook.
    pub(crate) fn try_kill(&self, drv: &dyn QueueDriver) -> bool {
        match self.io.try_lock() {
            Some(io) => {
                self.kill_with(io, drv);
                true
            }
            None => false,
        }
    }

    /// Marks the queue dead and wakes every sleeper *before* stopping the
    /// driver, and releases the queue lock before the driver call: a sleeper
    /// woken by the unplug (which re-takes the queue lock on its way out)
    /// returns `ENODEV` at once, even when the driver's `stop_streaming` waits
    /// for hardware that is slow to cancel its transfers.
    fn kill_with(&self, mut io: MutexGuard<'_, Io>, drv: &dyn QueueDriver) {
        {
            let mut c = self.shared.core.lock();
            if c.dead {
                return;
            }
            c.dead = true;
        }
        io.fileio = None;
        io.owner = None;
        io.memory = 0;
        drop(io);
        self.shared.done_wq.wake_all();
        self.cancel(Some(drv));
        self.free_buffers();
    }

    /// State of every buffer (for tests and inspection).
    pub(crate) fn states(&self) -> Vec<BufState> {
        self.shared
            .core
            .lock()
            .bufs
            .iter()
            .map(|s| s.state)
            .collect()
    }

    /// The memory of buffer `index` (for tests and drivers' self-checks).
    pub(crate) fn memory(&self, index: u32) -> Option<Arc<BufferMemory>> {
        self.shared
            .core
            .lock()
            .bufs
            .get(index as usize)
            .map(|s| s.mem.clone())
    }
}

/// The driver's handle to its queue: take the next buffer, fill it, complete
/// it, from any thread (an IRQ handler, a kthread). Cloning is cheap.
///
/// ```ignore
/// // In the driver's frame thread:
/// if let Some(mut buf) = queue.next_buffer() {
///     buf.with_mut(|b| b[..4].copy_from_slice(b"RGB3"));
///     buf.set_bytesused(buf.len() as u32);
///     let _ = buf.done(); // Err(Stale) if the stream was stopped meanwhile
/// }
/// ```
#[derive(Clone)]
pub struct BufferQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for BufferQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.shared.core.lock();
        f.debug_struct("BufferQueue")
            .field("streaming", &c.start_streaming_called)
            .field("pending", &c.driver.len())
            .field("done", &c.done.len())
            .finish()
    }
}

/// A completion came too late: the stream it belongs to was stopped (stream
/// off, unplug) after the buffer was taken. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("buffer completion after the stream stopped")]
pub struct Stale;

impl BufferQueue {
    /// Takes the oldest buffer given to the driver, if streaming and any.
    pub fn next_buffer(&self) -> Option<ActiveBuffer> {
        let mut c = self.shared.core.lock();
        if !c.start_streaming_called || c.dead {
            return None;
        }
        let index = c.driver.pop_front()?;
        let s = &c.bufs[index as usize];
        Some(ActiveBuffer {
            shared: self.shared.clone(),
            index,
            generation: c.generation,
            mem: s.mem.clone(),
            length: s.length,
            bytesused: 0,
            field: field::NONE,
            sequence: None,
            timestamp: None,
            flags: 0,
            finished: false,
        })
    }

    /// Buffers given to the driver and not yet taken.
    pub fn pending(&self) -> usize {
        self.shared.core.lock().driver.len()
    }

    /// Whether the driver has been started and not stopped.
    pub fn is_streaming(&self) -> bool {
        let c = self.shared.core.lock();
        c.start_streaming_called && !c.dead
    }

    /// `vb2_queue_error`: a fatal error; `DQBUF` and `QBUF` now fail with
    /// `EIO` and poll reports `ERR` until the stream is stopped.
    pub fn set_error(&self) {
        self.shared.core.lock().error = true;
        self.shared.done_wq.wake_all();
    }

    /// Returns every buffer the driver holds in its list with `ERROR`, as a
    /// driver's `stop_streaming` does (`vb2_buffer_done(..., ERROR)`).
    pub fn return_all(&self) {
        let mut c = self.shared.core.lock();
        while let Some(i) = c.driver.pop_front() {
            c.bufs[i as usize].state = BufState::Error;
            c.done.push_back(i);
        }
        drop(c);
        self.shared.done_wq.wake_all();
    }
}

/// A buffer the driver is filling (`struct vb2_v4l2_buffer` in state ACTIVE).
///
/// Complete it with [`done`](Self::done) or [`error`](Self::error); dropping it
/// without completing returns it with an error. Memory accesses stay valid
/// whatever happens to the queue (the buffer holds its memory).
pub struct ActiveBuffer {
    shared: Arc<Shared>,
    index: u32,
    generation: u64,
    mem: Arc<BufferMemory>,
    length: u32,
    bytesused: u32,
    field: u32,
    sequence: Option<u32>,
    timestamp: Option<Timeval>,
    flags: u32,
    finished: bool,
}

impl std::fmt::Debug for ActiveBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveBuffer")
            .field("index", &self.index)
            .field("length", &self.length)
            .finish()
    }
}

impl ActiveBuffer {
    /// The buffer index.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// The plane size (`v4l2_buffer.length`).
    pub fn len(&self) -> usize {
        self.length as usize
    }
    /// Whether the plane is empty (never).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }
    /// Runs `f` on the plane's bytes (DMA into the buffer).
    pub fn with_mut<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = self.len();
        self.mem.with(|b| f(&mut b[..len]))
    }
    /// Copies `data` into the plane at `offset` (`EINVAL` past its end).
    pub fn write(&mut self, offset: usize, data: &[u8]) -> KResult<()> {
        let end = offset.checked_add(data.len()).ok_or(Errno::EINVAL)?;
        if end > self.len() {
            return Err(Errno::EINVAL);
        }
        self.mem.with(|b| b[offset..end].copy_from_slice(data));
        Ok(())
    }
    /// Sets the payload size (clamped to the plane size).
    pub fn set_bytesused(&mut self, n: u32) {
        self.bytesused = n.min(self.length);
    }
    /// Sets the field (default `V4L2_FIELD_NONE`).
    pub fn set_field(&mut self, f: u32) {
        self.field = f;
    }
    /// Overrides the sequence number (default: the queue's frame counter).
    pub fn set_sequence(&mut self, seq: u32) {
        self.sequence = Some(seq);
    }
    /// Overrides the timestamp (default: the monotonic time of completion).
    pub fn set_timestamp(&mut self, ts: Duration) {
        self.timestamp = Some(Timeval::from_duration(ts));
    }
    /// Marks the buffer as a key frame.
    pub fn set_keyframe(&mut self) {
        self.flags |= buf_flag::KEYFRAME;
    }

    /// `vb2_buffer_done(vb, DONE)`: hands the buffer to `DQBUF` with the next
    /// sequence number and a timestamp. Returns the sequence number.
    pub fn done(mut self) -> Result<u32, Stale> {
        self.finish(BufState::Done)
    }

    /// `vb2_buffer_done(vb, ERROR)`.
    pub fn error(mut self) -> Result<u32, Stale> {
        self.finish(BufState::Error)
    }

    fn finish(&mut self, state: BufState) -> Result<u32, Stale> {
        self.finished = true;
        let ts = self.timestamp.unwrap_or_else(|| self.shared.now());
        let seq = {
            let mut c = self.shared.core.lock();
            if c.generation != self.generation || c.dead {
                return Err(Stale);
            }
            let seq = self.sequence.unwrap_or(c.sequence);
            c.sequence = seq.wrapping_add(1);
            let s = &mut c.bufs[self.index as usize];
            if s.state != BufState::Active {
                return Err(Stale);
            }
            s.state = state;
            s.bytesused = if state == BufState::Error {
                0
            } else {
                self.bytesused
            };
            s.field = self.field;
            s.sequence = seq;
            s.timestamp = ts;
            s.flags = self.flags;
            c.done.push_back(self.index);
            seq
        };
        self.shared.done_wq.wake_all();
        Ok(seq)
    }
}

impl Drop for ActiveBuffer {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish(BufState::Error);
        }
    }
}
