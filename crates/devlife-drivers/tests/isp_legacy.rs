//! isp legacy twin: each pre-fix bug is played out, the checker that must
//! fire does; the same scenario on the framework driver stays silent.

use devlife::check::ReportKind;
use devlife_drivers::Style;
use devlife_drivers::isp::RESIZER_NAME;
use devlife_media::mc::preempt;
use devlife_media::uapi::subdev::V4L2_SUBDEV_FORMAT_ACTIVE;
use devlife_model::{Errno, UnbindPhase};
use devlife_testkit::isp::*;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::mpsc;

const STATE: &str = "isp(devlife-isp.0)";
const MDEV: &str = "media_device(devlife ISP)";

fn count(rig: &Rig, kind: ReportKind) -> usize {
    rig.k.monitor().reports().count(kind)
}

/// `devm_request_irq` before `devm_kzalloc`: at unbind, devm frees the state
/// first; an interrupt before the IRQ is freed runs on freed data.
#[test]
fn interrupt_between_the_devm_frees() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let v = rig.open_video();
        start_stream(&v, 2).unwrap();
        assert!(rig.frame());
        let line = rig.isp.irq_line(&rig.dev).unwrap();
        let phases = Arc::new(Mutex::new(Vec::new()));
        let (p2, hw, l2) = (phases.clone(), rig.dev.hardware().clone(), line.clone());
        // An interrupt at every step of the unbind.
        rig.k.set_unbind_hook(move |_, phase| {
            hw.raise_irq();
            assert!(l2.wait_idle(PATIENCE));
            p2.lock().push(phase);
        });
        rig.unbind();
        rig.k.clear_unbind_hook();
        match style {
            Style::Framework => {
                assert!(
                    !phases
                        .lock()
                        .iter()
                        .any(|p| matches!(p, UnbindPhase::DevmAction(_)))
                );
                assert_eq!(line.stats().after_release, 0);
                drop(v);
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                // devm ran kfree(media_dev), kfree(state), then free_irq.
                assert!(phases.lock().contains(&UnbindPhase::DevmAction(2)));
                // Every interrupt from remove() until devm's free_irq ran the
                // handler for a removed binding; the last of them also on
                // freed data.
                let after = line.stats().after_release;
                assert!(after >= 2, "{after}");
                assert_eq!(count(&rig, ReportKind::IrqAfterRelease) as u64, after);
                assert!(reports_on(&rig.k, ReportKind::UseAfterFree, STATE) >= 1);
                // The handler also read the registers after remove().
                assert!(count(&rig, ReportKind::HwAfterRemove) >= 1);
                drop(v);
                rig.k.shutdown();
            }
        }
    }
}

/// R4 + R3: a DQBUF on an empty queue sleeps through the legacy unbind;
/// closing afterwards stops the stream through freed state and dead
/// registers.
#[test]
fn dqbuf_sleeps_through_unbind_and_close_uses_freed_memory() {
    let rig = Rig::new(Style::Legacy);
    let v = rig.open_video();
    reqbufs(&v, 2).unwrap();
    streamon(&v).unwrap();
    let v2 = v.dup();
    let dq = spawn("dq", move || dqbuf(&v2));
    wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
    rig.unbind();
    assert!(
        is_blocked(&rig.k, "dq", "VIDIOC_DQBUF"),
        "the legacy unbind does not wake the sleeper"
    );
    assert_eq!(rig.k.check_hangs(), 1);
    assert!(rig.k.activity().signal("dq"));
    assert_eq!(dq.join().unwrap(), Err(Errno::EINTR));
    assert_eq!(reports_on(&rig.k, ReportKind::UseAfterFree, STATE), 0);
    drop(v);
    assert!(reports_on(&rig.k, ReportKind::UseAfterFree, STATE) >= 1);
    assert!(count(&rig, ReportKind::HwAfterRemove) >= 1);
    assert_eq!(rig.isp.counters().stops_after_remove, 1);
    rig.k.shutdown();
}

/// R1: the media device, embedded in the devm-freed driver state, is freed
/// at unbind while a media ioctl that passed the node's check still runs.
#[test]
fn media_device_freed_under_an_open_node() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let mf = rig.open_media();
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
        let (k2, drv, dev) = (
            rig.k.clone(),
            rig.isp.driver().to_owned(),
            rig.dev.name().to_owned(),
        );
        let unbind = spawn("unbind", move || k2.sysfs_unbind(&drv, &dev));
        match style {
            Style::Framework => {
                // The binding unplugs the media node and waits for the ioctl.
                assert!(rig.k.activity().wait_for(PATIENCE, |b| {
                    b.iter().any(|x| x.object == "media0" && x.op == "unplug")
                }));
                assert!(!unbind.is_finished());
                go_tx.send(()).unwrap();
                assert!(ioctl.join().unwrap().is_ok());
                unbind.join().unwrap().unwrap();
                drop(mf);
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                unbind.join().unwrap().unwrap();
                go_tx.send(()).unwrap();
                let _ = ioctl.join().unwrap();
                assert!(
                    reports_on(&rig.k, ReportKind::UseAfterFree, MDEV) >= 1,
                    "{:#?}",
                    reports(&rig.k)
                );
                assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
                drop(mf);
                rig.k.shutdown();
            }
        }
    }
}

/// R3: `subdev_close` after unbind touches the freed state.
#[test]
fn subdev_close_after_unbind() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let sd = rig.open_subdev(RESIZER_NAME);
        rig.unbind();
        assert_eq!(
            subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 0).unwrap_err(),
            Errno::ENODEV
        );
        drop(sd);
        match style {
            Style::Framework => {
                no_reports(&rig.k);
                rig.finish();
            }
            Style::Legacy => {
                assert_eq!(reports_on(&rig.k, ReportKind::UseAfterFree, STATE), 1);
                rig.k.shutdown();
            }
        }
    }
}

/// Both styles registered on one kernel: the style is chosen at bind time.
#[test]
fn style_selected_at_bind_time() {
    use devlife_drivers::isp::{self, IspOptions};
    let k = devlife_model::Kernel::new();
    let fw = isp::register_with(&k, Style::Framework, IspOptions::manual()).unwrap();
    let lg = isp::register_with(&k, Style::Legacy, IspOptions::manual()).unwrap();
    let dev = fw.plug(0).unwrap();
    assert_eq!(dev.driver_name().as_deref(), Some("devlife-isp"));
    k.sysfs_unbind(fw.driver(), dev.name()).unwrap();
    k.sysfs_bind(lg.driver(), dev.name()).unwrap();
    assert_eq!(dev.driver_name().as_deref(), Some("devlife-isp-legacy"));
    let v = k
        .open(
            lg.nodes(&dev).video.as_deref().unwrap(),
            devlife_model::OpenFlags::RDWR,
        )
        .unwrap();
    start_stream(&v, 2).unwrap();
    // The device model came with the plug (through the other handle).
    assert!(fw.vsync(&dev));
    assert!(fw.wait_irq_idle(&dev, PATIENCE));
    assert_eq!(dqbuf(&v).unwrap().bytesused, 640 * 480 * 2);
    streamoff(&v).unwrap();
    drop(v);
    assert_eq!(lg.counters().frames, 1);
    no_reports(&k);
    k.shutdown();
}
