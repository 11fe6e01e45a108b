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

use crate::uapi::videodev2::{Timeval, V4l2Buffer, buf_cap, buf_flag, buf_type, memory};
use devlife::Monitor;
use devlife_model::{Errno, EventQueue, KResult, OpCtx};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod alloc;
mod driver;
mod fileio;
mod mapping;
mod stream;

pub use driver::{ActiveBuffer, BufferQueue, Stale};
pub use mapping::BufferMemory;

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
