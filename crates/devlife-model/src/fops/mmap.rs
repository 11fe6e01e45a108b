//! Memory mappings: the [`MmapRequest`], [`VmOps`] and [`SharedMemory`].

use crate::errno::{Errno, KResult};
use parking_lot::Mutex;
use std::sync::Arc;

/// What the caller of `mmap` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    /// Offset in the file (`pgoff << PAGE_SHIFT`; V4L2 uses it as a buffer cookie).
    pub offset: u64,
    /// Length in bytes.
    pub len: usize,
    /// `PROT_WRITE` requested.
    pub write: bool,
}

/// The memory behind a mapping (`vm_operations_struct` plus the pages).
///
/// Reads and writes are plain memory accesses: they work after unplug and
/// after `release` of other files, because the object keeps its memory alive.
/// `close` is `vm_close`: called once when the mapping goes; no I/O.
pub trait VmOps: Send + Sync {
    /// Mapped length in bytes.
    fn len(&self) -> usize;
    /// Whether the mapping is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies mapped bytes at `offset` into `buf` (`EFAULT` when out of range).
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()>;
    /// Copies `data` into the mapping at `offset` (`EFAULT` when out of range).
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()>;
    /// `vm_close`: the mapping is going away. No I/O.
    fn close(&self) {}
}

/// A plain shared memory block usable as mapping memory (and by drivers as a
/// DMA buffer): cloning shares the bytes.
#[derive(Clone, Default)]
pub struct SharedMemory {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedMemory({} bytes)", self.bytes.lock().len())
    }
}

impl SharedMemory {
    /// `len` zeroed bytes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            bytes: Arc::new(Mutex::new(vec![0; len])),
        }
    }

    /// Runs `f` on the bytes.
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.bytes.lock())
    }
}

impl VmOps for SharedMemory {
    fn len(&self) -> usize {
        self.bytes.lock().len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        let b = self.bytes.lock();
        let end = offset.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
        let src = b.get(offset..end).ok_or(Errno::EFAULT)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        let mut b = self.bytes.lock();
        let end = offset.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        let dst = b.get_mut(offset..end).ok_or(Errno::EFAULT)?;
        dst.copy_from_slice(data);
        Ok(())
    }
}
