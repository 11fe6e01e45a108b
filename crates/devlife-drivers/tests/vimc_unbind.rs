//! Unbind (sysfs), hot-unplug (platform device removal) and module unload
//! during every kind of call: a DQBUF blocked on an empty queue, a poll, a
//! read, mmap'ed buffers held by the application, an open media node, an
//! open subdev node, a call in flight, an interrupt, a running stream.
//!
//! Framework style: no checker report, the errnos of docs/rules.md (video and
//! subdev nodes ENODEV, poll ERR|HUP|PRI; media node EIO, poll ERR|HUP),
//! memory released with the last reference. Legacy twin: the checker that
//! must fire does.
//!
//! Threads are ordered through the model's blocked-thread table and
//! preemption points, never by sleeping.

use devlife::check::ReportKind;
use devlife_drivers::Style;
use devlife_drivers::vimc::formats::code;
use devlife_drivers::vimc::hw::reg_stream;
use devlife_drivers::vimc::pattern::{FrameFmt, sensor_frame};
use devlife_media::kinds;
use devlife_media::mc::preempt;
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_model::{Errno, File, PollMask, UnbindPhase};
use devlife_testkit::vimc::*;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unplug {
    /// `echo vimc.0 > .../unbind`.
    Sysfs,
    /// `platform_device_unregister`.
    Hot,
}

const BOTH: [Unplug; 2] = [Unplug::Sysfs, Unplug::Hot];

fn unplug(rig: &Rig, how: Unplug) {
    match how {
        Unplug::Sysfs => rig.v.unbind().unwrap(),
        Unplug::Hot => rig.v.hot_unplug().unwrap(),
    }
}

fn video_gone() -> PollMask {
    PollMask::ERR | PollMask::HUP | PollMask::PRI
}

/// A streaming Raw Capture 1 (32x32) with two buffers queued.
fn streaming(rig: &Rig) -> File {
    rig.configure(32, 32);
    let f = rig.open("Raw Capture 1");
    start_stream(&f, 2).unwrap();
    f
}

/// Ends a legacy test: everything closed, kernel shut down, handle dropped;
/// runs the leak checker and returns the types still alive.
fn finish_legacy(rig: Rig) -> Vec<&'static str> {
    let k = rig.k.clone();
    drop(rig);
    k.monitor().check_leaks();
    k.leaks().into_iter().map(|c| c.type_name).collect()
}

// ----- a DQBUF blocked on an empty queue ------------------------------------------

#[test]
fn dqbuf_blocked_on_an_empty_queue_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        let f = streaming(&rig);
        let f2 = f.dup();
        let t = spawn("dq", move || dqbuf(&f2));
        wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
        unplug(&rig, how);
        // Woken by the unplug, with the video node's errno.
        assert_eq!(t.join().unwrap().unwrap_err(), Errno::ENODEV, "{how:?}");
        assert_eq!(rig.k.check_hangs(), 0);
        assert_eq!(dqbuf(&f), Err(Errno::ENODEV));
        assert_eq!(querycap(&f).unwrap_err(), Errno::ENODEV);
        assert_eq!(f.poll(PollMask::IN | PollMask::PRI, None), Ok(video_gone()));
        // The stream was stopped once, while the engine was still there (a
        // removed platform device ignores the write).
        let st = rig.v.stats();
        assert_eq!((st.stream_starts, st.stream_stops), (1, 1));
        if how == Unplug::Sysfs {
            assert_eq!(rig.v.hardware().peek(reg_stream(1)), 0);
        }
        // The video device lives until the file closes.
        assert_eq!(rig.released(kinds::VIDEO_DEVICE), 2);
        drop(f);
        assert_eq!(rig.released(kinds::VIDEO_DEVICE), 3);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn dqbuf_blocked_on_an_empty_queue_legacy() {
    for how in BOTH {
        let rig = Rig::new(Style::Legacy, NEVER);
        let f = streaming(&rig);
        let f2 = f.dup();
        let t = spawn("dq", move || dqbuf(&f2));
        wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
        unplug(&rig, how);
        // R4: the pre-fix unregister wakes nobody: the hang checker fires.
        assert!(is_blocked(&rig.k, "dq", "VIDIOC_DQBUF"), "{how:?}");
        assert_eq!(rig.k.check_hangs(), 1);
        assert_eq!(rig.count(ReportKind::Hang), 1);
        assert!(rig.k.activity().signal("dq"));
        assert_eq!(t.join().unwrap().unwrap_err(), Errno::EINTR);
        // New calls fail at the entry check.
        assert_eq!(dqbuf(&f), Err(Errno::ENODEV));
        assert_eq!(rig.count(ReportKind::UseAfterFree), 0);
        // Close: vb2 release stops the stream through the driver, on freed
        // state and removed hardware; the driver then skips the rest.
        drop(f);
        assert!(
            rig.count(ReportKind::UseAfterFree) >= 2,
            "{}",
            fmt_reports(&rig.reports())
        );
        assert!(rig.count(ReportKind::HwAfterRemove) >= 1);
        let leaks = finish_legacy(rig);
        assert!(leaks.contains(&"vimc_device"), "{leaks:?}");
    }
}

// ----- a poll ------------------------------------------------------------------------

#[test]
fn poll_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        let f = streaming(&rig);
        assert_eq!(
            f.poll(PollMask::IN, Some(std::time::Duration::ZERO)),
            Ok(PollMask::NONE)
        );
        let f2 = f.dup();
        let t = spawn("poller", move || f2.poll(PollMask::IN, None));
        wait_blocked(&rig.k, "poller", "poll");
        unplug(&rig, how);
        // Woken; poll reports ERR|HUP (PRI too, when it was asked for).
        let m = t.join().unwrap().unwrap();
        assert!(m.contains(PollMask::ERR | PollMask::HUP), "{how:?}: {m:?}");
        assert_eq!(rig.k.check_hangs(), 0);
        assert!(!m.intersects(PollMask::IN), "{m:?}");
        assert_eq!(f.poll(PollMask::IN | PollMask::PRI, None), Ok(video_gone()));
        drop(f);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn poll_legacy() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let f = streaming(&rig);
    let f2 = f.dup();
    let t = spawn("poller", move || f2.poll(PollMask::IN, None));
    wait_blocked(&rig.k, "poller", "poll");
    unplug(&rig, Unplug::Sysfs);
    assert!(
        is_blocked(&rig.k, "poller", "poll"),
        "not woken by the legacy unbind"
    );
    assert_eq!(rig.k.check_hangs(), 1);
    assert!(rig.k.activity().signal("poller"));
    assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
    // The entry check answers later polls with the gone mask.
    assert_eq!(f.poll(PollMask::IN | PollMask::PRI, None), Ok(video_gone()));
    drop(f);
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    assert!(rig.count(ReportKind::HwAfterRemove) >= 1);
    let leaks = finish_legacy(rig);
    assert!(leaks.contains(&"vimc_device"), "{leaks:?}");
}

// ----- a read ------------------------------------------------------------------------

#[test]
fn read_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        rig.configure(32, 32);
        let f = rig.open("Raw Capture 0");
        let f2 = f.dup();
        let t = spawn("reader", move || f2.read(&mut [0u8; 64]));
        wait_blocked(&rig.k, "reader", "read");
        unplug(&rig, how);
        assert_eq!(t.join().unwrap(), Err(Errno::ENODEV), "{how:?}");
        assert_eq!(rig.k.check_hangs(), 0);
        assert_eq!(f.read(&mut [0u8; 64]), Err(Errno::ENODEV));
        assert_eq!(rig.v.stats().stream_stops, 1);
        drop(f);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn read_legacy() {
    let rig = Rig::new(Style::Legacy, NEVER);
    rig.configure(32, 32);
    let f = rig.open("Raw Capture 0");
    let f2 = f.dup();
    let t = spawn("reader", move || f2.read(&mut [0u8; 64]));
    wait_blocked(&rig.k, "reader", "read");
    unplug(&rig, Unplug::Hot);
    assert!(is_blocked(&rig.k, "reader", "read"));
    assert_eq!(rig.k.check_hangs(), 1);
    assert!(rig.k.activity().signal("reader"));
    assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
    drop(f);
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    assert!(rig.count(ReportKind::HwAfterRemove) >= 1);
    let leaks = finish_legacy(rig);
    assert!(leaks.contains(&"vimc_device"), "{leaks:?}");
}

// ----- mmap'ed buffers held by the application --------------------------------------

#[test]
fn mmaped_buffers_survive_the_device_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, FAST);
        let f = streaming(&rig);
        let size = 32 * 32;
        let maps: Vec<_> = (0..2).map(|i| map(&f, i, size)).collect();
        let b = dqbuf(&f).unwrap();
        let want = sensor_frame(
            FrameFmt {
                code: code::SBGGR8_1X8,
                width: 32,
                height: 32,
            },
            0,
        );
        assert_eq!(read_map(&maps[b.index as usize], size), want);
        unplug(&rig, how);
        // The frame is still there; the file answers ENODEV.
        assert_eq!(read_map(&maps[b.index as usize], size), want);
        assert_eq!(dqbuf(&f), Err(Errno::ENODEV));
        let mapped = maps[0].node().clone();
        drop(f);
        // The mappings keep the file: not released yet.
        assert_eq!(mapped.open_files(), 1);
        assert_eq!(rig.released(kinds::VIDEO_DEVICE), 2);
        // Writes still land in the (orphaned) buffer memory.
        maps[1].write(0, &[1, 2, 3]).unwrap();
        assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 2);
        drop(maps);
        assert_eq!(mapped.open_files(), 0);
        assert_eq!(rig.released(kinds::VIDEO_DEVICE), 3);
        assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 0);
        drop(mapped);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn mmaped_buffers_legacy_release_at_munmap_uses_freed_state() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let f = streaming(&rig);
    let maps: Vec<_> = (0..2).map(|i| map(&f, i, 32 * 32)).collect();
    unplug(&rig, Unplug::Sysfs);
    drop(f);
    // Nothing ran yet: the mappings hold the file.
    assert_eq!(rig.count(ReportKind::UseAfterFree), 0);
    drop(maps);
    // The last munmap ran the release: stream stop and close on freed state.
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    assert!(rig.count(ReportKind::HwAfterRemove) >= 1);
    let r = rig
        .reports()
        .into_iter()
        .find(|r| r.kind == ReportKind::UseAfterFree)
        .unwrap();
    assert_eq!(r.object_name, "vimc");
    assert!(r.related.iter().any(|(w, _)| *w == "freed"));
    finish_legacy(rig);
}

// ----- an open media node ---------------------------------------------------------------

#[test]
fn open_media_node_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        let m = rig.open_media();
        let path = rig.nodes().media;
        unplug(&rig, how);
        assert_eq!(media_info(&m), Err(Errno::EIO));
        assert_eq!(
            m.poll(PollMask::IN, None),
            Ok(PollMask::ERR | PollMask::HUP)
        );
        // The node left /dev; the old node refuses opens with ENXIO.
        assert_eq!(
            rig.k
                .open(&path, devlife_model::OpenFlags::RDWR)
                .unwrap_err(),
            Errno::ENOENT
        );
        assert_eq!(
            m.node().open(devlife_model::OpenFlags::RDWR).unwrap_err(),
            Errno::ENXIO
        );
        // The open file pins the media device (R2 fixed).
        assert_eq!(rig.released(kinds::MEDIA_DEVICE), 0);
        drop(m);
        assert_eq!(rig.released(kinds::MEDIA_DEVICE), 1);
        rig.assert_silent();
        rig.finish();
    }
}

/// R1: a media ioctl passes the node's check, then the driver goes away,
/// then the ioctl uses the media device. Returns the ioctl's result.
fn media_ioctl_in_flight(rig: &Rig, how: Unplug) -> Result<MediaDeviceInfo, Errno> {
    let m = rig.open_media();
    let media = rig.nodes().media.trim_start_matches("/dev/").to_owned();
    let (at_tx, at_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let t = spawn("mioctl", move || {
        let g = go_rx.clone();
        preempt::with_hook(
            move |p| {
                if p == preempt::MEDIA_IOCTL {
                    at_tx.send(()).unwrap();
                    let _ = g.lock().unwrap().recv();
                }
            },
            || media_info(&m),
        )
    });
    at_rx.recv().unwrap();
    let legacy = rig.v.style() == Style::Legacy;
    if legacy {
        // Nothing waits for the call: the unbind completes and frees.
        unplug(rig, how);
    } else {
        let k = rig.k.clone();
        let dev = rig.v.device();
        let drv = rig.v.driver_name();
        let u = spawn("unbinder", move || match how {
            Unplug::Sysfs => k.sysfs_unbind(drv, dev.name()),
            Unplug::Hot => k.hot_unplug(&dev),
        });
        // The unbind drains the media node: it waits for the ioctl.
        assert!(
            rig.k.activity().wait_for(PATIENCE, |b| b
                .iter()
                .any(|x| x.thread == "unbinder" && x.op == "unplug" && x.object == media))
        );
        assert!(!u.is_finished());
        go_tx.send(()).unwrap();
        u.join().unwrap().unwrap();
        return t.join().unwrap();
    }
    go_tx.send(()).unwrap();
    t.join().unwrap()
}

#[test]
fn media_ioctl_in_flight_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        let d = media_ioctl_in_flight(&rig, how).unwrap();
        assert_eq!(devlife_media::uapi::ioctl::get_str(&d.model), "VIMC MDEV");
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn media_ioctl_in_flight_legacy_uses_the_freed_media_device() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let _ = media_ioctl_in_flight(&rig, Unplug::Sysfs);
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    let r = rig.reports();
    assert!(
        r.iter()
            .any(|r| r.kind == ReportKind::UseAfterFree
                && r.message.contains("media_device(VIMC MDEV)")),
        "{}",
        fmt_reports(&r)
    );
    finish_legacy(rig);
}

#[test]
fn stale_media_fd_legacy_gets_eio_from_the_entry_check() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let m = rig.open_media();
    unplug(&rig, Unplug::Sysfs);
    // The media device was freed under the open node (R2), but the
    // registered flag saves a call that starts after the unregistration.
    assert_eq!(media_info(&m), Err(Errno::EIO));
    drop(m);
    assert_eq!(rig.count(ReportKind::UseAfterFree), 0);
    finish_legacy(rig);
}

// ----- an open subdev node --------------------------------------------------------------

#[test]
fn open_subdev_node_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        let s = rig.open("Sensor A");
        let lens = rig.open("Lens B");
        unplug(&rig, how);
        assert_eq!(
            subdev_g_fmt(&s, V4L2_SUBDEV_FORMAT_ACTIVE, 0),
            Err(Errno::ENODEV)
        );
        assert_eq!(s.poll(PollMask::IN | PollMask::PRI, None), Ok(video_gone()));
        // Each open file keeps its subdev (and its driver data) alive.
        assert_eq!(rig.released(kinds::V4L2_SUBDEV), 6);
        drop(s);
        drop(lens);
        assert_eq!(rig.released(kinds::V4L2_SUBDEV), 8);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn open_subdev_node_legacy_close_uses_freed_state() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let s = rig.open("Debayer B");
    unplug(&rig, Unplug::Sysfs);
    assert_eq!(
        subdev_g_fmt(&s, V4L2_SUBDEV_FORMAT_ACTIVE, 0),
        Err(Errno::ENODEV)
    );
    assert_eq!(rig.count(ReportKind::UseAfterFree), 0);
    drop(s); // subdev_close
    assert_eq!(rig.count(ReportKind::UseAfterFree), 1);
    finish_legacy(rig);
}

/// A subdev `S_FMT` held in the hardware (a stalled register write) while
/// the device goes away.
fn subdev_call_in_flight(rig: &Rig, how: Unplug) -> Result<V4l2MbusFramefmt, Errno> {
    let stall = rig.v.hardware().stall_thread("sfmt");
    let s = rig.open("Sensor A");
    let t = spawn("sfmt", move || {
        subdev_s_fmt(
            &s,
            V4L2_SUBDEV_FORMAT_ACTIVE,
            0,
            mbus(code::SBGGR8_1X8, 64, 48),
        )
    });
    wait_blocked(&rig.k, "sfmt", "VIDIOC_SUBDEV_S_FMT");
    if rig.v.style() == Style::Legacy {
        unplug(rig, how);
    } else {
        let k = rig.k.clone();
        let dev = rig.v.device();
        let drv = rig.v.driver_name();
        let u = spawn("unbinder", move || match how {
            Unplug::Sysfs => k.sysfs_unbind(drv, dev.name()),
            Unplug::Hot => k.hot_unplug(&dev),
        });
        assert!(
            rig.k.activity().wait_for(PATIENCE, |b| b
                .iter()
                .any(|x| x.thread == "unbinder" && x.op == "unplug" && x.object == "v4l-subdev0"))
        );
        assert!(!u.is_finished());
        drop(stall);
        u.join().unwrap().unwrap();
        return t.join().unwrap();
    }
    drop(stall);
    t.join().unwrap()
}

#[test]
fn subdev_call_in_flight_framework() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, NEVER);
        // The call completes; the unbind waited for it.
        let f = subdev_call_in_flight(&rig, how).unwrap();
        assert_eq!((f.code, f.width, f.height), (code::SBGGR8_1X8, 64, 48));
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn subdev_call_in_flight_legacy() {
    let rig = Rig::new(Style::Legacy, NEVER);
    let _ = subdev_call_in_flight(&rig, Unplug::Sysfs);
    // The register write completed after remove(), then the state was used.
    assert_eq!(rig.count(ReportKind::HwAfterRemove), 1);
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    finish_legacy(rig);
}

// ----- an interrupt racing the unbind ------------------------------------------------------

/// Raises the frame-done interrupt at `phase` of the unbind and waits until
/// it was handled (or refused).
fn irq_during_unbind(rig: &Rig, phase: UnbindPhase) -> devlife_model::IrqStats {
    let hw = rig.v.hardware();
    let line = rig.k.irq().line(hw.irq().unwrap()).unwrap();
    let (hw2, line2) = (hw.clone(), line.clone());
    rig.k.set_unbind_hook(move |_, p| {
        if p == phase {
            hw2.raise_irq();
            assert!(line2.wait_idle(PATIENCE));
        }
    });
    rig.v.unbind().unwrap();
    rig.k.clear_unbind_hook();
    line.stats()
}

#[test]
fn interrupt_during_unbind_framework_is_refused_by_the_gate() {
    let rig = Rig::new(Style::Framework, NEVER);
    // The binding gate is drained, remove() has not run, the IRQ is still
    // requested: the handler is not run any more.
    let s = irq_during_unbind(&rig, UnbindPhase::Drained);
    assert_eq!(s.gated, 1);
    assert_eq!(s.delivered, 0);
    assert_eq!(s.after_release, 0);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn interrupt_during_unbind_legacy_reaches_freed_state() {
    let rig = Rig::new(Style::Legacy, NEVER);
    // devm frees the state first (action 0), the IRQ after (action 1).
    let s = irq_during_unbind(&rig, UnbindPhase::DevmAction(0));
    assert_eq!(s.after_release, 1);
    assert_eq!(rig.count(ReportKind::IrqAfterRelease), 1);
    // The handler then read its registers and its state.
    assert!(rig.count(ReportKind::HwAfterRemove) >= 1);
    assert!(rig.count(ReportKind::UseAfterFree) >= 1);
    finish_legacy(rig);
}

// ----- a running stream ------------------------------------------------------------------

#[test]
fn running_stream_framework_stops_before_remove() {
    for how in BOTH {
        let rig = Rig::new(Style::Framework, FAST);
        let f = streaming(&rig);
        // Frames flow, and one buffer is with the application.
        let b = dqbuf(&f).unwrap();
        assert_eq!(b.sequence, 0);
        unplug(&rig, how);
        let st = rig.v.stats();
        assert_eq!(st.stream_stops, 1);
        if how == Unplug::Sysfs {
            assert_eq!(rig.v.hardware().peek(reg_stream(1)), 0);
        }
        assert_eq!(qbuf(&f, b.index), Err(Errno::ENODEV));
        drop(f);
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn running_stream_legacy_streamer_outlives_the_driver() {
    let rig = Rig::new(Style::Legacy, FAST);
    let f = streaming(&rig);
    assert_eq!(dqbuf(&f).unwrap().sequence, 0);
    unplug(&rig, Unplug::Sysfs);
    // Nobody stopped the streamer: each period it runs on freed state and
    // reads the removed engine.
    let from_streamer = |k: ReportKind| {
        rig.reports()
            .iter()
            .any(|r| r.kind == k && r.message.contains("thread `ktimer`"))
    };
    wait_until(
        "the streamer touches freed state and removed hardware",
        || from_streamer(ReportKind::UseAfterFree) && from_streamer(ReportKind::HwAfterRemove),
    );
    drop(f);
    let leaks = finish_legacy(rig);
    assert!(leaks.contains(&"vimc_device"), "{leaks:?}");
}

// ----- module unload -----------------------------------------------------------------------

#[test]
fn module_unload_is_refused_while_anything_is_open() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style, NEVER);
        let f = streaming(&rig);
        let f2 = f.dup();
        let t = spawn("dq", move || dqbuf(&f2));
        wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
        // A blocked DQBUF: rmmod fails, nothing is disturbed.
        assert_eq!(rig.v.unload(), Err(Errno::EBUSY));
        assert!(rig.v.is_bound());
        assert!(is_blocked(&rig.k, "dq", "VIDIOC_DQBUF"));
        // STREAMOFF wakes the sleeper (not streaming: EINVAL).
        streamoff(&f).unwrap();
        assert_eq!(t.join().unwrap().unwrap_err(), Errno::EINVAL);
        // Held mappings also pin the module (the file stays open).
        let m = map(&f, 0, 32 * 32);
        drop(f);
        assert_eq!(rig.v.unload(), Err(Errno::EBUSY));
        drop(m);
        // An open media node and an open subdev node too.
        for path in [rig.nodes().media, rig.path("Scaler")] {
            let f = rig.k.open(&path, devlife_model::OpenFlags::RDWR).unwrap();
            assert_eq!(rig.v.unload(), Err(Errno::EBUSY), "{path}");
            drop(f);
        }
        // Everything closed: the module goes, taking driver and device.
        rig.v.unload().unwrap();
        assert!(!rig.v.is_bound());
        assert!(rig.v.nodes().is_none());
        assert!(rig.k.nodes().is_empty());
        assert!(rig.k.module(rig.v.driver_name()).is_none());
        rig.assert_silent();
        rig.finish();
    }
}
