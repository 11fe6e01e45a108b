//! The extended-control calls of a [`CtrlHandler`]: `G_EXT_CTRLS`,
//! `TRY_EXT_CTRLS` and the all-or-nothing `S_EXT_CTRLS` (and `S_CTRL` through
//! it), with the kernel's `error_idx` and class rules.

use super::{ApplyFn, CtrlHandler, Inner};
use crate::uapi::controls::{
    V4l2ExtControl, V4l2ExtControls, cid, ctrl_flag, ctrl_id2which, ctrl_type as ty, event, which,
};
use crate::v4l2::ctrls::config::ResolvedCtrl;
use devlife_model::{Errno, KResult};

impl CtrlHandler {
    /// `prepare_ext_ctrls`: the index of each control (error index set as
    /// the kernel does).
    pub(super) fn prepare(
        g: &Inner,
        cs: &mut V4l2ExtControls,
        ctrls: &[V4l2ExtControl],
    ) -> KResult<Vec<usize>> {
        let special = (which::DEF_VAL..=which::MAX_VAL).contains(&cs.which);
        let mut idx = Vec::with_capacity(ctrls.len());
        for (i, c) in ctrls.iter().enumerate() {
            cs.error_idx = i as u32;
            let id = c.id & ctrl_flag::ID_MASK;
            if cs.which != 0 && !special && ctrl_id2which(id) != cs.which {
                return Err(Errno::EINVAL);
            }
            if id >= cid::PRIVATE_BASE {
                return Err(Errno::EINVAL);
            }
            let k = g.find(id).ok_or(Errno::EINVAL)?;
            if g.ctrls[k].user_flags() & ctrl_flag::DISABLED != 0 {
                return Err(Errno::EINVAL);
            }
            // No control has V4L2_CTRL_FLAG_HAS_WHICH_MIN_MAX.
            if cs.which == which::MIN_VAL || cs.which == which::MAX_VAL {
                return Err(Errno::EINVAL);
            }
            idx.push(k);
        }
        Ok(idx)
    }

    /// `class_check` for `count == 0`.
    pub(super) fn class_check(g: &Inner, w: u32) -> KResult<()> {
        if w == 0 || (which::DEF_VAL..=which::MAX_VAL).contains(&w) || g.find(w | 1).is_some() {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// `v4l2_g_ext_ctrls`: current or default values into `ctrls`.
    pub fn g_ext(&self, cs: &mut V4l2ExtControls, ctrls: &mut [V4l2ExtControl]) -> KResult<()> {
        let is_default = cs.which == which::DEF_VAL;
        cs.error_idx = cs.count;
        if cs.which == which::REQUEST_VAL {
            // No request API: no request fd can be valid.
            return Err(Errno::EINVAL);
        }
        cs.which = ctrl_id2which(cs.which);
        let g = self.inner.lock();
        if ctrls.is_empty() {
            return Self::class_check(&g, cs.which);
        }
        let r = Self::prepare(&g, cs, ctrls);
        cs.error_idx = cs.count;
        let idx = r?;
        if idx
            .iter()
            .any(|&k| g.ctrls[k].user_flags() & ctrl_flag::WRITE_ONLY != 0)
        {
            return Err(Errno::EACCES);
        }
        for (i, (&k, c)) in idx.iter().zip(ctrls.iter_mut()).enumerate() {
            cs.error_idx = i as u32;
            let ctl = &g.ctrls[k];
            let v = if is_default { ctl.d.def } else { ctl.cur };
            put_value(c, &ctl.d, v);
        }
        Ok(())
    }

    /// `v4l2_try_ext_ctrls` (`set == false`) / `v4l2_s_ext_ctrls` from file
    /// `from`. The validated values are written back into `ctrls`.
    pub fn try_set_ext(
        &self,
        from: Option<u64>,
        cs: &mut V4l2ExtControls,
        ctrls: &mut [V4l2ExtControl],
        set: bool,
        apply: ApplyFn<'_>,
    ) -> KResult<()> {
        cs.error_idx = cs.count;
        if (which::DEF_VAL..=which::MAX_VAL).contains(&cs.which) && cs.which != which::REQUEST_VAL {
            return Err(Errno::EINVAL);
        }
        if cs.which == which::REQUEST_VAL {
            return Err(Errno::EINVAL);
        }
        cs.which = ctrl_id2which(cs.which);
        let mut g = self.inner.lock();
        if ctrls.is_empty() {
            return Self::class_check(&g, cs.which);
        }
        let checked = Self::prepare(&g, cs, ctrls).and_then(|idx| {
            // validate_ctrls
            cs.error_idx = cs.count;
            let mut vals = Vec::with_capacity(idx.len());
            for (i, (&k, c)) in idx.iter().zip(ctrls.iter()).enumerate() {
                cs.error_idx = i as u32;
                let ctl = &g.ctrls[k];
                if ctl.user_flags() & ctrl_flag::READ_ONLY != 0 {
                    return Err(Errno::EACCES);
                }
                if set && ctl.user_flags() & ctrl_flag::GRABBED != 0 {
                    return Err(Errno::EBUSY);
                }
                let raw = if ctl.d.is_int() {
                    i64::from(c.value())
                } else {
                    c.value64()
                };
                vals.push(ctl.d.validate(raw)?);
            }
            Ok((idx, vals))
        });
        let (idx, vals) = match checked {
            Ok(x) => x,
            Err(e) => {
                if set {
                    cs.error_idx = cs.count;
                }
                return Err(e);
            }
        };
        if set {
            // Apply every changed control; undo on the first failure.
            let mut staged: Vec<(usize, i64)> = Vec::new();
            let cur_of = |staged: &[(usize, i64)], g: &Inner, k: usize| {
                staged
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == k)
                    .map_or(g.ctrls[k].cur, |&(_, v)| v)
            };
            let mut undo: Vec<(u32, i64)> = Vec::new();
            for (&k, &v) in idx.iter().zip(&vals) {
                let ctl = &g.ctrls[k];
                let old = cur_of(&staged, &g, k);
                let changed = v != old || ctl.d.flags & ctrl_flag::EXECUTE_ON_WRITE != 0;
                if !changed {
                    continue;
                }
                if let Err(e) = apply(ctl.d.id, v) {
                    for &(id, o) in undo.iter().rev() {
                        let _ = apply(id, o);
                    }
                    cs.error_idx = cs.count;
                    return Err(e);
                }
                undo.push((ctl.d.id, old));
                staged.push((k, v));
            }
            let mut changed: Vec<usize> = Vec::new();
            for &(k, v) in &staged {
                if g.ctrls[k].d.type_ != ty::BUTTON {
                    g.ctrls[k].cur = v;
                }
                if !changed.contains(&k) {
                    changed.push(k);
                }
            }
            for k in changed {
                g.send(from, k, event::CTRL_CH_VALUE);
            }
        }
        for (i, ((&k, &v), c)) in idx.iter().zip(&vals).zip(ctrls.iter_mut()).enumerate() {
            cs.error_idx = i as u32;
            put_value(c, &g.ctrls[k].d, v);
        }
        Ok(())
    }
}

/// `ptr_to_user` for the value types devlife has.
fn put_value(c: &mut V4l2ExtControl, d: &ResolvedCtrl, v: i64) {
    if d.is_int() {
        c.set_value(v as i32);
    } else {
        c.set_value64(v);
    }
}
