//! The ISP's driver state (`struct isp_device`) and its interrupt handler,
//! shared by the framework driver and its twin: the capture node, the
//! subdevs and the handler all reach the hardware through it.

use super::Counters;
use super::capture::{Capture, pix};
use super::hw::{IRQ_FRAME_DONE, IRQ_OVERFLOW, REG_DMA_ADDR, REG_DMA_DONE, REG_IRQ_STATUS, dma};
use super::subdevs::DEFAULT_SIZE;
use devlife::check::Shadow;
use devlife::{Bound, Devres};
use devlife_media::mc::MediaDevice;
use devlife_media::uapi::videodev2::V4l2PixFormat;
use devlife_media::v4l2::{BufferQueue, VideoDevice};
use devlife_model::{BindingState, Errno, IrqReturn, KResult, Registers};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// How a binding reaches the ISP's registers.
pub(crate) enum Regs {
    /// A device resource, revoked at unbind (the framework driver).
    Framework(Devres<Registers>),
    /// A raw mapping kept in driver memory, never revoked (the legacy twin:
    /// its accesses after `remove()` are reported).
    Legacy(Registers),
}

/// The buffer the hardware writes into, and what the interrupt handler
/// needs (`isp->irqlock` domain).
#[derive(Default)]
pub(crate) struct DmaSlot {
    pub(crate) streaming: bool,
    /// Bus address of the programmed buffer (0: none).
    pub(crate) active: u32,
    pub(crate) queue: Option<BufferQueue>,
    pub(crate) sizeimage: u32,
}

/// Finds the capture node again (it owns this state; held weakly).
pub(crate) type VdevLookup = Box<dyn Fn() -> Option<VideoDevice<Capture>> + Send + Sync>;

/// The driver state (`struct isp_device`), shared by the capture node, the
/// subdevs and the interrupt handler.
///
/// # Invariants
///
/// `dma.active` is the bus address of a buffer mapped by this driver, or 0;
/// it is programmed into the hardware only while `dma.streaming`.
pub(crate) struct IspState {
    /// The driver's name (`VIDIOC_QUERYCAP`'s `driver`).
    pub(crate) driver: &'static str,
    /// The platform device's name (`devlife-isp.N`).
    pub(crate) name: String,
    pub(crate) regs: Regs,
    pub(crate) mdev: MediaDevice,
    pub(crate) fmt: Mutex<V4l2PixFormat>,
    pub(crate) dma: Mutex<DmaSlot>,
    pub(crate) vdev: OnceLock<VdevLookup>,
    frames: AtomicU64,
    /// The binding that made this state: removed once its `remove()` returned.
    pub(crate) binding: BindingState,
    pub(crate) counters: Arc<Counters>,
}

impl IspState {
    /// A new state: default capture format, nothing streaming.
    pub(crate) fn new(
        driver: &'static str,
        name: &str,
        regs: Regs,
        mdev: MediaDevice,
        binding: BindingState,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            driver,
            name: name.to_owned(),
            regs,
            mdev,
            fmt: Mutex::new(pix(DEFAULT_SIZE.0, DEFAULT_SIZE.1)),
            dma: Mutex::new(DmaSlot::default()),
            vdev: OnceLock::new(),
            frames: AtomicU64::new(0),
            binding,
            counters,
        }
    }

    /// A register write from a file operation or a subdev op (through the
    /// binding's gate for a device resource: `ENODEV` once revoked).
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

    /// A register write with the binding's proof (`remove()`): nothing is
    /// written once a device resource was revoked.
    #[track_caller]
    pub(crate) fn write_reg_bound(&self, bound: &Bound<'_>, off: u32, val: u32) {
        match &self.regs {
            Regs::Framework(d) => {
                if let Ok(r) = d.access(bound) {
                    r.write(off, val);
                }
            }
            Regs::Legacy(r) => r.write(off, val),
        }
    }

    /// Frames completed.
    pub(crate) fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// The capture node, while it exists.
    pub(crate) fn vdev(&self) -> Option<VideoDevice<Capture>> {
        self.vdev.get().and_then(|f| f())
    }

    /// Takes the next queued buffer, maps it and programs its address.
    pub(crate) fn program_next(d: &mut DmaSlot, write: impl Fn(u32, u32)) {
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
pub(crate) fn isp_irq(st: &Shadow<IspState>, regs: &Registers) -> IrqReturn {
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
