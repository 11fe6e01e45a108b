//! Mutants: framework-style drivers with one deliberate lifetime bug each.
//!
//! A checker that cannot fire proves nothing. Each [`Mutation`] is a small
//! misc driver (`platform:devlife-mutant`, node `mutant0`) written the
//! framework's way — state released on its last reference, registers as a
//! revocable resource, every file operation gated — except for one mistake a
//! real driver author makes, which one checker must catch. The scenarios in
//! `scenarios/mutants/` drive each mutant into its bug and expect the report;
//! `devlife run scenarios/mutants/*.scn` passes only if every one is caught.
//!
//! | mutation | the mistake | report |
//! |---|---|---|
//! | [`Mutation::UseAfterFree`] | `remove()` frees the state that open files still use | `use-after-free` |
//! | [`Mutation::UseAfterRemove`] | `release` updates bound-only engine state | `use-after-remove` |
//! | [`Mutation::HwAfterRemove`] | `release` writes a register through a copy kept outside the revocable resource | `hw-after-remove` |
//! | [`Mutation::IrqAfterRelease`] | the IRQ is requested outside the framework and freed with the state, not in `remove()` | `irq-after-release` |
//! | [`Mutation::DoubleFree`] | a buffer freed in `remove()` and again when the state goes | `double-free` |
//! | [`Mutation::Leak`] | the state keeps its own node (a reference cycle) | `leak` |
//! | [`Mutation::Hang`] | `read` sleeps on a wait queue of a gate of its own, which unplug never wakes | `hang` |
//! | [`Mutation::LockOrder`] | `remove()` holds the driver lock across unregistering the node whose ioctl takes it | `lock-order` |
//!
//! The ioctl numbers are testdrv's ([`IOC_PING`]), so scenarios use
//! `TESTDRV_PING`.

mod driver;

pub use driver::{IOC_PING, MutantDriver};

use devlife_model::{Device, DeviceSpec, KResult, Kernel, Module};

/// The one bug a mutant carries (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// `remove()` frees (`kfree`) the driver state; `release` then uses it.
    UseAfterFree,
    /// `release` touches the bound-only engine state after `remove()`.
    UseAfterRemove,
    /// `release` writes the control register through a `Registers` copied
    /// out of the revocable resource at probe.
    HwAfterRemove,
    /// The IRQ is requested directly on the controller (not gated by the
    /// binding, not freed by the framework) and freed only when the state
    /// goes: an interrupt after `remove()` runs the handler.
    IrqAfterRelease,
    /// A buffer freed in `remove()` and freed again by the state's release.
    DoubleFree,
    /// The state holds its own node, and the node's operations hold the state.
    Leak,
    /// `read` sleeps on a queue of a private gate: unplug cannot wake it.
    Hang,
    /// `remove()` unregisters the node while holding the lock its ioctl takes.
    LockOrder,
}

impl Mutation {
    /// Every mutation, in the order of the table above.
    pub const ALL: [Mutation; 8] = [
        Mutation::UseAfterFree,
        Mutation::UseAfterRemove,
        Mutation::HwAfterRemove,
        Mutation::IrqAfterRelease,
        Mutation::DoubleFree,
        Mutation::Leak,
        Mutation::Hang,
        Mutation::LockOrder,
    ];

    /// The driver (and module) name: `mutant-` and the checker it must trip.
    pub fn driver_name(self) -> &'static str {
        match self {
            Mutation::UseAfterFree => "mutant-use-after-free",
            Mutation::UseAfterRemove => "mutant-use-after-remove",
            Mutation::HwAfterRemove => "mutant-hw-after-remove",
            Mutation::IrqAfterRelease => "mutant-irq-after-release",
            Mutation::DoubleFree => "mutant-double-free",
            Mutation::Leak => "mutant-leak",
            Mutation::Hang => "mutant-hang",
            Mutation::LockOrder => "mutant-lock-order",
        }
    }

    /// The mutation whose driver is called `name`.
    pub fn from_name(name: &str) -> Option<Mutation> {
        Self::ALL.into_iter().find(|m| m.driver_name() == name)
    }
}

/// Modalias every mutant matches.
pub const MODALIAS: &str = "platform:devlife-mutant";

/// A mutant set up in a kernel: module loaded, driver registered, device
/// `devlife-mutant.0` added and bound (node `mutant0`).
#[derive(Clone, Debug)]
pub struct Setup {
    /// The module (named like the driver).
    pub module: Module,
    /// The device the mutant driver is bound to.
    pub device: Device,
    /// The bug the bound driver carries.
    pub mutation: Mutation,
}

/// Loads the mutant's module, registers its driver and adds its device.
pub fn setup(k: &Kernel, mutation: Mutation) -> KResult<Setup> {
    let name = mutation.driver_name();
    let module = match k.module(name) {
        Some(m) => m,
        None => k.load_module(name)?,
    };
    if !k.drivers().iter().any(|d| d == name) {
        k.register_driver(MutantDriver { mutation }, Some(&module))?;
    }
    let device = k.add_device(DeviceSpec::platform("devlife-mutant", 0).regs(4))?;
    Ok(Setup {
        module,
        device,
        mutation,
    })
}
