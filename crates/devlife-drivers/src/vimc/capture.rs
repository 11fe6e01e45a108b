//! The capture (`vimc-capture.c`): a video device with one sink pad and a
//! buffer queue, 640x480 RGB24 by default, the 23 pixel formats of the pixel
//! map, and `vimc_vdev_link_validate` for the link into it.
//!
//! One difference from the kernel: the kernel's vimc offers MMAP, DMABUF and
//! USERPTR but not `read()` (its queue has no `VB2_READ`; `read()` fails with
//! `EINVAL`). devlife's vimc also serves `read()` and advertises
//! `V4L2_CAP_READWRITE` (device caps `0x25000001` instead of `0x24000001`),
//! because real programs reach devlife's nodes through FUSE, which has no
//! `mmap` for character devices. `VIDIOC_EXPBUF` answers `ENOTTY`, as for a
//! driver without dma-buf export: no dma-buf fd can cross FUSE.

use super::formats::{
    Colorimetry, MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH, clamp_height, clamp_width,
    pix_default, pix_map_by_code, pix_map_by_index, pix_map_by_pixelformat,
};
use super::hw::reg_fmt;

use super::streamer::StreamCtl;
use devlife_media::mc::Pipeline;
use devlife_media::uapi::io::{Stepwise, V4l2Frmsizeenum, frmsize_type};
use devlife_media::uapi::subdev::V4l2MbusFramefmt;
use devlife_media::uapi::videodev2::{V4l2PixFormat, cap, colorspace, field};
use devlife_media::v4l2::{BufferQueue, CapStrings, FmtDesc, IoModes, QueueConfig, VideoOps};
use devlife_model::{Errno, KResult, OpCtx};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `vdev->device_caps` of a vimc capture (with `READWRITE`, see the module
/// documentation).
pub const DEVICE_CAPS: u32 = cap::VIDEO_CAPTURE | cap::READWRITE | cap::STREAMING | cap::IO_MC;

/// The queue of a vimc capture: MMAP and read, monotonic timestamps, at
/// least two buffers per `REQBUFS`.
pub fn queue_config() -> QueueConfig {
    QueueConfig {
        io_modes: IoModes {
            mmap: true,
            read: true,
        },
        min_queued_buffers: 0,
        min_reqbufs_allocation: 2,
        ..QueueConfig::default()
    }
}

/// The capture's driver data (`struct vimc_capture_device`).
pub(crate) struct CaptureOps {
    pub(crate) ctl: Arc<StreamCtl>,
    pub(crate) pipe: Pipeline,
}

/// `vimc_capture_try_fmt_vid_cap`.
pub(crate) fn try_fmt(pix: &mut V4l2PixFormat) {
    pix.width = clamp_width(pix.width);
    pix.height = clamp_height(pix.height);
    let vpix = match pix_map_by_pixelformat(pix.pixelformat) {
        Some(p) => p,
        None => {
            pix.pixelformat = pix_default().pixelformat;
            // The default is in the table.
            pix_map_by_pixelformat(pix.pixelformat).unwrap_or(&super::formats::PIX_MAP[1])
        }
    };
    pix.bytesperline = pix.width * vpix.bpp;
    pix.sizeimage = pix.bytesperline * pix.height;
    if pix.field == field::ANY || pix.field == field::ALTERNATE {
        pix.field = field::NONE;
    }
    Colorimetry::of_pix(pix).clamp().store_pix(pix);
}

/// `vimc_vdev_link_validate`: width, height and code must match the node's
/// format (any code carried as its pixel format), the field too unless the
/// node's is NONE; colorimetry must match unless either side is DEFAULT.
pub(crate) fn link_validate(source: &V4l2MbusFramefmt, fmt: &V4l2PixFormat) -> KResult<()> {
    let vpix = pix_map_by_pixelformat(fmt.pixelformat).ok_or(Errno::EPIPE)?;
    if source.width != fmt.width
        || source.height != fmt.height
        || !vpix.codes.contains(&source.code)
    {
        return Err(Errno::EPIPE);
    }
    if source.field != fmt.field && fmt.field != field::NONE {
        return Err(Errno::EPIPE);
    }
    if source.colorspace == colorspace::DEFAULT || fmt.colorspace == colorspace::DEFAULT {
        return Ok(());
    }
    if source.colorspace != fmt.colorspace {
        return Err(Errno::EPIPE);
    }
    let differ = |a: u32, b: u32| a != 0 && b != 0 && a != b;
    if differ(u32::from(source.ycbcr_enc), fmt.ycbcr_enc)
        || differ(u32::from(source.quantization), fmt.quantization)
        || differ(u32::from(source.xfer_func), fmt.xfer_func)
    {
        return Err(Errno::EPIPE);
    }
    Ok(())
}

impl VideoOps for CaptureOps {
    fn querycap(&self) -> CapStrings {
        CapStrings {
            driver: "vimc".into(),
            card: "vimc".into(),
            bus_info: "platform:vimc".into(),
        }
    }

    fn enum_fmt(&self, _ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc> {
        let vpix = if mbus_code != 0 {
            if index > 0 {
                return Err(Errno::EINVAL);
            }
            pix_map_by_code(mbus_code)
        } else {
            pix_map_by_index(index)
        };
        vpix.map(|p| FmtDesc::new(p.pixelformat))
            .ok_or(Errno::EINVAL)
    }

    const HAS_ENUM_FRAMESIZES: bool = true;

    /// `vimc_capture_enum_framesizes`: one continuous range for any format
    /// of the pixel map.
    fn enum_framesizes(&self, _ctx: &OpCtx<'_>, fs: &mut V4l2Frmsizeenum) -> KResult<()> {
        if fs.index != 0 || pix_map_by_pixelformat(fs.pixel_format).is_none() {
            return Err(Errno::EINVAL);
        }
        fs.type_ = frmsize_type::CONTINUOUS;
        fs.set_stepwise(Stepwise {
            min_width: MIN_WIDTH,
            max_width: MAX_WIDTH,
            step_width: 1,
            min_height: MIN_HEIGHT,
            max_height: MAX_HEIGHT,
            step_height: 1,
        });
        Ok(())
    }

    fn try_fmt(&self, _ctx: &OpCtx<'_>, pix: &mut V4l2PixFormat) -> KResult<()> {
        try_fmt(pix);
        Ok(())
    }

    fn s_fmt(&self, _ctx: &OpCtx<'_>, pix: &V4l2PixFormat) -> KResult<()> {
        let st = self.ctl.st.get();
        if !st.regs.write(reg_fmt(self.ctl.ent), pix.pixelformat) {
            return Err(Errno::ENODEV);
        }
        // After the (possibly slow) hardware access.
        *self.ctl.st.get().caps[self.ctl.cap].fmt.lock() = *pix;
        Ok(())
    }

    fn start_streaming(&self, _ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()> {
        self.ctl.start(&self.pipe, queue)
    }

    fn stop_streaming(&self, queue: &BufferQueue) {
        self.ctl.stop(&self.pipe, queue);
    }

    fn link_validate(&self, source: &V4l2MbusFramefmt, fmt: &V4l2PixFormat) -> KResult<()> {
        link_validate(source, fmt)
    }

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<()> {
        let st = self.ctl.st.get();
        let _g = st.lock.lock();
        st.opens.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn close(&self) {
        // `v4l2_release` → `vb2_fop_release` reaching driver memory: after
        // unbind in the legacy twin, that memory is freed (race R3).
        self.ctl.st.get().opens.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::super::formats::{code, pix};
    use super::*;

    #[test]
    fn try_fmt_and_link_validate() {
        let mut p = V4l2PixFormat {
            width: 1921,
            height: 3,
            pixelformat: 0xdead,
            ..Default::default()
        };
        try_fmt(&mut p);
        assert_eq!((p.width, p.height, p.pixelformat), (1920, 16, pix::RGB24));
        assert_eq!((p.bytesperline, p.sizeimage), (5760, 5760 * 16));
        assert_eq!(p.field, field::NONE);
        let mut p = V4l2PixFormat {
            width: 640,
            height: 480,
            pixelformat: pix::SBGGR12,
            colorspace: colorspace::SRGB,
            ..Default::default()
        };
        try_fmt(&mut p);
        assert_eq!(p.sizeimage, 640 * 480 * 2);

        let src = V4l2MbusFramefmt {
            width: 640,
            height: 480,
            code: code::SBGGR12_1X12,
            field: field::NONE,
            colorspace: colorspace::SRGB,
            ..Default::default()
        };
        assert_eq!(link_validate(&src, &p), Ok(()));
        let wrong = V4l2MbusFramefmt {
            code: code::SBGGR8_1X8,
            ..src
        };
        assert_eq!(link_validate(&wrong, &p), Err(Errno::EPIPE));
        let raw = V4l2MbusFramefmt {
            colorspace: 11,
            ..src
        };
        assert_eq!(link_validate(&raw, &p), Err(Errno::EPIPE));
        let dflt = V4l2MbusFramefmt {
            colorspace: 0,
            xfer_func: 3,
            ..src
        };
        assert_eq!(link_validate(&dflt, &p), Ok(()));
        // Every RGB888 code is carried as RGB24.
        let mut rgb = pix_default();
        try_fmt(&mut rgb);
        let gbr = V4l2MbusFramefmt {
            code: code::GBR888_1X24,
            ..src
        };
        assert_eq!(link_validate(&gbr, &rgb), Ok(()));
    }
}
