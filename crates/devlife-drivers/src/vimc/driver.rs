//! The vimc platform driver (`vimc-core.c`): probe builds the whole
//! topology, remove stops the engine and unregisters it. Everything else —
//! draining the nodes before `remove`, freeing the interrupt, revoking the
//! registers, releasing the state on its last reference — is the
//! framework's.

use super::build::{self, DriverShared, Variant, VimcData};
use super::hw::{REG_ID, REG_IRQ_EN, Regs, VIMC_ID, reg_stream};
use super::state::{Stat, VimcState};
use super::streamer::{self, StreamCtl, StreamerThread};
use crate::nodes::Gated;
use devlife_media::mc::MediaDevice;
use devlife_media::v4l2::V4l2Device;
use devlife_model::{BusKind, Driver, Errno, IrqReturn, KResult, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// The vimc platform driver.
pub(crate) struct VimcDriver {
    pub(crate) shared: Arc<DriverShared>,
}

impl Variant for VimcDriver {
    type Nodes = Gated;

    fn streamer_thread(&self) -> &'static dyn StreamerThread {
        &BindingTimer
    }
}

/// The streamer thread of the framework driver: a timer made at probe
/// through the binding, so it runs inside the binding's gate and is
/// disabled at unbind.
///
/// # Invariants
///
/// A capture's `timer` is set once, at probe, and its callback holds the
/// stream control weakly (no cycle).
struct BindingTimer;

impl StreamerThread for BindingTimer {
    fn probe(&self, ctx: &ProbeCtx<'_>, ctl: &Arc<StreamCtl>) {
        let weak = Arc::downgrade(ctl);
        let t = ctx.timer(&format!("vimc-streamer-{}", ctl.cap), move |w| {
            if let Some(c) = weak.upgrade() {
                c.tick(w);
            }
        });
        *ctl.timer.lock() = Some(t);
    }

    fn start(&self, ctl: &Arc<StreamCtl>, st: &VimcState) {
        let t = ctl.timer.lock().clone();
        if let Some(t) = t {
            t.arm(st.interval);
        }
    }

    /// `kthread_stop` (cancel, wait for a running frame), then the engine.
    fn stop(&self, ctl: &StreamCtl, st: &VimcState) {
        let t = ctl.timer.lock().clone();
        if let Some(t) = t {
            t.cancel_sync();
        }
        st.regs.write(reg_stream(ctl.cap), 0);
    }
}

impl Driver for VimcDriver {
    type Data = VimcData;

    fn name(&self) -> &str {
        "vimc"
    }

    fn bus(&self) -> BusKind {
        BusKind::Platform
    }

    fn id_table(&self) -> &[&str] {
        &["platform:vimc"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VimcData> {
        // The engine's registers, as a device resource revoked at unbind.
        // `EPROBE_DEFER` while the engine is not initialised.
        let regs = ctx.ioremap()?;
        let id = regs
            .access(&ctx.bound())
            .map_err(|_| Errno::ENODEV)?
            .read(REG_ID);
        if id != VIMC_ID {
            return Err(Errno::EPROBE_DEFER);
        }
        let mdev = MediaDevice::new(ctx.monitor(), build::device_info(self.name()));
        // The state, released on its last reference (the binding, every
        // entity's driver data, the interrupt handler).
        let state = ctx.alloc_shadow(
            "vimc_device",
            "vimc",
            VimcState::new(
                Regs::Framework(regs),
                mdev.clone(),
                ctx.kernel().downgrade(),
                ctx.binding_state(),
                self.shared.interval,
                self.shared.stats.clone(),
            ),
        )?;
        let s2 = state.clone();
        ctx.request_irq("vimc", move |ic| match ic.bound() {
            Some(b) => streamer::irq(&s2, Some(&b)),
            None => IrqReturn::None,
        })?;
        // Nothing of vimc's own is freed with the v4l2 device.
        let v4l2 = V4l2Device::new(ctx.monitor(), "vimc", || {});
        v4l2.set_media_device(&mdev);
        let ents = build::build(ctx, self, &state, &mdev, &v4l2)?;
        self.shared.stats.bump(Stat::Probes);
        Ok(VimcData {
            state,
            mdev,
            v4l2,
            ents,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, d: &VimcData) {
        let st = d.state.get();
        st.regs.write_bound(Some(&ctx.bound()), REG_IRQ_EN, 0);
        // `vimc_unregister_subdevs` (the captures' `vb2_video_unregister_device`),
        // then the media and v4l2 devices.
        build::unregister(d);
        self.shared.stats.bump(Stat::Removes);
    }
}
