//! The frames vimc produces, as pure functions (`vimc-sensor.c`,
//! `vimc-debayer.c`, `vimc-scaler.c`, the `process_frame` of each entity).
//!
//! The kernel's sensor draws with the test pattern generator; devlife's draws
//! a documented pattern that tests can check:
//!
//! * eight vertical colour bars (75% white, yellow, cyan, green, magenta,
//!   red, blue, black: [`BARS`]), each `width / 8` pixels wide, **moving
//!   left by [`BAR_SHIFT`] pixels per frame**: pixel `x` of frame `seq` has
//!   the colour of bar `((x + seq * BAR_SHIFT) mod width) * 8 / width`;
//! * written in the sensor's media bus format: R,G,B or B,G,R bytes, A,R,G,B
//!   for ARGB, or one colour component per pixel for Bayer formats (the
//!   filter order of the code; 10 and 12-bit samples are the 8-bit value
//!   shifted left, in two little-endian bytes);
//! * a frame counter: the first four bytes of every sensor frame are the
//!   frame's sequence number, little endian (the sensor's "Show
//!   Information" overlay, reduced to a number).
//!
//! The debayer turns a Bayer frame into RGB by averaging every colour over a
//! 3x3 window (the "Debayer Mean Window Size" control's default); the scaler
//! crops its sink frame and scales the crop to its source size by nearest
//! neighbour; the capture copies the frame into the buffer.

use super::formats::{Layout, pix_map_by_code};
use devlife_media::uapi::videodev2::V4l2Rect;

/// The bar colours, left to right (R, G, B).
pub const BARS: [[u8; 3]; 8] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
    [0, 0, 0],
];

/// Pixels the bars move left per frame.
pub const BAR_SHIFT: u32 = 8;

/// Bytes of the frame counter at the start of every sensor frame.
pub const STAMP_BYTES: usize = 4;

/// A frame's format: a media bus code and a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameFmt {
    /// `MEDIA_BUS_FMT_*`.
    pub code: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl FrameFmt {
    /// Bytes per pixel of the code (1 if vimc does not know it).
    pub fn bpp(&self) -> usize {
        pix_map_by_code(self.code).map_or(1, |p| p.bpp as usize)
    }

    /// Bytes of one frame.
    pub fn size(&self) -> usize {
        self.width as usize * self.height as usize * self.bpp()
    }

    fn layout(&self) -> Layout {
        pix_map_by_code(self.code).map_or(Layout::Rgb, |p| p.layout)
    }
}

/// The bar index of pixel column `x` in frame `seq` of a `width`-wide frame.
pub fn bar_index(width: u32, x: u32, seq: u32) -> usize {
    if width == 0 {
        return 0;
    }
    let w = u64::from(width);
    let shifted = (u64::from(x) + u64::from(seq) * u64::from(BAR_SHIFT)) % w;
    (shifted * 8 / w) as usize
}

/// The colour (R, G, B) of pixel column `x` in frame `seq`.
pub fn bar_color(width: u32, x: u32, seq: u32) -> [u8; 3] {
    BARS[bar_index(width, x, seq)]
}

fn put_pixel(out: &mut [u8], layout: Layout, x: usize, y: usize, rgb: [u8; 3]) {
    match layout {
        Layout::Rgb => out.copy_from_slice(&rgb),
        Layout::Bgr => out.copy_from_slice(&[rgb[2], rgb[1], rgb[0]]),
        Layout::Argb => out.copy_from_slice(&[0xff, rgb[0], rgb[1], rgb[2]]),
        Layout::Bayer { cfa, bits } => {
            let c = rgb[cfa.channel(x, y)];
            if out.len() == 1 {
                out[0] = c;
            } else {
                let v = u16::from(c) << (bits.saturating_sub(8));
                out.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// The frame the sensor produces for frame number `seq` in format `f`.
pub fn sensor_frame(f: FrameFmt, seq: u32) -> Vec<u8> {
    let bpp = f.bpp();
    let layout = f.layout();
    let (w, h) = (f.width as usize, f.height as usize);
    let mut out = vec![0u8; f.size()];
    let colors: Vec<[u8; 3]> = (0..f.width).map(|x| bar_color(f.width, x, seq)).collect();
    for (y, row) in out.chunks_exact_mut(w * bpp).enumerate().take(h) {
        for (x, px) in row.chunks_exact_mut(bpp).enumerate() {
            put_pixel(px, layout, x, y, colors[x]);
        }
    }
    if out.len() >= STAMP_BYTES {
        out[..STAMP_BYTES].copy_from_slice(&seq.to_le_bytes());
    }
    out
}

/// The frame counter of a sensor frame (or of a raw capture of one).
pub fn frame_counter(frame: &[u8]) -> Option<u32> {
    let b: [u8; STAMP_BYTES] = frame.get(..STAMP_BYTES)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn sample(input: &[u8], bpp: usize, bits: u32, idx: usize) -> u32 {
    match input.get(idx * bpp..idx * bpp + bpp) {
        Some([b]) => u32::from(*b),
        Some([lo, hi]) => u32::from(u16::from_le_bytes([*lo, *hi])) >> bits.saturating_sub(8),
        _ => 0,
    }
}

/// The debayer's `process_frame`: a Bayer frame in `sink` format to an RGB
/// frame in `src` format (same size), averaging each colour over a 3x3 window.
/// A sink format that is not Bayer gives a black frame.
pub fn debayer(input: &[u8], sink: FrameFmt, src: FrameFmt) -> Vec<u8> {
    let (w, h) = (sink.width as usize, sink.height as usize);
    let obpp = src.bpp();
    let olayout = src.layout();
    let (ow, oh) = (src.width as usize, src.height as usize);
    let mut out = vec![0u8; src.size()];
    let Layout::Bayer { cfa, bits } = sink.layout() else {
        return out;
    };
    if w == 0 || h == 0 {
        return out;
    }
    let ibpp = sink.bpp();
    let samples: Vec<u32> = (0..w * h).map(|i| sample(input, ibpp, bits, i)).collect();
    // The colour of each site of the 2x2 filter block.
    let tab = [
        cfa.channel(0, 0),
        cfa.channel(1, 0),
        cfa.channel(0, 1),
        cfa.channel(1, 1),
    ];
    // Plain index loops: this runs for every pixel of every frame, also in
    // unoptimised test builds.
    let mut rgb = vec![[0u8; 3]; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let mut sum = [0u32; 3];
            let mut n = [0u32; 3];
            for yy in y0..=y1 {
                let (row, par) = (yy * w, (yy & 1) * 2);
                for xx in x0..=x1 {
                    let c = tab[par + (xx & 1)];
                    sum[c] += samples[row + xx];
                    n[c] += 1;
                }
            }
            let px = &mut rgb[y * w + x];
            for c in 0..3 {
                px[c] = sum[c].checked_div(n[c]).unwrap_or(0).min(255) as u8;
            }
        }
    }
    for y in 0..oh.min(h) {
        for x in 0..ow.min(w) {
            let at = (y * ow + x) * obpp;
            put_pixel(&mut out[at..at + obpp], olayout, x, y, rgb[y * w + x]);
        }
    }
    out
}

/// The scaler's `process_frame`: crops `crop` out of the sink frame and
/// scales it to the source size by nearest neighbour (same code both sides).
pub fn scale(input: &[u8], sink: FrameFmt, crop: V4l2Rect, src: FrameFmt) -> Vec<u8> {
    let bpp = sink.bpp();
    let (sw, sh) = (sink.width as usize, sink.height as usize);
    let (dw, dh) = (src.width as usize, src.height as usize);
    let mut out = vec![0u8; dw * dh * bpp];
    let (cl, ct) = (crop.left.max(0) as usize, crop.top.max(0) as usize);
    let (cw, ch) = (crop.width as usize, crop.height as usize);
    if dw == 0 || dh == 0 || cw == 0 || ch == 0 || sw == 0 || sh == 0 {
        return out;
    }
    let xmap: Vec<usize> = (0..dw)
        .map(|x| (cl + x * cw / dw).min(sw - 1) * bpp)
        .collect();
    let row_bytes = dw * bpp;
    let mut prev: Option<usize> = None;
    for y in 0..dh {
        let sy = (ct + y * ch / dh).min(sh - 1);
        let to = y * row_bytes;
        if prev == Some(sy) {
            // Same source row as the previous line: copy it.
            out.copy_within(to - row_bytes..to, to);
            continue;
        }
        prev = Some(sy);
        let Some(srow) = input.get(sy * sw * bpp..(sy + 1) * sw * bpp) else {
            continue;
        };
        for (px, &from) in out[to..to + row_bytes].chunks_exact_mut(bpp).zip(&xmap) {
            px.copy_from_slice(&srow[from..from + bpp]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::formats::code;
    use super::*;

    #[test]
    fn bars_move_and_the_counter_is_stamped() {
        let f = FrameFmt {
            code: code::RGB888_1X24,
            width: 64,
            height: 4,
        };
        let a = sensor_frame(f, 0);
        let b = sensor_frame(f, 1);
        assert_eq!(a.len(), 64 * 4 * 3);
        assert_eq!(frame_counter(&a), Some(0));
        assert_eq!(frame_counter(&b), Some(1));
        // Row 1, pixel 9 (bar 1 in frame 0, bar 2 in frame 1: 8 px per frame).
        let px = |f: &[u8], x: usize| f[(64 + x) * 3..(64 + x) * 3 + 3].to_vec();
        assert_eq!(px(&a, 9), BARS[1].to_vec());
        assert_eq!(px(&b, 9), BARS[2].to_vec());
        // Wraps around.
        assert_eq!(bar_index(64, 63, 1), 0);
    }

    #[test]
    fn bayer_then_debayer_gives_the_bars_back() {
        let sink = FrameFmt {
            code: code::SBGGR8_1X8,
            width: 64,
            height: 8,
        };
        let raw = sensor_frame(sink, 3);
        // (2,2) is blue in BGGR, (3,3) red.
        let x = 2usize;
        assert_eq!(raw[2 * 64 + x], bar_color(64, 2, 3)[2]);
        assert_eq!(raw[3 * 64 + 3], bar_color(64, 3, 3)[0]);
        let src = FrameFmt {
            code: code::RGB888_1X24,
            ..sink
        };
        let rgb = debayer(&raw, sink, src);
        // Inside a bar (away from its edges and from the counter), exact.
        for x in [4usize, 12, 20, 36] {
            let at = (4 * 64 + x) * 3;
            assert_eq!(rgb[at..at + 3], bar_color(64, x as u32, 3), "x={x}");
        }
        // 10-bit samples carry the same picture.
        let s10 = FrameFmt {
            code: code::SBGGR10_1X10,
            ..sink
        };
        let rgb10 = debayer(&sensor_frame(s10, 3), s10, src);
        assert_eq!(
            rgb10[(4 * 64 + 12) * 3..(4 * 64 + 12) * 3 + 3],
            rgb[(4 * 64 + 12) * 3..(4 * 64 + 12) * 3 + 3]
        );
    }

    #[test]
    fn scaler_crops_and_scales() {
        let f = FrameFmt {
            code: code::RGB888_1X24,
            width: 64,
            height: 4,
        };
        let inp = sensor_frame(f, 0);
        let crop = V4l2Rect {
            left: 8,
            top: 0,
            width: 16,
            height: 4,
        };
        let out = scale(
            &inp,
            f,
            crop,
            FrameFmt {
                width: 32,
                height: 8,
                ..f
            },
        );
        assert_eq!(out.len(), 32 * 8 * 3);
        // Output x 0..16 comes from input 8..16 (bar 1), 16..32 from bar 2.
        let at = |x: usize, y: usize| &out[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3];
        assert_eq!(at(3, 5), BARS[1]);
        assert_eq!(at(20, 7), BARS[2]);
    }
}
