//! [`MediaDevice`]: the media device, allocated dynamically and reference
//! counted, with a driver release callback (docs/proposals.md#media-refcount, Sakari Ailus' v4
//! "media device lifetime management").
//!
//! # Lifetime
//!
//! * Who holds a reference: the driver(s) that allocated it (or the Media
//!   Device Allocator on their behalf), every registered entity and interface,
//!   every open file of its `/dev/mediaN` node.
//! * The devnode shares the media device's lifetime: the node's file
//!   operations reach the media device only weakly, each open file holds a
//!   strong reference, and the media device keeps its node until it is
//!   released. An fd opened before unregistration therefore keeps the whole
//!   media device (graph lock, info, graph records) valid, and gets `EIO`.
//! * The driver's release callback ([`MediaDevice::set_release`]) runs when
//!   the last reference goes, just before the memory goes.
//!
//! # Two styles
//!
//! [`MediaDevice::new`] is the design above. The other style, reached only
//! through the extension in [`crate::legacy`] (`OwnerFreedMedia`), is the
//! mainline kernel of 2026 (docs/linux-today.md): the media device is
//! freed by its owner (`OwnerFreedMedia::legacy_free`: the driver's own
//! `kfree`, or the allocator's last `media_device_delete`) whatever still
//! reaches it, and the devnode is a separate object that checks its
//! `registered` flag once per call and then uses the media device without a
//! reference (race R1). The media device's state lives in an instrumented
//! allocation ([`devlife::check::Shadow`]) so every access after such a free
//! is reported with its site; in the framework style nothing ever frees it
//! explicitly, so no report can happen.
//!
//! # Where each part lives
//!
//! * this file: the media device itself, its reference counting, its info;
//! * `graph_lock.rs`: the graph lock ([`GraphGuard`]) and the removals it
//!   defers while busy (reaping);
//! * `registration.rs`: the registration state ([`MediaDeviceState`]), the
//!   node, and the pre-fix owner's free;
//! * `entities.rs`: entities, interfaces and links created on the graph;
//! * `links.rs`: link setup with driver notification ([`MediaDeviceOps`]),
//!   pipelines and walks;
//! * `hooks.rs`: hooks one driver installs for another ([`SourceHooks`],
//!   entity notify).

mod entities;
mod graph_lock;
mod hooks;
mod links;
mod registration;

pub use graph_lock::GraphGuard;
pub use hooks::{EntityNotifyFn, HookToken, SourceHooks};
pub use links::{LinkNotify, MediaDeviceOps};
pub use registration::MediaDeviceState;

use crate::uapi::ioctl::put_str;
use crate::uapi::media::*;
use devlife::check::{Monitor, Shadow};
use devlife::{Ref, WeakRef};
use devlife_model::Node;
use devlife_model::NodeRegistration;
use graph_lock::GraphLock;
use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Which lifetime rules a media device follows, fixed at its creation.
/// A framework driver only gets [`Lifetime::Refcounted`] ([`MediaDevice::new`]);
/// the other variant is made only by the pre-fix extension in
/// [`crate::legacy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lifetime {
    /// Refcounted media device, devnode in the same lifetime, every file
    /// operation inside the node's gate.
    Refcounted,
    /// The pre-fix kernel: owner-freed media device, separate devnode with an
    /// entry check (reproduces R1, R2, R5, R6).
    OwnerFreed,
}

/// Strings and numbers reported by `MEDIA_IOC_DEVICE_INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `driver_name` (falls back to `parent_driver` when empty).
    pub driver_name: String,
    /// Name of the parent device's driver (`dev->driver->name`).
    pub parent_driver: String,
    /// The `model` string of `MEDIA_IOC_DEVICE_INFO`.
    pub model: String,
    /// The `serial` string of `MEDIA_IOC_DEVICE_INFO` (may be empty).
    pub serial: String,
    /// Bus info (`platform:vimc`, `usb-0000:00:14.0-1`).
    pub bus_info: String,
    /// The `hw_revision` of `MEDIA_IOC_DEVICE_INFO`.
    pub hw_revision: u32,
}

/// The state behind the instrumented allocation: what `struct media_device`
/// holds in the kernel.
struct MdevCore {
    info: Mutex<DeviceInfo>,
    /// `ALLOCATED`, `REGISTERED` or `UNREGISTERED` (see `registration.rs`).
    reg: AtomicU8,
    graph: GraphLock,
    /// `req_queue_mutex`: serialises request queueing with streaming.
    req_queue: Mutex<()>,
}

/// The shared part of a media device.
///
/// # Invariants
///
/// * The registration state only moves Allocated → Registered → Unregistered.
/// * `node` is set at registration and kept until the media device is
///   released (the devnode shares its lifetime).
pub struct MdevInner {
    monitor: Monitor,
    lifetime: Lifetime,
    core: Shadow<MdevCore>,
    node: Mutex<Option<NodeRegistration>>,
    /// The node itself, kept until the media device is released.
    node_strong: Mutex<Option<Node>>,
    /// Owner-freed style: the node's operations (holding
    /// `devnode->media_dev`), whose pointer unregistration clears.
    entry_check_ops: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    pub(crate) open_files: AtomicUsize,
}

/// A reference to a media device. Cloning takes a reference
/// (`media_device_get`), dropping puts it; the last put runs the release
/// callback.
///
/// # Invariants
///
/// While a `MediaDevice` exists the media device's memory (graph lock, graph
/// records, info, node) is valid; an owner-freed one ([`crate::legacy`])
/// may have been *marked* freed by its owner, and every access through the
/// handle is then reported by the checker.
///
/// ```
/// use devlife::Monitor;
/// use devlife_media::mc::{DeviceInfo, MediaDevice, MediaDeviceState};
/// let m = Monitor::new();
/// let mdev = MediaDevice::new(&m, DeviceInfo { model: "VIMC MDEV".into(), ..Default::default() });
/// let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
/// let r = released.clone();
/// mdev.set_release(move || r.store(true, std::sync::atomic::Ordering::SeqCst));
/// let weak = mdev.downgrade();
/// assert_eq!(weak.state(), MediaDeviceState::Allocated);
/// drop(mdev);
/// assert!(released.load(std::sync::atomic::Ordering::SeqCst));
/// assert_eq!(weak.state(), MediaDeviceState::Released);
/// ```
#[derive(Clone)]
pub struct MediaDevice(pub(crate) Ref<MdevInner>);

/// A weak reference to a media device.
#[derive(Clone, Default)]
pub struct WeakMediaDevice(WeakRef<MdevInner>);

impl std::fmt::Debug for MediaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDevice")
            .field("id", &self.id())
            .field("lifetime", &self.0.lifetime)
            .finish()
    }
}

impl std::fmt::Debug for WeakMediaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakMediaDevice(alive={})", self.0.is_alive())
    }
}

impl WeakMediaDevice {
    /// The media device, unless it was released (try-get).
    pub fn upgrade(&self) -> Option<MediaDevice> {
        self.0.try_get().map(MediaDevice)
    }

    /// The lifecycle state; [`MediaDeviceState::Released`] once gone.
    pub fn state(&self) -> MediaDeviceState {
        match self.upgrade() {
            Some(m) => m.state(),
            None => MediaDeviceState::Released,
        }
    }
}

impl MediaDevice {
    /// `kzalloc` + `media_device_init` of a refcounted media device: its
    /// memory goes with its last reference.
    pub fn new(monitor: &Monitor, info: DeviceInfo) -> MediaDevice {
        Self::with_lifetime(monitor, info, Lifetime::Refcounted)
    }

    /// [`new`](Self::new) with the lifetime rules `lifetime`.
    pub(crate) fn with_lifetime(
        monitor: &Monitor,
        info: DeviceInfo,
        lifetime: Lifetime,
    ) -> MediaDevice {
        let core = Shadow::new(
            monitor,
            "media_device_state",
            format!("media_device({})", info.model),
            MdevCore {
                info: Mutex::new(info),
                reg: AtomicU8::new(registration::ALLOCATED),
                graph: GraphLock::new(),
                req_queue: Mutex::new(()),
            },
        );
        MediaDevice(Ref::new(
            monitor,
            crate::kinds::MEDIA_DEVICE,
            MdevInner {
                monitor: monitor.clone(),
                lifetime,
                core,
                node: Mutex::new(None),
                node_strong: Mutex::new(None),
                entry_check_ops: Mutex::new(None),
                open_files: AtomicUsize::new(0),
            },
        ))
    }

    #[track_caller]
    fn core(&self) -> &MdevCore {
        self.0.core.get()
    }

    /// `media_device_open`: adds an open file to the media device, under its
    /// lock in the kernel, so through a checked access here. An open that
    /// passed a legacy node's registration check and resumes after the
    /// driver freed the media device is a reported use-after-free (race R1 at
    /// open); a framework open runs inside the node's gate and holds the
    /// media device, so it always reaches live memory.
    #[track_caller]
    pub(crate) fn add_open_file(&self) {
        let _ = self.core();
        self.0.open_files.fetch_add(1, Ordering::AcqRel);
    }

    /// The driver release callback (`media_device_ops.release`), run when the
    /// last reference goes, just before the media device's memory goes.
    pub fn set_release(&self, f: impl FnOnce() + Send + 'static) {
        Ref::set_release(&self.0, move |_| f());
    }

    /// Installs the driver operations.
    #[track_caller]
    pub fn set_ops(&self, ops: Arc<dyn MediaDeviceOps>) {
        self.core().graph.mutex.lock().ops = Some(ops);
    }

    /// The lifetime rules it follows.
    pub(crate) fn lifetime(&self) -> Lifetime {
        self.0.lifetime
    }

    /// The monitor the media device reports to.
    pub fn monitor(&self) -> &Monitor {
        &self.0.monitor
    }

    /// The id this media device has in the monitor's journal and reports.
    pub fn id(&self) -> u64 {
        Ref::id(&self.0)
    }

    /// A weak reference.
    pub fn downgrade(&self) -> WeakMediaDevice {
        WeakMediaDevice(Ref::downgrade(&self.0))
    }

    /// References right now.
    pub fn refs(&self) -> usize {
        Ref::count(&self.0)
    }

    /// Whether two handles name the same media device.
    pub fn ptr_eq(a: &MediaDevice, b: &MediaDevice) -> bool {
        Ref::ptr_eq(&a.0, &b.0)
    }

    /// The device info.
    #[track_caller]
    pub fn info(&self) -> DeviceInfo {
        self.core().info.lock().clone()
    }

    /// Changes the device info (before registration, like a driver filling
    /// `mdev->model`).
    #[track_caller]
    pub fn set_info(&self, info: DeviceInfo) {
        *self.core().info.lock() = info;
    }

    /// `media_device_get_info`: the reply of `MEDIA_IOC_DEVICE_INFO`.
    #[track_caller]
    pub fn device_info(&self) -> MediaDeviceInfo {
        let info = self.core().info.lock();
        let mut d = MediaDeviceInfo::default();
        let driver = if info.driver_name.is_empty() {
            &info.parent_driver
        } else {
            &info.driver_name
        };
        put_str(&mut d.driver, driver);
        put_str(&mut d.model, &info.model);
        put_str(&mut d.serial, &info.serial);
        put_str(&mut d.bus_info, &info.bus_info);
        d.media_version = MEDIA_API_VERSION;
        d.driver_version = MEDIA_API_VERSION;
        d.hw_revision = info.hw_revision;
        d
    }

    /// Takes the graph lock.
    #[track_caller]
    pub fn graph(&self) -> GraphGuard<'_> {
        self.core().graph.lock()
    }

    /// Threads waiting for the graph lock right now (to order threads in tests).
    #[track_caller]
    pub fn graph_lock_waiters(&self) -> usize {
        self.core().graph.waiters.load(Ordering::SeqCst)
    }

    /// `mutex_lock(&mdev->req_queue_mutex)`: what `v4l2_release` takes for
    /// drivers that support requests (race R7: in the legacy style, after
    /// the media device was freed, this access is reported).
    #[track_caller]
    pub fn lock_req_queue(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.core().req_queue.lock()
    }

    /// `topology_version` now.
    #[track_caller]
    pub fn topology_version(&self) -> u64 {
        self.graph().topology_version()
    }
}
