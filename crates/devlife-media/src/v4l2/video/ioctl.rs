//! The video node's ioctls (`v4l2-ioctl.c`): the dispatch with its priority
//! check, and the format, input, control, event and buffer ioctls on the
//! wire.

use super::{VideoFh, VideoInner, VideoOps};
use crate::uapi::controls::{V4l2Event, V4l2EventSubscription};
use crate::uapi::io::{V4L2_INPUT_TYPE_CAMERA, V4l2CreateBuffers, V4l2Frmsizeenum, V4l2Input};
use crate::uapi::ioctl::put_str;
use crate::uapi::videodev2::{
    V4L2_PIX_FMT_PRIV_MAGIC, V4l2Buffer, V4l2Capability, V4l2Fmtdesc, V4l2Format,
    V4l2Requestbuffers, VIDEO_IOCTLS, VideoIoctl, cap, fourcc_str,
};
use crate::v4l2::ctrls::ioctl::{CtrlIoctl, ctrl_ioctl};
use crate::v4l2::event::{self};
use crate::v4l2::{LINUX_VERSION_CODE, pixfmt_description, usercopy};
use devlife_model::{Errno, KResult, OpCtx};
use std::sync::atomic::Ordering;

impl<D: VideoOps> VideoInner<D> {
    /// `check_fmt`: the node serves exactly its queue's buffer type.
    pub(super) fn check_type(&self, type_: u32) -> KResult<()> {
        if type_ == self.queue.config().type_ {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    pub(super) fn ctrl_ioctl(
        &self,
        f: &VideoFh<D>,
        which: CtrlIoctl,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
        ctrl_ioctl(h, which, cmd, arg, f.events.id(), &|id, v| {
            self.ops.s_ctrl(id, v)
        })
    }

    /// The ioctls the kernel marks `INFO_FL_PRIO`: refused with `EBUSY`
    /// for a file below the node's highest priority.
    pub(super) fn needs_prio(key: VideoIoctl) -> bool {
        matches!(
            key,
            VideoIoctl::SFmt
                | VideoIoctl::Reqbufs
                | VideoIoctl::Streamon
                | VideoIoctl::Streamoff
                | VideoIoctl::SParm
                | VideoIoctl::SCtrl
                | VideoIoctl::SExtCtrls
                | VideoIoctl::SInput
                | VideoIoctl::SSelection
                | VideoIoctl::SPriority
                | VideoIoctl::CreateBufs
                | VideoIoctl::RemoveBufs
        )
    }

    pub(super) fn ioctl(
        &self,
        ctx: &OpCtx<'_>,
        f: &VideoFh<D>,
        cmd: u32,
        arg: &mut [u8],
    ) -> KResult<i64> {
        let Some(def) = VIDEO_IOCTLS.lookup(cmd) else {
            return Err(Errno::ENOTTY);
        };
        let fh = f.id;
        if Self::needs_prio(def.key) && self.served(def.key) {
            self.prio.check(&f.prio)?;
        }
        match def.key {
            VideoIoctl::Querycap => usercopy(cmd, arg, None, |c| {
                self.querycap(c);
                Ok(())
            }),
            VideoIoctl::EnumFmt => usercopy(cmd, arg, None, |f| self.enum_fmt(ctx, f)),
            VideoIoctl::GFmt => usercopy(cmd, arg, None, |f| self.g_fmt(f)),
            VideoIoctl::SFmt => usercopy(cmd, arg, None, |f| self.s_fmt(ctx, f, true)),
            VideoIoctl::TryFmt => usercopy(cmd, arg, None, |f| self.s_fmt(ctx, f, false)),
            VideoIoctl::Reqbufs => usercopy(cmd, arg, None, |p: &mut V4l2Requestbuffers| {
                self.check_type(p.type_)?;
                self.queue.reqbufs(fh, p, &self.drv())
            }),
            // INFO_FL_CLEAR(v4l2_buffer, length): the rest is zeroed on input.
            VideoIoctl::Querybuf => usercopy(cmd, arg, Some(76), |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.querybuf(b)
            }),
            VideoIoctl::Qbuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.qbuf(ctx, fh, b, &self.drv())
            }),
            VideoIoctl::Dqbuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.dqbuf(ctx, fh, b)
            }),
            VideoIoctl::Streamon => usercopy(cmd, arg, None, |t: &mut u32| {
                self.check_type(*t)?;
                self.queue.streamon(ctx, fh, *t, &self.drv())
            }),
            VideoIoctl::Streamoff => usercopy(cmd, arg, None, |t: &mut u32| {
                self.check_type(*t)?;
                self.queue.streamoff(fh, *t, &self.drv())
            }),
            // INFO_FL_CLEAR(v4l2_frmsizeenum, pixel_format).
            VideoIoctl::EnumFramesizes if D::HAS_ENUM_FRAMESIZES => {
                usercopy(cmd, arg, Some(8), |fs: &mut V4l2Frmsizeenum| {
                    self.ops.enum_framesizes(ctx, fs)
                })
            }
            // INFO_FL_CLEAR(v4l2_input, index).
            VideoIoctl::Enuminput | VideoIoctl::GInput | VideoIoctl::SInput
                if self.input_names().is_none() =>
            {
                Err(Errno::ENOTTY)
            }
            VideoIoctl::Enuminput => usercopy(cmd, arg, Some(4), |i: &mut V4l2Input| {
                let names = self.input_names().ok_or(Errno::ENOTTY)?;
                let name = names.get(i.index as usize).ok_or(Errno::EINVAL)?;
                put_str(&mut i.name, name);
                i.type_ = V4L2_INPUT_TYPE_CAMERA;
                Ok(())
            }),
            VideoIoctl::GInput => usercopy(cmd, arg, None, |i: &mut u32| {
                self.input_names().ok_or(Errno::ENOTTY)?;
                *i = self.input.load(Ordering::Acquire);
                Ok(())
            }),
            VideoIoctl::SInput => usercopy(cmd, arg, None, |i: &mut u32| {
                let names = self.input_names().ok_or(Errno::ENOTTY)?;
                if *i as usize >= names.len() {
                    return Err(Errno::EINVAL);
                }
                if self.device_caps & cap::IO_MC == 0 {
                    self.ops.s_input(ctx, *i)?;
                }
                self.input.store(*i, Ordering::Release);
                Ok(())
            }),
            VideoIoctl::CreateBufs => usercopy(cmd, arg, None, |p: &mut V4l2CreateBuffers| {
                self.check_type(p.format.type_)?;
                // CLEAR_AFTER_FIELD(create, flags) + v4l_sanitize_format.
                p.max_num_buffers = 0;
                p.reserved = [0; 5];
                self.queue.create_bufs(fh, p, &self.drv())?;
                let mut pix = p.format.pix();
                pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
                p.format.set_pix(&pix);
                Ok(())
            }),
            VideoIoctl::PrepareBuf => usercopy(cmd, arg, None, |b: &mut V4l2Buffer| {
                self.check_type(b.type_)?;
                self.queue.prepare_buf(fh, b)
            }),
            VideoIoctl::GPriority => usercopy(cmd, arg, None, |p: &mut u32| {
                *p = self.prio.max();
                Ok(())
            }),
            VideoIoctl::SPriority => {
                usercopy(cmd, arg, None, |p: &mut u32| self.prio.change(&f.prio, *p))
            }
            VideoIoctl::Queryctrl => self.ctrl_ioctl(f, CtrlIoctl::Queryctrl, cmd, arg),
            VideoIoctl::QueryExtCtrl => self.ctrl_ioctl(f, CtrlIoctl::QueryExtCtrl, cmd, arg),
            VideoIoctl::Querymenu => self.ctrl_ioctl(f, CtrlIoctl::Querymenu, cmd, arg),
            VideoIoctl::GCtrl => self.ctrl_ioctl(f, CtrlIoctl::GCtrl, cmd, arg),
            VideoIoctl::SCtrl => self.ctrl_ioctl(f, CtrlIoctl::SCtrl, cmd, arg),
            VideoIoctl::GExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::GExtCtrls, cmd, arg),
            VideoIoctl::SExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::SExtCtrls, cmd, arg),
            VideoIoctl::TryExtCtrls => self.ctrl_ioctl(f, CtrlIoctl::TryExtCtrls, cmd, arg),
            // v4l2_ctrl_log_status, for nodes with controls.
            VideoIoctl::LogStatus => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                for line in h.log_status(self.v4l2_dev.name()) {
                    self.monitor.journal().note(self.id, &self.name, line);
                }
                Ok(0)
            }
            // vidioc_subscribe_event = v4l2_ctrl_subscribe_event, for nodes
            // with controls; without, all three are ENOTTY.
            VideoIoctl::SubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::subscribe(&f.events, h, s)
                })
            }
            VideoIoctl::UnsubscribeEvent => {
                let h = self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |s: &mut V4l2EventSubscription| {
                    event::unsubscribe(&f.events, h, s);
                    Ok(())
                })
            }
            VideoIoctl::Dqevent => {
                self.ctrls.as_ref().ok_or(Errno::ENOTTY)?;
                usercopy(cmd, arg, None, |e: &mut V4l2Event| {
                    event::dqevent(ctx, &f.events, e)
                })
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// The inputs (`None`: the input ioctls are not there).
    pub(super) fn input_names(&self) -> Option<Vec<String>> {
        if self.device_caps & cap::IO_MC != 0 {
            return Some(vec![self.name.clone()]);
        }
        let v = self.ops.inputs();
        (!v.is_empty()).then_some(v)
    }

    /// Whether this node answers `key` (`determine_valid_ioctls`): the
    /// priority check only happens for valid ioctls.
    pub(super) fn served(&self, key: VideoIoctl) -> bool {
        match key {
            VideoIoctl::SCtrl | VideoIoctl::SExtCtrls => self.ctrls.is_some(),
            VideoIoctl::SParm | VideoIoctl::SSelection | VideoIoctl::RemoveBufs => false,
            VideoIoctl::SInput => self.input_names().is_some(),
            _ => true,
        }
    }

    /// `v4l_querycap`.
    pub(super) fn querycap(&self, c: &mut V4l2Capability) {
        let s = self.ops.querycap();
        put_str(&mut c.driver, &s.driver);
        put_str(&mut c.card, &s.card);
        put_str(&mut c.bus_info, &s.bus_info);
        c.version = LINUX_VERSION_CODE;
        c.device_caps = self.device_caps | cap::EXT_PIX_FORMAT;
        c.capabilities = self.device_caps | cap::DEVICE_CAPS | cap::EXT_PIX_FORMAT;
        c.reserved = [0; 3];
    }

    /// `v4l_enum_fmt` + `v4l_fill_fmtdesc`.
    pub(super) fn enum_fmt(&self, ctx: &OpCtx<'_>, f: &mut V4l2Fmtdesc) -> KResult<()> {
        self.check_type(f.type_)?;
        let mbus_code = if self.device_caps & cap::IO_MC != 0 {
            f.mbus_code
        } else {
            0
        };
        let d = self.ops.enum_fmt(ctx, f.index, mbus_code)?;
        f.flags = d.flags;
        f.pixelformat = d.pixelformat;
        f.mbus_code = mbus_code;
        f.reserved = [0; 3];
        let desc = d
            .description
            .or_else(|| pixfmt_description(d.pixelformat))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Unknown ({})", fourcc_str(d.pixelformat)));
        put_str(&mut f.description, &desc);
        Ok(())
    }

    /// `v4l_g_fmt`: the union is cleared, then `pix` filled.
    pub(super) fn g_fmt(&self, f: &mut V4l2Format) -> KResult<()> {
        self.check_type(f.type_)?;
        let mut pix = *self.fmt.lock();
        pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
        *f = V4l2Format::from_pix(f.type_, &pix);
        Ok(())
    }

    /// `v4l_s_fmt` / `v4l_try_fmt`: sanitise, clear the union after `pix`,
    /// let the driver adjust; `S_FMT` stores it (`EBUSY` while buffers exist).
    pub(super) fn s_fmt(&self, ctx: &OpCtx<'_>, f: &mut V4l2Format, set: bool) -> KResult<()> {
        self.check_type(f.type_)?;
        let mut pix = f.pix();
        // v4l_sanitize_format: without the magic, the extended fields are
        // undefined: zero them and set the magic.
        if pix.priv_ != V4L2_PIX_FMT_PRIV_MAGIC {
            pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
            pix.flags = 0;
            pix.ycbcr_enc = 0;
            pix.quantization = 0;
            pix.xfer_func = 0;
        }
        self.ops.try_fmt(ctx, &mut pix)?;
        pix.priv_ = V4L2_PIX_FMT_PRIV_MAGIC;
        if set {
            self.queue.with_idle(|| {
                self.ops.s_fmt(ctx, &pix)?;
                *self.fmt.lock() = pix;
                Ok(())
            })?;
        }
        *f = V4l2Format::from_pix(f.type_, &pix);
        Ok(())
    }
}
