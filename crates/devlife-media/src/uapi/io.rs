//! Inputs, frame sizes and buffer creation/export of `linux/videodev2.h`
//! (x86_64 layouts): `v4l2_input`, `v4l2_frmsizeenum`,
//! `v4l2_create_buffers`, `v4l2_exportbuffer`.
//!
//! ```
//! use devlife_media::uapi::io::*;
//! use devlife_media::uapi::ioctl::Wire;
//! assert_eq!(VIDIOC_CREATE_BUFS, 0xc100_565c);
//! let mut f = V4l2Frmsizeenum::default();
//! f.set_stepwise(Stepwise { min_width: 16, max_width: 4096, step_width: 1,
//!                           min_height: 16, max_height: 2160, step_height: 1 });
//! assert_eq!(f.stepwise().max_height, 2160);
//! assert_eq!(f.to_vec().len(), 44);
//! ```
#![forbid(unsafe_code)]

use super::ioctl::{Wire, uapi_struct};
use super::videodev2::V4l2Format;

/// `_IOR('V', nr, size)`.
const fn ior(nr: u8, size: usize) -> u32 {
    super::ioctl::ior(b'V', nr, size)
}
/// `_IOWR('V', nr, size)`.
const fn iowr(nr: u8, size: usize) -> u32 {
    super::ioctl::iowr(b'V', nr, size)
}

/// `V4L2_INPUT_TYPE_CAMERA`.
pub const V4L2_INPUT_TYPE_CAMERA: u32 = 2;

/// `enum v4l2_frmsizetypes`.
pub mod frmsize_type {
    /// `V4L2_FRMSIZE_TYPE_DISCRETE`.
    pub const DISCRETE: u32 = 1;
    /// `V4L2_FRMSIZE_TYPE_CONTINUOUS`.
    pub const CONTINUOUS: u32 = 2;
    /// `V4L2_FRMSIZE_TYPE_STEPWISE`.
    pub const STEPWISE: u32 = 3;
}

uapi_struct! {
    /// `struct v4l2_input` (80 bytes).
    #[repr(C)]
    pub struct V4l2Input: size 80, align 8 {
        /// Input index.
        @0 pub index: u32,
        /// Name, NUL-terminated.
        @4 pub name: [u8; 32],
        /// `V4L2_INPUT_TYPE_*`.
        @36 pub type_: u32,
        /// Associated audio inputs (bit mask).
        @40 pub audioset: u32,
        /// Tuner index.
        @44 pub tuner: u32,
        /// Supported analog standards.
        @48 pub std: u64,
        /// `V4L2_IN_ST_*`.
        @56 pub status: u32,
        /// `V4L2_IN_CAP_*`.
        @60 pub capabilities: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @64 pub reserved: [u32; 3],
    }
}

/// The `stepwise` member of `v4l2_frmsizeenum` (`struct v4l2_frmsize_stepwise`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stepwise {
    /// Minimum width.
    pub min_width: u32,
    /// Maximum width.
    pub max_width: u32,
    /// Width step.
    pub step_width: u32,
    /// Minimum height.
    pub min_height: u32,
    /// Maximum height.
    pub max_height: u32,
    /// Height step.
    pub step_height: u32,
}

uapi_struct! {
    /// `struct v4l2_frmsizeenum` (44 bytes). `u` is the union of `discrete`
    /// (width, height) and `stepwise` ([`Stepwise`]).
    #[repr(C)]
    pub struct V4l2Frmsizeenum: size 44, align 4 {
        /// Enumeration index.
        @0 pub index: u32,
        /// Pixel format.
        @4 pub pixel_format: u32,
        /// `V4L2_FRMSIZE_TYPE_*`.
        @8 pub type_: u32,
        /// The union.
        @12 pub u: [u32; 6],
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @36 pub reserved: [u32; 2],
    }
}

impl V4l2Frmsizeenum {
    /// The `stepwise` member.
    pub fn stepwise(&self) -> Stepwise {
        let u = self.u;
        Stepwise {
            min_width: u[0],
            max_width: u[1],
            step_width: u[2],
            min_height: u[3],
            max_height: u[4],
            step_height: u[5],
        }
    }
    /// Stores `stepwise` in the union.
    pub fn set_stepwise(&mut self, s: Stepwise) {
        self.u = [
            s.min_width,
            s.max_width,
            s.step_width,
            s.min_height,
            s.max_height,
            s.step_height,
        ];
    }
}

uapi_struct! {
    /// `struct v4l2_create_buffers` (256 bytes).
    #[repr(C)]
    pub struct V4l2CreateBuffers: size 256, align 8 {
        /// First index of the created buffers (output).
        @0 pub index: u32,
        /// Buffers wanted (input) / created (output).
        @4 pub count: u32,
        /// `V4L2_MEMORY_*`.
        @8 pub memory: u32,
        /// The format the buffers must hold.
        @16 pub format: V4l2Format,
        /// `V4L2_BUF_CAP_*` (output).
        @224 pub capabilities: u32,
        /// `V4L2_MEMORY_FLAG_*`.
        @228 pub flags: u32,
        /// Most buffers the queue can hold (output).
        @232 pub max_num_buffers: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @236 pub reserved: [u32; 5],
    }
}

uapi_struct! {
    /// `struct v4l2_exportbuffer` (64 bytes).
    #[repr(C)]
    pub struct V4l2Exportbuffer: size 64, align 4 {
        /// Buffer type.
        @0 pub type_: u32,
        /// Buffer index.
        @4 pub index: u32,
        /// Index of the plane to export (0 for single-planar buffers).
        @8 pub plane: u32,
        /// `O_CLOEXEC` and access flags.
        @12 pub flags: u32,
        /// The dma-buf fd (output).
        @16 pub fd: i32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @20 pub reserved: [u32; 11],
    }
}

/// `VIDIOC_EXPBUF`.
pub const VIDIOC_EXPBUF: u32 = iowr(16, V4l2Exportbuffer::SIZE);
/// `VIDIOC_ENUMINPUT`.
pub const VIDIOC_ENUMINPUT: u32 = iowr(26, V4l2Input::SIZE);
/// `VIDIOC_G_INPUT`.
pub const VIDIOC_G_INPUT: u32 = ior(38, 4);
/// `VIDIOC_S_INPUT`.
pub const VIDIOC_S_INPUT: u32 = iowr(39, 4);
/// `VIDIOC_ENUM_FRAMESIZES`.
pub const VIDIOC_ENUM_FRAMESIZES: u32 = iowr(74, V4l2Frmsizeenum::SIZE);
/// `VIDIOC_CREATE_BUFS`.
pub const VIDIOC_CREATE_BUFS: u32 = iowr(92, V4l2CreateBuffers::SIZE);

super::videodev2::numbers!(
    VIDIOC_EXPBUF = 0xc040_5610,
    VIDIOC_ENUMINPUT = 0xc050_561a,
    VIDIOC_G_INPUT = 0x8004_5626,
    VIDIOC_S_INPUT = 0xc004_5627,
    VIDIOC_ENUM_FRAMESIZES = 0xc02c_564a,
    VIDIOC_CREATE_BUFS = 0xc100_565c,
);
