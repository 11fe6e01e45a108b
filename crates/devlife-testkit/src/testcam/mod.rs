//! `testcam`, the rig of the V4L2 framework tests: a small capture driver
//! with one video node and one sensor subdev, written in both styles.
//!
//! The driver's state is an instrumented allocation ([`Shadow`](devlife::check::Shadow)): framework
//! style releases it on its last reference, legacy style frees it at unbind
//! (`devm_kzalloc`), so any use after unbind is reported in the legacy style.
//! Its registers are a revocable device resource (framework) or a raw
//! mapping (legacy), so hardware use after `remove()` is reported.
//!
//! Frames are produced on demand by the test ([`Rig::produce`]), like an IRQ
//! handler completing a DMA, so tests are deterministic.

mod driver;

pub use crate::prelude::*;
use devlife::check::ReportKind;
use devlife_media::v4l2::*;
pub use devlife_model::Style;
use devlife_model::{Device, DeviceSpec, Errno, File, KResult, Kernel, OpenFlags};
pub use driver::*;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// Register: 1 = DMA running.
pub const REG_CTRL: u32 = 0x00;
/// Register: frames produced by the "hardware".
pub const REG_FRAMES: u32 = 0x04;
/// Register: the width programmed by `S_FMT`.
pub const REG_FMT: u32 = 0x08;

/// A point where the driver's `S_FMT` can be held (to keep an ioctl in
/// flight across an unbind, deterministically).
#[derive(Default)]
pub struct Latch {
    state: Mutex<(bool, bool)>,
    cv: parking_lot::Condvar,
}

impl Latch {
    /// The next `pass` will wait until [`release`](Self::release).
    pub fn arm(&self) {
        *self.state.lock() = (true, false);
    }
    /// Called by the driver.
    pub(crate) fn pass(&self) {
        let mut s = self.state.lock();
        if s.0 {
            s.1 = true;
            self.cv.notify_all();
            while s.0 {
                self.cv.wait(&mut s);
            }
        }
    }
    /// Waits until the driver is held at the latch (asserts it happens).
    pub fn wait_entered(&self) {
        let mut s = self.state.lock();
        let deadline = std::time::Instant::now() + PATIENCE;
        while !s.1 {
            assert!(
                !self.cv.wait_until(&mut s, deadline).timed_out(),
                "the driver never reached the latch"
            );
        }
    }
    /// Lets the driver go on.
    pub fn release(&self) {
        self.state.lock().0 = false;
        self.cv.notify_all();
    }
}

/// Counters shared between the test and every binding of the driver.
#[derive(Default)]
pub struct Counters {
    /// Successful probes.
    pub probes: AtomicUsize,
    /// `remove()` calls.
    pub removes: AtomicUsize,
    /// `start_streaming` calls that succeeded.
    pub start_streaming: AtomicUsize,
    /// `stop_streaming` calls.
    pub stop_streaming: AtomicUsize,
    /// `stop_streaming` calls that started after `remove()` returned.
    pub stop_after_remove: AtomicUsize,
    /// Release callbacks of the video device (its last reference went).
    pub video_release: AtomicUsize,
    /// Release callbacks of the sensor subdev.
    pub subdev_release: AtomicUsize,
    /// Release callbacks of the v4l2 device.
    pub v4l2_release: AtomicUsize,
    /// Closes of video node files that reached the driver.
    pub video_close: AtomicUsize,
    /// Closes of subdev node files that reached the driver.
    pub subdev_close: AtomicUsize,
    /// `s_stream(true)` calls on the sensor.
    pub s_stream_on: AtomicUsize,
    /// Fail the next `start_streaming` with this errno.
    pub fail_start: Mutex<Option<Errno>>,
    /// Order of release callbacks (`"video"`, `"subdev"`, `"v4l2"`).
    pub release_order: Mutex<Vec<&'static str>>,
    /// The queue handle the driver got at `start_streaming` (the "DMA engine").
    pub queue: Mutex<Option<BufferQueue>>,
    /// Holds `S_FMT` inside the driver before it programs the hardware.
    pub s_fmt_latch: Latch,
    /// Holds `buf_queued` (a `QBUF` while streaming) inside the driver.
    pub buf_queued_latch: Latch,
}

/// A kernel with the driver registered and one device bound.
pub struct Rig {
    /// The kernel testcam is registered in.
    pub k: Kernel,
    /// The bound platform device.
    pub dev: Device,
    /// Counters shared with the test.
    pub counters: Arc<Counters>,
    /// How the driver is written.
    pub style: Style,
}

impl Rig {
    /// testcam of `style` bound to one platform device, default queue, writable subdev.
    pub fn new(style: Style) -> Self {
        Self::with(style, false, QueueConfig::default())
    }

    /// testcam of `style` bound to one platform device, with a read-only subdev node if asked and `queue` as its capture queue.
    pub fn with(style: Style, read_only_subdev: bool, queue: QueueConfig) -> Self {
        let k = Kernel::new();
        let counters = Arc::new(Counters::default());
        k.register_driver(
            TestCam {
                style,
                counters: counters.clone(),
                read_only_subdev,
                queue,
            },
            None,
        )
        .unwrap();
        let dev = k
            .add_device(DeviceSpec::platform("devlife-testcam", 0).regs(8))
            .unwrap();
        assert!(dev.is_bound(), "testcam did not bind");
        Self {
            k,
            dev,
            counters,
            style,
        }
    }

    /// The driver's name in sysfs (`testcam` or `testcam-legacy`).
    pub fn driver_name(&self) -> &'static str {
        match self.style {
            Style::Framework => "testcam",
            Style::Legacy => "testcam-legacy",
        }
    }

    /// Name of the video node of the current binding.
    pub fn video_name(&self) -> String {
        self.k
            .nodes()
            .into_iter()
            .find(|n| n.kind() == devlife_model::chrdev::NodeKind::Video)
            .map(|n| n.name().to_owned())
            .expect("no video node")
    }

    /// Name of the subdev node of the current binding.
    pub fn subdev_name(&self) -> String {
        self.k
            .nodes()
            .into_iter()
            .find(|n| n.kind() == devlife_model::chrdev::NodeKind::Subdev)
            .map(|n| n.name().to_owned())
            .expect("no subdev node")
    }

    /// Opens the video node read/write (blocking).
    pub fn open_video(&self) -> File {
        self.k.open(&self.video_name(), OpenFlags::RDWR).unwrap()
    }

    /// Opens the video node read/write with `O_NONBLOCK`.
    pub fn open_video_nb(&self) -> File {
        self.k
            .open(&self.video_name(), OpenFlags::RDWR.nonblocking())
            .unwrap()
    }

    /// Opens the subdev node read/write.
    pub fn open_subdev(&self) -> File {
        self.k.open(&self.subdev_name(), OpenFlags::RDWR).unwrap()
    }

    /// The "IRQ handler": completes up to `n` queued buffers with a frame
    /// whose first 4 bytes are the frame number. Returns how many completed.
    pub fn produce(&self, n: usize) -> usize {
        let Some(data) = self.data_queue() else {
            return 0;
        };
        let mut done = 0;
        for _ in 0..n {
            let Some(mut b) = data.next_buffer() else {
                break;
            };
            let frame = self.hw_frames();
            b.with_mut(|m| {
                m[..4].copy_from_slice(&frame.to_le_bytes());
                for (i, x) in m[4..64].iter_mut().enumerate() {
                    *x = i as u8;
                }
            });
            let len = b.len() as u32;
            b.set_bytesused(len);
            if b.done().is_ok() {
                self.dev.hardware().poke(REG_FRAMES, frame + 1);
                done += 1;
            }
        }
        done
    }

    fn hw_frames(&self) -> u32 {
        self.dev.hardware().peek(REG_FRAMES)
    }

    /// The driver's current queue handle (set by start_streaming).
    pub fn data_queue(&self) -> Option<BufferQueue> {
        self.counters.queue.lock().clone()
    }

    /// Hardware violations and other checker reports so far.
    pub fn reports(&self) -> Vec<devlife::check::Report> {
        self.k.monitor().reports().all()
    }

    /// How many reports of `kind` were raised so far.
    pub fn report_count(&self, kind: ReportKind) -> usize {
        self.k.monitor().reports().count(kind)
    }

    /// Unbinds the driver through sysfs.
    pub fn unbind(&self) -> KResult<()> {
        self.k.sysfs_unbind(self.driver_name(), self.dev.name())
    }

    /// Binds the driver again through sysfs.
    pub fn bind(&self) -> KResult<()> {
        self.k.sysfs_bind(self.driver_name(), self.dev.name())
    }
}
