//! [`Node`]: a registered character device and the dispatch of its file
//! operations through its gate.

use crate::Devt;
use crate::ErrnoPolicy;
use crate::NodeKind;
use crate::activity::{self, Frame};
use crate::chrdev::spec::NodeRelease;
use crate::device::{Device, WeakDevice};
use crate::errno::{Errno, KResult};
use crate::file::{File, FileShared};
use crate::fops::{ErasedOps, OpCtx, OpenFlags};
use crate::kernel::{KernelInner, Shared};
use crate::module::Module;
use devlife::check::{EventKind, LiveToken, Shadow};
use devlife::{Gate, UnplugError, UnplugStats};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reg {
    Registered,
    Unregistered,
}

pub(crate) struct NodeInner {
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) kind: NodeKind,
    pub(crate) devt: Devt,
    pub(crate) number: u32,
    pub(crate) gate: Gate,
    pub(crate) entry_gate: Option<Gate>,
    /// Where an entry-check node's `registered` flag lives, when a driver
    /// embeds the node's device in its own allocation: reading the flag is
    /// an access to that allocation.
    pub(crate) flag_in: Option<Shadow<()>>,
    /// The node's lock class (`node NAME`): a call holds it, unplug waits
    /// for it (see `devlife::check::Lockdep`).
    pub(crate) lock_class: &'static str,
    pub(crate) ops: Arc<dyn ErasedOps>,
    pub(crate) policy: ErrnoPolicy,
    pub(crate) owner: Option<Module>,
    pub(crate) device: Option<WeakDevice>,
    pub(crate) device_id: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) kernel: Weak<KernelInner>,
    pub(crate) reg: Mutex<Reg>,
    pub(crate) open_files: AtomicUsize,
    pub(crate) release: Mutex<Option<NodeRelease>>,
    pub(crate) label: Option<Arc<str>>,
    pub(crate) _live: LiveToken,
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
    /// The id this node has in the monitor's journal and reports.
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// Name under `/dev`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The label given at registration ([`NodeSpec::label`](crate::NodeSpec::label)), if any.
    pub fn label(&self) -> Option<&str> {
        self.inner.label.as_deref()
    }
    /// The node's kind, which fixes its name pattern and its errnos after unplug.
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
    /// The node's gate (only its `registered` flag for an entry-check node).
    pub fn gate(&self) -> &Gate {
        &self.inner.gate
    }
    /// The gate file operations run in: the node gate, or the private
    /// never-unplugged gate of an entry-check node.
    pub fn op_gate(&self) -> &Gate {
        self.inner.entry_gate.as_ref().unwrap_or(&self.inner.gate)
    }
    /// Whether the node uses the entry-check dispatch (see
    /// [`crate::legacy::EntryCheck`]).
    pub fn is_entry_check(&self) -> bool {
        self.inner.entry_gate.is_some()
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
        // Unbind unplugs a node up to three times (the binding's steps 1-4,
        // the driver's unregistration, step 6). Once the gate is drained there
        // is nothing to refuse, wake or wait for and no access can be held, so
        // a later call returns what the gate's would, without the history
        // note or the published wait.
        let drained = self.inner.gate.is_drained();
        if !drained {
            m.journal().note(self.inner.id, &self.inner.name, "unplug");
        }
        // Waiting for the drain is a blocking acquisition of the node's class
        // (also when it is over: the lock order is the caller's).
        let _held = m.lockdep().acquire_at(
            m,
            self.inner.lock_class,
            true,
            std::panic::Location::caller(),
        );
        if drained {
            return Ok(UnplugStats::default());
        }
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
        crate::stop::point(crate::stop::UNREGISTER_UNPLUGGED);
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
            crate::stop::point(crate::stop::UNREGISTER_DONE);
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
        let gate = match &self.inner.entry_gate {
            Some(lg) => {
                // Legacy: the registered flag, checked once at entry (in the
                // driver's allocation if the device is embedded there).
                if let Some(m) = &self.inner.flag_in {
                    m.check("read of the registered flag");
                }
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
        crate::stop::point(crate::stop::entered(op));
        f(&ctx)
    }
}
