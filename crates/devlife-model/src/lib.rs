//! # devlife-model: the Linux device model, in user space, on devlife gates
//!
//! The races of docs/rules.md (a file operation running while its driver is
//! unbound) happen in the driver model. This crate models the parts that
//! matter, with real threads, so every scenario can be played out and checked:
//!
//! | module | what it models |
//! |---|---|
//! | [`Kernel`] (`kernel`) | one model instance: device table, drivers, modules, `/dev`, IRQ controller, workqueue, timers, [`Faults`], [`Activity`], checkers ([`devlife::Monitor`]) |
//! | [`Device`], [`DeviceSpec`] (`device`) | platform, USB (device + interfaces) and I2C devices, refcounted with a release callback |
//! | [`Driver`], [`ProbeCtx`], [`RemoveCtx`] (`driver`) | matching, probe with a [`devlife::Bound`] proof, and the **framework-driven unbind in the seven steps** (rule 3) for every unbind path |
//! | [`Module`] (`module`) | module refcount held by open files; unload refused with `EBUSY` |
//! | [`Node`], [`NodeSpec`], [`NodeKind`] (`chrdev`) | majors/minors, the name map, registration, and dispatch of every file operation through the node's [`devlife::Gate`], with the per-kind errno policy after unplug |
//! | [`FileOps`], [`OpCtx`], [`EventQueue`], [`PollMask`], [`VmOps`] (`fops`) | the file-operations trait upper layers implement, wait queues unplug wakes, poll, mmap |
//! | [`File`], [`Mapping`] (`file`) | open files (dup releases once) and mappings; both keep the node alive |
//! | [`IrqController`], [`IrqHandle`] (`irq`) | IRQ lines with handler threads, `free_irq` that waits, gated vs devm IRQs, interrupt-after-release checker |
//! | [`Work`], [`Timer`] (`work`) | deferred work with cancel-and-wait |
//! | [`Hardware`], [`Registers`], [`BusChannel`] (`hw`) | simulated registers and bus transfers with latency/stall, and the hardware-after-remove checker |
//! | [`Errno`] (`errno`) | error numbers of every layer |
//! | [`legacy`] | the pre-fix API for legacy twins: `devm_*`, unmanaged mappings, entry-check nodes |
//! | [`testdrv`] | a misc-like test driver in the framework and the legacy style |
//! | [`stop`] | named stop points (open/ioctl/... entered, release, unregistration, probe steps) where a hook can hold a thread |
//!
//! ## Two driver styles, one set of checkers
//!
//! * **Framework**: state released on the last reference ([`ProbeCtx::alloc`],
//!   [`ProbeCtx::alloc_shadow`]), registers and bus handles as revocable
//!   resources ([`ProbeCtx::ioremap`], [`ProbeCtx::bus_channel`]), IRQs, work
//!   and timers gated by the binding ([`ProbeCtx::request_irq`],
//!   [`ProbeCtx::work`], [`ProbeCtx::timer`]), every file operation gated.
//! * **Legacy** (the pre-fix kernel), an extension in its own module
//!   ([`legacy`]) that framework drivers never import: `devm` state freed at
//!   unbind ([`legacy::Devm::devm_alloc`]), raw register pointers
//!   ([`legacy::Devm::ioremap_unmanaged`]), devm IRQs freed after `remove`
//!   ([`legacy::Devm::devm_request_irq`]), nodes whose `registered` flag is
//!   only checked at call entry ([`legacy::EntryCheck`]).
//!
//! The checkers (use-after-free through [`devlife::check::Shadow`],
//! hardware-after-remove, interrupt-after-release, leaks through the
//! ledger, drain stalls through the watchdog) are silent for the first and
//! fire for the second; [`testdrv`] has one driver written both ways.
//!
//! ## Observing and steering a run
//!
//! * [`Activity`] ([`Kernel::activity`]): which thread is blocked in which
//!   operation of which node ([`Kernel::wait_blocked`]`("reader", "read", ..)`),
//!   and per-thread signals ([`Activity::signal`] gives `EINTR`).
//! * [`Kernel::set_unbind_hook`]: a callback at each [`UnbindPhase`], to act
//!   (raise an IRQ, pause) at a precise step of an unbind.
//! * [`Hardware::stall_thread`] / [`Hardware::stall`]: hold hardware accesses
//!   so that a call is really in flight during an unbind.
//! * [`Faults`] ([`Kernel::faults`]): fail the Nth allocation, minor
//!   allocation, node registration, IRQ request, ioremap or an upper layer's
//!   named point.
//! * [`KernelConfig`]: watchdog, hardware latency, operation labels, gate
//!   tracing into the journal.
//!
//! ## Which rule of docs/rules.md lives where
//!
//! * Rule 1 (memory lives until the last reference): [`File`] and [`Mapping`]
//!   hold the [`Node`], the node holds its ops and so the driver data; the
//!   node's release callback runs on its last reference.
//! * Rule 2 (hardware dies at unbind): device resources come from
//!   [`ProbeCtx::ioremap`] / [`ProbeCtx::bus_channel`] as revocable
//!   [`devlife::Devres`]; the hardware session closes when `remove()` returns
//!   and any later access is a [`devlife::check::ReportKind::HwAfterRemove`].
//! * Rule 3 (the seven steps): `driver::teardown`, used by module unload,
//!   hot-unplug, sysfs unbind and driver unregistration (see [`UnbindPhase`]).
//! * Rule 4 (try-get): [`Module::try_get`], [`WeakNode::upgrade`], and
//!   devlife's `WeakRef::try_get` for upper layers.
//! * Rule 8 (every file operation, release and mmap teardown): [`File`]
//!   dispatches open/read/write/ioctl/poll/mmap through the gate; `release`
//!   and `vm_close` run outside it, after unplug too.
//! * Rule 9 (several node kinds per driver): a binding holds any number of
//!   nodes of any [`NodeKind`]; the framework unplugs them all before `remove`.
//! * Rule 10 (no growth): the ledger counts devices, nodes, files, mappings,
//!   bindings and modules; [`Kernel::leaks`] is empty after everything closes.
//!
//! ## The path of one ioctl, from open to release
//!
//! ```
//! use devlife_model::{Kernel, OpenFlags, Errno, testdrv::{self, Style}};
//! let k = Kernel::new();
//! let t = testdrv::setup(&k, Style::Framework).unwrap();
//! // 1. open: `Kernel::open` finds the node in the `/dev` map, takes a module
//! //    reference (`try_module_get`), enters the node gate as "open" and calls
//! //    `FileOps::open`, which returns the per-file private data. The `File`
//! //    holds the node (and so the driver data) from now on.
//! let f = k.open("/dev/testdrv0", OpenFlags::RDWR).unwrap();
//! // 2. ioctl: `File::ioctl` asks the ops for the ioctl's name (the label),
//! //    pushes an activity frame, enters the node's gate with that label
//! //    (`Gate::enter_as`) and calls `FileOps::ioctl` with an `OpCtx` that holds
//! //    the access. The driver reaches its registers through a `Devres`
//! //    (`try_access` enters the binding's gate too) and may sleep in the
//! //    hardware or in `OpCtx::wait_event`; unplug wakes such sleepers.
//! let mut arg = 3u32.to_le_bytes();
//! assert_eq!(f.ioctl(testdrv::IOC_HWOP, &mut arg), Ok(0));
//! // 3. unbind (here: sysfs): the framework unplugs the node gate (new calls
//! //    fail, sleepers wake, calls in flight drain), drains the binding gate,
//! //    calls `remove`, frees IRQs, revokes resources and unregisters the node.
//! k.sysfs_unbind(t.driver(), t.device.name()).unwrap();
//! // 4. after unplug every call answers with the node kind's errno.
//! assert_eq!(f.ioctl(testdrv::IOC_PING, &mut []), Err(Errno::ENODEV));
//! // 5. release: dropping the last handle (and mapping) runs
//! //    `FileOps::release` outside any gate (no I/O), then puts the module
//! //    reference; the node and then the driver state are released with
//! //    their last references.
//! drop(f);
//! assert!(k.monitor().reports().is_empty());
//! k.shutdown();
//! drop(t); // the test's own handles to the device and module
//! assert!(k.leaks().is_empty(), "{:?}", k.leaks());
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod activity;
mod bound;
pub mod chrdev;
mod device;
mod driver;
mod errno;
mod fault;
mod file;
mod fops;
mod hw;
mod irq;
mod kernel;
pub mod legacy;
mod module;
pub mod stop;
mod style;
pub mod testdrv;
mod work;

pub use activity::{
    Activity, BlockGuard, BlockKind, Blocked, OwnedBlockGuard, current_signal, thread_name,
};
pub use bound::BoundOnly;
pub use chrdev::{
    ChrdevRegistry, Devt, ErrnoPolicy, Node, NodeKind, NodeRegistration, NodeSpec, WeakNode,
};
pub use device::{Device, DeviceSpec, UsbInterfaceSpec, WeakDevice, glob_match};
pub use driver::{BindingState, Driver, DriverInfo, ProbeCtx, RemoveCtx, UnbindPhase};
pub use errno::{Errno, KResult};
pub use fault::{FaultPoint, FaultRule, Faults};
pub use file::{File, Mapping};
pub use fops::{
    AnyPrivate, EventQueue, FileOps, MmapRequest, OpCtx, OpenFlags, PollMask, PollTable,
    ReleaseCtx, SharedMemory, VmOps,
};
pub use hw::{BusChannel, BusKind, Hardware, HwSession, Registers, StallGuard};
pub use irq::{
    IrqController, IrqCtx, IrqDevId, IrqHandle, IrqLine, IrqRequest, IrqReturn, IrqStats,
};
pub use kernel::{Kernel, KernelConfig, WeakKernel};
pub use module::{Module, ModuleRef};
pub use style::{Style, UnknownStyle};
pub use work::{Timer, TimerBase, Work, WorkCtx, Workqueue};

pub use devlife;
