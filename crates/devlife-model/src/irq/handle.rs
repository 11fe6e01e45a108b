//! [`IrqHandle`]: a requested interrupt; freeing it is `free_irq`.

use crate::IrqLine;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct HandleInner {
    line: Arc<IrqLine>,
    id: u64,
    freed: AtomicBool,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        if !self.freed.swap(true, Ordering::AcqRel) {
            self.line.free(self.id);
        }
    }
}

/// A requested interrupt. `free` (or dropping the last clone) is `free_irq`.
#[derive(Clone)]
pub struct IrqHandle {
    inner: Arc<HandleInner>,
}

impl std::fmt::Debug for IrqHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqHandle")
            .field("line", &self.inner.line.number)
            .field("freed", &self.is_freed())
            .finish()
    }
}

impl IrqHandle {
    pub(crate) fn new(line: Arc<IrqLine>, id: u64) -> Self {
        Self {
            inner: Arc::new(HandleInner {
                line,
                id,
                freed: AtomicBool::new(false),
            }),
        }
    }

    /// `free_irq`: uninstalls the handler and waits for a running invocation
    /// to finish. Idempotent.
    pub fn free(&self) {
        if !self.inner.freed.swap(true, Ordering::AcqRel) {
            self.inner.line.free(self.inner.id);
        }
    }
    /// Whether it was freed.
    pub fn is_freed(&self) -> bool {
        self.inner.freed.load(Ordering::Acquire)
    }
    /// The interrupt line the handler is requested on.
    pub fn line(&self) -> &Arc<IrqLine> {
        &self.inner.line
    }
}
