//! [`Subdev`]: a V4L2 sub-device (`struct v4l2_subdev` + `v4l2-subdev.c`)
//! with its devnode in the same allocation, and the driver-facing
//! [`SubdevOps`] (pad ops, `s_stream`, internal ops, release).
//!
//! # Lifetime (the open problem of the enter/exit RFC, docs/proposals.md)
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

use super::ctrls::CtrlHandler;
use super::{NodeRegistrar, NodeStyle, V4l2Device};
use crate::mc::{Entity, EntityDesc, EntityType, Interface};
use devlife::Monitor;
use devlife::check::{EventKind, LiveToken};
use devlife_model::{KResult, Node, NodeRegistration, WeakNode};
use parking_lot::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};

mod entity;
mod file;
mod handle;
mod ioctl;
mod ops;
mod state;

pub(crate) use entity::{SubdevEntityOps, entity_pad_format};
pub use file::SubdevFh;
pub(crate) use file::SubdevNodeOps;
pub(crate) use handle::AnySubdev;
pub use handle::SubdevHandle;
pub use ops::{SubdevConfig, SubdevOps};
pub use state::{PadState, SubdevState};

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
    /// How its node dispatches (the framework's gated node unless made
    /// through [`crate::legacy`]).
    style: NodeStyle,
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
            Some(crate::kinds::V4L2_SUBDEV),
        );
    }
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
        Self::with_style(monitor, cfg, ops, NodeStyle::Gated)
    }

    /// [`new`](Self::new) with the node style `style`.
    pub(crate) fn with_style(
        monitor: &Monitor,
        cfg: SubdevConfig,
        ops: D,
        style: NodeStyle,
    ) -> KResult<Self> {
        let id = monitor.next_id();
        monitor.journal().record_named(
            id,
            &cfg.name,
            EventKind::Alloc,
            Some(crate::kinds::V4L2_SUBDEV),
        );
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
            style,
            ops,
            ctrls,
            active: Mutex::new(active),
            devnode: Mutex::new(Devnode::default()),
            entity,
            next_fh: AtomicU64::new(1),
            monitor: monitor.clone(),
            _live: monitor.live(crate::kinds::V4L2_SUBDEV),
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

    /// The subdev's (and its entity's) name.
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
