//! The media graph: graph object ids, entities, pads, links and interfaces as
//! the media device holds them under its graph lock, and the `MEDIA_IOC_*`
//! enumeration semantics as pure functions over it.
//!
//! # Ownership
//!
//! The graph owns the *graph records* (ids, names, pad flags, links). It holds
//! entities and interfaces only **weakly**: their memory belongs to whoever
//! created them (a driver, the V4L2 core), and each of them holds a strong
//! reference to the media device. Links are plain records owned by the graph
//! and reached only through it (so only under the graph lock); they name their
//! ends by graph id, never by reference. There is therefore no reference cycle:
//! `entity → media device → graph ⇢ (weak) entity`.
//!
//! Enumeration (`ENUM_ENTITIES`, `ENUM_LINKS`, `G_TOPOLOGY`) reads only graph
//! records, never entity memory. Code that must call an entity (link
//! validation, link setup, a graph walk) upgrades the weak handle with a
//! try-get and skips an entity that is already being released.
//!
//! # Ids (kernel `media_gobj_create`)
//!
//! `id = (type << 24) | (++counter & 0xffffff)`, one counter for every object
//! type; entity, then its pads, at registration; link then backlink for a data
//! link. `topology_version` is bumped on every creation and destruction.

use super::entity::{Entity, EntityType, Interface, WeakEntity, WeakInterface};
use super::pipeline::Pipeline;
use crate::uapi::ioctl::{UserMemory, Wire, put_str};
use crate::uapi::media::*;
use devlife_model::{Errno, KResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Graph object type of an entity (`MEDIA_GRAPH_ENTITY`).
pub const MEDIA_GRAPH_ENTITY: u32 = 0;
/// Graph object type of a pad (`MEDIA_GRAPH_PAD`).
pub const MEDIA_GRAPH_PAD: u32 = 1;
/// Graph object type of a link (`MEDIA_GRAPH_LINK`).
pub const MEDIA_GRAPH_LINK: u32 = 2;
/// Graph object type of an interface devnode (`MEDIA_GRAPH_INTF_DEVNODE`).
pub const MEDIA_GRAPH_INTF_DEVNODE: u32 = 3;
/// Bits of a graph id holding the per-device counter.
pub const MEDIA_ID_MASK: u32 = 0x00ff_ffff;
/// `MEDIA_ENTITY_MAX_PADS`.
pub const MEDIA_ENTITY_MAX_PADS: usize = 512;

/// The type of a graph id.
pub const fn media_type(id: u32) -> u32 {
    id >> 24
}

/// A pad named by its entity's graph id and its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PadKey {
    /// Graph id of the entity.
    pub entity: u32,
    /// Pad index within the entity.
    pub index: u16,
}

/// What a link connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkEnds {
    /// A data link from a source pad to a sink pad.
    Data {
        /// Source pad.
        source: PadKey,
        /// Sink pad.
        sink: PadKey,
    },
    /// An interface link from an interface to an entity.
    Interface {
        /// Interface id.
        intf: u32,
        /// Entity id.
        entity: u32,
    },
    /// An ancillary link from a primary entity to an ancillary one (sensor → lens).
    Ancillary {
        /// Primary entity id.
        primary: u32,
        /// Ancillary entity id.
        ancillary: u32,
    },
}

/// A link as userspace and the callbacks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkInfo {
    /// Graph id (of the forward link).
    pub id: u32,
    /// Its ends.
    pub ends: LinkEnds,
    /// Its flags (type bits included).
    pub flags: u32,
}

impl LinkInfo {
    /// `(source, sink)` if this is a data link.
    pub fn data(&self) -> Option<(PadKey, PadKey)> {
        match self.ends {
            LinkEnds::Data { source, sink } => Some((source, sink)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LinkNode {
    pub(crate) info: LinkInfo,
    /// The hidden twin of a data link, kept on the sink entity's list.
    pub(crate) backlink: bool,
}

/// A pad's graph record.
#[derive(Debug, Clone)]
pub(crate) struct PadState {
    pub(crate) id: u32,
    pub(crate) flags: u32,
    /// The pipeline the pad is streaming in (`pad->pipe`).
    pub(crate) pipe: Option<u64>,
}

/// An entity's graph record.
#[derive(Debug, Clone)]
pub(crate) struct EntityNode {
    pub(crate) id: u32,
    pub(crate) name: Arc<str>,
    pub(crate) function: u32,
    pub(crate) flags: u32,
    pub(crate) obj_type: EntityType,
    pub(crate) dev: (u32, u32),
    pub(crate) pads: Vec<PadState>,
    pub(crate) handle: WeakEntity,
    /// Shared with the entity: whether it is in this graph (cleared on removal).
    pub(crate) in_graph: Arc<AtomicBool>,
}

/// An interface's graph record.
#[derive(Debug, Clone)]
pub(crate) struct IntfNode {
    pub(crate) id: u32,
    pub(crate) intf_type: u32,
    pub(crate) flags: u32,
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) handle: WeakInterface,
    /// Shared with the interface: whether it is in this graph.
    pub(crate) in_graph: Arc<AtomicBool>,
}

/// The media graph of one media device (everything `graph_mutex` protects).
///
/// # Invariants
///
/// * Every id is unique among live objects and carries its object type.
/// * `entities` is in registration order; each entity's pads are its own, in
///   index order, so iterating entities then pads gives the kernel's pad list.
/// * `links` is in creation order; every data link is followed in the list by
///   exactly one backlink with the same ends (created right after it), and
///   every link's ends name live objects of this graph.
/// * `topology_version` grows by one on every object creation and removal.
#[derive(Debug, Default)]
pub struct Graph {
    pub(crate) next_id: u32,
    pub(crate) topology_version: u64,
    pub(crate) entities: Vec<EntityNode>,
    pub(crate) links: Vec<LinkNode>,
    pub(crate) interfaces: Vec<IntfNode>,
}

/// A snapshot of one entity's graph record, for drivers and renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRecord {
    /// Graph id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Function (`MEDIA_ENT_F_*`).
    pub function: u32,
    /// Flags.
    pub flags: u32,
    /// Object type.
    pub obj_type: EntityType,
    /// Device node numbers (`info.dev`), `(0, 0)` if none.
    pub dev: (u32, u32),
    /// Pad flags, by index.
    pub pad_flags: Vec<u32>,
}

impl Graph {
    /// `topology_version` now.
    pub fn topology_version(&self) -> u64 {
        self.topology_version
    }

    /// Number of registered entities.
    pub fn num_entities(&self) -> usize {
        self.entities.len()
    }

    /// Number of links userspace sees (backlinks excluded).
    pub fn num_links(&self) -> usize {
        self.links.iter().filter(|l| !l.backlink).count()
    }

    /// Number of interfaces.
    pub fn num_interfaces(&self) -> usize {
        self.interfaces.len()
    }

    /// Number of pads.
    pub fn num_pads(&self) -> usize {
        self.entities.iter().map(|e| e.pads.len()).sum()
    }

    fn gobj_create(&mut self, ty: u32) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.topology_version += 1;
        (ty << 24) | (self.next_id & MEDIA_ID_MASK)
    }

    fn gobj_destroy(&mut self) {
        self.topology_version += 1;
    }

    pub(crate) fn entity_node(&self, id: u32) -> Option<&EntityNode> {
        self.entities.iter().find(|e| e.id == id)
    }

    pub(crate) fn entity_node_mut(&mut self, id: u32) -> Option<&mut EntityNode> {
        self.entities.iter_mut().find(|e| e.id == id)
    }

    /// The entity record of `id`.
    pub fn entity(&self, id: u32) -> Option<EntityRecord> {
        self.entity_node(id).map(|e| EntityRecord {
            id: e.id,
            name: e.name.to_string(),
            function: e.function,
            flags: e.flags,
            obj_type: e.obj_type,
            dev: e.dev,
            pad_flags: e.pads.iter().map(|p| p.flags).collect(),
        })
    }

    /// Every entity record, in registration order.
    pub fn entities(&self) -> Vec<EntityRecord> {
        self.entities
            .iter()
            .filter_map(|e| self.entity(e.id))
            .collect()
    }

    /// A strong reference to the entity `id`, unless it is being released (try-get).
    pub fn entity_handle(&self, id: u32) -> Option<Entity> {
        self.entity_node(id).and_then(|e| e.handle.upgrade())
    }

    /// A strong reference to the interface `id`, unless it is being released.
    pub fn interface_handle(&self, id: u32) -> Option<Interface> {
        self.interfaces
            .iter()
            .find(|i| i.id == id)
            .and_then(|i| i.handle.upgrade())
    }

    /// The entity named `name`, if any.
    pub fn entity_by_name(&self, name: &str) -> Option<u32> {
        self.entities
            .iter()
            .find(|e| &*e.name == name)
            .map(|e| e.id)
    }

    /// `find_entity()` of mc-device.c: with [`MEDIA_ENT_ID_FLAG_NEXT`], the first
    /// entity **in list order** whose id is greater than the given one.
    pub fn find_entity(&self, id: u32) -> Option<u32> {
        let next = id & MEDIA_ENT_ID_FLAG_NEXT != 0;
        let id = id & !MEDIA_ENT_ID_FLAG_NEXT;
        self.entities
            .iter()
            .find(|e| if next { e.id > id } else { e.id == id })
            .map(|e| e.id)
    }

    pub(crate) fn pad(&self, k: PadKey) -> Option<&PadState> {
        self.entity_node(k.entity)?.pads.get(usize::from(k.index))
    }

    pub(crate) fn pad_mut(&mut self, k: PadKey) -> Option<&mut PadState> {
        self.entity_node_mut(k.entity)?
            .pads
            .get_mut(usize::from(k.index))
    }

    /// The pad flags of `k`.
    pub fn pad_flags(&self, k: PadKey) -> Option<u32> {
        self.pad(k).map(|p| p.flags)
    }

    /// The graph id of pad `k`.
    pub fn pad_id(&self, k: PadKey) -> Option<u32> {
        self.pad(k).map(|p| p.id)
    }

    /// The pipeline id the pad streams in (`media_pad_pipeline`).
    pub fn pad_pipe(&self, k: PadKey) -> Option<u64> {
        self.pad(k).and_then(|p| p.pipe)
    }

    /// Whether the pad is part of a started pipeline (`media_pad_is_streaming`).
    pub fn pad_is_streaming(&self, k: PadKey) -> bool {
        self.pad_pipe(k).is_some()
    }

    /// The entity's own link list (`entity->links`), in creation order: its
    /// outbound data links, the backlinks of its inbound data links, and the
    /// ancillary links it is the primary of.
    pub(crate) fn entity_link_list(&self, id: u32) -> impl Iterator<Item = &LinkNode> + '_ {
        self.links.iter().filter(move |l| match l.info.ends {
            LinkEnds::Data { source, sink } => {
                if l.backlink {
                    sink.entity == id
                } else {
                    source.entity == id
                }
            }
            LinkEnds::Ancillary { primary, .. } => primary == id,
            LinkEnds::Interface { .. } => false,
        })
    }

    /// `entity->num_links - entity->num_backlinks`: outbound data links.
    pub fn entity_outbound_links(&self, id: u32) -> usize {
        self.links
            .iter()
            .filter(|l| {
                !l.backlink
                    && matches!(l.info.ends, LinkEnds::Data { source, .. } if source.entity == id)
            })
            .count()
    }

    /// `pad->num_links`: data links with this pad at either end.
    pub fn pad_num_links(&self, k: PadKey) -> usize {
        self.links
            .iter()
            .filter(|l| !l.backlink && matches!(l.info.ends, LinkEnds::Data { source, sink } if source == k || sink == k))
            .count()
    }

    /// Every link userspace sees (backlinks hidden), in creation order.
    pub fn links(&self) -> Vec<LinkInfo> {
        self.links
            .iter()
            .filter(|l| !l.backlink)
            .map(|l| l.info)
            .collect()
    }

    /// The forward data link from `source` to `sink` (`media_entity_find_link`).
    pub fn find_data_link(&self, source: PadKey, sink: PadKey) -> Option<LinkInfo> {
        self.links
            .iter()
            .find(|l| !l.backlink && l.info.ends == LinkEnds::Data { source, sink })
            .map(|l| l.info)
    }

    /// The link with graph id `id` (backlinks excluded).
    pub fn link(&self, id: u32) -> Option<LinkInfo> {
        self.links
            .iter()
            .find(|l| !l.backlink && l.info.id == id)
            .map(|l| l.info)
    }

    // -----------------------------------------------------------------------
    // Creation and removal
    // -----------------------------------------------------------------------

    /// `media_device_register_entity` (graph part): entity id, then pad ids.
    pub(crate) fn add_entity(&mut self, e: &Entity, handle: WeakEntity) -> u32 {
        let id = self.gobj_create(MEDIA_GRAPH_ENTITY);
        let pads = e
            .pads()
            .iter()
            .map(|p| PadState {
                id: self.gobj_create(MEDIA_GRAPH_PAD),
                flags: p.flags,
                pipe: None,
            })
            .collect();
        self.entities.push(EntityNode {
            id,
            name: e.name_arc(),
            function: e.function(),
            flags: e.flags(),
            obj_type: e.obj_type(),
            dev: (0, 0),
            pads,
            handle,
            in_graph: e.in_graph_flag(),
        });
        e.in_graph_flag().store(true, Ordering::Release);
        id
    }

    /// `__media_device_unregister_entity` (graph part): the interface links
    /// pointing to it, its data links (and their twins), its ancillary links
    /// (either end: the kernel leaves the ones where it is the ancillary end
    /// dangling; we do not), its pads, then the entity. Returns whether it was
    /// in the graph.
    pub(crate) fn remove_entity(&mut self, id: u32) -> bool {
        let Some(pos) = self.entities.iter().position(|e| e.id == id) else {
            return false;
        };
        let before = self.links.len();
        self.links.retain(|l| match l.info.ends {
            LinkEnds::Interface { entity, .. } => entity != id,
            LinkEnds::Data { source, sink } => source.entity != id && sink.entity != id,
            LinkEnds::Ancillary { primary, ancillary } => primary != id && ancillary != id,
        });
        let removed_links = before - self.links.len();
        let node = self.entities.remove(pos);
        node.in_graph.store(false, Ordering::Release);
        for _ in 0..removed_links + node.pads.len() + 1 {
            self.gobj_destroy();
        }
        true
    }

    /// Sets the device node numbers of an entity (`entity->info.dev`).
    pub(crate) fn set_entity_dev(&mut self, id: u32, major: u32, minor: u32) -> bool {
        match self.entity_node_mut(id) {
            Some(e) => {
                e.dev = (major, minor);
                true
            }
            None => false,
        }
    }

    /// `media_devnode_create` (graph part).
    pub(crate) fn add_interface(&mut self, i: &Interface, handle: WeakInterface) -> u32 {
        let id = self.gobj_create(MEDIA_GRAPH_INTF_DEVNODE);
        self.interfaces.push(IntfNode {
            id,
            intf_type: i.intf_type(),
            flags: i.flags(),
            major: i.major(),
            minor: i.minor(),
            handle,
            in_graph: i.in_graph_flag(),
        });
        i.in_graph_flag().store(true, Ordering::Release);
        id
    }

    /// `media_devnode_remove` (graph part): its links, then the interface.
    pub(crate) fn remove_interface(&mut self, id: u32) -> bool {
        let Some(pos) = self.interfaces.iter().position(|i| i.id == id) else {
            return false;
        };
        let before = self.links.len();
        self.links
            .retain(|l| !matches!(l.info.ends, LinkEnds::Interface { intf, .. } if intf == id));
        let removed = before - self.links.len();
        let node = self.interfaces.remove(pos);
        node.in_graph.store(false, Ordering::Release);
        for _ in 0..removed + 1 {
            self.gobj_destroy();
        }
        true
    }

    /// `media_create_pad_link`: a forward link and its backlink.
    ///
    /// `EINVAL` if `flags` has type bits, an end is not in this graph, the
    /// index is out of range, or the pads have the wrong direction.
    pub fn create_pad_link(&mut self, source: PadKey, sink: PadKey, flags: u32) -> KResult<u32> {
        if flags & MEDIA_LNK_FL_LINK_TYPE != 0 {
            return Err(Errno::EINVAL);
        }
        let sf = self.pad_flags(source).ok_or(Errno::EINVAL)?;
        let kf = self.pad_flags(sink).ok_or(Errno::EINVAL)?;
        if sf & MEDIA_PAD_FL_SOURCE == 0 || kf & MEDIA_PAD_FL_SINK == 0 {
            return Err(Errno::EINVAL);
        }
        let flags = flags | MEDIA_LNK_FL_DATA_LINK;
        let ends = LinkEnds::Data { source, sink };
        let id = self.gobj_create(MEDIA_GRAPH_LINK);
        self.links.push(LinkNode {
            info: LinkInfo { id, ends, flags },
            backlink: false,
        });
        let bid = self.gobj_create(MEDIA_GRAPH_LINK);
        self.links.push(LinkNode {
            info: LinkInfo {
                id: bid,
                ends,
                flags,
            },
            backlink: true,
        });
        Ok(id)
    }

    /// `media_create_intf_link`.
    pub fn create_intf_link(&mut self, intf: u32, entity: u32, flags: u32) -> KResult<u32> {
        if !self.interfaces.iter().any(|i| i.id == intf) || self.entity_node(entity).is_none() {
            return Err(Errno::EINVAL);
        }
        let id = self.gobj_create(MEDIA_GRAPH_LINK);
        self.links.push(LinkNode {
            info: LinkInfo {
                id,
                ends: LinkEnds::Interface { intf, entity },
                flags: flags | MEDIA_LNK_FL_INTERFACE_LINK,
            },
            backlink: false,
        });
        Ok(id)
    }

    /// `media_create_ancillary_link`: IMMUTABLE | ENABLED | ANCILLARY, no backlink.
    pub fn create_ancillary_link(&mut self, primary: u32, ancillary: u32) -> KResult<u32> {
        if self.entity_node(primary).is_none() || self.entity_node(ancillary).is_none() {
            return Err(Errno::EINVAL);
        }
        let id = self.gobj_create(MEDIA_GRAPH_LINK);
        self.links.push(LinkNode {
            info: LinkInfo {
                id,
                ends: LinkEnds::Ancillary { primary, ancillary },
                flags: MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_ANCILLARY_LINK,
            },
            backlink: false,
        });
        Ok(id)
    }

    /// Removes link `id` (and the backlink of a data link). `EINVAL` if unknown.
    pub fn remove_link(&mut self, id: u32) -> KResult<()> {
        let pos = self
            .links
            .iter()
            .position(|l| !l.backlink && l.info.id == id)
            .ok_or(Errno::EINVAL)?;
        let l = self.links.remove(pos);
        self.gobj_destroy();
        if matches!(l.info.ends, LinkEnds::Data { .. }) {
            // The backlink directly follows its forward link in creation
            // order, but other links may have been removed meanwhile: find it.
            if let Some(b) = self
                .links
                .iter()
                .position(|b| b.backlink && b.info.ends == l.info.ends)
            {
                self.links.remove(b);
                self.gobj_destroy();
            }
        }
        Ok(())
    }

    pub(crate) fn set_link_flags(&mut self, id: u32, flags: u32) {
        let mut ends = None;
        for l in self
            .links
            .iter_mut()
            .filter(|l| !l.backlink && l.info.id == id)
        {
            l.info.flags = flags;
            ends = Some(l.info.ends);
        }
        if let Some(ends) = ends {
            // `link->reverse->flags = link->flags`
            if let Some(b) = self
                .links
                .iter_mut()
                .find(|b| b.backlink && b.info.ends == ends)
            {
                b.info.flags = flags;
            }
        }
    }

    // -----------------------------------------------------------------------
    // MEDIA_IOC_* as pure functions
    // -----------------------------------------------------------------------

    /// `media_device_enum_entities`. `EINVAL` when no entity matches.
    pub fn enum_entities(&self, d: &mut MediaEntityDesc) -> KResult<()> {
        let id = self.find_entity(d.id).ok_or(Errno::EINVAL)?;
        let e = self.entity_node(id).ok_or(Errno::EINVAL)?;
        *d = MediaEntityDesc::ZERO;
        d.id = e.id;
        put_str(&mut d.name, &e.name);
        d.type_ = e.function;
        d.flags = e.flags;
        d.pads = u16::try_from(e.pads.len()).unwrap_or(u16::MAX);
        d.links = u16::try_from(self.entity_outbound_links(id)).unwrap_or(u16::MAX);
        // Old media-ctl ignores functions outside the two legacy ranges.
        if e.function < MEDIA_ENT_F_OLD_BASE || e.function > MEDIA_ENT_F_TUNER {
            if e.obj_type == EntityType::V4l2Subdev {
                d.type_ = MEDIA_ENT_F_V4L2_SUBDEV_UNKNOWN;
            } else if e.function != MEDIA_ENT_F_IO_V4L {
                d.type_ = MEDIA_ENT_T_DEVNODE_UNKNOWN;
            }
        }
        d.set_dev(e.dev.0, e.dev.1);
        Ok(())
    }

    /// `media_device_enum_links`: writes the entity's pad descriptors to
    /// `le.pads` (if non-zero) and its outbound data links to `le.links` (if
    /// non-zero). Backlinks and ancillary links are not listed. The arrays are
    /// sized by the caller from ENUM_ENTITIES; writing past a mapping is `EFAULT`.
    pub fn enum_links(&self, le: &mut MediaLinksEnum, mm: &dyn UserMemory) -> KResult<()> {
        let id = self.find_entity(le.entity).ok_or(Errno::EINVAL)?;
        let e = self.entity_node(id).ok_or(Errno::EINVAL)?;
        if le.pads != 0 {
            for (i, p) in e.pads.iter().enumerate() {
                let d = MediaPadDesc {
                    entity: id,
                    index: i as u16,
                    flags: p.flags,
                    reserved: [0; 2],
                };
                let addr = le.pads.wrapping_add((i * MediaPadDesc::SIZE) as u64);
                mm.write(addr, &d.to_vec()).map_err(|_| Errno::EFAULT)?;
            }
        }
        if le.links != 0 {
            let mut n = 0u64;
            for l in self.entity_link_list(id) {
                let Some((source, sink)) = l.info.data() else {
                    continue;
                };
                if l.backlink || source.entity != id {
                    continue;
                }
                let d = MediaLinkDesc {
                    source: self.upad(source),
                    sink: self.upad(sink),
                    flags: l.info.flags,
                    reserved: [0; 2],
                };
                let addr = le
                    .links
                    .wrapping_add(n.wrapping_mul(MediaLinkDesc::SIZE as u64));
                mm.write(addr, &d.to_vec()).map_err(|_| Errno::EFAULT)?;
                n += 1;
            }
        }
        le.reserved = [0; 4];
        Ok(())
    }

    fn upad(&self, k: PadKey) -> MediaPadDesc {
        MediaPadDesc {
            entity: k.entity,
            index: k.index,
            flags: self.pad_flags(k).unwrap_or(0),
            reserved: [0; 2],
        }
    }

    /// `media_device_get_topology`.
    ///
    /// Counts are always computed; an array is filled only if its pointer is
    /// non-zero. If a count given by the caller is too small the result is
    /// `ENOSPC` (and, since errors are not copied back, the caller's counts are
    /// left as they were). The first error (ENOSPC or EFAULT) stops the copying
    /// but not the counting, like the kernel.
    pub fn g_topology(&self, t: &mut MediaV2Topology, mm: &dyn UserMemory) -> KResult<()> {
        let mut ret: KResult<()> = Ok(());
        t.topology_version = self.topology_version;

        fn copy_array<T: Wire>(
            ret: &mut KResult<()>,
            mm: &dyn UserMemory,
            ptr: u64,
            cap: u32,
            items: impl Iterator<Item = T>,
        ) -> u32 {
            let mut i: u32 = 0;
            for item in items {
                i += 1;
                if ret.is_err() || ptr == 0 {
                    continue;
                }
                if i > cap {
                    *ret = Err(Errno::ENOSPC);
                    continue;
                }
                let addr = ptr.wrapping_add(u64::from(i - 1).wrapping_mul(T::SIZE as u64));
                if mm.write(addr, &item.to_vec()).is_err() {
                    *ret = Err(Errno::EFAULT);
                }
            }
            i
        }

        let ents = self.entities.iter().map(|e| {
            let mut k = MediaV2Entity::ZERO;
            k.id = e.id;
            k.function = e.function;
            k.flags = e.flags;
            put_str(&mut k.name, &e.name);
            k
        });
        t.num_entities = copy_array(&mut ret, mm, t.ptr_entities, t.num_entities, ents);
        t.reserved1 = 0;

        let intfs = self.interfaces.iter().map(|i| {
            let mut k = MediaV2Interface::ZERO;
            k.id = i.id;
            k.intf_type = i.intf_type;
            k.flags = i.flags;
            k.set_devnode(i.major, i.minor);
            k
        });
        t.num_interfaces = copy_array(&mut ret, mm, t.ptr_interfaces, t.num_interfaces, intfs);
        t.reserved2 = 0;

        let pads = self.entities.iter().flat_map(|e| {
            e.pads.iter().enumerate().map(move |(i, p)| MediaV2Pad {
                id: p.id,
                entity_id: e.id,
                flags: p.flags,
                index: i as u32,
                reserved: [0; 4],
            })
        });
        t.num_pads = copy_array(&mut ret, mm, t.ptr_pads, t.num_pads, pads);
        t.reserved3 = 0;

        let links = self.links.iter().filter(|l| !l.backlink).map(|l| {
            let (source_id, sink_id) = match l.info.ends {
                LinkEnds::Data { source, sink } => (
                    self.pad_id(source).unwrap_or(0),
                    self.pad_id(sink).unwrap_or(0),
                ),
                LinkEnds::Interface { intf, entity } => (intf, entity),
                LinkEnds::Ancillary { primary, ancillary } => (primary, ancillary),
            };
            MediaV2Link {
                id: l.info.id,
                source_id,
                sink_id,
                flags: l.info.flags,
                reserved: [0; 6],
            }
        });
        t.num_links = copy_array(&mut ret, mm, t.ptr_links, t.num_links, links);
        t.reserved4 = 0;
        ret
    }

    // -----------------------------------------------------------------------
    // Walks
    // -----------------------------------------------------------------------

    /// The legacy graph walk (`media_graph_walk_*`): depth first from
    /// `start`, following **enabled data links in both directions**; returns
    /// entity ids in visiting order (start first). Unknown start: empty.
    pub fn walk(&self, start: u32) -> Vec<u32> {
        let mut out = Vec::new();
        if self.entity_node(start).is_none() {
            return out;
        }
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if out.contains(&id) {
                continue;
            }
            out.push(id);
            let mut next: Vec<u32> = self
                .entity_link_list(id)
                .filter(|l| l.info.flags & MEDIA_LNK_FL_ENABLED != 0)
                .filter_map(|l| l.info.data())
                .map(|(s, k)| if s.entity == id { k.entity } else { s.entity })
                .filter(|n| !out.contains(n))
                .collect();
            next.reverse();
            stack.extend(next);
        }
        out
    }

    /// `media_entity_has_pad_interdep`.
    pub(crate) fn has_pad_interdep(&self, entity: u32, pad0: u16, pad1: u16) -> bool {
        let Some(e) = self.entity_node(entity) else {
            return false;
        };
        let (Some(a), Some(b)) = (e.pads.get(usize::from(pad0)), e.pads.get(usize::from(pad1)))
        else {
            return false;
        };
        if a.flags & b.flags & (MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_SOURCE) != 0 {
            return false;
        }
        match e.handle.upgrade() {
            Some(h) => h
                .ops()
                .has_pad_interdep(u32::from(pad0), u32::from(pad1))
                .unwrap_or(true),
            None => true,
        }
    }

    /// `media_pipeline_populate`: the pads of the pipeline through `origin`,
    /// depth first (see `Pipeline`).
    pub(crate) fn pipeline_pads(&self, origin: PadKey) -> Vec<PadKey> {
        let mut pads: Vec<PadKey> = Vec::new();
        // Stack entries: (pad, position in its entity's link list).
        let mut stack: Vec<(PadKey, usize)> = Vec::new();
        let add = |pads: &mut Vec<PadKey>, stack: &mut Vec<(PadKey, usize)>, p: PadKey| {
            if !pads.contains(&p) {
                pads.push(p);
                stack.push((p, 0));
            }
        };
        add(&mut pads, &mut stack, origin);
        while let Some(top) = stack.last_mut() {
            let (pad, pos) = *top;
            let list: Vec<LinkInfo> = self.entity_link_list(pad.entity).map(|l| l.info).collect();
            let last = pos + 1 >= list.len();
            if last {
                stack.pop();
            } else {
                top.1 += 1;
            }
            if let Some(link) = list.get(pos)
                && let Some((source, sink)) = link.data()
            {
                let (local, remote) = if source.entity == pad.entity {
                    (source, sink)
                } else {
                    (sink, source)
                };
                if pad == local || self.has_pad_interdep(pad.entity, pad.index, local.index) {
                    add(&mut pads, &mut stack, local);
                    if link.flags & MEDIA_LNK_FL_ENABLED != 0 {
                        add(&mut pads, &mut stack, remote);
                    }
                }
            }
            if last {
                // Unconnected pads internally connected to the origin pad.
                let n = self.entity_node(pad.entity).map_or(0, |e| e.pads.len());
                for i in 0..n {
                    let local = PadKey {
                        entity: pad.entity,
                        index: i as u16,
                    };
                    if local == pad
                        || self.pad_num_links(local) > 0
                        || !self.has_pad_interdep(pad.entity, pad.index, local.index)
                    {
                        continue;
                    }
                    add(&mut pads, &mut stack, local);
                }
            }
        }
        pads
    }

    /// `__media_pipeline_start` on `origin` with `pipe`.
    ///
    /// * `origin` already in another pipeline: `EINVAL` (the kernel WARNs);
    /// * `pipe` already started: its start count goes up, nothing is checked;
    /// * otherwise every pad of the pipeline is validated in order: a pad that
    ///   already streams is `EBUSY`; every enabled link whose sink is the pad is
    ///   checked by the **sink** entity's `link_validate` (its error, typically
    ///   `EPIPE`, is returned); a `MUST_CONNECT` pad without an enabled link is
    ///   `ENOLINK`. On error every pad marked so far is unmarked.
    pub fn pipeline_start(&mut self, origin: PadKey, pipe: &Pipeline) -> KResult<()> {
        let o = self.pad(origin).ok_or(Errno::EINVAL)?;
        if let Some(p) = o.pipe
            && p != pipe.id()
        {
            return Err(Errno::EINVAL);
        }
        let mut st = pipe.state();
        if st.start_count > 0 {
            st.start_count += 1;
            return Ok(());
        }
        let pads = self.pipeline_pads(origin);
        let mut marked: Vec<PadKey> = Vec::new();
        let mut result = Ok(());
        for &pad in &pads {
            if let Err(e) = self.validate_pad(pad) {
                result = Err(e);
                break;
            }
            if let Some(p) = self.pad_mut(pad) {
                p.pipe = Some(pipe.id());
            }
            marked.push(pad);
        }
        match result {
            Ok(()) => {
                st.pads = pads;
                st.start_count = 1;
                Ok(())
            }
            Err(e) => {
                for pad in marked {
                    if let Some(p) = self.pad_mut(pad) {
                        p.pipe = None;
                    }
                }
                st.pads.clear();
                Err(e)
            }
        }
    }

    fn validate_pad(&self, pad: PadKey) -> KResult<()> {
        let p = self.pad(pad).ok_or(Errno::EINVAL)?;
        if p.pipe.is_some() {
            return Err(Errno::EBUSY);
        }
        let mut has_enabled = false;
        for l in self.entity_link_list(pad.entity) {
            let Some((source, sink)) = l.info.data() else {
                continue;
            };
            if sink != pad && source != pad {
                continue;
            }
            if l.info.flags & MEDIA_LNK_FL_ENABLED == 0 {
                continue;
            }
            has_enabled = true;
            if sink != pad {
                continue;
            }
            let sink_e = self.entity_handle(sink.entity).ok_or(Errno::ENODEV)?;
            let source_e = self.entity_handle(source.entity).ok_or(Errno::ENODEV)?;
            sink_e.ops().link_validate(&l.info, &source_e, &sink_e)?;
        }
        if p.flags & MEDIA_PAD_FL_MUST_CONNECT != 0 && !has_enabled {
            return Err(super::ENOLINK);
        }
        Ok(())
    }

    /// `__media_pipeline_stop` on a pad of a started pipeline: the start count
    /// goes down; at zero every pad leaves the pipeline. `EINVAL` if the pad
    /// streams in no pipeline (the kernel WARNs) or in another one.
    pub fn pipeline_stop(&mut self, pad: PadKey, pipe: &Pipeline) -> KResult<()> {
        match self.pad(pad).and_then(|p| p.pipe) {
            Some(p) if p == pipe.id() => {}
            _ => return Err(Errno::EINVAL),
        }
        let mut st = pipe.state();
        st.start_count = st.start_count.saturating_sub(1);
        if st.start_count > 0 {
            return Ok(());
        }
        for k in std::mem::take(&mut st.pads) {
            if let Some(p) = self.pad_mut(k)
                && p.pipe == Some(pipe.id())
            {
                p.pipe = None;
            }
        }
        Ok(())
    }
}
