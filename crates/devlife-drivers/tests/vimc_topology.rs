//! vimc's topology (docs/vimc.md), node names, default formats and
//! their rules, `media-ctl -p` / `--print-dot` byte for byte.

use devlife_media::kinds;
use devlife_testkit::media_ctl::{
    LENS_A_EXCERPT, SCALER_EXCERPT, SENSOR_A_EXCERPT, VIMC_DOT, VIMC_P, first_diff,
};

use devlife_drivers::Style;
use devlife_drivers::vimc::formats::{code, pix};
use devlife_drivers::vimc::topology::{ENTITIES, ENTITY_IDS};
use devlife_drivers::vimc::{self, DEVICE_CAPS};
use devlife_media::mc::LinkEnds;
use devlife_media::uapi::ioctl::{Wire, get_str};
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, File, NodeKind};
use devlife_testkit::vimc::*;

#[test]
fn media_ctl_p_and_dot_byte_for_byte_in_both_styles() {
    for style in [Style::Framework, Style::Legacy] {
        let rig = Rig::new(style, NEVER);
        let out = rig.v.topology().unwrap();
        assert!(out == VIMC_P, "{style:?}: {}", first_diff(&out, VIMC_P));
        for excerpt in [SENSOR_A_EXCERPT, SCALER_EXCERPT, LENS_A_EXCERPT] {
            assert!(out.contains(excerpt));
        }
        let dot = rig.v.topology_dot().unwrap();
        assert!(dot == VIMC_DOT, "{style:?}: {}", first_diff(&dot, VIMC_DOT));
        rig.assert_silent();
        rig.finish();
    }
}

#[test]
fn object_ids_and_counts_are_the_kernels() {
    let rig = Rig::new(Style::Framework, NEVER);
    let mdev = rig.v.media_device().unwrap();
    let g = mdev.graph();
    // The counts of docs/vimc.md: entities 11, interfaces 11, pads 12, links 21.
    assert_eq!(
        (
            g.num_entities(),
            g.num_interfaces(),
            g.num_pads(),
            g.num_links()
        ),
        (11, 11, 12, 21)
    );
    let ents = g.entities();
    let ids: Vec<u32> = ents.iter().map(|e| e.id).collect();
    assert_eq!(ids, ENTITY_IDS);
    let names: Vec<&str> = ents.iter().map(|e| e.name.as_str()).collect();
    let want: Vec<&str> = ENTITIES.iter().map(|e| e.name).collect();
    assert_eq!(names, want);
    // Pads: Sensor A pad 0x01000002 (the 5.11 compliance output), then on.
    let pad = |ent: u32, index: u16| {
        g.pad_id(devlife_media::mc::PadKey { entity: ent, index })
            .unwrap()
    };
    assert_eq!(pad(1, 0), 0x0100_0002);
    assert_eq!(pad(3, 0), 0x0100_0004);
    assert_eq!((pad(5, 0), pad(5, 1)), (0x0100_0006, 0x0100_0007));
    assert_eq!((pad(8, 0), pad(8, 1)), (0x0100_0009, 0x0100_000a));
    assert_eq!(pad(11, 0), 0x0100_000c);
    assert_eq!(pad(15, 0), 0x0100_0010);
    assert_eq!(pad(19, 0), 0x0100_0014);
    assert_eq!((pad(21, 0), pad(21, 1)), (0x0100_0016, 0x0100_0017));
    assert_eq!(pad(24, 0), 0x0100_0019);
    // Links in creation order: the captures' interface links, the data
    // links (their hidden backlinks take the odd ids), the ancillary links,
    // then one interface link per subdev node.
    let links = g.links();
    let mut intf_video = Vec::new();
    let mut data = Vec::new();
    let mut anc = Vec::new();
    let mut intf_subdev = Vec::new();
    for l in &links {
        match l.ends {
            LinkEnds::Interface { intf, entity } => {
                let i = g.interface_handle(intf).unwrap();
                if i.intf_type() == MEDIA_INTF_T_V4L_VIDEO {
                    intf_video.push((l.id, intf, entity));
                } else {
                    assert_eq!(i.intf_type(), MEDIA_INTF_T_V4L_SUBDEV);
                    intf_subdev.push((l.id, intf, entity));
                }
                assert_eq!(
                    l.flags,
                    MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_INTERFACE_LINK
                );
            }
            LinkEnds::Data { .. } => data.push((l.id, l.flags)),
            LinkEnds::Ancillary { primary, ancillary } => {
                anc.push((l.id, primary, ancillary, l.flags))
            }
        }
    }
    assert_eq!(
        intf_video,
        vec![
            (0x0200_000e, 0x0300_000d, 11),
            (0x0200_0012, 0x0300_0011, 15),
            (0x0200_001b, 0x0300_001a, 24)
        ]
    );
    let data_ids: Vec<u32> = data.iter().map(|d| d.0).collect();
    assert_eq!(
        data_ids,
        (0..8).map(|i| 0x0200_001e + 2 * i).collect::<Vec<_>>()
    );
    let data_flags: Vec<u32> = data.iter().map(|d| d.1).collect();
    assert_eq!(data_flags, vec![3, 3, 3, 3, 1, 0, 0, 3]);
    let ancf = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_ANCILLARY_LINK;
    assert_eq!(ancf, 0x2000_0003);
    assert_eq!(
        anc,
        vec![(0x0200_002e, 1, 28, ancf), (0x0200_002f, 3, 29, ancf)]
    );
    let subdev_entities = [1, 3, 5, 8, 19, 21, 28, 29];
    assert_eq!(intf_subdev.len(), 8);
    for (n, (lid, iid, ent)) in intf_subdev.iter().enumerate() {
        assert_eq!(*iid, 0x0300_0030 + 2 * n as u32);
        assert_eq!(*lid, 0x0200_0031 + 2 * n as u32);
        assert_eq!(*ent, subdev_entities[n]);
    }
    drop(g);
    drop(mdev);
    rig.finish();
}

#[test]
fn node_names_numbers_and_device_info() {
    let rig = Rig::new(Style::Framework, NEVER);
    let nodes = rig.nodes();
    assert_eq!(nodes.media, "/dev/media0");
    assert_eq!(
        nodes.captures(),
        vec!["/dev/video0", "/dev/video1", "/dev/video2"]
    );
    let subdevs: Vec<String> = (0..8).map(|i| format!("/dev/v4l-subdev{i}")).collect();
    assert_eq!(nodes.subdevs(), subdevs);
    assert_eq!(nodes.path("RGB/YUV Input"), Some("/dev/v4l-subdev4"));
    assert_eq!(nodes.path("No Such Entity"), None);
    // Every node exists with its kind; video and subdev nodes on major 81.
    let mdev = rig.v.media_device().unwrap();
    for (name, path) in nodes.iter() {
        let n = rig.k.lookup(path).unwrap();
        let kind = if path.contains("video") {
            NodeKind::Video
        } else {
            NodeKind::Subdev
        };
        assert_eq!(n.kind(), kind, "{name}");
        assert_eq!(n.devt().major, 81);
        // The entity reports the node's numbers (ENUM_ENTITIES `dev`).
        let g = mdev.graph();
        let e = g.entity(g.entity_by_name(name).unwrap()).unwrap();
        assert_eq!(e.dev, (81, n.devt().minor), "{name}");
    }
    assert_eq!(rig.k.lookup("media0").unwrap().kind(), NodeKind::Media);
    // MEDIA_IOC_DEVICE_INFO.
    let m = rig.open_media();
    let d = media_info(&m).unwrap();
    assert_eq!(get_str(&d.driver), "vimc");
    assert_eq!(get_str(&d.model), "VIMC MDEV");
    assert_eq!(get_str(&d.serial), "");
    assert_eq!(get_str(&d.bus_info), "platform:vimc");
    assert_eq!(d.hw_revision, 0);
    assert_eq!(d.media_version, MEDIA_API_VERSION);
    drop((m, mdev));
    rig.assert_silent();
    rig.finish();
}

#[test]
fn capture_defaults_querycap_and_enum_fmt() {
    let rig = Rig::new(Style::Framework, NEVER);
    for cap in ["Raw Capture 0", "Raw Capture 1", "RGB/YUV Capture"] {
        let f = rig.open(cap);
        let c = querycap(&f).unwrap();
        assert_eq!(get_str(&c.driver), "vimc");
        assert_eq!(get_str(&c.card), "vimc");
        assert_eq!(get_str(&c.bus_info), "platform:vimc");
        // The kernel's 0x24200001 / 0xa4200001, plus READWRITE (read() is served).
        assert_eq!(DEVICE_CAPS, 0x2500_0001);
        assert_eq!(c.device_caps, 0x2520_0001);
        assert_eq!(c.capabilities, 0xa520_0001);
        let p = g_fmt(&f).unwrap();
        assert_eq!((p.width, p.height, p.pixelformat), (640, 480, pix::RGB24));
        assert_eq!((p.bytesperline, p.sizeimage), (1920, 921_600));
        assert_eq!((p.field, p.colorspace), (field::NONE, colorspace::SRGB));
    }
    let f = rig.open("Raw Capture 0");
    let enum_fmt = |index: u32, mbus_code: u32| {
        let mut d = V4l2Fmtdesc {
            index,
            type_: buf_type::VIDEO_CAPTURE,
            mbus_code,
            ..Default::default()
        };
        ioc(&f, VIDIOC_ENUM_FMT, &mut d).map(|_| d.pixelformat)
    };
    let all: Vec<u32> = (0..).map_while(|i| enum_fmt(i, 0).ok()).collect();
    assert_eq!(all.len(), 23);
    assert_eq!(
        &all[..4],
        &[pix::BGR24, pix::RGB24, pix::ARGB32, pix::SBGGR8]
    );
    assert_eq!(all[22], pix::SRGGB12);
    // The mbus_code filter: exactly one format, index 0 only.
    assert_eq!(enum_fmt(0, code::GBR888_1X24), Ok(pix::RGB24));
    assert_eq!(enum_fmt(0, code::SGRBG10_1X10), Ok(pix::SGRBG10));
    assert_eq!(enum_fmt(1, code::SGRBG10_1X10), Err(Errno::EINVAL));
    assert_eq!(enum_fmt(0, 0xdead), Err(Errno::EINVAL));
    // TRY_FMT / S_FMT adjust like vimc_capture_try_fmt_vid_cap.
    let mut want = g_fmt(&f).unwrap();
    want.width = 7;
    want.height = 9999;
    want.pixelformat = 0x1234_5678;
    want.field = field::ANY;
    let mut v = V4l2Format::from_pix(buf_type::VIDEO_CAPTURE, &want);
    ioc(&f, VIDIOC_TRY_FMT, &mut v).unwrap();
    let t = v.pix();
    assert_eq!((t.width, t.height, t.pixelformat), (16, 2160, pix::RGB24));
    assert_eq!(
        (t.bytesperline, t.sizeimage, t.field),
        (48, 48 * 2160, field::NONE)
    );
    want = g_fmt(&f).unwrap();
    want.pixelformat = pix::SBGGR10;
    let s = s_fmt(&f, &want).unwrap();
    assert_eq!((s.bytesperline, s.sizeimage), (1280, 1280 * 480));
    assert_eq!(g_fmt(&f).unwrap().pixelformat, pix::SBGGR10);
    // S_FMT programs the engine.
    assert_eq!(rig.v.hardware().peek(vimc::hw::reg_fmt(4)), pix::SBGGR10);
    drop(f);
    rig.assert_silent();
    rig.finish();
}

fn enum_codes(f: &File, pad: u32) -> Vec<KResultCode> {
    (0..40)
        .map(|index| {
            let mut c = V4l2SubdevMbusCodeEnum {
                pad,
                index,
                which: V4L2_SUBDEV_FORMAT_ACTIVE,
                ..Default::default()
            };
            ioc(f, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &mut c).map(|_| c.code)
        })
        .collect()
}

type KResultCode = Result<u32, Errno>;

#[test]
fn subdev_defaults_codes_sizes_and_selections() {
    let rig = Rig::new(Style::Framework, NEVER);
    let a = ACTIVE;
    // Defaults, ACTIVE and TRY alike.
    for which in [V4L2_SUBDEV_FORMAT_TRY, a] {
        for (ent, pad, code) in [
            ("Sensor A", 0, code::RGB888_1X24),
            ("Sensor B", 0, code::RGB888_1X24),
            ("RGB/YUV Input", 0, code::RGB888_1X24),
            ("Debayer A", 0, code::SRGGB8_1X8),
            ("Debayer A", 1, code::RGB888_1X24),
            ("Scaler", 0, code::RGB888_1X24),
            ("Scaler", 1, code::RGB888_1X24),
        ] {
            let f = rig.open(ent);
            let m = subdev_g_fmt(&f, which, pad).unwrap();
            assert_eq!((m.code, m.width, m.height), (code, 640, 480), "{ent}:{pad}");
            assert_eq!((m.field, m.colorspace), (field::NONE, colorspace::SRGB));
        }
    }
    // Lenses have no pads.
    let lens = rig.open("Lens A");
    assert_eq!(subdev_g_fmt(&lens, a, 0), Err(Errno::EINVAL));
    // Codes: sensor = every code of the pixel map (31); debayer sink = 12
    // Bayer codes, source = 10 RGB codes; scaler = the 11 non-Bayer codes,
    // then EINVAL (the Bayer ones are enumerated as errors).
    let s = rig.open("Sensor A");
    let codes = enum_codes(&s, 0);
    assert_eq!(codes.iter().filter(|c| c.is_ok()).count(), 31);
    assert_eq!(codes[0], Ok(code::BGR888_1X24));
    assert_eq!(codes[31], Err(Errno::EINVAL));
    let d = rig.open("Debayer A");
    let sink = enum_codes(&d, 0);
    let src = enum_codes(&d, 1);
    assert_eq!(sink.iter().filter(|c| c.is_ok()).count(), 12);
    assert_eq!(src.iter().filter(|c| c.is_ok()).count(), 10);
    assert_eq!(src[3], Ok(code::RGB888_1X24));
    let sc = rig.open("Scaler");
    let codes = enum_codes(&sc, 0);
    assert!(codes[..11].iter().all(Result::is_ok));
    assert!(codes[11..].iter().all(|c| c == &Err(Errno::EINVAL)));
    // Frame sizes: 16x16 .. 4096x2160 for a known code, index 0 only.
    let mut fse = V4l2SubdevFrameSizeEnum {
        code: code::SBGGR8_1X8,
        which: a,
        ..Default::default()
    };
    ioc(&s, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &mut fse).unwrap();
    assert_eq!(
        (fse.min_width, fse.max_width, fse.min_height, fse.max_height),
        (16, 4096, 16, 2160)
    );
    fse.index = 1;
    assert_eq!(
        ioc(&s, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &mut fse),
        Err(Errno::EINVAL)
    );
    let mut fse = V4l2SubdevFrameSizeEnum {
        code: code::SBGGR8_1X8,
        which: a,
        pad: 1,
        ..Default::default()
    };
    assert_eq!(
        ioc(&sc, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &mut fse),
        Err(Errno::EINVAL)
    );
    // Selections: the scaler's sink only, CROP and CROP_BOUNDS.
    let sel = |f: &File, pad: u32, target: u32| {
        let mut s = V4l2SubdevSelection {
            which: a,
            pad,
            target,
            ..Default::default()
        };
        ioc(f, VIDIOC_SUBDEV_G_SELECTION, &mut s)
            .map(|_| (s.r.left, s.r.top, s.r.width, s.r.height))
    };
    assert_eq!(sel(&sc, 0, V4L2_SEL_TGT_CROP), Ok((0, 0, 640, 480)));
    assert_eq!(sel(&sc, 0, V4L2_SEL_TGT_CROP_BOUNDS), Ok((0, 0, 640, 480)));
    assert_eq!(sel(&sc, 0, V4L2_SEL_TGT_COMPOSE), Err(Errno::EINVAL));
    assert_eq!(sel(&sc, 1, V4L2_SEL_TGT_CROP), Err(Errno::EINVAL));
    assert_eq!(sel(&s, 0, V4L2_SEL_TGT_CROP), Err(Errno::ENOTTY));
    drop((lens, s, d, sc));
    rig.assert_silent();
    rig.finish();
}

const ACTIVE: u32 = V4L2_SUBDEV_FORMAT_ACTIVE;

#[test]
fn set_fmt_adjusts_and_propagates() {
    let rig = Rig::new(Style::Framework, NEVER);
    // Sensor: unknown code -> default, odd and out-of-range sizes clamped,
    // field ANY -> NONE, colorspace DEFAULT kept (colorimetry clamp).
    let s = rig.open("Sensor B");
    let m = subdev_s_fmt(&s, ACTIVE, 0, mbus(0xdead, 9999, 5)).unwrap();
    assert_eq!((m.code, m.width, m.height), (code::RGB888_1X24, 4096, 16));
    assert_eq!((m.field, m.colorspace), (field::NONE, colorspace::DEFAULT));
    let m = subdev_s_fmt(&s, ACTIVE, 0, mbus(code::SGBRG12_1X12, 321, 241)).unwrap();
    assert_eq!((m.code, m.width, m.height), (code::SGBRG12_1X12, 320, 240));
    assert_eq!(subdev_g_fmt(&s, ACTIVE, 0).unwrap(), m);
    // The engine was programmed.
    assert_eq!(
        rig.v.hardware().peek(vimc::hw::reg_fmt(1)),
        code::SGBRG12_1X12
    );
    // TRY does not touch ACTIVE.
    subdev_s_fmt(
        &s,
        V4L2_SUBDEV_FORMAT_TRY,
        0,
        mbus(code::SBGGR8_1X8, 64, 64),
    )
    .unwrap();
    assert_eq!(subdev_g_fmt(&s, ACTIVE, 0).unwrap(), m);
    assert_eq!(
        subdev_g_fmt(&s, V4L2_SUBDEV_FORMAT_TRY, 0).unwrap().width,
        64
    );
    // Debayer: a non-Bayer sink code -> SRGGB8; the source follows the
    // sink's geometry, keeps RGB888; the source cannot be set.
    let d = rig.open("Debayer B");
    let m = subdev_s_fmt(&d, ACTIVE, 0, mbus(code::RGB888_1X24, 320, 240)).unwrap();
    assert_eq!(m.code, code::SRGGB8_1X8);
    let src = subdev_g_fmt(&d, ACTIVE, 1).unwrap();
    assert_eq!(
        (src.code, src.width, src.height),
        (code::RGB888_1X24, 320, 240)
    );
    let m = subdev_s_fmt(&d, ACTIVE, 1, mbus(code::BGR888_1X24, 16, 16)).unwrap();
    assert_eq!(m, src);
    // Scaler: sink code and size propagate to the crop and the source; the
    // source's size is its own; Bayer codes fall back to RGB888.
    let sc = rig.open("Scaler");
    let m = subdev_s_fmt(&sc, ACTIVE, 0, mbus(code::SBGGR8_1X8, 320, 240)).unwrap();
    assert_eq!((m.code, m.width, m.height), (code::RGB888_1X24, 320, 240));
    let out = subdev_g_fmt(&sc, ACTIVE, 1).unwrap();
    assert_eq!((out.width, out.height), (320, 240));
    let mut sel = V4l2SubdevSelection {
        which: ACTIVE,
        pad: 0,
        target: V4L2_SEL_TGT_CROP,
        ..Default::default()
    };
    ioc(&sc, VIDIOC_SUBDEV_G_SELECTION, &mut sel).unwrap();
    assert_eq!((sel.r.width, sel.r.height), (320, 240));
    let out = subdev_s_fmt(&sc, ACTIVE, 1, mbus(code::BGR888_1X24, 1921, 1441)).unwrap();
    assert_eq!(
        (out.code, out.width, out.height),
        (code::RGB888_1X24, 1920, 1440)
    );
    assert_eq!(subdev_g_fmt(&sc, ACTIVE, 0).unwrap().width, 320);
    // S_SELECTION: clamped into the sink.
    sel.r = V4l2Rect {
        left: 300,
        top: 10,
        width: 64,
        height: 9999,
    };
    ioc(&sc, VIDIOC_SUBDEV_S_SELECTION, &mut sel).unwrap();
    assert_eq!(
        (sel.r.left, sel.r.top, sel.r.width, sel.r.height),
        (256, 0, 64, 240)
    );
    sel.target = V4L2_SEL_TGT_COMPOSE;
    assert_eq!(
        ioc(&sc, VIDIOC_SUBDEV_S_SELECTION, &mut sel),
        Err(Errno::EINVAL)
    );
    // What media-ctl shows follows.
    let text = rig.v.topology().unwrap();
    assert!(
        text.contains("[stream:0 fmt:SGBRG12_1X12/320x240 field:none]"),
        "{text}"
    );
    assert!(text.contains("\t\t crop:(256,0)/64x240]"), "{text}");
    assert!(
        text.contains("fmt:RGB888_1X24/1920x1440 field:none]"),
        "{text}"
    );
    drop((s, d, sc));
    rig.assert_silent();
    rig.finish();
}

#[test]
fn nothing_streams_out_of_the_box() {
    let rig = Rig::new(Style::Framework, NEVER);
    for cap in ["Raw Capture 0", "Raw Capture 1", "RGB/YUV Capture"] {
        let f = rig.open(cap);
        // Sensor RGB888 vs Debayer SRGGB8: every component fails validation.
        assert_eq!(start_stream(&f, 2), Err(Errno::EPIPE), "{cap}");
        assert_eq!(dqbuf(&f), Err(Errno::EINVAL), "{cap}");
        // read() fails the same way.
        let f2 = rig.open(cap);
        assert_eq!(f2.read(&mut [0u8; 16]), Err(Errno::EBUSY));
        drop(f);
        assert_eq!(f2.read(&mut [0u8; 16]), Err(Errno::EPIPE));
    }
    assert_eq!(rig.v.stats().stream_starts, 0);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn setup_link_rules_on_vimc_links() {
    let rig = Rig::new(Style::Framework, NEVER);
    let m = rig.open_media();
    let link = |src: u32, sp: u16, snk: u32, kp: u16, flags: u32| {
        let mut l = MediaLinkDesc::ZERO;
        l.source.entity = src;
        l.source.index = sp;
        l.sink.entity = snk;
        l.sink.index = kp;
        l.flags = flags;
        ioc(&m, MEDIA_IOC_SETUP_LINK, &mut l).map(|_| ())
    };
    // Immutable links cannot change (their flags, IMMUTABLE included, are
    // the only accepted value); the scaler's inputs can.
    let ei = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;
    assert_eq!(link(1, 0, 5, 0, 0), Err(Errno::EINVAL));
    assert_eq!(link(1, 0, 5, 0, MEDIA_LNK_FL_ENABLED), Err(Errno::EINVAL));
    assert_eq!(link(1, 0, 5, 0, ei), Ok(()));
    assert_eq!(link(19, 0, 21, 0, MEDIA_LNK_FL_ENABLED), Ok(()));
    assert_eq!(link(5, 1, 21, 0, 0), Ok(()));
    // A link that does not exist.
    assert_eq!(link(3, 0, 21, 0, MEDIA_LNK_FL_ENABLED), Err(Errno::EINVAL));
    let text = rig.v.topology().unwrap();
    assert!(text.contains("\t\t<- \"Debayer A\":1 []\n\t\t<- \"Debayer B\":1 []\n\t\t<- \"RGB/YUV Input\":0 [ENABLED]\n"), "{text}");
    drop(m);
    rig.assert_silent();
    rig.finish();
}

#[test]
fn rebinding_gives_the_same_names_and_ids() {
    let rig = Rig::new(Style::Framework, NEVER);
    let before = rig.v.topology().unwrap();
    let nodes = rig.nodes();
    rig.v.unbind().unwrap();
    assert!(rig.v.nodes().is_none());
    assert_eq!(rig.v.topology(), Err(Errno::ENODEV));
    for (_, p) in nodes.iter() {
        assert!(rig.k.lookup(p).is_none(), "{p} still registered");
    }
    assert!(rig.k.lookup(&nodes.media).is_none());
    rig.v.bind().unwrap();
    assert_eq!(rig.nodes(), nodes);
    assert_eq!(rig.v.topology().unwrap(), before);
    // A second bind of a bound device is refused.
    assert_eq!(rig.v.bind(), Err(Errno::EBUSY));
    let st = rig.v.stats();
    assert_eq!((st.probes, st.removes), (2, 1));
    assert_eq!(rig.released(kinds::MEDIA_DEVICE), 1);
    assert_eq!(rig.released(kinds::V4L2_DEVICE), 1);
    assert_eq!(
        (
            rig.released(kinds::VIDEO_DEVICE),
            rig.released(kinds::V4L2_SUBDEV)
        ),
        (3, 8)
    );
    rig.assert_silent();
    rig.finish();
}

#[test]
fn subdev_format_ioctl_helpers_decode_wire_structs() {
    // The helpers used everywhere: make sure a format round-trips the wire.
    let f = mbus(code::SBGGR8_1X8, 640, 480);
    let b = V4l2SubdevFormat {
        which: ACTIVE,
        pad: 0,
        format: f,
        ..Default::default()
    }
    .to_vec();
    assert_eq!(V4l2SubdevFormat::decode(&b).format, f);
}
