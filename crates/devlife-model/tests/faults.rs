//! Fault injection: every fallible step of probe and registration fails in
//! turn; each failure unwinds with nothing leaked and no checker report, and
//! the device can be bound afterwards.

mod common;

use common::*;
use devlife_model::testdrv::{self, Style};
use devlife_model::{Errno, FaultPoint, Kernel, OpenFlags};

fn hits(style: Style) -> Vec<(FaultPoint, u64)> {
    let k = Kernel::new();
    let t = testdrv::setup(&k, style).unwrap();
    let h = k.faults().all_hits();
    finish(k, t);
    h
}

#[test]
fn every_probe_step_fails_cleanly() {
    for style in [Style::Framework, Style::Legacy] {
        let points = hits(style);
        let names: Vec<FaultPoint> = points.iter().map(|(p, _)| *p).collect();
        for p in [
            FaultPoint::Alloc,
            FaultPoint::MinorAlloc,
            FaultPoint::NodeRegister,
            FaultPoint::IrqRequest,
            FaultPoint::IoRemap,
        ] {
            assert!(names.contains(&p), "{style:?}: probe never reaches {p:?}");
        }
        let mut injected = 0;
        // Module and driver registration fail `setup` itself (below).
        let probe_points = points
            .into_iter()
            .filter(|(p, _)| !matches!(p, FaultPoint::ModuleLoad | FaultPoint::DriverRegister));
        for (point, n) in probe_points {
            for i in 1..=n {
                let k = Kernel::new();
                k.faults().fail_nth(point, i);
                let t = testdrv::setup(&k, style).unwrap();
                assert_eq!(k.faults().injected(), 1, "{style:?} {point:?} #{i}");
                injected += 1;
                assert!(!t.device.is_bound(), "{style:?} {point:?} #{i}");
                assert!(k.nodes().is_empty());
                assert_eq!(k.monitor().ledger().live("binding"), 0);
                assert_eq!(k.monitor().ledger().live("testdrv_state"), 0);
                // The failed probe left nothing behind: a bind now works.
                k.sysfs_bind(t.driver(), t.device.name()).unwrap();
                let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
                f.ioctl(testdrv::IOC_PING, &mut []).unwrap();
                drop(f);
                assert_silent(&k);
                finish(k, t);
            }
        }
        assert!(injected >= 5);
    }
}

#[test]
fn failed_module_or_driver_registration_leaves_nothing_behind() {
    for style in [Style::Framework, Style::Legacy] {
        for point in [FaultPoint::ModuleLoad, FaultPoint::DriverRegister] {
            let k = Kernel::new();
            k.faults().fail_nth(point, 1);
            assert_eq!(
                testdrv::setup(&k, style).unwrap_err(),
                Errno::ENOMEM,
                "{style:?} {point:?}"
            );
            assert_eq!(k.faults().injected(), 1, "{style:?} {point:?}");
            assert!(k.drivers().is_empty(), "{style:?} {point:?}");
            assert!(k.devices().is_empty(), "{style:?} {point:?}");
            // A second attempt registers and binds.
            let t = testdrv::setup(&k, style).unwrap();
            assert!(t.device.is_bound(), "{style:?} {point:?}");
            let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
            f.ioctl(testdrv::IOC_PING, &mut []).unwrap();
            drop(f);
            assert_silent(&k);
            finish(k, t);
        }
    }
}

#[test]
fn always_failing_minor_allocation() {
    let k = Kernel::new();
    k.faults().fail_always(FaultPoint::MinorAlloc);
    let t = testdrv::setup(&k, Style::Framework).unwrap();
    assert!(!t.device.is_bound());
    assert_eq!(
        k.sysfs_bind(t.driver(), t.device.name()),
        Err(devlife_model::Errno::ENFILE)
    );
    k.faults().clear();
    k.sysfs_bind(t.driver(), t.device.name()).unwrap();
    assert_silent(&k);
    finish(k, t);
}
