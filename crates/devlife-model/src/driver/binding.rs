//! A binding of a driver to a device: probe, and the seven steps of unbind
//! (module docs of `driver`).

use crate::ProbeCtx;
use crate::RemoveCtx;
use crate::UnbindPhase;
use crate::activity;
use crate::chrdev::Node;
use crate::device::Device;
use crate::driver::AnyData;
use crate::driver::DriverEntry;
use crate::errno::{Errno, KResult};
use crate::hw::HwSession;
use crate::irq::IrqHandle;
use crate::kernel::Kernel;
use crate::work::{Timer, Work};
use devlife::check::LiveToken;
use devlife::{Gate, ResourceScope};
use parking_lot::Mutex;
use std::sync::Arc;

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
    pub(crate) irqs: Vec<IrqHandle>,
    pub(crate) works: Vec<Work>,
    pub(crate) timers: Vec<Timer>,
    pub(crate) devm: Vec<Devm>,
    /// Bound-only cells made by probe (id, name): their history shows the remove.
    pub(crate) cells: Vec<(u64, String)>,
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
    pub(crate) driver: Arc<DriverEntry>,
    pub(crate) gate: Gate,
    pub(crate) session: Arc<HwSession>,
    scope: Mutex<Option<ResourceScope>>,
    data: Mutex<Option<AnyData>>,
    pub(crate) lists: Mutex<Lists>,
    _live: LiveToken,
}

impl Binding {
    /// Runs `f` on the driver data while the binding holds it (from the
    /// end of a successful probe to step 5 of unbind).
    pub(crate) fn with_data<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let d = self.data.lock();
        d.as_ref().and_then(|d| d.downcast_ref::<T>()).map(f)
    }
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
        unwind: Default::default(),
    };
    let probing = ProbingGuard(PROBING.with(|p| p.replace(Some(binding.session.clone()))));
    crate::stop::point(crate::stop::PROBE_BEGIN);
    let result = drv.drv.probe(&ctx);
    // The driver's undo actions are the end of its own error path: they run
    // before the framework's teardown below (driver::unwind).
    match &result {
        Ok(_) => ctx.unwind.forget(),
        Err(_) => ctx.unwind.run(m, dev.id(), dev.name()),
    }
    drop(probing);
    crate::stop::point(if result.is_ok() {
        crate::stop::PROBE_DONE
    } else {
        crate::stop::PROBE_FAILED
    });
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
