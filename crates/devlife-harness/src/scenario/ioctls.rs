//! The ioctls a scenario can name, with their argument structs described
//! field by field (offsets from devlife-media's `#[repr(C)]` uapi mirrors,
//! via `offset_of!`), symbolic values (`memory=mmap`, `which=active`,
//! `pixelformat=RGB3`), defaults and the decoding of the output.
//!
//! A call is encoded at parse time into the exact `_IOC_SIZE(cmd)` bytes the
//! kernel copies in, so a bad field name or value is a parse error with the
//! line, never a runtime surprise.

use devlife_drivers::usb_av::pcm;
use devlife_media::uapi::ioctl::{IoctlCmd, get_str, put_str};
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::testdrv;
use std::mem::offset_of;

/// How a field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTy {
    /// `__u8`.
    U8,
    /// `__u16`.
    U16,
    /// `__u32`.
    U32,
    /// `__s32`.
    I32,
    /// `__u64`.
    U64,
    /// `char[N]`.
    Str(usize),
    /// A `__u32` fourcc, written as 4 characters (`RGB3`) or a number.
    Fourcc,
}

/// One named field of an ioctl argument.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Name in scenarios (`count`, `format.width`, `source.entity`).
    pub name: &'static str,
    /// Byte offset in the argument.
    pub offset: usize,
    /// Storage.
    pub ty: FieldTy,
    /// Symbolic values accepted (and shown) for this field.
    pub syms: &'static [(&'static str, u64)],
    /// Flag field: values may be combined with `|`.
    pub flags: bool,
}

const fn f(name: &'static str, offset: usize, ty: FieldTy) -> Field {
    Field {
        name,
        offset,
        ty,
        syms: &[],
        flags: false,
    }
}

const fn sym(
    name: &'static str,
    offset: usize,
    ty: FieldTy,
    syms: &'static [(&'static str, u64)],
) -> Field {
    Field {
        name,
        offset,
        ty,
        syms,
        flags: false,
    }
}

const fn flags(
    name: &'static str,
    offset: usize,
    ty: FieldTy,
    syms: &'static [(&'static str, u64)],
) -> Field {
    Field {
        name,
        offset,
        ty,
        syms,
        flags: true,
    }
}

use FieldTy::*;

const BUF_TYPES: &[(&str, u64)] = &[
    ("capture", buf_type::VIDEO_CAPTURE as u64),
    ("video-capture", buf_type::VIDEO_CAPTURE as u64),
    ("output", buf_type::VIDEO_OUTPUT as u64),
    ("video-output", buf_type::VIDEO_OUTPUT as u64),
    ("capture-mplane", buf_type::VIDEO_CAPTURE_MPLANE as u64),
    ("output-mplane", buf_type::VIDEO_OUTPUT_MPLANE as u64),
    ("meta-capture", buf_type::META_CAPTURE as u64),
    ("meta-output", buf_type::META_OUTPUT as u64),
];

const MEMORY: &[(&str, u64)] = &[
    ("mmap", memory::MMAP as u64),
    ("userptr", memory::USERPTR as u64),
    ("overlay", memory::OVERLAY as u64),
    ("dmabuf", memory::DMABUF as u64),
];

const WHICH: &[(&str, u64)] = &[
    ("try", V4L2_SUBDEV_FORMAT_TRY as u64),
    ("active", V4L2_SUBDEV_FORMAT_ACTIVE as u64),
];

const SEL_TARGETS: &[(&str, u64)] = &[
    ("crop", V4L2_SEL_TGT_CROP as u64),
    ("crop-default", V4L2_SEL_TGT_CROP_DEFAULT as u64),
    ("crop-bounds", V4L2_SEL_TGT_CROP_BOUNDS as u64),
    ("native-size", V4L2_SEL_TGT_NATIVE_SIZE as u64),
    ("compose", V4L2_SEL_TGT_COMPOSE as u64),
    ("compose-default", V4L2_SEL_TGT_COMPOSE_DEFAULT as u64),
    ("compose-bounds", V4L2_SEL_TGT_COMPOSE_BOUNDS as u64),
    ("compose-padded", V4L2_SEL_TGT_COMPOSE_PADDED as u64),
];

const LINK_FLAGS: &[(&str, u64)] = &[
    ("enabled", MEDIA_LNK_FL_ENABLED as u64),
    ("immutable", MEDIA_LNK_FL_IMMUTABLE as u64),
    ("dynamic", MEDIA_LNK_FL_DYNAMIC as u64),
];

const BUF_FLAGS: &[(&str, u64)] = &[
    ("mapped", buf_flag::MAPPED as u64),
    ("queued", buf_flag::QUEUED as u64),
    ("done", buf_flag::DONE as u64),
    ("error", buf_flag::ERROR as u64),
    ("last", buf_flag::LAST as u64),
    ("timestamp-monotonic", buf_flag::TIMESTAMP_MONOTONIC as u64),
];

const MBUS_CODES: &[(&str, u64)] = &[
    ("FIXED", MEDIA_BUS_FMT_FIXED as u64),
    ("RGB888_1X24", MEDIA_BUS_FMT_RGB888_1X24 as u64),
    ("SBGGR8_1X8", MEDIA_BUS_FMT_SBGGR8_1X8 as u64),
    ("SGRBG8_1X8", MEDIA_BUS_FMT_SGRBG8_1X8 as u64),
    ("SGBRG8_1X8", MEDIA_BUS_FMT_SGBRG8_1X8 as u64),
    ("SRGGB8_1X8", MEDIA_BUS_FMT_SRGGB8_1X8 as u64),
];

const FIELD_ORDER: &[(&str, u64)] = &[
    ("any", field::ANY as u64),
    ("none", field::NONE as u64),
    ("top", field::TOP as u64),
    ("bottom", field::BOTTOM as u64),
    ("interlaced", field::INTERLACED as u64),
    ("alternate", field::ALTERNATE as u64),
];

// ----- field tables ---------------------------------------------------------

const DEVICE_INFO: &[Field] = &[
    f("driver", offset_of!(MediaDeviceInfo, driver), Str(16)),
    f("model", offset_of!(MediaDeviceInfo, model), Str(32)),
    f("serial", offset_of!(MediaDeviceInfo, serial), Str(40)),
    f("bus_info", offset_of!(MediaDeviceInfo, bus_info), Str(32)),
    f(
        "media_version",
        offset_of!(MediaDeviceInfo, media_version),
        U32,
    ),
    f("hw_revision", offset_of!(MediaDeviceInfo, hw_revision), U32),
    f(
        "driver_version",
        offset_of!(MediaDeviceInfo, driver_version),
        U32,
    ),
];

const ENTITY_DESC: &[Field] = &[
    f("id", offset_of!(MediaEntityDesc, id), U32),
    f("name", offset_of!(MediaEntityDesc, name), Str(32)),
    f("type", offset_of!(MediaEntityDesc, type_), U32),
    f("revision", offset_of!(MediaEntityDesc, revision), U32),
    f("flags", offset_of!(MediaEntityDesc, flags), U32),
    f("group_id", offset_of!(MediaEntityDesc, group_id), U32),
    f("pads", offset_of!(MediaEntityDesc, pads), U16),
    f("links", offset_of!(MediaEntityDesc, links), U16),
    f("dev.major", offset_of!(MediaEntityDesc, raw), U32),
    f("dev.minor", offset_of!(MediaEntityDesc, raw) + 4, U32),
];

const LINKS_ENUM: &[Field] = &[
    f("entity", offset_of!(MediaLinksEnum, entity), U32),
    f("pads", offset_of!(MediaLinksEnum, pads), U64),
    f("links", offset_of!(MediaLinksEnum, links), U64),
];

const LINK_DESC: &[Field] = &[
    f(
        "source.entity",
        offset_of!(MediaLinkDesc, source.entity),
        U32,
    ),
    f("source.index", offset_of!(MediaLinkDesc, source.index), U16),
    f("source.flags", offset_of!(MediaLinkDesc, source.flags), U32),
    f("sink.entity", offset_of!(MediaLinkDesc, sink.entity), U32),
    f("sink.index", offset_of!(MediaLinkDesc, sink.index), U16),
    f("sink.flags", offset_of!(MediaLinkDesc, sink.flags), U32),
    flags("flags", offset_of!(MediaLinkDesc, flags), U32, LINK_FLAGS),
];

const TOPOLOGY: &[Field] = &[
    f(
        "topology_version",
        offset_of!(MediaV2Topology, topology_version),
        U64,
    ),
    f(
        "num_entities",
        offset_of!(MediaV2Topology, num_entities),
        U32,
    ),
    f(
        "ptr_entities",
        offset_of!(MediaV2Topology, ptr_entities),
        U64,
    ),
    f(
        "num_interfaces",
        offset_of!(MediaV2Topology, num_interfaces),
        U32,
    ),
    f(
        "ptr_interfaces",
        offset_of!(MediaV2Topology, ptr_interfaces),
        U64,
    ),
    f("num_pads", offset_of!(MediaV2Topology, num_pads), U32),
    f("ptr_pads", offset_of!(MediaV2Topology, ptr_pads), U64),
    f("num_links", offset_of!(MediaV2Topology, num_links), U32),
    f("ptr_links", offset_of!(MediaV2Topology, ptr_links), U64),
];

const CAPABILITY: &[Field] = &[
    f("driver", offset_of!(V4l2Capability, driver), Str(16)),
    f("card", offset_of!(V4l2Capability, card), Str(32)),
    f("bus_info", offset_of!(V4l2Capability, bus_info), Str(32)),
    f("version", offset_of!(V4l2Capability, version), U32),
    f(
        "capabilities",
        offset_of!(V4l2Capability, capabilities),
        U32,
    ),
    f("device_caps", offset_of!(V4l2Capability, device_caps), U32),
];

const FMTDESC: &[Field] = &[
    f("index", offset_of!(V4l2Fmtdesc, index), U32),
    sym("type", offset_of!(V4l2Fmtdesc, type_), U32, BUF_TYPES),
    f("flags", offset_of!(V4l2Fmtdesc, flags), U32),
    f("description", offset_of!(V4l2Fmtdesc, description), Str(32)),
    f("pixelformat", offset_of!(V4l2Fmtdesc, pixelformat), Fourcc),
    sym(
        "mbus_code",
        offset_of!(V4l2Fmtdesc, mbus_code),
        U32,
        MBUS_CODES,
    ),
];

const PIX: usize = offset_of!(V4l2Format, fmt);

const FORMAT: &[Field] = &[
    sym("type", offset_of!(V4l2Format, type_), U32, BUF_TYPES),
    f("width", PIX + offset_of!(V4l2PixFormat, width), U32),
    f("height", PIX + offset_of!(V4l2PixFormat, height), U32),
    f(
        "pixelformat",
        PIX + offset_of!(V4l2PixFormat, pixelformat),
        Fourcc,
    ),
    sym(
        "field",
        PIX + offset_of!(V4l2PixFormat, field),
        U32,
        FIELD_ORDER,
    ),
    f(
        "bytesperline",
        PIX + offset_of!(V4l2PixFormat, bytesperline),
        U32,
    ),
    f("sizeimage", PIX + offset_of!(V4l2PixFormat, sizeimage), U32),
    f(
        "colorspace",
        PIX + offset_of!(V4l2PixFormat, colorspace),
        U32,
    ),
];

const REQBUFS: &[Field] = &[
    f("count", offset_of!(V4l2Requestbuffers, count), U32),
    sym(
        "type",
        offset_of!(V4l2Requestbuffers, type_),
        U32,
        BUF_TYPES,
    ),
    sym(
        "memory",
        offset_of!(V4l2Requestbuffers, memory),
        U32,
        MEMORY,
    ),
    f(
        "capabilities",
        offset_of!(V4l2Requestbuffers, capabilities),
        U32,
    ),
    f("flags", offset_of!(V4l2Requestbuffers, flags), U8),
];

const BUFFER: &[Field] = &[
    f("index", offset_of!(V4l2Buffer, index), U32),
    sym("type", offset_of!(V4l2Buffer, type_), U32, BUF_TYPES),
    f("bytesused", offset_of!(V4l2Buffer, bytesused), U32),
    flags("flags", offset_of!(V4l2Buffer, flags), U32, BUF_FLAGS),
    sym("field", offset_of!(V4l2Buffer, field), U32, FIELD_ORDER),
    f("sequence", offset_of!(V4l2Buffer, sequence), U32),
    sym("memory", offset_of!(V4l2Buffer, memory), U32, MEMORY),
    f("offset", offset_of!(V4l2Buffer, m), U32),
    f("length", offset_of!(V4l2Buffer, length), U32),
];

const STREAM_TYPE: &[Field] = &[sym("type", 0, I32, BUF_TYPES)];

const SUBDEV_CAP: &[Field] = &[
    f("version", offset_of!(V4l2SubdevCapability, version), U32),
    f(
        "capabilities",
        offset_of!(V4l2SubdevCapability, capabilities),
        U32,
    ),
];

const MBUS_CODE_ENUM: &[Field] = &[
    f("pad", offset_of!(V4l2SubdevMbusCodeEnum, pad), U32),
    f("index", offset_of!(V4l2SubdevMbusCodeEnum, index), U32),
    sym(
        "code",
        offset_of!(V4l2SubdevMbusCodeEnum, code),
        U32,
        MBUS_CODES,
    ),
    sym(
        "which",
        offset_of!(V4l2SubdevMbusCodeEnum, which),
        U32,
        WHICH,
    ),
    f("flags", offset_of!(V4l2SubdevMbusCodeEnum, flags), U32),
    f("stream", offset_of!(V4l2SubdevMbusCodeEnum, stream), U32),
];

const SUBDEV_FORMAT: &[Field] = &[
    sym("which", offset_of!(V4l2SubdevFormat, which), U32, WHICH),
    f("pad", offset_of!(V4l2SubdevFormat, pad), U32),
    f("width", offset_of!(V4l2SubdevFormat, format.width), U32),
    f("height", offset_of!(V4l2SubdevFormat, format.height), U32),
    sym(
        "code",
        offset_of!(V4l2SubdevFormat, format.code),
        U32,
        MBUS_CODES,
    ),
    sym(
        "field",
        offset_of!(V4l2SubdevFormat, format.field),
        U32,
        FIELD_ORDER,
    ),
    f(
        "colorspace",
        offset_of!(V4l2SubdevFormat, format.colorspace),
        U32,
    ),
    f("stream", offset_of!(V4l2SubdevFormat, stream), U32),
];

const SUBDEV_SELECTION: &[Field] = &[
    sym("which", offset_of!(V4l2SubdevSelection, which), U32, WHICH),
    f("pad", offset_of!(V4l2SubdevSelection, pad), U32),
    sym(
        "target",
        offset_of!(V4l2SubdevSelection, target),
        U32,
        SEL_TARGETS,
    ),
    f("flags", offset_of!(V4l2SubdevSelection, flags), U32),
    f("left", offset_of!(V4l2SubdevSelection, r.left), I32),
    f("top", offset_of!(V4l2SubdevSelection, r.top), I32),
    f("width", offset_of!(V4l2SubdevSelection, r.width), U32),
    f("height", offset_of!(V4l2SubdevSelection, r.height), U32),
    f("stream", offset_of!(V4l2SubdevSelection, stream), U32),
];

const FRAME_SIZE_ENUM: &[Field] = &[
    f("index", offset_of!(V4l2SubdevFrameSizeEnum, index), U32),
    f("pad", offset_of!(V4l2SubdevFrameSizeEnum, pad), U32),
    sym(
        "code",
        offset_of!(V4l2SubdevFrameSizeEnum, code),
        U32,
        MBUS_CODES,
    ),
    f(
        "min_width",
        offset_of!(V4l2SubdevFrameSizeEnum, min_width),
        U32,
    ),
    f(
        "max_width",
        offset_of!(V4l2SubdevFrameSizeEnum, max_width),
        U32,
    ),
    f(
        "min_height",
        offset_of!(V4l2SubdevFrameSizeEnum, min_height),
        U32,
    ),
    f(
        "max_height",
        offset_of!(V4l2SubdevFrameSizeEnum, max_height),
        U32,
    ),
    sym(
        "which",
        offset_of!(V4l2SubdevFrameSizeEnum, which),
        U32,
        WHICH,
    ),
    f("stream", offset_of!(V4l2SubdevFrameSizeEnum, stream), U32),
];

const CLIENT_CAP: &[Field] = &[f(
    "capabilities",
    offset_of!(V4l2SubdevClientCapability, capabilities),
    U64,
)];

const ROUTING: &[Field] = &[
    sym("which", offset_of!(V4l2SubdevRouting, which), U32, WHICH),
    f("len_routes", offset_of!(V4l2SubdevRouting, len_routes), U32),
    f("routes", offset_of!(V4l2SubdevRouting, routes), U64),
    f("num_routes", offset_of!(V4l2SubdevRouting, num_routes), U32),
];

const PCM_STATES: &[(&str, u64)] = &[
    ("open", pcm::state::OPEN as u64),
    ("setup", pcm::state::SETUP as u64),
    ("prepared", pcm::state::PREPARED as u64),
    ("running", pcm::state::RUNNING as u64),
    ("disconnected", pcm::state::DISCONNECTED as u64),
];

const PCM_FORMATS: &[(&str, u64)] = &[("S16_LE", pcm::FORMAT_S16_LE as u64)];

const PCM_HW_PARAMS: &[Field] = &[
    f("rate", 0, U32),
    f("channels", 4, U32),
    sym("format", 8, U32, PCM_FORMATS),
    f("period_bytes", 12, U32),
];

const PCM_STATUS: &[Field] = &[
    sym("state", 0, U32, PCM_STATES),
    f("rate", 4, U32),
    f("channels", 8, U32),
    sym("format", 12, U32, PCM_FORMATS),
    f("frames", 16, U64),
    f("avail", 24, U32),
];

const TESTDRV_COUNT: &[Field] = &[f("count", 0, U32)];
const TESTDRV_HWOP: &[Field] = &[f("count", 0, U32), f("value", 0, U32)];
const TESTDRV_STATS: &[Field] = &[f("opens", 0, U64), f("produced", 8, U64)];

// ----- the catalogue --------------------------------------------------------

/// One ioctl a scenario can name.
#[derive(Debug, Clone, Copy)]
pub struct IoctlSpec {
    /// Kernel name (`VIDIOC_DQBUF`).
    pub name: &'static str,
    /// Command number.
    pub cmd: u32,
    /// Argument size in bytes.
    pub size: usize,
    /// Named fields.
    pub fields: &'static [Field],
    /// Values set before the scenario's own (`type=capture`, `memory=mmap`, `which=active`).
    pub defaults: &'static [(&'static str, u64)],
}

const CAPTURE: (&str, u64) = ("type", buf_type::VIDEO_CAPTURE as u64);
const MMAP: (&str, u64) = ("memory", memory::MMAP as u64);
const ACTIVE: (&str, u64) = ("which", V4L2_SUBDEV_FORMAT_ACTIVE as u64);

const fn spec(
    name: &'static str,
    cmd: u32,
    fields: &'static [Field],
    defaults: &'static [(&'static str, u64)],
) -> IoctlSpec {
    IoctlSpec {
        name,
        cmd,
        size: IoctlCmd(cmd).size(),
        fields,
        defaults,
    }
}

/// Every ioctl a scenario can name.
pub const CATALOGUE: &[IoctlSpec] = &[
    // media.h
    spec(
        "MEDIA_IOC_DEVICE_INFO",
        MEDIA_IOC_DEVICE_INFO,
        DEVICE_INFO,
        &[],
    ),
    spec(
        "MEDIA_IOC_ENUM_ENTITIES",
        MEDIA_IOC_ENUM_ENTITIES,
        ENTITY_DESC,
        &[],
    ),
    spec(
        "MEDIA_IOC_ENUM_LINKS",
        MEDIA_IOC_ENUM_LINKS,
        LINKS_ENUM,
        &[],
    ),
    spec("MEDIA_IOC_SETUP_LINK", MEDIA_IOC_SETUP_LINK, LINK_DESC, &[]),
    spec("MEDIA_IOC_G_TOPOLOGY", MEDIA_IOC_G_TOPOLOGY, TOPOLOGY, &[]),
    spec(
        "MEDIA_IOC_REQUEST_ALLOC",
        MEDIA_IOC_REQUEST_ALLOC,
        &[f("fd", 0, I32)],
        &[],
    ),
    // videodev2.h
    spec("VIDIOC_QUERYCAP", VIDIOC_QUERYCAP, CAPABILITY, &[]),
    spec("VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT, FMTDESC, &[CAPTURE]),
    spec("VIDIOC_G_FMT", VIDIOC_G_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_S_FMT", VIDIOC_S_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_TRY_FMT", VIDIOC_TRY_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_REQBUFS", VIDIOC_REQBUFS, REQBUFS, &[CAPTURE, MMAP]),
    spec("VIDIOC_QUERYBUF", VIDIOC_QUERYBUF, BUFFER, &[CAPTURE, MMAP]),
    spec("VIDIOC_QBUF", VIDIOC_QBUF, BUFFER, &[CAPTURE, MMAP]),
    spec("VIDIOC_DQBUF", VIDIOC_DQBUF, BUFFER, &[CAPTURE, MMAP]),
    spec(
        "VIDIOC_PREPARE_BUF",
        VIDIOC_PREPARE_BUF,
        BUFFER,
        &[CAPTURE, MMAP],
    ),
    spec("VIDIOC_STREAMON", VIDIOC_STREAMON, STREAM_TYPE, &[CAPTURE]),
    spec(
        "VIDIOC_STREAMOFF",
        VIDIOC_STREAMOFF,
        STREAM_TYPE,
        &[CAPTURE],
    ),
    spec("VIDIOC_EXPBUF", VIDIOC_EXPBUF, &[], &[]),
    spec("VIDIOC_CREATE_BUFS", VIDIOC_CREATE_BUFS, &[], &[]),
    spec("VIDIOC_G_PARM", VIDIOC_G_PARM, &[], &[]),
    spec("VIDIOC_S_PARM", VIDIOC_S_PARM, &[], &[]),
    spec("VIDIOC_G_CTRL", VIDIOC_G_CTRL, &[], &[]),
    spec("VIDIOC_S_CTRL", VIDIOC_S_CTRL, &[], &[]),
    spec("VIDIOC_DQEVENT", VIDIOC_DQEVENT, &[], &[]),
    spec("VIDIOC_SUBSCRIBE_EVENT", VIDIOC_SUBSCRIBE_EVENT, &[], &[]),
    spec("VIDIOC_LOG_STATUS", VIDIOC_LOG_STATUS, &[], &[]),
    // v4l2-subdev.h
    spec(
        "VIDIOC_SUBDEV_QUERYCAP",
        VIDIOC_SUBDEV_QUERYCAP,
        SUBDEV_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_ENUM_MBUS_CODE",
        VIDIOC_SUBDEV_ENUM_MBUS_CODE,
        MBUS_CODE_ENUM,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_FMT",
        VIDIOC_SUBDEV_G_FMT,
        SUBDEV_FORMAT,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_FMT",
        VIDIOC_SUBDEV_S_FMT,
        SUBDEV_FORMAT,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_SELECTION",
        VIDIOC_SUBDEV_G_SELECTION,
        SUBDEV_SELECTION,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_SELECTION",
        VIDIOC_SUBDEV_S_SELECTION,
        SUBDEV_SELECTION,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_ENUM_FRAME_SIZE",
        VIDIOC_SUBDEV_ENUM_FRAME_SIZE,
        FRAME_SIZE_ENUM,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_CLIENT_CAP",
        VIDIOC_SUBDEV_G_CLIENT_CAP,
        CLIENT_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_S_CLIENT_CAP",
        VIDIOC_SUBDEV_S_CLIENT_CAP,
        CLIENT_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_G_ROUTING",
        VIDIOC_SUBDEV_G_ROUTING,
        ROUTING,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_ROUTING",
        VIDIOC_SUBDEV_S_ROUTING,
        ROUTING,
        &[ACTIVE],
    ),
    // usb-av's PCM capture node (ALSA numbers, devlife's small structs)
    spec(
        "SNDRV_PCM_IOCTL_PVERSION",
        pcm::PCM_IOCTL_PVERSION,
        &[f("version", 0, U32)],
        &[],
    ),
    spec(
        "SNDRV_PCM_IOCTL_HW_PARAMS",
        pcm::PCM_IOCTL_HW_PARAMS,
        PCM_HW_PARAMS,
        &[
            ("rate", pcm::PcmHwParams::DEFAULT.rate as u64),
            ("channels", pcm::PcmHwParams::DEFAULT.channels as u64),
            ("format", pcm::PcmHwParams::DEFAULT.format as u64),
            (
                "period_bytes",
                pcm::PcmHwParams::DEFAULT.period_bytes as u64,
            ),
        ],
    ),
    spec("SNDRV_PCM_IOCTL_HW_FREE", pcm::PCM_IOCTL_HW_FREE, &[], &[]),
    spec(
        "SNDRV_PCM_IOCTL_STATUS",
        pcm::PCM_IOCTL_STATUS,
        PCM_STATUS,
        &[],
    ),
    spec("SNDRV_PCM_IOCTL_PREPARE", pcm::PCM_IOCTL_PREPARE, &[], &[]),
    spec("SNDRV_PCM_IOCTL_START", pcm::PCM_IOCTL_START, &[], &[]),
    spec("SNDRV_PCM_IOCTL_DROP", pcm::PCM_IOCTL_DROP, &[], &[]),
    // devlife-model's testdrv (argument sizes are the driver's, not _IOC_SIZE)
    IoctlSpec {
        name: "TESTDRV_PING",
        cmd: testdrv::IOC_PING,
        size: 0,
        fields: &[],
        defaults: &[],
    },
    IoctlSpec {
        name: "TESTDRV_HWOP",
        cmd: testdrv::IOC_HWOP,
        size: 4,
        fields: TESTDRV_HWOP,
        defaults: &[("count", 1)],
    },
    IoctlSpec {
        name: "TESTDRV_TRIGGER",
        cmd: testdrv::IOC_TRIGGER,
        size: 0,
        fields: &[],
        defaults: &[],
    },
    IoctlSpec {
        name: "TESTDRV_WAIT",
        cmd: testdrv::IOC_WAIT,
        size: 4,
        fields: TESTDRV_COUNT,
        defaults: &[("count", 1)],
    },
    IoctlSpec {
        name: "TESTDRV_STATS",
        cmd: testdrv::IOC_STATS,
        size: 16,
        fields: TESTDRV_STATS,
        defaults: &[],
    },
];

/// Looks an ioctl up by name.
pub fn lookup(name: &str) -> Option<&'static IoctlSpec> {
    CATALOGUE.iter().find(|s| s.name == name)
}

/// An encoded ioctl call.
///
/// # Invariants
///
/// `arg.len()` is the size the command's handler expects (`_IOC_SIZE(cmd)`
/// for the uapi ioctls).
#[derive(Debug, Clone)]
pub struct IoctlCall {
    /// Name (`VIDIOC_REQBUFS`, or the number in hex for a raw command).
    pub name: String,
    /// Command number.
    pub cmd: u32,
    /// The argument bytes.
    pub arg: Vec<u8>,
    /// The catalogue entry (`None` for a raw command).
    pub spec: Option<&'static IoctlSpec>,
}

/// Why a field assignment or comparison is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No such field.
    #[error("{ioctl} has no field `{field}` (fields: {known})")]
    Unknown {
        /// Ioctl name.
        ioctl: String,
        /// Field name.
        field: String,
        /// The fields it has.
        known: String,
    },
    /// The value does not fit or is not a known symbol.
    #[error("bad value `{value}` for field `{field}`: {why}")]
    BadValue {
        /// Field name.
        field: String,
        /// Value text.
        value: String,
        /// Explanation.
        why: String,
    },
}

fn field<'a>(spec: &'a IoctlSpec, name: &str) -> Result<&'a Field, FieldError> {
    spec.fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| FieldError::Unknown {
            ioctl: spec.name.to_owned(),
            field: name.to_owned(),
            known: if spec.fields.is_empty() {
                "none".to_owned()
            } else {
                spec.fields
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// Parses an integer: decimal, `0x` hex, or negative decimal.
pub fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(&h.replace('_', ""), 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
        body.replace('_', "").parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn bad(fl: &Field, value: &str, why: impl Into<String>) -> FieldError {
    FieldError::BadValue {
        field: fl.name.to_owned(),
        value: value.to_owned(),
        why: why.into(),
    }
}

/// The integer value of `text` for field `fl` (number, symbol, `a|b` for
/// flag fields, 4-character fourcc).
fn value_of(fl: &Field, text: &str) -> Result<u64, FieldError> {
    if fl.flags && text.contains('|') {
        let mut acc = 0u64;
        for part in text.split('|') {
            acc |= value_of(
                &Field {
                    flags: false,
                    ..*fl
                },
                part,
            )?;
        }
        return Ok(acc);
    }
    if let Some((_, v)) = fl.syms.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
        return Ok(*v);
    }
    if fl.ty == Fourcc && text.len() == 4 && text.is_ascii() && parse_int(text).is_none() {
        let b = text.as_bytes();
        return Ok(u64::from(fourcc(b[0], b[1], b[2], b[3])));
    }
    let n = parse_int(text).ok_or_else(|| {
        let mut why = "not a number".to_owned();
        if !fl.syms.is_empty() {
            why.push_str(" or one of ");
            why.push_str(
                &fl.syms
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if fl.ty == Fourcc {
            why.push_str(" or a 4-character fourcc");
        }
        bad(fl, text, why)
    })?;
    let (min, max): (i128, i128) = match fl.ty {
        U8 => (0, u8::MAX.into()),
        U16 => (0, u16::MAX.into()),
        U32 | Fourcc => (i128::from(i32::MIN), u32::MAX.into()),
        I32 => (i32::MIN.into(), u32::MAX.into()),
        U64 => (i128::from(i64::MIN), u64::MAX.into()),
        Str(_) => return Err(bad(fl, text, "a string field")),
    };
    if n < min || n > max {
        return Err(bad(fl, text, format!("out of range for {:?}", fl.ty)));
    }
    // Two's complement for negative values of unsigned fields.
    Ok((n as i64) as u64 & mask(fl.ty))
}

fn mask(ty: FieldTy) -> u64 {
    match ty {
        U8 => 0xff,
        U16 => 0xffff,
        U32 | I32 | Fourcc => 0xffff_ffff,
        U64 => u64::MAX,
        Str(_) => 0,
    }
}

fn width(ty: FieldTy) -> usize {
    match ty {
        U8 => 1,
        U16 => 2,
        U32 | I32 | Fourcc => 4,
        U64 => 8,
        Str(n) => n,
    }
}

fn store(fl: &Field, arg: &mut [u8], v: u64) {
    let w = width(fl.ty);
    if let Some(dst) = arg.get_mut(fl.offset..fl.offset + w) {
        dst.copy_from_slice(&v.to_le_bytes()[..w]);
    }
}

fn load(fl: &Field, arg: &[u8]) -> u64 {
    let w = width(fl.ty);
    let mut b = [0u8; 8];
    if let Some(src) = arg.get(fl.offset..fl.offset + w) {
        b[..w].copy_from_slice(src);
    }
    u64::from_le_bytes(b)
}

fn set(spec: &IoctlSpec, arg: &mut [u8], name: &str, text: &str) -> Result<(), FieldError> {
    let fl = field(spec, name)?;
    if let Str(n) = fl.ty {
        if text.len() >= n {
            return Err(bad(fl, text, format!("longer than {} bytes", n - 1)));
        }
        if let Some(dst) = arg.get_mut(fl.offset..fl.offset + n) {
            put_str(dst, text);
        }
        return Ok(());
    }
    let v = value_of(fl, text)?;
    store(fl, arg, v);
    Ok(())
}

impl IoctlCall {
    /// Encodes `name` with `sets` (`field`, `value`) applied over the
    /// catalogue defaults. A `name` that is a number (`0x7401`) is a raw
    /// command with a zeroed argument of `_IOC_SIZE` bytes and no fields.
    pub fn encode(name: &str, sets: &[(String, String)]) -> Result<Self, EncodeError> {
        if let Some(n) = parse_int(name) {
            let cmd = u32::try_from(n).map_err(|_| EncodeError::BadNumber(name.to_owned()))?;
            if let Some((k, _)) = sets.first() {
                return Err(EncodeError::RawFields(k.clone()));
            }
            return Ok(Self {
                name: format!("{cmd:#x}"),
                cmd,
                arg: vec![0; IoctlCmd(cmd).size()],
                spec: None,
            });
        }
        let spec = lookup(name).ok_or_else(|| EncodeError::Unknown(name.to_owned()))?;
        let mut arg = vec![0u8; spec.size];
        for (k, v) in spec.defaults {
            if let Ok(fl) = field(spec, k) {
                store(fl, &mut arg, *v);
            }
        }
        for (k, v) in sets {
            set(spec, &mut arg, k, v)?;
        }
        Ok(Self {
            name: spec.name.to_owned(),
            cmd: spec.cmd,
            arg,
            spec: Some(spec),
        })
    }

    /// Checks that `field` exists and `value` can be compared with it.
    pub fn check_field(&self, name: &str, value: &str) -> Result<(), FieldError> {
        match self.spec {
            Some(spec) => {
                let fl = field(spec, name)?;
                if matches!(fl.ty, Str(_)) {
                    Ok(())
                } else {
                    value_of(fl, value).map(|_| ())
                }
            }
            None => Err(FieldError::Unknown {
                ioctl: self.name.clone(),
                field: name.to_owned(),
                known: "none (raw command)".to_owned(),
            }),
        }
    }

    /// Compares output field `name` of `out` with `value`. `Ok(None)` when
    /// equal, `Ok(Some(actual))` when not.
    pub fn compare(
        &self,
        out: &[u8],
        name: &str,
        value: &str,
    ) -> Result<Option<String>, FieldError> {
        let Some(spec) = self.spec else {
            return Err(FieldError::Unknown {
                ioctl: self.name.clone(),
                field: name.to_owned(),
                known: "none (raw command)".to_owned(),
            });
        };
        let fl = field(spec, name)?;
        let shown = show(fl, out);
        if let Str(n) = fl.ty {
            let s = out
                .get(fl.offset..fl.offset + n)
                .map(get_str)
                .unwrap_or_default();
            return Ok((s != value).then_some(shown));
        }
        let want = value_of(fl, value)?;
        Ok((load(fl, out) != want).then_some(shown))
    }

    /// The output fields of `out`, as `name=value` (zero numbers left out).
    pub fn describe(&self, out: &[u8]) -> String {
        let Some(spec) = self.spec else {
            return String::new();
        };
        let mut parts = Vec::new();
        for fl in spec.fields {
            let s = show(fl, out);
            if matches!(s.as_str(), "0" | "\"\"") {
                continue;
            }
            parts.push(format!("{}={}", fl.name, s));
        }
        parts.join(" ")
    }
}

fn show(fl: &Field, out: &[u8]) -> String {
    if let Str(n) = fl.ty {
        let s = out
            .get(fl.offset..fl.offset + n)
            .map(get_str)
            .unwrap_or_default();
        return format!("{s:?}");
    }
    let v = load(fl, out);
    if fl.ty == Fourcc && v != 0 {
        return fourcc_str(v as u32);
    }
    if !fl.flags
        && let Some((n, _)) = fl.syms.iter().find(|(_, x)| *x == v)
    {
        return (*n).to_owned();
    }
    if fl.ty == I32 {
        return (v as u32 as i32).to_string();
    }
    v.to_string()
}

/// Why an ioctl cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Not in the catalogue.
    #[error("unknown ioctl `{0}` (see scenarios/README.md for the list, or give a number)")]
    Unknown(String),
    /// A number that is not a 32-bit command.
    #[error("`{0}` is not a 32-bit ioctl number")]
    BadNumber(String),
    /// Fields on a raw command.
    #[error("a raw ioctl number has no fields (got `{0}=`)")]
    RawFields(String),
    /// A field error.
    #[error(transparent)]
    Field(#[from] FieldError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use devlife_media::uapi::ioctl::Wire;

    #[test]
    fn reqbufs_is_encoded_like_the_uapi_struct() {
        let c = IoctlCall::encode(
            "VIDIOC_REQBUFS",
            &[
                ("count".into(), "4".into()),
                ("memory".into(), "mmap".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.cmd, VIDIOC_REQBUFS);
        let r = V4l2Requestbuffers::decode(&c.arg);
        assert_eq!((r.count, r.type_, r.memory), (4, 1, 1));
        assert_eq!(c.arg.len(), V4l2Requestbuffers::SIZE);
        assert_eq!(c.compare(&c.arg, "count", "4").unwrap(), None);
        assert_eq!(
            c.compare(&c.arg, "count", "3").unwrap(),
            Some("4".to_owned())
        );
        assert!(c.describe(&c.arg).contains("memory=mmap"));
    }

    #[test]
    fn nested_and_symbolic_fields() {
        let c = IoctlCall::encode(
            "VIDIOC_SUBDEV_S_FMT",
            &[
                ("pad".into(), "1".into()),
                ("width".into(), "640".into()),
                ("code".into(), "SRGGB8_1X8".into()),
            ],
        )
        .unwrap();
        let v = V4l2SubdevFormat::decode(&c.arg);
        assert_eq!(v.which, V4L2_SUBDEV_FORMAT_ACTIVE);
        assert_eq!((v.pad, v.format.width), (1, 640));
        assert_eq!(v.format.code, MEDIA_BUS_FMT_SRGGB8_1X8);
        let g =
            IoctlCall::encode("VIDIOC_S_FMT", &[("pixelformat".into(), "RGB3".into())]).unwrap();
        assert_eq!(V4l2Format::decode(&g.arg).pix().pixelformat, pix_fmt::RGB24);
        let l = IoctlCall::encode(
            "MEDIA_IOC_SETUP_LINK",
            &[
                ("sink.index".into(), "2".into()),
                ("flags".into(), "enabled|dynamic".into()),
            ],
        )
        .unwrap();
        let d = MediaLinkDesc::decode(&l.arg);
        assert_eq!(d.sink.index, 2);
        assert_eq!(d.flags, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_DYNAMIC);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = IoctlCall::encode("VIDIOC_REQBUFS", &[("cont".into(), "4".into())]).unwrap_err();
        assert!(e.to_string().contains("no field `cont`"), "{e}");
        let e =
            IoctlCall::encode("VIDIOC_REQBUFS", &[("memory".into(), "mmapp".into())]).unwrap_err();
        assert!(e.to_string().contains("mmap"), "{e}");
        let e = IoctlCall::encode("VIDIOC_REQBUFS", &[("flags".into(), "256".into())]).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        assert!(matches!(
            IoctlCall::encode("VIDIOC_NOPE", &[]),
            Err(EncodeError::Unknown(_))
        ));
        let raw = IoctlCall::encode("0xc0145608", &[]).unwrap();
        assert_eq!(raw.arg.len(), 20);
        assert!(IoctlCall::encode("0x1c0145608", &[]).is_err());
    }

    #[test]
    fn catalogue_is_consistent() {
        for (i, s) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.name != s.name));
            for fl in s.fields {
                assert!(fl.offset + width(fl.ty) <= s.size, "{} {}", s.name, fl.name);
            }
            for (k, _) in s.defaults {
                assert!(field(s, k).is_ok(), "{} default {k}", s.name);
            }
        }
    }
}
