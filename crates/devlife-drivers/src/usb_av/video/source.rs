//! The source hooks the video driver installs on the shared media device, and
//! the audio link it makes when the audio entity appears.

use crate::usb_av::hw::REG_V_AUDIO_ROUTE;
use crate::usb_av::video::device::AvDev;
use crate::usb_av::video::device::Source;
use crate::usb_av::{Counters, DECODER_PAD_AUDIO};
use devlife::check::Shadow;
use devlife_media::mc::{Entity, Graph, PadKey, Pipeline, SourceHooks};
use devlife_media::uapi::media::{MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_LNK_FL_ENABLED};
use devlife_model::{Errno, KResult};

/// The `enable_source`/`disable_source` hooks (`au0828_enable_source`).
///
/// The first claimer starts the source pipeline (every pad reachable over
/// enabled links, validated); later claimers share it; the last one to
/// release it stops it. Claiming for the audio entity routes the decoder's
/// audio to the audio function (a register write).
pub(crate) struct AvSource {
    pub(crate) dev: Shadow<AvDev>,
}

impl SourceHooks for AvSource {
    fn enable_source(&self, graph: &mut Graph, entity: &Entity, _pipe: &Pipeline) -> KResult<()> {
        let st = self.dev.get();
        Counters::inc(&st.counters.source_enables);
        let id = entity.id().ok_or(Errno::EINVAL)?;
        let mut s = st.source.lock();
        if s.users.contains(&id) {
            return Ok(());
        }
        let audio = entity.function() == MEDIA_ENT_F_AUDIO_CAPTURE;
        if audio {
            // Route the decoder's audio to the audio function.
            st.hw.write(REG_V_AUDIO_ROUTE, 1)?;
        }
        if s.users.is_empty() {
            let started = entity
                .pad_key(0)
                .ok_or(Errno::EINVAL)
                .and_then(|o| graph.pipeline_start(o, &st.source_pipe).map(|_| o));
            match started {
                Ok(origin) => s.origin = Some(origin),
                Err(e) => {
                    if audio {
                        let _ = st.hw.write(REG_V_AUDIO_ROUTE, 0);
                    }
                    return Err(e);
                }
            }
        }
        s.users.push(id);
        Ok(())
    }

    fn disable_source(&self, graph: &mut Graph, entity: &Entity) {
        let st = self.dev.get();
        Counters::inc(&st.counters.source_disables);
        let Some(id) = entity.id() else { return };
        let mut s = st.source.lock();
        let before = s.users.len();
        s.users.retain(|u| *u != id);
        if s.users.len() == before {
            return;
        }
        if entity.function() == MEDIA_ENT_F_AUDIO_CAPTURE {
            let _ = st.hw.write(REG_V_AUDIO_ROUTE, 0);
        }
        if s.users.is_empty() {
            stop_source_pipeline(graph, &mut s, &st.source_pipe);
        }
    }
}

pub(crate) fn stop_source_pipeline(graph: &mut Graph, s: &mut Source, pipe: &Pipeline) {
    let origin = s.origin.take();
    s.users.clear();
    if pipe.start_count() == 0 {
        return;
    }
    // Any pad of the pipeline still in the graph stops it.
    let pads = origin.into_iter().chain(pipe.pads());
    for p in pads {
        if graph.pipeline_stop(p, pipe).is_ok() {
            break;
        }
    }
}

/// Links the decoder's audio pad to an audio capture entity
/// (`au0828_media_graph_notify`). Idempotent.
pub(crate) fn link_audio(g: &mut Graph, decoder_id: u32, e: &Entity) {
    if e.function() != MEDIA_ENT_F_AUDIO_CAPTURE || decoder_id == 0 {
        return;
    }
    let Some(id) = e.id() else { return };
    let src = PadKey {
        entity: decoder_id,
        index: DECODER_PAD_AUDIO,
    };
    let sink = PadKey {
        entity: id,
        index: 0,
    };
    if g.find_data_link(src, sink).is_none() {
        let _ = g.create_pad_link(src, sink, MEDIA_LNK_FL_ENABLED);
    }
}
