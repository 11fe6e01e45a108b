//! Probe unwinding owned by the framework: the undo actions a driver
//! registers while it probes ([`ProbeCtx::undo_on_error`](crate::ProbeCtx::undo_on_error)).
//!
//! A C probe undoes its finished steps on an error by jumping to a ladder of
//! `goto err_*` labels; a Rust probe returns `Err` with `?` from wherever it
//! failed. Each step that registers something the framework does not tear
//! down by itself (a v4l2 device, a media entity, a hook on a shared object,
//! a reference taken from an allocator) registers its undo action right
//! after it succeeded. The kernel runs them when `probe()` returns an error,
//! the last registered first, and forgets them when it succeeds: a bound
//! driver undoes its work in `remove()`.
//!
//! # When the actions run
//!
//! On a failed probe, on the probing thread, in this order:
//!
//! 1. the undo actions, in reverse order of registration — as the last part
//!    of the driver's own error path, like the labels of a C probe run
//!    before `really_probe` sees the error; the `probe:failed` stop point is
//!    reached after them;
//! 2. then the framework's teardown of the binding (module docs of
//!    `driver`): its nodes unplugged and drained, its IRQs freed, the devm
//!    actions run in reverse order, its device resources revoked, its nodes
//!    unregistered.
//!
//! Undo actions therefore run **before** the devm actions and the release of
//! the device resources. They tear down objects the driver built on top of
//! those resources — objects that may point into a devm allocation or reach
//! the hardware through a [`devlife::Devres`] — so the resources must still
//! be there; had they run after, an undo action of a legacy twin would read
//! memory devm had just freed. The framework's own registrations (nodes
//! registered through the context, gated IRQs, work, timers) need no undo
//! action: the teardown removes them.

use devlife::Monitor;
use parking_lot::Mutex;

type Action = (String, Box<dyn FnOnce() + Send>);

/// The undo actions of one probe in progress.
///
/// # Invariants
///
/// * Each action runs at most once: exactly once if the probe fails
///   ([`run`](Self::run)), never if it succeeds ([`forget`](Self::forget)).
/// * Actions run in reverse order of registration, each without the list's
///   lock held (an action may register nothing further: the probe is over).
#[derive(Default)]
pub(crate) struct ProbeUnwind {
    actions: Mutex<Vec<Action>>,
}

impl ProbeUnwind {
    /// Registers `f`, named `name` for the journal.
    pub(crate) fn push(&self, name: &str, f: Box<dyn FnOnce() + Send>) {
        self.actions.lock().push((name.to_owned(), f));
    }

    /// The probe failed: runs every action, the last registered first, and
    /// notes each in the journal of `dev` (`device` names it).
    pub(crate) fn run(&self, monitor: &Monitor, dev: u64, device: &str) {
        loop {
            // Popped under the lock, run without it.
            let next = self.actions.lock().pop();
            let Some((name, f)) = next else { break };
            monitor
                .journal()
                .note(dev, device, format!("probe unwind: {name}"));
            f();
        }
    }

    /// The probe succeeded: the actions are dropped without running.
    pub(crate) fn forget(&self) {
        self.actions.lock().clear();
    }

    /// How many actions are registered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.actions.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn logged(log: &Arc<Mutex<Vec<u32>>>, i: u32) -> Box<dyn FnOnce() + Send> {
        let l = log.clone();
        Box::new(move || l.lock().push(i))
    }

    #[test]
    fn run_goes_in_reverse_and_empties_the_list() {
        let m = Monitor::new();
        let u = ProbeUnwind::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 1..=3 {
            u.push(&format!("step {i}"), logged(&log, i));
        }
        u.run(&m, 1, "dev");
        assert_eq!(*log.lock(), vec![3, 2, 1]);
        assert_eq!(u.len(), 0);
        // A second run has nothing left to undo.
        u.run(&m, 1, "dev");
        assert_eq!(*log.lock(), vec![3, 2, 1]);
    }

    #[test]
    fn forget_runs_nothing() {
        let m = Monitor::new();
        let u = ProbeUnwind::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        u.push("a", logged(&log, 1));
        u.forget();
        u.run(&m, 1, "dev");
        assert!(log.lock().is_empty());
    }
}
