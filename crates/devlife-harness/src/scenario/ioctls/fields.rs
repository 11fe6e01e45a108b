//! The argument structs of the catalogue's ioctls, field by field, and the
//! symbolic values their fields accept.

use super::{Field, f, flags, sym};
use devlife_drivers::usb_av::pcm;

use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;

use std::mem::offset_of;

use super::FieldTy::*;

pub(super) const BUF_TYPES: &[(&str, u64)] = &[
    ("capture", buf_type::VIDEO_CAPTURE as u64),
    ("video-capture", buf_type::VIDEO_CAPTURE as u64),
    ("output", buf_type::VIDEO_OUTPUT as u64),
    ("video-output", buf_type::VIDEO_OUTPUT as u64),
    ("capture-mplane", buf_type::VIDEO_CAPTURE_MPLANE as u64),
    ("output-mplane", buf_type::VIDEO_OUTPUT_MPLANE as u64),
    ("meta-capture", buf_type::META_CAPTURE as u64),
    ("meta-output", buf_type::META_OUTPUT as u64),
];

pub(super) const MEMORY: &[(&str, u64)] = &[
    ("mmap", memory::MMAP as u64),
    ("userptr", memory::USERPTR as u64),
    ("overlay", memory::OVERLAY as u64),
    ("dmabuf", memory::DMABUF as u64),
];

pub(super) const WHICH: &[(&str, u64)] = &[
    ("try", V4L2_SUBDEV_FORMAT_TRY as u64),
    ("active", V4L2_SUBDEV_FORMAT_ACTIVE as u64),
];

pub(super) const SEL_TARGETS: &[(&str, u64)] = &[
    ("crop", V4L2_SEL_TGT_CROP as u64),
    ("crop-default", V4L2_SEL_TGT_CROP_DEFAULT as u64),
    ("crop-bounds", V4L2_SEL_TGT_CROP_BOUNDS as u64),
    ("native-size", V4L2_SEL_TGT_NATIVE_SIZE as u64),
    ("compose", V4L2_SEL_TGT_COMPOSE as u64),
    ("compose-default", V4L2_SEL_TGT_COMPOSE_DEFAULT as u64),
    ("compose-bounds", V4L2_SEL_TGT_COMPOSE_BOUNDS as u64),
    ("compose-padded", V4L2_SEL_TGT_COMPOSE_PADDED as u64),
];

pub(super) const LINK_FLAGS: &[(&str, u64)] = &[
    ("enabled", MEDIA_LNK_FL_ENABLED as u64),
    ("immutable", MEDIA_LNK_FL_IMMUTABLE as u64),
    ("dynamic", MEDIA_LNK_FL_DYNAMIC as u64),
];

pub(super) const BUF_FLAGS: &[(&str, u64)] = &[
    ("mapped", buf_flag::MAPPED as u64),
    ("queued", buf_flag::QUEUED as u64),
    ("done", buf_flag::DONE as u64),
    ("error", buf_flag::ERROR as u64),
    ("last", buf_flag::LAST as u64),
    ("timestamp-monotonic", buf_flag::TIMESTAMP_MONOTONIC as u64),
];

pub(super) const MBUS_CODES: &[(&str, u64)] = &[
    ("FIXED", MEDIA_BUS_FMT_FIXED as u64),
    ("RGB888_1X24", MEDIA_BUS_FMT_RGB888_1X24 as u64),
    ("SBGGR8_1X8", MEDIA_BUS_FMT_SBGGR8_1X8 as u64),
    ("SGRBG8_1X8", MEDIA_BUS_FMT_SGRBG8_1X8 as u64),
    ("SGBRG8_1X8", MEDIA_BUS_FMT_SGBRG8_1X8 as u64),
    ("SRGGB8_1X8", MEDIA_BUS_FMT_SRGGB8_1X8 as u64),
];

pub(super) const FIELD_ORDER: &[(&str, u64)] = &[
    ("any", field::ANY as u64),
    ("none", field::NONE as u64),
    ("top", field::TOP as u64),
    ("bottom", field::BOTTOM as u64),
    ("interlaced", field::INTERLACED as u64),
    ("alternate", field::ALTERNATE as u64),
];

// ----- field tables ---------------------------------------------------------

pub(super) const DEVICE_INFO: &[Field] = &[
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

pub(super) const ENTITY_DESC: &[Field] = &[
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

pub(super) const LINKS_ENUM: &[Field] = &[
    f("entity", offset_of!(MediaLinksEnum, entity), U32),
    f("pads", offset_of!(MediaLinksEnum, pads), U64),
    f("links", offset_of!(MediaLinksEnum, links), U64),
];

pub(super) const LINK_DESC: &[Field] = &[
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

pub(super) const TOPOLOGY: &[Field] = &[
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

pub(super) const CAPABILITY: &[Field] = &[
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

pub(super) const FMTDESC: &[Field] = &[
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

pub(super) const PIX: usize = offset_of!(V4l2Format, fmt);

pub(super) const FORMAT: &[Field] = &[
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

pub(super) const REQBUFS: &[Field] = &[
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

pub(super) const BUFFER: &[Field] = &[
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

pub(super) const STREAM_TYPE: &[Field] = &[sym("type", 0, I32, BUF_TYPES)];

pub(super) const SUBDEV_CAP: &[Field] = &[
    f("version", offset_of!(V4l2SubdevCapability, version), U32),
    f(
        "capabilities",
        offset_of!(V4l2SubdevCapability, capabilities),
        U32,
    ),
];

pub(super) const MBUS_CODE_ENUM: &[Field] = &[
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

pub(super) const SUBDEV_FORMAT: &[Field] = &[
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

pub(super) const SUBDEV_SELECTION: &[Field] = &[
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

pub(super) const FRAME_SIZE_ENUM: &[Field] = &[
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

pub(super) const CLIENT_CAP: &[Field] = &[f(
    "capabilities",
    offset_of!(V4l2SubdevClientCapability, capabilities),
    U64,
)];

pub(super) const ROUTING: &[Field] = &[
    sym("which", offset_of!(V4l2SubdevRouting, which), U32, WHICH),
    f("len_routes", offset_of!(V4l2SubdevRouting, len_routes), U32),
    f("routes", offset_of!(V4l2SubdevRouting, routes), U64),
    f("num_routes", offset_of!(V4l2SubdevRouting, num_routes), U32),
];

pub(super) const PCM_STATES: &[(&str, u64)] = &[
    ("open", pcm::state::OPEN as u64),
    ("setup", pcm::state::SETUP as u64),
    ("prepared", pcm::state::PREPARED as u64),
    ("running", pcm::state::RUNNING as u64),
    ("disconnected", pcm::state::DISCONNECTED as u64),
];

pub(super) const PCM_FORMATS: &[(&str, u64)] = &[("S16_LE", pcm::FORMAT_S16_LE as u64)];

pub(super) const PCM_HW_PARAMS: &[Field] = &[
    f("rate", 0, U32),
    f("channels", 4, U32),
    sym("format", 8, U32, PCM_FORMATS),
    f("period_bytes", 12, U32),
];

pub(super) const PCM_STATUS: &[Field] = &[
    sym("state", 0, U32, PCM_STATES),
    f("rate", 4, U32),
    f("channels", 8, U32),
    sym("format", 12, U32, PCM_FORMATS),
    f("frames", 16, U64),
    f("avail", 24, U32),
];

pub(super) const TESTDRV_COUNT: &[Field] = &[f("count", 0, U32)];
pub(super) const TESTDRV_HWOP: &[Field] = &[f("count", 0, U32), f("value", 0, U32)];
pub(super) const TESTDRV_STATS: &[Field] = &[f("opens", 0, U64), f("produced", 8, U64)];
