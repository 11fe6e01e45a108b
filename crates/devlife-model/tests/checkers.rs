//! Each checker, made to fire by the legacy style and silent in the framework
//! style, at a precise step of the unbind (through the unbind hook).

mod common;

use common::*;
use devlife_model::devlife::check::ReportKind;
use devlife_model::testdrv::{self, Style};
use devlife_model::{
    BusKind, DeviceSpec, Driver, Errno, FileOps, KResult, Kernel, KernelConfig, MmapRequest,
    NodeKind, NodeSpec, OpCtx, OpenFlags, ProbeCtx, RemoveCtx, UnbindPhase,
};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// Raises the device's interrupt at `phase` of the unbind and waits until it
/// was handled (or dropped).
fn raise_at(k: &Kernel, t: &testdrv::Setup, phase: UnbindPhase) {
    let hw = t.hw().clone();
    let line = k.irq().line(hw.irq().unwrap()).unwrap();
    k.set_unbind_hook(move |_, p| {
        if p == phase {
            // The device produces a word and interrupts.
            hw.poke(testdrv::REG_COUNT, hw.peek(testdrv::REG_COUNT) + 1);
            hw.poke(testdrv::REG_STATUS, testdrv::STATUS_READY);
            hw.raise_irq();
            assert!(line.wait_idle(T));
        }
    });
}

#[test]
fn interrupt_on_released_data_legacy() {
    let (k, t) = setup(Style::Legacy);
    // devm releases in reverse order: the state (allocated last) is freed
    // first, the IRQ (requested first) is still installed.
    raise_at(&k, &t, UnbindPhase::DevmAction(0));
    k.sysfs_unbind(t.driver(), t.device.name()).unwrap();
    assert_eq!(count(&k, ReportKind::IrqAfterRelease), 1);
    assert!(count(&k, ReportKind::UseAfterFree) >= 1);
    assert!(count(&k, ReportKind::HwAfterRemove) >= 1);
    let line = k.irq().line(t.hw().irq().unwrap()).unwrap();
    assert_eq!(line.stats().after_release, 1);
    k.clear_unbind_hook();
    finish(k, t);
}

#[test]
fn interrupt_between_remove_and_devm_free_irq_touches_hardware_legacy() {
    let (k, t) = setup(Style::Legacy);
    raise_at(&k, &t, UnbindPhase::Removed);
    k.sysfs_unbind(t.driver(), t.device.name()).unwrap();
    // The state is still allocated, but the driver is removed: the handler
    // runs for a binding that is gone, and touches hardware no longer ours.
    assert_eq!(count(&k, ReportKind::IrqAfterRelease), 1);
    let irq = k
        .monitor()
        .reports()
        .all()
        .into_iter()
        .find(|r| r.kind == ReportKind::IrqAfterRelease)
        .unwrap();
    assert!(irq.message.contains("remove() returned"), "{}", irq.message);
    assert_eq!(count(&k, ReportKind::UseAfterFree), 0);
    assert!(count(&k, ReportKind::HwAfterRemove) >= 1);
    let r = k
        .monitor()
        .reports()
        .all()
        .into_iter()
        .find(|r| r.kind == ReportKind::HwAfterRemove)
        .unwrap();
    assert!(r.message.contains("irq/"), "{}", r.message);
    k.clear_unbind_hook();
    finish(k, t);
}

#[test]
fn framework_interrupts_after_unplug_never_reach_the_handler() {
    for phase in [
        UnbindPhase::Begin,
        UnbindPhase::NodesUnplugged,
        UnbindPhase::Drained,
        UnbindPhase::Removed,
        UnbindPhase::IrqsFreed,
        UnbindPhase::ResourcesReleased,
        UnbindPhase::Done,
    ] {
        let (k, t) = setup(Style::Framework);
        let line = k.irq().line(t.hw().irq().unwrap()).unwrap();
        raise_at(&k, &t, phase);
        k.sysfs_unbind(t.driver(), t.device.name()).unwrap();
        let s = line.stats();
        if matches!(phase, UnbindPhase::Begin | UnbindPhase::NodesUnplugged) {
            // Still bound (the binding gate is open): the handler may run.
            assert_eq!(s.handled, 1, "{phase:?} {s:?}");
        } else {
            assert_eq!(s.delivered, 0, "{phase:?}");
            assert_eq!(s.gated + s.unhandled, 1, "{phase:?} {s:?}");
        }
        assert_silent(&k);
        k.clear_unbind_hook();
        finish(k, t);
    }
}

#[test]
fn data_path_works_before_unbind() {
    for style in [Style::Framework, Style::Legacy] {
        let (k, t) = setup(style);
        let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
        for _ in 0..3 {
            f.ioctl(testdrv::IOC_TRIGGER, &mut []).unwrap();
        }
        f.ioctl(testdrv::IOC_WAIT, &mut 3u32.to_le_bytes()).unwrap();
        let mut b = [0u8; 16];
        assert_eq!(f.read(&mut b), Ok(12));
        let w: Vec<u32> = b[..12]
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(w, [0x1001, 0x1002, 0x1003]);
        let mut st = [0u8; 16];
        f.ioctl(testdrv::IOC_STATS, &mut st).unwrap();
        assert_eq!(u64::from_le_bytes(st[..8].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(st[8..].try_into().unwrap()), 3);
        assert_eq!(f.ioctl(testdrv::IOC_STATS, &mut [0; 8]), Err(Errno::EFAULT));
        assert_eq!(f.ioctl(0xdead, &mut []), Err(Errno::ENOTTY));
        assert_eq!(f.read(&mut [0; 3]), Err(Errno::EINVAL));
        drop(f);
        assert_silent(&k);
        finish(k, t);
    }
}

#[test]
fn mapping_across_unbind() {
    for style in [Style::Framework, Style::Legacy] {
        let (k, t) = setup(style);
        let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
        let m = f
            .mmap(MmapRequest {
                offset: 0,
                len: testdrv::MEM_SIZE,
                write: true,
            })
            .unwrap();
        m.write(100, b"abc").unwrap();
        drop(f);
        k.hot_unplug(&t.device).unwrap();
        // The application still uses its mapping.
        let mut b = [0u8; 3];
        m.read(100, &mut b).unwrap();
        assert_eq!(&b, b"abc");
        match style {
            Style::Framework => assert_silent(&k),
            // The buffer lived in devm memory: the access is a use-after-free.
            Style::Legacy => assert!(count(&k, ReportKind::UseAfterFree) >= 1),
        }
        drop(m);
        finish(k, t);
    }
}

/// Leak accounting: after many plug/unplug cycles with files and mappings
/// closed at various points, nothing is alive.
#[test]
fn plug_unplug_cycles_leave_nothing_behind() {
    let k = Kernel::new();
    let mut t = testdrv::setup(&k, Style::Framework).unwrap();
    for i in 0..100u32 {
        let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
        let m = (i % 2 == 0).then(|| {
            f.mmap(MmapRequest {
                offset: 0,
                len: 64,
                write: false,
            })
            .unwrap()
        });
        f.ioctl(testdrv::IOC_TRIGGER, &mut []).unwrap();
        match i % 3 {
            0 => k.hot_unplug(&t.device).unwrap(),
            1 => k.sysfs_unbind(t.driver(), t.device.name()).unwrap(),
            _ => k.release_driver(&t.device).map(|_| ()).unwrap(),
        }
        drop(f);
        drop(m);
        if t.device.is_deleted() {
            t.replug().unwrap();
        } else {
            k.sysfs_bind(t.driver(), t.device.name()).unwrap();
        }
        assert!(t.device.is_bound());
        // Exactly one of each live object: the device, its binding, its node, the module.
        for ty in ["device", "binding", "node", "module"] {
            assert_eq!(k.monitor().ledger().live(ty), 1, "{ty} after cycle {i}");
        }
        for ty in ["file", "mapping", "testdrv_state"] {
            assert_eq!(
                k.monitor().ledger().live(ty),
                u64::from(ty == "testdrv_state"),
                "{ty}"
            );
        }
    }
    assert_silent(&k);
    finish(k, t);
}

/// The watchdog names the call that keeps an unplug waiting.
#[test]
fn watchdog_names_the_blocking_call() {
    let k = Kernel::with_config(KernelConfig {
        watchdog: Some(Duration::from_millis(5)),
        ..Default::default()
    });
    let t = testdrv::setup(&k, Style::Framework).unwrap();
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    let stall = t.hw().stall_thread("slow-user");
    let user = spawn("slow-user", move || {
        f.ioctl(testdrv::IOC_HWOP, &mut 1u32.to_le_bytes())
    });
    assert!(k.wait_blocked("slow-user", "TESTDRV_HWOP", T));
    let t2 = t.clone();
    let unbinder = spawn("unbinder", move || {
        t2.kernel.sysfs_unbind(t2.driver(), t2.device.name())
    });
    // Wait (bounded) for the watchdog report, then let the call go.
    let deadline = std::time::Instant::now() + T;
    while count(&k, ReportKind::DrainStall) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(stall);
    assert_eq!(user.join().unwrap(), Ok(0));
    unbinder.join().unwrap().unwrap();
    let r = k
        .monitor()
        .reports()
        .all()
        .into_iter()
        .find(|r| r.kind == ReportKind::DrainStall)
        .expect("watchdog report");
    assert!(r.message.contains("slow-user"), "{}", r.message);
    assert!(r.message.contains("TESTDRV_HWOP"), "{}", r.message);
    finish(k, t);
}

struct SelfUnbind {
    result: Arc<Mutex<Option<KResult<()>>>>,
}

struct SelfOps {
    result: Arc<Mutex<Option<KResult<()>>>>,
    dev: String,
}

impl FileOps for SelfOps {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn ioctl(&self, ctx: &OpCtx<'_>, _: &(), _: u32, _: &mut [u8]) -> KResult<i64> {
        let k = ctx.node().parent().unwrap().kernel().unwrap();
        let r = k.sysfs_unbind("selfunbind", &self.dev);
        *self.result.lock() = Some(r);
        Ok(0)
    }
}

impl Driver for SelfUnbind {
    type Data = ();
    fn name(&self) -> &str {
        "selfunbind"
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:selfunbind"]
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
        ctx.register_node(
            NodeSpec::new(NodeKind::Misc).name("self0"),
            Arc::new(SelfOps {
                result: self.result.clone(),
                dev: ctx.device().name().to_owned(),
            }),
        )?;
        Ok(())
    }
    fn remove(&self, _: &RemoveCtx<'_>, _: &()) {}
}

/// An unbind requested from inside a call on the device's own node would wait
/// for itself: it is refused with EDEADLK, and nothing is torn down.
#[test]
fn unbind_from_inside_own_call_is_refused() {
    let k = Kernel::new();
    let result = Arc::new(Mutex::new(None));
    k.register_driver(
        SelfUnbind {
            result: result.clone(),
        },
        None,
    )
    .unwrap();
    let dev = k
        .add_device(DeviceSpec::platform("selfunbind", 0).irq(false))
        .unwrap();
    let f = k.open("self0", OpenFlags::RDWR).unwrap();
    assert_eq!(f.ioctl(1, &mut []), Ok(0));
    assert_eq!(*result.lock(), Some(Err(Errno::EDEADLK)));
    assert!(dev.is_bound());
    assert!(!f.node().is_unplugged());
    drop(f);
    k.sysfs_unbind("selfunbind", dev.name()).unwrap();
    assert_silent(&k);
    k.shutdown();
    drop(dev);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

/// A work item queued before the unbind runs after it: the framework
/// cancels the binding's work at unbind; the legacy driver never does, and
/// its late run touches removed hardware and freed state.
#[test]
fn deferred_work_across_unbind() {
    for style in [Style::Framework, Style::Legacy] {
        let (k, t) = setup(style);
        let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
        // While bound, the work runs.
        assert_eq!(f.ioctl(testdrv::IOC_DEFER, &mut []), Ok(1));
        let sentinel = k.system_wq().work("sentinel", None, |_| ());
        assert!(sentinel.schedule());
        sentinel.flush();
        let mut st = [0u8; 24];
        f.ioctl(testdrv::IOC_STATS, &mut st).unwrap();
        assert_eq!(u64::from_le_bytes(st[16..].try_into().unwrap()), 1);
        // Keep the worker busy so that the driver's work stays queued.
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let go_rx = Mutex::new(go_rx);
        let blocker = k.system_wq().work("blocker", None, move |_| {
            let _ = started_tx.send(());
            let _ = go_rx.lock().recv();
        });
        assert!(blocker.schedule());
        started_rx.recv().unwrap();
        assert_eq!(f.ioctl(testdrv::IOC_DEFER, &mut []), Ok(1));
        assert_eq!(
            f.ioctl(testdrv::IOC_DEFER, &mut []),
            Ok(0),
            "already pending"
        );
        k.sysfs_unbind(t.driver(), t.device.name()).unwrap();
        go_tx.send(()).unwrap();
        // Work items run in order: once this one ran, the driver's did (or
        // was cancelled).
        assert!(sentinel.schedule());
        sentinel.flush();
        match style {
            Style::Framework => assert_silent(&k),
            Style::Legacy => {
                assert!(count(&k, ReportKind::HwAfterRemove) >= 1);
                assert!(count(&k, ReportKind::UseAfterFree) >= 1);
            }
        }
        drop(f);
        finish(k, t);
    }
}
