//! The kind names the monitor's ledger counts the media layer's objects
//! under (`devlife::check::Ledger`): one place for each name, used by the
//! constructors that count the objects and by whoever asks how many were
//! created, are alive or were released.
//!
//! ```
//! use devlife::Monitor;
//! use devlife_media::kinds;
//! use devlife_media::v4l2::V4l2Device;
//! let m = Monitor::new();
//! let v4l2 = V4l2Device::new(&m, "vimc", || {});
//! assert_eq!(m.ledger().released(kinds::V4L2_DEVICE), 0);
//! drop(v4l2);
//! assert_eq!(m.ledger().released(kinds::V4L2_DEVICE), 1);
//! ```

/// A media device (`struct media_device`), counted until its last reference.
pub const MEDIA_DEVICE: &str = "media_device";
/// A media entity (`struct media_entity`).
pub const MEDIA_ENTITY: &str = "media_entity";
/// A media interface (`struct media_interface`).
pub const MEDIA_INTERFACE: &str = "media_interface";
/// A v4l2 device (`struct v4l2_device`), counted until its release callback
/// ran.
pub const V4L2_DEVICE: &str = "v4l2_device";
/// A video device (`struct video_device`), counted until `VideoOps::release`
/// ran.
pub const VIDEO_DEVICE: &str = "video_device";
/// A subdev with its devnode (`struct v4l2_subdev`), counted until
/// `SubdevOps::release` ran.
pub const V4L2_SUBDEV: &str = "v4l2_subdev";
/// A buffer's memory, shared by the queue, mappings and the driver.
pub const VB2_BUFFER_MEM: &str = "vb2_buffer_mem";
