//! The PCM capture node's file operations ([`PcmOps`]): one opener, `read`
//! streaming the capture ring, the [`pcm`](crate::usb_av::pcm) ioctls and
//! `poll`.

use super::state::AudioState;
use crate::usb_av::pcm::{self, EBADFD, PcmHwParams, PcmStatus, state};
use devlife::check::Shadow;
use devlife_media::uapi::ioctl::Wire;
use devlife_model::{Errno, FileOps, KResult, OpCtx, PollMask, PollTable, ReleaseCtx};
use std::sync::atomic::Ordering;

/// An open PCM file.
pub(crate) struct PcmFile;

/// The PCM node's file operations.
pub(crate) struct PcmOps {
    pub(super) st: Shadow<AudioState>,
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
        // Stopping touches the device: only while the node is live (then an
        // unplug waits for us); once unplugged, the unplug already stopped
        // everything.
        if let Ok(_a) = ctx.node().gate().enter_as("release") {
            st.free(&mut st.pcm.lock());
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
        // Back from the sleep: the runtime is touched again (a driver whose
        // state is freed at unbind may have lost it meanwhile).
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
