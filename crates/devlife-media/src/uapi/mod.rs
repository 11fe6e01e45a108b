//! `#[repr(C)]` mirrors of the Linux media uapi (x86_64 layouts) and ioctl numbers.
//!
//! * [`ioctl`]: `_IOC` encoding, user memory, the kernel's ioctl argument
//!   discipline, per-node ioctl tables and the byte codec shared by all mirrors;
//! * [`media`]: `linux/media.h` (Media Controller).
//!
//! One module per uapi header; this file only lists them.

pub mod ioctl;
pub mod media;
pub mod subdev;
pub mod videodev2;
