//! Subdev state: the per-pad format, crop and compose of one subdev, as
//! the active state or a file's TRY state.

use crate::uapi::subdev::V4l2MbusFramefmt;
use crate::uapi::videodev2::V4l2Rect;
use devlife_model::{Errno, KResult};

/// The configuration of one pad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PadState {
    /// Media bus format.
    pub format: V4l2MbusFramefmt,
    /// Crop rectangle (`V4L2_SEL_TGT_CROP`).
    pub crop: V4l2Rect,
    /// Compose rectangle (`V4L2_SEL_TGT_COMPOSE`).
    pub compose: V4l2Rect,
}

/// A subdev state (`struct v4l2_subdev_state`): one [`PadState`] per pad.
/// The subdev has an active one; each open file has a TRY one.
///
/// # Invariants
///
/// Holds exactly `num_pads` pad states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubdevState {
    pads: Vec<PadState>,
}

impl SubdevState {
    /// A zeroed state of `num_pads` pads.
    pub fn new(num_pads: usize) -> Self {
        Self {
            pads: vec![PadState::default(); num_pads],
        }
    }
    /// Number of pads.
    pub fn num_pads(&self) -> usize {
        self.pads.len()
    }
    /// Pad `pad` (`EINVAL` past the end).
    pub fn pad(&self, pad: u32) -> KResult<&PadState> {
        self.pads.get(pad as usize).ok_or(Errno::EINVAL)
    }
    /// Pad `pad`, mutable (`EINVAL` past the end).
    pub fn pad_mut(&mut self, pad: u32) -> KResult<&mut PadState> {
        self.pads.get_mut(pad as usize).ok_or(Errno::EINVAL)
    }
    /// The format of pad `pad` (`v4l2_subdev_state_get_format`).
    pub fn format(&self, pad: u32) -> KResult<&V4l2MbusFramefmt> {
        self.pad(pad).map(|p| &p.format)
    }
    /// The format of pad `pad`, mutable.
    pub fn format_mut(&mut self, pad: u32) -> KResult<&mut V4l2MbusFramefmt> {
        self.pad_mut(pad).map(|p| &mut p.format)
    }
    /// Every pad's state, by pad index.
    pub fn pads(&self) -> &[PadState] {
        &self.pads
    }
}
