//! Character devices: node kinds and their errno policies, major/minor
//! allocation, the `/dev`-like name map, node registration and
//! unregistration, and the dispatch of every file operation through the
//! node's [`Gate`].
//!
//! # Two dispatch styles
//!
//! * **Gated** (framework, the default): every operation runs inside an
//!   access of the node's gate; unregistering the node refuses new calls,
//!   wakes sleepers (their [`EventQueue`](crate::EventQueue) waits listen on
//!   the node gate) and waits for calls in flight.
//! * **Entry check** (legacy, [`NodeSpec::legacy_entry_check`]): the
//!   pre-fix kernel. The node's gate is only a `registered` flag checked when
//!   a call starts; the call then runs in a private gate that is never
//!   unplugged, so unregistering neither waits for it nor wakes it.
//!
//! # Lifetime
//!
//! A [`Node`] is reference counted. The `/dev` map holds it while it is
//! registered, the binding of its parent device holds it until unbind, and
//! every open file and mapping holds it. Its release callback
//! ([`NodeSpec::release`]) runs on the last reference. The minor number and
//! the name are freed at unregistration (so a new device can reuse them
//! while stale files still point to the old node).

use crate::activity::{self, Frame};
use crate::device::{Device, WeakDevice};
use crate::errno::{Errno, KResult};
use crate::file::{File, FileShared};
use crate::fops::{ErasedOps, FileOps, OpCtx, OpenFlags, PollMask};
use crate::kernel::{KernelInner, Shared};
use crate::module::Module;
use devlife::check::{EventKind, LiveToken};
use devlife::{Gate, UnplugError, UnplugStats};
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The kind of a character device node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// A misc device (major 10); the name must be given.
    Misc,
    /// A generic character device with a dynamic major; the name must be given.
    Char,
    /// A V4L2 video node (`/dev/videoN`, major 81).
    Video,
    /// A V4L2 sub-device node (`/dev/v4l-subdevN`, major 81).
    Subdev,
    /// A media controller node (`/dev/mediaN`, dynamic major).
    Media,
    /// An audio PCM capture node (`/dev/snd/pcmCND0c` flattened to `pcmCND0c`, major 116).
    Audio,
}

impl NodeKind {
    /// The major number of this kind (dynamic ones are fixed per kernel).
    fn fixed_major(self) -> Option<u32> {
        match self {
            NodeKind::Misc => Some(10),
            NodeKind::Video | NodeKind::Subdev => Some(81),
            NodeKind::Audio => Some(116),
            NodeKind::Media | NodeKind::Char => None,
        }
    }

    /// Name of the `n`th node of this kind, or `None` if the kind needs a given name.
    fn default_name(self, n: u32) -> Option<String> {
        match self {
            NodeKind::Video => Some(format!("video{n}")),
            NodeKind::Subdev => Some(format!("v4l-subdev{n}")),
            NodeKind::Media => Some(format!("media{n}")),
            NodeKind::Audio => Some(format!("pcmC{n}D0c")),
            NodeKind::Misc | NodeKind::Char => None,
        }
    }

    /// What userspace sees on this kind after unplug (DESIGN.md, "Errors").
    pub fn default_policy(self) -> ErrnoPolicy {
        match self {
            NodeKind::Video => {
                ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP | PollMask::PRI)
            }
            // v4l2_read/v4l2_write answer EINVAL before the registration
            // check when the node has no read or write operation, which a
            // subdev node never has.
            NodeKind::Subdev => ErrnoPolicy {
                read: Errno::EINVAL,
                write: Errno::EINVAL,
                ..ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP | PollMask::PRI)
            },
            // media_read/media_write answer EINVAL before the registration
            // check: the media device has no read or write operation.
            NodeKind::Media => ErrnoPolicy {
                open: Errno::ENXIO,
                ioctl: Errno::EIO,
                read: Errno::EINVAL,
                write: Errno::EINVAL,
                mmap: Errno::ENODEV,
                poll: PollMask::ERR | PollMask::HUP,
            },
            // ALSA's snd_disconnect_poll.
            NodeKind::Audio => ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::NVAL),
            NodeKind::Misc | NodeKind::Char => {
                ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP)
            }
        }
    }
}

/// `(major, minor)` of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Devt {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

impl std::fmt::Display for Devt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// What each operation returns once the node is unplugged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrnoPolicy {
    /// `open`.
    pub open: Errno,
    /// `ioctl`.
    pub ioctl: Errno,
    /// `read`.
    pub read: Errno,
    /// `write`.
    pub write: Errno,
    /// `mmap`.
    pub mmap: Errno,
    /// The mask `poll` reports.
    pub poll: PollMask,
}

impl ErrnoPolicy {
    /// One errno for every call, and a poll mask.
    pub const fn uniform(e: Errno, poll: PollMask) -> Self {
        Self {
            open: e,
            ioctl: e,
            read: e,
            write: e,
            mmap: e,
            poll,
        }
    }

    /// The errno for an operation label (ioctl names map to `ioctl`).
    pub fn errno_for(&self, op: &str) -> Errno {
        match op {
            "open" => self.open,
            "read" => self.read,
            "write" => self.write,
            "mmap" => self.mmap,
            _ => self.ioctl,
        }
    }
}

type NodeRelease = Box<dyn FnOnce() + Send>;

/// How to register a node ([`crate::Kernel::register_node`]).
#[must_use]
pub struct NodeSpec {
    pub(crate) kind: NodeKind,
    pub(crate) name: Option<String>,
    pub(crate) owner: Option<Module>,
    pub(crate) parent: Option<Device>,
    pub(crate) legacy: bool,
    pub(crate) policy: Option<ErrnoPolicy>,
    pub(crate) release: Option<NodeRelease>,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) label: Option<String>,
}

impl NodeSpec {
    /// A node of `kind`, named automatically (video0, media1, ...) unless
    /// [`name`](Self::name) is given.
    pub fn new(kind: NodeKind) -> Self {
        Self {
            kind,
            name: None,
            owner: None,
            parent: None,
            legacy: false,
            policy: None,
            release: None,
            watchdog: None,
            label: None,
        }
    }
    /// The human-readable name of what the node gives access to, as its
    /// subsystem shows it in sysfs (`name` of a video4linux device: the
    /// video device's or subdev's name; `model` of a media device).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// The node name under `/dev`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The module that owns the file operations: every open file holds a
    /// reference to it, so it cannot be unloaded meanwhile.
    pub fn owner(mut self, module: &Module) -> Self {
        self.owner = Some(module.clone());
        self
    }
    /// The parent device. If it is bound (or probing), the node joins the
    /// binding: it is unplugged before the driver's `remove` and unregistered
    /// after it.
    pub fn parent(mut self, dev: &Device) -> Self {
        self.parent = Some(dev.clone());
        self
    }
    /// Legacy dispatch: the `registered` flag is checked at call entry only.
    pub fn legacy_entry_check(mut self) -> Self {
        self.legacy = true;
        self
    }
    /// Sets the dispatch style from a flag (`true` = legacy).
    pub fn legacy_if(mut self, legacy: bool) -> Self {
        self.legacy = legacy;
        self
    }
    /// Overrides the kind's errno policy after unplug.
    pub fn policy(mut self, p: ErrnoPolicy) -> Self {
        self.policy = Some(p);
        self
    }
    /// The node's release callback (`video_device.release`), run on the last
    /// reference to the node.
    pub fn release(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.release = Some(Box::new(f));
        self
    }
    /// Names the calls that keep an unplug of this node waiting longer than `d`.
    pub fn watchdog(mut self, d: Duration) -> Self {
        self.watchdog = Some(d);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reg {
    Registered,
    Unregistered,
}

pub(crate) struct NodeInner {
    id: u64,
    name: Arc<str>,
    kind: NodeKind,
    devt: Devt,
    number: u32,
    gate: Gate,
    legacy_gate: Option<Gate>,
    /// The node's lock class (`node NAME`): a call holds it, unplug waits
    /// for it (see `devlife::check::Lockdep`).
    lock_class: &'static str,
    pub(crate) ops: Arc<dyn ErasedOps>,
    policy: ErrnoPolicy,
    owner: Option<Module>,
    device: Option<WeakDevice>,
    device_id: u64,
    pub(crate) shared: Arc<Shared>,
    kernel: Weak<KernelInner>,
    reg: Mutex<Reg>,
    pub(crate) open_files: AtomicUsize,
    release: Mutex<Option<NodeRelease>>,
    label: Option<Arc<str>>,
    _live: LiveToken,
}

impl Drop for NodeInner {
    fn drop(&mut self) {
        if let Some(r) = self.release.get_mut().take() {
            r();
        }
        self.shared
            .monitor
            .journal()
            .record_named(self.id, &self.name, EventKind::Release, None);
        self.shared.activity.forget_object(self.id);
        if let Some(k) = self.kernel.upgrade() {
            k.nodes_by_id.lock().remove(&self.id);
        }
    }
}

/// A character device node (`struct cdev` + `struct device` of a devnode).
/// Cloning takes a reference.
///
/// # Invariants
///
/// * Once unplugged, a node never accepts a call again.
/// * The release callback runs once, after the last reference (map entry,
///   binding, file, mapping, clone) is dropped.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.inner.name)
            .field("kind", &self.inner.kind)
            .field("devt", &self.inner.devt)
            .field("unplugged", &self.is_unplugged())
            .finish()
    }
}

/// A weak reference to a node.
#[derive(Clone, Default)]
pub struct WeakNode {
    inner: Weak<NodeInner>,
}

impl WeakNode {
    /// The node, unless it was released.
    pub fn upgrade(&self) -> Option<Node> {
        self.inner.upgrade().map(|inner| Node { inner })
    }
}

impl std::fmt::Debug for WeakNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakNode(alive={})", self.inner.strong_count() > 0)
    }
}

impl Node {
    /// Journal id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// Name under `/dev`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The label given at registration ([`NodeSpec::label`]), if any.
    pub fn label(&self) -> Option<&str> {
        self.inner.label.as_deref()
    }
    /// Kind.
    pub fn kind(&self) -> NodeKind {
        self.inner.kind
    }
    /// Major and minor.
    pub fn devt(&self) -> Devt {
        self.inner.devt
    }
    /// The node number within its kind (the `N` of `videoN`).
    pub fn number(&self) -> u32 {
        self.inner.number
    }
    /// Errno policy after unplug.
    pub fn policy(&self) -> &ErrnoPolicy {
        &self.inner.policy
    }
    /// The node's gate (its `registered` flag in the legacy style).
    pub fn gate(&self) -> &Gate {
        &self.inner.gate
    }
    /// The gate file operations run in: the node gate, or the private
    /// never-unplugged gate in the legacy style.
    pub fn op_gate(&self) -> &Gate {
        self.inner.legacy_gate.as_ref().unwrap_or(&self.inner.gate)
    }
    /// Whether the node uses the legacy entry-check dispatch.
    pub fn is_legacy(&self) -> bool {
        self.inner.legacy_gate.is_some()
    }
    /// Whether the node was unplugged (new calls fail).
    pub fn is_unplugged(&self) -> bool {
        self.inner.gate.is_unplugged()
    }
    /// Whether the node is still in the `/dev` map.
    pub fn is_registered(&self) -> bool {
        *self.inner.reg.lock() == Reg::Registered
    }
    /// Calls in flight right now (in the gate the operations run in).
    pub fn in_flight(&self) -> usize {
        self.op_gate().in_flight()
    }
    /// Open files (not handles: dups count once).
    pub fn open_files(&self) -> usize {
        self.inner.open_files.load(Ordering::Acquire)
    }
    /// The owning module.
    pub fn owner(&self) -> Option<&Module> {
        self.inner.owner.as_ref()
    }
    /// The parent device, if still alive.
    pub fn parent(&self) -> Option<Device> {
        self.inner.device.as_ref().and_then(WeakDevice::upgrade)
    }
    /// The kernel the node belongs to, if it still exists.
    pub fn kernel(&self) -> Option<crate::Kernel> {
        self.inner
            .kernel
            .upgrade()
            .map(|inner| crate::Kernel { inner })
    }
    /// A weak reference.
    pub fn downgrade(&self) -> WeakNode {
        WeakNode {
            inner: Arc::downgrade(&self.inner),
        }
    }
    /// Strong references right now (map, binding, files, mappings, clones).
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
    /// Whether two handles name the same node.
    pub fn ptr_eq(a: &Node, b: &Node) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
    /// Registers a cancel hook run at step 2 of the unplug (cancel pending
    /// I/O). Fails with the open errno if the node is already unplugged.
    pub fn on_unplug(&self, hook: impl FnOnce() + Send + 'static) -> KResult<devlife::HookId> {
        self.inner
            .gate
            .on_unplug(hook)
            .map_err(|_| self.inner.policy.open)
    }
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }
    pub(crate) fn device_id(&self) -> u64 {
        self.inner.device_id
    }

    /// Steps 1-4 of unbind for this node: refuse new calls, wake sleepers and
    /// run cancel hooks, wait for calls in flight. Idempotent.
    ///
    /// Fails with `EDEADLK` when called from inside a call on this node (new
    /// calls are refused anyway; the drain must be done by another thread).
    #[track_caller]
    pub fn unplug(&self) -> KResult<UnplugStats> {
        let m = &self.inner.shared.monitor;
        let j = m.journal();
        j.note(self.inner.id, &self.inner.name, "unplug");
        // Waiting for the drain is a blocking acquisition of the node's class.
        let _held = m.lockdep().acquire_at(
            m,
            self.inner.lock_class,
            true,
            std::panic::Location::caller(),
        );
        let r = self.inner.shared.activity.unplug_published(
            &self.inner.gate,
            &self.inner.name,
            "unplug",
        );
        match r {
            Ok(s) => Ok(s),
            Err(UnplugError::InsideAccess(_)) | Err(UnplugError::Reentrant(_)) => {
                Err(Errno::EDEADLK)
            }
        }
    }

    /// Unregisters the node: [`unplug`](Self::unplug) (steps 1-4), then
    /// removes it from `/dev` and frees its minor and name (step 6).
    /// Idempotent. Memory goes with the last reference (step 7).
    #[track_caller]
    pub fn unregister(&self) -> KResult<()> {
        let r = self.unplug().map(|_| ());
        let first = {
            let mut reg = self.inner.reg.lock();
            let first = *reg == Reg::Registered;
            *reg = Reg::Unregistered;
            first
        };
        if first {
            if let Some(k) = self.inner.kernel.upgrade() {
                k.chrdev.remove(self);
                k.detach_node(self);
            }
            self.inner.shared.monitor.journal().note(
                self.inner.id,
                &self.inner.name,
                "unregistered",
            );
        }
        r
    }

    /// Opens the node (also works on a node that is no longer in `/dev`, as
    /// an open racing with unregistration would). After unplug it fails with
    /// the policy's open errno.
    pub fn open(&self, flags: OpenFlags) -> KResult<File> {
        let module = match &self.inner.owner {
            Some(m) => Some(m.try_get().ok_or(Errno::ENXIO)?),
            None => None,
        };
        let private = self.call("open", flags, 0, |ctx| self.inner.ops.open(ctx))?;
        let shared = FileShared::new(self.clone(), flags, private, module);
        Ok(File::from_shared(shared))
    }

    /// Runs `f` inside the gate the operations run in, as operation `op`.
    /// Returns the policy errno if the node is unplugged.
    pub(crate) fn call<R>(
        &self,
        op: &'static str,
        flags: OpenFlags,
        file_id: u64,
        f: impl FnOnce(&OpCtx<'_>) -> KResult<R>,
    ) -> KResult<R> {
        let gone = self.inner.policy.errno_for(op);
        let _frame = activity::push_frame(Frame {
            kernel: self.inner.shared.id,
            object: self.inner.id,
            op,
            device: self.inner.device_id,
        });
        let gate = match &self.inner.legacy_gate {
            Some(lg) => {
                // Legacy: the registered flag, checked once at entry.
                if self.inner.gate.is_unplugged() {
                    return Err(gone);
                }
                lg
            }
            None => &self.inner.gate,
        };
        // Every call is labelled with its operation, so that the watchdog,
        // `Gate::blockers` and the hang checker name it (a label costs one
        // store on enter and one on exit).
        let access = gate.enter_as(op).map_err(|_| gone)?;
        // The call holds the node's lock class (entering waits for nothing).
        let m = &self.inner.shared.monitor;
        let _held = m.lockdep().acquire_at(
            m,
            self.inner.lock_class,
            false,
            std::panic::Location::caller(),
        );
        let ctx = OpCtx {
            access: &access,
            node: self,
            flags,
            op,
            file_id,
        };
        f(&ctx)
    }
}

/// The handle a registrant keeps to unregister its node. Dropping it
/// unregisters the node. It holds the node weakly, so storing it inside the
/// node's own ops makes no cycle.
#[must_use = "dropping the registration unregisters the node"]
pub struct NodeRegistration {
    node: WeakNode,
    name: String,
    devt: Devt,
    armed: bool,
}

impl std::fmt::Debug for NodeRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRegistration")
            .field("name", &self.name)
            .field("devt", &self.devt)
            .finish()
    }
}

impl NodeRegistration {
    /// The node, unless it was released (it cannot be while registered).
    pub fn node(&self) -> Option<Node> {
        self.node.upgrade()
    }
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The node's devt.
    pub fn devt(&self) -> Devt {
        self.devt
    }
    /// A weak reference to the node.
    pub fn weak(&self) -> WeakNode {
        self.node.clone()
    }
    /// Unregisters now (see [`Node::unregister`]).
    pub fn unregister(mut self) -> KResult<()> {
        self.armed = false;
        match self.node.upgrade() {
            Some(n) => n.unregister(),
            None => Ok(()),
        }
    }
    /// Leaves the node registered when this handle drops (the binding or
    /// another owner unregisters it).
    pub fn forget(mut self) {
        self.armed = false;
    }
}

impl Drop for NodeRegistration {
    fn drop(&mut self) {
        if self.armed
            && let Some(n) = self.node.upgrade()
        {
            let _ = n.unregister();
        }
    }
}

#[derive(Default)]
struct ChrState {
    by_name: BTreeMap<String, Node>,
    /// Bumped at every registration and unregistration.
    generation: u64,
    minors: HashMap<u32, BTreeSet<u32>>,
    numbers: HashMap<NodeKind, BTreeSet<u32>>,
    dyn_majors: HashMap<NodeKind, u32>,
    next_dyn_major: u32,
}

/// Minors per major.
pub const MINORS: u32 = 256;

/// The character device registry of one kernel: majors, minors, names.
#[derive(Default)]
pub struct ChrdevRegistry {
    state: Mutex<ChrState>,
    changed: Condvar,
}

impl std::fmt::Debug for ChrdevRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChrdevRegistry")
            .field("nodes", &self.state.lock().by_name.len())
            .finish()
    }
}

impl ChrdevRegistry {
    /// Looks a node up by name (with or without a `/dev/` prefix).
    pub fn lookup(&self, name: &str) -> Option<Node> {
        let name = name.strip_prefix("/dev/").unwrap_or(name);
        self.state.lock().by_name.get(name).cloned()
    }

    /// Every registered node, by name.
    pub fn nodes(&self) -> Vec<Node> {
        self.state.lock().by_name.values().cloned().collect()
    }

    /// A counter bumped by every registration and unregistration (what a
    /// `/dev` watcher such as devtmpfs's users polls).
    pub fn generation(&self) -> u64 {
        self.state.lock().generation
    }

    /// Waits until the [`generation`](Self::generation) differs from `seen`
    /// or `timeout` passes; returns the current generation.
    pub fn wait_change(&self, seen: u64, timeout: Duration) -> u64 {
        let mut s = self.state.lock();
        if s.generation == seen {
            self.changed.wait_for(&mut s, timeout);
        }
        s.generation
    }

    fn bump(&self, s: &mut ChrState) {
        s.generation = s.generation.wrapping_add(1);
        self.changed.notify_all();
    }

    fn remove(&self, node: &Node) {
        let mut s = self.state.lock();
        if s.by_name
            .get(node.name())
            .is_some_and(|n| Node::ptr_eq(n, node))
        {
            s.by_name.remove(node.name());
        }
        let d = node.devt();
        if let Some(m) = s.minors.get_mut(&d.major) {
            m.remove(&d.minor);
        }
        if let Some(n) = s.numbers.get_mut(&node.kind()) {
            n.remove(&node.number());
        }
        self.bump(&mut s);
    }
}

/// Everything needed to build a node, collected by the kernel.
pub(crate) struct NewNode {
    pub spec: NodeSpec,
    pub ops: Arc<dyn ErasedOps>,
    pub shared: Arc<Shared>,
    pub kernel: Weak<KernelInner>,
}

impl ChrdevRegistry {
    /// Allocates a minor and a name, builds the node and publishes it in the
    /// map. Fault points: `MinorAlloc`, `NodeRegister`.
    pub(crate) fn register(&self, n: NewNode) -> KResult<(Node, NodeRegistration)> {
        use crate::fault::FaultPoint;
        let NewNode {
            mut spec,
            ops,
            shared,
            kernel,
        } = n;
        shared.faults.check(FaultPoint::MinorAlloc)?;
        let mut s = self.state.lock();
        let major = match spec.kind.fixed_major() {
            Some(m) => m,
            None => {
                if s.next_dyn_major == 0 {
                    s.next_dyn_major = 511;
                }
                let next = s.next_dyn_major;
                let m = *s.dyn_majors.entry(spec.kind).or_insert(next);
                if m == next {
                    s.next_dyn_major -= 1;
                }
                m
            }
        };
        let minors = s.minors.entry(major).or_default();
        let minor = (0..MINORS)
            .find(|m| !minors.contains(m))
            .ok_or(Errno::ENFILE)?;
        let numbers = s.numbers.entry(spec.kind).or_default();
        let number = (0..MINORS)
            .find(|m| !numbers.contains(m))
            .ok_or(Errno::ENFILE)?;
        let name = match spec.name.take().or_else(|| spec.kind.default_name(number)) {
            Some(n) if !n.is_empty() && !n.contains('\0') => n,
            _ => return Err(Errno::EINVAL),
        };
        let name = name.strip_prefix("/dev/").unwrap_or(&name).to_owned();
        if s.by_name.contains_key(&name) {
            return Err(Errno::EEXIST);
        }
        shared.faults.check(FaultPoint::NodeRegister)?;
        let id = shared.monitor.next_id();
        let gate = {
            let mut b = Gate::builder()
                .name(name.clone())
                .monitor(&shared.monitor)
                .trace(shared.config.trace_gates);
            if let Some(w) = spec.watchdog.or(shared.config.watchdog) {
                b = b.watchdog(w);
            }
            b.build()
        };
        let legacy_gate = spec
            .legacy
            .then(|| Gate::named(format!("{name} (legacy op gate)")));
        let (device, device_id) = match &spec.parent {
            Some(d) => (Some(d.downgrade()), d.id()),
            None => (None, 0),
        };
        let devt = Devt { major, minor };
        let node = Node {
            inner: Arc::new(NodeInner {
                id,
                name: name.clone().into(),
                kind: spec.kind,
                devt,
                number,
                gate,
                legacy_gate,
                lock_class: devlife::check::lock_class(&format!("node {name}")),
                ops,
                policy: spec.policy.unwrap_or_else(|| spec.kind.default_policy()),
                owner: spec.owner.take(),
                device,
                device_id,
                _live: shared.monitor.live("node"),
                shared: shared.clone(),
                kernel,
                reg: Mutex::new(Reg::Registered),
                open_files: AtomicUsize::new(0),
                release: Mutex::new(spec.release.take()),
                label: spec.label.take().map(Into::into),
            }),
        };
        s.minors.entry(major).or_default().insert(minor);
        s.numbers.entry(spec.kind).or_default().insert(number);
        s.by_name.insert(name.clone(), node.clone());
        self.bump(&mut s);
        drop(s);
        shared.activity.name_object(id, node.inner.name.clone());
        if let Some(k) = node.inner.kernel.upgrade() {
            k.nodes_by_id.lock().insert(id, node.downgrade());
        }
        shared
            .monitor
            .journal()
            .record_named(id, &name, EventKind::Alloc, Some("registered"));
        let reg = NodeRegistration {
            node: node.downgrade(),
            name,
            devt,
            armed: true,
        };
        Ok((node, reg))
    }
}

/// Helper so callers can name the ops type in one place.
pub(crate) fn erase<O: FileOps>(ops: Arc<O>) -> Arc<dyn ErasedOps> {
    ops
}
