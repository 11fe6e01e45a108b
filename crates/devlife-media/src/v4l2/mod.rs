//! V4L2: v4l2 device, video device, subdev, file handles, buffer queue.
//!
//! The objects and their lifetimes (rules 1-5 of docs/architecture.md):
//!
//! * [`V4l2Device`]: refcounted, with a driver release callback. Every video
//!   device and subdev registered to it holds a reference until its own
//!   release.
//! * [`VideoDevice`]: a `/dev/videoN` node and its buffer queue. The driver's
//!   data ([`VideoOps`]) lives inside it; it is released (and
//!   [`VideoOps::release`] runs) after the driver's last handle and the last
//!   open file are gone. The node's file operations hold it only weakly: `open`
//!   takes a try-get reference, each open file holds a strong one.
//! * [`Subdev`]: a subdev with its `/dev/v4l-subdevN` devnode in the same
//!   allocation and a release operation ([`SubdevOps::release`]) — the enter/exit RFC's (docs/proposals.md)
//!   open problem: `close` of a subdev node after unbind touches memory that
//!   is still there. Subdev `open` takes a try-get reference.
//! * [`BufferQueue`] / [`ActiveBuffer`]: the driver side of the vb2-like
//!   queue (take the next buffer, fill it, complete it, from any thread).
//!
//! What the framework does for the driver, so that a driver cannot get it
//! wrong: every file operation runs inside the node's gate (devlife-model);
//! argument decoding and validation (buffer types, indices, pads, `which`,
//! reserved fields, `v4l2_pix_format` sanitising) and errno mapping; the
//! queue locking; and at unplug (step 2 of the seven steps, while the
//! hardware is still bound) stopping the stream, returning the buffers and
//! waking every sleeper with `ENODEV`. `release` of a file after unplug never
//! calls into the driver's streaming code.
//!
//! The pre-fix kernel (registered flag checked at entry only, no stream stop
//! or wake-up at unregister, `release` stopping the stream whatever the
//! state) is not reachable from here: the drivers' legacy twins create their
//! video devices and subdevs through the extension in [`crate::legacy`].

#![forbid(unsafe_code)]

pub mod ctrls;
mod device;
pub mod event;
mod node_style;
pub(crate) use node_style::NodeStyle;
pub mod prio;
mod subdev;
mod vb2;
mod video;

pub use ctrls::{CtrlConfig, CtrlHandler};
pub use device::{V4l2Device, WeakV4l2Device};
pub use event::FileEvents;
pub use subdev::{PadState, Subdev, SubdevConfig, SubdevFh, SubdevHandle, SubdevOps, SubdevState};
pub use vb2::{
    ActiveBuffer, BufState, BufferMemory, BufferQueue, IoModes, PAGE_SIZE, PLANE_INDEX_SHIFT,
    QueueConfig, Stale, VB2_MAX_FRAME,
};
pub use video::{CapStrings, FmtDesc, VideoDevice, VideoDeviceConfig, VideoFh, VideoOps};

use crate::uapi::ioctl::{IoctlCmd, Wire};
use crate::uapi::videodev2::pix_fmt;
use devlife_model::{Errno, FileOps, KResult, Kernel, Node, NodeRegistration, NodeSpec, ProbeCtx};
use std::sync::Arc;

/// `LINUX_VERSION_CODE` reported by `QUERYCAP` (the modelled kernel, 6.17).
pub const LINUX_VERSION_CODE: u32 = crate::uapi::media::MEDIA_API_VERSION;

/// Where a node is registered: from a driver's `probe` (the node joins the
/// binding, which unplugs it before `remove` and unregisters it after; its
/// owner is the driver's module), or directly on a [`Kernel`] (tests, nodes
/// without a bound parent).
pub trait NodeRegistrar {
    /// Registers `ops` as a node described by `spec`. Returns the node and,
    /// when the caller must keep it, the registration handle.
    fn register<O: FileOps>(
        &self,
        spec: NodeSpec,
        ops: Arc<O>,
    ) -> KResult<(Node, Option<NodeRegistration>)>;
}

impl NodeRegistrar for ProbeCtx<'_> {
    fn register<O: FileOps>(
        &self,
        spec: NodeSpec,
        ops: Arc<O>,
    ) -> KResult<(Node, Option<NodeRegistration>)> {
        self.register_node(spec, ops).map(|n| (n, None))
    }
}

impl NodeRegistrar for Kernel {
    fn register<O: FileOps>(
        &self,
        spec: NodeSpec,
        ops: Arc<O>,
    ) -> KResult<(Node, Option<NodeRegistration>)> {
        let reg = self.register_node(spec, ops)?;
        let node = reg.node().ok_or(Errno::ENODEV)?;
        Ok((node, Some(reg)))
    }
}

/// The kernel's ioctl argument discipline for an in-memory argument
/// (`video_usercopy`): the argument must hold `_IOC_SIZE(cmd)` bytes
/// (`EFAULT` otherwise); for `_IOC_WRITE` commands the first `input` bytes
/// (`cmd_input_size`, all by default) are decoded and the rest is zero, for
/// read-only commands everything starts zero; `f` runs on the decoded value;
/// on success and for `_IOC_READ` commands the value is encoded back (C
/// padding as zero). On error nothing is written.
pub(crate) fn usercopy<T: Wire>(
    cmd: u32,
    arg: &mut [u8],
    input: Option<usize>,
    f: impl FnOnce(&mut T) -> KResult<()>,
) -> KResult<i64> {
    let c = IoctlCmd(cmd);
    let size = c.size();
    debug_assert_eq!(size, T::SIZE, "ioctl size and struct size differ");
    let arg = arg.get_mut(..size).ok_or(Errno::EFAULT)?;
    let mut v = if c.is_write() {
        match input {
            Some(n) if n < size => {
                // Only the first `n` bytes are input; the rest reads as zero.
                let mut tmp = [0u8; 256];
                let mut heap = Vec::new();
                let tmp: &mut [u8] = if size <= tmp.len() {
                    &mut tmp[..size]
                } else {
                    heap.resize(size, 0);
                    &mut heap
                };
                tmp[..n].copy_from_slice(&arg[..n]);
                T::decode(tmp)
            }
            _ => T::decode(arg),
        }
    } else {
        T::ZERO
    };
    f(&mut v)?;
    if c.is_read() {
        v.encode(arg);
    }
    Ok(0)
}

/// The description `v4l_fill_fmtdesc` gives a pixel format, if known.
pub fn pixfmt_description(fourcc: u32) -> Option<&'static str> {
    use crate::uapi::videodev2::fourcc as f;
    Some(match fourcc {
        pix_fmt::RGB24 => "24-bit RGB 8-8-8",
        pix_fmt::BGR24 => "24-bit BGR 8-8-8",
        pix_fmt::ARGB32 => "32-bit ARGB 8-8-8-8",
        pix_fmt::YUYV => "YUYV 4:2:2",
        pix_fmt::GREY => "8-bit Greyscale",
        pix_fmt::SBGGR8 => "8-bit Bayer BGBG/GRGR",
        pix_fmt::SGBRG8 => "8-bit Bayer GBGB/RGRG",
        pix_fmt::SGRBG8 => "8-bit Bayer GRGR/BGBG",
        pix_fmt::SRGGB8 => "8-bit Bayer RGRG/GBGB",
        x if x == f(b'B', b'G', b'1', b'0') => "10-bit Bayer BGBG/GRGR",
        x if x == f(b'G', b'B', b'1', b'0') => "10-bit Bayer GBGB/RGRG",
        x if x == f(b'B', b'A', b'1', b'0') => "10-bit Bayer GRGR/BGBG",
        x if x == f(b'R', b'G', b'1', b'0') => "10-bit Bayer RGRG/GBGB",
        x if x == f(b'a', b'B', b'A', b'8') => "8-bit Bayer BGBG/GRGR (A-law)",
        x if x == f(b'a', b'G', b'A', b'8') => "8-bit Bayer GBGB/RGRG (A-law)",
        x if x == f(b'a', b'g', b'A', b'8') => "8-bit Bayer GRGR/BGBG (A-law)",
        x if x == f(b'a', b'R', b'A', b'8') => "8-bit Bayer RGRG/GBGB (A-law)",
        x if x == f(b'b', b'B', b'A', b'8') => "8-bit Bayer BGBG/GRGR (DPCM)",
        x if x == f(b'b', b'G', b'A', b'8') => "8-bit Bayer GBGB/RGRG (DPCM)",
        x if x == f(b'B', b'D', b'1', b'0') => "8-bit Bayer GRGR/BGBG (DPCM)",
        x if x == f(b'b', b'R', b'A', b'8') => "8-bit Bayer RGRG/GBGB (DPCM)",
        x if x == f(b'B', b'G', b'1', b'2') => "12-bit Bayer BGBG/GRGR",
        x if x == f(b'G', b'B', b'1', b'2') => "12-bit Bayer GBGB/RGRG",
        x if x == f(b'B', b'A', b'1', b'2') => "12-bit Bayer GRGR/BGBG",
        x if x == f(b'R', b'G', b'1', b'2') => "12-bit Bayer RGRG/GBGB",
        _ => return None,
    })
}
