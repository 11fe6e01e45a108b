//! `media_device_enumerate`: what media-ctl learns about a media device,
//! through the media ioctls and (for what media-ctl reads from other nodes)
//! the entities.

use super::*;

fn ioctl<T: Wire>(mdev: &MediaDevice, cmd: u32, v: &mut T, mm: &dyn UserMemory) -> KResult<()> {
    let mut b = v.to_vec();
    media_ioctl(mdev, cmd, &mut b, mm)?;
    *v = T::decode(&b);
    Ok(())
}

/// Enumerates `mdev` the way `media_device_enumerate` does, through the ioctls.
pub fn enumerate(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<Topology> {
    let mm = AddressSpace::new();
    let mut info = MediaDeviceInfo::ZERO;
    ioctl(mdev, MEDIA_IOC_DEVICE_INFO, &mut info, &mm)?;

    let mut entities: Vec<CtlEntity> = Vec::new();
    let mut id = 0u32;
    loop {
        let mut d = MediaEntityDesc::ZERO;
        d.id = id | MEDIA_ENT_ID_FLAG_NEXT;
        match ioctl(mdev, MEDIA_IOC_ENUM_ENTITIES, &mut d, &mm) {
            Ok(()) => {}
            Err(Errno::EINVAL) => break,
            Err(e) => return Err(e),
        }
        id = d.id;
        let devname = devname_of(mdev, &d, opts);
        entities.push(CtlEntity {
            info: d,
            pad_flags: Vec::new(),
            links: Vec::new(),
            devname,
            pads: Vec::new(),
        });
    }

    for i in 0..entities.len() {
        let d = entities[i].info;
        let pads = mm.map(usize::from(d.pads) * MediaPadDesc::SIZE);
        let links = mm.map(usize::from(d.links) * MediaLinkDesc::SIZE);
        let mut le = MediaLinksEnum {
            entity: d.id,
            pads,
            links,
            reserved: [0; 4],
        };
        ioctl(mdev, MEDIA_IOC_ENUM_LINKS, &mut le, &mm)?;
        for p in 0..usize::from(d.pads) {
            let b = mm
                .read_back(pads + (p * MediaPadDesc::SIZE) as u64, MediaPadDesc::SIZE)
                .map_err(|_| Errno::EFAULT)?;
            entities[i].pad_flags.push(MediaPadDesc::decode(&b).flags);
        }
        for l in 0..usize::from(d.links) {
            let b = mm
                .read_back(
                    links + (l * MediaLinkDesc::SIZE) as u64,
                    MediaLinkDesc::SIZE,
                )
                .map_err(|_| Errno::EFAULT)?;
            let ld = MediaLinkDesc::decode(&b);
            let by_id = |id: u32| entities.iter().position(|e| e.info.id == id);
            let (Some(s), Some(k)) = (by_id(ld.source.entity), by_id(ld.sink.entity)) else {
                return Err(Errno::EINVAL);
            };
            let link = CtlLink {
                source_entity: s,
                source_pad: ld.source.index,
                sink_entity: k,
                sink_pad: ld.sink.index,
                flags: ld.flags,
            };
            entities[s].links.push(link);
            entities[k].links.push(link);
        }
        mm.unmap(pads);
        mm.unmap(links);
    }

    // Subdev pad information, through the entity (media-ctl opens the node).
    let handles: Vec<_> = {
        let g = mdev.graph();
        entities
            .iter()
            .map(|e| g.entity_handle(e.info.id))
            .collect()
    };
    for (e, h) in entities.iter_mut().zip(handles) {
        if e.entity_type() != MEDIA_ENT_T_V4L2_SUBDEV || e.devname.is_none() {
            continue;
        }
        let Some(h) = h else { continue };
        e.pads = (0..u32::from(e.info.pads))
            .map(|p| h.ops().pad_info(p))
            .collect();
    }
    Ok(Topology { info, entities })
}

fn devname_of(mdev: &MediaDevice, d: &MediaEntityDesc, opts: &RenderOptions<'_>) -> Option<String> {
    let ty = d.type_ & MEDIA_ENT_TYPE_MASK;
    if ty != MEDIA_ENT_T_DEVNODE && ty != MEDIA_ENT_T_V4L2_SUBDEV {
        return None;
    }
    let (major, minor) = d.dev();
    if major == 0 && minor == 0 {
        return None;
    }
    match opts.devname {
        Some(f) => f(major, minor),
        None => {
            let h = mdev.graph().entity_handle(d.id)?;
            h.ops().devnode_path()
        }
    }
}
