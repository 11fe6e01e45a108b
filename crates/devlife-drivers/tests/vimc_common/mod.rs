//! Shared helpers of the `vimc_*` tests: a kernel with vimc registered, ioctl
//! helpers, and thread ordering through the model's blocked-thread table.
#![allow(dead_code)] // each test binary uses a different part

use devlife::check::{Report, ReportKind};
use devlife_drivers::Style;
use devlife_drivers::vimc::setup::{StreamSetup, configure};
use devlife_drivers::vimc::{self, VimcConfig, VimcHandle, VimcNodes};
use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, File, KResult, Kernel, MmapRequest, OpenFlags};
use std::time::Duration;

/// A generous bound for "this must happen": never reached unless the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A streamer period short enough for fast tests.
pub const FAST: Duration = Duration::from_millis(1);

/// A streamer period no test outlives: queues stay empty.
pub const NEVER: Duration = Duration::from_secs(24 * 3600);

/// A kernel with vimc registered and bound.
pub struct Rig {
    pub k: Kernel,
    pub v: VimcHandle,
}

impl Rig {
    pub fn new(style: Style, interval: Duration) -> Self {
        let k = Kernel::new();
        let v = vimc::register_with(&k, VimcConfig::new(style).frame_interval(interval)).unwrap();
        assert!(v.is_bound(), "vimc did not bind");
        Self { k, v }
    }

    pub fn nodes(&self) -> VimcNodes {
        self.v.nodes().expect("vimc is not bound")
    }

    pub fn path(&self, entity: &str) -> String {
        self.nodes().path(entity).unwrap().to_owned()
    }

    pub fn open(&self, entity: &str) -> File {
        self.k.open(&self.path(entity), OpenFlags::RDWR).unwrap()
    }

    pub fn open_media(&self) -> File {
        self.k.open(&self.nodes().media, OpenFlags::RDWR).unwrap()
    }

    /// Configures every capture to stream `w`x`h` SBGGR8 (RGB/YUV: RGB24).
    pub fn configure(&self, w: u32, h: u32) {
        configure(&self.k, &self.nodes(), &StreamSetup::small(w, h)).unwrap();
    }

    pub fn reports(&self) -> Vec<Report> {
        self.k.monitor().reports().all()
    }

    pub fn count(&self, kind: ReportKind) -> usize {
        self.k.monitor().reports().count(kind)
    }

    pub fn assert_silent(&self) {
        let r = self.reports();
        assert!(r.is_empty(), "checker reports: {}", fmt_reports(&r));
    }

    /// Shuts the kernel down, drops the handle and checks that nothing is
    /// left alive.
    pub fn finish(self) {
        let k = self.k.clone();
        drop(self);
        assert!(k.leaks().is_empty(), "leaks: {:?}", k.leaks());
    }
}

impl Drop for Rig {
    /// Also on a failed assertion: unbind everything before the kernel goes
    /// (dropping a kernel with a bound device frees IRQs from inside the
    /// kernel's own destructor).
    fn drop(&mut self) {
        self.k.shutdown();
    }
}

pub fn fmt_reports(r: &[Report]) -> String {
    r.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until `cond` holds (polling the model's state, bounded by [`PATIENCE`]).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::yield_now();
    }
}

/// Waits until `thread` is parked inside `op` (asserts it happens).
pub fn wait_blocked(k: &Kernel, thread: &str, op: &str) {
    assert!(
        k.wait_blocked(thread, op, PATIENCE),
        "{thread} never blocked in {op}"
    );
}

/// Whether `thread` is parked inside `op` right now.
pub fn is_blocked(k: &Kernel, thread: &str, op: &str) -> bool {
    k.activity()
        .blocked()
        .iter()
        .any(|b| b.thread == thread && b.op == op)
}

/// Spawns a named thread.
pub fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .unwrap()
}

// ----- ioctl helpers ------------------------------------------------------------

pub fn ioc<T: Wire>(f: &File, cmd: u32, v: &mut T) -> KResult<i64> {
    let mut b = v.to_vec();
    let r = f.ioctl(cmd, &mut b)?;
    *v = T::decode(&b);
    Ok(r)
}

pub fn querycap(f: &File) -> KResult<V4l2Capability> {
    let mut c = V4l2Capability::default();
    ioc(f, VIDIOC_QUERYCAP, &mut c)?;
    Ok(c)
}

pub fn reqbufs(f: &File, count: u32) -> KResult<V4l2Requestbuffers> {
    let mut r = V4l2Requestbuffers {
        count,
        type_: buf_type::VIDEO_CAPTURE,
        memory: memory::MMAP,
        ..Default::default()
    };
    ioc(f, VIDIOC_REQBUFS, &mut r)?;
    Ok(r)
}

pub fn buf(index: u32) -> V4l2Buffer {
    V4l2Buffer {
        index,
        type_: buf_type::VIDEO_CAPTURE,
        memory: memory::MMAP,
        ..Default::default()
    }
}

pub fn querybuf(f: &File, index: u32) -> KResult<V4l2Buffer> {
    let mut b = buf(index);
    ioc(f, VIDIOC_QUERYBUF, &mut b)?;
    Ok(b)
}

pub fn qbuf(f: &File, index: u32) -> KResult<V4l2Buffer> {
    let mut b = buf(index);
    ioc(f, VIDIOC_QBUF, &mut b)?;
    Ok(b)
}

pub fn dqbuf(f: &File) -> KResult<V4l2Buffer> {
    let mut b = buf(0);
    ioc(f, VIDIOC_DQBUF, &mut b)?;
    Ok(b)
}

pub fn streamon(f: &File) -> KResult<()> {
    let mut t = buf_type::VIDEO_CAPTURE;
    ioc(f, VIDIOC_STREAMON, &mut t).map(|_| ())
}

pub fn streamoff(f: &File) -> KResult<()> {
    let mut t = buf_type::VIDEO_CAPTURE;
    ioc(f, VIDIOC_STREAMOFF, &mut t).map(|_| ())
}

pub fn g_fmt(f: &File) -> KResult<V4l2PixFormat> {
    let mut v = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(f, VIDIOC_G_FMT, &mut v)?;
    Ok(v.pix())
}

pub fn s_fmt(f: &File, pix: &V4l2PixFormat) -> KResult<V4l2PixFormat> {
    let mut v = V4l2Format::from_pix(buf_type::VIDEO_CAPTURE, pix);
    ioc(f, VIDIOC_S_FMT, &mut v)?;
    Ok(v.pix())
}

/// REQBUFS(n), QBUF all, STREAMON. Returns the buffer count.
pub fn start_stream(f: &File, n: u32) -> KResult<u32> {
    let r = reqbufs(f, n)?;
    for i in 0..r.count {
        qbuf(f, i)?;
    }
    streamon(f)?;
    Ok(r.count)
}

pub fn subdev_g_fmt(f: &File, which: u32, pad: u32) -> KResult<V4l2MbusFramefmt> {
    let mut v = V4l2SubdevFormat {
        which,
        pad,
        ..Default::default()
    };
    ioc(f, VIDIOC_SUBDEV_G_FMT, &mut v)?;
    Ok(v.format)
}

pub fn subdev_s_fmt(
    f: &File,
    which: u32,
    pad: u32,
    fmt: V4l2MbusFramefmt,
) -> KResult<V4l2MbusFramefmt> {
    let mut v = V4l2SubdevFormat {
        which,
        pad,
        format: fmt,
        ..Default::default()
    };
    ioc(f, VIDIOC_SUBDEV_S_FMT, &mut v)?;
    Ok(v.format)
}

pub fn mbus(code: u32, w: u32, h: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code,
        width: w,
        height: h,
        ..Default::default()
    }
}

pub fn device_info(f: &File) -> KResult<MediaDeviceInfo> {
    let mut d = MediaDeviceInfo::ZERO;
    ioc(f, MEDIA_IOC_DEVICE_INFO, &mut d)?;
    Ok(d)
}

/// Maps buffer `i` of a capture (read/write).
pub fn map(f: &File, i: u32, len: usize) -> devlife_model::Mapping {
    f.mmap(MmapRequest {
        offset: u64::from(i) << devlife_media::v4l2::PLANE_INDEX_SHIFT,
        len,
        write: true,
    })
    .unwrap()
}

/// Bytes of a mapping.
pub fn read_map(m: &devlife_model::Mapping, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    m.read(0, &mut b).unwrap();
    b
}

/// The errno a call returns, for asserting on failures.
pub fn errno<T: std::fmt::Debug>(r: KResult<T>) -> Errno {
    r.expect_err("the call succeeded")
}
