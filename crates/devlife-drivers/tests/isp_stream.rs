//! isp (framework style): topology, formats and their propagation, link
//! validation, streaming through mmap'ed buffers, `read()` and `poll()`,
//! frames completed by interrupt, drops when no buffer is queued, and the
//! free-running engine; the handle's lookups of nodes and media device.

use devlife_drivers::Style;
use devlife_drivers::isp::hw::pattern_byte;
use devlife_drivers::isp::{
    self, CAPTURE_NAME, CCDC_NAME, CSI2_NAME, IspOptions, MEDIA_BUS_FMT_YUYV8_1X16, RESIZER_NAME,
    SENSOR_NAME,
};
use devlife_media::mc::ENOLINK;
use devlife_media::uapi::ioctl::get_str;
use devlife_media::uapi::media::MEDIA_LNK_FL_ENABLED;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, Kernel, PollMask};
use devlife_testkit::isp::*;
use std::time::Duration;

fn mbus(code: u32, width: u32, height: u32) -> V4l2MbusFramefmt {
    V4l2MbusFramefmt {
        code,
        width,
        height,
        ..Default::default()
    }
}

fn set(rig: &Rig, entity: &str, pad: u32, f: V4l2MbusFramefmt) -> V4l2MbusFramefmt {
    let sd = rig.open_subdev(entity);
    subdev_s_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, pad, f).unwrap()
}

fn get(rig: &Rig, entity: &str, pad: u32) -> V4l2MbusFramefmt {
    subdev_g_fmt(&rig.open_subdev(entity), V4L2_SUBDEV_FORMAT_ACTIVE, pad).unwrap()
}

#[test]
fn topology_nodes_and_device_info() {
    let rig = Rig::new(Style::Framework);
    let n = rig.nodes();
    assert_eq!(n.media.as_deref(), Some("media0"));
    assert_eq!(n.video.as_deref(), Some("video0"));
    let sds: Vec<(&str, &str)> = n
        .subdevs
        .iter()
        .map(|(e, n)| (e.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        sds,
        [
            (SENSOR_NAME, "v4l-subdev0"),
            (CSI2_NAME, "v4l-subdev1"),
            (CCDC_NAME, "v4l-subdev2"),
            (RESIZER_NAME, "v4l-subdev3")
        ]
    );
    let m = rig.isp.media_device(&rig.dev).unwrap();
    {
        let g = m.graph();
        let names: Vec<String> = g.entities().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                SENSOR_NAME,
                CSI2_NAME,
                CCDC_NAME,
                RESIZER_NAME,
                CAPTURE_NAME
            ]
        );
        // 4 data links + 5 interface links.
        assert_eq!((g.num_links(), g.num_interfaces(), g.num_pads()), (9, 5, 8));
    }
    drop(m);
    let t = rig.isp.topology(&rig.dev).unwrap();
    for line in [
        "driver          devlife-isp",
        "bus info        platform:devlife-isp.0",
        "-> \"devlife ISP CSI2\":0 [ENABLED,IMMUTABLE]",
        "-> \"devlife ISP CCDC\":0 [ENABLED]",
        "-> \"devlife ISP resizer\":0 [ENABLED]",
        "-> \"devlife ISP resizer output\":0 [ENABLED,IMMUTABLE]",
        "[stream:0 fmt:SGRBG8_1X8/640x480 field:none colorspace:srgb]",
        "[stream:0 fmt:YUYV8_1X16/640x480 field:none colorspace:srgb]",
        "pad0: SINK,MUST_CONNECT",
        "device node name /dev/video0",
        "device node name /dev/v4l-subdev3",
    ] {
        assert!(t.contains(line), "missing `{line}` in\n{t}");
    }
    let mf = rig.open_media();
    assert_eq!(get_str(&media_info(&mf).unwrap().model), "devlife ISP");
    let v = rig.open_video();
    let c = querycap(&v).unwrap();
    assert_eq!(get_str(&c.driver), "devlife-isp");
    assert_eq!(get_str(&c.bus_info), "platform:devlife-isp.0");
    drop((mf, v));
    rig.finish();
}

#[test]
fn formats_propagate_and_streamon_validates_the_pipeline() {
    let rig = Rig::new(Style::Framework);
    // Enumeration and limits.
    let csi = rig.open_subdev(CSI2_NAME);
    let mut c = V4l2SubdevMbusCodeEnum {
        pad: 0,
        index: 3,
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        ..Default::default()
    };
    ioc(&csi, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &mut c).unwrap();
    assert_eq!(c.code, MEDIA_BUS_FMT_SGBRG8_1X8);
    c.index = 4;
    assert_eq!(
        ioc(&csi, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &mut c),
        Err(Errno::EINVAL)
    );
    drop(csi);
    let s = set(&rig, SENSOR_NAME, 0, mbus(0x1234, 5000, 721));
    assert_eq!(
        (s.code, s.width, s.height),
        (MEDIA_BUS_FMT_SGRBG8_1X8, 2592, 720)
    );

    // The sensor now gives 2592x720: the CSI2 link does not validate.
    let v = rig.open_video();
    reqbufs(&v, 2).unwrap();
    assert_eq!(streamon(&v), Err(Errno::EPIPE));

    // Configure the whole pipeline, sink pads propagating to sources.
    set(&rig, SENSOR_NAME, 0, mbus(0, 1280, 720));
    let f = set(
        &rig,
        CSI2_NAME,
        0,
        mbus(MEDIA_BUS_FMT_SGRBG8_1X8, 1280, 720),
    );
    assert_eq!(get(&rig, CSI2_NAME, 1), f);
    // A source pad that follows its sink ignores S_FMT.
    let s = set(&rig, CSI2_NAME, 1, mbus(MEDIA_BUS_FMT_SGRBG8_1X8, 64, 64));
    assert_eq!((s.width, s.height), (1280, 720));
    set(
        &rig,
        CCDC_NAME,
        0,
        mbus(MEDIA_BUS_FMT_SGRBG8_1X8, 1280, 720),
    );
    let o = get(&rig, CCDC_NAME, 1);
    assert_eq!(
        (o.code, o.width, o.height),
        (MEDIA_BUS_FMT_YUYV8_1X16, 1280, 720)
    );
    set(
        &rig,
        RESIZER_NAME,
        0,
        mbus(MEDIA_BUS_FMT_YUYV8_1X16, 1280, 720),
    );
    assert_eq!(get(&rig, RESIZER_NAME, 1).width, 1280);
    // Still 640x480 at the capture node: the last link does not validate.
    assert_eq!(streamon(&v), Err(Errno::EPIPE));
    let r = set(
        &rig,
        RESIZER_NAME,
        1,
        mbus(MEDIA_BUS_FMT_YUYV8_1X16, 321, 240),
    );
    assert_eq!((r.width, r.height), (320, 240));
    let p = set_fmt(&v, VIDIOC_S_FMT, &pix_format(320, 240, pix_fmt::RGB24));
    assert_eq!(p, Err(Errno::EBUSY), "buffers are allocated");
    reqbufs(&v, 0).unwrap();
    let p = set_fmt(&v, VIDIOC_S_FMT, &pix_format(320, 240, pix_fmt::RGB24)).unwrap();
    assert_eq!(
        (p.pixelformat, p.bytesperline, p.sizeimage),
        (pix_fmt::YUYV, 640, 320 * 240 * 2)
    );
    start_stream(&v, 2).unwrap();
    assert!(rig.frame());
    let b = dqbuf(&v).unwrap();
    assert_eq!(b.bytesused, 320 * 240 * 2);
    let m = map_buffer(&v, b.index).unwrap();
    for off in [0usize, 5, 640, 641, 642, 320 * 240 * 2 - 2] {
        let mut x = [0u8];
        m.read(off, &mut x).unwrap();
        assert_eq!(x[0], pattern_byte(0, 640, off), "offset {off}");
    }
    // The hardware was programmed with the output format.
    assert_eq!(rig.dev.hardware().peek(0x1c), (320 << 16) | 240);
    drop((m, v));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn setup_link_and_enolink() {
    let rig = Rig::new(Style::Framework);
    let m = rig.isp.media_device(&rig.dev).unwrap();
    let (ccdc, rsz) = {
        let g = m.graph();
        (
            g.entity_by_name(CCDC_NAME).unwrap(),
            g.entity_by_name(RESIZER_NAME).unwrap(),
        )
    };
    drop(m);
    let mf = rig.open_media();
    setup_link(&mf, (ccdc, 1), (rsz, 0), 0).unwrap();
    let v = rig.open_video();
    reqbufs(&v, 2).unwrap();
    assert_eq!(streamon(&v), Err(ENOLINK));
    setup_link(&mf, (ccdc, 1), (rsz, 0), MEDIA_LNK_FL_ENABLED).unwrap();
    streamon(&v).unwrap();
    // No link of a streaming pipeline can change.
    assert_eq!(setup_link(&mf, (ccdc, 1), (rsz, 0), 0), Err(Errno::EBUSY));
    streamoff(&v).unwrap();
    setup_link(&mf, (ccdc, 1), (rsz, 0), 0).unwrap();
    drop((v, mf));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn frames_by_interrupt_into_mmap_buffers_and_drops_without_buffers() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    let n = start_stream(&v, 3).unwrap();
    let maps: Vec<_> = (0..n).map(|i| map_buffer(&v, i).unwrap()).collect();
    for k in 0..6u32 {
        assert!(rig.frame());
        let b = dqbuf(&v).unwrap();
        assert_eq!((b.sequence, b.bytesused), (k, 640 * 480 * 2));
        let mut head = [0u8; 4];
        maps[b.index as usize].read(0, &mut head).unwrap();
        assert_eq!(u32::from_le_bytes(head), k, "hardware frame number");
        let mut x = [0u8; 2];
        maps[b.index as usize].read(1280 * 7 + 10, &mut x).unwrap();
        assert_eq!(x, [pattern_byte(k, 1280, 1280 * 7 + 10), 0x80]);
        qbuf(&v, b.index).unwrap();
    }
    // Take every buffer: the next frame has nowhere to go.
    for _ in 0..3 {
        assert!(rig.frame());
        dqbuf(&v).unwrap();
    }
    let before = rig.isp.counters();
    assert!(rig.frame());
    let after = rig.isp.counters();
    assert_eq!(after.overflows, before.overflows + 1);
    assert_eq!(after.frames, before.frames);
    // Queueing a buffer programs the DMA at once.
    qbuf(&v, 1).unwrap();
    assert_ne!(rig.dev.hardware().peek(0x10), 0);
    assert!(rig.frame());
    assert_eq!(dqbuf(&v).unwrap().index, 1);
    streamoff(&v).unwrap();
    assert!(!rig.isp.model(&rig.dev).unwrap().is_running());
    assert!(!rig.isp.vsync(&rig.dev), "stopped engines produce nothing");
    let c = rig.isp.counters();
    assert_eq!((c.starts, c.stops), (1, 1));
    drop((maps, v));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn read_and_poll() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    let v2 = v.dup();
    let reader = spawn("reader", move || {
        let mut b = vec![0u8; 1000];
        let n = v2.read(&mut b)?;
        Ok::<_, Errno>((n, b))
    });
    wait_blocked(&rig.k, "reader", "read");
    assert!(rig.frame());
    let (n, b) = reader.join().unwrap().unwrap();
    assert_eq!(n, 1000);
    for (i, x) in b.iter().enumerate() {
        assert_eq!(*x, pattern_byte(0, 1280, i));
    }
    drop(v);
    // poll on a streaming file sleeps until a frame is done.
    let v = rig.open_video();
    start_stream(&v, 2).unwrap();
    let events = PollMask::IN | PollMask::RDNORM;
    assert_eq!(
        v.poll(events, Some(Duration::ZERO)).unwrap(),
        PollMask::NONE
    );
    let v2 = v.dup();
    let poller = spawn("poller", move || v2.poll(events, None));
    wait_blocked(&rig.k, "poller", "poll");
    assert!(rig.frame());
    assert_eq!(poller.join().unwrap().unwrap(), events);
    drop(v);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn free_running_engine() {
    let k = Kernel::new();
    let opts = IspOptions {
        frame_interval: Some(Duration::from_millis(1)),
        ..Default::default()
    };
    let isp = isp::register_with(&k, Style::Framework, opts).unwrap();
    let dev = isp.plug(3).unwrap();
    let v = k
        .open(
            isp.nodes(&dev).video.as_deref().unwrap(),
            devlife_model::OpenFlags::RDWR,
        )
        .unwrap();
    start_stream(&v, 3).unwrap();
    for s in 0..8 {
        let b = dqbuf(&v).unwrap();
        assert_eq!(b.sequence, s);
        qbuf(&v, b.index).unwrap();
    }
    streamoff(&v).unwrap();
    assert!(!isp.model(&dev).unwrap().is_running());
    drop(v);
    no_reports(&k);
    k.shutdown();
    drop((isp, dev));
    no_leaks(&k);
}

/// The handle finds each binding's nodes in the kernel (subdevs sensor
/// first, whatever their numbers) and its media device through the
/// binding's data; an unbound device has neither.
#[test]
fn the_handle_finds_each_bindings_nodes_and_media_device() {
    for style in [Style::Framework, Style::Legacy] {
        let k = Kernel::new();
        let isp = isp::register_with(&k, style, IspOptions::manual()).unwrap();
        let devs: Vec<_> = (0..3).map(|n| isp.plug(n).unwrap()).collect();
        let order = [SENSOR_NAME, CSI2_NAME, CCDC_NAME, RESIZER_NAME];
        let mut seen = Vec::new();
        for dev in &devs {
            let nodes = isp.nodes(dev);
            let names: Vec<_> = nodes.subdevs.iter().map(|(e, _)| e.as_str()).collect();
            assert_eq!(names, order, "{style:?}");
            let media = nodes.media.clone().unwrap();
            let mdev = isp.media_device(dev).unwrap();
            assert_eq!(
                mdev.node().map(|n| n.name().to_owned()),
                Some(media),
                "{style:?}"
            );
            seen.extend(nodes.subdevs.into_iter().map(|(_, n)| n));
            seen.extend(nodes.video);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 15, "{style:?}: one node per entity: {seen:?}");
        isp.unplug(&devs[1]).unwrap();
        assert_eq!(isp.nodes(&devs[1]), isp::IspNodes::default(), "{style:?}");
        assert!(isp.media_device(&devs[1]).is_none(), "{style:?}");
        assert_eq!(isp.nodes(&devs[2]).subdevs.len(), 4, "{style:?}");
        for dev in [&devs[0], &devs[2]] {
            isp.unplug(dev).unwrap();
        }
    }
}
