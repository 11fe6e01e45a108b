//! How a driver creates its V4L2 nodes: the one place where the framework
//! drivers and their legacy twins differ in node construction. Each driver's
//! `build.rs` names the rules it follows through its `Variant::Nodes`, and
//! creates every subdev and video device through them.
//!
//! The framework's rules are [`Gated`]; the twins' entry-checked rules live
//! in `legacy_nodes.rs`, so that no framework driver names them.

use devlife_media::v4l2::{
    Subdev, SubdevConfig, SubdevOps, V4l2Device, VideoDevice, VideoDeviceConfig, VideoOps,
};
use devlife_model::{KResult, ProbeCtx};

/// How a driver's subdevs and video devices are created. The defaults are
/// the framework's gated constructors: every call on the node enters the
/// node's gate, and unregistering waits for the calls in flight and wakes
/// the sleepers.
pub(crate) trait NodeRules {
    /// Creates a subdev (`v4l2_subdev_init`) whose node, once registered,
    /// follows these rules.
    fn subdev<O: SubdevOps>(ctx: &ProbeCtx<'_>, cfg: SubdevConfig, ops: O) -> KResult<Subdev<O>> {
        Subdev::new(ctx.monitor(), cfg, ops)
    }

    /// Creates a video device under `v4l2` (`video_device` setup) whose node,
    /// once registered, follows these rules.
    fn video<O: VideoOps>(
        v4l2: &V4l2Device,
        cfg: VideoDeviceConfig,
        ops: O,
    ) -> KResult<VideoDevice<O>> {
        VideoDevice::new(v4l2, cfg, ops)
    }
}

/// The framework's node rules (the defaults of [`NodeRules`]): gated nodes,
/// drained and woken at unregistration.
pub(crate) struct Gated;

impl NodeRules for Gated {}
