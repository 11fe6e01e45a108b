//! Controls and control events, as `v4l2-test-controls.cpp` checks them:
//! the `NEXT_CTRL` walk, `QUERYCTRL` against `QUERY_EXT_CTRL`, menus,
//! `G/S_CTRL`, `*_EXT_CTRLS` (`which`, `error_idx`, `count = 0`, class
//! rules), and control events (`SEND_INITIAL`, changes, `POLLPRI`).

use super::{Suite, errno, get, good_str};
use crate::{ensure, ensure_eq};
use devlife_media::uapi::controls::*;
use devlife_media::uapi::ioctl::{AddressSpace, Wire, with_current_mm};
use devlife_model::{Errno, File, KResult, PollMask};
use std::sync::Arc;
use std::time::Duration;

/// What the walk found: every control, in id order.
pub fn walk(f: &File) -> Vec<V4l2QueryExtCtrl> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Ok(q) = get(
        f,
        VIDIOC_QUERY_EXT_CTRL,
        V4l2QueryExtCtrl {
            id: id | ctrl_flag::NEXT_CTRL,
            ..Default::default()
        },
    ) {
        out.push(q);
        id = q.id;
        if out.len() > 4096 {
            break;
        }
    }
    out
}

/// Runs `*_EXT_CTRLS` with the controls in `arr` (in a fresh user memory);
/// returns the result, the struct and the controls as written back.
pub fn ext(
    f: &File,
    cmd: u32,
    which: u32,
    arr: &[V4l2ExtControl],
) -> (KResult<i64>, V4l2ExtControls, Vec<V4l2ExtControl>) {
    let mm = Arc::new(AddressSpace::new());
    let mut raw = vec![0u8; arr.len() * V4l2ExtControl::SIZE];
    for (c, d) in arr.iter().zip(raw.chunks_exact_mut(V4l2ExtControl::SIZE)) {
        c.encode(d);
    }
    let addr = if raw.is_empty() {
        0
    } else {
        mm.map_bytes(&raw)
    };
    let mut cs = V4l2ExtControls {
        which,
        count: arr.len() as u32,
        controls: addr,
        ..Default::default()
    };
    // The kernel copies the struct back even on error (that is how
    // `error_idx` arrives): decode it whatever the result.
    let mut b = cs.to_vec();
    let r = with_current_mm(mm.clone(), || f.ioctl(cmd, &mut b));
    cs = V4l2ExtControls::decode(&b);
    let back = if raw.is_empty() {
        Vec::new()
    } else {
        mm.read_back(addr, raw.len())
            .unwrap_or_default()
            .chunks_exact(V4l2ExtControl::SIZE)
            .map(V4l2ExtControl::decode)
            .collect()
    };
    (r, cs, back)
}

fn is_value_ctrl(q: &V4l2QueryExtCtrl) -> bool {
    !matches!(q.type_, ctrl_type::CTRL_CLASS | ctrl_type::BUTTON)
        && q.flags & ctrl_flag::WRITE_ONLY == 0
}

fn one(id: u32) -> V4l2ExtControl {
    V4l2ExtControl {
        id,
        ..Default::default()
    }
}

/// The control checks of one node. `f` and `g` are two files open on it;
/// `f` is non-blocking. Returns the number of controls found.
pub fn check(s: &mut Suite, f: &File, g: &File) -> usize {
    let all = walk(f);
    if all.is_empty() {
        s.test(
            "no controls: the control ioctls answer as without a handler",
            || {
                let r = get(f, VIDIOC_QUERYCTRL, V4l2Queryctrl::default());
                ensure!(
                    matches!(errno(&r), Some(Errno::EINVAL | Errno::ENOTTY)),
                    "QUERYCTRL {r:?}"
                );
                let r = get(f, VIDIOC_G_CTRL, V4l2Control::default());
                ensure!(
                    matches!(errno(&r), Some(Errno::EINVAL | Errno::ENOTTY)),
                    "G_CTRL {r:?}"
                );
                Ok(())
            },
        );
        return 0;
    }
    s.test("QUERY_EXT_CTRL walk: ids increase, fields sane", || {
        let mut last = 0;
        for q in &all {
            ensure!(q.id > last, "id {:#x} after {last:#x}", q.id);
            last = q.id;
            ensure!(good_str(&q.name), "name of {:#x}", q.id);
            ensure!(q.reserved == [0; 32], "reserved of {:#x}", q.id);
            ensure!(
                q.id & !ctrl_flag::ID_MASK == 0,
                "flags left in id {:#x}",
                q.id
            );
            if q.type_ == ctrl_type::CTRL_CLASS {
                ensure_eq!(
                    q.flags & (ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY),
                    ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY,
                    "class control {:#x}",
                    q.id
                );
                continue;
            }
            ensure!(q.minimum <= q.maximum, "range of {:#x}", q.id);
            ensure!(
                (q.minimum..=q.maximum).contains(&q.default_value),
                "default of {:#x}",
                q.id
            );
            if matches!(q.type_, ctrl_type::INTEGER | ctrl_type::INTEGER64) {
                ensure!(q.step > 0, "step of {:#x}", q.id);
            }
            ensure!(q.elems == 1 && q.nr_of_dims == 0, "elems of {:#x}", q.id);
        }
        Ok(())
    });
    s.test("every control is preceded by its class control", || {
        let mut class = None;
        for q in &all {
            if q.type_ == ctrl_type::CTRL_CLASS {
                class = Some(ctrl_id2which(q.id));
            } else {
                ensure_eq!(class, Some(ctrl_id2which(q.id)), "{:#x}", q.id);
            }
        }
        Ok(())
    });
    s.test("QUERYCTRL walk and by id agree with QUERY_EXT_CTRL", || {
        let mut id = 0;
        for q in &all {
            let c = get(
                f,
                VIDIOC_QUERYCTRL,
                V4l2Queryctrl {
                    id: id | ctrl_flag::NEXT_CTRL,
                    ..Default::default()
                },
            )
            .map_err(|e| format!("walk after {id:#x}: {e:?}"))?;
            ensure_eq!(c.id, q.id, "walk");
            let d = get(
                f,
                VIDIOC_QUERYCTRL,
                V4l2Queryctrl {
                    id: q.id,
                    ..Default::default()
                },
            )
            .map_err(|e| format!("{:#x}: {e:?}", q.id))?;
            ensure_eq!(c, d, "by id");
            ensure_eq!((d.type_, d.flags), (q.type_, q.flags), "{:#x}", q.id);
            if q.type_ != ctrl_type::INTEGER64 && q.type_ != ctrl_type::CTRL_CLASS {
                ensure_eq!(
                    (
                        i64::from(d.minimum),
                        i64::from(d.maximum),
                        i64::from(d.default_value)
                    ),
                    (q.minimum, q.maximum, q.default_value),
                    "{:#x}",
                    q.id
                );
            }
            ensure!(d.reserved == [0; 2], "reserved");
            id = q.id;
        }
        let end = get(
            f,
            VIDIOC_QUERYCTRL,
            V4l2Queryctrl {
                id: id | ctrl_flag::NEXT_CTRL,
                ..Default::default()
            },
        );
        ensure_eq!(errno(&end), Some(Errno::EINVAL), "past the last control");
        let unknown = get(
            f,
            VIDIOC_QUERYCTRL,
            V4l2Queryctrl {
                id: cid::BASE + 0x7ff,
                ..Default::default()
            },
        );
        ensure_eq!(errno(&unknown), Some(Errno::EINVAL), "unknown id");
        Ok(())
    });
    s.test("QUERYMENU: menu items in range, EINVAL outside", || {
        for q in all
            .iter()
            .filter(|q| matches!(q.type_, ctrl_type::MENU | ctrl_type::INTEGER_MENU))
        {
            let mut valid = 0;
            for i in q.minimum..=q.maximum {
                let r = get(
                    f,
                    VIDIOC_QUERYMENU,
                    V4l2Querymenu {
                        id: q.id,
                        index: i as u32,
                        ..Default::default()
                    },
                );
                match r {
                    Ok(m) => {
                        valid += 1;
                        ensure_eq!(m.reserved, 0, "reserved");
                        if q.type_ == ctrl_type::MENU {
                            ensure!(good_str(&m.name), "item {i} of {:#x}", q.id);
                        }
                    }
                    Err(e) => ensure_eq!(e, Errno::EINVAL, "item {i} of {:#x}", q.id),
                }
            }
            ensure!(valid > 0, "menu {:#x} has no item", q.id);
            let past = get(
                f,
                VIDIOC_QUERYMENU,
                V4l2Querymenu {
                    id: q.id,
                    index: q.maximum as u32 + 1,
                    ..Default::default()
                },
            );
            ensure_eq!(errno(&past), Some(Errno::EINVAL), "past the menu");
        }
        Ok(())
    });
    s.test(
        "G_CTRL/S_CTRL: values in range, clamped, read-only refused",
        || {
            for q in all.iter().filter(|q| is_value_ctrl(q)) {
                if q.type_ == ctrl_type::INTEGER64 {
                    continue;
                }
                let c = get(f, VIDIOC_G_CTRL, V4l2Control { id: q.id, value: 0 })
                    .map_err(|e| format!("G_CTRL {:#x}: {e:?}", q.id))?;
                let v = i64::from(c.value);
                ensure!((q.minimum..=q.maximum).contains(&v), "{:#x} = {v}", q.id);
                if q.flags & ctrl_flag::READ_ONLY != 0 {
                    let r = get(f, VIDIOC_S_CTRL, c);
                    ensure_eq!(
                        errno(&r),
                        Some(Errno::EACCES),
                        "S_CTRL of read-only {:#x}",
                        q.id
                    );
                    continue;
                }
                // Set it to itself: unchanged value back.
                let back = get(f, VIDIOC_S_CTRL, c).map_err(|e| format!("S_CTRL: {e:?}"))?;
                ensure_eq!(back.value, c.value, "{:#x}", q.id);
                if q.type_ == ctrl_type::INTEGER && q.maximum < i64::from(i32::MAX) {
                    // Out of range: clamped (S_CTRL of an integer never fails
                    // for range), then restored.
                    let over = get(
                        f,
                        VIDIOC_S_CTRL,
                        V4l2Control {
                            id: q.id,
                            value: q.maximum as i32 + 1,
                        },
                    )
                    .map_err(|e| format!("S_CTRL over max: {e:?}"))?;
                    ensure_eq!(i64::from(over.value), q.maximum, "clamped {:#x}", q.id);
                    get(f, VIDIOC_S_CTRL, c).map_err(|e| format!("restore: {e:?}"))?;
                }
            }
            let r = get(
                f,
                VIDIOC_G_CTRL,
                V4l2Control {
                    id: cid::BASE + 0x7ff,
                    value: 0,
                },
            );
            ensure_eq!(errno(&r), Some(Errno::EINVAL), "unknown id");
            Ok(())
        },
    );
    s.test(
        "EXT_CTRLS: count 0 class checks, which=DEF, error_idx",
        || {
            let classes: Vec<u32> = all
                .iter()
                .filter(|q| q.type_ == ctrl_type::CTRL_CLASS)
                .map(|q| ctrl_id2which(q.id))
                .collect();
            for &c in &classes {
                for cmd in [VIDIOC_G_EXT_CTRLS, VIDIOC_TRY_EXT_CTRLS, VIDIOC_S_EXT_CTRLS] {
                    let (r, _, _) = ext(f, cmd, c, &[]);
                    ensure!(r.is_ok(), "count 0 of class {c:#x}, cmd {cmd:#x}: {r:?}");
                }
            }
            let (r, _, _) = ext(f, VIDIOC_G_EXT_CTRLS, which::CUR_VAL, &[]);
            ensure!(r.is_ok(), "count 0 with CUR_VAL: {r:?}");
            // A class the node does not have.
            let missing = (0x0090_0000..0x00a9_0000)
                .step_by(0x1_0000)
                .find(|c| !classes.contains(c))
                .expect("a free class");
            let (r, _, _) = ext(f, VIDIOC_G_EXT_CTRLS, missing, &[]);
            ensure_eq!(
                errno(&r),
                Some(Errno::EINVAL),
                "count 0 of absent class {missing:#x}"
            );
            // Default values; setting defaults is refused.
            let vals: Vec<&V4l2QueryExtCtrl> = all.iter().filter(|q| is_value_ctrl(q)).collect();
            let arr: Vec<V4l2ExtControl> = vals.iter().map(|q| one(q.id)).collect();
            let (r, _, back) = ext(f, VIDIOC_G_EXT_CTRLS, which::DEF_VAL, &arr);
            ensure!(r.is_ok(), "G_EXT_CTRLS DEF_VAL: {r:?}");
            for (q, c) in vals.iter().zip(&back) {
                if q.type_ == ctrl_type::INTEGER64 {
                    ensure_eq!(c.value64(), q.default_value, "default of {:#x}", q.id);
                } else {
                    ensure_eq!(
                        i64::from(c.value()),
                        q.default_value,
                        "default of {:#x}",
                        q.id
                    );
                }
            }
            let (r, _, _) = ext(f, VIDIOC_S_EXT_CTRLS, which::DEF_VAL, &arr);
            ensure_eq!(errno(&r), Some(Errno::EINVAL), "S_EXT_CTRLS DEF_VAL");
            // An unknown control after valid ones: error_idx names it (G/TRY)
            // or is count (S: the validation failed before anything was set).
            if let Some(first) = vals.first() {
                let arr = [one(first.id), one(cid::BASE + 0x7ff)];
                let (r, cs, _) = ext(f, VIDIOC_G_EXT_CTRLS, which::CUR_VAL, &arr);
                ensure_eq!(errno(&r), Some(Errno::EINVAL), "G_EXT_CTRLS unknown id");
                ensure_eq!(cs.error_idx, 2, "G_EXT_CTRLS error_idx = count");
                let (r, cs, _) = ext(f, VIDIOC_TRY_EXT_CTRLS, which::CUR_VAL, &arr);
                ensure_eq!(errno(&r), Some(Errno::EINVAL), "TRY_EXT_CTRLS unknown id");
                ensure_eq!(cs.error_idx, 1, "TRY_EXT_CTRLS error_idx");
                let (r, cs, _) = ext(f, VIDIOC_S_EXT_CTRLS, which::CUR_VAL, &arr);
                ensure_eq!(errno(&r), Some(Errno::EINVAL), "S_EXT_CTRLS unknown id");
                ensure_eq!(cs.error_idx, 2, "S_EXT_CTRLS error_idx = count");
                // A control of another class than `which`.
                let (r, cs, _) = ext(f, VIDIOC_G_EXT_CTRLS, missing, &[one(first.id)]);
                ensure_eq!(
                    errno(&r),
                    Some(Errno::EINVAL),
                    "control outside which's class"
                );
                ensure_eq!(cs.error_idx, 1, "class mismatch error_idx = count");
            }
            Ok(())
        },
    );
    s.test(
        "control events: SEND_INITIAL, changes from another file, POLLPRI",
        || {
            let Some(q) = all.iter().find(|q| {
                is_value_ctrl(q)
                    && q.flags & ctrl_flag::READ_ONLY == 0
                    && q.type_ != ctrl_type::INTEGER64
            }) else {
                return Ok(());
            };
            let sub = V4l2EventSubscription {
                type_: event::CTRL,
                id: q.id,
                flags: event::SUB_FL_SEND_INITIAL,
                ..Default::default()
            };
            let bad = V4l2EventSubscription {
                id: cid::BASE + 0x7ff,
                ..sub
            };
            ensure_eq!(
                errno(&get(f, VIDIOC_SUBSCRIBE_EVENT, bad)),
                Some(Errno::EINVAL),
                "unknown control"
            );
            get(f, VIDIOC_SUBSCRIBE_EVENT, sub).map_err(|e| format!("subscribe: {e:?}"))?;
            let pri = f
                .poll(PollMask::PRI, Some(Duration::ZERO))
                .map_err(|e| format!("poll: {e:?}"))?;
            ensure!(
                pri.contains(PollMask::PRI),
                "POLLPRI with the initial event pending: {pri:?}"
            );
            let cur = get(f, VIDIOC_G_CTRL, V4l2Control { id: q.id, value: 0 })
                .map_err(|e| format!("{e:?}"))?;
            let ev = get(f, VIDIOC_DQEVENT, V4l2Event::default())
                .map_err(|e| format!("initial: {e:?}"))?;
            ensure_eq!(
                (ev.type_, ev.id, ev.pending),
                (event::CTRL, q.id, 0),
                "initial event"
            );
            let c = ev.ctrl();
            ensure_eq!(
                c.changes,
                event::CTRL_CH_VALUE | event::CTRL_CH_FLAGS,
                "initial changes"
            );
            ensure_eq!(c.value64, i64::from(cur.value), "initial value");
            ensure_eq!(
                (i64::from(c.minimum), i64::from(c.maximum)),
                (q.minimum, q.maximum),
                "initial range"
            );
            // No feedback: the file's own change sends nothing.
            let other = if i64::from(cur.value) == q.minimum {
                q.maximum
            } else {
                q.minimum
            } as i32;
            get(
                f,
                VIDIOC_S_CTRL,
                V4l2Control {
                    id: q.id,
                    value: other,
                },
            )
            .map_err(|e| format!("own S_CTRL: {e:?}"))?;
            ensure_eq!(
                errno(&get(f, VIDIOC_DQEVENT, V4l2Event::default())),
                Some(Errno::ENOENT),
                "own change"
            );
            // Another file's change arrives.
            get(
                g,
                VIDIOC_S_CTRL,
                V4l2Control {
                    id: q.id,
                    value: cur.value,
                },
            )
            .map_err(|e| format!("other S_CTRL: {e:?}"))?;
            let ev = get(f, VIDIOC_DQEVENT, V4l2Event::default())
                .map_err(|e| format!("change: {e:?}"))?;
            ensure_eq!(
                (ev.ctrl().changes, ev.ctrl().value64),
                (event::CTRL_CH_VALUE, i64::from(cur.value)),
                "change event"
            );
            ensure_eq!(ev.sequence, 1, "sequence");
            // Unsubscribed: no more events.
            get(f, VIDIOC_UNSUBSCRIBE_EVENT, sub).map_err(|e| format!("unsubscribe: {e:?}"))?;
            get(
                g,
                VIDIOC_S_CTRL,
                V4l2Control {
                    id: q.id,
                    value: other,
                },
            )
            .map_err(|e| format!("{e:?}"))?;
            get(g, VIDIOC_S_CTRL, cur).map_err(|e| format!("{e:?}"))?;
            ensure_eq!(
                errno(&get(f, VIDIOC_DQEVENT, V4l2Event::default())),
                Some(Errno::ENOENT),
                "after unsubscribe"
            );
            let unknown_type = V4l2EventSubscription {
                type_: 0x0800_0000,
                ..sub
            };
            ensure_eq!(
                errno(&get(f, VIDIOC_SUBSCRIBE_EVENT, unknown_type)),
                Some(Errno::EINVAL),
                "unknown event type"
            );
            Ok(())
        },
    );
    all.len()
}
