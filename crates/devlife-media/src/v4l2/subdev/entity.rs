//! The subdev's side of its media entity: link validation, pad information
//! for `media-ctl -p`, and the ACTIVE format other entities read.

use super::AnySubdev;
use crate::mc::{Entity, EntityOps, LinkInfo, PadFormat, PadInfo, Rect};
use crate::uapi::subdev::{
    V4L2_SEL_TGT_COMPOSE, V4L2_SEL_TGT_COMPOSE_BOUNDS, V4L2_SEL_TGT_CROP, V4L2_SEL_TGT_CROP_BOUNDS,
    V4l2MbusFramefmt,
};
use crate::uapi::videodev2::V4l2Rect;
use devlife_model::{Errno, KResult};
use std::sync::{Arc, Weak};

/// The subdev's part of its media entity (`struct v4l2_subdev` around
/// `struct media_entity`): link validation and what `media-ctl -p` shows.
/// Holds the subdev weakly (the subdev holds the entity).
pub(crate) struct SubdevEntityOps {
    pub(super) sd: std::sync::OnceLock<Weak<dyn AnySubdev>>,
}

impl SubdevEntityOps {
    pub(super) fn subdev(&self) -> Option<Arc<dyn AnySubdev>> {
        self.sd.get().and_then(Weak::upgrade)
    }
}

fn rect(r: V4l2Rect) -> Rect {
    Rect {
        left: r.left,
        top: r.top,
        width: r.width,
        height: r.height,
    }
}

/// The ACTIVE format of pad `pad` of the subdev embedding `e` (`EINVAL` if
/// `e` is not a live subdev's entity: `v4l2_subdev_link_validate_get_format`).
pub(crate) fn entity_pad_format(e: &Entity, pad: u16) -> KResult<V4l2MbusFramefmt> {
    let sd = e
        .ops_as::<SubdevEntityOps>()
        .and_then(SubdevEntityOps::subdev)
        .ok_or(Errno::EINVAL)?;
    sd.get_fmt(u32::from(pad))
}

impl EntityOps for SubdevEntityOps {
    /// `v4l2_subdev_link_validate`: both ends' ACTIVE formats, compared by the
    /// sink subdev's `link_validate`.
    fn link_validate(&self, link: &LinkInfo, source: &Entity, _sink: &Entity) -> KResult<()> {
        let (src, snk) = link.data().ok_or(Errno::EINVAL)?;
        let sd = self.subdev().ok_or(Errno::ENODEV)?;
        let source_fmt = entity_pad_format(source, src.index)?;
        let sink_fmt = sd.get_fmt(u32::from(snk.index))?;
        sd.link_validate(&source_fmt, &sink_fmt)
    }

    fn pad_info(&self, pad: u32) -> Option<PadInfo> {
        let sd = self.subdev()?;
        let f = sd.get_fmt(pad).ok()?;
        let sel = |target| sd.get_selection(pad, target).ok().map(rect);
        Some(PadInfo {
            format: Some(PadFormat {
                code: f.code,
                width: f.width,
                height: f.height,
                field: f.field,
                colorspace: f.colorspace,
                xfer_func: u32::from(f.xfer_func),
                ycbcr_enc: u32::from(f.ycbcr_enc),
                quantization: u32::from(f.quantization),
            }),
            interval: None,
            crop_bounds: sel(V4L2_SEL_TGT_CROP_BOUNDS),
            crop: sel(V4L2_SEL_TGT_CROP),
            compose_bounds: sel(V4L2_SEL_TGT_COMPOSE_BOUNDS),
            compose: sel(V4L2_SEL_TGT_COMPOSE),
        })
    }

    fn devnode_path(&self) -> Option<String> {
        self.subdev()?.node().map(|n| format!("/dev/{}", n.name()))
    }
}
