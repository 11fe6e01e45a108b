//! `linux/videodev2.h` (the subset devlife serves), x86_64 layouts.
//!
//! Every struct is a `#[repr(C)]` mirror defined with the crate's
//! `uapi_struct!` macro (see [`super::ioctl`]): its size, alignment and field
//! offsets are checked at compile time against `docs/uapi-sizes.txt`,
//! and its [`Wire`] codec writes every byte that is not a field (C padding)
//! as zero. C unions are byte arrays with typed accessors, so a reply can only
//! ever contain bytes that the caller sent or that we set.
//!
//! Ioctl numbers are computed from the struct sizes with the kernel's `_IOC`
//! encoding and asserted equal to the measured values. Video and subdev
//! numbers collide (same `nr`, different size), so commands are decoded per
//! node kind: [`decode_ioctl`], [`VIDEO_IOCTLS`] and
//! [`SUBDEV_IOCTLS`](super::subdev::SUBDEV_IOCTLS).
//!
//! ```
//! use devlife_media::uapi::ioctl::{put_str, NodeKind, Wire};
//! use devlife_media::uapi::videodev2::*;
//! assert_eq!(VIDIOC_QUERYCAP, 0x8068_5600);
//! let mut cap = V4l2Capability::default();
//! put_str(&mut cap.driver, "vimc");
//! let bytes = cap.to_vec();
//! assert_eq!(&bytes[..5], b"vimc\0");
//! assert_eq!(V4l2Capability::from_bytes(&bytes).unwrap(), cap);
//! assert_eq!(decode_ioctl(NodeKind::Subdev, 0xc058_5604).unwrap().name(), "VIDIOC_SUBDEV_G_FMT");
//! assert_eq!(decode_ioctl(NodeKind::Video, 0xc0d0_5604).unwrap().name(), "VIDIOC_G_FMT");
//! ```
#![forbid(unsafe_code)]

use super::ioctl::{Wire, uapi_struct};

mod ioctls;
pub use ioctls::*;

/// `_IOR('V', nr, size)`.
const fn ior(nr: u8, size: usize) -> u32 {
    super::ioctl::ior(b'V', nr, size)
}
/// `_IOW('V', nr, size)`.
const fn iow(nr: u8, size: usize) -> u32 {
    super::ioctl::iow(b'V', nr, size)
}
/// `_IOWR('V', nr, size)`.
const fn iowr(nr: u8, size: usize) -> u32 {
    super::ioctl::iowr(b'V', nr, size)
}

// ---------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------

/// `v4l2_fourcc(a, b, c, d)`.
pub const fn fourcc(a: u8, b: u8, c: u8, d: u8) -> u32 {
    (a as u32) | ((b as u32) << 8) | ((c as u32) << 16) | ((d as u32) << 24)
}

/// A fourcc as its four characters (non-printable bytes as `.`), e.g. `"RGB3"`.
pub fn fourcc_str(f: u32) -> String {
    f.to_le_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Enumerations and flags
// ---------------------------------------------------------------------------

/// `enum v4l2_buf_type`.
pub mod buf_type {
    /// `V4L2_BUF_TYPE_VIDEO_CAPTURE`.
    pub const VIDEO_CAPTURE: u32 = 1;
    /// `V4L2_BUF_TYPE_VIDEO_OUTPUT`.
    pub const VIDEO_OUTPUT: u32 = 2;
    /// `V4L2_BUF_TYPE_VIDEO_OVERLAY`.
    pub const VIDEO_OVERLAY: u32 = 3;
    /// `V4L2_BUF_TYPE_VBI_CAPTURE`.
    pub const VBI_CAPTURE: u32 = 4;
    /// `V4L2_BUF_TYPE_VBI_OUTPUT`.
    pub const VBI_OUTPUT: u32 = 5;
    /// `V4L2_BUF_TYPE_SLICED_VBI_CAPTURE`.
    pub const SLICED_VBI_CAPTURE: u32 = 6;
    /// `V4L2_BUF_TYPE_SLICED_VBI_OUTPUT`.
    pub const SLICED_VBI_OUTPUT: u32 = 7;
    /// `V4L2_BUF_TYPE_VIDEO_OUTPUT_OVERLAY`.
    pub const VIDEO_OUTPUT_OVERLAY: u32 = 8;
    /// `V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE`.
    pub const VIDEO_CAPTURE_MPLANE: u32 = 9;
    /// `V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE`.
    pub const VIDEO_OUTPUT_MPLANE: u32 = 10;
    /// `V4L2_BUF_TYPE_SDR_CAPTURE`.
    pub const SDR_CAPTURE: u32 = 11;
    /// `V4L2_BUF_TYPE_SDR_OUTPUT`.
    pub const SDR_OUTPUT: u32 = 12;
    /// `V4L2_BUF_TYPE_META_CAPTURE`.
    pub const META_CAPTURE: u32 = 13;
    /// `V4L2_BUF_TYPE_META_OUTPUT`.
    pub const META_OUTPUT: u32 = 14;
}

/// `enum v4l2_memory`.
pub mod memory {
    /// `V4L2_MEMORY_MMAP`.
    pub const MMAP: u32 = 1;
    /// `V4L2_MEMORY_USERPTR`.
    pub const USERPTR: u32 = 2;
    /// `V4L2_MEMORY_OVERLAY`.
    pub const OVERLAY: u32 = 3;
    /// `V4L2_MEMORY_DMABUF`.
    pub const DMABUF: u32 = 4;
}

/// `enum v4l2_field` (the values used here).
pub mod field {
    /// `V4L2_FIELD_ANY`: the driver chooses.
    pub const ANY: u32 = 0;
    /// `V4L2_FIELD_NONE`: progressive.
    pub const NONE: u32 = 1;
    /// `V4L2_FIELD_TOP`.
    pub const TOP: u32 = 2;
    /// `V4L2_FIELD_BOTTOM`.
    pub const BOTTOM: u32 = 3;
    /// `V4L2_FIELD_INTERLACED`.
    pub const INTERLACED: u32 = 4;
    /// `V4L2_FIELD_ALTERNATE`.
    pub const ALTERNATE: u32 = 7;
}

/// `enum v4l2_colorspace` (the values used here).
pub mod colorspace {
    /// `V4L2_COLORSPACE_DEFAULT`.
    pub const DEFAULT: u32 = 0;
    /// `V4L2_COLORSPACE_SMPTE170M`.
    pub const SMPTE170M: u32 = 1;
    /// `V4L2_COLORSPACE_REC709`.
    pub const REC709: u32 = 3;
    /// `V4L2_COLORSPACE_SRGB`.
    pub const SRGB: u32 = 8;
    /// `V4L2_COLORSPACE_RAW`.
    pub const RAW: u32 = 11;
}

/// `V4L2_CAP_*` device capabilities.
pub mod cap {
    /// `V4L2_CAP_VIDEO_CAPTURE`.
    pub const VIDEO_CAPTURE: u32 = 0x0000_0001;
    /// `V4L2_CAP_VIDEO_OUTPUT`.
    pub const VIDEO_OUTPUT: u32 = 0x0000_0002;
    /// `V4L2_CAP_VIDEO_CAPTURE_MPLANE`.
    pub const VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
    /// `V4L2_CAP_VIDEO_M2M_MPLANE`.
    pub const VIDEO_M2M_MPLANE: u32 = 0x0000_4000;
    /// `V4L2_CAP_VIDEO_M2M`.
    pub const VIDEO_M2M: u32 = 0x0000_8000;
    /// `V4L2_CAP_EXT_PIX_FORMAT`.
    pub const EXT_PIX_FORMAT: u32 = 0x0020_0000;
    /// `V4L2_CAP_META_CAPTURE`.
    pub const META_CAPTURE: u32 = 0x0080_0000;
    /// `V4L2_CAP_READWRITE`.
    pub const READWRITE: u32 = 0x0100_0000;
    /// `V4L2_CAP_EDID`.
    pub const EDID: u32 = 0x0200_0000;
    /// `V4L2_CAP_STREAMING`.
    pub const STREAMING: u32 = 0x0400_0000;
    /// `V4L2_CAP_META_OUTPUT`.
    pub const META_OUTPUT: u32 = 0x0800_0000;
    /// `V4L2_CAP_TOUCH`.
    pub const TOUCH: u32 = 0x1000_0000;
    /// `V4L2_CAP_IO_MC`: the video node is controlled through the media controller.
    pub const IO_MC: u32 = 0x2000_0000;
    /// `V4L2_CAP_DEVICE_CAPS`.
    pub const DEVICE_CAPS: u32 = 0x8000_0000;
}

/// `V4L2_BUF_FLAG_*`.
pub mod buf_flag {
    /// The buffer is mapped.
    pub const MAPPED: u32 = 0x0000_0001;
    /// The buffer is queued (owned by the driver's queue).
    pub const QUEUED: u32 = 0x0000_0002;
    /// The buffer is done and waits to be dequeued.
    pub const DONE: u32 = 0x0000_0004;
    /// Key frame.
    pub const KEYFRAME: u32 = 0x0000_0008;
    /// The buffer content is unusable (streaming error or unplug).
    pub const ERROR: u32 = 0x0000_0040;
    /// The `timecode` field is valid.
    pub const TIMECODE: u32 = 0x0000_0100;
    /// The buffer has been prepared.
    pub const PREPARED: u32 = 0x0000_0400;
    /// Mask of the timestamp type.
    pub const TIMESTAMP_MASK: u32 = 0x0000_e000;
    /// Unknown timestamp type.
    pub const TIMESTAMP_UNKNOWN: u32 = 0x0000_0000;
    /// `CLOCK_MONOTONIC` timestamps.
    pub const TIMESTAMP_MONOTONIC: u32 = 0x0000_2000;
    /// Timestamps copied from the output buffer.
    pub const TIMESTAMP_COPY: u32 = 0x0000_4000;
    /// Mask of the timestamp source.
    pub const TSTAMP_SRC_MASK: u32 = 0x0007_0000;
    /// Timestamp taken at end of frame.
    pub const TSTAMP_SRC_EOF: u32 = 0x0000_0000;
    /// Timestamp taken at start of exposure.
    pub const TSTAMP_SRC_SOE: u32 = 0x0001_0000;
    /// The last buffer of a stream.
    pub const LAST: u32 = 0x0010_0000;
    /// `request_fd` is valid.
    pub const REQUEST_FD: u32 = 0x0080_0000;
}

/// `V4L2_BUF_CAP_*` (returned in `v4l2_requestbuffers.capabilities`).
pub mod buf_cap {
    /// MMAP streaming supported.
    pub const SUPPORTS_MMAP: u32 = 0x0000_0001;
    /// USERPTR streaming supported.
    pub const SUPPORTS_USERPTR: u32 = 0x0000_0002;
    /// DMABUF streaming supported.
    pub const SUPPORTS_DMABUF: u32 = 0x0000_0004;
    /// Requests supported.
    pub const SUPPORTS_REQUESTS: u32 = 0x0000_0008;
    /// `REQBUFS(0)` may free buffers that are still mapped (they become orphans).
    pub const SUPPORTS_ORPHANED_BUFS: u32 = 0x0000_0010;
}

/// `V4L2_FMT_FLAG_*` (`v4l2_fmtdesc.flags`).
pub mod fmt_flag {
    /// Compressed format.
    pub const COMPRESSED: u32 = 0x0001;
    /// Emulated format.
    pub const EMULATED: u32 = 0x0002;
}

/// `V4L2_PIX_FMT_PRIV_MAGIC`: `v4l2_pix_format.priv` value meaning "the extended
/// fields are valid".
pub const V4L2_PIX_FMT_PRIV_MAGIC: u32 = 0xfeed_cafe;

/// Pixel formats (`V4L2_PIX_FMT_*`).
pub mod pix_fmt {
    use super::fourcc;
    /// 24-bit RGB 8-8-8, `RGB3`.
    pub const RGB24: u32 = fourcc(b'R', b'G', b'B', b'3');
    /// 24-bit BGR 8-8-8, `BGR3`.
    pub const BGR24: u32 = fourcc(b'B', b'G', b'R', b'3');
    /// 32-bit ARGB 8-8-8-8, `BA24`.
    pub const ARGB32: u32 = fourcc(b'B', b'A', b'2', b'4');
    /// 16-bit YUV 4:2:2 packed, `YUYV`.
    pub const YUYV: u32 = fourcc(b'Y', b'U', b'Y', b'V');
    /// 8-bit greyscale, `GREY`.
    pub const GREY: u32 = fourcc(b'G', b'R', b'E', b'Y');
    /// 8-bit Bayer BGGR, `BA81`.
    pub const SBGGR8: u32 = fourcc(b'B', b'A', b'8', b'1');
    /// 8-bit Bayer GBRG, `GBRG`.
    pub const SGBRG8: u32 = fourcc(b'G', b'B', b'R', b'G');
    /// 8-bit Bayer GRBG, `GRBG`.
    pub const SGRBG8: u32 = fourcc(b'G', b'R', b'B', b'G');
    /// 8-bit Bayer RGGB, `RGGB`.
    pub const SRGGB8: u32 = fourcc(b'R', b'G', b'G', b'B');
}

// ---------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------

uapi_struct! {
    /// `struct v4l2_capability` (104 bytes): `VIDIOC_QUERYCAP`.
    #[repr(C)]
    pub struct V4l2Capability: size 104, align 4 {
        /// Driver name (NUL terminated).
        @0 pub driver: [u8; 16],
        /// Card name.
        @16 pub card: [u8; 32],
        /// Bus location, e.g. `platform:vimc`.
        @48 pub bus_info: [u8; 32],
        /// `KERNEL_VERSION` of the driver.
        @80 pub version: u32,
        /// Capabilities of the physical device as a whole.
        @84 pub capabilities: u32,
        /// Capabilities of this node.
        @88 pub device_caps: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @92 pub reserved: [u32; 3],
    }
}

uapi_struct! {
    /// `struct v4l2_fmtdesc` (64 bytes): `VIDIOC_ENUM_FMT`.
    #[repr(C)]
    pub struct V4l2Fmtdesc: size 64, align 4 {
        /// Format number, set by the application.
        @0 pub index: u32,
        /// Buffer type, set by the application.
        @4 pub type_: u32,
        /// `V4L2_FMT_FLAG_*`.
        @8 pub flags: u32,
        /// Description (NUL terminated).
        @12 pub description: [u8; 32],
        /// The fourcc.
        @44 pub pixelformat: u32,
        /// Media bus code filter (only with `V4L2_CAP_IO_MC`).
        @48 pub mbus_code: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @52 pub reserved: [u32; 3],
    }
}

uapi_struct! {
    /// `struct v4l2_pix_format` (48 bytes): the single-planar image format.
    #[repr(C)]
    pub struct V4l2PixFormat: size 48, align 4 {
        /// Width in pixels.
        @0 pub width: u32,
        /// Height in pixels.
        @4 pub height: u32,
        /// The pixel format (`V4L2_PIX_FMT_*` fourcc).
        @8 pub pixelformat: u32,
        /// `enum v4l2_field`.
        @12 pub field: u32,
        /// Bytes per line (stride).
        @16 pub bytesperline: u32,
        /// Bytes per image.
        @20 pub sizeimage: u32,
        /// `enum v4l2_colorspace`.
        @24 pub colorspace: u32,
        /// [`V4L2_PIX_FMT_PRIV_MAGIC`] when the extended fields below are valid.
        @28 pub priv_: u32,
        /// `V4L2_PIX_FMT_FLAG_*`.
        @32 pub flags: u32,
        /// Union of `ycbcr_enc` and `hsv_enc`.
        @36 pub ycbcr_enc: u32,
        /// `enum v4l2_quantization`.
        @40 pub quantization: u32,
        /// `enum v4l2_xfer_func`.
        @44 pub xfer_func: u32,
    }
}

/// Size of the `fmt` union of [`V4l2Format`].
pub const V4L2_FORMAT_UNION_SIZE: usize = 200;

/// The `fmt` union of `struct v4l2_format`, as its raw bytes. It is 8-aligned
/// in C because `struct v4l2_window` holds pointers, which puts it at offset 8.
#[repr(C, align(8))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FormatUnion(pub [u8; V4L2_FORMAT_UNION_SIZE]);

impl Wire for FormatUnion {
    const SIZE: usize = V4L2_FORMAT_UNION_SIZE;
    const ZERO: Self = Self([0; V4L2_FORMAT_UNION_SIZE]);
    fn decode(b: &[u8]) -> Self {
        Self(<[u8; V4L2_FORMAT_UNION_SIZE]>::decode(b))
    }
    fn encode(&self, b: &mut [u8]) {
        self.0.encode(b);
    }
}

uapi_struct! {
    /// `struct v4l2_format` (208 bytes, 8-aligned): `VIDIOC_G/S/TRY_FMT`.
    ///
    /// The `fmt` union (pix, pix_mp, win, vbi, sliced, sdr, meta, raw_data) is
    /// kept as its 200 raw bytes; [`V4l2Format::pix`] / [`V4l2Format::set_pix`]
    /// view it as `struct v4l2_pix_format`.
    #[repr(C, align(8))]
    pub struct V4l2Format: size 208, align 8 {
        /// `enum v4l2_buf_type`.
        @0 pub type_: u32,
        /// The union, raw.
        @8 pub fmt: FormatUnion,
    }
}

impl V4l2Format {
    /// The union as `fmt.pix`.
    pub fn pix(&self) -> V4l2PixFormat {
        V4l2PixFormat::decode(&self.fmt.0)
    }

    /// Writes `fmt.pix` (the rest of the union is left as it is).
    pub fn set_pix(&mut self, pix: &V4l2PixFormat) {
        pix.encode(&mut self.fmt.0[..V4l2PixFormat::SIZE]);
    }

    /// A format of `type_` holding `pix`, everything else zero.
    pub fn from_pix(type_: u32, pix: &V4l2PixFormat) -> Self {
        let mut f = Self {
            type_,
            ..Self::default()
        };
        f.set_pix(pix);
        f
    }
}

uapi_struct! {
    /// `struct v4l2_requestbuffers` (20 bytes): `VIDIOC_REQBUFS`.
    #[repr(C)]
    pub struct V4l2Requestbuffers: size 20, align 4 {
        /// Buffers requested (in) / allocated (out).
        @0 pub count: u32,
        /// `enum v4l2_buf_type`.
        @4 pub type_: u32,
        /// `enum v4l2_memory`.
        @8 pub memory: u32,
        /// `V4L2_BUF_CAP_*` (out).
        @12 pub capabilities: u32,
        /// `V4L2_MEMORY_FLAG_*`.
        @16 pub flags: u8,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @17 pub reserved: [u8; 3],
    }
}

uapi_struct! {
    /// `struct timeval` on x86_64 (16 bytes).
    #[repr(C)]
    pub struct Timeval: size 16, align 8 {
        /// Whole seconds.
        @0 pub tv_sec: i64,
        /// Microseconds within the second.
        @8 pub tv_usec: i64,
    }
}

impl Timeval {
    /// From a duration since an epoch (here: the monotonic clock's origin).
    pub fn from_duration(d: std::time::Duration) -> Self {
        Self {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_usec: i64::from(d.subsec_micros()),
        }
    }
}

uapi_struct! {
    /// `struct v4l2_timecode` (16 bytes).
    #[repr(C)]
    pub struct V4l2Timecode: size 16, align 4 {
        /// `V4L2_TC_TYPE_*`.
        @0 pub type_: u32,
        /// `V4L2_TC_FLAG_*`.
        @4 pub flags: u32,
        /// Frame number within the second.
        @8 pub frames: u8,
        /// Whole seconds.
        @9 pub seconds: u8,
        /// Minutes of the timecode.
        @10 pub minutes: u8,
        /// Hours of the timecode.
        @11 pub hours: u8,
        /// User bits.
        @12 pub userbits: [u8; 4],
    }
}

uapi_struct! {
    /// `struct v4l2_buffer` (88 bytes, 8-aligned): `VIDIOC_QUERYBUF/QBUF/DQBUF`.
    ///
    /// The `m` union (`offset` | `userptr` | `planes` | `fd`) is kept as 8 raw
    /// bytes with accessors; every union member starts at byte 0 of it.
    #[repr(C)]
    pub struct V4l2Buffer: size 88, align 8 {
        /// Buffer index.
        @0 pub index: u32,
        /// `enum v4l2_buf_type`.
        @4 pub type_: u32,
        /// Bytes of payload.
        @8 pub bytesused: u32,
        /// `V4L2_BUF_FLAG_*`.
        @12 pub flags: u32,
        /// `enum v4l2_field`.
        @16 pub field: u32,
        /// Capture time.
        @24 pub timestamp: Timeval,
        /// Timecode of the frame (valid with `V4L2_BUF_FLAG_TIMECODE`).
        @40 pub timecode: V4l2Timecode,
        /// Frame sequence number.
        @56 pub sequence: u32,
        /// `enum v4l2_memory`.
        @60 pub memory: u32,
        /// The `m` union, raw.
        @64 pub m: [u8; 8],
        /// Buffer size in bytes (single-planar) or number of planes.
        @72 pub length: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @76 pub reserved2: u32,
        /// Union of `request_fd` (s32) and `reserved`.
        @80 pub request_fd: u32,
    }
}

impl V4l2Buffer {
    /// `m.offset` (MMAP): the mmap offset cookie of the buffer.
    pub fn m_offset(&self) -> u32 {
        u32::decode(&self.m)
    }
    /// Sets the `m` union to `offset` (the other bytes of the union are zeroed).
    pub fn set_m_offset(&mut self, offset: u32) {
        self.m = [0; 8];
        offset.encode(&mut self.m);
    }
    /// `m.userptr` / `m.planes` (USERPTR and MPLANE): a user address.
    pub fn m_userptr(&self) -> u64 {
        u64::decode(&self.m)
    }
    /// `m.fd` (DMABUF).
    pub fn m_fd(&self) -> i32 {
        i32::decode(&self.m)
    }
}

uapi_struct! {
    /// `struct v4l2_plane` (64 bytes, 8-aligned): multi-planar buffers (not
    /// served, mirrored for the ABI checks).
    #[repr(C, align(8))]
    pub struct V4l2Plane: size 64, align 8 {
        /// Bytes of payload.
        @0 pub bytesused: u32,
        /// Plane size.
        @4 pub length: u32,
        /// Union of `mem_offset`, `userptr`, `fd`, raw.
        @8 pub m: [u8; 8],
        /// Offset of the data in the plane.
        @16 pub data_offset: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @20 pub reserved: [u32; 11],
    }
}

uapi_struct! {
    /// `struct v4l2_rect` (16 bytes).
    #[repr(C)]
    pub struct V4l2Rect: size 16, align 4 {
        /// Left edge.
        @0 pub left: i32,
        /// Top edge.
        @4 pub top: i32,
        /// Rectangle width in pixels.
        @8 pub width: u32,
        /// Rectangle height in lines.
        @12 pub height: u32,
    }
}

uapi_struct! {
    /// `struct v4l2_selection` (64 bytes): `VIDIOC_G/S_SELECTION` on video
    /// nodes (not served, mirrored for the ABI checks).
    #[repr(C)]
    pub struct V4l2Selection: size 64, align 4 {
        /// Buffer type.
        @0 pub type_: u32,
        /// `V4L2_SEL_TGT_*`.
        @4 pub target: u32,
        /// `V4L2_SEL_FLAG_*`.
        @8 pub flags: u32,
        /// The rectangle.
        @12 pub r: V4l2Rect,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @28 pub reserved: [u32; 9],
    }
}

// ---------------------------------------------------------------------------
// ioctl numbers
// ---------------------------------------------------------------------------

pub use super::controls::{
    VIDIOC_DQEVENT, VIDIOC_G_CTRL, VIDIOC_G_EXT_CTRLS, VIDIOC_LOG_STATUS, VIDIOC_QUERY_EXT_CTRL,
    VIDIOC_QUERYCTRL, VIDIOC_QUERYMENU, VIDIOC_S_CTRL, VIDIOC_S_EXT_CTRLS, VIDIOC_SUBSCRIBE_EVENT,
    VIDIOC_TRY_EXT_CTRLS, VIDIOC_UNSUBSCRIBE_EVENT,
};
pub use super::io::{
    VIDIOC_CREATE_BUFS, VIDIOC_ENUM_FRAMESIZES, VIDIOC_ENUMINPUT, VIDIOC_EXPBUF, VIDIOC_G_INPUT,
    VIDIOC_S_INPUT,
};

/// `VIDIOC_QUERYCAP`.
pub const VIDIOC_QUERYCAP: u32 = ior(0, V4l2Capability::SIZE);
/// `VIDIOC_ENUM_FMT`.
pub const VIDIOC_ENUM_FMT: u32 = iowr(2, V4l2Fmtdesc::SIZE);
/// `VIDIOC_G_FMT`.
pub const VIDIOC_G_FMT: u32 = iowr(4, V4l2Format::SIZE);
/// `VIDIOC_S_FMT`.
pub const VIDIOC_S_FMT: u32 = iowr(5, V4l2Format::SIZE);
/// `VIDIOC_REQBUFS`.
pub const VIDIOC_REQBUFS: u32 = iowr(8, V4l2Requestbuffers::SIZE);
/// `VIDIOC_QUERYBUF`.
pub const VIDIOC_QUERYBUF: u32 = iowr(9, V4l2Buffer::SIZE);
/// `VIDIOC_QBUF`.
pub const VIDIOC_QBUF: u32 = iowr(15, V4l2Buffer::SIZE);
/// `VIDIOC_DQBUF`.
pub const VIDIOC_DQBUF: u32 = iowr(17, V4l2Buffer::SIZE);
/// `VIDIOC_STREAMON` (argument: `int` buffer type).
pub const VIDIOC_STREAMON: u32 = iow(18, 4);
/// `VIDIOC_STREAMOFF` (argument: `int` buffer type).
pub const VIDIOC_STREAMOFF: u32 = iow(19, 4);
/// `VIDIOC_G_PARM`.
pub const VIDIOC_G_PARM: u32 = 0xc0cc_5615;
/// `VIDIOC_S_PARM`.
pub const VIDIOC_S_PARM: u32 = 0xc0cc_5616;
/// `VIDIOC_TRY_FMT`.
pub const VIDIOC_TRY_FMT: u32 = iowr(64, V4l2Format::SIZE);
/// `VIDIOC_G_PRIORITY`.
pub const VIDIOC_G_PRIORITY: u32 = 0x8004_5643;
/// `VIDIOC_S_PRIORITY`.
pub const VIDIOC_S_PRIORITY: u32 = 0x4004_5644;
/// `VIDIOC_ENUM_FRAMEINTERVALS`.
pub const VIDIOC_ENUM_FRAMEINTERVALS: u32 = 0xc034_564b;
/// `VIDIOC_PREPARE_BUF`.
pub const VIDIOC_PREPARE_BUF: u32 = iowr(93, V4l2Buffer::SIZE);
/// `VIDIOC_G_SELECTION`.
pub const VIDIOC_G_SELECTION: u32 = iowr(94, V4l2Selection::SIZE);
/// `VIDIOC_S_SELECTION`.
pub const VIDIOC_S_SELECTION: u32 = iowr(95, V4l2Selection::SIZE);
/// `VIDIOC_REMOVE_BUFS`.
pub const VIDIOC_REMOVE_BUFS: u32 = 0xc040_5668;

// ---------------------------------------------------------------------------
// Compile-time ABI checks (docs/uapi-sizes.txt, x86_64)
// ---------------------------------------------------------------------------

/// Asserts that computed ioctl numbers equal the measured ones.
macro_rules! numbers {
    ($($c:ident = $v:expr),* $(,)?) => {
        const _: () = { $(assert!($c == $v);)* };
    };
}
pub(crate) use numbers;

numbers!(
    VIDIOC_QUERYCAP = 0x8068_5600,
    VIDIOC_ENUM_FMT = 0xc040_5602,
    VIDIOC_G_FMT = 0xc0d0_5604,
    VIDIOC_S_FMT = 0xc0d0_5605,
    VIDIOC_TRY_FMT = 0xc0d0_5640,
    VIDIOC_REQBUFS = 0xc014_5608,
    VIDIOC_QUERYBUF = 0xc058_5609,
    VIDIOC_QBUF = 0xc058_560f,
    VIDIOC_DQBUF = 0xc058_5611,
    VIDIOC_STREAMON = 0x4004_5612,
    VIDIOC_STREAMOFF = 0x4004_5613,
    VIDIOC_PREPARE_BUF = 0xc058_565d,
    VIDIOC_G_SELECTION = 0xc040_565e,
    VIDIOC_S_SELECTION = 0xc040_565f,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_land_at_their_offsets() {
        let mut b = V4l2Buffer {
            sequence: 0x1122_3344,
            ..Default::default()
        };
        b.set_m_offset(0x8000);
        b.timestamp.tv_sec = 7;
        let raw = b.to_vec();
        assert_eq!(raw.len(), 88);
        assert_eq!(&raw[56..60], &0x1122_3344u32.to_le_bytes());
        assert_eq!(&raw[64..68], &0x8000u32.to_le_bytes());
        assert_eq!(&raw[24..32], &7i64.to_le_bytes());
        assert_eq!(b.m_offset(), 0x8000);
        // Padding (20..24, 84..88) is written as zero.
        let mut wire = vec![0xaau8; 88];
        b.encode(&mut wire);
        assert_eq!(&wire[20..24], &[0; 4]);
        assert_eq!(&wire[84..88], &[0; 4]);
        let mut f = V4l2Format::default();
        f.set_pix(&V4l2PixFormat {
            width: 640,
            sizeimage: 921_600,
            ..Default::default()
        });
        let raw = f.to_vec();
        assert_eq!(raw.len(), 208);
        assert_eq!(&raw[8..12], &640u32.to_le_bytes());
        assert_eq!(&raw[28..32], &921_600u32.to_le_bytes());
        assert_eq!(f.pix().sizeimage, 921_600);
        assert_eq!(V4l2Format::from_bytes(&raw), Some(f));
    }

    #[test]
    fn fourcc_helpers() {
        assert_eq!(fourcc_str(pix_fmt::RGB24), "RGB3");
        assert_eq!(pix_fmt::RGB24, 0x3342_4752);
        assert_eq!(pix_fmt::BGR24, 0x3352_4742);
        assert_eq!(pix_fmt::SRGGB8, 0x4247_4752);
    }
}
