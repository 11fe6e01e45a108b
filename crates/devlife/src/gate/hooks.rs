//! Step 2 of unplug: the cancel hooks registered with [`Gate::on_unplug`]
//! and the wait queues of the gate, woken once by the first unplug while
//! concurrent unplugs wait for that to finish.

use super::Gate;
use super::core::GateCore;
use super::error::{Gone, UnplugError, UnplugStats};
use crate::check::EventKind;
use crate::sync::{Arc, current_thread_id, full_fence, lock};
use crate::wait::WqShared;

/// Identifies a hook registered with [`Gate::on_unplug`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

impl Gate {
    /// Registers a cancel hook, run once at step 2 of the first `unplug`
    /// (cancel pending I/O, complete outstanding requests with an error, ...).
    ///
    /// Fails with [`Gone`] if the gate is already unplugging: the caller must then
    /// cancel by itself.
    pub fn on_unplug(&self, hook: impl FnOnce() + Send + 'static) -> Result<HookId, Gone> {
        let mut s = lock(&self.core.cold.slow);
        if self.is_unplugged() {
            return Err(Gone);
        }
        let id = s.next_hook;
        s.next_hook += 1;
        s.hooks.push((id, Box::new(hook)));
        Ok(HookId(id))
    }

    /// Removes a hook. Returns `false` if it already ran (or is running) or was removed.
    pub fn remove_hook(&self, id: HookId) -> bool {
        let mut s = lock(&self.core.cold.slow);
        let before = s.hooks.len();
        s.hooks.retain(|(h, _)| *h != id.0);
        s.hooks.len() != before
    }

    /// Adds a wait queue to be woken at step 2; returns `false` if the gate
    /// is already unplugging.
    pub(crate) fn register_queue(&self, id: u64, q: Arc<WqShared>) -> bool {
        let mut s = lock(&self.core.cold.slow);
        s.queues.insert(id, q);
        !self.is_unplugged()
    }

    /// Removes a wait queue added with [`Gate::register_queue`].
    pub(crate) fn unregister_queue(&self, id: u64) {
        lock(&self.core.cold.slow).queues.remove(&id);
    }
}

impl GateCore {
    /// Step 2 of the first unplug: wakes every wait queue of the gate and
    /// runs every cancel hook, outside the gate lock.
    pub(super) fn wake_and_cancel(&self, stats: &mut UnplugStats) {
        // Under the gate lock, the generation of every queue a thread may be
        // waiting on is bumped (its own lock nests inside; no callback runs);
        // only the queues with a sleeper are kept, to be signalled after the
        // lock is released. An idle open file costs one load: the fence
        // below, after the RMW that set `DRAINING`, pairs with the waiter's
        // (`WqShared::may_have_waiters`).
        full_fence();
        let (hooks, sleeping, queues) = {
            let mut s = lock(&self.cold.slow);
            s.waker = Some(current_thread_id());
            let sleeping: Vec<Arc<WqShared>> = s
                .queues
                .values()
                .filter(|q| q.may_have_waiters() && q.bump())
                .cloned()
                .collect();
            (std::mem::take(&mut s.hooks), sleeping, s.queues.len())
        };
        // Marks step 2 done even if a hook panics, so that concurrent
        // unplugs do not wait for it forever.
        let _done = WokenGuard(self);
        for q in &sleeping {
            q.notify();
        }
        stats.queues_woken = queues;
        stats.hooks_run = hooks.len();
        for (_, h) in hooks {
            h();
        }
        if stats.queues_woken > 0 || stats.hooks_run > 0 {
            self.journal(EventKind::Wake, None);
        }
    }

    /// A later unplug waits until the first one has completed step 2; a
    /// hook of the first one that unplugs again is refused.
    pub(super) fn wait_until_woken(&self) -> Result<(), UnplugError> {
        let mut s = lock(&self.cold.slow);
        if s.waker == Some(current_thread_id()) {
            return Err(UnplugError::Reentrant(self.name.clone()));
        }
        while !s.woken {
            s = self.sleep(s, super::unplug::BACKSTOP);
        }
        Ok(())
    }
}

/// Completes step 2 of the first unplug (see `GateCore::wake_and_cancel`).
struct WokenGuard<'a>(&'a GateCore);

impl Drop for WokenGuard<'_> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.cold.slow);
        s.woken = true;
        s.waker = None;
        self.0.wake_sleepers(&s);
    }
}
