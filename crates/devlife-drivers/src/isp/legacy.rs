//! The ISP's legacy twin (`devlife-isp-legacy`): the pre-fix driver, kept to
//! show what the checkers catch. It shares the state, the operations and
//! the topology with the framework driver ([`super::build`]) and differs
//! where the pre-fix kernel did:
//!
//! * the registers are a raw mapping kept in the state (accesses after
//!   `remove()` are reported);
//! * a devm IRQ is requested *before* the devm state, so at unbind devm
//!   frees the state (and the media device embedded in it) first and the
//!   IRQ after: an interrupt in between runs on freed memory
//!   (`IrqAfterRelease`);
//! * every node checks its `registered` flag only at call entry: unbind
//!   neither waits for calls in flight nor wakes sleepers, and a stream is
//!   not stopped when its node goes;
//! * the media device is freed with the state, under an open media node,
//!   whose code belongs to the driver's module.

use super::Counters;
use super::build::{self, IspData, Variant};
use super::hw::REG_CTRL;
use super::state::{IspState, Regs, isp_irq};
use crate::legacy_nodes::EntryChecked;
use devlife_media::legacy::OwnerFreedMedia;
use devlife_media::mc::MediaDevice;
use devlife_media::v4l2::V4l2Device;
use devlife_model::legacy::Devm;
use devlife_model::{BusKind, Driver, KResult, Module, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// The twin's (and its module's) name.
pub(crate) const NAME: &str = "devlife-isp-legacy";

/// The pre-fix ISP platform driver.
pub(crate) struct IspLegacyDriver {
    /// The counters of the [`Isp`](super::Isp) that registered it.
    pub(crate) counters: Arc<Counters>,
}

impl Variant for IspLegacyDriver {
    /// The subdev nodes and the capture node check their `registered` flag
    /// at call entry only; the capture's unregistration stops nothing.
    type Nodes = EntryChecked;

    /// The media node runs the driver's code: an open node pins the module.
    fn media_owner(&self, ctx: &ProbeCtx<'_>) -> Option<Module> {
        ctx.module().cloned()
    }
}

impl Driver for IspLegacyDriver {
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
        let mdev = MediaDevice::new_owner_freed(ctx.monitor(), build::device_info(NAME, name));
        // The pre-fix order: the devm IRQ first (so devm frees the state
        // before the IRQ), its handler finding the state through drvdata;
        // the media device lives in the same devm allocation.
        let regs = ctx.ioremap_unmanaged()?;
        let r2 = regs.clone();
        let st = ctx.devm_irq_before_state(
            NAME,
            "isp drvdata",
            "isp_state",
            &format!("isp({name})"),
            IspState::new(
                NAME,
                name,
                Regs::Legacy(regs),
                mdev.clone(),
                ctx.binding_state(),
                counters.clone(),
            ),
            move |s| isp_irq(s, &r2),
        )?;
        let m = mdev.clone();
        ctx.devm_add_action("kfree(isp->media_dev)", move || {
            m.legacy_free();
        });
        // The release drops a handle: the memory is devm's.
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
        // Stop the engine; the IRQ and the memory go with devm, after this
        // returns. No stream stop: a running stream stops only when its last
        // file closes, after this (`stops_after_remove`).
        d.st.get().write_reg_bound(&ctx.bound(), REG_CTRL, 0);
        build::unregister(d);
        Counters::inc(&self.counters.removes);
    }
}
