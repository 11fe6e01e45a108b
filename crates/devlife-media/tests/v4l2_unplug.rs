//! Lifetimes across unbind and hot-unplug (framework style): sleepers woken
//! with ENODEV, poll ERR|HUP|PRI, mmap'ed buffers outliving the device, read
//! I/O, release after unplug doing no I/O, subdev close after unbind, release
//! callbacks and their order, memory flat across bind/unbind cycles.

use devlife_media::uapi::subdev::*;
use devlife_media::v4l2::{PLANE_INDEX_SHIFT, SubdevConfig, SubdevOps};
use devlife_model::{
    BusKind, DeviceSpec, Driver, Errno, KResult, Kernel, MmapRequest, OpenFlags, PollMask,
    ProbeCtx, RemoveCtx,
};
use devlife_testkit::testcam::*;
use std::sync::atomic::Ordering;

fn no_reports(rig: &Rig) {
    let r = rig.reports();
    assert!(r.is_empty(), "checker reports: {:#?}", r);
}

fn map(f: &devlife_model::File, i: u32) -> devlife_model::Mapping {
    f.mmap(MmapRequest {
        offset: u64::from(i) << PLANE_INDEX_SHIFT,
        len: 921_600,
        write: true,
    })
    .unwrap()
}

#[test]
fn blocking_dqbuf_is_woken_by_unbind_with_enodev() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 2).unwrap();
    let f2 = f.dup();
    let t = spawn("dq", move || dqbuf(&f2));
    wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
    rig.unbind().unwrap();
    assert_eq!(t.join().unwrap().unwrap_err(), Errno::ENODEV);
    // The stream was stopped once, by the unplug, before remove() returned.
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.counters.stop_after_remove.load(Ordering::SeqCst), 0);
    assert_eq!(dqbuf(&f), Err(Errno::ENODEV));
    assert_eq!(querycap(&f).unwrap_err(), Errno::ENODEV);
    drop(f);
    assert_eq!(rig.counters.video_release.load(Ordering::SeqCst), 1);
    no_reports(&rig);
}

#[test]
fn blocking_dqbuf_is_woken_by_hot_unplug() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 2).unwrap();
    let f2 = f.dup();
    let t = spawn("dq-hot", move || dqbuf(&f2));
    wait_blocked(&rig.k, "dq-hot", "VIDIOC_DQBUF");
    rig.k.hot_unplug(&rig.dev).unwrap();
    assert_eq!(t.join().unwrap().unwrap_err(), Errno::ENODEV);
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    no_reports(&rig);
}

#[test]
fn blocking_read_is_woken_by_unbind_and_read_io_works_before() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    // read() starts the emulator on first use; frames come through read.
    let f2 = f.dup();
    let t = spawn("reader", move || {
        let mut buf = vec![0u8; 1000];
        let n = f2.read(&mut buf)?;
        Ok::<_, Errno>((n, u32::from_le_bytes(buf[..4].try_into().unwrap())))
    });
    wait_blocked(&rig.k, "reader", "read");
    assert_eq!(rig.produce(1), 1);
    assert_eq!(t.join().unwrap().unwrap(), (1000, 0));
    // The rest of frame 0, in pieces, then frame 1.
    let mut total = 1000;
    let mut buf = vec![0u8; 300_000];
    while total < 921_600 {
        total += f.read(&mut buf).unwrap();
    }
    assert_eq!(total, 921_600);
    // The streaming API is busy while read I/O is active.
    assert_eq!(reqbufs(&f, 2), Err(Errno::EBUSY));
    let other = rig.open_video();
    assert_eq!(other.read(&mut buf), Err(Errno::EBUSY));
    assert_eq!(rig.produce(1), 1);
    let n = f.read(&mut buf).unwrap();
    assert_eq!(
        (n, u32::from_le_bytes(buf[..4].try_into().unwrap())),
        (300_000, 1)
    );
    // Now block again and unbind.
    let mut tail = 921_600 - 300_000;
    while tail > 0 {
        tail -= f.read(&mut buf[..tail.min(300_000)]).unwrap();
    }
    let f3 = f.dup();
    let t = spawn("reader2", move || f3.read(&mut [0u8; 64]));
    wait_blocked(&rig.k, "reader2", "read");
    rig.unbind().unwrap();
    assert_eq!(t.join().unwrap(), Err(Errno::ENODEV));
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    no_reports(&rig);
}

#[test]
fn poll_reports_err_hup_pri_after_unplug_and_wakes_sleepers() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 2).unwrap();
    assert_eq!(
        f.poll(PollMask::IN, Some(std::time::Duration::ZERO))
            .unwrap(),
        PollMask::NONE
    );
    assert_eq!(rig.produce(1), 1);
    assert_eq!(
        f.poll(PollMask::IN | PollMask::RDNORM, None).unwrap(),
        PollMask::IN | PollMask::RDNORM
    );
    dqbuf(&f).unwrap();
    // V4L2 applications poll for IN|PRI (buffers and events).
    let events = PollMask::IN | PollMask::PRI;
    let f2 = f.dup();
    let t = spawn("poller", move || f2.poll(events, None));
    wait_blocked(&rig.k, "poller", "poll");
    rig.unbind().unwrap();
    let gone = PollMask::ERR | PollMask::HUP | PollMask::PRI;
    assert_eq!(t.join().unwrap().unwrap(), gone);
    assert_eq!(f.poll(events, None).unwrap(), gone);
    no_reports(&rig);
}

#[test]
fn poll_on_an_idle_capture_node_starts_read_io() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    // vb2_poll starts the read emulator when the queue is unused.
    assert_eq!(
        f.poll(PollMask::IN, Some(std::time::Duration::ZERO))
            .unwrap(),
        PollMask::NONE
    );
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.produce(1), 1);
    assert_eq!(
        f.poll(PollMask::IN | PollMask::RDNORM, None).unwrap(),
        PollMask::IN | PollMask::RDNORM
    );
    // Another file sees the same queue (vb2 polls have no owner check), but
    // may not read from it.
    let g = rig.open_video();
    assert_eq!(
        g.poll(PollMask::IN, Some(std::time::Duration::ZERO))
            .unwrap(),
        PollMask::IN
    );
    assert_eq!(g.read(&mut [0u8; 8]), Err(Errno::EBUSY));
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 1);
}

#[test]
fn mmapped_buffers_survive_unbind_and_are_freed_by_the_last_munmap() {
    let rig = Rig::new(Style::Framework);
    let ledger = rig.k.monitor().ledger();
    let f = rig.open_video();
    let n = start_stream(&f, 4).unwrap();
    assert_eq!(n, 4);
    let m0 = map(&f, 0);
    let m1 = map(&f, 1);
    assert_eq!(rig.produce(2), 2);
    let b = dqbuf(&f).unwrap();
    assert_eq!(b.index, 0);
    rig.unbind().unwrap();
    // The queue freed its buffers; the mapped ones live on.
    assert_eq!(ledger.live("vb2_buffer_mem"), 2);
    let mut head = [0u8; 8];
    m0.read(0, &mut head).unwrap();
    assert_eq!(&head[..4], &0u32.to_le_bytes(), "frame 0 still readable");
    assert_eq!(head[4..8], [0, 1, 2, 3]);
    m1.write(100, b"still mine").unwrap();
    let mut back = [0u8; 10];
    m1.read(100, &mut back).unwrap();
    assert_eq!(&back, b"still mine");
    // The file is kept by its mappings: closing the handle releases nothing.
    drop(f);
    assert_eq!(rig.counters.video_close.load(Ordering::SeqCst), 0);
    assert_eq!(rig.counters.video_release.load(Ordering::SeqCst), 0);
    drop(m0);
    assert_eq!(ledger.live("vb2_buffer_mem"), 1);
    let accesses = rig.dev.hardware().accesses();
    drop(m1);
    // munmap and the release it triggers do no I/O.
    assert_eq!(rig.dev.hardware().accesses(), accesses);
    assert_eq!(ledger.live("vb2_buffer_mem"), 0);
    assert_eq!(rig.counters.video_close.load(Ordering::SeqCst), 1);
    assert_eq!(rig.counters.video_release.load(Ordering::SeqCst), 1);
    assert_eq!(ledger.live("video_device"), 0);
    no_reports(&rig);
}

#[test]
fn reqbufs_zero_orphans_mapped_buffers() {
    let rig = Rig::new(Style::Framework);
    let ledger = rig.k.monitor().ledger();
    let f = rig.open_video();
    reqbufs(&f, 3).unwrap();
    let m = map(&f, 2);
    m.write(0, b"orphan").unwrap();
    reqbufs(&f, 0).unwrap();
    assert_eq!(ledger.live("vb2_buffer_mem"), 1);
    let mut b = [0u8; 6];
    m.read(0, &mut b).unwrap();
    assert_eq!(&b, b"orphan");
    // New buffers are new memory.
    reqbufs(&f, 2).unwrap();
    assert_eq!(ledger.live("vb2_buffer_mem"), 3);
    drop(m);
    assert_eq!(ledger.live("vb2_buffer_mem"), 2);
}

#[test]
fn release_after_unplug_does_no_io() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 3).unwrap();
    assert_eq!(rig.produce(1), 1);
    rig.unbind().unwrap();
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    let accesses = rig.dev.hardware().accesses();
    drop(f);
    assert_eq!(
        rig.dev.hardware().accesses(),
        accesses,
        "release touched hardware"
    );
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.counters.stop_after_remove.load(Ordering::SeqCst), 0);
    assert_eq!(rig.counters.video_close.load(Ordering::SeqCst), 1);
    no_reports(&rig);
}

#[test]
fn close_of_the_owner_while_bound_stops_the_stream_inside_the_gate() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    start_stream(&f, 2).unwrap();
    drop(f);
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.dev.hardware().peek(REG_CTRL), 0);
    assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 0);
    // The queue is free for another file.
    let g = rig.open_video();
    assert_eq!(reqbufs(&g, 2).unwrap().count, 2);
}

#[test]
fn subdev_close_after_unbind_reaches_live_memory_and_release_runs_last() {
    let rig = Rig::new(Style::Framework);
    let s = rig.open_subdev();
    let v = rig.open_video();
    rig.unbind().unwrap();
    let r = subdev_fmt(
        &s,
        VIDIOC_SUBDEV_G_FMT,
        V4L2_SUBDEV_FORMAT_ACTIVE,
        0,
        Default::default(),
    );
    assert_eq!(r.unwrap_err(), Errno::ENODEV);
    assert_eq!(
        s.poll(PollMask::IN, None).unwrap(),
        PollMask::ERR | PollMask::HUP | PollMask::PRI
    );
    // A subdev node has no read or write operation: v4l2_read/v4l2_write
    // answer EINVAL before they look at the registration, as on a live node.
    assert_eq!(s.read(&mut [0; 4]), Err(Errno::EINVAL));
    assert_eq!(s.write(&[0; 4]), Err(Errno::EINVAL));
    // Nothing is released while files are open.
    assert_eq!(rig.counters.subdev_release.load(Ordering::SeqCst), 0);
    assert_eq!(rig.counters.v4l2_release.load(Ordering::SeqCst), 0);
    drop(s);
    assert_eq!(rig.counters.subdev_close.load(Ordering::SeqCst), 1);
    assert_eq!(rig.counters.subdev_release.load(Ordering::SeqCst), 1);
    assert_eq!(
        rig.counters.v4l2_release.load(Ordering::SeqCst),
        0,
        "video still open"
    );
    drop(v);
    assert_eq!(
        *rig.counters.release_order.lock(),
        vec!["subdev", "video", "v4l2"]
    );
    let l = rig.k.monitor().ledger();
    assert_eq!(
        (
            l.live("v4l2_subdev"),
            l.live("video_device"),
            l.live("v4l2_device")
        ),
        (0, 0, 0)
    );
    no_reports(&rig);
}

#[test]
fn without_open_files_everything_is_released_at_unbind_in_order() {
    let rig = Rig::new(Style::Framework);
    rig.unbind().unwrap();
    let order = rig.counters.release_order.lock().clone();
    assert_eq!(order.len(), 3);
    assert_eq!(
        order.last(),
        Some(&"v4l2"),
        "the v4l2 device goes last: {order:?}"
    );
    no_reports(&rig);
}

#[test]
fn open_of_a_stale_node_fails_cleanly() {
    let rig = Rig::new(Style::Framework);
    let vnode = rig.k.lookup(&rig.video_name()).unwrap();
    let snode = rig.k.lookup(&rig.subdev_name()).unwrap();
    rig.unbind().unwrap();
    assert_eq!(vnode.open(OpenFlags::RDWR).unwrap_err(), Errno::ENODEV);
    assert_eq!(snode.open(OpenFlags::RDWR).unwrap_err(), Errno::ENODEV);
    assert!(rig.k.lookup("video0").is_none());
    // Rebinding reuses the minors and names; the stale nodes stay dead.
    rig.bind().unwrap();
    let f = rig.open_video();
    assert_eq!(
        querycap(&f).unwrap().version,
        devlife_media::v4l2::LINUX_VERSION_CODE
    );
    assert_eq!(vnode.open(OpenFlags::RDWR).unwrap_err(), Errno::ENODEV);
}

/// A driver whose probe registers a subdev node and then drops its own
/// handle: the node stays registered (the binding owns it) while the subdev
/// is released, so `open` must fail its try-get with ENODEV.
struct Forgetful;
struct Nop;
impl SubdevOps for Nop {}
impl Driver for Forgetful {
    type Data = ();
    fn name(&self) -> &str {
        "forgetful"
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:forgetful"]
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
        let sd = devlife_media::v4l2::Subdev::new(
            ctx.monitor(),
            SubdevConfig::new("Lonely", vec![1], 0),
            Nop,
        )?;
        sd.register_node(ctx)?;
        Ok(())
    }
    fn remove(&self, _ctx: &RemoveCtx<'_>, _d: &()) {}
}

#[test]
fn subdev_open_is_a_try_get() {
    let k = Kernel::new();
    k.register_driver(Forgetful, None).unwrap();
    let dev = k.add_device(DeviceSpec::platform("forgetful", 0)).unwrap();
    assert!(dev.is_bound());
    assert!(k.lookup("v4l-subdev0").is_some(), "node registered");
    assert_eq!(
        k.monitor().ledger().live("v4l2_subdev"),
        0,
        "subdev released"
    );
    assert_eq!(
        k.open("v4l-subdev0", OpenFlags::RDWR).unwrap_err(),
        Errno::ENODEV
    );
    k.sysfs_unbind("forgetful", dev.name()).unwrap();
    assert!(k.monitor().reports().is_empty());
}

#[test]
fn memory_is_flat_across_bind_unbind_cycles() {
    let rig = Rig::new(Style::Framework);
    let ledger = rig.k.monitor().ledger();
    let baseline = ledger.total_live();
    for cycle in 0..40u32 {
        let f = rig.open_video();
        let s = rig.open_subdev();
        start_stream(&f, 3).unwrap();
        let m = map(&f, 1);
        assert_eq!(rig.produce(2), 2);
        if cycle % 2 == 0 {
            rig.unbind().unwrap();
        } else {
            rig.k.release_driver(&rig.dev).unwrap();
        }
        drop((f, s, m));
        assert_eq!(
            ledger.total_live(),
            baseline - snapshot_bound(&rig),
            "cycle {cycle}"
        );
        rig.bind().unwrap();
        assert_eq!(ledger.total_live(), baseline, "cycle {cycle}");
    }
    assert_eq!(rig.counters.probes.load(Ordering::SeqCst), 41);
    assert_eq!(rig.counters.video_release.load(Ordering::SeqCst), 40);
    assert_eq!(rig.counters.v4l2_release.load(Ordering::SeqCst), 40);
    no_reports(&rig);
}

/// Objects a binding of testcam accounts while bound and idle (v4l2 device,
/// video device, subdev, nodes, binding, driver state, ...).
fn snapshot_bound(rig: &Rig) -> u64 {
    // Computed once per process from a fresh rig: bound minus unbound.
    static DELTA: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let _ = rig;
    *DELTA.get_or_init(|| {
        let r = Rig::new(Style::Framework);
        let l = r.k.monitor().ledger();
        let bound = l.total_live();
        r.unbind().unwrap();
        bound - l.total_live()
    })
}
