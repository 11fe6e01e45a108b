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

mod usermem;
mod wire;

pub use usermem::*;
pub(crate) use wire::uapi_struct;
pub use wire::*;

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
