//! The usb-av audio driver (`usbav-audio`): probe registers the audio
//! capture entity and the PCM node, remove stops the endpoint and takes the
//! entity out of the shared media device. Cancelling a capture in progress
//! when the node goes (its unplug), waiting for the calls in flight,
//! revoking the registers and the bus, and releasing the state on its last
//! reference are the framework's.

use super::build;
use super::ops::PcmOps;
use super::state::AudioState;
use crate::Style;
use crate::usb_av::hw::REG_A_CTRL;
use crate::usb_av::io::DevresIo;
use crate::usb_av::{Counters, Shared, audio_driver_name, usb_device};
use devlife::check::Shadow;
use devlife_media::mc::{Entity, Interface, MediaDevice};
use devlife_model::{BusKind, Driver, KResult, Node, NodeKind, NodeSpec, ProbeCtx, RemoveCtx};
use std::sync::Arc;

/// What a binding of the audio driver holds.
pub(crate) struct AudioData {
    st: Shadow<AudioState>,
    mdev: MediaDevice,
    entity: Entity,
    intf: Interface,
    _node: Node,
}

/// The audio driver.
pub(crate) struct AudioDriver {
    shared: Arc<Shared>,
}

impl AudioDriver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl Driver for AudioDriver {
    type Data = AudioData;

    fn name(&self) -> &str {
        audio_driver_name(Style::Framework)
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11ic01is02*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<AudioData> {
        let name = audio_driver_name(Style::Framework);
        let udev = usb_device(ctx)?;
        let port = udev.name();
        // The endpoint's registers and bus: device resources, revoked at
        // unbind.
        let hw = Arc::new(DevresIo::claim(ctx)?);
        // The USB device's media device; its node runs core code only.
        let mdev = self.shared.media_device(ctx, &udev, name, None)?;
        // The state, released on its last reference (the binding, the
        // node's ops, the URB thread).
        let counters = self.shared.counters.clone();
        let st = ctx.alloc_shadow(
            "usbav_audio_state",
            &format!("usbav_audio({port})"),
            AudioState::new(ctx, port, hw, &mdev, counters.clone()),
        )?;
        let entity = build::capture_entity(ctx, &mdev, &st)?;
        let node = ctx.register_node(
            NodeSpec::new(NodeKind::Audio),
            Arc::new(PcmOps { st: st.clone() }),
        )?;
        let intf = build::pcm_interface(ctx, &mdev, &entity, &node)?;
        // Step 2 of the node's unplug: cancel the capture while the device
        // is bound, wake the readers.
        let s2 = st.clone();
        node.on_unplug(move || s2.get().kill())?;
        Counters::inc(&counters.audio_probes);
        Ok(AudioData {
            st,
            mdev,
            entity,
            intf,
            _node: node,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &AudioData) {
        // Stopped at the node's unplug; make sure of the endpoint.
        data.st.get().hw.write_bound(&ctx.bound(), REG_A_CTRL, 0);
        data.mdev.remove_interface(&data.intf);
        data.mdev.unregister_entity(&data.entity);
        // `media_device_delete`: the last driver unregisters it.
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, audio_driver_name(Style::Framework));
        Counters::inc(&self.shared.counters.audio_removes);
    }
}
