//! [`MediaDevice`]: the media device, allocated dynamically and reference
//! counted, with a driver release callback (seed 002, Sakari Ailus' v4
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
//! [`Lifetime::Framework`] is the design above. [`Lifetime::Legacy`] is the
//! mainline kernel of 2026 (§4.1, §4.2 of the spec): the media device is
//! freed by its owner ([`MediaDevice::legacy_free`]: the driver's own
//! `kfree`, or the allocator's last `media_device_delete`) whatever still
//! reaches it, and the devnode is a separate object that checks its
//! `registered` flag once per call and then uses the media device without a
//! reference (race R1). The media device's state lives in an instrumented
//! allocation ([`devlife::check::Shadow`]) so every access after such a free
//! is reported with its site; in the framework style nothing ever frees it
//! explicitly, so no report can happen.

use super::entity::{Entity, Interface};
use super::graph::{Graph, LinkEnds, LinkInfo, PadKey};
use super::pipeline::Pipeline;
use crate::uapi::ioctl::put_str;
use crate::uapi::media::*;
use devlife::check::{Monitor, Shadow};
use devlife::{Gate, Ref, WeakRef};
use devlife_model::{Errno, KResult, Node, NodeRegistration};
use parking_lot::{Mutex, MutexGuard};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Which lifetime rules a media device follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifetime {
    /// Refcounted media device, devnode in the same lifetime, every file
    /// operation inside the node's gate.
    Framework,
    /// The pre-fix kernel: owner-freed media device, separate devnode with an
    /// entry check (reproduces R1, R2, R5, R6).
    Legacy,
}

/// Strings and numbers reported by `MEDIA_IOC_DEVICE_INFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `driver_name` (falls back to `parent_driver` when empty).
    pub driver_name: String,
    /// Name of the parent device's driver (`dev->driver->name`).
    pub parent_driver: String,
    /// Model.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// Bus info (`platform:vimc`, `usb-0000:00:14.0-1`).
    pub bus_info: String,
    /// Hardware revision.
    pub hw_revision: u32,
}

/// When [`MediaDeviceOps::link_notify`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkNotify {
    /// Before the flags change (`MEDIA_DEV_NOTIFY_PRE_LINK_CH`); an error vetoes.
    Pre,
    /// After the change attempt (`MEDIA_DEV_NOTIFY_POST_LINK_CH`).
    Post,
}

/// Driver operations of a media device (`struct media_device_ops`).
pub trait MediaDeviceOps: Send + Sync {
    /// A link's flags are changing (under the graph lock).
    fn link_notify(&self, link: &LinkInfo, flags: u32, when: LinkNotify) -> KResult<()> {
        let _ = (link, flags, when);
        Ok(())
    }
}

/// The hooks one driver installs on a shared media device for another one to
/// call (au0828's `enable_source` / `disable_source`, called by snd-usb-audio
/// from `hw_params`). They run under the graph lock and get the graph.
pub trait SourceHooks: Send + Sync {
    /// Claims the shared source (tuner) for `entity`'s pipeline.
    fn enable_source(&self, graph: &mut Graph, entity: &Entity, pipe: &Pipeline) -> KResult<()>;
    /// Releases it.
    fn disable_source(&self, graph: &mut Graph, entity: &Entity);
}

/// A callback run (under the graph lock) for every entity registered after it
/// was installed (`struct media_entity_notify`).
pub type EntityNotifyFn = Arc<dyn Fn(&mut Graph, &Entity) + Send + Sync>;

/// Identifies an installed hook (source hooks or entity notify).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookToken(u64);

struct Installed<T> {
    token: u64,
    hook: T,
    /// The installing driver's gate: calls enter it, so no call runs into a
    /// driver that left (framework style only).
    owner: Option<Gate>,
}

/// Everything the graph lock protects.
pub(crate) struct GraphData {
    pub(crate) graph: Graph,
    ops: Option<Arc<dyn MediaDeviceOps>>,
    source: Option<Installed<Arc<dyn SourceHooks>>>,
    notify: Vec<Installed<EntityNotifyFn>>,
    next_token: u64,
}

/// Something to remove from the graph when the lock is next taken.
#[derive(Debug, Clone, Copy)]
enum Reap {
    Entity(u32),
    Interface(u32),
}

/// `graph_mutex`, with a count of waiting threads (tests order threads on it)
/// and a queue of removals requested while it was busy.
struct GraphLock {
    mutex: Mutex<GraphData>,
    waiters: AtomicUsize,
    pending: Mutex<Vec<Reap>>,
    npending: AtomicUsize,
}

/// The graph lock held (`mutex_lock(&mdev->graph_mutex)`).
///
/// Derefs to the [`Graph`]. Dropping it unlocks. The lock is not recursive:
/// while holding a guard, do not call the [`MediaDevice`] methods documented
/// as taking the graph lock (use the [`Graph`] methods instead). Dropping
/// the last reference of an entity or interface while holding it is fine
/// (the removal is deferred to the next holder).
pub struct GraphGuard<'a> {
    g: MutexGuard<'a, GraphData>,
}

impl std::ops::Deref for GraphGuard<'_> {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.g.graph
    }
}

impl std::ops::DerefMut for GraphGuard<'_> {
    fn deref_mut(&mut self) -> &mut Graph {
        &mut self.g.graph
    }
}

impl GraphLock {
    fn lock(&self) -> GraphGuard<'_> {
        let g = match self.mutex.try_lock() {
            Some(g) => g,
            None => {
                self.waiters.fetch_add(1, Ordering::SeqCst);
                let g = self.mutex.lock();
                self.waiters.fetch_sub(1, Ordering::SeqCst);
                g
            }
        };
        let mut g = GraphGuard { g };
        self.drain(&mut g);
        g
    }

    fn drain(&self, g: &mut GraphGuard<'_>) {
        // Fast path: nothing queued (a reaper increments before it tries the
        // lock, so a holder that happens after it sees the count).
        if self.npending.load(Ordering::Acquire) == 0 {
            return;
        }
        let pending = {
            let mut p = self.pending.lock();
            self.npending.store(0, Ordering::Release);
            std::mem::take(&mut *p)
        };
        for r in pending {
            match r {
                Reap::Entity(id) => {
                    g.g.graph.remove_entity(id);
                }
                Reap::Interface(id) => {
                    g.g.graph.remove_interface(id);
                }
            }
        }
    }

    fn reap(&self, r: Reap) {
        {
            let mut p = self.pending.lock();
            p.push(r);
            self.npending.store(p.len(), Ordering::Release);
        }
        if let Some(g) = self.mutex.try_lock() {
            let mut g = GraphGuard { g };
            self.drain(&mut g);
        }
    }
}

const ALLOCATED: u8 = 0;
const REGISTERED: u8 = 1;
const UNREGISTERED: u8 = 2;

/// The state behind the instrumented allocation: what `struct media_device`
/// holds in the kernel.
struct MdevCore {
    info: Mutex<DeviceInfo>,
    reg: AtomicU8,
    graph: GraphLock,
    /// `req_queue_mutex`: serialises request queueing with streaming.
    req_queue: Mutex<()>,
}

/// Lifecycle of a media device (seed 003: Shuah Khan's five states).
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
    /// Legacy style: the node's operations (holding `devnode->media_dev`).
    legacy_ops: Mutex<Option<Arc<dyn Any + Send + Sync>>>,
    pub(crate) open_files: AtomicUsize,
}

/// A reference to a media device. Cloning takes a reference
/// (`media_device_get`), dropping puts it; the last put runs the release
/// callback.
///
/// # Invariants
///
/// While a `MediaDevice` exists the media device's memory (graph lock, graph
/// records, info, node) is valid; in the legacy style it may have been
/// *marked* freed by its owner, and every access through the handle is then
/// reported by the checker.
///
/// ```
/// use devlife::Monitor;
/// use devlife_media::mc::{DeviceInfo, Lifetime, MediaDevice, MediaDeviceState};
/// let m = Monitor::new();
/// let mdev = MediaDevice::new(&m, DeviceInfo { model: "VIMC MDEV".into(), ..Default::default() }, Lifetime::Framework);
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
    /// `kzalloc` + `media_device_init`.
    pub fn new(monitor: &Monitor, info: DeviceInfo, lifetime: Lifetime) -> MediaDevice {
        let core = Shadow::new(
            monitor,
            "media_device_state",
            format!("media_device({})", info.model),
            MdevCore {
                info: Mutex::new(info),
                reg: AtomicU8::new(ALLOCATED),
                graph: GraphLock {
                    mutex: Mutex::new(GraphData {
                        graph: Graph::default(),
                        ops: None,
                        source: None,
                        notify: Vec::new(),
                        next_token: 1,
                    }),
                    waiters: AtomicUsize::new(0),
                    pending: Mutex::new(Vec::new()),
                    npending: AtomicUsize::new(0),
                },
                req_queue: Mutex::new(()),
            },
        );
        MediaDevice(Ref::new(
            monitor,
            "media_device",
            MdevInner {
                monitor: monitor.clone(),
                lifetime,
                core,
                node: Mutex::new(None),
                node_strong: Mutex::new(None),
                legacy_ops: Mutex::new(None),
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

    /// The lifetime style.
    pub fn lifetime(&self) -> Lifetime {
        self.0.lifetime
    }

    /// The monitor the media device reports to.
    pub fn monitor(&self) -> &Monitor {
        &self.0.monitor
    }

    /// Journal id.
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

    // -----------------------------------------------------------------------
    // Registration state
    // -----------------------------------------------------------------------

    /// Whether the media device is registered.
    #[track_caller]
    pub fn is_registered(&self) -> bool {
        self.core().reg.load(Ordering::Acquire) == REGISTERED
    }

    /// The lifecycle state (seed 003).
    pub fn state(&self) -> MediaDeviceState {
        // An observation, not a dereference: a legacy-freed media device is
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
        legacy_ops: Option<Arc<dyn Any + Send + Sync>>,
    ) {
        *self.0.node_strong.lock() = reg.node();
        *self.0.node.lock() = Some(reg);
        *self.0.legacy_ops.lock() = legacy_ops;
    }

    pub(crate) fn take_node(&self) -> Option<NodeRegistration> {
        self.0.node.lock().take()
    }

    pub(crate) fn take_legacy_ops(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.0.legacy_ops.lock().take()
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

    /// Legacy style only: the owner frees the media device now (`kfree` of
    /// the driver struct embedding it, or of the allocator instance). Every
    /// later access through any remaining handle is reported as a
    /// use-after-free. Does nothing in the framework style (memory is
    /// released with the last reference; returns `false`).
    #[track_caller]
    pub fn legacy_free(&self) -> bool {
        if self.0.lifetime != Lifetime::Legacy {
            return false;
        }
        self.0.core.free();
        true
    }

    /// Whether [`legacy_free`](Self::legacy_free) was called.
    pub fn is_freed(&self) -> bool {
        self.0.core.is_freed()
    }

    /// Checks the media device memory like a dereference would (reports a
    /// use-after-free if it was freed). Returns `false` if it was.
    #[track_caller]
    pub fn touch(&self, what: &str) -> bool {
        self.0.core.check(what)
    }

    // -----------------------------------------------------------------------
    // Entities and interfaces
    // -----------------------------------------------------------------------

    /// `media_device_register_entity`: entity id, then pad ids, then the
    /// entity-notify hooks (under the graph lock). The entity takes a
    /// reference to the media device. An entity registers at most once
    /// (`EBUSY`); nothing registers after unregistration (`ENODEV`).
    #[track_caller]
    pub fn register_entity(&self, e: &Entity) -> KResult<u32> {
        let mut g = self.graph();
        if self.core().reg.load(Ordering::Acquire) == UNREGISTERED {
            return Err(Errno::ENODEV);
        }
        if e.is_bound() {
            return Err(Errno::EBUSY);
        }
        let id = g.g.graph.add_entity(e, e.downgrade());
        if e.bind(self, id).is_err() {
            g.g.graph.remove_entity(id);
            return Err(Errno::EBUSY);
        }
        let hooks: Vec<(EntityNotifyFn, Option<Gate>)> =
            g.g.notify
                .iter()
                .map(|n| (n.hook.clone(), n.owner.clone()))
                .collect();
        for (hook, owner) in hooks {
            self.call_hook(owner.as_ref(), || hook(&mut g.g.graph, e));
        }
        Ok(id)
    }

    /// Runs an installed hook: framework style inside the installer's gate
    /// (skipped once the installer is unplugged), legacy style as is.
    fn call_hook<R>(&self, owner: Option<&Gate>, f: impl FnOnce() -> R) -> Option<R> {
        match (self.0.lifetime, owner) {
            (Lifetime::Framework, Some(gate)) => {
                let _a = gate.enter_as("media hook").ok()?;
                Some(f())
            }
            _ => Some(f()),
        }
    }

    /// `media_device_unregister_entity`: removes the entity, its pads and
    /// every link touching it from the graph. The entity keeps its media
    /// device reference until it is released. No-op if not in the graph.
    #[track_caller]
    pub fn unregister_entity(&self, e: &Entity) {
        if let Some(id) = e.id()
            && e.media_device()
                .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            self.graph().remove_entity(id);
        }
    }

    /// Whether `e` is in this media device's graph.
    #[track_caller]
    pub fn has_entity(&self, e: &Entity) -> bool {
        e.id()
            .is_some_and(|id| self.graph().entity_node(id).is_some())
            && e.media_device()
                .is_some_and(|m| MediaDevice::ptr_eq(m, self))
    }

    pub(crate) fn reap_entity(&self, id: u32) {
        self.core().graph.reap(Reap::Entity(id));
    }

    pub(crate) fn reap_interface(&self, id: u32) {
        self.core().graph.reap(Reap::Interface(id));
    }

    /// Records the device node numbers of an entity (`entity->info.dev`),
    /// reported by ENUM_ENTITIES.
    #[track_caller]
    pub fn set_entity_devnode(&self, e: &Entity, major: u32, minor: u32) -> KResult<()> {
        let id = self.own(e)?;
        if self.graph().set_entity_dev(id, major, minor) {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn own(&self, e: &Entity) -> KResult<u32> {
        match (e.id(), e.media_device()) {
            (Some(id), Some(m)) if MediaDevice::ptr_eq(m, self) => Ok(id),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `media_devnode_create`: an interface devnode in this graph.
    #[track_caller]
    pub fn create_intf_devnode(
        &self,
        intf_type: u32,
        flags: u32,
        major: u32,
        minor: u32,
    ) -> KResult<Interface> {
        let intf = Interface::new(&self.0.monitor, self, intf_type, flags, major, minor);
        let mut g = self.graph();
        if self.core().reg.load(Ordering::Acquire) == UNREGISTERED {
            return Err(Errno::ENODEV);
        }
        let id = g.g.graph.add_interface(&intf, intf.downgrade());
        intf.set_id(id);
        Ok(intf)
    }

    /// `media_devnode_remove`: removes the interface and its links from the graph.
    #[track_caller]
    pub fn remove_interface(&self, intf: &Interface) {
        if intf
            .media_device()
            .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            self.graph().remove_interface(intf.id());
        }
    }

    /// `media_create_pad_link` between two entities of this media device.
    #[track_caller]
    pub fn create_pad_link(
        &self,
        source: &Entity,
        source_pad: u16,
        sink: &Entity,
        sink_pad: u16,
        flags: u32,
    ) -> KResult<u32> {
        let s = self.own(source)?;
        let k = self.own(sink)?;
        self.graph().create_pad_link(
            PadKey {
                entity: s,
                index: source_pad,
            },
            PadKey {
                entity: k,
                index: sink_pad,
            },
            flags,
        )
    }

    /// `media_create_intf_link`.
    #[track_caller]
    pub fn create_intf_link(&self, intf: &Interface, entity: &Entity, flags: u32) -> KResult<u32> {
        let e = self.own(entity)?;
        if !intf
            .media_device()
            .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            return Err(Errno::EINVAL);
        }
        self.graph().create_intf_link(intf.id(), e, flags)
    }

    /// `media_create_ancillary_link`.
    #[track_caller]
    pub fn create_ancillary_link(&self, primary: &Entity, ancillary: &Entity) -> KResult<u32> {
        let p = self.own(primary)?;
        let a = self.own(ancillary)?;
        self.graph().create_ancillary_link(p, a)
    }

    // -----------------------------------------------------------------------
    // Links, pipelines, walks
    // -----------------------------------------------------------------------

    /// `media_entity_setup_link`: takes the graph lock and changes a data
    /// link's ENABLED flag (see [`MediaDevice::setup_link_locked`]).
    #[track_caller]
    pub fn setup_link(&self, source: PadKey, sink: PadKey, flags: u32) -> KResult<()> {
        let mut g = self.graph();
        let link = g.find_data_link(source, sink).ok_or(Errno::EINVAL)?;
        Self::setup_link_locked(&mut g, link, flags)
    }

    /// `__media_entity_setup_link` under the graph lock:
    ///
    /// * only ENABLED may change (`EINVAL`);
    /// * an IMMUTABLE link accepts only its current flags (`0` or `EINVAL`);
    /// * unchanged flags: `0`;
    /// * a link that is not DYNAMIC cannot change while either pad streams (`EBUSY`);
    /// * then `link_notify(PRE)` (may veto), the source entity's `link_setup`,
    ///   the sink's (the source is rolled back if the sink fails), the new
    ///   flags on the link and its backlink, and `link_notify(POST)`.
    pub fn setup_link_locked(g: &mut GraphGuard<'_>, link: LinkInfo, flags: u32) -> KResult<()> {
        let mask = MEDIA_LNK_FL_ENABLED;
        if link.flags & !mask != flags & !mask {
            return Err(Errno::EINVAL);
        }
        if link.flags & MEDIA_LNK_FL_IMMUTABLE != 0 {
            return if link.flags == flags {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            };
        }
        if link.flags == flags {
            return Ok(());
        }
        let LinkEnds::Data { source, sink } = link.ends else {
            return Err(Errno::EINVAL);
        };
        if link.flags & MEDIA_LNK_FL_DYNAMIC == 0
            && (g.pad_is_streaming(source) || g.pad_is_streaming(sink))
        {
            return Err(Errno::EBUSY);
        }
        let ops = g.g.ops.clone();
        if let Some(ops) = &ops {
            ops.link_notify(&link, flags, LinkNotify::Pre)?;
        }
        let ret = Self::setup_link_notify(g, link, source, sink, flags);
        if let Some(ops) = &ops {
            let _ = ops.link_notify(&link, flags, LinkNotify::Post);
        }
        ret
    }

    fn setup_link_notify(
        g: &mut GraphGuard<'_>,
        link: LinkInfo,
        source: PadKey,
        sink: PadKey,
        flags: u32,
    ) -> KResult<()> {
        let se = g.entity_handle(source.entity);
        let ke = g.entity_handle(sink.entity);
        if let Some(se) = &se
            && let Some(Err(e)) = se.ops().link_setup(source, sink, flags)
        {
            return Err(e);
        }
        if let Some(ke) = &ke
            && let Some(Err(e)) = ke.ops().link_setup(sink, source, flags)
        {
            if let Some(se) = &se {
                let _ = se.ops().link_setup(source, sink, link.flags);
            }
            return Err(e);
        }
        g.set_link_flags(link.id, flags);
        // The handles drop after the guard in the caller only if they are the
        // last references; dropping them here, under the lock, is safe: a
        // release under the lock defers the graph removal (see `entity`).
        Ok(())
    }

    /// `media_pipeline_start` (takes the graph lock).
    #[track_caller]
    pub fn pipeline_start(&self, origin: PadKey, pipe: &Pipeline) -> KResult<()> {
        self.graph().pipeline_start(origin, pipe)
    }

    /// `media_pipeline_stop` (takes the graph lock).
    #[track_caller]
    pub fn pipeline_stop(&self, pad: PadKey, pipe: &Pipeline) -> KResult<()> {
        self.graph().pipeline_stop(pad, pipe)
    }

    /// A graph walk from `start` over enabled data links (both directions),
    /// returning try-get references taken under the graph lock: entities
    /// being released are skipped, the others stay valid after the walk.
    #[track_caller]
    pub fn graph_walk(&self, start: &Entity) -> Vec<Entity> {
        let Ok(id) = self.own(start) else {
            return Vec::new();
        };
        let g = self.graph();
        g.walk(id)
            .into_iter()
            .filter_map(|e| g.entity_handle(e))
            .collect()
        // The guard drops after the references were taken; releasing one
        // of them later takes the lock again (or defers) without deadlock.
    }

    // -----------------------------------------------------------------------
    // Hooks one driver installs for another
    // -----------------------------------------------------------------------

    /// Installs the source hooks (au0828). `owner` is the installing driver's
    /// gate (its binding): in the framework style every call enters it, so a
    /// call never runs into a driver that has left even if it forgot to
    /// remove its hooks. `EBUSY` if hooks are already installed.
    #[track_caller]
    pub fn set_source_hooks(
        &self,
        hooks: Arc<dyn SourceHooks>,
        owner: Option<Gate>,
    ) -> KResult<HookToken> {
        let mut g = self.graph();
        if g.g.source.is_some() {
            return Err(Errno::EBUSY);
        }
        let token = g.g.next_token;
        g.g.next_token += 1;
        g.g.source = Some(Installed {
            token,
            hook: hooks,
            owner,
        });
        Ok(HookToken(token))
    }

    /// Removes the source hooks installed with `token`. Takes the graph lock,
    /// so it returns only after a hook call in progress has finished; no
    /// call starts afterwards. Returns whether they were installed.
    #[track_caller]
    pub fn clear_source_hooks(&self, token: HookToken) -> bool {
        let mut g = self.graph();
        if g.g.source.as_ref().is_some_and(|s| s.token == token.0) {
            g.g.source = None;
            true
        } else {
            false
        }
    }

    /// Whether source hooks are installed.
    #[track_caller]
    pub fn has_source_hooks(&self) -> bool {
        self.graph().g.source.is_some()
    }

    /// `mdev->enable_source(entity, pipe)` as snd-usb-audio calls it: under
    /// the graph lock; `Ok(())` when no hook is installed (or its installer
    /// has left, framework style).
    #[track_caller]
    pub fn enable_source(&self, entity: &Entity, pipe: &Pipeline) -> KResult<()> {
        let mut g = self.graph();
        let Some((hook, owner)) =
            g.g.source
                .as_ref()
                .map(|s| (s.hook.clone(), s.owner.clone()))
        else {
            return Ok(());
        };
        self.call_hook(owner.as_ref(), || {
            hook.enable_source(&mut g.g.graph, entity, pipe)
        })
        .unwrap_or(Ok(()))
    }

    /// `mdev->disable_source(entity)`.
    #[track_caller]
    pub fn disable_source(&self, entity: &Entity) {
        let mut g = self.graph();
        let Some((hook, owner)) =
            g.g.source
                .as_ref()
                .map(|s| (s.hook.clone(), s.owner.clone()))
        else {
            return;
        };
        self.call_hook(owner.as_ref(), || {
            hook.disable_source(&mut g.g.graph, entity)
        });
    }

    /// `media_device_register_entity_notify`.
    #[track_caller]
    pub fn register_entity_notify(&self, f: EntityNotifyFn, owner: Option<Gate>) -> HookToken {
        let mut g = self.graph();
        let token = g.g.next_token;
        g.g.next_token += 1;
        g.g.notify.push(Installed {
            token,
            hook: f,
            owner,
        });
        HookToken(token)
    }

    /// `media_device_unregister_entity_notify` (waits for a running callback,
    /// like [`clear_source_hooks`](Self::clear_source_hooks)).
    #[track_caller]
    pub fn unregister_entity_notify(&self, token: HookToken) -> bool {
        let mut g = self.graph();
        let before = g.g.notify.len();
        g.g.notify.retain(|n| n.token != token.0);
        g.g.notify.len() != before
    }
}
