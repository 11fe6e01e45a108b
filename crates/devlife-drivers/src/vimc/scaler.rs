//! The scaler (`vimc-scaler.c`): both pads 640x480 `RGB888_1X24` by default,
//! no Bayer codes. The code and colorimetry are set on the sink and followed
//! by the source; the sizes of both pads can be set; setting the sink resets
//! the crop rectangle and copies the sink format to the source. Selection
//! exists on the sink only: `CROP` and `CROP_BOUNDS`. Frames are cropped and
//! scaled by [`pattern::scale`](super::pattern::scale).

use super::formats::{
    Colorimetry, MIN_HEIGHT, MIN_WIDTH, clamp_height, clamp_width, mbus_code_by_index,
    mbus_default, pix_map_by_code,
};
use super::sensor::frame_size;
use super::state::default_crop;
use super::subdev::{EntCommon, rect_of};
use devlife_media::uapi::subdev::{
    V4L2_SEL_TGT_CROP, V4L2_SEL_TGT_CROP_BOUNDS, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum, V4l2SubdevSelection,
};
use devlife_media::uapi::videodev2::V4l2Rect;
use devlife_media::v4l2::{SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};

/// The sink pad.
pub(crate) const SINK: u32 = 0;
/// The source pad.
pub(crate) const SOURCE: u32 = 1;

/// The scaler's driver data.
pub(crate) struct ScalerOps {
    pub(crate) c: EntCommon,
}

fn rgb_code(code: u32) -> bool {
    pix_map_by_code(code).is_some_and(|p| !p.bayer)
}

/// `vimc_scaler_adjust_sink_crop`: at least 16x16, even, inside the sink.
fn adjust_crop(r: &mut V4l2Rect, sink_w: u32, sink_h: u32) {
    r.width = (r.width.clamp(MIN_WIDTH, sink_w.max(MIN_WIDTH)) & !1).min(sink_w);
    r.height = (r.height.clamp(MIN_HEIGHT, sink_h.max(MIN_HEIGHT)) & !1).min(sink_h);
    let max_left = i64::from(sink_w) - i64::from(r.width);
    let max_top = i64::from(sink_h) - i64::from(r.height);
    r.left = i64::from(r.left).clamp(0, max_left.max(0)) as i32;
    r.top = i64::from(r.top).clamp(0, max_top.max(0)) as i32;
}

impl SubdevOps for ScalerOps {
    fn init_state(&self, state: &mut SubdevState) {
        for p in [SINK, SOURCE] {
            if let Ok(f) = state.format_mut(p) {
                *f = mbus_default();
            }
        }
        if let Ok(p) = state.pad_mut(SINK) {
            p.crop = default_crop();
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        let code = mbus_code_by_index(c.index).ok_or(Errno::EINVAL)?;
        // Bayer codes are enumerated as errors, as in the kernel.
        if !rgb_code(code) {
            return Err(Errno::EINVAL);
        }
        c.code = code;
        Ok(())
    }

    fn enum_frame_size(&self, _s: &SubdevState, fse: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        frame_size(fse, rgb_code)
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        self.c.check_busy(f.which)?;
        let mut fmt = *state.format(f.pad)?;
        if f.pad == SINK {
            fmt.code = if rgb_code(f.format.code) {
                f.format.code
            } else {
                mbus_default().code
            };
            Colorimetry::of_mbus(&f.format).clamp().store_mbus(&mut fmt);
        }
        fmt.width = clamp_width(f.format.width);
        fmt.height = clamp_height(f.format.height);
        self.c.program(f.which, fmt.code)?;
        *state.format_mut(f.pad)? = fmt;
        if f.pad == SINK {
            state.pad_mut(SINK)?.crop = rect_of(&fmt);
            *state.format_mut(SOURCE)? = fmt;
        }
        f.format = fmt;
        self.c.mirror(f.which, state);
        Ok(())
    }

    fn get_selection(&self, state: &SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        if sel.pad != SINK {
            return Err(Errno::EINVAL);
        }
        let p = state.pad(SINK)?;
        sel.r = match sel.target {
            V4L2_SEL_TGT_CROP => p.crop,
            V4L2_SEL_TGT_CROP_BOUNDS => rect_of(&p.format),
            _ => return Err(Errno::EINVAL),
        };
        Ok(())
    }

    fn set_selection(&self, state: &mut SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        self.c.check_busy(sel.which)?;
        if sel.pad != SINK || sel.target != V4L2_SEL_TGT_CROP {
            return Err(Errno::EINVAL);
        }
        let sink = *state.format(SINK)?;
        let mut r = sel.r;
        adjust_crop(&mut r, sink.width, sink.height);
        state.pad_mut(SINK)?.crop = r;
        sel.r = r;
        self.c.mirror(sel.which, state);
        Ok(())
    }

    fn open(&self) -> KResult<()> {
        self.c.open()
    }

    fn close(&self) {
        self.c.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_stays_inside_the_sink() {
        let mut r = V4l2Rect {
            left: 630,
            top: -5,
            width: 100,
            height: 3,
        };
        adjust_crop(&mut r, 640, 480);
        assert_eq!((r.left, r.top, r.width, r.height), (540, 0, 100, 16));
        let mut r = V4l2Rect {
            left: 0,
            top: 0,
            width: 9999,
            height: 9999,
        };
        adjust_crop(&mut r, 640, 480);
        assert_eq!((r.width, r.height), (640, 480));
    }
}
