//! The Media Device Allocator (docs/proposals.md#allocator): one media device per parent shared
//! by two drivers (au0828 + snd-usb-audio), the five states, the last driver
//! unregistering, a rebinding driver getting a fresh media device, and R6
//! (the legacy allocator frees the media device under an open node).

mod mc_util;

use devlife::Monitor;
use devlife::check::ReportKind;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::media::*;
use devlife_model::{Errno, Kernel, KernelConfig, OpenFlags};
use mc_util::*;
use parking_lot::Mutex;
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

/// A hang guard only.
const HANG: Duration = Duration::from_secs(60);

fn kernel() -> (Kernel, Monitor) {
    let m = Monitor::new();
    (Kernel::with_monitor(KernelConfig::default(), m.clone()), m)
}

fn usb() -> ParentInfo {
    ParentInfo::new(7, "Hauppauge HVR-950Q").bus_info("usb-0000:00:14.0-1")
}

fn device_info(f: &devlife_model::File) -> Result<MediaDeviceInfo, Errno> {
    let mut b = MediaDeviceInfo::ZERO.to_vec();
    f.ioctl(MEDIA_IOC_DEVICE_INFO, &mut b)?;
    Ok(MediaDeviceInfo::decode(&b))
}

fn audio_entity(m: &Monitor) -> Entity {
    Entity::new(
        m,
        EntityDesc::new("Audio Capture", MEDIA_ENT_F_AUDIO_CAPTURE, EntityType::Base)
            .pads(&[MEDIA_PAD_FL_SINK]),
        NoOps,
    )
    .unwrap()
}

/// The instance of `md` in the allocator's report.
fn instance(a: &MediaDeviceAllocator, md: &WeakMediaDevice) -> InstanceInfo {
    let target = md.upgrade();
    a.instances()
        .into_iter()
        .find(|i| match (&target, i.mdev.upgrade()) {
            (Some(t), Some(x)) => MediaDevice::ptr_eq(t, &x),
            _ => false,
        })
        .expect("instance reported")
}

#[test]
fn the_five_states_with_two_drivers() {
    let (k, m) = kernel();
    let a = MediaDeviceAllocator::new(&m);
    // au0828 probes: Allocated, then it registers.
    let au = a.allocate(&usb(), "au0828").unwrap();
    let weak = au.downgrade();
    assert_eq!(weak.state(), MediaDeviceState::Allocated);
    assert!(au.register_once(&k, RegisterOptions::default()).unwrap());
    assert_eq!(weak.state(), MediaDeviceState::Registered);
    // snd-usb-audio probes: the same media device, already registered.
    let snd = a.allocate(&usb(), "snd-usb-audio").unwrap();
    assert!(MediaDevice::ptr_eq(&au, &snd));
    assert!(!snd.register_once(&k, RegisterOptions::default()).unwrap());
    assert_eq!(
        instance(&a, &weak).drivers,
        vec!["au0828".to_owned(), "snd-usb-audio".to_owned()]
    );
    let info = au.device_info();
    assert_eq!(devlife_media::uapi::ioctl::get_str(&info.driver), "au0828");
    assert_eq!(
        devlife_media::uapi::ioctl::get_str(&info.model),
        "Hauppauge HVR-950Q"
    );
    let audio = audio_entity(&m);
    snd.register_entity(&audio).unwrap();
    let f = k.open("media0", OpenFlags::RDWR).unwrap();

    // au0828 leaves first: nothing is unregistered.
    assert!(!a.delete(&au, "au0828").unwrap());
    drop(au);
    assert_eq!(weak.state(), MediaDeviceState::Registered);
    assert!(device_info(&f).is_ok());

    // snd-usb-audio leaves last: it unregisters. The open file keeps the
    // media device: Unregistered, in use.
    snd.unregister_entity(&audio);
    assert!(a.delete(&snd, "snd-usb-audio").unwrap());
    drop(snd);
    let i = instance(&a, &weak);
    assert!(!i.live);
    assert_eq!(i.state, MediaDeviceState::UnregisteredInUse);
    assert_eq!(device_info(&f).err(), Some(Errno::EIO));
    assert!(a.lookup(7).is_none());

    // The file closes; the entity (not yet released by its driver) still
    // holds the memory: Unregistered, not in use.
    drop(f);
    assert_eq!(
        instance(&a, &weak).state,
        MediaDeviceState::UnregisteredNotInUse
    );
    // The last reference goes: Released, reported once, then forgotten.
    drop(audio);
    assert_eq!(weak.state(), MediaDeviceState::Released);
    let released: Vec<_> = a
        .instances()
        .into_iter()
        .filter(|i| i.state == MediaDeviceState::Released)
        .collect();
    assert_eq!(released.len(), 1);
    assert!(a.instances().is_empty());
    assert_eq!(m.ledger().live("media_device"), 0);
    assert!(m.reports().is_empty());
}

#[test]
fn a_rebinding_driver_never_gets_a_media_device_on_its_way_out() {
    let (k, m) = kernel();
    let a = MediaDeviceAllocator::new(&m);
    let old = a.allocate(&usb(), "au0828").unwrap();
    old.register_once(&k, RegisterOptions::default()).unwrap();
    let f = k.open("media0", OpenFlags::RDWR).unwrap();
    assert!(a.delete(&old, "au0828").unwrap());
    let old_weak = old.downgrade();
    drop(old);
    assert_eq!(old_weak.state(), MediaDeviceState::UnregisteredInUse);

    // au0828 binds again (e.g. sysfs bind) while the old one is still in use.
    let new = a.allocate(&usb(), "au0828").unwrap();
    assert_eq!(new.state(), MediaDeviceState::Allocated);
    assert!(
        !old_weak
            .upgrade()
            .is_some_and(|o| MediaDevice::ptr_eq(&o, &new))
    );
    assert!(new.register_once(&k, RegisterOptions::default()).unwrap());
    assert_eq!(
        new.node().unwrap().name(),
        "media0",
        "the old name was freed"
    );
    let g = k.open("media0", OpenFlags::RDWR).unwrap();
    assert!(device_info(&g).is_ok());
    assert_eq!(device_info(&f).err(), Some(Errno::EIO), "the stale fd");
    drop(f);
    assert_eq!(old_weak.state(), MediaDeviceState::Released);
    drop(g);
    assert!(a.delete(&new, "au0828").unwrap());
    drop(new);
    assert_eq!(m.ledger().live("media_device"), 0);
}

#[test]
fn concurrent_probes_share_one_device_registered_once() {
    for _ in 0..20 {
        let (k, m) = kernel();
        let a = Arc::new(MediaDeviceAllocator::new(&m));
        let b = Arc::new(Barrier::new(2));
        let probe = |name: &'static str| {
            let (a, b, k) = (a.clone(), b.clone(), k.clone());
            std::thread::spawn(move || {
                b.wait();
                let md = a.allocate(&usb(), name).unwrap();
                let first = md.register_once(&k, RegisterOptions::default()).unwrap();
                (md, first)
            })
        };
        let t1 = probe("au0828");
        let t2 = probe("snd-usb-audio");
        let (m1, r1) = t1.join().unwrap();
        let (m2, r2) = t2.join().unwrap();
        assert!(MediaDevice::ptr_eq(&m1, &m2));
        assert!(r1 ^ r2, "registered exactly once");
        assert_eq!(k.nodes().len(), 1);
        assert!(!a.delete(&m1, "au0828").unwrap());
        assert!(a.delete(&m2, "snd-usb-audio").unwrap());
        assert!(k.nodes().is_empty());
    }
}

#[test]
fn allocator_argument_errors() {
    let m = Monitor::new();
    let a = MediaDeviceAllocator::new(&m);
    assert_eq!(a.allocate(&usb(), "").err(), Some(Errno::EINVAL));
    let md = a.allocate(&usb(), "au0828").unwrap();
    assert_eq!(a.delete(&md, "snd-usb-audio"), Err(Errno::EINVAL));
    let stray = MediaDevice::new(&m, DeviceInfo::default());
    assert_eq!(a.delete(&stray, "au0828"), Err(Errno::EINVAL));
    // Another parent gets its own media device.
    let other = a.allocate(&ParentInfo::new(8, "other"), "au0828").unwrap();
    assert!(!MediaDevice::ptr_eq(&md, &other));
    assert!(a.delete(&md, "au0828").unwrap());
    assert_eq!(a.delete(&md, "au0828"), Err(Errno::EINVAL), "already gone");
    assert!(a.lookup(8).is_some());
}

/// R6: both drivers leave while an ioctl on `/dev/media0` is between its
/// registered check and its use of the media device.
fn r6(style: Style) -> (Result<i64, Errno>, Monitor) {
    let (k, m) = kernel();
    let a = Arc::new(allocator(&m, style));
    let au = a.allocate(&usb(), "au0828").unwrap();
    au.register_once(&k, RegisterOptions::default()).unwrap();
    let snd = a.allocate(&usb(), "snd-usb-audio").unwrap();
    let f = k.open("media0", OpenFlags::RDWR).unwrap();
    let (at_tx, at_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Arc::new(Mutex::new(go_rx));
    let ioctl = std::thread::spawn(move || {
        let g = go_rx.clone();
        preempt::with_hook(
            move |p| {
                if p == preempt::MEDIA_IOCTL {
                    at_tx.send(()).unwrap();
                    let _ = g.lock().recv();
                }
            },
            || device_info(&f).map(|_| 0),
        )
    });
    at_rx.recv().unwrap();
    let weak = au.downgrade();
    a.delete(&au, "au0828").unwrap();
    drop(au);
    let a2 = a.clone();
    let last = std::thread::Builder::new()
        .name("snd-disconnect".into())
        .spawn(move || {
            a2.delete(&snd, "snd-usb-audio").unwrap();
        })
        .unwrap();
    match style {
        // The framework's unregistration waits for the call in flight.
        Style::Framework => assert!(k.wait_blocked("snd-disconnect", "unplug", HANG)),
        // The kernel's does not: the media device is freed right away.
        Style::Legacy => {
            while weak.upgrade().is_some_and(|md| !md.is_freed()) {
                std::thread::yield_now();
            }
        }
    }
    go_tx.send(()).unwrap();
    let r = ioctl.join().unwrap();
    last.join().unwrap();
    (r, m)
}

#[test]
fn r6_the_last_media_device_delete_under_an_open_node() {
    let (r, m) = r6(Style::Framework);
    assert_eq!(r, Ok(0));
    assert!(m.reports().is_empty());
    assert_eq!(m.ledger().live("media_device"), 0);

    let (_, m) = r6(Style::Legacy);
    assert!(m.reports().count(ReportKind::UseAfterFree) >= 1);
    let rep = &m.reports().all()[0];
    assert!(
        rep.message.contains("media_device(Hauppauge HVR-950Q)"),
        "{}",
        rep.message
    );
}
