//! [`ChrdevRegistry`]: majors, minors and the `/dev` name map of one kernel.

use crate::Devt;
use crate::Node;
use crate::NodeKind;
use crate::NodeRegistration;
use crate::NodeSpec;
use crate::chrdev::NodeInner;
use crate::chrdev::node::Reg;
use crate::chrdev::spec::Dispatch;
use crate::errno::{Errno, KResult};
use crate::fops::{ErasedOps, FileOps};
use crate::kernel::{KernelInner, Shared};
use devlife::Gate;
use devlife::check::EventKind;
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};
use std::time::Duration;

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

    pub(crate) fn remove(&self, node: &Node) {
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
        let (entry_gate, flag_in) = match std::mem::take(&mut spec.dispatch) {
            Dispatch::Gated => (None, None),
            Dispatch::EntryCheck { flag_in } => (
                Some(Gate::named(format!("{name} (legacy op gate)"))),
                flag_in,
            ),
        };
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
                entry_gate,
                flag_in,
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
