//! isp: a platform image signal processor modelled on omap3isp / rcar-vin:
//! several subdevs and a capture node, frames completed by interrupt, DMA
//! into the queued buffers.
//!
//! # The device
//!
//! A platform device `devlife-isp.N` with a register block and an interrupt
//! line ([`hw`]). Started, its frame engine writes each frame by DMA into the
//! buffer whose bus address the driver programmed and raises
//! `FRAME_DONE`; frames come every [`IspOptions::frame_interval`] or, with
//! `None`, one per [`Isp::vsync`] (deterministic tests).
//!
//! # The driver (`devlife-isp`)
//!
//! One media device (`devlife ISP`, `/dev/mediaN`) with the pipeline
//!
//! ```text
//! sensor:0 -> CSI2:0   CSI2:1 -> CCDC:0   CCDC:1 -> resizer:0   resizer:1 -> resizer output:0
//!  [IMMUTABLE]          [ENABLED]          [ENABLED]             [IMMUTABLE]
//! ```
//!
//! four subdevs with `/dev/v4l-subdevN` nodes (SGRBG8 Bayer from the sensor,
//! YUYV8_1X16 after the CCDC, any size after the resizer; formats propagate
//! from sink to source pads) and a capture node (`/dev/videoN`, YUYV).
//! `STREAMON` validates the pipeline (`EPIPE` on a format mismatch, `ENOLINK`
//! with the CCDC → resizer link disabled), starts every subdev upstream,
//! maps the first queued buffer for DMA and starts the engine. The interrupt
//! handler acknowledges, completes the written buffer and programs the next.
//!
//! # Lifetimes (framework style, `driver.rs`)
//!
//! * The state is released on its last reference; the v4l2 device's release
//!   callback, which runs after the last video device and subdev are gone,
//!   holds the driver's last reference ("release frees everything on the
//!   last reference").
//! * The IRQ is gated by the binding: it never runs once unbind has drained
//!   the binding, and the framework frees it after `remove` returns. The
//!   capture node's unplug stops the stream (engine off, DMA unmapped,
//!   buffers returned) while the device is bound; `remove` stops the engine
//!   and masks its interrupt before any memory can go.
//! * The media node runs core code only (no owner module); an open fd keeps
//!   the media device alive and answers `EIO`.
//! * The handle finds a binding's media device through the device's drvdata
//!   and its nodes in the kernel's node table: the driver keeps no map.
//!
//! # Legacy twin (`devlife-isp-legacy`, a separate driver in `legacy.rs`)
//!
//! The pre-fix driver: `devm_request_irq` before `devm_kzalloc`, so the
//! state (and the media device embedded in it) is freed at unbind *before*
//! the IRQ: an interrupt in that window runs on freed data
//! (`IrqAfterRelease`); raw register mapping (accesses after `remove()` are
//! reported); nodes with the registered flag checked at entry only (no
//! wake-up, no stream stop at unbind); the media device freed under an
//! open media node.
//!
//! # Files
//!
//! `driver.rs` is the framework driver (probe, remove, release; nothing the
//! framework does for it), `legacy.rs` the twin. Both build the same graph
//! through `build.rs`, whose `Variant` trait names the only places they
//! differ (the node rules, `Variant::Nodes`; the media node's owner).
//! `state.rs` holds the driver state and the interrupt handler, `capture.rs`
//! the capture node's operations, `subdevs.rs` the four subdevs, [`hw`] the
//! simulated device.
//!
//! # Use
//!
//! ```
//! use devlife_drivers::{isp, Style};
//! use devlife_model::Kernel;
//! let k = Kernel::new();
//! let isp = isp::register_with(&k, Style::Framework, isp::IspOptions::manual()).unwrap();
//! let dev = isp.plug(0).unwrap();
//! let nodes = isp.nodes(&dev);
//! assert_eq!(nodes.subdevs.len(), 4);
//! assert!(isp.topology(&dev).unwrap().contains("devlife ISP resizer"));
//! isp.unplug(&dev).unwrap();
//! ```

mod build;
mod capture;
mod driver;
pub mod hw;
mod legacy;
mod state;
mod subdevs;

use crate::Style;
use crate::counters::counters;
use devlife_media::mc::MediaDevice;
use devlife_media::mc::render::{RenderOptions, media_ctl_print};
use devlife_model::{Device, DeviceSpec, Errno, IrqLine, KResult, Kernel, NodeKind};
use hw::IspModel;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use subdevs::Block;

/// Entity name of the sensor.
pub const SENSOR_NAME: &str = "devlife ISP sensor";
/// Entity name of the CSI-2 receiver.
pub const CSI2_NAME: &str = "devlife ISP CSI2";
/// Entity name of the CCDC.
pub const CCDC_NAME: &str = "devlife ISP CCDC";
/// Entity name of the resizer.
pub const RESIZER_NAME: &str = "devlife ISP resizer";
/// Entity name of the capture node.
pub const CAPTURE_NAME: &str = "devlife ISP resizer output";
/// The media device's model.
pub const MODEL: &str = "devlife ISP";
/// `MEDIA_BUS_FMT_YUYV8_1X16`.
pub const MEDIA_BUS_FMT_YUYV8_1X16: u32 = 0x2011;
/// The platform device name (`devlife-isp.N`).
pub const DEVICE_NAME: &str = "devlife-isp";

/// Name of the driver (and its module) of a style.
pub fn driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => driver::NAME,
        Style::Legacy => legacy::NAME,
    }
}

/// Settings of an [`Isp`] instance.
#[derive(Clone, Debug)]
pub struct IspOptions {
    /// Time between frames of a started engine; `None`: frames only on
    /// [`Isp::vsync`].
    pub frame_interval: Option<Duration>,
    /// Latency of every register access.
    pub latency: Duration,
}

impl Default for IspOptions {
    fn default() -> Self {
        Self {
            frame_interval: Some(Duration::from_millis(10)),
            latency: Duration::ZERO,
        }
    }
}

impl IspOptions {
    /// Frames only on [`Isp::vsync`].
    pub fn manual() -> Self {
        Self {
            frame_interval: None,
            ..Self::default()
        }
    }
}

counters! {
    /// Event counters of the ISP driver of one [`Isp`] instance.
    struct Counters;
    /// Successful probes.
    probes,
    /// `remove()` calls.
    removes,
    /// Interrupts handled.
    irqs,
    /// Frames completed.
    frames,
    /// Frames the hardware dropped (no buffer programmed).
    overflows,
    /// `start_streaming` calls that succeeded.
    starts,
    /// `stop_streaming` calls.
    stops,
    /// `stop_streaming` calls after `remove()` (a bug).
    stops_after_remove,
}

/// The device nodes of one bound ISP.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IspNodes {
    /// `/dev/mediaN`.
    pub media: Option<String>,
    /// The capture node.
    pub video: Option<String>,
    /// Subdev nodes: (entity name, node name), sensor first.
    pub subdevs: Vec<(String, String)>,
}

/// One registration of the ISP driver of a style on a kernel.
pub struct Isp {
    kernel: Kernel,
    style: Style,
    /// The driver's counters (the registered driver holds the same).
    counters: Arc<Counters>,
    opts: IspOptions,
    models: Mutex<BTreeMap<String, Weak<IspModel>>>,
}

impl std::fmt::Debug for Isp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isp")
            .field("style", &self.style)
            .field("opts", &self.opts)
            .finish()
    }
}

/// Loads the module of `style` and registers the driver, free-running
/// frames ([`IspOptions::default`]).
pub fn register(k: &Kernel, style: Style) -> KResult<Isp> {
    register_with(k, style, IspOptions::default())
}

/// Loads the module of `style` and registers the driver. `EEXIST` if this
/// style is registered on `k` already.
pub fn register_with(k: &Kernel, style: Style, opts: IspOptions) -> KResult<Isp> {
    let counters = Arc::new(Counters::default());
    let m = k.load_module(driver_name(style))?;
    let registered = match style {
        Style::Framework => k.register_driver(
            driver::IspDriver {
                counters: counters.clone(),
            },
            Some(&m),
        ),
        Style::Legacy => k.register_driver(
            legacy::IspLegacyDriver {
                counters: counters.clone(),
            },
            Some(&m),
        ),
    };
    if let Err(e) = registered {
        let _ = k.unload_module(driver_name(style));
        return Err(e);
    }
    Ok(Isp {
        kernel: k.clone(),
        style,
        counters,
        opts,
        models: Mutex::new(BTreeMap::new()),
    })
}

impl Isp {
    /// The kernel the driver is registered in.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The driver's style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The driver (and module) name.
    pub fn driver(&self) -> &'static str {
        driver_name(self.style)
    }

    /// The driver's event counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }

    /// Adds ISP number `n` (`devlife-isp.N`) with its device behaviour; the
    /// driver binds before this returns.
    pub fn plug(&self, n: u32) -> KResult<Device> {
        let spec = DeviceSpec::platform(DEVICE_NAME, n)
            .regs(hw::NREGS)
            .latency(self.opts.latency);
        let dev = self.kernel.add_device(spec)?;
        let model = hw::install_device_model(dev.hardware(), self.opts.frame_interval);
        let mut models = self.models.lock();
        models.retain(|_, w| w.strong_count() > 0);
        models.insert(dev.name().to_owned(), Arc::downgrade(&model));
        Ok(dev)
    }

    /// Removes the device (hot-unplug: unbind in seven steps, then delete).
    pub fn unplug(&self, dev: &Device) -> KResult<()> {
        self.kernel.hot_unplug(dev)
    }

    /// The device behaviour of a plugged ISP.
    pub fn model(&self, dev: &Device) -> Option<Arc<IspModel>> {
        self.models.lock().get(dev.name()).and_then(Weak::upgrade)
    }

    /// One frame tick of the device (see [`IspModel::vsync`]). Returns
    /// whether the engine was running. The interrupt is handled
    /// asynchronously ([`wait_irq_idle`](Self::wait_irq_idle)).
    pub fn vsync(&self, dev: &Device) -> bool {
        self.model(dev).is_some_and(|m| m.vsync(dev.hardware()))
    }

    /// The device's interrupt line.
    pub fn irq_line(&self, dev: &Device) -> Option<Arc<IrqLine>> {
        self.kernel.irq().line(dev.hardware().irq()?)
    }

    /// Waits until no interrupt of the device is pending or being handled
    /// (`timeout` is a safety bound). Returns whether it went idle.
    pub fn wait_irq_idle(&self, dev: &Device, timeout: Duration) -> bool {
        self.irq_line(dev).is_none_or(|l| l.wait_idle(timeout))
    }

    /// The media device of a bound ISP (the binding's drvdata).
    pub fn media_device(&self, dev: &Device) -> Option<MediaDevice> {
        dev.with_drvdata(|d: &build::IspData| d.st.get().mdev.clone())
    }

    /// The registered nodes of an ISP (the kernel's nodes whose parent is
    /// `dev`; a subdev node is labelled with its entity's name).
    pub fn nodes(&self, dev: &Device) -> IspNodes {
        let mut out = IspNodes::default();
        for n in self.kernel.nodes() {
            if !n.parent().is_some_and(|p| Device::ptr_eq(&p, dev)) {
                continue;
            }
            match n.kind() {
                NodeKind::Media => out.media = Some(n.name().to_owned()),
                NodeKind::Video => out.video = Some(n.name().to_owned()),
                NodeKind::Subdev => {
                    if let Some(e) = n.label() {
                        out.subdevs.push((e.to_owned(), n.name().to_owned()));
                    }
                }
                _ => {}
            }
        }
        out.subdevs
            .sort_by_key(|(e, _)| Block::ALL.iter().position(|b| b.name() == e));
        out
    }

    /// The subdev node of the entity named `entity`.
    pub fn subdev_node(&self, dev: &Device, entity: &str) -> Option<String> {
        self.nodes(dev)
            .subdevs
            .into_iter()
            .find(|(e, _)| e == entity)
            .map(|(_, n)| n)
    }

    /// `media-ctl -p` of the device's media device. `ENODEV` if unbound.
    pub fn topology(&self, dev: &Device) -> KResult<String> {
        let m = self.media_device(dev).ok_or(Errno::ENODEV)?;
        media_ctl_print(&m, &RenderOptions::default())
    }
}
