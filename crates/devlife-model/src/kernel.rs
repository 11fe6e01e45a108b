//! [`Kernel`]: one instance of the model (buses, devices, drivers, modules,
//! character devices, IRQ controller, workqueue, timers, fault table and
//! checkers). Many kernels can coexist in one process; they share nothing.

use crate::activity::{Activity, BlockKind};
use crate::chrdev::{self, ChrdevRegistry, NewNode, Node, NodeRegistration, NodeSpec};
use crate::device::{Device, DeviceInner, DeviceSpec, UsbInterfaceSpec};
use crate::driver::{self, BindState, Driver, DriverEntry, DriverInfo, UnbindPhase};
use crate::errno::{Errno, KResult};
use crate::fault::{FaultPoint, Faults};
use crate::file::File;
use crate::fops::{FileOps, OpenFlags};
use crate::hw::{BusKind, Hardware};
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
    /// Settings.
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
    /// Fault injection.
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

    // ----- devices -------------------------------------------------------

    fn new_hardware(&self, spec: &DeviceSpec) -> Hardware {
        let s = &self.inner.shared;
        let irq = spec.irq.then(|| s.irq.allocate_line(&spec.name));
        Hardware::new(
            &s.monitor,
            s.activity.clone(),
            &spec.name,
            spec.bus,
            spec.regs,
            irq,
            spec.latency.unwrap_or(s.config.hw_latency),
        )
    }

    fn insert_device(&self, spec: &DeviceSpec, hw: Hardware, owns_hw: bool) -> KResult<Device> {
        let dev = Device {
            inner: DeviceInner::new(
                spec,
                hw,
                owns_hw,
                &self.inner.shared,
                Arc::downgrade(&self.inner),
            ),
        };
        {
            let mut t = self.inner.devices.lock();
            if t.contains_key(dev.name()) {
                return Err(Errno::EEXIST);
            }
            t.insert(dev.name().to_owned(), dev.clone());
        }
        if let Some(p) = dev.parent() {
            p.inner.children.lock().push(dev.downgrade());
        }
        Ok(dev)
    }

    /// `device_add`: adds a device with its own hardware and probes the
    /// matching drivers. `EEXIST` if the name is taken. A probe failure
    /// leaves the device unbound (as in Linux) and is in the journal.
    pub fn add_device(&self, spec: DeviceSpec) -> KResult<Device> {
        let hw = self.new_hardware(&spec);
        let dev = self.insert_device(&spec, hw, true)?;
        self.probe_device(&dev);
        Ok(dev)
    }

    /// Adds a USB device and one interface device (`port:1.N`) per entry of
    /// `interfaces`, sharing the device's hardware; interface drivers match
    /// `usb:vVVVVpPPPPicCCisSSinNN`. Returns the USB device (interfaces are
    /// its [`children`](Device::children)).
    pub fn add_usb_device(
        &self,
        mut spec: DeviceSpec,
        interfaces: &[UsbInterfaceSpec],
    ) -> KResult<Device> {
        if spec.bus != BusKind::Usb {
            return Err(Errno::EINVAL);
        }
        spec.usb_interfaces = interfaces.to_vec();
        let hw = self.new_hardware(&spec);
        let udev = self.insert_device(&spec, hw, true)?;
        match self.add_usb_interfaces(&udev) {
            Ok(children) => {
                for c in &children {
                    self.probe_device(c);
                }
                Ok(udev)
            }
            Err(e) => {
                let _ = self.hot_unplug(&udev);
                Err(e)
            }
        }
    }

    /// Inserts the interface devices of `udev` (not probed yet). On error
    /// the ones inserted are removed again.
    fn add_usb_interfaces(&self, udev: &Device) -> KResult<Vec<Device>> {
        // Forget interfaces deleted by an earlier deauthorization.
        udev.inner
            .children
            .lock()
            .retain(|w| w.upgrade().is_some_and(|d| !d.is_deleted()));
        let mut children = Vec::new();
        for (n, i) in udev.inner.usb_interfaces.iter().enumerate() {
            let mut is = DeviceSpec::usb(udev.name(), 0, 0);
            is.name = format!("{}:1.{n}", udev.name());
            is.modalias = format!(
                "{}ic{:02X}is{:02X}in{:02X}",
                udev.modalias(),
                i.class,
                i.subclass,
                n
            );
            is.parent = Some(udev.clone());
            is.irq = false;
            is.props = udev.inner.props.clone();
            is.props
                .insert("bInterfaceNumber".to_owned(), format!("{n:02x}"));
            match self.insert_device(&is, udev.hardware().clone(), false) {
                Ok(d) => children.push(d),
                Err(e) => {
                    for c in &children {
                        let _ = self.hot_unplug(c);
                    }
                    return Err(e);
                }
            }
        }
        Ok(children)
    }

    /// USB `authorized` (`echo 0|1 > /sys/bus/usb/devices/PORT/authorized`).
    /// Deauthorizing unbinds and deletes the device's interfaces (the
    /// device stays, with no configuration); authorizing again re-creates
    /// them and probes their drivers. Setting the current value does
    /// nothing. `EINVAL` for a device that is not a USB device (an
    /// interface, another bus), `ENODEV` once it is unplugged.
    pub fn usb_authorize(&self, udev: &Device, authorized: bool) -> KResult<()> {
        if udev.bus() != BusKind::Usb || udev.parent().is_some() {
            return Err(Errno::EINVAL);
        }
        let lock = udev.inner.bind_lock.lock();
        if udev.is_deleted() || !udev.hardware().is_present() {
            return Err(Errno::ENODEV);
        }
        if udev.is_authorized() == authorized {
            return Ok(());
        }
        if !authorized {
            for c in udev.children() {
                self.hot_unplug(&c)?;
            }
            udev.inner.authorized.store(false, Ordering::Release);
            return Ok(());
        }
        let children = self.add_usb_interfaces(udev)?;
        // A hot-unplug of the device that started meanwhile has either seen
        // these children (it takes the children list after marking the
        // hardware absent) or left them to us.
        if !udev.hardware().is_present() {
            for c in &children {
                let _ = self.hot_unplug(c);
            }
            return Err(Errno::ENODEV);
        }
        udev.inner.authorized.store(true, Ordering::Release);
        drop(lock);
        for c in &children {
            self.probe_device(c);
        }
        Ok(())
    }

    /// Looks a device up by name.
    pub fn device(&self, name: &str) -> Option<Device> {
        self.inner.devices.lock().get(name).cloned()
    }

    /// Every device, by name.
    pub fn devices(&self) -> Vec<Device> {
        self.inner.devices.lock().values().cloned().collect()
    }

    fn probe_device(&self, dev: &Device) {
        let drivers: Vec<_> = self.inner.drivers.lock().clone();
        let _l = dev.inner.bind_lock.lock();
        for d in drivers.iter().filter(|d| d.matches(dev)) {
            if dev.is_bound() || dev.is_deleted() {
                break;
            }
            if driver::probe(self, dev, d).is_ok() {
                break;
            }
        }
    }

    /// Hot-unplug (or logical removal): the hardware disappears, the device
    /// and its children are unbound (the seven steps) and deleted. Idempotent.
    pub fn hot_unplug(&self, dev: &Device) -> KResult<()> {
        if crate::activity::inside_device(self.id(), dev.id())
            || dev
                .children()
                .iter()
                .any(|c| crate::activity::inside_device(self.id(), c.id()))
        {
            // The unbind would wait for the calling thread itself.
            return Err(Errno::EDEADLK);
        }
        if dev.inner.owns_hw {
            dev.hardware().set_present(false);
        }
        for c in dev.children() {
            self.hot_unplug(&c)?;
        }
        {
            let _l = dev.inner.bind_lock.lock();
            if dev.inner.deleted.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            driver::release(self, dev)?;
        }
        let mut t = self.inner.devices.lock();
        if t.get(dev.name()).is_some_and(|d| Device::ptr_eq(d, dev)) {
            t.remove(dev.name());
        }
        drop(t);
        self.monitor()
            .journal()
            .note(dev.id(), dev.name(), "device deleted");
        Ok(())
    }

    // ----- drivers and modules -------------------------------------------

    /// Registers a driver (owned by `module`, if any) and binds it to every
    /// unbound matching device. `EEXIST` if a driver of that name exists,
    /// `ENODEV` if the module is being unloaded.
    pub fn register_driver<D: Driver>(&self, drv: D, module: Option<&Module>) -> KResult<()> {
        if module.is_some_and(Module::is_going) {
            return Err(Errno::ENODEV);
        }
        self.faults().check(FaultPoint::DriverRegister)?;
        let e = Arc::new(DriverEntry::new(drv, module.cloned()));
        {
            let mut ds = self.inner.drivers.lock();
            if ds.iter().any(|d| d.name == e.name) {
                return Err(Errno::EEXIST);
            }
            ds.push(e.clone());
        }
        for dev in self.devices() {
            if e.matches(&dev) {
                let _l = dev.inner.bind_lock.lock();
                if !dev.is_bound() {
                    let _ = driver::probe(self, &dev, &e);
                }
            }
        }
        Ok(())
    }

    /// Unregisters a driver, unbinding it from every device. `ENOENT` if unknown.
    pub fn unregister_driver(&self, name: &str) -> KResult<()> {
        let e = {
            let mut ds = self.inner.drivers.lock();
            let i = ds
                .iter()
                .position(|d| d.name == name)
                .ok_or(Errno::ENOENT)?;
            ds.remove(i)
        };
        for dev in self.devices() {
            let _l = dev.inner.bind_lock.lock();
            let mine = dev
                .inner
                .binding
                .lock()
                .as_ref()
                .is_some_and(|b| Arc::ptr_eq(b.driver(), &e));
            if mine {
                driver::release(self, &dev)?;
            }
        }
        Ok(())
    }

    /// Names of the registered drivers.
    pub fn drivers(&self) -> Vec<String> {
        self.inner
            .drivers
            .lock()
            .iter()
            .map(|d| d.name.clone())
            .collect()
    }

    /// What the driver core shows of every registered driver, in
    /// registration order.
    pub fn driver_infos(&self) -> Vec<DriverInfo> {
        self.inner.drivers.lock().iter().map(|d| d.info()).collect()
    }

    /// Names of the loaded modules, sorted.
    pub fn modules(&self) -> Vec<String> {
        self.inner.modules.lock().keys().cloned().collect()
    }

    /// Loads (creates) a module. `EEXIST` if loaded.
    pub fn load_module(&self, name: &str) -> KResult<Module> {
        let mut ms = self.inner.modules.lock();
        if ms.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        self.faults().check(FaultPoint::ModuleLoad)?;
        let m = Module::new(self.monitor(), name);
        ms.insert(name.to_owned(), m.clone());
        Ok(m)
    }

    /// A loaded module.
    pub fn module(&self, name: &str) -> Option<Module> {
        self.inner.modules.lock().get(name).cloned()
    }

    /// `rmmod`: refused with `EBUSY` while any reference is held (an open
    /// file of one of its nodes); otherwise unregisters its drivers (unbinding
    /// every device, the seven steps) and unloads it. `ENOENT` if not loaded.
    pub fn unload_module(&self, name: &str) -> KResult<()> {
        let m = self.module(name).ok_or(Errno::ENOENT)?;
        {
            let _b = self
                .activity()
                .block_as(BlockKind::Kernel, name, "delete_module");
            m.begin_unload()?;
        }
        let mine: Vec<String> = self
            .inner
            .drivers
            .lock()
            .iter()
            .filter(|d| d.module.as_ref().is_some_and(|dm| Module::ptr_eq(dm, &m)))
            .map(|d| d.name.clone())
            .collect();
        for d in mine {
            self.unregister_driver(&d)?;
        }
        self.inner.modules.lock().remove(name);
        self.monitor().journal().note(0, name, "module unloaded");
        Ok(())
    }

    // ----- sysfs ---------------------------------------------------------

    fn sysfs_driver(&self, driver: &str) -> KResult<Arc<DriverEntry>> {
        let e = self
            .inner
            .drivers
            .lock()
            .iter()
            .find(|d| d.name == driver)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        if e.suppress_bind_attrs {
            // The bind/unbind attribute files do not exist.
            return Err(Errno::ENOENT);
        }
        Ok(e)
    }

    /// `echo DEV > /sys/bus/*/drivers/DRV/unbind`. `ENOENT` for an unknown
    /// driver or one with `suppress_bind_attrs`; `ENODEV` if the device is
    /// unknown or not bound to that driver; `EDEADLK` from inside a file
    /// operation of the device itself.
    pub fn sysfs_unbind(&self, driver: &str, device: &str) -> KResult<()> {
        let e = self.sysfs_driver(driver)?;
        let dev = self.device(device).ok_or(Errno::ENODEV)?;
        let _l = dev.inner.bind_lock.lock();
        let mine = dev
            .inner
            .binding
            .lock()
            .as_ref()
            .is_some_and(|b| Arc::ptr_eq(b.driver(), &e));
        if !mine {
            return Err(Errno::ENODEV);
        }
        driver::release(self, &dev).map(|_| ())
    }

    /// `echo DEV > /sys/bus/*/drivers/DRV/bind`. `ENOENT` as for unbind;
    /// `ENODEV` if the device is unknown or does not match; `EBUSY` if it is
    /// bound; otherwise the probe's result.
    pub fn sysfs_bind(&self, driver: &str, device: &str) -> KResult<()> {
        let e = self.sysfs_driver(driver)?;
        let dev = self.device(device).ok_or(Errno::ENODEV)?;
        if !e.matches(&dev) {
            return Err(Errno::ENODEV);
        }
        let _l = dev.inner.bind_lock.lock();
        driver::probe(self, &dev, &e)
    }

    /// Unbinds whatever driver `dev` has (`device_release_driver`, no sysfs
    /// restrictions). Returns whether one was bound.
    pub fn release_driver(&self, dev: &Device) -> KResult<bool> {
        let _l = dev.inner.bind_lock.lock();
        driver::release(self, dev)
    }

    /// Probes the matching drivers for an unbound device (`device_attach`).
    /// Returns whether a driver is bound afterwards.
    pub fn attach(&self, dev: &Device) -> bool {
        self.probe_device(dev);
        dev.is_bound()
    }

    // ----- character devices ---------------------------------------------

    /// Registers a node with `ops`. If the spec's parent device is bound, the
    /// node joins its binding (`ENODEV` while that binding is unbinding).
    pub fn register_node<O: FileOps>(
        &self,
        spec: NodeSpec,
        ops: Arc<O>,
    ) -> KResult<NodeRegistration> {
        let binding = spec
            .parent
            .as_ref()
            .and_then(|d| d.inner.binding.lock().clone());
        let new = NewNode {
            spec,
            ops: chrdev::erase(ops),
            shared: self.inner.shared.clone(),
            kernel: Arc::downgrade(&self.inner),
        };
        match binding {
            Some(b) => {
                let mut l = b.lists.lock();
                if l.state == BindState::Unbinding {
                    return Err(Errno::ENODEV);
                }
                let (node, reg) = self.inner.chrdev.register(new)?;
                l.nodes.push(node);
                Ok(reg)
            }
            None => self.inner.chrdev.register(new).map(|(_, r)| r),
        }
    }

    /// Opens `/dev/NAME` (the prefix is optional). `ENOENT` if no such node.
    pub fn open(&self, path: &str, flags: OpenFlags) -> KResult<File> {
        let node = self.inner.chrdev.lookup(path).ok_or(Errno::ENOENT)?;
        node.open(flags)
    }

    /// A registered node by name.
    pub fn lookup(&self, name: &str) -> Option<Node> {
        self.inner.chrdev.lookup(name)
    }

    /// Every registered node.
    pub fn nodes(&self) -> Vec<Node> {
        self.inner.chrdev.nodes()
    }

    // ----- lifecycle ------------------------------------------------------

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
