//! An open subdev node: its per-file data ([`SubdevFh`]) and the node's
//! file operations.

use super::{AnySubdev, SubdevState};
use crate::uapi::subdev::SUBDEV_IOCTLS;
use crate::v4l2::event::FileEvents;
use devlife_model::{Errno, FileOps, KResult, OpCtx, PollMask, PollTable, ReleaseCtx};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// The per-open-file data of a subdev node (`struct v4l2_subdev_fh`): the
/// try-get reference to the subdev, the TRY state and the client caps.
pub struct SubdevFh {
    pub(super) sd: Arc<dyn AnySubdev>,
    pub(super) id: u64,
    pub(super) try_state: Mutex<SubdevState>,
    pub(super) client_caps: Mutex<u64>,
    /// The file's event queue (dies with the file).
    pub(super) events: Arc<FileEvents>,
}

impl std::fmt::Debug for SubdevFh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubdevFh")
            .field("subdev", &self.sd.name())
            .field("id", &self.id)
            .finish()
    }
}

impl SubdevFh {
    /// A copy of this file handle's TRY state.
    pub fn try_state(&self) -> SubdevState {
        self.try_state.lock().clone()
    }
}

/// The subdev node's file operations (`v4l2_subdev_fops`). Holds the subdev
/// weakly: `open` is a try-get.
pub(crate) struct SubdevNodeOps {
    pub(super) sd: Weak<dyn AnySubdev>,
}

impl FileOps for SubdevNodeOps {
    type Private = SubdevFh;

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<SubdevFh> {
        let sd = self.sd.upgrade().ok_or(Errno::ENODEV)?;
        let try_state = sd.new_try_state();
        sd.open()?;
        Ok(SubdevFh {
            id: sd.next_fh(),
            sd,
            try_state: Mutex::new(try_state),
            client_caps: Mutex::new(0),
            events: Arc::new(FileEvents::new()),
        })
    }

    fn release(&self, _ctx: &ReleaseCtx<'_>, fh: SubdevFh) {
        // `subdev_close`: the subdev is alive (the fh holds it).
        fh.sd.forget_events(&fh);
        fh.sd.close();
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, fh: &SubdevFh, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        fh.sd.ioctl(ctx, fh, cmd, arg)
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        SUBDEV_IOCTLS.name(cmd).unwrap_or("ioctl")
    }

    fn poll(&self, _ctx: &OpCtx<'_>, fh: &SubdevFh, table: &mut PollTable) -> PollMask {
        // `subdev_poll`: ERR without V4L2_SUBDEV_FL_HAS_EVENTS, else PRI
        // while an event waits.
        if !fh.sd.has_events() {
            return PollMask::ERR;
        }
        table.wait(fh.events.wait_queue());
        if fh.events.pending() {
            PollMask::PRI
        } else {
            PollMask::NONE
        }
    }
}
