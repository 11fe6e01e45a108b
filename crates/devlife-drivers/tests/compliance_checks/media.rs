//! The media node, as `v4l2-test-media.cpp` checks it: `DEVICE_INFO`,
//! `G_TOPOLOGY` (its two-call protocol and the consistency of its ids),
//! `ENUM_ENTITIES` and `ENUM_LINKS` against it, and the interfaces against
//! the kernel's nodes.

use super::{Suite, get, good_str, ioc};
use crate::{ensure, ensure_eq};
use devlife_media::uapi::ioctl::{AddressSpace, Wire, with_current_mm};
use devlife_media::uapi::media::*;
use devlife_model::{Errno, File, Kernel};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// An entity of `G_TOPOLOGY` (the uapi structs are packed: copied out).
#[derive(Debug, Clone, Copy)]
pub struct Ent {
    pub id: u32,
    pub name: [u8; 64],
    pub reserved: [u32; 5],
}

/// An interface of `G_TOPOLOGY` with its devnode.
#[derive(Debug, Clone, Copy)]
pub struct Intf {
    pub id: u32,
    pub major: u32,
    pub minor: u32,
}

/// A pad of `G_TOPOLOGY`.
#[derive(Debug, Clone, Copy)]
pub struct Pad {
    pub id: u32,
    pub entity_id: u32,
    pub flags: u32,
}

/// A link of `G_TOPOLOGY`.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub id: u32,
    pub source_id: u32,
    pub sink_id: u32,
    pub flags: u32,
    pub reserved: [u32; 6],
}

/// The topology as `G_TOPOLOGY` gives it.
#[derive(Debug, Default, Clone)]
pub struct Topology {
    pub entities: Vec<Ent>,
    pub interfaces: Vec<Intf>,
    pub pads: Vec<Pad>,
    pub links: Vec<Link>,
}

fn array<T: Wire>(mm: &AddressSpace, addr: u64, n: u32) -> Vec<T> {
    let raw = mm.read_back(addr, n as usize * T::SIZE).unwrap_or_default();
    raw.chunks_exact(T::SIZE).map(T::decode).collect()
}

/// `G_TOPOLOGY` twice: the counts, then the arrays.
pub fn topology(f: &File) -> Result<Topology, String> {
    let mut t = MediaV2Topology::default();
    ioc(f, MEDIA_IOC_G_TOPOLOGY, &mut t).map_err(|e| format!("counts: {e:?}"))?;
    let mm = Arc::new(AddressSpace::new());
    let mut u = MediaV2Topology {
        ptr_entities: mm.map(t.num_entities as usize * MediaV2Entity::SIZE),
        ptr_interfaces: mm.map(t.num_interfaces as usize * MediaV2Interface::SIZE),
        ptr_pads: mm.map(t.num_pads as usize * MediaV2Pad::SIZE),
        ptr_links: mm.map(t.num_links as usize * MediaV2Link::SIZE),
        ..t
    };
    with_current_mm(mm.clone(), || ioc(f, MEDIA_IOC_G_TOPOLOGY, &mut u))
        .map_err(|e| format!("arrays: {e:?}"))?;
    let counts = |x: &MediaV2Topology| {
        (
            x.topology_version,
            x.num_entities,
            x.num_interfaces,
            x.num_pads,
            x.num_links,
        )
    };
    if counts(&u) != counts(&t) {
        return Err("the topology changed between the two calls".into());
    }
    Ok(Topology {
        entities: array::<MediaV2Entity>(&mm, u.ptr_entities, u.num_entities)
            .iter()
            .map(|e| Ent {
                id: e.id,
                name: e.name,
                reserved: e.reserved,
            })
            .collect(),
        interfaces: array::<MediaV2Interface>(&mm, u.ptr_interfaces, u.num_interfaces)
            .iter()
            .map(|i| {
                let d = i.devnode();
                Intf {
                    id: i.id,
                    major: d.major,
                    minor: d.minor,
                }
            })
            .collect(),
        pads: array::<MediaV2Pad>(&mm, u.ptr_pads, u.num_pads)
            .iter()
            .map(|p| Pad {
                id: p.id,
                entity_id: p.entity_id,
                flags: p.flags,
            })
            .collect(),
        links: array::<MediaV2Link>(&mm, u.ptr_links, u.num_links)
            .iter()
            .map(|l| Link {
                id: l.id,
                source_id: l.source_id,
                sink_id: l.sink_id,
                flags: l.flags,
                reserved: l.reserved,
            })
            .collect(),
    })
}

/// Checks the media node `path`; returns the topology (for the other nodes).
pub fn check(s: &mut Suite, k: &Kernel, f: &File) -> Topology {
    s.test("MEDIA_IOC_DEVICE_INFO", || {
        let d = get(f, MEDIA_IOC_DEVICE_INFO, MediaDeviceInfo::default())
            .map_err(|e| format!("{e:?}"))?;
        ensure!(good_str(&d.driver), "driver");
        ensure!(good_str(&d.bus_info), "bus_info");
        ensure!(d.media_version != 0, "media_version");
        ensure!(d.reserved == [0; 31], "reserved");
        Ok(())
    });
    let mut topo = Topology::default();
    s.test("MEDIA_IOC_G_TOPOLOGY: ids unique, every end exists", || {
        topo = topology(f)?;
        let t = &topo;
        let ents: HashSet<u32> = t.entities.iter().map(|e| e.id).collect();
        let intfs: HashSet<u32> = t.interfaces.iter().map(|i| i.id).collect();
        let pads: HashSet<u32> = t.pads.iter().map(|p| p.id).collect();
        ensure_eq!(ents.len(), t.entities.len(), "entity ids unique");
        ensure_eq!(intfs.len(), t.interfaces.len(), "interface ids unique");
        ensure_eq!(pads.len(), t.pads.len(), "pad ids unique");
        ensure!(
            !t.entities.is_empty() && !t.interfaces.is_empty(),
            "empty graph"
        );
        for e in &t.entities {
            ensure!(good_str(&e.name), "entity {} name", e.id);
            ensure!(e.reserved == [0; 5], "entity reserved");
        }
        for p in &t.pads {
            ensure!(ents.contains(&p.entity_id), "pad {} of no entity", p.id);
            ensure!(
                p.flags & (MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_SOURCE) != 0,
                "pad {} direction",
                p.id
            );
        }
        for l in &t.links {
            ensure!(l.reserved == [0; 6], "link reserved");
            match l.flags & MEDIA_LNK_FL_LINK_TYPE {
                MEDIA_LNK_FL_DATA_LINK => {
                    ensure!(
                        pads.contains(&l.source_id) && pads.contains(&l.sink_id),
                        "data link {}",
                        l.id
                    )
                }
                MEDIA_LNK_FL_INTERFACE_LINK => {
                    ensure!(
                        intfs.contains(&l.source_id),
                        "interface link {} source",
                        l.id
                    );
                    ensure!(ents.contains(&l.sink_id), "interface link {} sink", l.id);
                }
                MEDIA_LNK_FL_ANCILLARY_LINK => {
                    ensure!(
                        ents.contains(&l.source_id) && ents.contains(&l.sink_id),
                        "ancillary link {}",
                        l.id
                    )
                }
                t => return Err(format!("link {} of type {t:#x}", l.id)),
            }
        }
        Ok(())
    });
    s.test(
        "interfaces are the kernel's nodes, each linked to its entity",
        || {
            let nodes: BTreeSet<(u32, u32)> = k
                .nodes()
                .iter()
                .map(|n| (n.devt().major, n.devt().minor))
                .collect();
            for i in &topo.interfaces {
                ensure!(
                    nodes.contains(&(i.major, i.minor)),
                    "interface {} devnode {}:{}",
                    i.id,
                    i.major,
                    i.minor
                );
                let linked = topo
                    .links
                    .iter()
                    .filter(|l| {
                        l.source_id == i.id
                            && l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_INTERFACE_LINK
                    })
                    .count();
                ensure_eq!(linked, 1, "interface {} links", i.id);
            }
            Ok(())
        },
    );
    s.test(
        "ENUM_ENTITIES walk and ENUM_LINKS agree with G_TOPOLOGY",
        || {
            let mut id = 0;
            let mut seen = Vec::new();
            loop {
                let r = get(
                    f,
                    MEDIA_IOC_ENUM_ENTITIES,
                    MediaEntityDesc {
                        id: id | MEDIA_ENT_ID_FLAG_NEXT,
                        ..Default::default()
                    },
                );
                match r {
                    Ok(e) => {
                        ensure!(e.id > id, "ids increase");
                        id = e.id;
                        seen.push(e);
                    }
                    Err(e) => {
                        ensure_eq!(e, Errno::EINVAL, "end of the walk");
                        break;
                    }
                }
            }
            ensure_eq!(seen.len(), topo.entities.len(), "entity count");
            for e in &seen {
                let v2 = topo
                    .entities
                    .iter()
                    .find(|x| x.id == e.id)
                    .ok_or("entity not in G_TOPOLOGY")?;
                ensure_eq!(e.name[..32], v2.name[..32], "name of {}", e.id);
                let npads = topo.pads.iter().filter(|p| p.entity_id == e.id).count();
                ensure_eq!(usize::from(e.pads), npads, "pads of {}", e.id);
                let pad_ids: Vec<u32> = topo
                    .pads
                    .iter()
                    .filter(|p| p.entity_id == e.id)
                    .map(|p| p.id)
                    .collect();
                let out_links = topo
                    .links
                    .iter()
                    .filter(|l| {
                        l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_DATA_LINK
                            && pad_ids.contains(&l.source_id)
                    })
                    .count();
                ensure_eq!(
                    usize::from(e.links),
                    out_links,
                    "outbound links of {}",
                    e.id
                );
            }
            let r = get(
                f,
                MEDIA_IOC_ENUM_ENTITIES,
                MediaEntityDesc {
                    id: 0,
                    ..Default::default()
                },
            );
            ensure_eq!(r.err(), Some(Errno::EINVAL), "entity id 0");
            Ok(())
        },
    );
    topo
}
