//! The ISP platform driver (`omap3isp`'s `isp_probe` / `isp_remove`): probe
//! maps the registers, allocates the state, requests the interrupt and
//! builds the media graph; remove stops the engine and unregisters the
//! nodes; the v4l2 device's release drops the last reference to the state.
//! Everything else — draining the nodes before `remove`, stopping a stream
//! when its node is unplugged, freeing the interrupt after `remove`,
//! revoking the registers, releasing the memory on its last reference — is
//! the framework's.

use super::Counters;
use super::build::{self, IspData, Variant};
use super::hw::{REG_CTRL, REG_IRQ_EN};
use super::state::{IspState, Regs, isp_irq};
use crate::nodes::Gated;
use devlife_media::mc::MediaDevice;
use devlife_media::v4l2::V4l2Device;
use devlife_model::{BusKind, Driver, IrqReturn, KResult, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// The driver's (and its module's) name.
pub(crate) const NAME: &str = "devlife-isp";

/// The ISP platform driver.
pub(crate) struct IspDriver {
    /// The counters of the [`Isp`](super::Isp) that registered it.
    pub(crate) counters: Arc<Counters>,
}

/// The framework driver builds its topology with the defaults: gated nodes,
/// a media node running core code only.
impl Variant for IspDriver {
    type Nodes = Gated;
}

impl Driver for IspDriver {
    type Data = IspData;

    fn name(&self) -> &str {
        NAME
    }

    fn bus(&self) -> BusKind {
        BusKind::Platform
    }

    fn id_table(&self) -> &[&str] {
        &["platform:devlife-isp"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<IspData> {
        let name = ctx.device().name();
        let counters = &self.counters;
        // The media device is refcounted: an open media node keeps it.
        let mdev = MediaDevice::new(ctx.monitor(), build::device_info(NAME, name));
        // The registers, as a device resource revoked at unbind.
        let regs = ctx.ioremap()?;
        // The state, released on its last reference (the v4l2 device's
        // release below, every node's driver data, the interrupt handler).
        let st = ctx.alloc_shadow(
            "isp_state",
            &format!("isp({name})"),
            IspState::new(
                NAME,
                name,
                Regs::Framework(regs.clone()),
                mdev.clone(),
                ctx.binding_state(),
                counters.clone(),
            ),
        )?;
        // The interrupt, gated by the binding: it never runs once unbind has
        // drained the binding, and the framework frees it after `remove`.
        let s2 = st.clone();
        ctx.request_irq(NAME, move |ic| {
            let Some(b) = ic.bound() else {
                return IrqReturn::None;
            };
            match regs.access(&b) {
                Ok(r) => isp_irq(&s2, r),
                Err(_) => IrqReturn::None,
            }
        })?;
        // The release: it runs after the last video device and subdev are
        // gone and drops the driver's own reference to the state.
        let keep = st.clone();
        let v4l2 = V4l2Device::new(ctx.monitor(), name, move || drop(keep));
        v4l2.set_media_device(&mdev);
        let (subdevs, vdev) = build::build(ctx, self, &st, counters, &v4l2)?;
        Counters::inc(&counters.probes);
        Ok(IspData {
            st,
            v4l2,
            vdev,
            _subdevs: subdevs,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, d: &IspData) {
        // The stream was stopped when the capture node was unplugged. Stop
        // the engine and mask its interrupt.
        let st = d.st.get();
        let bound = ctx.bound();
        st.write_reg_bound(&bound, REG_CTRL, 0);
        st.write_reg_bound(&bound, REG_IRQ_EN, 0);
        build::unregister(d);
        Counters::inc(&self.counters.removes);
    }
}
