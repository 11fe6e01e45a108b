//! Link setup with the driver's notification, pipelines and graph walks.

use super::MediaDevice;
use super::graph_lock::GraphGuard;
use crate::mc::entity::Entity;
use crate::mc::graph::{LinkEnds, LinkInfo, PadKey};
use crate::mc::pipeline::Pipeline;
use crate::uapi::media::*;
use devlife_model::{Errno, KResult};

/// When [`MediaDeviceOps::link_notify`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkNotify {
    /// Before the flags change (`MEDIA_DEV_NOTIFY_PRE_LINK_CH`); an error vetoes.
    Pre,
    /// After the change attempt (`MEDIA_DEV_NOTIFY_POST_LINK_CH`).
    Post,
}

/// Driver operations of a media device (`struct media_device_ops`).
pub trait MediaDeviceOps: Send + Sync {
    /// A link's flags are changing (under the graph lock).
    fn link_notify(&self, link: &LinkInfo, flags: u32, when: LinkNotify) -> KResult<()> {
        let _ = (link, flags, when);
        Ok(())
    }
}

impl MediaDevice {
    /// `media_entity_setup_link`: takes the graph lock and changes a data
    /// link's ENABLED flag (see [`MediaDevice::setup_link_locked`]).
    #[track_caller]
    pub fn setup_link(&self, source: PadKey, sink: PadKey, flags: u32) -> KResult<()> {
        let mut g = self.graph();
        let link = g.find_data_link(source, sink).ok_or(Errno::EINVAL)?;
        Self::setup_link_locked(&mut g, link, flags)
    }

    /// `__media_entity_setup_link` under the graph lock:
    ///
    /// * only ENABLED may change (`EINVAL`);
    /// * an IMMUTABLE link accepts only its current flags (`0` or `EINVAL`);
    /// * unchanged flags: `0`;
    /// * a link that is not DYNAMIC cannot change while either pad streams (`EBUSY`);
    /// * then `link_notify(PRE)` (may veto), the source entity's `link_setup`,
    ///   the sink's (the source is rolled back if the sink fails), the new
    ///   flags on the link and its backlink, and `link_notify(POST)`.
    pub fn setup_link_locked(g: &mut GraphGuard<'_>, link: LinkInfo, flags: u32) -> KResult<()> {
        let mask = MEDIA_LNK_FL_ENABLED;
        if link.flags & !mask != flags & !mask {
            return Err(Errno::EINVAL);
        }
        if link.flags & MEDIA_LNK_FL_IMMUTABLE != 0 {
            return if link.flags == flags {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            };
        }
        if link.flags == flags {
            return Ok(());
        }
        let LinkEnds::Data { source, sink } = link.ends else {
            return Err(Errno::EINVAL);
        };
        if link.flags & MEDIA_LNK_FL_DYNAMIC == 0
            && (g.pad_is_streaming(source) || g.pad_is_streaming(sink))
        {
            return Err(Errno::EBUSY);
        }
        let ops = g.g.ops.clone();
        if let Some(ops) = &ops {
            ops.link_notify(&link, flags, LinkNotify::Pre)?;
        }
        let ret = Self::setup_link_notify(g, link, source, sink, flags);
        if let Some(ops) = &ops {
            let _ = ops.link_notify(&link, flags, LinkNotify::Post);
        }
        ret
    }

    fn setup_link_notify(
        g: &mut GraphGuard<'_>,
        link: LinkInfo,
        source: PadKey,
        sink: PadKey,
        flags: u32,
    ) -> KResult<()> {
        let se = g.entity_handle(source.entity);
        let ke = g.entity_handle(sink.entity);
        if let Some(se) = &se
            && let Some(Err(e)) = se.ops().link_setup(source, sink, flags)
        {
            return Err(e);
        }
        if let Some(ke) = &ke
            && let Some(Err(e)) = ke.ops().link_setup(sink, source, flags)
        {
            if let Some(se) = &se {
                let _ = se.ops().link_setup(source, sink, link.flags);
            }
            return Err(e);
        }
        g.set_link_flags(link.id, flags);
        // The handles drop after the guard in the caller only if they are the
        // last references; dropping them here, under the lock, is safe: a
        // release under the lock defers the graph removal (see `entity`).
        Ok(())
    }

    /// `media_pipeline_start` (takes the graph lock).
    #[track_caller]
    pub fn pipeline_start(&self, origin: PadKey, pipe: &Pipeline) -> KResult<()> {
        self.graph().pipeline_start(origin, pipe)
    }

    /// `media_pipeline_stop` (takes the graph lock).
    #[track_caller]
    pub fn pipeline_stop(&self, pad: PadKey, pipe: &Pipeline) -> KResult<()> {
        self.graph().pipeline_stop(pad, pipe)
    }

    /// A graph walk from `start` over enabled data links (both directions),
    /// returning try-get references taken under the graph lock: entities
    /// being released are skipped, the others stay valid after the walk.
    #[track_caller]
    pub fn graph_walk(&self, start: &Entity) -> Vec<Entity> {
        let Ok(id) = self.own(start) else {
            return Vec::new();
        };
        let g = self.graph();
        g.walk(id)
            .into_iter()
            .filter_map(|e| g.entity_handle(e))
            .collect()
        // The guard drops after the references were taken; releasing one
        // of them later takes the lock again (or defers) without deadlock.
    }
}
