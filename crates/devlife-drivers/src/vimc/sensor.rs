//! The sensor (`vimc-sensor.c`): one source pad, 640x480 `RGB888_1X24` by
//! default, any code of the pixel map, 16..4096 x 16..2160 even sizes. The
//! "RGB/YUV Input" entity is a sensor too (a TODO in the kernel source).
//! Its frames are drawn by [`pattern::sensor_frame`](super::pattern::sensor_frame).

use super::formats::{
    Colorimetry, MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH, clamp_height, clamp_width,
    mbus_code_by_index, mbus_default, pix_map_by_code,
};
use super::subdev::EntCommon;
use devlife_media::uapi::subdev::{
    V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum, V4l2SubdevMbusCodeEnum,
};
use devlife_media::uapi::videodev2::field;
use devlife_media::v4l2::{SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};

/// The sensor's driver data.
pub(crate) struct SensorOps {
    pub(crate) c: EntCommon,
}

/// `vimc_sensor_adjust_fmt`.
pub(crate) fn adjust(f: &mut V4l2MbusFramefmt) {
    if pix_map_by_code(f.code).is_none() {
        f.code = mbus_default().code;
    }
    f.width = clamp_width(f.width);
    f.height = clamp_height(f.height);
    // Only progressive frames.
    if f.field == field::ANY || f.field == field::ALTERNATE {
        f.field = field::NONE;
    }
    Colorimetry::of_mbus(f).clamp().store_mbus(f);
}

/// `enum_frame_size` of a pad accepting `ok(code)`.
pub(crate) fn frame_size(
    fse: &mut V4l2SubdevFrameSizeEnum,
    ok: impl FnOnce(u32) -> bool,
) -> KResult<()> {
    if fse.index != 0 || !ok(fse.code) {
        return Err(Errno::EINVAL);
    }
    fse.min_width = MIN_WIDTH;
    fse.max_width = MAX_WIDTH;
    fse.min_height = MIN_HEIGHT;
    fse.max_height = MAX_HEIGHT;
    Ok(())
}

impl SubdevOps for SensorOps {
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        self.c.set_ctrl(id, value)
    }

    fn init_state(&self, state: &mut SubdevState) {
        if let Ok(f) = state.format_mut(0) {
            *f = mbus_default();
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        c.code = mbus_code_by_index(c.index).ok_or(Errno::EINVAL)?;
        Ok(())
    }

    fn enum_frame_size(&self, _s: &SubdevState, fse: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        frame_size(fse, |code| pix_map_by_code(code).is_some())
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        self.c.check_busy(f.which)?;
        adjust(&mut f.format);
        // Program the sensor (a register write that may sleep in the
        // hardware), then record the format.
        self.c.program(f.which, f.format.code)?;
        *state.format_mut(f.pad)? = f.format;
        self.c.mirror(f.which, state);
        Ok(())
    }

    fn open(&self) -> KResult<()> {
        self.c.open()
    }

    fn close(&self) {
        self.c.close();
    }
}
