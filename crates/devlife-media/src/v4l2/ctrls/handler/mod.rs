//! [`CtrlHandler`]: the controls of one video device or subdev
//! (`struct v4l2_ctrl_handler` and the value logic of `v4l2-ctrls-api.c`),
//! with the control-event subscriptions of the files open on it.
//!
//! # Ownership
//!
//! The handler lives inside the object it belongs to (the video device's or
//! subdev's allocation) and dies with it; files reach it through their
//! reference to that object. Subscribed files are held weakly: a closed
//! file's queue is gone and gets no more events.
//!
//! # Setting controls
//!
//! A set runs under the handler lock: look every control up, check
//! read-only/grabbed, validate (round, clamp) every value, and only then
//! call the driver for each changed control. If the driver fails on one,
//! the ones already applied are applied back to their old values in
//! reverse order and no value changes: the set is all-or-nothing (stronger
//! than the kernel, whose `error_idx < count` admits a partial set). Events
//! go out only after the whole set succeeded.

use super::config::{CtrlConfig, ResolvedCtrl};
use super::std::{class_ctrl_of, is_std_class};
use crate::uapi::controls::{
    V4l2Event, V4l2EventCtrl, V4l2ExtControl, V4l2ExtControls, V4l2QueryExtCtrl, V4l2Querymenu,
    ctrl_flag, ctrl_id2which, ctrl_type as ty, event,
};
use crate::uapi::ioctl::put_str;
use crate::v4l2::event::FileEvents;
use devlife_model::{Errno, KResult};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

mod ext;

/// The driver's `s_ctrl`: applies a validated new value of control `id`
/// (to the hardware). Called under the handler lock: it must not call back
/// into the handler.
pub type ApplyFn<'a> = &'a dyn Fn(u32, i64) -> KResult<()>;

#[derive(Debug)]
struct Ctrl {
    d: ResolvedCtrl,
    cur: i64,
    /// `GRABBED` / `INACTIVE`, changed at run time.
    dyn_flags: u32,
}

impl Ctrl {
    fn user_flags(&self) -> u32 {
        self.d.flags | self.dyn_flags
    }
}

#[derive(Debug)]
struct Sub {
    ev: Weak<FileEvents>,
    ev_id: u64,
    ctrl: u32,
}

#[derive(Debug, Default)]
struct Inner {
    /// Sorted by id.
    ctrls: Vec<Ctrl>,
    subs: Vec<Sub>,
}

impl Inner {
    fn find(&self, id: u32) -> Option<usize> {
        self.ctrls.binary_search_by_key(&id, |c| c.d.id).ok()
    }

    /// `fill_event` for control `i` with `changes`.
    fn event_of(&self, i: usize, changes: u32) -> V4l2Event {
        let c = &self.ctrls[i];
        let mut e = V4l2Event {
            type_: event::CTRL,
            id: c.d.id,
            ..Default::default()
        };
        let clamp32 = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        e.set_ctrl(&V4l2EventCtrl {
            changes,
            type_: c.d.type_,
            value64: if c.d.is_int() {
                i64::from(c.cur as i32)
            } else {
                c.cur
            },
            flags: c.user_flags(),
            minimum: clamp32(c.d.min),
            maximum: clamp32(c.d.max),
            step: clamp32(c.d.step as i64),
            default_value: clamp32(c.d.def),
        });
        e
    }

    /// `send_event`: to every subscriber of control `i`, except the file
    /// that caused the change unless it asked for feedback.
    fn send(&mut self, from: Option<u64>, i: usize, changes: u32) {
        let ev = self.event_of(i, changes);
        let id = self.ctrls[i].d.id;
        self.subs.retain(|s| s.ev.strong_count() > 0);
        for s in self.subs.iter().filter(|s| s.ctrl == id) {
            let Some(q) = s.ev.upgrade() else { continue };
            let flags = q.subscription(event::CTRL, id).unwrap_or(0);
            if Some(s.ev_id) == from && flags & event::SUB_FL_ALLOW_FEEDBACK == 0 {
                continue;
            }
            q.queue(ev);
        }
    }
}

/// The controls of one object.
///
/// # Invariants
///
/// * Controls are sorted by id, unique, and every non-class control's
///   class has its class control.
/// * Every current value is one [`ResolvedCtrl::validate`] accepts.
#[derive(Debug)]
pub struct CtrlHandler {
    inner: Mutex<Inner>,
}

impl CtrlHandler {
    /// A handler with `cfgs` (`v4l2_ctrl_handler_init` + `v4l2_ctrl_new_*`).
    /// The class control of a standard class is added when missing, as the
    /// core does; a driver class needs its own ([`CtrlConfig::class`]).
    /// `EINVAL` for a duplicate id, a bad config or a missing driver class;
    /// `ERANGE` for a bad range.
    pub fn new(cfgs: &[CtrlConfig]) -> KResult<Self> {
        let mut ctrls: Vec<Ctrl> = Vec::with_capacity(cfgs.len() + 2);
        let add = |d: ResolvedCtrl, ctrls: &mut Vec<Ctrl>| -> KResult<()> {
            if ctrls.iter().any(|c| c.d.id == d.id) {
                return Err(Errno::EINVAL);
            }
            ctrls.push(Ctrl {
                cur: d.def,
                d,
                dyn_flags: 0,
            });
            Ok(())
        };
        for cfg in cfgs {
            let d = cfg.resolve()?;
            if d.type_ != ty::CTRL_CLASS {
                let class = class_ctrl_of(d.id);
                let have =
                    ctrls.iter().any(|c| c.d.id == class) || cfgs.iter().any(|c| c.id == class);
                if !have {
                    if !is_std_class(ctrl_id2which(d.id)) {
                        return Err(Errno::EINVAL);
                    }
                    add(CtrlConfig::std(class, 0, 0, 0, 0).resolve()?, &mut ctrls)?;
                }
            }
            add(d, &mut ctrls)?;
        }
        ctrls.sort_by_key(|c| c.d.id);
        Ok(Self {
            inner: Mutex::new(Inner {
                ctrls,
                subs: Vec::new(),
            }),
        })
    }

    /// Number of controls (class controls included).
    pub fn len(&self) -> usize {
        self.inner.lock().ctrls.len()
    }

    /// Whether there are no controls.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids, ascending.
    pub fn ids(&self) -> Vec<u32> {
        self.inner.lock().ctrls.iter().map(|c| c.d.id).collect()
    }

    /// The current value of `id` (`v4l2_ctrl_g_ctrl`).
    pub fn value(&self, id: u32) -> Option<i64> {
        let g = self.inner.lock();
        g.find(id).map(|i| g.ctrls[i].cur)
    }

    /// The description of `id`.
    pub fn describe(&self, id: u32) -> Option<ResolvedCtrl> {
        let g = self.inner.lock();
        g.find(id).map(|i| g.ctrls[i].d.clone())
    }

    /// Number of live event subscriptions (all files).
    pub fn subscribers(&self) -> usize {
        let mut g = self.inner.lock();
        g.subs.retain(|s| s.ev.strong_count() > 0);
        g.subs.len()
    }

    /// `__v4l2_ctrl_modify_range`: new range and default; the value is kept
    /// if still valid, else set to the default through `apply`.
    /// Subscribers get `CH_RANGE` (plus `CH_VALUE` if the value moved).
    pub fn modify_range(
        &self,
        id: u32,
        min: i64,
        max: i64,
        step: u64,
        def: i64,
        apply: ApplyFn<'_>,
    ) -> KResult<()> {
        let mut g = self.inner.lock();
        let i = g.find(id).ok_or(Errno::EINVAL)?;
        let c = &g.ctrls[i];
        if !matches!(
            c.d.type_,
            ty::INTEGER | ty::INTEGER64 | ty::BOOLEAN | ty::MENU | ty::INTEGER_MENU | ty::BITMASK
        ) {
            return Err(Errno::EINVAL);
        }
        let mut cfg = CtrlConfig::custom(id, c.d.name.clone(), c.d.type_, min, max, step, def);
        cfg.menu = c.d.menu.clone();
        cfg.int_menu = c.d.int_menu.clone();
        cfg.menu_skip_mask = c.d.menu_skip_mask;
        cfg.flags = c.d.flags;
        let mut nd = cfg.resolve()?;
        nd.flags = c.d.flags;
        let range_changed =
            nd.min != c.d.min || nd.max != c.d.max || nd.step != c.d.step || nd.def != c.d.def;
        let new = match nd.validate(c.cur) {
            Ok(v) if v == c.cur => c.cur,
            _ => def,
        };
        let value_changed = new != c.cur;
        if value_changed {
            apply(id, new)?;
        }
        let c = &mut g.ctrls[i];
        c.d = nd;
        c.cur = new;
        let changes = if value_changed {
            event::CTRL_CH_VALUE | event::CTRL_CH_RANGE
        } else {
            event::CTRL_CH_RANGE
        };
        if range_changed || value_changed {
            g.send(None, i, changes);
        }
        Ok(())
    }

    /// `v4l2_ctrl_grab`: while grabbed a control cannot be set (`EBUSY`).
    /// Subscribers get `CH_FLAGS` when it changes.
    pub fn grab(&self, id: u32, grabbed: bool) -> KResult<()> {
        let mut g = self.inner.lock();
        let i = g.find(id).ok_or(Errno::EINVAL)?;
        let old = g.ctrls[i].dyn_flags;
        let new = if grabbed {
            old | ctrl_flag::GRABBED
        } else {
            old & !ctrl_flag::GRABBED
        };
        if new != old {
            g.ctrls[i].dyn_flags = new;
            g.send(None, i, event::CTRL_CH_FLAGS);
        }
        Ok(())
    }

    /// `v4l2_query_ext_ctrl`: `id` may carry `NEXT_CTRL` / `NEXT_COMPOUND`.
    pub fn query_ext(&self, id: u32) -> KResult<V4l2QueryExtCtrl> {
        let next = id & (ctrl_flag::NEXT_CTRL | ctrl_flag::NEXT_COMPOUND);
        let bare = id & ctrl_flag::ID_MASK;
        let g = self.inner.lock();
        let i = if next == 0 {
            g.find(bare)
        } else {
            // devlife has no compound controls: NEXT_COMPOUND alone finds
            // nothing; NEXT_CTRL (with or without it) the next id.
            let want_compound = next == ctrl_flag::NEXT_COMPOUND;
            g.ctrls
                .iter()
                .position(|c| c.d.id > bare && (c.d.type_ >= ty::COMPOUND_TYPES) == want_compound)
        }
        .ok_or(Errno::EINVAL)?;
        let c = &g.ctrls[i];
        let mut q = V4l2QueryExtCtrl {
            id: c.d.id,
            type_: c.d.type_,
            minimum: c.d.min,
            maximum: c.d.max,
            step: c.d.step,
            default_value: c.d.def,
            flags: c.user_flags(),
            elem_size: c.d.elem_size(),
            elems: 1,
            ..Default::default()
        };
        put_str(&mut q.name, &c.d.name);
        Ok(q)
    }

    /// `v4l2_querymenu`.
    pub fn querymenu(&self, qm: &mut V4l2Querymenu) -> KResult<()> {
        let g = self.inner.lock();
        let i = g.find(qm.id).ok_or(Errno::EINVAL)?;
        let c = &g.ctrls[i];
        qm.reserved = 0;
        let idx = i64::from(qm.index);
        if !matches!(c.d.type_, ty::MENU | ty::INTEGER_MENU) || !c.d.menu_item_valid(idx) {
            return Err(Errno::EINVAL);
        }
        if c.d.type_ == ty::MENU {
            put_str(&mut qm.name, c.d.menu[qm.index as usize]);
        } else {
            qm.set_value(c.d.int_menu[qm.index as usize]);
        }
        Ok(())
    }

    /// `v4l2_g_ctrl`: `EINVAL` for an unknown or 64-bit control, `EACCES`
    /// for a write-only one.
    pub fn g_ctrl(&self, id: u32) -> KResult<i32> {
        let g = self.inner.lock();
        let c = &g.ctrls[g.find(id).ok_or(Errno::EINVAL)?];
        if !c.d.is_int() {
            return Err(Errno::EINVAL);
        }
        if c.user_flags() & ctrl_flag::WRITE_ONLY != 0 {
            return Err(Errno::EACCES);
        }
        Ok(c.cur as i32)
    }

    /// `v4l2_s_ctrl` from file `from`: returns the value now current.
    pub fn s_ctrl(&self, from: Option<u64>, id: u32, v: i32, apply: ApplyFn<'_>) -> KResult<i32> {
        {
            let g = self.inner.lock();
            let c = &g.ctrls[g.find(id).ok_or(Errno::EINVAL)?];
            if !c.d.is_int() {
                return Err(Errno::EINVAL);
            }
            if c.user_flags() & ctrl_flag::READ_ONLY != 0 {
                return Err(Errno::EACCES);
            }
        }
        let mut one = [V4l2ExtControl {
            id,
            ..Default::default()
        }];
        one[0].set_value(v);
        let mut cs = V4l2ExtControls {
            count: 1,
            ..Default::default()
        };
        self.try_set_ext(from, &mut cs, &mut one, true, apply)?;
        Ok(self.value(id).unwrap_or(0) as i32)
    }

    /// Subscribes `ev` to control events of `id` (`v4l2_ctrl_add_event`):
    /// with `SEND_INITIAL` (not for class controls) the current state is
    /// queued at once. `EINVAL` for an unknown control.
    pub fn subscribe(&self, ev: &Arc<FileEvents>, id: u32, flags: u32) -> KResult<()> {
        let mut g = self.inner.lock();
        let i = g.find(id).ok_or(Errno::EINVAL)?;
        if !ev.subscribe(event::CTRL, id, flags) {
            return Ok(());
        }
        g.subs.push(Sub {
            ev: Arc::downgrade(ev),
            ev_id: ev.id(),
            ctrl: id,
        });
        if g.ctrls[i].d.type_ != ty::CTRL_CLASS && flags & event::SUB_FL_SEND_INITIAL != 0 {
            let mut changes = event::CTRL_CH_FLAGS;
            if g.ctrls[i].user_flags() & ctrl_flag::WRITE_ONLY == 0 {
                changes |= event::CTRL_CH_VALUE;
            }
            ev.queue(g.event_of(i, changes));
        }
        Ok(())
    }

    /// Drops the handler's record of `ev_id`'s subscriptions to `ids`
    /// (after the file unsubscribed them).
    pub fn unsubscribe(&self, ev_id: u64, ids: &[u32]) {
        self.inner
            .lock()
            .subs
            .retain(|s| !(s.ev_id == ev_id && ids.contains(&s.ctrl)) && s.ev.strong_count() > 0);
    }

    /// `v4l2_ctrl_handler_log_status`: one line per readable non-class
    /// control, `"<prefix>: <name>: <value>"` (menus by item name, flags
    /// appended as the kernel prints them).
    pub fn log_status(&self, prefix: &str) -> Vec<String> {
        let g = self.inner.lock();
        g.ctrls
            .iter()
            .filter(|c| {
                c.user_flags() & (ctrl_flag::DISABLED | ctrl_flag::WRITE_ONLY) == 0
                    && c.d.type_ != ty::CTRL_CLASS
            })
            .map(|c| {
                let v = match c.d.type_ {
                    ty::MENU => {
                        c.d.menu
                            .get(c.cur as usize)
                            .map(|s| (*s).to_owned())
                            .unwrap_or_default()
                    }
                    ty::INTEGER_MENU => {
                        c.d.int_menu
                            .get(c.cur as usize)
                            .map(|x| x.to_string())
                            .unwrap_or_default()
                    }
                    ty::BOOLEAN => (if c.cur != 0 { "true" } else { "false" }).to_owned(),
                    ty::BITMASK => format!("0x{:08x}", c.cur as u32),
                    _ => c.cur.to_string(),
                };
                let mut line = format!("{prefix}: {}: {v}", c.d.name);
                if c.user_flags() & ctrl_flag::INACTIVE != 0 {
                    line.push_str(" inactive");
                }
                if c.user_flags() & ctrl_flag::GRABBED != 0 {
                    line.push_str(" grabbed");
                }
                line
            })
            .collect()
    }
}
