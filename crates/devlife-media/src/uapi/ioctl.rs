//! ioctl plumbing shared by every media node type: the `_IOC` number encoding
//! (`asm-generic/ioctl.h`), user memory (`copy_from_user` / `copy_to_user`),
//! the kernel's argument discipline (copy in, run, copy out only on success),
//! per-node ioctl tables, and the little-endian byte codec ([`Wire`]) behind
//! every `#[repr(C)]` mirror.
//!
//! # Why tables per node type
//!
//! The V4L2 video and subdev ioctls share `_IOC_TYPE` `'V'` and many `_IOC_NR`
//! values (`VIDIOC_G_FMT` is `0xc0d05604`, `VIDIOC_SUBDEV_G_FMT` is
//! `0xc0585604`: same nr 4, different size). A dispatcher indexed by nr alone
//! would route one to the other's handler. Each node kind therefore owns an
//! [`IoctlTable`] keyed by the **full** command, and a command that is not in
//! the table of the node it was issued on is `ENOTTY`, exactly like the
//! kernel's `ioctl_info[_IOC_NR(cmd)].cmd != cmd` test.
//!
//! ```
//! use devlife_media::uapi::ioctl::{iowr, IoctlCmd};
//! const MEDIA_IOC_DEVICE_INFO: u32 = iowr(b'|', 0x00, 256);
//! assert_eq!(MEDIA_IOC_DEVICE_INFO, 0xc1007c00);
//! let c = IoctlCmd(MEDIA_IOC_DEVICE_INFO);
//! assert_eq!((c.nr(), c.size(), c.is_read(), c.is_write()), (0, 256, true, true));
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Bits of the command number field.
pub const IOC_NRBITS: u32 = 8;
/// Bits of the type (magic) field.
pub const IOC_TYPEBITS: u32 = 8;
/// Bits of the size field.
pub const IOC_SIZEBITS: u32 = 14;
/// Bits of the direction field.
pub const IOC_DIRBITS: u32 = 2;
/// Shift of the number field.
pub const IOC_NRSHIFT: u32 = 0;
/// Shift of the type field.
pub const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
/// Shift of the size field.
pub const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
/// Shift of the direction field.
pub const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
/// No data transfer.
pub const IOC_NONE: u32 = 0;
/// Userspace writes, the kernel reads (`_IOW`).
pub const IOC_WRITE: u32 = 1;
/// The kernel writes, userspace reads (`_IOR`).
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`.
///
/// Each field is masked to its width (a `size` above 16383 cannot be encoded;
/// the constants of this crate are checked against the kernel's numbers).
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    let size = (size as u32) & ((1 << IOC_SIZEBITS) - 1);
    ((dir & ((1 << IOC_DIRBITS) - 1)) << IOC_DIRSHIFT)
        | ((ty as u32) << IOC_TYPESHIFT)
        | ((nr as u32) << IOC_NRSHIFT)
        | (size << IOC_SIZESHIFT)
}

/// `_IO(type, nr)`.
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, size)`.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(type, nr, size)`.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, size)`.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// A decoded ioctl command number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoctlCmd(pub u32);

impl IoctlCmd {
    /// `_IOC_DIR`.
    pub const fn dir(self) -> u32 {
        (self.0 >> IOC_DIRSHIFT) & ((1 << IOC_DIRBITS) - 1)
    }
    /// `_IOC_TYPE`.
    pub const fn ty(self) -> u8 {
        ((self.0 >> IOC_TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1)) as u8
    }
    /// `_IOC_NR`.
    pub const fn nr(self) -> u8 {
        ((self.0 >> IOC_NRSHIFT) & ((1 << IOC_NRBITS) - 1)) as u8
    }
    /// `_IOC_SIZE`.
    pub const fn size(self) -> usize {
        ((self.0 >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
    }
    /// The kernel copies the argument in (`_IOC_WRITE`).
    pub const fn is_write(self) -> bool {
        self.dir() & IOC_WRITE != 0
    }
    /// The kernel copies the argument out (`_IOC_READ`).
    pub const fn is_read(self) -> bool {
        self.dir() & IOC_READ != 0
    }
}

/// The kinds of character-device node of the media subsystem. Each has its own
/// ioctl number space (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// `/dev/mediaN` (Media Controller).
    Media,
    /// `/dev/videoN`, `/dev/vbiN`, `/dev/radioN`, ... (V4L2 video device).
    Video,
    /// `/dev/v4l-subdevN` (V4L2 subdevice).
    Subdev,
}

/// One entry of an [`IoctlTable`]: the full command, its name and what the
/// node's handler calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoctlDef<K> {
    /// The full command number (`_IOWR(...)`).
    pub cmd: u32,
    /// The uapi name, e.g. `"MEDIA_IOC_G_TOPOLOGY"`.
    pub name: &'static str,
    /// The handler key (usually an enum of the node's ioctls).
    pub key: K,
}

/// The ioctls one node kind accepts, matched on the full command number.
///
/// # Invariants
///
/// No two entries have the same `cmd`.
#[derive(Debug, Clone, Copy)]
pub struct IoctlTable<K: 'static> {
    /// Which node kind the table belongs to.
    pub kind: NodeKind,
    /// The entries.
    pub defs: &'static [IoctlDef<K>],
}

impl<K: Copy> IoctlTable<K> {
    /// The entry for `cmd`, or `None` (the caller answers `ENOTTY`).
    ///
    /// A command whose nr matches but whose size or direction differs (a
    /// command of another node kind, or a wrong-size struct) is not found.
    pub fn lookup(&self, cmd: u32) -> Option<&IoctlDef<K>> {
        self.defs.iter().find(|d| d.cmd == cmd)
    }

    /// The name of `cmd` on this node kind.
    pub fn name(&self, cmd: u32) -> Option<&'static str> {
        self.lookup(cmd).map(|d| d.name)
    }
}

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
/// copied back on failure too, see [`super::controls::copies_out_on_error`]).
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
            if super::controls::copies_out_on_error(cmd.0) {
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

/// A fixed-size little-endian wire encoding of a uapi type (x86_64 layout).
///
/// Every `#[repr(C)]` mirror implements it through `uapi_struct!`
/// (crate-internal macro): fields are encoded at their `offset_of!` offsets
/// and every other byte (padding) is written as zero, so an encoded reply
/// never carries a byte nobody set.
pub trait Wire: Sized + Copy {
    /// Encoded size in bytes (equal to `size_of::<Self>()`, checked at compile time).
    const SIZE: usize;
    /// The all-zero value.
    const ZERO: Self;
    /// Decodes from exactly [`Self::SIZE`] bytes.
    ///
    /// Callers pass a slice of at least `SIZE` bytes; shorter input decodes
    /// as if zero-extended.
    fn decode(b: &[u8]) -> Self;
    /// Encodes into the first [`Self::SIZE`] bytes of `b` (ignored past its end).
    fn encode(&self, b: &mut [u8]);

    /// Decodes `out.len()` consecutive values (arrays); shorter input
    /// decodes as if zero-extended. Byte arrays override it with a copy.
    fn decode_slice(b: &[u8], out: &mut [Self]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = Self::decode(b.get(i * Self::SIZE..).unwrap_or(&[]));
        }
    }

    /// Encodes consecutive values (arrays), ignoring what does not fit.
    fn encode_slice(v: &[Self], b: &mut [u8]) {
        for (i, x) in v.iter().enumerate() {
            if let Some(dst) = b.get_mut(i * Self::SIZE..) {
                x.encode(dst);
            }
        }
    }

    /// Decodes a value if `b` holds at least [`Self::SIZE`] bytes.
    fn from_bytes(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::SIZE).then(|| Self::decode(b))
    }

    /// Encodes into a new vector of [`Self::SIZE`] bytes.
    fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; Self::SIZE];
        self.encode(&mut v);
        v
    }
}

fn le_bytes<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

fn put_bytes(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const ZERO: Self = 0;
            #[inline]
            fn decode(b: &[u8]) -> Self {
                <$t>::from_le_bytes(le_bytes(b))
            }
            #[inline]
            fn encode(&self, b: &mut [u8]) {
                put_bytes(b, &self.to_le_bytes());
            }
        }
    )*};
}
wire_int!(u16, u32, u64, i32, i64);

impl Wire for u8 {
    const SIZE: usize = 1;
    const ZERO: Self = 0;
    #[inline]
    fn decode(b: &[u8]) -> Self {
        b.first().copied().unwrap_or(0)
    }
    #[inline]
    fn encode(&self, b: &mut [u8]) {
        if let Some(d) = b.first_mut() {
            *d = *self;
        }
    }
    fn decode_slice(b: &[u8], out: &mut [Self]) {
        let n = out.len().min(b.len());
        out[..n].copy_from_slice(&b[..n]);
        out[n..].fill(0);
    }
    fn encode_slice(v: &[Self], b: &mut [u8]) {
        let n = v.len().min(b.len());
        b[..n].copy_from_slice(&v[..n]);
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    const SIZE: usize = T::SIZE * N;
    const ZERO: Self = [T::ZERO; N];
    fn decode(b: &[u8]) -> Self {
        let mut out = [T::ZERO; N];
        T::decode_slice(b, &mut out);
        out
    }
    fn encode(&self, b: &mut [u8]) {
        T::encode_slice(self, b);
    }
}

/// Copies `s` into a fixed `char[N]` field like the kernel's `strscpy`: at most
/// `N - 1` bytes, NUL-terminated, the rest zero. Truncation happens on a byte
/// boundary (as in C); [`get_str`] decodes lossily.
pub fn put_str(dst: &mut [u8], s: &str) {
    dst.fill(0);
    let n = s.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Reads a NUL-terminated `char[N]` field (lossy UTF-8; no NUL means all `N` bytes).
pub fn get_str(src: &[u8]) -> String {
    let end = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

/// Defines a `#[repr(C)]` uapi mirror with its wire codec and compile-time
/// layout checks: `size_of`, `align_of` and every field's `offset_of!` must
/// equal the numbers written in the invocation (taken from uapi-sizes.txt).
///
/// ```ignore
/// uapi_struct! {
///     /// doc
///     #[repr(C)]
///     pub struct Foo: size 8, align 4 {
///         /// doc
///         @0 pub a: u32,
///         @4 pub b: u32,
///     }
/// }
/// ```
macro_rules! uapi_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : size $size:literal, align $align:literal {
            $( $(#[$fmeta:meta])* @ $off:literal pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = {
            assert!(::std::mem::size_of::<$name>() == $size, "size differs from uapi-sizes.txt");
            assert!(::std::mem::align_of::<$name>() == $align, "alignment differs from uapi-sizes.txt");
            $(
                assert!(::std::mem::offset_of!($name, $field) == $off, "field offset differs from uapi-sizes.txt");
                assert!(<$ty as $crate::uapi::ioctl::Wire>::SIZE == ::std::mem::size_of::<$ty>());
                assert!($off + ::std::mem::size_of::<$ty>() <= $size);
            )*
        };

        impl $crate::uapi::ioctl::Wire for $name {
            const SIZE: usize = $size;
            const ZERO: Self = Self { $( $field: <$ty as $crate::uapi::ioctl::Wire>::ZERO, )* };
            fn decode(b: &[u8]) -> Self {
                Self {
                    $( $field: <$ty as $crate::uapi::ioctl::Wire>::decode(b.get($off..).unwrap_or(&[])), )*
                }
            }
            fn encode(&self, b: &mut [u8]) {
                let end = b.len().min($size);
                b[..end].fill(0);
                $(
                    {
                        let v: $ty = self.$field;
                        if let Some(dst) = b.get_mut($off..end) {
                            <$ty as $crate::uapi::ioctl::Wire>::encode(&v, dst);
                        }
                    }
                )*
            }
        }

        impl Default for $name {
            fn default() -> Self {
                <Self as $crate::uapi::ioctl::Wire>::ZERO
            }
        }
    };
}
pub(crate) use uapi_struct;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_the_c_macros() {
        assert_eq!(io(b'|', 0x80), 0x0000_7c80);
        assert_eq!(ior(b'|', 5, 4), 0x8004_7c05);
        assert_eq!(iowr(b'V', 4, 208), 0xc0d0_5604);
        assert_eq!(iow(b'V', 18, 4), 0x4004_5612);
        let c = IoctlCmd(0xc0d0_5604);
        assert_eq!((c.ty(), c.nr(), c.size(), c.dir()), (b'V', 4, 208, 3));
    }

    #[test]
    fn with_arg_copies_out_only_on_success() {
        let mm = AddressSpace::new();
        let a = mm.map_bytes(&[1, 2, 3, 4]);
        let cmd = IoctlCmd(iowr(b'x', 1, 4));
        let r: Result<(), Fault> = with_arg(&mm, cmd, a, |b| {
            assert_eq!(b, &[1, 2, 3, 4]);
            b.fill(9);
            Err(Fault)
        });
        assert!(r.is_err());
        assert_eq!(mm.read_back(a, 4).unwrap(), vec![1, 2, 3, 4]);
        with_arg::<_, Fault>(&mm, cmd, a, |b| {
            b.fill(9);
            Ok(())
        })
        .unwrap();
        assert_eq!(mm.read_back(a, 4).unwrap(), vec![9; 4]);
        // Read-only commands do not read the caller's bytes.
        let rcmd = IoctlCmd(ior(b'x', 2, 4));
        with_arg::<_, Fault>(&mm, rcmd, a, |b| {
            assert_eq!(b, &[0; 4]);
            Ok(())
        })
        .unwrap();
        // Unmapped or short argument: EFAULT.
        assert_eq!(with_arg::<(), Fault>(&mm, cmd, 0, |_| Ok(())), Err(Fault));
        assert_eq!(
            with_arg::<(), Fault>(&mm, IoctlCmd(iowr(b'x', 1, 5)), a, |_| Ok(())),
            Err(Fault)
        );
    }

    #[test]
    fn address_space_guards() {
        let mm = AddressSpace::new();
        let a = mm.map(10);
        let b = mm.map(10);
        assert!(b > a + 10);
        assert!(mm.write(a + 9, &[0, 0]).is_err());
        assert!(mm.read(a - 1, &mut [0]).is_err());
        assert!(mm.unmap(a));
        assert!(mm.read(a, &mut [0]).is_err());
    }

    #[test]
    fn strings() {
        let mut b = [0xffu8; 4];
        put_str(&mut b, "abcdef");
        assert_eq!(b, *b"abc\0");
        assert_eq!(get_str(&b), "abc");
        assert_eq!(get_str(b"xy"), "xy");
    }
}
