//! Drivers, binding and the framework-driven unbind.
//!
//! A [`Driver`] matches devices by modalias patterns; `probe` gets a
//! [`ProbeCtx`] (with the [`Bound`] proof of the new binding) and returns the
//! driver's per-device data; `remove` gets a [`RemoveCtx`] and that data.
//!
//! # The seven steps (docs/rules.md, rule 3), done by the framework
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
//! ## Release order (docs/proposals.md#release-order)
//!
//! For a driver whose nodes' ops hold its data (`Arc<State>`), the order is:
//! each file's `release` (on its last handle/mapping) → each node's release
//! callback (on the node's last reference, which is after unregistration and
//! after its last file) → the driver data's release (after the binding's
//! reference and the last node). `tests/release_order.rs` checks it.
//!
//! A test can observe or pause each step through
//! [`Kernel::set_unbind_hook`](crate::Kernel::set_unbind_hook).

use crate::device::Device;
use crate::errno::KResult;
use crate::hw::BusKind;
use crate::module::Module;
use std::any::Any;

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
    /// Binds to `ctx.device()`. On error the framework unwinds: first the
    /// undo actions the probe registered ([`ProbeCtx::undo_on_error`], in
    /// reverse order), then everything the context registered.
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
    /// The driver's name (its sysfs directory under the bus).
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

mod binding;
mod ctx;
mod state;
mod unwind;

pub(crate) use binding::{BindState, Binding, probe, probing_session, release};
pub use ctx::{ProbeCtx, RemoveCtx};
pub use state::BindingState;
