//! Entities, interfaces and links created on a media device's graph.

use super::MediaDevice;
use super::graph_lock::Reap;
use super::hooks::EntityNotifyFn;
use super::registration::UNREGISTERED;
use crate::mc::entity::{Entity, Interface};
use crate::mc::graph::PadKey;
use devlife::Gate;
use devlife_model::{Errno, KResult};
use std::sync::atomic::Ordering;

impl MediaDevice {
    /// `media_device_register_entity`: entity id, then pad ids, then the
    /// entity-notify hooks (under the graph lock). The entity takes a
    /// reference to the media device. An entity registers at most once
    /// (`EBUSY`); nothing registers after unregistration (`ENODEV`).
    #[track_caller]
    pub fn register_entity(&self, e: &Entity) -> KResult<u32> {
        let mut g = self.graph();
        if self.core().reg.load(Ordering::Acquire) == UNREGISTERED {
            return Err(Errno::ENODEV);
        }
        if e.is_bound() {
            return Err(Errno::EBUSY);
        }
        let id = g.g.graph.add_entity(e, e.downgrade());
        if e.bind(self, id).is_err() {
            g.g.graph.remove_entity(id);
            return Err(Errno::EBUSY);
        }
        let hooks: Vec<(EntityNotifyFn, Option<Gate>)> =
            g.g.notify
                .iter()
                .map(|n| (n.hook.clone(), n.owner.clone()))
                .collect();
        for (hook, owner) in hooks {
            self.call_hook(owner.as_ref(), || hook(&mut g.g.graph, e));
        }
        Ok(id)
    }

    /// `media_device_unregister_entity`: removes the entity, its pads and
    /// every link touching it from the graph. The entity keeps its media
    /// device reference until it is released. No-op if not in the graph.
    #[track_caller]
    pub fn unregister_entity(&self, e: &Entity) {
        if let Some(id) = e.id()
            && e.media_device()
                .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            self.graph().remove_entity(id);
        }
    }

    /// Whether `e` is in this media device's graph.
    #[track_caller]
    pub fn has_entity(&self, e: &Entity) -> bool {
        e.id()
            .is_some_and(|id| self.graph().entity_node(id).is_some())
            && e.media_device()
                .is_some_and(|m| MediaDevice::ptr_eq(m, self))
    }

    pub(crate) fn reap_entity(&self, id: u32) {
        self.core().graph.reap(Reap::Entity(id));
    }

    pub(crate) fn reap_interface(&self, id: u32) {
        self.core().graph.reap(Reap::Interface(id));
    }

    /// Records the device node numbers of an entity (`entity->info.dev`),
    /// reported by ENUM_ENTITIES.
    #[track_caller]
    pub fn set_entity_devnode(&self, e: &Entity, major: u32, minor: u32) -> KResult<()> {
        let id = self.own(e)?;
        if self.graph().set_entity_dev(id, major, minor) {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// The id of `e` in this media device's graph; `EINVAL` if `e` belongs
    /// to no graph or to another media device's.
    pub(super) fn own(&self, e: &Entity) -> KResult<u32> {
        match (e.id(), e.media_device()) {
            (Some(id), Some(m)) if MediaDevice::ptr_eq(m, self) => Ok(id),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `media_devnode_create`: an interface devnode in this graph.
    #[track_caller]
    pub fn create_intf_devnode(
        &self,
        intf_type: u32,
        flags: u32,
        major: u32,
        minor: u32,
    ) -> KResult<Interface> {
        let intf = Interface::new(&self.0.monitor, self, intf_type, flags, major, minor);
        let mut g = self.graph();
        if self.core().reg.load(Ordering::Acquire) == UNREGISTERED {
            return Err(Errno::ENODEV);
        }
        let id = g.g.graph.add_interface(&intf, intf.downgrade());
        intf.set_id(id);
        Ok(intf)
    }

    /// `media_devnode_remove`: removes the interface and its links from the graph.
    #[track_caller]
    pub fn remove_interface(&self, intf: &Interface) {
        if intf
            .media_device()
            .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            self.graph().remove_interface(intf.id());
        }
    }

    /// `media_create_pad_link` between two entities of this media device.
    #[track_caller]
    pub fn create_pad_link(
        &self,
        source: &Entity,
        source_pad: u16,
        sink: &Entity,
        sink_pad: u16,
        flags: u32,
    ) -> KResult<u32> {
        let s = self.own(source)?;
        let k = self.own(sink)?;
        self.graph().create_pad_link(
            PadKey {
                entity: s,
                index: source_pad,
            },
            PadKey {
                entity: k,
                index: sink_pad,
            },
            flags,
        )
    }

    /// `media_create_intf_link`.
    #[track_caller]
    pub fn create_intf_link(&self, intf: &Interface, entity: &Entity, flags: u32) -> KResult<u32> {
        let e = self.own(entity)?;
        if !intf
            .media_device()
            .is_some_and(|m| MediaDevice::ptr_eq(m, self))
        {
            return Err(Errno::EINVAL);
        }
        self.graph().create_intf_link(intf.id(), e, flags)
    }

    /// `media_create_ancillary_link`.
    #[track_caller]
    pub fn create_ancillary_link(&self, primary: &Entity, ancillary: &Entity) -> KResult<u32> {
        let p = self.own(primary)?;
        let a = self.own(ancillary)?;
        self.graph().create_ancillary_link(p, a)
    }
}
