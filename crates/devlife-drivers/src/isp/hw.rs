//! The simulated ISP hardware: a register block, an interrupt line, and a
//! frame engine that writes each frame by DMA into the buffer whose bus
//! address the driver programmed, then raises its interrupt.
//!
//! # Registers
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | `0x00` | [`REG_ID`] | chip id ([`CHIP_ID`]) |
//! | `0x04` | [`REG_CTRL`] | [`CTRL_START`]: capture continuously; 0 stops |
//! | `0x08` | [`REG_IRQ_EN`] | enabled interrupt sources |
//! | `0x0c` | [`REG_IRQ_STATUS`] | pending sources; write 1 to clear |
//! | `0x10` | [`REG_DMA_ADDR`] | bus address of the next frame (0: none); the engine clears it when it used it |
//! | `0x14` | [`REG_DMA_DONE`] | bus address of the last frame written |
//! | `0x18` | [`REG_FRAME_COUNT`] | frames captured |
//! | `0x1c` | [`REG_OUT_SIZE`] | `width << 16 \| height` of the output |
//! | `0x20` | [`REG_OUT_STRIDE`] | bytes per output line |
//! | `0x24` | [`REG_DROPPED`] | frames dropped for want of a DMA address |
//! | `0x28`..`0x34` | [`REG_SENSOR_CTRL`], [`REG_CSI2_CTRL`], [`REG_CCDC_CTRL`], [`REG_RSZ_CTRL`] | block enables (`s_stream`) |
//! | `0x38`, `0x3c` | [`REG_SENSOR_EXPOSURE`], [`REG_SENSOR_GAIN`] | sensor controls |
//!
//! # Frames
//!
//! While started, each frame tick ([`IspModel::vsync`], or a timer thread
//! when the device runs free, [`super::IspOptions::frame_interval`]) writes
//! a YUYV test pattern ([`pattern_byte`]) into the programmed buffer, sets
//! [`REG_DMA_DONE`], and raises [`IRQ_FRAME_DONE`]; with no buffer
//! programmed it counts a drop and raises [`IRQ_OVERFLOW`].
//!
//! # DMA
//!
//! Bus addresses come from a process-wide IOMMU ([`dma`]): the driver maps a
//! buffer it owns (`dma::map`) and programs the address; the device writes
//! through the address; the driver unmaps it when the frame is done or the
//! stream stops. A buffer mapped for DMA stays alive while it is mapped.

use devlife_media::v4l2::ActiveBuffer;
use devlife_model::Hardware;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Chip id register.
pub const REG_ID: u32 = 0x00;
/// Control register.
pub const REG_CTRL: u32 = 0x04;
/// Interrupt enable register.
pub const REG_IRQ_EN: u32 = 0x08;
/// Interrupt status register (write 1 to clear).
pub const REG_IRQ_STATUS: u32 = 0x0c;
/// DMA address of the next frame.
pub const REG_DMA_ADDR: u32 = 0x10;
/// DMA address of the last frame written.
pub const REG_DMA_DONE: u32 = 0x14;
/// Frames captured.
pub const REG_FRAME_COUNT: u32 = 0x18;
/// Output size (`width << 16 | height`).
pub const REG_OUT_SIZE: u32 = 0x1c;
/// Output stride in bytes.
pub const REG_OUT_STRIDE: u32 = 0x20;
/// Frames dropped.
pub const REG_DROPPED: u32 = 0x24;
/// Sensor block enable.
pub const REG_SENSOR_CTRL: u32 = 0x28;
/// CSI-2 receiver block enable.
pub const REG_CSI2_CTRL: u32 = 0x2c;
/// CCDC block enable.
pub const REG_CCDC_CTRL: u32 = 0x30;
/// Resizer block enable.
pub const REG_RSZ_CTRL: u32 = 0x34;
/// Sensor exposure, written by the `EXPOSURE_ABSOLUTE` control.
pub const REG_SENSOR_EXPOSURE: u32 = 0x38;
/// Sensor analogue gain, written by the `ANALOGUE_GAIN` control.
pub const REG_SENSOR_GAIN: u32 = 0x3c;
/// Number of 32-bit registers.
pub const NREGS: usize = 16;

/// The value of [`REG_ID`].
pub const CHIP_ID: u32 = 0x15b0_0001;
/// [`REG_CTRL`]: capture.
pub const CTRL_START: u32 = 1;
/// Interrupt source: a frame was written.
pub const IRQ_FRAME_DONE: u32 = 1;
/// Interrupt source: a frame was dropped (no DMA address).
pub const IRQ_OVERFLOW: u32 = 2;

/// Byte `offset` of frame `frame` with `stride` bytes per line: the first
/// four bytes are the frame number (little endian), then YUYV whose luma is
/// the line number plus the frame number, with neutral chroma.
pub fn pattern_byte(frame: u32, stride: usize, offset: usize) -> u8 {
    if offset < 4 {
        return frame.to_le_bytes()[offset];
    }
    if offset % 2 == 1 {
        return 0x80;
    }
    let y = offset / stride.max(1);
    (y as u32).wrapping_add(frame) as u8
}

fn fill(b: &mut [u8], frame: u32, width: usize, height: usize, stride: usize) {
    if stride == 0 {
        return;
    }
    for (y, line) in b.chunks_mut(stride).take(height).enumerate() {
        let l = (y as u32).wrapping_add(frame) as u8;
        let n = (width * 2).min(line.len());
        for px in line[..n].chunks_exact_mut(4) {
            px.copy_from_slice(&[l, 0x80, l, 0x80]);
        }
    }
    let n = b.len().min(4);
    b[..n].copy_from_slice(&frame.to_le_bytes()[..n]);
}

/// The system IOMMU: bus addresses of buffers mapped for DMA.
pub mod dma {
    use super::ActiveBuffer;
    use parking_lot::Mutex;
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock};

    type Slot = Arc<Mutex<Option<ActiveBuffer>>>;

    struct Space {
        next: u32,
        map: HashMap<u32, Slot>,
    }

    static SPACE: LazyLock<Mutex<Space>> = LazyLock::new(|| {
        Mutex::new(Space {
            next: 0,
            map: HashMap::new(),
        })
    });

    /// Maps `buf` for DMA; returns its bus address (never 0). The mapping
    /// owns the buffer until [`unmap`].
    pub fn map(buf: ActiveBuffer) -> u32 {
        let mut s = SPACE.lock();
        loop {
            s.next = s.next.wrapping_add(0x1000);
            let a = s.next;
            if a != 0 && !s.map.contains_key(&a) {
                s.map.insert(a, Arc::new(Mutex::new(Some(buf))));
                return a;
            }
        }
    }

    /// Unmaps `addr` and gives the buffer back (waits for a device write in
    /// progress).
    pub fn unmap(addr: u32) -> Option<ActiveBuffer> {
        let slot = SPACE.lock().map.remove(&addr)?;
        slot.lock().take()
    }

    /// The device writes through `addr`. Returns whether it was mapped.
    pub fn write(addr: u32, f: impl FnOnce(&mut ActiveBuffer)) -> bool {
        let slot = SPACE.lock().map.get(&addr).cloned();
        let Some(slot) = slot else { return false };
        let mut g = slot.lock();
        match g.as_mut() {
            Some(b) => {
                f(b);
                true
            }
            None => false,
        }
    }
}

#[derive(Default)]
struct Engine {
    running: bool,
    thread: Option<JoinHandle<()>>,
    stop: Option<Arc<(Mutex<bool>, Condvar)>>,
}

/// The device behaviour of one ISP: interrupt status, frame engine.
///
/// # Invariants
///
/// It holds no [`Hardware`] handle except inside a running free-run thread,
/// which ends when capture stops or the hardware disappears (no cycle
/// through the hardware's write hook).
pub struct IspModel {
    interval: Option<Duration>,
    status: Mutex<u32>,
    engine: Mutex<Engine>,
    frames: AtomicU64,
    dropped: AtomicU64,
}

impl std::fmt::Debug for IspModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IspModel")
            .field("interval", &self.interval)
            .field("frames", &self.frames())
            .finish()
    }
}

impl IspModel {
    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// Whether capture is started.
    pub fn is_running(&self) -> bool {
        self.engine.lock().running
    }

    fn raise(&self, hw: &Hardware, bits: u32) {
        {
            let mut s = self.status.lock();
            *s |= bits;
            hw.poke(REG_IRQ_STATUS, *s);
        }
        if hw.peek(REG_IRQ_EN) & bits != 0 {
            hw.raise_irq();
        }
    }

    /// One frame tick now (in the caller's thread): writes a frame into the
    /// programmed buffer (or drops it) and interrupts. Returns whether the
    /// engine was running.
    pub fn vsync(&self, hw: &Hardware) -> bool {
        if !hw.is_present() || !self.is_running() {
            return false;
        }
        let n = self.frames.fetch_add(1, Ordering::AcqRel) as u32;
        hw.poke(REG_FRAME_COUNT, n.wrapping_add(1));
        let addr = hw.peek(REG_DMA_ADDR);
        let size = hw.peek(REG_OUT_SIZE);
        let (w, h) = ((size >> 16) as usize, (size & 0xffff) as usize);
        let stride = hw.peek(REG_OUT_STRIDE) as usize;
        let wrote = addr != 0 && dma::write(addr, |b| b.with_mut(|m| fill(m, n, w, h, stride)));
        if wrote {
            hw.poke(REG_DMA_DONE, addr);
            hw.poke(REG_DMA_ADDR, 0);
            self.raise(hw, IRQ_FRAME_DONE);
        } else {
            let d = self.dropped.fetch_add(1, Ordering::AcqRel) + 1;
            hw.poke(REG_DROPPED, d as u32);
            self.raise(hw, IRQ_OVERFLOW);
        }
        true
    }

    fn start(self: &Arc<Self>, hw: &Hardware) {
        let mut e = self.engine.lock();
        if e.running {
            return;
        }
        e.running = true;
        let Some(interval) = self.interval else {
            return;
        };
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (me, hw2, s2) = (self.clone(), hw.clone(), stop.clone());
        let t = std::thread::Builder::new()
            .name(format!("isp-engine-{}", hw.name()))
            .spawn(move || {
                loop {
                    {
                        let mut stopped = s2.0.lock();
                        if !*stopped {
                            let _ = s2.1.wait_for(&mut stopped, interval);
                        }
                        if *stopped {
                            return;
                        }
                    }
                    if !hw2.is_present() {
                        return;
                    }
                    me.vsync(&hw2);
                }
            });
        if let Ok(t) = t {
            e.thread = Some(t);
            e.stop = Some(stop);
        }
    }

    fn stop(&self) {
        let (t, stop) = {
            let mut e = self.engine.lock();
            e.running = false;
            (e.thread.take(), e.stop.take())
        };
        if let Some(s) = stop {
            *s.0.lock() = true;
            s.1.notify_all();
        }
        if let Some(t) = t
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }

    fn on_write(self: &Arc<Self>, hw: &Hardware, off: u32, val: u32) {
        match off {
            REG_CTRL if val & CTRL_START != 0 => self.start(hw),
            REG_CTRL => self.stop(),
            REG_IRQ_STATUS => {
                let mut s = self.status.lock();
                *s &= !val;
                hw.poke(REG_IRQ_STATUS, *s);
            }
            _ => {}
        }
    }
}

/// Installs the ISP behaviour on `hw`: the chip id, write-1-to-clear status,
/// and the frame engine (free-running every `interval`, or driven by
/// [`IspModel::vsync`] when `None`). [`super::Isp::plug`] calls it.
pub fn install_device_model(hw: &Hardware, interval: Option<Duration>) -> Arc<IspModel> {
    let m = Arc::new(IspModel {
        interval,
        status: Mutex::new(0),
        engine: Mutex::new(Engine::default()),
        frames: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
    });
    hw.poke(REG_ID, CHIP_ID);
    let m2 = m.clone();
    hw.set_write_hook(move |hw, off, val| m2.on_write(hw, off, val));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_matches_fill() {
        let (w, h) = (8usize, 3usize);
        let stride = w * 2;
        let mut b = vec![0u8; stride * h];
        fill(&mut b, 7, w, h, stride);
        for (i, x) in b.iter().enumerate() {
            assert_eq!(*x, pattern_byte(7, stride, i), "offset {i}");
        }
    }
}
