//! The pre-fix media API, for the drivers' legacy twins: an extension of
//! the framework's [`VideoDevice`](crate::v4l2::VideoDevice),
//! [`Subdev`](crate::v4l2::Subdev), [`MediaDevice`](crate::mc::MediaDevice)
//! and [`MediaDeviceAllocator`](crate::mc::MediaDeviceAllocator) that a
//! framework driver never imports. The framework types carry no style flag:
//! each object gets its rules from the constructor that made it, and only
//! the constructors here make the pre-fix ones.
//!
//! * [`EntryCheckedVideo`]: a video device whose node checks its
//!   `registered` flag at call entry only (unregistering neither waits for
//!   nor wakes its calls), whose unregistration stops nothing, and whose
//!   file release stops the stream through the driver whatever the state;
//!   optionally embedded in a driver allocation the driver frees.
//! * [`EntryCheckedSubdev`]: a subdev whose node checks at entry only.
//! * [`OwnerFreedMedia`]: a media device its owner frees
//!   ([`OwnerFreedMedia::legacy_free`]) whatever still reaches it, with an
//!   entry-check node holding a plain pointer to it.
//! * [`FreeingAllocator`]: an allocator whose last `media_device_delete`
//!   frees the shared media device.
//!
//! Every late use these allow is what the checkers report.
//!
//! ```
//! use devlife::Monitor;
//! use devlife_media::legacy::OwnerFreedMedia;
//! use devlife_media::mc::{DeviceInfo, MediaDevice};
//! let m = Monitor::new();
//! let mdev = MediaDevice::new_owner_freed(&m, DeviceInfo::default());
//! let late = mdev.clone();
//! assert!(mdev.legacy_free()); // the driver's kfree, whoever still holds it
//! assert!(!late.touch("late read")); // reported as a use-after-free
//! assert_eq!(m.reports().all().len(), 1);
//! ```

mod media;
mod v4l2;

pub use media::{FreeingAllocator, OwnerFreedMedia};
pub use v4l2::{EntryCheckedSubdev, EntryCheckedVideo};
