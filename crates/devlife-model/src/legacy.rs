//! The pre-fix kernel's driver API, for the legacy twins: an extension of
//! the framework's [`ProbeCtx`] and [`NodeSpec`] that a framework driver
//! never imports.
//!
//! * [`Devm`]: `devm_kzalloc` (state freed at unbind whoever still points to
//!   it), `devm_request_irq` (an ungated handler freed only after
//!   `remove()`), `devm_add_action`, and raw register and bus mappings that
//!   nothing revokes. Every late use through them is what the checkers
//!   report.
//! * [`EntryCheck`]: a node whose `registered` flag is checked only when a
//!   call starts; the call then runs in a private gate nobody unplugs, so
//!   unregistering neither waits for it nor wakes it.
//!
//! ```
//! use devlife_model::legacy::Devm;
//! use devlife_model::{BusKind, DeviceSpec, Driver, KResult, Kernel, ProbeCtx, RemoveCtx};
//! use devlife::check::Shadow;
//! struct Old;
//! impl Driver for Old {
//!     type Data = Shadow<u32>;
//!     fn name(&self) -> &str { "old" }
//!     fn bus(&self) -> BusKind { BusKind::Platform }
//!     fn id_table(&self) -> &[&str] { &["platform:old"] }
//!     fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<Shadow<u32>> {
//!         ctx.devm_alloc("old_state", "old", 7)
//!     }
//!     fn remove(&self, _ctx: &RemoveCtx<'_>, _data: &Shadow<u32>) {}
//! }
//! let k = Kernel::new();
//! k.register_driver(Old, None).unwrap();
//! let dev = k.add_device(DeviceSpec::platform("old", 0)).unwrap();
//! k.hot_unplug(&dev).unwrap(); // devm frees the state after remove()
//! ```

use crate::chrdev::NodeSpec;
use crate::chrdev::spec::Dispatch;
use crate::driver::ProbeCtx;
use crate::errno::{Errno, KResult};
use crate::fault::FaultPoint;
use crate::hw::{BusChannel, Registers};
use crate::irq::{IrqCtx, IrqDevId, IrqHandle, IrqRequest, IrqReturn};
use devlife::check::Shadow;
use std::sync::{Arc, OnceLock};

/// The devm API of the pre-fix kernel, on a probe context.
pub trait Devm {
    /// Maps the register block as a raw handle the driver keeps
    /// (`devm_ioremap`): nothing stops its use after `remove()`; such uses are
    /// reported. Fault point `IoRemap`.
    fn ioremap_unmanaged(&self) -> KResult<Registers>;

    /// Claims the bus handle as a raw handle nothing revokes. Fault point
    /// `IoRemap`.
    fn bus_channel_unmanaged(&self) -> KResult<BusChannel>;

    /// `devm_request_irq`: the handler is not gated and the IRQ is freed only
    /// by the devm actions after `remove()` returned. `dev_id` is the data the
    /// handler uses (checked at each delivery). Fault point `IrqRequest`;
    /// `ENXIO` if the hardware has no line.
    fn devm_request_irq(
        &self,
        name: &str,
        dev_id: Option<IrqDevId>,
        handler: impl Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync + 'static,
    ) -> KResult<IrqHandle>;

    /// `devm_kzalloc`: an instrumented allocation *freed at unbind* by the
    /// devm actions, whoever still points to it. Fault point `Alloc`.
    #[track_caller]
    fn devm_alloc<T: Send + Sync + 'static>(
        &self,
        type_name: &'static str,
        name: &str,
        value: T,
    ) -> KResult<Shadow<T>>;

    /// `devm_add_action`: runs `f` at unbind after `remove()`, in reverse
    /// order of registration (or when probe fails).
    fn devm_add_action(&self, name: &str, f: impl FnOnce() + Send + 'static);

    /// The pre-fix probe order every legacy twin shares: `devm_request_irq`
    /// first (named `irq_name`, its `dev_id` named `dev_id`), then
    /// `devm_kzalloc` of the state its handler uses, which the handler finds
    /// through drvdata (nothing is handled before the state exists). Devm
    /// actions run in reverse, so at unbind the state is freed *before* the
    /// IRQ: an interrupt in between runs `handler` on freed memory, reported
    /// as an interrupt after release. Fault points `IrqRequest`, then `Alloc`.
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    fn devm_irq_before_state<T: Send + Sync + 'static>(
        &self,
        irq_name: &str,
        dev_id: &str,
        type_name: &'static str,
        name: &str,
        value: T,
        handler: impl Fn(&Shadow<T>) -> IrqReturn + Send + Sync + 'static,
    ) -> KResult<Shadow<T>>;
}

impl Devm for ProbeCtx<'_> {
    fn ioremap_unmanaged(&self) -> KResult<Registers> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        let r = Registers::new(self.device.hardware().clone(), self.binding.session.clone());
        crate::stop::point(crate::stop::PROBE_IOREMAPPED);
        Ok(r)
    }

    fn bus_channel_unmanaged(&self) -> KResult<BusChannel> {
        self.kernel.faults().check(FaultPoint::IoRemap)?;
        Ok(BusChannel::new(
            self.device.hardware().clone(),
            self.binding.session.clone(),
        ))
    }

    fn devm_request_irq(
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
        crate::stop::point(crate::stop::PROBE_IRQ_REQUESTED);
        Ok(h)
    }

    #[track_caller]
    fn devm_alloc<T: Send + Sync + 'static>(
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

    fn devm_add_action(&self, name: &str, f: impl FnOnce() + Send + 'static) {
        self.binding
            .lists
            .lock()
            .devm
            .push((name.to_owned(), Box::new(f)));
    }

    #[track_caller]
    fn devm_irq_before_state<T: Send + Sync + 'static>(
        &self,
        irq_name: &str,
        dev_id: &str,
        type_name: &'static str,
        name: &str,
        value: T,
        handler: impl Fn(&Shadow<T>) -> IrqReturn + Send + Sync + 'static,
    ) -> KResult<Shadow<T>> {
        let drvdata: Arc<OnceLock<Shadow<T>>> = Arc::new(OnceLock::new());
        let (d2, d3) = (drvdata.clone(), drvdata.clone());
        self.devm_request_irq(
            irq_name,
            Some(IrqDevId::custom(dev_id, move || {
                d3.get().is_none_or(|s| !s.is_freed())
            })),
            move |_| match d2.get() {
                Some(s) => handler(s),
                None => IrqReturn::None,
            },
        )?;
        let state = self.devm_alloc(type_name, name, value)?;
        let _ = drvdata.set(state.clone());
        Ok(state)
    }
}

/// The pre-fix node dispatch, on a node spec: the node becomes an
/// entry-check node (a dispatch variant the framework's own builder never
/// selects).
pub trait EntryCheck: Sized {
    /// Entry-check dispatch: the `registered` flag is checked at call entry
    /// only; the call then runs in a private gate that unregistering neither
    /// waits for nor wakes.
    fn entry_check(self) -> Self;
    /// Entry-check dispatch whose `registered` flag lives in `mem`, a driver
    /// allocation that embeds the node's device (`struct em28xx_v4l2 {
    /// struct video_device vdev; }`): every call's entry check reads it, so
    /// a call after the driver freed it is a reported use-after-free.
    fn flag_in(self, mem: &Shadow<()>) -> Self;
}

impl EntryCheck for NodeSpec {
    fn entry_check(mut self) -> Self {
        self.dispatch = Dispatch::EntryCheck { flag_in: None };
        self
    }
    fn flag_in(mut self, mem: &Shadow<()>) -> Self {
        self.dispatch = Dispatch::EntryCheck {
            flag_in: Some(mem.clone()),
        };
        self
    }
}
