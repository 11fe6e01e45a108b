//! [`IrqController`]: the interrupt lines of one kernel.

use crate::IrqHandle;
use crate::IrqLine;
use crate::IrqRequest;
use crate::activity::Activity;
use crate::errno::{Errno, KResult};
use crate::irq::Action;
use devlife::Monitor;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The interrupt controller of one kernel.
pub struct IrqController {
    lines: Mutex<BTreeMap<u32, Arc<IrqLine>>>,
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
            lines: Mutex::new(BTreeMap::new()),
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
        ));
        self.lines.lock().insert(number, line.clone());
        line
    }

    /// The line with this number.
    pub fn line(&self, number: u32) -> Option<Arc<IrqLine>> {
        self.lines.lock().get(&number).cloned()
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
            .collect();
        for l in lines {
            l.stop();
        }
    }
}
