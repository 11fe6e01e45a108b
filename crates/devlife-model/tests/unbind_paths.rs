//! Every unbind path against every file operation in flight, in both styles.
//!
//! Threads are ordered without sleeps: the test waits until the user thread
//! is published as blocked inside its operation, and (for stalled hardware)
//! until the unbinding thread is blocked in the node's drain.

mod common;

use common::*;
use devlife_model::devlife::check::ReportKind;
use devlife_model::testdrv::{self, Style};
use devlife_model::{Errno, MmapRequest, OpenFlags, PollMask};

/// What the in-flight call returns in the framework style.
fn framework_expect(op: InFlight) -> Result<i64, Errno> {
    match op {
        InFlight::BlockedRead | InFlight::BlockedWaitIoctl => Err(Errno::ENODEV),
        InFlight::BlockedPoll => Ok(i64::from((PollMask::ERR | PollMask::HUP).0)),
        // A call that entered before the unplug completes normally: the
        // unbind waited for it.
        InFlight::StalledHwIoctl => Ok(0),
        InFlight::StalledWrite => Ok(8),
    }
}

fn framework_case(path: Path, op: InFlight) {
    let (k, t) = setup(Style::Framework);
    let node = t.node().unwrap();
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    let stall = op.stalls().then(|| t.hw().stall_thread("user"));
    let f2 = f.dup();
    let user = spawn("user", move || op.run(&f2));
    assert!(
        k.wait_blocked("user", op.label(), T),
        "{op:?} never blocked"
    );
    let t2 = t.clone();
    let unbinder = spawn("unbinder", move || unbind(&t2, path));
    if let Some(stall) = stall {
        // The unbind is waiting for the call: new calls are refused, the
        // driver's remove() has not run, the hardware is still usable.
        assert!(k.wait_blocked("unbinder", "unplug", T));
        assert!(node.is_unplugged());
        assert_eq!(node.in_flight(), 1);
        assert!(t.device.is_bound());
        assert_eq!(f.ioctl(testdrv::IOC_PING, &mut []), Err(Errno::ENODEV));
        drop(stall);
    }
    let r = user.join().unwrap();
    assert_eq!(r, framework_expect(op), "{path:?} {op:?}");
    unbinder.join().unwrap().unwrap();
    assert!(!t.device.is_bound());
    assert_eq!(node.in_flight(), 0);
    // Userspace-visible behaviour after unplug.
    assert_eq!(f.read(&mut [0; 4]), Err(Errno::ENODEV));
    assert_eq!(f.write(&[0; 4]), Err(Errno::ENODEV));
    assert_eq!(f.ioctl(testdrv::IOC_PING, &mut []), Err(Errno::ENODEV));
    assert_eq!(
        f.poll(PollMask::IN, None),
        Ok(PollMask::ERR | PollMask::HUP)
    );
    let req = MmapRequest {
        offset: 0,
        len: 64,
        write: false,
    };
    assert_eq!(f.mmap(req).unwrap_err(), Errno::ENODEV);
    assert!(k.lookup(&t.node_name()).is_none());
    assert_eq!(
        k.open(&t.node_name(), OpenFlags::RDWR).unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(node.open(OpenFlags::RDWR).unwrap_err(), Errno::ENODEV);
    // The node memory stays while the file is open; release runs at close.
    assert_eq!(node.open_files(), 1);
    drop(f);
    assert_eq!(node.open_files(), 0);
    drop(node);
    assert_silent(&k);
    finish(k, t);
}

#[test]
fn framework_every_path_every_op() {
    for path in PATHS {
        for op in IN_FLIGHT {
            framework_case(path, op);
        }
    }
}

fn legacy_case(path: Path, op: InFlight) {
    let (k, t) = setup(Style::Legacy);
    let node = t.node().unwrap();
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    let stall = op.stalls().then(|| t.hw().stall_thread("user"));
    let f2 = f.dup();
    let user = spawn("user", move || op.run(&f2));
    assert!(
        k.wait_blocked("user", op.label(), T),
        "{op:?} never blocked"
    );
    // The pre-fix kernel does not wait for calls in flight: the unbind
    // completes while the call is still inside the driver.
    unbind(&t, path).unwrap();
    assert!(!t.device.is_bound());
    if let Some(stall) = stall {
        assert_eq!(node.in_flight(), 1, "legacy unbind waited for the call");
        drop(stall);
        let _ = user.join().unwrap();
        // The call touched the hardware after remove() and the freed state.
        assert!(count(&k, ReportKind::HwAfterRemove) >= 1);
        assert!(count(&k, ReportKind::UseAfterFree) >= 1);
    } else {
        // The legacy driver wakes its sleepers in remove(); they return.
        let r = user.join().unwrap();
        match op {
            InFlight::BlockedPoll => {
                assert!(PollMask(r.unwrap() as u32).contains(PollMask::ERR | PollMask::HUP))
            }
            _ => assert_eq!(r, Err(Errno::ENODEV)),
        }
    }
    // New calls fail at the registered check ...
    assert_eq!(f.ioctl(testdrv::IOC_PING, &mut []), Err(Errno::ENODEV));
    // ... but release runs on freed driver state (subdev_close).
    let before = count(&k, ReportKind::UseAfterFree);
    drop(f);
    assert_eq!(
        count(&k, ReportKind::UseAfterFree),
        before + 1,
        "{path:?} {op:?}"
    );
    let reports = k.monitor().reports().all();
    let r = reports
        .iter()
        .rev()
        .find(|r| r.kind == ReportKind::UseAfterFree)
        .unwrap();
    // The report names the object, the access site and the free site.
    let text = r.to_string();
    assert!(text.contains("use-after-free in testdrv0"), "{text}");
    assert!(r.site.unwrap().file().contains("/testdrv/"), "{text}");
    assert!(r.related.iter().any(|(w, _)| *w == "freed"), "{text}");
    drop(node);
    finish(k, t);
}

#[test]
fn legacy_every_path_every_op_fires_checkers() {
    for path in PATHS {
        for op in IN_FLIGHT {
            legacy_case(path, op);
        }
    }
}

/// Module unload is the third path: it cannot happen while a file is open,
/// whatever the file is doing; once the files are closed it unbinds.
#[test]
fn module_unload_refused_while_a_call_is_in_flight() {
    for style in [Style::Framework, Style::Legacy] {
        for op in IN_FLIGHT {
            let (k, t) = setup(style);
            let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
            let stall = op.stalls().then(|| t.hw().stall_thread("user"));
            let f2 = f.dup();
            let user = spawn("user", move || op.run(&f2));
            assert!(k.wait_blocked("user", op.label(), T));
            assert_eq!(k.unload_module(t.module.name()), Err(Errno::EBUSY));
            assert!(t.device.is_bound());
            assert_eq!(t.module.refcount(), 1);
            // Let the call finish: stalled calls complete, sleepers are fed.
            drop(stall);
            if !op.stalls() {
                f.ioctl(testdrv::IOC_TRIGGER, &mut []).unwrap();
            }
            assert!(user.join().unwrap().is_ok(), "{style:?} {op:?}");
            drop(f);
            assert_eq!(t.module.refcount(), 0);
            k.unload_module(t.module.name()).unwrap();
            assert!(!t.device.is_bound());
            assert!(k.lookup(&t.node_name()).is_none());
            assert!(k.module(t.module.name()).is_none());
            // An open racing with the unload fails cleanly.
            assert_silent(&k);
            finish(k, t);
        }
    }
}

/// An open of a node whose module is going fails with ENXIO, and a file
/// opened before keeps the module from being unloaded.
#[test]
fn open_holds_the_module() {
    let (k, t) = setup(Style::Framework);
    let node = t.node().unwrap();
    let f = node.open(OpenFlags::RDONLY).unwrap();
    assert_eq!(t.module.refcount(), 1);
    let g = f.dup();
    assert_eq!(t.module.refcount(), 1, "dup takes no module reference");
    drop((f, g));
    k.unload_module(t.module.name()).unwrap();
    assert_eq!(node.open(OpenFlags::RDONLY).unwrap_err(), Errno::ENXIO);
    drop(node);
    assert_silent(&k);
    finish(k, t);
}
