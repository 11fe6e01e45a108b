//! User memory as the kernel reaches it: `copy_from_user` / `copy_to_user`
//! on the calling thread's address space (`current->mm`), the argument of one
//! ioctl copied in and, only on success, out again.

use super::IoctlCmd;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// `EFAULT`: an address that userspace did not map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad address")]
pub struct Fault;

impl Fault {
    /// The Linux errno.
    pub const ERRNO: i32 = 14;
}

/// The memory of the calling process, as the kernel reaches it with
/// `copy_from_user` / `copy_to_user`.
///
/// Implementations may sleep (a page fault): the media devnode tests use that
/// to hold an ioctl between its registration check and its use of the media
/// device, which is how race R1 is reproduced deterministically.
pub trait UserMemory {
    /// `copy_from_user(buf, addr, buf.len())`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault>;
    /// `copy_to_user(addr, data, data.len())`.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault>;
}

impl<M: UserMemory + ?Sized> UserMemory for &M {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        (**self).read(addr, buf)
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        (**self).write(addr, data)
    }
}

/// One user buffer at a fixed address: the argument of a fixed-size ioctl as a
/// FUSE "restricted" ioctl passes it (exactly `_IOC_SIZE` bytes). Any access
/// outside `[base, base + len)` faults.
///
/// ```
/// use devlife_media::uapi::ioctl::{SliceMemory, UserMemory};
/// let mut arg = [0u8; 8];
/// let m = SliceMemory::new(0x1000, &mut arg);
/// m.write(0x1004, &[1, 2]).unwrap();
/// assert!(m.write(0x1007, &[1, 2]).is_err());
/// drop(m);
/// assert_eq!(arg, [0, 0, 0, 0, 1, 2, 0, 0]);
/// ```
#[derive(Debug)]
pub struct SliceMemory<'a> {
    base: u64,
    buf: RefCell<&'a mut [u8]>,
}

impl<'a> SliceMemory<'a> {
    /// `buf` mapped at `base`.
    pub fn new(base: u64, buf: &'a mut [u8]) -> Self {
        Self {
            base,
            buf: RefCell::new(buf),
        }
    }

    fn range(&self, addr: u64, len: usize, have: usize) -> Result<std::ops::Range<usize>, Fault> {
        if addr == 0 {
            return Err(Fault);
        }
        let off = addr.checked_sub(self.base).ok_or(Fault)?;
        let off = usize::try_from(off).map_err(|_| Fault)?;
        let end = off.checked_add(len).ok_or(Fault)?;
        if end > have {
            return Err(Fault);
        }
        Ok(off..end)
    }
}

impl UserMemory for SliceMemory<'_> {
    fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), Fault> {
        let b = self.buf.borrow();
        let r = self.range(addr, out.len(), b.len())?;
        out.copy_from_slice(&b[r]);
        Ok(())
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        let mut b = self.buf.borrow_mut();
        let have = b.len();
        let r = self.range(addr, data.len(), have)?;
        b[r].copy_from_slice(data);
        Ok(())
    }
}

/// A small process address space: separate mappings at distinct addresses,
/// for callers that pass embedded user pointers (`MEDIA_IOC_ENUM_LINKS`,
/// `MEDIA_IOC_G_TOPOLOGY`). Address 0 and every unmapped byte fault; an
/// access may not span two mappings.
///
/// ```
/// use devlife_media::uapi::ioctl::{AddressSpace, UserMemory};
/// let mm = AddressSpace::new();
/// let a = mm.map(16);
/// mm.write(a + 4, &[7]).unwrap();
/// assert_eq!(mm.read_back(a, 16).unwrap()[4], 7);
/// assert!(mm.write(a + 16, &[7]).is_err());
/// ```
#[derive(Debug)]
pub struct AddressSpace {
    maps: parking_lot::Mutex<AsInner>,
}

#[derive(Debug)]
struct AsInner {
    next: u64,
    regions: BTreeMap<u64, Vec<u8>>,
}

impl Default for AddressSpace {
    fn default() -> Self {
        Self::new()
    }
}

impl AddressSpace {
    /// An empty address space. Mappings start at 64 KiB and are separated by
    /// unmapped guard gaps.
    pub fn new() -> Self {
        Self {
            maps: parking_lot::Mutex::new(AsInner {
                next: 0x1_0000,
                regions: BTreeMap::new(),
            }),
        }
    }

    /// Maps `len` zero bytes and returns their address (never 0).
    pub fn map(&self, len: usize) -> u64 {
        let mut m = self.maps.lock();
        let addr = m.next;
        // A guard gap of at least one page after every mapping.
        let span = (len as u64).div_ceil(4096).max(1) * 4096 + 4096;
        m.next = m.next.saturating_add(span);
        m.regions.insert(addr, vec![0; len]);
        addr
    }

    /// Maps a copy of `bytes` and returns its address.
    pub fn map_bytes(&self, bytes: &[u8]) -> u64 {
        let a = self.map(bytes.len());
        if let Some(r) = self.maps.lock().regions.get_mut(&a) {
            r.copy_from_slice(bytes);
        }
        a
    }

    /// Unmaps the mapping that starts at `addr`. Returns whether one existed.
    pub fn unmap(&self, addr: u64) -> bool {
        self.maps.lock().regions.remove(&addr).is_some()
    }

    /// Reads `len` bytes back (a test's view of its own memory).
    pub fn read_back(&self, addr: u64, len: usize) -> Result<Vec<u8>, Fault> {
        let mut v = vec![0; len];
        self.read(addr, &mut v)?;
        Ok(v)
    }

    fn with_region<R>(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, Fault> {
        if addr == 0 {
            return Err(Fault);
        }
        let mut m = self.maps.lock();
        let (&start, region) = m.regions.range_mut(..=addr).next_back().ok_or(Fault)?;
        let off = usize::try_from(addr - start).map_err(|_| Fault)?;
        let end = off.checked_add(len).ok_or(Fault)?;
        let slice = region.get_mut(off..end).ok_or(Fault)?;
        Ok(f(slice))
    }
}

impl UserMemory for AddressSpace {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.with_region(addr, buf.len(), |s| buf.copy_from_slice(s))
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.with_region(addr, data.len(), |s| s.copy_from_slice(data))
    }
}

/// A process with no mapped memory: every access faults (`EFAULT`). What an
/// embedded user pointer resolves against when no caller memory is set.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMemory;

impl UserMemory for NoMemory {
    fn read(&self, _addr: u64, _buf: &mut [u8]) -> Result<(), Fault> {
        Err(Fault)
    }
    fn write(&self, _addr: u64, _data: &[u8]) -> Result<(), Fault> {
        Err(Fault)
    }
}

/// A shareable user memory (the memory of a model "process").
pub type SharedUserMemory = std::sync::Arc<dyn UserMemory + Send + Sync>;

thread_local! {
    static CURRENT_MM: RefCell<Option<SharedUserMemory>> = const { RefCell::new(None) };
}

/// Runs `f` with `mm` as the calling thread's user memory (`current->mm`):
/// embedded user pointers of ioctls issued by `f` (the `pads`/`links` of
/// `MEDIA_IOC_ENUM_LINKS`, the arrays of `MEDIA_IOC_G_TOPOLOGY`) resolve
/// against it. Nests; the previous memory is restored afterwards.
///
/// ```
/// use std::sync::Arc;
/// use devlife_media::uapi::ioctl::{current_mm, with_current_mm, AddressSpace, UserMemory};
/// let mm = Arc::new(AddressSpace::new());
/// let a = mm.map(4);
/// with_current_mm(mm.clone(), || current_mm().write(a, &[1]).unwrap());
/// assert_eq!(mm.read_back(a, 1).unwrap(), vec![1]);
/// assert!(current_mm().write(a, &[1]).is_err()); // outside: no memory
/// ```
pub fn with_current_mm<R>(mm: SharedUserMemory, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<SharedUserMemory>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT_MM.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT_MM.with(|c| c.borrow_mut().replace(mm));
    let _restore = Restore(prev);
    f()
}

/// Runs `f` with the calling thread's user memory ([`NoMemory`] if none was
/// set), without taking a reference to it.
pub fn with_user_memory<R>(f: impl FnOnce(&dyn UserMemory) -> R) -> R {
    let mm = CURRENT_MM.with(|c| c.borrow().clone());
    match mm {
        Some(mm) => f(&*mm),
        None => f(&NoMemory),
    }
}

/// The calling thread's user memory ([`NoMemory`] if none was set).
pub fn current_mm() -> SharedUserMemory {
    CURRENT_MM
        .with(|c| c.borrow().clone())
        .unwrap_or_else(|| std::sync::Arc::new(NoMemory))
}

/// The kernel's on-stack argument buffer (`char __karg[256]`), with a heap
/// fallback for larger commands.
#[derive(Debug)]
pub struct ArgBuf {
    inline: [u8; 256],
    heap: Vec<u8>,
    len: usize,
}

impl ArgBuf {
    /// A zeroed buffer of `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        Self {
            inline: [0; 256],
            heap: if len > 256 { vec![0; len] } else { Vec::new() },
            len,
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len > 256 {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }

    /// The bytes, mutable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        if self.len > 256 {
            &mut self.heap
        } else {
            &mut self.inline[..self.len]
        }
    }
}

/// The kernel's ioctl argument discipline (`media_device_ioctl`,
/// `video_usercopy`): `_IOC_SIZE(cmd)` bytes are copied in from `arg` if the
/// command has `_IOC_WRITE` (else the buffer is zero), `f` runs on the kernel
/// copy, and the buffer is copied back **only if `f` succeeded** and the
/// command has `_IOC_READ` (the `*_EXT_CTRLS` array-argument commands are
/// copied back on failure too, see [`crate::uapi::controls::copies_out_on_error`]).
///
/// A fault on copy-in or copy-out is returned as `E::from(Fault)` (`EFAULT`).
pub fn with_arg<R, E: From<Fault>>(
    mem: &dyn UserMemory,
    cmd: IoctlCmd,
    arg: u64,
    f: impl FnOnce(&mut [u8]) -> Result<R, E>,
) -> Result<R, E> {
    let mut karg = ArgBuf::zeroed(cmd.size());
    if cmd.is_write() && cmd.size() > 0 {
        mem.read(arg, karg.bytes_mut())?;
    }
    let r = match f(karg.bytes_mut()) {
        Ok(r) => r,
        Err(e) => {
            // Array-argument ioctls report `error_idx` on failure too.
            if crate::uapi::controls::copies_out_on_error(cmd.0) {
                mem.write(arg, karg.bytes())?;
            }
            return Err(e);
        }
    };
    if cmd.is_read() && cmd.size() > 0 {
        mem.write(arg, karg.bytes())?;
    }
    Ok(r)
}
