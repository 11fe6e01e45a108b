//! The video device's side of its media entity: validation of the link
//! into the node and the node's path for `media-ctl`.

use super::{VideoInner, VideoOps};
use crate::mc::{Entity, EntityOps, LinkInfo};
use crate::v4l2::subdev::entity_pad_format;
use devlife_model::{Errno, KResult};
use std::sync::Weak;

/// The video device's part of its media entity: link validation of the
/// link into the node, and the node path for `media-ctl`. Holds the device
/// weakly (the device holds the entity).
pub(super) struct VideoEntityOps<D: VideoOps> {
    pub(super) vdev: std::sync::OnceLock<Weak<VideoInner<D>>>,
}

impl<D: VideoOps> EntityOps for VideoEntityOps<D> {
    fn link_validate(&self, link: &LinkInfo, source: &Entity, _sink: &Entity) -> KResult<()> {
        let (src, _) = link.data().ok_or(Errno::EINVAL)?;
        let v = self
            .vdev
            .get()
            .and_then(Weak::upgrade)
            .ok_or(Errno::ENODEV)?;
        let source_fmt = entity_pad_format(source, src.index)?;
        let fmt = *v.fmt.lock();
        v.ops.link_validate(&source_fmt, &fmt)
    }

    fn devnode_path(&self) -> Option<String> {
        let v = self.vdev.get().and_then(Weak::upgrade)?;
        let n = v.reg.lock().node.upgrade()?;
        Some(format!("/dev/{}", n.name()))
    }
}
