//! The decoder subdev's operations ([`Decoder`]): fixed formats on its pads.

use crate::usb_av::video::device::AvDev;
use crate::usb_av::video::device::MEDIA_BUS_FMT_YUYV8_2X8;
use crate::usb_av::video::device::SIZES;
use crate::usb_av::video::device::closest_size;
use devlife::check::Shadow;
use devlife_media::uapi::subdev::{
    MEDIA_BUS_FMT_FIXED, V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum,
};
use devlife_media::uapi::videodev2::{colorspace, field};
use devlife_media::v4l2::{SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};
use std::sync::atomic::Ordering;

/// The decoder subdev's driver data (au8522-like): pad 0 analog input,
/// pad 1 video out (YUYV8_2X8, 720x480 or 320x240), pad 2 audio out.
/// The input and audio pads carry `MEDIA_BUS_FMT_FIXED`; each enumerates
/// its one code and that code's one size, so every pad answers as
/// v4l2-compliance requires (a non-zero size for every format).
pub(crate) struct Decoder {
    pub(crate) dev: Shadow<AvDev>,
}

fn fixed(width: u32, height: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        width,
        height,
        code: MEDIA_BUS_FMT_FIXED,
        field: field::NONE,
        colorspace: colorspace::SMPTE170M,
        ..Default::default()
    }
}

/// The audio pad's format: an audio stream has no frame, so its size is
/// the smallest valid one.
const AUDIO: V4l2MbusFramefmt = V4l2MbusFramefmt {
    width: 1,
    height: 1,
    code: MEDIA_BUS_FMT_FIXED,
    field: field::NONE,
    colorspace: colorspace::SMPTE170M,
    ycbcr_enc: 0,
    quantization: 0,
    xfer_func: 0,
    flags: 0,
    reserved: [0; 10],
};

fn video_mbus(width: u32, height: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code: MEDIA_BUS_FMT_YUYV8_2X8,
        ..fixed(width, height)
    }
}

impl SubdevOps for Decoder {
    fn init_state(&self, state: &mut SubdevState) {
        let fmts = [fixed(720, 480), video_mbus(720, 480), AUDIO];
        for (i, f) in fmts.into_iter().enumerate() {
            if let Ok(p) = state.pad_mut(i as u32) {
                p.format = f;
            }
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        if c.index != 0 {
            return Err(Errno::EINVAL);
        }
        c.code = if c.pad == 1 {
            MEDIA_BUS_FMT_YUYV8_2X8
        } else {
            MEDIA_BUS_FMT_FIXED
        };
        Ok(())
    }

    fn enum_frame_size(&self, s: &SubdevState, f: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        if f.pad != 1 {
            // The fixed pads: their one size, for their one code.
            let cur = s.format(f.pad)?;
            if f.code != MEDIA_BUS_FMT_FIXED || f.index != 0 {
                return Err(Errno::EINVAL);
            }
            (f.min_width, f.max_width) = (cur.width, cur.width);
            (f.min_height, f.max_height) = (cur.height, cur.height);
            return Ok(());
        }
        if f.code != MEDIA_BUS_FMT_YUYV8_2X8 {
            return Err(Errno::EINVAL);
        }
        let (w, h) = *SIZES.get(f.index as usize).ok_or(Errno::EINVAL)?;
        (f.min_width, f.max_width, f.min_height, f.max_height) = (w, w, h, h);
        Ok(())
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = self.dev.get();
        if f.pad == 1 {
            let (w, h) = closest_size(f.format.width, f.format.height);
            *state.format_mut(1)? = video_mbus(w, h);
        }
        // The input and audio pads are fixed: report what they are.
        f.format = *state.format(f.pad)?;
        Ok(())
    }

    fn s_stream(&self, _enable: bool) -> KResult<()> {
        Ok(())
    }

    fn close(&self) {
        // `subdev_close` touching driver memory (R3).
        let _ = self.dev.get().frame.load(Ordering::Relaxed);
    }
}
