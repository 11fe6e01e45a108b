//! The media node on the model's character devices: errno policy after
//! unregistration, files pinning the media device, unregistration draining
//! calls in flight, and races R1/R2 (docs/rules.md) in both styles: the
//! framework style passes with silent checkers, the legacy style makes the
//! instrumented media device report the use after free.

mod mc_util;

use devlife::Monitor;
use devlife::check::ReportKind;
use devlife_media::legacy::OwnerFreedMedia;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::{AddressSpace, Fault, UserMemory, Wire, get_str, with_current_mm};
use devlife_media::uapi::media::*;
use devlife_model::{Errno, FaultPoint, Kernel, KernelConfig, OpenFlags, PollMask};
use mc_util::*;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// A hang guard only: every wait below is for an event that must happen.
const HANG: Duration = Duration::from_secs(60);

fn kernel() -> (Kernel, Monitor) {
    let m = Monitor::new();
    (Kernel::with_monitor(KernelConfig::default(), m.clone()), m)
}

fn registered_vimc(k: &Kernel, m: &Monitor, style: Style) -> Vimc {
    vimc_with(m, style, |md| md.register(k, RegisterOptions::default())).unwrap()
}

fn device_info(f: &devlife_model::File) -> Result<MediaDeviceInfo, Errno> {
    let mut b = MediaDeviceInfo::ZERO.to_vec();
    f.ioctl(MEDIA_IOC_DEVICE_INFO, &mut b)?;
    Ok(MediaDeviceInfo::decode(&b))
}

#[test]
fn media_node_ioctls_and_the_errno_policy_after_unregistration() {
    let (k, m) = kernel();
    let v = registered_vimc(&k, &m, Style::Framework);
    let node = v.mdev.node().unwrap();
    assert_eq!(node.name(), "media0");
    let f = k.open("/dev/media0", OpenFlags::RDWR).unwrap();
    assert_eq!(v.mdev.open_files(), 1);
    let info = device_info(&f).unwrap();
    assert_eq!(get_str(&info.driver), "vimc");
    assert_eq!(get_str(&info.bus_info), "platform:vimc");
    assert_eq!(info.media_version, MEDIA_API_VERSION);
    assert_eq!(info.reserved, [0; 31]);
    // Embedded pointers resolve against the caller's memory.
    let mm = Arc::new(AddressSpace::new());
    let mut t = MediaV2Topology {
        num_entities: 11,
        ptr_entities: mm.map(11 * MediaV2Entity::SIZE),
        ..MediaV2Topology::ZERO
    };
    let mut b = t.to_vec();
    with_current_mm(mm.clone(), || f.ioctl(MEDIA_IOC_G_TOPOLOGY, &mut b)).unwrap();
    t = MediaV2Topology::decode(&b);
    assert_eq!({ t.num_links }, 21);
    let e0 = MediaV2Entity::decode(&mm.read_back(t.ptr_entities, MediaV2Entity::SIZE).unwrap());
    assert_eq!(get_str(&e0.name), "Sensor A");
    // Without caller memory the pointer faults.
    assert_eq!(f.ioctl(MEDIA_IOC_G_TOPOLOGY, &mut b), Err(Errno::EFAULT));
    // Unknown command, wrong size (the nr exists), short argument.
    assert_eq!(f.ioctl(0xc0047c07, &mut [0; 4]), Err(Errno::ENOTTY));
    assert_eq!(f.ioctl(0xc0047c04, &mut [0; 4]), Err(Errno::ENOTTY));
    assert_eq!(
        f.ioctl(MEDIA_IOC_DEVICE_INFO, &mut [0; 255]),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        f.ioctl(MEDIA_IOC_REQUEST_ALLOC, &mut [0; 4]),
        Err(Errno::ENOTTY)
    );
    assert_eq!(f.read(&mut [0; 4]), Err(Errno::EINVAL), "no read handler");
    assert_eq!(
        f.poll(PollMask::IN, Some(Duration::ZERO)).unwrap(),
        PollMask::IN,
        "DEFAULT_POLLMASK"
    );

    v.mdev.unregister();
    assert_eq!(v.mdev.state(), MediaDeviceState::UnregisteredInUse);
    assert_eq!(device_info(&f).err(), Some(Errno::EIO));
    // No read operation: EINVAL, before and after unregistration (mainline).
    assert_eq!(f.read(&mut [0; 4]), Err(Errno::EINVAL));
    assert_eq!(
        f.poll(PollMask::IN, Some(Duration::ZERO)).unwrap(),
        PollMask::ERR | PollMask::HUP
    );
    assert_eq!(k.open("media0", OpenFlags::RDWR).err(), Some(Errno::ENOENT));
    assert_eq!(node.open(OpenFlags::RDWR).err(), Some(Errno::ENXIO));
    drop(f);
    assert_eq!(v.mdev.state(), MediaDeviceState::UnregisteredNotInUse);
    let weak = v.mdev.downgrade();
    drop(node);
    drop(v);
    assert_eq!(weak.state(), MediaDeviceState::Released);
    assert_eq!(m.ledger().live("node"), 0);
    assert_eq!(m.ledger().live("media_device"), 0);
    assert!(m.reports().is_empty());
}

/// R2 fixed: an open `/dev/mediaN` pins the media device. Its release
/// callback (the driver's kfree) runs only after the last file closes, while
/// the legacy driver frees it at unbind with the file still open.
#[test]
fn r2_an_open_media_fd_pins_the_media_device() {
    for style in [Style::Framework, Style::Legacy] {
        let (k, m) = kernel();
        let v = registered_vimc(&k, &m, style);
        let released = Arc::new(AtomicBool::new(false));
        let r = released.clone();
        v.mdev.set_release(move || r.store(true, Ordering::SeqCst));
        let f = k.open("media0", OpenFlags::RDWR).unwrap();
        // Unbind: unregister, then the driver's last put / kfree.
        v.mdev.unregister();
        v.mdev.legacy_free();
        let weak = v.mdev.downgrade();
        drop(v);
        match style {
            Style::Framework => {
                assert!(!released.load(Ordering::SeqCst), "pinned by the open file");
                assert_eq!(weak.state(), MediaDeviceState::UnregisteredInUse);
            }
            Style::Legacy => {
                assert_eq!(
                    weak.state(),
                    MediaDeviceState::Released,
                    "freed under an open fd"
                );
            }
        }
        // A stale fd gets EIO either way (the entry check saves it here).
        assert_eq!(device_info(&f).err(), Some(Errno::EIO));
        drop(f);
        assert!(released.load(Ordering::SeqCst));
        assert!(m.reports().is_empty());
        assert_eq!(m.ledger().live("media_device"), 0);
    }
}

/// R1: an ioctl passes the node's check, then the driver unregisters and
/// frees the media device, then the ioctl uses it.
fn r1(style: Style) -> (Result<i64, Errno>, usize, Monitor) {
    let (k, m) = kernel();
    let v = registered_vimc(&k, &m, style);
    let f = k.open("media0", OpenFlags::RDWR).unwrap();
    let (at_point_tx, at_point_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let ioctl = std::thread::Builder::new()
        .name("r1-ioctl".into())
        .spawn(move || {
            let g = go_rx.clone();
            preempt::with_hook(
                move |p| {
                    if p == preempt::MEDIA_IOCTL {
                        at_point_tx.send(()).unwrap();
                        let _ = g.lock().recv();
                    }
                },
                || {
                    let mut b = MediaDeviceInfo::ZERO.to_vec();
                    f.ioctl(MEDIA_IOC_DEVICE_INFO, &mut b)
                },
            )
        })
        .unwrap();
    at_point_rx.recv().unwrap();
    // The driver goes away while the ioctl is between check and use.
    let mdev = v.mdev.clone();
    let unbind = std::thread::Builder::new()
        .name("r1-unbind".into())
        .spawn(move || {
            mdev.unregister();
            mdev.legacy_free();
        })
        .unwrap();
    if style == Style::Framework {
        // The unregistration drains the node: it waits for the ioctl.
        assert!(k.wait_blocked("r1-unbind", "unplug", HANG));
        assert_eq!(v.mdev.node().unwrap().in_flight(), 1);
    } else {
        while !v.mdev.is_freed() {
            std::thread::yield_now();
        }
    }
    go_tx.send(()).unwrap();
    let r = ioctl.join().unwrap();
    unbind.join().unwrap();
    drop(v);
    let uaf = m.reports().count(ReportKind::UseAfterFree);
    (r, uaf, m)
}

#[test]
fn r1_media_ioctl_check_then_use() {
    let (r, uaf, m) = r1(Style::Framework);
    assert_eq!(
        r,
        Ok(0),
        "the call in flight completes; unregistration waited"
    );
    assert_eq!(uaf, 0);
    assert!(m.reports().is_empty());
    assert_eq!(m.ledger().live("media_device"), 0);

    let (_, uaf, m) = r1(Style::Legacy);
    assert!(
        uaf >= 1,
        "the legacy media node uses the freed media device"
    );
    let rep = &m.reports().all()[0];
    assert!(
        rep.message.contains("media_device(VIMC MDEV)"),
        "{}",
        rep.message
    );
    assert!(rep.site.unwrap().file().contains("mc"), "{:?}", rep.site);
}

/// A user memory whose first write faults in slowly (sleeps until told).
struct SlowPage {
    inner: AddressSpace,
    entered: Mutex<Option<mpsc::Sender<()>>>,
    go: Mutex<mpsc::Receiver<()>>,
}

impl UserMemory for SlowPage {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.inner.read(addr, buf)
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        if let Some(tx) = self.entered.lock().take() {
            tx.send(()).unwrap();
            let _ = self.go.lock().recv();
        }
        self.inner.write(addr, data)
    }
}

/// Unregistration while G_TOPOLOGY sleeps in a page fault holding the graph
/// lock: the node's drain waits for it, the call completes with the full
/// topology, later calls get EIO, nothing is freed under it.
#[test]
fn unregistration_drains_a_sleeping_ioctl() {
    let (k, m) = kernel();
    let v = registered_vimc(&k, &m, Style::Framework);
    let f = k.open("media0", OpenFlags::RDWR).unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let mm = Arc::new(SlowPage {
        inner: AddressSpace::new(),
        entered: Mutex::new(Some(entered_tx)),
        go: Mutex::new(go_rx),
    });
    let arr = mm.inner.map(11 * MediaV2Entity::SIZE);
    let f2 = f.dup();
    let mm2 = mm.clone();
    let caller = std::thread::spawn(move || {
        let mut t = MediaV2Topology {
            num_entities: 11,
            ptr_entities: arr,
            ..MediaV2Topology::ZERO
        };
        let mut b = t.to_vec();
        let r = with_current_mm(mm2, || f2.ioctl(MEDIA_IOC_G_TOPOLOGY, &mut b));
        t = MediaV2Topology::decode(&b);
        (r, { t.num_entities })
    });
    entered_rx.recv().unwrap();
    let mdev = v.mdev.clone();
    let unbind = std::thread::Builder::new()
        .name("unbind".into())
        .spawn(move || mdev.unregister())
        .unwrap();
    assert!(k.wait_blocked("unbind", "unplug", HANG));
    go_tx.send(()).unwrap();
    assert_eq!(caller.join().unwrap(), (Ok(0), 11));
    unbind.join().unwrap();
    assert_eq!(device_info(&f).err(), Some(Errno::EIO));
    let e0 = MediaV2Entity::decode(&mm.inner.read_back(arr, MediaV2Entity::SIZE).unwrap());
    assert_eq!(get_str(&e0.name), "Sensor A");
    drop(f);
    drop(v);
    assert_eq!(m.ledger().live("media_device"), 0);
    assert!(m.reports().is_empty());
}

#[test]
fn registration_once_and_failure_unwinds() {
    let (k, m) = kernel();
    let mdev = MediaDevice::new(&m, vimc_info());
    k.faults().fail_nth(FaultPoint::MinorAlloc, 1);
    assert_eq!(
        mdev.register(&k, RegisterOptions::default()),
        Err(Errno::ENFILE)
    );
    assert_eq!(mdev.state(), MediaDeviceState::Allocated);
    assert!(mdev.node().is_none());
    assert_eq!(mdev.register_once(&k, RegisterOptions::default()), Ok(true));
    assert_eq!(
        mdev.register_once(&k, RegisterOptions::default()),
        Ok(false)
    );
    assert_eq!(
        mdev.register(&k, RegisterOptions::default()),
        Err(Errno::EBUSY)
    );
    assert_eq!(k.nodes().len(), 1);
    mdev.unregister();
    mdev.unregister();
    assert!(k.nodes().is_empty());
    assert_eq!(
        mdev.register(&k, RegisterOptions::default()),
        Err(Errno::ENODEV)
    );
    // A second media device gets the next name, the first one's is free again.
    let other = MediaDevice::new(&m, vimc_info());
    other.register(&k, RegisterOptions::default()).unwrap();
    assert_eq!(other.node().unwrap().name(), "media0");
    other.unregister();
}

/// Plug/unplug cycles with readers racing the unregistration: every call
/// either succeeds or gets the media policy's errno, nothing is reported, and
/// every object is released at the end of each cycle (memory stays flat).
#[test]
fn cycles_of_ioctls_racing_unregistration() {
    let (k, m) = kernel();
    for cycle in 0..40 {
        let v = registered_vimc(&k, &m, Style::Framework);
        let (started_tx, started_rx) = mpsc::channel();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (k, tx) = (k.clone(), started_tx.clone());
                std::thread::spawn(move || {
                    let f = k.open("media0", OpenFlags::RDWR).unwrap();
                    let mm = Arc::new(AddressSpace::new());
                    let ents = mm.map(11 * MediaV2Entity::SIZE);
                    let mut n = 0u32;
                    loop {
                        let mut t = MediaV2Topology {
                            num_entities: 11,
                            ptr_entities: ents,
                            ..MediaV2Topology::ZERO
                        };
                        let mut b = t.to_vec();
                        let r =
                            with_current_mm(mm.clone(), || f.ioctl(MEDIA_IOC_G_TOPOLOGY, &mut b));
                        match r {
                            Ok(_) => {
                                t = MediaV2Topology::decode(&b);
                                assert!({ t.num_entities } <= 11);
                            }
                            Err(e) => {
                                assert_eq!(e, Errno::EIO);
                                break;
                            }
                        }
                        n += 1;
                        if n == 1 {
                            tx.send(()).unwrap();
                        }
                    }
                    n
                })
            })
            .collect();
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        if cycle % 2 == 1 {
            v.mdev.unregister_entity(v.entity("Scaler"));
        }
        v.mdev.unregister();
        for r in readers {
            assert!(r.join().unwrap() >= 1);
        }
        drop(v);
        assert_eq!(m.ledger().live("media_device"), 0, "cycle {cycle}");
        assert_eq!(m.ledger().live("media_entity"), 0);
        assert_eq!(m.ledger().live("media_interface"), 0);
    }
    assert_eq!(m.ledger().live("node"), 0);
    assert!(m.reports().is_empty());
}
