//! [`VideoDevice`]: a V4L2 video node (`struct video_device` + `v4l2-ioctl.c`
//! + the vb2 file operations) and the driver-facing [`VideoOps`] trait.
//!
//! # Lifetime
//!
//! The device's memory (its [`VideoOps`] driver data, its format, its queue)
//! is one `Arc`. The driver holds it through its [`VideoDevice`] handles;
//! every open file holds it; the node's file operations hold it *weakly*, so
//! `open` is a try-get and the node never keeps it alive by itself. When the
//! last handle and the last file are gone, [`VideoOps::release`] runs (the
//! `video_device.release` callback), then the v4l2 device reference is put.
//! Mappings keep their buffer memory, not the device.
//!
//! # Unplug
//!
//! The node is unplugged by its binding before the driver's `remove` (or by
//! [`VideoDevice::unregister`]). Sleepers in `DQBUF`/`read`/`poll` wake with
//! `ENODEV` (poll: `ERR|HUP|PRI`). At step 2 of that unplug the queue is
//! killed — the driver's `stop_streaming` runs while the hardware is still
//! there, buffers return — unless an ioctl in flight holds the queue lock (a
//! cancel hook must not wait for it); then [`VideoDevice::unregister`],
//! which the driver calls in `remove` like `vb2_video_unregister_device`,
//! does it after the drain. A file released afterwards does no driver
//! streaming call.

use super::SubdevHandle;
use super::ctrls::ioctl::{CtrlIoctl, ctrl_ioctl};
use super::ctrls::{CtrlConfig, CtrlHandler};
use super::event::{self, FileEvents};
use super::prio::{FilePrio, PrioState};
use super::subdev::entity_pad_format;
use super::vb2::{BufferQueue, Queue, QueueConfig, QueueDriver};
use super::{LINUX_VERSION_CODE, NodeRegistrar, V4l2Device, pixfmt_description, usercopy};
use crate::mc::{Entity, EntityDesc, EntityOps, EntityType, Interface, LinkInfo, Pipeline};
use crate::uapi::controls::{V4l2Event, V4l2EventSubscription, event::ALL as EVENT_ALL};
use crate::uapi::io::{V4L2_INPUT_TYPE_CAMERA, V4l2CreateBuffers, V4l2Frmsizeenum, V4l2Input};
use crate::uapi::ioctl::put_str;
use crate::uapi::media::{
    MEDIA_ENT_F_IO_V4L, MEDIA_INTF_T_V4L_VIDEO, MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE,
    MEDIA_PAD_FL_SINK,
};
use crate::uapi::subdev::V4l2MbusFramefmt;
use crate::uapi::videodev2::{
    V4L2_PIX_FMT_PRIV_MAGIC, V4l2Buffer, V4l2Capability, V4l2Fmtdesc, V4l2Format, V4l2PixFormat,
    V4l2Requestbuffers, VIDEO_IOCTLS, VideoIoctl, buf_type, cap, fourcc_str,
};
use devlife::Monitor;
use devlife::check::{EventKind, LiveToken};
use devlife_model::{
    Errno, FileOps, KResult, MmapRequest, Node, NodeKind, NodeRegistration, NodeSpec, OpCtx,
    PollMask, PollTable, ReleaseCtx, VmOps, WeakNode,
};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The strings of `VIDIOC_QUERYCAP`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapStrings {
    /// Driver name, e.g. `vimc`.
    pub driver: String,
    /// Card name.
    pub card: String,
    /// Bus location, e.g. `platform:vimc`.
    pub bus_info: String,
}

/// One entry of `VIDIOC_ENUM_FMT` as a driver describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FmtDesc {
    /// The fourcc.
    pub pixelformat: u32,
    /// `V4L2_FMT_FLAG_*`.
    pub flags: u32,
    /// Description; `None` uses the core's table (`v4l_fill_fmtdesc`).
    pub description: Option<&'static str>,
}

impl FmtDesc {
    /// A format with no flags and the core's description.
    pub fn new(pixelformat: u32) -> Self {
        Self {
            pixelformat,
            flags: 0,
            description: None,
        }
    }
}

/// What a video driver implements. The framework calls these with the
/// arguments already validated (buffer type, indices, sizes, reserved
/// fields), inside the node's gate for the file-operation ones, and maps the
/// errors. The implementing type *is* the driver's per-node data: it lives
/// until [`release`](Self::release).
///
/// Only `querycap`, `enum_fmt`, `try_fmt`, `start_streaming` and
/// `stop_streaming` are required.
pub trait VideoOps: Send + Sync + 'static {
    /// `VIDIOC_QUERYCAP` strings.
    fn querycap(&self) -> CapStrings;

    /// The `index`th format (`EINVAL` past the end). `mbus_code` is the
    /// application's media bus code filter (0: none; only on `IO_MC` nodes).
    fn enum_fmt(&self, ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc>;

    /// Adjusts `pix` to a format the device supports (`TRY_FMT`, and `S_FMT`
    /// before it is stored). Must not fail for a merely unsupported value:
    /// it picks the closest one, as V4L2 requires.
    fn try_fmt(&self, ctx: &OpCtx<'_>, pix: &mut V4l2PixFormat) -> KResult<()>;

    /// `S_FMT` succeeded with `pix` (already adjusted and about to be stored).
    fn s_fmt(&self, ctx: &OpCtx<'_>, pix: &V4l2PixFormat) -> KResult<()> {
        let _ = (ctx, pix);
        Ok(())
    }

    /// `queue_setup`: the buffer size for `fmt`; may change the buffer count.
    fn queue_setup(&self, fmt: &V4l2PixFormat, count: &mut u32) -> KResult<u32> {
        let _ = count;
        if fmt.sizeimage == 0 {
            return Err(Errno::EINVAL);
        }
        Ok(fmt.sizeimage)
    }

    /// Starts capturing into the buffers of `queue`
    /// ([`BufferQueue::next_buffer`]). An error (e.g. `EPIPE` from pipeline
    /// validation) fails `STREAMON` and returns the buffers to the queue.
    fn start_streaming(&self, ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()>;

    /// Stops capturing: when it returns, the driver completes no more buffer
    /// (late completions are refused anyway). Called at `STREAMOFF`, at the
    /// owner's close, and at unplug — always while the device is still bound.
    fn stop_streaming(&self, queue: &BufferQueue);

    /// Whether the driver implements [`enum_framesizes`](Self::enum_framesizes)
    /// (`vidioc_enum_framesizes` set): without it the ioctl is `ENOTTY`
    /// before its argument is looked at.
    const HAS_ENUM_FRAMESIZES: bool = false;

    /// `VIDIOC_ENUM_FRAMESIZES`: fill `type_` and the union of `fs` for
    /// `fs.index` / `fs.pixel_format` (`EINVAL` past the end or for an
    /// unknown format). Only called if
    /// [`HAS_ENUM_FRAMESIZES`](Self::HAS_ENUM_FRAMESIZES).
    fn enum_framesizes(&self, ctx: &OpCtx<'_>, fs: &mut V4l2Frmsizeenum) -> KResult<()> {
        let _ = (ctx, fs);
        Err(Errno::ENOTTY)
    }

    /// The names of the node's inputs (`VIDIOC_ENUMINPUT`), all cameras. A
    /// node with `V4L2_CAP_IO_MC` has the core's single input named after
    /// the node whatever this says; a node without `IO_MC` and without
    /// inputs answers `ENOTTY` to the input ioctls.
    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }

    /// `VIDIOC_S_INPUT` chose input `index` (already range-checked).
    fn s_input(&self, ctx: &OpCtx<'_>, index: u32) -> KResult<()> {
        let _ = (ctx, index);
        Ok(())
    }

    /// `s_ctrl` of the node's controls: apply the validated `value` of
    /// control `id` (inside the node's gate; the handler lock is held: do
    /// not call back into the handler). An error undoes the whole set.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let _ = (id, value);
        Ok(())
    }

    /// A buffer was queued to the driver while streaming.
    fn buf_queued(&self, queue: &BufferQueue) {
        let _ = queue;
    }

    /// Validates the enabled link from `source` (the ACTIVE format of the
    /// remote subdev's source pad) to this node, whose format is `fmt`
    /// (pipeline start; under the graph lock: no media device calls). The
    /// default requires equal width and height (`EPIPE`).
    fn link_validate(&self, source: &V4l2MbusFramefmt, fmt: &V4l2PixFormat) -> KResult<()> {
        if source.width == fmt.width && source.height == fmt.height {
            Ok(())
        } else {
            Err(Errno::EPIPE)
        }
    }

    /// A file is being opened (inside the gate).
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<()> {
        let _ = ctx;
        Ok(())
    }

    /// A file was closed (its last handle and mapping are gone). May run
    /// after unplug: no hardware access.
    fn close(&self) {}

    /// `video_device.release`: the last reference to the video device is
    /// gone; the driver data is dropped right after.
    fn release(&self) {}
}

/// How to build a [`VideoDevice`].
#[derive(Clone, Debug)]
pub struct VideoDeviceConfig {
    /// Entity / card name (e.g. `"Raw Capture 0"`).
    pub name: String,
    /// `V4L2_CAP_*` of the node (`vdev->device_caps`), non-zero.
    pub device_caps: u32,
    /// The buffer queue.
    pub queue: QueueConfig,
    /// Initial format.
    pub format: V4l2PixFormat,
    /// Entity function (`MEDIA_ENT_F_IO_V4L`).
    pub function: u32,
    /// Entity pads (`MEDIA_PAD_FL_*`; a capture node has one sink pad).
    pub pads: Vec<u32>,
    /// Entity flags (`MEDIA_ENT_FL_*`).
    pub entity_flags: u32,
    /// Reproduce the pre-fix kernel (see the module documentation of `v4l2`).
    pub legacy: bool,
    /// The node's controls (`vdev->ctrl_handler`); with controls the node
    /// also serves control events and `LOG_STATUS`.
    pub controls: Vec<CtrlConfig>,
}

impl VideoDeviceConfig {
    /// A capture node with streaming and read I/O.
    pub fn capture(name: &str, format: V4l2PixFormat) -> Self {
        Self {
            name: name.to_owned(),
            device_caps: cap::VIDEO_CAPTURE | cap::STREAMING | cap::READWRITE,
            queue: QueueConfig::default(),
            format,
            function: MEDIA_ENT_F_IO_V4L,
            pads: vec![MEDIA_PAD_FL_SINK],
            entity_flags: 0,
            legacy: false,
            controls: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Registration {
    node: WeakNode,
    reg: Option<NodeRegistration>,
    registered: bool,
}

pub(crate) struct VideoInner<D: VideoOps> {
    id: u64,
    name: String,
    device_caps: u32,
    legacy: bool,
    ops: D,
    /// The control handler (none without controls), owned by the device.
    ctrls: Option<CtrlHandler>,
    /// Open files' priorities (`vdev->prio`).
    prio: PrioState,
    /// The current input (`G_INPUT`).
    input: AtomicU32,
    fmt: Mutex<V4l2PixFormat>,
    queue: Queue,
    reg: Mutex<Registration>,
    /// The media entity (its ops hold this device weakly), its interface
    /// devnode once registered, and the pipeline it streams in.
    entity: Entity,
    intf: Mutex<Option<Interface>>,
    pipe: Pipeline,
    next_fh: AtomicU64,
    monitor: Monitor,
    _live: LiveToken,
    // Last: put after the release callback (`v4l2_device_release`, step 4).
    v4l2_dev: V4l2Device,
}

impl<D: VideoOps> Drop for VideoInner<D> {
    fn drop(&mut self) {
        self.ops.release();
        self.monitor.journal().record_named(
            self.id,
            &self.name,
            EventKind::Release,
            Some("video_device"),
        );
    }
}

/// A V4L2 video device. Cloning gives another handle to the same device.
///
/// # Invariants
///
/// * The driver data `D` lives until the last handle and the last open file
///   are gone; [`VideoOps::release`] runs exactly once, then.
/// * After the node is unplugged, no file operation reaches the driver, and
///   the driver's `stop_streaming` has been called if it was started.
pub struct VideoDevice<D: VideoOps> {
    inner: Arc<VideoInner<D>>,
}

impl<D: VideoOps> Clone for VideoDevice<D> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<D: VideoOps> std::fmt::Debug for VideoDevice<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoDevice")
            .field("name", &self.inner.name)
            .field("node", &self.node().map(|n| n.name().to_owned()))
            .finish()
    }
}

/// Adapts the driver's [`VideoOps`] to the queue's callbacks.
struct Drv<'a, D: VideoOps> {
    v: &'a VideoInner<D>,
}

impl<D: VideoOps> QueueDriver for Drv<'_, D> {
    fn queue_setup(&self, count: &mut u32) -> KResult<u32> {
        let fmt = *self.v.fmt.lock();
        self.v.ops.queue_setup(&fmt, count)
    }
    fn start_streaming(&self, ctx: &OpCtx<'_>, q: &BufferQueue) -> KResult<()> {
        self.v.ops.start_streaming(ctx, q)
    }
    fn stop_streaming(&self, q: &BufferQueue) {
        self.v.ops.stop_streaming(q);
    }
    fn buf_queued(&self, q: &BufferQueue) {
        self.v.ops.buf_queued(q);
    }
}

impl<D: VideoOps> VideoDevice<D> {
    /// Allocates a video device (`video_device_alloc` + setup). It holds a
    /// reference to `v4l2_dev` until its release. `EINVAL` without device
    /// caps or for a non-capture queue type.
    pub fn new(v4l2_dev: &V4l2Device, cfg: VideoDeviceConfig, ops: D) -> KResult<Self> {
        if cfg.device_caps == 0 || cfg.queue.type_ != buf_type::VIDEO_CAPTURE {
            return Err(Errno::EINVAL);
        }
        let monitor = v4l2_dev.monitor().clone();
        let desc = EntityDesc::new(cfg.name.clone(), cfg.function, EntityType::VideoDevice)
            .pads(&cfg.pads)
            .flags(cfg.entity_flags);
        let entity = Entity::new(
            &monitor,
            desc,
            VideoEntityOps::<D> {
                vdev: std::sync::OnceLock::new(),
            },
        )?;
        let ctrls = if cfg.controls.is_empty() {
            None
        } else {
            Some(CtrlHandler::new(&cfg.controls)?)
        };
        let id = monitor.next_id();
        monitor
            .journal()
            .record_named(id, &cfg.name, EventKind::Alloc, Some("video_device"));
        let v = Self {
            inner: Arc::new(VideoInner {
                id,
                name: cfg.name,
                device_caps: cfg.device_caps,
                legacy: cfg.legacy,
                ops,
                ctrls,
                prio: PrioState::new(),
                input: AtomicU32::new(0),
                fmt: Mutex::new(cfg.format),
                queue: Queue::new(cfg.queue, &monitor),
                reg: Mutex::new(Registration::default()),
                entity,
                intf: Mutex::new(None),
                pipe: Pipeline::new(),
                next_fh: AtomicU64::new(1),
                _live: monitor.live("video_device"),
                monitor,
                v4l2_dev: v4l2_dev.clone(),
            }),
        };
        if let Some(o) = v.inner.entity.ops_as::<VideoEntityOps<D>>() {
            let _ = o.vdev.set(Arc::downgrade(&v.inner));
        }
        Ok(v)
    }

    /// `video_register_device(vdev, VFL_TYPE_VIDEO, -1)`: registers
    /// `/dev/videoN`. `EBUSY` if already registered.
    pub fn register(&self, registrar: &impl NodeRegistrar) -> KResult<Node> {
        let mut r = self.inner.reg.lock();
        if r.registered {
            return Err(Errno::EBUSY);
        }
        let ops = Arc::new(VideoNodeOps {
            vdev: Arc::downgrade(&self.inner),
        });
        let spec = NodeSpec::new(NodeKind::Video)
            .legacy_if(self.inner.legacy)
            .label(self.inner.name.clone());
        let (node, reg) = registrar.register(spec, ops)?;
        if !self.inner.legacy {
            let weak: Weak<VideoInner<D>> = Arc::downgrade(&self.inner);
            // Step 2 of the unplug: cancel pending I/O while the hardware is
            // still bound. The hook holds the device weakly (no cycle) and
            // never blocks: if an ioctl in flight holds the queue lock, the
            // stream is stopped by `unregister()` in the driver's `remove`,
            // after the drain.
            let hook = node.on_unplug(move || {
                if let Some(v) = weak.upgrade() {
                    v.queue.try_kill(&v.drv());
                }
            });
            if let Err(e) = hook {
                if let Some(reg) = reg {
                    let _ = reg.unregister();
                } else {
                    let _ = node.unregister();
                }
                return Err(e);
            }
        }
        // `video_register_media_controller`: entity, interface devnode,
        // interface link (errors are returned and unwound, not ignored).
        if let Some(m) = self.inner.v4l2_dev.media_device() {
            let d = node.devt();
            let e = &self.inner.entity;
            let r = m.register_entity(e).and_then(|_| {
                m.set_entity_devnode(e, d.major, d.minor)?;
                let intf = m.create_intf_devnode(MEDIA_INTF_T_V4L_VIDEO, 0, d.major, d.minor)?;
                if let Err(err) =
                    m.create_intf_link(&intf, e, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE)
                {
                    m.remove_interface(&intf);
                    return Err(err);
                }
                Ok(intf)
            });
            match r {
                Ok(intf) => *self.inner.intf.lock() = Some(intf),
                Err(err) => {
                    m.unregister_entity(e);
                    let _ = match reg {
                        Some(reg) => reg.unregister(),
                        None => node.unregister(),
                    };
                    return Err(err);
                }
            }
        }
        r.node = node.downgrade();
        r.reg = reg;
        r.registered = true;
        self.inner.monitor.journal().note(
            self.inner.id,
            &self.inner.name,
            format!("registered as {}", node.name()),
        );
        Ok(node)
    }

    /// `vb2_video_unregister_device`: unregisters the node (refuse new calls,
    /// wake sleepers, drain) and releases the queue (stop streaming, return
    /// and free the buffers). Idempotent; memory stays until the last file
    /// closes. With `legacy`, only the node is unregistered, as the pre-fix
    /// `video_unregister_device`.
    pub fn unregister(&self) -> KResult<()> {
        let (node, reg) = {
            let mut r = self.inner.reg.lock();
            (r.node.upgrade(), r.reg.take())
        };
        let res = match (reg, node) {
            (Some(reg), _) => reg.unregister(),
            (None, Some(n)) => n.unregister(),
            (None, None) => Ok(()),
        };
        if !self.inner.legacy {
            self.inner.kill();
            // Out of the graph now; the memory (and the media device
            // reference) stays until the release.
            let intf = self.inner.intf.lock().take();
            if let Some(m) = self.inner.v4l2_dev.media_device() {
                if let Some(i) = intf {
                    m.remove_interface(&i);
                }
                m.unregister_entity(&self.inner.entity);
            }
        }
        res
    }

    /// The media entity.
    pub fn entity(&self) -> &Entity {
        &self.inner.entity
    }

    /// `video_device_pipeline_start`: starts the media pipeline from pad 0
    /// of this node's entity, validating every enabled link (`EPIPE`,
    /// `EBUSY`, `ENOLINK`). Without a media device it does nothing.
    pub fn pipeline_start(&self) -> KResult<()> {
        let Some(m) = self.inner.v4l2_dev.media_device() else {
            return Ok(());
        };
        let pad = self.inner.entity.pad_key(0).ok_or(Errno::EINVAL)?;
        m.pipeline_start(pad, &self.inner.pipe)
    }

    /// `video_device_pipeline_stop`.
    pub fn pipeline_stop(&self) -> KResult<()> {
        let Some(m) = self.inner.v4l2_dev.media_device() else {
            return Ok(());
        };
        let pad = self.inner.entity.pad_key(0).ok_or(Errno::EINVAL)?;
        m.pipeline_stop(pad, &self.inner.pipe)
    }

    /// The pipeline this node streams in.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipe
    }

    /// The subdevs upstream of this node, nearest first: from each sink pad,
    /// the source end of its enabled data link, recursively (what a bridge
    /// calls `s_stream` on). Try-get references: subdevs being released are
    /// skipped.
    pub fn upstream_subdevs(&self) -> Vec<SubdevHandle> {
        let Some(m) = self.inner.v4l2_dev.media_device() else {
            return Vec::new();
        };
        let Some(start) = self.inner.entity.id() else {
            return Vec::new();
        };
        let entities: Vec<Entity> = {
            let g = m.graph();
            let links = g.links();
            let mut out = Vec::new();
            let mut seen = vec![start];
            let mut todo = vec![start];
            while let Some(id) = todo.pop() {
                for l in &links {
                    let Some((src, snk)) = l.data() else { continue };
                    if snk.entity == id
                        && l.flags & MEDIA_LNK_FL_ENABLED != 0
                        && !seen.contains(&src.entity)
                    {
                        seen.push(src.entity);
                        todo.insert(0, src.entity);
                        if let Some(e) = g.entity_handle(src.entity) {
                            out.push(e);
                        }
                    }
                }
            }
            out
        };
        entities
            .iter()
            .filter_map(SubdevHandle::from_entity)
            .collect()
    }

    /// The node, while it exists.
    pub fn node(&self) -> Option<Node> {
        self.inner.reg.lock().node.upgrade()
    }

    /// The driver data.
    pub fn driver(&self) -> &D {
        &self.inner.ops
    }

    /// The control handler, if the node has controls.
    pub fn ctrls(&self) -> Option<&CtrlHandler> {
        self.inner.ctrls.as_ref()
    }

    /// The highest priority an open file holds (`VIDIOC_G_PRIORITY`).
    pub fn priority(&self) -> u32 {
        self.inner.prio.max()
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The v4l2 device.
    pub fn v4l2_dev(&self) -> &V4l2Device {
        &self.inner.v4l2_dev
    }

    /// The current format.
    pub fn format(&self) -> V4l2PixFormat {
        *self.inner.fmt.lock()
    }

    /// The driver's handle to the buffer queue.
    pub fn queue(&self) -> BufferQueue {
        self.inner.queue.handle()
    }

    /// Whether the queue streams (`vb2_is_streaming`).
    pub fn is_streaming(&self) -> bool {
        self.inner.queue.is_streaming()
    }

    /// States of the queue's buffers (inspection, tests).
    pub fn buffer_states(&self) -> Vec<super::BufState> {
        self.inner.queue.states()
    }

    /// The memory of buffer `index` (inspection, tests).
    pub fn buffer_memory(&self, index: u32) -> Option<Arc<super::BufferMemory>> {
        self.inner.queue.memory(index)
    }

    /// Strong references to the device memory (handles + open files).
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// A weak handle (no reference).
    pub fn downgrade(&self) -> WeakVideoDevice<D> {
        WeakVideoDevice {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

/// A weak handle to a [`VideoDevice`].
pub struct WeakVideoDevice<D: VideoOps> {
    inner: Weak<VideoInner<D>>,
}

impl<D: VideoOps> WeakVideoDevice<D> {
    /// A strong handle, unless the device was released.
    pub fn upgrade(&self) -> Option<VideoDevice<D>> {
        self.inner.upgrade().map(|inner| VideoDevice { inner })
    }
}

impl<D: VideoOps> VideoInner<D> {
    fn drv(&self) -> Drv<'_, D> {
        Drv { v: self }
    }

    fn kill(&self) {
        self.queue.kill(&self.drv());
    }

    /// `check_fmt`: the node serves exactly its queue's buffer type.
    fn check_type(&self, type_: u32) -> KResult<()> {
        if type_ == self.queue.config().type_ {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn ctrl_ioctl(
        &self,
        f: &VideoFh<D>,
        which: CtrlIoctl,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
        ctrl_ioctl(h, which, cmd, arg, f.events.id(), &|id, v| {
            self.ops.s_ctrl(id, v)
        })
    }

    /// The ioctls the kernel marks `INFO_FL_PRIO`: refused with `EBUSY`
    /// for a file below the node's highest priority.
    fn needs_prio(key: VideoIoctl) -> bool {
        matches!(
            key,
            VideoIoctl::SFmt
                | VideoIoctl::Reqbufs
                | VideoIoctl::Streamon
                | VideoIoctl::Streamoff
                | VideoIoctl::SParm
                | VideoIoctl::SCtrl
                | VideoIoctl::SExtCtrls
                | VideoIoctl::SInput
                | VideoIoctl::SSelection
                | VideoIoctl::SPriority
                | VideoIoctl::CreateBufs
                | VideoIoctl::RemoveBufs
        )
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, f: &VideoFh<D>, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        let Some(def) = VIDEO_IOCTLS.lookup(cmd) else {
            return Err(Errno::ENOTTY);
        };
        let fh = f.id;
        if Self::needs_prio(def.key) && self.served(def.key) {
            self.prio.check(&f.prio)?;
        }
        match def.key {
            VideoIoctl::Querycap => usercopy(cmd, arg, None, |c| {
                self.querycap(c);
                Ok(())
            }),
            VideoIoctl::EnumFmt => usercopy(cmd, arg, None, |f| self.enum_fmt(ctx, f)),
            VideoIoctl::GFmt => usercopy(cmd, arg, None, |f| self.g_fmt(f)),
            VideoIoctl::SFmt => usercopy(cmd, arg, None, |f| self.s_fmt(ctx, f, true)),
            VideoIoctl::TryFmt => usercopy(cmd, arg, None, |f| self.s_fmt(ctx, f, false)),
            VideoIoctl::Reqbufs => usercopy(cmd, arg, None, |p: &mut V4l2Requestbuffers| {
                self.check_type(p.type_)?;
                self.queue.reqbufs(fh, p, &self.drv())
            }),
            // INFO_FL_CLEAR(v4l2_buffer, length): the rest is zeroed on input.
            VideoIoctl::Querybuf => usercopy(cmd, arg, Some(76), |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.querybuf(b)
            }),
            VideoIoctl::Qbuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.qbuf(ctx, fh, b, &self.drv())
            }),
            VideoIoctl::Dqbuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.dqbuf(ctx, fh, b)
            }),
            VideoIoctl::Streamon => usercopy(cmd, arg, None, |t: &mut u32| {
                self.check_type(*t)?;
                self.queue.streamon(ctx, fh, *t, &self.drv())
            }),
            VideoIoctl::Streamoff => usercopy(cmd, arg, None, |t: &mut u32| {
                self.check_type(*t)?;
                self.queue.streamoff(fh, *t, &self.drv())
            }),
            // INFO_FL_CLEAR(v4l2_frmsizeenum, pixel_format).
            VideoIoctl::EnumFramesizes if D::HAS_ENUM_FRAMESIZES => {
                usercopy(cmd, arg, Some(8), |fs: &mut V4l2Frmsizeenum| {
                    self.ops.enum_framesizes(ctx, fs)
                })
            }
            // INFO_FL_CLEAR(v4l2_input, index).
            VideoIoctl::Enuminput | VideoIoctl::GInput | VideoIoctl::SInput
                if self.input_names().is_none() =>
            {
                Err(Errno::ENOTTY)
            }
            VideoIoctl::Enuminput => usercopy(cmd, arg, Some(4), |i: &mut V4l2Input| {
                let names = self.input_names().ok_or(Errno::ENOTTY)?;
                let name = names.get(i.index as usize).ok_or(Errno::EINVAL)?;
                put_str(&mut i.name, name);
                i.type_ = V4L2_INPUT_TYPE_CAMERA;
                Ok(())
            }),
            VideoIoctl::GInput => usercopy(cmd, arg, None, |i: &mut u32| {
                self.input_names().ok_or(Errno::ENOTTY)?;
                *i = self.input.load(Ordering::Acquire);
                Ok(())
            }),
            VideoIoctl::SInput => usercopy(cmd, arg, None, |i: &mut u32| {
                let names = self.input_names().ok_or(Errno::ENOTTY)?;
                if *i as usize >= names.len() {
                    return Err(Errno::EINVAL);
                }
                if self.device_caps & cap::IO_MC == 0 {
                    self.ops.s_input(ctx, *i)?;
                }
                self.input.store(*i, Ordering::Release);
                Ok(())
            }),
            VideoIoctl::CreateBufs => usercopy(cmd, arg, None, |p: &mut V4l2CreateBuffers| {
                self.check_type(p.format.type_)?;
                // CLEAR_AFTER_FIELD(create, flags) + v4l_sanitize_format.
                p.max_num_buffers = 0;
                p.reserved = [0; 5];
                self.queue.create_bufs(fh, p, &self.drv())?;
                let mut pix = p.format.pix();
                pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
                p.format.set_pix(&pix);
                Ok(())
            }),
            VideoIoctl::PrepareBuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.prepare_buf(fh, b)
            }),
            VideoIoctl::GPriority => usercopy(cmd, arg, None, |p: &mut u32| {
                *p = self.prio.max();
                Ok(())
            }),
            VideoIoctl::SPriority => {
                usercopy(cmd, arg, None, |p: &mut u32| self.prio.change(&f.prio, *p))
            }
            VideoIoctl::Queryctrl => self.ctrl_ioctl(f, CtrlIoctl::Queryctrl, cmd, arg),
            VideoIoctl::QueryExtCtrl => self.ctrl_ioctl(f, CtrlIoctl::QueryExtCtrl, cmd, arg),
            VideoIoctl::Querymenu => self.ctrl_ioctl(f, CtrlIoctl::Querymenu, cmd, arg),
            VideoIoctl::GCtrl => self.ctrl_ioctl(f, CtrlIoctl::GCtrl, cmd, arg),
            VideoIoctl::SCtrl => self.ctrl_ioctl(f, CtrlIoctl::SCtrl, cmd, arg),
            VideoIoctl::GExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::GExtCtrls, cmd, arg),
            VideoIoctl::SExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::SExtCtrls, cmd, arg),
            VideoIoctl::TryExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::TryExtCtrls, cmd, arg),
            // v4l2_ctrl_log_status, for nodes with controls.
            VideoIoctl::LogStatus => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                for line in h.log_status(self.v4l2_dev.name()) {
                    self.monitor.journal().note(self.id, &self.name, line);
                }
                Ok(0)
            }
            // vidioc_subscribe_event = v4l2_ctrl_subscribe_event, for nodes
            // with controls; without, all three are ENOTTY.
            VideoIoctl::SubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::subscribe(&f.events, h, s)
                })
            }
            VideoIoctl::UnsubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::unsubscribe(&f.events, h, s);
                    Ok(())
                })
            }
            VideoIoctl::Dqevent => {
                self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |e: &mut V4l2Event| {
                    event::dqevent(ctx, &f.events, e)
                })
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// The inputs (`None`: the input ioctls are not there).
    fn input_names(&self) -> Option<Vec<String>> {
        if self.device_caps & cap::IO_MC != 0 {
            return Some(vec![self.name.clone()]);
        }
        let v = self.ops.inputs();
        (!v.is_empty()).then_some(v)
    }

    /// Whether this node answers `key` (`determine_valid_ioctls`): the
    /// priority check only happens for valid ioctls.
    fn served(&self, key: VideoIoctl) -> bool {
        match key {
            VideoIoctl::SCtrl | VideoIoctl::SExtCtrls => self.ctrls.is_some(),
            VideoIoctl::SParm | VideoIoctl::SSelection | VideoIoctl::RemoveBufs => false,
            VideoIoctl::SInput => self.input_names().is_some(),
            _ => true,
        }
    }

    /// `v4l_querycap`.
    fn querycap(&self, c: &mut V4l2Capability) {
        let s = self.ops.querycap();
        put_str(&mut c.driver, &s.driver);
        put_str(&mut c.card, &s.card);
        put_str(&mut c.bus_info, &s.bus_info);
        c.version = LINUX_VERSION_CODE;
        c.device_caps = self.device_caps | cap::EXT_PIX_FORMAT;
        c.capabilities = self.device_caps | cap::DEVICE_CAPS | cap::EXT_PIX_FORMAT;
        c.reserved = [0; 3];
    }

    /// `v4l_enum_fmt` + `v4l_fill_fmtdesc`.
    fn enum_fmt(&self, ctx: &OpCtx<'_>, f: &mut V4l2Fmtdesc) -> KResult<()> {
        self.check_type(f.type_)?;
        let mbus_code = if self.device_caps & cap::IO_MC != 0 {
            f.mbus_code
        } else {
            0
        };
        let d = self.ops.enum_fmt(ctx, f.index, mbus_code)?;
        f.flags = d.flags;
        f.pixelformat = d.pixelformat;
        f.mbus_code = mbus_code;
        f.reserved = [0; 3];
        let desc = d
            .description
            .or_else(|| pixfmt_description(d.pixelformat))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Unknown ({})", fourcc_str(d.pixelformat)));
        put_str(&mut f.description, &desc);
        Ok(())
    }

    /// `v4l_g_fmt`: the union is cleared, then `pix` filled.
    fn g_fmt(&self, f: &mut V4l2Format) -> KResult<()> {
        self.check_type(f.type_)?;
        let mut pix = *self.fmt.lock();
        pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
        *f = V4l2Format::from_pix(f.type_, &pix);
        Ok(())
    }

    /// `v4l_s_fmt` / `v4l_try_fmt`: sanitise, clear the union after `pix`,
    /// let the driver adjust; `S_FMT` stores it (`EBUSY` while buffers exist).
    fn s_fmt(&self, ctx: &OpCtx<'_>, f: &mut V4l2Format, set: bool) -> KResult<()> {
        self.check_type(f.type_)?;
        let mut pix = f.pix();
        // v4l_sanitize_format: without the magic, the extended fields are
        // undefined: zero them and set the magic.
        if pix.priv_ != V4L2_PIX_FMT_PRIV_MAGIC {
            pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
            pix.flags = 0;
            pix.ycbcr_enc = 0;
            pix.quantization = 0;
            pix.xfer_func = 0;
        }
        self.ops.try_fmt(ctx, &mut pix)?;
        pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
        if set {
            self.queue.with_idle(|| {
                self.ops.s_fmt(ctx, &pix)?;
                *self.fmt.lock() = pix;
                Ok(())
            })?;
        }
        *f = V4l2Format::from_pix(f.type_, &pix);
        Ok(())
    }
}

/// The per-open-file data of a video node (`struct v4l2_fh`): holds the
/// video device (the try-get reference taken at open).
pub struct VideoFh<D: VideoOps> {
    vdev: Arc<VideoInner<D>>,
    id: u64,
    /// The file's priority (`v4l2_fh.prio`).
    prio: FilePrio,
    /// The file's event queue (dies with the file).
    events: Arc<FileEvents>,
}

impl<D: VideoOps> std::fmt::Debug for VideoFh<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFh")
            .field("vdev", &self.vdev.name)
            .field("id", &self.id)
            .finish()
    }
}

/// The node's file operations. Holds the device weakly (no cycle with the
/// node, which owns its ops; open is a try-get).
struct VideoNodeOps<D: VideoOps> {
    vdev: Weak<VideoInner<D>>,
}

impl<D: VideoOps> FileOps for VideoNodeOps<D> {
    type Private = VideoFh<D>;

    fn open(&self, ctx: &OpCtx<'_>) -> KResult<VideoFh<D>> {
        let vdev = self.vdev.upgrade().ok_or(Errno::ENODEV)?;
        vdev.ops.open(ctx)?;
        let id = vdev.next_fh.fetch_add(1, Ordering::Relaxed);
        let prio = vdev.prio.open();
        Ok(VideoFh {
            vdev,
            id,
            prio,
            events: Arc::new(FileEvents::new()),
        })
    }

    fn release(&self, ctx: &ReleaseCtx<'_>, fh: VideoFh<D>) {
        let v = &fh.vdev;
        if v.legacy {
            // Pre-fix vb2_fop_release: stops the stream through the driver
            // whatever the state of the device.
            v.queue.release(fh.id, Some(&v.drv()));
        } else {
            // The driver may be called only inside the node's gate: then an
            // unplug waits for us. Once unplugged, the unplug path stops it.
            match ctx.node().gate().enter_as("release") {
                Ok(_access) => v.queue.release(fh.id, Some(&v.drv())),
                Err(_) => v.queue.release(fh.id, None),
            }
        }
        v.prio.close(&fh.prio);
        if let Some(h) = &v.ctrls {
            let gone = fh.events.unsubscribe(EVENT_ALL, 0);
            let ids: Vec<u32> = gone.iter().map(|&(_, i)| i).collect();
            h.unsubscribe(fh.events.id(), &ids);
        }
        v.ops.close();
        // Dropping `fh` may put the last reference: `VideoOps::release`.
    }

    fn read(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, buf: &mut [u8]) -> KResult<usize> {
        fh.vdev.queue.read(ctx, fh.id, buf, &fh.vdev.drv())
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        fh.vdev.ioctl(ctx, fh, cmd, arg)
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        VIDEO_IOCTLS.name(cmd).unwrap_or("ioctl")
    }

    fn poll(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, table: &mut PollTable) -> PollMask {
        // vb2_fop_poll: PRI while an event waits, plus the queue's mask.
        let mut m = PollMask::NONE;
        if fh.vdev.ctrls.is_some() && !ctx.is_unplugging() {
            table.wait(fh.events.wait_queue());
            if fh.events.pending() {
                m = PollMask::PRI;
            }
        }
        m | fh.vdev.queue.poll(ctx, fh.id, table, &fh.vdev.drv())
    }

    fn mmap(
        &self,
        _ctx: &OpCtx<'_>,
        fh: &VideoFh<D>,
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        fh.vdev.queue.mmap(req)
    }
}

/// The video device's part of its media entity: link validation of the
/// link into the node, and the node path for `media-ctl`. Holds the device
/// weakly (the device holds the entity).
struct VideoEntityOps<D: VideoOps> {
    vdev: std::sync::OnceLock<Weak<VideoInner<D>>>,
}

impl<D: VideoOps> EntityOps for VideoEntityOps<D> {
    fn link_validate(&self, link: &LinkInfo, source: &Entity, _sink: &Entity) -> KResult<()> {
        let (src, _) = link.data().ok_or(Errno::EINVAL)?;
        let v = self
            .vdev
            .get()
            .and_then(Weak::upgrade)
            .ok_or(Errno::ENODEV)?;
        let source_fmt = entity_pad_format(source, src.index)?;
        let fmt = *v.fmt.lock();
        v.ops.link_validate(&source_fmt, &fmt)
    }

    fn devnode_path(&self) -> Option<String> {
        let v = self.vdev.get().and_then(Weak::upgrade)?;
        let n = v.reg.lock().node.upgrade()?;
        Some(format!("/dev/{}", n.name()))
    }
}
