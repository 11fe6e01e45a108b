//! Ioctl semantics of video and subdev nodes (framework style): what
//! userspace sees, as `v4l2-ioctl.c`, vb2 and `v4l2-subdev.c` define it.

use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::{LINUX_VERSION_CODE, PLANE_INDEX_SHIFT, QueueConfig};
use devlife_model::{Errno, MmapRequest, PollMask};
use devlife_testkit::testcam::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[test]
fn querycap_follows_the_core() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let c = querycap(&f).unwrap();
    assert_eq!(devlife_media::uapi::ioctl::get_str(&c.driver), "testcam");
    assert_eq!(devlife_media::uapi::ioctl::get_str(&c.card), "Test Camera");
    assert_eq!(
        devlife_media::uapi::ioctl::get_str(&c.bus_info),
        "platform:testcam"
    );
    assert_eq!(c.version, LINUX_VERSION_CODE);
    let dc = cap::VIDEO_CAPTURE | cap::STREAMING | cap::READWRITE;
    assert_eq!(c.device_caps, dc | cap::EXT_PIX_FORMAT);
    assert_eq!(c.capabilities, dc | cap::EXT_PIX_FORMAT | cap::DEVICE_CAPS);
    assert_eq!(c.reserved, [0; 3]);
    // A read-only ioctl ignores what the caller's buffer held.
    let mut raw = vec![0xa5u8; V4l2Capability::SIZE];
    f.ioctl(VIDIOC_QUERYCAP, &mut raw).unwrap();
    assert_eq!(V4l2Capability::decode(&raw), c);
}

#[test]
fn enum_fmt_lists_fills_descriptions_and_honours_the_type() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let mut got = Vec::new();
    for index in 0.. {
        let mut d = V4l2Fmtdesc {
            index,
            type_: buf_type::VIDEO_CAPTURE,
            flags: 0xffff,
            reserved: [7; 3],
            ..Default::default()
        };
        match ioc(&f, VIDIOC_ENUM_FMT, &mut d) {
            Ok(_) => {
                assert_eq!(d.reserved, [0; 3]);
                assert_eq!(d.flags, 0);
                got.push((
                    d.pixelformat,
                    devlife_media::uapi::ioctl::get_str(&d.description),
                ));
            }
            Err(e) => {
                assert_eq!(e, Errno::EINVAL);
                break;
            }
        }
    }
    assert_eq!(
        got,
        vec![
            (pix_fmt::RGB24, "24-bit RGB 8-8-8".to_owned()),
            (pix_fmt::SRGGB8, "8-bit Bayer RGRG/GBGB".to_owned())
        ]
    );
    // Wrong buffer type: EINVAL before the driver is asked.
    let mut d = V4l2Fmtdesc {
        type_: buf_type::VIDEO_OUTPUT,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_ENUM_FMT, &mut d), Err(Errno::EINVAL));
    // Not an IO_MC node: the mbus_code filter is ignored (forced to 0).
    let mut d = V4l2Fmtdesc {
        index: 1,
        type_: buf_type::VIDEO_CAPTURE,
        mbus_code: MEDIA_BUS_FMT_RGB888_1X24,
        ..Default::default()
    };
    ioc(&f, VIDIOC_ENUM_FMT, &mut d).unwrap();
    assert_eq!((d.pixelformat, d.mbus_code), (pix_fmt::SRGGB8, 0));
}

#[test]
fn g_s_try_fmt_sanitise_adjust_and_store() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    // The whole `v4l2_format`, not only its pix member.
    let mut g = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(&f, VIDIOC_G_FMT, &mut g).unwrap();
    let pix = g.pix();
    assert_eq!(pix.priv_, V4L2_PIX_FMT_PRIV_MAGIC);
    assert_eq!((pix.width, pix.height, pix.sizeimage), (640, 480, 921_600));
    // The rest of the union is zero.
    assert!(g.fmt.0[V4l2PixFormat::SIZE..].iter().all(|&b| b == 0));

    // TRY adjusts without storing; garbage extended fields without the magic
    // are zeroed (v4l_sanitize_format).
    let want = V4l2PixFormat {
        width: 1001,
        height: 3,
        pixelformat: fourcc(b'X', b'X', b'X', b'X'),
        flags: 0xdead,
        ycbcr_enc: 9,
        ..Default::default()
    };
    let t = set_fmt(&f, VIDIOC_TRY_FMT, &want).unwrap();
    assert_eq!(
        (t.width, t.height, t.pixelformat),
        (1000, 16, pix_fmt::RGB24)
    );
    assert_eq!(
        (t.flags, t.ycbcr_enc, t.priv_),
        (0, 0, V4L2_PIX_FMT_PRIV_MAGIC)
    );
    assert_eq!(t.sizeimage, 1000 * 16 * 3);
    assert_eq!(g_fmt(&f).unwrap().width, 640);

    // S_FMT stores it, seen by another file too.
    let want = V4l2PixFormat {
        width: 320,
        height: 240,
        pixelformat: pix_fmt::SRGGB8,
        ..Default::default()
    };
    let s = set_fmt(&f, VIDIOC_S_FMT, &want).unwrap();
    assert_eq!(
        (s.width, s.bytesperline, s.sizeimage),
        (320, 320, 320 * 240)
    );
    let other = rig.open_video();
    assert_eq!(g_fmt(&other).unwrap(), s);
    // Wrong type.
    let mut v = V4l2Format {
        type_: buf_type::VIDEO_OUTPUT,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_G_FMT, &mut v), Err(Errno::EINVAL));
    assert_eq!(ioc(&f, VIDIOC_S_FMT, &mut v), Err(Errno::EINVAL));
}

#[test]
fn s_fmt_is_busy_while_buffers_exist() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    reqbufs(&f, 2).unwrap();
    let g = rig.open_video();
    assert_eq!(set_fmt(&g, VIDIOC_S_FMT, &default_pix()), Err(Errno::EBUSY));
    // TRY is always allowed.
    set_fmt(&g, VIDIOC_TRY_FMT, &default_pix()).unwrap();
    reqbufs(&f, 0).unwrap();
    set_fmt(&g, VIDIOC_S_FMT, &default_pix()).unwrap();
}

#[test]
fn reqbufs_allocates_reports_caps_and_owns_the_queue() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let r = reqbufs(&f, 1).unwrap();
    // min_reqbufs_allocation is 2.
    assert_eq!(r.count, 2);
    assert_eq!(
        r.capabilities,
        buf_cap::SUPPORTS_MMAP | buf_cap::SUPPORTS_ORPHANED_BUFS
    );
    assert_eq!(reqbufs(&f, 100).unwrap().count, 32);
    // Another file may not touch the queue.
    let g = rig.open_video();
    assert_eq!(reqbufs(&g, 2), Err(Errno::EBUSY));
    assert_eq!(qbuf(&g, 0), Err(Errno::EBUSY));
    assert_eq!(streamon(&g), Err(Errno::EBUSY));
    assert_eq!(dqbuf(&g), Err(Errno::EBUSY));
    // QUERYBUF has no owner check.
    assert_eq!(querybuf(&g, 0).unwrap().index, 0);
    // Unsupported memory and type.
    let mut r = V4l2Requestbuffers {
        count: 2,
        type_: buf_type::VIDEO_CAPTURE,
        memory: memory::USERPTR,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_REQBUFS, &mut r), Err(Errno::EINVAL));
    r.memory = memory::MMAP;
    r.type_ = buf_type::VIDEO_OUTPUT;
    assert_eq!(ioc(&f, VIDIOC_REQBUFS, &mut r), Err(Errno::EINVAL));
    // REQBUFS(0) frees and gives up ownership.
    assert_eq!(reqbufs(&f, 0).unwrap().count, 0);
    assert_eq!(reqbufs(&g, 3).unwrap().count, 3);
    assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 3);
}

#[test]
fn querybuf_reports_offsets_lengths_and_state_flags() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let n = reqbufs(&f, 3).unwrap().count;
    for i in 0..n {
        let b = querybuf(&f, i).unwrap();
        assert_eq!(b.m_offset(), i << PLANE_INDEX_SHIFT);
        assert_eq!(b.length, 921_600);
        assert_eq!(b.memory, memory::MMAP);
        assert_eq!(
            b.flags,
            buf_flag::TIMESTAMP_MONOTONIC | buf_flag::TSTAMP_SRC_EOF
        );
    }
    assert_eq!(querybuf(&f, n), Err(Errno::EINVAL));
    // INFO_FL_CLEAR(v4l2_buffer, length): what follows `length` is not read,
    // and reserved fields come back zero.
    let mut b = buf(1);
    b.reserved2 = 0x55;
    b.request_fd = 0x66;
    ioc(&f, VIDIOC_QUERYBUF, &mut b).unwrap();
    assert_eq!((b.reserved2, b.request_fd), (0, 0));
    qbuf(&f, 1).unwrap();
    assert_ne!(querybuf(&f, 1).unwrap().flags & buf_flag::QUEUED, 0);
    let m = f
        .mmap(MmapRequest {
            offset: 1 << PLANE_INDEX_SHIFT,
            len: 921_600,
            write: false,
        })
        .unwrap();
    assert_ne!(querybuf(&f, 1).unwrap().flags & buf_flag::MAPPED, 0);
    drop(m);
    assert_eq!(querybuf(&f, 1).unwrap().flags & buf_flag::MAPPED, 0);
}

#[test]
fn streaming_delivers_frames_in_order_with_sequence_and_timestamps() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let n = start_stream(&f, 4).unwrap();
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 1);
    assert!(rig.dev.hardware().peek(REG_CTRL) == 1);
    let maps: Vec<_> = (0..n)
        .map(|i| {
            f.mmap(MmapRequest {
                offset: u64::from(i) << PLANE_INDEX_SHIFT,
                len: 921_600,
                write: false,
            })
            .unwrap()
        })
        .collect();
    let mut last_ts = None;
    for seq in 0..10u32 {
        assert_eq!(rig.produce(1), 1);
        let b = dqbuf(&f).unwrap();
        assert_eq!(b.sequence, seq);
        assert_eq!(b.bytesused, 921_600);
        // DONE is always clear once dequeued (v4l2-compliance checks it).
        assert_eq!(
            b.flags & (buf_flag::DONE | buf_flag::QUEUED | buf_flag::ERROR),
            0
        );
        let ts = (b.timestamp.tv_sec, b.timestamp.tv_usec);
        if let Some(l) = last_ts {
            assert!(ts >= l, "timestamps go backwards");
        }
        last_ts = Some(ts);
        let mut head = [0u8; 4];
        maps[b.index as usize].read(0, &mut head).unwrap();
        assert_eq!(u32::from_le_bytes(head), seq, "frame content via mmap");
        qbuf(&f, b.index).unwrap();
    }
    streamoff(&f).unwrap();
    assert_eq!(rig.counters.stop_streaming.load(Ordering::SeqCst), 1);
    assert_eq!(rig.dev.hardware().peek(REG_CTRL), 0);
    // After STREAMOFF every buffer is back with userspace.
    for i in 0..n {
        assert_eq!(
            querybuf(&f, i).unwrap().flags & (buf_flag::QUEUED | buf_flag::DONE),
            0
        );
    }
    assert_eq!(dqbuf(&f), Err(Errno::EINVAL));
}

#[test]
fn qbuf_dqbuf_argument_and_state_errors() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video_nb();
    // No buffers yet.
    assert_eq!(qbuf(&f, 0), Err(Errno::EINVAL));
    assert_eq!(streamon(&f), Err(Errno::EINVAL));
    reqbufs(&f, 2).unwrap();
    qbuf(&f, 0).unwrap();
    assert_eq!(qbuf(&f, 0), Err(Errno::EINVAL), "queued twice");
    assert_eq!(qbuf(&f, 9), Err(Errno::EINVAL));
    let mut b = buf(1);
    b.memory = memory::DMABUF;
    assert_eq!(ioc(&f, VIDIOC_QBUF, &mut b), Err(Errno::EINVAL));
    // DQBUF while not streaming.
    assert_eq!(dqbuf(&f), Err(Errno::EINVAL));
    streamon(&f).unwrap();
    streamon(&f).unwrap(); // already streaming: no error
    // Non-blocking and nothing done.
    assert_eq!(dqbuf(&f), Err(Errno::EAGAIN));
    // The driver reports a fatal error: DQBUF and QBUF give EIO, poll ERR.
    rig.data_queue().unwrap().set_error();
    assert_eq!(dqbuf(&f), Err(Errno::EIO));
    assert_eq!(qbuf(&f, 1), Err(Errno::EIO));
    assert_eq!(
        f.poll(PollMask::IN, Some(Duration::ZERO)).unwrap(),
        PollMask::ERR
    );
    // STREAMOFF clears the error.
    streamoff(&f).unwrap();
    qbuf(&f, 1).unwrap();
}

#[test]
fn a_failing_start_streaming_returns_the_buffers_to_the_queue() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let n = reqbufs(&f, 2).unwrap().count;
    for i in 0..n {
        qbuf(&f, i).unwrap();
    }
    *rig.counters.fail_start.lock() = Some(Errno::EPIPE);
    assert_eq!(streamon(&f), Err(Errno::EPIPE));
    for i in 0..n {
        assert_ne!(querybuf(&f, i).unwrap().flags & buf_flag::QUEUED, 0);
    }
    assert_eq!(dqbuf(&f), Err(Errno::EINVAL));
    streamon(&f).unwrap();
    assert_eq!(rig.produce(2), 2);
    assert_eq!(dqbuf(&f).unwrap().sequence, 0);
}

#[test]
fn min_queued_buffers_delays_start_streaming_until_enough_are_queued() {
    let q = QueueConfig {
        min_queued_buffers: 2,
        ..QueueConfig::default()
    };
    let rig = Rig::with(Style::Framework, false, q);
    let f = rig.open_video();
    reqbufs(&f, 3).unwrap();
    streamon(&f).unwrap();
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 0);
    qbuf(&f, 0).unwrap();
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 0);
    qbuf(&f, 1).unwrap();
    assert_eq!(rig.counters.start_streaming.load(Ordering::SeqCst), 1);
    // Buffers queued after the start go straight to the driver.
    qbuf(&f, 2).unwrap();
    assert_eq!(rig.produce(5), 3);
}

#[test]
fn mmap_checks_cookie_length_and_memory() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let req = |offset, len| MmapRequest {
        offset,
        len,
        write: false,
    };
    assert_eq!(
        f.mmap(req(0, 4096)).unwrap_err(),
        Errno::EINVAL,
        "no buffers"
    );
    reqbufs(&f, 2).unwrap();
    // Page-aligned length is allowed, more is not.
    let aligned = 921_600usize.div_ceil(4096) * 4096;
    assert!(f.mmap(req(0, aligned)).is_ok());
    assert_eq!(f.mmap(req(0, aligned + 1)).unwrap_err(), Errno::EINVAL);
    assert_eq!(
        f.mmap(req(5 << PLANE_INDEX_SHIFT, 4096)).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        f.mmap(req(4096, 4096)).unwrap_err(),
        Errno::EINVAL,
        "not a cookie"
    );
}

#[test]
fn unknown_foreign_and_short_arguments() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let s = rig.open_subdev();
    // A subdev number on a video node and the reverse: ENOTTY.
    let mut b = vec![0u8; 88];
    assert_eq!(f.ioctl(VIDIOC_SUBDEV_G_FMT, &mut b), Err(Errno::ENOTTY));
    let mut b = vec![0u8; 208];
    assert_eq!(s.ioctl(VIDIOC_G_FMT, &mut b), Err(Errno::ENOTTY));
    // Known but not served.
    let mut b = vec![0u8; 4];
    assert_eq!(f.ioctl(VIDIOC_G_INPUT, &mut b), Err(Errno::ENOTTY));
    assert_eq!(f.ioctl(0xdead_beef, &mut b), Err(Errno::ENOTTY));
    // An argument shorter than _IOC_SIZE: EFAULT, nothing written.
    let mut short = vec![0x11u8; 50];
    assert_eq!(f.ioctl(VIDIOC_QUERYCAP, &mut short), Err(Errno::EFAULT));
    assert!(short.iter().all(|&x| x == 0x11));
    // A longer one: only _IOC_SIZE bytes are touched.
    let mut long = vec![0x11u8; 200];
    f.ioctl(VIDIOC_QUERYCAP, &mut long).unwrap();
    assert!(long[104..].iter().all(|&x| x == 0x11));
}

#[test]
fn subdev_querycap_and_client_caps() {
    let rig = Rig::new(Style::Framework);
    let s = rig.open_subdev();
    let mut c = V4l2SubdevCapability {
        reserved: [9; 14],
        ..Default::default()
    };
    ioc(&s, VIDIOC_SUBDEV_QUERYCAP, &mut c).unwrap();
    assert_eq!(
        (c.version, c.capabilities, c.reserved),
        (LINUX_VERSION_CODE, 0, [0; 14])
    );
    let mut cc = V4l2SubdevClientCapability { capabilities: !0 };
    ioc(&s, VIDIOC_SUBDEV_S_CLIENT_CAP, &mut cc).unwrap();
    // STREAMS is masked (no streams support), unknown bits dropped.
    assert_eq!(cc.capabilities, V4L2_SUBDEV_CLIENT_CAP_INTERVAL_USES_WHICH);
    let mut g = V4l2SubdevClientCapability::default();
    ioc(&s, VIDIOC_SUBDEV_G_CLIENT_CAP, &mut g).unwrap();
    assert_eq!(g, cc);
    // Per file handle.
    let s2 = rig.open_subdev();
    ioc(&s2, VIDIOC_SUBDEV_G_CLIENT_CAP, &mut g).unwrap();
    assert_eq!(g.capabilities, 0);
    let mut r = V4l2SubdevRouting::default();
    assert_eq!(ioc(&s, VIDIOC_SUBDEV_G_ROUTING, &mut r), Err(Errno::ENOTTY));
    // No events: poll is ERR.
    assert_eq!(
        s.poll(PollMask::IN | PollMask::PRI, Some(Duration::ZERO))
            .unwrap(),
        PollMask::ERR
    );
    // No read on subdevs.
    assert_eq!(s.read(&mut [0; 16]), Err(Errno::EINVAL));
}

#[test]
fn subdev_try_state_is_per_file_and_active_is_shared() {
    let rig = Rig::new(Style::Framework);
    let a = rig.open_subdev();
    let b = rig.open_subdev();
    let g = |f, which| {
        subdev_fmt(f, VIDIOC_SUBDEV_G_FMT, which, 0, Default::default())
            .unwrap()
            .format
    };
    assert_eq!(g(&a, V4L2_SUBDEV_FORMAT_TRY), sensor_default());
    assert_eq!(g(&a, V4L2_SUBDEV_FORMAT_ACTIVE), sensor_default());
    let mut want = sensor_default();
    want.width = 321; // made even
    want.code = MEDIA_BUS_FMT_SRGGB8_1X8;
    want.reserved = [3; 10];
    let r = subdev_fmt(&a, VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_TRY, 0, want).unwrap();
    assert_eq!(
        (r.format.width, r.format.code, r.format.reserved),
        (320, MEDIA_BUS_FMT_SRGGB8_1X8, [0; 10])
    );
    assert_eq!(g(&a, V4L2_SUBDEV_FORMAT_TRY).width, 320);
    assert_eq!(
        g(&b, V4L2_SUBDEV_FORMAT_TRY).width,
        640,
        "TRY is per file handle"
    );
    assert_eq!(g(&b, V4L2_SUBDEV_FORMAT_ACTIVE).width, 640);
    subdev_fmt(&a, VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_ACTIVE, 0, want).unwrap();
    assert_eq!(
        g(&b, V4L2_SUBDEV_FORMAT_ACTIVE).width,
        320,
        "ACTIVE is shared"
    );
}

#[test]
fn subdev_argument_validation() {
    let rig = Rig::new(Style::Framework);
    let s = rig.open_subdev();
    let f = sensor_default();
    for cmd in [VIDIOC_SUBDEV_G_FMT, VIDIOC_SUBDEV_S_FMT] {
        assert_eq!(
            subdev_fmt(&s, cmd, 2, 0, f),
            Err(Errno::EINVAL),
            "bad which"
        );
        assert_eq!(
            subdev_fmt(&s, cmd, V4L2_SUBDEV_FORMAT_ACTIVE, 1, f),
            Err(Errno::EINVAL),
            "bad pad"
        );
    }
    // A stream number is forced to 0 (the client has no STREAMS cap).
    let mut v = V4l2SubdevFormat {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        stream: 5,
        reserved: [1; 7],
        ..Default::default()
    };
    ioc(&s, VIDIOC_SUBDEV_G_FMT, &mut v).unwrap();
    assert_eq!((v.stream, v.reserved), (0, [0; 7]));
    // ENUM_MBUS_CODE.
    let mut codes = Vec::new();
    for index in 0.. {
        let mut c = V4l2SubdevMbusCodeEnum {
            index,
            which: V4L2_SUBDEV_FORMAT_ACTIVE,
            ..Default::default()
        };
        match ioc(&s, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &mut c) {
            Ok(_) => codes.push(c.code),
            Err(e) => {
                assert_eq!(e, Errno::EINVAL);
                break;
            }
        }
    }
    assert_eq!(
        codes,
        vec![MEDIA_BUS_FMT_RGB888_1X24, MEDIA_BUS_FMT_SRGGB8_1X8]
    );
    let mut c = V4l2SubdevMbusCodeEnum {
        pad: 3,
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        ..Default::default()
    };
    assert_eq!(
        ioc(&s, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &mut c),
        Err(Errno::EINVAL)
    );
    // No enum_frame_size op: ENOTTY.
    let mut fse = V4l2SubdevFrameSizeEnum {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        ..Default::default()
    };
    assert_eq!(
        ioc(&s, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &mut fse),
        Err(Errno::ENOTTY)
    );
}

#[test]
fn subdev_selection() {
    let rig = Rig::new(Style::Framework);
    let s = rig.open_subdev();
    let mut sel = V4l2SubdevSelection {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        target: V4L2_SEL_TGT_CROP_BOUNDS,
        ..Default::default()
    };
    ioc(&s, VIDIOC_SUBDEV_G_SELECTION, &mut sel).unwrap();
    assert_eq!((sel.r.width, sel.r.height), (640, 480));
    sel.target = V4L2_SEL_TGT_CROP;
    sel.r = V4l2Rect {
        left: 600,
        top: -4,
        width: 500,
        height: 100,
    };
    ioc(&s, VIDIOC_SUBDEV_S_SELECTION, &mut sel).unwrap();
    assert_eq!(
        sel.r,
        V4l2Rect {
            left: 600,
            top: 0,
            width: 40,
            height: 100
        }
    );
    let mut g = V4l2SubdevSelection {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        target: V4L2_SEL_TGT_CROP,
        ..Default::default()
    };
    ioc(&s, VIDIOC_SUBDEV_G_SELECTION, &mut g).unwrap();
    assert_eq!(g.r, sel.r);
    g.target = V4L2_SEL_TGT_COMPOSE;
    assert_eq!(
        ioc(&s, VIDIOC_SUBDEV_G_SELECTION, &mut g),
        Err(Errno::EINVAL)
    );
}

#[test]
fn read_only_subdev_refuses_active_writes() {
    let rig = Rig::with(Style::Framework, true, QueueConfig::default());
    let s = rig.open_subdev();
    let mut c = V4l2SubdevCapability::default();
    ioc(&s, VIDIOC_SUBDEV_QUERYCAP, &mut c).unwrap();
    assert_eq!(c.capabilities, V4L2_SUBDEV_CAP_RO_SUBDEV);
    let f = sensor_default();
    assert_eq!(
        subdev_fmt(&s, VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_ACTIVE, 0, f),
        Err(Errno::EPERM)
    );
    subdev_fmt(&s, VIDIOC_SUBDEV_S_FMT, V4L2_SUBDEV_FORMAT_TRY, 0, f).unwrap();
    let mut sel = V4l2SubdevSelection {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        target: V4L2_SEL_TGT_CROP,
        ..Default::default()
    };
    assert_eq!(
        ioc(&s, VIDIOC_SUBDEV_S_SELECTION, &mut sel),
        Err(Errno::EPERM)
    );
}

/// A subdev driver used without a bound device: created, attached to a v4l2
/// device, its node registered directly on the kernel; a bridge reaches it
/// through the erased handle with the same validation as the ioctls.
struct Plain;
impl devlife_media::v4l2::SubdevOps for Plain {
    fn init_state(&self, st: &mut devlife_media::v4l2::SubdevState) {
        for p in 0..st.num_pads() as u32 {
            *st.format_mut(p).unwrap() = sensor_default();
        }
    }
    fn set_fmt(
        &self,
        st: &mut devlife_media::v4l2::SubdevState,
        f: &mut V4l2SubdevFormat,
    ) -> devlife_model::KResult<()> {
        *st.format_mut(f.pad)? = f.format;
        Ok(())
    }
}

#[test]
fn bridge_side_subdev_calls_go_through_the_same_validation() {
    use devlife_media::v4l2::{Subdev, SubdevConfig, V4l2Device};
    let k = devlife_model::Kernel::new();
    let v4l2 = V4l2Device::new(k.monitor(), "bridge", || ());
    let sd = Subdev::new(
        k.monitor(),
        SubdevConfig::new("Scaler", vec![1, 2], 0),
        Plain,
    )
    .unwrap();
    let h = sd.handle();
    v4l2.register_subdev(&h).unwrap();
    assert_eq!(
        v4l2.register_subdev(&h),
        Err(Errno::EINVAL),
        "already registered"
    );
    assert_eq!(v4l2.subdevs().len(), 1);
    assert_eq!(h.num_pads(), 2);
    assert_eq!(h.get_fmt(1).unwrap(), sensor_default());
    assert_eq!(h.get_fmt(2), Err(Errno::EINVAL));
    let mut f = V4l2SubdevFormat {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        pad: 1,
        format: V4l2MbusFramefmt {
            width: 64,
            reserved: [1; 10],
            ..sensor_default()
        },
        ..Default::default()
    };
    h.set_fmt(&mut f).unwrap();
    assert_eq!(f.format.reserved, [0; 10]);
    assert_eq!(h.get_fmt(1).unwrap().width, 64);
    f.which = V4L2_SUBDEV_FORMAT_TRY;
    assert_eq!(
        h.set_fmt(&mut f),
        Err(Errno::EINVAL),
        "no TRY state outside a file"
    );
    assert_eq!(
        h.s_stream(true),
        Err(Errno::ENOIOCTLCMD),
        "op not implemented"
    );
    // The devnode, registered on the kernel, sees the same active state.
    let nodes = v4l2.register_subdev_nodes(&k).unwrap();
    assert_eq!(nodes.len(), 1);
    assert!(
        v4l2.register_subdev_nodes(&k).unwrap().is_empty(),
        "only once"
    );
    let file = k
        .open(nodes[0].name(), devlife_model::OpenFlags::RDWR)
        .unwrap();
    let g = subdev_fmt(
        &file,
        VIDIOC_SUBDEV_G_FMT,
        V4L2_SUBDEV_FORMAT_ACTIVE,
        1,
        Default::default(),
    )
    .unwrap();
    assert_eq!(g.format.width, 64);
    // Unregistering the v4l2 device unregisters the node: ENODEV.
    v4l2.unregister();
    assert!(v4l2.subdevs().is_empty());
    assert_eq!(
        subdev_fmt(
            &file,
            VIDIOC_SUBDEV_G_FMT,
            V4L2_SUBDEV_FORMAT_ACTIVE,
            1,
            Default::default()
        ),
        Err(Errno::ENODEV)
    );
    assert_eq!(v4l2.register_subdev(&h), Err(Errno::ENODEV));
}
