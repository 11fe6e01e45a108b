//! What `probe` and `remove` get: [`ProbeCtx`] and [`RemoveCtx`].

use crate::bound::BoundOnly;
use crate::chrdev::{Node, NodeSpec};
use crate::device::Device;
use crate::driver::Binding;
use crate::driver::BindingState;
use crate::driver::unwind::ProbeUnwind;
use crate::errno::{Errno, KResult};
use crate::fault::FaultPoint;
use crate::fops::FileOps;
use crate::hw::{BusChannel, Hardware, Registers};
use crate::irq::{IrqCtx, IrqHandle, IrqRequest, IrqReturn};
use crate::kernel::Kernel;
use crate::module::Module;
use crate::work::{Timer, Work, WorkCtx};
use devlife::check::Shadow;
use devlife::{Bound, Devres, Gate, Monitor, Ref, ResourceScope};
use std::sync::Arc;

/// What `probe` gets: the device, the proof that the new binding is live, and
/// helpers that tie resources to the binding.
///
/// # Invariants
///
/// One context serves one probe. The undo actions registered with
/// [`undo_on_error`](Self::undo_on_error) run exactly once if that probe
/// returns an error, and never if it succeeds.
pub struct ProbeCtx<'a> {
    pub(crate) kernel: &'a Kernel,
    pub(crate) device: &'a Device,
    pub(crate) binding: &'a Arc<Binding>,
    pub(crate) scope: &'a ResourceScope,
    pub(crate) unwind: ProbeUnwind,
}

impl<'a> ProbeCtx<'a> {
    /// The kernel the device is being probed in.
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
    /// The binding's state, for the driver's objects that outlive it (see
    /// [`BindingState`]).
    pub fn binding_state(&self) -> BindingState {
        BindingState::new(self.binding.session.clone())
    }
    /// The driver's module.
    pub fn module(&self) -> Option<&Module> {
        self.binding.driver.module.as_ref()
    }

    /// Registers an undo action for the step of probe that just succeeded:
    /// if `probe()` returns an error, the kernel runs every registered
    /// action, the last registered first, before its own teardown of the
    /// binding (so before the devm actions and the release of the device
    /// resources, which the objects being undone may still use); if `probe()`
    /// succeeds, the actions are dropped without running and `remove()` is
    /// the driver's way back. `name` appears in the device's journal
    /// (`probe unwind: NAME`). What the context itself registered (nodes,
    /// IRQs, work, timers, device resources) needs no action: the teardown
    /// removes it. See the module docs of `driver::unwind` for the order.
    ///
    /// ```
    /// use devlife_model::{BusKind, DeviceSpec, Driver, Errno, KResult, Kernel, ProbeCtx, RemoveCtx};
    /// use std::sync::{Arc, Mutex};
    /// struct Half(Arc<Mutex<Vec<&'static str>>>);
    /// impl Driver for Half {
    ///     type Data = ();
    ///     fn name(&self) -> &str { "half" }
    ///     fn bus(&self) -> BusKind { BusKind::Platform }
    ///     fn id_table(&self) -> &[&str] { &["platform:half"] }
    ///     fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
    ///         for step in ["register a", "register b"] {
    ///             let log = self.0.clone();
    ///             ctx.undo_on_error(step, move || log.lock().unwrap().push(step));
    ///         }
    ///         Err(Errno::EIO) // a later step fails
    ///     }
    ///     fn remove(&self, _ctx: &RemoveCtx<'_>, _data: &()) {}
    /// }
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let k = Kernel::new();
    /// k.register_driver(Half(log.clone()), None).unwrap();
    /// let dev = k.add_device(DeviceSpec::platform("half", 0)).unwrap();
    /// assert!(!dev.is_bound());
    /// assert_eq!(*log.lock().unwrap(), ["register b", "register a"]);
    /// ```
    pub fn undo_on_error(&self, name: &str, f: impl FnOnce() + Send + 'static) {
        self.unwind.push(name, Box::new(f));
    }

    /// Maps the register block as a device resource (framework style): it is
    /// reachable with a [`Bound`] proof or inside a gate access, and revoked
    /// at unbind. Fault point `IoRemap`.
    pub fn ioremap(&self) -> KResult<Devres<Registers>> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        let r = self
            .scope
            .add(Registers::new(
                self.device.hardware().clone(),
                self.binding.session.clone(),
            ))
            .map_err(|_| Errno::ENODEV)?;
        crate::stop::point(crate::stop::PROBE_IOREMAPPED);
        Ok(r)
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
        crate::stop::point(crate::stop::PROBE_IRQ_REQUESTED);
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
    pub(crate) kernel: &'a Kernel,
    pub(crate) device: &'a Device,
    pub(crate) binding: &'a Arc<Binding>,
    pub(crate) scope: &'a ResourceScope,
}

impl RemoveCtx<'_> {
    /// The kernel the device is being removed from.
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
