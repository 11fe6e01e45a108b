//! Memory accounting over many bind/unbind, hot-unplug/replug and module
//! reload cycles; userspace racing rebinds from other threads; fault
//! injection at every fallible step of probe.

use devlife_drivers::Style;
use devlife_drivers::vimc::setup::{StreamSetup, configure};
use devlife_drivers::vimc::{self, VimcConfig};
use devlife_media::kinds;
use devlife_media::uapi::subdev::V4L2_SUBDEV_FORMAT_ACTIVE;
use devlife_model::{Errno, FaultPoint, Kernel, OpenFlags};
use devlife_testkit::vimc::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Every object type a vimc binding and its users create.
const VIMC_TYPES: [&str; 13] = [
    "vimc_device",
    "media_device",
    "media_device_state",
    "media_entity",
    "media_interface",
    "video_device",
    "v4l2_subdev",
    "v4l2_device",
    "node",
    "file",
    "mapping",
    "binding",
    "vb2_buffer_mem",
];

fn live_vimc_objects(k: &Kernel) -> Vec<(&'static str, u64)> {
    let l = k.monitor().ledger();
    VIMC_TYPES
        .iter()
        .map(|t| (*t, l.live(t)))
        .filter(|(_, n)| *n != 0)
        .collect()
}

#[test]
fn hundreds_of_bind_unbind_cycles_leave_nothing_behind() {
    let rig = Rig::new(Style::Framework, NEVER);
    for cycle in 0..300 {
        // Userspace holds a media, a video and a subdev node across the unbind.
        let m = rig.open_media();
        let v = rig.open("RGB/YUV Capture");
        let s = rig.open("Scaler");
        assert!(media_info(&m).is_ok());
        assert!(querycap(&v).is_ok());
        rig.v.unbind().unwrap();
        assert_eq!(media_info(&m), Err(Errno::EIO));
        assert_eq!(querycap(&v).unwrap_err(), Errno::ENODEV);
        assert_eq!(
            subdev_g_fmt(&s, V4L2_SUBDEV_FORMAT_ACTIVE, 0),
            Err(Errno::ENODEV)
        );
        drop((m, v, s));
        assert!(
            live_vimc_objects(&rig.k).is_empty(),
            "cycle {cycle}: {:?}",
            live_vimc_objects(&rig.k)
        );
        rig.v.bind().unwrap();
    }
    let st = rig.v.stats();
    assert_eq!((st.probes, st.removes), (301, 300));
    assert_eq!(rig.released(kinds::MEDIA_DEVICE), 300);
    assert_eq!(rig.released(kinds::V4L2_DEVICE), 300);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn legacy_cycles_without_races_are_clean_too() {
    // The legacy twin's bugs need a race: with nothing open at unbind it
    // cycles as cleanly as the framework driver.
    let rig = Rig::new(Style::Legacy, NEVER);
    for _ in 0..50 {
        let v = rig.open("Raw Capture 0");
        assert!(querycap(&v).is_ok());
        drop(v);
        rig.v.unbind().unwrap();
        assert!(
            live_vimc_objects(&rig.k).is_empty(),
            "{:?}",
            live_vimc_objects(&rig.k)
        );
        rig.v.bind().unwrap();
    }
    rig.assert_silent();
    rig.finish();
}

#[test]
fn hot_unplug_and_replug_cycles_while_streaming() {
    let rig = Rig::new(Style::Framework, FAST);
    for cycle in 0..30 {
        rig.configure(16, 16);
        let f = rig.open("Raw Capture 0");
        let n = start_stream(&f, 2).unwrap();
        let mm = map(&f, 0, 256);
        assert_eq!(dqbuf(&f).unwrap().sequence, 0);
        rig.v.hot_unplug().unwrap();
        assert!(!rig.v.is_bound());
        assert_eq!(dqbuf(&f), Err(Errno::ENODEV));
        drop(f);
        drop(mm);
        assert!(
            live_vimc_objects(&rig.k).is_empty(),
            "cycle {cycle}: {:?}",
            live_vimc_objects(&rig.k)
        );
        assert_eq!(n, 2);
        rig.v.replug().unwrap();
        assert!(rig.v.is_bound(), "cycle {cycle}");
    }
    let st = rig.v.stats();
    assert_eq!(st.stream_stops, 30);
    // Each replug's first probe deferred (engine not initialised yet)
    // before creating anything: one media device per binding.
    assert_eq!((st.probes, rig.released(kinds::MEDIA_DEVICE)), (31, 30));
    rig.assert_silent();
    rig.finish();
}

#[test]
fn module_reload_cycles() {
    let k = Kernel::new();
    for _ in 0..20 {
        let v = vimc::register_with(&k, VimcConfig::new(Style::Framework).frame_interval(FAST))
            .unwrap();
        assert_eq!(
            vimc::register(&k, Style::Framework).unwrap_err(),
            Errno::EEXIST
        );
        let nodes = v.nodes().unwrap();
        let f = k.open(&nodes.media, OpenFlags::RDWR).unwrap();
        assert_eq!(v.unload(), Err(Errno::EBUSY));
        drop(f);
        v.unload().unwrap();
        assert!(k.nodes().is_empty());
        assert!(k.devices().is_empty());
        drop(v);
        assert!(k.leaks().is_empty(), "{:?}", k.leaks());
    }
    assert!(k.monitor().reports().is_empty());
}

#[test]
fn both_styles_coexist_in_one_kernel() {
    let k = Kernel::new();
    let fw = vimc::register(&k, Style::Framework).unwrap();
    let lg = vimc::register(&k, Style::Legacy).unwrap();
    assert_eq!(fw.device_name(), "vimc.0");
    assert_eq!(lg.device_name(), "vimc-legacy.0");
    let (a, b) = (fw.nodes().unwrap(), lg.nodes().unwrap());
    assert_eq!(a.media, "/dev/media0");
    assert_eq!(b.media, "/dev/media1");
    assert_eq!(b.path("Raw Capture 0"), Some("/dev/video3"));
    // Same topology text, apart from the node names.
    let t = lg.topology().unwrap();
    assert!(t.contains("device node name /dev/v4l-subdev15"), "{t}");
    fw.unload().unwrap();
    lg.unload().unwrap();
    drop((fw, lg));
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
    assert!(k.monitor().reports().is_empty());
}

/// Errors userspace may see while the device comes and goes.
fn expected_while_racing(e: Errno) -> bool {
    [
        Errno::ENODEV,
        Errno::ENOENT,
        Errno::EIO,
        Errno::ENXIO,
        Errno::EBUSY,
        Errno::EINVAL,
        Errno::EPIPE,
        Errno::EAGAIN,
    ]
    .contains(&e)
}

#[test]
fn userspace_racing_rebinds_from_other_threads() {
    let rig = Rig::new(Style::Framework, FAST);
    // Node names are the same in every binding.
    let nodes = rig.nodes();
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let frames = Arc::new(AtomicU64::new(0));
    let mut users = Vec::new();
    // user0: media and subdev ioctls, and streaming attempts (non-blocking).
    {
        let (k, stop, calls, nodes) = (rig.k.clone(), stop.clone(), calls.clone(), nodes.clone());
        users.push(spawn("user0", move || {
            let mut paths: Vec<String> = vec![nodes.media.clone()];
            paths.extend(nodes.subdevs().iter().map(|s| s.to_string()));
            paths.extend(nodes.captures().iter().map(|s| s.to_string()));
            let mut unexpected = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Acquire) {
                i = (i + 1) % paths.len();
                let p = &paths[i];
                let f = match k.open(p, OpenFlags::RDWR.nonblocking()) {
                    Ok(f) => f,
                    Err(e) => {
                        if !expected_while_racing(e) {
                            unexpected.push(("open", e));
                        }
                        continue;
                    }
                };
                let r = if p.contains("media") {
                    media_info(&f).map(|_| ())
                } else if p.contains("video") {
                    querycap(&f)
                        .and_then(|_| start_stream(&f, 2))
                        .and_then(|_| dqbuf(&f))
                        .map(|_| ())
                } else {
                    subdev_g_fmt(&f, V4L2_SUBDEV_FORMAT_ACTIVE, 0).map(|_| ())
                };
                if let Err(e) = r
                    && !expected_while_racing(e)
                {
                    unexpected.push(("call", e));
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
            unexpected
        }));
    }
    // user1: configures vimc (as media-ctl would) and reads frames,
    // blocking: an unbind wakes the reader.
    {
        let (k, stop, calls, frames) = (rig.k.clone(), stop.clone(), calls.clone(), frames.clone());
        users.push(spawn("user1", move || {
            let mut unexpected = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let _ = configure(&k, &nodes, &StreamSetup::small(16, 16));
                calls.fetch_add(1, Ordering::Relaxed);
                let Ok(f) = k.open(nodes.path("Raw Capture 1").unwrap(), OpenFlags::RDONLY) else {
                    continue;
                };
                let mut buf = [0u8; 256];
                for _ in 0..3 {
                    match f.read(&mut buf) {
                        Ok(_) => {
                            frames.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if !expected_while_racing(e) {
                                unexpected.push(("read", e));
                            }
                            break;
                        }
                    }
                }
            }
            unexpected
        }));
    }
    for n in 0..40 {
        // Let the users in, then pull the device from under them.
        let seen = calls.load(Ordering::Relaxed);
        wait_until("users made calls", || {
            calls.load(Ordering::Relaxed) > seen + 2
        });
        if n % 4 == 3 {
            rig.v.hot_unplug().unwrap();
            rig.v.replug().unwrap();
        } else {
            rig.v.unbind().unwrap();
            rig.v.bind().unwrap();
        }
    }
    // Frames did flow between the rebinds.
    wait_until("frames were read", || frames.load(Ordering::Relaxed) > 0);
    stop.store(true, Ordering::Release);
    for u in users {
        let unexpected = u.join().unwrap();
        assert!(unexpected.is_empty(), "{unexpected:?}");
    }
    rig.assert_silent();
    rig.finish();
}

#[test]
fn fault_injection_unwinds_every_probe_step() {
    // The legacy twin unwinds a failed probe cleanly too (its bugs need a
    // race with userspace).
    for style in [Style::Framework, Style::Legacy] {
        fault_injection(style);
    }
}

fn fault_injection(style: Style) {
    let rig = Rig::new(style, NEVER);
    let faults = rig.k.faults();
    let points = [
        FaultPoint::Alloc,
        FaultPoint::IoRemap,
        FaultPoint::IrqRequest,
        FaultPoint::MinorAlloc,
        FaultPoint::NodeRegister,
    ];
    // Count the hits of one probe.
    rig.v.unbind().unwrap();
    faults.reset();
    rig.v.bind().unwrap();
    let hits: Vec<(FaultPoint, u64)> = points.iter().map(|p| (*p, faults.hits(*p))).collect();
    assert_eq!(
        hits.iter()
            .find(|(p, _)| *p == FaultPoint::MinorAlloc)
            .unwrap()
            .1,
        12,
        "one minor per node"
    );
    let mut failures = 0;
    for (p, n) in hits {
        for i in 1..=n {
            rig.v.unbind().unwrap();
            faults.fail_nth(p, i);
            assert_eq!(rig.v.bind(), Err(p.errno()), "{p:?} #{i}");
            faults.clear();
            assert!(!rig.v.is_bound());
            assert!(
                live_vimc_objects(&rig.k).is_empty(),
                "{p:?} #{i}: {:?}",
                live_vimc_objects(&rig.k)
            );
            assert!(rig.k.nodes().is_empty(), "{p:?} #{i}");
            rig.v.bind().unwrap();
            failures += 1;
        }
    }
    assert!(failures >= 27);
    // Still fully working afterwards.
    assert!(rig.v.topology().unwrap().contains("- entity 29: Lens B"));
    rig.assert_silent();
    rig.finish();
}

/// Plugging and unplugging vimc's platform device, and binding and unbinding
/// it, leave no interrupt line behind: the controller knows exactly the line
/// of the device present now, whatever the number of cycles (memory stays
/// flat over a million of them).
#[test]
fn plug_and_bind_cycles_leave_no_irq_line_behind() {
    let k = devlife_model::Kernel::new();
    let v = vimc::register(&k, Style::Framework).unwrap();
    assert_eq!(k.irq().line_count(), 1);
    for n in 0..200 {
        v.unbind().unwrap();
        v.bind().unwrap();
        v.hot_unplug().unwrap();
        v.replug().unwrap();
        assert!(v.is_bound(), "cycle {n}");
        assert_eq!(k.irq().line_count(), 1, "cycle {n}");
    }
    let line = v.hardware().irq().unwrap();
    assert!(k.irq().line(line).unwrap().is_requested());
    v.unload().unwrap();
    drop(v);
    assert_eq!(k.irq().line_count(), 0);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}
