//! The legacy twins' node rules: nodes made through the pre-fix extension
//! (`devlife_media::legacy`). Only the twins name this module.

use crate::nodes::NodeRules;
use devlife_media::legacy::{EntryCheckedSubdev, EntryCheckedVideo};
use devlife_media::v4l2::{
    Subdev, SubdevConfig, SubdevOps, V4l2Device, VideoDevice, VideoDeviceConfig, VideoOps,
};
use devlife_model::{KResult, ProbeCtx};

/// The pre-fix node rules: every node checks its `registered` flag at call
/// entry only, so unregistering neither waits for the calls in flight nor
/// wakes the sleepers, and a video device's unregistration stops no stream.
pub(crate) struct EntryChecked;

impl NodeRules for EntryChecked {
    fn subdev<O: SubdevOps>(ctx: &ProbeCtx<'_>, cfg: SubdevConfig, ops: O) -> KResult<Subdev<O>> {
        Subdev::new_entry_checked(ctx.monitor(), cfg, ops)
    }

    fn video<O: VideoOps>(
        v4l2: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: O,
    ) -> KResult<VideoDevice<O>> {
        VideoDevice::new_entry_checked(v4l2, cfg, ops)
    }
}
