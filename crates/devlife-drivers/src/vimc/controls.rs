//! The controls of vimc's entities, as `vimc-sensor.c`, `vimc-debayer.c`
//! and `vimc-lens.c` create them (same ids, types, ranges, defaults, flags
//! and names), and the values the streamer reads ([`CtrlValues`]).
//!
//! * sensor (also "RGB/YUV Input"): the "VIMC Controls" class, "Test
//!   Pattern" (the 22 patterns of the kernel's test pattern generator),
//!   "Show Information" (All / Counters Only / None), vertical and
//!   horizontal flip, brightness, contrast, hue, saturation (the core adds
//!   "User Controls");
//! * debayer: the class and "Debayer Mean Window Size" (1..25, step 2,
//!   default 3);
//! * lens: "Focus, Absolute" (0..1023; the core adds "Camera Controls");
//! * scaler and captures: none (their nodes answer `ENOTTY`).

use super::topology::EntKind;
use devlife_media::uapi::controls::{cid, ctrl_type};
use devlife_media::v4l2::CtrlConfig;

/// `VIMC_CID_VIMC_BASE`.
pub const VIMC_CID_VIMC_BASE: u32 = 0x00f0_0000 | 0xf000;
/// `VIMC_CID_VIMC_CLASS`.
pub const VIMC_CID_VIMC_CLASS: u32 = 0x00f0_0000 | 1;
/// `VIMC_CID_TEST_PATTERN`.
pub const VIMC_CID_TEST_PATTERN: u32 = VIMC_CID_VIMC_BASE;
/// `VIMC_CID_MEAN_WIN_SIZE`.
pub const VIMC_CID_MEAN_WIN_SIZE: u32 = VIMC_CID_VIMC_BASE + 1;
/// `VIMC_CID_OSD_TEXT_MODE`.
pub const VIMC_CID_OSD_TEXT_MODE: u32 = VIMC_CID_VIMC_BASE + 2;
/// `VIMC_LENS_MAX_FOCUS_POS`.
pub const VIMC_LENS_MAX_FOCUS_POS: i64 = 1023;

/// `tpg_pattern_strings` (the test pattern generator's patterns, in
/// `enum tpg_pattern` order).
pub const TPG_PATTERNS: [&str; 22] = [
    "75% Colorbar",
    "100% Colorbar",
    "CSC Colorbar",
    "Horizontal 100% Colorbar",
    "100% Color Squares",
    "100% Black",
    "100% White",
    "100% Red",
    "100% Green",
    "100% Blue",
    "16x16 Checkers",
    "2x2 Checkers",
    "1x1 Checkers",
    "2x2 Red/Green Checkers",
    "1x1 Red/Green Checkers",
    "Alternating Hor Lines",
    "Alternating Vert Lines",
    "One Pixel Wide Cross",
    "Two Pixels Wide Cross",
    "Ten Pixels Wide Cross",
    "Gray Ramp",
    "Noise",
];

/// `vimc_ctrl_osd_mode_strings`.
pub const OSD_MODES: [&str; 3] = ["All", "Counters Only", "None"];

fn vimc_class() -> CtrlConfig {
    CtrlConfig::class(VIMC_CID_VIMC_CLASS, "VIMC Controls")
}

/// The controls an entity of `kind` creates, in the kernel's order.
pub(crate) fn for_kind(kind: EntKind) -> Vec<CtrlConfig> {
    match kind {
        EntKind::Sensor => vec![
            vimc_class(),
            CtrlConfig::custom_menu(VIMC_CID_TEST_PATTERN, "Test Pattern", &TPG_PATTERNS, 0),
            CtrlConfig::custom_menu(VIMC_CID_OSD_TEXT_MODE, "Show Information", &OSD_MODES, 0),
            CtrlConfig::std(cid::VFLIP, 0, 1, 1, 0),
            CtrlConfig::std(cid::HFLIP, 0, 1, 1, 0),
            CtrlConfig::std(cid::BRIGHTNESS, 0, 255, 1, 128),
            CtrlConfig::std(cid::CONTRAST, 0, 255, 1, 128),
            CtrlConfig::std(cid::HUE, -128, 127, 1, 0),
            CtrlConfig::std(cid::SATURATION, 0, 255, 1, 128),
        ],
        EntKind::Debayer => vec![
            vimc_class(),
            CtrlConfig::custom(
                VIMC_CID_MEAN_WIN_SIZE,
                "Debayer Mean Window Size",
                ctrl_type::INTEGER,
                1,
                25,
                2,
                3,
            ),
        ],
        EntKind::Lens => vec![CtrlConfig::std(
            cid::FOCUS_ABSOLUTE,
            0,
            VIMC_LENS_MAX_FOCUS_POS,
            1,
            0,
        )],
        EntKind::Scaler | EntKind::Capture => Vec::new(),
    }
}

/// The control values an entity's "hardware" uses, as its `s_ctrl` stores
/// them (`vsensor->tpg` settings, `hw.osd_value`, `hw.mean_win_size`,
/// `focus_absolute`).
///
/// # Invariants
///
/// Every field holds a value its control accepts (the framework validated
/// it before `s_ctrl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtrlValues {
    /// Test pattern (index into [`TPG_PATTERNS`]).
    pub pattern: u32,
    /// On-screen display mode (index into [`OSD_MODES`]).
    pub osd: u32,
    /// Horizontal flip.
    pub hflip: bool,
    /// Vertical flip.
    pub vflip: bool,
    /// Brightness (0..255).
    pub brightness: i32,
    /// Contrast (0..255).
    pub contrast: i32,
    /// Hue (-128..127).
    pub hue: i32,
    /// Saturation (0..255).
    pub saturation: i32,
    /// Debayer mean window size (odd, 1..25).
    pub mean_win_size: u32,
    /// Lens focus position (0..1023).
    pub focus: u32,
}

impl Default for CtrlValues {
    fn default() -> Self {
        Self {
            pattern: 0,
            osd: 0,
            hflip: false,
            vflip: false,
            brightness: 128,
            contrast: 128,
            hue: 0,
            saturation: 128,
            mean_win_size: 3,
            focus: 0,
        }
    }
}

impl CtrlValues {
    /// Stores a new value (`vimc_*_s_ctrl`); `false` for an id the entity
    /// does not handle (the kernel's `-EINVAL` default case).
    pub(crate) fn set(&mut self, id: u32, v: i64) -> bool {
        let v32 = v as i32;
        match id {
            VIMC_CID_TEST_PATTERN => self.pattern = v32 as u32,
            VIMC_CID_OSD_TEXT_MODE => self.osd = v32 as u32,
            VIMC_CID_MEAN_WIN_SIZE => self.mean_win_size = v32 as u32,
            cid::HFLIP => self.hflip = v != 0,
            cid::VFLIP => self.vflip = v != 0,
            cid::BRIGHTNESS => self.brightness = v32,
            cid::CONTRAST => self.contrast = v32,
            cid::HUE => self.hue = v32,
            cid::SATURATION => self.saturation = v32,
            cid::FOCUS_ABSOLUTE => self.focus = v32 as u32,
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devlife_media::v4l2::CtrlHandler;

    #[test]
    fn every_entity_kind_builds_its_handler() {
        let s = CtrlHandler::new(&for_kind(EntKind::Sensor)).unwrap();
        assert_eq!(
            s.ids(),
            vec![
                cid::USER_CLASS,
                cid::BRIGHTNESS,
                cid::CONTRAST,
                cid::SATURATION,
                cid::HUE,
                cid::HFLIP,
                cid::VFLIP,
                VIMC_CID_VIMC_CLASS,
                VIMC_CID_TEST_PATTERN,
                VIMC_CID_OSD_TEXT_MODE,
            ]
        );
        let d = CtrlHandler::new(&for_kind(EntKind::Debayer)).unwrap();
        assert_eq!(d.ids(), vec![VIMC_CID_VIMC_CLASS, VIMC_CID_MEAN_WIN_SIZE]);
        let l = CtrlHandler::new(&for_kind(EntKind::Lens)).unwrap();
        assert_eq!(l.ids(), vec![cid::CAMERA_CLASS, cid::FOCUS_ABSOLUTE]);
        assert!(for_kind(EntKind::Scaler).is_empty());
    }
}
