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
use super::ctrls::CtrlHandler;
use super::prio::PrioState;
use super::vb2::{BufferQueue, Queue, QueueDriver};
use super::{NodeRegistrar, NodeStyle, V4l2Device};
use crate::mc::{Entity, EntityDesc, EntityType, Interface, Pipeline};
use crate::uapi::media::{MEDIA_INTF_T_V4L_VIDEO, MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE};
use crate::uapi::videodev2::{V4l2PixFormat, buf_type};
use devlife::Monitor;
use devlife::check::{EventKind, LiveToken};
use devlife_model::{Errno, KResult, Node, NodeKind, NodeRegistration, OpCtx, WeakNode};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Weak};

mod entity;
mod file;
mod ioctl;
mod ops;

use entity::VideoEntityOps;
pub use file::VideoFh;
use file::VideoNodeOps;
pub use ops::{CapStrings, FmtDesc, VideoDeviceConfig, VideoOps};

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
    /// How its node dispatches (the framework's gated node unless made
    /// through [`crate::legacy`]).
    pub(super) style: NodeStyle,
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
            Some(crate::kinds::VIDEO_DEVICE),
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
        Self::with_style(v4l2_dev, cfg, ops, NodeStyle::Gated)
    }

    /// [`new`](Self::new) with the node style `style`.
    pub(crate) fn with_style(
        v4l2_dev: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: D,
        style: NodeStyle,
    ) -> KResult<Self> {
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
        monitor.journal().record_named(
            id,
            &cfg.name,
            EventKind::Alloc,
            Some(crate::kinds::VIDEO_DEVICE),
        );
        let v = Self {
            inner: Arc::new(VideoInner {
                id,
                name: cfg.name,
                device_caps: cfg.device_caps,
                style,
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
                _live: monitor.live(crate::kinds::VIDEO_DEVICE),
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
        let spec = self
            .inner
            .style
            .node_spec(NodeKind::Video)
            .label(self.inner.name.clone());
        let (node, reg) = registrar.register(spec, ops)?;
        if let NodeStyle::Gated = self.inner.style {
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
    /// closes. A pre-fix device ([`crate::legacy::EntryCheckedVideo`]) only
    /// has its node unregistered, as the pre-fix `video_unregister_device`.
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
        if let NodeStyle::Gated = self.inner.style {
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
}
