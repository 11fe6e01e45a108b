//! The control and event part of `linux/videodev2.h` and
//! `linux/v4l2-controls.h` (x86_64 layouts): `v4l2_queryctrl`,
//! `v4l2_query_ext_ctrl`, `v4l2_querymenu`, `v4l2_control`,
//! `v4l2_ext_controls` / `v4l2_ext_control`, `v4l2_event_subscription`,
//! `v4l2_event`, the control types, flags and the standard ids devlife's
//! drivers use.
//!
//! Two of these C structs are `__attribute__((packed))`
//! (`v4l2_querymenu`, `v4l2_ext_control`): their mirrors keep the packed
//! size and offsets (44 and 20 bytes) with 4-byte fields only, and their
//! 64-bit union members are byte arrays with accessors.
//!
//! ```
//! use devlife_media::uapi::controls::*;
//! use devlife_media::uapi::ioctl::Wire;
//! assert_eq!(VIDIOC_QUERYMENU, 0xc02c_5625);
//! let mut c = V4l2ExtControl { id: cid::BRIGHTNESS, ..Default::default() };
//! c.set_value64(-2);
//! assert_eq!(c.value(), -2);
//! assert_eq!(c.to_vec().len(), 20);
//! ```
#![forbid(unsafe_code)]

use super::ioctl::{Wire, uapi_struct};

/// `_IOW('V', nr, size)`.
const fn iow(nr: u8, size: usize) -> u32 {
    super::ioctl::iow(b'V', nr, size)
}
/// `_IOWR('V', nr, size)`.
const fn iowr(nr: u8, size: usize) -> u32 {
    super::ioctl::iowr(b'V', nr, size)
}

/// `enum v4l2_ctrl_type` (the kinds devlife models, plus the compound
/// threshold).
pub mod ctrl_type {
    /// `V4L2_CTRL_TYPE_INTEGER`.
    pub const INTEGER: u32 = 1;
    /// `V4L2_CTRL_TYPE_BOOLEAN`.
    pub const BOOLEAN: u32 = 2;
    /// `V4L2_CTRL_TYPE_MENU`.
    pub const MENU: u32 = 3;
    /// `V4L2_CTRL_TYPE_BUTTON`.
    pub const BUTTON: u32 = 4;
    /// `V4L2_CTRL_TYPE_INTEGER64`.
    pub const INTEGER64: u32 = 5;
    /// `V4L2_CTRL_TYPE_CTRL_CLASS`.
    pub const CTRL_CLASS: u32 = 6;
    /// `V4L2_CTRL_TYPE_STRING`.
    pub const STRING: u32 = 7;
    /// `V4L2_CTRL_TYPE_BITMASK`.
    pub const BITMASK: u32 = 8;
    /// `V4L2_CTRL_TYPE_INTEGER_MENU`.
    pub const INTEGER_MENU: u32 = 9;
    /// `V4L2_CTRL_COMPOUND_TYPES`: types from here on are compound.
    pub const COMPOUND_TYPES: u32 = 0x0100;
}

/// `V4L2_CTRL_FLAG_*`.
pub mod ctrl_flag {
    /// The control is permanently disabled.
    pub const DISABLED: u32 = 0x0001;
    /// Temporarily unchangeable (e.g. while streaming).
    pub const GRABBED: u32 = 0x0002;
    /// Cannot be set.
    pub const READ_ONLY: u32 = 0x0004;
    /// Changing it may change other controls.
    pub const UPDATE: u32 = 0x0008;
    /// Inactive in the current configuration.
    pub const INACTIVE: u32 = 0x0010;
    /// Best shown as a slider.
    pub const SLIDER: u32 = 0x0020;
    /// Cannot be read.
    pub const WRITE_ONLY: u32 = 0x0040;
    /// The value changes by itself.
    pub const VOLATILE: u32 = 0x0080;
    /// The value is behind a pointer.
    pub const HAS_PAYLOAD: u32 = 0x0100;
    /// Setting it acts even if the value is unchanged.
    pub const EXECUTE_ON_WRITE: u32 = 0x0200;
    /// `V4L2_CTRL_FLAG_NEXT_CTRL`: enumerate the next non-compound control.
    pub const NEXT_CTRL: u32 = 0x8000_0000;
    /// `V4L2_CTRL_FLAG_NEXT_COMPOUND`: enumerate the next compound control.
    pub const NEXT_COMPOUND: u32 = 0x4000_0000;
    /// `V4L2_CTRL_ID_MASK`: the id without the two flags above.
    pub const ID_MASK: u32 = 0x0fff_ffff;
}

/// `V4L2_CTRL_WHICH_*` (`v4l2_ext_controls.which`).
pub mod which {
    /// Current values.
    pub const CUR_VAL: u32 = 0;
    /// Default values (get only).
    pub const DEF_VAL: u32 = 0x0f00_0000;
    /// Values of a request (not modelled: no request API).
    pub const REQUEST_VAL: u32 = 0x0f01_0000;
    /// Minimum values (only for controls with `HAS_WHICH_MIN_MAX`).
    pub const MIN_VAL: u32 = 0x0f02_0000;
    /// Maximum values (only for controls with `HAS_WHICH_MIN_MAX`).
    pub const MAX_VAL: u32 = 0x0f03_0000;
}

/// `V4L2_CTRL_ID2WHICH(id)`: the control class of an id.
pub const fn ctrl_id2which(id: u32) -> u32 {
    id & 0x0fff_0000
}

/// `V4L2_CTRL_DRIVER_PRIV(id)`: a driver-specific id of its class.
pub const fn ctrl_driver_priv(id: u32) -> bool {
    (id & 0xffff) >= 0x1000
}

/// `V4L2_CID_MAX_CTRLS`: the most controls one `*_EXT_CTRLS` call may name.
pub const V4L2_CID_MAX_CTRLS: u32 = 1024;

/// Control classes (`V4L2_CTRL_CLASS_*`).
pub mod ctrl_class {
    /// User controls.
    pub const USER: u32 = 0x0098_0000;
    /// Camera controls.
    pub const CAMERA: u32 = 0x009a_0000;
    /// Image source controls.
    pub const IMAGE_SOURCE: u32 = 0x009e_0000;
    /// Image processing controls.
    pub const IMAGE_PROC: u32 = 0x009f_0000;
}

/// Standard control ids (`V4L2_CID_*`) devlife's drivers use.
pub mod cid {
    /// `V4L2_CID_BASE` (first user control).
    pub const BASE: u32 = 0x0098_0900;
    /// `V4L2_CID_USER_CLASS`.
    pub const USER_CLASS: u32 = 0x0098_0001;
    /// `V4L2_CID_BRIGHTNESS`.
    pub const BRIGHTNESS: u32 = BASE;
    /// `V4L2_CID_CONTRAST`.
    pub const CONTRAST: u32 = BASE + 1;
    /// `V4L2_CID_SATURATION`.
    pub const SATURATION: u32 = BASE + 2;
    /// `V4L2_CID_HUE`.
    pub const HUE: u32 = BASE + 3;
    /// `V4L2_CID_AUDIO_VOLUME`.
    pub const AUDIO_VOLUME: u32 = BASE + 5;
    /// `V4L2_CID_AUDIO_MUTE`.
    pub const AUDIO_MUTE: u32 = BASE + 9;
    /// `V4L2_CID_AUTOGAIN`.
    pub const AUTOGAIN: u32 = BASE + 18;
    /// `V4L2_CID_GAIN`.
    pub const GAIN: u32 = BASE + 19;
    /// `V4L2_CID_HFLIP`.
    pub const HFLIP: u32 = BASE + 20;
    /// `V4L2_CID_VFLIP`.
    pub const VFLIP: u32 = BASE + 21;
    /// `V4L2_CID_POWER_LINE_FREQUENCY`.
    pub const POWER_LINE_FREQUENCY: u32 = BASE + 24;
    /// `V4L2_CID_SHARPNESS`.
    pub const SHARPNESS: u32 = BASE + 27;
    /// `V4L2_CID_LASTP1`: one past the last user control id.
    pub const LASTP1: u32 = BASE + 44;
    /// `V4L2_CID_PRIVATE_BASE`: old-style private ids start here.
    pub const PRIVATE_BASE: u32 = 0x0800_0000;
    /// `V4L2_CID_CAMERA_CLASS`.
    pub const CAMERA_CLASS: u32 = 0x009a_0001;
    /// `V4L2_CID_EXPOSURE_ABSOLUTE`.
    pub const EXPOSURE_ABSOLUTE: u32 = 0x009a_0902;
    /// `V4L2_CID_FOCUS_ABSOLUTE`.
    pub const FOCUS_ABSOLUTE: u32 = 0x009a_090a;
    /// `V4L2_CID_IMAGE_SOURCE_CLASS`.
    pub const IMAGE_SOURCE_CLASS: u32 = 0x009e_0001;
    /// `V4L2_CID_ANALOGUE_GAIN`.
    pub const ANALOGUE_GAIN: u32 = 0x009e_0903;
    /// `V4L2_CID_IMAGE_PROC_CLASS`.
    pub const IMAGE_PROC_CLASS: u32 = 0x009f_0001;
    /// `V4L2_CID_PIXEL_RATE`.
    pub const PIXEL_RATE: u32 = 0x009f_0902;
    /// `V4L2_CID_TEST_PATTERN`.
    pub const TEST_PATTERN: u32 = 0x009f_0903;
    /// `V4L2_CID_DIGITAL_GAIN`.
    pub const DIGITAL_GAIN: u32 = 0x009f_0905;
}

/// Event types and flags (`V4L2_EVENT_*`).
pub mod event {
    /// `V4L2_EVENT_ALL` (unsubscribe only).
    pub const ALL: u32 = 0;
    /// `V4L2_EVENT_VSYNC`.
    pub const VSYNC: u32 = 1;
    /// `V4L2_EVENT_EOS`.
    pub const EOS: u32 = 2;
    /// `V4L2_EVENT_CTRL`.
    pub const CTRL: u32 = 3;
    /// `V4L2_EVENT_FRAME_SYNC`.
    pub const FRAME_SYNC: u32 = 4;
    /// `V4L2_EVENT_SOURCE_CHANGE`.
    pub const SOURCE_CHANGE: u32 = 5;
    /// `V4L2_EVENT_CTRL_CH_VALUE`: the value changed.
    pub const CTRL_CH_VALUE: u32 = 1 << 0;
    /// `V4L2_EVENT_CTRL_CH_FLAGS`: the flags changed.
    pub const CTRL_CH_FLAGS: u32 = 1 << 1;
    /// `V4L2_EVENT_CTRL_CH_RANGE`: min/max/step/default changed.
    pub const CTRL_CH_RANGE: u32 = 1 << 2;
    /// `V4L2_EVENT_SUB_FL_SEND_INITIAL`: queue the current state at subscription.
    pub const SUB_FL_SEND_INITIAL: u32 = 1 << 0;
    /// `V4L2_EVENT_SUB_FL_ALLOW_FEEDBACK`: also report the subscriber's own changes.
    pub const SUB_FL_ALLOW_FEEDBACK: u32 = 1 << 1;
}

uapi_struct! {
    /// `struct v4l2_queryctrl` (68 bytes).
    #[repr(C)]
    pub struct V4l2Queryctrl: size 68, align 4 {
        /// Control id (with `NEXT_*` flags on input).
        @0 pub id: u32,
        /// `V4L2_CTRL_TYPE_*`.
        @4 pub type_: u32,
        /// Name, NUL-terminated.
        @8 pub name: [u8; 32],
        /// Smallest value the control accepts.
        @40 pub minimum: i32,
        /// Largest value the control accepts.
        @44 pub maximum: i32,
        /// Granularity: valid values are minimum plus a multiple of it.
        @48 pub step: i32,
        /// Default value.
        @52 pub default_value: i32,
        /// `V4L2_CTRL_FLAG_*`.
        @56 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @60 pub reserved: [u32; 2],
    }
}

uapi_struct! {
    /// `struct v4l2_query_ext_ctrl` (232 bytes).
    #[repr(C)]
    pub struct V4l2QueryExtCtrl: size 232, align 8 {
        /// Control id (with `NEXT_*` flags on input).
        @0 pub id: u32,
        /// `V4L2_CTRL_TYPE_*`.
        @4 pub type_: u32,
        /// Name, NUL-terminated.
        @8 pub name: [u8; 32],
        /// Smallest value the control accepts.
        @40 pub minimum: i64,
        /// Largest value the control accepts.
        @48 pub maximum: i64,
        /// Granularity: valid values are minimum plus a multiple of it.
        @56 pub step: u64,
        /// Default value.
        @64 pub default_value: i64,
        /// `V4L2_CTRL_FLAG_*`.
        @72 pub flags: u32,
        /// Size of one element.
        @76 pub elem_size: u32,
        /// Number of elements.
        @80 pub elems: u32,
        /// Number of dimensions.
        @84 pub nr_of_dims: u32,
        /// Array dimensions of a compound control (0 for unused ones).
        @88 pub dims: [u32; 4],
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @104 pub reserved: [u32; 32],
    }
}

uapi_struct! {
    /// `struct v4l2_querymenu` (packed, 44 bytes). `name` is the union of
    /// `char name[32]` and `__s64 value` (integer menus).
    #[repr(C)]
    pub struct V4l2Querymenu: size 44, align 4 {
        /// Control id.
        @0 pub id: u32,
        /// Menu index.
        @4 pub index: u32,
        /// Name, or the little-endian `value` in its first 8 bytes.
        @8 pub name: [u8; 32],
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @40 pub reserved: u32,
    }
}

impl V4l2Querymenu {
    /// The `value` member of the union (integer menus).
    pub fn value(&self) -> i64 {
        i64::decode(&self.name[..8])
    }
    /// Sets the `value` member (the rest of the union is zeroed).
    pub fn set_value(&mut self, v: i64) {
        self.name = [0; 32];
        v.encode(&mut self.name[..8]);
    }
}

uapi_struct! {
    /// `struct v4l2_control` (8 bytes).
    #[repr(C)]
    pub struct V4l2Control: size 8, align 4 {
        /// Control id.
        @0 pub id: u32,
        /// The control's value (integer, boolean or menu index).
        @4 pub value: i32,
    }
}

uapi_struct! {
    /// `struct v4l2_ext_controls` (32 bytes). `which` is the union of
    /// `ctrl_class` and `which`; `controls` is a user pointer to `count`
    /// [`V4l2ExtControl`]s.
    #[repr(C)]
    pub struct V4l2ExtControls: size 32, align 8 {
        /// `V4L2_CTRL_WHICH_*` or a control class.
        @0 pub which: u32,
        /// Number of controls.
        @4 pub count: u32,
        /// Index of the failing control (or `count`).
        @8 pub error_idx: u32,
        /// Request fd (unused).
        @12 pub request_fd: i32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @16 pub reserved: [u32; 1],
        /// User pointer to the array.
        @24 pub controls: u64,
    }
}

uapi_struct! {
    /// `struct v4l2_ext_control` (packed, 20 bytes). The 8-byte union holds
    /// `value` (s32), `value64` (s64) or a payload pointer.
    #[repr(C)]
    pub struct V4l2ExtControl: size 20, align 4 {
        /// Control id.
        @0 pub id: u32,
        /// Payload size (pointer controls only).
        @4 pub size: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @8 pub reserved2: [u32; 1],
        /// The union, little-endian.
        @12 pub union_: [u32; 2],
    }
}

impl V4l2ExtControl {
    /// The array element size.
    pub const ELEM: usize = 20;

    /// The `value` (s32) member.
    pub fn value(&self) -> i32 {
        self.union_[0] as i32
    }
    /// Sets `value`; the upper half of the union is left alone, as a
    /// 32-bit store in C would.
    pub fn set_value(&mut self, v: i32) {
        self.union_[0] = v as u32;
    }
    /// The `value64` (s64) member.
    pub fn value64(&self) -> i64 {
        (u64::from(self.union_[0]) | (u64::from(self.union_[1]) << 32)) as i64
    }
    /// Sets `value64`.
    pub fn set_value64(&mut self, v: i64) {
        self.union_ = [v as u32, ((v as u64) >> 32) as u32];
    }
}

uapi_struct! {
    /// `struct v4l2_event_subscription` (32 bytes).
    #[repr(C)]
    pub struct V4l2EventSubscription: size 32, align 4 {
        /// `V4L2_EVENT_*`.
        @0 pub type_: u32,
        /// Event source id (the control id for `V4L2_EVENT_CTRL`).
        @4 pub id: u32,
        /// `V4L2_EVENT_SUB_FL_*`.
        @8 pub flags: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @12 pub reserved: [u32; 5],
    }
}

uapi_struct! {
    /// `struct timespec` on x86_64 (16 bytes).
    #[repr(C)]
    pub struct Timespec: size 16, align 8 {
        /// Whole seconds.
        @0 pub tv_sec: i64,
        /// Nanoseconds within the second.
        @8 pub tv_nsec: i64,
    }
}

impl Timespec {
    /// From a duration since the monotonic clock's origin.
    pub fn from_duration(d: std::time::Duration) -> Self {
        Self {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        }
    }
}

uapi_struct! {
    /// `struct v4l2_event` (136 bytes). `u` is the 64-byte union; for
    /// `V4L2_EVENT_CTRL` it holds a [`V4l2EventCtrl`].
    #[repr(C)]
    pub struct V4l2Event: size 136, align 8 {
        /// `V4L2_EVENT_*`.
        @0 pub type_: u32,
        /// The union (little-endian words).
        @8 pub u: [u64; 8],
        /// Events still queued after this one.
        @72 pub pending: u32,
        /// Per-file-handle sequence number.
        @76 pub sequence: u32,
        /// Monotonic time the event was queued.
        @80 pub timestamp: Timespec,
        /// Event source id.
        @96 pub id: u32,
        /// Reserved for future use; the kernel requires zero and the codec writes zero.
        @100 pub reserved: [u32; 8],
    }
}

uapi_struct! {
    /// `struct v4l2_event_ctrl` (40 bytes), the `V4L2_EVENT_CTRL` payload.
    #[repr(C)]
    pub struct V4l2EventCtrl: size 40, align 8 {
        /// `V4L2_EVENT_CTRL_CH_*`.
        @0 pub changes: u32,
        /// Control type.
        @4 pub type_: u32,
        /// The value (`value` or `value64` union, little-endian).
        @8 pub value64: i64,
        /// Control flags.
        @16 pub flags: u32,
        /// Smallest value the control accepts.
        @20 pub minimum: i32,
        /// Largest value the control accepts.
        @24 pub maximum: i32,
        /// Granularity: valid values are minimum plus a multiple of it.
        @28 pub step: i32,
        /// Default value.
        @32 pub default_value: i32,
    }
}

impl V4l2Event {
    /// The control payload of a `V4L2_EVENT_CTRL` event.
    pub fn ctrl(&self) -> V4l2EventCtrl {
        let mut b = [0u8; 64];
        self.u.encode(&mut b);
        V4l2EventCtrl::decode(&b)
    }
    /// Stores a control payload in the union (the rest zeroed).
    pub fn set_ctrl(&mut self, c: &V4l2EventCtrl) {
        let mut b = [0u8; 64];
        c.encode(&mut b);
        self.u = <[u64; 8]>::decode(&b);
    }
}

/// `VIDIOC_G_CTRL`.
pub const VIDIOC_G_CTRL: u32 = iowr(27, V4l2Control::SIZE);
/// `VIDIOC_S_CTRL`.
pub const VIDIOC_S_CTRL: u32 = iowr(28, V4l2Control::SIZE);
/// `VIDIOC_QUERYCTRL`.
pub const VIDIOC_QUERYCTRL: u32 = iowr(36, V4l2Queryctrl::SIZE);
/// `VIDIOC_QUERYMENU`.
pub const VIDIOC_QUERYMENU: u32 = iowr(37, V4l2Querymenu::SIZE);
/// `VIDIOC_LOG_STATUS`.
pub const VIDIOC_LOG_STATUS: u32 = super::ioctl::io(b'V', 70);
/// `VIDIOC_G_EXT_CTRLS`.
pub const VIDIOC_G_EXT_CTRLS: u32 = iowr(71, V4l2ExtControls::SIZE);
/// `VIDIOC_S_EXT_CTRLS`.
pub const VIDIOC_S_EXT_CTRLS: u32 = iowr(72, V4l2ExtControls::SIZE);
/// `VIDIOC_TRY_EXT_CTRLS`.
pub const VIDIOC_TRY_EXT_CTRLS: u32 = iowr(73, V4l2ExtControls::SIZE);
/// `VIDIOC_DQEVENT`.
pub const VIDIOC_DQEVENT: u32 = super::ioctl::ior(b'V', 89, V4l2Event::SIZE);
/// `VIDIOC_SUBSCRIBE_EVENT`.
pub const VIDIOC_SUBSCRIBE_EVENT: u32 = iow(90, V4l2EventSubscription::SIZE);
/// `VIDIOC_UNSUBSCRIBE_EVENT`.
pub const VIDIOC_UNSUBSCRIBE_EVENT: u32 = iow(91, V4l2EventSubscription::SIZE);
/// `VIDIOC_QUERY_EXT_CTRL`.
pub const VIDIOC_QUERY_EXT_CTRL: u32 = iowr(103, V4l2QueryExtCtrl::SIZE);

/// Whether `video_usercopy` copies the argument back to userspace even when
/// the ioctl failed: the array-argument `*_EXT_CTRLS`, whose `error_idx`
/// tells the caller which control failed.
pub const fn copies_out_on_error(cmd: u32) -> bool {
    matches!(
        cmd,
        VIDIOC_G_EXT_CTRLS | VIDIOC_S_EXT_CTRLS | VIDIOC_TRY_EXT_CTRLS
    )
}

super::videodev2::numbers!(
    VIDIOC_G_CTRL = 0xc008_561b,
    VIDIOC_S_CTRL = 0xc008_561c,
    VIDIOC_QUERYCTRL = 0xc044_5624,
    VIDIOC_QUERYMENU = 0xc02c_5625,
    VIDIOC_LOG_STATUS = 0x0000_5646,
    VIDIOC_G_EXT_CTRLS = 0xc020_5647,
    VIDIOC_S_EXT_CTRLS = 0xc020_5648,
    VIDIOC_TRY_EXT_CTRLS = 0xc020_5649,
    VIDIOC_DQEVENT = 0x8088_5659,
    VIDIOC_SUBSCRIBE_EVENT = 0x4020_565a,
    VIDIOC_UNSUBSCRIBE_EVENT = 0x4020_565b,
    VIDIOC_QUERY_EXT_CTRL = 0xc0e8_5667,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_round_trip() {
        let mut c = V4l2ExtControl::default();
        c.set_value64(0x1234_5678_9abc_def0);
        let raw = c.to_vec();
        assert_eq!(&raw[12..20], &0x1234_5678_9abc_def0i64.to_le_bytes());
        c.set_value(-1);
        assert_eq!(c.value(), -1);
        let mut ev = V4l2Event::default();
        let p = V4l2EventCtrl {
            changes: event::CTRL_CH_VALUE,
            value64: -5,
            maximum: 9,
            ..Default::default()
        };
        ev.set_ctrl(&p);
        assert_eq!(ev.ctrl(), p);
        let raw = ev.to_vec();
        assert_eq!(&raw[8..12], &1u32.to_le_bytes());
        assert_eq!(&raw[16..24], &(-5i64).to_le_bytes());
        let mut m = V4l2Querymenu::default();
        m.set_value(-7);
        assert_eq!(m.value(), -7);
    }
}
