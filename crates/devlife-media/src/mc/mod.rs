//! Media Controller: media device, devnode, graph objects, the Media Device
//! Allocator, `MEDIA_IOC_*`, and `media-ctl` compatible rendering.
//!
//! * [`MediaDevice`] ([`device`]): refcounted, with a driver release callback;
//!   its node ([`devnode`]) shares its lifetime; the graph lock protects the
//!   [`Graph`] ([`graph`]), whose enumeration functions are the ioctls.
//! * [`Entity`] and [`Interface`] ([`entity`]): refcounted graph objects; a
//!   registered entity holds its media device (dropped last); the graph holds
//!   them weakly and walks take try-get references. Links are graph records.
//! * [`Pipeline`] ([`pipeline`]): start/stop with link validation.
//! * [`MediaDeviceAllocator`] ([`allocator`]): one media device per parent
//!   device shared by several drivers (docs/proposals.md#allocator).
//! * [`media_ioctl`] ([`ioctl`]): the ioctl handler, usable without a node.
//! * [`render`]: `media-ctl -p` and `media-ctl --print-dot`.
//! * [`preempt`]: named preemption points for deterministic race tests.
//!
//! Everything here follows the framework's lifetime rules. The mainline
//! kernel's, whose races the checkers catch, are reached only through the
//! extension in [`crate::legacy`].

pub mod allocator;
pub mod device;
pub mod devnode;
pub mod entity;
pub mod graph;
pub mod ioctl;
pub mod pipeline;
pub mod preempt;
pub mod render;

pub use allocator::{InstanceInfo, MediaDeviceAllocator, ParentInfo};
pub use device::{
    DeviceInfo, EntityNotifyFn, GraphGuard, HookToken, LinkNotify, MediaDevice, MediaDeviceOps,
    MediaDeviceState, SourceHooks, WeakMediaDevice,
};
pub use devnode::{MediaFile, RegisterOptions};
pub use entity::{
    Entity, EntityDesc, EntityOps, EntityType, Interface, NoOps, Pad, PadFormat, PadInfo, Rect,
    WeakEntity, WeakInterface,
};
pub use graph::{EntityRecord, Graph, LinkEnds, LinkInfo, PadKey};
pub use ioctl::media_ioctl;
pub use pipeline::Pipeline;

/// `ENOLINK` (67): a `MUST_CONNECT` pad without an enabled link.
pub const ENOLINK: devlife_model::Errno = devlife_model::Errno::from_raw(67);
