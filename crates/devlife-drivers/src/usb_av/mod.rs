//! usb-av: a hot-pluggable USB audio/video device with two drivers sharing
//! one media device (the au0828 + snd-usb-audio case of docs/proposals.md, "allocator").
//!
//! # The device
//!
//! A USB device ([`USB_VID`]:[`USB_PID`], port `1-1`, ...) with two
//! interfaces sharing one piece of simulated hardware ([`hw`]):
//!
//! * interface 0 (`1-1:1.0`, vendor class): an analog video decoder whose
//!   frames come over a bulk endpoint;
//! * interface 1 (`1-1:1.1`, audio streaming class): PCM capture over an
//!   isochronous endpoint.
//!
//! Every transfer goes through the model's simulated bus with a latency
//! ([`Options::latency`]), so transfers really are in flight when the device
//! is disconnected.
//!
//! # The drivers
//!
//! * the **video** driver (`usbav-video`, au0828-like): a decoder subdev
//!   (`USB-AV Decoder`, `/dev/v4l-subdevN`) and a capture video node (`USB-AV Video`,
//!   `/dev/videoN`, YUYV 720x480 or 320x240) fed by a URB completion thread
//!   (`usbav-vurb-<port>`). It installs the media device's
//!   `enable_source`/`disable_source` hooks (the shared decoder is the
//!   source both drivers claim) and an entity-notify hook that links the
//!   decoder's audio pad to the audio driver's entity when it appears.
//! * the **audio** driver (`usbav-audio`, snd-usb-audio-like): an audio
//!   capture entity (`USB-AV Audio Capture`), an ALSA PCM interface devnode,
//!   and a PCM capture node (`/dev/pcmCnD0c`, [`pcm`] ABI) whose `read()`
//!   streams interleaved S16 samples produced by a URB thread
//!   (`usbav-aurb-<port>`). `HW_PARAMS` (or the first `read`) calls the
//!   media device's `enable_source`, `HW_FREE`/close `disable_source`.
//!
//! Both drivers get the media device from the Media Device Allocator
//! ([`UsbAv::allocator`]), keyed by the USB device: whichever probes first
//! registers `/dev/mediaN` (its parent is the USB device, not an interface,
//! so neither binding owns it), the last one to leave unregisters it.
//!
//! The graph (`media-ctl -p` in [`UsbAv::topology`]):
//!
//! ```text
//! USB-AV Decoder:1 -> USB-AV Video:0                [ENABLED,IMMUTABLE]  (video driver)
//! USB-AV Decoder:2 -> USB-AV Audio Capture:0        [ENABLED]            (created by the video driver's notify)
//! interfaces: V4L video -> USB-AV Video, V4L subdev -> Decoder, ALSA PCM capture -> Audio Capture
//! ```
//!
//! The source hooks follow au0828: the first claimer (video `STREAMON` or
//! audio `HW_PARAMS`) starts a pipeline from its entity's pad (validated:
//! `EPIPE` on a decoder/video size mismatch, `ENOLINK` with the audio link
//! disabled, the audio pad being `MUST_CONNECT`), later claimers share it
//! without revalidation, the last release stops it. Links of a claimed
//! source cannot change (`EBUSY`).
//!
//! Deviations from au0828: no input connector entity (the model validates
//! every link into a subdev against the source's subdev format, which a
//! connector has not); the PCM interface is a reduced ALSA ([`pcm`]).
//!
//! # Lifetimes (framework style)
//!
//! * Driver state is an instrumented allocation released on its last
//!   reference (nodes' ops, URB threads, hooks); hardware handles are device
//!   resources revoked at unbind; every file operation runs in its node's
//!   gate, and each node's unplug cancels its I/O (stops the stream, joins the
//!   URB thread, releases the source) while the hardware is still bound.
//! * The hooks are installed with the video binding's gate: a call from the
//!   audio driver enters it, so an unbinding video driver waits for a hook
//!   call in progress and no call starts once it is gone; its `remove`
//!   releases the source and removes both hooks.
//! * The media node's operations are core code: it has no owner module, and
//!   an open `/dev/mediaN` keeps the media device (not the drivers) alive.
//! * Either driver can be unbound, rebound or its module unloaded while the
//!   other and open files keep running; a rebinding driver gets the live
//!   media device of its USB device, or a fresh one if the old one is leaving.
//!
//! # Legacy twins ([`Style::Legacy`])
//!
//! `usbav-video-legacy` and `usbav-audio-legacy` are the pre-fix drivers:
//! devm state freed at unbind ([`devlife::check::Shadow::free`]), raw
//! hardware handles, nodes with the registered flag checked at entry only
//! (sleepers are not woken: a blocked `read`/`DQBUF` sleeps through the
//! unbind), URB threads left running at unbind (a transfer in flight
//! completes after `remove()`, into freed memory), hooks and
//! entity-notify left installed pointing into the departed video driver, and
//! the mainline allocator that frees the media device with the last driver
//! whatever still uses it (R6). The checkers report each of these.
//!
//! # Files
//!
//! Each driver is a module: `video/driver.rs` and `audio/driver.rs` are the
//! framework drivers (probe, remove); `video/legacy.rs` and
//! `audio/legacy.rs` their twins, separate drivers sharing the state, the
//! operations and the probe steps (`video/build.rs`, `audio/build.rs`).
//! Both reach the device through `io.rs`'s `DeviceIo`: the framework's
//! handles are device resources (`io::DevresIo`), the twins' are raw and
//! carry au0828's disconnect flag (`legacy::RawIo`). `pump.rs` runs the URB
//! completion loops; [`hw`] is the simulated device, [`pcm`] the PCM ABI.
//!
//! # Use
//!
//! ```
//! use devlife_drivers::{usb_av, Style};
//! use devlife_model::Kernel;
//! let k = Kernel::new();
//! let av = usb_av::register(&k, Style::Framework).unwrap();
//! let udev = av.plug("1-1").unwrap();
//! let nodes = av.nodes(&udev);
//! assert!(nodes.media.is_some() && nodes.video.is_some() && nodes.pcm.is_some());
//! let text = av.topology(&udev).unwrap();
//! assert!(text.contains("USB-AV Decoder"));
//! av.unplug(&udev).unwrap();
//! ```

pub mod hw;
mod io;
mod legacy;
pub mod pcm;
mod pump;

mod audio;
mod video;

use crate::counters::counters;
use crate::{Mistake, Style};
use devlife_media::legacy::FreeingAllocator;
use devlife_media::mc::render::{RenderOptions, media_ctl_print};
use devlife_media::mc::{MediaDevice, MediaDeviceAllocator, ParentInfo, RegisterOptions};
use devlife_model::{
    Device, DeviceSpec, Errno, KResult, Kernel, Module, NodeKind, ProbeCtx, UsbInterfaceSpec,
};
use std::sync::Arc;
use std::time::Duration;

/// USB vendor id of the device.
pub const USB_VID: u16 = 0x1d6b;
/// USB product id of the device.
pub const USB_PID: u16 = 0x0d11;
/// The product string (the media device's model).
pub const PRODUCT: &str = "devlife USB-AV";
/// The video interface (vendor specific, like au0828's).
pub const VIDEO_INTERFACE: UsbInterfaceSpec = UsbInterfaceSpec {
    class: 0xff,
    subclass: 0x00,
};
/// The audio interface (audio class, streaming subclass).
pub const AUDIO_INTERFACE: UsbInterfaceSpec = UsbInterfaceSpec {
    class: 0x01,
    subclass: 0x02,
};

/// Entity name of the decoder subdev.
pub const DECODER_NAME: &str = "USB-AV Decoder";
/// Entity name of the capture video node.
pub const VIDEO_NAME: &str = "USB-AV Video";
/// Entity name of the audio capture entity.
pub const AUDIO_NAME: &str = "USB-AV Audio Capture";

/// Decoder pad: analog input.
pub const DECODER_PAD_INPUT: u16 = 0;
/// Decoder pad: video output.
pub const DECODER_PAD_VIDEO: u16 = 1;
/// Decoder pad: audio output.
pub const DECODER_PAD_AUDIO: u16 = 2;

/// Name of the video driver (and its module) of a style.
pub fn video_driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => "usbav-video",
        Style::Legacy => "usbav-video-legacy",
    }
}

/// Name of the audio driver (and its module) of a style.
pub fn audio_driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => "usbav-audio",
        Style::Legacy => "usbav-audio-legacy",
    }
}

/// Name of the video URB completion thread of the device on `port`.
pub fn video_urb_thread(port: &str) -> String {
    format!("usbav-vurb-{port}")
}

/// Name of the audio URB completion thread of the device on `port`.
pub fn audio_urb_thread(port: &str) -> String {
    format!("usbav-aurb-{port}")
}

/// Settings of a [`UsbAv`] instance.
#[derive(Clone, Debug)]
pub struct Options {
    /// Latency of every register access and bus transfer of plugged devices.
    pub latency: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            latency: Duration::from_micros(20),
        }
    }
}

counters! {
    /// Event counters of the drivers of one [`UsbAv`] instance (all
    /// devices).
    struct Counters;
    /// Successful video probes.
    video_probes,
    /// Video removes.
    video_removes,
    /// Audio probes.
    audio_probes,
    /// Audio removes.
    audio_removes,
    /// Video `start_streaming` calls that succeeded.
    video_starts,
    /// Video `stop_streaming` calls.
    video_stops,
    /// Video `stop_streaming` calls after the driver's `remove()` (a bug).
    video_stops_after_remove,
    /// Video frames completed.
    video_frames,
    /// Audio captures started.
    audio_starts,
    /// Audio captures stopped.
    audio_stops,
    /// Audio captures stopped after the driver's `remove()` (a bug).
    audio_stops_after_remove,
    /// Audio periods transferred.
    audio_periods,
    /// `enable_source` hook calls that reached the video driver.
    source_enables,
    /// `disable_source` hook calls that reached the video driver.
    source_disables,
    /// Entity-notify calls that reached the video driver.
    notifies,
    /// URB threads that ended.
    urb_exits,
}

/// What both drivers of one instance share.
pub(crate) struct Shared {
    pub(crate) style: Style,
    pub(crate) allocator: MediaDeviceAllocator,
    pub(crate) counters: Arc<Counters>,
    /// Driver-private mistakes armed by a scenario (`mistake NAME`); only
    /// the video driver's legacy twin reads them, at `remove()`.
    pub(crate) mistakes: parking_lot::Mutex<Vec<Mistake>>,
}

impl Shared {
    /// The media device of `udev` for the probing driver `driver`
    /// (`media_device_usb_allocate`: the live one of the USB device, or a
    /// new one) and registered once, by whichever driver gets there first,
    /// with `owner` as the module of its node's operations (none: core
    /// code). If the probe fails later, its unwinding gives the driver's
    /// share back (`media_device_delete`).
    pub(crate) fn media_device(
        self: &Arc<Self>,
        ctx: &ProbeCtx<'_>,
        udev: &Device,
        driver: &'static str,
        owner: Option<Module>,
    ) -> KResult<MediaDevice> {
        let mdev = self.allocator.allocate(&parent_info(udev), driver)?;
        let (s, m) = (self.clone(), mdev.clone());
        ctx.undo_on_error("media_device_delete", move || {
            let _ = s.allocator.delete(&m, driver);
        });
        let opts = RegisterOptions {
            parent: Some(udev.clone()),
            owner,
            name: None,
        };
        mdev.register_once(ctx.kernel(), opts)?;
        Ok(mdev)
    }
}

/// The USB device of the interface being probed.
pub(crate) fn usb_device(ctx: &ProbeCtx<'_>) -> KResult<Device> {
    ctx.device().parent().cloned().ok_or(Errno::ENODEV)
}

/// The parent info of the media device of `udev`.
pub(crate) fn parent_info(udev: &Device) -> ParentInfo {
    let mut p =
        ParentInfo::new(udev.id(), PRODUCT).bus_info(format!("usb-devlife-{}", udev.name()));
    p.serial = format!("DL{:08x}", udev.id());
    p.hw_revision = 0x0100;
    p
}

/// The device nodes of one plugged device (names under `/dev`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UsbAvNodes {
    /// `/dev/mediaN`.
    pub media: Option<String>,
    /// The capture node (`videoN`).
    pub video: Option<String>,
    /// The decoder subdev node (`v4l-subdevN`).
    pub subdev: Option<String>,
    /// The PCM capture node (`pcmCnD0c`).
    pub pcm: Option<String>,
}

/// One registration of the usb-av drivers of a style on a kernel: their
/// modules, the drivers, the allocator they share, and helpers to plug
/// devices and find their nodes.
///
/// # Invariants
///
/// The drivers of this instance share its allocator: one media device per
/// USB device and style. Registering both styles on one kernel gives each
/// style its own allocator (a device bound to drivers of both styles gets
/// two media devices).
pub struct UsbAv {
    kernel: Kernel,
    shared: Arc<Shared>,
    opts: Options,
}

impl std::fmt::Debug for UsbAv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbAv")
            .field("style", &self.shared.style)
            .field("allocator", &self.shared.allocator)
            .finish()
    }
}

/// Loads the modules of `style` and registers its two drivers (see
/// [`UsbAv::register`]).
pub fn register(k: &Kernel, style: Style) -> KResult<UsbAv> {
    UsbAv::register(k, style, Options::default())
}

/// Plugs a usb-av device on `port` (`"1-1"`) with the default options,
/// whatever drivers are registered.
pub fn plug(k: &Kernel, port: &str) -> KResult<Device> {
    plug_with(k, port, &Options::default())
}

/// Disconnects a device plugged with [`plug`].
pub fn unplug(k: &Kernel, udev: &Device) -> KResult<()> {
    k.hot_unplug(udev)
}

fn plug_with(k: &Kernel, port: &str, opts: &Options) -> KResult<Device> {
    let spec = DeviceSpec::usb(port, USB_VID, USB_PID)
        .regs(hw::NREGS)
        .latency(opts.latency)
        .property("product", PRODUCT);
    let udev = k.add_usb_device(spec, &[VIDEO_INTERFACE, AUDIO_INTERFACE])?;
    hw::install_device_model(udev.hardware());
    Ok(udev)
}

impl UsbAv {
    /// Loads the two modules (named like the drivers) and registers the
    /// video and audio drivers of `style`. `EEXIST` if this style is
    /// already registered on `k`.
    pub fn register(k: &Kernel, style: Style, opts: Options) -> KResult<UsbAv> {
        let allocator = match style {
            Style::Framework => MediaDeviceAllocator::new(k.monitor()),
            Style::Legacy => MediaDeviceAllocator::new_freeing(k.monitor()),
        };
        let shared = Arc::new(Shared {
            style,
            allocator,
            counters: Arc::new(Counters::default()),
            mistakes: parking_lot::Mutex::new(Vec::new()),
        });
        let vm = k.load_module(video_driver_name(style))?;
        let am = match k.load_module(audio_driver_name(style)) {
            Ok(m) => m,
            Err(e) => {
                let _ = k.unload_module(vm.name());
                return Err(e);
            }
        };
        let undo = |k: &Kernel| {
            let _ = k.unload_module(video_driver_name(style));
            let _ = k.unload_module(audio_driver_name(style));
        };
        let registered = match style {
            Style::Framework => k
                .register_driver(video::VideoDriver::new(shared.clone()), Some(&vm))
                .and_then(|_| {
                    k.register_driver(audio::AudioDriver::new(shared.clone()), Some(&am))
                }),
            Style::Legacy => k
                .register_driver(
                    video::legacy::VideoLegacyDriver::new(shared.clone()),
                    Some(&vm),
                )
                .and_then(|_| {
                    k.register_driver(
                        audio::legacy::AudioLegacyDriver::new(shared.clone()),
                        Some(&am),
                    )
                }),
        };
        if let Err(e) = registered {
            undo(k);
            return Err(e);
        }
        Ok(UsbAv {
            kernel: k.clone(),
            shared,
            opts,
        })
    }

    /// The kernel the drivers are registered in.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The style of the drivers.
    pub fn style(&self) -> Style {
        self.shared.style
    }

    /// The Media Device Allocator the two drivers share.
    pub fn allocator(&self) -> &MediaDeviceAllocator {
        &self.shared.allocator
    }

    /// The drivers' event counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    /// Name of this style's video driver (and module).
    pub fn video_driver(&self) -> &'static str {
        video_driver_name(self.shared.style)
    }

    /// Name of this style's audio driver (and module).
    pub fn audio_driver(&self) -> &'static str {
        audio_driver_name(self.shared.style)
    }

    /// Arms a driver-private mistake ([`Mistake`]) in the video driver's
    /// legacy twin: each of its later `remove()`s makes it with the twin's
    /// private count of its structure (`usbav private structure`, held by
    /// the driver and by the v4l2 device's release) or with the driver lock
    /// (`usbav.lock`, taken by a capture node's open). `ENOTSUP` for the
    /// framework drivers: there is no private count or lock for them to
    /// misuse.
    pub fn arm_mistake(&self, m: Mistake) -> KResult<()> {
        if self.shared.style != Style::Legacy {
            return Err(Errno::ENOTSUP);
        }
        self.shared.mistakes.lock().push(m);
        Ok(())
    }

    /// Plugs a device on `port` (`"1-1"`): the drivers bind to its two
    /// interfaces before this returns. `EEXIST` if the port is taken.
    pub fn plug(&self, port: &str) -> KResult<Device> {
        plug_with(&self.kernel, port, &self.opts)
    }

    /// Disconnects the device (hot-unplug: both drivers unbind, the seven
    /// steps each; open files stay valid and answer `ENODEV`/`EIO`).
    pub fn unplug(&self, udev: &Device) -> KResult<()> {
        self.kernel.hot_unplug(udev)
    }

    /// The video interface (`port:1.0`) of a plugged device.
    pub fn video_interface(&self, udev: &Device) -> Option<Device> {
        self.kernel.device(&format!("{}:1.0", udev.name()))
    }

    /// The audio interface (`port:1.1`) of a plugged device.
    pub fn audio_interface(&self, udev: &Device) -> Option<Device> {
        self.kernel.device(&format!("{}:1.1", udev.name()))
    }

    /// The live media device of a plugged device (what the allocator would
    /// hand a probing driver).
    pub fn media_device(&self, udev: &Device) -> Option<MediaDevice> {
        self.shared.allocator.lookup(udev.id())
    }

    /// The registered nodes of a plugged device.
    pub fn nodes(&self, udev: &Device) -> UsbAvNodes {
        let mut out = UsbAvNodes::default();
        for n in self.kernel.nodes() {
            let Some(p) = n.parent() else { continue };
            let mine =
                Device::ptr_eq(&p, udev) || p.parent().is_some_and(|pp| Device::ptr_eq(pp, udev));
            if !mine {
                continue;
            }
            let slot = match n.kind() {
                NodeKind::Media => &mut out.media,
                NodeKind::Video => &mut out.video,
                NodeKind::Subdev => &mut out.subdev,
                NodeKind::Audio => &mut out.pcm,
                _ => continue,
            };
            *slot = Some(n.name().to_owned());
        }
        out
    }

    /// `media-ctl -p` of the device's media device. `ENODEV` if no driver
    /// holds one.
    pub fn topology(&self, udev: &Device) -> KResult<String> {
        let mdev = self.media_device(udev).ok_or(Errno::ENODEV)?;
        media_ctl_print(&mdev, &RenderOptions::default())
    }
}
