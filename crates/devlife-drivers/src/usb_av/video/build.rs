//! What the usb-av video driver and its twin share while probing, in
//! au0828's order: the decoder subdev and the capture node under the v4l2
//! device, their link, the subdev nodes; then the entity notify that links
//! the decoder to the audio driver's entity.
//!
//! The two drivers differ here only in the rules the decoder and the
//! capture's video device are created by ([`NodeRules`]), which each says
//! through [`Variant`].

use super::capture::{Cap, picture_controls};
use super::decoder::Decoder;
use super::device::{AvDev, pix};
use super::source::link_audio;
use crate::nodes::NodeRules;
use crate::usb_av::{Counters, DECODER_NAME, DECODER_PAD_VIDEO, VIDEO_NAME};
use devlife::Gate;
use devlife::check::Shadow;
use devlife_media::mc::{Entity, EntityNotifyFn, Graph, HookToken, MediaDevice};
use devlife_media::uapi::media::{
    MEDIA_ENT_F_ATV_DECODER, MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE,
};
use devlife_media::v4l2::{Subdev, SubdevConfig, V4l2Device, VideoDevice, VideoDeviceConfig};
use devlife_model::{KResult, ProbeCtx};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Where the video driver and its twin differ while the topology is built:
/// the rules the decoder subdev and the capture's video device are created
/// by.
pub(crate) trait Variant {
    /// The rules of the decoder subdev (`v4l2_subdev_init`) and of the
    /// capture's video device (`video_device` setup).
    type Nodes: NodeRules;
}

/// The decoder subdev and the capture node of a binding.
pub(crate) struct Topology {
    pub(crate) decoder: Subdev<Decoder>,
    pub(crate) vdev: VideoDevice<Cap>,
}

/// The decoder subdev (`USB-AV Decoder`: analog in, video out, audio out)
/// and the capture node (`USB-AV Video`) under `v4l2`, the immutable link
/// between them, and the subdev nodes. The probe's unwinding unregisters
/// the capture node and the v4l2 device (with the decoder).
pub(crate) fn topology<V: Variant>(
    ctx: &ProbeCtx<'_>,
    mdev: &MediaDevice,
    v4l2: &V4l2Device,
    dev: &Shadow<AvDev>,
) -> KResult<Topology> {
    let counters = &dev.get().counters;
    let scfg = SubdevConfig::new(
        DECODER_NAME,
        vec![MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE, MEDIA_PAD_FL_SOURCE],
        MEDIA_ENT_F_ATV_DECODER,
    );
    let decoder = V::Nodes::subdev(ctx, scfg, Decoder { dev: dev.clone() })?;
    v4l2.register_subdev(&decoder.handle())?;
    let v = v4l2.clone();
    ctx.undo_on_error("v4l2_device_unregister", move || v.unregister());
    dev.get()
        .decoder_id
        .store(decoder.entity().id().unwrap_or(0), Ordering::Release);

    let mut vcfg = VideoDeviceConfig::capture(VIDEO_NAME, pix(720, 480));
    vcfg.controls = picture_controls();
    let vdev = V::Nodes::video(
        v4l2,
        vcfg,
        Cap {
            dev: dev.clone(),
            counters: counters.clone(),
        },
    )?;
    vdev.register(ctx)?;
    let v = vdev.clone();
    ctx.undo_on_error("video_unregister_device", move || {
        let _ = v.unregister();
    });
    let _ = dev.get().video_entity.set(vdev.entity().downgrade());
    mdev.create_pad_link(
        decoder.entity(),
        DECODER_PAD_VIDEO,
        vdev.entity(),
        0,
        MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE,
    )?;
    v4l2.register_subdev_nodes(ctx)?;
    Ok(Topology { decoder, vdev })
}

/// Installs the entity notify (`au0828_media_graph_notify`): every audio
/// capture entity registered from now on gets a link from the decoder's
/// audio pad; so does one already registered. With a `gate`, every call
/// enters it. The probe's unwinding removes the notify.
pub(crate) fn entity_notify(
    ctx: &ProbeCtx<'_>,
    mdev: &MediaDevice,
    dev: &Shadow<AvDev>,
    gate: Option<Gate>,
) -> HookToken {
    let d2 = dev.clone();
    let notify: EntityNotifyFn = Arc::new(move |g: &mut Graph, e: &Entity| {
        let st = d2.get();
        Counters::inc(&st.counters.notifies);
        link_audio(g, st.decoder_id.load(Ordering::Acquire), e);
    });
    let notify = mdev.register_entity_notify(notify, gate);
    let m = mdev.clone();
    ctx.undo_on_error("media_device_unregister_entity_notify", move || {
        m.unregister_entity_notify(notify);
    });
    // An audio entity registered before the hook was installed.
    let decoder_id = dev.get().decoder_id.load(Ordering::Acquire);
    let mut g = mdev.graph();
    let audio: Vec<Entity> = g
        .entities()
        .iter()
        .filter(|r| r.function == MEDIA_ENT_F_AUDIO_CAPTURE)
        .filter_map(|r| g.entity_handle(r.id))
        .collect();
    for e in &audio {
        link_audio(&mut g, decoder_id, e);
    }
    notify
}
