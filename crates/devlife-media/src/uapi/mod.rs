//! `#[repr(C)]` mirrors of the Linux media uapi (x86_64 layouts) and ioctl numbers.
//!
//! * [`ioctl`]: `_IOC` encoding, user memory, the kernel's ioctl argument
//!   discipline, per-node ioctl tables and the byte codec shared by all mirrors;
//! * [`media`]: `linux/media.h` (Media Controller);
//! * [`videodev2`], [`controls`], [`io`]: `linux/videodev2.h` (formats and
//!   buffers; controls and events; inputs, frame sizes, buffer creation);
//! * [`subdev`]: the subdev header, `linux/v4l2-subdev.h`.
//!
//! One module per uapi header (`videodev2.h` is split in three); this file
//! only lists them.

pub mod controls;
pub mod io;
pub mod ioctl;
pub mod media;
pub mod subdev;
pub mod videodev2;
