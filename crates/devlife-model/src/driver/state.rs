//! [`BindingState`]: what a driver's own objects may ask about the binding
//! that made them.

use crate::hw::HwSession;
use std::sync::Arc;

/// Whether the binding that made this handle has been removed: `remove()`
/// returned (the hardware session is closed). Open files, mappings and
/// entities outlive their binding; a driver that wants to count or explain
/// what happened after the unbind asks this instead of keeping a flag of its
/// own that `remove()` sets.
///
/// # Invariants
///
/// Once removed, a binding stays removed (a rebind is a new binding).
#[derive(Clone, Debug)]
pub struct BindingState {
    session: Arc<HwSession>,
}

impl BindingState {
    pub(crate) fn new(session: Arc<HwSession>) -> Self {
        Self { session }
    }

    /// Whether the binding's `remove()` returned.
    pub fn is_removed(&self) -> bool {
        self.session.is_closed()
    }
}
