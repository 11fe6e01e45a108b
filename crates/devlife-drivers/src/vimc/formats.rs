//! The formats vimc knows (`vimc-common.c`): the pixel map that ties media
//! bus codes to pixel formats, the debayer's code lists, frame size limits,
//! and the colorimetry clamp every entity applies.

use devlife_media::uapi::subdev::V4l2MbusFramefmt;
use devlife_media::uapi::videodev2::{V4l2PixFormat, colorspace, field, fourcc};

/// `MEDIA_BUS_FMT_*` codes vimc uses (`linux/media-bus-format.h`).
#[allow(missing_docs)]
pub mod code {
    pub const RGB888_1X24: u32 = 0x100a;
    pub const RGB888_2X12_BE: u32 = 0x100b;
    pub const RGB888_2X12_LE: u32 = 0x100c;
    pub const ARGB8888_1X32: u32 = 0x100d;
    pub const RGB888_1X32_PADHI: u32 = 0x100f;
    pub const RGB888_1X7X4_SPWG: u32 = 0x1011;
    pub const RGB888_1X7X4_JEIDA: u32 = 0x1012;
    pub const BGR888_1X24: u32 = 0x1013;
    pub const GBR888_1X24: u32 = 0x1014;
    pub const BGR888_3X8: u32 = 0x101b;
    pub const RGB888_3X8: u32 = 0x101c;
    pub const SBGGR8_1X8: u32 = 0x3001;
    pub const SGRBG8_1X8: u32 = 0x3002;
    pub const SBGGR10_1X10: u32 = 0x3007;
    pub const SBGGR12_1X12: u32 = 0x3008;
    pub const SGRBG10_DPCM8_1X8: u32 = 0x3009;
    pub const SGRBG10_1X10: u32 = 0x300a;
    pub const SBGGR10_DPCM8_1X8: u32 = 0x300b;
    pub const SGBRG10_DPCM8_1X8: u32 = 0x300c;
    pub const SRGGB10_DPCM8_1X8: u32 = 0x300d;
    pub const SGBRG10_1X10: u32 = 0x300e;
    pub const SRGGB10_1X10: u32 = 0x300f;
    pub const SGBRG12_1X12: u32 = 0x3010;
    pub const SGRBG12_1X12: u32 = 0x3011;
    pub const SRGGB12_1X12: u32 = 0x3012;
    pub const SGBRG8_1X8: u32 = 0x3013;
    pub const SRGGB8_1X8: u32 = 0x3014;
    pub const SBGGR10_ALAW8_1X8: u32 = 0x3015;
    pub const SGBRG10_ALAW8_1X8: u32 = 0x3016;
    pub const SGRBG10_ALAW8_1X8: u32 = 0x3017;
    pub const SRGGB10_ALAW8_1X8: u32 = 0x3018;
}

/// The pixel formats of vimc's captures (`V4L2_PIX_FMT_*`).
#[allow(missing_docs)]
pub mod pix {
    use super::fourcc;
    pub const BGR24: u32 = fourcc(b'B', b'G', b'R', b'3');
    pub const RGB24: u32 = fourcc(b'R', b'G', b'B', b'3');
    pub const ARGB32: u32 = fourcc(b'B', b'A', b'2', b'4');
    pub const SBGGR8: u32 = fourcc(b'B', b'A', b'8', b'1');
    pub const SGBRG8: u32 = fourcc(b'G', b'B', b'R', b'G');
    pub const SGRBG8: u32 = fourcc(b'G', b'R', b'B', b'G');
    pub const SRGGB8: u32 = fourcc(b'R', b'G', b'G', b'B');
    pub const SBGGR10: u32 = fourcc(b'B', b'G', b'1', b'0');
    pub const SGBRG10: u32 = fourcc(b'G', b'B', b'1', b'0');
    pub const SGRBG10: u32 = fourcc(b'B', b'A', b'1', b'0');
    pub const SRGGB10: u32 = fourcc(b'R', b'G', b'1', b'0');
    pub const SBGGR10ALAW8: u32 = fourcc(b'a', b'B', b'A', b'8');
    pub const SGBRG10ALAW8: u32 = fourcc(b'a', b'G', b'A', b'8');
    pub const SGRBG10ALAW8: u32 = fourcc(b'a', b'g', b'A', b'8');
    pub const SRGGB10ALAW8: u32 = fourcc(b'a', b'R', b'A', b'8');
    pub const SBGGR10DPCM8: u32 = fourcc(b'b', b'B', b'A', b'8');
    pub const SGBRG10DPCM8: u32 = fourcc(b'b', b'G', b'A', b'8');
    pub const SGRBG10DPCM8: u32 = fourcc(b'B', b'D', b'1', b'0');
    pub const SRGGB10DPCM8: u32 = fourcc(b'b', b'R', b'A', b'8');
    pub const SBGGR12: u32 = fourcc(b'B', b'G', b'1', b'2');
    pub const SGBRG12: u32 = fourcc(b'G', b'B', b'1', b'2');
    pub const SGRBG12: u32 = fourcc(b'B', b'A', b'1', b'2');
    pub const SRGGB12: u32 = fourcc(b'R', b'G', b'1', b'2');
}

/// `VIMC_FRAME_MIN_WIDTH` / `_HEIGHT`.
pub const MIN_WIDTH: u32 = 16;
/// `VIMC_FRAME_MIN_HEIGHT`.
pub const MIN_HEIGHT: u32 = 16;
/// `VIMC_FRAME_MAX_WIDTH`.
pub const MAX_WIDTH: u32 = 4096;
/// `VIMC_FRAME_MAX_HEIGHT`.
pub const MAX_HEIGHT: u32 = 2160;

/// The order of a Bayer colour filter array, top-left 2x2 block first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cfa {
    /// B G / G R.
    Bggr,
    /// G B / R G.
    Gbrg,
    /// G R / B G.
    Grbg,
    /// R G / G B.
    Rggb,
}

impl Cfa {
    /// The colour channel (0 = R, 1 = G, 2 = B) sampled at `(x, y)`.
    pub fn channel(self, x: usize, y: usize) -> usize {
        let (odd_x, odd_y) = (x & 1 == 1, y & 1 == 1);
        let blue_first = match self {
            Cfa::Bggr => [2, 1, 1, 0],
            Cfa::Gbrg => [1, 2, 0, 1],
            Cfa::Grbg => [1, 0, 2, 1],
            Cfa::Rggb => [0, 1, 1, 2],
        };
        blue_first[usize::from(odd_y) * 2 + usize::from(odd_x)]
    }
}

/// How the pixels of a format are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Three bytes per pixel: R, G, B.
    Rgb,
    /// Three bytes per pixel: B, G, R.
    Bgr,
    /// Four bytes per pixel: A, R, G, B (`V4L2_PIX_FMT_ARGB32`).
    Argb,
    /// Raw Bayer with `bits` significant bits (8: one byte, 10/12: two
    /// little-endian bytes; the 8-bit compressed formats are one byte).
    Bayer {
        /// The Bayer colour-filter order of the format.
        cfa: Cfa,
        /// Significant bits per sample in memory.
        bits: u32,
    },
}

/// One entry of `vimc_pix_map_list`: the media bus codes carried as one
/// pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixMap {
    /// The media bus codes (the first is the canonical one).
    pub codes: &'static [u32],
    /// The pixel format (`V4L2_PIX_FMT_*`).
    pub pixelformat: u32,
    /// Bytes per pixel.
    pub bpp: u32,
    /// Whether the format is raw Bayer.
    pub bayer: bool,
    /// How pixels are laid out in memory (RGB orders, Bayer depth, ...).
    pub layout: Layout,
}

const fn bayer(code: u32, pixelformat: u32, cfa: Cfa, bits: u32, bpp: u32) -> PixMap {
    PixMap {
        codes: match code {
            code::SBGGR8_1X8 => &[code::SBGGR8_1X8],
            code::SGBRG8_1X8 => &[code::SGBRG8_1X8],
            code::SGRBG8_1X8 => &[code::SGRBG8_1X8],
            code::SRGGB8_1X8 => &[code::SRGGB8_1X8],
            code::SBGGR10_1X10 => &[code::SBGGR10_1X10],
            code::SGBRG10_1X10 => &[code::SGBRG10_1X10],
            code::SGRBG10_1X10 => &[code::SGRBG10_1X10],
            code::SRGGB10_1X10 => &[code::SRGGB10_1X10],
            code::SBGGR10_ALAW8_1X8 => &[code::SBGGR10_ALAW8_1X8],
            code::SGBRG10_ALAW8_1X8 => &[code::SGBRG10_ALAW8_1X8],
            code::SGRBG10_ALAW8_1X8 => &[code::SGRBG10_ALAW8_1X8],
            code::SRGGB10_ALAW8_1X8 => &[code::SRGGB10_ALAW8_1X8],
            code::SBGGR10_DPCM8_1X8 => &[code::SBGGR10_DPCM8_1X8],
            code::SGBRG10_DPCM8_1X8 => &[code::SGBRG10_DPCM8_1X8],
            code::SGRBG10_DPCM8_1X8 => &[code::SGRBG10_DPCM8_1X8],
            code::SRGGB10_DPCM8_1X8 => &[code::SRGGB10_DPCM8_1X8],
            code::SBGGR12_1X12 => &[code::SBGGR12_1X12],
            code::SGBRG12_1X12 => &[code::SGBRG12_1X12],
            code::SGRBG12_1X12 => &[code::SGRBG12_1X12],
            _ => &[code::SRGGB12_1X12],
        },
        pixelformat,
        bpp,
        bayer: true,
        layout: Layout::Bayer { cfa, bits },
    }
}

/// `vimc_pix_map_list`, in the kernel's order (ENUM_FMT enumerates it).
pub const PIX_MAP: [PixMap; 23] = [
    PixMap {
        codes: &[code::BGR888_1X24, code::BGR888_3X8],
        pixelformat: pix::BGR24,
        bpp: 3,
        bayer: false,
        layout: Layout::Bgr,
    },
    PixMap {
        codes: &[
            code::RGB888_1X24,
            code::RGB888_2X12_BE,
            code::RGB888_2X12_LE,
            code::RGB888_3X8,
            code::RGB888_1X7X4_SPWG,
            code::RGB888_1X7X4_JEIDA,
            code::RGB888_1X32_PADHI,
            code::GBR888_1X24,
        ],
        pixelformat: pix::RGB24,
        bpp: 3,
        bayer: false,
        layout: Layout::Rgb,
    },
    PixMap {
        codes: &[code::ARGB8888_1X32],
        pixelformat: pix::ARGB32,
        bpp: 4,
        bayer: false,
        layout: Layout::Argb,
    },
    bayer(code::SBGGR8_1X8, pix::SBGGR8, Cfa::Bggr, 8, 1),
    bayer(code::SGBRG8_1X8, pix::SGBRG8, Cfa::Gbrg, 8, 1),
    bayer(code::SGRBG8_1X8, pix::SGRBG8, Cfa::Grbg, 8, 1),
    bayer(code::SRGGB8_1X8, pix::SRGGB8, Cfa::Rggb, 8, 1),
    bayer(code::SBGGR10_1X10, pix::SBGGR10, Cfa::Bggr, 10, 2),
    bayer(code::SGBRG10_1X10, pix::SGBRG10, Cfa::Gbrg, 10, 2),
    bayer(code::SGRBG10_1X10, pix::SGRBG10, Cfa::Grbg, 10, 2),
    bayer(code::SRGGB10_1X10, pix::SRGGB10, Cfa::Rggb, 10, 2),
    bayer(code::SBGGR10_ALAW8_1X8, pix::SBGGR10ALAW8, Cfa::Bggr, 8, 1),
    bayer(code::SGBRG10_ALAW8_1X8, pix::SGBRG10ALAW8, Cfa::Gbrg, 8, 1),
    bayer(code::SGRBG10_ALAW8_1X8, pix::SGRBG10ALAW8, Cfa::Grbg, 8, 1),
    bayer(code::SRGGB10_ALAW8_1X8, pix::SRGGB10ALAW8, Cfa::Rggb, 8, 1),
    bayer(code::SBGGR10_DPCM8_1X8, pix::SBGGR10DPCM8, Cfa::Bggr, 8, 1),
    bayer(code::SGBRG10_DPCM8_1X8, pix::SGBRG10DPCM8, Cfa::Gbrg, 8, 1),
    bayer(code::SGRBG10_DPCM8_1X8, pix::SGRBG10DPCM8, Cfa::Grbg, 8, 1),
    bayer(code::SRGGB10_DPCM8_1X8, pix::SRGGB10DPCM8, Cfa::Rggb, 8, 1),
    bayer(code::SBGGR12_1X12, pix::SBGGR12, Cfa::Bggr, 12, 2),
    bayer(code::SGBRG12_1X12, pix::SGBRG12, Cfa::Gbrg, 12, 2),
    bayer(code::SGRBG12_1X12, pix::SGRBG12, Cfa::Grbg, 12, 2),
    bayer(code::SRGGB12_1X12, pix::SRGGB12, Cfa::Rggb, 12, 2),
];

/// `vimc_pix_map_by_index`.
pub fn pix_map_by_index(i: u32) -> Option<&'static PixMap> {
    PIX_MAP.get(i as usize)
}

/// `vimc_pix_map_by_code`.
pub fn pix_map_by_code(code: u32) -> Option<&'static PixMap> {
    PIX_MAP.iter().find(|p| p.codes.contains(&code))
}

/// `vimc_pix_map_by_pixelformat`.
pub fn pix_map_by_pixelformat(pixelformat: u32) -> Option<&'static PixMap> {
    PIX_MAP.iter().find(|p| p.pixelformat == pixelformat)
}

/// `vimc_mbus_code_by_index`: the codes of the pixel map, flattened.
pub fn mbus_code_by_index(i: u32) -> Option<u32> {
    PIX_MAP
        .iter()
        .flat_map(|p| p.codes.iter().copied())
        .nth(i as usize)
}

/// The sink codes of the debayer (`vimc_debayer_pix_map_list`).
pub const DEBAYER_SINK_CODES: [u32; 12] = [
    code::SBGGR8_1X8,
    code::SGBRG8_1X8,
    code::SGRBG8_1X8,
    code::SRGGB8_1X8,
    code::SBGGR10_1X10,
    code::SGBRG10_1X10,
    code::SGRBG10_1X10,
    code::SRGGB10_1X10,
    code::SBGGR12_1X12,
    code::SGBRG12_1X12,
    code::SGRBG12_1X12,
    code::SRGGB12_1X12,
];

/// The source codes of the debayer (`vimc_debayer_src_mbus_codes`).
pub const DEBAYER_SOURCE_CODES: [u32; 10] = [
    code::GBR888_1X24,
    code::BGR888_1X24,
    code::BGR888_3X8,
    code::RGB888_1X24,
    code::RGB888_2X12_BE,
    code::RGB888_2X12_LE,
    code::RGB888_3X8,
    code::RGB888_1X7X4_SPWG,
    code::RGB888_1X7X4_JEIDA,
    code::RGB888_1X32_PADHI,
];

/// `V4L2_COLORSPACE_DCI_P3`, the last colorspace.
const COLORSPACE_DCI_P3: u32 = 12;
/// `V4L2_YCBCR_ENC_SMPTE240M`, the last encoding.
const YCBCR_ENC_SMPTE240M: u32 = 8;
/// `V4L2_QUANTIZATION_LIM_RANGE`, the last quantization.
const QUANTIZATION_LIM_RANGE: u32 = 2;
/// `V4L2_XFER_FUNC_SMPTE2084`, the last transfer function.
const XFER_FUNC_SMPTE2084: u32 = 7;

/// The colorimetry fields of a format, as `vimc_colorimetry_clamp` sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colorimetry {
    /// `enum v4l2_colorspace`.
    pub colorspace: u32,
    /// `enum v4l2_ycbcr_encoding`.
    pub ycbcr_enc: u32,
    /// `enum v4l2_quantization`.
    pub quantization: u32,
    /// `enum v4l2_xfer_func`.
    pub xfer_func: u32,
}

impl Colorimetry {
    /// `vimc_colorimetry_clamp`: an unknown colorspace resets everything to
    /// DEFAULT; out-of-range encodings are reset one by one.
    pub fn clamp(mut self) -> Self {
        if self.colorspace == colorspace::DEFAULT || self.colorspace > COLORSPACE_DCI_P3 {
            self = Colorimetry {
                colorspace: colorspace::DEFAULT,
                ycbcr_enc: 0,
                quantization: 0,
                xfer_func: 0,
            };
        }
        if self.ycbcr_enc > YCBCR_ENC_SMPTE240M {
            self.ycbcr_enc = 0;
        }
        if self.quantization > QUANTIZATION_LIM_RANGE {
            self.quantization = 0;
        }
        if self.xfer_func > XFER_FUNC_SMPTE2084 {
            self.xfer_func = 0;
        }
        self
    }

    /// The colorimetry of a media bus format.
    pub fn of_mbus(f: &V4l2MbusFramefmt) -> Self {
        Self {
            colorspace: f.colorspace,
            ycbcr_enc: u32::from(f.ycbcr_enc),
            quantization: u32::from(f.quantization),
            xfer_func: u32::from(f.xfer_func),
        }
    }

    /// Stores the colorimetry into a media bus format.
    pub fn store_mbus(self, f: &mut V4l2MbusFramefmt) {
        f.colorspace = self.colorspace;
        f.ycbcr_enc = self.ycbcr_enc as u16;
        f.quantization = self.quantization as u16;
        f.xfer_func = self.xfer_func as u16;
    }

    /// The colorimetry of a pixel format.
    pub fn of_pix(p: &V4l2PixFormat) -> Self {
        Self {
            colorspace: p.colorspace,
            ycbcr_enc: p.ycbcr_enc,
            quantization: p.quantization,
            xfer_func: p.xfer_func,
        }
    }

    /// Stores the colorimetry into a pixel format.
    pub fn store_pix(self, p: &mut V4l2PixFormat) {
        p.colorspace = self.colorspace;
        p.ycbcr_enc = self.ycbcr_enc;
        p.quantization = self.quantization;
        p.xfer_func = self.xfer_func;
    }
}

/// Clamps a width to vimc's limits, even.
pub fn clamp_width(w: u32) -> u32 {
    w.clamp(MIN_WIDTH, MAX_WIDTH) & !1
}

/// Clamps a height to vimc's limits, even.
pub fn clamp_height(h: u32) -> u32 {
    h.clamp(MIN_HEIGHT, MAX_HEIGHT) & !1
}

/// The default format of every subdev pad except the debayer's sink:
/// 640x480 `RGB888_1X24`, progressive, sRGB.
pub fn mbus_default() -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        width: 640,
        height: 480,
        code: code::RGB888_1X24,
        field: field::NONE,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

/// The default capture format: 640x480 RGB24, 1920 bytes per line.
pub fn pix_default() -> V4l2PixFormat {
    V4l2PixFormat {
        width: 640,
        height: 480,
        pixelformat: pix::RGB24,
        field: field::NONE,
        bytesperline: 640 * 3,
        sizeimage: 640 * 480 * 3,
        colorspace: colorspace::SRGB,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pix_map_is_the_kernels() {
        assert_eq!(PIX_MAP.len(), 23);
        assert_eq!(PIX_MAP[0].pixelformat, pix::BGR24);
        assert_eq!(PIX_MAP[1].pixelformat, pix::RGB24);
        assert_eq!(PIX_MAP[2].pixelformat, pix::ARGB32);
        assert_eq!(PIX_MAP[3].pixelformat, pix::SBGGR8);
        assert_eq!(PIX_MAP.iter().filter(|p| p.bayer).count(), 20);
        // Every code maps back to its entry; no code is listed twice.
        let codes: Vec<u32> = (0..).map_while(mbus_code_by_index).collect();
        assert_eq!(codes.len(), 2 + 8 + 1 + 20);
        for c in &codes {
            assert_eq!(codes.iter().filter(|x| *x == c).count(), 1);
            assert!(pix_map_by_code(*c).unwrap().codes.contains(c));
        }
        assert_eq!(
            pix_map_by_code(code::GBR888_1X24).unwrap().pixelformat,
            pix::RGB24
        );
        assert_eq!(pix_map_by_pixelformat(pix::SBGGR12).unwrap().bpp, 2);
        for c in DEBAYER_SINK_CODES {
            assert!(pix_map_by_code(c).unwrap().bayer);
        }
        for c in DEBAYER_SOURCE_CODES {
            assert!(!pix_map_by_code(c).unwrap().bayer);
        }
    }

    #[test]
    fn cfa_channels() {
        // BGGR: B at (0,0), R at (1,1).
        assert_eq!(Cfa::Bggr.channel(0, 0), 2);
        assert_eq!(Cfa::Bggr.channel(1, 0), 1);
        assert_eq!(Cfa::Bggr.channel(0, 1), 1);
        assert_eq!(Cfa::Bggr.channel(1, 1), 0);
        assert_eq!(Cfa::Rggb.channel(2, 2), 0);
        assert_eq!(Cfa::Grbg.channel(1, 0), 0);
        assert_eq!(Cfa::Gbrg.channel(0, 1), 0);
    }

    #[test]
    fn colorimetry_clamp() {
        let c = Colorimetry {
            colorspace: 99,
            ycbcr_enc: 1,
            quantization: 1,
            xfer_func: 1,
        }
        .clamp();
        assert_eq!(c.colorspace, 0);
        assert_eq!((c.ycbcr_enc, c.quantization, c.xfer_func), (0, 0, 0));
        let c = Colorimetry {
            colorspace: colorspace::SRGB,
            ycbcr_enc: 9,
            quantization: 3,
            xfer_func: 2,
        }
        .clamp();
        assert_eq!(
            (c.colorspace, c.ycbcr_enc, c.quantization, c.xfer_func),
            (8, 0, 0, 2)
        );
        assert_eq!(clamp_width(1), 16);
        assert_eq!(clamp_width(641), 640);
        assert_eq!(clamp_height(99_999), 2160);
    }
}
