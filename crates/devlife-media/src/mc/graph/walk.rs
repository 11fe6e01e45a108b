//! Graph walks and pipelines: the walk over enabled data links, the pads a
//! pipeline covers, and pipeline start/stop with link validation.

use super::*;

impl Graph {
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
            return Err(crate::mc::ENOLINK);
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
