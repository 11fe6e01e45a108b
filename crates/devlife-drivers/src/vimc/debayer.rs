//! The debayer (`vimc-debayer.c`): a Bayer sink pad (640x480 `SRGGB8_1X8`
//! by default, the twelve 8/10/12-bit codes) and an RGB source pad that
//! copies the sink's geometry with code `RGB888_1X24`. The source format
//! cannot be set: `set_fmt` on it returns `get_fmt`. Frames are converted by
//! [`pattern::debayer`](super::pattern::debayer).

use super::formats::{
    Colorimetry, DEBAYER_SINK_CODES, DEBAYER_SOURCE_CODES, clamp_height, clamp_width, code,
    mbus_default,
};
use super::sensor::frame_size;
use super::subdev::EntCommon;
use devlife_media::uapi::subdev::{
    V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum, V4l2SubdevMbusCodeEnum,
};
use devlife_media::uapi::videodev2::field;
use devlife_media::v4l2::{SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};

/// The sink pad.
pub(crate) const SINK: u32 = 0;

/// The debayer's driver data.
pub(crate) struct DebayerOps {
    pub(crate) c: EntCommon,
}

/// The default sink format.
pub(crate) fn sink_default() -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code: code::SRGGB8_1X8,
        ..mbus_default()
    }
}

/// `vimc_debayer_adjust_sink_fmt`.
fn adjust_sink(f: &mut V4l2MbusFramefmt) {
    if !DEBAYER_SINK_CODES.contains(&f.code) {
        f.code = sink_default().code;
    }
    f.width = clamp_width(f.width);
    f.height = clamp_height(f.height);
    if f.field == field::ANY || f.field == field::ALTERNATE {
        f.field = field::NONE;
    }
    Colorimetry::of_mbus(f).clamp().store_mbus(f);
}

impl SubdevOps for DebayerOps {
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        self.c.set_ctrl(id, value)
    }

    fn init_state(&self, state: &mut SubdevState) {
        if let Ok(f) = state.format_mut(0) {
            *f = sink_default();
        }
        if let Ok(f) = state.format_mut(1) {
            *f = mbus_default();
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        let list: &[u32] = if c.pad == SINK {
            &DEBAYER_SINK_CODES
        } else {
            &DEBAYER_SOURCE_CODES
        };
        c.code = *list.get(c.index as usize).ok_or(Errno::EINVAL)?;
        Ok(())
    }

    fn enum_frame_size(&self, _s: &SubdevState, fse: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        let sink = fse.pad == SINK;
        frame_size(fse, |code| {
            if sink {
                DEBAYER_SINK_CODES.contains(&code)
            } else {
                DEBAYER_SOURCE_CODES.contains(&code)
            }
        })
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        self.c.check_busy(f.which)?;
        if f.pad != SINK {
            // Propagated from the sink: the source cannot be set.
            f.format = *state.format(f.pad)?;
            return Ok(());
        }
        adjust_sink(&mut f.format);
        self.c.program(f.which, f.format.code)?;
        *state.format_mut(SINK)? = f.format;
        let sink = f.format;
        let src = state.format_mut(1)?;
        src.width = sink.width;
        src.height = sink.height;
        src.field = sink.field;
        Colorimetry::of_mbus(&sink).store_mbus(src);
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
