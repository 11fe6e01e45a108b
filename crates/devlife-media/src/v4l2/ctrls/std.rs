//! What the core knows about standard control ids (`v4l2_ctrl_fill` and
//! `v4l2_ctrl_get_name`): name, type and the flags every driver gets, for
//! the ids devlife's drivers use. A driver adding a standard control gives
//! only its range (`v4l2_ctrl_new_std`); everything else comes from here, so
//! every driver names and flags a standard control the same way.

use crate::uapi::controls::{cid, ctrl_class, ctrl_flag as fl, ctrl_type as ty};

/// The core's description of a standard control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdCtrl {
    /// Name as `v4l2_ctrl_get_name` gives it.
    pub name: &'static str,
    /// `V4L2_CTRL_TYPE_*`.
    pub type_: u32,
    /// Flags the core always sets.
    pub flags: u32,
}

const fn std(name: &'static str, type_: u32, flags: u32) -> Option<StdCtrl> {
    Some(StdCtrl { name, type_, flags })
}

/// The standard control `id`, if the core knows it.
pub fn std_ctrl(id: u32) -> Option<StdCtrl> {
    let class = fl::READ_ONLY | fl::WRITE_ONLY;
    match id {
        cid::USER_CLASS => std("User Controls", ty::CTRL_CLASS, class),
        cid::BRIGHTNESS => std("Brightness", ty::INTEGER, fl::SLIDER),
        cid::CONTRAST => std("Contrast", ty::INTEGER, fl::SLIDER),
        cid::SATURATION => std("Saturation", ty::INTEGER, fl::SLIDER),
        cid::HUE => std("Hue", ty::INTEGER, fl::SLIDER),
        cid::AUDIO_VOLUME => std("Volume", ty::INTEGER, fl::SLIDER),
        cid::AUDIO_MUTE => std("Mute", ty::BOOLEAN, 0),
        cid::AUTOGAIN => std("Gain, Automatic", ty::BOOLEAN, fl::UPDATE),
        cid::GAIN => std("Gain", ty::INTEGER, 0),
        cid::HFLIP => std("Horizontal Flip", ty::BOOLEAN, 0),
        cid::VFLIP => std("Vertical Flip", ty::BOOLEAN, 0),
        cid::POWER_LINE_FREQUENCY => std("Power Line Frequency", ty::MENU, 0),
        cid::SHARPNESS => std("Sharpness", ty::INTEGER, fl::SLIDER),
        cid::CAMERA_CLASS => std("Camera Controls", ty::CTRL_CLASS, class),
        cid::EXPOSURE_ABSOLUTE => std("Exposure Time, Absolute", ty::INTEGER, 0),
        cid::FOCUS_ABSOLUTE => std("Focus, Absolute", ty::INTEGER, 0),
        cid::IMAGE_SOURCE_CLASS => std("Image Source Controls", ty::CTRL_CLASS, class),
        cid::ANALOGUE_GAIN => std("Analogue Gain", ty::INTEGER, 0),
        cid::IMAGE_PROC_CLASS => std("Image Processing Controls", ty::CTRL_CLASS, class),
        cid::PIXEL_RATE => std("Pixel Rate", ty::INTEGER64, fl::READ_ONLY),
        cid::TEST_PATTERN => std("Test Pattern", ty::MENU, 0),
        cid::DIGITAL_GAIN => std("Digital Gain", ty::INTEGER, 0),
        _ => None,
    }
}

/// The menu the core supplies for a standard menu control
/// (`v4l2_ctrl_get_menu`), if any.
pub fn std_menu(id: u32) -> Option<&'static [&'static str]> {
    match id {
        cid::POWER_LINE_FREQUENCY => Some(&["Disabled", "50 Hz", "60 Hz", "Auto"]),
        _ => None,
    }
}

/// The class control id of the class `id` belongs to.
pub const fn class_ctrl_of(id: u32) -> u32 {
    crate::uapi::controls::ctrl_id2which(id) | 1
}

/// Whether the core can add the class control of `class` by itself
/// (standard classes only; a driver class needs a custom class control).
pub fn is_std_class(class: u32) -> bool {
    matches!(
        class,
        ctrl_class::USER | ctrl_class::CAMERA | ctrl_class::IMAGE_SOURCE | ctrl_class::IMAGE_PROC
    )
}
