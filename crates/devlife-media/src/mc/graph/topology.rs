//! Creating and removing graph objects (kernel `media_gobj_create` and
//! `media_gobj_destroy` with their callers): every change bumps
//! `topology_version`.

use super::*;

impl Graph {
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
}
