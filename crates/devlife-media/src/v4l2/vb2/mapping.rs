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
/// Only the bytes written so far are stored, as a prefix: every byte past
/// it reads as zero, as in a freshly zeroed buffer. A buffer that is
/// requested and freed unwritten (most of `REQBUFS` under stress) costs no
/// zeroing, and a driver filling a frame from its start appends to the
/// prefix without zeroing first. The storage of a dropped buffer goes back
/// to a bounded pool ([`pool`]) that the next buffer of a similar size takes,
/// so streaming does not fault fresh pages in for every queue setup; what
/// the pool hands out is empty (its old bytes lie past the prefix, never
/// readable).
///
/// # Invariants
///
/// * `mapped` counts the live [`VmOps`] mappings created from this memory.
/// * `bytes.len() <= len`; the buffer's byte `i` is `bytes[i]` for
///   `i < bytes.len()` and zero for the rest.
pub struct BufferMemory {
    len: usize,
    bytes: Mutex<Vec<u8>>,
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

impl Drop for BufferMemory {
    fn drop(&mut self) {
        pool::give(std::mem::take(self.bytes.get_mut()));
    }
}

impl BufferMemory {
    pub(super) fn new(monitor: &Monitor, len: usize) -> Arc<Self> {
        Arc::new(Self {
            len,
            bytes: Mutex::new(pool::take(len)),
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
        self.len == 0
    }

    /// Live mappings of this memory.
    pub fn mapped(&self) -> usize {
        self.mapped.load(Ordering::Acquire)
    }

    /// Runs `f` on all the bytes (the unwritten tail is zeroed first).
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut g = self.bytes.lock();
        if g.len() < self.len {
            g.resize(self.len, 0);
        }
        f(&mut g)
    }

    /// Copies the bytes at `offset..offset + buf.len()` into `buf`; `EFAULT`
    /// past the end.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        let end = offset.checked_add(buf.len()).ok_or(Errno::EFAULT)?;
        if end > self.len {
            return Err(Errno::EFAULT);
        }
        let g = self.bytes.lock();
        let have = g.len().saturating_sub(offset).min(buf.len());
        if have > 0 {
            buf[..have].copy_from_slice(&g[offset..offset + have]);
        }
        buf[have..].fill(0);
        Ok(())
    }

    /// Copies `data` into the bytes at `offset`; `EFAULT` past the end. A
    /// write at or before the end of the prefix extends it without zeroing;
    /// one past it zeroes the gap.
    pub fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        let end = offset.checked_add(data.len()).ok_or(Errno::EFAULT)?;
        if end > self.len {
            return Err(Errno::EFAULT);
        }
        let mut g = self.bytes.lock();
        if g.capacity() < self.len {
            let more = self.len - g.len();
            g.reserve_exact(more);
        }
        if offset > g.len() {
            g.resize(offset, 0);
        }
        let overlap = (g.len() - offset).min(data.len());
        g[offset..offset + overlap].copy_from_slice(&data[..overlap]);
        g.extend_from_slice(&data[overlap..]);
        Ok(())
    }
}

/// Storage of dropped buffers, kept for the next ones.
///
/// # Invariants
///
/// Every vector in the pool is empty (length 0) and the pool holds at most
/// [`pool::MAX_BYTES`] of capacity in at most [`pool::MAX_ENTRIES`] vectors.
mod pool {
    use parking_lot::Mutex;

    /// Capacity kept at most: a few queues' worth of frames.
    pub(super) const MAX_BYTES: usize = 32 << 20;
    /// Vectors kept at most (the pool is searched linearly).
    pub(super) const MAX_ENTRIES: usize = 64;

    struct Pool {
        free: Vec<Vec<u8>>,
        bytes: usize,
    }

    static POOL: Mutex<Pool> = parking_lot::const_mutex(Pool {
        free: Vec::new(),
        bytes: 0,
    });

    /// An empty vector for a buffer of `len` bytes: a pooled one whose
    /// capacity is between `len` and twice it, or a new one (which reserves
    /// on its first write).
    pub(super) fn take(len: usize) -> Vec<u8> {
        let mut p = POOL.lock();
        let fit = p
            .free
            .iter()
            .position(|v| v.capacity() >= len && v.capacity() / 2 <= len);
        match fit {
            Some(i) => {
                let v = p.free.swap_remove(i);
                p.bytes -= v.capacity();
                v
            }
            None => Vec::new(),
        }
    }

    /// Keeps `v`'s storage for a later buffer, if the pool has room.
    pub(super) fn give(mut v: Vec<u8>) {
        if v.capacity() == 0 {
            return;
        }
        v.clear();
        let mut p = POOL.lock();
        if p.free.len() < MAX_ENTRIES && p.bytes + v.capacity() <= MAX_BYTES {
            p.bytes += v.capacity();
            p.free.push(v);
        }
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
        self.mem.write(offset, data)
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

    /// Memory nobody wrote reads as zeros without storage; writes extend the
    /// written prefix (a gap reads as zeros) and bounds are checked.
    #[test]
    fn memory_is_zero_until_written_and_bounds_are_checked() {
        let m = BufferMemory::new(&Monitor::new(), 8192);
        assert_eq!(m.len(), 8192);
        let mut buf = [0xaa_u8; 16];
        m.read(8176, &mut buf).unwrap();
        assert_eq!(buf, [0; 16]);
        assert!(m.bytes.lock().is_empty(), "a read stored bytes");
        assert_eq!(m.read(8180, &mut buf), Err(Errno::EFAULT));
        let map = Vb2Mapping::new(m.clone());
        assert_eq!(map.write(8190, &[1, 2, 3]), Err(Errno::EFAULT));
        assert!(m.bytes.lock().is_empty(), "a refused write stored bytes");
        map.write(100, &[1, 2, 3]).unwrap();
        let mut out = [9_u8; 5];
        map.read(99, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 0]);
        // Overwrite across the end of the prefix, then append.
        m.write(102, &[7, 8]).unwrap();
        m.write(104, &[5]).unwrap();
        map.read(99, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 7, 8]);
        let mut one = [9_u8];
        m.read(104, &mut one).unwrap();
        assert_eq!(one, [5]);
        assert_eq!(
            m.with(|b| (b.len(), b[..100].iter().all(|x| *x == 0), b[105])),
            (8192, true, 0)
        );
        assert_eq!(map.len(), 8192);
    }

    /// A buffer that takes a dropped buffer's storage still reads as zeros
    /// everywhere, however much the previous one wrote.
    #[test]
    fn reused_storage_reads_as_zeros() {
        let mon = Monitor::new();
        for round in 0..4 {
            let m = BufferMemory::new(&mon, 4096 * 3);
            let mut all = vec![0xff_u8; 4096 * 3];
            m.read(0, &mut all).unwrap();
            assert!(all.iter().all(|x| *x == 0), "round {round}");
            assert!(m.with(|b| b.iter().all(|x| *x == 0)), "round {round}");
            m.write(0, &vec![0x5a; 4096 * 3]).unwrap();
            m.read(4096, &mut all[..10]).unwrap();
            assert_eq!(all[..10], [0x5a; 10]);
        }
    }
}
