//! The subdev node's ioctls (`subdev_do_ioctl` and its `check_*` helpers).

use super::{SubdevFh, SubdevInner, SubdevOps, SubdevState};
use crate::uapi::controls::{V4l2Event, V4l2EventSubscription};
use crate::uapi::subdev::{
    SUBDEV_IOCTLS, SubdevIoctl, V4L2_SEL_TGT_CROP, V4L2_SUBDEV_CAP_RO_SUBDEV,
    V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH, V4L2_SUBDEV_CLIENT_CAP_STREAMS,
    V4L2_SUBDEV_FORMAT_ACTIVE, V4L2_SUBDEV_FORMAT_TRY, V4l2SubdevCapability,
    V4l2SubdevClientCapability, V4l2SubdevCrop, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum, V4l2SubdevSelection,
};
use crate::v4l2::ctrls::ioctl::{CtrlIoctl, ctrl_ioctl};
use crate::v4l2::event;
use crate::v4l2::{LINUX_VERSION_CODE, usercopy};
use devlife_model::{Errno, KResult, OpCtx};

pub(super) fn check_which(which: u32) -> KResult<()> {
    if which == V4L2_SUBDEV_FORMAT_TRY || which == V4L2_SUBDEV_FORMAT_ACTIVE {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

impl<D: SubdevOps> SubdevInner<D> {
    /// `check_which`, `check_pad`, `check_state` (no streams).
    pub(super) fn check(&self, which: u32, pad: u32, stream: u32) -> KResult<()> {
        check_which(which)?;
        if pad >= self.cfg.pads.len() as u32 {
            return Err(Errno::EINVAL);
        }
        if stream != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Runs `f` on the state `which` selects.
    pub(super) fn with_state<R>(
        &self,
        which: u32,
        fh: Option<&SubdevFh>,
        f: impl FnOnce(&mut SubdevState) -> KResult<R>,
    ) -> KResult<R> {
        if which == V4L2_SUBDEV_FORMAT_TRY {
            match fh {
                Some(fh) => f(&mut fh.try_state.lock()),
                None => Err(Errno::EINVAL),
            }
        } else {
            f(&mut self.active.lock())
        }
    }

    pub(super) fn g_fmt(&self, fh: Option<&SubdevFh>, f: &mut V4l2SubdevFormat) -> KResult<()> {
        f.stream = 0;
        f.reserved = [0; 7];
        f.format.reserved = [0; 10];
        self.check(f.which, f.pad, f.stream)?;
        self.with_state(f.which, fh, |st| self.ops.get_fmt(st, f))?;
        f.format.reserved = [0; 10];
        Ok(())
    }

    pub(super) fn s_fmt(&self, fh: Option<&SubdevFh>, f: &mut V4l2SubdevFormat) -> KResult<()> {
        if f.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only && fh.is_some() {
            return Err(Errno::EPERM);
        }
        f.stream = 0;
        f.reserved = [0; 7];
        f.format.reserved = [0; 10];
        self.check(f.which, f.pad, f.stream)?;
        self.with_state(f.which, fh, |st| self.ops.set_fmt(st, f))?;
        f.format.reserved = [0; 10];
        Ok(())
    }

    pub(super) fn ctrl_ioctl(
        &self,
        fh: &SubdevFh,
        which: CtrlIoctl,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        // `subdev_do_ioctl`: no handler, no control ioctls.
        let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
        ctrl_ioctl(h, which, cmd, arg, fh.events.id(), &|id, v| {
            self.ops.s_ctrl(id, v)
        })
    }

    pub(super) fn do_ioctl(
        &self,
        ctx: &OpCtx<'_>,
        fh: &SubdevFh,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let Some(def) = SUBDEV_IOCTLS.lookup(cmd) else {
            return Err(Errno::ENOTTY);
        };
        match def.key {
            SubdevIoctl::Querycap => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCapability| {
                c.version = LINUX_VERSION_CODE;
                c.capabilities = if self.cfg.read_only {
                    V4L2_SUBDEV_CAP_RO_SUBDEV
                } else {
                    0
                };
                c.reserved = [0; 14];
                Ok(())
            }),
            SubdevIoctl::GFmt => usercopy(cmd, arg, None, |f| self.g_fmt(Some(fh), f)),
            SubdevIoctl::SFmt => usercopy(cmd, arg, None, |f| self.s_fmt(Some(fh), f)),
            SubdevIoctl::EnumMbusCode => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevMbusCodeEnum| {
                    c.stream = 0;
                    c.reserved = [0; 6];
                    self.check(c.which, c.pad, c.stream)?;
                    self.with_state(c.which, Some(fh), |st| self.ops.enum_mbus_code(st, c))
                })
            }
            SubdevIoctl::EnumFrameSize => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevFrameSizeEnum| {
                    c.stream = 0;
                    c.reserved = [0; 7];
                    self.check(c.which, c.pad, c.stream)?;
                    self.with_state(c.which, Some(fh), |st| self.ops.enum_frame_size(st, c))
                })
            }
            SubdevIoctl::GSelection => usercopy(cmd, arg, None, |s: &mut V4l2SubdevSelection| {
                s.stream = 0;
                s.reserved = [0; 7];
                self.check(s.which, s.pad, s.stream)?;
                self.with_state(s.which, Some(fh), |st| self.ops.get_selection(st, s))
            }),
            SubdevIoctl::SSelection => usercopy(cmd, arg, None, |s: &mut V4l2SubdevSelection| {
                if s.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only {
                    return Err(Errno::EPERM);
                }
                s.stream = 0;
                s.reserved = [0; 7];
                self.check(s.which, s.pad, s.stream)?;
                self.with_state(s.which, Some(fh), |st| self.ops.set_selection(st, s))
            }),
            // The legacy crop ioctls: the core maps them to the CROP target.
            SubdevIoctl::GCrop => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCrop| {
                c.stream = 0;
                c.reserved = [0; 7];
                self.check(c.which, c.pad, c.stream)?;
                let mut s = V4l2SubdevSelection {
                    which: c.which,
                    pad: c.pad,
                    target: V4L2_SEL_TGT_CROP,
                    ..Default::default()
                };
                self.with_state(s.which, Some(fh), |st| self.ops.get_selection(st, &mut s))?;
                c.rect = s.r;
                Ok(())
            }),
            SubdevIoctl::SCrop => usercopy(cmd, arg, None, |c: &mut V4l2SubdevCrop| {
                if c.which != V4L2_SUBDEV_FORMAT_TRY && self.cfg.read_only {
                    return Err(Errno::EPERM);
                }
                c.stream = 0;
                c.reserved = [0; 7];
                self.check(c.which, c.pad, c.stream)?;
                let mut s = V4l2SubdevSelection {
                    which: c.which,
                    pad: c.pad,
                    target: V4L2_SEL_TGT_CROP,
                    r: c.rect,
                    ..Default::default()
                };
                self.with_state(s.which, Some(fh), |st| self.ops.set_selection(st, &mut s))?;
                c.rect = s.r;
                Ok(())
            }),
            SubdevIoctl::GClientCap => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevClientCapability| {
                    c.capabilities = *fh.client_caps.lock();
                    Ok(())
                })
            }
            SubdevIoctl::SClientCap => {
                usercopy(cmd, arg, None, |c: &mut V4l2SubdevClientCapability| {
                    // No devlife subdev has streams: STREAMS is always masked.
                    let v = c.capabilities
                        & (V4L2_SUBDEV_CLIENT_CAP_STREAMS
                            | V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH)
                        & !V4L2_SUBDEV_CLIENT_CAP_STREAMS;
                    *fh.client_caps.lock() = v;
                    c.capabilities = v;
                    Ok(())
                })
            }
            // Routing exists only on streams-capable subdevs.
            SubdevIoctl::GRouting | SubdevIoctl::SRouting => Err(Errno::ENOTTY),
            SubdevIoctl::Queryctrl => self.ctrl_ioctl(fh, CtrlIoctl::Queryctrl, cmd, arg),
            SubdevIoctl::QueryExtCtrl => self.ctrl_ioctl(fh, CtrlIoctl::QueryExtCtrl, cmd, arg),
            SubdevIoctl::Querymenu => self.ctrl_ioctl(fh, CtrlIoctl::Querymenu, cmd, arg),
            SubdevIoctl::GCtrl => self.ctrl_ioctl(fh, CtrlIoctl::GCtrl, cmd, arg),
            SubdevIoctl::SCtrl => self.ctrl_ioctl(fh, CtrlIoctl::SCtrl, cmd, arg),
            SubdevIoctl::GExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::GExtCtrls, cmd, arg),
            SubdevIoctl::SExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::SExtCtrls, cmd, arg),
            SubdevIoctl::TryExtCtrls => self.ctrl_ioctl(fh, CtrlIoctl::TryExtCtrls, cmd, arg),
            // core.log_status = v4l2_ctrl_subdev_log_status (ENOTTY without).
            SubdevIoctl::LogStatus => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                for line in h.log_status(&self.cfg.name) {
                    self.monitor.journal().note(self.id, &self.cfg.name, line);
                }
                Ok(0)
            }
            // Event ioctls need V4L2_SUBDEV_FL_HAS_EVENTS (a handler here).
            SubdevIoctl::SubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::subscribe(&fh.events, h, s)
                })
            }
            SubdevIoctl::UnsubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::unsubscribe(&fh.events, h, s);
                    Ok(())
                })
            }
            SubdevIoctl::Dqevent => {
                self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |e: &mut V4l2Event| {
                    event::dqevent(ctx, &fh.events, e)
                })
            }
        }
    }
}
