//! What every vimc subdev shares (`struct vimc_ent_device` and the helpers
//! of `vimc-common.c`), and the lens (`vimc-lens.c`), which has nothing else.

use super::hw::{REG_CTRL_ID, REG_CTRL_VAL, reg_fmt};
use super::state::VimcState;
use devlife::check::Shadow;
use devlife_media::uapi::subdev::{V4L2_SUBDEV_FORMAT_ACTIVE, V4l2MbusFramefmt};
use devlife_media::uapi::videodev2::V4l2Rect;
use devlife_media::v4l2::{SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};
use std::sync::atomic::Ordering;

/// The part of a subdev's driver data every vimc entity has.
///
/// It holds the device state (a reference: the state lives until the last
/// entity is released, framework style) and the entity's index. A subdev's
/// release has nothing of vimc's to free (the monitor counts it), so it
/// never touches the state: in the legacy twin the state may be freed by
/// then even without a race (a failed probe).
pub(crate) struct EntCommon {
    pub(crate) st: Shadow<VimcState>,
    pub(crate) ent: usize,
}

impl EntCommon {
    pub(crate) fn new(st: &Shadow<VimcState>, ent: usize) -> Self {
        Self {
            st: st.clone(),
            ent,
        }
    }

    /// `EBUSY` for an ACTIVE change while the entity streams (its frame
    /// buffer is allocated, in the kernel's words).
    #[track_caller]
    pub(crate) fn check_busy(&self, which: u32) -> KResult<()> {
        if which == V4L2_SUBDEV_FORMAT_ACTIVE && self.st.get().ents[self.ent].lock().streaming {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// Programs the "hardware" with an ACTIVE format change. The framework
    /// style reaches the registers through the binding's resource (`ENODEV`
    /// once revoked); the legacy one through its raw mapping.
    #[track_caller]
    pub(crate) fn program(&self, which: u32, value: u32) -> KResult<()> {
        if which != V4L2_SUBDEV_FORMAT_ACTIVE {
            return Ok(());
        }
        if self.st.get().regs.write(reg_fmt(self.ent), value) {
            Ok(())
        } else {
            Err(Errno::ENODEV)
        }
    }

    /// Records the new ACTIVE formats (and crop) for the streamer.
    #[track_caller]
    pub(crate) fn mirror(&self, which: u32, state: &SubdevState) {
        if which != V4L2_SUBDEV_FORMAT_ACTIVE {
            return;
        }
        let st = self.st.get();
        let mut m = st.ents[self.ent].lock();
        m.pads = state.pads().iter().map(|p| p.format).collect();
        if let Some(p) = state.pads().first() {
            m.crop = p.crop;
        }
    }

    /// `vimc_*_s_ctrl`: programs the control register pair (`ENODEV` once
    /// the registers are revoked) and stores the value for the streamer.
    /// `EINVAL` for a control the entity does not handle.
    #[track_caller]
    pub(crate) fn set_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let st = self.st.get();
        if !st.regs.write(REG_CTRL_ID, id) || !st.regs.write(REG_CTRL_VAL, value as u32) {
            return Err(Errno::ENODEV);
        }
        if st.ents[self.ent].lock().ctrls.set(id, value) {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    #[track_caller]
    pub(crate) fn open(&self) -> KResult<()> {
        self.st.get().opens.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// `subdev_close` reaching driver memory (race R3 in the legacy twin).
    #[track_caller]
    pub(crate) fn close(&self) {
        self.st.get().opens.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A format with only the fields `v4l2_subdev_link_validate_default` and the
/// renderer look at, for error messages and tests.
pub(crate) fn rect_of(f: &V4l2MbusFramefmt) -> V4l2Rect {
    V4l2Rect {
        left: 0,
        top: 0,
        width: f.width,
        height: f.height,
    }
}

/// The lens (`vimc-lens.c`): no pads, one control (`FOCUS_ABSOLUTE`).
pub(crate) struct LensOps {
    pub(crate) c: EntCommon,
}

impl SubdevOps for LensOps {
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        self.c.set_ctrl(id, value)
    }
    fn open(&self) -> KResult<()> {
        self.c.open()
    }
    fn close(&self) {
        self.c.close();
    }
}
