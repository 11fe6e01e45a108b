//! `media-ctl -p` and `media-ctl --print-dot`, byte for byte.
//!
//! The renderer does what media-ctl does (v4l-utils `media-ctl.c`,
//! `libmediactl.c`, `libv4l2subdev.c`; spec §1.6, §1.7): it enumerates the
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
//! | format line | `[fmt:SRGGB8_1X8/640x480 ...]` | `[stream:0 fmt:...]` | same as 1.26 |

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
    /// Link flags.
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

fn ioctl<T: Wire>(mdev: &MediaDevice, cmd: u32, v: &mut T, mm: &dyn UserMemory) -> KResult<()> {
    let mut b = v.to_vec();
    media_ioctl(mdev, cmd, &mut b, mm)?;
    *v = T::decode(&b);
    Ok(())
}

/// Enumerates `mdev` the way `media_device_enumerate` does, through the ioctls.
pub fn enumerate(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<Topology> {
    let mm = AddressSpace::new();
    let mut info = MediaDeviceInfo::ZERO;
    ioctl(mdev, MEDIA_IOC_DEVICE_INFO, &mut info, &mm)?;

    let mut entities: Vec<CtlEntity> = Vec::new();
    let mut id = 0u32;
    loop {
        let mut d = MediaEntityDesc::ZERO;
        d.id = id | MEDIA_ENT_ID_FLAG_NEXT;
        match ioctl(mdev, MEDIA_IOC_ENUM_ENTITIES, &mut d, &mm) {
            Ok(()) => {}
            Err(Errno::EINVAL) => break,
            Err(e) => return Err(e),
        }
        id = d.id;
        let devname = devname_of(mdev, &d, opts);
        entities.push(CtlEntity {
            info: d,
            pad_flags: Vec::new(),
            links: Vec::new(),
            devname,
            pads: Vec::new(),
        });
    }

    for i in 0..entities.len() {
        let d = entities[i].info;
        let pads = mm.map(usize::from(d.pads) * MediaPadDesc::SIZE);
        let links = mm.map(usize::from(d.links) * MediaLinkDesc::SIZE);
        let mut le = MediaLinksEnum {
            entity: d.id,
            pads,
            links,
            reserved: [0; 4],
        };
        ioctl(mdev, MEDIA_IOC_ENUM_LINKS, &mut le, &mm)?;
        for p in 0..usize::from(d.pads) {
            let b = mm
                .read_back(pads + (p * MediaPadDesc::SIZE) as u64, MediaPadDesc::SIZE)
                .map_err(|_| Errno::EFAULT)?;
            entities[i].pad_flags.push(MediaPadDesc::decode(&b).flags);
        }
        for l in 0..usize::from(d.links) {
            let b = mm
                .read_back(
                    links + (l * MediaLinkDesc::SIZE) as u64,
                    MediaLinkDesc::SIZE,
                )
                .map_err(|_| Errno::EFAULT)?;
            let ld = MediaLinkDesc::decode(&b);
            let by_id = |id: u32| entities.iter().position(|e| e.info.id == id);
            let (Some(s), Some(k)) = (by_id(ld.source.entity), by_id(ld.sink.entity)) else {
                return Err(Errno::EINVAL);
            };
            let link = CtlLink {
                source_entity: s,
                source_pad: ld.source.index,
                sink_entity: k,
                sink_pad: ld.sink.index,
                flags: ld.flags,
            };
            entities[s].links.push(link);
            entities[k].links.push(link);
        }
        mm.unmap(pads);
        mm.unmap(links);
    }

    // Subdev pad information, through the entity (media-ctl opens the node).
    let handles: Vec<_> = {
        let g = mdev.graph();
        entities
            .iter()
            .map(|e| g.entity_handle(e.info.id))
            .collect()
    };
    for (e, h) in entities.iter_mut().zip(handles) {
        if e.entity_type() != MEDIA_ENT_T_V4L2_SUBDEV || e.devname.is_none() {
            continue;
        }
        let Some(h) = h else { continue };
        e.pads = (0..u32::from(e.info.pads))
            .map(|p| h.ops().pad_info(p))
            .collect();
    }
    Ok(Topology { info, entities })
}

fn devname_of(mdev: &MediaDevice, d: &MediaEntityDesc, opts: &RenderOptions<'_>) -> Option<String> {
    let ty = d.type_ & MEDIA_ENT_TYPE_MASK;
    if ty != MEDIA_ENT_T_DEVNODE && ty != MEDIA_ENT_T_V4L2_SUBDEV {
        return None;
    }
    let (major, minor) = d.dev();
    if major == 0 && minor == 0 {
        return None;
    }
    match opts.devname {
        Some(f) => f(major, minor),
        None => {
            let h = mdev.graph().entity_handle(d.id)?;
            h.ops().devnode_path()
        }
    }
}

fn version(v: u32) -> String {
    format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
}

fn print_flags(out: &mut String, names: &[(u32, &str)], mut flags: u32) {
    let mut first = true;
    for &(bit, name) in names {
        if flags & bit == 0 {
            continue;
        }
        if !first {
            out.push(',');
        }
        out.push_str(name);
        flags &= !bit;
        first = false;
    }
    if flags != 0 {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "0x{flags:x}");
    }
}

const LINK_FLAGS: [(u32, &str); 3] = [
    (MEDIA_LNK_FL_ENABLED, "ENABLED"),
    (MEDIA_LNK_FL_IMMUTABLE, "IMMUTABLE"),
    (MEDIA_LNK_FL_DYNAMIC, "DYNAMIC"),
];

const PAD_FLAGS: [(u32, &str); 3] = [
    (MEDIA_PAD_FL_SINK, "SINK"),
    (MEDIA_PAD_FL_SOURCE, "SOURCE"),
    (MEDIA_PAD_FL_MUST_CONNECT, "MUST_CONNECT"),
];

/// `media_entity_type_to_string`.
pub fn entity_type_name(ty: u32) -> &'static str {
    match ty & MEDIA_ENT_TYPE_MASK {
        MEDIA_ENT_T_DEVNODE => "Node",
        MEDIA_ENT_T_V4L2_SUBDEV => "V4L2 subdev",
        _ => "Unknown",
    }
}

/// `media_entity_subtype_to_string`.
pub fn entity_subtype_name(ty: u32) -> &'static str {
    const NODE: [&str; 5] = ["Unknown", "V4L", "FB", "ALSA", "DVB"];
    const SUBDEV: [&str; 6] = ["Unknown", "Sensor", "Flash", "Lens", "Decoder", "Tuner"];
    let sub = (ty & MEDIA_ENT_SUBTYPE_MASK) as usize;
    match ty & MEDIA_ENT_TYPE_MASK {
        MEDIA_ENT_T_DEVNODE => NODE.get(sub).copied().unwrap_or(NODE[0]),
        MEDIA_ENT_T_V4L2_SUBDEV => SUBDEV.get(sub).copied().unwrap_or(SUBDEV[0]),
        _ => NODE[0],
    }
}

/// `v4l2_subdev_pixelcode_to_string` (the `MEDIA_BUS_FMT_` name without the prefix).
pub fn mbus_code_name(code: u32) -> &'static str {
    const NAMES: &[(u32, &str)] = &[
        (0x0001, "FIXED"),
        (0x1009, "RGB666_1X18"),
        (0x100a, "RGB888_1X24"),
        (0x100b, "RGB888_2X12_BE"),
        (0x100c, "RGB888_2X12_LE"),
        (0x100d, "ARGB8888_1X32"),
        (0x100e, "RBG888_1X24"),
        (0x100f, "RGB888_1X32_PADHI"),
        (0x1011, "RGB888_1X7X4_SPWG"),
        (0x1012, "RGB888_1X7X4_JEIDA"),
        (0x1013, "BGR888_1X24"),
        (0x1014, "GBR888_1X24"),
        (0x1017, "RGB565_1X16"),
        (0x101b, "BGR888_3X8"),
        (0x101c, "RGB888_3X8"),
        (0x2001, "Y8_1X8"),
        (0x2006, "UYVY8_2X8"),
        (0x2007, "VYUY8_2X8"),
        (0x2008, "YUYV8_2X8"),
        (0x2009, "YVYU8_2X8"),
        (0x200a, "Y10_1X10"),
        (0x200f, "UYVY8_1X16"),
        (0x2011, "YUYV8_1X16"),
        (0x2013, "Y12_1X12"),
        (0x3001, "SBGGR8_1X8"),
        (0x3002, "SGRBG8_1X8"),
        (0x3007, "SBGGR10_1X10"),
        (0x3008, "SBGGR12_1X12"),
        (0x300a, "SGRBG10_1X10"),
        (0x300e, "SGBRG10_1X10"),
        (0x300f, "SRGGB10_1X10"),
        (0x3010, "SGBRG12_1X12"),
        (0x3011, "SGRBG12_1X12"),
        (0x3012, "SRGGB12_1X12"),
        (0x3013, "SGBRG8_1X8"),
        (0x3014, "SRGGB8_1X8"),
    ];
    NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("unknown", |(_, n)| n)
}

fn lookup(table: &[&'static str], v: u32) -> &'static str {
    match table.get(v as usize) {
        Some(s) if !s.is_empty() => s,
        _ => "unknown",
    }
}

/// `v4l2_subdev_field_to_string`.
pub fn field_name(v: u32) -> &'static str {
    lookup(
        &[
            "any",
            "none",
            "top",
            "bottom",
            "interlaced",
            "seq-tb",
            "seq-bt",
            "alternate",
            "interlaced-tb",
            "interlaced-bt",
        ],
        v,
    )
}

/// `v4l2_subdev_colorspace_to_string`.
pub fn colorspace_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "smpte170m",
            "smpte240m",
            "rec709",
            "",
            "470m",
            "470bg",
            "jpeg",
            "srgb",
            "oprgb",
            "bt2020",
            "raw",
            "dcip3",
        ],
        v,
    )
}

/// `v4l2_subdev_xfer_func_to_string`.
pub fn xfer_func_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "709",
            "srgb",
            "oprgb",
            "smpte240m",
            "none",
            "dcip3",
            "smpte2084",
        ],
        v,
    )
}

/// `v4l2_subdev_ycbcr_encoding_to_string`.
pub fn ycbcr_enc_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "601",
            "709",
            "xv601",
            "xv709",
            "",
            "bt2020",
            "bt2020c",
            "smpte240m",
        ],
        v,
    )
}

/// `v4l2_subdev_quantization_to_string`.
pub fn quantization_name(v: u32) -> &'static str {
    lookup(&["default", "full-range", "lim-range"], v)
}

fn print_rect(out: &mut String, what: &str, r: Option<Rect>) {
    if let Some(r) = r {
        let _ = write!(
            out,
            "\n\t\t {what}:({},{})/{}x{}",
            r.left, r.top, r.width, r.height
        );
    }
}

/// `media_pad_type_to_string` of media-ctl 1.22–1.26: the first of Sink,
/// Source that the flags have.
fn pad_type_name(flags: u32) -> &'static str {
    if flags & MEDIA_PAD_FL_SINK != 0 {
        "Sink"
    } else if flags & MEDIA_PAD_FL_SOURCE != 0 {
        "Source"
    } else {
        "Unknown"
    }
}

/// `v4l2_subdev_print_format` (for stream 0 since 1.26).
fn print_format(out: &mut String, p: &PadInfo, format: MediaCtlFormat) {
    let Some(f): Option<PadFormat> = p.format else {
        return;
    };
    let stream = if format.route_counts() {
        "stream:0 "
    } else {
        ""
    };
    let _ = write!(
        out,
        "\t\t[{stream}fmt:{}/{}x{}",
        mbus_code_name(f.code),
        f.width,
        f.height
    );
    if let Some((n, d)) = p.interval
        && (n != 0 || d != 0)
    {
        let _ = write!(out, "@{n}/{d}");
    }
    if f.field != 0 {
        let _ = write!(out, " field:{}", field_name(f.field));
    }
    if f.colorspace != 0 {
        let _ = write!(out, " colorspace:{}", colorspace_name(f.colorspace));
        if f.xfer_func != 0 {
            let _ = write!(out, " xfer:{}", xfer_func_name(f.xfer_func));
        }
        if f.ycbcr_enc != 0 {
            let _ = write!(out, " ycbcr:{}", ycbcr_enc_name(f.ycbcr_enc));
        }
        if f.quantization != 0 {
            let _ = write!(out, " quantization:{}", quantization_name(f.quantization));
        }
    }
    print_rect(out, "crop.bounds", p.crop_bounds);
    print_rect(out, "crop", p.crop);
    print_rect(out, "compose.bounds", p.compose_bounds);
    print_rect(out, "compose", p.compose);
    out.push_str("]\n");
}

impl Topology {
    /// `media-ctl -p` of the current release: the header and
    /// `media_print_topology_text`.
    pub fn print_text(&self) -> String {
        self.print_text_as(MediaCtlFormat::Current)
    }

    /// `media-ctl -p` as the release of `format` prints it.
    pub fn print_text_as(&self, format: MediaCtlFormat) -> String {
        let mut out = String::new();
        let i = &self.info;
        let _ = write!(
            out,
            "Media controller API version {}\n\n",
            version(i.media_version)
        );
        let _ = write!(
            out,
            "Media device information\n\
             ------------------------\n\
             driver          {}\n\
             model           {}\n\
             serial          {}\n\
             bus info        {}\n\
             hw revision     0x{:x}\n\
             driver version  {}\n\n",
            get_str(&i.driver),
            get_str(&i.model),
            get_str(&i.serial),
            get_str(&i.bus_info),
            i.hw_revision,
            version(i.driver_version)
        );
        out.push_str("Device topology\n");
        for idx in 0..self.entities.len() {
            self.print_entity(&mut out, idx, format);
        }
        out
    }

    fn print_entity(&self, out: &mut String, idx: usize, format: MediaCtlFormat) {
        let e = &self.entities[idx];
        let subdev = e.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV;
        let head = format!("- entity {}: ", e.info.id);
        let padding = head.len();
        out.push_str(&head);
        let pads = u32::from(e.info.pads);
        let nl = e.links.len();
        let _ = write!(
            out,
            "{} ({} pad{}, {} link{}",
            e.name(),
            pads,
            if pads > 1 { "s" } else { "" },
            nl,
            if nl > 1 { "s" } else { "" }
        );
        if subdev && format.route_counts() {
            out.push_str(", 0 routes");
        }
        out.push_str(")\n");
        let _ = writeln!(
            out,
            "{:padding$}type {} subtype {} flags {:x}",
            "",
            entity_type_name(e.info.type_),
            entity_subtype_name(e.info.type_),
            e.info.flags
        );
        if let Some(d) = &e.devname {
            let _ = writeln!(out, "{:padding$}device node name {d}", "");
        }
        for j in 0..pads {
            let _ = write!(out, "\tpad{j}: ");
            let flags = e.pad_flags.get(j as usize).copied().unwrap_or(0);
            if format.pad_flag_list() {
                print_flags(out, &PAD_FLAGS, flags);
            } else {
                out.push_str(pad_type_name(flags));
            }
            out.push('\n');
            if subdev && let Some(Some(p)) = e.pads.get(j as usize) {
                print_format(out, p, format);
            }
            for l in &e.links {
                let (arrow, other, opad) = if l.source_entity == idx && u32::from(l.source_pad) == j
                {
                    ("->", l.sink_entity, l.sink_pad)
                } else if l.sink_entity == idx && u32::from(l.sink_pad) == j {
                    ("<-", l.source_entity, l.source_pad)
                } else {
                    continue;
                };
                let _ = write!(
                    out,
                    "\t\t{arrow} \"{}\":{} [",
                    self.entities[other].name(),
                    opad
                );
                print_flags(out, &LINK_FLAGS, l.flags);
                out.push_str("]\n");
            }
        }
        out.push('\n');
    }

    /// `media-ctl --print-dot`: `media_print_topology_dot`.
    pub fn print_dot(&self) -> String {
        let mut out = String::from("digraph board {\n\trankdir=TB\n");
        for (idx, e) in self.entities.iter().enumerate() {
            let devname = e.devname.as_deref().unwrap_or("");
            let id = e.info.id;
            match e.entity_type() {
                MEDIA_ENT_T_DEVNODE => {
                    let _ = writeln!(
                        out,
                        "\tn{id:08x} [label=\"{}\\n{devname}\", shape=box, style=filled, fillcolor=yellow]",
                        e.name()
                    );
                }
                MEDIA_ENT_T_V4L2_SUBDEV => {
                    let _ = write!(out, "\tn{id:08x} [label=\"{{{{");
                    let ports = |out: &mut String, flag: u32| {
                        let mut n = 0;
                        for (j, f) in e.pad_flags.iter().enumerate() {
                            if f & flag == 0 {
                                continue;
                            }
                            let _ = write!(out, "{}<port{j}> {j}", if n > 0 { " | " } else { "" });
                            n += 1;
                        }
                    };
                    ports(&mut out, MEDIA_PAD_FL_SINK);
                    let _ = write!(out, "}} | {}\\n{devname} | {{", e.name());
                    ports(&mut out, MEDIA_PAD_FL_SOURCE);
                    out.push_str("}}\", shape=Mrecord, style=filled, fillcolor=green]\n");
                }
                _ => continue,
            }
            for l in e.links.iter().filter(|l| l.source_entity == idx) {
                let src = &self.entities[l.source_entity];
                let snk = &self.entities[l.sink_entity];
                let _ = write!(out, "\tn{:08x}", src.info.id);
                if src.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV {
                    let _ = write!(out, ":port{}", l.source_pad);
                }
                let _ = write!(out, " -> n{:08x}", snk.info.id);
                if snk.entity_type() == MEDIA_ENT_T_V4L2_SUBDEV {
                    let _ = write!(out, ":port{}", l.sink_pad);
                }
                if l.flags & MEDIA_LNK_FL_IMMUTABLE != 0 {
                    out.push_str(" [style=bold]");
                } else if l.flags & MEDIA_LNK_FL_ENABLED == 0 {
                    out.push_str(" [style=dashed]");
                }
                out.push('\n');
            }
        }
        out.push_str("}\n");
        out
    }
}

/// `media-ctl -p` of `mdev`, in the format of `opts.format`.
pub fn media_ctl_print(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<String> {
    Ok(enumerate(mdev, opts)?.print_text_as(opts.format))
}

/// `media-ctl --print-dot` of `mdev`.
pub fn media_ctl_dot(mdev: &MediaDevice, opts: &RenderOptions<'_>) -> KResult<String> {
    Ok(enumerate(mdev, opts)?.print_dot())
}
