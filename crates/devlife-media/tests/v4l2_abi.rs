//! ABI checks of the videodev2.h / v4l2-subdev.h mirrors, at run time and
//! from the outside: every field, set to a marker, must land at the byte
//! offset `docs/uapi-sizes.txt` gives, encoded sizes must be the C
//! sizes, and the ioctl numbers must be the measured ones. (The same facts
//! are also checked at compile time inside the crate.)

use devlife_media::uapi::ioctl::{IoctlCmd, Wire};
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;

/// Encodes `v` and returns the little-endian u32 at `off`.
fn word<T: Wire>(v: &T, off: usize) -> u32 {
    let b = v.to_vec();
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

#[test]
fn encoded_sizes_are_the_c_sizes() {
    let sizes = [
        (V4l2Capability::SIZE, 104),
        (V4l2Fmtdesc::SIZE, 64),
        (V4l2PixFormat::SIZE, 48),
        (V4l2Format::SIZE, 208),
        (V4l2Requestbuffers::SIZE, 20),
        (V4l2Timecode::SIZE, 16),
        (Timeval::SIZE, 16),
        (V4l2Buffer::SIZE, 88),
        (V4l2Plane::SIZE, 64),
        (V4l2MbusFramefmt::SIZE, 48),
        (V4l2SubdevFormat::SIZE, 88),
        (V4l2SubdevMbusCodeEnum::SIZE, 48),
        (V4l2SubdevFrameSizeEnum::SIZE, 64),
        (V4l2SubdevSelection::SIZE, 64),
        (V4l2SubdevCapability::SIZE, 64),
        (V4l2SubdevClientCapability::SIZE, 8),
        (V4l2SubdevRouting::SIZE, 64),
    ];
    for (i, (got, want)) in sizes.iter().enumerate() {
        assert_eq!(got, want, "struct #{i}");
    }
}

#[test]
fn video_fields_land_at_their_offsets() {
    let c = V4l2Capability {
        version: 1,
        capabilities: 2,
        device_caps: 3,
        ..Default::default()
    };
    assert_eq!((word(&c, 80), word(&c, 84), word(&c, 88)), (1, 2, 3));
    let d = V4l2Fmtdesc {
        index: 1,
        type_: 2,
        flags: 3,
        pixelformat: 4,
        mbus_code: 5,
        ..Default::default()
    };
    assert_eq!([0, 4, 8, 44, 48].map(|o| word(&d, o)), [1, 2, 3, 4, 5]);
    let p = V4l2PixFormat {
        width: 1,
        height: 2,
        pixelformat: 3,
        field: 4,
        bytesperline: 5,
        sizeimage: 6,
        colorspace: 7,
        priv_: 8,
        flags: 9,
        ycbcr_enc: 10,
        quantization: 11,
        xfer_func: 12,
    };
    assert_eq!(
        (0..12).map(|i| word(&p, i * 4)).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    let f = V4l2Format::from_pix(9, &p);
    assert_eq!((word(&f, 0), word(&f, 8), word(&f, 8 + 44)), (9, 1, 12));
    let r = V4l2Requestbuffers {
        count: 1,
        type_: 2,
        memory: 3,
        capabilities: 4,
        flags: 5,
        reserved: [6, 7, 8],
    };
    let rb = r.to_vec();
    assert_eq!([0, 4, 8, 12].map(|o| word(&r, o)), [1, 2, 3, 4]);
    assert_eq!(&rb[16..20], &[5, 6, 7, 8]);
    let mut b = V4l2Buffer {
        index: 1,
        type_: 2,
        bytesused: 3,
        flags: 4,
        field: 5,
        timestamp: Timeval {
            tv_sec: 6,
            tv_usec: 7,
        },
        sequence: 8,
        memory: 9,
        length: 10,
        reserved2: 11,
        request_fd: 12,
        ..Default::default()
    };
    b.timecode.frames = 13;
    b.set_m_offset(14);
    let raw = b.to_vec();
    assert_eq!(
        [0, 4, 8, 12, 16, 24, 32, 56, 60, 64, 72, 76, 80].map(|o| word(&b, o)),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 10, 11, 12]
    );
    assert_eq!(raw[40 + 8], 13, "timecode.frames");
    let sel = V4l2Selection {
        type_: 1,
        target: 2,
        flags: 3,
        r: V4l2Rect {
            left: 4,
            top: 5,
            width: 6,
            height: 7,
        },
        ..Default::default()
    };
    assert_eq!(
        (12..=24)
            .step_by(4)
            .map(|o| word(&sel, o))
            .collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
}

#[test]
fn subdev_fields_land_at_their_offsets() {
    let m = V4l2MbusFramefmt {
        width: 1,
        height: 2,
        code: 3,
        field: 4,
        colorspace: 5,
        ycbcr_enc: 6,
        quantization: 7,
        xfer_func: 8,
        flags: 9,
        ..Default::default()
    };
    let raw = m.to_vec();
    assert_eq!([0, 4, 8, 12, 16].map(|o| word(&m, o)), [1, 2, 3, 4, 5]);
    let h = |o: usize| u16::from_le_bytes([raw[o], raw[o + 1]]);
    assert_eq!([20, 22, 24, 26].map(h), [6, 7, 8, 9]);
    let f = V4l2SubdevFormat {
        which: 1,
        pad: 2,
        format: m,
        stream: 3,
        ..Default::default()
    };
    assert_eq!([0, 4, 8, 56].map(|o| word(&f, o)), [1, 2, 1, 3]);
    let c = V4l2SubdevMbusCodeEnum {
        pad: 1,
        index: 2,
        code: 3,
        which: 4,
        flags: 5,
        stream: 6,
        ..Default::default()
    };
    assert_eq!(
        [0, 4, 8, 12, 16, 20].map(|o| word(&c, o)),
        [1, 2, 3, 4, 5, 6]
    );
    let e = V4l2SubdevFrameSizeEnum {
        index: 1,
        pad: 2,
        code: 3,
        min_width: 4,
        max_width: 5,
        min_height: 6,
        max_height: 7,
        which: 8,
        stream: 9,
        ..Default::default()
    };
    assert_eq!(
        (0..9).map(|i| word(&e, i * 4)).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    let s = V4l2SubdevSelection {
        which: 1,
        pad: 2,
        target: 3,
        flags: 4,
        r: V4l2Rect {
            left: 5,
            top: 6,
            width: 7,
            height: 8,
        },
        stream: 9,
        ..Default::default()
    };
    assert_eq!(
        (0..9).map(|i| word(&s, i * 4)).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    let q = V4l2SubdevCapability {
        version: 1,
        capabilities: 2,
        ..Default::default()
    };
    assert_eq!((word(&q, 0), word(&q, 4)), (1, 2));
    let rt = V4l2SubdevRouting {
        which: 1,
        len_routes: 2,
        routes: 0x0000_0004_0000_0003,
        num_routes: 5,
        ..Default::default()
    };
    assert_eq!([0, 4, 8, 12, 16].map(|o| word(&rt, o)), [1, 2, 3, 4, 5]);
}

#[test]
fn ioctl_numbers_are_the_measured_ones() {
    let video = [
        (VideoIoctl::Querycap, 0x8068_5600),
        (VideoIoctl::EnumFmt, 0xc040_5602),
        (VideoIoctl::GFmt, 0xc0d0_5604),
        (VideoIoctl::SFmt, 0xc0d0_5605),
        (VideoIoctl::TryFmt, 0xc0d0_5640),
        (VideoIoctl::Reqbufs, 0xc014_5608),
        (VideoIoctl::Querybuf, 0xc058_5609),
        (VideoIoctl::Qbuf, 0xc058_560f),
        (VideoIoctl::Dqbuf, 0xc058_5611),
        (VideoIoctl::Streamon, 0x4004_5612),
        (VideoIoctl::Streamoff, 0x4004_5613),
        (VideoIoctl::Expbuf, 0xc040_5610),
        (VideoIoctl::CreateBufs, 0xc100_565c),
        (VideoIoctl::PrepareBuf, 0xc058_565d),
        (VideoIoctl::EnumFramesizes, 0xc02c_564a),
        (VideoIoctl::GExtCtrls, 0xc020_5647),
        (VideoIoctl::SExtCtrls, 0xc020_5648),
        (VideoIoctl::Queryctrl, 0xc044_5624),
        (VideoIoctl::GCtrl, 0xc008_561b),
        (VideoIoctl::SCtrl, 0xc008_561c),
        (VideoIoctl::SubscribeEvent, 0x4020_565a),
        (VideoIoctl::Dqevent, 0x8088_5659),
        (VideoIoctl::Enuminput, 0xc050_561a),
        (VideoIoctl::GInput, 0x8004_5626),
        (VideoIoctl::SInput, 0xc004_5627),
        (VideoIoctl::LogStatus, 0x0000_5646),
        (VideoIoctl::QueryExtCtrl, 0xc0e8_5667),
        (VideoIoctl::GSelection, 0xc040_565e),
        (VideoIoctl::SSelection, 0xc040_565f),
        (VideoIoctl::GParm, 0xc0cc_5615),
        (VideoIoctl::SParm, 0xc0cc_5616),
        (VideoIoctl::GPriority, 0x8004_5643),
        (VideoIoctl::SPriority, 0x4004_5644),
        (VideoIoctl::EnumFrameintervals, 0xc034_564b),
        (VideoIoctl::RemoveBufs, 0xc040_5668),
        (VideoIoctl::Querymenu, 0xc02c_5625),
        (VideoIoctl::TryExtCtrls, 0xc020_5649),
        (VideoIoctl::UnsubscribeEvent, 0x4020_565b),
    ];
    assert_eq!(video.len(), VideoIoctl::ALL.len());
    for (i, n) in video {
        assert_eq!(i.cmd(), n, "{}", i.name());
    }
    let subdev = [
        (SubdevIoctl::GFmt, 0xc058_5604),
        (SubdevIoctl::SFmt, 0xc058_5605),
        (SubdevIoctl::EnumMbusCode, 0xc030_5602),
        (SubdevIoctl::EnumFrameSize, 0xc040_564a),
        (SubdevIoctl::GSelection, 0xc040_563d),
        (SubdevIoctl::SSelection, 0xc040_563e),
        (SubdevIoctl::Querycap, 0x8040_5600),
        (SubdevIoctl::GClientCap, 0x8008_5665),
        (SubdevIoctl::SClientCap, 0xc008_5666),
        (SubdevIoctl::GRouting, 0xc040_5626),
        (SubdevIoctl::SRouting, 0xc040_5627),
        (SubdevIoctl::GCrop, 0xc038_563b),
        (SubdevIoctl::SCrop, 0xc038_563c),
        (SubdevIoctl::Queryctrl, 0xc044_5624),
        (SubdevIoctl::QueryExtCtrl, 0xc0e8_5667),
        (SubdevIoctl::Querymenu, 0xc02c_5625),
        (SubdevIoctl::GCtrl, 0xc008_561b),
        (SubdevIoctl::SCtrl, 0xc008_561c),
        (SubdevIoctl::GExtCtrls, 0xc020_5647),
        (SubdevIoctl::SExtCtrls, 0xc020_5648),
        (SubdevIoctl::TryExtCtrls, 0xc020_5649),
        (SubdevIoctl::LogStatus, 0x0000_5646),
        (SubdevIoctl::SubscribeEvent, 0x4020_565a),
        (SubdevIoctl::UnsubscribeEvent, 0x4020_565b),
        (SubdevIoctl::Dqevent, 0x8088_5659),
    ];
    assert_eq!(subdev.len(), SubdevIoctl::ALL.len());
    for (i, n) in subdev {
        assert_eq!(i.cmd(), n, "{}", i.name());
    }
    // Every served command's size is its struct's.
    assert_eq!(IoctlCmd(VIDIOC_DQBUF).size(), V4l2Buffer::SIZE);
    assert_eq!(IoctlCmd(VIDIOC_SUBDEV_G_FMT).size(), V4l2SubdevFormat::SIZE);
    // Capability and format constants vimc reports (docs/vimc.md, "Defaults").
    assert_eq!(
        cap::VIDEO_CAPTURE | cap::STREAMING | cap::IO_MC,
        0x2400_0001
    );
    assert_eq!(cap::DEVICE_CAPS | 0x2420_0001, 0xa420_0001);
    assert_eq!(pix_fmt::RGB24, 0x3342_4752);
    assert_eq!(MEDIA_BUS_FMT_RGB888_1X24, 0x100a);
    assert_eq!(MEDIA_BUS_FMT_SRGGB8_1X8, 0x3014);
}
