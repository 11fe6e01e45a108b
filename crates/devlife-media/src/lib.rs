//! # devlife-media: Media Controller and V4L2 with refcounted lifetimes
//!
//! * [`uapi`]: `#[repr(C)]` mirrors of the Linux media ABI and ioctl numbers;
//! * [`mc`]: media device, devnode, graph objects, the Media Device Allocator,
//!   `MEDIA_IOC_*`, and `media-ctl` compatible rendering;
//! * [`v4l2`]: v4l2 device, video device, subdev, file handles, buffer queue, `VIDIOC_*`;
//! * [`kinds`]: the names the monitor's ledger counts these objects under;
//! * [`legacy`]: the pre-fix kernel's media API as an extension for the
//!   drivers' legacy twins (entry-check nodes, owner-freed media devices).

#![forbid(unsafe_code)]

pub mod kinds;
pub mod legacy;
pub mod mc;
pub mod uapi;
pub mod v4l2;
