//! The simulated usb-av hardware: one USB device (vendor-specific video
//! function + USB audio streaming function) behind the model's simulated bus.
//!
//! # Registers (control requests, shared by both functions)
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | `0x00` | [`REG_ID`] | chip id ([`CHIP_ID`]) |
//! | `0x04` | [`REG_V_CTRL`] | bit 0: the video endpoint streams |
//! | `0x08` | [`REG_V_FMT`] | `width << 16 \| height` of the video stream |
//! | `0x0c` | [`REG_V_AUDIO_ROUTE`] | decoder audio routing (1: to the audio function) |
//! | `0x20` | [`REG_A_CTRL`] | bit 0: the audio endpoint streams |
//! | `0x24` | [`REG_A_RATE`] | audio sample rate |
//! | `0x28` | [`REG_A_CHANNELS`] | audio channel count |
//!
//! # Transfers (URBs)
//!
//! A bus transfer carries its request in the first bytes of the buffer (a
//! URB's setup packet): byte 0 is the endpoint, bytes 4..8 a little-endian
//! position (video: frame number; audio: sample frame position), bytes 8..12
//! (video only) the byte offset in the frame. The device overwrites the whole
//! buffer with its data and returns the number of bytes produced: 0 when the
//! function is not streaming (an empty isochronous packet), `EPIPE` (a stall)
//! for a malformed request. After a physical unplug the model's bus fails
//! every transfer with `ENODEV` before the device sees it.
//!
//! The data is deterministic so tests can check it: see [`video_byte`] and
//! [`audio_frame`].

use devlife_model::{Errno, Hardware, KResult};

/// Chip id register.
pub const REG_ID: u32 = 0x00;
/// Video control register ([`CTRL_STREAM`]).
pub const REG_V_CTRL: u32 = 0x04;
/// Video format register (`width << 16 | height`).
pub const REG_V_FMT: u32 = 0x08;
/// Decoder audio routing register.
pub const REG_V_AUDIO_ROUTE: u32 = 0x0c;
/// Picture controls: brightness, contrast, saturation, hue (the decoder's
/// registers, written by the capture node's controls).
pub const REG_V_BRIGHTNESS: u32 = 0x10;
/// Decoder register: contrast, written by the capture node's control.
pub const REG_V_CONTRAST: u32 = 0x14;
/// Decoder register: saturation, written by the capture node's control.
pub const REG_V_SATURATION: u32 = 0x18;
/// Decoder register: hue, written by the capture node's control.
pub const REG_V_HUE: u32 = 0x1c;
/// Selected input (0 composite, 1 S-Video).
pub const REG_V_INPUT: u32 = 0x2c;
/// Audio control register ([`CTRL_STREAM`]).
pub const REG_A_CTRL: u32 = 0x20;
/// Audio sample rate register.
pub const REG_A_RATE: u32 = 0x24;
/// Audio channel count register.
pub const REG_A_CHANNELS: u32 = 0x28;
/// Number of 32-bit registers of the device.
pub const NREGS: usize = 16;

/// Control bit: the endpoint streams.
pub const CTRL_STREAM: u32 = 1;
/// The value of [`REG_ID`].
pub const CHIP_ID: u32 = 0x0828_a0a0;

/// Video bulk-in endpoint.
pub const EP_VIDEO_IN: u8 = 0x81;
/// Audio isochronous-in endpoint.
pub const EP_AUDIO_IN: u8 = 0x82;
/// Size of a request header.
pub const REQUEST_LEN: usize = 12;

/// Writes a video request for `frame` at byte `offset` into `buf` (at least
/// [`REQUEST_LEN`] bytes).
pub fn video_request(buf: &mut [u8], frame: u32, offset: u32) {
    if buf.len() >= REQUEST_LEN {
        buf[..4].copy_from_slice(&[EP_VIDEO_IN, 0, 0, 0]);
        buf[4..8].copy_from_slice(&frame.to_le_bytes());
        buf[8..12].copy_from_slice(&offset.to_le_bytes());
    }
}

/// Writes an audio request for sample frames from `pos` into `buf` (at least
/// [`REQUEST_LEN`] bytes).
pub fn audio_request(buf: &mut [u8], pos: u32) {
    if buf.len() >= REQUEST_LEN {
        buf[..4].copy_from_slice(&[EP_AUDIO_IN, 0, 0, 0]);
        buf[4..8].copy_from_slice(&pos.to_le_bytes());
        buf[8..12].fill(0);
    }
}

/// Byte `offset` of video frame `frame`: the first four bytes are the frame
/// number (little endian), then YUYV with a luma ramp shifted by the frame
/// number and neutral chroma.
pub fn video_byte(frame: u32, offset: usize) -> u8 {
    if offset < 4 {
        frame.to_le_bytes()[offset]
    } else if offset.is_multiple_of(2) {
        ((offset / 2) as u32).wrapping_add(frame) as u8
    } else {
        0x80
    }
}

/// The stereo S16 sample frame at position `pos`: a sawtooth on the left
/// channel, its complement on the right.
pub fn audio_frame(pos: u32) -> [i16; 2] {
    let l = pos as u16 as i16;
    [l, !l]
}

fn word(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Fills `buf` with bytes `offset..` of video frame `frame` ([`video_byte`]).
/// Past the frame number, the bytes go by (luma, chroma) pairs, so the loop
/// has no branch and vectorises: the hardware model runs on every streaming
/// transfer of a stress run.
fn fill_video(buf: &mut [u8], frame: u32, offset: u32) {
    let base = offset as usize;
    // The frame number, and a chroma byte if the ramp starts mid-pair.
    let mut head = 4usize.saturating_sub(base);
    if !(base + head).is_multiple_of(2) {
        head += 1;
    }
    let head = head.min(buf.len());
    let (first, rest) = buf.split_at_mut(head);
    for (i, b) in first.iter_mut().enumerate() {
        *b = video_byte(frame, base + i);
    }
    // Luma of the byte at even offset `o` is `o / 2 + frame` modulo 256.
    let luma0 = ((base + head) / 2) as u8;
    let frame = frame as u8;
    let npairs = rest.len() / 2;
    let mut pairs = rest.chunks_exact_mut(2);
    for (j, pair) in pairs.by_ref().enumerate() {
        pair[0] = luma0.wrapping_add(j as u8).wrapping_add(frame);
        pair[1] = 0x80;
    }
    if let [last] = pairs.into_remainder() {
        *last = luma0.wrapping_add(npairs as u8).wrapping_add(frame);
    }
}

fn fill_audio(buf: &mut [u8], pos: u32) -> usize {
    let frames = buf.len() / 4;
    for (i, c) in buf.chunks_exact_mut(4).enumerate() {
        let [l, r] = audio_frame(pos.wrapping_add(i as u32));
        c[..2].copy_from_slice(&l.to_le_bytes());
        c[2..].copy_from_slice(&r.to_le_bytes());
    }
    frames * 4
}

fn transfer(hw: &Hardware, buf: &mut [u8]) -> KResult<usize> {
    if buf.len() < REQUEST_LEN {
        return Err(Errno::EPIPE);
    }
    let pos = word(buf, 4);
    match buf[0] {
        EP_VIDEO_IN => {
            if hw.peek(REG_V_CTRL) & CTRL_STREAM == 0 {
                return Ok(0);
            }
            let offset = word(buf, 8);
            fill_video(buf, pos, offset);
            Ok(buf.len())
        }
        EP_AUDIO_IN => {
            if hw.peek(REG_A_CTRL) & CTRL_STREAM == 0 {
                return Ok(0);
            }
            Ok(fill_audio(buf, pos))
        }
        _ => Err(Errno::EPIPE),
    }
}

/// Installs the device behaviour on the USB device's hardware (shared by its
/// interfaces): the chip id and the transfer handler. [`super::UsbAv::plug`]
/// calls it; call it yourself for a device added by other means.
pub fn install_device_model(hw: &Hardware) {
    hw.poke(REG_ID, CHIP_ID);
    hw.set_transfer_hook(transfer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_patterns() {
        let mut b = [0u8; 16];
        video_request(&mut b, 7, 1024);
        assert_eq!(b[0], EP_VIDEO_IN);
        assert_eq!(word(&b, 4), 7);
        assert_eq!(word(&b, 8), 1024);
        fill_video(&mut b, 7, 0);
        assert_eq!(word(&b, 0), 7);
        assert_eq!(b[4], 2 + 7);
        assert_eq!(b[5], 0x80);
        let mut a = [0u8; 14];
        assert_eq!(fill_audio(&mut a, 65535), 12);
        assert_eq!(i16::from_le_bytes([a[0], a[1]]), -1);
        assert_eq!(i16::from_le_bytes([a[2], a[3]]), 0);
        assert_eq!(audio_frame(1), [1, -2]);
    }

    /// The pairwise fill writes exactly what [`video_byte`] says, at every
    /// alignment of the start and the end, across the frame-number bytes
    /// and the 256-byte wrap of the ramp.
    #[test]
    fn fill_video_matches_video_byte() {
        for frame in [0u32, 1, 7, 255, 0x1234_5678] {
            for offset in 0..9u32 {
                for len in [0usize, 1, 2, 3, 4, 5, 6, 7, 600, 601] {
                    let mut b = vec![0u8; len];
                    fill_video(&mut b, frame, offset);
                    let want: Vec<u8> = (0..len)
                        .map(|i| video_byte(frame, offset as usize + i))
                        .collect();
                    assert_eq!(b, want, "frame {frame} offset {offset} len {len}");
                }
            }
        }
    }
}
