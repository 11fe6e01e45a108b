//! # vimc: the virtual media controller test driver
//!
//! The kernel's `drivers/media/test-drivers/vimc`, on devlife: the exact
//! topology of Linux 6.x (docs/vimc.md: eleven entities, eight data links, two
//! ancillary links, the object ids, the node names, the default
//! formats, the lifetime), streaming frames through the
//! buffer queue and `read()`, bindable and unbindable at any moment, in the
//! framework style and as a legacy twin that reproduces the pre-fix bugs.
//!
//! ```
//! use devlife_drivers::{Style, vimc};
//! use devlife_model::Kernel;
//! let k = Kernel::new();
//! let v = vimc::register(&k, Style::Framework).unwrap();
//! let nodes = v.nodes().unwrap();
//! assert_eq!(nodes.media, "/dev/media0");
//! assert_eq!(nodes.path("Raw Capture 0"), Some("/dev/video0"));
//! assert_eq!(nodes.path("Lens B"), Some("/dev/v4l-subdev7"));
//! assert!(v.topology().unwrap().contains("- entity 21: Scaler (2 pads, 4 links, 0 routes)"));
//! v.unbind().unwrap();                    // the seven steps
//! v.bind().unwrap();                      // and back
//! v.unload().unwrap();                    // rmmod vimc
//! drop(v);
//! assert!(k.leaks().is_empty(), "{:?}", k.leaks());
//! ```
//!
//! ## Public API
//!
//! * [`register`] / [`register_with`] (`vimc_init`): loads the module
//!   (`vimc`, or `vimc-legacy`), adds the platform device (`vimc.0`,
//!   `vimc-legacy.0`) and registers the driver, which binds it. The
//!   [`VimcHandle`] then binds, unbinds ([`VimcHandle::bind`],
//!   [`VimcHandle::unbind`]: sysfs), hot-unplugs and re-adds the platform
//!   device, and unloads the module (`EBUSY` while a node is open).
//! * [`VimcNodes`]: the node of every entity and the media node of the
//!   current binding (`/dev/media0`, `/dev/video0..2`, `/dev/v4l-subdev0..7`
//!   when vimc is alone in its kernel).
//! * [`topology_text`] / [`topology_dot`]: `media-ctl -p` and `--print-dot`,
//!   rendered by `devlife_media::mc::render` through the media ioctls.
//! * [`setup`]: the configuration of docs/vimc.md, "Streaming" ([`setup::StreamSetup::spec`])
//!   applied through the nodes, as `media-ctl -V` and `v4l2-ctl -v` would.
//! * [`pattern`]: the frames (moving colour bars with a frame counter) as
//!   pure functions, so tests can check what a capture delivered.
//!
//! ## Topology and ids
//!
//! Probe follows `vimc_probe`: the entities in `ent_config` order (a capture
//! registers its node, entity, interface and interface link at once), the
//! data links, the ancillary links, the media device, then the subdev nodes.
//! With the graph's single id counter this gives exactly the ids of docs/vimc.md: entities
//! 1, 3, 5, 8, 11, 15, 19, 21, 24, 28, 29, data links `0x0200001e..2d`,
//! ancillary links `0x0200002e/2f`, subdev interfaces from `0x03000030`.
//!
//! ## Streaming
//!
//! `STREAMON` on a capture (or its first `read()`) starts the media pipeline
//! from the capture's pad (every enabled link validated: out of the box the
//! sensors' RGB888 does not match the debayers' SRGGB8, so nothing streams,
//! `EPIPE`, as in Linux), resolves the chain sensor → (debayer → scaler) →
//! capture, and arms the streamer timer. Each period the streamer renders a
//! frame ([`pattern`]) into the next queued buffer and latches it in the
//! simulated frame engine ([`hw`]), whose interrupt completes the buffer with
//! its sequence number. Two captures in one connected component cannot
//! stream at once (`EINVAL`/`EBUSY` from pipeline start, as in Linux).
//! Differences from the kernel: `read()` is served and advertised
//! (`V4L2_CAP_READWRITE`), and vimc has a tiny simulated register block and
//! interrupt so hardware rules apply to it. The sensor, debayer and lens
//! subdevs have the kernel's controls ([`controls`]); their nodes serve the
//! control ioctls and control events.
//!
//! ## Lifetime (framework style)
//!
//! The device state is released on its last reference (the binding, every
//! entity's driver data, the IRQ handler): after the last open file, mapping
//! and subdev handle are gone. The media device is refcounted and held by
//! every entity and open media file. At unbind the model unplugs every node
//! (new calls fail with ENODEV, or EIO/ENXIO on the media node; sleepers in
//! DQBUF, read and poll wake; calls in flight drain; streams stop while the
//! engine is still there), drains the binding gate, disables the streamer
//! timers, calls `remove` (engine interrupt off, nodes and graph
//! unregistered), frees the IRQ and revokes the registers.
//!
//! ## The legacy twin ([`Style::Legacy`])
//!
//! The pre-fix driver: state from `devm_alloc` (freed at unbind), raw
//! register mapping, a devm IRQ requested before the state (so devm frees
//! the state first), nodes with a `registered` flag checked only at call
//! entry (nothing waits for or wakes calls in flight), a streamer timer that
//! nobody stops at unbind and that `stop_streaming` skips after removal, and
//! the media device freed in `remove` under an open media node. Racing an
//! unbind with userspace makes the checkers fire: use-after-free (close,
//! in-flight ioctls, the streamer, the media ioctl of race R1),
//! hardware-after-remove, interrupt-after-release, and leak.

mod build;
mod capture;
pub mod controls;
mod debayer;
mod driver;
pub mod formats;
mod handle;
pub mod hw;
mod legacy;
pub mod pattern;
mod scaler;
mod sensor;
pub mod setup;
mod state;
mod streamer;
mod subdev;
pub mod topology;

pub use crate::common::Style;
pub use capture::{DEVICE_CAPS, queue_config};
pub use handle::VimcHandle;
pub use state::{StatsSnapshot, VimcStats};

use devlife_media::mc::MediaDevice;
use devlife_media::mc::render::{self, RenderOptions};
use devlife_model::{KResult, Kernel};
use std::time::Duration;
use topology::{CAPTURES, ENTITIES, SUBDEVS, entity_index};

/// The kernel's streamer period: `HZ / 60`.
pub const DEFAULT_FRAME_INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / 60);

/// The driver name of a style (`vimc`, `vimc-legacy`).
pub fn driver_name(style: Style) -> &'static str {
    match style {
        Style::Framework => "vimc",
        Style::Legacy => "vimc-legacy",
    }
}

/// The module name of a style (the driver's name).
pub fn module_name(style: Style) -> &'static str {
    driver_name(style)
}

/// The platform device base name of a style (the device is `<base>.<n>`).
pub fn device_base_name(style: Style) -> &'static str {
    driver_name(style)
}

/// How to register vimc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VimcConfig {
    /// Framework or legacy twin.
    pub style: Style,
    /// The streamer's period ([`DEFAULT_FRAME_INTERVAL`]). Tests use a short
    /// one to get frames quickly, or a very long one to keep queues empty.
    pub frame_interval: Duration,
    /// The platform device's instance number (`vimc.<instance>`).
    pub instance: u32,
}

impl VimcConfig {
    /// The kernel's defaults for `style`.
    pub fn new(style: Style) -> Self {
        Self {
            style,
            frame_interval: DEFAULT_FRAME_INTERVAL,
            instance: 0,
        }
    }

    /// The same with another streamer period.
    pub fn frame_interval(mut self, d: Duration) -> Self {
        self.frame_interval = d;
        self
    }
}

/// `vimc_init` in the kernel's defaults: see [`VimcHandle`].
pub fn register(k: &Kernel, style: Style) -> KResult<VimcHandle> {
    register_with(k, VimcConfig::new(style))
}

/// `vimc_init` with a configuration. `EEXIST` if that style's module is
/// already loaded in `k`.
pub fn register_with(k: &Kernel, cfg: VimcConfig) -> KResult<VimcHandle> {
    VimcHandle::register(k, cfg)
}

/// The device nodes of one binding.
///
/// # Invariants
///
/// `entities` has one path per entity of [`topology::ENTITIES`], in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VimcNodes {
    /// The media node (`/dev/media0`).
    pub media: String,
    /// The node of each entity, in `ent_config` order.
    pub entities: Vec<String>,
}

impl VimcNodes {
    /// The node of the entity named `entity` (`"Sensor A"` → `/dev/v4l-subdev0`).
    pub fn path(&self, entity: &str) -> Option<&str> {
        self.entities.get(entity_index(entity)?).map(String::as_str)
    }

    /// The video nodes of the captures, in order (Raw Capture 0, Raw
    /// Capture 1, RGB/YUV Capture).
    pub fn captures(&self) -> Vec<&str> {
        CAPTURES
            .iter()
            .filter_map(|&i| self.entities.get(i).map(String::as_str))
            .collect()
    }

    /// The subdev nodes, in `v4l-subdevN` order.
    pub fn subdevs(&self) -> Vec<&str> {
        SUBDEVS
            .iter()
            .filter_map(|&i| self.entities.get(i).map(String::as_str))
            .collect()
    }

    /// `(entity name, node)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        ENTITIES
            .iter()
            .zip(self.entities.iter())
            .map(|(e, p)| (e.name, p.as_str()))
    }
}

/// `media-ctl -p` of a media device (the nodes' paths come from the entities).
pub fn topology_text(mdev: &MediaDevice) -> KResult<String> {
    render::media_ctl_print(mdev, &RenderOptions::default())
}

/// `media-ctl --print-dot` of a media device.
pub fn topology_dot(mdev: &MediaDevice) -> KResult<String> {
    render::media_ctl_dot(mdev, &RenderOptions::default())
}
