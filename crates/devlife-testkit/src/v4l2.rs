//! V4L2, subdev and media ioctls on model files (`devlife_model::File`), each
//! with its typed argument encoded and decoded as the uapi lays it out.
//! Capture helpers use the single-planar capture queue with MMAP buffers.

use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::PLANE_INDEX_SHIFT;
use devlife_model::{Errno, File, KResult, Mapping, MmapRequest};

/// Issues `cmd` with `v` as the in/out argument (decoded back on success).
pub fn ioc<T: Wire>(f: &File, cmd: u32, v: &mut T) -> KResult<i64> {
    let mut b = v.to_vec();
    let r = f.ioctl(cmd, &mut b)?;
    *v = T::decode(&b);
    Ok(r)
}

/// The errno a call returned (panics, naming the call, if it succeeded).
pub fn errno<T: std::fmt::Debug>(r: KResult<T>) -> Errno {
    r.expect_err("the call succeeded")
}

/// `VIDIOC_QUERYCAP`.
pub fn querycap(f: &File) -> KResult<V4l2Capability> {
    let mut c = V4l2Capability::default();
    ioc(f, VIDIOC_QUERYCAP, &mut c)?;
    Ok(c)
}

/// `VIDIOC_ENUM_FMT` of the capture queue, entry `index`.
pub fn enum_fmt(f: &File, index: u32) -> KResult<V4l2Fmtdesc> {
    let mut d = V4l2Fmtdesc {
        index,
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(f, VIDIOC_ENUM_FMT, &mut d)?;
    Ok(d)
}

/// A capture format of `width`x`height` `fourcc`, the rest left to the
/// driver.
pub fn pix_format(width: u32, height: u32, fourcc: u32) -> V4l2PixFormat {
    V4l2PixFormat {
        width,
        height,
        pixelformat: fourcc,
        ..Default::default()
    }
}

/// `VIDIOC_G_FMT` of the capture queue.
pub fn g_fmt(f: &File) -> KResult<V4l2PixFormat> {
    let mut v = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(f, VIDIOC_G_FMT, &mut v)?;
    Ok(v.pix())
}

/// `VIDIOC_S_FMT` or `VIDIOC_TRY_FMT` (`cmd`) of `pix` on the capture queue:
/// the format the driver answered.
pub fn set_fmt(f: &File, cmd: u32, pix: &V4l2PixFormat) -> KResult<V4l2PixFormat> {
    let mut v = V4l2Format::from_pix(buf_type::VIDEO_CAPTURE, pix);
    ioc(f, cmd, &mut v)?;
    Ok(v.pix())
}

/// `VIDIOC_S_FMT` of `pix` on the capture queue.
pub fn s_fmt(f: &File, pix: &V4l2PixFormat) -> KResult<V4l2PixFormat> {
    set_fmt(f, VIDIOC_S_FMT, pix)
}

/// `VIDIOC_REQBUFS` of `count` MMAP capture buffers.
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

/// The `v4l2_buffer` argument naming MMAP capture buffer `index`.
pub fn buf(index: u32) -> V4l2Buffer {
    V4l2Buffer {
        index,
        type_: buf_type::VIDEO_CAPTURE,
        memory: memory::MMAP,
        ..Default::default()
    }
}

/// `VIDIOC_QUERYBUF` of buffer `index`.
pub fn querybuf(f: &File, index: u32) -> KResult<V4l2Buffer> {
    let mut b = buf(index);
    ioc(f, VIDIOC_QUERYBUF, &mut b)?;
    Ok(b)
}

/// `VIDIOC_QBUF` of buffer `index`.
pub fn qbuf(f: &File, index: u32) -> KResult<V4l2Buffer> {
    let mut b = buf(index);
    ioc(f, VIDIOC_QBUF, &mut b)?;
    Ok(b)
}

/// `VIDIOC_DQBUF`: the buffer the driver completed first.
pub fn dqbuf(f: &File) -> KResult<V4l2Buffer> {
    let mut b = buf(0);
    ioc(f, VIDIOC_DQBUF, &mut b)?;
    Ok(b)
}

/// `VIDIOC_STREAMON` of the capture queue.
pub fn streamon(f: &File) -> KResult<()> {
    let mut t = buf_type::VIDEO_CAPTURE;
    ioc(f, VIDIOC_STREAMON, &mut t).map(|_| ())
}

/// `VIDIOC_STREAMOFF` of the capture queue.
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

/// Maps `len` bytes of buffer `i` read/write (panics if the map fails).
pub fn map(f: &File, i: u32, len: usize) -> Mapping {
    f.mmap(MmapRequest {
        offset: u64::from(i) << PLANE_INDEX_SHIFT,
        len,
        write: true,
    })
    .expect("mmap of a capture buffer")
}

/// Maps all of buffer `i` read-only (its length from `VIDIOC_QUERYBUF`).
pub fn map_buffer(f: &File, i: u32) -> KResult<Mapping> {
    let b = querybuf(f, i)?;
    f.mmap(MmapRequest {
        offset: u64::from(i) << PLANE_INDEX_SHIFT,
        len: b.length as usize,
        write: false,
    })
}

/// The first `len` bytes of a mapping.
pub fn read_map(m: &Mapping, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    m.read(0, &mut b).expect("reading a mapping");
    b
}

/// A media-bus format of `w`x`h` `code`, the rest zero.
pub fn mbus(code: u32, w: u32, h: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code,
        width: w,
        height: h,
        ..Default::default()
    }
}

/// `VIDIOC_SUBDEV_G_FMT` or `_S_FMT` (`cmd`) of pad `pad` in the `which`
/// state: the whole answer.
pub fn subdev_fmt(
    f: &File,
    cmd: u32,
    which: u32,
    pad: u32,
    fmt: V4l2MbusFramefmt,
) -> KResult<V4l2SubdevFormat> {
    let mut v = V4l2SubdevFormat {
        which,
        pad,
        format: fmt,
        ..Default::default()
    };
    ioc(f, cmd, &mut v)?;
    Ok(v)
}

/// `VIDIOC_SUBDEV_G_FMT` of pad `pad` in the `which` state.
pub fn subdev_g_fmt(f: &File, which: u32, pad: u32) -> KResult<V4l2MbusFramefmt> {
    subdev_fmt(
        f,
        VIDIOC_SUBDEV_G_FMT,
        which,
        pad,
        V4l2MbusFramefmt::default(),
    )
    .map(|v| v.format)
}

/// `VIDIOC_SUBDEV_S_FMT` of `fmt` on pad `pad` in the `which` state: the
/// format the driver answered.
pub fn subdev_s_fmt(
    f: &File,
    which: u32,
    pad: u32,
    fmt: V4l2MbusFramefmt,
) -> KResult<V4l2MbusFramefmt> {
    subdev_fmt(f, VIDIOC_SUBDEV_S_FMT, which, pad, fmt).map(|v| v.format)
}

/// `MEDIA_IOC_DEVICE_INFO`.
pub fn media_info(f: &File) -> KResult<MediaDeviceInfo> {
    let mut i = MediaDeviceInfo::ZERO;
    ioc(f, MEDIA_IOC_DEVICE_INFO, &mut i)?;
    Ok(i)
}

/// `MEDIA_IOC_SETUP_LINK` between two pads named by (entity id, pad index).
pub fn setup_link(f: &File, src: (u32, u16), sink: (u32, u16), flags: u32) -> KResult<()> {
    let mut l = MediaLinkDesc::ZERO;
    l.source.entity = src.0;
    l.source.index = src.1;
    l.sink.entity = sink.0;
    l.sink.index = sink.1;
    l.flags = flags;
    ioc(f, MEDIA_IOC_SETUP_LINK, &mut l).map(|_| ())
}
