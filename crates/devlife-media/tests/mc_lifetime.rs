//! Lifetime rules of the Media Controller objects: release ordering, no
//! reference cycles, try-get, removal of an entity on its last reference,
//! entity removal while another thread walks, and hooks one driver installs
//! for another (removed safely; never called into a departed driver).

mod mc_util;

use devlife::check::{ReportKind, Shadow};
use devlife::{Gate, Monitor};
use devlife_media::legacy::OwnerFreedMedia;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::{AddressSpace, Wire};
use devlife_media::uapi::media::*;
use devlife_model::{Errno, KResult};
use mc_util::*;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};

fn sensor(m: &Monitor, name: &str) -> Entity {
    Entity::new(
        m,
        EntityDesc::new(name, MEDIA_ENT_F_CAM_SENSOR, EntityType::V4l2Subdev)
            .pads(&[MEDIA_PAD_FL_SOURCE]),
        NoOps,
    )
    .unwrap()
}

fn sink(m: &Monitor, name: &str) -> Entity {
    Entity::new(
        m,
        EntityDesc::new(name, MEDIA_ENT_F_IO_V4L, EntityType::VideoDevice)
            .pads(&[MEDIA_PAD_FL_SINK]),
        NoOps,
    )
    .unwrap()
}

#[test]
fn entity_releases_before_its_media_device() {
    let m = Monitor::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let o = order.clone();
    mdev.set_release(move || o.lock().push("media device release"));
    let weak_mdev = mdev.downgrade();
    let e = sensor(&m, "s");
    mdev.register_entity(&e).unwrap();
    let o = order.clone();
    let w = weak_mdev.clone();
    e.set_release(move || {
        // The entity has left the graph, and its media device is still here.
        let md = w
            .upgrade()
            .expect("media device alive during entity release");
        assert_eq!(md.graph().num_entities(), 0);
        o.lock().push("entity release");
    });
    // The driver drops its media device reference first: the entity keeps it.
    drop(mdev);
    assert!(order.lock().is_empty());
    assert_eq!(weak_mdev.state(), MediaDeviceState::Allocated);
    drop(e);
    assert_eq!(
        *order.lock(),
        vec!["entity release", "media device release"]
    );
    assert_eq!(weak_mdev.state(), MediaDeviceState::Released);
    assert_eq!(m.ledger().total_live(), 0, "{:?}", m.ledger().leaks());
}

#[test]
fn a_whole_graph_has_no_cycles() {
    let m = Monitor::new();
    let v = vimc(&m);
    let weak = v.mdev.downgrade();
    let pipe = Pipeline::new();
    let _ = v.mdev.pipeline_start(v.pad("Raw Capture 0", 0), &pipe);
    assert!(m.ledger().live("media_entity") == 11);
    drop(v);
    assert_eq!(weak.state(), MediaDeviceState::Released);
    for t in [
        "media_device",
        "media_device_state",
        "media_entity",
        "media_interface",
    ] {
        assert_eq!(m.ledger().live(t), 0, "{t} leaked");
    }
    assert!(m.reports().is_empty());
}

#[test]
fn try_get_fails_once_the_count_reached_zero() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let e = sensor(&m, "s");
    mdev.register_entity(&e).unwrap();
    let w = e.downgrade();
    let again = w.upgrade().unwrap();
    assert_eq!(e.refs(), 2);
    drop(again);
    drop(e);
    assert!(w.upgrade().is_none());
    assert!(w.upgrade().is_none(), "never rises again");
    assert!(mdev.graph().entity_handle(1).is_none());
}

#[test]
fn last_put_of_a_registered_entity_removes_it_from_the_graph() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let s = sensor(&m, "s");
    let k = sink(&m, "k");
    mdev.register_entity(&s).unwrap();
    mdev.register_entity(&k).unwrap();
    mdev.create_pad_link(&s, 0, &k, 0, MEDIA_LNK_FL_ENABLED)
        .unwrap();
    let intf = mdev
        .create_intf_devnode(MEDIA_INTF_T_V4L_VIDEO, 0, 81, 0)
        .unwrap();
    mdev.create_intf_link(&intf, &k, MEDIA_LNK_FL_ENABLED)
        .unwrap();
    let v0 = mdev.topology_version();
    drop(k);
    // Link + backlink + interface link + pad + entity.
    assert_eq!(mdev.topology_version(), v0 + 5);
    let g = mdev.graph();
    assert_eq!((g.num_entities(), g.num_links(), g.num_pads()), (1, 0, 1));
    drop(g);
    drop(intf);
    assert_eq!(mdev.graph().num_interfaces(), 0);
}

#[test]
fn last_put_under_the_graph_lock_defers_the_removal() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let s = sensor(&m, "s");
    let id = mdev.register_entity(&s).unwrap();
    let g = mdev.graph();
    drop(s); // would deadlock if the release took the graph lock
    assert!(g.entity_handle(id).is_none(), "try-get fails at once");
    assert_eq!(
        g.num_entities(),
        1,
        "removal deferred while the lock is held"
    );
    drop(g);
    assert_eq!(mdev.graph().num_entities(), 0, "done by the next holder");
}

struct Counting(AtomicUsize);

impl EntityOps for Counting {
    fn pad_info(&self, _pad: u32) -> Option<PadInfo> {
        self.0.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// One thread walks the graph and uses what it found (calls into the
/// entities, reads the topology) while another keeps adding linked entities
/// and removing them (by unregistration or by dropping the last reference).
#[test]
fn entity_removal_while_another_thread_walks() {
    const ROUNDS: usize = 300;
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    mdev.register_headless().unwrap();
    let root = sensor(&m, "root");
    mdev.register_entity(&root).unwrap();
    let start = Arc::new(Barrier::new(2));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let walker = {
        let (mdev, root, start, done) = (mdev.clone(), root.clone(), start.clone(), done.clone());
        std::thread::spawn(move || {
            start.wait();
            let mm = AddressSpace::new();
            let mut walks = 0usize;
            let mut seen = 0usize;
            while !done.load(Ordering::Acquire) || walks < 10 {
                let found = mdev.graph_walk(&root);
                for e in &found {
                    // The reference keeps the entity usable after the walk,
                    // whether or not it is still in the graph.
                    let _ = e.ops().pad_info(0);
                    assert!(!e.name().is_empty());
                    seen += 1;
                }
                drop(found);
                let mut t = MediaV2Topology::ZERO;
                let mut b = t.to_vec();
                media_ioctl(&mdev, MEDIA_IOC_G_TOPOLOGY, &mut b, &mm).unwrap();
                t = MediaV2Topology::decode(&b);
                assert!(t.num_entities >= 1);
                walks += 1;
            }
            (walks, seen)
        })
    };

    start.wait();
    for i in 0..ROUNDS {
        let e = Entity::new(
            &m,
            EntityDesc::new(format!("k{i}"), MEDIA_ENT_F_IO_V4L, EntityType::VideoDevice)
                .pads(&[MEDIA_PAD_FL_SINK]),
            Counting(AtomicUsize::new(0)),
        )
        .unwrap();
        mdev.register_entity(&e).unwrap();
        mdev.create_pad_link(&root, 0, &e, 0, MEDIA_LNK_FL_ENABLED)
            .unwrap();
        if i % 2 == 0 {
            mdev.unregister_entity(&e);
        }
        drop(e);
    }
    done.store(true, Ordering::Release);
    let (walks, _seen) = walker.join().unwrap();
    assert!(walks >= 10);
    assert_eq!(mdev.graph().num_entities(), 1);
    assert_eq!(mdev.graph().num_links(), 0);
    assert_eq!(m.ledger().live("media_entity"), 1);
    drop(root);
    drop(mdev);
    assert_eq!(m.ledger().total_live(), 0, "{:?}", m.ledger().leaks());
    assert!(m.reports().is_empty());
}

/// au0828's `enable_source`, blocking until told to finish.
struct BlockingHooks {
    entered: mpsc::Sender<()>,
    go: Mutex<mpsc::Receiver<()>>,
    calls: AtomicUsize,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl SourceHooks for BlockingHooks {
    fn enable_source(&self, _g: &mut Graph, _e: &Entity, _p: &Pipeline) -> KResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.log.lock().push("hook start");
        let _ = self.entered.send(());
        let _ = self.go.lock().recv();
        self.log.lock().push("hook end");
        Ok(())
    }
    fn disable_source(&self, _g: &mut Graph, _e: &Entity) {}
}

#[test]
fn removing_source_hooks_waits_for_a_running_hook() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let audio = sink(&m, "audio capture");
    mdev.register_entity(&audio).unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let log = Arc::new(Mutex::new(Vec::new()));
    let hooks = Arc::new(BlockingHooks {
        entered: entered_tx,
        go: Mutex::new(go_rx),
        calls: AtomicUsize::new(0),
        log: log.clone(),
    });
    let token = mdev.set_source_hooks(hooks.clone(), None).unwrap();
    assert_eq!(
        mdev.set_source_hooks(hooks.clone(), None).err(),
        Some(Errno::EBUSY)
    );

    let caller = {
        let (mdev, audio) = (mdev.clone(), audio.clone());
        std::thread::spawn(move || mdev.enable_source(&audio, &Pipeline::new()))
    };
    entered_rx.recv().unwrap();
    let remover = {
        let (mdev, log) = (mdev.clone(), log.clone());
        std::thread::spawn(move || {
            let r = mdev.clear_source_hooks(token);
            log.lock().push("cleared");
            r
        })
    };
    // The remover is parked on the graph lock while the hook runs.
    while mdev.graph_lock_waiters() == 0 {
        std::thread::yield_now();
    }
    assert_eq!(*log.lock(), vec!["hook start"]);
    go_tx.send(()).unwrap();
    assert_eq!(caller.join().unwrap(), Ok(()));
    assert!(remover.join().unwrap());
    assert_eq!(*log.lock(), vec!["hook start", "hook end", "cleared"]);
    // Gone: no further call.
    assert_eq!(mdev.enable_source(&audio, &Pipeline::new()), Ok(()));
    assert_eq!(hooks.calls.load(Ordering::SeqCst), 1);
    assert!(!mdev.clear_source_hooks(token));
}

/// A driver's hooks that touch its own state (an instrumented allocation).
struct DriverHooks {
    state: Shadow<u32>,
    calls: AtomicUsize,
}

impl SourceHooks for DriverHooks {
    fn enable_source(&self, _g: &mut Graph, _e: &Entity, _p: &Pipeline) -> KResult<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _ = *self.state.get();
        Ok(())
    }
    fn disable_source(&self, _g: &mut Graph, _e: &Entity) {
        let _ = *self.state.get();
    }
}

/// The installing driver leaves without removing its hooks and frees its
/// state at unbind (devm). Framework style: calls enter the installer's
/// gate, which its unbind unplugged, so nothing runs into the departed
/// driver. Legacy style: the hook runs on freed memory; the checker fires.
fn departed_driver_hooks(style: Style) -> (usize, usize) {
    let m = Monitor::new();
    let mdev = mc_util::media_device(&m, DeviceInfo::default(), style);
    let audio = sink(&m, "audio capture");
    mdev.register_entity(&audio).unwrap();
    let binding = Gate::named("au0828 binding");
    let hooks = Arc::new(DriverHooks {
        state: Shadow::new(&m, "au0828_dev", "au0828", 7),
        calls: AtomicUsize::new(0),
    });
    mdev.set_source_hooks(hooks.clone(), Some(binding.clone()))
        .unwrap();
    mdev.enable_source(&audio, &Pipeline::new()).unwrap();
    // au0828 unbinds: its binding is unplugged and its devm state freed; it
    // "forgot" to clear the hooks.
    binding.unplug().unwrap();
    hooks.state.free();
    mdev.enable_source(&audio, &Pipeline::new()).unwrap();
    mdev.disable_source(&audio);
    (
        hooks.calls.load(Ordering::SeqCst),
        m.reports().count(ReportKind::UseAfterFree),
    )
}

#[test]
fn hooks_never_call_into_a_departed_driver() {
    assert_eq!(departed_driver_hooks(Style::Framework), (1, 0));
    let (calls, uaf) = departed_driver_hooks(Style::Legacy);
    assert_eq!(calls, 2);
    assert_eq!(
        uaf, 2,
        "enable_source and disable_source on freed driver state"
    );
}

#[test]
fn entity_notify_links_new_entities_until_removed() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let tuner = sensor(&m, "tuner");
    let tid = mdev.register_entity(&tuner).unwrap();
    // au0828_media_graph_notify: link the tuner to every new audio entity.
    let token = mdev.register_entity_notify(
        Arc::new(move |g: &mut Graph, e: &Entity| {
            if let Some(k) = e.pad_key(0) {
                let _ = g.create_pad_link(
                    PadKey {
                        entity: tid,
                        index: 0,
                    },
                    k,
                    MEDIA_LNK_FL_ENABLED,
                );
            }
        }),
        None,
    );
    let a = sink(&m, "audio 1");
    mdev.register_entity(&a).unwrap();
    assert_eq!(mdev.graph().num_links(), 1);
    assert!(mdev.unregister_entity_notify(token));
    let b = sink(&m, "audio 2");
    mdev.register_entity(&b).unwrap();
    assert_eq!(mdev.graph().num_links(), 1);
    assert!(!mdev.unregister_entity_notify(token));
}

#[test]
fn registration_rules() {
    let m = Monitor::new();
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    assert_eq!(mdev.state(), MediaDeviceState::Allocated);
    mdev.register_headless().unwrap();
    assert_eq!(mdev.register_headless(), Err(Errno::EBUSY));
    assert_eq!(mdev.state(), MediaDeviceState::Registered);
    let e = sensor(&m, "s");
    mdev.register_entity(&e).unwrap();
    // Another media device cannot take an entity registered elsewhere.
    let other = MediaDevice::new(&m, DeviceInfo::default());
    assert_eq!(other.register_entity(&e), Err(Errno::EBUSY));
    let k = sink(&m, "k");
    other.register_entity(&k).unwrap();
    assert_eq!(
        mdev.create_pad_link(&e, 0, &k, 0, 0),
        Err(Errno::EINVAL),
        "links stay within one media device"
    );
    mdev.unregister();
    assert_eq!(mdev.state(), MediaDeviceState::UnregisteredNotInUse);
    assert_eq!(mdev.graph().num_entities(), 0);
    assert_eq!(
        mdev.register_entity(&sensor(&m, "late")),
        Err(Errno::ENODEV)
    );
    assert_eq!(mdev.register_headless(), Err(Errno::ENODEV));
    // The entity keeps its media device even after unregistration.
    assert!(
        e.media_device()
            .is_some_and(|x| MediaDevice::ptr_eq(x, &mdev))
    );
}

/// R5: graph objects have no refcount in mainline; a driver that frees its
/// media device before unregistering it, and releases an entity afterwards
/// (`v4l2_device_release` calling `media_device_unregister_entity`), touches
/// freed media device memory. The framework style never frees a media device
/// that an entity still references.
fn r5(style: Style) -> usize {
    let m = Monitor::new();
    let mdev = mc_util::media_device(&m, DeviceInfo::default(), style);
    let e = sensor(&m, "s");
    mdev.register_entity(&e).unwrap();
    mdev.legacy_free(); // the wrong order: free, then unregister
    drop(mdev);
    drop(e); // the entity's release unregisters it from the (freed) graph
    m.reports().count(ReportKind::UseAfterFree)
}

#[test]
fn r5_entity_release_after_the_media_device_was_freed() {
    assert_eq!(r5(Style::Framework), 0);
    assert_eq!(r5(Style::Legacy), 1);
}

/// R7 (the media layer's part): `v4l2_release` of a driver with requests
/// takes `mdev->req_queue_mutex`. Legacy: after the driver freed the media
/// device, that is a use after free. Framework: a holder of a media device
/// reference (the video device) can always take it.
#[test]
fn r7_req_queue_mutex_after_the_media_device_went() {
    for (style, want) in [(Style::Framework, 0), (Style::Legacy, 1)] {
        let m = Monitor::new();
        let mdev = mc_util::media_device(&m, DeviceInfo::default(), style);
        let video_ref = mdev.clone(); // what the video device keeps
        mdev.unregister();
        mdev.legacy_free(); // the driver's release (legacy: kfree now)
        drop(mdev);
        drop(video_ref.lock_req_queue()); // the last close of the video node
        assert_eq!(m.reports().count(ReportKind::UseAfterFree), want);
    }
}
