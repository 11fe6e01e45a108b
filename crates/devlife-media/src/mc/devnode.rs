//! The media device node (`/dev/mediaN`) on the model's character devices.
//!
//! # Framework style
//!
//! The node's operations reach the media device **weakly**; `open` takes a
//! try-get reference and keeps it in the file, so an open file keeps the
//! whole media device valid (R1, R2 fixed). Every operation runs inside the
//! node's gate: after unregistration new calls fail with the media errno
//! policy (`ENXIO` on open, `EIO` on ioctl, `ERR|HUP` on poll) and
//! unregistration waits for the calls in flight.
//!
//! # Owner-freed style (mainline 2026, [`crate::legacy`])
//!
//! The node is registered with the model's entry-check dispatch (the
//! `registered` flag is tested when a call starts, nothing waits for calls in
//! flight), and its operations keep a plain pointer to the media device
//! (`devnode->media_dev`) cleared at unregistration. An ioctl that read the
//! pointer before the driver freed the media device uses freed memory: the
//! instrumented media device reports it (race R1; with the allocator, R6).
//! [`preempt::MEDIA_IOCTL`] sits between the
//! pointer read and the use so tests can force the interleaving.

use super::device::{Lifetime, MediaDevice, WeakMediaDevice};
use super::ioctl::media_ioctl;
use super::preempt;
use crate::uapi::ioctl::with_user_memory;
use crate::uapi::media::MEDIA_IOCTLS;
use devlife_model::legacy::EntryCheck;
use devlife_model::{
    Device, Errno, FileOps, KResult, Kernel, Module, NodeKind, NodeSpec, OpCtx, ReleaseCtx,
};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Where and how to register a media node.
#[derive(Debug, Default, Clone)]
pub struct RegisterOptions {
    /// The parent device (`mdev->dev`): a bound parent's binding unplugs the
    /// node before the driver's `remove`.
    pub parent: Option<Device>,
    /// The module owning the file operations (pinned by open files).
    pub owner: Option<Module>,
    /// A fixed node name instead of `mediaN`.
    pub name: Option<String>,
}

/// The open-file state of a media node.
///
/// # Invariants
///
/// `mdev` is a strong reference taken at open; its `open_files` count was
/// incremented then and is decremented at release.
pub struct MediaFile {
    mdev: MediaDevice,
}

impl MediaFile {
    /// The media device this file keeps alive.
    pub fn media_device(&self) -> &MediaDevice {
        &self.mdev
    }
}

/// The file operations of a media node.
enum MediaNodeOps {
    /// Weak reach; files hold strong references.
    Refcounted { mdev: WeakMediaDevice },
    /// `devnode->media_dev`: a plain pointer, cleared at unregistration.
    EntryCheck {
        media_dev: Mutex<Option<MediaDevice>>,
    },
}

impl MediaNodeOps {
    fn device(&self) -> Option<MediaDevice> {
        match self {
            MediaNodeOps::Refcounted { mdev } => mdev.upgrade(),
            MediaNodeOps::EntryCheck { media_dev } => media_dev.lock().clone(),
        }
    }
}

impl FileOps for MediaNodeOps {
    type Private = MediaFile;

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<MediaFile> {
        let mdev = self.device().ok_or(Errno::ENXIO)?;
        preempt::point(preempt::MEDIA_OPEN);
        if mdev.lifetime() == Lifetime::Refcounted && !mdev.is_registered() {
            return Err(Errno::ENXIO);
        }
        mdev.add_open_file();
        Ok(MediaFile { mdev })
    }

    fn release(&self, _ctx: &ReleaseCtx<'_>, private: MediaFile) {
        private.mdev.0.open_files.fetch_sub(1, Ordering::AcqRel);
    }

    fn ioctl(
        &self,
        _ctx: &OpCtx<'_>,
        private: &MediaFile,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let pointer;
        let mdev = match self {
            MediaNodeOps::Refcounted { .. } => &private.mdev,
            // `media_device_ioctl` reads `devnode->media_dev` without a lock
            // or a reference (NULL after unregistration: the kernel oopses;
            // we answer EIO).
            MediaNodeOps::EntryCheck { media_dev } => {
                pointer = media_dev.lock().clone().ok_or(Errno::EIO)?;
                &pointer
            }
        };
        preempt::point(preempt::MEDIA_IOCTL);
        with_user_memory(|mm| media_ioctl(mdev, cmd, arg, mm))
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        MEDIA_IOCTLS.name(cmd).unwrap_or("ioctl")
    }
}

impl MediaDevice {
    /// `__media_device_register`: registers the media node and moves the
    /// media device to Registered. `EBUSY` if already registered (a media
    /// device registers once), `ENODEV` after unregistration; node
    /// registration errors (`ENFILE`, injected faults) leave the media device
    /// unregistered (Allocated), so the driver can retry or unwind.
    pub fn register(&self, kernel: &Kernel, opts: RegisterOptions) -> KResult<()> {
        self.mark_registered()?;
        let (ops, spec) = match self.lifetime() {
            Lifetime::Refcounted => (
                Arc::new(MediaNodeOps::Refcounted {
                    mdev: self.downgrade(),
                }),
                NodeSpec::new(NodeKind::Media),
            ),
            Lifetime::OwnerFreed => (
                Arc::new(MediaNodeOps::EntryCheck {
                    media_dev: Mutex::new(Some(self.clone())),
                }),
                NodeSpec::new(NodeKind::Media).entry_check(),
            ),
        };
        let entry_check = matches!(*ops, MediaNodeOps::EntryCheck { .. });
        let mut spec = spec.label(self.info().model);
        if let Some(p) = &opts.parent {
            spec = spec.parent(p);
        }
        if let Some(m) = &opts.owner {
            spec = spec.owner(m);
        }
        if let Some(n) = &opts.name {
            spec = spec.name(n.clone());
        }
        match kernel.register_node(spec, ops.clone()) {
            Ok(reg) => {
                self.set_node(reg, entry_check.then_some(ops));
                Ok(())
            }
            Err(e) => {
                self.mark_allocated();
                Err(e)
            }
        }
    }

    /// Registers unless already registered (the allocator's shared media
    /// device: whichever driver probes first registers it). Returns whether
    /// this call registered. Atomic, unlike the kernel drivers' check of
    /// `media_devnode_is_registered` followed by `media_device_register`.
    pub fn register_once(&self, kernel: &Kernel, opts: RegisterOptions) -> KResult<bool> {
        match self.register(kernel, opts) {
            Ok(()) => Ok(true),
            Err(Errno::EBUSY) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `media_device_unregister`. Idempotent; safe on a never-registered
    /// media device.
    ///
    /// * Refcounted: the state becomes Unregistered (new opens fail), the node
    ///   is unplugged (new calls fail, sleepers woken, calls in flight
    ///   drained) and removed, then every graph object is removed.
    /// * Owner-freed (mainline order): graph objects removed under the graph lock,
    ///   then the node unregistered without waiting for calls in flight, and
    ///   `devnode->media_dev` cleared.
    pub fn unregister(&self) {
        match self.lifetime() {
            Lifetime::Refcounted => {
                if !self.mark_unregistered() {
                    return;
                }
                if let Some(reg) = self.take_node() {
                    // EDEADLK from inside a call on the node: the drain is
                    // left to the caller's return; the node is removed anyway.
                    let _ = reg.unregister();
                }
                self.clear_graph();
            }
            Lifetime::OwnerFreed => {
                if !self.mark_unregistered() {
                    return;
                }
                self.clear_graph();
                if let Some(reg) = self.take_node() {
                    let _ = reg.unregister();
                }
                if let Some(ops) = self.take_entry_check_ops()
                    && let Some(o) = ops.downcast_ref::<MediaNodeOps>()
                    && let MediaNodeOps::EntryCheck { media_dev } = o
                {
                    *media_dev.lock() = None;
                }
            }
        }
    }
}
