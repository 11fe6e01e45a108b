//! vimc's legacy twin: the pre-fix driver, kept to show what the checkers
//! catch. It shares the topology, the operations and the state with the
//! framework driver ([`super::build`]) and differs where the pre-fix kernel
//! did:
//!
//! * the registers are a raw mapping kept in the state;
//! * a devm IRQ is requested *before* the devm state, so devm frees the
//!   state first and the IRQ after (the window of `IrqAfterRelease`);
//! * every node checks its `registered` flag only at call entry;
//! * a capture's streamer is a kthread started at `start_streaming` that
//!   nobody stops at unbind;
//! * `remove` frees the structure embedding the media device under an open
//!   media node (races R1/R2), and the RGB/YUV capture's structure embedding
//!   its video device under an open capture node (the em28xx / ipu6 pattern):
//!   the core's `registered` check at a later call's entry and
//!   `v4l2_release` at its close read freed memory;
//! * the private structure (`vimc_device`) is counted by a kref of the
//!   driver's own ([`PrivKref`]): the driver holds one reference, the media
//!   device's release callback another. A scenario can arm a
//!   [`Mistake`](crate::Mistake) that `remove` then makes with that count,
//!   or with the driver lock (`vimc.lock`).

use super::build::{self, DriverShared, Variant, VimcData};
use super::capture::CaptureOps;
use super::hw::{REG_ID, REG_IRQ_EN, Regs, VIMC_ID, reg_stream};
use super::state::{Stat, VimcState};
use super::streamer::{self, StreamCtl, StreamerThread};
use super::topology::{ENTITIES, RGB_YUV_CAPTURE};
use crate::Mistake;
use crate::legacy_nodes::EntryChecked;
use crate::mistake::PrivKref;
use crate::nodes::NodeRules;
use devlife::check::Shadow;
use devlife_media::legacy::{EntryCheckedVideo, OwnerFreedMedia};
use devlife_media::mc::MediaDevice;
use devlife_media::v4l2::{V4l2Device, VideoDevice, VideoDeviceConfig};
use devlife_model::legacy::Devm;
use devlife_model::{BusKind, Driver, Errno, KResult, ProbeCtx, RemoveCtx};
use parking_lot::Mutex;
use std::sync::Arc;

/// The pre-fix vimc platform driver (`vimc-legacy`).
pub(crate) struct VimcLegacyDriver {
    pub(crate) shared: Arc<DriverShared>,
    /// The private count of the current binding (the driver's reference).
    pub(crate) kref: Mutex<Option<PrivKref>>,
    /// The allocations of the current binding that embed a capture's video
    /// device ([`Variant::new_capture`]), freed by `remove`.
    pub(crate) embedded: Mutex<Vec<Shadow<()>>>,
}

impl Variant for VimcLegacyDriver {
    /// Every node checks its `registered` flag at call entry only.
    type Nodes = EntryChecked;

    /// Capture nodes follow [`EntryChecked`] too. The RGB/YUV capture's
    /// video device is also embedded in a driver allocation
    /// (`vimc_capture_device`, as em28xx and ipu6 embed theirs) that
    /// `remove` frees: the core's later accesses through a file opened
    /// before the unbind land in freed memory. (The raw captures keep the
    /// pre-fix bugs of their own races, R3 and R4, unmixed with this one.)
    fn new_capture(
        &self,
        ctx: &ProbeCtx<'_>,
        v4l2: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: CaptureOps,
    ) -> KResult<VideoDevice<CaptureOps>> {
        if cfg.name != ENTITIES[RGB_YUV_CAPTURE].name {
            return Self::Nodes::video(v4l2, cfg, ops);
        }
        let mem = ctx.alloc_shadow("vimc_capture_device", &cfg.name, ())?;
        self.embedded.lock().push(mem.clone());
        VideoDevice::new_embedded(v4l2, cfg, ops, &mem)
    }

    fn streamer_thread(&self) -> &'static dyn StreamerThread {
        &Kthread
    }
}

/// The twin's streamer thread: a kthread started at `start_streaming` on
/// the kernel's timer base, ungated; only `stop_streaming` stops it, and
/// nobody does at unbind.
///
/// # Invariants
///
/// A capture's `timer` is `Some` exactly while a stream started by
/// `start_streaming` has not been stopped by `stop_streaming`; its callback
/// holds the stream control strongly meanwhile (the kthread's data).
struct Kthread;

impl StreamerThread for Kthread {
    /// No thread at probe.
    fn probe(&self, _ctx: &ProbeCtx<'_>, _ctl: &Arc<StreamCtl>) {}

    /// `kthread_run`: the thread holds its data.
    fn start(&self, ctl: &Arc<StreamCtl>, st: &VimcState) {
        let me = ctl.clone();
        let timer = st.kernel.upgrade().map(|k| {
            k.timers()
                .timer(&format!("vimc-streamer-{}", ctl.cap), None, move |w| {
                    me.tick(w)
                })
        });
        if let Some(t) = &timer {
            t.arm(st.interval);
        }
        *ctl.timer.lock() = timer;
    }

    /// The pre-fix driver stops the engine first, then skips the rest if the
    /// device was removed ("nothing left to stop"): the streamer is never
    /// stopped and keeps its data (a leak), and both accesses happen on
    /// freed memory and removed hardware.
    fn stop_first(&self, ctl: &StreamCtl, st: &VimcState) -> bool {
        st.regs.write(reg_stream(ctl.cap), 0);
        !st.binding.is_removed()
    }

    /// `kthread_stop`: the thread and its reference to its data go.
    fn stop(&self, ctl: &StreamCtl, _st: &VimcState) {
        let t = ctl.timer.lock().take();
        if let Some(t) = t {
            t.cancel_sync();
        }
    }
}

impl Driver for VimcLegacyDriver {
    type Data = VimcData;

    fn name(&self) -> &str {
        "vimc-legacy"
    }

    fn bus(&self) -> BusKind {
        BusKind::Platform
    }

    fn id_table(&self) -> &[&str] {
        &["platform:vimc-legacy"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VimcData> {
        let regs = ctx.ioremap_unmanaged()?;
        if regs.read(REG_ID) != VIMC_ID {
            return Err(Errno::EPROBE_DEFER);
        }
        let mdev = MediaDevice::new_owner_freed(ctx.monitor(), build::device_info(self.name()));
        let kref = PrivKref::new(ctx, "vimc_priv", "vimc private structure")?;
        // The media device's release holds a reference until it runs.
        kref.get();
        let held = kref.clone();
        mdev.set_release(move || held.put());
        *self.kref.lock() = Some(kref);
        let state = VimcState::new(
            Regs::Legacy(regs),
            mdev.clone(),
            ctx.kernel().downgrade(),
            ctx.binding_state(),
            self.shared.interval,
            self.shared.stats.clone(),
        );
        let state =
            ctx.devm_irq_before_state("vimc", "vimc_device", "vimc_device", "vimc", state, |s| {
                streamer::irq(s, None)
            })?;
        // Nothing of vimc's own is freed with the v4l2 device.
        let v4l2 = V4l2Device::new(ctx.monitor(), "vimc", || {});
        v4l2.set_media_device(&mdev);
        let ents = build::build(ctx, self, &state, &mdev, &v4l2)
            // A failed probe's embedding allocations go with their last
            // reference, unfreed (nothing was exposed yet).
            .inspect_err(|_| self.embedded.lock().clear())?;
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
        let armed = self.shared.mistakes.lock().clone();
        {
            // MISTAKE (`lock-across-unregister`): the driver lock, which a
            // capture's open takes, held while the nodes are unregistered.
            let _g = armed
                .contains(&Mistake::LockAcrossUnregister)
                .then(|| st.lock.lock());
            // `video_unregister_device`: no stream stop.
            build::unregister(d);
        }
        // The pre-fix driver frees the structure embedding the media device
        // now (its devnode may still be open: R1/R2); devm frees the rest,
        // then the IRQ.
        d.mdev.legacy_free();
        // ... and the captures' structures embedding their video devices,
        // whoever still has a capture node open.
        for mem in self.embedded.lock().drain(..) {
            mem.free();
        }
        if let Some(kref) = self.kref.lock().take() {
            if armed.contains(&Mistake::RefcountReset) {
                // MISTAKE: re-initialises the count the media device's
                // release still holds a reference on.
                kref.reset();
            }
            kref.put();
            if armed.contains(&Mistake::ExtraPut) {
                // MISTAKE: a second put of the driver's one reference.
                kref.put();
            }
        }
        self.shared.stats.bump(Stat::Removes);
    }
}
