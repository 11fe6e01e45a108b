//! [`Subdev`]: a V4L2 sub-device (`struct v4l2_subdev` + `v4l2-subdev.c`)
//! with its devnode in the same allocation, and the driver-facing
//! [`SubdevOps`] (pad ops, `s_stream`, internal ops, release).
//!
//! # Lifetime (seed 000's open problem)
//!
//! In Linux, `subdev_close()` touches `struct v4l2_subdev`, which drivers
//! freed at unbind (devm): a subdev had no release operation. Here the
//! subdev, its driver data `D` and its devnode are one `Arc`; the devnode's
//! file operations hold it weakly and `open` takes a try-get reference
//! (`ENODEV` once it is released). Each open file holds it, so `close` after
//! unbind reaches live memory, and [`SubdevOps::release`] runs when the last
//! handle and the last file are gone.
//!
//! # What the framework validates
//!
//! As `subdev_do_ioctl` and its `check_*` helpers: `which` (TRY/ACTIVE),
//! `pad < num_pads`, `stream == 0` (no devlife subdev supports streams, so
//! the client STREAMS capability is masked off and `stream` forced to 0),
//! `EPERM` for ACTIVE writes on a read-only node, reserved fields zeroed. A
//! pad op gets the state `which` selects: the subdev's active state or the
//! file handle's TRY state, locked.

use super::ctrls::ioctl::{CtrlIoctl, ctrl_ioctl};
use super::ctrls::{CtrlConfig, CtrlHandler};
use super::event::{self, FileEvents};
use super::{LINUX_VERSION_CODE, NodeRegistrar, V4l2Device, usercopy};
use crate::mc::{
    Entity, EntityDesc, EntityOps, EntityType, Interface, LinkInfo, PadFormat, PadInfo, Rect,
};
use crate::uapi::controls::{V4l2Event, V4l2EventSubscription};
use crate::uapi::media::{MEDIA_INTF_T_V4L_SUBDEV, MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE};
use crate::uapi::subdev::{
    SUBDEV_IOCTLS, SubdevIoctl, V4L2_SEL_TGT_COMPOSE, V4L2_SEL_TGT_COMPOSE_BOUNDS,
    V4L2_SEL_TGT_CROP, V4L2_SEL_TGT_CROP_BOUNDS, V4L2_SUBDEV_CAP_RO_SUBDEV,
    V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH, V4L2_SUBDEV_CLIENT_CAP_STREAMS,
    V4L2_SUBDEV_FORMAT_ACTIVE, V4L2_SUBDEV_FORMAT_TRY, V4l2MbusFramefmt, V4l2SubdevCapability,
    V4l2SubdevClientCapability, V4l2SubdevCrop, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum, V4l2SubdevSelection,
};
use crate::uapi::videodev2::{V4l2Rect, field};
use devlife::Monitor;
use devlife::check::{EventKind, LiveToken};
use devlife_model::{
    Errno, FileOps, KResult, Node, NodeKind, NodeRegistration, NodeSpec, OpCtx, PollMask,
    PollTable, ReleaseCtx, WeakNode,
};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The configuration of one pad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PadState {
    /// Media bus format.
    pub format: V4l2MbusFramefmt,
    /// Crop rectangle (`V4L2_SEL_TGT_CROP`).
    pub crop: V4l2Rect,
    /// Compose rectangle (`V4L2_SEL_TGT_COMPOSE`).
    pub compose: V4l2Rect,
}

/// A subdev state (`struct v4l2_subdev_state`): one [`PadState`] per pad.
/// The subdev has an active one; each open file has a TRY one.
///
/// # Invariants
///
/// Holds exactly `num_pads` pad states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubdevState {
    pads: Vec<PadState>,
}

impl SubdevState {
    /// A zeroed state of `num_pads` pads.
    pub fn new(num_pads: usize) -> Self {
        Self {
            pads: vec![PadState::default(); num_pads],
        }
    }
    /// Number of pads.
    pub fn num_pads(&self) -> usize {
        self.pads.len()
    }
    /// Pad `pad` (`EINVAL` past the end).
    pub fn pad(&self, pad: u32) -> KResult<&PadState> {
        self.pads.get(pad as usize).ok_or(Errno::EINVAL)
    }
    /// Pad `pad`, mutable (`EINVAL` past the end).
    pub fn pad_mut(&mut self, pad: u32) -> KResult<&mut PadState> {
        self.pads.get_mut(pad as usize).ok_or(Errno::EINVAL)
    }
    /// The format of pad `pad` (`v4l2_subdev_state_get_format`).
    pub fn format(&self, pad: u32) -> KResult<&V4l2MbusFramefmt> {
        self.pad(pad).map(|p| &p.format)
    }
    /// The format of pad `pad`, mutable.
    pub fn format_mut(&mut self, pad: u32) -> KResult<&mut V4l2MbusFramefmt> {
        self.pad_mut(pad).map(|p| &mut p.format)
    }
    /// Every pad.
    pub fn pads(&self) -> &[PadState] {
        &self.pads
    }
}

/// What a subdev driver implements. Pad ops receive the state selected by
/// the request's `which`, already locked, with `pad` and `which` validated.
/// A missing op answers `ENOTTY` (`ENOIOCTLCMD`). The implementing type is
/// the subdev's driver data: it lives until [`release`](Self::release).
pub trait SubdevOps: Send + Sync + 'static {
    /// Initial formats (`init_state`): for the active state at creation and
    /// for each file handle's TRY state at open.
    fn init_state(&self, state: &mut SubdevState) {
        let _ = state;
    }

    /// `enum_mbus_code`: fill `code.code` for `code.index` on `code.pad`.
    fn enum_mbus_code(
        &self,
        state: &SubdevState,
        code: &mut V4l2SubdevMbusCodeEnum,
    ) -> KResult<()> {
        let _ = (state, code);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `enum_frame_size`.
    fn enum_frame_size(
        &self,
        state: &SubdevState,
        fse: &mut V4l2SubdevFrameSizeEnum,
    ) -> KResult<()> {
        let _ = (state, fse);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `get_fmt`; by default the state's format of the pad
    /// (`v4l2_subdev_get_fmt`).
    fn get_fmt(&self, state: &SubdevState, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        fmt.format = *state.format(fmt.pad)?;
        Ok(())
    }

    /// `set_fmt`: adjust `fmt.format`, store it in `state` (and propagate).
    fn set_fmt(&self, state: &mut SubdevState, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = (state, fmt);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `get_selection`.
    fn get_selection(&self, state: &SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        let _ = (state, sel);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `set_selection`.
    fn set_selection(&self, state: &mut SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        let _ = (state, sel);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `link_validate` of an enabled link whose sink pad is on this subdev
    /// (pipeline start): `source` is the ACTIVE format of the remote source
    /// pad, `sink` the one of the local sink pad. The default is
    /// `v4l2_subdev_link_validate_default`: width, height and code must
    /// match, and the field too unless the sink's is `NONE` (`EPIPE`).
    fn link_validate(&self, source: &V4l2MbusFramefmt, sink: &V4l2MbusFramefmt) -> KResult<()> {
        let pass = source.width == sink.width
            && source.height == sink.height
            && source.code == sink.code
            && (source.field == sink.field || sink.field == field::NONE);
        if pass { Ok(()) } else { Err(Errno::EPIPE) }
    }

    /// `s_ctrl` of the subdev's controls: apply the validated `value` of
    /// control `id` (inside the node's gate for a userspace set; the
    /// handler lock is held: do not call back into the handler). An error
    /// undoes the whole set.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let _ = (id, value);
        Ok(())
    }

    /// `video.s_stream`, called by the bridge driver (not by userspace).
    fn s_stream(&self, enable: bool) -> KResult<()> {
        let _ = enable;
        Err(Errno::ENOIOCTLCMD)
    }

    /// `internal_ops->open`: a file handle is being opened (inside the gate).
    fn open(&self) -> KResult<()> {
        Ok(())
    }

    /// `internal_ops->close`: a file handle is closed. May run after unbind:
    /// the subdev memory is still there, but no hardware access.
    fn close(&self) {}

    /// `internal_ops->release`: the last reference is gone; the driver data
    /// is dropped right after.
    fn release(&self) {}
}

/// How to build a [`Subdev`].
#[derive(Clone, Debug)]
pub struct SubdevConfig {
    /// Name (entity name, e.g. `"Sensor A"`).
    pub name: String,
    /// `MEDIA_PAD_FL_*` flags of each pad.
    pub pads: Vec<u32>,
    /// Entity function (`MEDIA_ENT_F_*`).
    pub function: u32,
    /// Entity flags (`MEDIA_ENT_FL_*`).
    pub entity_flags: u32,
    /// `V4L2_SUBDEV_FL_HAS_DEVNODE`: gets a node from
    /// [`V4l2Device::register_subdev_nodes`].
    pub has_devnode: bool,
    /// The node is read-only (`V4L2_SUBDEV_CAP_RO_SUBDEV`).
    pub read_only: bool,
    /// Pre-fix dispatch of its node (registered flag checked at entry only).
    pub legacy: bool,
    /// Its controls (`sd->ctrl_handler`); a subdev with controls also has
    /// events (`V4L2_SUBDEV_FL_HAS_EVENTS`): control events, `POLLPRI`.
    pub controls: Vec<CtrlConfig>,
}

impl SubdevConfig {
    /// A subdev with a devnode.
    pub fn new(name: &str, pads: Vec<u32>, function: u32) -> Self {
        Self {
            name: name.to_owned(),
            pads,
            function,
            entity_flags: 0,
            has_devnode: true,
            read_only: false,
            legacy: false,
            controls: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Devnode {
    node: WeakNode,
    reg: Option<NodeRegistration>,
    registered: bool,
    /// The interface devnode in the media graph.
    intf: Option<Interface>,
}

struct Attach {
    v4l2_dev: Option<V4l2Device>,
    attached: bool,
}

pub(crate) struct SubdevInner<D: SubdevOps> {
    me: Weak<SubdevInner<D>>,
    id: u64,
    cfg: SubdevConfig,
    ops: D,
    /// The control handler (none without controls), owned by the subdev.
    ctrls: Option<CtrlHandler>,
    active: Mutex<SubdevState>,
    /// The devnode lives in the subdev's allocation.
    devnode: Mutex<Devnode>,
    /// The media entity (its ops hold this subdev weakly).
    entity: Entity,
    next_fh: AtomicU64,
    monitor: Monitor,
    _live: LiveToken,
    // Last: the v4l2 device is put after the release op.
    attach: Mutex<Attach>,
}

impl<D: SubdevOps> Drop for SubdevInner<D> {
    fn drop(&mut self) {
        self.ops.release();
        self.monitor.journal().record_named(
            self.id,
            &self.cfg.name,
            EventKind::Release,
            Some("v4l2_subdev"),
        );
    }
}

/// The type-erased interface of a subdev (for the v4l2 device, the node's
/// file operations, and other drivers).
pub(crate) trait AnySubdev: Send + Sync {
    fn name(&self) -> &str;
    fn num_pads(&self) -> u32;
    fn pad_flags(&self) -> &[u32];
    fn function(&self) -> u32;
    fn has_devnode(&self) -> bool;
    fn attach(&self, v4l2: &V4l2Device) -> KResult<()>;
    fn detach(&self);
    fn v4l2_dev(&self) -> Option<V4l2Device>;
    fn node(&self) -> Option<Node>;
    fn node_parts(&self) -> KResult<(NodeSpec, Arc<SubdevNodeOps>)>;
    fn set_node(&self, node: &Node, reg: Option<NodeRegistration>) -> KResult<()>;
    fn entity(&self) -> &Entity;
    fn unregister_node(&self) -> KResult<()>;
    fn new_try_state(&self) -> SubdevState;
    fn open(&self) -> KResult<()>;
    fn close(&self);
    fn next_fh(&self) -> u64;
    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &SubdevFh, cmd: u32, arg: &mut [u8]) -> KResult<i64>;
    fn has_events(&self) -> bool;
    fn forget_events(&self, fh: &SubdevFh);
    fn get_fmt(&self, pad: u32) -> KResult<V4l2MbusFramefmt>;
    fn get_selection(&self, pad: u32, target: u32) -> KResult<V4l2Rect>;
    fn link_validate(&self, source: &V4l2MbusFramefmt, sink: &V4l2MbusFramefmt) -> KResult<()>;
    fn set_fmt(&self, fmt: &mut V4l2SubdevFormat) -> KResult<()>;
    fn s_stream(&self, enable: bool) -> KResult<()>;
}

/// A V4L2 subdev. Cloning gives another handle to the same subdev.
///
/// # Invariants
///
/// The subdev, its devnode and its driver data `D` are one allocation; it is
/// released (and [`SubdevOps::release`] runs, once) when the last handle and
/// the last open file of its node are gone.
pub struct Subdev<D: SubdevOps> {
    inner: Arc<SubdevInner<D>>,
}

impl<D: SubdevOps> Clone for Subdev<D> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<D: SubdevOps> std::fmt::Debug for Subdev<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subdev")
            .field("name", &self.inner.cfg.name)
            .field("node", &self.inner.node().map(|n| n.name().to_owned()))
            .finish()
    }
}

impl<D: SubdevOps> Subdev<D> {
    /// `v4l2_subdev_init` + `media_entity_pads_init` (+ `init_state` of the
    /// active state). Fails as [`Entity::new`] for invalid pads.
    pub fn new(monitor: &Monitor, cfg: SubdevConfig, ops: D) -> KResult<Self> {
        let id = monitor.next_id();
        monitor
            .journal()
            .record_named(id, &cfg.name, EventKind::Alloc, Some("v4l2_subdev"));
        let ctrls = if cfg.controls.is_empty() {
            None
        } else {
            Some(CtrlHandler::new(&cfg.controls)?)
        };
        let mut active = SubdevState::new(cfg.pads.len());
        ops.init_state(&mut active);
        let desc = EntityDesc::new(cfg.name.clone(), cfg.function, EntityType::V4l2Subdev)
            .pads(&cfg.pads)
            .flags(cfg.entity_flags);
        let entity = Entity::new(
            monitor,
            desc,
            SubdevEntityOps {
                sd: std::sync::OnceLock::new(),
            },
        )?;
        let inner = Arc::new_cyclic(|me| SubdevInner {
            me: me.clone(),
            id,
            cfg,
            ops,
            ctrls,
            active: Mutex::new(active),
            devnode: Mutex::new(Devnode::default()),
            entity,
            next_fh: AtomicU64::new(1),
            monitor: monitor.clone(),
            _live: monitor.live("v4l2_subdev"),
            attach: Mutex::new(Attach {
                v4l2_dev: None,
                attached: false,
            }),
        });
        let weak: Weak<dyn AnySubdev> = Arc::downgrade(&inner) as Weak<dyn AnySubdev>;
        if let Some(ops) = inner.entity.ops_as::<SubdevEntityOps>() {
            let _ = ops.sd.set(weak);
        }
        Ok(Self { inner })
    }

    /// The type-erased handle (for [`V4l2Device::register_subdev`] and other drivers).
    pub fn handle(&self) -> SubdevHandle {
        SubdevHandle(self.inner.clone())
    }

    /// Registers this subdev's devnode alone (`/dev/v4l-subdevN`), whatever
    /// `has_devnode` says. `EBUSY` if it already has one.
    pub fn register_node(&self, registrar: &impl NodeRegistrar) -> KResult<Node> {
        self.handle().register_node(registrar)
    }

    /// The driver data.
    pub fn driver(&self) -> &D {
        &self.inner.ops
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.cfg.name
    }

    /// The devnode, while it exists.
    pub fn node(&self) -> Option<Node> {
        self.inner.node()
    }

    /// A copy of the active state.
    pub fn active_state(&self) -> SubdevState {
        self.inner.active.lock().clone()
    }

    /// Runs `f` on the active state, locked (driver-internal updates).
    pub fn with_active_state<R>(&self, f: impl FnOnce(&mut SubdevState) -> R) -> R {
        f(&mut self.inner.active.lock())
    }

    /// Strong references (handles + open files).
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The media entity.
    pub fn entity(&self) -> &Entity {
        &self.inner.entity
    }

    /// The control handler, if the subdev has controls.
    pub fn ctrls(&self) -> Option<&CtrlHandler> {
        self.inner.ctrls.as_ref()
    }
}

/// A type-erased, cloneable handle to any subdev: what another driver (a
/// bridge streaming a pipeline, link validation) uses.
#[derive(Clone)]
pub struct SubdevHandle(Arc<dyn AnySubdev>);

impl std::fmt::Debug for SubdevHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SubdevHandle({})", self.0.name())
    }
}

impl SubdevHandle {
    pub(crate) fn from_arc(a: Arc<dyn AnySubdev>) -> Self {
        Self(a)
    }
    pub(crate) fn arc(&self) -> &Arc<dyn AnySubdev> {
        &self.0
    }
    pub(crate) fn dyn_ref(&self) -> &dyn AnySubdev {
        &*self.0
    }
    /// The name.
    pub fn name(&self) -> &str {
        self.0.name()
    }
    /// Number of pads.
    pub fn num_pads(&self) -> u32 {
        self.0.num_pads()
    }
    /// `MEDIA_PAD_FL_*` of each pad.
    pub fn pad_flags(&self) -> Vec<u32> {
        self.0.pad_flags().to_vec()
    }
    /// Entity function.
    pub fn function(&self) -> u32 {
        self.0.function()
    }
    /// The v4l2 device it is (or was last) registered to.
    pub fn v4l2_dev(&self) -> Option<V4l2Device> {
        self.0.v4l2_dev()
    }
    /// The devnode, while it exists.
    pub fn node(&self) -> Option<Node> {
        self.0.node()
    }
    /// Active format of `pad` (`get_fmt`, ACTIVE).
    pub fn get_fmt(&self, pad: u32) -> KResult<V4l2MbusFramefmt> {
        self.0.get_fmt(pad)
    }
    /// `set_fmt` on the active state (validated like the ioctl).
    pub fn set_fmt(&self, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        self.0.set_fmt(fmt)
    }
    /// `v4l2_subdev_call(sd, video, s_stream, enable)`.
    pub fn s_stream(&self, enable: bool) -> KResult<()> {
        self.0.s_stream(enable)
    }
    /// The media entity.
    pub fn entity(&self) -> &Entity {
        self.0.entity()
    }
    /// The subdev embedding `entity` (`media_entity_to_v4l2_subdev`), if it
    /// is a subdev's entity and the subdev is alive (try-get).
    pub fn from_entity(entity: &Entity) -> Option<SubdevHandle> {
        entity
            .ops_as::<SubdevEntityOps>()
            .and_then(SubdevEntityOps::subdev)
            .map(SubdevHandle)
    }
    /// Whether two handles name the same subdev.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&a.0), Arc::as_ptr(&b.0))
    }
    /// Registers the devnode (see [`Subdev::register_node`]).
    pub fn register_node(&self, registrar: &impl NodeRegistrar) -> KResult<Node> {
        let (spec, ops) = self.0.node_parts()?;
        let (node, reg) = registrar.register(spec, ops)?;
        self.0.set_node(&node, reg)?;
        Ok(node)
    }
    /// Unregisters the devnode (refuse, wake, drain, remove from `/dev`).
    pub fn unregister_node(&self) -> KResult<()> {
        self.0.unregister_node()
    }
}

impl V4l2Device {
    /// `v4l2_device_register_subdev_nodes`: a node for every registered
    /// subdev with `has_devnode` and no node yet. On error, the nodes created
    /// by this call are unregistered again.
    pub fn register_subdev_nodes(&self, registrar: &impl NodeRegistrar) -> KResult<Vec<Node>> {
        let mut done: Vec<SubdevHandle> = Vec::new();
        let mut nodes = Vec::new();
        for sd in self.subdevs() {
            if !sd.0.has_devnode() || sd.node().is_some() {
                continue;
            }
            match sd.register_node(registrar) {
                Ok(n) => {
                    nodes.push(n);
                    done.push(sd);
                }
                Err(e) => {
                    for d in done {
                        let _ = d.unregister_node();
                    }
                    return Err(e);
                }
            }
        }
        Ok(nodes)
    }
}

fn check_which(which: u32) -> KResult<()> {
    if which == V4L2_SUBDEV_FORMAT_TRY || which == V4L2_SUBDEV_FORMAT_ACTIVE {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

impl<D: SubdevOps> SubdevInner<D> {
    /// `check_which`, `check_pad`, `check_state` (no streams).
    fn check(&self, which: u32, pad: u32, stream: u32) -> KResult<()> {
        check_which(which)?;
        if pad >= self.cfg.pads.len() as u32 {
            return Err(Errno::EINVAL);
        }
        if stream != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Runs `f` on the state `which` selects.
    fn with_state<R>(
        &self,
        which: u32,
        fh: Option<&SubdevFh>,
        f: impl FnOnce(&mut SubdevState) -> KResult<R>,
    ) -> KResult<R> {
        if which == V4L2_SUBDEV_FORMAT_TRY {
            match fh {
                Some(fh) => f(&mut fh.try_state.lock()),
                None => Err(Errno::EINVAL),
            }
        } else {
            f(&mut self.active.lock())
        }
    }

    fn g_fmt(&self, fh: Option<&SubdevFh>, f: &mut V4l2SubdevFormat) -> KResult<()> {
        f.stream = 0;
        f.reserved = [0; 7];
        f.format.reserved = [0; 10];
        self.check(f.which, f.pad, f.stream)?;
        self.with_state(f.which, fh, |st| self.ops.get_fmt(st, f))?;
        f.format.reserved = [0; 10];
        Ok(())
    }

    fn s_fmt(&self, fh: Option<&SubdevFh>, f: &mut V4l2SubdevFormat) -> KResult<()> {
        if f.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only && fh.is_some() {
            return Err(Errno::EPERM);
        }
        f.stream = 0;
        f.reserved = [0; 7];
        f.format.reserved = [0; 10];
        self.check(f.which, f.pad, f.stream)?;
        self.with_state(f.which, fh, |st| self.ops.set_fmt(st, f))?;
        f.format.reserved = [0; 10];
        Ok(())
    }

    fn ctrl_ioctl(
        &self,
        fh: &SubdevFh,
        which: CtrlIoctl,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        // `subdev_do_ioctl`: no handler, no control ioctls.
        let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
        ctrl_ioctl(h, which, cmd, arg, fh.events.id(), &|id, v| {
            self.ops.s_ctrl(id, v)
        })
    }

    fn do_ioctl(&self, ctx: &OpCtx<'_>, fh: &SubdevFh, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        let Some(def) = SUBDEV_IOCTLS.lookup(cmd) else {
            return Err(Errno::ENOTTY);
        };
        match def.key {
            SubdevIoctl::Querycap => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCapability| {
                c.version = LINUX_VERSION_CODE;
                c.capabilities = if self.cfg.read_only {
                    V4L2_SUBDEV_CAP_RO_SUBDEV
                } else {
                    0
                };
                c.reserved = [0; 14];
                Ok(())
            }),
            SubdevIoctl::GFmt => usercopy(cmd, arg, None, |f| self.g_fmt(Some(fh), f)),
            SubdevIoctl::SFmt => usercopy(cmd, arg, None, |f| self.s_fmt(Some(fh), f)),
            SubdevIoctl::EnumMbusCode => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevMbusCodeEnum| {
                    c.stream = 0;
                    c.reserved = [0; 6];
                    self.check(c.which, c.pad, c.stream)?;
                    self.with_state(c.which, Some(fh), |st| self.ops.enum_mbus_code(st, c))
                })
            }
            SubdevIoctl::EnumFrameSize => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevFrameSizeEnum| {
                    c.stream = 0;
                    c.reserved = [0; 7];
                    self.check(c.which, c.pad, c.stream)?;
                    self.with_state(c.which, Some(fh), |st| self.ops.enum_frame_size(st, c))
                })
            }
            SubdevIoctl::GSelection => usercopy(cmd, arg, None, |s: &mut V4l2SubdevSelection| {
                s.stream = 0;
                s.reserved = [0; 7];
                self.check(s.which, s.pad, s.stream)?;
                self.with_state(s.which, Some(fh), |st| self.ops.get_selection(st, s))
            }),
            SubdevIoctl::SSelection => usercopy(cmd, arg, None, |s: &mut V4l2SubdevSelection| {
                if s.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only {
                    return Err(Errno::EPERM);
                }
                s.stream = 0;
                s.reserved = [0; 7];
                self.check(s.which, s.pad, s.stream)?;
                self.with_state(s.which, Some(fh), |st| self.ops.set_selection(st, s))
            }),
            // The legacy crop ioctls: the core maps them to the CROP target.
            SubdevIoctl::GCrop => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCrop| {
                c.stream = 0;
                c.reserved = [0; 7];
                self.check(c.which, c.pad, c.stream)?;
                let mut s = V4l2SubdevSelection {
                    which: c.which,
                    pad: c.pad,
                    target: V4L2_SEL_TGT_CROP,
                    ..Default::default()
                };
                self.with_state(s.which, Some(fh), |st| self.ops.get_selection(st, &mut s))?;
                c.rect = s.r;
                Ok(())
            }),
            SubdevIoctl::SCrop => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCrop| {
                if c.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only {
                    return Err(Errno::EPERM);
                }
                c.stream = 0;
                c.reserved = [0; 7];
                self.check(c.which, c.pad, c.stream)?;
                let mut s = V4l2SubdevSelection {
                    which: c.which,
                    pad: c.pad,
                    target: V4L2_SEL_TGT_CROP,
                    r: c.rect,
                    ..Default::default()
                };
                self.with_state(s.which, Some(fh), |st| self.ops.set_selection(st, &mut s))?;
                c.rect = s.r;
                Ok(())
            }),
            SubdevIoctl::GClientCap => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevClientCapability| {
                    c.capabilities = *fh.client_caps.lock();
                    Ok(())
                })
            }
            SubdevIoctl::SClientCap => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevClientCapability| {
                    // No devlife subdev has streams: STREAMS is always masked.
                    let v = c.capabilities
                        & (V4L2_SUBDEV_CLIENT_CAP_STREAMS
                            | V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH)
                        & !V4L2_SUBDEV_CLIENT_CAP_STREAMS;
                    *fh.client_caps.lock() = v;
                    c.capabilities = v;
                    Ok(())
                })
            }
            // Routing exists only on streams-capable subdevs.
            SubdevIoctl::GRouting | SubdevIoctl::SRouting => Err(Errno::ENOTTY),
            SubdevIoctl::Queryctrl => self.ctrl_ioctl(fh, CtrlIoctl::Queryctrl, cmd, arg),
            SubdevIoctl::QueryExtCtrl => self.ctrl_ioctl(fh, CtrlIoctl::QueryExtCtrl, cmd, arg),
            SubdevIoctl::Querymenu => self.ctrl_ioctl(fh, CtrlIoctl::Querymenu, cmd, arg),
            SubdevIoctl::GCtrl => self.ctrl_ioctl(fh, CtrlIoctl::GCtrl, cmd, arg),
            SubdevIoctl::SCtrl => self.ctrl_ioctl(fh, CtrlIoctl::SCtrl, cmd, arg),
            SubdevIoctl::GExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::GExtCtrls, cmd, arg),
            SubdevIoctl::SExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::SExtCtrls, cmd, arg),
            SubdevIoctl::TryExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::TryExtCtrls, cmd, arg),
            // core.log_status = v4l2_ctrl_subdev_log_status (ENOTTY without).
            SubdevIoctl::LogStatus => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                for line in h.log_status(&self.cfg.name) {
                    self.monitor.journal().note(self.id, &self.cfg.name, line);
                }
                Ok(0)
            }
            // Event ioctls need V4L2_SUBDEV_FL_HAS_EVENTS (a handler here).
            SubdevIoctl::SubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::subscribe(&fh.events, h, s)
                })
            }
            SubdevIoctl::UnsubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::unsubscribe(&fh.events, h, s);
                    Ok(())
                })
            }
            SubdevIoctl::Dqevent => {
                self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |e: &mut V4l2Event| {
                    event::dqevent(ctx, &fh.events, e)
                })
            }
        }
    }
}

impl<D: SubdevOps> AnySubdev for SubdevInner<D> {
    fn name(&self) -> &str {
        &self.cfg.name
    }
    fn num_pads(&self) -> u32 {
        self.cfg.pads.len() as u32
    }
    fn pad_flags(&self) -> &[u32] {
        &self.cfg.pads
    }
    fn function(&self) -> u32 {
        self.cfg.function
    }
    fn has_devnode(&self) -> bool {
        self.cfg.has_devnode
    }
    fn attach(&self, v4l2: &V4l2Device) -> KResult<()> {
        let mut a = self.attach.lock();
        if a.attached || self.cfg.name.is_empty() {
            return Err(Errno::EINVAL);
        }
        a.attached = true;
        a.v4l2_dev = Some(v4l2.clone());
        Ok(())
    }
    fn detach(&self) {
        let (was, v4l2) = {
            let mut a = self.attach.lock();
            (
                std::mem::replace(&mut a.attached, false),
                a.v4l2_dev.clone(),
            )
        };
        if was {
            let _ = self.unregister_node();
            if let Some(m) = v4l2.and_then(|v| v.media_device()) {
                m.unregister_entity(&self.entity);
            }
        }
    }
    fn v4l2_dev(&self) -> Option<V4l2Device> {
        self.attach.lock().v4l2_dev.clone()
    }
    fn node(&self) -> Option<Node> {
        self.devnode.lock().node.upgrade()
    }
    fn node_parts(&self) -> KResult<(NodeSpec, Arc<SubdevNodeOps>)> {
        if self.devnode.lock().registered {
            return Err(Errno::EBUSY);
        }
        let me: Weak<dyn AnySubdev> = self.me.clone();
        let spec = NodeSpec::new(NodeKind::Subdev)
            .legacy_if(self.cfg.legacy)
            .label(self.cfg.name.clone());
        Ok((spec, Arc::new(SubdevNodeOps { sd: me })))
    }
    fn set_node(&self, node: &Node, reg: Option<NodeRegistration>) -> KResult<()> {
        // The interface devnode and its link (`__v4l2_device_register_subdev_nodes`).
        let mdev = self
            .attach
            .lock()
            .v4l2_dev
            .as_ref()
            .and_then(|v| v.media_device());
        let intf = match mdev {
            Some(m) => {
                let d = node.devt();
                let r = m
                    .create_intf_devnode(MEDIA_INTF_T_V4L_SUBDEV, 0, d.major, d.minor)
                    .and_then(|intf| {
                        if m.has_entity(&self.entity) {
                            m.set_entity_devnode(&self.entity, d.major, d.minor)?;
                            m.create_intf_link(
                                &intf,
                                &self.entity,
                                MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE,
                            )?;
                        }
                        Ok(intf)
                    });
                match r {
                    Ok(i) => Some(i),
                    Err(e) => {
                        let _ = match reg {
                            Some(r) => r.unregister(),
                            None => node.unregister(),
                        };
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        let mut d = self.devnode.lock();
        d.node = node.downgrade();
        d.reg = reg;
        d.registered = true;
        d.intf = intf;
        self.monitor.journal().note(
            self.id,
            &self.cfg.name,
            format!("registered as {}", node.name()),
        );
        Ok(())
    }
    fn entity(&self) -> &Entity {
        &self.entity
    }
    fn unregister_node(&self) -> KResult<()> {
        let (node, reg, intf) = {
            let mut d = self.devnode.lock();
            (d.node.upgrade(), d.reg.take(), d.intf.take())
        };
        let r = match (reg, node) {
            (Some(r), _) => r.unregister(),
            (None, Some(n)) => n.unregister(),
            (None, None) => Ok(()),
        };
        if let Some(i) = intf
            && let Some(m) = i.media_device()
        {
            m.remove_interface(&i);
        }
        r
    }
    fn new_try_state(&self) -> SubdevState {
        let mut s = SubdevState::new(self.cfg.pads.len());
        self.ops.init_state(&mut s);
        s
    }
    fn open(&self) -> KResult<()> {
        self.ops.open()
    }
    fn close(&self) {
        self.ops.close();
    }
    fn next_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }
    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &SubdevFh, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        self.do_ioctl(ctx, fh, cmd, arg)
    }
    fn has_events(&self) -> bool {
        self.ctrls.is_some()
    }
    fn forget_events(&self, fh: &SubdevFh) {
        if let Some(h) = &self.ctrls {
            let gone = fh.events.unsubscribe(crate::uapi::controls::event::ALL, 0);
            let ids: Vec<u32> = gone.iter().map(|&(_, i)| i).collect();
            h.unsubscribe(fh.events.id(), &ids);
        }
    }
    fn get_fmt(&self, pad: u32) -> KResult<V4l2MbusFramefmt> {
        let mut f = V4l2SubdevFormat {
            which: V4L2_SUBDEV_FORMAT_ACTIVE,
            pad,
            ..Default::default()
        };
        self.g_fmt(None, &mut f)?;
        Ok(f.format)
    }
    fn get_selection(&self, pad: u32, target: u32) -> KResult<V4l2Rect> {
        let mut sel = V4l2SubdevSelection {
            which: V4L2_SUBDEV_FORMAT_ACTIVE,
            pad,
            target,
            ..Default::default()
        };
        self.check(sel.which, sel.pad, 0)?;
        self.with_state(sel.which, None, |st| self.ops.get_selection(st, &mut sel))?;
        Ok(sel.r)
    }
    fn link_validate(&self, source: &V4l2MbusFramefmt, sink: &V4l2MbusFramefmt) -> KResult<()> {
        self.ops.link_validate(source, sink)
    }
    fn set_fmt(&self, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        if fmt.which != V4L2_SUBDEV_FORMAT_ACTIVE {
            return Err(Errno::EINVAL);
        }
        self.s_fmt(None, fmt)
    }
    fn s_stream(&self, enable: bool) -> KResult<()> {
        self.ops.s_stream(enable)
    }
}

/// The per-open-file data of a subdev node (`struct v4l2_subdev_fh`): the
/// try-get reference to the subdev, the TRY state and the client caps.
pub struct SubdevFh {
    sd: Arc<dyn AnySubdev>,
    id: u64,
    try_state: Mutex<SubdevState>,
    client_caps: Mutex<u64>,
    /// The file's event queue (dies with the file).
    events: Arc<FileEvents>,
}

impl std::fmt::Debug for SubdevFh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubdevFh")
            .field("subdev", &self.sd.name())
            .field("id", &self.id)
            .finish()
    }
}

impl SubdevFh {
    /// A copy of this file handle's TRY state.
    pub fn try_state(&self) -> SubdevState {
        self.try_state.lock().clone()
    }
}

/// The subdev node's file operations (`v4l2_subdev_fops`). Holds the subdev
/// weakly: `open` is a try-get.
pub(crate) struct SubdevNodeOps {
    sd: Weak<dyn AnySubdev>,
}

impl FileOps for SubdevNodeOps {
    type Private = SubdevFh;

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<SubdevFh> {
        let sd = self.sd.upgrade().ok_or(Errno::ENODEV)?;
        let try_state = sd.new_try_state();
        sd.open()?;
        Ok(SubdevFh {
            id: sd.next_fh(),
            sd,
            try_state: Mutex::new(try_state),
            client_caps: Mutex::new(0),
            events: Arc::new(FileEvents::new()),
        })
    }

    fn release(&self, _ctx: &ReleaseCtx<'_>, fh: SubdevFh) {
        // `subdev_close`: the subdev is alive (the fh holds it).
        fh.sd.forget_events(&fh);
        fh.sd.close();
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &SubdevFh, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        fh.sd.ioctl(ctx, fh, cmd, arg)
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        SUBDEV_IOCTLS.name(cmd).unwrap_or("ioctl")
    }

    fn poll(&self, _ctx: &OpCtx<'_>, fh: &SubdevFh, table: &mut PollTable) -> PollMask {
        // `subdev_poll`: ERR without V4L2_SUBDEV_FL_HAS_EVENTS, else PRI
        // while an event waits.
        if !fh.sd.has_events() {
            return PollMask::ERR;
        }
        table.wait(fh.events.wait_queue());
        if fh.events.pending() {
            PollMask::PRI
        } else {
            PollMask::NONE
        }
    }
}

/// The subdev's part of its media entity (`struct v4l2_subdev` around
/// `struct media_entity`): link validation and what `media-ctl -p` shows.
/// Holds the subdev weakly (the subdev holds the entity).
pub(crate) struct SubdevEntityOps {
    sd: std::sync::OnceLock<Weak<dyn AnySubdev>>,
}

impl SubdevEntityOps {
    fn subdev(&self) -> Option<Arc<dyn AnySubdev>> {
        self.sd.get().and_then(Weak::upgrade)
    }
}

fn rect(r: V4l2Rect) -> Rect {
    Rect {
        left: r.left,
        top: r.top,
        width: r.width,
        height: r.height,
    }
}

/// The ACTIVE format of pad `pad` of the subdev embedding `e` (`EINVAL` if
/// `e` is not a live subdev's entity: `v4l2_subdev_link_validate_get_format`).
pub(crate) fn entity_pad_format(e: &Entity, pad: u16) -> KResult<V4l2MbusFramefmt> {
    let sd = e
        .ops_as::<SubdevEntityOps>()
        .and_then(SubdevEntityOps::subdev)
        .ok_or(Errno::EINVAL)?;
    sd.get_fmt(u32::from(pad))
}

impl EntityOps for SubdevEntityOps {
    /// `v4l2_subdev_link_validate`: both ends' ACTIVE formats, compared by the
    /// sink subdev's `link_validate`.
    fn link_validate(&self, link: &LinkInfo, source: &Entity, _sink: &Entity) -> KResult<()> {
        let (src, snk) = link.data().ok_or(Errno::EINVAL)?;
        let sd = self.subdev().ok_or(Errno::ENODEV)?;
        let source_fmt = entity_pad_format(source, src.index)?;
        let sink_fmt = sd.get_fmt(u32::from(snk.index))?;
        sd.link_validate(&source_fmt, &sink_fmt)
    }

    fn pad_info(&self, pad: u32) -> Option<PadInfo> {
        let sd = self.subdev()?;
        let f = sd.get_fmt(pad).ok()?;
        let sel = |target| sd.get_selection(pad, target).ok().map(rect);
        Some(PadInfo {
            format: Some(PadFormat {
                code: f.code,
                width: f.width,
                height: f.height,
                field: f.field,
                colorspace: f.colorspace,
                xfer_func: u32::from(f.xfer_func),
                ycbcr_enc: u32::from(f.ycbcr_enc),
                quantization: u32::from(f.quantization),
            }),
            interval: None,
            crop_bounds: sel(V4L2_SEL_TGT_CROP_BOUNDS),
            crop: sel(V4L2_SEL_TGT_CROP),
            compose_bounds: sel(V4L2_SEL_TGT_COMPOSE_BOUNDS),
            compose: sel(V4L2_SEL_TGT_COMPOSE),
        })
    }

    fn devnode_path(&self) -> Option<String> {
        self.subdev()?.node().map(|n| format!("/dev/{}", n.name()))
    }
}
