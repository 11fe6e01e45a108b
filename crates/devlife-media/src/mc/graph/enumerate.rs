//! `MEDIA_IOC_ENUM_ENTITIES`, `MEDIA_IOC_ENUM_LINKS` and
//! `MEDIA_IOC_G_TOPOLOGY` as pure functions over the graph records.

use super::*;

impl Graph {
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
}
