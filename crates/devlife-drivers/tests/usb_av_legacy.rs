//! usb-av legacy twins: each pre-fix bug is played out, the checker that
//! must fire does; the same scenario on the framework drivers stays silent.

use devlife::check::ReportKind;
use devlife_drivers::usb_av::pcm::{PcmHwParams, client};
use devlife_drivers::{Mistake, Style};
use devlife_media::kinds;
use devlife_media::mc::{MediaDeviceState, preempt};
use devlife_media::uapi::subdev::V4L2_SUBDEV_FORMAT_ACTIVE;
use devlife_model::Errno;
use devlife_testkit::usb_av::*;
use std::sync::mpsc;

const VIDEO_STATE: &str = "usbav_video(1-1)";
const AUDIO_STATE: &str = "usbav_audio(1-1)";
const MDEV: &str = "media_device(devlife USB-AV)";

fn uaf(rig: &Rig, object: &str) -> usize {
    reports_on(&rig.k, ReportKind::UseAfterFree, object)
}

fn hw_after_remove(rig: &Rig) -> usize {
    rig.k.monitor().reports().count(ReportKind::HwAfterRemove)
}

/// Tears a legacy rig down (its leftovers are not checked).
fn finish_legacy(rig: Rig) {
    rig.k.shutdown();
}

/// The video driver leaves its `enable_source` hook behind: the audio
/// driver calls into freed video driver memory and its dead hardware handle.
#[test]
fn hooks_left_installed_call_into_the_departed_video_driver() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        rig.unbind_video();
        let a = rig.open_pcm();
        let r = client::hw_params(&a, PcmHwParams::DEFAULT);
        drop(a);
        match style {
            Style::Framework => {
                assert!(r.is_ok());
                assert_eq!(rig.av.counters().source_enables, 0, "no hook left");
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                assert_eq!(rig.av.counters().source_enables, 1, "the stale hook ran");
                assert!(uaf(&rig, VIDEO_STATE) >= 1, "{:#?}", reports(&rig.k));
                assert!(hw_after_remove(&rig) >= 1);
                finish_legacy(rig);
            }
        }
    }
}

/// The video driver leaves its entity notify behind: the next audio entity
/// registered runs it on freed memory.
#[test]
fn entity_notify_left_installed_runs_on_freed_memory() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        // The media device lives on (audio holds it) across a video rebind.
        rig.unbind_video();
        rig.bind_video();
        // The audio entity registers again.
        rig.unbind_audio();
        rig.bind_audio();
        assert!(
            rig.av
                .topology(&rig.udev)
                .unwrap()
                .contains("-> \"USB-AV Audio Capture\":0 [ENABLED]")
        );
        match style {
            Style::Framework => {
                // At the first probe and at the audio rebind, by the live driver.
                assert_eq!(rig.av.counters().notifies, 2);
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                // The stale notify also ran for the new decoder and video
                // entities, each time in freed memory.
                assert_eq!(rig.av.counters().notifies, 5);
                assert_eq!(uaf(&rig, VIDEO_STATE), 3, "{:#?}", reports(&rig.k));
                finish_legacy(rig);
            }
        }
    }
}

/// R6: the mainline allocator frees the media device with the last driver,
/// while a media ioctl that passed the node's check is still running.
#[test]
fn media_device_freed_under_an_open_node() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let mf = rig.open_media();
        let weak = rig.av.media_device(&rig.udev).unwrap().downgrade();
        let (at_tx, at_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let f2 = mf.dup();
        let ioctl = spawn("mioctl", move || {
            preempt::with_hook(
                move |p| {
                    if p == preempt::MEDIA_IOCTL {
                        let _ = at_tx.send(());
                        let _ = go_rx.recv();
                    }
                },
                || media_info(&f2),
            )
        });
        at_rx.recv().unwrap();
        let (k2, u2) = (rig.k.clone(), rig.udev.clone());
        let unplug = spawn("unplug", move || k2.hot_unplug(&u2));
        match style {
            Style::Framework => {
                // The media node's drain waits for the ioctl.
                assert!(rig.k.activity().wait_for(PATIENCE, |b| {
                    b.iter().any(|x| x.object == "media0" && x.op == "unplug")
                }));
                go_tx.send(()).unwrap();
                assert!(ioctl.join().unwrap().is_ok());
                unplug.join().unwrap().unwrap();
                drop(mf);
                assert_eq!(weak.state(), MediaDeviceState::Released);
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                // Nothing waits: the device is gone and freed, the fd open.
                unplug.join().unwrap().unwrap();
                assert_eq!(weak.state(), MediaDeviceState::Released);
                go_tx.send(()).unwrap();
                let _ = ioctl.join().unwrap();
                assert!(uaf(&rig, MDEV) >= 1, "{:#?}", reports(&rig.k));
                // New calls on the stale fd fail at the entry check.
                assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
                drop(mf);
                finish_legacy(rig);
            }
        }
    }
}

/// R4: a read sleeping in the PCM node is not woken by the legacy unbind,
/// which does not wait for the transfer in flight either; when the transfer
/// completes, the URB thread and the reader touch freed memory and the
/// transfer itself hit the device after `remove()`.
#[test]
fn audio_read_in_flight_across_a_legacy_unbind() {
    let rig = Rig::new(Style::Legacy);
    let stall = rig.udev.hardware().stall_thread(&rig.audio_urb());
    let a = rig.open_pcm();
    let a2 = a.dup();
    let reader = spawn("areader", move || a2.read(&mut [0u8; 256]));
    wait_blocked(&rig.k, "areader", "read");
    assert!(rig.udev.hardware().wait_stalled(1, PATIENCE));
    rig.unbind_audio();
    // Unbind returned with the transfer still in the hardware and the
    // reader still asleep.
    assert_eq!(rig.udev.hardware().stalled(), 1);
    assert!(is_blocked(&rig.k, "areader", "read"));
    assert_eq!(uaf(&rig, AUDIO_STATE), 0);
    // The hang checker names the sleeper left in the unplugged node.
    assert_eq!(rig.k.check_hangs(), 1);
    assert_eq!(rig.k.monitor().reports().count(ReportKind::Hang), 1);
    drop(stall);
    let _ = reader.join().unwrap();
    assert!(uaf(&rig, AUDIO_STATE) >= 1, "{:#?}", reports(&rig.k));
    assert!(hw_after_remove(&rig) >= 1);
    // Close: the pre-fix release stops the stream in freed memory.
    let before = uaf(&rig, AUDIO_STATE);
    drop(a);
    assert!(uaf(&rig, AUDIO_STATE) > before);
    finish_legacy(rig);
}

/// R4 + R3: a DQBUF on an empty queue sleeps through the legacy unbind
/// (only a signal gets it out), and the close afterwards stops the stream
/// through freed driver memory and dead hardware.
#[test]
fn dqbuf_sleeps_through_a_legacy_unbind_and_close_uses_freed_memory() {
    let rig = Rig::new(Style::Legacy);
    let v = rig.open_video();
    reqbufs(&v, 2).unwrap();
    streamon(&v).unwrap();
    let v2 = v.dup();
    let dq = spawn("dq", move || dqbuf(&v2));
    wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
    rig.unbind_video();
    assert!(
        is_blocked(&rig.k, "dq", "VIDIOC_DQBUF"),
        "the legacy unbind does not wake the sleeper"
    );
    assert_eq!(rig.k.check_hangs(), 1);
    assert!(rig.k.activity().signal("dq"));
    assert_eq!(dq.join().unwrap(), Err(Errno::EINTR));
    assert_eq!(uaf(&rig, VIDEO_STATE), 0);
    drop(v);
    assert!(uaf(&rig, VIDEO_STATE) >= 1, "{:#?}", reports(&rig.k));
    assert!(hw_after_remove(&rig) >= 1);
    assert_eq!(rig.av.counters().video_stops_after_remove, 1);
    finish_legacy(rig);
}

/// The legacy unbind leaves the video URB thread running: a transfer in
/// flight completes after `remove()`, in freed memory.
#[test]
fn video_urb_in_flight_across_a_legacy_unbind() {
    let rig = Rig::new(Style::Legacy);
    let v = rig.open_video();
    let stall = rig.udev.hardware().stall_thread(&rig.video_urb());
    start_stream(&v, 2).unwrap();
    assert!(rig.udev.hardware().wait_stalled(1, PATIENCE));
    rig.unbind_video();
    assert_eq!(hw_after_remove(&rig), 0);
    drop(stall);
    // Close joins the URB thread (legacy release stops the stream).
    drop(v);
    assert!(hw_after_remove(&rig) >= 1, "{:#?}", reports(&rig.k));
    assert!(uaf(&rig, VIDEO_STATE) >= 1);
    finish_legacy(rig);
}

/// R3: `subdev_close` after unbind touches the freed decoder state.
#[test]
fn subdev_close_after_unbind() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let sd = rig.open_subdev();
        rig.unbind_video();
        assert_eq!(
            subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 1).unwrap_err(),
            Errno::ENODEV
        );
        drop(sd);
        match style {
            Style::Framework => {
                assert_eq!(released(&rig.k, kinds::V4L2_SUBDEV), 1);
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                assert_eq!(uaf(&rig, VIDEO_STATE), 1, "{:#?}", reports(&rig.k));
                finish_legacy(rig);
            }
        }
    }
}

/// Both styles registered on one kernel: the style is chosen at bind time.
#[test]
fn style_selected_at_bind_time() {
    let k = devlife_model::Kernel::new();
    let fw = devlife_drivers::usb_av::register(&k, Style::Framework).unwrap();
    let lg = devlife_drivers::usb_av::register(&k, Style::Legacy).unwrap();
    let udev = fw.plug("1-1").unwrap();
    let (vi, ai) = ("1-1:1.0", "1-1:1.1");
    assert_eq!(
        k.device(vi).unwrap().driver_name().as_deref(),
        Some("usbav-video")
    );
    k.sysfs_unbind(fw.video_driver(), vi).unwrap();
    k.sysfs_unbind(fw.audio_driver(), ai).unwrap();
    k.sysfs_bind(lg.video_driver(), vi).unwrap();
    k.sysfs_bind(lg.audio_driver(), ai).unwrap();
    assert_eq!(
        k.device(ai).unwrap().driver_name().as_deref(),
        Some("usbav-audio-legacy")
    );
    // The legacy pair shares the legacy allocator's media device.
    assert!(fw.media_device(&udev).is_none());
    let t = lg.topology(&udev).unwrap();
    // `media_device_info.driver` is a char[16].
    assert!(t.contains("driver          usbav-video-leg\n"), "{t}");
    assert!(t.contains("-> \"USB-AV Audio Capture\":0 [ENABLED]"));
    let v = k
        .open(
            lg.nodes(&udev).video.as_deref().unwrap(),
            devlife_model::OpenFlags::RDWR,
        )
        .unwrap();
    start_stream(&v, 2).unwrap();
    assert_eq!(dqbuf(&v).unwrap().bytesused, 720 * 480 * 2);
    streamoff(&v).unwrap();
    drop(v);
    // Nothing was used after a free so far.
    no_reports(&k);
    k.shutdown();
}

const PRIV: &str = "usbav private structure";

/// Driver-private mistakes: the framework drivers refuse to arm them (they
/// have no private count or lock to misuse); in the video twin an extra put
/// or a count reset at disconnect frees the private structure under the
/// v4l2 device, whose release at the last close of the capture node reads
/// it and frees it again. Without a mistake the same run is silent on it.
#[test]
fn mistakes_arm_only_in_the_twin_where_the_checker_catches_them() {
    let rig = Rig::new(Style::Framework);
    for m in Mistake::ALL {
        assert_eq!(rig.av.arm_mistake(m), Err(Errno::ENOTSUP), "{m:?}");
    }
    rig.finish();
    for m in [None, Some(Mistake::ExtraPut), Some(Mistake::RefcountReset)] {
        let rig = Rig::new(Style::Legacy);
        let v = rig.open_video();
        if let Some(m) = m {
            rig.av.arm_mistake(m).unwrap();
        }
        rig.av.unplug(&rig.udev).unwrap();
        // The v4l2 device still holds its reference: nothing read it yet.
        assert_eq!(uaf(&rig, PRIV), 0, "{m:?}: {:#?}", reports(&rig.k));
        drop(v);
        let double = reports_on(&rig.k, ReportKind::DoubleFree, PRIV);
        match m {
            None => assert_eq!((uaf(&rig, PRIV), double), (0, 0), "{:#?}", reports(&rig.k)),
            Some(m) => {
                assert!(uaf(&rig, PRIV) >= 1, "{m:?}: {:#?}", reports(&rig.k));
                assert!(double >= 1, "{m:?}: {:#?}", reports(&rig.k));
            }
        }
        finish_legacy(rig);
    }
}

/// `lock-across-unregister` in the video twin: its disconnect holds
/// `usbav.lock`, which the capture node's open took inside the node's call,
/// while it unregisters the node: the lock-order checker sees both orders.
#[test]
fn a_driver_lock_held_across_unregister_is_a_lock_order_report() {
    for armed in [false, true] {
        let rig = Rig::new(Style::Legacy);
        drop(rig.open_video());
        if armed {
            rig.av.arm_mistake(Mistake::LockAcrossUnregister).unwrap();
        }
        rig.av.unplug(&rig.udev).unwrap();
        let n = rig.k.monitor().reports().count(ReportKind::LockOrder);
        assert_eq!(n > 0, armed, "{:#?}", reports(&rig.k));
        finish_legacy(rig);
    }
}
