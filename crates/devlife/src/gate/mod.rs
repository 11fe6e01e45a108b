//! [`Gate`]: the per-object enter/exit/unplug gate.
//!
//! A gate guards an object that can disappear while threads use it: a device
//! node, a driver binding, a hardware resource. Every file operation enters the
//! gate, does its work (possibly sleeping) and exits; unbind *unplugs* the gate:
//!
//! 1. every later [`Gate::enter`] fails with [`Gone`];
//! 2. every [`WaitQueue`](crate::WaitQueue) of the gate is woken and every
//!    cancel hook registered with [`Gate::on_unplug`] runs, so sleepers leave;
//! 3. the call waits until every in-flight [`Access`] has been dropped.
//!
//! # Where each part lives
//!
//! * `state.rs`: the state word ([`State`](state::State)): its bits and
//!   every operation on them.
//! * `read_side.rs`: enter and exit (fast path, general path, overflow) and
//!   the memory-ordering argument that makes them correct against unplug.
//! * `access.rs`: the [`Access`] guard and its tag encoding.
//! * `unplug.rs`: the unplugger's half: set the flag, scan, drain.
//! * `hooks.rs`: step 2, cancel hooks and wait queues.
//! * `watchdog.rs`: [`Blocker`], [`DrainStall`] and stall reports.
//! * `core.rs`: the shared layout ([`GateCore`]), its lock
//!   and journaling; `builder.rs`: [`GateBuilder`]; `error.rs`: what calls
//!   return.

mod access;
mod builder;
mod core;
mod error;
mod hooks;
mod read_side;
mod state;
#[cfg(all(test, not(loom)))]
mod tests;
mod unplug;
mod watchdog;

pub use access::Access;
pub use builder::GateBuilder;
pub(crate) use core::GateCore;
pub use error::{Gone, UnplugError, UnplugStats};
pub use hooks::HookId;
pub use watchdog::{Blocker, DrainStall};

use crate::sync::{Arc, Ordering};
use std::fmt;

/// A sleepable enter/exit/unplug gate for one object.
///
/// Cloning a `Gate` gives another handle to the same gate.
///
/// ```
/// use devlife::Gate;
/// let gate = Gate::named("video0");
/// {
///     let _access = gate.enter().expect("open gate");
///     // ... file operation, may sleep ...
/// }
/// gate.unplug().unwrap();
/// assert!(gate.enter().is_err());
/// ```
#[derive(Clone)]
pub struct Gate {
    pub(crate) core: Arc<GateCore>,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.core.name)
            .field("id", &self.core.id)
            .field("unplugged", &self.is_unplugged())
            .finish()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// An unnamed open gate.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// An open gate with a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self::builder().name(name).build()
    }

    /// Starts configuring a gate.
    pub fn builder() -> GateBuilder {
        GateBuilder {
            name: String::from("gate"),
            watchdog: None,
            on_stall: None,
            monitor: None,
            trace: false,
        }
    }

    /// The gate's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// A process-unique id for this gate.
    pub fn id(&self) -> u64 {
        self.core.id
    }

    /// Whether `unplug` has started (new entries are refused).
    pub fn is_unplugged(&self) -> bool {
        self.core.state.load(Ordering::Acquire).is_unplugged()
    }

    /// Whether an `unplug` has completed its drain.
    pub fn is_drained(&self) -> bool {
        self.core.state.load(Ordering::Acquire).is_dead()
    }
}
