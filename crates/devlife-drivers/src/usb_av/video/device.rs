//! The video half's device state ([`AvDev`]) and its URB pump: capture a frame
//! per completion.

use crate::usb_av::Counters;
use crate::usb_av::hw::{self, REQUEST_LEN};
use crate::usb_av::io::DeviceIo;
use crate::usb_av::pump::{Pump, PumpCtl};
use devlife::check::{CheckedMutex, Shadow};
use devlife_media::mc::{Entity, MediaDevice, PadKey, Pipeline, WeakEntity, WeakMediaDevice};
use devlife_media::uapi::videodev2::{V4l2PixFormat, colorspace, field, pix_fmt};
use devlife_media::v4l2::{ActiveBuffer, BufferQueue};
use devlife_model::BindingState;
use devlife_model::{Errno, KResult, ProbeCtx};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// `MEDIA_BUS_FMT_YUYV8_2X8`.
pub(crate) const MEDIA_BUS_FMT_YUYV8_2X8: u32 = 0x2008;
/// Bytes per URB.
const URB_BYTES: usize = 64 * 1024;
/// The frame sizes the decoder produces.
pub(crate) const SIZES: [(u32, u32); 2] = [(720, 480), (320, 240)];

pub(crate) fn closest_size(w: u32, h: u32) -> (u32, u32) {
    *SIZES
        .iter()
        .min_by_key(|(sw, sh)| sw.abs_diff(w) + sh.abs_diff(h))
        .unwrap_or(&SIZES[0])
}

/// The capture format for a frame size.
pub(crate) fn pix(width: u32, height: u32) -> V4l2PixFormat {
    V4l2PixFormat {
        width,
        height,
        pixelformat: pix_fmt::YUYV,
        field: field::NONE,
        bytesperline: width * 2,
        sizeimage: width * height * 2,
        colorspace: colorspace::SMPTE170M,
        ..Default::default()
    }
}

/// Which graph objects the source is claimed by, and the pipeline the
/// first claimer started (au0828's `active_source`/`active_link_owner`).
#[derive(Default)]
pub(crate) struct Source {
    pub(crate) users: Vec<u32>,
    pub(crate) origin: Option<PadKey>,
}

/// The driver state (`struct au0828_dev`), shared by the node's ops, the
/// subdev's ops, the hooks and the URB thread.
///
/// # Invariants
///
/// It holds no strong reference to the media device or to a graph object,
/// so a hook left installed in the media device makes no cycle.
pub(crate) struct AvDev {
    pub(crate) port: String,
    /// The driver's name (`VIDIOC_QUERYCAP`'s `driver`).
    pub(crate) driver: &'static str,
    pub(crate) hw: Arc<dyn DeviceIo>,
    pub(crate) mdev: WeakMediaDevice,
    pub(crate) video_entity: OnceLock<WeakEntity>,
    pub(crate) decoder_id: AtomicU32,
    pub(crate) source: Mutex<Source>,
    pub(crate) source_pipe: Pipeline,
    pub(crate) video_pipe: Pipeline,
    pub(crate) fmt: Mutex<V4l2PixFormat>,
    pub(crate) pump_ctl: Arc<PumpCtl>,
    pub(crate) pump: Mutex<Option<Pump>>,
    pub(crate) frame: AtomicU32,
    /// The driver lock (`dev->lock`, the capture node's `vdev->lock`): an
    /// open of the capture node takes it. Checked for lock order.
    pub(crate) lock: CheckedMutex<()>,
    /// The binding that made this state: removed once its `remove()` returned.
    pub(crate) binding: BindingState,
    pub(crate) counters: Arc<Counters>,
}

impl AvDev {
    /// The state of a probing driver named `driver`, on the device of
    /// `port`, reaching it through `hw`.
    pub(crate) fn new(
        ctx: &ProbeCtx<'_>,
        port: &str,
        driver: &'static str,
        hw: Arc<dyn DeviceIo>,
        mdev: &MediaDevice,
        counters: Arc<Counters>,
    ) -> Self {
        AvDev {
            port: port.to_owned(),
            driver,
            hw,
            mdev: mdev.downgrade(),
            video_entity: OnceLock::new(),
            decoder_id: AtomicU32::new(0),
            source: Mutex::new(Source::default()),
            source_pipe: Pipeline::new(),
            video_pipe: Pipeline::new(),
            fmt: Mutex::new(pix(720, 480)),
            pump_ctl: Arc::new(PumpCtl::default()),
            pump: Mutex::new(None),
            frame: AtomicU32::new(0),
            lock: CheckedMutex::new(ctx.monitor(), "usbav.lock", ()),
            binding: ctx.binding_state(),
            counters,
        }
    }

    pub(crate) fn stop_pump(&self) {
        let p = self.pump.lock().take();
        if let Some(p) = p {
            p.stop();
        }
    }

    pub(crate) fn video_entity(&self) -> Option<Entity> {
        self.video_entity.get().and_then(WeakEntity::upgrade)
    }
}

/// Fills `buf` with frame `frame` (`bytes` of payload) through bus transfers.
fn capture_frame(
    st: &AvDev,
    ctl: &PumpCtl,
    buf: &mut ActiveBuffer,
    frame: u32,
    bytes: usize,
    chunk: &mut [u8],
) -> KResult<usize> {
    let total = bytes.min(buf.len());
    let mut off = 0;
    while off < total {
        if ctl.stopping() {
            return Err(Errno::ESHUTDOWN);
        }
        let n = (total - off).min(chunk.len());
        let req = &mut chunk[..n.max(REQUEST_LEN)];
        hw::video_request(req, frame, off as u32);
        let got = st.hw.transfer(req)?;
        if got == 0 {
            // The endpoint does not stream (an empty packet).
            return Err(Errno::EIO);
        }
        let got = got.min(n);
        buf.write(off, &req[..got])?;
        off += got;
    }
    Ok(total)
}

/// The URB completion loop of a stream.
pub(crate) fn video_pump(dev: Shadow<AvDev>, queue: BufferQueue, ctl: Arc<PumpCtl>, bytes: usize) {
    let mut chunk = vec![0u8; URB_BYTES];
    loop {
        // A driver that marks the device disconnected in its state checks
        // the mark here, in memory an unbind may have freed under it.
        let st = dev.get();
        if st.hw.marked_disconnected() {
            break;
        }
        let Some(mut buf) = ctl.wait_for(|| queue.next_buffer()) else {
            break;
        };
        let frame = st.frame.fetch_add(1, Ordering::AcqRel);
        match capture_frame(st, &ctl, &mut buf, frame, bytes, &mut chunk) {
            Ok(n) => {
                buf.set_bytesused(n as u32);
                if buf.done().is_ok() {
                    Counters::inc(&st.counters.video_frames);
                }
            }
            Err(e) => {
                let _ = buf.error();
                if e == Errno::ENODEV || e == Errno::ESHUTDOWN {
                    // Not resubmitted: the device or the stream is gone.
                    break;
                }
            }
        }
    }
    Counters::inc(&dev.get().counters.urb_exits);
}
