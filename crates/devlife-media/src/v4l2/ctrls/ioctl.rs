//! The control ioctls on the wire, shared by video and subdev nodes
//! (`v4l_queryctrl` ... `v4l_s_ext_ctrls` of `v4l2-ioctl.c` and the
//! `subdev_do_ioctl` cases): argument decoding, the `controls` user array of
//! `*_EXT_CTRLS`, and what is copied back.
//!
//! `*_EXT_CTRLS` follow `video_usercopy`'s array-argument rules: `count`
//! above `V4L2_CID_MAX_CTRLS` is `EINVAL` before anything is allocated or
//! read; the array is read from the caller's memory (`EFAULT` if it is not
//! mapped); after the call the array and the struct are written back *even
//! on error* (that is how `error_idx` reaches userspace).

use super::handler::{ApplyFn, CtrlHandler};
use crate::uapi::controls::{
    V4L2_CID_MAX_CTRLS, V4l2Control, V4l2ExtControl, V4l2ExtControls, V4l2QueryExtCtrl,
    V4l2Queryctrl, V4l2Querymenu, ctrl_type as ty,
};
use crate::uapi::ioctl::{IoctlCmd, Wire, with_user_memory};
use crate::v4l2::usercopy;
use devlife_model::{Errno, KResult};

/// The control ioctls, whatever the node kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CtrlIoctl {
    Queryctrl,
    QueryExtCtrl,
    Querymenu,
    GCtrl,
    SCtrl,
    GExtCtrls,
    SExtCtrls,
    TryExtCtrls,
}

/// Serves `which` on `h` for the file whose event queue id is `from`.
pub(crate) fn ctrl_ioctl(
    h: &CtrlHandler,
    which: CtrlIoctl,
    cmd: u32,
    arg: &mut [u8],
    from: u64,
    apply: ApplyFn<'_>,
) -> KResult<i64> {
    match which {
        CtrlIoctl::Queryctrl => usercopy(cmd, arg, None, |q: &mut V4l2Queryctrl| {
            let e = h.query_ext(q.id)?;
            *q = to_queryctrl(&e);
            Ok(())
        }),
        CtrlIoctl::QueryExtCtrl => usercopy(cmd, arg, None, |q: &mut V4l2QueryExtCtrl| {
            *q = h.query_ext(q.id)?;
            Ok(())
        }),
        CtrlIoctl::Querymenu => usercopy(cmd, arg, None, |m: &mut V4l2Querymenu| h.querymenu(m)),
        CtrlIoctl::GCtrl => usercopy(cmd, arg, None, |c: &mut V4l2Control| {
            c.value = h.g_ctrl(c.id)?;
            Ok(())
        }),
        CtrlIoctl::SCtrl => usercopy(cmd, arg, None, |c: &mut V4l2Control| {
            c.value = h.s_ctrl(Some(from), c.id, c.value, apply)?;
            Ok(())
        }),
        CtrlIoctl::GExtCtrls => ext_ctrls(cmd, arg, |cs, a| h.g_ext(cs, a)),
        CtrlIoctl::TryExtCtrls => ext_ctrls(cmd, arg, |cs, a| {
            h.try_set_ext(Some(from), cs, a, false, apply)
        }),
        CtrlIoctl::SExtCtrls => ext_ctrls(cmd, arg, |cs, a| {
            h.try_set_ext(Some(from), cs, a, true, apply)
        }),
    }
}

/// `v4l2_query_ext_ctrl_to_v4l2_queryctrl`.
fn to_queryctrl(e: &V4l2QueryExtCtrl) -> V4l2Queryctrl {
    let ranged = matches!(
        e.type_,
        ty::INTEGER | ty::BOOLEAN | ty::MENU | ty::INTEGER_MENU | ty::STRING | ty::BITMASK
    );
    let c = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    V4l2Queryctrl {
        id: e.id,
        type_: e.type_,
        name: e.name,
        minimum: if ranged { c(e.minimum) } else { 0 },
        maximum: if ranged { c(e.maximum) } else { 0 },
        step: if ranged { c(e.step as i64) } else { 0 },
        default_value: if ranged { c(e.default_value) } else { 0 },
        flags: e.flags,
        reserved: [0; 2],
    }
}

/// The array-argument discipline of `*_EXT_CTRLS` around `f`.
fn ext_ctrls(
    cmd: u32,
    arg: &mut [u8],
    f: impl FnOnce(&mut V4l2ExtControls, &mut [V4l2ExtControl]) -> KResult<()>,
) -> KResult<i64> {
    let size = IoctlCmd(cmd).size();
    let arg = arg.get_mut(..size).ok_or(Errno::EFAULT)?;
    let mut cs = V4l2ExtControls::decode(arg);
    // check_array_args: bound the count before allocating.
    if cs.count > V4L2_CID_MAX_CTRLS {
        return Err(Errno::EINVAL);
    }
    let n = cs.count as usize;
    let mut raw = vec![0u8; n * V4l2ExtControl::ELEM];
    if n > 0 {
        with_user_memory(|m| m.read(cs.controls, &mut raw)).map_err(|_| Errno::EFAULT)?;
    }
    let mut ctrls: Vec<V4l2ExtControl> = raw
        .chunks_exact(V4l2ExtControl::ELEM)
        .map(V4l2ExtControl::decode)
        .collect();
    // v4l_*_ext_ctrls: error_idx starts at count.
    cs.error_idx = cs.count;
    let mut r = f(&mut cs, &mut ctrls);
    if n > 0 {
        for (c, dst) in ctrls.iter().zip(raw.chunks_exact_mut(V4l2ExtControl::ELEM)) {
            c.encode(dst);
        }
        if with_user_memory(|m| m.write(cs.controls, &raw)).is_err() {
            r = Err(Errno::EFAULT);
        }
    }
    cs.encode(arg);
    r.map(|()| 0)
}
