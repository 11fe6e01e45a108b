//! The usb-av video driver (au0828-like): decoder subdev, capture node, URB completion thread, and the source and entity-notify hooks it
//! installs on the shared media device.

use crate::Style;
use crate::usb_av::hw::{REG_V_AUDIO_ROUTE, REG_V_CTRL};
use crate::usb_av::io::{HwAccess, PumpCtl};
use crate::usb_av::video::capture::picture_controls;
use crate::usb_av::video::device::Source;
use crate::usb_av::video::source::AvSource;
use crate::usb_av::video::source::link_audio;
use crate::usb_av::video::source::stop_source_pipeline;
use crate::usb_av::{Counters, DECODER_NAME, Shared, VIDEO_NAME, parent_info, video_driver_name};
use devlife::check::Shadow;
use devlife_media::legacy::{EntryCheckedSubdev, EntryCheckedVideo};
use devlife_media::mc::{
    Entity, EntityNotifyFn, Graph, HookToken, MediaDevice, Pipeline, RegisterOptions, SourceHooks,
};
use devlife_media::uapi::media::{
    MEDIA_ENT_F_ATV_DECODER, MEDIA_ENT_F_AUDIO_CAPTURE, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE,
};
use devlife_media::v4l2::{Subdev, SubdevConfig, V4l2Device, VideoDevice, VideoDeviceConfig};
use devlife_model::legacy::Devm;
use devlife_model::{BusKind, Driver, Errno, KResult, ProbeCtx, RemoveCtx};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

mod capture;
mod decoder;
mod device;
mod source;

pub(crate) use capture::Cap;
pub(crate) use decoder::Decoder;
pub(crate) use device::{AvDev, pix};

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

        // The shared media device (`media_device_usb_allocate`), registered
        // once by whichever driver gets there first.
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
            binding: ctx.binding_state(),
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
        let scfg = SubdevConfig::new(
            DECODER_NAME,
            vec![MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE, MEDIA_PAD_FL_SOURCE],
            MEDIA_ENT_F_ATV_DECODER,
        );
        let sops = Decoder {
            dev: dev.clone(),
            counters: counters.clone(),
        };
        let decoder = if legacy {
            Subdev::new_entry_checked(ctx.monitor(), scfg, sops)?
        } else {
            Subdev::new(ctx.monitor(), scfg, sops)?
        };
        v4l2.register_subdev(&decoder.handle())?;
        {
            let v = v4l2.clone();
            ctx.undo_on_error("v4l2_device_unregister", move || v.unregister());
        }
        dev.get()
            .decoder_id
            .store(decoder.entity().id().unwrap_or(0), Ordering::Release);

        // Capture node.
        let mut vcfg = VideoDeviceConfig::capture(VIDEO_NAME, pix(720, 480));
        vcfg.controls = picture_controls();
        let vops = Cap {
            dev: dev.clone(),
            counters: counters.clone(),
        };
        let vdev = if legacy {
            VideoDevice::new_entry_checked(&v4l2, vcfg, vops)?
        } else {
            VideoDevice::new(&v4l2, vcfg, vops)?
        };
        vdev.register(ctx)?;
        {
            let v = vdev.clone();
            ctx.undo_on_error("video_unregister_device", move || {
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
            ctx.undo_on_error("clear the enable_source/disable_source hooks", move || {
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
            ctx.undo_on_error("media_device_unregister_entity_notify", move || {
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
        Counters::inc(&self.shared.counters.video_removes);
    }
}
