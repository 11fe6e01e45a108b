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
//!
//! # Where each part lives
//!
//! * this file: ids, the records, and queries;
//! * `topology.rs`: creating and removing entities, interfaces and links;
//! * `enumerate.rs`: `MEDIA_IOC_ENUM_ENTITIES`, `ENUM_LINKS`, `G_TOPOLOGY`;
//! * `walk.rs`: graph walks and pipeline start/stop with link validation.

mod enumerate;
mod topology;
mod walk;

use crate::mc::entity::{Entity, EntityType, Interface, WeakEntity, WeakInterface};
use crate::mc::pipeline::Pipeline;
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
        /// The pad data flows out of.
        source: PadKey,
        /// The pad data flows into.
        sink: PadKey,
    },
    /// An interface link from an interface to an entity.
    Interface {
        /// Graph id of the interface.
        intf: u32,
        /// Graph id of the entity it controls.
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
    /// What the link connects (pads, or an interface and an entity).
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
    /// The entity's graph id (`MEDIA_IOC_ENUM_ENTITIES` id).
    pub id: u32,
    /// The entity's name.
    pub name: String,
    /// Function (`MEDIA_ENT_F_*`).
    pub function: u32,
    /// `MEDIA_ENT_FL_*` flags.
    pub flags: u32,
    /// Whether it is a V4L2 node entity or a subdev (the type media-ctl prints).
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
}
