//! Controls, control events and priorities on video and subdev nodes, as
//! v4l2-ctrls / v4l2-event / v4l2_prio and v4l2-compliance's control tests
//! expect them: enumeration, ranges and rounding, error indices, the
//! all-or-nothing set, events to other files only, POLLPRI, unplug.

use devlife_media::uapi::controls::{self as uc, *};
use devlife_media::uapi::ioctl::{AddressSpace, Wire, get_str, with_current_mm};
use devlife_media::uapi::media::{MEDIA_ENT_F_CAM_SENSOR, MEDIA_PAD_FL_SOURCE};
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::prio::{PRIORITY_INTERACTIVE, PRIORITY_RECORD};
use devlife_media::v4l2::*;
use devlife_model::{Errno, File, KResult, Kernel, OpCtx, OpenFlags, PollMask};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use uc::event;

/// A driver control of a driver class, and the class.
const DRV_CLASS: u32 = 0x00f0_0001;
const DRV_MODE: u32 = 0x00f0_f000;
const DRV_BUTTON: u32 = 0x00f0_f001;
const DRV_FAIL: u32 = 0x00f0_f002;
const DRV_RO: u32 = 0x00f0_f003;

/// Records every `s_ctrl` call; refuses `DRV_FAIL` = 7.
#[derive(Default)]
struct Applied(Mutex<Vec<(u32, i64)>>);

impl Applied {
    fn apply(&self, id: u32, v: i64) -> KResult<()> {
        if id == DRV_FAIL && v == 7 {
            return Err(Errno::EIO);
        }
        self.0.lock().push((id, v));
        Ok(())
    }
    fn take(&self) -> Vec<(u32, i64)> {
        std::mem::take(&mut self.0.lock())
    }
}

struct Cam(Arc<Applied>);

impl VideoOps for Cam {
    fn querycap(&self) -> CapStrings {
        CapStrings {
            driver: "ctrlcam".into(),
            card: "ctrlcam".into(),
            bus_info: "platform:ctrlcam".into(),
        }
    }
    fn enum_fmt(&self, _: &OpCtx<'_>, index: u32, _: u32) -> KResult<FmtDesc> {
        (index == 0)
            .then(|| FmtDesc::new(pix_fmt::RGB24))
            .ok_or(Errno::EINVAL)
    }
    fn try_fmt(&self, _: &OpCtx<'_>, pix: &mut V4l2PixFormat) -> KResult<()> {
        pix.pixelformat = pix_fmt::RGB24;
        pix.width = pix.width.clamp(16, 640);
        pix.height = pix.height.clamp(16, 480);
        pix.bytesperline = pix.width * 3;
        pix.sizeimage = pix.bytesperline * pix.height;
        pix.field = field::NONE;
        Ok(())
    }
    fn start_streaming(&self, _: &OpCtx<'_>, _: &BufferQueue) -> KResult<()> {
        Ok(())
    }
    fn stop_streaming(&self, _: &BufferQueue) {}
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        self.0.apply(id, value)
    }
}

struct Sensor(Arc<Applied>);

impl SubdevOps for Sensor {
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        self.0.apply(id, value)
    }
}

fn controls() -> Vec<CtrlConfig> {
    vec![
        CtrlConfig::std(cid::BRIGHTNESS, 0, 255, 1, 128),
        CtrlConfig::std(cid::HUE, -128, 127, 1, 0),
        CtrlConfig::std(cid::HFLIP, 0, 1, 1, 0),
        CtrlConfig::std(cid::GAIN, 0, 100, 10, 50),
        CtrlConfig::class(DRV_CLASS, "Driver Controls"),
        CtrlConfig {
            menu_skip_mask: 1 << 2,
            ..CtrlConfig::custom_menu(DRV_MODE, "Mode", &["Off", "On", "Hidden", "Auto"], 1)
        },
        CtrlConfig::button(DRV_BUTTON, "Kick"),
        CtrlConfig::custom(DRV_FAIL, "Fragile", ctrl_type::INTEGER, 0, 9, 1, 0),
        CtrlConfig::custom(DRV_RO, "Status", ctrl_type::INTEGER, 0, 9, 1, 4)
            .with_flags(ctrl_flag::READ_ONLY),
    ]
}

struct Rig {
    k: Kernel,
    vdev: VideoDevice<Cam>,
    sd: Subdev<Sensor>,
    applied: Arc<Applied>,
}

fn rig() -> Rig {
    let k = Kernel::new();
    let applied = Arc::new(Applied::default());
    let v4l2 = V4l2Device::new(k.monitor(), "ctrlcam", || {});
    let mut pix = V4l2PixFormat {
        width: 64,
        height: 48,
        ..Default::default()
    };
    pix.pixelformat = pix_fmt::RGB24;
    pix.bytesperline = 192;
    pix.sizeimage = 192 * 48;
    let mut cfg = VideoDeviceConfig::capture("Ctrl Capture", pix);
    cfg.controls = controls();
    let vdev = VideoDevice::new(&v4l2, cfg, Cam(applied.clone())).unwrap();
    vdev.register(&k).unwrap();
    let mut scfg = SubdevConfig::new(
        "Ctrl Sensor",
        vec![MEDIA_PAD_FL_SOURCE],
        MEDIA_ENT_F_CAM_SENSOR,
    );
    scfg.controls = vec![CtrlConfig::std(cid::FOCUS_ABSOLUTE, 0, 1023, 1, 0)];
    let sd = Subdev::new(k.monitor(), scfg, Sensor(applied.clone())).unwrap();
    sd.register_node(&k).unwrap();
    Rig {
        k,
        vdev,
        sd,
        applied,
    }
}

impl Rig {
    fn video(&self) -> File {
        let n = self.vdev.node().unwrap();
        self.k
            .open(&format!("/dev/{}", n.name()), OpenFlags::RDWR)
            .unwrap()
    }
    fn video_nb(&self) -> File {
        let n = self.vdev.node().unwrap();
        self.k
            .open(&format!("/dev/{}", n.name()), OpenFlags::RDWR.nonblocking())
            .unwrap()
    }
    fn subdev(&self) -> File {
        let n = self.sd.node().unwrap();
        self.k
            .open(&format!("/dev/{}", n.name()), OpenFlags::RDWR)
            .unwrap()
    }
}

fn ioc<T: Wire>(f: &File, cmd: u32, v: &mut T) -> KResult<i64> {
    let mut b = v.to_vec();
    let r = f.ioctl(cmd, &mut b);
    *v = T::decode(&b);
    r
}

fn query(f: &File, id: u32) -> KResult<V4l2QueryExtCtrl> {
    let mut q = V4l2QueryExtCtrl {
        id,
        ..Default::default()
    };
    ioc(f, VIDIOC_QUERY_EXT_CTRL, &mut q).map(|_| q)
}

fn g_ctrl(f: &File, id: u32) -> KResult<i32> {
    let mut c = V4l2Control { id, value: 0 };
    ioc(f, VIDIOC_G_CTRL, &mut c).map(|_| c.value)
}

fn s_ctrl(f: &File, id: u32, value: i32) -> KResult<i32> {
    let mut c = V4l2Control { id, value };
    ioc(f, VIDIOC_S_CTRL, &mut c).map(|_| c.value)
}

/// Runs an `*_EXT_CTRLS` call with `ctrls` in a fresh address space;
/// returns the result, the struct and the array as the caller sees them.
fn ext(
    f: &File,
    cmd: u32,
    which: u32,
    ctrls: &[(u32, i64)],
) -> (KResult<i64>, V4l2ExtControls, Vec<V4l2ExtControl>) {
    let mm = Arc::new(AddressSpace::new());
    let arr: Vec<V4l2ExtControl> = ctrls
        .iter()
        .map(|&(id, v)| {
            let mut c = V4l2ExtControl {
                id,
                ..Default::default()
            };
            c.set_value64(v);
            c
        })
        .collect();
    let mut raw = vec![0u8; arr.len() * 20];
    for (c, d) in arr.iter().zip(raw.chunks_exact_mut(20)) {
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
    let r = with_current_mm(mm.clone(), || ioc(f, cmd, &mut cs));
    let back = if raw.is_empty() {
        Vec::new()
    } else {
        mm.read_back(addr, raw.len())
            .unwrap()
            .chunks_exact(20)
            .map(V4l2ExtControl::decode)
            .collect()
    };
    (r, cs, back)
}

#[test]
fn enumeration_walks_ids_in_order_with_class_controls() {
    let r = rig();
    let f = r.video();
    let mut ids = Vec::new();
    let mut id = 0;
    while let Ok(q) = query(&f, id | ctrl_flag::NEXT_CTRL) {
        assert!(q.id > id);
        assert_eq!(q.reserved, [0; 32]);
        assert_eq!(q.elems, 1);
        id = q.id;
        ids.push(id);
    }
    assert_eq!(
        ids,
        vec![
            cid::USER_CLASS,
            cid::BRIGHTNESS,
            cid::HUE,
            cid::GAIN,
            cid::HFLIP,
            DRV_CLASS,
            DRV_MODE,
            DRV_BUTTON,
            DRV_FAIL,
            DRV_RO
        ]
    );
    // No compound controls.
    assert_eq!(
        query(&f, ctrl_flag::NEXT_COMPOUND).err(),
        Some(Errno::EINVAL)
    );
    let both = query(&f, ctrl_flag::NEXT_CTRL | ctrl_flag::NEXT_COMPOUND).unwrap();
    assert_eq!(both.id, cid::USER_CLASS);
    let hue = query(&f, cid::HUE).unwrap();
    assert_eq!(get_str(&hue.name), "Hue");
    assert_eq!(
        (hue.minimum, hue.maximum, hue.step, hue.default_value),
        (-128, 127, 1, 0)
    );
    assert_eq!(hue.flags, ctrl_flag::SLIDER);
    let class = query(&f, cid::USER_CLASS).unwrap();
    assert_eq!(get_str(&class.name), "User Controls");
    assert_eq!(class.flags, ctrl_flag::READ_ONLY | ctrl_flag::WRITE_ONLY);
    let btn = query(&f, DRV_BUTTON).unwrap();
    assert_eq!(
        btn.flags,
        ctrl_flag::WRITE_ONLY | ctrl_flag::EXECUTE_ON_WRITE
    );
    assert_eq!(query(&f, 0x0098_0999).err(), Some(Errno::EINVAL));
    // QUERYCTRL: the same, 32-bit.
    let mut q = V4l2Queryctrl {
        id: cid::GAIN,
        ..Default::default()
    };
    ioc(&f, VIDIOC_QUERYCTRL, &mut q).unwrap();
    assert_eq!(
        (q.minimum, q.maximum, q.step, q.default_value),
        (0, 100, 10, 50)
    );
    // QUERYMENU: skipped and out-of-range items are EINVAL.
    let menu = |i: u32| {
        let mut m = V4l2Querymenu {
            id: DRV_MODE,
            index: i,
            ..Default::default()
        };
        ioc(&f, VIDIOC_QUERYMENU, &mut m).map(|_| get_str(&m.name))
    };
    assert_eq!(menu(0).unwrap(), "Off");
    assert_eq!(menu(3).unwrap(), "Auto");
    assert_eq!(menu(2).err(), Some(Errno::EINVAL));
    assert_eq!(menu(4).err(), Some(Errno::EINVAL));
    let mut m = V4l2Querymenu {
        id: cid::HUE,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_QUERYMENU, &mut m).err(), Some(Errno::EINVAL));
}

#[test]
fn g_s_ctrl_round_clamp_and_refuse_like_the_core() {
    let r = rig();
    let f = r.video();
    assert_eq!(g_ctrl(&f, cid::BRIGHTNESS), Ok(128));
    assert_eq!(s_ctrl(&f, cid::BRIGHTNESS, 300), Ok(255));
    assert_eq!(s_ctrl(&f, cid::GAIN, 44), Ok(40));
    assert_eq!(s_ctrl(&f, cid::GAIN, 46), Ok(50));
    assert_eq!(s_ctrl(&f, cid::HFLIP, 5), Ok(1));
    assert_eq!(g_ctrl(&f, cid::GAIN), Ok(50));
    assert_eq!(s_ctrl(&f, DRV_MODE, 9).err(), Some(Errno::ERANGE));
    assert_eq!(s_ctrl(&f, DRV_MODE, 2).err(), Some(Errno::EINVAL));
    assert_eq!(s_ctrl(&f, DRV_RO, 1).err(), Some(Errno::EACCES));
    assert_eq!(g_ctrl(&f, DRV_CLASS).err(), Some(Errno::EACCES));
    assert_eq!(g_ctrl(&f, DRV_BUTTON).err(), Some(Errno::EACCES));
    assert_eq!(g_ctrl(&f, 0).err(), Some(Errno::EINVAL));
    // The driver saw exactly the changes (not the unchanged GAIN=50 set).
    assert_eq!(
        r.applied.take(),
        vec![
            (cid::BRIGHTNESS, 255),
            (cid::GAIN, 40),
            (cid::GAIN, 50),
            (cid::HFLIP, 1)
        ]
    );
    // A button acts on every write.
    s_ctrl(&f, DRV_BUTTON, 0).unwrap();
    s_ctrl(&f, DRV_BUTTON, 0).unwrap();
    assert_eq!(r.applied.take(), vec![(DRV_BUTTON, 0), (DRV_BUTTON, 0)]);
}

#[test]
fn ext_ctrls_error_index_class_and_default_rules() {
    let r = rig();
    let f = r.video();
    // count == 0: a class check.
    let (res, cs, _) = ext(&f, VIDIOC_G_EXT_CTRLS, 0, &[]);
    assert_eq!((res, cs.which, cs.count), (Ok(0), 0, 0));
    assert_eq!(
        ext(&f, VIDIOC_TRY_EXT_CTRLS, ctrl_class::USER, &[]).0,
        Ok(0)
    );
    assert_eq!(
        ext(&f, VIDIOC_G_EXT_CTRLS, ctrl_class::CAMERA, &[]).0,
        Err(Errno::EINVAL)
    );
    // Unknown id: G and S report count, TRY the index.
    let bad = [(cid::HUE, 1), (0, 0)];
    let (res, cs, _) = ext(&f, VIDIOC_G_EXT_CTRLS, 0, &bad);
    assert_eq!((res, cs.error_idx), (Err(Errno::EINVAL), 2));
    let (res, cs, _) = ext(&f, VIDIOC_TRY_EXT_CTRLS, 0, &bad);
    assert_eq!((res, cs.error_idx), (Err(Errno::EINVAL), 1));
    let (res, cs, _) = ext(&f, VIDIOC_S_EXT_CTRLS, 0, &bad);
    assert_eq!((res, cs.error_idx), (Err(Errno::EINVAL), 2));
    assert!(r.applied.take().is_empty());
    // Write-only on get, read-only on try and set.
    let (res, cs, _) = ext(&f, VIDIOC_G_EXT_CTRLS, 0, &[(DRV_CLASS, 0)]);
    assert_eq!((res, cs.error_idx), (Err(Errno::EACCES), 1));
    let (res, cs, _) = ext(&f, VIDIOC_TRY_EXT_CTRLS, 0, &[(DRV_RO, 0)]);
    assert_eq!((res, cs.error_idx), (Err(Errno::EACCES), 0));
    let (res, cs, _) = ext(&f, VIDIOC_S_EXT_CTRLS, 0, &[(DRV_RO, 0)]);
    assert_eq!((res, cs.error_idx), (Err(Errno::EACCES), 1));
    // A class in `which` must match every control.
    let mixed = [(cid::HUE, 3), (DRV_MODE, 3)];
    assert_eq!(
        ext(&f, VIDIOC_G_EXT_CTRLS, ctrl_class::USER, &mixed).0,
        Err(Errno::EINVAL)
    );
    let (res, _, back) = ext(&f, VIDIOC_S_EXT_CTRLS, 0, &mixed);
    assert_eq!(res, Ok(0));
    assert_eq!((back[0].value(), back[1].value()), (3, 3));
    // TRY validates (and writes back the rounded value) without applying.
    r.applied.take();
    let (res, _, back) = ext(&f, VIDIOC_TRY_EXT_CTRLS, 0, &[(cid::GAIN, 97)]);
    assert_eq!((res, back[0].value()), (Ok(0), 100));
    assert!(r.applied.take().is_empty());
    assert_eq!(g_ctrl(&f, cid::GAIN), Ok(50));
    // DEF_VAL: defaults on get; never settable.
    let (res, _, back) = ext(&f, VIDIOC_G_EXT_CTRLS, which::DEF_VAL, &mixed);
    assert_eq!((res, back[0].value(), back[1].value()), (Ok(0), 0, 1));
    let (res, cs, _) = ext(&f, VIDIOC_S_EXT_CTRLS, which::DEF_VAL, &mixed);
    assert_eq!((res, cs.error_idx), (Err(Errno::EINVAL), 2));
    assert_eq!(
        ext(&f, VIDIOC_TRY_EXT_CTRLS, which::DEF_VAL, &mixed).0,
        Err(Errno::EINVAL)
    );
}

#[test]
fn ext_ctrls_bound_the_count_and_fault_on_bad_pointers() {
    let r = rig();
    let f = r.video();
    let mm = Arc::new(AddressSpace::new());
    let mut cs = V4l2ExtControls {
        count: V4L2_CID_MAX_CTRLS + 1,
        controls: 0x1000,
        ..Default::default()
    };
    let r1 = with_current_mm(mm.clone(), || ioc(&f, VIDIOC_G_EXT_CTRLS, &mut cs));
    assert_eq!(r1, Err(Errno::EINVAL));
    let mut cs = V4l2ExtControls {
        count: 2,
        controls: 0xdead_0000,
        ..Default::default()
    };
    for cmd in [VIDIOC_G_EXT_CTRLS, VIDIOC_TRY_EXT_CTRLS, VIDIOC_S_EXT_CTRLS] {
        let r2 = with_current_mm(mm.clone(), || ioc(&f, cmd, &mut cs));
        assert_eq!(r2, Err(Errno::EFAULT));
    }
    // An array that ends past its mapping faults too.
    let a = mm.map(20);
    let mut cs = V4l2ExtControls {
        count: 2,
        controls: a,
        ..Default::default()
    };
    let r3 = with_current_mm(mm.clone(), || ioc(&f, VIDIOC_G_EXT_CTRLS, &mut cs));
    assert_eq!(r3, Err(Errno::EFAULT));
    // Without any user memory: EFAULT, nothing applied.
    let mut cs = V4l2ExtControls {
        count: 1,
        controls: a,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_S_EXT_CTRLS, &mut cs), Err(Errno::EFAULT));
    assert!(mm.read_back(a, 20).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn a_failing_set_is_undone_and_changes_nothing() {
    let r = rig();
    let f = r.video();
    let other = r.video();
    let ev = V4l2EventSubscription {
        type_: event::CTRL,
        id: cid::HUE,
        ..Default::default()
    };
    ioc(&other, VIDIOC_SUBSCRIBE_EVENT, &mut ev.clone()).unwrap();
    let (res, cs, _) = ext(
        &f,
        VIDIOC_S_EXT_CTRLS,
        0,
        &[(cid::HUE, 5), (cid::HFLIP, 1), (DRV_FAIL, 7)],
    );
    assert_eq!((res, cs.error_idx), (Err(Errno::EIO), 3));
    assert_eq!(
        r.applied.take(),
        vec![
            (cid::HUE, 5),
            (cid::HFLIP, 1),
            (cid::HFLIP, 0),
            (cid::HUE, 0)
        ],
        "applied, then undone in reverse order"
    );
    assert_eq!(g_ctrl(&f, cid::HUE), Ok(0));
    assert_eq!(g_ctrl(&f, cid::HFLIP), Ok(0));
    // Nothing changed, so the subscriber got no event.
    assert_eq!(
        other.poll(PollMask::PRI, Some(Duration::ZERO)),
        Ok(PollMask::NONE)
    );
}

fn dq(f: &File) -> KResult<V4l2Event> {
    let mut e = V4l2Event::default();
    ioc(f, VIDIOC_DQEVENT, &mut e).map(|_| e)
}

#[test]
fn control_events_reach_other_files_with_initial_state() {
    let r = rig();
    let a = r.video_nb();
    let b = r.video_nb();
    assert_eq!(dq(&a).err(), Some(Errno::ENOENT));
    let mut sub = V4l2EventSubscription {
        type_: event::CTRL,
        id: cid::BRIGHTNESS,
        flags: event::SUB_FL_SEND_INITIAL,
        ..Default::default()
    };
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut sub).unwrap();
    assert_eq!(
        a.poll(PollMask::PRI, Some(Duration::ZERO)),
        Ok(PollMask::PRI)
    );
    let e = dq(&a).unwrap();
    assert_eq!(
        (e.type_, e.id, e.sequence, e.pending),
        (event::CTRL, cid::BRIGHTNESS, 0, 0)
    );
    let c = e.ctrl();
    assert_eq!(c.changes, event::CTRL_CH_VALUE | event::CTRL_CH_FLAGS);
    assert_eq!(
        (c.value64, c.minimum, c.maximum, c.default_value),
        (128, 0, 255, 128)
    );
    // A class control sends no initial event; an unknown id is EINVAL.
    let mut cls = V4l2EventSubscription {
        type_: event::CTRL,
        id: cid::USER_CLASS,
        flags: event::SUB_FL_SEND_INITIAL,
        ..Default::default()
    };
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut cls).unwrap();
    assert_eq!(dq(&a).err(), Some(Errno::ENOENT));
    let mut bad = V4l2EventSubscription {
        type_: event::CTRL,
        id: 0x0098_0999,
        ..Default::default()
    };
    assert_eq!(
        ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut bad).err(),
        Some(Errno::EINVAL)
    );
    bad.type_ = event::EOS;
    assert_eq!(
        ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut bad).err(),
        Some(Errno::EINVAL)
    );
    // b's change reaches a; a's own change does not (no ALLOW_FEEDBACK).
    s_ctrl(&b, cid::BRIGHTNESS, 10).unwrap();
    s_ctrl(&b, cid::BRIGHTNESS, 11).unwrap();
    s_ctrl(&a, cid::BRIGHTNESS, 12).unwrap();
    let e = dq(&a).unwrap();
    // Two changes merged into one slot: the last value, one sequence step each.
    assert_eq!(
        (e.ctrl().value64, e.ctrl().changes, e.sequence),
        (11, event::CTRL_CH_VALUE, 2)
    );
    assert_eq!(dq(&a).err(), Some(Errno::ENOENT));
    // Range changes from the driver.
    r.vdev
        .ctrls()
        .unwrap()
        .modify_range(cid::BRIGHTNESS, 0, 10, 1, 5, &|_, _| Ok(()))
        .unwrap();
    let c = dq(&a).unwrap().ctrl();
    assert_eq!(c.changes, event::CTRL_CH_VALUE | event::CTRL_CH_RANGE);
    assert_eq!((c.value64, c.maximum), (5, 10));
    // Unsubscribing drops queued events; the queue dies with the file.
    s_ctrl(&b, cid::BRIGHTNESS, 1).unwrap();
    ioc(&a, VIDIOC_UNSUBSCRIBE_EVENT, &mut sub).unwrap();
    assert_eq!(dq(&a).err(), Some(Errno::ENOENT));
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut sub).unwrap();
    assert!(r.vdev.ctrls().unwrap().subscribers() >= 1);
    drop(a);
    assert_eq!(r.vdev.ctrls().unwrap().subscribers(), 0);
}

#[test]
fn subdev_controls_events_and_pollpri() {
    let r = rig();
    let a = r.subdev();
    let b = r.subdev();
    let q = query(&a, ctrl_flag::NEXT_CTRL).unwrap();
    assert_eq!(
        (q.id, get_str(&q.name)),
        (cid::CAMERA_CLASS, "Camera Controls".to_owned())
    );
    let mut sub = V4l2EventSubscription {
        type_: event::CTRL,
        id: cid::FOCUS_ABSOLUTE,
        ..Default::default()
    };
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut sub).unwrap();
    assert_eq!(
        a.poll(PollMask::PRI, Some(Duration::ZERO)),
        Ok(PollMask::NONE)
    );
    // A poller sleeps until b's change arrives.
    let waiter = std::thread::spawn(move || {
        let m = a.poll(PollMask::PRI, None);
        (m, dq(&a).map(|e| e.ctrl().value64))
    });
    while r.k.activity().blocked().is_empty() {
        std::thread::yield_now();
    }
    s_ctrl(&b, cid::FOCUS_ABSOLUTE, 700).unwrap();
    let (m, v) = waiter.join().unwrap();
    assert_eq!(m, Ok(PollMask::PRI));
    assert_eq!(v, Ok(700));
    assert_eq!(r.applied.take(), vec![(cid::FOCUS_ABSOLUTE, 700)]);
    assert_eq!(r.sd.ctrls().unwrap().value(cid::FOCUS_ABSOLUTE), Some(700));
    assert_eq!(b.ioctl(VIDIOC_LOG_STATUS, &mut []), Ok(0));
}

#[test]
fn unplug_wakes_a_dqevent_sleeper_and_refuses_sets() {
    let r = rig();
    let a = r.video();
    let mut sub = V4l2EventSubscription {
        type_: event::CTRL,
        id: cid::HUE,
        ..Default::default()
    };
    ioc(&a, VIDIOC_SUBSCRIBE_EVENT, &mut sub).unwrap();
    let b = r.video();
    let sleeper = std::thread::spawn(move || dq(&a).map(|_| ()));
    while r.k.activity().blocked().is_empty() {
        std::thread::yield_now();
    }
    r.vdev.unregister().unwrap();
    assert_eq!(sleeper.join().unwrap(), Err(Errno::ENODEV));
    assert_eq!(s_ctrl(&b, cid::HUE, 9).err(), Some(Errno::ENODEV));
    assert_eq!(r.vdev.ctrls().unwrap().value(cid::HUE), Some(0));
    assert!(r.applied.take().is_empty());
}

#[test]
fn priorities_follow_v4l2_prio() {
    let r = rig();
    let a = r.video();
    let b = r.video();
    let g = |f: &File| {
        let mut p = 0u32;
        ioc(f, VIDIOC_G_PRIORITY, &mut p).map(|_| p)
    };
    let s = |f: &File, p: u32| ioc(f, VIDIOC_S_PRIORITY, &mut p.clone());
    assert_eq!(g(&a), Ok(PRIORITY_INTERACTIVE));
    s(&a, PRIORITY_RECORD).unwrap();
    assert_eq!(g(&b), Ok(PRIORITY_RECORD));
    assert_eq!(s(&b, PRIORITY_INTERACTIVE), Err(Errno::EBUSY));
    assert_eq!(s_ctrl(&b, cid::HUE, 1), Err(Errno::EBUSY));
    let mut fmt = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    assert_eq!(ioc(&b, VIDIOC_S_FMT, &mut fmt), Err(Errno::EBUSY));
    // Reads are not priority-checked.
    assert_eq!(g_ctrl(&b, cid::HUE), Ok(0));
    assert_eq!(s_ctrl(&a, cid::HUE, 1), Ok(1));
    assert_eq!(s(&a, 0), Err(Errno::EINVAL));
    drop(a);
    assert_eq!(g(&b), Ok(PRIORITY_INTERACTIVE));
    assert_eq!(s_ctrl(&b, cid::HUE, 2), Ok(2));
}

mod fuzz {
    //! Argument fuzzing of every control, event and priority ioctl on a
    //! video node and a subdev node with controls: no panic, exactly the
    //! errnos the kernel can give for each, nothing written on error (except
    //! the `*_EXT_CTRLS` struct, which the kernel copies back), reserved
    //! fields zero, and every control value valid afterwards.

    use super::*;
    use devlife_media::uapi::ioctl::IoctlCmd;
    use proptest::prelude::*;

    const CMDS: [u32; 15] = [
        VIDIOC_QUERYCTRL,
        VIDIOC_QUERY_EXT_CTRL,
        VIDIOC_QUERYMENU,
        VIDIOC_G_CTRL,
        VIDIOC_S_CTRL,
        VIDIOC_G_EXT_CTRLS,
        VIDIOC_S_EXT_CTRLS,
        VIDIOC_TRY_EXT_CTRLS,
        VIDIOC_LOG_STATUS,
        VIDIOC_SUBSCRIBE_EVENT,
        VIDIOC_UNSUBSCRIBE_EVENT,
        VIDIOC_DQEVENT,
        VIDIOC_G_PRIORITY,
        VIDIOC_S_PRIORITY,
        VIDIOC_QUERYMENU,
    ];

    const IDS: [u32; 9] = [
        cid::BRIGHTNESS,
        cid::HUE,
        cid::GAIN,
        DRV_MODE,
        DRV_BUTTON,
        DRV_FAIL,
        DRV_RO,
        DRV_CLASS,
        cid::FOCUS_ABSOLUTE,
    ];

    fn allowed(cmd: u32, video: bool) -> &'static [Errno] {
        if !video && matches!(cmd, VIDIOC_G_PRIORITY | VIDIOC_S_PRIORITY) {
            return &[Errno::ENOTTY];
        }
        match cmd {
            VIDIOC_QUERYCTRL | VIDIOC_QUERY_EXT_CTRL | VIDIOC_QUERYMENU => &[Errno::EINVAL],
            VIDIOC_G_CTRL => &[Errno::EINVAL, Errno::EACCES],
            VIDIOC_S_CTRL => &[Errno::EINVAL, Errno::EACCES, Errno::ERANGE, Errno::EIO],
            VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS => &[
                Errno::EINVAL,
                Errno::EACCES,
                Errno::ERANGE,
                Errno::EIO,
                Errno::EFAULT,
            ],
            VIDIOC_SUBSCRIBE_EVENT | VIDIOC_S_PRIORITY => &[Errno::EINVAL],
            VIDIOC_DQEVENT => &[Errno::ENOENT],
            _ => &[],
        }
    }

    /// A command, its argument, and an optional control array.
    fn op() -> impl Strategy<Value = (u32, Vec<u8>, Vec<(u32, i64)>, bool, u64)> {
        (
            proptest::sample::select(Vec::from(CMDS)),
            proptest::collection::vec(any::<u8>(), 0..260),
            proptest::collection::vec(
                (
                    prop_oneof![4 => proptest::sample::select(Vec::from(IDS)), 1 => any::<u32>()],
                    prop_oneof![-300i64..300, any::<i64>()],
                ),
                0..5,
            ),
            any::<bool>(),
            any::<u64>(),
        )
    }

    fn put(b: &mut [u8], off: usize, v: u32) {
        if let Some(d) = b.get_mut(off..off + 4) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    fn run(r: &Rig, f: &File, video: bool, o: (u32, Vec<u8>, Vec<(u32, i64)>, bool, u64)) {
        let (cmd, raw, ctrls, exact, seed) = o;
        let size = IoctlCmd(cmd).size();
        let mut arg: Vec<u8> = raw.into_iter().cycle().take(size).collect();
        arg.resize(
            if exact || size == 0 {
                size
            } else {
                (seed as usize) % (size + 8)
            },
            0,
        );
        // Steer ids and flags toward meaningful values most of the time.
        let id = IDS[(seed >> 8) as usize % IDS.len()];
        if seed & 3 != 0 {
            match cmd {
                VIDIOC_QUERYCTRL | VIDIOC_QUERY_EXT_CTRL => {
                    let flags = [0, ctrl_flag::NEXT_CTRL, ctrl_flag::NEXT_COMPOUND]
                        [(seed >> 4) as usize % 3];
                    put(&mut arg, 0, id | flags)
                }
                VIDIOC_QUERYMENU | VIDIOC_G_CTRL | VIDIOC_S_CTRL => {
                    put(&mut arg, 0, id);
                    if cmd == VIDIOC_QUERYMENU {
                        put(&mut arg, 4, (seed >> 16) as u32 % 6);
                    }
                }
                VIDIOC_SUBSCRIBE_EVENT | VIDIOC_UNSUBSCRIBE_EVENT => {
                    put(
                        &mut arg,
                        0,
                        [event::CTRL, event::ALL, 2][(seed >> 4) as usize % 3],
                    );
                    put(&mut arg, 4, id);
                    put(&mut arg, 8, (seed >> 20) as u32 & 3);
                }
                VIDIOC_S_PRIORITY => put(&mut arg, 0, (seed >> 4) as u32 % 5),
                _ => {}
            }
        }
        let mm = Arc::new(AddressSpace::new());
        if matches!(
            cmd,
            VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS
        ) && arg.len() >= 32
            && seed & 3 != 0
        {
            let mut a = vec![0u8; ctrls.len() * 20];
            for (&(id, v), d) in ctrls.iter().zip(a.chunks_exact_mut(20)) {
                let mut c = V4l2ExtControl {
                    id,
                    ..Default::default()
                };
                c.set_value64(v);
                c.encode(d);
            }
            let addr = if a.is_empty() { 0 } else { mm.map_bytes(&a) };
            put(
                &mut arg,
                0,
                [0, ctrl_class::USER, which::DEF_VAL, 0x00f0_0000][(seed >> 4) as usize % 4],
            );
            put(&mut arg, 4, ctrls.len() as u32);
            arg[24..32].copy_from_slice(&addr.to_le_bytes());
        }
        let before = arg.clone();
        let res = with_current_mm(mm, || f.ioctl(cmd, &mut arg));
        match res {
            Ok(_) => {
                if cmd == VIDIOC_QUERY_EXT_CTRL {
                    let q = V4l2QueryExtCtrl::decode(&arg);
                    assert_eq!(q.reserved, [0; 32]);
                    assert_eq!(q.dims, [0; 4]);
                }
                if cmd == VIDIOC_DQEVENT {
                    let e = V4l2Event::decode(&arg);
                    assert_eq!(e.reserved, [0; 8]);
                    assert_eq!(e.type_, event::CTRL);
                }
            }
            Err(e) if allowed(cmd, video) == [Errno::ENOTTY] => assert_eq!(e, Errno::ENOTTY),
            Err(e) if arg.len() < size => assert_eq!(e, Errno::EFAULT, "cmd {cmd:#x}"),
            Err(e) => {
                assert!(allowed(cmd, video).contains(&e), "cmd {cmd:#x}: {e:?}");
                if !uc::copies_out_on_error(cmd) {
                    assert_eq!(arg, before, "cmd {cmd:#x} wrote on error");
                }
            }
        }
        let hs: Vec<&CtrlHandler> = vec![r.vdev.ctrls().unwrap(), r.sd.ctrls().unwrap()];
        for h in hs {
            for id in h.ids() {
                let d = h.describe(id).unwrap();
                let v = h.value(id).unwrap();
                if d.type_ != ctrl_type::CTRL_CLASS && d.type_ != ctrl_type::BUTTON {
                    assert_eq!(d.validate(v), Ok(v), "{} holds {v}", d.name);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn control_event_and_priority_ioctls_survive_any_argument(
            ops in proptest::collection::vec(op(), 1..24)
        ) {
            let r = rig();
            let v = r.video_nb();
            let n = r.sd.node().unwrap();
            let s = r
                .k
                .open(&format!("/dev/{}", n.name()), OpenFlags::RDWR.nonblocking())
                .unwrap();
            for (i, o) in ops.into_iter().enumerate() {
                if i % 2 == 0 {
                    run(&r, &v, true, o);
                } else {
                    run(&r, &s, false, o);
                }
            }
        }
    }
}
