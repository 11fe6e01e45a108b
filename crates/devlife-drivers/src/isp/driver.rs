//! The ISP driver: probe builds the media device, the subdevs and the
//! capture node; the capture node programs DMA; the interrupt handler
//! completes buffers; remove stops the hardware and frees the interrupt.

use super::hw::{
    CTRL_START, IRQ_FRAME_DONE, IRQ_OVERFLOW, REG_CTRL, REG_DMA_ADDR, REG_DMA_DONE, REG_IRQ_EN,
    REG_IRQ_STATUS, REG_OUT_SIZE, REG_OUT_STRIDE, dma,
};
use super::subdevs::{Block, DEFAULT_SIZE, IspSubdev};
use super::{
    CAPTURE_NAME, Counters, IspInfo, IspShared, MEDIA_BUS_FMT_YUYV8_1X16, MODEL, driver_name,
};
use crate::Style;
use devlife::Devres;
use devlife::check::Shadow;
use devlife_media::legacy::{EntryCheckedSubdev, EntryCheckedVideo, OwnerFreedMedia};
use devlife_media::mc::{DeviceInfo, MediaDevice, RegisterOptions};
use devlife_media::uapi::media::{MEDIA_LNK_FL_ENABLED, MEDIA_LNK_FL_IMMUTABLE};
use devlife_media::uapi::videodev2::{V4l2PixFormat, colorspace, field, pix_fmt};
use devlife_media::v4l2::{
    BufferQueue, CapStrings, FmtDesc, Subdev, SubdevHandle, V4l2Device, VideoDevice,
    VideoDeviceConfig, VideoOps,
};
use devlife_model::BindingState;
use devlife_model::legacy::Devm;
use devlife_model::{
    BusKind, Driver, Errno, IrqReturn, KResult, OpCtx, ProbeCtx, Registers, RemoveCtx,
};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// How the driver reaches its registers.
enum Regs {
    /// A device resource (framework).
    Framework(Devres<Registers>),
    /// A raw mapping kept in driver memory (legacy).
    Legacy(Registers),
}

/// The buffer the hardware writes into, and what the interrupt handler
/// needs (`isp->irqlock` domain).
#[derive(Default)]
struct DmaSlot {
    streaming: bool,
    /// Bus address of the programmed buffer (0: none).
    active: u32,
    queue: Option<BufferQueue>,
    sizeimage: u32,
}

/// Finds the capture node again (it owns this state; held weakly).
type VdevLookup = Box<dyn Fn() -> Option<VideoDevice<Capture>> + Send + Sync>;

/// The driver state (`struct isp_device`), shared by the capture node, the
/// subdevs and the interrupt handler.
///
/// # Invariants
///
/// `dma.active` is the bus address of a buffer mapped by this driver, or 0;
/// it is programmed into the hardware only while `dma.streaming`.
pub(crate) struct IspState {
    name: String,
    style: Style,
    regs: Regs,
    pub(crate) mdev: MediaDevice,
    fmt: Mutex<V4l2PixFormat>,
    dma: Mutex<DmaSlot>,
    vdev: OnceLock<VdevLookup>,
    frames: AtomicU64,
    /// The binding that made this state: removed once its `remove()` returned.
    binding: BindingState,
    counters: Arc<Counters>,
}

impl IspState {
    /// A register write from a file operation or a subdev op (framework:
    /// through the binding's gate).
    #[track_caller]
    pub(crate) fn write_reg(&self, off: u32, val: u32) -> KResult<()> {
        match &self.regs {
            Regs::Framework(d) => {
                let r = d.try_access().map_err(|_| Errno::ENODEV)?;
                r.write(off, val);
            }
            Regs::Legacy(r) => r.write(off, val),
        }
        Ok(())
    }

    /// Frames completed.
    pub(crate) fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    fn vdev(&self) -> Option<VideoDevice<Capture>> {
        self.vdev.get().and_then(|f| f())
    }

    /// Takes the next queued buffer, maps it and programs its address.
    fn program_next(d: &mut DmaSlot, write: impl Fn(u32, u32)) {
        if !d.streaming || d.active != 0 {
            return;
        }
        if let Some(b) = d.queue.as_ref().and_then(BufferQueue::next_buffer) {
            let a = dma::map(b);
            d.active = a;
            write(REG_DMA_ADDR, a);
        }
    }
}

/// The interrupt handler (`omap3isp_isr`): acknowledge, complete the frame
/// the hardware wrote, program the next buffer.
fn isp_irq(st: &Shadow<IspState>, regs: &Registers) -> IrqReturn {
    let s = st.get();
    let status = regs.read(REG_IRQ_STATUS);
    if status == 0 {
        return IrqReturn::None;
    }
    regs.write(REG_IRQ_STATUS, status);
    Counters::inc(&s.counters.irqs);
    let mut d = s.dma.lock();
    if status & IRQ_FRAME_DONE != 0 {
        let done = regs.read(REG_DMA_DONE);
        if done != 0 && done == d.active {
            d.active = 0;
            if let Some(mut b) = dma::unmap(done) {
                b.set_bytesused(d.sizeimage);
                let r = if d.streaming { b.done() } else { b.error() };
                if r.is_ok() && d.streaming {
                    s.frames.fetch_add(1, Ordering::AcqRel);
                    Counters::inc(&s.counters.frames);
                }
            }
        }
    }
    if status & IRQ_OVERFLOW != 0 {
        Counters::inc(&s.counters.overflows);
    }
    IspState::program_next(&mut d, |o, v| regs.write(o, v));
    IrqReturn::Handled
}

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
pub(crate) struct Capture {
    st: Shadow<IspState>,
    counters: Arc<Counters>,
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
            driver: driver_name(st.style).into(),
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
        // Driver memory only (R3: may run after unbind).
        let _ = self.st.get().frames();
    }

    fn release(&self) {
        Counters::inc(&self.counters.video_releases);
    }
}

/// What a binding of the ISP driver holds.
pub(crate) struct IspData {
    st: Shadow<IspState>,
    v4l2: V4l2Device,
    vdev: VideoDevice<Capture>,
    _subdevs: Vec<Subdev<IspSubdev>>,
}

/// The ISP driver.
pub(crate) struct IspDriver {
    shared: Arc<IspShared>,
}

impl IspDriver {
    pub(crate) fn new(shared: Arc<IspShared>) -> Self {
        Self { shared }
    }
}

impl Driver for IspDriver {
    type Data = IspData;

    fn name(&self) -> &str {
        driver_name(self.shared.style)
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:devlife-isp"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<IspData> {
        let style = self.shared.style;
        let legacy = style == Style::Legacy;
        let name = ctx.device().name().to_owned();
        let counters = self.shared.counters.clone();
        let info = DeviceInfo {
            driver_name: driver_name(style).into(),
            model: MODEL.into(),
            bus_info: format!("platform:{name}"),
            hw_revision: 0x0100,
            ..Default::default()
        };
        let mdev = if legacy {
            MediaDevice::new_owner_freed(ctx.monitor(), info)
        } else {
            MediaDevice::new(ctx.monitor(), info)
        };
        let mk = |regs| IspState {
            name: name.clone(),
            style,
            regs,
            mdev: mdev.clone(),
            fmt: Mutex::new(pix(DEFAULT_SIZE.0, DEFAULT_SIZE.1)),
            dma: Mutex::new(DmaSlot::default()),
            vdev: OnceLock::new(),
            frames: AtomicU64::new(0),
            binding: ctx.binding_state(),
            counters: counters.clone(),
        };
        let label = format!("isp({name})");
        let st = if legacy {
            // The pre-fix order: the devm IRQ first (so devm frees the state
            // before the IRQ), its handler finding the state through drvdata;
            // the media device lives in the same devm allocation.
            let regs = ctx.ioremap_unmanaged()?;
            let r2 = regs.clone();
            let st = ctx.devm_irq_before_state(
                driver_name(style),
                "isp drvdata",
                "isp_state",
                &label,
                mk(Regs::Legacy(regs)),
                move |s| isp_irq(s, &r2),
            )?;
            let m = mdev.clone();
            ctx.devm_add_action("kfree(isp->media_dev)", move || {
                m.legacy_free();
            });
            st
        } else {
            let regs = ctx.ioremap()?;
            let st = ctx.alloc_shadow("isp_state", &label, mk(Regs::Framework(regs.clone())))?;
            let s2 = st.clone();
            // Gated: never runs once the binding is unplugged.
            ctx.request_irq(driver_name(style), move |ic| {
                let Some(b) = ic.bound() else {
                    return IrqReturn::None;
                };
                match regs.access(&b) {
                    Ok(r) => isp_irq(&s2, r),
                    Err(_) => IrqReturn::None,
                }
            })?;
            st
        };

        // The v4l2 device's release is the ISP's release: it runs after the
        // last video device and subdev are gone and drops the last
        // reference the driver keeps to its state.
        let (c, keep) = (counters.clone(), st.clone());
        let v4l2 = V4l2Device::new(ctx.monitor(), &name, move || {
            Counters::inc(&c.isp_releases);
            drop(keep);
        });
        v4l2.set_media_device(&mdev);
        let built = (|| {
            let mut subdevs = Vec::new();
            for b in Block::ALL {
                let ops = IspSubdev {
                    block: b,
                    st: st.clone(),
                    counters: counters.clone(),
                };
                let sd = if legacy {
                    Subdev::new_entry_checked(ctx.monitor(), b.config(), ops)?
                } else {
                    Subdev::new(ctx.monitor(), b.config(), ops)?
                };
                v4l2.register_subdev(&sd.handle())?;
                subdevs.push(sd);
            }
            let vcfg = VideoDeviceConfig::capture(CAPTURE_NAME, pix(640, 480));
            let ops = Capture {
                st: st.clone(),
                counters: counters.clone(),
            };
            let vdev = if legacy {
                VideoDevice::new_entry_checked(&v4l2, vcfg, ops)?
            } else {
                VideoDevice::new(&v4l2, vcfg, ops)?
            };
            vdev.register(ctx)?;
            let e = |i: usize| subdevs[i].entity();
            let fixed = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
            mdev.create_pad_link(e(0), 0, e(1), 0, fixed)?;
            mdev.create_pad_link(e(1), 1, e(2), 0, MEDIA_LNK_FL_ENABLED)?;
            mdev.create_pad_link(e(2), 1, e(3), 0, MEDIA_LNK_FL_ENABLED)?;
            mdev.create_pad_link(e(3), 1, vdev.entity(), 0, fixed)?;
            v4l2.register_subdev_nodes(ctx)?;
            let opts = RegisterOptions {
                parent: Some(ctx.device().clone()),
                owner: if legacy { ctx.module().cloned() } else { None },
                name: None,
            };
            mdev.register(ctx.kernel(), opts)?;
            Ok::<_, Errno>((subdevs, vdev))
        })();
        let (subdevs, vdev) = match built {
            Ok(b) => b,
            Err(e) => {
                v4l2.unregister();
                mdev.unregister();
                return Err(e);
            }
        };
        let w = vdev.downgrade();
        let _ = st
            .get()
            .vdev
            .set(Box::new(move || w.upgrade()) as VdevLookup);

        self.shared.infos.lock().insert(
            name,
            IspInfo {
                mdev: mdev.downgrade(),
                subdevs: subdevs
                    .iter()
                    .filter_map(|s| Some((s.name().to_owned(), s.node()?.name().to_owned())))
                    .collect(),
            },
        );
        Counters::inc(&counters.probes);
        Ok(IspData {
            st,
            v4l2,
            vdev,
            _subdevs: subdevs,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &IspData) {
        let st = data.st.get();
        match &st.regs {
            Regs::Framework(d) => {
                // The stream was stopped when the node was unplugged. Stop
                // the hardware; the framework frees the IRQ after this
                // returns (its handler, gated by the binding, cannot run).
                if let Ok(r) = d.access(&ctx.bound()) {
                    r.write(REG_CTRL, 0);
                    r.write(REG_IRQ_EN, 0);
                }
            }
            Regs::Legacy(r) => {
                // Stop the engine; the IRQ and the memory go with devm.
                r.write(REG_CTRL, 0);
            }
        }
        let _ = data.vdev.unregister();
        data.v4l2.unregister();
        st.mdev.unregister();
        self.shared.infos.lock().remove(ctx.device().name());
        Counters::inc(&self.shared.counters.removes);
    }
}
