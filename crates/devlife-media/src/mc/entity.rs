//! Refcounted graph objects: [`Entity`] (with its pads) and [`Interface`].
//!
//! Sakari Ailus' rules (docs/proposals.md#oslo-rules) as types:
//!
//! * an entity is reference counted, with a release callback run when the last
//!   reference goes ([`Entity::set_release`]);
//! * pads live inside their entity (one allocation, one lifetime);
//! * a registered entity holds a reference to its media device, declared as
//!   its **last** field so it drops last: the entity's release runs, then the
//!   media device reference goes (and, if it was the last, the media device
//!   is released after the entity);
//! * an entity is registered at most once;
//! * graph walks take try-get references ([`WeakEntity::upgrade`]); once the
//!   count reached zero it never rises again;
//! * entities never hold strong references to each other: links name their
//!   ends by graph id.
//!
//! When the last reference to a still-registered entity goes, the entity is
//! removed from the graph before its release callback runs ("postpone graph
//! object removal until free"). If the graph lock is busy at that moment (for
//! example, the last reference was dropped by a thread holding it), the removal
//! is queued and done by the next holder of the lock, before it looks at the
//! graph.

use super::device::MediaDevice;
use super::graph::{LinkInfo, MEDIA_ENTITY_MAX_PADS, PadKey};
use crate::uapi::media::{MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE};
use devlife::check::Monitor;
use devlife::{Ref, WeakRef};
use devlife_model::{Errno, KResult};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// What kind of object embeds the entity (`enum media_entity_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityType {
    /// A plain entity (`MEDIA_ENTITY_TYPE_BASE`).
    Base,
    /// Embedded in a video device (`MEDIA_ENTITY_TYPE_VIDEO_DEVICE`).
    VideoDevice,
    /// Embedded in a V4L2 subdevice (`MEDIA_ENTITY_TYPE_V4L2_SUBDEV`).
    V4l2Subdev,
}

/// A pad of an entity (`struct media_pad`, without the graph part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    /// Index within the entity.
    pub index: u16,
    /// `MEDIA_PAD_FL_*`.
    pub flags: u32,
}

/// A media bus format as `VIDIOC_SUBDEV_G_FMT` reports it (the subset
/// `media-ctl -p` prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PadFormat {
    /// `MEDIA_BUS_FMT_*` code.
    pub code: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in lines.
    pub height: u32,
    /// `enum v4l2_field`.
    pub field: u32,
    /// `enum v4l2_colorspace`.
    pub colorspace: u32,
    /// `enum v4l2_xfer_func`.
    pub xfer_func: u32,
    /// `enum v4l2_ycbcr_encoding`.
    pub ycbcr_enc: u32,
    /// `enum v4l2_quantization`.
    pub quantization: u32,
}

/// A rectangle (`struct v4l2_rect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left edge, in pixels from the frame's left.
    pub left: i32,
    /// Top edge, in lines from the frame's top.
    pub top: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in lines.
    pub height: u32,
}

/// What a subdev reports for one pad (the ACTIVE state), as `media-ctl -p`
/// gathers it with SUBDEV_G_FMT, G_FRAME_INTERVAL and G_SELECTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PadInfo {
    /// The pad format; `None` if G_FMT fails (nothing is printed then).
    pub format: Option<PadFormat>,
    /// Frame interval `(numerator, denominator)`, if the subdev has one.
    pub interval: Option<(u32, u32)>,
    /// `V4L2_SEL_TGT_CROP_BOUNDS`.
    pub crop_bounds: Option<Rect>,
    /// `V4L2_SEL_TGT_CROP`.
    pub crop: Option<Rect>,
    /// `V4L2_SEL_TGT_COMPOSE_BOUNDS`.
    pub compose_bounds: Option<Rect>,
    /// `V4L2_SEL_TGT_COMPOSE`.
    pub compose: Option<Rect>,
}

/// The operations of an entity (`struct media_entity_operations`), plus the
/// two questions the `media-ctl` renderer asks.
///
/// The object implementing it lives **inside** the entity allocation (it is
/// the driver's or the framework's part of the entity, like `struct
/// v4l2_subdev` around `struct media_entity`); get it back with
/// [`Entity::ops_as`]. It must not hold a strong reference to its own entity
/// (that would be a cycle); a [`WeakEntity`] is fine.
///
/// Callbacks marked *under the graph lock* must not call back into
/// functions of the media device that take the graph lock.
pub trait EntityOps: Any + Send + Sync {
    /// Validates an enabled data link whose **sink** pad is on this entity
    /// (pipeline start; under the graph lock). Mismatches are `EPIPE`.
    fn link_validate(&self, link: &LinkInfo, source: &Entity, sink: &Entity) -> KResult<()> {
        let _ = (link, source, sink);
        Ok(())
    }

    /// A link of this entity is being enabled or disabled (SETUP_LINK; under
    /// the graph lock). `None` means "not implemented" (`ENOIOCTLCMD`),
    /// which is not an error.
    fn link_setup(&self, local: PadKey, remote: PadKey, flags: u32) -> Option<KResult<()>> {
        let _ = (local, remote, flags);
        None
    }

    /// Whether two pads are internally connected (`has_pad_interdep`; under
    /// the graph lock). `None`: the default rule (a sink and a source pad are).
    fn has_pad_interdep(&self, pad0: u32, pad1: u32) -> Option<bool> {
        let _ = (pad0, pad1);
        None
    }

    /// For the renderer: the ACTIVE format and selections of a subdev pad.
    /// Not called under the graph lock.
    fn pad_info(&self, pad: u32) -> Option<PadInfo> {
        let _ = pad;
        None
    }

    /// For the renderer: the device node path of the entity (`/dev/video0`),
    /// as media-ctl resolves it from `dev.major:minor`. Not called under the
    /// graph lock.
    fn devnode_path(&self) -> Option<String> {
        None
    }
}

/// Entity operations that do nothing (a plain entity).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOps;

impl EntityOps for NoOps {}

/// How to create an entity.
#[derive(Debug, Clone)]
pub struct EntityDesc {
    /// Name (unique within a media device, by convention).
    pub name: String,
    /// `MEDIA_ENT_F_*`.
    pub function: u32,
    /// `MEDIA_ENT_FL_*`.
    pub flags: u32,
    /// Embedding object type.
    pub obj_type: EntityType,
    /// Pad flags, by index.
    pub pads: Vec<u32>,
}

impl EntityDesc {
    /// A description with no flags and no pads.
    pub fn new(name: impl Into<String>, function: u32, obj_type: EntityType) -> Self {
        Self {
            name: name.into(),
            function,
            flags: 0,
            obj_type,
            pads: Vec::new(),
        }
    }

    /// Adds one pad per entry of `flags` (`MEDIA_PAD_FL_SINK` or `_SOURCE`), in index order.
    pub fn pads(mut self, flags: &[u32]) -> Self {
        self.pads.extend_from_slice(flags);
        self
    }

    /// Sets the entity flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

type ReleaseFn = Box<dyn FnOnce() + Send>;

/// The shared part of an entity.
///
/// # Invariants
///
/// * `id` is 0 until the entity is registered, then its graph id forever.
/// * `mdev` is set once, at registration, and dropped last.
pub struct EntityInner {
    name: Arc<str>,
    function: u32,
    flags: u32,
    obj_type: EntityType,
    pads: Box<[Pad]>,
    id: AtomicU32,
    in_graph: Arc<AtomicBool>,
    release: Mutex<Option<ReleaseFn>>,
    ops: Box<dyn EntityOps>,
    /// Declared last: dropped after everything else, after the release callback.
    mdev: OnceLock<MediaDevice>,
}

impl Drop for EntityInner {
    fn drop(&mut self) {
        let id = *self.id.get_mut();
        // Not if the graph already dropped it (media device unregistered):
        // like `gobj->mdev == NULL`, nothing to do and the media device is
        // not touched.
        if let Some(m) = self.mdev.get()
            && id != 0
            && self.in_graph.load(Ordering::Acquire)
        {
            m.reap_entity(id);
        }
        if let Some(r) = self.release.get_mut().take() {
            r();
        }
        // `ops`, then `mdev` (last), drop after this.
    }
}

/// A reference to a media entity. Cloning takes a reference
/// (`media_entity_get`); dropping puts it.
///
/// # Invariants
///
/// The entity's memory (name, pads, operations object, media device
/// reference) is valid while a handle exists; whether it is still in the
/// graph is a separate question ([`Entity::is_registered`]).
///
/// ```
/// use devlife::Monitor;
/// use devlife_media::mc::{Entity, EntityDesc, EntityType, NoOps};
/// use devlife_media::uapi::media::*;
/// let m = Monitor::new();
/// let e = Entity::new(&m, EntityDesc::new("Sensor A", MEDIA_ENT_F_CAM_SENSOR, EntityType::V4l2Subdev)
///     .pads(&[MEDIA_PAD_FL_SOURCE]), NoOps).unwrap();
/// let w = e.downgrade();
/// assert!(w.upgrade().is_some());
/// drop(e);
/// assert!(w.upgrade().is_none()); // try-get fails once the count reached zero
/// ```
#[derive(Clone)]
pub struct Entity(pub(crate) Ref<EntityInner>);

/// A weak reference to an entity: reaches it only by try-get.
#[derive(Clone, Default)]
pub struct WeakEntity(WeakRef<EntityInner>);

impl std::fmt::Debug for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entity")
            .field("name", &self.name())
            .field("id", &self.id())
            .finish()
    }
}

impl std::fmt::Debug for WeakEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakEntity(alive={})", self.0.is_alive())
    }
}

impl WeakEntity {
    /// `media_entity_try_get`: the entity, unless its count reached zero.
    pub fn upgrade(&self) -> Option<Entity> {
        self.0.try_get().map(Entity)
    }
}

impl Entity {
    /// `media_entity_pads_init` + allocation: validates the pads (fewer than
    /// 512, `E2BIG`; each exactly one of SINK and SOURCE, `EINVAL`).
    pub fn new(monitor: &Monitor, desc: EntityDesc, ops: impl EntityOps) -> KResult<Entity> {
        if desc.pads.len() >= MEDIA_ENTITY_MAX_PADS {
            return Err(Errno::E2BIG);
        }
        let mut pads = Vec::with_capacity(desc.pads.len());
        for (i, &flags) in desc.pads.iter().enumerate() {
            if (flags & (MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_SOURCE)).count_ones() != 1 {
                return Err(Errno::EINVAL);
            }
            pads.push(Pad {
                index: i as u16,
                flags,
            });
        }
        Ok(Entity(Ref::new(
            monitor,
            crate::kinds::MEDIA_ENTITY,
            EntityInner {
                name: desc.name.into(),
                function: desc.function,
                flags: desc.flags,
                obj_type: desc.obj_type,
                pads: pads.into(),
                id: AtomicU32::new(0),
                in_graph: Arc::new(AtomicBool::new(false)),
                release: Mutex::new(None),
                ops: Box::new(ops),
                mdev: OnceLock::new(),
            },
        )))
    }

    /// Sets the release callback, run when the last reference goes, after the
    /// entity left the graph and before its media device reference is dropped.
    pub fn set_release(&self, f: impl FnOnce() + Send + 'static) {
        *self.0.release.lock() = Some(Box::new(f));
    }

    /// A weak reference.
    pub fn downgrade(&self) -> WeakEntity {
        WeakEntity(Ref::downgrade(&self.0))
    }

    /// The entity's name (unique in its media device).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn name_arc(&self) -> Arc<str> {
        self.0.name.clone()
    }

    /// `MEDIA_ENT_F_*`.
    pub fn function(&self) -> u32 {
        self.0.function
    }

    /// `MEDIA_ENT_FL_*`.
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// Embedding object type.
    pub fn obj_type(&self) -> EntityType {
        self.0.obj_type
    }

    /// The entity's pads, by index.
    pub fn pads(&self) -> &[Pad] {
        &self.0.pads
    }

    /// The graph id, once registered (kept after unregistration).
    pub fn id(&self) -> Option<u32> {
        match self.0.id.load(Ordering::Acquire) {
            0 => None,
            id => Some(id),
        }
    }

    /// The pad `index` as a graph key (requires registration).
    pub fn pad_key(&self, index: u16) -> Option<PadKey> {
        let entity = self.id()?;
        (usize::from(index) < self.0.pads.len()).then_some(PadKey { entity, index })
    }

    /// The media device the entity was registered with (kept until the
    /// entity is released, even after unregistration).
    pub fn media_device(&self) -> Option<&MediaDevice> {
        self.0.mdev.get()
    }

    /// The entity's operations object.
    pub fn ops(&self) -> &dyn EntityOps {
        &*self.0.ops
    }

    /// The operations object as its concrete type (`container_of`).
    pub fn ops_as<T: EntityOps>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.0.ops;
        any.downcast_ref::<T>()
    }

    /// References right now.
    pub fn refs(&self) -> usize {
        Ref::count(&self.0)
    }

    /// Whether two handles name the same entity.
    pub fn ptr_eq(a: &Entity, b: &Entity) -> bool {
        Ref::ptr_eq(&a.0, &b.0)
    }

    /// Binds the entity to `mdev` with graph id `id` (once).
    pub(crate) fn bind(&self, mdev: &MediaDevice, id: u32) -> KResult<()> {
        self.0.mdev.set(mdev.clone()).map_err(|_| Errno::EBUSY)?;
        self.0.id.store(id, Ordering::Release);
        Ok(())
    }

    pub(crate) fn in_graph_flag(&self) -> Arc<AtomicBool> {
        self.0.in_graph.clone()
    }

    /// Whether the entity is in its media device's graph now.
    pub fn is_registered(&self) -> bool {
        self.0.in_graph.load(Ordering::Acquire)
    }

    /// Whether the entity was ever bound to a media device.
    pub(crate) fn is_bound(&self) -> bool {
        self.0.mdev.get().is_some()
    }
}

/// The shared part of an interface.
///
/// # Invariants
///
/// `id` is set once by the media device that created it; `mdev` is dropped last.
pub struct InterfaceInner {
    intf_type: u32,
    flags: u32,
    major: u32,
    minor: u32,
    id: AtomicU32,
    in_graph: Arc<AtomicBool>,
    /// The media device this entity holds; declared last so that it is
    /// dropped after every other field.
    mdev: OnceLock<MediaDevice>,
}

impl Drop for InterfaceInner {
    fn drop(&mut self) {
        let id = *self.id.get_mut();
        if let (Some(m), true) = (
            self.mdev.get(),
            id != 0 && self.in_graph.load(Ordering::Acquire),
        ) {
            m.reap_interface(id);
        }
    }
}

/// A reference to a media interface (`struct media_intf_devnode`): a device
/// node that controls entities through interface links.
#[derive(Clone)]
pub struct Interface(pub(crate) Ref<InterfaceInner>);

/// A weak reference to an interface.
#[derive(Clone, Default)]
pub struct WeakInterface(WeakRef<InterfaceInner>);

impl std::fmt::Debug for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interface")
            .field("type", &self.intf_type())
            .field("id", &self.id())
            .finish()
    }
}

impl std::fmt::Debug for WeakInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakInterface(alive={})", self.0.is_alive())
    }
}

impl WeakInterface {
    /// The interface, unless its count reached zero.
    pub fn upgrade(&self) -> Option<Interface> {
        self.0.try_get().map(Interface)
    }
}

impl Interface {
    pub(crate) fn new(
        monitor: &Monitor,
        mdev: &MediaDevice,
        intf_type: u32,
        flags: u32,
        major: u32,
        minor: u32,
    ) -> Interface {
        let inner = InterfaceInner {
            intf_type,
            flags,
            major,
            minor,
            id: AtomicU32::new(0),
            in_graph: Arc::new(AtomicBool::new(false)),
            mdev: OnceLock::new(),
        };
        let _ = inner.mdev.set(mdev.clone());
        Interface(Ref::new(monitor, crate::kinds::MEDIA_INTERFACE, inner))
    }

    pub(crate) fn in_graph_flag(&self) -> Arc<AtomicBool> {
        self.0.in_graph.clone()
    }

    pub(crate) fn set_id(&self, id: u32) {
        self.0.id.store(id, Ordering::Release);
    }

    /// A weak reference.
    pub fn downgrade(&self) -> WeakInterface {
        WeakInterface(Ref::downgrade(&self.0))
    }

    /// `MEDIA_INTF_T_*`.
    pub fn intf_type(&self) -> u32 {
        self.0.intf_type
    }

    /// The entity's `MEDIA_ENT_FL_*` flags.
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// Major number of the entity's device node (0 if it has none).
    pub fn major(&self) -> u32 {
        self.0.major
    }

    /// Minor number of the entity's device node (0 if it has none).
    pub fn minor(&self) -> u32 {
        self.0.minor
    }

    /// The graph id.
    pub fn id(&self) -> u32 {
        self.0.id.load(Ordering::Acquire)
    }

    /// The media device.
    pub fn media_device(&self) -> Option<&MediaDevice> {
        self.0.mdev.get()
    }
}
