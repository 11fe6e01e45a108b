//! Client-side helpers shared by the usb-av and isp tests: V4L2, subdev and
//! media ioctls on model files, thread ordering, and checker queries.
#![allow(dead_code)] // each test binary uses a different part

use devlife::check::{Report, ReportKind};
use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::PLANE_INDEX_SHIFT;
use devlife_model::{File, KResult, Kernel, Mapping, MmapRequest};
use std::time::Duration;

/// A bound for "this must happen": never reached unless the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Issues `cmd` with `v` as the in/out argument (decoded back on success).
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

pub fn enum_fmt(f: &File, index: u32) -> KResult<V4l2Fmtdesc> {
    let mut d = V4l2Fmtdesc {
        index,
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(f, VIDIOC_ENUM_FMT, &mut d)?;
    Ok(d)
}

pub fn g_fmt(f: &File) -> KResult<V4l2PixFormat> {
    let mut v = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(f, VIDIOC_G_FMT, &mut v)?;
    Ok(v.pix())
}

/// `S_FMT` (or `TRY_FMT` with `cmd`) of `width`x`height` `pixelformat`.
pub fn set_fmt(f: &File, cmd: u32, width: u32, height: u32, fourcc: u32) -> KResult<V4l2PixFormat> {
    let pix = V4l2PixFormat {
        width,
        height,
        pixelformat: fourcc,
        ..Default::default()
    };
    let mut v = V4l2Format::from_pix(buf_type::VIDEO_CAPTURE, &pix);
    ioc(f, cmd, &mut v)?;
    Ok(v.pix())
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

/// REQBUFS(n), QBUF all, STREAMON. Returns the buffer count.
pub fn start_stream(f: &File, n: u32) -> KResult<u32> {
    let r = reqbufs(f, n)?;
    for i in 0..r.count {
        qbuf(f, i)?;
    }
    streamon(f)?;
    Ok(r.count)
}

/// Maps buffer `i` (whole length).
pub fn map(f: &File, i: u32) -> KResult<Mapping> {
    let b = querybuf(f, i)?;
    f.mmap(MmapRequest {
        offset: u64::from(i) << PLANE_INDEX_SHIFT,
        len: b.length as usize,
        write: false,
    })
}

pub fn subdev_fmt(
    f: &File,
    cmd: u32,
    pad: u32,
    fmt: V4l2MbusFramefmt,
) -> KResult<V4l2MbusFramefmt> {
    let mut v = V4l2SubdevFormat {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        pad,
        format: fmt,
        ..Default::default()
    };
    ioc(f, cmd, &mut v)?;
    Ok(v.format)
}

pub fn subdev_g_fmt(f: &File, pad: u32) -> KResult<V4l2MbusFramefmt> {
    subdev_fmt(f, VIDIOC_SUBDEV_G_FMT, pad, V4l2MbusFramefmt::default())
}

pub fn media_info(f: &File) -> KResult<MediaDeviceInfo> {
    let mut i = MediaDeviceInfo::ZERO;
    ioc(f, MEDIA_IOC_DEVICE_INFO, &mut i)?;
    Ok(i)
}

/// `MEDIA_IOC_SETUP_LINK` between two pads named by entity id and index.
pub fn setup_link(f: &File, src: (u32, u16), sink: (u32, u16), flags: u32) -> KResult<()> {
    let mut l = MediaLinkDesc::ZERO;
    l.source.entity = src.0;
    l.source.index = src.1;
    l.sink.entity = sink.0;
    l.sink.index = sink.1;
    l.flags = flags;
    ioc(f, MEDIA_IOC_SETUP_LINK, &mut l).map(|_| ())
}

/// Waits until `thread` is parked inside `op` (asserts it happens).
pub fn wait_blocked(k: &Kernel, thread: &str, op: &str) {
    assert!(
        k.wait_blocked(thread, op, PATIENCE),
        "{thread} never blocked in {op}; blocked: {:?}",
        k.activity().blocked()
    );
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

/// Every checker report so far.
pub fn reports(k: &Kernel) -> Vec<Report> {
    k.monitor().reports().all()
}

/// Asserts that no checker fired.
pub fn no_reports(k: &Kernel) {
    let r = reports(k);
    assert!(r.is_empty(), "checker reports: {r:#?}");
}

/// Reports of `kind` whose object name contains `object`.
pub fn reports_on(k: &Kernel, kind: ReportKind, object: &str) -> usize {
    reports(k)
        .iter()
        .filter(|r| r.kind == kind && r.object_name.contains(object))
        // Repeats of a report at the same site are counted, not kept.
        .map(|r| usize::try_from(r.occurrences()).unwrap_or(usize::MAX))
        .sum()
}

/// Asserts that every object was released.
pub fn no_leaks(k: &Kernel) {
    let l = k.leaks();
    assert!(l.is_empty(), "live objects: {l:?}");
}
