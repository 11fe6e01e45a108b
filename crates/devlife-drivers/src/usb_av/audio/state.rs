//! The audio driver's state ([`AudioState`]: `struct snd_usb_audio` and its
//! one capture substream), the substream's state machine and the URB
//! completion loop that fills the capture ring.

use crate::usb_av::hw::{self, CTRL_STREAM, REG_A_CHANNELS, REG_A_CTRL, REG_A_RATE};
use crate::usb_av::io::DeviceIo;
use crate::usb_av::pcm::{EBADFD, PcmHwParams, state};
use crate::usb_av::pump::{Pump, PumpCtl};
use crate::usb_av::{Counters, audio_urb_thread};
use devlife::check::Shadow;
use devlife_media::mc::{Entity, MediaDevice, Pipeline, WeakEntity, WeakMediaDevice};
use devlife_model::{BindingState, Errno, EventQueue, KResult, ProbeCtx};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Periods the capture ring holds.
const RING_PERIODS: usize = 16;

/// The PCM substream state (`struct snd_pcm_runtime`, reduced).
pub(super) struct Pcm {
    pub(super) state: u32,
    pub(super) params: Option<PcmHwParams>,
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
    pub(super) hw: Arc<dyn DeviceIo>,
    mdev: WeakMediaDevice,
    pub(super) entity: OnceLock<WeakEntity>,
    pipe: Pipeline,
    pub(super) pcm: Mutex<Pcm>,
    pub(super) ring: Mutex<VecDeque<u8>>,
    pub(super) readq: Arc<EventQueue>,
    pub(super) pump_ctl: Arc<PumpCtl>,
    /// Errno of a failed transfer (0: none).
    xfer_error: AtomicI32,
    pub(super) captured: AtomicU64,
    pub(super) sleepers: AtomicU32,
    pub(super) opened: AtomicBool,
    /// The binding that made this state: removed once its `remove()` returned.
    binding: BindingState,
    counters: Arc<Counters>,
}

impl AudioState {
    /// The state of a probing driver, on the device of `port`, reaching it
    /// through `hw`.
    pub(crate) fn new(
        ctx: &ProbeCtx<'_>,
        port: &str,
        hw: Arc<dyn DeviceIo>,
        mdev: &MediaDevice,
        counters: Arc<Counters>,
    ) -> Self {
        AudioState {
            port: port.to_owned(),
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
            counters,
        }
    }

    fn entity(&self) -> Option<Entity> {
        self.entity.get().and_then(WeakEntity::upgrade)
    }

    pub(super) fn xfer_error(&self) -> Option<Errno> {
        match self.xfer_error.load(Ordering::Acquire) {
            0 => None,
            e => Some(Errno::from_raw(e)),
        }
    }

    /// `DROP`: stops the URB thread and the endpoint.
    pub(super) fn stop_capture(&self, pcm: &mut Pcm) {
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
    pub(super) fn free(&self, pcm: &mut Pcm) {
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
    pub(super) fn hw_params(&self, pcm: &mut Pcm, p: PcmHwParams) -> KResult<PcmHwParams> {
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

    pub(super) fn prepare(&self, pcm: &mut Pcm) -> KResult<()> {
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

    pub(super) fn start(&self, me: &Shadow<AudioState>, pcm: &mut Pcm) -> KResult<()> {
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
    pub(super) fn ensure_running(&self, me: &Shadow<AudioState>, pcm: &mut Pcm) -> KResult<()> {
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
    pub(super) fn kill(&self) {
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
        // A driver that marks the device disconnected in its state checks
        // the mark here, in memory an unbind may have freed under it.
        let s = st.get();
        if s.hw.marked_disconnected() {
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
