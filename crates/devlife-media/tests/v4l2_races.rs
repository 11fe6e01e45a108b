//! The races of docs/rules.md (R1-R7) that concern V4L2, as framework-style
//! tests, each with its legacy counterpart showing that the checker the test
//! relies on fires when the pre-fix rules are used (the drivers crate has the
//! full legacy twins).
//!
//! * R3: an ioctl in flight during unbind; `release`/`subdev_close` after
//!   unbind touching driver memory; `release` stopping the stream after
//!   `remove()`.
//! * R4: blocking DQBUF during unplug; an interrupt completing a buffer
//!   after unbind.
//! * Stress: random file operations on every node against repeated
//!   unbind/bind, with all checkers on.

use devlife::check::ReportKind;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::PLANE_INDEX_SHIFT;
use devlife_model::{Errno, MmapRequest, OpenFlags, PollMask};
use devlife_testkit::testcam::*;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn s_fmt_320(f: &devlife_model::File) -> Result<V4l2PixFormat, Errno> {
    set_fmt(
        f,
        VIDIOC_S_FMT,
        &V4l2PixFormat {
            width: 320,
            height: 240,
            pixelformat: pix_fmt::RGB24,
            ..Default::default()
        },
    )
}

/// R3, framework: the unbind waits for the ioctl in flight (held inside the
/// driver's `S_FMT`, before it programs the hardware).
#[test]
fn r3_unbind_waits_for_an_ioctl_in_flight() {
    let rig = Arc::new(Rig::new(Style::Framework));
    let hw = rig.dev.hardware().clone();
    let f = rig.open_video();
    let latch = &rig.counters.s_fmt_latch;
    latch.arm();
    let f2 = f.dup();
    let t = spawn("sfmt", move || s_fmt_320(&f2));
    latch.wait_entered();
    let r2 = rig.clone();
    let u = spawn("unbinder", move || r2.unbind());
    wait_blocked(&rig.k, "unbinder", "unplug");
    // The unbind is held by the ioctl: remove() has not run.
    assert_eq!(rig.counters.removes.load(Ordering::SeqCst), 0);
    latch.release();
    assert_eq!(t.join().unwrap().unwrap().width, 320);
    u.join().unwrap().unwrap();
    assert_eq!(rig.counters.removes.load(Ordering::SeqCst), 1);
    assert_eq!(hw.peek(REG_FMT), 320, "the write happened before remove");
    assert!(rig.reports().is_empty(), "{:#?}", rig.reports());
}

/// R3/R4, framework: an ioctl in flight holds the queue lock while the
/// stream runs, so the unplug's cancel hook cannot stop the stream without
/// waiting for it (it must not wait); the stream is then stopped by the
/// driver's `unregister()` in `remove`, after the drain — still before
/// `remove` returns.
#[test]
fn stream_is_stopped_before_remove_returns_even_with_an_ioctl_in_flight() {
    let rig = Arc::new(Rig::new(Style::Framework));
    let f = rig.open_video();
    start_stream(&f, 3).unwrap();
    assert_eq!(rig.produce(1), 1);
    let b = dqbuf(&f).unwrap();
    let latch = &rig.counters.buf_queued_latch;
    latch.arm();
    let f2 = f.dup();
    let t = spawn("qbuf", move || qbuf(&f2, b.index));
    latch.wait_entered();
    let r2 = rig.clone();
    let u = spawn("unbinder", move || r2.unbind());
    wait_blocked(&rig.k, "unbinder", "unplug");
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 0);
    latch.release();
    assert!(t.join().unwrap().is_ok());
    u.join().unwrap().unwrap();
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.counters.stop_after_remove.load(Ordering::SeqCst), 0);
    let accesses = rig.dev.hardware().accesses();
    drop(f);
    assert_eq!(rig.dev.hardware().accesses(), accesses);
    assert!(rig.reports().is_empty(), "{:#?}", rig.reports());
}

/// R3, legacy: the registered flag was checked at entry; the unbind does not
/// wait; the ioctl then writes the hardware after `remove()` and touches the
/// devm-freed state. Both checkers fire.
#[test]
fn r3_legacy_ioctl_in_flight_touches_hardware_and_memory_after_remove() {
    let rig = Arc::new(Rig::new(Style::Legacy));
    let f = rig.open_video();
    let latch = &rig.counters.s_fmt_latch;
    latch.arm();
    let f2 = f.dup();
    let t = spawn("sfmt", move || s_fmt_320(&f2));
    latch.wait_entered();
    rig.unbind().unwrap(); // does not wait
    assert_eq!(rig.counters.removes.load(Ordering::SeqCst), 1);
    latch.release();
    let _ = t.join().unwrap();
    assert!(
        rig.report_count(ReportKind::HwAfterRemove) >= 1,
        "{:#?}",
        rig.reports()
    );
    assert!(
        rig.report_count(ReportKind::UseAfterFree) >= 1,
        "{:#?}",
        rig.reports()
    );
}

/// R3, legacy: `release` after unbind calls the driver's `stop_streaming`
/// (hardware after remove) and its close (use after free), and
/// `subdev_close` touches freed driver memory. The framework twin of this
/// test is `release_after_unplug_does_no_io` in `v4l2_unplug.rs`.
#[test]
fn r3_legacy_release_after_unbind_fires_the_checkers() {
    let rig = Rig::new(Style::Legacy);
    let f = rig.open_video();
    let s = rig.open_subdev();
    start_stream(&f, 2).unwrap();
    rig.unbind().unwrap();
    // The legacy unregister did not stop the stream.
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 0);
    drop(f);
    assert_eq!(rig.counters.stop_after_remove.load(Ordering::SeqCst), 1);
    assert!(rig.report_count(ReportKind::HwAfterRemove) >= 1);
    let uaf = rig.report_count(ReportKind::UseAfterFree);
    assert!(uaf >= 1);
    drop(s);
    assert!(
        rig.report_count(ReportKind::UseAfterFree) > uaf,
        "subdev_close UAF"
    );
}

/// R4, framework: a DQBUF sleeper is woken by the unplug (ENODEV) before the
/// drain, so the unbind completes; a legacy sleeper is stranded until a
/// signal, as in the kernel without `vb2_video_unregister_device`.
#[test]
fn r4_dqbuf_sleeper_at_unplug_framework_and_legacy() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style);
        let f = rig.open_video();
        start_stream(&f, 2).unwrap();
        let f2 = f.dup();
        let t = spawn("dq", move || dqbuf(&f2));
        wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
        rig.unbind().unwrap();
        match style {
            Style::Framework => {
                assert_eq!(t.join().unwrap().unwrap_err(), Errno::ENODEV);
            }
            Style::Legacy => {
                // Still asleep after the unbind finished.
                assert!(rig.k.activity().blocked().iter().any(|b| b.thread == "dq"));
                assert!(rig.k.activity().signal("dq"));
                assert_eq!(t.join().unwrap().unwrap_err(), Errno::EINTR);
            }
        }
    }
}

/// R4, framework: the "IRQ handler" holds a buffer across the unbind, DMAs
/// into it afterwards and completes it: the completion is refused as stale,
/// the memory is still the buffer's (the application's mapping sees it), and
/// nothing is reported.
#[test]
fn r4_late_completion_after_unbind_is_refused_and_memory_stays() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 2).unwrap();
    let q = rig.data_queue().unwrap();
    let mut dma = q.next_buffer().unwrap();
    let idx = dma.index();
    let map = f
        .mmap(MmapRequest {
            offset: u64::from(idx) << PLANE_INDEX_SHIFT,
            len: 4096,
            write: false,
        })
        .unwrap();
    rig.unbind().unwrap();
    drop(f);
    dma.write(0, b"late DMA").unwrap();
    dma.set_bytesused(8);
    assert!(
        dma.done().is_err(),
        "a completion after unplug must be stale"
    );
    assert!(q.next_buffer().is_none());
    let mut b = [0u8; 8];
    map.read(0, &mut b).unwrap();
    assert_eq!(&b, b"late DMA");
    drop(map);
    assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 0);
    assert!(rig.reports().is_empty());
}

/// Random file operations by several threads on the video and subdev nodes
/// while the main thread unbinds and rebinds the device: no checker report,
/// only the errnos of a device coming and going, no hang, nothing leaked.
#[test]
fn stress_file_operations_against_unbind_and_bind() {
    let rig = Arc::new(Rig::new(Style::Framework));
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (rig, stop, ops) = (rig.clone(), stop.clone(), ops.clone());
            spawn(&format!("worker{w}"), move || {
                let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed + w);
                let allowed = [
                    Errno::ENOENT,
                    Errno::ENODEV,
                    Errno::EBUSY,
                    Errno::EINVAL,
                    Errno::EAGAIN,
                    Errno::EIO,
                ];
                let mut files = Vec::new();
                let mut maps = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    ops.fetch_add(1, Ordering::Relaxed);
                    let r: Result<(), Errno> = match rng.random_range(0..14) {
                        0 => rig.k.open("video0", OpenFlags::RDWR).map(|f| files.push(f)),
                        1 => rig
                            .k
                            .open("video0", OpenFlags::RDWR.nonblocking())
                            .map(|f| files.push(f)),
                        2 => rig
                            .k
                            .open("v4l-subdev0", OpenFlags::RDWR)
                            .map(|f| files.push(f)),
                        3 => {
                            if !files.is_empty() {
                                let i = rng.random_range(0..files.len());
                                files.swap_remove(i);
                            }
                            maps.clear();
                            Ok(())
                        }
                        op => {
                            let Some(f) = files.last() else { continue };
                            let video = f.node().kind() == devlife_model::chrdev::NodeKind::Video;
                            match (video, op) {
                                (true, 4) => reqbufs(f, rng.random_range(0..4)).map(|_| ()),
                                (true, 5) => qbuf(f, rng.random_range(0..3)).map(|_| ()),
                                (true, 6) => dqbuf(f).map(|_| ()),
                                (true, 7) => streamon(f),
                                (true, 8) => streamoff(f),
                                (true, 9) => f
                                    .mmap(MmapRequest {
                                        offset: u64::from(rng.random_range(0..3u32))
                                            << PLANE_INDEX_SHIFT,
                                        len: 4096,
                                        write: true,
                                    })
                                    .map(|m| {
                                        let _ = m.write(0, b"x");
                                        maps.push(m);
                                    }),
                                (true, 10) => f.read(&mut [0u8; 4096]).map(|_| ()),
                                (_, 11) => f
                                    .poll(PollMask::IN | PollMask::PRI, Some(Duration::ZERO))
                                    .map(|_| ()),
                                (false, _) => subdev_fmt(
                                    f,
                                    VIDIOC_SUBDEV_S_FMT,
                                    rng.random_range(0..2),
                                    0,
                                    sensor_default(),
                                )
                                .map(|_| ()),
                                _ => querycap(f).map(|_| ()),
                            }
                        }
                    };
                    if let Err(e) = r {
                        assert!(allowed.contains(&e), "unexpected {e:?}");
                    }
                }
            })
        })
        .collect();
    let mut producer_rng = rand::rngs::SmallRng::seed_from_u64(7);
    for _ in 0..30 {
        for _ in 0..producer_rng.random_range(0..20) {
            rig.produce(1);
            std::thread::yield_now();
        }
        if producer_rng.random_bool(0.5) {
            rig.unbind().unwrap();
        } else {
            rig.k.release_driver(&rig.dev).unwrap();
        }
        std::thread::yield_now();
        rig.bind().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    // The last unbind wakes any blocking DQBUF/read/poll still asleep.
    rig.unbind().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    assert!(ops.load(Ordering::Relaxed) > 0);
    assert!(rig.reports().is_empty(), "{:#?}", rig.reports());
    let l = rig.k.monitor().ledger();
    for t in [
        "video_device",
        "v4l2_subdev",
        "v4l2_device",
        "vb2_buffer_mem",
        "file",
        "mapping",
        "media_entity",
    ] {
        assert_eq!(l.live(t), 0, "{t} leaked");
    }
    assert_eq!(rig.counters.video_release.load(Ordering::SeqCst), 31);
    assert_eq!(rig.counters.stop_after_remove.load(Ordering::SeqCst), 0);
}
