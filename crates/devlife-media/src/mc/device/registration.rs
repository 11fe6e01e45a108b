//! The registration state of a media device, its node, and the pre-fix
//! owner's free.

use super::{Lifetime, MediaDevice};
use devlife_model::{Errno, KResult, Node, NodeRegistration};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Initialised, never registered.
pub(super) const ALLOCATED: u8 = 0;
/// The media node is registered: new opens and ioctls may proceed.
pub(super) const REGISTERED: u8 = 1;
/// Unregistered (for good: registration is once only).
pub(super) const UNREGISTERED: u8 = 2;

/// Lifecycle of a media device (Shuah Khan's five states, docs/proposals.md#allocator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaDeviceState {
    /// Allocated and initialised, never registered.
    Allocated,
    /// Registered (possibly shared by several drivers).
    Registered,
    /// Unregistered; no file of its node is open (memory still referenced,
    /// e.g. by an entity or a driver handle).
    UnregisteredNotInUse,
    /// Unregistered while a file of its node is still open.
    UnregisteredInUse,
    /// Released: the last reference is gone.
    Released,
}

impl MediaDevice {
    /// Whether the media device is registered.
    #[track_caller]
    pub fn is_registered(&self) -> bool {
        self.core().reg.load(Ordering::Acquire) == REGISTERED
    }

    /// The lifecycle state (docs/proposals.md#allocator).
    pub fn state(&self) -> MediaDeviceState {
        // An observation, not a dereference: an owner-freed media device is
        // reported as Released without a use-after-free report.
        if self.0.core.is_freed() {
            return MediaDeviceState::Released;
        }
        match self.0.core.get().reg.load(Ordering::Acquire) {
            ALLOCATED => MediaDeviceState::Allocated,
            REGISTERED => MediaDeviceState::Registered,
            _ if self.open_files() > 0 => MediaDeviceState::UnregisteredInUse,
            _ => MediaDeviceState::UnregisteredNotInUse,
        }
    }

    /// Open files of the media node right now.
    pub fn open_files(&self) -> usize {
        self.0.open_files.load(Ordering::Acquire)
    }

    /// Moves Allocated → Registered. `EBUSY` if it was registered before
    /// (registration is once only), `ENODEV` after unregistration.
    #[track_caller]
    pub(crate) fn mark_registered(&self) -> KResult<()> {
        match self.core().reg.compare_exchange(
            ALLOCATED,
            REGISTERED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(REGISTERED) => Err(Errno::EBUSY),
            Err(_) => Err(Errno::ENODEV),
        }
    }

    /// Moves Registered → Unregistered; returns whether this call did it.
    #[track_caller]
    pub(crate) fn mark_unregistered(&self) -> bool {
        self.core()
            .reg
            .compare_exchange(
                REGISTERED,
                UNREGISTERED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Registers without a device node (tests and in-process users): the
    /// state becomes Registered. See `register` in `devnode` for the node.
    #[track_caller]
    pub fn register_headless(&self) -> KResult<()> {
        self.mark_registered()
    }

    pub(crate) fn set_node(
        &self,
        reg: NodeRegistration,
        entry_check_ops: Option<Arc<dyn Any + Send + Sync>>,
    ) {
        *self.0.node_strong.lock() = reg.node();
        *self.0.node.lock() = Some(reg);
        *self.0.entry_check_ops.lock() = entry_check_ops;
    }

    pub(crate) fn take_node(&self) -> Option<NodeRegistration> {
        self.0.node.lock().take()
    }

    pub(crate) fn take_entry_check_ops(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.0.entry_check_ops.lock().take()
    }

    /// Registered → Allocated (a failed registration).
    #[track_caller]
    pub(crate) fn mark_allocated(&self) {
        let _ = self.core().reg.compare_exchange(
            REGISTERED,
            ALLOCATED,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// The media node (kept until the media device is released).
    pub fn node(&self) -> Option<Node> {
        self.0.node_strong.lock().clone()
    }

    /// The graph part of `media_device_unregister`: every graph object is
    /// removed (entities and interfaces keep their memory and their media
    /// device reference) and the entity-notify hooks are dropped.
    #[track_caller]
    pub(crate) fn clear_graph(&self) {
        let mut g = self.graph();
        let ids: Vec<u32> = g.entities.iter().map(|e| e.id).collect();
        for id in ids {
            g.remove_entity(id);
        }
        g.g.notify.clear();
        let intfs: Vec<u32> = g.interfaces.iter().map(|i| i.id).collect();
        for id in intfs {
            g.remove_interface(id);
        }
    }

    /// Owner-freed style only: the owner frees the media device now (`kfree`
    /// of the driver struct embedding it, or of the allocator instance).
    /// Every later access through any remaining handle is reported as a
    /// use-after-free. Does nothing to a refcounted media device (memory is
    /// released with the last reference; returns `false`). Drivers reach it
    /// through `crate::legacy::OwnerFreedMedia::legacy_free`.
    #[track_caller]
    pub(crate) fn owner_free(&self) -> bool {
        if self.0.lifetime != Lifetime::OwnerFreed {
            return false;
        }
        self.0.core.free();
        true
    }

    /// Whether the owner freed it (only an owner-freed media device can be).
    pub fn is_freed(&self) -> bool {
        self.0.core.is_freed()
    }

    /// Checks the media device memory like a dereference would (reports a
    /// use-after-free if it was freed). Returns `false` if it was.
    #[track_caller]
    pub fn touch(&self, what: &str) -> bool {
        self.0.core.check(what)
    }
}
