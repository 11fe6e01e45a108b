//! `linux/v4l2-subdev.h` and `linux/v4l2-mediabus.h` (the subset devlife
//! serves), x86_64 layouts checked at compile time like
//! [`videodev2`](super::videodev2).
//!
//! ```
//! use devlife_media::uapi::ioctl::Wire;
//! use devlife_media::uapi::subdev::*;
//! let mut f = V4l2SubdevFormat::default();
//! f.which = V4L2_SUBDEV_FORMAT_ACTIVE;
//! f.format.code = MEDIA_BUS_FMT_RGB888_1X24;
//! let raw = f.to_vec();
//! assert_eq!(raw.len(), 88);
//! assert_eq!(&raw[16..20], &0x100au32.to_ne_bytes());
//! assert_eq!(VIDIOC_SUBDEV_G_FMT, 0xc058_5604);
//! ```
#![forbid(unsafe_code)]

use super::controls::{
    VIDIOC_DQEVENT, VIDIOC_G_CTRL, VIDIOC_G_EXT_CTRLS, VIDIOC_LOG_STATUS, VIDIOC_QUERY_EXT_CTRL,
    VIDIOC_QUERYCTRL, VIDIOC_QUERYMENU, VIDIOC_S_CTRL, VIDIOC_S_EXT_CTRLS, VIDIOC_SUBSCRIBE_EVENT,
    VIDIOC_TRY_EXT_CTRLS, VIDIOC_UNSUBSCRIBE_EVENT,
};
use super::ioctl::{IoctlDef, IoctlTable, NodeKind, Wire, uapi_struct};
use super::videodev2::{V4l2Rect, numbers};

const fn ior(nr: u8, size: usize) -> u32 {
    super::ioctl::ior(b'V', nr, size)
}
const fn iowr(nr: u8, size: usize) -> u32 {
    super::ioctl::iowr(b'V', nr, size)
}

/// `V4L2_SUBDEV_FORMAT_TRY`: the per-file-handle trial state.
pub const V4L2_SUBDEV_FORMAT_TRY: u32 = 0;
/// `V4L2_SUBDEV_FORMAT_ACTIVE`: the device's active state.
pub const V4L2_SUBDEV_FORMAT_ACTIVE: u32 = 1;

/// `V4L2_SUBDEV_CAP_RO_SUBDEV`: the node is read-only (S_FMT/S_SELECTION ACTIVE give EPERM).
pub const V4L2_SUBDEV_CAP_RO_SUBDEV: u32 = 1;
/// `V4L2_SUBDEV_CAP_STREAMS`: the subdev supports multiplexed streams.
pub const V4L2_SUBDEV_CAP_STREAMS: u32 = 2;

/// `V4L2_SUBDEV_CLIENT_CAP_STREAMS`.
pub const V4L2_SUBDEV_CLIENT_CAP_STREAMS: u64 = 1;
/// `V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH`.
pub const V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH: u64 = 2;

/// `V4L2_SEL_TGT_CROP`.
pub const V4L2_SEL_TGT_CROP: u32 = 0x0000;
/// `V4L2_SEL_TGT_CROP_DEFAULT`.
pub const V4L2_SEL_TGT_CROP_DEFAULT: u32 = 0x0001;
/// `V4L2_SEL_TGT_CROP_BOUNDS`.
pub const V4L2_SEL_TGT_CROP_BOUNDS: u32 = 0x0002;
/// `V4L2_SEL_TGT_NATIVE_SIZE`.
pub const V4L2_SEL_TGT_NATIVE_SIZE: u32 = 0x0003;
/// `V4L2_SEL_TGT_COMPOSE`.
pub const V4L2_SEL_TGT_COMPOSE: u32 = 0x0100;
/// `V4L2_SEL_TGT_COMPOSE_DEFAULT`.
pub const V4L2_SEL_TGT_COMPOSE_DEFAULT: u32 = 0x0101;
/// `V4L2_SEL_TGT_COMPOSE_BOUNDS`.
pub const V4L2_SEL_TGT_COMPOSE_BOUNDS: u32 = 0x0102;
/// `V4L2_SEL_TGT_COMPOSE_PADDED`.
pub const V4L2_SEL_TGT_COMPOSE_PADDED: u32 = 0x0103;
/// `V4L2_SEL_FLAG_GE`: the rectangle may grow.
pub const V4L2_SEL_FLAG_GE: u32 = 1 << 0;
/// `V4L2_SEL_FLAG_LE`: the rectangle may shrink.
pub const V4L2_SEL_FLAG_LE: u32 = 1 << 1;
/// `V4L2_SEL_FLAG_KEEP_CONFIG`.
pub const V4L2_SEL_FLAG_KEEP_CONFIG: u32 = 1 << 2;

/// `MEDIA_BUS_FMT_FIXED`.
pub const MEDIA_BUS_FMT_FIXED: u32 = 0x0001;
/// `MEDIA_BUS_FMT_RGB888_1X24` (vimc sensor and capture default).
pub const MEDIA_BUS_FMT_RGB888_1X24: u32 = 0x100a;
/// `MEDIA_BUS_FMT_SBGGR8_1X8`.
pub const MEDIA_BUS_FMT_SBGGR8_1X8: u32 = 0x3001;
/// `MEDIA_BUS_FMT_SGRBG8_1X8`.
pub const MEDIA_BUS_FMT_SGRBG8_1X8: u32 = 0x3002;
/// `MEDIA_BUS_FMT_SGBRG8_1X8`.
pub const MEDIA_BUS_FMT_SGBRG8_1X8: u32 = 0x3013;
/// `MEDIA_BUS_FMT_SRGGB8_1X8` (vimc debayer sink default).
pub const MEDIA_BUS_FMT_SRGGB8_1X8: u32 = 0x3014;

uapi_struct! {
    /// `struct v4l2_mbus_framefmt` (48 bytes): a media bus format on a pad.
    #[repr(C)]
    pub struct V4l2MbusFramefmt: size 48, align 4 {
        /// Frame width in pixels.
        @0 pub width: u32,
        /// Frame height in lines.
        @4 pub height: u32,
        /// `MEDIA_BUS_FMT_*` code.
        @8 pub code: u32,
        /// `enum v4l2_field`.
        @12 pub field: u32,
        /// `enum v4l2_colorspace`.
        @16 pub colorspace: u32,
        /// Union of `ycbcr_enc` and `hsv_enc`.
        @20 pub ycbcr_enc: u16,
        /// `enum v4l2_quantization`.
        @22 pub quantization: u16,
        /// `enum v4l2_xfer_func`.
        @24 pub xfer_func: u16,
        /// `V4L2_MBUS_FRAMEFMT_*`.
        @26 pub flags: u16,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @28 pub reserved: [u16; 10],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_format` (88 bytes): `VIDIOC_SUBDEV_G/S_FMT`.
    #[repr(C)]
    pub struct V4l2SubdevFormat: size 88, align 4 {
        /// TRY or ACTIVE.
        @0 pub which: u32,
        /// Pad index.
        @4 pub pad: u32,
        /// The format.
        @8 pub format: V4l2MbusFramefmt,
        /// Stream (0 unless the client set `V4L2_SUBDEV_CLIENT_CAP_STREAMS`).
        @56 pub stream: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @60 pub reserved: [u32; 7],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_mbus_code_enum` (48 bytes): `VIDIOC_SUBDEV_ENUM_MBUS_CODE`.
    #[repr(C)]
    pub struct V4l2SubdevMbusCodeEnum: size 48, align 4 {
        /// Pad index.
        @0 pub pad: u32,
        /// Enumeration index.
        @4 pub index: u32,
        /// The code (out).
        @8 pub code: u32,
        /// TRY or ACTIVE.
        @12 pub which: u32,
        /// `V4L2_SUBDEV_MBUS_CODE_*`.
        @16 pub flags: u32,
        /// Stream number on the pad (0 unless the subdev routes several streams).
        @20 pub stream: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @24 pub reserved: [u32; 6],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_frame_size_enum` (64 bytes): `VIDIOC_SUBDEV_ENUM_FRAME_SIZE`.
    #[repr(C)]
    pub struct V4l2SubdevFrameSizeEnum: size 64, align 4 {
        /// Enumeration index.
        @0 pub index: u32,
        /// Pad index.
        @4 pub pad: u32,
        /// Media bus code.
        @8 pub code: u32,
        /// Minimum width (out).
        @12 pub min_width: u32,
        /// Maximum width (out).
        @16 pub max_width: u32,
        /// Minimum height (out).
        @20 pub min_height: u32,
        /// Maximum height (out).
        @24 pub max_height: u32,
        /// TRY or ACTIVE.
        @28 pub which: u32,
        /// Stream number on the pad (0 unless the subdev routes several streams).
        @32 pub stream: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @36 pub reserved: [u32; 7],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_crop` (56 bytes): the legacy `VIDIOC_SUBDEV_G/S_CROP`,
    /// which the core serves through the `CROP` selection target.
    #[repr(C)]
    pub struct V4l2SubdevCrop: size 56, align 4 {
        /// TRY or ACTIVE.
        @0 pub which: u32,
        /// Pad index.
        @4 pub pad: u32,
        /// The crop rectangle.
        @8 pub rect: V4l2Rect,
        /// Stream number on the pad (0 unless the subdev routes several streams).
        @24 pub stream: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @28 pub reserved: [u32; 7],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_selection` (64 bytes): `VIDIOC_SUBDEV_G/S_SELECTION`.
    #[repr(C)]
    pub struct V4l2SubdevSelection: size 64, align 4 {
        /// TRY or ACTIVE.
        @0 pub which: u32,
        /// Pad index.
        @4 pub pad: u32,
        /// `V4L2_SEL_TGT_*`.
        @8 pub target: u32,
        /// `V4L2_SEL_FLAG_*`.
        @12 pub flags: u32,
        /// The rectangle.
        @16 pub r: V4l2Rect,
        /// Stream number on the pad (0 unless the subdev routes several streams).
        @32 pub stream: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @36 pub reserved: [u32; 7],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_capability` (64 bytes): `VIDIOC_SUBDEV_QUERYCAP`.
    #[repr(C)]
    pub struct V4l2SubdevCapability: size 64, align 4 {
        /// `LINUX_VERSION_CODE`.
        @0 pub version: u32,
        /// `V4L2_SUBDEV_CAP_*`.
        @4 pub capabilities: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @8 pub reserved: [u32; 14],
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_client_capability` (8 bytes, 8-aligned): `VIDIOC_SUBDEV_G/S_CLIENT_CAP`.
    #[repr(C)]
    pub struct V4l2SubdevClientCapability: size 8, align 8 {
        /// `V4L2_SUBDEV_CLIENT_CAP_*`.
        @0 pub capabilities: u64,
    }
}

uapi_struct! {
    /// `struct v4l2_subdev_routing` (64 bytes, 8-aligned): `VIDIOC_SUBDEV_G/S_ROUTING`
    /// (carries a user pointer; answered `ENOTTY` because no devlife subdev has streams).
    #[repr(C)]
    pub struct V4l2SubdevRouting: size 64, align 8 {
        /// TRY or ACTIVE.
        @0 pub which: u32,
        /// Capacity of the user's route array.
        @4 pub len_routes: u32,
        /// User pointer to `struct v4l2_subdev_route[len_routes]`.
        @8 pub routes: u64,
        /// Routes returned / set.
        @16 pub num_routes: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @20 pub reserved: [u32; 11],
    }
}

/// `VIDIOC_SUBDEV_QUERYCAP`.
pub const VIDIOC_SUBDEV_QUERYCAP: u32 = ior(0, V4l2SubdevCapability::SIZE);
/// `VIDIOC_SUBDEV_ENUM_MBUS_CODE`.
pub const VIDIOC_SUBDEV_ENUM_MBUS_CODE: u32 = iowr(2, V4l2SubdevMbusCodeEnum::SIZE);
/// `VIDIOC_SUBDEV_G_FMT`.
pub const VIDIOC_SUBDEV_G_FMT: u32 = iowr(4, V4l2SubdevFormat::SIZE);
/// `VIDIOC_SUBDEV_S_FMT`.
pub const VIDIOC_SUBDEV_S_FMT: u32 = iowr(5, V4l2SubdevFormat::SIZE);
/// `VIDIOC_SUBDEV_G_ROUTING`.
pub const VIDIOC_SUBDEV_G_ROUTING: u32 = iowr(38, V4l2SubdevRouting::SIZE);
/// `VIDIOC_SUBDEV_S_ROUTING`.
pub const VIDIOC_SUBDEV_S_ROUTING: u32 = iowr(39, V4l2SubdevRouting::SIZE);
/// `VIDIOC_SUBDEV_G_SELECTION`.
/// `VIDIOC_SUBDEV_G_CROP`.
pub const VIDIOC_SUBDEV_G_CROP: u32 = iowr(59, V4l2SubdevCrop::SIZE);
/// `VIDIOC_SUBDEV_S_CROP`.
pub const VIDIOC_SUBDEV_S_CROP: u32 = iowr(60, V4l2SubdevCrop::SIZE);
/// `VIDIOC_SUBDEV_G_SELECTION`.
pub const VIDIOC_SUBDEV_G_SELECTION: u32 = iowr(61, V4l2SubdevSelection::SIZE);
/// `VIDIOC_SUBDEV_S_SELECTION`.
pub const VIDIOC_SUBDEV_S_SELECTION: u32 = iowr(62, V4l2SubdevSelection::SIZE);
/// `VIDIOC_SUBDEV_ENUM_FRAME_SIZE`.
pub const VIDIOC_SUBDEV_ENUM_FRAME_SIZE: u32 = iowr(74, V4l2SubdevFrameSizeEnum::SIZE);
/// `VIDIOC_SUBDEV_G_CLIENT_CAP`.
pub const VIDIOC_SUBDEV_G_CLIENT_CAP: u32 = ior(101, V4l2SubdevClientCapability::SIZE);
/// `VIDIOC_SUBDEV_S_CLIENT_CAP`.
pub const VIDIOC_SUBDEV_S_CLIENT_CAP: u32 = iowr(102, V4l2SubdevClientCapability::SIZE);

/// The subdev-node ioctls devlife knows by name. The control and event
/// ioctls share the video nodes' numbers (`v4l2-subdev.c` serves them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the variants are the ioctl names
pub enum SubdevIoctl {
    Querycap,
    EnumMbusCode,
    GFmt,
    SFmt,
    GRouting,
    SRouting,
    GSelection,
    SSelection,
    EnumFrameSize,
    GClientCap,
    SClientCap,
    GCrop,
    SCrop,
    Queryctrl,
    QueryExtCtrl,
    Querymenu,
    GCtrl,
    SCtrl,
    GExtCtrls,
    SExtCtrls,
    TryExtCtrls,
    LogStatus,
    SubscribeEvent,
    UnsubscribeEvent,
    Dqevent,
}

impl SubdevIoctl {
    /// Every known subdev ioctl.
    pub const ALL: &'static [SubdevIoctl] = &[
        Self::Querycap,
        Self::EnumMbusCode,
        Self::GFmt,
        Self::SFmt,
        Self::GRouting,
        Self::SRouting,
        Self::GSelection,
        Self::SSelection,
        Self::EnumFrameSize,
        Self::GClientCap,
        Self::SClientCap,
        Self::GCrop,
        Self::SCrop,
        Self::Queryctrl,
        Self::QueryExtCtrl,
        Self::Querymenu,
        Self::GCtrl,
        Self::SCtrl,
        Self::GExtCtrls,
        Self::SExtCtrls,
        Self::TryExtCtrls,
        Self::LogStatus,
        Self::SubscribeEvent,
        Self::UnsubscribeEvent,
        Self::Dqevent,
    ];

    /// The ioctl number.
    pub const fn cmd(self) -> u32 {
        match self {
            Self::Querycap => VIDIOC_SUBDEV_QUERYCAP,
            Self::EnumMbusCode => VIDIOC_SUBDEV_ENUM_MBUS_CODE,
            Self::GFmt => VIDIOC_SUBDEV_G_FMT,
            Self::SFmt => VIDIOC_SUBDEV_S_FMT,
            Self::GRouting => VIDIOC_SUBDEV_G_ROUTING,
            Self::SRouting => VIDIOC_SUBDEV_S_ROUTING,
            Self::GSelection => VIDIOC_SUBDEV_G_SELECTION,
            Self::SSelection => VIDIOC_SUBDEV_S_SELECTION,
            Self::EnumFrameSize => VIDIOC_SUBDEV_ENUM_FRAME_SIZE,
            Self::GClientCap => VIDIOC_SUBDEV_G_CLIENT_CAP,
            Self::SClientCap => VIDIOC_SUBDEV_S_CLIENT_CAP,
            Self::GCrop => VIDIOC_SUBDEV_G_CROP,
            Self::SCrop => VIDIOC_SUBDEV_S_CROP,
            Self::Queryctrl => VIDIOC_QUERYCTRL,
            Self::QueryExtCtrl => VIDIOC_QUERY_EXT_CTRL,
            Self::Querymenu => VIDIOC_QUERYMENU,
            Self::GCtrl => VIDIOC_G_CTRL,
            Self::SCtrl => VIDIOC_S_CTRL,
            Self::GExtCtrls => VIDIOC_G_EXT_CTRLS,
            Self::SExtCtrls => VIDIOC_S_EXT_CTRLS,
            Self::TryExtCtrls => VIDIOC_TRY_EXT_CTRLS,
            Self::LogStatus => VIDIOC_LOG_STATUS,
            Self::SubscribeEvent => VIDIOC_SUBSCRIBE_EVENT,
            Self::UnsubscribeEvent => VIDIOC_UNSUBSCRIBE_EVENT,
            Self::Dqevent => VIDIOC_DQEVENT,
        }
    }

    /// The kernel name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Querycap => "VIDIOC_SUBDEV_QUERYCAP",
            Self::EnumMbusCode => "VIDIOC_SUBDEV_ENUM_MBUS_CODE",
            Self::GFmt => "VIDIOC_SUBDEV_G_FMT",
            Self::SFmt => "VIDIOC_SUBDEV_S_FMT",
            Self::GRouting => "VIDIOC_SUBDEV_G_ROUTING",
            Self::SRouting => "VIDIOC_SUBDEV_S_ROUTING",
            Self::GSelection => "VIDIOC_SUBDEV_G_SELECTION",
            Self::SSelection => "VIDIOC_SUBDEV_S_SELECTION",
            Self::EnumFrameSize => "VIDIOC_SUBDEV_ENUM_FRAME_SIZE",
            Self::GClientCap => "VIDIOC_SUBDEV_G_CLIENT_CAP",
            Self::SClientCap => "VIDIOC_SUBDEV_S_CLIENT_CAP",
            Self::GCrop => "VIDIOC_SUBDEV_G_CROP",
            Self::SCrop => "VIDIOC_SUBDEV_S_CROP",
            Self::Queryctrl => "VIDIOC_QUERYCTRL",
            Self::QueryExtCtrl => "VIDIOC_QUERY_EXT_CTRL",
            Self::Querymenu => "VIDIOC_QUERYMENU",
            Self::GCtrl => "VIDIOC_G_CTRL",
            Self::SCtrl => "VIDIOC_S_CTRL",
            Self::GExtCtrls => "VIDIOC_G_EXT_CTRLS",
            Self::SExtCtrls => "VIDIOC_S_EXT_CTRLS",
            Self::TryExtCtrls => "VIDIOC_TRY_EXT_CTRLS",
            Self::LogStatus => "VIDIOC_LOG_STATUS",
            Self::SubscribeEvent => "VIDIOC_SUBSCRIBE_EVENT",
            Self::UnsubscribeEvent => "VIDIOC_UNSUBSCRIBE_EVENT",
            Self::Dqevent => "VIDIOC_DQEVENT",
        }
    }

    /// Whether only subdevs with controls serve it (the control ioctls, and
    /// the event ioctls of `V4L2_SUBDEV_FL_HAS_EVENTS`).
    pub const fn needs_controls(self) -> bool {
        matches!(
            self,
            Self::Queryctrl
                | Self::QueryExtCtrl
                | Self::Querymenu
                | Self::GCtrl
                | Self::SCtrl
                | Self::GExtCtrls
                | Self::SExtCtrls
                | Self::TryExtCtrls
                | Self::LogStatus
                | Self::SubscribeEvent
                | Self::UnsubscribeEvent
                | Self::Dqevent
        )
    }

    /// Decodes a subdev-node ioctl number (exact match on all 32 bits).
    pub fn from_cmd(cmd: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|i| i.cmd() == cmd)
    }

    /// Looks an ioctl up by its kernel name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|i| i.name() == name)
    }
}

macro_rules! subdev_table {
    ($($v:ident),* $(,)?) => {
        /// The ioctl table of subdev nodes (`/dev/v4l-subdevN`), matched on the full number.
        pub const SUBDEV_IOCTLS: IoctlTable<SubdevIoctl> = IoctlTable {
            kind: NodeKind::Subdev,
            defs: &[$(IoctlDef { cmd: SubdevIoctl::$v.cmd(), name: SubdevIoctl::$v.name(), key: SubdevIoctl::$v }),*],
        };
    };
}
subdev_table!(
    Querycap,
    EnumMbusCode,
    GFmt,
    SFmt,
    GRouting,
    SRouting,
    GSelection,
    SSelection,
    EnumFrameSize,
    GClientCap,
    SClientCap,
    GCrop,
    SCrop,
    Queryctrl,
    QueryExtCtrl,
    Querymenu,
    GCtrl,
    SCtrl,
    GExtCtrls,
    SExtCtrls,
    TryExtCtrls,
    LogStatus,
    SubscribeEvent,
    UnsubscribeEvent,
    Dqevent,
);

numbers!(
    VIDIOC_SUBDEV_G_FMT = 0xc058_5604,
    VIDIOC_SUBDEV_S_FMT = 0xc058_5605,
    VIDIOC_SUBDEV_ENUM_MBUS_CODE = 0xc030_5602,
    VIDIOC_SUBDEV_ENUM_FRAME_SIZE = 0xc040_564a,
    VIDIOC_SUBDEV_G_SELECTION = 0xc040_563d,
    VIDIOC_SUBDEV_S_SELECTION = 0xc040_563e,
    VIDIOC_SUBDEV_QUERYCAP = 0x8040_5600,
    VIDIOC_SUBDEV_G_CLIENT_CAP = 0x8008_5665,
    VIDIOC_SUBDEV_S_CLIENT_CAP = 0xc008_5666,
    VIDIOC_SUBDEV_G_ROUTING = 0xc040_5626,
    VIDIOC_SUBDEV_S_ROUTING = 0xc040_5627,
    VIDIOC_SUBDEV_G_CROP = 0xc038_563b,
    VIDIOC_SUBDEV_S_CROP = 0xc038_563c,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_unique() {
        for (i, a) in SubdevIoctl::ALL.iter().enumerate() {
            for b in &SubdevIoctl::ALL[i + 1..] {
                assert_ne!(a.cmd(), b.cmd());
                assert_ne!(a.name(), b.name());
            }
            assert_eq!(SubdevIoctl::from_cmd(a.cmd()), Some(*a));
            assert_eq!(SubdevIoctl::from_name(a.name()), Some(*a));
            assert_eq!(SUBDEV_IOCTLS.name(a.cmd()), Some(a.name()));
        }
        assert_eq!(SUBDEV_IOCTLS.defs.len(), SubdevIoctl::ALL.len());
    }
}
