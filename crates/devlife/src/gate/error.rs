//! What the gate's calls return besides success: [`Gone`] for a refused
//! enter, [`UnplugError`] for an unplug that cannot drain, and the
//! [`UnplugStats`] of one that did.

use std::time::Duration;

/// The object behind a gate has been unplugged.
///
/// Userspace sees it as `ENODEV` on video/subdev nodes (see [`Gone::ERRNO`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("device gone (unplugged)")]
pub struct Gone;

impl Gone {
    /// The errno Linux returns for calls on an unplugged video device.
    pub const ERRNO: i32 = 19; // ENODEV
}

/// Why an [`Gate::unplug`](super::Gate::unplug) could not complete its drain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnplugError {
    /// The calling thread is itself inside an access of this gate: draining would
    /// wait for itself forever. New entries are already refused and sleepers have
    /// been woken; the drain must be done by a thread outside the gate.
    #[error("unplug of gate `{0}` called from inside one of its own accesses")]
    InsideAccess(String),
    /// A cancel hook or wake-up callback of this gate called `unplug` again.
    #[error("unplug of gate `{0}` re-entered from its own cancel hook")]
    Reentrant(String),
}

/// What one [`Gate::unplug`](super::Gate::unplug) call did.
#[derive(Debug, Clone, Default)]
pub struct UnplugStats {
    /// This call made the gate refuse entries (the others found it unplugging).
    pub first: bool,
    /// Accesses in flight at the first scan.
    pub in_flight: usize,
    /// Wait queues woken.
    pub queues_woken: usize,
    /// Cancel hooks run.
    pub hooks_run: usize,
    /// Wall time of the call.
    pub elapsed: Duration,
}
