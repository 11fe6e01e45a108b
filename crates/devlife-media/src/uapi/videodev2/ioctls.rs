//! The video-node ioctls devlife knows by name, the video node's ioctl
//! table, and decoding a command per node kind (video and subdev numbers
//! collide, see [`super::super::ioctl`]).

use super::*;
use crate::uapi::ioctl::{IoctlDef, IoctlTable, NodeKind};
use crate::uapi::subdev::SubdevIoctl;

/// Defines, from one list of names, the enum of video-node ioctls, its
/// [`VideoIoctl::ALL`] and the video node's [`VIDEO_IOCTLS`] table, so the
/// three cannot disagree.
macro_rules! video_ioctls {
    ($($v:ident),* $(,)?) => {
        /// The video-node ioctls devlife knows by name. Those marked "served" have
        /// handlers; the others are recognised (for names and tracing) and answer
        /// `ENOTTY`, as the kernel does for ioctls a driver does not implement.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // the variants are the ioctl names
        pub enum VideoIoctl {
            $($v),*
        }

        impl VideoIoctl {
            /// Every known video ioctl.
            pub const ALL: &'static [VideoIoctl] = &[$(Self::$v),*];
        }

        /// The ioctl table of video nodes (`/dev/videoN`), matched on the full number.
        pub const VIDEO_IOCTLS: IoctlTable<VideoIoctl> = IoctlTable {
            kind: NodeKind::Video,
            defs: &[$(IoctlDef { cmd: VideoIoctl::$v.cmd(), name: VideoIoctl::$v.name(), key: VideoIoctl::$v }),*],
        };
    };
}
video_ioctls!(
    Querycap,
    EnumFmt,
    GFmt,
    SFmt,
    TryFmt,
    Reqbufs,
    Querybuf,
    Qbuf,
    Dqbuf,
    Streamon,
    Streamoff,
    Expbuf,
    CreateBufs,
    PrepareBuf,
    RemoveBufs,
    GParm,
    SParm,
    Enuminput,
    GInput,
    SInput,
    GCtrl,
    SCtrl,
    Queryctrl,
    QueryExtCtrl,
    GExtCtrls,
    SExtCtrls,
    GPriority,
    SPriority,
    LogStatus,
    EnumFramesizes,
    EnumFrameintervals,
    Dqevent,
    SubscribeEvent,
    GSelection,
    SSelection,
    Querymenu,
    TryExtCtrls,
    UnsubscribeEvent,
);

impl VideoIoctl {
    /// The ioctl number.
    pub const fn cmd(self) -> u32 {
        match self {
            Self::Querycap => VIDIOC_QUERYCAP,
            Self::EnumFmt => VIDIOC_ENUM_FMT,
            Self::GFmt => VIDIOC_G_FMT,
            Self::SFmt => VIDIOC_S_FMT,
            Self::TryFmt => VIDIOC_TRY_FMT,
            Self::Reqbufs => VIDIOC_REQBUFS,
            Self::Querybuf => VIDIOC_QUERYBUF,
            Self::Qbuf => VIDIOC_QBUF,
            Self::Dqbuf => VIDIOC_DQBUF,
            Self::Streamon => VIDIOC_STREAMON,
            Self::Streamoff => VIDIOC_STREAMOFF,
            Self::Expbuf => VIDIOC_EXPBUF,
            Self::CreateBufs => VIDIOC_CREATE_BUFS,
            Self::PrepareBuf => VIDIOC_PREPARE_BUF,
            Self::RemoveBufs => VIDIOC_REMOVE_BUFS,
            Self::GParm => VIDIOC_G_PARM,
            Self::SParm => VIDIOC_S_PARM,
            Self::Enuminput => VIDIOC_ENUMINPUT,
            Self::GInput => VIDIOC_G_INPUT,
            Self::SInput => VIDIOC_S_INPUT,
            Self::GCtrl => VIDIOC_G_CTRL,
            Self::SCtrl => VIDIOC_S_CTRL,
            Self::Queryctrl => VIDIOC_QUERYCTRL,
            Self::QueryExtCtrl => VIDIOC_QUERY_EXT_CTRL,
            Self::GExtCtrls => VIDIOC_G_EXT_CTRLS,
            Self::SExtCtrls => VIDIOC_S_EXT_CTRLS,
            Self::GPriority => VIDIOC_G_PRIORITY,
            Self::SPriority => VIDIOC_S_PRIORITY,
            Self::LogStatus => VIDIOC_LOG_STATUS,
            Self::EnumFramesizes => VIDIOC_ENUM_FRAMESIZES,
            Self::EnumFrameintervals => VIDIOC_ENUM_FRAMEINTERVALS,
            Self::Dqevent => VIDIOC_DQEVENT,
            Self::SubscribeEvent => VIDIOC_SUBSCRIBE_EVENT,
            Self::GSelection => VIDIOC_G_SELECTION,
            Self::SSelection => VIDIOC_S_SELECTION,
            Self::Querymenu => VIDIOC_QUERYMENU,
            Self::TryExtCtrls => VIDIOC_TRY_EXT_CTRLS,
            Self::UnsubscribeEvent => VIDIOC_UNSUBSCRIBE_EVENT,
        }
    }

    /// The kernel name, e.g. `"VIDIOC_DQBUF"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Querycap => "VIDIOC_QUERYCAP",
            Self::EnumFmt => "VIDIOC_ENUM_FMT",
            Self::GFmt => "VIDIOC_G_FMT",
            Self::SFmt => "VIDIOC_S_FMT",
            Self::TryFmt => "VIDIOC_TRY_FMT",
            Self::Reqbufs => "VIDIOC_REQBUFS",
            Self::Querybuf => "VIDIOC_QUERYBUF",
            Self::Qbuf => "VIDIOC_QBUF",
            Self::Dqbuf => "VIDIOC_DQBUF",
            Self::Streamon => "VIDIOC_STREAMON",
            Self::Streamoff => "VIDIOC_STREAMOFF",
            Self::Expbuf => "VIDIOC_EXPBUF",
            Self::CreateBufs => "VIDIOC_CREATE_BUFS",
            Self::PrepareBuf => "VIDIOC_PREPARE_BUF",
            Self::RemoveBufs => "VIDIOC_REMOVE_BUFS",
            Self::GParm => "VIDIOC_G_PARM",
            Self::SParm => "VIDIOC_S_PARM",
            Self::Enuminput => "VIDIOC_ENUMINPUT",
            Self::GInput => "VIDIOC_G_INPUT",
            Self::SInput => "VIDIOC_S_INPUT",
            Self::GCtrl => "VIDIOC_G_CTRL",
            Self::SCtrl => "VIDIOC_S_CTRL",
            Self::Queryctrl => "VIDIOC_QUERYCTRL",
            Self::QueryExtCtrl => "VIDIOC_QUERY_EXT_CTRL",
            Self::GExtCtrls => "VIDIOC_G_EXT_CTRLS",
            Self::SExtCtrls => "VIDIOC_S_EXT_CTRLS",
            Self::GPriority => "VIDIOC_G_PRIORITY",
            Self::SPriority => "VIDIOC_S_PRIORITY",
            Self::LogStatus => "VIDIOC_LOG_STATUS",
            Self::EnumFramesizes => "VIDIOC_ENUM_FRAMESIZES",
            Self::EnumFrameintervals => "VIDIOC_ENUM_FRAMEINTERVALS",
            Self::Dqevent => "VIDIOC_DQEVENT",
            Self::SubscribeEvent => "VIDIOC_SUBSCRIBE_EVENT",
            Self::GSelection => "VIDIOC_G_SELECTION",
            Self::SSelection => "VIDIOC_S_SELECTION",
            Self::Querymenu => "VIDIOC_QUERYMENU",
            Self::TryExtCtrls => "VIDIOC_TRY_EXT_CTRLS",
            Self::UnsubscribeEvent => "VIDIOC_UNSUBSCRIBE_EVENT",
        }
    }

    /// Whether every devlife video node implements this ioctl (see also
    /// [`needs_controls`](Self::needs_controls)).
    pub const fn is_served(self) -> bool {
        matches!(
            self,
            Self::Querycap
                | Self::EnumFmt
                | Self::GFmt
                | Self::SFmt
                | Self::TryFmt
                | Self::Reqbufs
                | Self::Querybuf
                | Self::Qbuf
                | Self::Dqbuf
                | Self::Streamon
                | Self::Streamoff
                | Self::GPriority
                | Self::SPriority
                | Self::CreateBufs
                | Self::PrepareBuf
        )
    }

    /// Whether devlife's video nodes serve this ioctl when the node has
    /// controls (`vdev->ctrl_handler`): the control and event ioctls.
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

    /// Decodes a video-node ioctl number (exact match on all 32 bits).
    pub fn from_cmd(cmd: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|i| i.cmd() == cmd)
    }

    /// Looks an ioctl up by its kernel name (`"VIDIOC_DQBUF"`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|i| i.name() == name)
    }
}

/// `enum vfl_devnode_type`: the kind of a V4L2 device node, which names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VflType {
    /// `/dev/videoN`.
    Video,
    /// `/dev/vbiN`.
    Vbi,
    /// `/dev/radioN`.
    Radio,
    /// `/dev/v4l-subdevN`.
    Subdev,
    /// `/dev/swradioN`.
    Sdr,
    /// `/dev/v4l-touchN`.
    Touch,
}

impl VflType {
    /// The node name base (`video`, `v4l-subdev`, ...), as `__video_register_device` picks it.
    pub const fn name_base(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Vbi => "vbi",
            Self::Radio => "radio",
            Self::Subdev => "v4l-subdev",
            Self::Sdr => "swradio",
            Self::Touch => "v4l-touch",
        }
    }

    /// The ioctl number space of nodes of this type.
    pub const fn node_kind(self) -> NodeKind {
        match self {
            Self::Subdev => NodeKind::Subdev,
            _ => NodeKind::Video,
        }
    }
}

/// A decoded V4L2 ioctl of some node kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V4l2Ioctl {
    /// A video-node ioctl.
    Video(VideoIoctl),
    /// A subdev-node ioctl.
    Subdev(SubdevIoctl),
}

impl V4l2Ioctl {
    /// The kernel name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Video(v) => v.name(),
            Self::Subdev(s) => s.name(),
        }
    }
    /// The ioctl number.
    pub const fn cmd(self) -> u32 {
        match self {
            Self::Video(v) => v.cmd(),
            Self::Subdev(s) => s.cmd(),
        }
    }
}

/// Decodes `cmd` for a node of kind `kind`: subdev nodes know only the subdev
/// table, video nodes only the video table, media nodes neither. `None`
/// means `ENOTTY`.
pub fn decode_ioctl(kind: NodeKind, cmd: u32) -> Option<V4l2Ioctl> {
    match kind {
        NodeKind::Subdev => crate::uapi::subdev::SUBDEV_IOCTLS
            .lookup(cmd)
            .map(|d| V4l2Ioctl::Subdev(d.key)),
        NodeKind::Video => VIDEO_IOCTLS.lookup(cmd).map(|d| V4l2Ioctl::Video(d.key)),
        NodeKind::Media => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::ioctl::IoctlCmd;

    #[test]
    fn names_and_numbers_are_unique() {
        for (i, a) in VideoIoctl::ALL.iter().enumerate() {
            for b in &VideoIoctl::ALL[i + 1..] {
                assert_ne!(a.cmd(), b.cmd(), "{a:?} {b:?}");
                assert_ne!(a.name(), b.name());
            }
            assert_eq!(VideoIoctl::from_cmd(a.cmd()), Some(*a));
            assert_eq!(VideoIoctl::from_name(a.name()), Some(*a));
            assert_eq!(IoctlCmd(a.cmd()).ty(), b'V');
            assert_eq!(VIDEO_IOCTLS.name(a.cmd()), Some(a.name()));
        }
        assert_eq!(VIDEO_IOCTLS.defs.len(), VideoIoctl::ALL.len());
    }

    #[test]
    fn colliding_numbers_decode_per_node_kind() {
        use crate::uapi::subdev::*;
        // Same type 'V' and nr 4, different sizes.
        assert_eq!(
            IoctlCmd(VIDIOC_G_FMT).nr(),
            IoctlCmd(VIDIOC_SUBDEV_G_FMT).nr()
        );
        assert_eq!(
            decode_ioctl(NodeKind::Video, VIDIOC_G_FMT),
            Some(V4l2Ioctl::Video(VideoIoctl::GFmt))
        );
        assert_eq!(decode_ioctl(NodeKind::Video, VIDIOC_SUBDEV_G_FMT), None);
        assert_eq!(decode_ioctl(NodeKind::Subdev, VIDIOC_G_FMT), None);
        assert_eq!(
            decode_ioctl(NodeKind::Subdev, VIDIOC_SUBDEV_QUERYCAP),
            Some(V4l2Ioctl::Subdev(SubdevIoctl::Querycap))
        );
        assert_eq!(decode_ioctl(NodeKind::Subdev, VIDIOC_QUERYCAP), None);
        assert_eq!(decode_ioctl(NodeKind::Media, VIDIOC_QUERYCAP), None);
        assert_eq!(VflType::Subdev.node_kind(), NodeKind::Subdev);
        assert_eq!(VflType::Subdev.name_base(), "v4l-subdev");
    }
}
