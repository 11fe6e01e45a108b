//! The ISP's subdevs: a test-pattern sensor, the CSI-2 receiver, the CCDC
//! (Bayer to YUYV) and the resizer. Formats propagate from sink to source
//! inside each block; links are validated by the default rule (code, size,
//! field) at stream start.

use super::MEDIA_BUS_FMT_YUYV8_1X16;
use super::hw::{
    REG_CCDC_CTRL, REG_CSI2_CTRL, REG_RSZ_CTRL, REG_SENSOR_CTRL, REG_SENSOR_EXPOSURE,
    REG_SENSOR_GAIN,
};
use super::state::IspState;
use devlife::check::Shadow;
use devlife_media::uapi::controls::cid;
use devlife_media::uapi::media::{
    MEDIA_ENT_F_CAM_SENSOR, MEDIA_ENT_F_PROC_VIDEO_PIXEL_FORMATTER, MEDIA_ENT_F_PROC_VIDEO_SCALER,
    MEDIA_ENT_F_VID_IF_BRIDGE, MEDIA_PAD_FL_MUST_CONNECT, MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE,
};
use devlife_media::uapi::subdev::{
    MEDIA_BUS_FMT_SBGGR8_1X8, MEDIA_BUS_FMT_SGBRG8_1X8, MEDIA_BUS_FMT_SGRBG8_1X8,
    MEDIA_BUS_FMT_SRGGB8_1X8, V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum,
    V4l2SubdevMbusCodeEnum,
};
use devlife_media::uapi::videodev2::{colorspace, field};
use devlife_media::v4l2::{CtrlConfig, SubdevConfig, SubdevOps, SubdevState};
use devlife_model::{Errno, KResult};

/// Bayer codes the CSI-2 receiver and the CCDC accept.
const BAYER: [u32; 4] = [
    MEDIA_BUS_FMT_SGRBG8_1X8,
    MEDIA_BUS_FMT_SRGGB8_1X8,
    MEDIA_BUS_FMT_SBGGR8_1X8,
    MEDIA_BUS_FMT_SGBRG8_1X8,
];

/// The default frame size of every pad.
pub(crate) const DEFAULT_SIZE: (u32, u32) = (640, 480);

/// Which block a subdev is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// Test-pattern sensor: pad 0 source (SGRBG8).
    Sensor,
    /// CSI-2 receiver: pad 0 sink (Bayer), pad 1 source (same).
    Csi2,
    /// CCDC: pad 0 sink (Bayer), pad 1 source (YUYV8_1X16, same size).
    Ccdc,
    /// Resizer: pad 0 sink (YUYV8_1X16), pad 1 source (any size).
    Resizer,
}

impl Block {
    /// Every block, from the sensor to the resizer.
    pub(crate) const ALL: [Block; 4] = [Block::Sensor, Block::Csi2, Block::Ccdc, Block::Resizer];

    /// The entity's (and subdev's) name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Block::Sensor => super::SENSOR_NAME,
            Block::Csi2 => super::CSI2_NAME,
            Block::Ccdc => super::CCDC_NAME,
            Block::Resizer => super::RESIZER_NAME,
        }
    }

    /// How to build the subdev: its pads, function and (the sensor's)
    /// controls.
    pub(crate) fn config(self) -> SubdevConfig {
        let (pads, function) = match self {
            Block::Sensor => (vec![MEDIA_PAD_FL_SOURCE], MEDIA_ENT_F_CAM_SENSOR),
            Block::Csi2 => (
                vec![
                    MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT,
                    MEDIA_PAD_FL_SOURCE,
                ],
                MEDIA_ENT_F_VID_IF_BRIDGE,
            ),
            Block::Ccdc => (
                vec![MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE],
                MEDIA_ENT_F_PROC_VIDEO_PIXEL_FORMATTER,
            ),
            Block::Resizer => (
                vec![
                    MEDIA_PAD_FL_SINK | MEDIA_PAD_FL_MUST_CONNECT,
                    MEDIA_PAD_FL_SOURCE,
                ],
                MEDIA_ENT_F_PROC_VIDEO_SCALER,
            ),
        };
        let mut c = SubdevConfig::new(self.name(), pads, function);
        if self == Block::Sensor {
            c.controls = sensor_controls();
        }
        c
    }

    fn enable_reg(self) -> u32 {
        match self {
            Block::Sensor => REG_SENSOR_CTRL,
            Block::Csi2 => REG_CSI2_CTRL,
            Block::Ccdc => REG_CCDC_CTRL,
            Block::Resizer => REG_RSZ_CTRL,
        }
    }

    /// The codes pad `pad` supports.
    fn codes(self, pad: u32) -> &'static [u32] {
        match (self, pad) {
            (Block::Sensor, _) => &BAYER[..1],
            (Block::Csi2, _) | (Block::Ccdc, 0) => &BAYER,
            _ => &[MEDIA_BUS_FMT_YUYV8_1X16],
        }
    }

    /// Size limits (min, max) of pad formats.
    fn limits(self) -> ((u32, u32), (u32, u32)) {
        match self {
            Block::Sensor => ((64, 48), (2592, 1944)),
            _ => ((32, 32), (4096, 4096)),
        }
    }
}

/// The sensor's controls, as a raw Bayer sensor driver has them: exposure,
/// analogue gain, a test pattern menu, and the read-only pixel rate (a
/// 64-bit control).
fn sensor_controls() -> Vec<CtrlConfig> {
    vec![
        CtrlConfig::std(cid::EXPOSURE_ABSOLUTE, 1, 10_000, 1, 333),
        CtrlConfig::std(cid::ANALOGUE_GAIN, 16, 255, 1, 16),
        CtrlConfig::std_menu_items(cid::TEST_PATTERN, &["Disabled", "Color Bars"], 0, 0),
        CtrlConfig::std(cid::PIXEL_RATE, 1, 200_000_000, 1, 96_000_000),
    ]
}

/// A media bus format.
pub(crate) fn mbus(code: u32, (width, height): (u32, u32)) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        width,
        height,
        code,
        field: field::NONE,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

/// The driver data of one ISP subdev.
pub(crate) struct IspSubdev {
    pub(crate) block: Block,
    pub(crate) st: Shadow<IspState>,
}

impl IspSubdev {
    fn adjust(&self, pad: u32, f: &V4l2MbusFramefmt) -> V4l2MbusFramefmt {
        let codes = self.block.codes(pad);
        let code = if codes.contains(&f.code) {
            f.code
        } else {
            codes[0]
        };
        let ((minw, minh), (maxw, maxh)) = self.block.limits();
        let w = f.width.clamp(minw, maxw) & !1;
        let h = f.height.clamp(minh, maxh) & !1;
        mbus(code, (w, h))
    }
}

impl SubdevOps for IspSubdev {
    fn init_state(&self, state: &mut SubdevState) {
        let s = DEFAULT_SIZE;
        let fmts: Vec<V4l2MbusFramefmt> = match self.block {
            Block::Sensor => vec![mbus(BAYER[0], s)],
            Block::Csi2 => vec![mbus(BAYER[0], s); 2],
            Block::Ccdc => vec![mbus(BAYER[0], s), mbus(MEDIA_BUS_FMT_YUYV8_1X16, s)],
            Block::Resizer => vec![mbus(MEDIA_BUS_FMT_YUYV8_1X16, s); 2],
        };
        for (i, f) in fmts.into_iter().enumerate() {
            if let Ok(p) = state.pad_mut(i as u32) {
                p.format = f;
            }
        }
    }

    fn enum_mbus_code(&self, _s: &SubdevState, c: &mut V4l2SubdevMbusCodeEnum) -> KResult<()> {
        c.code = *self
            .block
            .codes(c.pad)
            .get(c.index as usize)
            .ok_or(Errno::EINVAL)?;
        Ok(())
    }

    fn enum_frame_size(&self, _s: &SubdevState, f: &mut V4l2SubdevFrameSizeEnum) -> KResult<()> {
        if f.index != 0 || !self.block.codes(f.pad).contains(&f.code) {
            return Err(Errno::EINVAL);
        }
        let ((minw, minh), (maxw, maxh)) = self.block.limits();
        (f.min_width, f.min_height, f.max_width, f.max_height) = (minw, minh, maxw, maxh);
        Ok(())
    }

    fn set_fmt(&self, state: &mut SubdevState, f: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = self.st.get();
        let want = self.adjust(f.pad, &f.format);
        match (self.block, f.pad) {
            (Block::Sensor, 0) => *state.format_mut(0)? = want,
            // Sink pads propagate to the source pad.
            (Block::Csi2, 0) => {
                *state.format_mut(0)? = want;
                *state.format_mut(1)? = want;
            }
            (Block::Ccdc, 0) => {
                *state.format_mut(0)? = want;
                *state.format_mut(1)? = mbus(MEDIA_BUS_FMT_YUYV8_1X16, (want.width, want.height));
            }
            (Block::Resizer, 0) => {
                *state.format_mut(0)? = want;
                *state.format_mut(1)? = want;
            }
            // The resizer scales: its source takes any size.
            (Block::Resizer, 1) => *state.format_mut(1)? = want,
            // Other source pads follow their sink.
            _ => {}
        }
        f.format = *state.format(f.pad)?;
        Ok(())
    }

    /// The sensor's controls reach its registers (`ENODEV` once revoked);
    /// the test pattern and the read-only pixel rate need none.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        match id {
            cid::EXPOSURE_ABSOLUTE => self.st.get().write_reg(REG_SENSOR_EXPOSURE, value as u32),
            cid::ANALOGUE_GAIN => self.st.get().write_reg(REG_SENSOR_GAIN, value as u32),
            cid::TEST_PATTERN => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn s_stream(&self, enable: bool) -> KResult<()> {
        self.st
            .get()
            .write_reg(self.block.enable_reg(), u32::from(enable))
    }

    fn close(&self) {
        // `subdev_close` touching driver memory (R3).
        let _ = self.st.get().frames();
    }
}
