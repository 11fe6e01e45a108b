//! [`Kernel`]: one instance of the model (buses, devices, drivers, modules,
//! character devices, IRQ controller, workqueue, timers, fault table and
//! checkers). Many kernels can coexist in one process; they share nothing.

use crate::activity::{Activity, BlockKind};
use crate::chrdev::{ChrdevRegistry, Node};
use crate::device::Device;
use crate::driver::{DriverEntry, UnbindPhase};
use crate::fault::Faults;
use crate::irq::IrqController;
use crate::module::Module;
use crate::work::{TimerBase, Workqueue};
use devlife::Monitor;
use devlife::check::LiveCount;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Settings of a kernel.
#[derive(Clone, Debug, Default)]
pub struct KernelConfig {
    /// Name (for reports).
    pub name: String,
    /// Watchdog of every node and binding gate: name the calls that keep an
    /// unplug waiting longer than this.
    pub watchdog: Option<Duration>,
    /// Default access latency of new hardware.
    pub hw_latency: Duration,
    /// Journal every enter and exit of node and binding gates (slow; for
    /// scenario replay and debugging).
    pub trace_gates: bool,
}

/// Services shared by every object of one kernel. Holds no device, node or
/// driver, so holding it makes no cycle.
pub(crate) struct Shared {
    pub id: u64,
    pub monitor: Monitor,
    pub activity: Arc<Activity>,
    pub faults: Faults,
    pub config: KernelConfig,
    pub irq: IrqController,
    pub wq: Workqueue,
    pub timers: TimerBase,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.wq.shutdown();
        self.timers.shutdown();
    }
}

type UnbindHook = Arc<dyn Fn(&Device, UnbindPhase) + Send + Sync>;

pub(crate) struct KernelInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) chrdev: ChrdevRegistry,
    devices: Mutex<BTreeMap<String, Device>>,
    drivers: Mutex<Vec<Arc<DriverEntry>>>,
    modules: Mutex<BTreeMap<String, Module>>,
    hook: Mutex<Option<UnbindHook>>,
    /// Every node of this kernel, registered or not, until released.
    pub(crate) nodes_by_id: Mutex<std::collections::HashMap<u64, crate::chrdev::WeakNode>>,
}

/// One model instance. Cloning gives another handle to the same kernel.
///
/// ```
/// use devlife_model::{Kernel, testdrv::{self, Style}, OpenFlags, Errno};
/// let k = Kernel::new();
/// let t = testdrv::setup(&k, Style::Framework).unwrap();
/// let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
/// k.hot_unplug(&t.device).unwrap();          // the seven steps
/// assert_eq!(f.read(&mut [0; 4]), Err(Errno::ENODEV));
/// drop(f);                                   // release runs now, no I/O
/// assert!(k.monitor().reports().is_empty());
/// ```
#[derive(Clone)]
pub struct Kernel {
    pub(crate) inner: Arc<KernelInner>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.inner.shared.config.name)
            .field("devices", &self.inner.devices.lock().len())
            .field("drivers", &self.inner.drivers.lock().len())
            .finish()
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Self::new()
    }
}

fn next_kernel_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Kernel {
    /// A kernel with default settings and a fresh monitor.
    pub fn new() -> Self {
        Self::with_config(KernelConfig::default())
    }

    /// A kernel with `config` and a fresh monitor.
    pub fn with_config(config: KernelConfig) -> Self {
        Self::with_monitor(config, Monitor::new())
    }

    /// A kernel whose checkers report into `monitor`.
    pub fn with_monitor(config: KernelConfig, monitor: Monitor) -> Self {
        let id = next_kernel_id();
        let activity = Arc::new(Activity::default());
        let shared = Arc::new(Shared {
            id,
            irq: IrqController::new(&monitor, activity.clone(), id),
            wq: Workqueue::new(&format!("events-{id}"), activity.clone()),
            timers: TimerBase::new(activity.clone()),
            monitor,
            activity,
            faults: Faults::default(),
            config,
        });
        Self {
            inner: Arc::new(KernelInner {
                shared,
                chrdev: ChrdevRegistry::default(),
                devices: Mutex::new(BTreeMap::new()),
                drivers: Mutex::new(Vec::new()),
                modules: Mutex::new(BTreeMap::new()),
                hook: Mutex::new(None),
                nodes_by_id: Mutex::new(std::collections::HashMap::new()),
            }),
        }
    }

    /// Process-unique id of this kernel.
    pub fn id(&self) -> u64 {
        self.inner.shared.id
    }
    /// The settings this kernel was created with.
    pub fn config(&self) -> &KernelConfig {
        &self.inner.shared.config
    }
    /// The checkers (journal, ledger, reports).
    pub fn monitor(&self) -> &Monitor {
        &self.inner.shared.monitor
    }
    /// Who is blocked where.
    pub fn activity(&self) -> &Activity {
        &self.inner.shared.activity
    }
    pub(crate) fn shared_activity(&self) -> &Arc<Activity> {
        &self.inner.shared.activity
    }
    /// The fault points and the rules that make them fail.
    pub fn faults(&self) -> &Faults {
        &self.inner.shared.faults
    }
    /// The interrupt controller.
    pub fn irq(&self) -> &IrqController {
        &self.inner.shared.irq
    }
    /// The system workqueue.
    pub fn system_wq(&self) -> &Workqueue {
        &self.inner.shared.wq
    }
    /// The timer base.
    pub fn timers(&self) -> &TimerBase {
        &self.inner.shared.timers
    }
    /// The character device registry (`/dev`).
    pub fn chrdev(&self) -> &ChrdevRegistry {
        &self.inner.chrdev
    }
    /// Waits until thread `thread` is blocked inside operation `op`
    /// (see [`Activity::wait_blocked`]).
    pub fn wait_blocked(&self, thread: &str, op: &str, timeout: Duration) -> bool {
        self.activity().wait_blocked(thread, op, timeout)
    }

    /// Installs a hook called at each step of every unbind (tests and the
    /// scenario runner use it to observe or pause an unbind at a precise step).
    pub fn set_unbind_hook(&self, f: impl Fn(&Device, UnbindPhase) + Send + Sync + 'static) {
        *self.inner.hook.lock() = Some(Arc::new(f));
    }

    /// Removes the unbind hook.
    pub fn clear_unbind_hook(&self) {
        *self.inner.hook.lock() = None;
    }

    pub(crate) fn run_unbind_hook(&self, dev: &Device, p: UnbindPhase) {
        let h = self.inner.hook.lock().clone();
        if let Some(h) = h {
            h(dev, p);
        }
    }
}

mod devices;
mod drivers;
mod nodes;

impl Kernel {
    /// Hot-unplugs every device, unregisters every driver and unloads every
    /// module that is not in use. Afterwards, once the caller dropped its
    /// files, mappings and handles, [`leaks`](Self::leaks) is empty.
    pub fn shutdown(&self) {
        let top: Vec<Device> = self
            .devices()
            .into_iter()
            .filter(|d| d.parent().is_none())
            .collect();
        for d in top {
            let _ = self.hot_unplug(&d);
        }
        for d in self.devices() {
            let _ = self.hot_unplug(&d);
        }
        for name in self.drivers() {
            let _ = self.unregister_driver(&name);
        }
        let mods: Vec<String> = self.inner.modules.lock().keys().cloned().collect();
        for m in mods {
            let _ = self.unload_module(&m);
        }
    }

    /// The hang checker: every thread still asleep (in a wait queue) inside
    /// a call on a node that was unplugged is reported as a
    /// [`ReportKind::Hang`](devlife::check::ReportKind::Hang) — unplug did
    /// not wake it (the pre-fix bug of drivers that only clear a
    /// `registered` flag). Call it when the system should be quiescent
    /// (after the unbinds returned). Returns the number of hung threads.
    pub fn check_hangs(&self) -> usize {
        use devlife::check::{Report, ReportKind};
        let nodes: std::collections::HashMap<u64, Node> = self
            .inner
            .nodes_by_id
            .lock()
            .iter()
            .filter_map(|(id, w)| w.upgrade().map(|n| (*id, n)))
            .collect();
        let mut n = 0;
        for b in self.activity().blocked() {
            if b.kind != BlockKind::Wait {
                continue;
            }
            if let Some(node) = nodes.get(&b.object_id)
                && node.is_unplugged()
            {
                n += 1;
                self.monitor().report(Report::new(
                    ReportKind::Hang,
                    node.id(),
                    node.name(),
                    format!(
                        "thread `{}` still sleeps in `{}` of `{}` after the node was unplugged",
                        b.thread,
                        b.op,
                        node.name()
                    ),
                    None,
                ));
            }
        }
        n
    }

    /// Object types with live objects (devices, nodes, files, mappings,
    /// bindings, modules and everything upper layers account).
    pub fn leaks(&self) -> Vec<LiveCount> {
        self.monitor().ledger().leaks()
    }

    pub(crate) fn detach_node(&self, node: &Node) {
        if let Some(dev) = node.parent() {
            let b = dev.inner.binding.lock().clone();
            if let Some(b) = b {
                b.lists.lock().nodes.retain(|n| !Node::ptr_eq(n, node));
            }
        }
        let _ = node.device_id();
    }
}

impl KernelInner {
    pub(crate) fn detach_node(self: &Arc<Self>, node: &Node) {
        Kernel {
            inner: self.clone(),
        }
        .detach_node(node);
    }
}

/// A weak handle to a kernel (for objects that must not keep it alive).
#[derive(Clone)]
pub struct WeakKernel {
    inner: Weak<KernelInner>,
}

impl std::fmt::Debug for WeakKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WeakKernel(alive={})", self.inner.strong_count() > 0)
    }
}

impl WeakKernel {
    /// The kernel, if it still exists.
    pub fn upgrade(&self) -> Option<Kernel> {
        self.inner.upgrade().map(|inner| Kernel { inner })
    }
}

impl Kernel {
    /// A weak handle.
    pub fn downgrade(&self) -> WeakKernel {
        WeakKernel {
            inner: Arc::downgrade(&self.inner),
        }
    }
}
