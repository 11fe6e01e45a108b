//! The video driver's legacy twin (`usbav-video-legacy`): the pre-fix
//! au0828, kept to show what the checkers catch. It shares the state, the
//! node and subdev operations, the hooks and the probe steps with the
//! framework driver and differs where the pre-fix kernel did:
//!
//! * the state is `devm` memory, freed at unbind whoever still uses it;
//! * the registers and the bus are raw handles, and `remove` marks the
//!   device disconnected in the state instead of stopping the URB thread
//!   (a transfer in flight completes after `remove()`, into freed memory);
//! * the nodes check their `registered` flag at call entry only (a blocked
//!   `DQBUF` sleeps through the unbind);
//! * the source hooks and the entity notify are ungated and left installed
//!   at unbind, pointing into the departed driver; a rebinding twin finds
//!   the stale hooks in place and keeps them;
//! * the media node is owned by the driver's module;
//! * the private structure is counted by a kref of the driver's own
//!   ([`PrivKref`]): the driver holds one reference, the v4l2 device's
//!   release callback another (em28xx's `v4l2_device` release puts its
//!   `dev->ref`). A scenario can arm a [`Mistake`] that `remove` then makes
//!   with that count, or with the driver lock (`usbav.lock`).

use super::build::{self, Topology, Variant};
use super::capture::Cap;
use super::decoder::Decoder;
use super::device::AvDev;
use super::source::AvSource;
use crate::legacy_nodes::EntryChecked;
use crate::mistake::PrivKref;
use crate::usb_av::hw::REG_V_CTRL;
use crate::usb_av::legacy::RawIo;
use crate::usb_av::{Counters, Shared, usb_device, video_driver_name};
use crate::{Mistake, Style};
use devlife::check::Shadow;
use devlife_media::mc::MediaDevice;
use devlife_media::v4l2::{Subdev, V4l2Device, VideoDevice};
use devlife_model::legacy::Devm;
use devlife_model::{BusKind, Driver, Errno, KResult, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// What a binding of the twin holds.
pub(crate) struct VideoLegacyData {
    dev: Shadow<AvDev>,
    io: Arc<RawIo>,
    mdev: MediaDevice,
    v4l2: V4l2Device,
    vdev: VideoDevice<Cap>,
    _decoder: Subdev<Decoder>,
    /// The driver's reference to its private structure.
    kref: PrivKref,
}

/// The pre-fix video driver.
pub(crate) struct VideoLegacyDriver {
    shared: Arc<Shared>,
}

impl VideoLegacyDriver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl Variant for VideoLegacyDriver {
    /// The decoder and the capture node check their `registered` flag at
    /// call entry only.
    type Nodes = EntryChecked;
}

impl Driver for VideoLegacyDriver {
    type Data = VideoLegacyData;

    fn name(&self) -> &str {
        video_driver_name(Style::Legacy)
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11icFF*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VideoLegacyData> {
        let name = video_driver_name(Style::Legacy);
        let udev = usb_device(ctx)?;
        let port = udev.name();
        let io = Arc::new(RawIo::claim(ctx)?);
        // The mainline media node belongs to the module that registered it.
        let mdev = self
            .shared
            .media_device(ctx, &udev, name, ctx.module().cloned())?;
        let counters = self.shared.counters.clone();
        let dev = ctx.devm_alloc(
            "usbav_video_state",
            &format!("usbav_video({port})"),
            AvDev::new(ctx, port, name, io.clone(), &mdev, counters.clone()),
        )?;
        let kref = PrivKref::new(ctx, "usbav_priv", "usbav private structure")?;
        // The v4l2 device's release holds a reference until it runs.
        kref.get();
        let held = kref.clone();
        let v4l2 = V4l2Device::new(ctx.monitor(), &format!("usbav-video {port}"), move || {
            held.put();
        });
        v4l2.set_media_device(&mdev);
        let Topology { decoder, vdev } = build::topology::<Self>(ctx, &mdev, &v4l2, &dev)?;

        // The pre-fix driver assigns the hook pointers whatever is there:
        // the stale hooks of a departed twin stay in place.
        let hooks = Arc::new(AvSource { dev: dev.clone() });
        match mdev.set_source_hooks(hooks, None) {
            Ok(t) => {
                let m = mdev.clone();
                ctx.undo_on_error("clear the enable_source/disable_source hooks", move || {
                    m.clear_source_hooks(t);
                });
            }
            Err(Errno::EBUSY) => {}
            Err(e) => return Err(e),
        }
        build::entity_notify(ctx, &mdev, &dev, None);

        Counters::inc(&counters.video_probes);
        Ok(VideoLegacyData {
            dev,
            io,
            mdev,
            v4l2,
            vdev,
            _decoder: decoder,
            kref,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &VideoLegacyData) {
        // Stop the device and leave: the URB thread, the hooks and the
        // entity notify stay behind.
        let st = data.dev.get();
        st.hw.write_bound(&ctx.bound(), REG_V_CTRL, 0);
        data.io.mark_disconnected();
        let armed = self.shared.mistakes.lock().clone();
        {
            // MISTAKE (`lock-across-unregister`): the driver lock, which the
            // capture node's open takes, held while the nodes are
            // unregistered.
            let _g = armed
                .contains(&Mistake::LockAcrossUnregister)
                .then(|| st.lock.lock());
            let _ = data.vdev.unregister();
            data.v4l2.unregister();
        }
        if armed.contains(&Mistake::RefcountReset) {
            // MISTAKE: re-initialises the count the v4l2 device's release
            // still holds a reference on.
            data.kref.reset();
        }
        data.kref.put();
        if armed.contains(&Mistake::ExtraPut) {
            // MISTAKE: a second put of the driver's one reference (the
            // double `v4l2_device_put` of uvc and em28xx disconnect).
            data.kref.put();
        }
        // `media_device_delete`: the last driver frees it, whoever uses it.
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, video_driver_name(Style::Legacy));
        Counters::inc(&self.shared.counters.video_removes);
    }
}
