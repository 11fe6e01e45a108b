//! The argument layouts of the ioctls added for v4l2-compliance: controls,
//! control events, priorities, inputs, frame sizes, buffer creation and
//! export, and the subdev crop (see docs/compliance.md).

use super::FieldTy::*;
use super::fields::{BUF_TYPES, MEMORY, PIX, WHICH};
use super::{Field, f, flags, sym};
use devlife_media::uapi::controls::{
    V4l2Control, V4l2Event, V4l2EventSubscription, V4l2ExtControls, V4l2QueryExtCtrl,
    V4l2Queryctrl, V4l2Querymenu, ctrl_flag, ctrl_type, event, which,
};
use devlife_media::uapi::io::{
    V4l2CreateBuffers, V4l2Exportbuffer, V4l2Frmsizeenum, V4l2Input, frmsize_type,
};
use devlife_media::uapi::subdev::V4l2SubdevCrop;
use devlife_media::uapi::videodev2::V4l2PixFormat;
use devlife_media::v4l2::prio;
use std::mem::offset_of;

/// `V4L2_CTRL_FLAG_NEXT_*` in a control id, and the control flags.
const CTRL_ID_FLAGS: &[(&str, u64)] = &[
    ("next-ctrl", ctrl_flag::NEXT_CTRL as u64),
    ("next-compound", ctrl_flag::NEXT_COMPOUND as u64),
];

const CTRL_TYPES: &[(&str, u64)] = &[
    ("integer", ctrl_type::INTEGER as u64),
    ("boolean", ctrl_type::BOOLEAN as u64),
    ("menu", ctrl_type::MENU as u64),
    ("button", ctrl_type::BUTTON as u64),
    ("integer64", ctrl_type::INTEGER64 as u64),
    ("ctrl-class", ctrl_type::CTRL_CLASS as u64),
    ("string", ctrl_type::STRING as u64),
    ("bitmask", ctrl_type::BITMASK as u64),
    ("integer-menu", ctrl_type::INTEGER_MENU as u64),
];

const CTRL_WHICH: &[(&str, u64)] = &[
    ("cur", which::CUR_VAL as u64),
    ("def", which::DEF_VAL as u64),
    ("request", which::REQUEST_VAL as u64),
];

const EVENT_TYPES: &[(&str, u64)] = &[
    ("all", event::ALL as u64),
    ("vsync", event::VSYNC as u64),
    ("eos", event::EOS as u64),
    ("ctrl", event::CTRL as u64),
    ("frame-sync", event::FRAME_SYNC as u64),
    ("source-change", event::SOURCE_CHANGE as u64),
];

const EVENT_SUB_FLAGS: &[(&str, u64)] = &[
    ("send-initial", event::SUB_FL_SEND_INITIAL as u64),
    ("allow-feedback", event::SUB_FL_ALLOW_FEEDBACK as u64),
];

const EVENT_CTRL_CHANGES: &[(&str, u64)] = &[
    ("value", event::CTRL_CH_VALUE as u64),
    ("flags", event::CTRL_CH_FLAGS as u64),
    ("range", event::CTRL_CH_RANGE as u64),
];

const PRIORITIES: &[(&str, u64)] = &[
    ("unset", 0),
    ("background", prio::PRIORITY_BACKGROUND as u64),
    ("interactive", prio::PRIORITY_INTERACTIVE as u64),
    ("record", prio::PRIORITY_RECORD as u64),
];

const FRMSIZE_TYPES: &[(&str, u64)] = &[
    ("discrete", frmsize_type::DISCRETE as u64),
    ("continuous", frmsize_type::CONTINUOUS as u64),
    ("stepwise", frmsize_type::STEPWISE as u64),
];

/// `struct v4l2_queryctrl` (`VIDIOC_QUERYCTRL`).
pub(super) const QUERYCTRL: &[Field] = &[
    flags("id", offset_of!(V4l2Queryctrl, id), U32, CTRL_ID_FLAGS),
    sym("type", offset_of!(V4l2Queryctrl, type_), U32, CTRL_TYPES),
    f("name", offset_of!(V4l2Queryctrl, name), Str(32)),
    f("minimum", offset_of!(V4l2Queryctrl, minimum), I32),
    f("maximum", offset_of!(V4l2Queryctrl, maximum), I32),
    f("step", offset_of!(V4l2Queryctrl, step), I32),
    f(
        "default_value",
        offset_of!(V4l2Queryctrl, default_value),
        I32,
    ),
    f("flags", offset_of!(V4l2Queryctrl, flags), U32),
];

/// `struct v4l2_query_ext_ctrl` (`VIDIOC_QUERY_EXT_CTRL`).
pub(super) const QUERY_EXT_CTRL: &[Field] = &[
    flags("id", offset_of!(V4l2QueryExtCtrl, id), U32, CTRL_ID_FLAGS),
    sym("type", offset_of!(V4l2QueryExtCtrl, type_), U32, CTRL_TYPES),
    f("name", offset_of!(V4l2QueryExtCtrl, name), Str(32)),
    f("minimum", offset_of!(V4l2QueryExtCtrl, minimum), I64),
    f("maximum", offset_of!(V4l2QueryExtCtrl, maximum), I64),
    f("step", offset_of!(V4l2QueryExtCtrl, step), U64),
    f(
        "default_value",
        offset_of!(V4l2QueryExtCtrl, default_value),
        I64,
    ),
    f("flags", offset_of!(V4l2QueryExtCtrl, flags), U32),
    f("elem_size", offset_of!(V4l2QueryExtCtrl, elem_size), U32),
    f("elems", offset_of!(V4l2QueryExtCtrl, elems), U32),
    f("nr_of_dims", offset_of!(V4l2QueryExtCtrl, nr_of_dims), U32),
];

/// `struct v4l2_querymenu` (`VIDIOC_QUERYMENU`): `name` for a menu,
/// `value` (the same bytes) for an integer menu.
pub(super) const QUERYMENU: &[Field] = &[
    f("id", offset_of!(V4l2Querymenu, id), U32),
    f("index", offset_of!(V4l2Querymenu, index), U32),
    f("name", offset_of!(V4l2Querymenu, name), Str(32)),
    f("value", offset_of!(V4l2Querymenu, name), I64),
];

/// `struct v4l2_control` (`VIDIOC_G_CTRL`, `VIDIOC_S_CTRL`).
pub(super) const CONTROL: &[Field] = &[
    f("id", offset_of!(V4l2Control, id), U32),
    f("value", offset_of!(V4l2Control, value), I32),
];

/// `struct v4l2_ext_controls` (`VIDIOC_G/S/TRY_EXT_CTRLS`); `controls` is a
/// user pointer, so a scenario uses `count=0` (the class checks) or 0.
pub(super) const EXT_CONTROLS: &[Field] = &[
    sym("which", offset_of!(V4l2ExtControls, which), U32, CTRL_WHICH),
    f("count", offset_of!(V4l2ExtControls, count), U32),
    f("error_idx", offset_of!(V4l2ExtControls, error_idx), U32),
    f("request_fd", offset_of!(V4l2ExtControls, request_fd), I32),
    f("controls", offset_of!(V4l2ExtControls, controls), U64),
];

/// `struct v4l2_event_subscription` (`VIDIOC_(UN)SUBSCRIBE_EVENT`).
pub(super) const EVENT_SUBSCRIPTION: &[Field] = &[
    sym(
        "type",
        offset_of!(V4l2EventSubscription, type_),
        U32,
        EVENT_TYPES,
    ),
    f("id", offset_of!(V4l2EventSubscription, id), U32),
    flags(
        "flags",
        offset_of!(V4l2EventSubscription, flags),
        U32,
        EVENT_SUB_FLAGS,
    ),
];

const EV_U: usize = offset_of!(V4l2Event, u);

/// `struct v4l2_event` (`VIDIOC_DQEVENT`), with the control event's payload
/// (`u.ctrl`).
pub(super) const EVENT: &[Field] = &[
    sym("type", offset_of!(V4l2Event, type_), U32, EVENT_TYPES),
    f("pending", offset_of!(V4l2Event, pending), U32),
    f("sequence", offset_of!(V4l2Event, sequence), U32),
    f("id", offset_of!(V4l2Event, id), U32),
    flags("ctrl.changes", EV_U, U32, EVENT_CTRL_CHANGES),
    sym("ctrl.type", EV_U + 4, U32, CTRL_TYPES),
    f("ctrl.value", EV_U + 8, I64),
    f("ctrl.flags", EV_U + 16, U32),
    f("ctrl.minimum", EV_U + 20, I32),
    f("ctrl.maximum", EV_U + 24, I32),
    f("ctrl.step", EV_U + 28, I32),
    f("ctrl.default_value", EV_U + 32, I32),
];

/// `enum v4l2_priority` (`VIDIOC_G/S_PRIORITY`).
pub(super) const PRIORITY: &[Field] = &[sym("priority", 0, U32, PRIORITIES)];

/// `struct v4l2_input` (`VIDIOC_ENUMINPUT`).
pub(super) const INPUT: &[Field] = &[
    f("index", offset_of!(V4l2Input, index), U32),
    f("name", offset_of!(V4l2Input, name), Str(32)),
    f("type", offset_of!(V4l2Input, type_), U32),
    f("status", offset_of!(V4l2Input, status), U32),
    f("capabilities", offset_of!(V4l2Input, capabilities), U32),
];

/// The input index of `VIDIOC_G/S_INPUT`.
pub(super) const INPUT_INDEX: &[Field] = &[f("index", 0, U32)];

const FS_U: usize = offset_of!(V4l2Frmsizeenum, u);

/// `struct v4l2_frmsizeenum` (`VIDIOC_ENUM_FRAMESIZES`): `discrete.*` or
/// `stepwise.*` after `type`.
pub(super) const FRMSIZEENUM: &[Field] = &[
    f("index", offset_of!(V4l2Frmsizeenum, index), U32),
    f(
        "pixel_format",
        offset_of!(V4l2Frmsizeenum, pixel_format),
        Fourcc,
    ),
    sym(
        "type",
        offset_of!(V4l2Frmsizeenum, type_),
        U32,
        FRMSIZE_TYPES,
    ),
    f("discrete.width", FS_U, U32),
    f("discrete.height", FS_U + 4, U32),
    f("stepwise.min_width", FS_U, U32),
    f("stepwise.max_width", FS_U + 4, U32),
    f("stepwise.step_width", FS_U + 8, U32),
    f("stepwise.min_height", FS_U + 12, U32),
    f("stepwise.max_height", FS_U + 16, U32),
    f("stepwise.step_height", FS_U + 20, U32),
];

const CB_FMT: usize = offset_of!(V4l2CreateBuffers, format);
const CB_PIX: usize = CB_FMT + PIX;

/// `struct v4l2_create_buffers` (`VIDIOC_CREATE_BUFS`).
pub(super) const CREATE_BUFFERS: &[Field] = &[
    f("index", offset_of!(V4l2CreateBuffers, index), U32),
    f("count", offset_of!(V4l2CreateBuffers, count), U32),
    sym("memory", offset_of!(V4l2CreateBuffers, memory), U32, MEMORY),
    sym("format.type", CB_FMT, U32, BUF_TYPES),
    f(
        "format.width",
        CB_PIX + offset_of!(V4l2PixFormat, width),
        U32,
    ),
    f(
        "format.height",
        CB_PIX + offset_of!(V4l2PixFormat, height),
        U32,
    ),
    f(
        "format.pixelformat",
        CB_PIX + offset_of!(V4l2PixFormat, pixelformat),
        Fourcc,
    ),
    f(
        "format.sizeimage",
        CB_PIX + offset_of!(V4l2PixFormat, sizeimage),
        U32,
    ),
    f(
        "capabilities",
        offset_of!(V4l2CreateBuffers, capabilities),
        U32,
    ),
    f("flags", offset_of!(V4l2CreateBuffers, flags), U32),
];

/// `struct v4l2_exportbuffer` (`VIDIOC_EXPBUF`).
pub(super) const EXPORTBUFFER: &[Field] = &[
    sym("type", offset_of!(V4l2Exportbuffer, type_), U32, BUF_TYPES),
    f("index", offset_of!(V4l2Exportbuffer, index), U32),
    f("plane", offset_of!(V4l2Exportbuffer, plane), U32),
    f("flags", offset_of!(V4l2Exportbuffer, flags), U32),
    f("fd", offset_of!(V4l2Exportbuffer, fd), I32),
];

/// `struct v4l2_subdev_crop` (`VIDIOC_SUBDEV_G/S_CROP`).
pub(super) const SUBDEV_CROP: &[Field] = &[
    sym("which", offset_of!(V4l2SubdevCrop, which), U32, WHICH),
    f("pad", offset_of!(V4l2SubdevCrop, pad), U32),
    f("left", offset_of!(V4l2SubdevCrop, rect.left), I32),
    f("top", offset_of!(V4l2SubdevCrop, rect.top), I32),
    f("width", offset_of!(V4l2SubdevCrop, rect.width), U32),
    f("height", offset_of!(V4l2SubdevCrop, rect.height), U32),
];
