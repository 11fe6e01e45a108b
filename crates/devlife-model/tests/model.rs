//! Behaviour of the model itself: node kinds and their errnos, minors and
//! names, blocking semantics (EAGAIN, EINTR, poll), sysfs rules, USB and I2C
//! devices, independent kernels.

use devlife_model::legacy::EntryCheck;
mod common;

use common::*;
use devlife_model::testdrv::{self, Style};
use devlife_model::{
    BusChannel, BusKind, DeviceSpec, Driver, Errno, EventQueue, FileOps, KResult, Kernel,
    MmapRequest, NodeKind, NodeSpec, OpCtx, OpenFlags, PollMask, PollTable, ProbeCtx, RemoveCtx,
    UsbInterfaceSpec,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Ops that sleep in `read` until `ready`, and answer everything else.
#[derive(Default)]
struct Nop {
    q: Arc<EventQueue>,
    ready: AtomicBool,
}

impl FileOps for Nop {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn read(&self, ctx: &OpCtx<'_>, _: &(), _: &mut [u8]) -> KResult<usize> {
        ctx.wait_event(&self.q, || self.ready.load(Ordering::Acquire).then_some(0))
    }
    fn write(&self, _: &OpCtx<'_>, _: &(), b: &[u8]) -> KResult<usize> {
        Ok(b.len())
    }
    fn ioctl(&self, _: &OpCtx<'_>, _: &(), _: u32, _: &mut [u8]) -> KResult<i64> {
        Ok(0)
    }
    fn poll(&self, _: &OpCtx<'_>, _: &(), t: &mut PollTable) -> PollMask {
        t.wait(&self.q);
        if self.ready.load(Ordering::Acquire) {
            PollMask::IN
        } else {
            PollMask::NONE
        }
    }
}

#[test]
fn errno_after_unplug_per_node_kind() {
    let k = Kernel::new();
    let cases = [
        (
            NodeKind::Video,
            Errno::ENODEV,
            Errno::ENODEV,
            PollMask::ERR | PollMask::HUP | PollMask::PRI,
        ),
        (
            NodeKind::Subdev,
            Errno::ENODEV,
            Errno::ENODEV,
            PollMask::ERR | PollMask::HUP | PollMask::PRI,
        ),
        (
            NodeKind::Media,
            Errno::ENXIO,
            Errno::EIO,
            PollMask::ERR | PollMask::HUP,
        ),
        (
            NodeKind::Audio,
            Errno::ENODEV,
            Errno::ENODEV,
            PollMask::ERR | PollMask::NVAL,
        ),
        (
            NodeKind::Char,
            Errno::ENODEV,
            Errno::ENODEV,
            PollMask::ERR | PollMask::HUP,
        ),
    ];
    for (kind, open_err, ioctl_err, poll) in cases {
        let mut spec = NodeSpec::new(kind);
        if kind == NodeKind::Char {
            spec = spec.name("char0");
        }
        let reg = k.register_node(spec, Arc::new(Nop::default())).unwrap();
        let node = reg.node().unwrap();
        let f = node.open(OpenFlags::RDWR).unwrap();
        assert_eq!(f.ioctl(1, &mut []), Ok(0));
        reg.unregister().unwrap();
        assert_eq!(
            node.open(OpenFlags::RDWR).unwrap_err(),
            open_err,
            "{kind:?}"
        );
        assert_eq!(f.ioctl(1, &mut []), Err(ioctl_err), "{kind:?}");
        // Media and subdev nodes have no read or write: EINVAL, as mainline.
        let rw_err = if matches!(kind, NodeKind::Media | NodeKind::Subdev) {
            Errno::EINVAL
        } else {
            ioctl_err
        };
        assert_eq!(f.read(&mut [0; 4]), Err(rw_err), "{kind:?}");
        assert_eq!(f.write(&[0; 4]), Err(rw_err), "{kind:?}");
        assert_eq!(f.poll(PollMask::IN, None), Ok(poll), "{kind:?}");
        let r = f.mmap(MmapRequest {
            offset: 0,
            len: 8,
            write: false,
        });
        assert_eq!(r.unwrap_err(), Errno::ENODEV);
    }
    assert_silent(&k);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

#[test]
fn minors_names_and_majors() {
    let k = Kernel::new();
    let reg = |kind| k.register_node(NodeSpec::new(kind), Arc::new(Nop::default()));
    let v0 = reg(NodeKind::Video).unwrap();
    let v1 = reg(NodeKind::Video).unwrap();
    let s0 = reg(NodeKind::Subdev).unwrap();
    let m0 = reg(NodeKind::Media).unwrap();
    let m1 = reg(NodeKind::Media).unwrap();
    assert_eq!(
        (v0.name(), v1.name(), s0.name()),
        ("video0", "video1", "v4l-subdev0")
    );
    // Video and subdev nodes share major 81 and its minors.
    assert_eq!(v0.devt().major, 81);
    assert_eq!(s0.devt().major, 81);
    assert_eq!(
        [v0.devt().minor, v1.devt().minor, s0.devt().minor],
        [0, 1, 2]
    );
    // The media major is dynamic but stable within a kernel.
    assert_eq!(m0.devt().major, m1.devt().major);
    assert_ne!(m0.devt().major, 81);
    // Names and minors are reused after unregistration (stale files keep
    // the old node).
    let old = v0.node().unwrap();
    let f = old.open(OpenFlags::RDWR).unwrap();
    v0.unregister().unwrap();
    let v0b = reg(NodeKind::Video).unwrap();
    assert_eq!(v0b.name(), "video0");
    assert_eq!(v0b.devt().minor, 0);
    assert!(!devlife_model::Node::ptr_eq(&v0b.node().unwrap(), f.node()));
    assert_eq!(f.ioctl(1, &mut []), Err(Errno::ENODEV));
    let g = k.open("/dev/video0", OpenFlags::RDWR).unwrap();
    assert_eq!(g.ioctl(1, &mut []), Ok(0));
    // Bad registrations.
    assert_eq!(
        k.register_node(NodeSpec::new(NodeKind::Misc), Arc::new(Nop::default()))
            .unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.register_node(
            NodeSpec::new(NodeKind::Misc).name("video1"),
            Arc::new(Nop::default())
        )
        .unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(k.open("nope", OpenFlags::RDWR).unwrap_err(), Errno::ENOENT);
    drop((f, g, v1, s0, m0, m1, v0b, old));
    assert!(k.nodes().is_empty());
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

#[test]
fn nonblocking_signals_and_poll() {
    let k = Kernel::new();
    let ops = Arc::new(Nop::default());
    let reg = k
        .register_node(NodeSpec::new(NodeKind::Misc).name("nop"), ops.clone())
        .unwrap();
    let nb = k.open("nop", OpenFlags::RDWR.nonblocking()).unwrap();
    assert_eq!(nb.read(&mut [0; 4]), Err(Errno::EAGAIN));
    let f = k.open("nop", OpenFlags::RDWR).unwrap();
    assert_eq!(
        f.poll(PollMask::IN, Some(std::time::Duration::ZERO)),
        Ok(PollMask::NONE)
    );
    // A signal interrupts a sleeping read.
    let f2 = f.dup();
    let reader = spawn("reader", move || f2.read(&mut [0; 4]));
    assert!(k.wait_blocked("reader", "read", T));
    assert!(k.activity().signal("reader"));
    assert_eq!(reader.join().unwrap(), Err(Errno::EINTR));
    // A blocking poll is woken by the driver's queue.
    let f3 = f.dup();
    let poller = spawn("poller", move || f3.poll(PollMask::IN, None));
    assert!(k.wait_blocked("poller", "poll", T));
    ops.ready.store(true, Ordering::Release);
    ops.q.wake_all();
    assert_eq!(poller.join().unwrap(), Ok(PollMask::IN));
    assert_eq!(f.read(&mut [0; 4]), Ok(0));
    // Opened read-only / write-only.
    let ro = k.open("nop", OpenFlags::RDONLY).unwrap();
    assert_eq!(ro.write(&[1]), Err(Errno::EBADF));
    let wo = k.open("nop", OpenFlags::WRONLY).unwrap();
    assert_eq!(wo.read(&mut [0; 1]), Err(Errno::EBADF));
    drop((nb, f, ro, wo, reg));
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

struct Stubborn;

impl Driver for Stubborn {
    type Data = ();
    fn name(&self) -> &str {
        "stubborn"
    }
    fn bus(&self) -> BusKind {
        BusKind::I2c
    }
    fn id_table(&self) -> &[&str] {
        &["i2c:ov*"]
    }
    fn suppress_bind_attrs(&self) -> bool {
        true
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
        // An I2C transfer during probe (read the chip id).
        let bus = ctx.bus_channel()?;
        let mut id = [0u8; 2];
        bus.access(&ctx.bound())
            .map_err(|_| Errno::EINVAL)?
            .transfer(&mut id)?;
        Ok(())
    }
    fn remove(&self, _: &RemoveCtx<'_>, _: &()) {}
}

#[test]
fn sysfs_rules() {
    let (k, t) = setup(Style::Framework);
    let dev = t.device.name().to_owned();
    assert_eq!(k.sysfs_unbind("nope", &dev), Err(Errno::ENOENT));
    assert_eq!(k.sysfs_unbind(t.driver(), "nope"), Err(Errno::ENODEV));
    assert_eq!(k.sysfs_bind(t.driver(), &dev), Err(Errno::EBUSY));
    k.sysfs_unbind(t.driver(), &dev).unwrap();
    assert_eq!(k.sysfs_unbind(t.driver(), &dev), Err(Errno::ENODEV));
    k.sysfs_bind(t.driver(), &dev).unwrap();
    // The rebound driver registered the node again under the same name.
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    assert_eq!(f.ioctl(testdrv::IOC_PING, &mut []), Ok(0));
    drop(f);

    // suppress_bind_attrs: no bind/unbind files.
    k.register_driver(Stubborn, None).unwrap();
    let cam = k.add_device(DeviceSpec::i2c(1, 0x36, "ov5640")).unwrap();
    assert_eq!(cam.name(), "1-0036");
    assert_eq!(cam.driver_name().as_deref(), Some("stubborn"));
    assert_eq!(k.sysfs_unbind("stubborn", cam.name()), Err(Errno::ENOENT));
    assert_eq!(k.sysfs_bind("stubborn", cam.name()), Err(Errno::ENOENT));
    // It still goes away when the device does.
    k.hot_unplug(&cam).unwrap();
    assert!(!cam.is_bound());
    assert!(cam.is_deleted());
    assert!(k.device("1-0036").is_none());
    // Binding a driver to a device it does not match.
    assert_eq!(k.sysfs_bind(t.driver(), "1-0036"), Err(Errno::ENODEV));
    assert_silent(&k);
    drop(cam);
    finish(k, t);
}

/// A USB interface driver: one node, bulk transfers in `read`.
struct UsbFn {
    name: &'static str,
    class: &'static str,
    kind: NodeKind,
}

struct UsbOps {
    bus: devlife_model::devlife::Devres<BusChannel>,
}

impl FileOps for UsbOps {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn read(&self, _: &OpCtx<'_>, _: &(), buf: &mut [u8]) -> KResult<usize> {
        let ch = self.bus.try_access().map_err(|_| Errno::ENODEV)?;
        ch.transfer(buf)
    }
}

impl Driver for UsbFn {
    type Data = ();
    fn name(&self) -> &str {
        self.name
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        std::slice::from_ref(&self.class)
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<()> {
        let bus = ctx.bus_channel()?;
        ctx.register_node(NodeSpec::new(self.kind), Arc::new(UsbOps { bus }))?;
        Ok(())
    }
    fn remove(&self, _: &RemoveCtx<'_>, _: &()) {}
}

#[test]
fn usb_device_with_two_functions() {
    let k = Kernel::new();
    k.register_driver(
        UsbFn {
            name: "av-video",
            class: "usb:v2040p7200ic0E*",
            kind: NodeKind::Video,
        },
        None,
    )
    .unwrap();
    k.register_driver(
        UsbFn {
            name: "av-audio",
            class: "usb:v2040p7200ic01*",
            kind: NodeKind::Audio,
        },
        None,
    )
    .unwrap();
    let udev = k
        .add_usb_device(
            DeviceSpec::usb("1-1", 0x2040, 0x7200),
            &[
                UsbInterfaceSpec {
                    class: 0x0e,
                    subclass: 1,
                },
                UsbInterfaceSpec {
                    class: 0x01,
                    subclass: 2,
                },
            ],
        )
        .unwrap();
    let ifs = udev.children();
    assert_eq!(ifs.len(), 2);
    assert_eq!(ifs[0].name(), "1-1:1.0");
    assert_eq!(ifs[0].driver_name().as_deref(), Some("av-video"));
    assert_eq!(ifs[1].driver_name().as_deref(), Some("av-audio"));
    assert!(Device::ptr_eq(ifs[0].parent().unwrap(), &udev));
    let v = k.open("video0", OpenFlags::RDWR).unwrap();
    let a = k.open("pcmC0D0c", OpenFlags::RDWR).unwrap();
    assert_eq!(v.read(&mut [0; 8]), Ok(8));
    // Unbind the audio function alone: video keeps working.
    k.sysfs_unbind("av-audio", "1-1:1.1").unwrap();
    assert_eq!(a.read(&mut [0; 8]), Err(Errno::ENODEV));
    assert_eq!(v.read(&mut [0; 8]), Ok(8));
    k.sysfs_bind("av-audio", "1-1:1.1").unwrap();
    // Disconnect: both functions go.
    k.hot_unplug(&udev).unwrap();
    assert!(ifs.iter().all(|i| !i.is_bound() && i.is_deleted()));
    assert_eq!(v.read(&mut [0; 8]), Err(Errno::ENODEV));
    assert!(k.nodes().is_empty());
    assert!(k.devices().is_empty());
    drop((v, a, ifs));
    let w = udev.downgrade();
    drop(udev);
    assert!(
        w.upgrade().is_none(),
        "device released on its last reference"
    );
    assert_silent(&k);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

use devlife_model::Device;

#[test]
fn usb_authorize_deletes_and_recreates_the_interfaces() {
    let k = Kernel::new();
    k.register_driver(
        UsbFn {
            name: "av-audio",
            class: "usb:v2040p7200ic01*",
            kind: NodeKind::Audio,
        },
        None,
    )
    .unwrap();
    let udev = k
        .add_usb_device(
            DeviceSpec::usb("1-1", 0x2040, 0x7200),
            &[UsbInterfaceSpec {
                class: 0x01,
                subclass: 2,
            }],
        )
        .unwrap();
    let a = k.open("pcmC0D0c", OpenFlags::RDWR).unwrap();
    let old = udev.children();
    assert!(udev.is_authorized());
    assert_eq!(k.usb_authorize(&old[0], false), Err(Errno::EINVAL));
    // 0: the interface is unbound and deleted, the device stays.
    k.usb_authorize(&udev, false).unwrap();
    assert!(!udev.is_authorized());
    assert!(old[0].is_deleted() && !old[0].is_bound());
    assert!(udev.children().iter().all(Device::is_deleted));
    assert_eq!(
        k.devices().iter().map(Device::name).collect::<Vec<_>>(),
        ["1-1"]
    );
    assert_eq!(a.read(&mut [0; 8]), Err(Errno::ENODEV));
    assert!(k.nodes().is_empty());
    k.usb_authorize(&udev, false).unwrap();
    // 1: a new interface with the same name and match string; the driver probes.
    k.usb_authorize(&udev, true).unwrap();
    k.usb_authorize(&udev, true).unwrap();
    let new = udev.children();
    assert_eq!(new.len(), 1);
    assert!(!Device::ptr_eq(&new[0], &old[0]));
    assert_eq!(new[0].name(), "1-1:1.0");
    assert_eq!(new[0].modalias(), old[0].modalias());
    assert_eq!(new[0].property("bInterfaceNumber"), Some("00"));
    assert_eq!(new[0].driver_name().as_deref(), Some("av-audio"));
    let b = k.open("pcmC0D0c", OpenFlags::RDWR).unwrap();
    assert_eq!(b.read(&mut [0; 8]), Ok(8));
    drop((a, b, old, new));
    // Unplugged: nothing to authorize.
    k.hot_unplug(&udev).unwrap();
    assert_eq!(k.usb_authorize(&udev, true), Err(Errno::ENODEV));
    drop(udev);
    assert_silent(&k);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

#[test]
fn kernels_are_independent() {
    let (k1, t1) = setup(Style::Framework);
    let (k2, t2) = setup(Style::Framework);
    assert_eq!(t1.node_name(), t2.node_name());
    let f1 = k1.open(&t1.node_name(), OpenFlags::RDWR).unwrap();
    let f2 = k2.open(&t2.node_name(), OpenFlags::RDWR).unwrap();
    k1.hot_unplug(&t1.device).unwrap();
    assert_eq!(f1.ioctl(testdrv::IOC_PING, &mut []), Err(Errno::ENODEV));
    assert_eq!(f2.ioctl(testdrv::IOC_PING, &mut []), Ok(0));
    drop((f1, f2));
    assert_silent(&k1);
    assert_silent(&k2);
    finish(k1, t1);
    finish(k2, t2);
}

#[test]
fn device_release_callback_runs_on_last_reference() {
    let (k, t) = setup(Style::Framework);
    let released = Arc::new(AtomicBool::new(false));
    let r2 = released.clone();
    t.device
        .set_release(move || r2.store(true, Ordering::SeqCst));
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    let extra = t.device.clone();
    k.hot_unplug(&t.device).unwrap();
    drop(t);
    assert!(!released.load(Ordering::SeqCst), "still referenced");
    drop(extra);
    // The node holds its parent weakly: the open file does not pin the device.
    assert!(released.load(Ordering::SeqCst));
    assert!(f.node().parent().is_none());
    drop(f);
    k.shutdown();
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

/// With `trace_gates`, every call is in the journal; and every call is
/// labelled, so the gate names the operation a blocked thread is in.
#[test]
fn traced_and_labelled_calls() {
    use devlife_model::KernelConfig;
    use devlife_model::devlife::check::EventKind;
    let k = Kernel::with_config(KernelConfig {
        trace_gates: true,
        ..Default::default()
    });
    let t = testdrv::setup(&k, Style::Framework).unwrap();
    let node = t.node().unwrap();
    let f = k.open(&t.node_name(), OpenFlags::RDWR).unwrap();
    f.ioctl(testdrv::IOC_PING, &mut []).unwrap();
    let kinds = k.monitor().journal().kinds(node.gate().id());
    assert!(
        kinds.iter().filter(|e| **e == EventKind::Enter).count() >= 2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|e| **e == EventKind::Enter).count(),
        kinds.iter().filter(|e| **e == EventKind::Exit).count()
    );
    let f2 = f.dup();
    let reader = spawn("labelled-reader", move || f2.read(&mut [0; 4]));
    assert!(k.wait_blocked("labelled-reader", "read", T));
    let b = node.gate().blockers();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].thread, "labelled-reader");
    assert_eq!(b[0].label, Some("read"));
    k.hot_unplug(&t.device).unwrap();
    assert_eq!(reader.join().unwrap(), Err(Errno::ENODEV));
    drop((f, node));
    assert_silent(&k);
    finish(k, t);
}

/// The hang checker: a legacy node's sleeper is not woken by unplug (only
/// the driver could wake it); a framework node's sleeper always is.
#[test]
fn hang_checker() {
    use devlife_model::devlife::check::ReportKind;
    for legacy in [false, true] {
        let k = Kernel::new();
        let ops = Arc::new(Nop::default());
        let spec = NodeSpec::new(NodeKind::Misc).name("sleepy");
        let spec = if legacy { spec.entry_check() } else { spec };
        let reg = k.register_node(spec, ops.clone()).unwrap();
        let f = k.open("sleepy", OpenFlags::RDWR).unwrap();
        let f2 = f.dup();
        let reader = spawn("sleeper", move || f2.read(&mut [0; 4]));
        assert!(k.wait_blocked("sleeper", "read", T));
        reg.unregister().unwrap();
        if legacy {
            assert_eq!(k.check_hangs(), 1);
            let r = &k.monitor().reports().all()[0];
            assert_eq!(r.kind, ReportKind::Hang);
            assert!(r.message.contains("sleeper"), "{}", r.message);
            // Only the driver can end it.
            ops.ready.store(true, Ordering::Release);
            ops.q.wake_all();
            assert_eq!(reader.join().unwrap(), Ok(0));
        } else {
            assert_eq!(reader.join().unwrap(), Err(Errno::ENODEV));
            assert_eq!(k.check_hangs(), 0);
            assert_silent(&k);
        }
        drop(f);
        assert_eq!(k.check_hangs(), 0);
        assert!(k.leaks().is_empty(), "{:?}", k.leaks());
    }
}

/// Ops whose poll reports ERR once the node is unplugging (as vb2 does for a
/// queue the unplug killed) and nothing before.
#[derive(Default)]
struct DeadOnUnplug {
    q: Arc<EventQueue>,
}

impl FileOps for DeadOnUnplug {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn poll(&self, ctx: &OpCtx<'_>, _: &(), t: &mut PollTable) -> PollMask {
        t.wait(&self.q);
        if ctx.is_unplugging() {
            PollMask::ERR
        } else {
            PollMask::NONE
        }
    }
}

/// A poll sleeper woken by unplug answers what a fresh poll answers after
/// it (the node's gone mask), not the driver's view of its dead state.
#[test]
fn a_poll_sleeper_woken_by_unplug_gets_the_gone_mask() {
    let k = Kernel::new();
    let reg = k
        .register_node(
            NodeSpec::new(NodeKind::Video),
            Arc::new(DeadOnUnplug::default()),
        )
        .unwrap();
    let node = reg.node().unwrap();
    let f = node.open(OpenFlags::RDWR).unwrap();
    let f2 = f.dup();
    let sleeper = std::thread::Builder::new()
        .name("poller".into())
        .spawn(move || f2.poll(PollMask::IN, None))
        .unwrap();
    assert!(k.wait_blocked("poller", "poll", T));
    reg.unregister().unwrap();
    let gone = PollMask::ERR | PollMask::HUP | PollMask::PRI;
    assert_eq!(sleeper.join().unwrap(), Ok(gone));
    assert_eq!(f.poll(PollMask::IN, None), Ok(gone));
    drop(f);
    assert_silent(&k);
}
