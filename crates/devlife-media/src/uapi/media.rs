//! `linux/media.h`: Media Controller structs, constants and ioctl numbers.
//!
//! Layouts are those of x86_64 (docs/uapi-sizes.txt); every struct's size,
//! alignment and field offsets are checked at compile time. The `media_v2_*`
//! structs are `packed` in the header and are `#[repr(C, packed)]` here
//! (alignment 1); their fields sit at natural offsets anyway.
//!
//! Unions are represented by their `raw` member as plain bytes/words, with
//! accessors for the members we use (`media_entity_desc.dev`,
//! `media_v2_interface.devnode`), so no `unsafe` is needed.
//!
//! ```
//! use devlife_media::uapi::ioctl::Wire;
//! use devlife_media::uapi::media::*;
//! let mut d = MediaEntityDesc::ZERO;
//! d.id = 1 | MEDIA_ENT_ID_FLAG_NEXT;
//! d.set_dev(81, 3);
//! let bytes = d.to_vec();
//! assert_eq!(bytes.len(), 256);
//! assert_eq!(&bytes[72..80], &[81, 0, 0, 0, 3, 0, 0, 0]);
//! assert_eq!(MediaEntityDesc::decode(&bytes).dev(), (81, 3));
//! ```

use super::ioctl::{IoctlDef, IoctlTable, NodeKind, io, ior, iowr, uapi_struct};

// ---------------------------------------------------------------------------
// Entity functions
// ---------------------------------------------------------------------------

/// Base of the new-style function range.
pub const MEDIA_ENT_F_BASE: u32 = 0x0000_0000;
/// Base of the legacy devnode type range.
pub const MEDIA_ENT_F_OLD_BASE: u32 = 0x0001_0000;
/// Base of the legacy subdev type range.
pub const MEDIA_ENT_F_OLD_SUBDEV_BASE: u32 = 0x0002_0000;
/// Unknown function (the core warns when an entity registers with it).
pub const MEDIA_ENT_F_UNKNOWN: u32 = MEDIA_ENT_F_BASE;
/// A subdev of unknown function (what ENUM_ENTITIES reports for new-range subdevs).
pub const MEDIA_ENT_F_V4L2_SUBDEV_UNKNOWN: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE;
/// Digital TV demodulator.
pub const MEDIA_ENT_F_DTV_DEMOD: u32 = MEDIA_ENT_F_BASE + 0x0001;
/// MPEG transport stream demux.
pub const MEDIA_ENT_F_TS_DEMUX: u32 = MEDIA_ENT_F_BASE + 0x0002;
/// Digital TV conditional access.
pub const MEDIA_ENT_F_DTV_CA: u32 = MEDIA_ENT_F_BASE + 0x0003;
/// Digital TV network decapsulation.
pub const MEDIA_ENT_F_DTV_NET_DECAP: u32 = MEDIA_ENT_F_BASE + 0x0004;
/// V4L2 video I/O (a video device node).
pub const MEDIA_ENT_F_IO_V4L: u32 = MEDIA_ENT_F_OLD_BASE + 1;
/// DVB I/O.
pub const MEDIA_ENT_F_IO_DTV: u32 = MEDIA_ENT_F_BASE + 0x01001;
/// VBI I/O.
pub const MEDIA_ENT_F_IO_VBI: u32 = MEDIA_ENT_F_BASE + 0x01002;
/// Software radio I/O.
pub const MEDIA_ENT_F_IO_SWRADIO: u32 = MEDIA_ENT_F_BASE + 0x01003;
/// Camera sensor.
pub const MEDIA_ENT_F_CAM_SENSOR: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE + 1;
/// Flash controller.
pub const MEDIA_ENT_F_FLASH: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE + 2;
/// Lens controller.
pub const MEDIA_ENT_F_LENS: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE + 3;
/// Analog video decoder.
pub const MEDIA_ENT_F_ATV_DECODER: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE + 4;
/// A tuner (old subdev function range).
pub const MEDIA_ENT_F_TUNER: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE + 5;
/// IF-PLL video decoder.
pub const MEDIA_ENT_F_IF_VID_DECODER: u32 = MEDIA_ENT_F_BASE + 0x02001;
/// IF-PLL audio decoder.
pub const MEDIA_ENT_F_IF_AUD_DECODER: u32 = MEDIA_ENT_F_BASE + 0x02002;
/// Audio capture.
pub const MEDIA_ENT_F_AUDIO_CAPTURE: u32 = MEDIA_ENT_F_BASE + 0x03001;
/// Audio playback.
pub const MEDIA_ENT_F_AUDIO_PLAYBACK: u32 = MEDIA_ENT_F_BASE + 0x03002;
/// Audio mixer.
pub const MEDIA_ENT_F_AUDIO_MIXER: u32 = MEDIA_ENT_F_BASE + 0x03003;
/// Video composer (blender).
pub const MEDIA_ENT_F_PROC_VIDEO_COMPOSER: u32 = MEDIA_ENT_F_BASE + 0x4001;
/// Video pixel formatter.
pub const MEDIA_ENT_F_PROC_VIDEO_PIXEL_FORMATTER: u32 = MEDIA_ENT_F_BASE + 0x4002;
/// Video pixel encoding converter (vimc's debayer).
pub const MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV: u32 = MEDIA_ENT_F_BASE + 0x4003;
/// Video look-up table.
pub const MEDIA_ENT_F_PROC_VIDEO_LUT: u32 = MEDIA_ENT_F_BASE + 0x4004;
/// Video scaler.
pub const MEDIA_ENT_F_PROC_VIDEO_SCALER: u32 = MEDIA_ENT_F_BASE + 0x4005;
/// Video statistics.
pub const MEDIA_ENT_F_PROC_VIDEO_STATISTICS: u32 = MEDIA_ENT_F_BASE + 0x4006;
/// Video encoder.
pub const MEDIA_ENT_F_PROC_VIDEO_ENCODER: u32 = MEDIA_ENT_F_BASE + 0x4007;
/// Video decoder.
pub const MEDIA_ENT_F_PROC_VIDEO_DECODER: u32 = MEDIA_ENT_F_BASE + 0x4008;
/// Image signal processor.
pub const MEDIA_ENT_F_PROC_VIDEO_ISP: u32 = MEDIA_ENT_F_BASE + 0x4009;
/// Video multiplexer.
pub const MEDIA_ENT_F_VID_MUX: u32 = MEDIA_ENT_F_BASE + 0x5001;
/// Video interface bridge.
pub const MEDIA_ENT_F_VID_IF_BRIDGE: u32 = MEDIA_ENT_F_BASE + 0x5002;
/// Digital video decoder.
pub const MEDIA_ENT_F_DV_DECODER: u32 = MEDIA_ENT_F_BASE + 0x6001;
/// Digital video encoder.
pub const MEDIA_ENT_F_DV_ENCODER: u32 = MEDIA_ENT_F_BASE + 0x6002;

/// Legacy type mask (`media_entity_desc.type`).
pub const MEDIA_ENT_TYPE_MASK: u32 = 0xffff_0000;
/// Legacy subtype mask.
pub const MEDIA_ENT_SUBTYPE_MASK: u32 = 0x0000_ffff;
/// Legacy type "device node".
pub const MEDIA_ENT_T_DEVNODE: u32 = MEDIA_ENT_F_OLD_BASE;
/// Legacy type "V4L2 subdev".
pub const MEDIA_ENT_T_V4L2_SUBDEV: u32 = MEDIA_ENT_F_OLD_SUBDEV_BASE;
/// Legacy "unknown device node" (reported for non-subdev entities with a
/// new-range function other than IO_V4L).
pub const MEDIA_ENT_T_DEVNODE_UNKNOWN: u32 = MEDIA_ENT_F_OLD_BASE | MEDIA_ENT_SUBTYPE_MASK;

// ---------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------

/// Default entity of its type.
pub const MEDIA_ENT_FL_DEFAULT: u32 = 1 << 0;
/// A connector.
pub const MEDIA_ENT_FL_CONNECTOR: u32 = 1 << 1;
/// ENUM_ENTITIES: return the first entity with an id greater than the given one.
pub const MEDIA_ENT_ID_FLAG_NEXT: u32 = 1 << 31;

/// Sink pad.
pub const MEDIA_PAD_FL_SINK: u32 = 1 << 0;
/// Source pad.
pub const MEDIA_PAD_FL_SOURCE: u32 = 1 << 1;
/// The pad must be connected by an enabled link to start a pipeline.
pub const MEDIA_PAD_FL_MUST_CONNECT: u32 = 1 << 2;

/// The link is enabled.
pub const MEDIA_LNK_FL_ENABLED: u32 = 1 << 0;
/// The link's enabled state cannot change.
pub const MEDIA_LNK_FL_IMMUTABLE: u32 = 1 << 1;
/// The link can change while streaming.
pub const MEDIA_LNK_FL_DYNAMIC: u32 = 1 << 2;
/// Mask of the link type bits.
pub const MEDIA_LNK_FL_LINK_TYPE: u32 = 0xf << 28;
/// Data link (pad to pad).
pub const MEDIA_LNK_FL_DATA_LINK: u32 = 0;
/// Interface link (interface to entity).
pub const MEDIA_LNK_FL_INTERFACE_LINK: u32 = 1 << 28;
/// Ancillary link (entity to entity, e.g. sensor to lens).
pub const MEDIA_LNK_FL_ANCILLARY_LINK: u32 = 2 << 28;

// ---------------------------------------------------------------------------
// Interface types
// ---------------------------------------------------------------------------

/// Base of DVB interfaces.
pub const MEDIA_INTF_T_DVB_BASE: u32 = 0x0000_0100;
/// Base of V4L interfaces.
pub const MEDIA_INTF_T_V4L_BASE: u32 = 0x0000_0200;
/// Base of ALSA interfaces.
pub const MEDIA_INTF_T_ALSA_BASE: u32 = 0x0000_0300;
/// DVB frontend.
pub const MEDIA_INTF_T_DVB_FE: u32 = MEDIA_INTF_T_DVB_BASE;
/// DVB demux.
pub const MEDIA_INTF_T_DVB_DEMUX: u32 = MEDIA_INTF_T_DVB_BASE + 1;
/// DVB DVR.
pub const MEDIA_INTF_T_DVB_DVR: u32 = MEDIA_INTF_T_DVB_BASE + 2;
/// DVB conditional access.
pub const MEDIA_INTF_T_DVB_CA: u32 = MEDIA_INTF_T_DVB_BASE + 3;
/// DVB network.
pub const MEDIA_INTF_T_DVB_NET: u32 = MEDIA_INTF_T_DVB_BASE + 4;
/// `/dev/videoN`.
pub const MEDIA_INTF_T_V4L_VIDEO: u32 = MEDIA_INTF_T_V4L_BASE;
/// `/dev/vbiN`.
pub const MEDIA_INTF_T_V4L_VBI: u32 = MEDIA_INTF_T_V4L_BASE + 1;
/// `/dev/radioN`.
pub const MEDIA_INTF_T_V4L_RADIO: u32 = MEDIA_INTF_T_V4L_BASE + 2;
/// `/dev/v4l-subdevN`.
pub const MEDIA_INTF_T_V4L_SUBDEV: u32 = MEDIA_INTF_T_V4L_BASE + 3;
/// `/dev/swradioN`.
pub const MEDIA_INTF_T_V4L_SWRADIO: u32 = MEDIA_INTF_T_V4L_BASE + 4;
/// `/dev/v4l-touchN`.
pub const MEDIA_INTF_T_V4L_TOUCH: u32 = MEDIA_INTF_T_V4L_BASE + 5;
/// ALSA PCM capture.
pub const MEDIA_INTF_T_ALSA_PCM_CAPTURE: u32 = MEDIA_INTF_T_ALSA_BASE;
/// ALSA PCM playback.
pub const MEDIA_INTF_T_ALSA_PCM_PLAYBACK: u32 = MEDIA_INTF_T_ALSA_BASE + 1;
/// ALSA control.
pub const MEDIA_INTF_T_ALSA_CONTROL: u32 = MEDIA_INTF_T_ALSA_BASE + 2;
/// ALSA compress.
pub const MEDIA_INTF_T_ALSA_COMPRESS: u32 = MEDIA_INTF_T_ALSA_BASE + 3;
/// ALSA raw MIDI.
pub const MEDIA_INTF_T_ALSA_RAWMIDI: u32 = MEDIA_INTF_T_ALSA_BASE + 4;
/// ALSA hwdep.
pub const MEDIA_INTF_T_ALSA_HWDEP: u32 = MEDIA_INTF_T_ALSA_BASE + 5;
/// ALSA sequencer.
pub const MEDIA_INTF_T_ALSA_SEQUENCER: u32 = MEDIA_INTF_T_ALSA_BASE + 6;
/// ALSA timer.
pub const MEDIA_INTF_T_ALSA_TIMER: u32 = MEDIA_INTF_T_ALSA_BASE + 7;

/// `KERNEL_VERSION(a, b, c)`.
pub const fn kernel_version(a: u32, b: u32, c: u32) -> u32 {
    (a << 16) | (b << 8) | c
}

/// `media_version` / `driver_version` this model reports (`LINUX_VERSION_CODE`
/// of the v6.17 kernel the model follows, docs/linux-today.md).
pub const MEDIA_API_VERSION: u32 = kernel_version(6, 17, 0);

/// `MEDIA_V2_ENTITY_HAS_FLAGS(media_version)`.
pub const fn media_v2_entity_has_flags(media_version: u32) -> bool {
    media_version >= kernel_version(4, 19, 0)
}

/// `MEDIA_V2_PAD_HAS_INDEX(media_version)`.
pub const fn media_v2_pad_has_index(media_version: u32) -> bool {
    media_version >= kernel_version(4, 19, 0)
}

// ---------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------

uapi_struct! {
    /// `struct media_device_info` (MEDIA_IOC_DEVICE_INFO).
    #[repr(C)]
    pub struct MediaDeviceInfo: size 256, align 4 {
        /// Driver name.
        @0 pub driver: [u8; 16],
        /// Device model.
        @16 pub model: [u8; 32],
        /// Serial number.
        @48 pub serial: [u8; 40],
        /// Bus location.
        @88 pub bus_info: [u8; 32],
        /// Media API version (`LINUX_VERSION_CODE`).
        @120 pub media_version: u32,
        /// Hardware revision.
        @124 pub hw_revision: u32,
        /// Driver version (equals `media_version`).
        @128 pub driver_version: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @132 pub reserved: [u32; 31],
    }
}

uapi_struct! {
    /// `struct media_entity_desc` (MEDIA_IOC_ENUM_ENTITIES). The union at
    /// offset 72 is `raw`; see [`MediaEntityDesc::dev`].
    #[repr(C)]
    pub struct MediaEntityDesc: size 256, align 4 {
        /// Entity id (with [`MEDIA_ENT_ID_FLAG_NEXT`] on input).
        @0 pub id: u32,
        /// Entity name.
        @4 pub name: [u8; 32],
        /// Legacy type (function, remapped; see the ENUM_ENTITIES handler).
        @36 pub type_: u32,
        /// Unused by this call; written as zero.
        @40 pub revision: u32,
        /// Entity flags.
        @44 pub flags: u32,
        /// Unused by this call; written as zero.
        @48 pub group_id: u32,
        /// Number of pads.
        @52 pub pads: u16,
        /// Number of outbound data links.
        @54 pub links: u16,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @56 pub reserved: [u32; 4],
        /// The union `{ dev{major,minor} | alsa | v4l | fb | dvb | raw[184] }`.
        @72 pub raw: [u8; 184],
    }
}

/// Offset of the `dev` union member of `media_entity_desc` (docs/uapi-sizes.txt).
pub const MEDIA_ENTITY_DESC_DEV_OFFSET: usize = 72;
const _: () = assert!(std::mem::offset_of!(MediaEntityDesc, raw) == MEDIA_ENTITY_DESC_DEV_OFFSET);

impl MediaEntityDesc {
    /// `dev.major`, `dev.minor` of the union.
    pub fn dev(&self) -> (u32, u32) {
        (
            u32::from_le_bytes([self.raw[0], self.raw[1], self.raw[2], self.raw[3]]),
            u32::from_le_bytes([self.raw[4], self.raw[5], self.raw[6], self.raw[7]]),
        )
    }

    /// Sets `dev.major`, `dev.minor`.
    pub fn set_dev(&mut self, major: u32, minor: u32) {
        self.raw[0..4].copy_from_slice(&major.to_le_bytes());
        self.raw[4..8].copy_from_slice(&minor.to_le_bytes());
    }
}

uapi_struct! {
    /// `struct media_pad_desc`.
    #[repr(C)]
    pub struct MediaPadDesc: size 20, align 4 {
        /// Entity id.
        @0 pub entity: u32,
        /// Pad index.
        @4 pub index: u16,
        /// Pad flags.
        @8 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @12 pub reserved: [u32; 2],
    }
}

uapi_struct! {
    /// `struct media_link_desc` (MEDIA_IOC_SETUP_LINK, and ENUM_LINKS' array).
    #[repr(C)]
    pub struct MediaLinkDesc: size 52, align 4 {
        /// Source pad.
        @0 pub source: MediaPadDesc,
        /// Sink pad.
        @20 pub sink: MediaPadDesc,
        /// Link flags.
        @40 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @44 pub reserved: [u32; 2],
    }
}

uapi_struct! {
    /// `struct media_links_enum` (MEDIA_IOC_ENUM_LINKS). `pads` and `links` are
    /// **user pointers** (0 = not requested).
    #[repr(C)]
    pub struct MediaLinksEnum: size 40, align 8 {
        /// Entity id.
        @0 pub entity: u32,
        /// `struct media_pad_desc *pads` (entity's `pads` entries).
        @8 pub pads: u64,
        /// `struct media_link_desc *links` (entity's `links` entries).
        @16 pub links: u64,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @24 pub reserved: [u32; 4],
    }
}

uapi_struct! {
    /// `struct media_v2_entity`.
    #[repr(C, packed)]
    pub struct MediaV2Entity: size 96, align 1 {
        /// Entity id.
        @0 pub id: u32,
        /// Entity name.
        @4 pub name: [u8; 64],
        /// Entity function.
        @68 pub function: u32,
        /// Entity flags.
        @72 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @76 pub reserved: [u32; 5],
    }
}

uapi_struct! {
    /// `struct media_v2_intf_devnode`.
    #[repr(C, packed)]
    pub struct MediaV2IntfDevnode: size 8, align 1 {
        /// Device major.
        @0 pub major: u32,
        /// Device minor.
        @4 pub minor: u32,
    }
}

uapi_struct! {
    /// `struct media_v2_interface`. The union at offset 48 is `raw`; see
    /// [`MediaV2Interface::devnode`].
    #[repr(C, packed)]
    pub struct MediaV2Interface: size 112, align 1 {
        /// Interface id.
        @0 pub id: u32,
        /// Interface type (`MEDIA_INTF_T_*`).
        @4 pub intf_type: u32,
        /// Interface flags.
        @8 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @12 pub reserved: [u32; 9],
        /// The union `{ devnode | raw[16] }`.
        @48 pub raw: [u32; 16],
    }
}

impl MediaV2Interface {
    /// The `devnode` member of the union.
    pub fn devnode(&self) -> MediaV2IntfDevnode {
        let raw = self.raw;
        MediaV2IntfDevnode {
            major: raw[0],
            minor: raw[1],
        }
    }

    /// Sets the `devnode` member.
    pub fn set_devnode(&mut self, major: u32, minor: u32) {
        let mut raw = self.raw;
        raw[0] = major;
        raw[1] = minor;
        self.raw = raw;
    }
}

uapi_struct! {
    /// `struct media_v2_pad`.
    #[repr(C, packed)]
    pub struct MediaV2Pad: size 32, align 1 {
        /// Pad id.
        @0 pub id: u32,
        /// Id of the entity the pad belongs to.
        @4 pub entity_id: u32,
        /// Pad flags.
        @8 pub flags: u32,
        /// Pad index.
        @12 pub index: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @16 pub reserved: [u32; 4],
    }
}

uapi_struct! {
    /// `struct media_v2_link`.
    #[repr(C, packed)]
    pub struct MediaV2Link: size 40, align 1 {
        /// Link id.
        @0 pub id: u32,
        /// Source object id (pad, interface or primary entity).
        @4 pub source_id: u32,
        /// Sink object id (pad, entity or ancillary entity).
        @8 pub sink_id: u32,
        /// Link flags.
        @12 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @16 pub reserved: [u32; 6],
    }
}

uapi_struct! {
    /// `struct media_v2_topology` (MEDIA_IOC_G_TOPOLOGY). The `ptr_*` fields are
    /// **user pointers** (0 = only count).
    #[repr(C, packed)]
    pub struct MediaV2Topology: size 72, align 1 {
        /// Bumped on every graph object creation and removal.
        @0 pub topology_version: u64,
        /// Entities (in: array capacity; out: count).
        @8 pub num_entities: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @12 pub reserved1: u32,
        /// `struct media_v2_entity *`.
        @16 pub ptr_entities: u64,
        /// Number of interfaces (the array size on input, the total on output).
        @24 pub num_interfaces: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @28 pub reserved2: u32,
        /// `struct media_v2_interface *`.
        @32 pub ptr_interfaces: u64,
        /// Number of pads (the array size on input, the total on output).
        @40 pub num_pads: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @44 pub reserved3: u32,
        /// `struct media_v2_pad *`.
        @48 pub ptr_pads: u64,
        /// Links (backlinks excluded).
        @56 pub num_links: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @60 pub reserved4: u32,
        /// `struct media_v2_link *`.
        @64 pub ptr_links: u64,
    }
}

// ---------------------------------------------------------------------------
// ioctls
// ---------------------------------------------------------------------------

/// The ioctl type (magic) of the media node.
pub const MEDIA_IOC_MAGIC: u8 = b'|';

/// `_IOWR('|', 0x00, struct media_device_info)`.
pub const MEDIA_IOC_DEVICE_INFO: u32 = iowr(MEDIA_IOC_MAGIC, 0x00, size_of::<MediaDeviceInfo>());
/// `_IOWR('|', 0x01, struct media_entity_desc)`.
pub const MEDIA_IOC_ENUM_ENTITIES: u32 = iowr(MEDIA_IOC_MAGIC, 0x01, size_of::<MediaEntityDesc>());
/// `_IOWR('|', 0x02, struct media_links_enum)`.
pub const MEDIA_IOC_ENUM_LINKS: u32 = iowr(MEDIA_IOC_MAGIC, 0x02, size_of::<MediaLinksEnum>());
/// `_IOWR('|', 0x03, struct media_link_desc)`.
pub const MEDIA_IOC_SETUP_LINK: u32 = iowr(MEDIA_IOC_MAGIC, 0x03, size_of::<MediaLinkDesc>());
/// `_IOWR('|', 0x04, struct media_v2_topology)`.
pub const MEDIA_IOC_G_TOPOLOGY: u32 = iowr(MEDIA_IOC_MAGIC, 0x04, size_of::<MediaV2Topology>());
/// `_IOR('|', 0x05, int)`: returns a request fd.
pub const MEDIA_IOC_REQUEST_ALLOC: u32 = ior(MEDIA_IOC_MAGIC, 0x05, size_of::<i32>());
/// `_IO('|', 0x80)` on a request fd.
pub const MEDIA_REQUEST_IOC_QUEUE: u32 = io(MEDIA_IOC_MAGIC, 0x80);
/// `_IO('|', 0x81)` on a request fd.
pub const MEDIA_REQUEST_IOC_REINIT: u32 = io(MEDIA_IOC_MAGIC, 0x81);

// The numbers measured on x86_64 (docs/uapi.md, docs/uapi-sizes.txt).
const _: () = {
    assert!(MEDIA_IOC_DEVICE_INFO == 0xc100_7c00);
    assert!(MEDIA_IOC_ENUM_ENTITIES == 0xc100_7c01);
    assert!(MEDIA_IOC_ENUM_LINKS == 0xc028_7c02);
    assert!(MEDIA_IOC_SETUP_LINK == 0xc034_7c03);
    assert!(MEDIA_IOC_G_TOPOLOGY == 0xc048_7c04);
    assert!(MEDIA_IOC_REQUEST_ALLOC == 0x8004_7c05);
    assert!(MEDIA_REQUEST_IOC_QUEUE == 0x0000_7c80);
    assert!(MEDIA_REQUEST_IOC_REINIT == 0x0000_7c81);
};

/// The ioctls of a media node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaIoctl {
    /// `MEDIA_IOC_DEVICE_INFO`: driver, model, bus and versions.
    DeviceInfo,
    /// `MEDIA_IOC_ENUM_ENTITIES`: one entity by id, or the next one.
    EnumEntities,
    /// `MEDIA_IOC_ENUM_LINKS`: an entity's pads and forward links.
    EnumLinks,
    /// `MEDIA_IOC_SETUP_LINK`: enable or disable a link.
    SetupLink,
    /// `MEDIA_IOC_G_TOPOLOGY`: every entity, interface, pad and link at once.
    GTopology,
    /// `MEDIA_IOC_REQUEST_ALLOC`: a request file descriptor (not served: `ENOTTY`).
    RequestAlloc,
}

/// The media node's ioctl table (matched on the full command).
pub const MEDIA_IOCTLS: IoctlTable<MediaIoctl> = IoctlTable {
    kind: NodeKind::Media,
    defs: &[
        IoctlDef {
            cmd: MEDIA_IOC_DEVICE_INFO,
            name: "MEDIA_IOC_DEVICE_INFO",
            key: MediaIoctl::DeviceInfo,
        },
        IoctlDef {
            cmd: MEDIA_IOC_ENUM_ENTITIES,
            name: "MEDIA_IOC_ENUM_ENTITIES",
            key: MediaIoctl::EnumEntities,
        },
        IoctlDef {
            cmd: MEDIA_IOC_ENUM_LINKS,
            name: "MEDIA_IOC_ENUM_LINKS",
            key: MediaIoctl::EnumLinks,
        },
        IoctlDef {
            cmd: MEDIA_IOC_SETUP_LINK,
            name: "MEDIA_IOC_SETUP_LINK",
            key: MediaIoctl::SetupLink,
        },
        IoctlDef {
            cmd: MEDIA_IOC_G_TOPOLOGY,
            name: "MEDIA_IOC_G_TOPOLOGY",
            key: MediaIoctl::GTopology,
        },
        IoctlDef {
            cmd: MEDIA_IOC_REQUEST_ALLOC,
            name: "MEDIA_IOC_REQUEST_ALLOC",
            key: MediaIoctl::RequestAlloc,
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::ioctl::{IoctlCmd, Wire};

    #[test]
    fn table_matches_full_command_only() {
        assert_eq!(
            MEDIA_IOCTLS.lookup(MEDIA_IOC_G_TOPOLOGY).map(|d| d.key),
            Some(MediaIoctl::GTopology)
        );
        // Same nr and type, wrong size (an old struct) is not the ioctl.
        assert!(
            MEDIA_IOCTLS
                .lookup(iowr(MEDIA_IOC_MAGIC, 0x04, 64))
                .is_none()
        );
        // Same nr/size, wrong direction.
        assert!(
            MEDIA_IOCTLS
                .lookup(ior(MEDIA_IOC_MAGIC, 0x00, 256))
                .is_none()
        );
        for d in MEDIA_IOCTLS.defs {
            let c = IoctlCmd(d.cmd);
            assert_eq!(c.ty(), b'|', "{}", d.name);
        }
    }

    #[test]
    fn codec_round_trips_and_zeroes_padding() {
        let mut p = MediaPadDesc {
            entity: 5,
            index: 0x0102,
            flags: 2,
            reserved: [0; 2],
        };
        let mut buf = [0xaau8; 20];
        p.encode(&mut buf);
        assert_eq!(
            &buf[..8],
            &[5, 0, 0, 0, 2, 1, 0, 0],
            "padding bytes 6..8 written as zero"
        );
        assert_eq!(MediaPadDesc::decode(&buf), p);
        p.reserved = [7, 8];
        let l = MediaLinkDesc {
            source: p,
            sink: p,
            flags: 3,
            reserved: [0; 2],
        };
        let v = l.to_vec();
        assert_eq!(v.len(), 52);
        assert_eq!(MediaLinkDesc::decode(&v), l);
        assert_eq!(&v[40..44], &[3, 0, 0, 0]);
    }

    #[test]
    fn packed_topology_layout() {
        let t = MediaV2Topology {
            topology_version: 0x0102_0304_0506_0708,
            num_entities: 1,
            ptr_entities: 0x10,
            num_links: 4,
            ptr_links: 0x40,
            ..MediaV2Topology::ZERO
        };
        let v = t.to_vec();
        assert_eq!(v[0], 8);
        assert_eq!(v[8], 1);
        assert_eq!(v[16], 0x10);
        assert_eq!(v[56], 4);
        assert_eq!(v[64], 0x40);
        assert_eq!(MediaV2Topology::decode(&v), t);
        let mut i = MediaV2Interface::ZERO;
        i.set_devnode(81, 7);
        assert_eq!(&i.to_vec()[48..56], &[81, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(
            i.devnode(),
            MediaV2IntfDevnode {
                major: 81,
                minor: 7
            }
        );
    }

    #[test]
    fn short_input_is_refused_by_from_bytes() {
        assert!(MediaLinksEnum::from_bytes(&[0; 39]).is_none());
        assert!(MediaLinksEnum::from_bytes(&[0; 40]).is_some());
    }
}
