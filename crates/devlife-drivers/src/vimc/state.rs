//! The driver state of one vimc binding (`struct vimc_device` and the
//! per-entity structs it points to), and the counters tests read (event
//! counts only: how many objects were released is the monitor's ledger's,
//! `devlife_media::kinds`).
//!
//! The state is one instrumented allocation ([`devlife::check::Shadow`]):
//! the framework driver allocates it with `alloc_shadow` (released on its
//! last reference: the binding, every entity's driver data, the interrupt
//! handler), the legacy twin with `devm_alloc` (freed at unbind whoever still
//! points to it), so every late access of the legacy twin is reported as a
//! use-after-free with its site.

use super::controls::CtrlValues;
use super::formats::{mbus_default, pix_default};
use super::hw::Regs;
use super::pattern::FrameFmt;
use super::topology::{ENTITIES, EntKind, NUM_CAPTURES, NUM_ENTITIES};
use devlife::check::CheckedMutex;
use devlife_media::mc::MediaDevice;
use devlife_media::uapi::subdev::V4l2MbusFramefmt;
use devlife_media::uapi::videodev2::{V4l2PixFormat, V4l2Rect};
use devlife_media::v4l2::{ActiveBuffer, BufferQueue};
use devlife_model::{BindingState, WeakKernel};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Counters shared by every binding of one registered vimc driver.
///
/// # Invariants
///
/// Counters only grow.
#[derive(Debug, Default)]
pub struct VimcStats {
    probes: AtomicU64,
    removes: AtomicU64,
    frames: AtomicU64,
    irqs: AtomicU64,
    late_completions: AtomicU64,
    stream_starts: AtomicU64,
    stream_stops: AtomicU64,
}

/// A copy of [`VimcStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Successful probes.
    pub probes: u64,
    /// `remove()` calls.
    pub removes: u64,
    /// Frames written into buffers by the streamer.
    pub frames: u64,
    /// Frame-done interrupts handled.
    pub irqs: u64,
    /// Buffers completed after their stream had stopped (refused by vb2).
    pub late_completions: u64,
    /// `start_streaming` calls that succeeded.
    pub stream_starts: u64,
    /// `stop_streaming` calls.
    pub stream_stops: u64,
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stat {
    Probes,
    Removes,
    Frames,
    Irqs,
    LateCompletions,
    StreamStarts,
    StreamStops,
}

impl VimcStats {
    pub(crate) fn bump(&self, s: Stat) {
        let c = match s {
            Stat::Probes => &self.probes,
            Stat::Removes => &self.removes,
            Stat::Frames => &self.frames,
            Stat::Irqs => &self.irqs,
            Stat::LateCompletions => &self.late_completions,
            Stat::StreamStarts => &self.stream_starts,
            Stat::StreamStops => &self.stream_stops,
        };
        c.fetch_add(1, Ordering::AcqRel);
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Acquire);
        StatsSnapshot {
            probes: l(&self.probes),
            removes: l(&self.removes),
            frames: l(&self.frames),
            irqs: l(&self.irqs),
            late_completions: l(&self.late_completions),
            stream_starts: l(&self.stream_starts),
            stream_stops: l(&self.stream_stops),
        }
    }
}

/// The driver's copy of a subdev's ACTIVE pad formats (what the streamer
/// uses), and whether the subdev streams (`set_fmt` then answers `EBUSY`).
#[derive(Debug, Clone)]
pub(crate) struct EntMirror {
    pub(crate) pads: Vec<V4l2MbusFramefmt>,
    pub(crate) crop: V4l2Rect,
    pub(crate) streaming: bool,
    /// The entity's control values as its `s_ctrl` stored them.
    pub(crate) ctrls: CtrlValues,
}

/// One processing step of a stream, with the formats it was started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Sensor(FrameFmt),
    Debayer(FrameFmt, FrameFmt),
    Scaler(FrameFmt, V4l2Rect, FrameFmt),
}

/// The streaming state of one capture (`struct vimc_stream` + the capture's
/// buffer list).
#[derive(Default)]
pub(crate) struct Stream {
    pub(crate) active: bool,
    pub(crate) queue: Option<BufferQueue>,
    /// Entity indices of the pipeline, sensor first.
    pub(crate) chain: Vec<usize>,
    pub(crate) stages: Vec<Stage>,
    pub(crate) out: V4l2PixFormat,
    pub(crate) sequence: u32,
    /// Filled buffers waiting for their frame-done interrupt.
    pub(crate) pending: VecDeque<ActiveBuffer>,
}

/// The state each capture entity keeps while bound.
pub(crate) struct CapState {
    /// The format the node was last set to (`S_FMT`).
    pub(crate) fmt: Mutex<V4l2PixFormat>,
    pub(crate) stream: Mutex<Stream>,
}

/// `struct vimc_device`.
///
/// # Invariants
///
/// * `ids[i]` is 0 until entity `i` is registered, then its graph id.
/// * `ents[i].pads` has one format per pad of entity `i`, equal to the
///   subdev's ACTIVE state (both are written by the entity's `set_fmt`).
pub(crate) struct VimcState {
    pub(crate) regs: Regs,
    pub(crate) mdev: MediaDevice,
    pub(crate) kernel: WeakKernel,
    pub(crate) interval: Duration,
    pub(crate) ids: [AtomicU32; NUM_ENTITIES],
    pub(crate) ents: [Mutex<EntMirror>; NUM_ENTITIES],
    pub(crate) caps: [CapState; NUM_CAPTURES],
    /// The binding that made this state: removed once its `remove()` returned.
    pub(crate) binding: BindingState,
    /// Open files of every node but the media node.
    pub(crate) opens: AtomicU64,
    /// The driver lock (`vimc.lock`, the captures' `vdev->lock`): a
    /// capture's open takes it. Checked for lock order.
    pub(crate) lock: CheckedMutex<()>,
    pub(crate) stats: Arc<VimcStats>,
}

/// The initial ACTIVE formats of entity `i`.
pub(crate) fn default_pads(i: usize) -> Vec<V4l2MbusFramefmt> {
    let kind = ENTITIES[i].kind;
    let mut pads = vec![mbus_default(); kind.pads().len()];
    if kind == EntKind::Debayer {
        pads[0].code = super::formats::code::SRGGB8_1X8;
    }
    pads
}

/// The initial crop of entity `i` (the scaler's sink).
pub(crate) fn default_crop() -> V4l2Rect {
    let d = mbus_default();
    V4l2Rect {
        left: 0,
        top: 0,
        width: d.width,
        height: d.height,
    }
}

impl VimcState {
    pub(crate) fn new(
        regs: Regs,
        mdev: MediaDevice,
        kernel: WeakKernel,
        binding: BindingState,
        interval: Duration,
        stats: Arc<VimcStats>,
    ) -> Self {
        let lock = CheckedMutex::new(mdev.monitor(), "vimc.lock", ());
        Self {
            regs,
            mdev,
            kernel,
            interval,
            ids: std::array::from_fn(|_| AtomicU32::new(0)),
            ents: std::array::from_fn(|i| {
                Mutex::new(EntMirror {
                    pads: default_pads(i),
                    crop: default_crop(),
                    streaming: false,
                    ctrls: CtrlValues::default(),
                })
            }),
            caps: std::array::from_fn(|_| CapState {
                fmt: Mutex::new(pix_default()),
                stream: Mutex::new(Stream::default()),
            }),
            binding,
            opens: AtomicU64::new(0),
            lock,
            stats,
        }
    }

    /// The entity index whose graph id is `id`.
    pub(crate) fn index_of(&self, id: u32) -> Option<usize> {
        self.ids
            .iter()
            .position(|i| id != 0 && i.load(Ordering::Acquire) == id)
    }

    /// The graph id of entity `i` (0 before registration).
    pub(crate) fn id(&self, i: usize) -> u32 {
        self.ids[i].load(Ordering::Acquire)
    }
}
