//! The usb-av video driver (au0828-like): decoder subdev, capture node, URB completion thread, and the source and entity-notify hooks it
//! installs on the shared media device.

use super::hw::{
    self, CTRL_STREAM, REG_V_AUDIO_ROUTE, REG_V_BRIGHTNESS, REG_V_CONTRAST, REG_V_CTRL, REG_V_FMT,
    REG_V_HUE, REG_V_INPUT, REG_V_SATURATION, REQUEST_LEN,
};
use super::io::{HwAccess, Pump, PumpCtl, Unwind};
use super::{
    Counters, DECODER_NAME, DECODER_PAD_AUDIO, PRODUCT, Shared, VIDEO_NAME, parent_info,
    video_driver_name, video_urb_thread,
};
use crate::Style;
use devlife::check::Shadow;
use devlife_media::mc::{
    Entity, EntityNotifyFn, Graph, HookToken, MediaDevice, PadKey, Pipeline, RegisterOptions,
    SourceHooks, WeakEntity, WeakMediaDevice,
};
use devlife_media::uapi::controls::cid;
use devlife_media::uapi::media::{
    MEDIA_ENT_F_ATV_DECODER, MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE,
};
use devlife_media::uapi::subdev::{
    MEDIA_BUS_FMT_FIXED, V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum,
};
use devlife_media::uapi::videodev2::{V4l2PixFormat, colorspace, field, pix_fmt};
use devlife_media::v4l2::{
    ActiveBuffer, BufferQueue, CapStrings, CtrlConfig, FmtDesc, Subdev, SubdevConfig, SubdevOps,
    SubdevState, V4l2Device, VideoDevice, VideoDeviceConfig, VideoOps,
};
use devlife_model::{BusKind, Driver, Errno, KResult, OpCtx, ProbeCtx, RemoveCtx};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// `MEDIA_BUS_FMT_YUYV8_2X8`.
const MEDIA_BUS_FMT_YUYV8_2X8: u32 = 0x2008;
/// Bytes per URB.
const URB_BYTES: usize = 64 * 1024;
/// The frame sizes the decoder produces.
const SIZES: [(u32, u32); 2] = [(720, 480), (320, 240)];

fn closest_size(w: u32, h: u32) -> (u32, u32) {
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
struct Source {
    users: Vec<u32>,
    origin: Option<PadKey>,
}

/// The driver state (`struct au0828_dev`), shared by the node's ops, the
/// subdev's ops, the hooks and the URB thread.
///
/// # Invariants
///
/// It holds no strong reference to the media device or to a graph object,
/// so a hook left installed in the media device makes no cycle.
pub(crate) struct AvDev {
    port: String,
    style: Style,
    hw: HwAccess,
    mdev: WeakMediaDevice,
    video_entity: OnceLock<WeakEntity>,
    decoder_id: AtomicU32,
    source: Mutex<Source>,
    source_pipe: Pipeline,
    video_pipe: Pipeline,
    fmt: Mutex<V4l2PixFormat>,
    pump_ctl: Arc<PumpCtl>,
    pump: Mutex<Option<Pump>>,
    frame: AtomicU32,
    removed: AtomicBool,
    disconnected: AtomicBool,
    counters: Arc<Counters>,
}

impl AvDev {
    fn stop_pump(&self) {
        let p = self.pump.lock().take();
        if let Some(p) = p {
            p.stop();
        }
    }

    fn video_entity(&self) -> Option<Entity> {
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
fn video_pump(dev: Shadow<AvDev>, queue: BufferQueue, ctl: Arc<PumpCtl>, bytes: usize) {
    let mut chunk = vec![0u8; URB_BYTES];
    loop {
        // The legacy driver checks its `dev_state` here, in memory that an
        // unbind may have freed under it.
        let st = dev.get();
        if st.style == Style::Legacy && st.disconnected.load(Ordering::Acquire) {
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

/// The inputs of the capture node (the decoder's analog inputs).
const INPUTS: [&str; 2] = ["Composite", "S-Video"];

/// The capture node's controls: the decoder's picture adjustments.
fn picture_controls() -> Vec<CtrlConfig> {
    vec![
        CtrlConfig::std(cid::BRIGHTNESS, 0, 255, 1, 128),
        CtrlConfig::std(cid::CONTRAST, 0, 255, 1, 128),
        CtrlConfig::std(cid::SATURATION, 0, 255, 1, 128),
        CtrlConfig::std(cid::HUE, -128, 127, 1, 0),
    ]
}

/// The capture node's driver data.
pub(crate) struct Cap {
    dev: Shadow<AvDev>,
    counters: Arc<Counters>,
}

impl VideoOps for Cap {
    fn querycap(&self) -> CapStrings {
        let st = self.dev.get();
        CapStrings {
            driver: video_driver_name(st.style).into(),
            card: PRODUCT.into(),
            bus_info: format!("usb-devlife-{}", st.port),
        }
    }

    fn enum_fmt(&self, _ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc> {
        if index == 0 && (mbus_code == 0 || mbus_code == MEDIA_BUS_FMT_YUYV8_2X8) {
            Ok(FmtDesc::new(pix_fmt::YUYV))
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn try_fmt(&self, _ctx: &OpCtx<'_>, p: &mut V4l2PixFormat) -> KResult<()> {
        let (w, h) = closest_size(p.width, p.height);
        *p = V4l2PixFormat {
            priv_: p.priv_,
            ..pix(w, h)
        };
        Ok(())
    }

    fn s_fmt(&self, _ctx: &OpCtx<'_>, p: &V4l2PixFormat) -> KResult<()> {
        let st = self.dev.get();
        st.hw.write(REG_V_FMT, (p.width << 16) | p.height)?;
        *st.fmt.lock() = *p;
        Ok(())
    }

    fn start_streaming(&self, _ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()> {
        let st = self.dev.get();
        let entity = st.video_entity().ok_or(Errno::ENODEV)?;
        let mdev = st.mdev.upgrade();
        // `v4l_enable_media_source`: claim the decoder through the hook.
        if let Some(m) = &mdev {
            m.enable_source(&entity, &st.video_pipe)?;
        }
        let fmt = *st.fmt.lock();
        let started = (|| {
            st.hw.write(REG_V_FMT, (fmt.width << 16) | fmt.height)?;
            st.hw.write(REG_V_CTRL, CTRL_STREAM)?;
            let (d, q, c) = (self.dev.clone(), queue.clone(), st.pump_ctl.clone());
            let bytes = fmt.sizeimage as usize;
            let pump = Pump::start(video_urb_thread(&st.port), &st.pump_ctl, move || {
                video_pump(d, q, c, bytes)
            })?;
            *st.pump.lock() = Some(pump);
            Ok(())
        })();
        match started {
            Ok(()) => {
                Counters::inc(&self.counters.video_starts);
                Ok(())
            }
            Err(e) => {
                let _ = st.hw.write(REG_V_CTRL, 0);
                if let Some(m) = &mdev {
                    m.disable_source(&entity);
                }
                Err(e)
            }
        }
    }

    fn stop_streaming(&self, queue: &BufferQueue) {
        let st = self.dev.get();
        st.stop_pump();
        let _ = st.hw.write(REG_V_CTRL, 0);
        if let (Some(m), Some(e)) = (st.mdev.upgrade(), st.video_entity()) {
            m.disable_source(&e);
        }
        queue.return_all();
        Counters::inc(&self.counters.video_stops);
        if st.removed.load(Ordering::Acquire) {
            Counters::inc(&self.counters.video_stops_after_remove);
        }
    }

    fn buf_queued(&self, _queue: &BufferQueue) {
        self.dev.get().pump_ctl.kick();
    }

    fn inputs(&self) -> Vec<String> {
        INPUTS.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The decoder's input mux, a register transfer (`ENODEV` once the
    /// device is gone).
    fn s_input(&self, _ctx: &OpCtx<'_>, index: u32) -> KResult<()> {
        self.dev.get().hw.write(REG_V_INPUT, index)
    }

    /// The decoder's picture registers.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let reg = match id {
            cid::BRIGHTNESS => REG_V_BRIGHTNESS,
            cid::CONTRAST => REG_V_CONTRAST,
            cid::SATURATION => REG_V_SATURATION,
            cid::HUE => REG_V_HUE,
            _ => return Err(Errno::EINVAL),
        };
        self.dev.get().hw.write(reg, value as u32)
    }

    fn close(&self) {
        // Driver memory only (R3: may run after unbind).
        let _ = self.dev.get().frame.load(Ordering::Relaxed);
    }

    fn release(&self) {
        Counters::inc(&self.counters.video_releases);
    }
}

/// The decoder subdev's driver data (au8522-like): pad 0 analog input,
/// pad 1 video out (YUYV8_2X8, 720x480 or 320x240), pad 2 audio out.
pub(crate) struct Decoder {
    dev: Shadow<AvDev>,
    counters: Arc<Counters>,
}

fn fixed(width: u32, height: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        width,
        height,
        code: MEDIA_BUS_FMT_FIXED,
        field: field::NONE,
        colorspace: colorspace::SMPTE170M,
        ..Default::default()
    }
}

fn video_mbus(width: u32, height: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code: MEDIA_BUS_FMT_YUYV8_2X8,
        ..fixed(width, height)
    }
}

impl SubdevOps for Decoder {
    fn init_state(&self, state: &mut SubdevState) {
        let fmts = [fixed(720, 480), video_mbus(720, 480), fixed(0, 0)];
        for (i, f) in fmts.into_iter().enumerate() {
            if let Ok(p) = state.pad_mut(i as u32) {
                p.format = f;
            }
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        if c.index != 0 {
            return Err(Errno::EINVAL);
        }
        c.code = if c.pad == 1 {
            MEDIA_BUS_FMT_YUYV8_2X8
        } else {
            MEDIA_BUS_FMT_FIXED
        };
        Ok(())
    }

    fn enum_frame_size(&self, _s: &SubdevState, f: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        if f.pad != 1 || f.code != MEDIA_BUS_FMT_YUYV8_2X8 {
            return Err(Errno::EINVAL);
        }
        let (w, h) = *SIZES.get(f.index as usize).ok_or(Errno::EINVAL)?;
        (f.min_width, f.max_width, f.min_height, f.max_height) = (w, w, h, h);
        Ok(())
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = self.dev.get();
        if f.pad == 1 {
            let (w, h) = closest_size(f.format.width, f.format.height);
            *state.format_mut(1)? = video_mbus(w, h);
        }
        // The input and audio pads are fixed: report what they are.
        f.format = *state.format(f.pad)?;
        Ok(())
    }

    fn s_stream(&self, _enable: bool) -> KResult<()> {
        Ok(())
    }

    fn close(&self) {
        // `subdev_close` touching driver memory (R3).
        let _ = self.dev.get().frame.load(Ordering::Relaxed);
    }

    fn release(&self) {
        Counters::inc(&self.counters.decoder_releases);
    }
}

/// The `enable_source`/`disable_source` hooks (`au0828_enable_source`).
///
/// The first claimer starts the source pipeline (every pad reachable over
/// enabled links, validated); later claimers share it; the last one to
/// release it stops it. Claiming for the audio entity routes the decoder's
/// audio to the audio function (a register write).
struct AvSource {
    dev: Shadow<AvDev>,
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

fn stop_source_pipeline(graph: &mut Graph, s: &mut Source, pipe: &Pipeline) {
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
fn link_audio(g: &mut Graph, decoder_id: u32, e: &Entity) {
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

/// What a binding of the video driver holds.
pub(crate) struct VideoData {
    dev: Shadow<AvDev>,
    mdev: MediaDevice,
    v4l2: V4l2Device,
    vdev: VideoDevice<Cap>,
    _decoder: Subdev<Decoder>,
    source_hooks: Option<HookToken>,
    notify: HookToken,
}

/// The video driver.
pub(crate) struct VideoDriver {
    shared: Arc<Shared>,
}

impl VideoDriver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn style(&self) -> Style {
        self.shared.style
    }
}

impl Driver for VideoDriver {
    type Data = VideoData;

    fn name(&self) -> &str {
        video_driver_name(self.style())
    }
    fn bus(&self) -> BusKind {
        BusKind::Usb
    }
    fn id_table(&self) -> &[&str] {
        &["usb:v1D6Bp0D11icFF*"]
    }

    fn probe(&self, ctx: &ProbeCtx<'_>) -> KResult<VideoData> {
        let style = self.style();
        let legacy = style == Style::Legacy;
        let module = video_driver_name(style);
        let udev = ctx.device().parent().cloned().ok_or(Errno::ENODEV)?;
        let port = udev.name().to_owned();
        let hw = HwAccess::claim(ctx, style)?;
        let mut unwind = Unwind::default();

        // The shared media device (`media_device_usb_allocate`), registered
        // once by whichever driver gets there first.
        let mdev = self
            .shared
            .allocator
            .allocate(&parent_info(&udev), module)?;
        {
            let (s, m) = (self.shared.clone(), mdev.clone());
            unwind.push(move || {
                let _ = s.allocator.delete(&m, module);
            });
        }
        let opts = RegisterOptions {
            parent: Some(udev.clone()),
            // The framework's media node runs core code only; the mainline
            // node is owned by the module that registered it.
            owner: if legacy { ctx.module().cloned() } else { None },
            name: None,
        };
        mdev.register_once(ctx.kernel(), opts)?;

        let counters = self.shared.counters.clone();
        let value = AvDev {
            port: port.clone(),
            style,
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
            removed: AtomicBool::new(false),
            disconnected: AtomicBool::new(false),
            counters: counters.clone(),
        };
        let name = format!("usbav_video({port})");
        let dev = if legacy {
            ctx.devm_alloc("usbav_video_state", &name, value)?
        } else {
            ctx.alloc_shadow("usbav_video_state", &name, value)?
        };

        let c = counters.clone();
        let v4l2 = V4l2Device::new(ctx.monitor(), &format!("usbav-video {port}"), move || {
            Counters::inc(&c.v4l2_releases)
        });
        v4l2.set_media_device(&mdev);

        // Decoder subdev.
        let mut scfg = SubdevConfig::new(
            DECODER_NAME,
            vec![MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE, MEDIA_PAD_FL_SOURCE],
            MEDIA_ENT_F_ATV_DECODER,
        );
        scfg.legacy = legacy;
        let decoder = Subdev::new(
            ctx.monitor(),
            scfg,
            Decoder {
                dev: dev.clone(),
                counters: counters.clone(),
            },
        )?;
        v4l2.register_subdev(&decoder.handle())?;
        {
            let v = v4l2.clone();
            unwind.push(move || v.unregister());
        }
        dev.get()
            .decoder_id
            .store(decoder.entity().id().unwrap_or(0), Ordering::Release);

        // Capture node.
        let mut vcfg = VideoDeviceConfig::capture(VIDEO_NAME, pix(720, 480));
        vcfg.legacy = legacy;
        vcfg.controls = picture_controls();
        let vdev = VideoDevice::new(
            &v4l2,
            vcfg,
            Cap {
                dev: dev.clone(),
                counters: counters.clone(),
            },
        )?;
        vdev.register(ctx)?;
        {
            let v = vdev.clone();
            unwind.push(move || {
                let _ = v.unregister();
            });
        }
        let _ = dev.get().video_entity.set(vdev.entity().downgrade());
        mdev.create_pad_link(
            decoder.entity(),
            1,
            vdev.entity(),
            0,
            MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE,
        )?;
        v4l2.register_subdev_nodes(ctx)?;

        // The hooks. Framework: every call enters this binding's gate.
        let gate = (!legacy).then(|| ctx.gate().clone());
        let hooks: Arc<dyn SourceHooks> = Arc::new(AvSource { dev: dev.clone() });
        let source_hooks = match mdev.set_source_hooks(hooks, gate.clone()) {
            Ok(t) => Some(t),
            // The pre-fix driver assigns the pointers whatever is there; here
            // the stale hooks of a departed twin stay in place.
            Err(Errno::EBUSY) if legacy => None,
            Err(e) => return Err(e),
        };
        if let Some(t) = source_hooks {
            let m = mdev.clone();
            unwind.push(move || {
                m.clear_source_hooks(t);
            });
        }
        let d2 = dev.clone();
        let notify: EntityNotifyFn = Arc::new(move |g: &mut Graph, e: &Entity| {
            let st = d2.get();
            Counters::inc(&st.counters.notifies);
            link_audio(g, st.decoder_id.load(Ordering::Acquire), e);
        });
        let notify = mdev.register_entity_notify(notify, gate);
        {
            let m = mdev.clone();
            unwind.push(move || {
                m.unregister_entity_notify(notify);
            });
        }
        // An audio entity registered before the hook was installed.
        {
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
        }

        unwind.disarm();
        Counters::inc(&counters.video_probes);
        Ok(VideoData {
            dev,
            mdev,
            v4l2,
            vdev,
            _decoder: decoder,
            source_hooks,
            notify,
        })
    }

    fn remove(&self, ctx: &RemoveCtx<'_>, data: &VideoData) {
        let st = data.dev.get();
        match self.style() {
            Style::Framework => {
                // The stream was stopped when the node was unplugged; the
                // hardware is still ours until we return.
                st.stop_pump();
                st.hw.write_bound(&ctx.bound(), REG_V_CTRL, 0);
                st.hw.write_bound(&ctx.bound(), REG_V_AUDIO_ROUTE, 0);
                // Release the source for whoever still holds it, then remove
                // the hooks (a call in progress has finished when these
                // return; none can start: our gate is unplugged).
                {
                    let mut g = data.mdev.graph();
                    let mut s = st.source.lock();
                    stop_source_pipeline(&mut g, &mut s, &st.source_pipe);
                }
                if let Some(t) = data.source_hooks {
                    data.mdev.clear_source_hooks(t);
                }
                data.mdev.unregister_entity_notify(data.notify);
            }
            Style::Legacy => {
                // Stop the device and leave: the URB thread, the hooks and
                // the entity notify stay behind.
                st.hw.write_bound(&ctx.bound(), REG_V_CTRL, 0);
                st.disconnected.store(true, Ordering::Release);
            }
        }
        let _ = data.vdev.unregister();
        data.v4l2.unregister();
        // `media_device_delete`: the last driver unregisters (legacy: frees).
        let _ = self
            .shared
            .allocator
            .delete(&data.mdev, video_driver_name(self.style()));
        st.removed.store(true, Ordering::Release);
        Counters::inc(&self.shared.counters.video_removes);
    }
}
