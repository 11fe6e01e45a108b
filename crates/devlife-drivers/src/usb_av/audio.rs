//! The usb-av audio driver (snd-usb-audio-like): an audio capture entity
//! and a PCM capture node streaming samples through `read()`.

use super::hw::{self, CTRL_STREAM, REG_A_CHANNELS, REG_A_CTRL, REG_A_RATE};
use super::io::{HwAccess, Pump, PumpCtl};
use super::pcm::{self, EBADFD, PcmHwParams, PcmStatus, state};
use super::{AUDIO_NAME, Counters, Shared, audio_driver_name, audio_urb_thread, parent_info};
use crate::Style;
use devlife::check::Shadow;
use devlife_media::mc::{
    Entity, EntityDesc, EntityOps, EntityType, Interface, MediaDevice, Pipeline, RegisterOptions,
    WeakEntity, WeakMediaDevice,
};
use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::media::{
    MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_INTF_T_ALSA_PCM_CAPTURE, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_MUST_CONNECT, MEDIA_PAD_FL_SINK,
};
use devlife_model::BindingState;
use devlife_model::legacy::Devm;
use devlife_model::legacy::EntryCheck;
use devlife_model::{
    BusKind, Driver, Errno, EventQueue, FileOps, KResult, Node, NodeKind, NodeSpec, OpCtx,
    PollMask, PollTable, ProbeCtx, ReleaseCtx, RemoveCtx,
};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Periods the capture ring holds.
const RING_PERIODS: usize = 16;

/// The PCM substream state (`struct snd_pcm_runtime`, reduced).
struct Pcm {
    state: u32,
    params: Option<PcmHwParams>,
    /// The source is claimed through the media device's hook.
    claimed: bool,
    pump: Option<Pump>,
}

/// The driver state (`struct snd_usb_audio` + its substream), shared by the
/// node's ops, the unplug hook and the URB thread.
///
/// # Invariants
///
/// `pcm` is taken before `ring`, never the other way round; neither is held
/// while kicking the URB thread.
pub(crate) struct AudioState {
    port: String,
    style: Style,
    hw: HwAccess,
    mdev: WeakMediaDevice,
    entity: OnceLock<WeakEntity>,
    pipe: Pipeline,
    pcm: Mutex<Pcm>,
    ring: Mutex<VecDeque<u8>>,
    readq: Arc<EventQueue>,
    pump_ctl: Arc<PumpCtl>,
    /// Errno of a failed transfer (0: none).
    xfer_error: AtomicI32,
    captured: AtomicU64,
    sleepers: AtomicU32,
    opened: AtomicBool,
    /// The binding that made this state: removed once its `remove()` returned.
    binding: BindingState,
    disconnected: AtomicBool,
    counters: Arc<Counters>,
}

impl AudioState {
    fn entity(&self) -> Option<Entity> {
        self.entity.get().and_then(WeakEntity::upgrade)
    }

    fn xfer_error(&self) -> Option<Errno> {
        match self.xfer_error.load(Ordering::Acquire) {
            0 => None,
            e => Some(Errno::from_raw(e)),
        }
    }

    /// `DROP`: stops the URB thread and the endpoint.
    fn stop_capture(&self, pcm: &mut Pcm) {
        if let Some(p) = pcm.pump.take() {
            p.stop();
        }
        if pcm.state == state::RUNNING {
            let _ = self.hw.write(REG_A_CTRL, 0);
            Counters::inc(&self.counters.audio_stops);
            if self.binding.is_removed() {
                Counters::inc(&self.counters.audio_stops_after_remove);
            }
        }
        self.ring.lock().clear();
        if pcm.state == state::RUNNING || pcm.state == state::PREPARED {
            pcm.state = state::SETUP;
        }
    }

    /// `HW_FREE`: stops and releases the source.
    fn free(&self, pcm: &mut Pcm) {
        self.stop_capture(pcm);
        if pcm.claimed {
            if let (Some(m), Some(e)) = (self.mdev.upgrade(), self.entity()) {
                m.disable_source(&e);
            }
            pcm.claimed = false;
        }
        pcm.params = None;
        if pcm.state != state::DISCONNECTED {
            pcm.state = state::OPEN;
        }
    }

    /// `HW_PARAMS`: claims the source (`snd_media_start_pipeline`).
    fn hw_params(&self, pcm: &mut Pcm, p: PcmHwParams) -> KResult<PcmHwParams> {
        match pcm.state {
            state::RUNNING => return Err(EBADFD),
            state::DISCONNECTED => return Err(Errno::ENODEV),
            _ => {}
        }
        let p = p.refine()?;
        if !pcm.claimed {
            if let (Some(m), Some(e)) = (self.mdev.upgrade(), self.entity()) {
                m.enable_source(&e, &self.pipe)?;
            }
            pcm.claimed = true;
        }
        pcm.params = Some(p);
        pcm.state = state::SETUP;
        Ok(p)
    }

    fn prepare(&self, pcm: &mut Pcm) -> KResult<()> {
        match pcm.state {
            state::OPEN => return Err(EBADFD),
            state::DISCONNECTED => return Err(Errno::ENODEV),
            state::RUNNING => self.stop_capture(pcm),
            _ => {}
        }
        let p = pcm.params.ok_or(EBADFD)?;
        self.hw.write(REG_A_RATE, p.rate)?;
        self.hw.write(REG_A_CHANNELS, p.channels)?;
        pcm.state = state::PREPARED;
        Ok(())
    }

    fn start(&self, me: &Shadow<AudioState>, pcm: &mut Pcm) -> KResult<()> {
        if pcm.state != state::PREPARED {
            return Err(if pcm.state == state::DISCONNECTED {
                Errno::ENODEV
            } else {
                EBADFD
            });
        }
        let p = pcm.params.ok_or(EBADFD)?;
        self.ring.lock().clear();
        self.xfer_error.store(0, Ordering::Release);
        self.captured.store(0, Ordering::Release);
        self.hw.write(REG_A_CTRL, CTRL_STREAM)?;
        let period = p.period_bytes as usize;
        let (s, c) = (me.clone(), self.pump_ctl.clone());
        match Pump::start(audio_urb_thread(&self.port), &self.pump_ctl, move || {
            audio_pump(s, c, period, period * RING_PERIODS)
        }) {
            Ok(pump) => pcm.pump = Some(pump),
            Err(e) => {
                let _ = self.hw.write(REG_A_CTRL, 0);
                return Err(e);
            }
        }
        pcm.state = state::RUNNING;
        Counters::inc(&self.counters.audio_starts);
        Ok(())
    }

    /// What `read` does on a stream that is not running.
    fn ensure_running(&self, me: &Shadow<AudioState>, pcm: &mut Pcm) -> KResult<()> {
        if pcm.state == state::OPEN {
            self.hw_params(pcm, PcmHwParams::DEFAULT)?;
        }
        if pcm.state == state::SETUP {
            self.prepare(pcm)?;
        }
        if pcm.state == state::PREPARED {
            self.start(me, pcm)?;
        }
        match pcm.state {
            state::RUNNING => Ok(()),
            state::DISCONNECTED => Err(Errno::ENODEV),
            _ => Err(EBADFD),
        }
    }

    /// Unplug of the node (framework): stop everything while the device is
    /// still bound, and wake the readers.
    fn kill(&self) {
        let mut pcm = self.pcm.lock();
        self.free(&mut pcm);
        pcm.state = state::DISCONNECTED;
        drop(pcm);
        self.readq.wake_all();
    }
}

/// The URB completion loop of a capture.
fn audio_pump(st: Shadow<AudioState>, ctl: Arc<PumpCtl>, period: usize, cap: usize) {
    let mut chunk = vec![0u8; period];
    let mut pos: u32 = 0;
    loop {
        // The legacy driver checks its state here, in memory that an unbind
        // may have freed under it.
        let s = st.get();
        if s.style == Style::Legacy && s.disconnected.load(Ordering::Acquire) {
            break;
        }
        let room =
            ctl.wait_for(|| (cap.saturating_sub(s.ring.lock().len()) >= period).then_some(()));
        if room.is_none() {
            break;
        }
        hw::audio_request(&mut chunk, pos);
        match s.hw.transfer(&mut chunk) {
            Ok(0) => {
                s.xfer_error.store(Errno::EIO.raw(), Ordering::Release);
                s.readq.wake_all();
                break;
            }
            Ok(n) => {
                let n = n.min(chunk.len()) / 4 * 4;
                s.ring.lock().extend(&chunk[..n]);
                pos = pos.wrapping_add((n / 4) as u32);
                s.captured.fetch_add((n / 4) as u64, Ordering::AcqRel);
                Counters::inc(&s.counters.audio_periods);
                s.readq.wake_all();
            }
            Err(e) => {
                // The device is gone (or the endpoint stalled): not resubmitted.
                s.xfer_error.store(e.raw(), Ordering::Release);
                s.readq.wake_all();
                break;
            }
        }
    }
    Counters::inc(&st.get().counters.urb_exits);
}

/// An open PCM file.
pub(crate) struct PcmFile;

/// The PCM node's file operations.
pub(crate) struct PcmOps {
    st: Shadow<AudioState>,
}

impl FileOps for PcmOps {
    type Private = PcmFile;

    fn open(&self, _ctx: &OpCtx<'_>) -> KResult<PcmFile> {
        // One substream: one opener (`snd_pcm_open` answers EBUSY).
        if self.st.get().opened.swap(true, Ordering::AcqRel) {
            return Err(Errno::EBUSY);
        }
        Ok(PcmFile)
    }

    fn release(&self, ctx: &ReleaseCtx<'_>, _f: PcmFile) {
        let st = self.st.get();
        match st.style {
            Style::Framework => {
                // Stopping touches the device: only while the node is live
                // (then an unplug waits for us); once unplugged, the unplug
                // already stopped everything.
                if let Ok(_a) = ctx.node().gate().enter_as("release") {
                    st.free(&mut st.pcm.lock());
                }
            }
            // The pre-fix close stops the stream whatever happened.
            Style::Legacy => st.free(&mut st.pcm.lock()),
        }
        self.st.get().opened.store(false, Ordering::Release);
    }

    fn read(&self, ctx: &OpCtx<'_>, _f: &PcmFile, buf: &mut [u8]) -> KResult<usize> {
        let want = buf.len() / 4 * 4;
        if want == 0 {
            return Err(Errno::EINVAL);
        }
        {
            let st = self.st.get();
            st.ensure_running(&self.st, &mut st.pcm.lock())?;
        }
        let st = self.st.get();
        st.sleepers.fetch_add(1, Ordering::AcqRel);
        let r = ctx.wait_event(&st.readq, || {
            let st = self.st.get();
            let mut ring = st.ring.lock();
            if !ring.is_empty() {
                let n = want.min(ring.len());
                return Some(Ok(ring.drain(..n).collect::<Vec<u8>>()));
            }
            drop(ring);
            st.xfer_error().map(Err)
        });
        // Back from the sleep: the runtime is touched again (in the legacy
        // driver it may have been freed meanwhile).
        let st = self.st.get();
        st.sleepers.fetch_sub(1, Ordering::AcqRel);
        let data = r??;
        st.pump_ctl.kick();
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn ioctl(&self, _ctx: &OpCtx<'_>, _f: &PcmFile, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        let st = self.st.get();
        match cmd {
            pcm::PCM_IOCTL_PVERSION => {
                pcm::PCM_VERSION.encode(arg.get_mut(..4).ok_or(Errno::EFAULT)?);
                Ok(0)
            }
            pcm::PCM_IOCTL_HW_PARAMS => {
                let a = arg.get_mut(..PcmHwParams::SIZE).ok_or(Errno::EFAULT)?;
                let p = st.hw_params(&mut st.pcm.lock(), PcmHwParams::decode(a))?;
                p.encode(a);
                Ok(0)
            }
            pcm::PCM_IOCTL_HW_FREE => {
                let mut pcm = st.pcm.lock();
                if pcm.state == state::DISCONNECTED {
                    return Err(Errno::ENODEV);
                }
                st.free(&mut pcm);
                Ok(0)
            }
            pcm::PCM_IOCTL_PREPARE => st.prepare(&mut st.pcm.lock()).map(|_| 0),
            pcm::PCM_IOCTL_START => st.start(&self.st, &mut st.pcm.lock()).map(|_| 0),
            pcm::PCM_IOCTL_DROP => {
                let mut pcm = st.pcm.lock();
                if pcm.state == state::OPEN {
                    return Err(EBADFD);
                }
                st.stop_capture(&mut pcm);
                Ok(0)
            }
            pcm::PCM_IOCTL_STATUS => {
                let a = arg.get_mut(..PcmStatus::SIZE).ok_or(Errno::EFAULT)?;
                let pcm = st.pcm.lock();
                let p = pcm.params.unwrap_or_default();
                PcmStatus {
                    state: pcm.state,
                    rate: p.rate,
                    channels: p.channels,
                    format: p.format,
                    frames: st.captured.load(Ordering::Acquire),
                    avail: st.ring.lock().len() as u32,
                    reserved: 0,
                }
                .encode(a);
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn ioctl_name(&self, cmd: u32) -> &'static str {
        match cmd {
            pcm::PCM_IOCTL_PVERSION => "SNDRV_PCM_IOCTL_PVERSION",
            pcm::PCM_IOCTL_HW_PARAMS => "SNDRV_PCM_IOCTL_HW_PARAMS",
            pcm::PCM_IOCTL_HW_FREE => "SNDRV_PCM_IOCTL_HW_FREE",
            pcm::PCM_IOCTL_PREPARE => "SNDRV_PCM_IOCTL_PREPARE",
            pcm::PCM_IOCTL_START => "SNDRV_PCM_IOCTL_START",
            pcm::PCM_IOCTL_DROP => "SNDRV_PCM_IOCTL_DROP",
            pcm::PCM_IOCTL_STATUS => "SNDRV_PCM_IOCTL_STATUS",
            _ => "ioctl",
        }
    }

    fn poll(&self, _ctx: &OpCtx<'_>, _f: &PcmFile, table: &mut PollTable) -> PollMask {
        let st = self.st.get();
        table.wait(&st.readq);
        let mut m = PollMask::NONE;
        if !st.ring.lock().is_empty() {
            m |= PollMask::IN | PollMask::RDNORM;
        }
        match st.xfer_error() {
            // The device went away under the stream: a hang-up.
            Some(Errno::ENODEV) => m |= PollMask::ERR | PollMask::HUP,
            Some(_) => m |= PollMask::ERR,
            None => {}
        }
        m
    }
}

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

    fn style(&self) -> Style {
        self.shared.style
    }
}

impl Driver for AudioDriver {
    type Data = AudioData;

    fn name(&self) -> &str {
        audio_driver_name(self.style())
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11ic01is02*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<AudioData> {
        let style = self.style();
        let legacy = style == Style::Legacy;
        let module = audio_driver_name(style);
        let udev = ctx.device().parent().cloned().ok_or(Errno::ENODEV)?;
        let port = udev.name().to_owned();
        let hw = HwAccess::claim(ctx, style)?;

        let mdev = self
            .shared
            .allocator
            .allocate(&parent_info(&udev), module)?;
        {
            let (s, m) = (self.shared.clone(), mdev.clone());
            ctx.undo_on_error("media_device_delete", move || {
                let _ = s.allocator.delete(&m, module);
            });
        }
        let opts = RegisterOptions {
            parent: Some(udev.clone()),
            owner: if legacy { ctx.module().cloned() } else { None },
            name: None,
        };
        mdev.register_once(ctx.kernel(), opts)?;

        let counters = self.shared.counters.clone();
        let value = AudioState {
            port: port.clone(),
            style,
            hw,
            mdev: mdev.downgrade(),
            entity: OnceLock::new(),
            pipe: Pipeline::new(),
            pcm: Mutex::new(Pcm {
                state: state::OPEN,
                params: None,
                claimed: false,
                pump: None,
            }),
            ring: Mutex::new(VecDeque::new()),
            readq: Arc::new(EventQueue::new()),
            pump_ctl: Arc::new(PumpCtl::default()),
            xfer_error: AtomicI32::new(0),
            captured: AtomicU64::new(0),
            sleepers: AtomicU32::new(0),
            opened: AtomicBool::new(false),
            binding: ctx.binding_state(),
            disconnected: AtomicBool::new(false),
            counters: counters.clone(),
        };
        let name = format!("usbav_audio({port})");
        let st = if legacy {
            ctx.devm_alloc("usbav_audio_state", &name, value)?
        } else {
            ctx.alloc_shadow("usbav_audio_state", &name, value)?
        };

        // The audio capture entity (`media_snd_stream_init`): registering it
        // runs the video driver's entity notify, which links the decoder.
        let entity = Entity::new(
            ctx.monitor(),
            EntityDesc::new(AUDIO_NAME, MEDIA_ENT_F_AUDIO_CAPTURE, EntityType::Base)
                .pads(&[MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT]),
            AudioEntityOps::default(),
        )?;
        let _ = st.get().entity.set(entity.downgrade());
        mdev.register_entity(&entity)?;
        {
            let (m, e) = (mdev.clone(), entity.clone());
            ctx.undo_on_error("media_device_unregister_entity", move || {
                m.unregister_entity(&e)
            });
        }

        let ops = Arc::new(PcmOps { st: st.clone() });
        let spec = NodeSpec::new(NodeKind::Audio);
        let spec = if legacy { spec.entry_check() } else { spec };
        let node = ctx.register_node(spec, ops)?;
        let devt = node.devt();
        let intf =
            mdev.create_intf_devnode(MEDIA_INTF_T_ALSA_PCM_CAPTURE, 0, devt.major, devt.minor)?;
        {
            let (m, i) = (mdev.clone(), intf.clone());
            ctx.undo_on_error("media_devnode_remove", move || m.remove_interface(&i));
        }
        mdev.create_intf_link(
            &intf,
            &entity,
            MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE,
        )?;
        mdev.set_entity_devnode(&entity, devt.major, devt.minor)?;
        if let Some(o) = entity.ops_as::<AudioEntityOps>() {
            let _ = o.path.set(format!("/dev/{}", node.name()));
        }
        if !legacy {
            // Step 2 of the node's unplug: cancel the capture while the
            // device is bound, wake the readers.
            let s2 = st.clone();
            node.on_unplug(move || s2.get().kill())?;
        }

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
        let st = data.st.get();
        match self.style() {
            Style::Framework => {
                // Stopped at the node's unplug; make sure of the endpoint.
                st.hw.write_bound(&ctx.bound(), REG_A_CTRL, 0);
            }
            Style::Legacy => {
                // Stop the device and mark it gone; the URB in flight, the
                // sleepers and the substream are left as they are.
                st.hw.write_bound(&ctx.bound(), REG_A_CTRL, 0);
                st.disconnected.store(true, Ordering::Release);
            }
        }
        data.mdev.remove_interface(&data.intf);
        data.mdev.unregister_entity(&data.entity);
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, audio_driver_name(self.style()));
        Counters::inc(&self.shared.counters.audio_removes);
    }
}
