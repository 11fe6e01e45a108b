//! The audio driver's legacy twin (`usbav-audio-legacy`): the pre-fix
//! driver, kept to show what the checkers catch. It shares the state, the
//! PCM operations and the probe steps with the framework driver and differs
//! where the pre-fix kernel did:
//!
//! * the state is `devm` memory, freed at unbind whoever still uses it;
//! * the registers and the bus are raw handles, and `remove` marks the
//!   device disconnected in the state (a URB in flight completes after
//!   `remove()`, into freed memory);
//! * the PCM node checks its `registered` flag at call entry only and has
//!   no unplug hook: a sleeping `read` is not woken, the substream is left
//!   running;
//! * the last close stops the stream whatever happened (touching the
//!   departed device and the freed state);
//! * the media node is owned by the driver's module.

use super::build;
use super::ops::{PcmFile, PcmOps};
use super::state::AudioState;
use crate::Style;
use crate::usb_av::hw::REG_A_CTRL;
use crate::usb_av::legacy::RawIo;
use crate::usb_av::{Counters, Shared, audio_driver_name, usb_device};
use devlife::check::Shadow;
use devlife_media::mc::{Entity, Interface, MediaDevice};
use devlife_model::legacy::{Devm, EntryCheck};
use devlife_model::{
    BusKind, Driver, FileOps, KResult, Node, NodeKind, NodeSpec, OpCtx, PollMask, PollTable,
    ProbeCtx, ReleaseCtx, RemoveCtx,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a binding of the twin holds.
pub(crate) struct AudioLegacyData {
    st: Shadow<AudioState>,
    io: Arc<RawIo>,
    mdev: MediaDevice,
    entity: Entity,
    intf: Interface,
    _node: Node,
}

/// The pre-fix PCM operations: the shared ones (which implement no
/// `write` or `mmap`), but for the last close.
struct LegacyPcmOps(PcmOps);

impl FileOps for LegacyPcmOps {
    type Private = PcmFile;

    fn open(&self, ctx: &OpCtx<'_>) -> KResult<PcmFile> {
        self.0.open(ctx)
    }

    /// The pre-fix close stops the stream whatever happened.
    fn release(&self, _ctx: &ReleaseCtx<'_>, _f: PcmFile) {
        let st = self.0.st.get();
        st.free(&mut st.pcm.lock());
        self.0.st.get().opened.store(false, Ordering::Release);
    }

    fn read(&self, ctx: &OpCtx<'_>, f: &PcmFile, buf: &mut [u8]) -> KResult<usize> {
        self.0.read(ctx, f, buf)
    }

    fn ioctl(&self, ctx: &OpCtx<'_>, f: &PcmFile, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        self.0.ioctl(ctx, f, cmd, arg)
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        self.0.ioctl_name(cmd)
    }

    fn poll(&self, ctx: &OpCtx<'_>, f: &PcmFile, table: &mut PollTable) -> PollMask {
        self.0.poll(ctx, f, table)
    }
}

/// The pre-fix audio driver.
pub(crate) struct AudioLegacyDriver {
    shared: Arc<Shared>,
}

impl AudioLegacyDriver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl Driver for AudioLegacyDriver {
    type Data = AudioLegacyData;

    fn name(&self) -> &str {
        audio_driver_name(Style::Legacy)
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11ic01is02*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<AudioLegacyData> {
        let name = audio_driver_name(Style::Legacy);
        let udev = usb_device(ctx)?;
        let port = udev.name();
        let io = Arc::new(RawIo::claim(ctx)?);
        // The mainline media node belongs to the module that registered it.
        let mdev = self
            .shared
            .media_device(ctx, &udev, name, ctx.module().cloned())?;
        let counters = self.shared.counters.clone();
        let st = ctx.devm_alloc(
            "usbav_audio_state",
            &format!("usbav_audio({port})"),
            AudioState::new(ctx, port, io.clone(), &mdev, counters.clone()),
        )?;
        let entity = build::capture_entity(ctx, &mdev, &st)?;
        let node = ctx.register_node(
            NodeSpec::new(NodeKind::Audio).entry_check(),
            Arc::new(LegacyPcmOps(PcmOps { st: st.clone() })),
        )?;
        let intf = build::pcm_interface(ctx, &mdev, &entity, &node)?;
        Counters::inc(&counters.audio_probes);
        Ok(AudioLegacyData {
            st,
            io,
            mdev,
            entity,
            intf,
            _node: node,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &AudioLegacyData) {
        // Stop the device and mark it gone; the URB in flight, the sleepers
        // and the substream are left as they are.
        data.st.get().hw.write_bound(&ctx.bound(), REG_A_CTRL, 0);
        data.io.mark_disconnected();
        data.mdev.remove_interface(&data.intf);
        data.mdev.unregister_entity(&data.entity);
        // `media_device_delete`: the last driver frees it, whoever uses it.
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, audio_driver_name(Style::Legacy));
        Counters::inc(&self.shared.counters.audio_removes);
    }
}
