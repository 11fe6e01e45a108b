//! What vimc's framework driver and its legacy twin share: the topology
//! built in `vimc_probe`'s order (entities, data links, ancillary links,
//! media device, subdev nodes), the binding's data and what the driver
//! publishes for its handle.
//!
//! The two drivers differ only in how their subdevs and video devices are
//! created (the node rules each names, [`NodeRules`]; the twin also embeds
//! one capture's video device) and how a capture's streamer thread lives;
//! each says so through [`Variant`].

use super::VimcNodes;
use super::capture::{CaptureOps, DEVICE_CAPS, queue_config};
use super::debayer::DebayerOps;
use super::formats::pix_default;
use super::hw::REG_IRQ_EN;
use super::scaler::ScalerOps;
use super::sensor::SensorOps;
use super::state::{VimcState, VimcStats};
use super::streamer::{StreamCtl, StreamerThread};
use super::subdev::{EntCommon, LensOps};
use super::topology::{
    ANCILLARY_LINKS, DATA_LINKS, ENTITIES, EntKind, NUM_ENTITIES, capture_number,
};
use crate::nodes::NodeRules;
use devlife::check::Shadow;
use devlife_media::mc::{DeviceInfo, Entity, MediaDevice, Pipeline, RegisterOptions};
use devlife_media::v4l2::{
    Subdev, SubdevConfig, SubdevOps, V4l2Device, VideoDevice, VideoDeviceConfig, VideoOps,
};
use devlife_model::{Errno, KResult, Node, ProbeCtx};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// State shared by the registered driver and its handle.
#[derive(Debug)]
pub(crate) struct DriverShared {
    pub(crate) interval: Duration,
    pub(crate) stats: Arc<VimcStats>,
    /// Driver-private mistakes armed by a scenario (`mistake NAME`); only
    /// the legacy twin reads them, at `remove()`.
    pub(crate) mistakes: parking_lot::Mutex<Vec<crate::Mistake>>,
}

/// What vimc needs of each of its entities, whatever its kind (a subdev or
/// a capture's video device).
pub(crate) trait VimcEntity: Send + Sync {
    /// The media entity.
    fn entity(&self) -> &Entity;
    /// The entity's device node, once registered.
    fn node(&self) -> Option<Node>;
    /// `vimc_unregister_subdevs`' part for this entity: a capture's
    /// `vb2_video_unregister_device`; nothing for a subdev (its node goes
    /// with the v4l2 device).
    fn unregister_node(&self) {}
}

impl<O: SubdevOps> VimcEntity for Subdev<O> {
    fn entity(&self) -> &Entity {
        Subdev::entity(self)
    }
    fn node(&self) -> Option<Node> {
        Subdev::node(self)
    }
}

impl<O: VideoOps> VimcEntity for VideoDevice<O> {
    fn entity(&self) -> &Entity {
        VideoDevice::entity(self)
    }
    fn node(&self) -> Option<Node> {
        VideoDevice::node(self)
    }
    fn unregister_node(&self) {
        let _ = VideoDevice::unregister(self);
    }
}

/// One entity of a binding.
pub(crate) type VimcEnt = Box<dyn VimcEntity>;

fn node_path(e: &dyn VimcEntity) -> Option<String> {
    e.node().map(|n| format!("/dev/{}", n.name()))
}

/// What a binding holds (`struct vimc_device` as the platform device's
/// drvdata). Dropped at step 7 of unbind; the memory each part points to
/// stays while open files hold it.
pub(crate) struct VimcData {
    pub(crate) state: Shadow<VimcState>,
    pub(crate) mdev: MediaDevice,
    pub(crate) v4l2: V4l2Device,
    pub(crate) ents: Vec<VimcEnt>,
}

/// Where the framework driver and its legacy twin differ while the topology
/// is built: the rules its nodes follow, how a capture's video device is
/// created, and how a capture's streamer lives.
pub(crate) trait Variant {
    /// The rules every subdev and (unless [`new_capture`](Self::new_capture)
    /// says otherwise) every capture node is created by.
    type Nodes: NodeRules;
    /// Creates a capture's video device (`video_device` setup); by default
    /// through `Self::Nodes`.
    fn new_capture(
        &self,
        _ctx: &ProbeCtx<'_>,
        v4l2: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: CaptureOps,
    ) -> KResult<VideoDevice<CaptureOps>> {
        Self::Nodes::video(v4l2, cfg, ops)
    }
    /// How the captures' streamer threads live.
    fn streamer_thread(&self) -> &'static dyn StreamerThread;
}

/// The media device's identity (`vimc_probe`'s `media_device` fields).
pub(crate) fn device_info(driver: &str) -> DeviceInfo {
    DeviceInfo {
        driver_name: "vimc".into(),
        parent_driver: driver.into(),
        model: "VIMC MDEV".into(),
        serial: String::new(),
        bus_info: "platform:vimc".into(),
        hw_revision: 0,
    }
}

fn subdev<V: Variant, O: SubdevOps>(
    ctx: &ProbeCtx<'_>,
    v4l2: &V4l2Device,
    i: usize,
    ops: O,
) -> KResult<Subdev<O>> {
    let e = ENTITIES[i];
    let mut cfg = SubdevConfig::new(e.name, e.kind.pads().to_vec(), e.kind.function());
    cfg.controls = super::controls::for_kind(e.kind);
    let sd = V::Nodes::subdev(ctx, cfg, ops)?;
    v4l2.register_subdev(&sd.handle())?;
    Ok(sd)
}

/// `vimc_add_subdevs`: every entity in `ent_config` order. Subdevs register
/// their entity now; captures register their node, entity, interface and
/// interface link now (the documented id order).
fn add_entities<V: Variant>(
    ctx: &ProbeCtx<'_>,
    variant: &V,
    state: &Shadow<VimcState>,
    v4l2: &V4l2Device,
) -> KResult<Vec<VimcEnt>> {
    let mut ents = Vec::with_capacity(NUM_ENTITIES);
    for (i, e) in ENTITIES.iter().enumerate() {
        let c = EntCommon::new(state, i);
        let ent: VimcEnt = match e.kind {
            EntKind::Sensor => Box::new(subdev::<V, _>(ctx, v4l2, i, SensorOps { c })?),
            EntKind::Debayer => Box::new(subdev::<V, _>(ctx, v4l2, i, DebayerOps { c })?),
            EntKind::Scaler => Box::new(subdev::<V, _>(ctx, v4l2, i, ScalerOps { c })?),
            EntKind::Lens => Box::new(subdev::<V, _>(ctx, v4l2, i, LensOps { c })?),
            EntKind::Capture => {
                let cap = capture_number(i).ok_or(Errno::EINVAL)?;
                let ctl = Arc::new(StreamCtl::new(state, cap, i, variant.streamer_thread()));
                ctl.probe(ctx);
                let mut cfg = VideoDeviceConfig::capture(e.name, pix_default());
                cfg.device_caps = DEVICE_CAPS;
                cfg.queue = queue_config();
                let vdev = variant.new_capture(
                    ctx,
                    v4l2,
                    cfg,
                    CaptureOps {
                        ctl,
                        pipe: Pipeline::new(),
                    },
                )?;
                vdev.register(ctx)?;
                Box::new(vdev)
            }
        };
        let id = ent.entity().id().ok_or(Errno::EINVAL)?;
        state.get().ids[i].store(id, Ordering::Release);
        ents.push(ent);
    }
    Ok(ents)
}

/// `vimc_create_links`: the data links, then the ancillary links.
fn create_links(mdev: &MediaDevice, ents: &[VimcEnt]) -> KResult<()> {
    for l in DATA_LINKS {
        mdev.create_pad_link(
            ents[l.source].entity(),
            l.source_pad,
            ents[l.sink].entity(),
            l.sink_pad,
            l.flags,
        )?;
    }
    for (p, a) in ANCILLARY_LINKS {
        mdev.create_ancillary_link(ents[p].entity(), ents[a].entity())?;
    }
    Ok(())
}

/// The nodes of a binding, from its data (what the handle shows).
pub(crate) fn nodes(d: &VimcData) -> Option<VimcNodes> {
    Some(VimcNodes {
        media: d.mdev.node().map(|n| format!("/dev/{}", n.name()))?,
        entities: d
            .ents
            .iter()
            .map(|e| node_path(e.as_ref()))
            .collect::<Option<Vec<_>>>()?,
    })
}

/// `vimc_add_subdevs`, `vimc_create_links`, `media_device_register`,
/// `v4l2_device_register_subdev_nodes`; then the engine's interrupt is
/// enabled. Returns the entities. If the probe fails from here on, its
/// unwinding unregisters the media device and the v4l2 device again
/// (`vimc_probe`'s error path; this also breaks a legacy media node's
/// pointer to its media device).
pub(crate) fn build(
    ctx: &ProbeCtx<'_>,
    variant: &impl Variant,
    state: &Shadow<VimcState>,
    mdev: &MediaDevice,
    v4l2: &V4l2Device,
) -> KResult<Vec<VimcEnt>> {
    let v = v4l2.clone();
    ctx.undo_on_error("v4l2_device_unregister", move || v.unregister());
    let m = mdev.clone();
    ctx.undo_on_error("media_device_unregister", move || m.unregister());
    let ents = add_entities(ctx, variant, state, v4l2)?;
    create_links(mdev, &ents)?;
    mdev.register(
        ctx.kernel(),
        RegisterOptions {
            parent: Some(ctx.device().clone()),
            owner: ctx.module().cloned(),
            name: None,
        },
    )?;
    v4l2.register_subdev_nodes(ctx)?;
    // Every entity and the media device have their node now.
    if mdev.node().is_none() || ents.iter().any(|e| e.node().is_none()) {
        return Err(Errno::ENODEV);
    }
    state
        .get()
        .regs
        .write_bound(Some(&ctx.bound()), REG_IRQ_EN, 1);
    Ok(ents)
}

/// `vimc_unregister_subdevs` and the media and v4l2 unregistration of
/// `vimc_remove`, after the engine's interrupt is off.
pub(crate) fn unregister(d: &VimcData) {
    for e in &d.ents {
        e.unregister_node();
    }
    d.mdev.unregister();
    d.v4l2.unregister();
}
