//! `media-ctl -p` and `media-ctl --print-dot`, byte for byte.
//!
//! The renderer does what media-ctl does (v4l-utils `media-ctl.c`,
//! `libmediactl.c`, `libv4l2subdev.c`; docs/vimc.md, "media-ctl"): it enumerates the
//! media device **through its ioctls** ([`media_ioctl`]: DEVICE_INFO,
//! ENUM_ENTITIES with `MEDIA_ENT_ID_FLAG_NEXT` until `EINVAL`, ENUM_LINKS per
//! entity with arrays sized from ENUM_ENTITIES), builds media-ctl's per-entity
//! link arrays (each forward link on its source entity plus a twin on its sink
//! entity, in enumeration order), and prints them with media-ctl's format
//! strings. What media-ctl gets from other nodes comes from the entities:
//!
//! * the device node path of an entity with a non-zero `dev` (media-ctl asks
//!   udev or sysfs): [`EntityOps::devnode_path`](super::EntityOps::devnode_path),
//!   or the resolver given in [`RenderOptions`];
//! * the ACTIVE format, frame interval and selections of a subdev pad (media-ctl
//!   opens the subdev node and issues SUBDEV_G_FMT, G_FRAME_INTERVAL and
//!   G_SELECTION): [`EntityOps::pad_info`](super::EntityOps::pad_info). As in
//!   media-ctl, a subdev without a device node prints no format.
//!
//! Routes are never printed (no streams support: "0 routes"), nor DV timings.
//!
//! # Two releases of media-ctl
//!
//! `-p` output changed across v4l-utils releases; [`MediaCtlFormat`] picks one
//! (`--print-dot` is the same in all of them):
//!
//! | | 1.22 / 1.24 (Debian 12) | 1.26 | 1.28 and later (current) |
//! |---|---|---|---|
//! | subdev header | `(1 pad, 2 links)` | `(1 pad, 2 links, 0 routes)` | same as 1.26 |
//! | pad line | `pad0: Source` (first of Sink, Source) | same as 1.22 | `pad0: SOURCE` (every flag: SINK, SOURCE, MUST_CONNECT) |
//!
//! # Where each part lives
//!
//! * this file: the options, what enumeration yields ([`Topology`]), and
//!   the two entry points;
//! * `enumeration.rs`: `media_device_enumerate` through the ioctls;
//! * `names.rs`: media-ctl's names of types, flags and format fields;
//! * `text.rs`: `media-ctl -p`; `dot.rs`: `media-ctl --print-dot`.

mod dot;
mod enumeration;
mod names;
mod text;

pub use enumeration::enumerate;
pub use names::{
    colorspace_name, entity_subtype_name, entity_type_name, field_name, mbus_code_name,
    quantization_name, xfer_func_name, ycbcr_enc_name,
};

use super::device::MediaDevice;
use super::entity::{PadFormat, PadInfo, Rect};
use super::ioctl::media_ioctl;
use crate::uapi::ioctl::{AddressSpace, UserMemory, Wire, get_str};
use crate::uapi::media::*;
use devlife_model::{Errno, KResult};

use std::fmt::Write as _;

/// Resolves `(major, minor)` to a device node path.
pub type DevnameResolver<'a> = &'a dyn Fn(u32, u32) -> Option<String>;

/// Which release of `media-ctl -p` to reproduce (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MediaCtlFormat {
    /// v4l-utils 1.22 and 1.24 (Debian 12 ships 1.22.1): `Sink` / `Source`
    /// pad lines, no route count, `[fmt:` format lines.
    V1_22,
    /// v4l-utils 1.26: route counts and `[stream:0 fmt:` format lines, but
    /// still `Sink` / `Source` pad lines.
    V1_26,
    /// v4l-utils 1.28 and later: route counts, `[stream:0 fmt:`, and pad
    /// lines listing every pad flag (`SINK`, `SOURCE`, `MUST_CONNECT`).
    #[default]
    Current,
}

impl MediaCtlFormat {
    /// The format `media-ctl` of v4l-utils `major.minor` prints.
    pub fn for_version(major: u32, minor: u32) -> Self {
        match (major, minor) {
            (0, _) | (1, 0..=25) => MediaCtlFormat::V1_22,
            (1, 26..=27) => MediaCtlFormat::V1_26,
            _ => MediaCtlFormat::Current,
        }
    }

    /// The format of the `media-ctl --version` output `text`
    /// (`"media-ctl 1.22.1"`), if it names a version.
    pub fn from_version_output(text: &str) -> Option<Self> {
        let v = text.split_whitespace().nth(1)?;
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some(Self::for_version(major, minor))
    }

    fn route_counts(self) -> bool {
        self != MediaCtlFormat::V1_22
    }

    fn pad_flag_list(self) -> bool {
        self == MediaCtlFormat::Current
    }
}

/// Options of the renderer.
#[derive(Default, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Device node resolver; default: ask the entity ([`EntityOps::devnode_path`](super::EntityOps::devnode_path)).
    pub devname: Option<DevnameResolver<'a>>,
    /// The `media-ctl -p` release to reproduce (default: the current one).
    pub format: MediaCtlFormat,
}

impl std::fmt::Debug for RenderOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("devname", &self.devname.is_some())
            .field("format", &self.format)
            .finish()
    }
}

/// One link in media-ctl's per-entity arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtlLink {
    /// Source entity index in [`Topology::entities`].
    pub source_entity: usize,
    /// Source pad index.
    pub source_pad: u16,
    /// Sink entity index.
    pub sink_entity: usize,
    /// Sink pad index.
    pub sink_pad: u16,
    /// The link's `MEDIA_LNK_FL_*` flags.
    pub flags: u32,
}

/// One entity as media-ctl sees it after enumeration.
#[derive(Debug, Clone)]
pub struct CtlEntity {
    /// The ENUM_ENTITIES reply.
    pub info: MediaEntityDesc,
    /// Pad flags from ENUM_LINKS.
    pub pad_flags: Vec<u32>,
    /// Forward links and twins, in enumeration order.
    pub links: Vec<CtlLink>,
    /// The resolved device node path.
    pub devname: Option<String>,
    /// Per-pad subdev information (subdevs with a device node only).
    pub pads: Vec<Option<PadInfo>>,
}

impl CtlEntity {
    /// `info.type & MEDIA_ENT_TYPE_MASK`.
    pub fn entity_type(&self) -> u32 {
        self.info.type_ & MEDIA_ENT_TYPE_MASK
    }

    /// The entity name.
    pub fn name(&self) -> String {
        get_str(&self.info.name)
    }
}

/// What media-ctl knows about a media device after `media_device_enumerate`.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The DEVICE_INFO reply.
    pub info: MediaDeviceInfo,
    /// Entities in enumeration order.
    pub entities: Vec<CtlEntity>,
}

/// `media-ctl -p` of `mdev`, in the format of `opts.format`.
pub fn media_ctl_print(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<String> {
    Ok(enumerate(mdev, opts)?.print_text_as(opts.format))
}

/// `media-ctl --print-dot` of `mdev`.
pub fn media_ctl_dot(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<String> {
    Ok(enumerate(mdev, opts)?.print_dot())
}
