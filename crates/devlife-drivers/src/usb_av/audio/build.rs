//! What the usb-av audio driver and its twin share while probing: the audio
//! capture entity and the ALSA PCM interface of the capture node, in
//! snd-usb-audio's order (`media_snd_stream_init`).

use super::state::AudioState;
use crate::usb_av::AUDIO_NAME;
use devlife::check::Shadow;
use devlife_media::mc::{Entity, EntityDesc, EntityOps, EntityType, Interface, MediaDevice};
use devlife_media::uapi::media::{
    MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_INTF_T_ALSA_PCM_CAPTURE, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_MUST_CONNECT, MEDIA_PAD_FL_SINK,
};
use devlife_model::{KResult, Node, ProbeCtx};
use std::sync::OnceLock;

/// The audio entity's part: its device node path for `media-ctl`.
#[derive(Default)]
struct AudioEntityOps {
    path: OnceLock<String>,
}

impl EntityOps for AudioEntityOps {
    fn devnode_path(&self) -> Option<String> {
        self.path.get().cloned()
    }
}

/// The audio capture entity (`USB-AV Audio Capture`, one `MUST_CONNECT`
/// sink pad), registered in `mdev`: registering it runs the video driver's
/// entity notify, which links the decoder to it. The probe's unwinding
/// unregisters it.
pub(crate) fn capture_entity(
    ctx: &ProbeCtx<'_>,
    mdev: &MediaDevice,
    st: &Shadow<AudioState>,
) -> KResult<Entity> {
    let entity = Entity::new(
        ctx.monitor(),
        EntityDesc::new(AUDIO_NAME, MEDIA_ENT_F_AUDIO_CAPTURE, EntityType::Base)
            .pads(&[MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT]),
        AudioEntityOps::default(),
    )?;
    let _ = st.get().entity.set(entity.downgrade());
    mdev.register_entity(&entity)?;
    let (m, e) = (mdev.clone(), entity.clone());
    ctx.undo_on_error("media_device_unregister_entity", move || {
        m.unregister_entity(&e)
    });
    Ok(entity)
}

/// The PCM node's interface (`ALSA PCM capture`), linked to `entity`, which
/// gets the node as its devnode. The probe's unwinding removes the
/// interface.
pub(crate) fn pcm_interface(
    ctx: &ProbeCtx<'_>,
    mdev: &MediaDevice,
    entity: &Entity,
    node: &Node,
) -> KResult<Interface> {
    let devt = node.devt();
    let intf =
        mdev.create_intf_devnode(MEDIA_INTF_T_ALSA_PCM_CAPTURE, 0, devt.major, devt.minor)?;
    let (m, i) = (mdev.clone(), intf.clone());
    ctx.undo_on_error("media_devnode_remove", move || m.remove_interface(&i));
    mdev.create_intf_link(&intf, entity, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE)?;
    mdev.set_entity_devnode(entity, devt.major, devt.minor)?;
    if let Some(o) = entity.ops_as::<AudioEntityOps>() {
        let _ = o.path.set(format!("/dev/{}", node.name()));
    }
    Ok(intf)
}
