//! The ISP's capture node (`struct isp_video`): its format, and the stream
//! it starts and stops — pipeline validation, the subdevs upstream, the
//! output registers and the first DMA buffer.

use super::Counters;
use super::MEDIA_BUS_FMT_YUYV8_1X16;
use super::MODEL;
use super::hw::{
    CTRL_START, IRQ_FRAME_DONE, IRQ_OVERFLOW, REG_CTRL, REG_DMA_ADDR, REG_IRQ_EN, REG_IRQ_STATUS,
    REG_OUT_SIZE, REG_OUT_STRIDE, dma,
};
use super::state::IspState;
use devlife::check::Shadow;
use devlife_media::uapi::videodev2::{V4l2PixFormat, colorspace, field, pix_fmt};
use devlife_media::v4l2::{BufferQueue, CapStrings, FmtDesc, SubdevHandle, VideoDevice, VideoOps};
use devlife_model::{Errno, KResult, OpCtx};
use std::sync::Arc;

/// The capture format for a size.
pub(crate) fn pix(width: u32, height: u32) -> V4l2PixFormat {
    V4l2PixFormat {
        width,
        height,
        pixelformat: pix_fmt::YUYV,
        field: field::NONE,
        bytesperline: width * 2,
        sizeimage: width * height * 2,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

/// The capture node's driver data (`struct isp_video`).
///
/// # Invariants
///
/// `counters` is the state's own counters: `release` counts through it
/// without reading the state, which the legacy twin may have freed by then.
pub(crate) struct Capture {
    pub(crate) st: Shadow<IspState>,
    pub(crate) counters: Arc<Counters>,
}

impl Capture {
    /// Stops the subdevs (reverse order) and the pipeline.
    fn stop_pipeline(vdev: &VideoDevice<Capture>, subdevs: &[SubdevHandle]) {
        for sd in subdevs.iter().rev() {
            let _ = sd.s_stream(false);
        }
        let _ = vdev.pipeline_stop();
    }
}

impl VideoOps for Capture {
    fn querycap(&self) -> CapStrings {
        let st = self.st.get();
        CapStrings {
            driver: st.driver.into(),
            card: MODEL.into(),
            bus_info: format!("platform:{}", st.name),
        }
    }

    fn enum_fmt(&self, _ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc> {
        if index == 0 && (mbus_code == 0 || mbus_code == MEDIA_BUS_FMT_YUYV8_1X16) {
            Ok(FmtDesc::new(pix_fmt::YUYV))
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn try_fmt(&self, _ctx: &OpCtx<'_>, p: &mut V4l2PixFormat) -> KResult<()> {
        let w = p.width.clamp(32, 4096) & !1;
        let h = p.height.clamp(32, 4096);
        *p = V4l2PixFormat {
            priv_: p.priv_,
            ..pix(w, h)
        };
        Ok(())
    }

    fn s_fmt(&self, _ctx: &OpCtx<'_>, p: &V4l2PixFormat) -> KResult<()> {
        *self.st.get().fmt.lock() = *p;
        Ok(())
    }

    fn start_streaming(&self, _ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()> {
        let st = self.st.get();
        let vdev = st.vdev().ok_or(Errno::ENODEV)?;
        // Validate the pipeline (EPIPE, ENOLINK, EBUSY).
        vdev.pipeline_start()?;
        let subdevs = vdev.upstream_subdevs();
        for (i, sd) in subdevs.iter().enumerate() {
            if let Err(e) = sd.s_stream(true) {
                Self::stop_pipeline(&vdev, &subdevs[..i]);
                return Err(e);
            }
        }
        let fmt = *st.fmt.lock();
        let programmed = (|| {
            st.write_reg(REG_OUT_SIZE, (fmt.width << 16) | fmt.height)?;
            st.write_reg(REG_OUT_STRIDE, fmt.bytesperline)?;
            st.write_reg(REG_IRQ_STATUS, IRQ_FRAME_DONE | IRQ_OVERFLOW)?;
            st.write_reg(REG_IRQ_EN, IRQ_FRAME_DONE | IRQ_OVERFLOW)?;
            {
                let mut d = st.dma.lock();
                d.streaming = true;
                d.queue = Some(queue.clone());
                d.sizeimage = fmt.sizeimage;
                IspState::program_next(&mut d, |o, v| {
                    let _ = st.write_reg(o, v);
                });
            }
            st.write_reg(REG_CTRL, CTRL_START)
        })();
        if let Err(e) = programmed {
            self.stop_streaming(queue);
            return Err(e);
        }
        Counters::inc(&self.counters.starts);
        Ok(())
    }

    fn stop_streaming(&self, queue: &BufferQueue) {
        let st = self.st.get();
        st.dma.lock().streaming = false;
        // Stop the engine, then no interrupt source is left.
        let _ = st.write_reg(REG_CTRL, 0);
        let _ = st.write_reg(REG_IRQ_EN, 0);
        let _ = st.write_reg(REG_DMA_ADDR, 0);
        {
            let mut d = st.dma.lock();
            if d.active != 0 {
                if let Some(b) = dma::unmap(d.active) {
                    let _ = b.error();
                }
                d.active = 0;
            }
            d.queue = None;
        }
        if let Some(vdev) = st.vdev() {
            let subdevs = vdev.upstream_subdevs();
            Self::stop_pipeline(&vdev, &subdevs);
        }
        queue.return_all();
        Counters::inc(&self.counters.stops);
        // Only a driver whose nodes outlive its `remove()` gets here (the
        // framework stops the stream when it unplugs the node).
        if st.binding.is_removed() {
            Counters::inc(&self.counters.stops_after_remove);
        }
    }

    fn buf_queued(&self, _queue: &BufferQueue) {
        let st = self.st.get();
        let mut d = st.dma.lock();
        IspState::program_next(&mut d, |o, v| {
            let _ = st.write_reg(o, v);
        });
    }

    fn close(&self) {
        // Driver memory only (R3 of docs/rules.md: may run after unbind).
        let _ = self.st.get().frames();
    }
}
