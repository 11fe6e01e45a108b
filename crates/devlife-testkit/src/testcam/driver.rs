//! The testcam driver itself: its state, the video node's and the sensor
//! subdev's operations, probe and remove.

use super::{Counters, REG_CTRL, REG_FMT};
use devlife::Devres;
use devlife::check::Shadow;
use devlife_media::legacy::{EntryCheckedSubdev, EntryCheckedVideo};
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::*;
pub use devlife_model::Style;
use devlife_model::legacy::Devm;
use devlife_model::{BusKind, Driver, Errno, KResult, OpCtx, ProbeCtx, Registers, RemoveCtx};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

enum Regs {
    Framework(Devres<Registers>),
    Legacy(Registers),
}

/// The driver's per-device state (`struct testcam`).
pub struct CamState {
    regs: Regs,
    removed: AtomicBool,
    frame: AtomicU32,
}

impl CamState {
    fn write_reg(&self, off: u32, v: u32) {
        match &self.regs {
            Regs::Framework(d) => {
                if let Ok(r) = d.try_access() {
                    r.write(off, v);
                }
            }
            Regs::Legacy(r) => r.write(off, v),
        }
    }
}

/// The video node's driver data.
pub struct Cap {
    state: Shadow<CamState>,
    counters: Arc<Counters>,
}

fn bpp(fourcc: u32) -> u32 {
    if fourcc == pix_fmt::RGB24 { 3 } else { 1 }
}

/// The format the driver starts with: 640x480 RGB24.
pub fn default_pix() -> V4l2PixFormat {
    V4l2PixFormat {
        width: 640,
        height: 480,
        pixelformat: pix_fmt::RGB24,
        field: field::NONE,
        bytesperline: 640 * 3,
        sizeimage: 640 * 480 * 3,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

impl VideoOps for Cap {
    fn querycap(&self) -> CapStrings {
        let _ = self.state.get();
        CapStrings {
            driver: "testcam".into(),
            card: "Test Camera".into(),
            bus_info: "platform:testcam".into(),
        }
    }

    fn enum_fmt(&self, _ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc> {
        let list: &[u32] = match mbus_code {
            0 => &[pix_fmt::RGB24, pix_fmt::SRGGB8],
            MEDIA_BUS_FMT_RGB888_1X24 => &[pix_fmt::RGB24],
            MEDIA_BUS_FMT_SRGGB8_1X8 => &[pix_fmt::SRGGB8],
            _ => &[],
        };
        list.get(index as usize)
            .map(|&f| FmtDesc::new(f))
            .ok_or(Errno::EINVAL)
    }

    fn try_fmt(&self, _ctx: &OpCtx<'_>, pix: &mut V4l2PixFormat) -> KResult<()> {
        if pix.pixelformat != pix_fmt::RGB24 && pix.pixelformat != pix_fmt::SRGGB8 {
            pix.pixelformat = pix_fmt::RGB24;
        }
        pix.width = pix.width.clamp(16, 4096) & !1;
        pix.height = pix.height.clamp(16, 2160) & !1;
        pix.field = field::NONE;
        pix.bytesperline = pix.width * bpp(pix.pixelformat);
        pix.sizeimage = pix.bytesperline * pix.height;
        pix.colorspace = colorspace::SRGB;
        Ok(())
    }

    fn s_fmt(&self, _ctx: &OpCtx<'_>, pix: &V4l2PixFormat) -> KResult<()> {
        // Programs the hardware (may sleep in it), then touches driver memory.
        self.counters.s_fmt_latch.pass();
        self.state.get().write_reg(REG_FMT, pix.width);
        self.state.get().frame.store(0, Ordering::SeqCst);
        Ok(())
    }

    fn start_streaming(&self, _ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()> {
        let st = self.state.get();
        if let Some(e) = self.counters.fail_start.lock().take() {
            queue.return_all();
            return Err(e);
        }
        self.counters.start_streaming.fetch_add(1, Ordering::SeqCst);
        *self.counters.queue.lock() = Some(queue.clone());
        st.write_reg(REG_CTRL, 1);
        Ok(())
    }

    fn buf_queued(&self, _queue: &BufferQueue) {
        self.counters.buf_queued_latch.pass();
        let _ = self.state.get();
    }

    fn stop_streaming(&self, queue: &BufferQueue) {
        let st = self.state.get();
        if st.removed.load(Ordering::SeqCst) {
            self.counters
                .stop_after_remove
                .fetch_add(1, Ordering::SeqCst);
        }
        self.counters.stop_streaming.fetch_add(1, Ordering::SeqCst);
        st.write_reg(REG_CTRL, 0);
        *self.counters.queue.lock() = None;
        queue.return_all();
    }

    fn close(&self) {
        // Memory only (R3: may run after unbind).
        let _ = self.state.get().frame.load(Ordering::SeqCst);
        self.counters.video_close.fetch_add(1, Ordering::SeqCst);
    }

    fn release(&self) {
        self.counters.video_release.fetch_add(1, Ordering::SeqCst);
        self.counters.release_order.lock().push("video");
    }
}

/// The sensor subdev's driver data: one source pad, two codes, a crop.
pub struct Sensor {
    state: Shadow<CamState>,
    counters: Arc<Counters>,
}

/// The sensor's default pad format.
pub fn sensor_default() -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        width: 640,
        height: 480,
        code: MEDIA_BUS_FMT_RGB888_1X24,
        field: field::NONE,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

impl SubdevOps for Sensor {
    fn init_state(&self, state: &mut SubdevState) {
        if let Ok(p) = state.pad_mut(0) {
            p.format = sensor_default();
            p.crop = V4l2Rect {
                left: 0,
                top: 0,
                width: 640,
                height: 480,
            };
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        c.code = *[MEDIA_BUS_FMT_RGB888_1X24, MEDIA_BUS_FMT_SRGGB8_1X8]
            .get(c.index as usize)
            .ok_or(Errno::EINVAL)?;
        Ok(())
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = self.state.get();
        let mut fmt = f.format;
        if fmt.code != MEDIA_BUS_FMT_RGB888_1X24 && fmt.code != MEDIA_BUS_FMT_SRGGB8_1X8 {
            fmt.code = MEDIA_BUS_FMT_RGB888_1X24;
        }
        fmt.width = fmt.width.clamp(16, 4096) & !1;
        fmt.height = fmt.height.clamp(16, 2160) & !1;
        fmt.field = field::NONE;
        fmt.colorspace = colorspace::SRGB;
        let pad = state.pad_mut(f.pad)?;
        pad.format = fmt;
        pad.crop = V4l2Rect {
            left: 0,
            top: 0,
            width: fmt.width,
            height: fmt.height,
        };
        f.format = fmt;
        Ok(())
    }

    fn get_selection(&self, state: &SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        let pad = state.pad(sel.pad)?;
        sel.r = match sel.target {
            V4L2_SEL_TGT_CROP => pad.crop,
            V4L2_SEL_TGT_CROP_BOUNDS | V4L2_SEL_TGT_CROP_DEFAULT => V4l2Rect {
                left: 0,
                top: 0,
                width: pad.format.width,
                height: pad.format.height,
            },
            _ => return Err(Errno::EINVAL),
        };
        Ok(())
    }

    fn set_selection(&self, state: &mut SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        if sel.target != V4L2_SEL_TGT_CROP {
            return Err(Errno::EINVAL);
        }
        let pad = state.pad_mut(sel.pad)?;
        let (w, h) = (pad.format.width, pad.format.height);
        let mut r = sel.r;
        r.left = r.left.clamp(0, w as i32 - 2);
        r.top = r.top.clamp(0, h as i32 - 2);
        r.width = r.width.clamp(2, w - r.left as u32);
        r.height = r.height.clamp(2, h - r.top as u32);
        pad.crop = r;
        sel.r = r;
        Ok(())
    }

    fn s_stream(&self, enable: bool) -> KResult<()> {
        let _ = self.state.get();
        if enable {
            self.counters.s_stream_on.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn close(&self) {
        // `subdev_close` touching the subdev's driver memory (R3).
        let _ = self.state.get().frame.load(Ordering::SeqCst);
        self.counters.subdev_close.fetch_add(1, Ordering::SeqCst);
    }

    fn release(&self) {
        self.counters.subdev_release.fetch_add(1, Ordering::SeqCst);
        self.counters.release_order.lock().push("subdev");
    }
}

/// What a binding of the driver holds.
pub struct CamData {
    /// The v4l2 device every node of the binding hangs on.
    pub v4l2: V4l2Device,
    /// The capture video device.
    pub vdev: VideoDevice<Cap>,
    /// The sensor subdev.
    pub sensor: Subdev<Sensor>,
    state: Shadow<CamState>,
}

/// The testcam driver: registered once per rig, bound to one platform device.
pub struct TestCam {
    /// How the driver is written.
    pub style: Style,
    /// Counters shared with the test.
    pub counters: Arc<Counters>,
    /// Register the subdev node read-only (`V4L2_SUBDEV_FL_RO` style: set ioctls refused).
    pub read_only_subdev: bool,
    /// The capture queue's configuration.
    pub queue: QueueConfig,
}

impl Driver for TestCam {
    type Data = CamData;

    fn name(&self) -> &str {
        match self.style {
            Style::Framework => "testcam",
            Style::Legacy => "testcam-legacy",
        }
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:devlife-testcam"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<CamData> {
        let legacy = self.style == Style::Legacy;
        let cs = |regs| CamState {
            regs,
            removed: AtomicBool::new(false),
            frame: AtomicU32::new(0),
        };
        let state = if legacy {
            ctx.devm_alloc(
                "testcam",
                "testcam_state",
                cs(Regs::Legacy(ctx.ioremap_unmanaged()?)),
            )?
        } else {
            ctx.alloc_shadow(
                "testcam",
                "testcam_state",
                cs(Regs::Framework(ctx.ioremap()?)),
            )?
        };
        let c = self.counters.clone();
        let v4l2 = V4l2Device::new(ctx.monitor(), "testcam", move || {
            c.v4l2_release.fetch_add(1, Ordering::SeqCst);
            c.release_order.lock().push("v4l2");
        });
        let mut cfg = VideoDeviceConfig::capture("Test Capture", default_pix());
        cfg.queue = self.queue;
        let cap = Cap {
            state: state.clone(),
            counters: self.counters.clone(),
        };
        let vdev = if legacy {
            VideoDevice::new_entry_checked(&v4l2, cfg, cap)?
        } else {
            VideoDevice::new(&v4l2, cfg, cap)?
        };
        vdev.register(ctx)?;
        let mut scfg = SubdevConfig::new(
            "Test Sensor",
            vec![devlife_media::uapi::media::MEDIA_PAD_FL_SOURCE],
            devlife_media::uapi::media::MEDIA_ENT_F_CAM_SENSOR,
        );
        scfg.read_only = self.read_only_subdev;
        let ops = Sensor {
            state: state.clone(),
            counters: self.counters.clone(),
        };
        let sensor = if legacy {
            Subdev::new_entry_checked(ctx.monitor(), scfg, ops)?
        } else {
            Subdev::new(ctx.monitor(), scfg, ops)?
        };
        v4l2.register_subdev(&sensor.handle())?;
        v4l2.register_subdev_nodes(ctx)?;
        self.counters.probes.fetch_add(1, Ordering::SeqCst);
        Ok(CamData {
            v4l2,
            vdev,
            sensor,
            state,
        })
    }

    fn remove(&self, _ctx: &RemoveCtx<'_>, data: &CamData) {
        // Stop the hardware (legal until remove returns).
        data.state.get().write_reg(REG_CTRL, 0);
        let _ = data.vdev.unregister();
        data.v4l2.unregister();
        data.state.get().removed.store(true, Ordering::SeqCst);
        self.counters.removes.fetch_add(1, Ordering::SeqCst);
    }
}
