//! The type-erased subdev: [`AnySubdev`], its implementation for every
//! subdev, and the [`SubdevHandle`] other drivers and the v4l2 device hold.

use super::{SubdevEntityOps, SubdevFh, SubdevInner, SubdevNodeOps, SubdevOps, SubdevState};
use crate::mc::Entity;
use crate::uapi::media::{MEDIA_INTF_T_V4L_SUBDEV, MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE};
use crate::uapi::subdev::{
    V4L2_SUBDEV_FORMAT_ACTIVE, V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevSelection,
};
use crate::uapi::videodev2::V4l2Rect;
use crate::v4l2::{NodeRegistrar, V4l2Device};
use devlife_model::{Errno, KResult, Node, NodeKind, NodeRegistration, NodeSpec, OpCtx};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

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

/// A type-erased, cloneable handle to any subdev: what another driver (a
/// bridge streaming a pipeline, link validation) uses.
#[derive(Clone)]
pub struct SubdevHandle(pub(super) Arc<dyn AnySubdev>);

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
    /// The subdev's (and its entity's) name.
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
    /// The entity function (`MEDIA_ENT_F_*`).
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
        let spec = self
            .style
            .node_spec(NodeKind::Subdev)
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
