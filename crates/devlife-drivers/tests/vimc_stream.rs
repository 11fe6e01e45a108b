//! vimc streams (docs/vimc.md, "Streaming"): once configured, every capture delivers frames
//! (moving colour bars with a frame counter) through the buffer queue and
//! through `read()`, with the pipeline rules of the kernel.

use devlife_drivers::Style;
use devlife_drivers::vimc::formats::{code, pix};
use devlife_drivers::vimc::hw::{reg_frames, reg_stream};
use devlife_drivers::vimc::pattern::{FrameFmt, bar_color, bar_index, frame_counter, sensor_frame};
use devlife_drivers::vimc::setup::{StreamSetup, configure, set_capture_format, set_pad_format};
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, File};
use devlife_testkit::vimc::*;

fn raw_fmt(w: u32, h: u32) -> FrameFmt {
    FrameFmt {
        code: code::SBGGR8_1X8,
        width: w,
        height: h,
    }
}

/// Checks an RGB24 frame of `w`x`h` that shows the sensor's bars of frame
/// `seq` (`sw` wide) scaled by `w / sw`: at points inside a bar (not on an
/// edge, where the debayer averages two bars) and below the counter.
fn check_rgb_bars(frame: &[u8], w: u32, h: u32, sw: u32, seq: u32) {
    let mut checked = 0;
    for y in [h / 4, h / 2, 3 * h / 4] {
        for i in 0..16 {
            let x = w * i / 16 + 1;
            let sx = x * sw / w;
            if sx == 0 || bar_index(sw, sx - 1, seq) != bar_index(sw, sx + 1, seq) {
                continue;
            }
            let at = ((y * w + x) * 3) as usize;
            assert_eq!(
                frame[at..at + 3],
                bar_color(sw, sx, seq),
                "frame {seq}: pixel ({x},{y}) from sensor column {sx}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 24, "too few sample points ({checked})");
}

/// Dequeues `n` frames (requeueing a buffer only while more frames are
/// needed, so that the streamer renders no frame nobody reads), checking
/// sequence and payload, and returns each frame's bytes.
fn capture_frames(f: &File, maps: &[devlife_model::Mapping], size: u32, n: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut last_ts = (0i64, 0i64);
    for seq in 0..n {
        let b = dqbuf(f).unwrap();
        assert_eq!(b.sequence, seq);
        assert_eq!(b.bytesused, size);
        assert_eq!(b.field, field::NONE);
        // DONE is always clear once dequeued (v4l2-compliance checks it).
        assert_eq!(b.flags & buf_flag::DONE, 0);
        assert_eq!(b.flags & buf_flag::ERROR, 0);
        assert_eq!(
            b.flags & buf_flag::TIMESTAMP_MASK,
            buf_flag::TIMESTAMP_MONOTONIC
        );
        let ts = (b.timestamp.tv_sec, b.timestamp.tv_usec);
        assert!(ts >= last_ts, "timestamps go backwards");
        last_ts = ts;
        out.push(read_map(&maps[b.index as usize], size as usize));
        if seq + (maps.len() as u32) < n {
            qbuf(f, b.index).unwrap();
        }
    }
    out
}

#[test]
fn spec_configuration_streams_every_capture_through_mmap() {
    let rig = Rig::new(Style::Framework, FAST);
    configure(&rig.k, &rig.nodes(), &StreamSetup::spec()).unwrap();
    // Raw captures: the sensor's Bayer frames, byte for byte.
    for cap in ["Raw Capture 0", "Raw Capture 1"] {
        let f = rig.open(cap);
        let p = g_fmt(&f).unwrap();
        assert_eq!((p.width, p.height, p.pixelformat), (640, 480, pix::SBGGR8));
        let n = start_stream(&f, 2).unwrap();
        let maps: Vec<_> = (0..n).map(|i| map(&f, i, p.sizeimage as usize)).collect();
        let frames = capture_frames(&f, &maps, p.sizeimage, 3);
        for (seq, fr) in frames.iter().enumerate() {
            assert_eq!(frame_counter(fr), Some(seq as u32));
            assert_eq!(
                *fr,
                sensor_frame(raw_fmt(640, 480), seq as u32),
                "{cap} frame {seq}"
            );
        }
        streamoff(&f).unwrap();
    }
    // RGB/YUV Capture: debayered and scaled 3x to 1920x1440.
    let f = rig.open("RGB/YUV Capture");
    let p = g_fmt(&f).unwrap();
    assert_eq!((p.width, p.height, p.pixelformat), (1920, 1440, pix::RGB24));
    assert_eq!(p.sizeimage, 1920 * 1440 * 3);
    let n = start_stream(&f, 2).unwrap();
    let maps: Vec<_> = (0..n).map(|i| map(&f, i, p.sizeimage as usize)).collect();
    let frames = capture_frames(&f, &maps, p.sizeimage, 2);
    for (seq, fr) in frames.iter().enumerate() {
        check_rgb_bars(fr, 1920, 1440, 640, seq as u32);
    }
    streamoff(&f).unwrap();
    drop((maps, f));
    let st = rig.v.stats();
    assert_eq!((st.stream_starts, st.stream_stops), (3, 3));
    assert!(st.irqs > 0);
    assert_eq!(st.frames, 3 + 3 + 2, "every rendered frame was read");
    rig.assert_silent();
    rig.finish();
}

#[test]
fn read_io_delivers_whole_frames_on_every_capture() {
    let rig = Rig::new(Style::Framework, FAST);
    rig.configure(64, 48);
    for (cap, size) in [
        ("Raw Capture 0", 64 * 48),
        ("Raw Capture 1", 64 * 48),
        ("RGB/YUV Capture", 64 * 48 * 3),
    ] {
        let f = rig.open(cap);
        for seq in 0..4u32 {
            // In pieces: 100 bytes, then the rest.
            let mut frame = vec![0u8; size];
            let mut got = f.read(&mut frame[..100]).unwrap();
            assert_eq!(got, 100);
            while got < size {
                got += f.read(&mut frame[got..]).unwrap();
            }
            if cap.starts_with("Raw") {
                assert_eq!(frame_counter(&frame), Some(seq), "{cap}");
                assert_eq!(frame, sensor_frame(raw_fmt(64, 48), seq), "{cap}");
            } else {
                check_rgb_bars(&frame, 64, 48, 64, seq);
            }
        }
        // The queue belongs to the reader: the streaming API is busy.
        assert_eq!(reqbufs(&f, 2), Err(Errno::EBUSY));
    }
    rig.assert_silent();
    rig.finish();
}

#[test]
fn one_stream_per_connected_component() {
    let rig = Rig::new(Style::Framework, FAST);
    rig.configure(32, 32);
    let raw0 = rig.open("Raw Capture 0");
    let raw1 = rig.open("Raw Capture 1");
    let rgb = rig.open("RGB/YUV Capture");
    start_stream(&raw0, 2).unwrap();
    // Sensor B's component is separate: it streams too.
    start_stream(&raw1, 2).unwrap();
    // The RGB/YUV Capture's pad is already in Raw Capture 0's pipeline
    // (Sensor A -> Debayer A -> Scaler is enabled): EINVAL (the kernel WARNs).
    assert_eq!(start_stream(&rgb, 2), Err(Errno::EINVAL));
    assert_eq!(dqbuf(&raw0).unwrap().sequence, 0);
    assert_eq!(dqbuf(&raw1).unwrap().sequence, 0);
    // Formats are locked while streaming: ACTIVE set_fmt is EBUSY on the
    // entities the streamer runs (here Sensor A only: Debayer A is in the
    // media pipeline but not in Raw Capture 0's frame path, so, as in the
    // kernel, it has no frame buffer and accepts a format); TRY is fine; the
    // capture's own format is busy.
    let sensor = rig.open("Sensor A");
    let debayer = rig.open("Debayer A");
    let fmt = mbus(code::SBGGR8_1X8, 32, 32);
    assert_eq!(
        subdev_s_fmt(&sensor, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fmt),
        Err(Errno::EBUSY)
    );
    assert!(subdev_s_fmt(&debayer, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fmt).is_ok());
    assert!(subdev_s_fmt(&sensor, V4L2_SUBDEV_FORMAT_TRY, 0, fmt).is_ok());
    let p = g_fmt(&raw0).unwrap();
    assert_eq!(s_fmt(&raw0, &p), Err(Errno::EBUSY));
    // A non-dynamic link of a streaming pad cannot change.
    let m = rig.open_media();
    let mut l = MediaLinkDesc::default();
    l.source.entity = 5;
    l.source.index = 1;
    l.sink.entity = 21;
    l.sink.index = 0;
    assert_eq!(ioc(&m, MEDIA_IOC_SETUP_LINK, &mut l), Err(Errno::EBUSY));
    // The engine streams capture 0 and 1, not 2.
    let hw = rig.v.hardware();
    assert_eq!(
        (
            hw.peek(reg_stream(0)),
            hw.peek(reg_stream(1)),
            hw.peek(reg_stream(2))
        ),
        (1, 1, 0)
    );
    streamoff(&raw0).unwrap();
    assert_eq!(hw.peek(reg_stream(0)), 0);
    // Now the RGB/YUV Capture can stream (its buffers were already queued).
    streamon(&rgb).unwrap();
    assert_eq!(dqbuf(&rgb).unwrap().sequence, 0);
    assert_eq!(start_stream(&raw0, 2), Err(Errno::EINVAL));
    assert!(subdev_s_fmt(&sensor, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fmt).is_err());
    streamoff(&rgb).unwrap();
    streamoff(&raw1).unwrap();
    // Everything stopped: formats can change again.
    assert!(subdev_s_fmt(&sensor, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fmt).is_ok());
    // The engine counted the frames it latched.
    assert!(
        hw.peek(reg_frames(0)) >= 1 && hw.peek(reg_frames(1)) >= 1 && hw.peek(reg_frames(2)) >= 1
    );
    drop((raw0, raw1, rgb, sensor, debayer, m));
    rig.assert_silent();
    rig.finish();
}

#[test]
fn sequence_restarts_and_buffers_cycle() {
    let rig = Rig::new(Style::Framework, FAST);
    rig.configure(32, 16);
    let f = rig.open("Raw Capture 1");
    let size = 32 * 16;
    for round in 0..2 {
        let n = start_stream(&f, 2).unwrap();
        assert_eq!(n, 2);
        let maps: Vec<_> = (0..n).map(|i| map(&f, i, size)).collect();
        let frames = capture_frames(&f, &maps, size as u32, 10);
        for (seq, fr) in frames.iter().enumerate() {
            assert_eq!(frame_counter(fr), Some(seq as u32), "round {round}");
        }
        streamoff(&f).unwrap();
        // Every buffer is back with userspace.
        for i in 0..n {
            let b = querybuf(&f, i).unwrap();
            assert_eq!(b.flags & (buf_flag::QUEUED | buf_flag::DONE), 0);
            assert_ne!(b.flags & buf_flag::MAPPED, 0);
        }
        assert_eq!(dqbuf(&f), Err(Errno::EINVAL));
        drop(maps);
        reqbufs(&f, 0).unwrap();
    }
    let st = rig.v.stats();
    assert_eq!((st.stream_starts, st.stream_stops), (2, 2));
    drop(f);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn the_rgb_capture_follows_the_links_and_the_scaler() {
    let rig = Rig::new(Style::Framework, FAST);
    let (k, nodes) = (&rig.k, rig.nodes());
    // Feed the scaler from the RGB/YUV Input instead of Debayer A.
    let m = rig.open_media();
    let setup = |src: u32, flags: u32| {
        let mut l = MediaLinkDesc::default();
        l.source.entity = src;
        l.source.index = if src == 5 { 1 } else { 0 };
        l.sink.entity = 21;
        l.flags = flags;
        ioc(&m, MEDIA_IOC_SETUP_LINK, &mut l).map(|_| ())
    };
    setup(5, 0).unwrap();
    setup(19, MEDIA_LNK_FL_ENABLED).unwrap();
    set_pad_format(k, &nodes, "RGB/YUV Input", 0, code::RGB888_1X24, 64, 48).unwrap();
    set_pad_format(k, &nodes, "Scaler", 0, code::RGB888_1X24, 64, 48).unwrap();
    // Crop the middle half and scale it 4x.
    let sc = rig.open("Scaler");
    let mut sel = V4l2SubdevSelection {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        pad: 0,
        target: V4L2_SEL_TGT_CROP,
        r: V4l2Rect {
            left: 16,
            top: 8,
            width: 32,
            height: 24,
        },
        ..Default::default()
    };
    ioc(&sc, VIDIOC_SUBDEV_S_SELECTION, &mut sel).unwrap();
    set_pad_format(k, &nodes, "Scaler", 1, code::RGB888_1X24, 128, 96).unwrap();
    set_capture_format(k, &nodes, "RGB/YUV Capture", Some(128), Some(96), None).unwrap();
    let f = rig.open("RGB/YUV Capture");
    let size = 128 * 96 * 3;
    let n = start_stream(&f, 2).unwrap();
    let maps: Vec<_> = (0..n).map(|i| map(&f, i, size)).collect();
    let frames = capture_frames(&f, &maps, size as u32, 3);
    for (seq, fr) in frames.iter().enumerate() {
        let seq = seq as u32;
        // No debayer in this chain: every pixel is exact. Output (x, y)
        // comes from input (16 + x/4, 8 + y/4).
        for y in [0u32, 40, 95] {
            for x in 0..128u32 {
                let at = ((y * 128 + x) * 3) as usize;
                assert_eq!(fr[at..at + 3], bar_color(64, 16 + x / 4, seq), "({x},{y})");
            }
        }
    }
    // The Input is streaming now, Sensor A is not.
    let input = rig.open("RGB/YUV Input");
    assert_eq!(
        subdev_s_fmt(
            &input,
            V4L2_SUBDEV_FORMAT_ACTIVE,
            0,
            mbus(code::RGB888_1X24, 64, 48)
        ),
        Err(Errno::EBUSY)
    );
    let sensor = rig.open("Sensor A");
    assert!(
        subdev_s_fmt(
            &sensor,
            V4L2_SUBDEV_FORMAT_ACTIVE,
            0,
            mbus(code::SBGGR8_1X8, 64, 48)
        )
        .is_ok()
    );
    streamoff(&f).unwrap();
    drop((maps, f, m, sc, input, sensor));
    rig.assert_silent();
    rig.finish();
}

#[test]
fn mismatched_formats_fail_pipeline_validation() {
    let rig = Rig::new(Style::Framework, FAST);
    rig.configure(64, 48);
    let (k, nodes) = (&rig.k, rig.nodes());
    // The capture's size differs from the scaler's source.
    set_capture_format(k, &nodes, "RGB/YUV Capture", Some(32), Some(32), None).unwrap();
    let f = rig.open("RGB/YUV Capture");
    assert_eq!(start_stream(&f, 2), Err(Errno::EPIPE));
    drop(f);
    // The raw capture's pixel format does not carry the sensor's code.
    set_capture_format(k, &nodes, "Raw Capture 0", None, None, Some(pix::SGRBG8)).unwrap();
    let f = rig.open("Raw Capture 0");
    assert_eq!(start_stream(&f, 2), Err(Errno::EPIPE));
    drop(f);
    // A debayer whose sink differs from its sensor breaks the component.
    set_capture_format(k, &nodes, "Raw Capture 0", None, None, Some(pix::SBGGR8)).unwrap();
    set_pad_format(k, &nodes, "Debayer A", 0, code::SBGGR8_1X8, 32, 48).unwrap();
    let f = rig.open("Raw Capture 0");
    assert_eq!(start_stream(&f, 2), Err(Errno::EPIPE));
    // Fixed (the whole component is validated, the RGB/YUV Capture too):
    // streams.
    set_pad_format(k, &nodes, "Debayer A", 0, code::SBGGR8_1X8, 64, 48).unwrap();
    assert_eq!(streamon(&f), Err(Errno::EPIPE));
    set_capture_format(k, &nodes, "RGB/YUV Capture", Some(64), Some(48), None).unwrap();
    streamon(&f).unwrap();
    assert_eq!(dqbuf(&f).unwrap().sequence, 0);
    streamoff(&f).unwrap();
    drop(f);
    assert_eq!(rig.v.stats().stream_starts, 1);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn bayer_depths_reach_the_raw_capture() {
    let rig = Rig::new(Style::Framework, FAST);
    let (k, nodes) = (&rig.k, rig.nodes());
    for (mcode, pixfmt) in [
        (code::SGRBG10_1X10, pix::SGRBG10),
        (code::SRGGB12_1X12, pix::SRGGB12),
        (code::SGBRG8_1X8, pix::SGBRG8),
    ] {
        set_pad_format(k, &nodes, "Sensor B", 0, mcode, 48, 32).unwrap();
        set_pad_format(k, &nodes, "Debayer B", 0, mcode, 48, 32).unwrap();
        let p = set_capture_format(k, &nodes, "Raw Capture 1", Some(48), Some(32), Some(pixfmt))
            .unwrap();
        let f = rig.open("Raw Capture 1");
        let mut frame = vec![0u8; p.sizeimage as usize];
        let mut got = 0;
        while got < frame.len() {
            got += f.read(&mut frame[got..]).unwrap();
        }
        let want = sensor_frame(
            FrameFmt {
                code: mcode,
                width: 48,
                height: 32,
            },
            0,
        );
        assert_eq!(frame, want, "{pixfmt:#x}");
    }
    rig.assert_silent();
    rig.finish();
}
