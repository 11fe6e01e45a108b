//! Node kinds, device numbers and the errno a node answers after unplug.

use crate::errno::Errno;
use crate::fops::PollMask;

/// The kind of a character device node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// A misc device (major 10); the name must be given.
    Misc,
    /// A generic character device with a dynamic major; the name must be given.
    Char,
    /// A V4L2 video node (`/dev/videoN`, major 81).
    Video,
    /// A V4L2 sub-device node (`/dev/v4l-subdevN`, major 81).
    Subdev,
    /// A media controller node (`/dev/mediaN`, dynamic major).
    Media,
    /// An audio PCM capture node (`/dev/snd/pcmCND0c` flattened to `pcmCND0c`, major 116).
    Audio,
}

impl NodeKind {
    /// The major number of this kind (dynamic ones are fixed per kernel).
    pub(crate) fn fixed_major(self) -> Option<u32> {
        match self {
            NodeKind::Misc => Some(10),
            NodeKind::Video | NodeKind::Subdev => Some(81),
            NodeKind::Audio => Some(116),
            NodeKind::Media | NodeKind::Char => None,
        }
    }

    /// Name of the `n`th node of this kind, or `None` if the kind needs a given name.
    pub(crate) fn default_name(self, n: u32) -> Option<String> {
        match self {
            NodeKind::Video => Some(format!("video{n}")),
            NodeKind::Subdev => Some(format!("v4l-subdev{n}")),
            NodeKind::Media => Some(format!("media{n}")),
            NodeKind::Audio => Some(format!("pcmC{n}D0c")),
            NodeKind::Misc | NodeKind::Char => None,
        }
    }

    /// What userspace sees on this kind after unplug (the table of docs/rules.md, "What userspace sees after unplug").
    pub fn default_policy(self) -> ErrnoPolicy {
        match self {
            NodeKind::Video => {
                ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP | PollMask::PRI)
            }
            // v4l2_read/v4l2_write answer EINVAL before the registration
            // check when the node has no read or write operation, which a
            // subdev node never has.
            NodeKind::Subdev => ErrnoPolicy {
                read: Errno::EINVAL,
                write: Errno::EINVAL,
                ..ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP | PollMask::PRI)
            },
            // media_read/media_write answer EINVAL before the registration
            // check: the media device has no read or write operation.
            NodeKind::Media => ErrnoPolicy {
                open: Errno::ENXIO,
                ioctl: Errno::EIO,
                read: Errno::EINVAL,
                write: Errno::EINVAL,
                mmap: Errno::ENODEV,
                poll: PollMask::ERR | PollMask::HUP,
            },
            // ALSA's snd_disconnect_poll.
            NodeKind::Audio => ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::NVAL),
            NodeKind::Misc | NodeKind::Char => {
                ErrnoPolicy::uniform(Errno::ENODEV, PollMask::ERR | PollMask::HUP)
            }
        }
    }
}

/// `(major, minor)` of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Devt {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

impl std::fmt::Display for Devt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// What each operation returns once the node is unplugged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrnoPolicy {
    /// `open`.
    pub open: Errno,
    /// `ioctl`.
    pub ioctl: Errno,
    /// `read`.
    pub read: Errno,
    /// `write`.
    pub write: Errno,
    /// `mmap`.
    pub mmap: Errno,
    /// The mask `poll` reports.
    pub poll: PollMask,
}

impl ErrnoPolicy {
    /// One errno for every call, and a poll mask.
    pub const fn uniform(e: Errno, poll: PollMask) -> Self {
        Self {
            open: e,
            ioctl: e,
            read: e,
            write: e,
            mmap: e,
            poll,
        }
    }

    /// The errno for an operation label (ioctl names map to `ioctl`).
    pub fn errno_for(&self, op: &str) -> Errno {
        match op {
            "open" => self.open,
            "read" => self.read,
            "write" => self.write,
            "mmap" => self.mmap,
            _ => self.ioctl,
        }
    }
}
