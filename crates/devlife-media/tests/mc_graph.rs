//! Graph semantics of the Media Controller: object ids, ENUM_ENTITIES,
//! ENUM_LINKS, G_TOPOLOGY (ENOSPC, EFAULT, counts), topology_version,
//! SETUP_LINK rules, pipelines (EPIPE, EBUSY, MUST_CONNECT) and walks, on a
//! vimc-shaped graph (docs/vimc.md, topology and ids) driven through `media_ioctl`.

mod mc_util;

use devlife::Monitor;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::{AddressSpace, UserMemory, Wire, get_str};
use devlife_media::uapi::media::*;
use devlife_model::{Errno, KResult};
use mc_util::*;
use parking_lot::Mutex;
use std::sync::Arc;

fn ioc<T: Wire>(mdev: &MediaDevice, cmd: u32, v: &mut T, mm: &dyn UserMemory) -> KResult<()> {
    let mut b = v.to_vec();
    let before = b.clone();
    let r = media_ioctl(mdev, cmd, &mut b, mm);
    if r.is_err() {
        assert_eq!(b, before, "a failed ioctl must not copy anything back");
    }
    r?;
    *v = T::decode(&b);
    Ok(())
}

fn entity_desc(mdev: &MediaDevice, id: u32) -> KResult<MediaEntityDesc> {
    let mut d = MediaEntityDesc::ZERO;
    d.id = id;
    ioc(mdev, MEDIA_IOC_ENUM_ENTITIES, &mut d, &AddressSpace::new())?;
    Ok(d)
}

struct Topo {
    t: MediaV2Topology,
    entities: Vec<MediaV2Entity>,
    interfaces: Vec<MediaV2Interface>,
    pads: Vec<MediaV2Pad>,
    links: Vec<MediaV2Link>,
}

fn read_array<T: Wire>(mm: &AddressSpace, addr: u64, n: u32) -> Vec<T> {
    (0..n as usize)
        .map(|i| T::decode(&mm.read_back(addr + (i * T::SIZE) as u64, T::SIZE).unwrap()))
        .collect()
}

/// G_TOPOLOGY twice, like v4l2-ctl: counts first, then the arrays.
fn topology(mdev: &MediaDevice) -> Topo {
    let mm = AddressSpace::new();
    let mut t = MediaV2Topology::ZERO;
    ioc(mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).unwrap();
    let counts = t;
    t.ptr_entities = mm.map(t.num_entities as usize * MediaV2Entity::SIZE);
    t.ptr_interfaces = mm.map(t.num_interfaces as usize * MediaV2Interface::SIZE);
    t.ptr_pads = mm.map(t.num_pads as usize * MediaV2Pad::SIZE);
    t.ptr_links = mm.map(t.num_links as usize * MediaV2Link::SIZE);
    ioc(mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).unwrap();
    assert_eq!(
        (t.num_entities, t.num_interfaces, t.num_pads, t.num_links),
        (
            counts.num_entities,
            counts.num_interfaces,
            counts.num_pads,
            counts.num_links
        )
    );
    Topo {
        entities: read_array(&mm, t.ptr_entities, t.num_entities),
        interfaces: read_array(&mm, t.ptr_interfaces, t.num_interfaces),
        pads: read_array(&mm, t.ptr_pads, t.num_pads),
        links: read_array(&mm, t.ptr_links, t.num_links),
        t,
    }
}

#[test]
fn vimc_object_ids_match_the_spec() {
    let m = Monitor::new();
    let v = vimc(&m);
    let ids: Vec<u32> = v.entities.iter().map(|e| e.id().unwrap()).collect();
    assert_eq!(ids, vec![1, 3, 5, 8, 11, 15, 19, 21, 24, 28, 29]);
    let topo = topology(&v.mdev);
    assert_eq!(
        (
            topo.entities.len(),
            topo.interfaces.len(),
            topo.pads.len(),
            topo.links.len()
        ),
        (11, 11, 12, 21),
        "the counts of docs/vimc.md"
    );
    let pad_ids: Vec<u32> = topo.pads.iter().map(|p| p.id).collect();
    assert_eq!(
        pad_ids,
        [2, 4, 6, 7, 9, 10, 12, 16, 20, 22, 23, 25].map(|x| 0x0100_0000 | x)
    );
    let intf_ids: Vec<u32> = topo.interfaces.iter().map(|i| i.id).collect();
    assert_eq!(
        intf_ids,
        [
            0x0d, 0x11, 0x1a, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3a, 0x3c, 0x3e
        ]
        .map(|x| 0x0300_0000 | x)
    );
    let link_ids: Vec<u32> = topo.links.iter().map(|l| l.id & 0xff_ffff).collect();
    let mut want = vec![0x0e, 0x12, 0x1b];
    want.extend((0x1e..0x2e).step_by(2)); // data links; odd ids are hidden backlinks
    want.extend([0x2e, 0x2f]); // ancillary
    want.extend((0x31..=0x3f).step_by(2)); // subdev interface links
    assert_eq!(link_ids, want);
    // Every object was created once and none destroyed.
    assert_eq!({ topo.t.topology_version }, 0x3f);
    // Link ends, by type.
    let l = |id: u32| *topo.links.iter().find(|l| l.id & 0xff_ffff == id).unwrap();
    let intf_link = l(0x0e);
    assert_eq!(
        (intf_link.source_id, intf_link.sink_id, intf_link.flags),
        (0x0300_000d, 11, 0x1000_0003)
    );
    let data = l(0x1e);
    assert_eq!(
        (data.source_id, data.sink_id, data.flags),
        (0x0100_0002, 0x0100_0006, 3)
    );
    let anc = l(0x2e);
    assert_eq!(
        (anc.source_id, anc.sink_id, anc.flags),
        (1, 28, 0x2000_0003)
    );
    assert_eq!(
        topo.interfaces[0].devnode(),
        MediaV2IntfDevnode {
            major: 81,
            minor: 0
        }
    );
    assert_eq!(get_str(&topo.entities[7].name), "Scaler");
    assert_eq!({ topo.entities[7].function }, MEDIA_ENT_F_PROC_VIDEO_SCALER);
    for e in &topo.entities {
        assert_eq!({ e.reserved }, [0; 5]);
    }
}

#[test]
fn enum_entities_with_next_and_the_legacy_type_mapping() {
    let m = Monitor::new();
    let v = vimc(&m);
    let mut seen = Vec::new();
    let mut id = 0;
    loop {
        match entity_desc(&v.mdev, id | MEDIA_ENT_ID_FLAG_NEXT) {
            Ok(d) => {
                seen.push((d.id, get_str(&d.name), d.type_, d.pads, d.links, d.dev()));
                assert_eq!(d.reserved, [0; 4]);
                assert_eq!((d.revision, d.group_id), (0, 0));
                assert!(d.raw[8..].iter().all(|&b| b == 0));
                id = d.id;
            }
            Err(e) => {
                assert_eq!(e, Errno::EINVAL);
                break;
            }
        }
    }
    let names: Vec<&str> = seen.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(names, NAMES);
    let by = |n: &str| seen.iter().find(|s| s.1 == n).unwrap().clone();
    // New-range subdev functions are reported as "V4L2 subdev, unknown".
    assert_eq!(by("Debayer A").2, MEDIA_ENT_F_V4L2_SUBDEV_UNKNOWN);
    assert_eq!(by("Scaler").2, MEDIA_ENT_F_V4L2_SUBDEV_UNKNOWN);
    assert_eq!(by("Sensor A").2, MEDIA_ENT_F_CAM_SENSOR);
    assert_eq!(by("Lens B").2, MEDIA_ENT_F_LENS);
    assert_eq!(by("Raw Capture 1").2, MEDIA_ENT_F_IO_V4L);
    // Outbound data links only (backlinks and ancillary links not counted).
    assert_eq!(
        [
            by("Sensor A").4,
            by("Debayer A").4,
            by("Scaler").4,
            by("Raw Capture 0").4,
            by("Lens A").4
        ],
        [2, 1, 1, 0, 0]
    );
    assert_eq!(by("Scaler").3, 2);
    assert_eq!(by("Raw Capture 1").5, (81, 1));
    assert_eq!(by("Sensor A").5, (81, 3));
    // Exact ids without NEXT; unknown ids and the end of the list: EINVAL.
    assert_eq!(entity_desc(&v.mdev, 21).unwrap().id, 21);
    assert_eq!(entity_desc(&v.mdev, 2).err(), Some(Errno::EINVAL));
    assert_eq!(entity_desc(&v.mdev, 0).err(), Some(Errno::EINVAL));
    assert_eq!(
        entity_desc(&v.mdev, 29 | MEDIA_ENT_ID_FLAG_NEXT).err(),
        Some(Errno::EINVAL)
    );

    // A non-subdev entity with a new-range function: MEDIA_ENT_T_DEVNODE_UNKNOWN.
    let mdev = MediaDevice::new(&m, DeviceInfo::default());
    let e = Entity::new(
        &m,
        EntityDesc::new("dvb demux", MEDIA_ENT_F_TS_DEMUX, EntityType::Base),
        NoOps,
    )
    .unwrap();
    let id = mdev.register_entity(&e).unwrap();
    assert_eq!(
        entity_desc(&mdev, id).unwrap().type_,
        MEDIA_ENT_T_DEVNODE_UNKNOWN
    );
}

fn enum_links(
    mdev: &MediaDevice,
    mm: &AddressSpace,
    entity: u32,
    pads: u64,
    links: u64,
) -> KResult<MediaLinksEnum> {
    let mut le = MediaLinksEnum {
        entity,
        pads,
        links,
        reserved: [7; 4],
    };
    ioc(mdev, MEDIA_IOC_ENUM_LINKS, &mut le, mm)?;
    Ok(le)
}

#[test]
fn enum_links_lists_forward_data_links_only() {
    let m = Monitor::new();
    let v = vimc(&m);
    let mm = AddressSpace::new();
    let pads = mm.map(2 * MediaPadDesc::SIZE);
    let links = mm.map(2 * MediaLinkDesc::SIZE);
    let le = enum_links(&v.mdev, &mm, 1, pads, links).unwrap();
    assert_eq!(le.reserved, [0; 4], "reserved zeroed in the reply");
    assert_eq!((le.pads, le.links), (pads, links), "pointers echoed");
    let p: Vec<MediaPadDesc> = read_array(&mm, pads, 1);
    assert_eq!(
        p[0],
        MediaPadDesc {
            entity: 1,
            index: 0,
            flags: MEDIA_PAD_FL_SOURCE,
            reserved: [0; 2]
        }
    );
    let l: Vec<MediaLinkDesc> = read_array(&mm, links, 2);
    assert_eq!(
        (l[0].source.entity, l[0].sink.entity, l[0].flags),
        (1, 5, 3)
    );
    assert_eq!(
        (l[1].source.entity, l[1].sink.entity, l[1].flags),
        (1, 11, 3)
    );
    assert_eq!(l[1].sink.flags, MEDIA_PAD_FL_SINK);

    // The Scaler has three inbound links (backlinks) and one outbound.
    let links4 = mm.map(4 * MediaLinkDesc::SIZE);
    enum_links(&v.mdev, &mm, 21, 0, links4).unwrap();
    let l: Vec<MediaLinkDesc> = read_array(&mm, links4, 4);
    assert_eq!(
        (l[0].source.entity, l[0].source.index, l[0].sink.entity),
        (21, 1, 24)
    );
    assert_eq!(
        l[1],
        MediaLinkDesc::ZERO,
        "nothing written past the outbound link"
    );

    // Sensor A's ancillary link to Lens A is not listed (only G_TOPOLOGY has it);
    // the lens has nothing at all.
    let l0 = mm.map(MediaLinkDesc::SIZE);
    enum_links(&v.mdev, &mm, 28, pads, l0).unwrap();
    assert_eq!(
        read_array::<MediaLinkDesc>(&mm, l0, 1)[0],
        MediaLinkDesc::ZERO
    );

    // A links array too small for the entity: EFAULT (the kernel writes
    // `entd->links` entries whatever the caller allocated).
    let small = mm.map(MediaLinkDesc::SIZE);
    assert_eq!(
        enum_links(&v.mdev, &mm, 1, 0, small).err(),
        Some(Errno::EFAULT)
    );
    assert_eq!(
        enum_links(&v.mdev, &mm, 1, 0x10, 0).err(),
        Some(Errno::EFAULT)
    );
    // Unknown entity.
    assert_eq!(
        enum_links(&v.mdev, &mm, 2, pads, links).err(),
        Some(Errno::EINVAL)
    );
    // Neither array: only the entity check.
    assert!(enum_links(&v.mdev, &mm, 5, 0, 0).is_ok());
}

#[test]
fn g_topology_enospc_efault_and_partial_requests() {
    let m = Monitor::new();
    let v = vimc(&m);
    let mm = AddressSpace::new();
    // Count only.
    let mut t = MediaV2Topology::ZERO;
    t.reserved1 = 0xdead;
    ioc(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).unwrap();
    assert_eq!(
        (t.num_entities, t.num_interfaces, t.num_pads, t.num_links),
        (11, 11, 12, 21)
    );
    assert_eq!(
        (t.reserved1, t.reserved2, t.reserved3, t.reserved4),
        (0, 0, 0, 0)
    );

    // One array too small: ENOSPC, and nothing is copied back (the caller's
    // counts stay as they were: `ioc` checks the buffer is unchanged).
    let mut t = MediaV2Topology::ZERO;
    t.num_pads = 11;
    t.ptr_pads = mm.map(11 * MediaV2Pad::SIZE);
    assert_eq!(
        ioc(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).err(),
        Some(Errno::ENOSPC)
    );
    // The 11 that fit were written (the kernel copies until it runs out).
    let got: Vec<MediaV2Pad> = read_array(&mm, t.ptr_pads, 11);
    assert_eq!({ got[10].id }, 0x0100_0017);

    // Exact size: success.
    t.num_pads = 12;
    t.ptr_pads = mm.map(12 * MediaV2Pad::SIZE);
    ioc(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).unwrap();
    assert_eq!({ t.num_pads }, 12);
    assert_eq!(
        { t.num_entities },
        11,
        "other counts filled although not requested"
    );
    let pads: Vec<MediaV2Pad> = read_array(&mm, t.ptr_pads, 12);
    assert_eq!(
        (pads[3].entity_id, pads[3].index, pads[3].flags),
        (5, 1, MEDIA_PAD_FL_SOURCE)
    );

    // Unmapped pointer: EFAULT.
    let mut t = MediaV2Topology::ZERO;
    t.num_links = 100;
    t.ptr_links = 0x7777_0000;
    assert_eq!(
        ioc(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).err(),
        Some(Errno::EFAULT)
    );
    // Array ending in an unmapped page: EFAULT too.
    let mut t = MediaV2Topology::ZERO;
    t.num_entities = 11;
    t.ptr_entities = mm.map(10 * MediaV2Entity::SIZE);
    assert_eq!(
        ioc(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut t, &mm).err(),
        Some(Errno::EFAULT)
    );
}

#[test]
fn one_counter_for_all_objects_and_version_bumps() {
    let m = Monitor::new();
    let v = vimc(&m);
    let v0 = v.mdev.topology_version();
    // Removing the Scaler removes: 4 data links (+4 backlinks), its interface
    // link, 2 pads and itself.
    v.mdev.unregister_entity(v.entity("Scaler"));
    assert_eq!(v.mdev.topology_version(), v0 + 8 + 1 + 2 + 1);
    let topo = topology(&v.mdev);
    assert_eq!(
        (
            topo.entities.len(),
            topo.pads.len(),
            topo.links.len(),
            topo.interfaces.len()
        ),
        (10, 10, 16, 11)
    );
    assert!(
        topo.links
            .iter()
            .all(|l| l.source_id != 0x0100_0017 && l.sink_id != 0x0100_0016)
    );
    assert!(!v.mdev.has_entity(v.entity("Scaler")));
    // Removing it twice is a no-op.
    let v1 = v.mdev.topology_version();
    v.mdev.unregister_entity(v.entity("Scaler"));
    assert_eq!(v.mdev.topology_version(), v1);
    // New objects continue the counter: ids are never reused.
    let e = Entity::new(
        &m,
        EntityDesc::new("extra", MEDIA_ENT_F_CAM_SENSOR, EntityType::V4l2Subdev)
            .pads(&[MEDIA_PAD_FL_SOURCE]),
        NoOps,
    )
    .unwrap();
    assert_eq!(v.mdev.register_entity(&e).unwrap(), 0x40);
    assert_eq!(
        e.pad_key(0).and_then(|k| v.mdev.graph().pad_id(k)),
        Some(0x0100_0041)
    );
    // An entity registers once.
    assert_eq!(v.mdev.register_entity(&e), Err(Errno::EBUSY));
    // Interfaces: removal takes their links.
    let vt = v.mdev.topology_version();
    v.mdev.remove_interface(&v.intfs[0]);
    assert_eq!(v.mdev.topology_version(), vt + 2);
}

fn setup(
    mdev: &MediaDevice,
    src: (u32, u16),
    sink: (u32, u16),
    flags: u32,
) -> KResult<MediaLinkDesc> {
    let mut d = MediaLinkDesc {
        source: MediaPadDesc {
            entity: src.0,
            index: src.1,
            flags: MEDIA_PAD_FL_SOURCE,
            reserved: [5, 5],
        },
        sink: MediaPadDesc {
            entity: sink.0,
            index: sink.1,
            flags: MEDIA_PAD_FL_SINK,
            reserved: [5, 5],
        },
        flags,
        reserved: [9, 9],
    };
    ioc(mdev, MEDIA_IOC_SETUP_LINK, &mut d, &AddressSpace::new())?;
    Ok(d)
}

#[derive(Default)]
struct Notes {
    calls: Mutex<Vec<(u32, u32, LinkNotify)>>,
    veto: Mutex<bool>,
}

struct NotifyOps(Arc<Notes>);

impl MediaDeviceOps for NotifyOps {
    fn link_notify(&self, link: &LinkInfo, flags: u32, when: LinkNotify) -> KResult<()> {
        self.0.calls.lock().push((link.id, flags, when));
        if when == LinkNotify::Pre && *self.0.veto.lock() {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }
}

#[test]
fn setup_link_rules() {
    let m = Monitor::new();
    let v = vimc(&m);
    let notes = Arc::new(Notes::default());
    v.mdev.set_ops(Arc::new(NotifyOps(notes.clone())));
    let link_flags = |s: (&str, u16), k: (&str, u16)| {
        v.mdev
            .graph()
            .find_data_link(v.pad(s.0, s.1), v.pad(k.0, k.1))
            .unwrap()
            .flags
    };
    // Immutable: same flags OK, any change EINVAL.
    assert!(setup(&v.mdev, (1, 0), (5, 0), 3).is_ok());
    assert_eq!(setup(&v.mdev, (1, 0), (5, 0), 2).err(), Some(Errno::EINVAL));
    // Only ENABLED may change.
    assert_eq!(
        setup(&v.mdev, (8, 1), (21, 0), MEDIA_LNK_FL_DYNAMIC).err(),
        Some(Errno::EINVAL)
    );
    // Unknown entity, pad out of range, no such link: EINVAL.
    assert_eq!(
        setup(&v.mdev, (2, 0), (21, 0), 1).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        setup(&v.mdev, (8, 2), (21, 0), 1).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        setup(&v.mdev, (8, 1), (24, 0), 1).err(),
        Some(Errno::EINVAL)
    );
    // Unchanged flags: 0, no callback.
    assert!(setup(&v.mdev, (8, 1), (21, 0), 0).is_ok());
    assert!(notes.calls.lock().is_empty());

    // Enable Debayer B -> Scaler: source then sink link_setup, notify pre/post,
    // both the link and its backlink change, reserved words zeroed in the reply.
    let d = setup(&v.mdev, (8, 1), (21, 0), MEDIA_LNK_FL_ENABLED).unwrap();
    assert_eq!(d.reserved, [0; 2]);
    assert_eq!((d.source.reserved, d.sink.reserved), ([0; 2], [0; 2]));
    assert_eq!(
        link_flags(("Debayer B", 1), ("Scaler", 0)),
        MEDIA_LNK_FL_ENABLED
    );
    assert_eq!(v.ops("Debayer B").link_setup_calls.lock().len(), 1);
    assert_eq!(
        v.ops("Scaler").link_setup_calls.lock()[0],
        (v.pad("Scaler", 0), v.pad("Debayer B", 1), 1)
    );
    let calls = notes.calls.lock().clone();
    assert_eq!(
        calls.iter().map(|c| c.2).collect::<Vec<_>>(),
        vec![LinkNotify::Pre, LinkNotify::Post]
    );
    // The walk now sees the backlink's new flags too.
    let walk: Vec<String> = v
        .mdev
        .graph_walk(v.entity("Raw Capture 1"))
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    assert!(walk.contains(&"Scaler".to_owned()), "{walk:?}");

    // The sink's link_setup fails: the source is called again with the old
    // flags, the link keeps them, the error is returned.
    *v.ops("Scaler").fail_link_setup.lock() = Some(Errno::EINVAL);
    assert_eq!(
        setup(&v.mdev, (19, 0), (21, 0), 1).err(),
        Some(Errno::EINVAL)
    );
    let input_calls = v.ops("RGB/YUV Input").link_setup_calls.lock().clone();
    assert_eq!(
        input_calls.iter().map(|c| c.2).collect::<Vec<_>>(),
        vec![1, 0]
    );
    assert_eq!(link_flags(("RGB/YUV Input", 0), ("Scaler", 0)), 0);
    *v.ops("Scaler").fail_link_setup.lock() = None;

    // A PRE veto.
    *notes.veto.lock() = true;
    assert_eq!(
        setup(&v.mdev, (19, 0), (21, 0), 1).err(),
        Some(Errno::EBUSY)
    );
    assert_eq!(link_flags(("RGB/YUV Input", 0), ("Scaler", 0)), 0);
}

/// vimc.rst's configuration: Bayer from Sensor A to Debayer A and Raw Capture 0.
fn configure_for_streaming(v: &Vimc) {
    v.ops("Sensor A").set_format(0, fmt(SBGGR8_1X8, 640, 480));
    v.ops("Debayer A").set_format(0, fmt(SBGGR8_1X8, 640, 480));
    v.ops("Raw Capture 0")
        .set_format(0, fmt(SBGGR8_1X8, 640, 480));
}

#[test]
fn pipeline_validation_busy_and_stop() {
    let m = Monitor::new();
    let v = vimc(&m);
    let pipe = Pipeline::new();
    let raw0 = v.pad("Raw Capture 0", 0);
    // Out of the box the component of Raw Capture 0 does not validate:
    // Sensor A (RGB888) -> Debayer A (SRGGB8).
    assert_eq!(v.mdev.pipeline_start(raw0, &pipe), Err(Errno::EPIPE));
    assert!(
        v.mdev.graph().pad_pipe(v.pad("Sensor A", 0)).is_none(),
        "unwound"
    );
    assert_eq!(pipe.start_count(), 0);

    configure_for_streaming(&v);
    v.mdev.pipeline_start(raw0, &pipe).unwrap();
    // The whole connected component over enabled links, local pads of
    // disabled links included, Debayer B and the Input excluded.
    let mut pads = pipe.pads();
    pads.sort();
    let mut want = vec![
        raw0,
        v.pad("Sensor A", 0),
        v.pad("Debayer A", 0),
        v.pad("Debayer A", 1),
        v.pad("Scaler", 0),
        v.pad("Scaler", 1),
        v.pad("RGB/YUV Capture", 0),
    ];
    want.sort();
    assert_eq!(pads, want);
    let g = v.mdev.graph();
    assert!(want.iter().all(|p| g.pad_pipe(*p) == Some(pipe.id())));
    assert!(!g.pad_is_streaming(v.pad("Debayer B", 1)));
    drop(g);

    // A second start of the same pipeline only counts.
    v.mdev
        .pipeline_start(v.pad("RGB/YUV Capture", 0), &pipe)
        .unwrap();
    assert_eq!(pipe.start_count(), 2);
    // Another pipeline from a pad already in this one: EINVAL (kernel WARN).
    let other = Pipeline::new();
    assert_eq!(
        v.mdev.pipeline_start(v.pad("RGB/YUV Capture", 0), &other),
        Err(Errno::EINVAL)
    );
    // A non-dynamic link of a streaming pad cannot change: EBUSY.
    assert_eq!(setup(&v.mdev, (5, 1), (21, 0), 0).err(), Some(Errno::EBUSY));
    assert_eq!(setup(&v.mdev, (8, 1), (21, 0), 1).err(), Some(Errno::EBUSY));
    // The other component streams independently.
    let pipe_b = Pipeline::new();
    v.ops("Sensor B").set_format(0, fmt(SRGGB8_1X8, 640, 480));
    v.ops("Raw Capture 1")
        .set_format(0, fmt(SRGGB8_1X8, 640, 480));
    v.mdev
        .pipeline_start(v.pad("Raw Capture 1", 0), &pipe_b)
        .unwrap();

    // Stop: the count goes down, at zero every pad leaves.
    v.mdev.pipeline_stop(raw0, &pipe).unwrap();
    assert!(v.mdev.graph().pad_is_streaming(raw0));
    v.mdev.pipeline_stop(raw0, &pipe).unwrap();
    assert!(want.iter().all(|p| !v.mdev.graph().pad_is_streaming(*p)));
    assert_eq!(v.mdev.pipeline_stop(raw0, &pipe), Err(Errno::EINVAL));
    assert!(setup(&v.mdev, (5, 1), (21, 0), 0).is_ok(), "no longer busy");
    v.mdev
        .pipeline_stop(v.pad("Raw Capture 1", 0), &pipe_b)
        .unwrap();
}

fn small_mdev(m: &Monitor) -> MediaDevice {
    let mdev = MediaDevice::new(m, DeviceInfo::default());
    mdev.register_headless().unwrap();
    mdev
}

fn ent(m: &Monitor, mdev: &MediaDevice, name: &str, pads: &[u32]) -> Entity {
    let e = Entity::new(
        m,
        EntityDesc::new(name, MEDIA_ENT_F_PROC_VIDEO_SCALER, EntityType::V4l2Subdev).pads(pads),
        NoOps,
    )
    .unwrap();
    mdev.register_entity(&e).unwrap();
    e
}

#[test]
fn pipeline_ebusy_through_a_dynamic_link_and_must_connect() {
    let m = Monitor::new();
    let mdev = small_mdev(&m);
    let (src, sink) = (MEDIA_PAD_FL_SOURCE, MEDIA_PAD_FL_SINK);
    // A -> X:0 enabled; X:1 -> Y:0 DYNAMIC, disabled. The first pipeline
    // takes X:1 (the local pad of a disabled link); the dynamic link is then
    // enabled while streaming, and a pipeline started from Y:0 reaches the
    // busy X:1: EBUSY.
    let a = ent(&m, &mdev, "A", &[src]);
    let x = ent(&m, &mdev, "X", &[sink, src]);
    let y = ent(&m, &mdev, "Y", &[sink]);
    mdev.create_pad_link(&a, 0, &x, 0, MEDIA_LNK_FL_ENABLED)
        .unwrap();
    mdev.create_pad_link(&x, 1, &y, 0, MEDIA_LNK_FL_DYNAMIC)
        .unwrap();
    let p1 = Pipeline::new();
    let p2 = Pipeline::new();
    mdev.pipeline_start(a.pad_key(0).unwrap(), &p1).unwrap();
    assert!(p1.pads().contains(&x.pad_key(1).unwrap()));
    assert!(!p1.pads().contains(&y.pad_key(0).unwrap()));
    let (x1, y0) = (x.pad_key(1).unwrap(), y.pad_key(0).unwrap());
    mdev.setup_link(x1, y0, MEDIA_LNK_FL_DYNAMIC | MEDIA_LNK_FL_ENABLED)
        .unwrap();
    assert_eq!(mdev.pipeline_start(y0, &p2), Err(Errno::EBUSY));
    assert!(!mdev.graph().pad_is_streaming(y0), "unwound");
    mdev.pipeline_stop(a.pad_key(0).unwrap(), &p1).unwrap();
    mdev.pipeline_start(y0, &p2).unwrap();
    mdev.pipeline_stop(y0, &p2).unwrap();

    // MUST_CONNECT without an enabled link: ENOLINK.
    let s = ent(&m, &mdev, "S", &[src]);
    let k = ent(&m, &mdev, "K", &[sink | MEDIA_PAD_FL_MUST_CONNECT]);
    mdev.create_pad_link(&s, 0, &k, 0, 0).unwrap();
    let p3 = Pipeline::new();
    assert_eq!(
        mdev.pipeline_start(k.pad_key(0).unwrap(), &p3),
        Err(ENOLINK)
    );
    mdev.setup_link(
        s.pad_key(0).unwrap(),
        k.pad_key(0).unwrap(),
        MEDIA_LNK_FL_ENABLED,
    )
    .unwrap();
    mdev.pipeline_start(k.pad_key(0).unwrap(), &p3).unwrap();
    let d = ent(&m, &mdev, "D", &[src]);
    // Link creation checks directions and type bits.
    assert_eq!(mdev.create_pad_link(&y, 0, &d, 0, 0), Err(Errno::EINVAL));
    assert_eq!(
        mdev.create_pad_link(&d, 0, &y, 0, MEDIA_LNK_FL_INTERFACE_LINK),
        Err(Errno::EINVAL)
    );
    assert_eq!(mdev.create_pad_link(&d, 1, &y, 0, 0), Err(Errno::EINVAL));
}

#[test]
fn entity_pad_rules_and_walks() {
    let m = Monitor::new();
    let desc = |pads: &[u32]| {
        EntityDesc::new("e", MEDIA_ENT_F_CAM_SENSOR, EntityType::V4l2Subdev).pads(pads)
    };
    assert_eq!(
        Entity::new(&m, desc(&[0]), NoOps).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        Entity::new(&m, desc(&[MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_SOURCE]), NoOps).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        Entity::new(&m, desc(&vec![MEDIA_PAD_FL_SINK; 512]), NoOps).err(),
        Some(Errno::E2BIG)
    );
    assert!(Entity::new(&m, desc(&vec![MEDIA_PAD_FL_SINK; 511]), NoOps).is_ok());

    let v = vimc(&m);
    let names = |start: &str| -> Vec<String> {
        v.mdev
            .graph_walk(v.entity(start))
            .iter()
            .map(|e| e.name().to_owned())
            .collect()
    };
    assert_eq!(
        names("Raw Capture 0"),
        [
            "Raw Capture 0",
            "Sensor A",
            "Debayer A",
            "Scaler",
            "RGB/YUV Capture"
        ]
    );
    assert_eq!(
        names("Sensor B"),
        ["Sensor B", "Debayer B", "Raw Capture 1"]
    );
    assert_eq!(
        names("Lens A"),
        ["Lens A"],
        "ancillary links are not data links"
    );
}
