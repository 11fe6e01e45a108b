//! Drivers, binding and the framework-driven unbind.
//!
//! A [`Driver`] matches devices by modalias patterns; `probe` gets a
//! [`ProbeCtx`] (with the [`Bound`] proof of the new binding) and returns the
//! driver's per-device data; `remove` gets a [`RemoveCtx`] and that data.
//!
//! # The seven steps (DESIGN.md rule 3), done by the framework
//!
//! Every unbind path (module unload, hot-unplug, sysfs `unbind`, driver
//! unregistration) runs [`teardown`] under the device lock:
//!
//! 1. mark every node of the binding gone — each node gate refuses new calls;
//! 2. wake every sleeper of those nodes and run their cancel hooks;
//! 3. and 4. wait until the calls in flight have left (per node gate), then
//!    unplug the binding's own gate (IRQ handlers, work items, `Devres`
//!    guards of other threads) and wait for it too; cancel the binding's work
//!    items and timers;
//! 5. call the driver's `remove` (stop the hardware), close the hardware
//!    session (any later access is reported), free the binding's IRQs
//!    (waiting for running handlers), run the devm actions in reverse order,
//!    and revoke the device resources;
//! 6. unregister the nodes (remove them from `/dev`, free minors);
//! 7. drop the binding's reference to the driver data. The data itself is
//!    released on its last reference: after the last open file, mapping and
//!    node that hold it are gone.
//!
//! ## Release order (seed 004)
//!
//! For a driver whose nodes' ops hold its data (`Arc<State>`), the order is:
//! each file's `release` (on its last handle/mapping) → each node's release
//! callback (on the node's last reference, which is after unregistration and
//! after its last file) → the driver data's release (after the binding's
//! reference and the last node). `tests/release_order.rs` checks it.
//!
//! A test can observe or pause each step through
//! [`Kernel::set_unbind_hook`](crate::Kernel::set_unbind_hook).

use crate::activity;
use crate::bound::BoundOnly;
use crate::chrdev::{Node, NodeSpec};
use crate::device::Device;
use crate::errno::{Errno, KResult};
use crate::fault::FaultPoint;
use crate::fops::FileOps;
use crate::hw::{BusChannel, BusKind, Hardware, HwSession, Registers};
use crate::irq::{IrqCtx, IrqDevId, IrqHandle, IrqRequest, IrqReturn};
use crate::kernel::Kernel;
use crate::module::Module;
use crate::work::{Timer, Work, WorkCtx};
use devlife::check::{LiveToken, Shadow};
use devlife::{Bound, Devres, Gate, Monitor, Ref, ResourceScope};
use parking_lot::Mutex;
use std::any::Any;
use std::sync::Arc;

/// A device driver.
///
/// ```
/// use devlife_model::{Driver, ProbeCtx, RemoveCtx, KResult, Kernel, DeviceSpec, BusKind};
/// struct Blinky;
/// impl Driver for Blinky {
///     type Data = ();
///     fn name(&self) -> &str { "blinky" }
///     fn bus(&self) -> BusKind { BusKind::Platform }
///     fn id_table(&self) -> &[&str] { &["platform:blinky"] }
///     fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
///         let regs = ctx.ioremap()?;
///         regs.access(&ctx.bound()).unwrap().write(0, 1); // zero-cost with the proof
///         Ok(())
///     }
///     fn remove(&self, _ctx: &RemoveCtx<'_>, _data: &()) {}
/// }
/// let k = Kernel::new();
/// k.register_driver(Blinky, None).unwrap();
/// let dev = k.add_device(DeviceSpec::platform("blinky", 0)).unwrap();
/// assert_eq!(dev.driver_name().as_deref(), Some("blinky"));
/// assert_eq!(dev.hardware().peek(0), 1);
/// ```
pub trait Driver: Send + Sync + 'static {
    /// Per-device driver data returned by `probe` (`dev_get_drvdata`). The
    /// binding holds it until the last step of unbind.
    type Data: Send + Sync + 'static;
    /// Driver name (the sysfs directory).
    fn name(&self) -> &str;
    /// The bus it drives devices of.
    fn bus(&self) -> BusKind;
    /// Modalias patterns (`*` wildcards) of the devices it supports.
    fn id_table(&self) -> &[&str];
    /// No sysfs `bind`/`unbind` (drivers that cannot unbind safely).
    fn suppress_bind_attrs(&self) -> bool {
        false
    }
    /// Binds to `ctx.device()`. On error everything the context registered is
    /// unwound by the framework.
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<Self::Data>;
    /// Stops the hardware. Runs after every node and the binding gate drained;
    /// the hardware may be touched until it returns, never after.
    fn remove(&self, ctx: &RemoveCtx<'_>, data: &Self::Data);
}

pub(crate) type AnyData = Box<dyn Any + Send + Sync>;

pub(crate) trait ErasedDriver: Send + Sync {
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<AnyData>;
    fn remove(&self, ctx: &RemoveCtx<'_>, data: &(dyn Any + Send + Sync));
}

struct DriverBox<D: Driver>(D);

impl<D: Driver> ErasedDriver for DriverBox<D> {
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<AnyData> {
        self.0.probe(ctx).map(|d| Box::new(d) as AnyData)
    }
    fn remove(&self, ctx: &RemoveCtx<'_>, data: &(dyn Any + Send + Sync)) {
        if let Some(d) = data.downcast_ref::<D::Data>() {
            self.0.remove(ctx, d);
        }
    }
}

/// What the driver core shows of a registered driver (its sysfs directory
/// `bus/<bus>/drivers/<name>` and its module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverInfo {
    /// Driver name.
    pub name: String,
    /// The bus it drives devices of.
    pub bus: BusKind,
    /// Name of the owning module, if any.
    pub module: Option<String>,
    /// Whether the `bind` / `unbind` attributes are absent.
    pub suppress_bind_attrs: bool,
}

/// A registered driver.
pub(crate) struct DriverEntry {
    pub(crate) name: String,
    pub(crate) bus: BusKind,
    pub(crate) ids: Vec<String>,
    pub(crate) suppress_bind_attrs: bool,
    pub(crate) drv: Box<dyn ErasedDriver>,
    pub(crate) module: Option<Module>,
}

impl DriverEntry {
    pub(crate) fn new<D: Driver>(d: D, module: Option<Module>) -> Self {
        Self {
            name: d.name().to_owned(),
            bus: d.bus(),
            ids: d.id_table().iter().map(|s| (*s).to_owned()).collect(),
            suppress_bind_attrs: d.suppress_bind_attrs(),
            drv: Box::new(DriverBox(d)),
            module,
        }
    }

    pub(crate) fn info(&self) -> DriverInfo {
        DriverInfo {
            name: self.name.clone(),
            bus: self.bus,
            module: self.module.as_ref().map(|m| m.name().to_owned()),
            suppress_bind_attrs: self.suppress_bind_attrs,
        }
    }

    pub(crate) fn matches(&self, dev: &Device) -> bool {
        self.bus == dev.bus()
            && self
                .ids
                .iter()
                .any(|p| crate::device::glob_match(p, dev.modalias()))
    }
}

/// Steps of unbind, for [`Kernel::set_unbind_hook`](crate::Kernel::set_unbind_hook).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnbindPhase {
    /// Unbind started (nothing done yet).
    Begin,
    /// Steps 1-4 done for every node: gone, woken, drained.
    NodesUnplugged,
    /// The binding gate drained and work/timers cancelled.
    Drained,
    /// Step 5a: `remove()` returned; the hardware session is closed.
    Removed,
    /// Step 5b: the binding's IRQs are freed.
    IrqsFreed,
    /// Step 5c: the `n`th devm action (0 = the last registered) has run.
    DevmAction(usize),
    /// Step 5d: all devm actions ran and device resources were revoked.
    ResourcesReleased,
    /// Step 6: nodes unregistered.
    NodesUnregistered,
    /// Step 7: the binding dropped the driver data (the device shows as
    /// unbound once the hook returns).
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindState {
    Probing,
    Bound,
    Unbinding,
}

type Devm = (String, Box<dyn FnOnce() + Send>);

pub(crate) struct Lists {
    pub(crate) state: BindState,
    pub(crate) nodes: Vec<Node>,
    irqs: Vec<IrqHandle>,
    works: Vec<Work>,
    timers: Vec<Timer>,
    devm: Vec<Devm>,
    /// Bound-only cells made by probe (id, name): their history shows the remove.
    cells: Vec<(u64, String)>,
}

/// One binding of a driver to a device.
///
/// # Invariants
///
/// * Nodes join only while the state is `Probing` or `Bound` (checked under
///   the same lock that moves the state to `Unbinding`), so teardown sees
///   every node of the binding.
/// * `gate` is unplugged before `remove` runs; `session` is closed right
///   after it returns.
pub(crate) struct Binding {
    id: u64,
    driver: Arc<DriverEntry>,
    gate: Gate,
    session: Arc<HwSession>,
    scope: Mutex<Option<ResourceScope>>,
    data: Mutex<Option<AnyData>>,
    pub(crate) lists: Mutex<Lists>,
    _live: LiveToken,
}

impl Binding {
    pub(crate) fn driver_name(&self) -> &str {
        &self.driver.name
    }
    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }
    pub(crate) fn driver(&self) -> &Arc<DriverEntry> {
        &self.driver
    }
}

/// What `probe` gets: the device, the proof that the new binding is live, and
/// helpers that tie resources to the binding.
pub struct ProbeCtx<'a> {
    kernel: &'a Kernel,
    device: &'a Device,
    binding: &'a Arc<Binding>,
    scope: &'a ResourceScope,
}

impl<'a> ProbeCtx<'a> {
    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        self.kernel
    }
    /// The device being probed.
    pub fn device(&self) -> &Device {
        self.device
    }
    /// The device's hardware (for test-bench style queries; register and bus
    /// access goes through [`ioremap`](Self::ioremap) / [`bus_channel`](Self::bus_channel)).
    pub fn hardware(&self) -> &Hardware {
        self.device.hardware()
    }
    /// The checkers of this kernel.
    pub fn monitor(&self) -> &Monitor {
        self.kernel.monitor()
    }
    /// The binding's gate: device-level accesses (IRQ handlers, work, other
    /// drivers) enter it; it is unplugged before `remove`.
    pub fn gate(&self) -> &Gate {
        &self.binding.gate
    }
    /// Proof that the device is bound (valid for the whole probe).
    pub fn bound(&self) -> Bound<'_> {
        self.scope.bound()
    }
    /// The binding's resource scope (revoked at step 5).
    pub fn scope(&self) -> &ResourceScope {
        self.scope
    }
    /// The driver's module.
    pub fn module(&self) -> Option<&Module> {
        self.binding.driver.module.as_ref()
    }

    /// Maps the register block as a device resource (framework style): it is
    /// reachable with a [`Bound`] proof or inside a gate access, and revoked
    /// at unbind. Fault point `IoRemap`.
    pub fn ioremap(&self) -> KResult<Devres<Registers>> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        self.scope
            .add(Registers::new(
                self.device.hardware().clone(),
                self.binding.session.clone(),
            ))
            .map_err(|_| Errno::ENODEV)
    }

    /// Maps the register block as a raw handle the driver keeps (legacy
    /// `devm_ioremap`): nothing stops its use after `remove()`; such uses are
    /// reported. Fault point `IoRemap`.
    pub fn ioremap_unmanaged(&self) -> KResult<Registers> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        Ok(Registers::new(
            self.device.hardware().clone(),
            self.binding.session.clone(),
        ))
    }

    /// Claims the bus handle as a device resource (framework style).
    pub fn bus_channel(&self) -> KResult<Devres<BusChannel>> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        self.scope
            .add(BusChannel::new(
                self.device.hardware().clone(),
                self.binding.session.clone(),
            ))
            .map_err(|_| Errno::ENODEV)
    }

    /// Claims the bus handle as a raw handle (legacy).
    pub fn bus_channel_unmanaged(&self) -> KResult<BusChannel> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        Ok(BusChannel::new(
            self.device.hardware().clone(),
            self.binding.session.clone(),
        ))
    }

    /// `request_irq` on the device's line, framework style: the handler runs
    /// inside the binding gate (with a [`Bound`] proof, never after the gate
    /// is unplugged) and the IRQ is freed by the framework at step 5 if the
    /// driver did not free it. Fault point `IrqRequest`; `ENXIO` if the
    /// hardware has no line.
    pub fn request_irq(
        &self,
        name: &str,
        handler: impl Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync + 'static,
    ) -> KResult<IrqHandle> {
        let line = self.device.hardware().irq().ok_or(Errno::ENXIO)?;
        self.kernel.faults().check(FaultPoint::IrqRequest)?;
        let h = self.kernel.irq().request(
            line,
            IrqRequest::new(name, handler).gated(&self.binding.gate),
        )?;
        self.binding.lists.lock().irqs.push(h.clone());
        Ok(h)
    }

    /// `devm_request_irq`, legacy style: the handler is not gated and the IRQ
    /// is freed only by the devm actions after `remove()` returned. `dev_id`
    /// is the data the handler uses (checked at each delivery).
    pub fn devm_request_irq(
        &self,
        name: &str,
        dev_id: Option<IrqDevId>,
        handler: impl Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync + 'static,
    ) -> KResult<IrqHandle> {
        let line = self.device.hardware().irq().ok_or(Errno::ENXIO)?;
        self.kernel.faults().check(FaultPoint::IrqRequest)?;
        let mut req = IrqRequest::new(name, handler);
        if let Some(d) = dev_id {
            req = req.dev_id(d);
        }
        let h = self.kernel.irq().request(line, req)?;
        let h2 = h.clone();
        self.devm_add_action(&format!("free_irq({name})"), move || h2.free());
        Ok(h)
    }

    /// A refcounted allocation with a release callback (framework style:
    /// released on the last reference). Fault point `Alloc`.
    pub fn alloc<T: Send + Sync + 'static>(
        &self,
        type_name: &'static str,
        value: T,
    ) -> KResult<Ref<T>> {
        self.kernel.faults().check(FaultPoint::Alloc)?;
        Ok(Ref::new(self.kernel.monitor(), type_name, value))
    }

    /// An instrumented allocation freed on its last handle (framework style).
    /// Fault point `Alloc`.
    #[track_caller]
    pub fn alloc_shadow<T: Send + Sync + 'static>(
        &self,
        type_name: &'static str,
        name: &str,
        value: T,
    ) -> KResult<Shadow<T>> {
        self.kernel.faults().check(FaultPoint::Alloc)?;
        Ok(Shadow::new(self.kernel.monitor(), type_name, name, value))
    }

    /// A [`BoundOnly`] cell holding `value`: state only the bound driver may
    /// touch (hardware bookkeeping, IRQ state). Any access after this
    /// binding's `remove()` returned is reported as a use after remove.
    #[track_caller]
    pub fn bound_only<T: Send + Sync + 'static>(&self, name: &str, value: T) -> BoundOnly<T> {
        let c = BoundOnly::new(
            self.kernel.monitor(),
            self.binding.session.clone(),
            name,
            value,
        );
        self.binding
            .lists
            .lock()
            .cells
            .push((c.id(), name.to_owned()));
        c
    }

    /// `devm_kzalloc`: an instrumented allocation *freed at unbind* by the
    /// devm actions, whoever still points to it (legacy style). Fault point `Alloc`.
    #[track_caller]
    pub fn devm_alloc<T: Send + Sync + 'static>(
        &self,
        type_name: &'static str,
        name: &str,
        value: T,
    ) -> KResult<Shadow<T>> {
        self.kernel.faults().check(FaultPoint::Alloc)?;
        let s = Shadow::new(self.kernel.monitor(), type_name, name, value);
        let s2 = s.clone();
        self.devm_add_action(&format!("kfree({name})"), move || s2.free());
        Ok(s)
    }

    /// `devm_add_action`: runs `f` at unbind after `remove()`, in reverse
    /// order of registration (or when probe fails).
    pub fn devm_add_action(&self, name: &str, f: impl FnOnce() + Send + 'static) {
        self.binding
            .lists
            .lock()
            .devm
            .push((name.to_owned(), Box::new(f)));
    }

    /// Registers a node whose parent is this device and whose owner is the
    /// driver's module (unless the spec says otherwise); it joins the binding.
    pub fn register_node<O: FileOps>(&self, mut spec: NodeSpec, ops: Arc<O>) -> KResult<Node> {
        spec.parent = Some(self.device.clone());
        if spec.owner.is_none() {
            spec.owner = self.binding.driver.module.clone();
        }
        let reg = self.kernel.register_node(spec, ops)?;
        let node = reg.node().ok_or(Errno::ENODEV)?;
        // The binding unregisters it at unbind.
        reg.forget();
        Ok(node)
    }

    /// A work item on the system workqueue, gated by the binding and
    /// cancelled (disabled) at unbind.
    pub fn work(&self, name: &str, f: impl Fn(&WorkCtx<'_>) + Send + Sync + 'static) -> Work {
        let w = self
            .kernel
            .system_wq()
            .work(name, Some(&self.binding.gate), f);
        self.binding.lists.lock().works.push(w.clone());
        w
    }

    /// A timer gated by the binding and cancelled (disabled) at unbind.
    pub fn timer(&self, name: &str, f: impl Fn(&WorkCtx<'_>) + Send + Sync + 'static) -> Timer {
        let t = self
            .kernel
            .timers()
            .timer(name, Some(&self.binding.gate), f);
        self.binding.lists.lock().timers.push(t.clone());
        t
    }
}

/// What `remove` gets.
pub struct RemoveCtx<'a> {
    kernel: &'a Kernel,
    device: &'a Device,
    binding: &'a Arc<Binding>,
    scope: &'a ResourceScope,
}

impl RemoveCtx<'_> {
    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        self.kernel
    }
    /// The device being unbound.
    pub fn device(&self) -> &Device {
        self.device
    }
    /// Proof that the device resources are still there (until `remove` returns).
    pub fn bound(&self) -> Bound<'_> {
        self.scope.bound()
    }
    /// The binding's gate (already unplugged and drained).
    pub fn gate(&self) -> &Gate {
        &self.binding.gate
    }
    /// Whether the hardware is physically gone (hot-unplug).
    pub fn hw_present(&self) -> bool {
        self.device.hardware().is_present()
    }
    /// The checkers of this kernel.
    pub fn monitor(&self) -> &Monitor {
        self.kernel.monitor()
    }
}

thread_local! {
    /// The session of the binding being probed on this thread: what an
    /// interrupt requested during probe belongs to.
    static PROBING: std::cell::RefCell<Option<Arc<HwSession>>> =
        const { std::cell::RefCell::new(None) };
}

/// The binding being probed by the current thread (its hardware session).
pub(crate) fn probing_session() -> Option<Arc<HwSession>> {
    PROBING.with(|p| p.borrow().clone())
}

/// Restores the previous probing binding when a probe ends (probes nest when
/// a driver registers devices that bind synchronously).
struct ProbingGuard(Option<Arc<HwSession>>);

impl Drop for ProbingGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = PROBING.try_with(|p| *p.borrow_mut() = prev);
    }
}

/// Probes `dev` with `drv`. The caller holds the device lock.
pub(crate) fn probe(k: &Kernel, dev: &Device, drv: &Arc<DriverEntry>) -> KResult<()> {
    if dev.is_deleted() {
        return Err(Errno::ENODEV);
    }
    if dev.inner.binding.lock().is_some() {
        return Err(Errno::EBUSY);
    }
    let _mref = match &drv.module {
        Some(m) => Some(m.try_get().ok_or(Errno::ENODEV)?),
        None => None,
    };
    let m = k.monitor();
    let id = m.next_id();
    let gate = {
        let mut b = Gate::builder()
            .name(format!("{}:{}", dev.name(), drv.name))
            .monitor(m)
            .trace(k.config().trace_gates);
        if let Some(w) = k.config().watchdog {
            b = b.watchdog(w);
        }
        b.build()
    };
    let scope = ResourceScope::new(&gate);
    let binding = Arc::new(Binding {
        id,
        driver: drv.clone(),
        session: HwSession::new(m, format!("{} bound to {}", drv.name, dev.name())),
        gate,
        scope: Mutex::new(None),
        data: Mutex::new(None),
        lists: Mutex::new(Lists {
            state: BindState::Probing,
            nodes: Vec::new(),
            irqs: Vec::new(),
            works: Vec::new(),
            timers: Vec::new(),
            devm: Vec::new(),
            cells: Vec::new(),
        }),
        _live: m.live("binding"),
    });
    m.journal()
        .note(dev.id(), dev.name(), format!("probe by {}", drv.name));
    *dev.inner.binding.lock() = Some(binding.clone());
    let ctx = ProbeCtx {
        kernel: k,
        device: dev,
        binding: &binding,
        scope: &scope,
    };
    let probing = ProbingGuard(PROBING.with(|p| p.replace(Some(binding.session.clone()))));
    let result = drv.drv.probe(&ctx);
    drop(probing);
    match result {
        Ok(data) => {
            *binding.data.lock() = Some(data);
            *binding.scope.lock() = Some(scope);
            binding.lists.lock().state = BindState::Bound;
            m.journal()
                .note(dev.id(), dev.name(), format!("bound to {}", drv.name));
            Ok(())
        }
        Err(e) => {
            m.journal().note(
                dev.id(),
                dev.name(),
                format!("probe by {} failed: {e}", drv.name),
            );
            teardown(k, dev, &binding, Some(scope), false);
            *dev.inner.binding.lock() = None;
            Err(e)
        }
    }
}

/// Unbinds `dev` (`device_release_driver`). The caller holds the device
/// lock. Returns whether a driver was bound.
pub(crate) fn release(k: &Kernel, dev: &Device) -> KResult<bool> {
    let Some(b) = dev.inner.binding.lock().clone() else {
        return Ok(false);
    };
    if activity::inside_device(k.id(), dev.id()) {
        return Err(Errno::EDEADLK);
    }
    let scope = b.scope.lock().take();
    teardown(k, dev, &b, scope, true);
    *dev.inner.binding.lock() = None;
    k.monitor().journal().note(
        dev.id(),
        dev.name(),
        format!("unbound from {}", b.driver.name),
    );
    Ok(true)
}

/// The seven steps (module docs). `with_remove` is false when unwinding a
/// failed probe (the driver's `remove` is not called then).
fn teardown(
    k: &Kernel,
    dev: &Device,
    b: &Arc<Binding>,
    scope: Option<ResourceScope>,
    with_remove: bool,
) {
    let hook = |p: UnbindPhase| k.run_unbind_hook(dev, p);
    let nodes = {
        let mut l = b.lists.lock();
        l.state = BindState::Unbinding;
        l.nodes.clone()
    };
    hook(UnbindPhase::Begin);
    // Steps 1-4, per node (reverse registration order).
    for n in nodes.iter().rev() {
        let _ = n.unplug();
    }
    hook(UnbindPhase::NodesUnplugged);
    let _ = k
        .shared_activity()
        .unplug_published(&b.gate, dev.name(), "unbind");
    let (works, timers) = {
        let l = b.lists.lock();
        (l.works.clone(), l.timers.clone())
    };
    for w in &works {
        w.disable_sync();
    }
    for t in &timers {
        t.disable_sync();
    }
    hook(UnbindPhase::Drained);
    // Step 5: the driver stops the hardware.
    let data = b.data.lock().take();
    if let Some(scope) = &scope
        && with_remove
        && let Some(d) = &data
    {
        let ctx = RemoveCtx {
            kernel: k,
            device: dev,
            binding: b,
            scope,
        };
        k.monitor().journal().record_named(
            dev.id(),
            dev.name(),
            devlife::check::EventKind::Remove,
            Some(&b.driver.name),
        );
        b.driver.drv.remove(&ctx, &**d);
    }
    b.session.close();
    let cells = std::mem::take(&mut b.lists.lock().cells);
    for (id, name) in &cells {
        k.monitor().journal().record_named(
            *id,
            name,
            devlife::check::EventKind::Remove,
            Some(&b.driver.name),
        );
    }
    hook(UnbindPhase::Removed);
    let irqs = std::mem::take(&mut b.lists.lock().irqs);
    for i in &irqs {
        i.free();
    }
    hook(UnbindPhase::IrqsFreed);
    let devm = std::mem::take(&mut b.lists.lock().devm);
    for (i, (name, f)) in devm.into_iter().rev().enumerate() {
        k.monitor()
            .journal()
            .note(dev.id(), dev.name(), format!("devm release: {name}"));
        f();
        hook(UnbindPhase::DevmAction(i));
    }
    if let Some(scope) = scope {
        // The gate is drained: revoking cannot wait.
        let _ = scope.revoke();
    }
    hook(UnbindPhase::ResourcesReleased);
    // Step 6.
    for n in &nodes {
        let _ = n.unregister();
    }
    b.lists.lock().nodes.clear();
    hook(UnbindPhase::NodesUnregistered);
    // Step 7: the binding's reference to the driver data goes.
    drop(data);
    let _ = b.id;
    hook(UnbindPhase::Done);
}
