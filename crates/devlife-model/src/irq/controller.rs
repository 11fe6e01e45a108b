//! [`IrqController`]: the interrupt lines of one kernel.

use crate::IrqHandle;
use crate::IrqLine;
use crate::IrqRequest;
use crate::activity::Activity;
use crate::errno::{Errno, KResult};
use crate::irq::Action;
use crate::irq::line::LineTable;
use devlife::Monitor;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The interrupt controller of one kernel.
///
/// # Invariants
///
/// The table holds its lines weakly: a line lives as long as the hardware
/// that raises it and the handles requested on it, and removes its own entry
/// when it goes, so adding and removing devices does not grow the table.
pub struct IrqController {
    lines: Arc<LineTable>,
    next: AtomicU32,
    next_action: AtomicU64,
    monitor: Monitor,
    activity: Arc<Activity>,
    kernel: u64,
}

impl std::fmt::Debug for IrqController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqController")
            .field("lines", &self.lines.lock().len())
            .finish()
    }
}

impl IrqController {
    pub(crate) fn new(monitor: &Monitor, activity: Arc<Activity>, kernel: u64) -> Self {
        Self {
            lines: Arc::new(Mutex::new(BTreeMap::new())),
            next: AtomicU32::new(32),
            next_action: AtomicU64::new(1),
            monitor: monitor.clone(),
            activity,
            kernel,
        }
    }

    /// Allocates a new line for a piece of hardware.
    pub fn allocate_line(&self, name: &str) -> Arc<IrqLine> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let line = Arc::new(IrqLine::new(
            number,
            name,
            &self.monitor,
            self.activity.clone(),
            self.kernel,
            Arc::downgrade(&self.lines),
        ));
        self.lines.lock().insert(number, Arc::downgrade(&line));
        line
    }

    /// The line with this number, while its hardware (or a handle requested
    /// on it) is alive.
    pub fn line(&self, number: u32) -> Option<Arc<IrqLine>> {
        self.lines.lock().get(&number).and_then(Weak::upgrade)
    }

    /// How many lines the controller knows right now: one per live piece of
    /// hardware with an interrupt (a removed device's line is gone).
    pub fn line_count(&self) -> usize {
        self.lines.lock().len()
    }

    /// `request_irq` (without fault injection; see
    /// [`crate::ProbeCtx::request_irq`]). `EINVAL` for an unknown line,
    /// `EBUSY` if a handler is installed.
    pub fn request(&self, number: u32, req: IrqRequest) -> KResult<IrqHandle> {
        let line = self.line(number).ok_or(Errno::EINVAL)?;
        let id = self.next_action.fetch_add(1, Ordering::Relaxed);
        line.install(Arc::new(Action {
            id,
            name: req.name,
            handler: req.handler,
            gate: req.gate,
            dev_id: req.dev_id,
            owner: crate::driver::probing_session(),
        }))?;
        Ok(IrqHandle::new(line, id))
    }
}

impl Drop for IrqController {
    fn drop(&mut self) {
        let lines: Vec<_> = std::mem::take(&mut *self.lines.lock())
            .into_values()
            .filter_map(|l| l.upgrade())
            .collect();
        for l in lines {
            l.stop();
        }
    }
}
