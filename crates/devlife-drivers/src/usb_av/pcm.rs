//! The PCM capture ABI of the usb-av audio node (`/dev/pcmCnD0c`).
//!
//! It is a reduced ALSA PCM interface: the ioctl letters, numbers and state
//! numbers are ALSA's (`'A'`, `SNDRV_PCM_IOCTL_*`, `SNDRV_PCM_STATE_*`), the
//! argument structs are devlife's own small ones (so the encoded ioctl
//! numbers differ from ALSA's where ALSA's structs are bigger). Samples are
//! read with `read(2)`, interleaved S16_LE.
//!
//! * `HW_PARAMS` configures the stream and claims the shared source (the
//!   snd-usb-audio driver calls the media device's `enable_source` from
//!   `hw_params`); `HW_FREE` releases it.
//! * `PREPARE`, `START`, `DROP` as in ALSA.
//! * `read` on a stream that is not running configures the defaults
//!   ([`PcmHwParams::DEFAULT`]) and starts it (ALSA would answer `EBADFD`;
//!   devlife starts, so `cat /dev/pcmC0D0c` works).
//! * `STATUS` reports the state, the parameters and the frames captured.

use devlife_media::uapi::ioctl::{Wire, io, ior, iowr};
use devlife_model::{Errno, File, KResult, OpenFlags};

/// `EBADFD` (77): the stream is in the wrong state.
pub const EBADFD: Errno = Errno::from_raw(77);

/// `SNDRV_PCM_FORMAT_S16_LE`.
pub const FORMAT_S16_LE: u32 = 2;

/// `SNDRV_PCM_STATE_*`.
pub mod state {
    /// Open, not configured.
    pub const OPEN: u32 = 0;
    /// Configured (`HW_PARAMS`).
    pub const SETUP: u32 = 1;
    /// Ready to start.
    pub const PREPARED: u32 = 2;
    /// Capturing: `START` was called and periods are transferred.
    pub const RUNNING: u32 = 3;
    /// The device is gone.
    pub const DISCONNECTED: u32 = 8;
}

/// `SNDRV_PCM_IOCTL_PVERSION`: a `u32` protocol version.
pub const PCM_IOCTL_PVERSION: u32 = ior(b'A', 0x00, 4);
/// `SNDRV_PCM_IOCTL_HW_PARAMS` with [`PcmHwParams`].
pub const PCM_IOCTL_HW_PARAMS: u32 = iowr(b'A', 0x11, PcmHwParams::SIZE);
/// `SNDRV_PCM_IOCTL_HW_FREE`.
pub const PCM_IOCTL_HW_FREE: u32 = io(b'A', 0x12);
/// `SNDRV_PCM_IOCTL_STATUS` with [`PcmStatus`].
pub const PCM_IOCTL_STATUS: u32 = ior(b'A', 0x20, PcmStatus::SIZE);
/// `SNDRV_PCM_IOCTL_PREPARE`.
pub const PCM_IOCTL_PREPARE: u32 = io(b'A', 0x40);
/// `SNDRV_PCM_IOCTL_START`.
pub const PCM_IOCTL_START: u32 = io(b'A', 0x42);
/// `SNDRV_PCM_IOCTL_DROP`.
pub const PCM_IOCTL_DROP: u32 = io(b'A', 0x43);

/// The protocol version `PVERSION` reports (`SNDRV_PCM_VERSION` 2.0.15).
pub const PCM_VERSION: u32 = (2 << 16) | 15;

/// Stream parameters (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcmHwParams {
    /// Sample rate: 32000, 44100 or 48000.
    pub rate: u32,
    /// Channels: 2.
    pub channels: u32,
    /// Sample format: [`FORMAT_S16_LE`].
    pub format: u32,
    /// Bytes per period (one USB transfer): a multiple of 4 in 64..=16384;
    /// 0 picks the default (1024).
    pub period_bytes: u32,
}

impl PcmHwParams {
    /// What `read` configures on an unconfigured stream.
    pub const DEFAULT: PcmHwParams = PcmHwParams {
        rate: 48000,
        channels: 2,
        format: FORMAT_S16_LE,
        period_bytes: 1024,
    };

    /// Validates and completes the parameters (`EINVAL` for unsupported ones).
    pub fn refine(mut self) -> KResult<Self> {
        if !matches!(self.rate, 32000 | 44100 | 48000)
            || self.channels != 2
            || self.format != FORMAT_S16_LE
        {
            return Err(Errno::EINVAL);
        }
        if self.period_bytes == 0 {
            self.period_bytes = Self::DEFAULT.period_bytes;
        }
        if !(64..=16384).contains(&self.period_bytes) || !self.period_bytes.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        Ok(self)
    }
}

impl Wire for PcmHwParams {
    const SIZE: usize = 16;
    const ZERO: Self = PcmHwParams {
        rate: 0,
        channels: 0,
        format: 0,
        period_bytes: 0,
    };
    fn decode(b: &[u8]) -> Self {
        let w = |i: usize| u32::decode(b.get(i..).unwrap_or(&[]));
        PcmHwParams {
            rate: w(0),
            channels: w(4),
            format: w(8),
            period_bytes: w(12),
        }
    }
    fn encode(&self, b: &mut [u8]) {
        for (i, v) in [self.rate, self.channels, self.format, self.period_bytes]
            .iter()
            .enumerate()
        {
            if let Some(d) = b.get_mut(i * 4..) {
                v.encode(d);
            }
        }
    }
}

/// Stream status (32 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcmStatus {
    /// `SNDRV_PCM_STATE_*` ([`state`]).
    pub state: u32,
    /// Sample rate (0 before `HW_PARAMS`).
    pub rate: u32,
    /// Number of interleaved channels.
    pub channels: u32,
    /// Sample format (`SNDRV_PCM_FORMAT_*`).
    pub format: u32,
    /// Frames captured by the device since the stream started.
    pub frames: u64,
    /// Bytes ready to be read.
    pub avail: u32,
    /// Reserved, written as zero.
    pub reserved: u32,
}

impl Wire for PcmStatus {
    const SIZE: usize = 32;
    const ZERO: Self = PcmStatus {
        state: 0,
        rate: 0,
        channels: 0,
        format: 0,
        frames: 0,
        avail: 0,
        reserved: 0,
    };
    fn decode(b: &[u8]) -> Self {
        let g = |i: usize| b.get(i..).unwrap_or(&[]);
        PcmStatus {
            state: u32::decode(g(0)),
            rate: u32::decode(g(4)),
            channels: u32::decode(g(8)),
            format: u32::decode(g(12)),
            frames: u64::decode(g(16)),
            avail: u32::decode(g(24)),
            reserved: u32::decode(g(28)),
        }
    }
    fn encode(&self, b: &mut [u8]) {
        let mut put = |i: usize, v: &dyn Fn(&mut [u8])| {
            if let Some(d) = b.get_mut(i..) {
                v(d);
            }
        };
        put(0, &|d| self.state.encode(d));
        put(4, &|d| self.rate.encode(d));
        put(8, &|d| self.channels.encode(d));
        put(12, &|d| self.format.encode(d));
        put(16, &|d| self.frames.encode(d));
        put(24, &|d| self.avail.encode(d));
        put(28, &|d| self.reserved.encode(d));
    }
}

/// Client helpers (what an application, the harness or a test calls).
pub mod client {
    use super::*;

    /// Opens a PCM capture node read-only.
    pub fn open(k: &devlife_model::Kernel, node: &str) -> KResult<File> {
        k.open(node, OpenFlags::RDONLY)
    }

    /// `HW_PARAMS`: returns the refined parameters.
    pub fn hw_params(f: &File, p: PcmHwParams) -> KResult<PcmHwParams> {
        let mut b = p.to_vec();
        f.ioctl(PCM_IOCTL_HW_PARAMS, &mut b)?;
        Ok(PcmHwParams::decode(&b))
    }

    /// `STATUS`.
    pub fn status(f: &File) -> KResult<PcmStatus> {
        let mut b = PcmStatus::ZERO.to_vec();
        f.ioctl(PCM_IOCTL_STATUS, &mut b)?;
        Ok(PcmStatus::decode(&b))
    }

    /// An argument-less ioctl (`HW_FREE`, `PREPARE`, `START`, `DROP`).
    pub fn cmd(f: &File, cmd: u32) -> KResult<()> {
        f.ioctl(cmd, &mut []).map(|_| ())
    }

    /// Decodes interleaved S16_LE stereo frames.
    pub fn frames(bytes: &[u8]) -> Vec<[i16; 2]> {
        bytes
            .chunks_exact(4)
            .map(|c| {
                [
                    i16::from_le_bytes([c[0], c[1]]),
                    i16::from_le_bytes([c[2], c[3]]),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trips_and_numbers() {
        let p = PcmHwParams::DEFAULT;
        assert_eq!(PcmHwParams::decode(&p.to_vec()), p);
        let s = PcmStatus {
            state: state::RUNNING,
            frames: 1 << 40,
            avail: 9,
            ..Default::default()
        };
        assert_eq!(PcmStatus::decode(&s.to_vec()), s);
        assert_eq!(PCM_IOCTL_PREPARE, 0x4140);
        assert_eq!(PCM_IOCTL_HW_FREE, 0x4112);
        assert_eq!(
            PcmHwParams {
                period_bytes: 0,
                ..PcmHwParams::DEFAULT
            }
            .refine()
            .unwrap()
            .period_bytes,
            1024
        );
        assert_eq!(
            PcmHwParams {
                rate: 8000,
                ..PcmHwParams::DEFAULT
            }
            .refine(),
            Err(Errno::EINVAL)
        );
    }
}
