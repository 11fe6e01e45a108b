//! The usb-av video driver (`usbav-video`, au0828-like): probe builds the
//! decoder and the capture node and installs the source hooks and the
//! entity notify on the shared media device; remove (`disconnect`) stops
//! the device, releases the source and removes the hooks. Stopping a
//! stream when the capture node goes (its unplug), waiting for calls and
//! hook calls in flight, revoking the registers and the bus, and releasing
//! the state on its last reference are the framework's.

use super::build::{self, Topology, Variant};
use super::capture::Cap;
use super::decoder::Decoder;
use super::device::AvDev;
use super::source::{AvSource, stop_source_pipeline};
use crate::Style;
use crate::nodes::Gated;
use crate::usb_av::hw::{REG_V_AUDIO_ROUTE, REG_V_CTRL};
use crate::usb_av::io::DevresIo;
use crate::usb_av::{Counters, Shared, usb_device, video_driver_name};
use devlife::check::Shadow;
use devlife_media::mc::{HookToken, MediaDevice};
use devlife_media::v4l2::{Subdev, V4l2Device, VideoDevice};
use devlife_model::{BusKind, Driver, KResult, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// What a binding of the video driver holds.
pub(crate) struct VideoData {
    dev: Shadow<AvDev>,
    mdev: MediaDevice,
    v4l2: V4l2Device,
    vdev: VideoDevice<Cap>,
    _decoder: Subdev<Decoder>,
    source_hooks: HookToken,
    notify: HookToken,
}

/// The video driver.
pub(crate) struct VideoDriver {
    shared: Arc<Shared>,
}

impl VideoDriver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// Every node dispatches through its gate: nothing to adjust.
impl Variant for VideoDriver {
    type Nodes = Gated;
}

impl Driver for VideoDriver {
    type Data = VideoData;

    fn name(&self) -> &str {
        video_driver_name(Style::Framework)
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11icFF*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VideoData> {
        let name = video_driver_name(Style::Framework);
        let udev = usb_device(ctx)?;
        let port = udev.name();
        // The decoder's registers and bus: device resources, revoked at
        // unbind.
        let hw = Arc::new(DevresIo::claim(ctx)?);
        // The USB device's media device (`media_device_usb_allocate`),
        // registered once by whichever driver gets there first; its node
        // runs core code only.
        let mdev = self.shared.media_device(ctx, &udev, name, None)?;
        // The state (`struct au0828_dev`), released on its last reference:
        // the binding, the nodes' ops, the URB thread, the hooks.
        let counters = self.shared.counters.clone();
        let dev = ctx.alloc_shadow(
            "usbav_video_state",
            &format!("usbav_video({port})"),
            AvDev::new(ctx, port, name, hw, &mdev, counters.clone()),
        )?;
        // Nothing of the driver's own is freed with the v4l2 device.
        let v4l2 = V4l2Device::new(ctx.monitor(), &format!("usbav-video {port}"), || {});
        v4l2.set_media_device(&mdev);
        let Topology { decoder, vdev } = build::topology::<Self>(ctx, &mdev, &v4l2, &dev)?;

        // The hooks: every call enters this binding's gate, so an unbind
        // waits for a call in progress and none starts once it is gone.
        let gate = ctx.gate().clone();
        let hooks = Arc::new(AvSource { dev: dev.clone() });
        let source_hooks = mdev.set_source_hooks(hooks, Some(gate.clone()))?;
        let m = mdev.clone();
        ctx.undo_on_error("clear the enable_source/disable_source hooks", move || {
            m.clear_source_hooks(source_hooks);
        });
        let notify = build::entity_notify(ctx, &mdev, &dev, Some(gate));

        Counters::inc(&counters.video_probes);
        Ok(VideoData {
            dev,
            mdev,
            v4l2,
            vdev,
            _decoder: decoder,
            source_hooks,
            notify,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &VideoData) {
        let st = data.dev.get();
        // The stream was stopped when the node was unplugged; the hardware
        // is still ours until we return.
        st.stop_pump();
        st.hw.write_bound(&ctx.bound(), REG_V_CTRL, 0);
        st.hw.write_bound(&ctx.bound(), REG_V_AUDIO_ROUTE, 0);
        // Release the source for whoever still holds it, then remove the
        // hooks (a call in progress has finished when these return; none
        // can start: our gate is unplugged).
        {
            let mut g = data.mdev.graph();
            let mut s = st.source.lock();
            stop_source_pipeline(&mut g, &mut s, &st.source_pipe);
        }
        data.mdev.clear_source_hooks(data.source_hooks);
        data.mdev.unregister_entity_notify(data.notify);
        let _ = data.vdev.unregister();
        data.v4l2.unregister();
        // `media_device_delete`: the last driver unregisters it.
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, video_driver_name(Style::Framework));
        Counters::inc(&self.shared.counters.video_removes);
    }
}
