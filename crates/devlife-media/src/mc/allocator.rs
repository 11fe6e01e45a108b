//! The Media Device Allocator (docs/proposals.md#allocator; Shuah Khan, merged 2019 as
//! `mc-dev-allocator.c`): one media device per parent device, shared by the
//! drivers of its interfaces (au0828 and snd-usb-audio on one USB device).
//!
//! # Rules
//!
//! * [`allocate`](MediaDeviceAllocator::allocate) returns the live media
//!   device of the parent if there is one, else a new one; each call counts
//!   one driver binding.
//! * The media device is registered once, by whichever driver gets there
//!   first ([`MediaDevice::register_once`]).
//! * [`delete`](MediaDeviceAllocator::delete) drops one binding; the **last**
//!   driver to leave unregisters the media device.
//! * Framework style: the allocator then drops its reference and forgets the
//!   media device (it moves to the *leaving* list, observed weakly); its
//!   memory stays as long as an open file, an entity or a driver handle holds
//!   it. A driver that (re)binds meanwhile never receives it: it gets a fresh
//!   media device.
//! * Pre-fix style (mainline; only through the extension in
//!   [`crate::legacy`], `FreeingAllocator`): the last delete unregisters and
//!   **frees** the media device under the allocator lock whatever still uses
//!   it (R6): an open `/dev/mediaN` then uses freed memory, which the
//!   checkers report.
//!
//! # The five states (docs/proposals.md#allocator)
//!
//! [`instances`](MediaDeviceAllocator::instances) reports each media device
//! the allocator handed out, live or leaving, with its
//! [`MediaDeviceState`]: Allocated, Registered, UnregisteredInUse (a file of
//! its node is open), UnregisteredNotInUse, Released.

use super::device::{DeviceInfo, Lifetime, MediaDevice, MediaDeviceState, WeakMediaDevice};
use devlife::check::Monitor;
use devlife_model::{Errno, KResult};
use parking_lot::Mutex;

/// The parent device a media device is allocated for (`udev`), and what
/// `__media_device_usb_init` copies from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentInfo {
    /// Identity of the parent device (e.g. the model's device id).
    pub key: u64,
    /// `udev->product`: the model string.
    pub product: String,
    /// `udev->serial`.
    pub serial: String,
    /// `usb_make_path(udev)`.
    pub bus_info: String,
    /// `bcdDevice`.
    pub hw_revision: u32,
}

impl ParentInfo {
    /// A parent with a key and a product name.
    pub fn new(key: u64, product: impl Into<String>) -> Self {
        Self {
            key,
            product: product.into(),
            ..Default::default()
        }
    }

    /// Sets the bus info.
    pub fn bus_info(mut self, b: impl Into<String>) -> Self {
        self.bus_info = b.into();
        self
    }
}

/// One media device the allocator handed out.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    /// The parent key.
    pub parent: u64,
    /// Its state now.
    pub state: MediaDeviceState,
    /// The drivers (module names) holding it through the allocator, one per binding.
    pub drivers: Vec<String>,
    /// Whether the allocator still hands it out.
    pub live: bool,
    /// A weak reference to it.
    pub mdev: WeakMediaDevice,
}

struct Instance {
    parent: u64,
    mdev: MediaDevice,
    drivers: Vec<String>,
}

#[derive(Default)]
struct Inner {
    live: Vec<Instance>,
    leaving: Vec<(u64, WeakMediaDevice)>,
}

/// The allocator (`media_device_list` + `media_device_lock`).
///
/// # Invariants
///
/// * At most one live instance per parent key.
/// * A live instance has at least one driver.
/// * A leaving media device is never returned by `allocate`.
pub struct MediaDeviceAllocator {
    monitor: Monitor,
    /// The rules of every media device it allocates.
    lifetime: Lifetime,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MediaDeviceAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDeviceAllocator")
            .field("lifetime", &self.lifetime)
            .field("live", &self.inner.lock().live.len())
            .finish()
    }
}

impl MediaDeviceAllocator {
    /// An empty allocator of refcounted media devices: the last driver to
    /// leave only drops its reference.
    pub fn new(monitor: &Monitor) -> Self {
        Self::with_lifetime(monitor, Lifetime::Refcounted)
    }

    /// An empty allocator whose media devices follow `lifetime`.
    pub(crate) fn with_lifetime(monitor: &Monitor, lifetime: Lifetime) -> Self {
        Self {
            monitor: monitor.clone(),
            lifetime,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// `media_device_usb_allocate(udev, module_name, owner)`: the parent's
    /// live media device (one more binding), or a new one initialised from
    /// `parent` with `driver_name = module_name` (the first allocator's
    /// module names the media device, as in the kernel).
    pub fn allocate(&self, parent: &ParentInfo, module_name: &str) -> KResult<MediaDevice> {
        if module_name.is_empty() {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        if let Some(i) = inner.live.iter_mut().find(|i| i.parent == parent.key) {
            i.drivers.push(module_name.to_owned());
            return Ok(i.mdev.clone());
        }
        let mdev = MediaDevice::with_lifetime(
            &self.monitor,
            DeviceInfo {
                driver_name: module_name.to_owned(),
                parent_driver: String::new(),
                model: parent.product.clone(),
                serial: parent.serial.clone(),
                bus_info: parent.bus_info.clone(),
                hw_revision: parent.hw_revision,
            },
            self.lifetime,
        );
        inner.live.push(Instance {
            parent: parent.key,
            mdev: mdev.clone(),
            drivers: vec![module_name.to_owned()],
        });
        Ok(mdev)
    }

    /// `media_device_delete(mdev, module_name, owner)`: drops one binding of
    /// `module_name`. The last one unregisters the media device (and, in the
    /// pre-fix style, frees it). Returns whether this call was the last.
    /// `EINVAL` if `module_name` holds no binding of this media device.
    pub fn delete(&self, mdev: &MediaDevice, module_name: &str) -> KResult<bool> {
        let mut inner = self.inner.lock();
        let pos = inner
            .live
            .iter()
            .position(|i| MediaDevice::ptr_eq(&i.mdev, mdev))
            .ok_or(Errno::EINVAL)?;
        let inst = &mut inner.live[pos];
        let d = inst
            .drivers
            .iter()
            .position(|d| d == module_name)
            .ok_or(Errno::EINVAL)?;
        inst.drivers.remove(d);
        if !inst.drivers.is_empty() {
            return Ok(false);
        }
        let inst = inner.live.remove(pos);
        match self.lifetime {
            Lifetime::OwnerFreed => {
                // `media_device_instance_release`, under `media_device_lock`:
                // unregister, cleanup, kfree(mdi) -- whoever still uses it.
                inst.mdev.unregister();
                inst.mdev.owner_free();
                inner.leaving.push((inst.parent, inst.mdev.downgrade()));
                drop(inner);
            }
            Lifetime::Refcounted => {
                inner.leaving.push((inst.parent, inst.mdev.downgrade()));
                // Unregister outside the allocator lock: the drain of the
                // node must not block allocations for other devices.
                drop(inner);
                inst.mdev.unregister();
            }
        }
        drop(inst);
        Ok(true)
    }

    /// The live media device of a parent, if any (what `allocate` would share).
    pub fn lookup(&self, parent: u64) -> Option<MediaDevice> {
        self.inner
            .lock()
            .live
            .iter()
            .find(|i| i.parent == parent)
            .map(|i| i.mdev.clone())
    }

    /// Every media device handed out that is live or not yet released, plus
    /// the released ones not reported before (reported once as Released).
    pub fn instances(&self) -> Vec<InstanceInfo> {
        let mut inner = self.inner.lock();
        let mut out: Vec<InstanceInfo> = inner
            .live
            .iter()
            .map(|i| InstanceInfo {
                parent: i.parent,
                state: i.mdev.state(),
                drivers: i.drivers.clone(),
                live: true,
                mdev: i.mdev.downgrade(),
            })
            .collect();
        for (parent, w) in &inner.leaving {
            out.push(InstanceInfo {
                parent: *parent,
                state: w.state(),
                drivers: Vec::new(),
                live: false,
                mdev: w.clone(),
            });
        }
        inner
            .leaving
            .retain(|(_, w)| w.state() != MediaDeviceState::Released);
        out
    }
}
