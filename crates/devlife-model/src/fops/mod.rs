//! File operations: the [`FileOps`] trait upper layers implement, the contexts
//! the model hands them, wait queues ([`EventQueue`]), poll masks and tables,
//! and memory mappings ([`VmOps`]).
//!
//! Every operation except `release` and the close of a mapping is dispatched
//! by the model inside an access of the node's gate (see [`crate::chrdev`]);
//! the [`OpCtx`] proves it and carries what the operation may need (the
//! access and its [`Bound`] proof, the node, the open flags, the caller's
//! signal). `release` gets a [`ReleaseCtx`] instead: it runs even after unplug,
//! outside any gate, and must do no I/O.

use crate::errno::{Errno, KResult};
use std::any::Any;
use std::sync::Arc;

mod ctx;
mod event;
mod flags;
mod mmap;
mod poll;

pub(crate) use ctx::Waiter;
pub use ctx::{OpCtx, ReleaseCtx};
pub use event::EventQueue;
pub use flags::OpenFlags;
pub use mmap::{MmapRequest, SharedMemory, VmOps};
pub use poll::{PollMask, PollTable};

/// Per-file private data as the model stores it (type-erased).
pub type AnyPrivate = Box<dyn Any + Send + Sync>;

/// The file operations of a node, implemented by upper layers (media device,
/// video device, subdev, audio, misc drivers).
///
/// `open` returns the per-file private data; every other operation receives
/// it by shared reference (several threads may use one open file at once:
/// use interior mutability), and `release` receives it by value after the
/// last handle and the last mapping of the file are gone.
///
/// Default bodies follow Linux for a missing handler: `read`/`write` give
/// `EINVAL`, `ioctl` gives `ENOTTY`, `mmap` gives `ENODEV`, `poll` reports
/// [`PollMask::DEFAULT`].
///
/// # Contract
///
/// * Every operation but `release` runs inside the node's gate: the node is
///   not unplugged until it returns. It may sleep only through
///   [`OpCtx::wait_event`] (or hold the access across a hardware access),
///   so that unplug can wake it.
/// * `release` runs exactly once per open file, possibly after unplug, on
///   whichever thread closes the last handle; it must not touch hardware.
/// * Ops must not hold a strong reference to their own [`Node`](crate::Node) (that would
///   be a cycle: the node owns its ops).
pub trait FileOps: Send + Sync + 'static {
    /// Per-open-file private data (`file->private_data`).
    type Private: Send + Sync + 'static;

    /// Opens the node. Runs inside the gate.
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<Self::Private>;

    /// Last close of the file (all handles and mappings gone). No gate, no I/O.
    fn release(&self, ctx: &ReleaseCtx<'_>, private: Self::Private) {
        let _ = (ctx, private);
    }

    /// `read(2)`. Returns the number of bytes produced.
    fn read(&self, ctx: &OpCtx<'_>, private: &Self::Private, buf: &mut [u8]) -> KResult<usize> {
        let _ = (ctx, private, buf);
        Err(Errno::EINVAL)
    }

    /// `write(2)`. Returns the number of bytes consumed.
    fn write(&self, ctx: &OpCtx<'_>, private: &Self::Private, buf: &[u8]) -> KResult<usize> {
        let _ = (ctx, private, buf);
        Err(Errno::EINVAL)
    }

    /// `ioctl(2)`: `arg` is the in/out argument buffer (the caller's struct,
    /// `_IOC_SIZE(cmd)` bytes in Linux). Returns the syscall's non-negative result.
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        private: &Self::Private,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let _ = (ctx, private, cmd, arg);
        Err(Errno::ENOTTY)
    }

    /// Label of an ioctl for the watchdog, the journal and "blocked in" queries
    /// (e.g. `"VIDIOC_DQBUF"`).
    fn ioctl_name(&self, cmd: u32) -> &'static str {
        let _ = cmd;
        "ioctl"
    }

    /// `poll(2)`: returns the current mask and registers the queues a sleeper
    /// must be woken by in `table`.
    fn poll(&self, ctx: &OpCtx<'_>, private: &Self::Private, table: &mut PollTable) -> PollMask {
        let _ = (ctx, private, table);
        PollMask::DEFAULT
    }

    /// `mmap(2)`: returns the mapping's memory. The returned object keeps its
    /// backing memory alive for as long as the mapping exists.
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        private: &Self::Private,
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        let _ = (ctx, private, req);
        Err(Errno::ENODEV)
    }
}

/// Object-safe form of [`FileOps`] the model stores in a node.
pub(crate) trait ErasedOps: Send + Sync {
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<AnyPrivate>;
    fn release(&self, ctx: &ReleaseCtx<'_>, private: AnyPrivate);
    fn read(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &mut [u8]) -> KResult<usize>;
    fn write(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &[u8]) -> KResult<usize>;
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64>;
    fn ioctl_name(&self, cmd: u32) -> &'static str;
    fn poll(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), t: &mut PollTable) -> PollMask;
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>>;
}

impl<T: FileOps> ErasedOps for T {
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<AnyPrivate> {
        FileOps::open(self, ctx).map(|p| Box::new(p) as AnyPrivate)
    }
    fn release(&self, ctx: &ReleaseCtx<'_>, private: AnyPrivate) {
        // The private data was produced by `open` of these same ops.
        if let Ok(p) = private.downcast::<T::Private>() {
            FileOps::release(self, ctx, *p);
        }
    }
    fn read(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &mut [u8]) -> KResult<usize> {
        FileOps::read(self, ctx, down::<T>(p)?, buf)
    }
    fn write(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), buf: &[u8]) -> KResult<usize> {
        FileOps::write(self, ctx, down::<T>(p)?, buf)
    }
    fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        FileOps::ioctl(self, ctx, down::<T>(p)?, cmd, arg)
    }
    fn ioctl_name(&self, cmd: u32) -> &'static str {
        FileOps::ioctl_name(self, cmd)
    }
    fn poll(&self, ctx: &OpCtx<'_>, p: &(dyn Any + Send + Sync), t: &mut PollTable) -> PollMask {
        match down::<T>(p) {
            Ok(p) => FileOps::poll(self, ctx, p, t),
            Err(_) => PollMask::NVAL,
        }
    }
    fn mmap(
        &self,
        ctx: &OpCtx<'_>,
        p: &(dyn Any + Send + Sync),
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        FileOps::mmap(self, ctx, down::<T>(p)?, req)
    }
}

fn down<T: FileOps>(p: &(dyn Any + Send + Sync)) -> KResult<&T::Private> {
    p.downcast_ref::<T::Private>().ok_or(Errno::EBADF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_mask_ops_and_debug() {
        let m = PollMask::ERR | PollMask::HUP;
        assert!(m.contains(PollMask::HUP));
        assert!(!m.intersects(PollMask::IN));
        assert_eq!(format!("{m:?}"), "ERR|HUP");
        assert_eq!(format!("{:?}", PollMask::NONE), "0");
        assert_eq!(format!("{:?}", PollMask(0x401)), "IN|0x400");
    }

    #[test]
    fn shared_memory_bounds() {
        let m = SharedMemory::zeroed(8);
        m.write(4, &[1, 2, 3, 4]).unwrap();
        let mut b = [0; 4];
        m.read(4, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(m.write(6, &[0; 4]), Err(Errno::EFAULT));
        assert_eq!(m.read(usize::MAX, &mut b), Err(Errno::EFAULT));
    }
}
