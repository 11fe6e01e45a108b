//! The pre-fix video device and subdev: entry-check nodes.

use crate::v4l2::{
    NodeStyle, Subdev, SubdevConfig, SubdevOps, V4l2Device, VideoDevice, VideoDeviceConfig,
    VideoOps,
};
use devlife::Monitor;
use devlife::check::Shadow;
use devlife_model::KResult;

/// The pre-fix video device (`video_register_device` before the fix).
pub trait EntryCheckedVideo<D: VideoOps>: Sized {
    /// [`VideoDevice::new`] for the pre-fix kernel: its node checks the
    /// `registered` flag at call entry only, so unregistering neither waits
    /// for nor wakes its calls; [`VideoDevice::unregister`] only unregisters
    /// the node (nothing stops the stream); a file's release stops the
    /// stream through the driver whatever the state of the device.
    fn new_entry_checked(v4l2_dev: &V4l2Device, cfg: VideoDeviceConfig, ops: D) -> KResult<Self>;

    /// [`new_entry_checked`](Self::new_entry_checked) for a video device
    /// embedded in `mem`, a driver allocation the driver frees at unbind
    /// (`struct em28xx_v4l2 { struct video_device vdev; ... }`): every access
    /// the core makes to the device from a file (the `registered` check at
    /// each call's entry, `release`) goes through it, so after the free it is
    /// a reported use-after-free.
    fn new_embedded(
        v4l2_dev: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: D,
        mem: &Shadow<()>,
    ) -> KResult<Self>;
}

impl<D: VideoOps> EntryCheckedVideo<D> for VideoDevice<D> {
    fn new_entry_checked(v4l2_dev: &V4l2Device, cfg: VideoDeviceConfig, ops: D) -> KResult<Self> {
        let style = NodeStyle::EntryCheck { embedded_in: None };
        VideoDevice::with_style(v4l2_dev, cfg, ops, style)
    }

    fn new_embedded(
        v4l2_dev: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: D,
        mem: &Shadow<()>,
    ) -> KResult<Self> {
        let style = NodeStyle::EntryCheck {
            embedded_in: Some(mem.clone()),
        };
        VideoDevice::with_style(v4l2_dev, cfg, ops, style)
    }
}

/// The pre-fix subdev node.
pub trait EntryCheckedSubdev<D: SubdevOps>: Sized {
    /// [`Subdev::new`] for the pre-fix kernel: its node, once registered,
    /// checks the `registered` flag at call entry only.
    fn new_entry_checked(monitor: &Monitor, cfg: SubdevConfig, ops: D) -> KResult<Self>;
}

impl<D: SubdevOps> EntryCheckedSubdev<D> for Subdev<D> {
    fn new_entry_checked(monitor: &Monitor, cfg: SubdevConfig, ops: D) -> KResult<Self> {
        let style = NodeStyle::EntryCheck { embedded_in: None };
        Subdev::with_style(monitor, cfg, ops, style)
    }
}
