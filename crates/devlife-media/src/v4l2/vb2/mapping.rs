//! Buffer memory and its mappings: [`BufferMemory`] shared by the queue, the
//! driver and every mapping, and `vb2_mmap`.

use super::{PLANE_INDEX_SHIFT, Queue};
use crate::uapi::videodev2::memory;
use devlife::Monitor;
use devlife::check::LiveToken;
use devlife_model::{Errno, KResult, MmapRequest, VmOps};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The memory of one buffer: page-aligned bytes shared by the queue, its
/// mappings and the driver filling it.
///
/// The bytes are allocated, zeroed, on the first access that may write
/// them: a buffer that is only requested and freed (most of `REQBUFS` under
/// stress) or only read costs no zeroing of `len` bytes, and reads of
/// untouched memory see zeros, as they would of freshly zeroed pages.
///
/// # Invariants
///
/// * `mapped` counts the live [`VmOps`] mappings created from this memory.
/// * `bytes`, once allocated, holds exactly `len` bytes; before that every
///   byte of the buffer reads as zero.
pub struct BufferMemory {
    len: usize,
    bytes: Mutex<Option<Box<[u8]>>>,
    mapped: AtomicUsize,
    _live: LiveToken,
}

impl std::fmt::Debug for BufferMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferMemory")
            .field("len", &self.len())
            .field("mapped", &self.mapped())
            .finish()
    }
}

impl BufferMemory {
    pub(super) fn new(monitor: &Monitor, len: usize) -> Arc<Self> {
        Arc::new(Self {
            len,
            bytes: Mutex::new(None),
            mapped: AtomicUsize::new(0),
            _live: monitor.live(crate::kinds::VB2_BUFFER_MEM),
        })
    }

    /// Allocated length (page aligned).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the memory is empty (never for a queue buffer).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live mappings of this memory.
    pub fn mapped(&self) -> usize {
        self.mapped.load(Ordering::Acquire)
    }

    /// Runs `f` on the bytes (allocating them on first use).
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut g = self.bytes.lock();
        let b = g.get_or_insert_with(|| vec![0; self.len].into_boxed_slice());
        f(b)
    }

    /// Copies the bytes at `offset..offset + buf.len()` into `buf` (zeros if
    /// nothing was ever written); `EFAULT` past the end.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        let end = offset.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
        if end > self.len {
            return Err(Errno::EFAULT);
        }
        match &*self.bytes.lock() {
            Some(b) => buf.copy_from_slice(&b[offset..end]),
            None => buf.fill(0),
        }
        Ok(())
    }
}

/// One mapping of a buffer (the `vm_area_struct`'s private data): keeps the
/// memory alive; dropping it does no I/O.
struct Vb2Mapping {
    mem: Arc<BufferMemory>,
}

impl Vb2Mapping {
    fn new(mem: Arc<BufferMemory>) -> Self {
        mem.mapped.fetch_add(1, Ordering::AcqRel);
        Self { mem }
    }
}

impl Drop for Vb2Mapping {
    fn drop(&mut self) {
        self.mem.mapped.fetch_sub(1, Ordering::AcqRel);
    }
}

impl VmOps for Vb2Mapping {
    fn len(&self) -> usize {
        self.mem.len()
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        self.mem.read(offset, buf)
    }
    fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        let end = offset.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        if end > self.mem.len {
            return Err(Errno::EFAULT);
        }
        self.mem.with(|b| b[offset..end].copy_from_slice(data));
        Ok(())
    }
}

impl Queue {
    /// `vb2_mmap`: maps the buffer whose cookie is `req.offset`.
    pub(crate) fn mmap(&self, req: &MmapRequest) -> KResult<Arc<dyn VmOps>> {
        let io = self.io.lock();
        let c = self.shared.core.lock();
        if c.dead {
            return Err(Errno::ENODEV);
        }
        if io.memory != memory::MMAP {
            return Err(Errno::EINVAL);
        }
        if io.fileio.is_some() {
            return Err(Errno::EBUSY);
        }
        let cookie = req.offset;
        if cookie & ((1 << PLANE_INDEX_SHIFT) - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let index = usize::try_from(cookie >> PLANE_INDEX_SHIFT).map_err(|_| Errno::EINVAL)?;
        let slot = c.bufs.get(index).ok_or(Errno::EINVAL)?;
        if req.len > slot.mem.len() {
            return Err(Errno::EINVAL);
        }
        Ok(Arc::new(Vb2Mapping::new(slot.mem.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory nobody wrote reads as zeros without being allocated; the
    /// first write allocates it whole, and reads then see what was written.
    #[test]
    fn memory_is_zero_until_written_and_bounds_are_checked() {
        let m = BufferMemory::new(&Monitor::new(), 8192);
        assert_eq!(m.len(), 8192);
        let mut buf = [0xaa_u8; 16];
        m.read(8176, &mut buf).unwrap();
        assert_eq!(buf, [0; 16]);
        assert!(m.bytes.lock().is_none(), "a read allocated the buffer");
        assert_eq!(m.read(8180, &mut buf), Err(Errno::EFAULT));
        let map = Vb2Mapping::new(m.clone());
        assert_eq!(map.write(8190, &[1, 2, 3]), Err(Errno::EFAULT));
        assert!(m.bytes.lock().is_none(), "a refused write allocated");
        map.write(100, &[1, 2, 3]).unwrap();
        let mut out = [9_u8; 5];
        map.read(99, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 0]);
        assert_eq!(m.with(|b| b.len()), 8192);
        assert_eq!(map.len(), 8192);
    }
}
