//! The capture node's V4L2 operations ([`Cap`]): inputs, formats, picture
//! controls and streaming.

use crate::usb_av::hw::{
    CTRL_STREAM, REG_V_BRIGHTNESS, REG_V_CONTRAST, REG_V_CTRL, REG_V_FMT, REG_V_HUE, REG_V_INPUT,
    REG_V_SATURATION,
};
use crate::usb_av::pump::Pump;
use crate::usb_av::video::device::AvDev;
use crate::usb_av::video::device::MEDIA_BUS_FMT_YUYV8_2X8;
use crate::usb_av::video::device::closest_size;
use crate::usb_av::video::device::pix;
use crate::usb_av::video::device::video_pump;
use crate::usb_av::{Counters, PRODUCT, video_urb_thread};
use devlife::check::Shadow;
use devlife_media::uapi::controls::cid;
use devlife_media::uapi::videodev2::{V4l2PixFormat, pix_fmt};
use devlife_media::v4l2::{BufferQueue, CapStrings, CtrlConfig, FmtDesc, VideoOps};
use devlife_model::{Errno, KResult, OpCtx};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The inputs of the capture node (the decoder's analog inputs).
const INPUTS: [&str; 2] = ["Composite", "S-Video"];

/// The capture node's controls: the decoder's picture adjustments.
pub(crate) fn picture_controls() -> Vec<CtrlConfig> {
    vec![
        CtrlConfig::std(cid::BRIGHTNESS, 0, 255, 1, 128),
        CtrlConfig::std(cid::CONTRAST, 0, 255, 1, 128),
        CtrlConfig::std(cid::SATURATION, 0, 255, 1, 128),
        CtrlConfig::std(cid::HUE, -128, 127, 1, 0),
    ]
}

/// The capture node's driver data.
pub(crate) struct Cap {
    pub(crate) dev: Shadow<AvDev>,
    pub(crate) counters: Arc<Counters>,
}

impl VideoOps for Cap {
    fn querycap(&self) -> CapStrings {
        let st = self.dev.get();
        CapStrings {
            driver: st.driver.into(),
            card: PRODUCT.into(),
            bus_info: format!("usb-devlife-{}", st.port),
        }
    }

    fn enum_fmt(&self, _ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc> {
        if index == 0 && (mbus_code == 0 || mbus_code == MEDIA_BUS_FMT_YUYV8_2X8) {
            Ok(FmtDesc::new(pix_fmt::YUYV))
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn try_fmt(&self, _ctx: &OpCtx<'_>, p: &mut V4l2PixFormat) -> KResult<()> {
        let (w, h) = closest_size(p.width, p.height);
        *p = V4l2PixFormat {
            priv_: p.priv_,
            ..pix(w, h)
        };
        Ok(())
    }

    fn s_fmt(&self, _ctx: &OpCtx<'_>, p: &V4l2PixFormat) -> KResult<()> {
        let st = self.dev.get();
        st.hw.write(REG_V_FMT, (p.width << 16) | p.height)?;
        *st.fmt.lock() = *p;
        Ok(())
    }

    fn start_streaming(&self, _ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()> {
        let st = self.dev.get();
        let entity = st.video_entity().ok_or(Errno::ENODEV)?;
        let mdev = st.mdev.upgrade();
        // `v4l_enable_media_source`: claim the decoder through the hook.
        if let Some(m) = &mdev {
            m.enable_source(&entity, &st.video_pipe)?;
        }
        let fmt = *st.fmt.lock();
        let started = (|| {
            st.hw.write(REG_V_FMT, (fmt.width << 16) | fmt.height)?;
            st.hw.write(REG_V_CTRL, CTRL_STREAM)?;
            let (d, q, c) = (self.dev.clone(), queue.clone(), st.pump_ctl.clone());
            let bytes = fmt.sizeimage as usize;
            let pump = Pump::start(video_urb_thread(&st.port), &st.pump_ctl, move || {
                video_pump(d, q, c, bytes)
            })?;
            *st.pump.lock() = Some(pump);
            Ok(())
        })();
        match started {
            Ok(()) => {
                Counters::inc(&self.counters.video_starts);
                Ok(())
            }
            Err(e) => {
                let _ = st.hw.write(REG_V_CTRL, 0);
                if let Some(m) = &mdev {
                    m.disable_source(&entity);
                }
                Err(e)
            }
        }
    }

    fn stop_streaming(&self, queue: &BufferQueue) {
        let st = self.dev.get();
        st.stop_pump();
        let _ = st.hw.write(REG_V_CTRL, 0);
        if let (Some(m), Some(e)) = (st.mdev.upgrade(), st.video_entity()) {
            m.disable_source(&e);
        }
        queue.return_all();
        Counters::inc(&self.counters.video_stops);
        if st.binding.is_removed() {
            Counters::inc(&self.counters.video_stops_after_remove);
        }
    }

    fn buf_queued(&self, _queue: &BufferQueue) {
        self.dev.get().pump_ctl.kick();
    }

    fn inputs(&self) -> Vec<String> {
        INPUTS.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The decoder's input mux, a register transfer (`ENODEV` once the
    /// device is gone).
    fn s_input(&self, _ctx: &OpCtx<'_>, index: u32) -> KResult<()> {
        self.dev.get().hw.write(REG_V_INPUT, index)
    }

    /// The decoder's picture registers.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let reg = match id {
            cid::BRIGHTNESS => REG_V_BRIGHTNESS,
            cid::CONTRAST => REG_V_CONTRAST,
            cid::SATURATION => REG_V_SATURATION,
            cid::HUE => REG_V_HUE,
            _ => return Err(Errno::EINVAL),
        };
        self.dev.get().hw.write(reg, value as u32)
    }

    /// `v4l2_open` under the video device's lock (the driver lock).
    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<()> {
        let _g = self.dev.get().lock.lock();
        Ok(())
    }

    fn close(&self) {
        // Driver memory only (R3: may run after unbind).
        let _ = self.dev.get().frame.load(Ordering::Relaxed);
    }
}
