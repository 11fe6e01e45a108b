//! What the ISP's framework driver and its legacy twin share: the media
//! device's identity, the topology built in probe's order (subdevs, capture
//! node, links, subdev nodes, media device), the binding's data, and the
//! unregistration `remove()` does.
//!
//! The two drivers differ in the rules the subdevs and the capture node are
//! created by ([`NodeRules`]) and who owns the media node's code; each says
//! so through [`Variant`].

use super::capture::{Capture, pix};
use super::state::IspState;
use super::subdevs::{Block, IspSubdev};
use super::{CAPTURE_NAME, Counters, MODEL};
use crate::nodes::NodeRules;
use devlife::check::Shadow;
use devlife_media::mc::{DeviceInfo, MediaDevice, RegisterOptions};
use devlife_media::uapi::media::{MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE};
use devlife_media::v4l2::{Subdev, V4l2Device, VideoDevice, VideoDeviceConfig};
use devlife_model::{Errno, KResult, Module, ProbeCtx};
use std::sync::Arc;

/// What a binding of an ISP driver holds (the platform device's drvdata).
/// Dropped at step 7 of unbind; what each part points to stays while open
/// files hold it.
pub(crate) struct IspData {
    pub(crate) st: Shadow<IspState>,
    pub(crate) v4l2: V4l2Device,
    pub(crate) vdev: VideoDevice<Capture>,
    /// Held, not read: the binding owns its subdevs until step 7.
    pub(crate) _subdevs: Vec<Subdev<IspSubdev>>,
}

/// Where the framework driver and its legacy twin differ while the topology
/// is built: the rules the subdevs and the capture node are created by, and
/// who owns the media node's code. The default owner is the framework's.
pub(crate) trait Variant {
    /// The rules of the subdevs (`v4l2_subdev_init`) and of the capture
    /// node's video device (`isp_video_init`).
    type Nodes: NodeRules;
    /// The module whose code the media node runs (`None`: core code only,
    /// nothing pins a module while the node is open).
    fn media_owner(&self, _ctx: &ProbeCtx<'_>) -> Option<Module> {
        None
    }
}

/// The media device's identity (`media_device` fields of `isp_register_entities`).
pub(crate) fn device_info(driver: &str, device: &str) -> DeviceInfo {
    DeviceInfo {
        driver_name: driver.into(),
        model: MODEL.into(),
        bus_info: format!("platform:{device}"),
        hw_revision: 0x0100,
        ..Default::default()
    }
}

/// The subdevs, the capture node and the links between them, then the
/// subdev nodes and the media device (`isp_register_entities`,
/// `isp_create_links`). Returns the subdevs, sensor first, and the capture
/// node. If the probe fails from here on, its unwinding unregisters the
/// v4l2 device and then the media device again.
pub(crate) fn build<V: Variant>(
    ctx: &ProbeCtx<'_>,
    variant: &V,
    st: &Shadow<IspState>,
    counters: &Arc<Counters>,
    v4l2: &V4l2Device,
) -> KResult<(Vec<Subdev<IspSubdev>>, VideoDevice<Capture>)> {
    let mdev = &st.get().mdev;
    let m = mdev.clone();
    ctx.undo_on_error("media_device_unregister", move || m.unregister());
    let v = v4l2.clone();
    ctx.undo_on_error("v4l2_device_unregister", move || v.unregister());
    let mut subdevs = Vec::new();
    for b in Block::ALL {
        let sd = V::Nodes::subdev(
            ctx,
            b.config(),
            IspSubdev {
                block: b,
                st: st.clone(),
            },
        )?;
        v4l2.register_subdev(&sd.handle())?;
        subdevs.push(sd);
    }
    let vdev = V::Nodes::video(
        v4l2,
        VideoDeviceConfig::capture(CAPTURE_NAME, pix(640, 480)),
        Capture {
            st: st.clone(),
            counters: counters.clone(),
        },
    )?;
    vdev.register(ctx)?;
    create_links(mdev, &subdevs, &vdev)?;
    v4l2.register_subdev_nodes(ctx)?;
    let opts = RegisterOptions {
        parent: Some(ctx.device().clone()),
        owner: variant.media_owner(ctx),
        name: None,
    };
    mdev.register(ctx.kernel(), opts)?;
    // The capture node finds itself again through the state (weakly: the
    // node owns the state, not the other way round).
    let w = vdev.downgrade();
    let _ = st.get().vdev.set(Box::new(move || w.upgrade()));
    Ok((subdevs, vdev))
}

/// The data links, source to sink (`isp_create_links`). `subdevs` is in
/// [`Block::ALL`] order.
fn create_links(
    mdev: &MediaDevice,
    subdevs: &[Subdev<IspSubdev>],
    vdev: &VideoDevice<Capture>,
) -> KResult<()> {
    let [sensor, csi2, ccdc, resizer] = subdevs else {
        return Err(Errno::EINVAL);
    };
    let fixed = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
    // Sensor (pad 0) -> (pad 0) CSI2: the sensor is wired to the receiver.
    mdev.create_pad_link(sensor.entity(), 0, csi2.entity(), 0, fixed)?;
    // CSI2 (pad 1) -> (pad 0) CCDC: enabled, may be disabled.
    mdev.create_pad_link(csi2.entity(), 1, ccdc.entity(), 0, MEDIA_LNK_FL_ENABLED)?;
    // CCDC (pad 1) -> (pad 0) resizer: enabled; disabled, STREAMON fails
    // with ENOLINK.
    mdev.create_pad_link(ccdc.entity(), 1, resizer.entity(), 0, MEDIA_LNK_FL_ENABLED)?;
    // Resizer (pad 1) -> (pad 0) resizer output: the capture node's only
    // source.
    mdev.create_pad_link(resizer.entity(), 1, vdev.entity(), 0, fixed)?;
    Ok(())
}

/// `remove()`'s unregistration, after the engine is stopped: the capture
/// node, the subdevs (with the v4l2 device), then the media device.
pub(crate) fn unregister(d: &IspData) {
    let _ = d.vdev.unregister();
    d.v4l2.unregister();
    d.st.get().mdev.unregister();
}
