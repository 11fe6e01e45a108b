//! vimc's controls as the kernel's vimc has them (ids, names, types, ranges,
//! defaults, flags, menus), on the nodes that have them, and none on the
//! others; a set reaches the entity; events; a set racing an unbind.

use devlife_drivers::Style;
use devlife_drivers::vimc::controls::*;
use devlife_drivers::vimc::hw::{REG_CTRL_ID, REG_CTRL_VAL};
use devlife_media::uapi::controls::{self as uc, cid, ctrl_flag, ctrl_type};
use devlife_media::uapi::controls::{
    V4l2Control, V4l2Event, V4l2EventSubscription, V4l2QueryExtCtrl, V4l2Querymenu, VIDIOC_DQEVENT,
    VIDIOC_G_CTRL, VIDIOC_QUERY_EXT_CTRL, VIDIOC_QUERYMENU, VIDIOC_S_CTRL, VIDIOC_SUBSCRIBE_EVENT,
};
use devlife_media::uapi::ioctl::get_str;
use devlife_model::{Errno, File, KResult, OpenFlags, PollMask};
use devlife_testkit::vimc::*;
use std::time::Duration;

/// (id, name, type, min, max, step, default, flags) of one control.
type Row = (u32, &'static str, u32, i64, i64, u64, i64, u32);

fn walk(f: &File) -> Vec<Row> {
    let mut out = Vec::new();
    let mut id = 0;
    loop {
        let mut q = V4l2QueryExtCtrl {
            id: id | ctrl_flag::NEXT_CTRL | ctrl_flag::NEXT_COMPOUND,
            ..Default::default()
        };
        match ioc(f, VIDIOC_QUERY_EXT_CTRL, &mut q) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e, Errno::EINVAL);
                break;
            }
        }
        id = q.id;
        let name: &'static str = Box::leak(get_str(&q.name).into_boxed_str());
        out.push((
            q.id,
            name,
            q.type_,
            q.minimum,
            q.maximum,
            q.step,
            q.default_value,
            q.flags,
        ));
    }
    out
}

const RO_WO: u32 = ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY;
const SL: u32 = ctrl_flag::SLIDER;

fn sensor_rows() -> Vec<Row> {
    use ctrl_type::*;
    vec![
        (
            cid::USER_CLASS,
            "User Controls",
            CTRL_CLASS,
            0,
            0,
            0,
            0,
            RO_WO,
        ),
        (cid::BRIGHTNESS, "Brightness", INTEGER, 0, 255, 1, 128, SL),
        (cid::CONTRAST, "Contrast", INTEGER, 0, 255, 1, 128, SL),
        (cid::SATURATION, "Saturation", INTEGER, 0, 255, 1, 128, SL),
        (cid::HUE, "Hue", INTEGER, -128, 127, 1, 0, SL),
        (cid::HFLIP, "Horizontal Flip", BOOLEAN, 0, 1, 1, 0, 0),
        (cid::VFLIP, "Vertical Flip", BOOLEAN, 0, 1, 1, 0, 0),
        (
            VIMC_CID_VIMC_CLASS,
            "VIMC Controls",
            CTRL_CLASS,
            0,
            0,
            0,
            0,
            RO_WO,
        ),
        (VIMC_CID_TEST_PATTERN, "Test Pattern", MENU, 0, 21, 1, 0, 0),
        (
            VIMC_CID_OSD_TEXT_MODE,
            "Show Information",
            MENU,
            0,
            2,
            1,
            0,
            0,
        ),
    ]
}

#[test]
fn each_entity_has_the_kernels_controls() {
    let r = Rig::new(Style::Framework, NEVER);
    for sensor in ["Sensor A", "Sensor B", "RGB/YUV Input"] {
        assert_eq!(walk(&r.open(sensor)), sensor_rows(), "{sensor}");
    }
    for deb in ["Debayer A", "Debayer B"] {
        assert_eq!(
            walk(&r.open(deb)),
            vec![
                (
                    VIMC_CID_VIMC_CLASS,
                    "VIMC Controls",
                    ctrl_type::CTRL_CLASS,
                    0,
                    0,
                    0,
                    0,
                    RO_WO
                ),
                (
                    VIMC_CID_MEAN_WIN_SIZE,
                    "Debayer Mean Window Size",
                    ctrl_type::INTEGER,
                    1,
                    25,
                    2,
                    3,
                    0
                ),
            ]
        );
    }
    for lens in ["Lens A", "Lens B"] {
        assert_eq!(
            walk(&r.open(lens)),
            vec![
                (
                    cid::CAMERA_CLASS,
                    "Camera Controls",
                    ctrl_type::CTRL_CLASS,
                    0,
                    0,
                    0,
                    0,
                    RO_WO
                ),
                (
                    cid::FOCUS_ABSOLUTE,
                    "Focus, Absolute",
                    ctrl_type::INTEGER,
                    0,
                    1023,
                    1,
                    0,
                    0
                ),
            ]
        );
    }
    // No handler: the control and event ioctls are not there at all.
    for none in ["Scaler", "Raw Capture 0", "RGB/YUV Capture"] {
        let f = r.open(none);
        let mut q = V4l2QueryExtCtrl::default();
        assert_eq!(
            ioc(&f, VIDIOC_QUERY_EXT_CTRL, &mut q).err(),
            Some(Errno::ENOTTY),
            "{none}"
        );
        let mut s = V4l2EventSubscription::default();
        assert_eq!(
            ioc(&f, VIDIOC_SUBSCRIBE_EVENT, &mut s).err(),
            Some(Errno::ENOTTY)
        );
    }
    // The test pattern menu is the test pattern generator's.
    let f = r.open("Sensor A");
    for (i, name) in TPG_PATTERNS.iter().enumerate() {
        let mut m = V4l2Querymenu {
            id: VIMC_CID_TEST_PATTERN,
            index: i as u32,
            ..Default::default()
        };
        ioc(&f, VIDIOC_QUERYMENU, &mut m).unwrap();
        assert_eq!(get_str(&m.name), *name);
    }
    let mut m = V4l2Querymenu {
        id: VIMC_CID_OSD_TEXT_MODE,
        index: 2,
        ..Default::default()
    };
    ioc(&f, VIDIOC_QUERYMENU, &mut m).unwrap();
    assert_eq!(get_str(&m.name), "None");
    drop(f);
    r.assert_silent();
    r.finish();
}

fn s_ctrl(f: &File, id: u32, value: i32) -> KResult<i32> {
    let mut c = V4l2Control { id, value };
    ioc(f, VIDIOC_S_CTRL, &mut c).map(|_| c.value)
}

fn g_ctrl(f: &File, id: u32) -> KResult<i32> {
    let mut c = V4l2Control { id, value: 0 };
    ioc(f, VIDIOC_G_CTRL, &mut c).map(|_| c.value)
}

#[test]
fn a_set_programs_the_entity_and_notifies_other_files() {
    let r = Rig::new(Style::Framework, NEVER);
    let a =
        r.k.open(&r.path("Debayer A"), OpenFlags::RDWR.nonblocking())
            .unwrap();
    let b = r.open("Debayer A");
    let mut sub = V4l2EventSubscription {
        type_: uc::event::CTRL,
        id: VIMC_CID_MEAN_WIN_SIZE,
        ..Default::default()
    };
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut sub).unwrap();
    assert_eq!(s_ctrl(&b, VIMC_CID_MEAN_WIN_SIZE, 8), Ok(9));
    assert_eq!(g_ctrl(&a, VIMC_CID_MEAN_WIN_SIZE), Ok(9));
    assert_eq!(
        a.poll(PollMask::PRI, Some(Duration::ZERO)),
        Ok(PollMask::PRI)
    );
    let mut e = V4l2Event::default();
    ioc(&a, VIDIOC_DQEVENT, &mut e).unwrap();
    assert_eq!((e.id, e.ctrl().value64), (VIMC_CID_MEAN_WIN_SIZE, 9));
    let hw = r.v.hardware();
    assert_eq!(hw.peek(REG_CTRL_ID), VIMC_CID_MEAN_WIN_SIZE);
    assert_eq!(hw.peek(REG_CTRL_VAL), 9);
    let lens = r.open("Lens B");
    assert_eq!(s_ctrl(&lens, cid::FOCUS_ABSOLUTE, 2000), Ok(1023));
    drop((a, b, lens));
    r.assert_silent();
    r.finish();
}

#[test]
fn a_set_after_unbind_is_enodev_and_changes_nothing() {
    for style in [Style::Framework, Style::Legacy] {
        let r = Rig::new(style, NEVER);
        let f = r.open("Sensor A");
        assert_eq!(s_ctrl(&f, cid::HUE, -5), Ok(-5));
        r.v.unbind().unwrap();
        assert_eq!(
            s_ctrl(&f, cid::HUE, 7).err(),
            Some(Errno::ENODEV),
            "{style:?}"
        );
        assert_eq!(g_ctrl(&f, cid::HUE).err(), Some(Errno::ENODEV));
        drop(f);
        if style == Style::Framework {
            r.assert_silent();
        }
    }
}

#[test]
fn sets_racing_an_unbind_are_whole_or_refused() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let r = Rig::new(Style::Framework, NEVER);
    let f = r.open("Sensor B");
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let setter = std::thread::spawn(move || {
        let mut last: Option<i32> = None;
        for n in 1usize.. {
            let v = (n % 200) as i32;
            match s_ctrl(&f, cid::BRIGHTNESS, v) {
                Ok(got) => {
                    assert_eq!(got, v);
                    last = Some(v);
                    d.store(n, Ordering::Release);
                }
                Err(e) => {
                    assert_eq!(e, Errno::ENODEV);
                    break;
                }
            }
        }
        last
    });
    wait_until("sets in flight", || done.load(Ordering::Acquire) > 20);
    r.v.unbind().unwrap();
    let last = setter.join().unwrap().expect("some sets succeeded");
    // The set in flight at the unbind completed entirely or not at all: the
    // register pair holds the last value reported as set.
    let hw = r.v.hardware();
    assert_eq!(hw.peek(REG_CTRL_ID), cid::BRIGHTNESS);
    assert_eq!(hw.peek(REG_CTRL_VAL), last as u32);
    r.assert_silent();
}
