//! The pre-fix media device and allocator: freed by their owner.

use crate::mc::device::Lifetime;
use crate::mc::{DeviceInfo, MediaDevice, MediaDeviceAllocator};
use devlife::Monitor;

/// The pre-fix media device (mainline): owner-freed, with an entry-check
/// node that keeps a plain pointer to it (races R1, R2, R5).
pub trait OwnerFreedMedia: Sized {
    /// `kzalloc` + `media_device_init` of a media device embedded in its
    /// driver's structure: its node is an entry-check node whose operations
    /// reach it through `devnode->media_dev`, and its memory goes when the
    /// owner calls [`legacy_free`](Self::legacy_free), whatever still holds
    /// it. Unregistering removes the graph objects before the node and does
    /// not wait for calls in flight.
    fn new_owner_freed(monitor: &Monitor, info: DeviceInfo) -> Self;

    /// The owner's `kfree` (of the driver structure embedding the media
    /// device). Every later access through a remaining handle is reported as
    /// a use-after-free. Returns `false`, and does nothing, for a refcounted
    /// media device (its memory goes with its last reference).
    #[track_caller]
    fn legacy_free(&self) -> bool;
}

impl OwnerFreedMedia for MediaDevice {
    fn new_owner_freed(monitor: &Monitor, info: DeviceInfo) -> Self {
        MediaDevice::with_lifetime(monitor, info, Lifetime::OwnerFreed)
    }

    #[track_caller]
    fn legacy_free(&self) -> bool {
        self.owner_free()
    }
}

/// The 2019 Media Device Allocator (race R6).
pub trait FreeingAllocator: Sized {
    /// An empty allocator whose media devices are owner-freed
    /// ([`OwnerFreedMedia`]): the last `media_device_delete` unregisters
    /// and frees the shared media device under the allocator lock, whatever
    /// still uses it.
    fn new_freeing(monitor: &Monitor) -> Self;
}

impl FreeingAllocator for MediaDeviceAllocator {
    fn new_freeing(monitor: &Monitor) -> Self {
        MediaDeviceAllocator::with_lifetime(monitor, Lifetime::OwnerFreed)
    }
}
