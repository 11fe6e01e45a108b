//! The platform driver (`vimc-core.c`): probe builds the whole topology,
//! remove tears it down, in the framework style or as the legacy twin.

use super::capture::{CaptureOps, DEVICE_CAPS, queue_config};
use super::debayer::DebayerOps;
use super::formats::pix_default;
use super::hw::{REG_ID, REG_IRQ_EN, Regs, VIMC_ID};
use super::scaler::ScalerOps;
use super::sensor::SensorOps;
use super::state::{Stat, VimcState, VimcStats};
use super::streamer::{self, StreamCtl};
use super::subdev::{EntCommon, LensOps};
use super::topology::{
    ANCILLARY_LINKS, DATA_LINKS, ENTITIES, EntKind, NUM_ENTITIES, capture_number,
};
use super::{VimcNodes, id_table};
use crate::common::Style;
use devlife::check::Shadow;
use devlife_media::mc::{
    DeviceInfo, Entity, Lifetime, MediaDevice, Pipeline, RegisterOptions, WeakMediaDevice,
};
use devlife_media::v4l2::{
    Subdev, SubdevConfig, SubdevOps, V4l2Device, VideoDevice, VideoDeviceConfig,
};
use devlife_model::legacy::Devm;
use devlife_model::{
    BusKind, Driver, Errno, IrqDevId, IrqHandle, IrqReturn, KResult, ProbeCtx, RemoveCtx,
};
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What the driver publishes about its current binding, for the handle.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) mdev: WeakMediaDevice,
    pub(crate) nodes: VimcNodes,
}

/// State shared by the registered driver and its handle.
#[derive(Debug)]
pub(crate) struct DriverShared {
    pub(crate) style: Style,
    pub(crate) interval: Duration,
    pub(crate) stats: Arc<VimcStats>,
    pub(crate) current: Mutex<Option<Published>>,
}

/// The vimc platform driver.
pub(crate) struct VimcDriver {
    pub(crate) shared: Arc<DriverShared>,
}

/// One entity of a binding.
pub(crate) enum VimcEnt {
    Sensor(Subdev<SensorOps>),
    Debayer(Subdev<DebayerOps>),
    Scaler(Subdev<ScalerOps>),
    Lens(Subdev<LensOps>),
    Capture(VideoDevice<CaptureOps>),
}

impl VimcEnt {
    fn entity(&self) -> &Entity {
        match self {
            VimcEnt::Sensor(s) => s.entity(),
            VimcEnt::Debayer(s) => s.entity(),
            VimcEnt::Scaler(s) => s.entity(),
            VimcEnt::Lens(s) => s.entity(),
            VimcEnt::Capture(v) => v.entity(),
        }
    }

    fn node_path(&self) -> Option<String> {
        let n = match self {
            VimcEnt::Sensor(s) => s.node(),
            VimcEnt::Debayer(s) => s.node(),
            VimcEnt::Scaler(s) => s.node(),
            VimcEnt::Lens(s) => s.node(),
            VimcEnt::Capture(v) => v.node(),
        };
        n.map(|n| format!("/dev/{}", n.name()))
    }
}

/// What a binding holds (`struct vimc_device` as the platform device's
/// drvdata). Dropped at step 7 of unbind; the memory each part points to
/// stays while open files hold it.
pub(crate) struct VimcData {
    state: Shadow<VimcState>,
    mdev: MediaDevice,
    v4l2: V4l2Device,
    ents: Vec<VimcEnt>,
    irq: IrqHandle,
}

fn subdev<O: SubdevOps>(
    ctx: &ProbeCtx<'_>,
    v4l2: &V4l2Device,
    i: usize,
    legacy: bool,
    ops: O,
) -> KResult<Subdev<O>> {
    let e = ENTITIES[i];
    let mut cfg = SubdevConfig::new(e.name, e.kind.pads().to_vec(), e.kind.function());
    cfg.legacy = legacy;
    cfg.controls = super::controls::for_kind(e.kind);
    let sd = Subdev::new(ctx.monitor(), cfg, ops)?;
    v4l2.register_subdev(&sd.handle())?;
    Ok(sd)
}

impl VimcDriver {
    fn legacy(&self) -> bool {
        self.shared.style == Style::Legacy
    }

    /// Maps the engine's registers and checks its identification: framework
    /// style as a device resource, legacy style as a raw mapping.
    /// `EPROBE_DEFER` while the engine is not initialised.
    fn map_regs(&self, ctx: &ProbeCtx<'_>) -> KResult<Regs> {
        if self.legacy() {
            let regs = ctx.ioremap_unmanaged()?;
            if regs.read(REG_ID) != VIMC_ID {
                return Err(Errno::EPROBE_DEFER);
            }
            Ok(Regs::Legacy(regs))
        } else {
            let regs = ctx.ioremap()?;
            let id = regs
                .access(&ctx.bound())
                .map_err(|_| Errno::ENODEV)?
                .read(REG_ID);
            if id != VIMC_ID {
                return Err(Errno::EPROBE_DEFER);
            }
            Ok(Regs::Framework(regs))
        }
    }

    /// The state and the IRQ. Framework: the state released on its last
    /// reference, a gated IRQ. Legacy: a devm IRQ requested *before* the
    /// devm state (so devm frees the state first and the IRQ after: the
    /// window of `IrqAfterRelease`).
    fn resources(
        &self,
        ctx: &ProbeCtx<'_>,
        regs: Regs,
        mdev: &MediaDevice,
    ) -> KResult<(Shadow<VimcState>, IrqHandle)> {
        let state = VimcState::new(
            self.shared.style,
            regs,
            mdev.clone(),
            ctx.kernel().downgrade(),
            self.shared.interval,
            self.shared.stats.clone(),
        );
        if self.legacy() {
            let drvdata: Arc<OnceLock<Shadow<VimcState>>> = Arc::new(OnceLock::new());
            let (d2, d3) = (drvdata.clone(), drvdata.clone());
            let irq = ctx.devm_request_irq(
                "vimc",
                Some(IrqDevId::custom("vimc_device", move || {
                    d3.get().is_none_or(|s| !s.is_freed())
                })),
                move |_| match d2.get() {
                    Some(s) => streamer::irq(s, None),
                    None => IrqReturn::None,
                },
            )?;
            let state = ctx.devm_alloc("vimc_device", "vimc", state)?;
            let _ = drvdata.set(state.clone());
            Ok((state, irq))
        } else {
            let state = ctx.alloc_shadow("vimc_device", "vimc", state)?;
            let s2 = state.clone();
            let irq = ctx.request_irq("vimc", move |ic| match ic.bound() {
                Some(b) => streamer::irq(&s2, Some(&b)),
                None => IrqReturn::None,
            })?;
            Ok((state, irq))
        }
    }

    /// `vimc_add_subdevs`: every entity in `ent_config` order. Subdevs
    /// register their entity now; captures register their node, entity,
    /// interface and interface link now (the id order of docs/vimc.md).
    fn add_entities(
        &self,
        ctx: &ProbeCtx<'_>,
        state: &Shadow<VimcState>,
        v4l2: &V4l2Device,
    ) -> KResult<Vec<VimcEnt>> {
        let legacy = self.legacy();
        let mut ents = Vec::with_capacity(NUM_ENTITIES);
        for (i, e) in ENTITIES.iter().enumerate() {
            let c = EntCommon::new(state, i);
            let ent = match e.kind {
                EntKind::Sensor => VimcEnt::Sensor(subdev(ctx, v4l2, i, legacy, SensorOps { c })?),
                EntKind::Debayer => {
                    VimcEnt::Debayer(subdev(ctx, v4l2, i, legacy, DebayerOps { c })?)
                }
                EntKind::Scaler => VimcEnt::Scaler(subdev(ctx, v4l2, i, legacy, ScalerOps { c })?),
                EntKind::Lens => VimcEnt::Lens(subdev(ctx, v4l2, i, legacy, LensOps { c })?),
                EntKind::Capture => {
                    let cap = capture_number(i).ok_or(Errno::EINVAL)?;
                    let ctl = Arc::new(StreamCtl::new(state, cap, i));
                    if !legacy {
                        // The streamer thread: gated by the binding, disabled
                        // at unbind; holds its control weakly.
                        let weak = Arc::downgrade(&ctl);
                        let t = ctx.timer(&format!("vimc-streamer-{cap}"), move |w| {
                            if let Some(c) = weak.upgrade() {
                                c.tick(w);
                            }
                        });
                        *ctl.timer.lock() = Some(t);
                    }
                    let mut cfg = VideoDeviceConfig::capture(e.name, pix_default());
                    cfg.device_caps = DEVICE_CAPS;
                    cfg.queue = queue_config();
                    cfg.legacy = legacy;
                    let vdev = VideoDevice::new(
                        v4l2,
                        cfg,
                        CaptureOps {
                            ctl,
                            pipe: Pipeline::new(),
                            stats: self.shared.stats.clone(),
                        },
                    )?;
                    vdev.register(ctx)?;
                    VimcEnt::Capture(vdev)
                }
            };
            let id = ent.entity().id().ok_or(Errno::EINVAL)?;
            state.get().ids[i].store(id, Ordering::Release);
            ents.push(ent);
        }
        Ok(ents)
    }

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
}

impl VimcDriver {
    /// `vimc_add_subdevs`, `vimc_create_links`, `media_device_register`,
    /// `v4l2_device_register_subdev_nodes`; then the engine's interrupt is
    /// enabled. Returns the entities and the nodes.
    fn build(
        &self,
        ctx: &ProbeCtx<'_>,
        state: &Shadow<VimcState>,
        mdev: &MediaDevice,
        v4l2: &V4l2Device,
    ) -> KResult<(Vec<VimcEnt>, VimcNodes)> {
        let ents = self.add_entities(ctx, state, v4l2)?;
        Self::create_links(mdev, &ents)?;
        mdev.register(
            ctx.kernel(),
            RegisterOptions {
                parent: Some(ctx.device().clone()),
                owner: ctx.module().cloned(),
                name: None,
            },
        )?;
        v4l2.register_subdev_nodes(ctx)?;
        let nodes = VimcNodes {
            media: mdev
                .node()
                .map(|n| format!("/dev/{}", n.name()))
                .ok_or(Errno::ENODEV)?,
            entities: ents
                .iter()
                .map(|e| e.node_path().ok_or(Errno::ENODEV))
                .collect::<KResult<Vec<_>>>()?,
        };
        state
            .get()
            .regs
            .write_bound(Some(&ctx.bound()), REG_IRQ_EN, 1);
        Ok((ents, nodes))
    }
}

impl Driver for VimcDriver {
    type Data = VimcData;

    fn name(&self) -> &str {
        super::driver_name(self.shared.style)
    }

    fn bus(&self) -> BusKind {
        BusKind::Platform
    }

    fn id_table(&self) -> &[&str] {
        id_table(self.shared.style)
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VimcData> {
        let legacy = self.legacy();
        let regs = self.map_regs(ctx)?;
        let info = DeviceInfo {
            driver_name: "vimc".into(),
            parent_driver: self.name().into(),
            model: "VIMC MDEV".into(),
            serial: String::new(),
            bus_info: "platform:vimc".into(),
            hw_revision: 0,
        };
        let lifetime = if legacy {
            Lifetime::Legacy
        } else {
            Lifetime::Framework
        };
        let mdev = MediaDevice::new(ctx.monitor(), info, lifetime);
        let stats = self.shared.stats.clone();
        mdev.set_release(move || stats.bump(Stat::MediaReleases));
        let (state, irq) = self.resources(ctx, regs, &mdev)?;
        let stats = self.shared.stats.clone();
        let v4l2 = V4l2Device::new(ctx.monitor(), "vimc", move || {
            stats.bump(Stat::V4l2Releases)
        });
        v4l2.set_media_device(&mdev);
        let built = self.build(ctx, &state, &mdev, &v4l2);
        let (ents, nodes) = match built {
            Ok(b) => b,
            Err(e) => {
                // `vimc_probe`'s error path: unregister what was registered
                // (this also breaks the legacy media node's pointer to its
                // media device).
                mdev.unregister();
                v4l2.unregister();
                return Err(e);
            }
        };
        *self.shared.current.lock() = Some(Published {
            mdev: mdev.downgrade(),
            nodes,
        });
        self.shared.stats.bump(Stat::Probes);
        Ok(VimcData {
            state,
            mdev,
            v4l2,
            ents,
            irq,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, d: &VimcData) {
        *self.shared.current.lock() = None;
        let st = d.state.get();
        st.regs.write_bound(Some(&ctx.bound()), REG_IRQ_EN, 0);
        // `vimc_unregister_subdevs`: the captures' `vb2_video_unregister_device`
        // (the legacy twin: `video_unregister_device`, no stream stop).
        for e in &d.ents {
            if let VimcEnt::Capture(v) = e {
                let _ = v.unregister();
            }
        }
        d.mdev.unregister();
        d.v4l2.unregister();
        st.removed.store(true, Ordering::Release);
        if self.legacy() {
            // The pre-fix driver frees the structure embedding the media
            // device now (its devnode may still be open: R1/R2); devm frees
            // the rest, then the IRQ.
            d.mdev.legacy_free();
        } else {
            d.irq.free();
        }
        self.shared.stats.bump(Stat::Removes);
    }
}
