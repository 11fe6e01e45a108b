//! Release order for a driver with several nodes of several kinds (docs/rules.md,
//! rules 1 and 9, and docs/proposals.md#release-order): each file's release on its last handle or
//! mapping, each node's release on its last reference, the driver data last.

mod common;

use common::*;
use devlife_model::devlife::Ref;
use devlife_model::{
    BusKind, DeviceSpec, Driver, Errno, FileOps, KResult, Kernel, MmapRequest, NodeKind, NodeSpec,
    OpCtx, OpenFlags, ProbeCtx, ReleaseCtx, RemoveCtx, SharedMemory, UnbindPhase, VmOps,
};
use parking_lot::Mutex;
use std::sync::Arc;

type Log = Arc<Mutex<Vec<String>>>;

struct Priv {
    log: Log,
}

struct Ops {
    data: Ref<Priv>,
    kind: &'static str,
}

struct Vm {
    mem: SharedMemory,
    log: Log,
    kind: &'static str,
}

impl VmOps for Vm {
    fn len(&self) -> usize {
        self.mem.len()
    }
    fn read(&self, o: usize, b: &mut [u8]) -> KResult<()> {
        self.mem.read(o, b)
    }
    fn write(&self, o: usize, d: &[u8]) -> KResult<()> {
        self.mem.write(o, d)
    }
    fn close(&self) {
        self.log.lock().push(format!("vm_close:{}", self.kind));
    }
}

impl FileOps for Ops {
    type Private = ();
    fn open(&self, _: &OpCtx<'_>) -> KResult<()> {
        Ok(())
    }
    fn release(&self, _ctx: &ReleaseCtx<'_>, _: ()) {
        self.data.log.lock().push(format!("file:{}", self.kind));
    }
    fn mmap(&self, _: &OpCtx<'_>, _: &(), req: &MmapRequest) -> KResult<Arc<dyn VmOps>> {
        Ok(Arc::new(Vm {
            mem: SharedMemory::zeroed(req.len),
            log: self.data.log.clone(),
            kind: self.kind,
        }))
    }
}

/// One driver, four nodes of three kinds, one shared private structure.
struct Multi {
    log: Log,
}

impl Driver for Multi {
    type Data = Ref<Priv>;
    fn name(&self) -> &str {
        "multi"
    }
    fn bus(&self) -> BusKind {
        BusKind::Platform
    }
    fn id_table(&self) -> &[&str] {
        &["platform:multi"]
    }
    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<Ref<Priv>> {
        let log = self.log.clone();
        let l2 = log.clone();
        let data = Ref::with_release(ctx.monitor(), "multi_priv", Priv { log }, move |_| {
            l2.lock().push("data".into())
        });
        for (kind, nk, name) in [
            ("misc", NodeKind::Misc, Some("multi0")),
            ("video", NodeKind::Video, None),
            ("video-idle", NodeKind::Video, None),
            ("audio", NodeKind::Audio, None),
        ] {
            let l3 = self.log.clone();
            let mut spec =
                NodeSpec::new(nk).release(move || l3.lock().push(format!("node:{kind}")));
            if let Some(n) = name {
                spec = spec.name(n);
            }
            ctx.register_node(
                spec,
                Arc::new(Ops {
                    data: data.clone(),
                    kind,
                }),
            )?;
        }
        Ok(data)
    }
    fn remove(&self, _: &RemoveCtx<'_>, d: &Ref<Priv>) {
        d.log.lock().push("remove".into());
    }
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock())
}

#[test]
fn files_then_nodes_then_driver_data() {
    let k = Kernel::new();
    let log: Log = Arc::default();
    k.register_driver(Multi { log: log.clone() }, None).unwrap();
    let dev = k
        .add_device(DeviceSpec::platform("multi", 0).irq(false))
        .unwrap();
    let names: Vec<String> = k.nodes().iter().map(|n| n.name().to_owned()).collect();
    assert_eq!(names, ["multi0", "pcmC0D0c", "video0", "video1"]);
    let misc = k.open("multi0", OpenFlags::RDWR).unwrap();
    let audio = k.open("pcmC0D0c", OpenFlags::RDWR).unwrap();
    let video = k.open("/dev/video0", OpenFlags::RDWR).unwrap();
    let map = video
        .mmap(MmapRequest {
            offset: 0,
            len: 4096,
            write: true,
        })
        .unwrap();
    map.write(0, b"frame").unwrap();
    let video_node = video.node().downgrade();

    k.sysfs_unbind("multi", dev.name()).unwrap();
    // Nothing with users was released; the idle node went at unregistration.
    assert_eq!(take(&log), ["remove", "node:video-idle"]);
    assert!(k.nodes().is_empty());

    drop(misc);
    assert_eq!(take(&log), ["file:misc", "node:misc"]);
    drop(audio);
    assert_eq!(take(&log), ["file:audio", "node:audio"]);
    // The mapping keeps the file (and the node, and the data) alive.
    drop(video);
    assert!(take(&log).is_empty());
    assert!(video_node.upgrade().is_some());
    let mut b = [0u8; 5];
    map.read(0, &mut b).unwrap();
    assert_eq!(&b, b"frame");
    drop(map);
    assert_eq!(
        take(&log),
        ["vm_close:video", "file:video", "node:video", "data"]
    );
    assert!(video_node.upgrade().is_none());

    // The journal agrees: the last node release precedes the data's.
    let ev = k.monitor().journal().events();
    let pos = |pred: &dyn Fn(&devlife_model::devlife::check::Event) -> bool| {
        ev.iter().rposition(pred).unwrap()
    };
    use devlife_model::devlife::check::EventKind;
    let node_rel =
        pos(&|e| e.name == "video0" && e.kind == EventKind::Release && e.detail.is_none());
    let data_rel = pos(&|e| e.name == "multi_priv" && e.kind == EventKind::Release);
    assert!(node_rel < data_rel);
    assert_silent(&k);
    k.shutdown();
    drop(dev);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}

#[test]
fn dup_releases_once_and_mapping_outlives_close() {
    let k = Kernel::new();
    let log: Log = Arc::default();
    k.register_driver(Multi { log: log.clone() }, None).unwrap();
    let _dev = k
        .add_device(DeviceSpec::platform("multi", 0).irq(false))
        .unwrap();
    let f = k.open("multi0", OpenFlags::RDWR).unwrap();
    let dups: Vec<_> = (0..5).map(|_| f.dup()).collect();
    assert_eq!(f.refs(), 6);
    drop(f);
    drop(dups);
    assert_eq!(take(&log), ["file:misc"]);
    let f = k.open("multi0", OpenFlags::RDONLY).unwrap();
    assert_eq!(
        f.mmap(MmapRequest {
            offset: 0,
            len: 16,
            write: true
        })
        .unwrap_err(),
        Errno::EACCES
    );
    let m = f
        .mmap(MmapRequest {
            offset: 0,
            len: 16,
            write: false,
        })
        .unwrap();
    assert_eq!(m.write(0, b"x"), Err(Errno::EFAULT));
    drop(f);
    assert!(take(&log).is_empty());
    m.munmap();
    assert_eq!(take(&log), ["vm_close:misc", "file:misc"]);
    assert_silent(&k);
    k.shutdown();
}

/// A node cannot join a binding that is being unbound: the framework has
/// already taken the list of nodes to unplug.
#[test]
fn node_registration_during_unbind_is_refused() {
    let k = Kernel::new();
    let log: Log = Arc::default();
    k.register_driver(Multi { log: log.clone() }, None).unwrap();
    let dev = k
        .add_device(DeviceSpec::platform("multi", 0).irq(false))
        .unwrap();
    let seen = Arc::new(Mutex::new(None));
    let (s2, k2) = (seen.clone(), k.downgrade());
    k.set_unbind_hook(move |d, p| {
        if p == UnbindPhase::Begin {
            let k = k2.upgrade().unwrap();
            let data = Ref::new(
                k.monitor(),
                "late",
                Priv {
                    log: Arc::default(),
                },
            );
            let r = k.register_node(
                NodeSpec::new(NodeKind::Video).parent(d),
                Arc::new(Ops { data, kind: "late" }),
            );
            *s2.lock() = Some(r.map(|_| ()));
        }
    });
    k.hot_unplug(&dev).unwrap();
    assert_eq!(*seen.lock(), Some(Err(Errno::ENODEV)));
    assert!(k.nodes().is_empty());
    k.clear_unbind_hook();
    k.shutdown();
    drop(dev);
    assert!(k.leaks().is_empty(), "{:?}", k.leaks());
}
