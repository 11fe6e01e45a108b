//! # devlife: lifetime primitives for device objects
//!
//! The race between userspace using a character device (open, ioctl, read,
//! poll, mmap, close) and the driver being unbound (hot-unplug, sysfs
//! `unbind`, module unload) is solved with a few primitives:
//!
//! * [`Gate`] / [`Access`]: a per-object enter/exit/unplug gate. Sections may
//!   sleep; `unplug` refuses new entries, wakes sleepers, runs cancel hooks and
//!   drains in-flight accesses. The fast path is a per-thread plain store with
//!   an asymmetric (`membarrier`) barrier on the unplug side.
//! * [`WaitQueue`]: sleeping inside an access until a condition holds, woken
//!   with [`WaitError::Gone`] at unplug; timeouts and [`Signal`] interruption.
//! * [`Revocable`], [`ResourceScope`], [`Devres`] and the [`Bound`] proof:
//!   hardware resources that die at unbind, revoked in one drain per device.
//! * [`Ref`] / [`WeakRef`]: reference counting with a release callback and
//!   try-get; memory is released on the last reference, never at unbind.
//! * [`check`]: the lifetime journal, instrumented allocations (KASAN-style
//!   use-after-free reports), live-object accounting and reports.
//!
//! ```
//! use devlife::{Gate, ResourceScope};
//! let gate = Gate::named("misc0");
//! let scope = ResourceScope::new(&gate);
//! let regs = scope.add([0u32; 8]).unwrap();
//!
//! // A file operation:
//! if let Ok(access) = gate.enter() {
//!     let r = regs.access(&access.bound()).unwrap(); // no atomics
//!     assert_eq!(r[0], 0);
//! }
//!
//! // Unbind: one drain, then every resource of the binding is dropped.
//! scope.revoke().unwrap();
//! assert!(gate.enter().is_err());
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod barrier;
pub mod check;
mod gate;
mod kref;
mod registry;
mod revocable;
mod sync;
mod wait;

pub use barrier::uses_membarrier;
pub use check::Monitor;
pub use gate::{
    Access, Blocker, DrainStall, Gate, GateBuilder, Gone, HookId, UnplugError, UnplugStats,
};
pub use kref::{Ref, WeakRef};
pub use registry::SLOTS;
pub use revocable::{
    Bound, Devres, ResourceScope, Revocable, RevocableGuard, RevokeError, WrongDevice,
};
pub use wait::{Signal, WaitError, WaitOptions, WaitQueue};

/// The README's example is compiled and run as a doc test, so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
