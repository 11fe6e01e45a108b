//! isp (framework style): unbind, hot-unplug and module unload during every
//! kind of call; interrupts at every step of unbind; release on the last
//! reference; memory flat across plug cycles. No checker may fire.

use devlife_drivers::Style;
use devlife_drivers::isp::RESIZER_NAME;
use devlife_drivers::isp::hw::pattern_byte;
use devlife_media::kinds;
use devlife_media::uapi::subdev::V4L2_SUBDEV_FORMAT_ACTIVE;
use devlife_model::{Errno, Kernel, OpenFlags, PollMask, UnbindPhase};
use devlife_testkit::isp::*;
use parking_lot::Mutex;
use std::sync::Arc;

fn live(k: &Kernel, ty: &str) -> u64 {
    k.monitor().ledger().live(ty)
}

#[test]
fn unbind_wakes_dqbuf_and_poll_and_stops_the_stream_before_remove() {
    for hot in [false, true] {
        let rig = Rig::new(Style::Framework);
        let v = rig.open_video();
        // DQBUF on an empty queue, and a poll on the same file.
        reqbufs(&v, 2).unwrap();
        streamon(&v).unwrap();
        let v2 = v.dup();
        let dq = spawn("dq", move || dqbuf(&v2));
        wait_blocked(&rig.k, "dq", "VIDIOC_DQBUF");
        let v3 = v.dup();
        let poller = spawn("poller", move || {
            v3.poll(PollMask::IN | PollMask::PRI, None)
        });
        wait_blocked(&rig.k, "poller", "poll");
        let sd = rig.open_subdev(RESIZER_NAME);
        let mf = rig.open_media();
        if hot {
            rig.isp.unplug(&rig.dev).unwrap();
        } else {
            rig.unbind();
        }
        assert_eq!(dq.join().unwrap(), Err(Errno::ENODEV));
        assert_eq!(
            poller.join().unwrap().unwrap(),
            PollMask::ERR | PollMask::HUP | PollMask::PRI
        );
        assert_eq!(rig.k.check_hangs(), 0);
        assert_eq!(querycap(&v).unwrap_err(), Errno::ENODEV);
        assert_eq!(
            subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 0).unwrap_err(),
            Errno::ENODEV
        );
        assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
        let c = rig.isp.counters();
        assert_eq!((c.stops, c.stops_after_remove, c.removes), (1, 0, 1));
        // The engine stopped (a gone device ignores writes) and the IRQ is free.
        assert_eq!(rig.isp.model(&rig.dev).unwrap().is_running(), hot);
        assert!(!rig.isp.irq_line(&rig.dev).unwrap().is_requested());
        drop((v, sd, mf));
        no_reports(&rig.k);
        rig.finish();
    }
}

#[test]
fn read_in_flight_is_woken_by_hot_unplug() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    let v2 = v.dup();
    let reader = spawn("reader", move || v2.read(&mut [0u8; 64]));
    wait_blocked(&rig.k, "reader", "read");
    rig.isp.unplug(&rig.dev).unwrap();
    assert_eq!(reader.join().unwrap(), Err(Errno::ENODEV));
    assert_eq!(v.read(&mut [0u8; 64]), Err(Errno::ENODEV));
    drop(v);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn mmap_buffers_outlive_the_unbind() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    let maps: Vec<_> = (0..2).map(|i| map_buffer(&v, i).unwrap()).collect();
    assert!(rig.frame());
    let b = dqbuf(&v).unwrap();
    rig.unbind();
    drop(v);
    let mut x = [0u8; 4];
    maps[b.index as usize].read(1280 * 100, &mut x).unwrap();
    assert_eq!(x, [pattern_byte(0, 1280, 1280 * 100), 0x80, 100, 0x80]);
    assert_eq!(live(&rig.k, "vb2_buffer_mem"), 2);
    // A mapping holds its file, so the video device and the state too.
    assert_eq!(live(&rig.k, "isp_state"), 1);
    drop(maps);
    assert_eq!(live(&rig.k, "vb2_buffer_mem"), 0);
    assert_eq!(live(&rig.k, "isp_state"), 0);
    no_reports(&rig.k);
    rig.finish();
}

/// An interrupt at each step of unbind: handled while the binding is live,
/// refused once its gate drained (through `remove()`), unhandled once the
/// framework freed the line after `remove()`.
#[test]
fn interrupts_at_every_step_of_unbind() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    assert!(rig.frame());
    let line = rig.isp.irq_line(&rig.dev).unwrap();
    let before = line.stats();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, hw, l2) = (seen.clone(), rig.dev.hardware().clone(), line.clone());
    rig.k.set_unbind_hook(move |_, phase| {
        hw.raise_irq();
        assert!(l2.wait_idle(PATIENCE));
        s2.lock().push(phase);
    });
    rig.unbind();
    rig.k.clear_unbind_hook();
    let phases = seen.lock().clone();
    assert_eq!(
        phases,
        [
            UnbindPhase::Begin,
            UnbindPhase::NodesUnplugged,
            UnbindPhase::Drained,
            UnbindPhase::Removed,
            UnbindPhase::IrqsFreed,
            UnbindPhase::ResourcesReleased,
            UnbindPhase::NodesUnregistered,
            UnbindPhase::Done,
        ]
    );
    let s = line.stats();
    assert_eq!(s.delivered - before.delivered, 2, "Begin, NodesUnplugged");
    assert_eq!(s.gated - before.gated, 2, "Drained, Removed");
    assert_eq!(s.unhandled - before.unhandled, 4, "after the IRQ was freed");
    assert_eq!(s.after_release, 0);
    drop(v);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn release_runs_on_the_last_reference() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    let sd = rig.open_subdev(RESIZER_NAME);
    let mf = rig.open_media();
    rig.unbind();
    // The ISP's release is its v4l2 device's (the monitor counts both).
    let c = rig.isp.counters();
    assert_eq!((c.removes, released(&rig.k, kinds::V4L2_DEVICE)), (1, 0));
    assert_eq!(live(&rig.k, "isp_state"), 1);
    // Three subdevs without open files are gone; the resizer is held.
    assert_eq!(released(&rig.k, kinds::V4L2_SUBDEV), 3);
    drop(sd);
    assert_eq!(released(&rig.k, kinds::V4L2_SUBDEV), 4);
    assert_eq!(
        released(&rig.k, kinds::V4L2_DEVICE),
        0,
        "the video file holds it"
    );
    drop(v);
    assert_eq!(
        (
            released(&rig.k, kinds::VIDEO_DEVICE),
            released(&rig.k, kinds::V4L2_DEVICE)
        ),
        (1, 1)
    );
    assert_eq!(live(&rig.k, "isp_state"), 0);
    // The media fd keeps the media device only.
    assert_eq!(live(&rig.k, "media_device"), 1);
    drop(mf);
    assert_eq!(live(&rig.k, "media_device"), 0);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn module_unload_and_rebind_with_files_open() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    assert_eq!(rig.k.unload_module(rig.isp.driver()), Err(Errno::EBUSY));
    // Rebind while the old file is open: new nodes, a new media device.
    rig.unbind();
    rig.bind();
    let nv = rig.open_video();
    start_stream(&nv, 2).unwrap();
    assert!(rig.frame());
    assert_eq!(dqbuf(&nv).unwrap().sequence, 0);
    assert_eq!(dqbuf(&v).unwrap_err(), Errno::ENODEV);
    // The media node pins no module; the video files do.
    let mf = rig.open_media();
    drop((v, nv));
    rig.k.unload_module(rig.isp.driver()).unwrap();
    assert!(rig.dev.driver_name().is_none());
    assert_eq!(media_info(&mf).unwrap_err(), Errno::EIO);
    drop(mf);
    assert_eq!(released(&rig.k, kinds::V4L2_DEVICE), 2);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn memory_is_flat_across_plug_cycles() {
    let k = Kernel::new();
    let isp = devlife_drivers::isp::register_with(
        &k,
        Style::Framework,
        devlife_drivers::isp::IspOptions::manual(),
    )
    .unwrap();
    let baseline = live_map(&k);
    for i in 0..12 {
        let dev = isp.plug(7).unwrap();
        let n = isp.nodes(&dev);
        let v = k
            .open(n.video.as_deref().unwrap(), OpenFlags::RDWR)
            .unwrap();
        let mf = k
            .open(n.media.as_deref().unwrap(), OpenFlags::RDWR)
            .unwrap();
        let sd = k.open(&n.subdevs[0].1, OpenFlags::RDWR).unwrap();
        start_stream(&v, 2).unwrap();
        assert!(isp.vsync(&dev));
        assert!(isp.wait_irq_idle(&dev, PATIENCE));
        let b = dqbuf(&v).unwrap();
        let m = map_buffer(&v, b.index).unwrap();
        if i % 2 == 0 {
            k.sysfs_unbind(isp.driver(), dev.name()).unwrap();
        }
        isp.unplug(&dev).unwrap();
        drop((v, mf, sd, m, dev));
        assert_eq!(live_map(&k), baseline, "cycle {i}");
    }
    no_reports(&k);
    k.shutdown();
    drop(isp);
    no_leaks(&k);
}
