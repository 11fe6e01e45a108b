//! An open video node: its per-file data ([`VideoFh`]) and the node's file
//! operations (open, release, read, ioctl, poll, mmap).

use super::{VideoInner, VideoOps};
use crate::uapi::controls::event::ALL as EVENT_ALL;
use crate::uapi::videodev2::VIDEO_IOCTLS;
use crate::v4l2::NodeStyle;
use crate::v4l2::event::FileEvents;
use crate::v4l2::prio::FilePrio;
use devlife_model::{
    Errno, FileOps, KResult, MmapRequest, OpCtx, PollMask, PollTable, ReleaseCtx, VmOps,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

/// The per-open-file data of a video node (`struct v4l2_fh`): holds the
/// video device (the try-get reference taken at open).
pub struct VideoFh<D: VideoOps> {
    pub(super) vdev: Arc<VideoInner<D>>,
    pub(super) id: u64,
    /// The file's priority (`v4l2_fh.prio`).
    pub(super) prio: FilePrio,
    /// The file's event queue (dies with the file).
    pub(super) events: Arc<FileEvents>,
}

impl<D: VideoOps> std::fmt::Debug for VideoFh<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFh")
            .field("vdev", &self.vdev.name)
            .field("id", &self.id)
            .finish()
    }
}

/// The node's file operations. Holds the device weakly (no cycle with the
/// node, which owns its ops; open is a try-get).
pub(super) struct VideoNodeOps<D: VideoOps> {
    pub(super) vdev: Weak<VideoInner<D>>,
}

impl<D: VideoOps> FileOps for VideoNodeOps<D> {
    type Private = VideoFh<D>;

    fn open(&self, ctx: &OpCtx<'_>) -> KResult<VideoFh<D>> {
        let vdev = self.vdev.upgrade().ok_or(Errno::ENODEV)?;
        vdev.ops.open(ctx)?;
        let id = vdev.next_fh.fetch_add(1, Ordering::Relaxed);
        let prio = vdev.prio.open();
        Ok(VideoFh {
            vdev,
            id,
            prio,
            events: Arc::new(FileEvents::new()),
        })
    }

    fn release(&self, ctx: &ReleaseCtx<'_>, fh: VideoFh<D>) {
        let v = &fh.vdev;
        match &v.style {
            NodeStyle::Gated => {
                // The driver may be called only inside the node's gate: then
                // an unplug waits for us. Once unplugged, the unplug path
                // stops it.
                match ctx.node().gate().enter_as("release") {
                    Ok(_access) => v.queue.release(fh.id, Some(&v.drv())),
                    Err(_) => v.queue.release(fh.id, None),
                }
            }
            NodeStyle::EntryCheck { embedded_in } => {
                if let Some(mem) = embedded_in {
                    // `v4l2_release` reads `vdev->fops` in the driver's
                    // allocation.
                    mem.check("read of vdev->fops");
                }
                // Pre-fix vb2_fop_release: stops the stream through the
                // driver whatever the state of the device.
                v.queue.release(fh.id, Some(&v.drv()));
            }
        }
        v.prio.close(&fh.prio);
        if let Some(h) = &v.ctrls {
            let gone = fh.events.unsubscribe(EVENT_ALL, 0);
            let ids: Vec<u32> = gone.iter().map(|&(_, i)| i).collect();
            h.unsubscribe(fh.events.id(), &ids);
        }
        v.ops.close();
        // Dropping `fh` may put the last reference: `VideoOps::release`.
    }

    fn read(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, buf: &mut [u8]) -> KResult<usize> {
        fh.vdev.queue.read(ctx, fh.id, buf, &fh.vdev.drv())
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        fh.vdev.ioctl(ctx, fh, cmd, arg)
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        VIDEO_IOCTLS.name(cmd).unwrap_or("ioctl")
    }

    fn poll(&self, ctx: &OpCtx<'_>, fh: &VideoFh<D>, table: &mut PollTable) -> PollMask {
        // vb2_fop_poll: PRI while an event waits, plus the queue's mask.
        let mut m = PollMask::NONE;
        if fh.vdev.ctrls.is_some() && !ctx.is_unplugging() {
            table.wait(fh.events.wait_queue());
            if fh.events.pending() {
                m = PollMask::PRI;
            }
        }
        m | fh.vdev.queue.poll(ctx, fh.id, table, &fh.vdev.drv())
    }

    fn mmap(
        &self,
        _ctx: &OpCtx<'_>,
        fh: &VideoFh<D>,
        req: &MmapRequest,
    ) -> KResult<Arc<dyn VmOps>> {
        fh.vdev.queue.mmap(req)
    }
}
