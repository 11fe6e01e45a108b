//! Argument fuzzing (proptest) of the ioctls added for v4l2-compliance on
//! every node of the real drivers (vimc, usb-av, isp): `ENUM_FRAMESIZES`,
//! the input ioctls, `CREATE_BUFS`, `PREPARE_BUF`, `EXPBUF`, the priority,
//! control and event ioctls, subdev `ENUM_FRAME_SIZE` and `G/S_CROP`. No
//! panic; for each ioctl and node kind exactly the errnos the kernel can
//! give; `EFAULT` for a short argument of a served ioctl; nothing written on
//! error (but the `*_EXT_CTRLS` struct, which the kernel copies back) and
//! nothing past `_IOC_SIZE`; reserved fields zero in every reply. The
//! driver-independent cases are fuzzed in devlife-media (`v4l2_fuzz.rs`,
//! `v4l2_controls.rs`) against a test driver; these reach the drivers' own
//! operations (frame sizes, inputs, decoder pads, scaler crop, controls).

use devlife_drivers::{Style, isp, usb_av, vimc};
use devlife_media::uapi::controls::copies_out_on_error;
use devlife_media::uapi::controls::*;
use devlife_media::uapi::io::*;
use devlife_media::uapi::ioctl::{IoctlCmd, Wire};
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::{Errno, File, Kernel, NodeKind, OpenFlags};
use proptest::prelude::*;

const VIDEO_CMDS: [u32; 16] = [
    VIDIOC_ENUM_FRAMESIZES,
    VIDIOC_ENUMINPUT,
    VIDIOC_G_INPUT,
    VIDIOC_S_INPUT,
    VIDIOC_CREATE_BUFS,
    VIDIOC_PREPARE_BUF,
    VIDIOC_EXPBUF,
    VIDIOC_G_PRIORITY,
    VIDIOC_S_PRIORITY,
    VIDIOC_QUERYCTRL,
    VIDIOC_QUERY_EXT_CTRL,
    VIDIOC_QUERYMENU,
    VIDIOC_G_CTRL,
    VIDIOC_S_CTRL,
    VIDIOC_SUBSCRIBE_EVENT,
    VIDIOC_DQEVENT,
];

const SUBDEV_CMDS: [u32; 10] = [
    VIDIOC_SUBDEV_ENUM_FRAME_SIZE,
    VIDIOC_SUBDEV_G_CROP,
    VIDIOC_SUBDEV_S_CROP,
    VIDIOC_QUERYCTRL,
    VIDIOC_QUERY_EXT_CTRL,
    VIDIOC_G_CTRL,
    VIDIOC_S_CTRL,
    VIDIOC_SUBSCRIBE_EVENT,
    VIDIOC_UNSUBSCRIBE_EVENT,
    VIDIOC_ENUM_FRAMESIZES,
];

/// The errnos `cmd` may give on a node of `kind` (besides `ENOTTY` where
/// the node does not serve it, which [`served`] decides).
fn allowed(cmd: u32) -> &'static [Errno] {
    match cmd {
        VIDIOC_ENUM_FRAMESIZES
        | VIDIOC_ENUMINPUT
        | VIDIOC_QUERYCTRL
        | VIDIOC_QUERY_EXT_CTRL
        | VIDIOC_QUERYMENU
        | VIDIOC_SUBSCRIBE_EVENT
        | VIDIOC_SUBDEV_ENUM_FRAME_SIZE
        | VIDIOC_SUBDEV_G_CROP => &[Errno::EINVAL],
        VIDIOC_G_INPUT | VIDIOC_G_PRIORITY | VIDIOC_UNSUBSCRIBE_EVENT => &[],
        VIDIOC_S_INPUT | VIDIOC_S_PRIORITY => &[Errno::EINVAL, Errno::EBUSY],
        VIDIOC_CREATE_BUFS => &[Errno::EINVAL, Errno::EBUSY, Errno::ENOBUFS],
        VIDIOC_PREPARE_BUF => &[Errno::EINVAL, Errno::EBUSY],
        VIDIOC_G_CTRL => &[Errno::EINVAL, Errno::EACCES],
        VIDIOC_S_CTRL => &[Errno::EINVAL, Errno::EACCES, Errno::ERANGE, Errno::EBUSY],
        VIDIOC_DQEVENT => &[Errno::ENOENT],
        VIDIOC_SUBDEV_S_CROP => &[Errno::EINVAL, Errno::EBUSY],
        _ => &[],
    }
}

/// Whether a node answers `cmd` at all: `ENOTTY` before the argument is
/// looked at otherwise. `probe` is the node's answer to a zeroed argument.
fn served(kind: NodeKind, cmd: u32, probe: Result<i64, Errno>) -> bool {
    match cmd {
        VIDIOC_EXPBUF => false,
        VIDIOC_ENUM_FRAMESIZES if kind == NodeKind::Subdev => false,
        VIDIOC_G_PRIORITY | VIDIOC_S_PRIORITY => kind == NodeKind::Video,
        _ => probe != Err(Errno::ENOTTY),
    }
}

/// Zeroed reserved fields of a successful reply.
fn check_reply(cmd: u32, out: &[u8]) -> Result<(), TestCaseError> {
    match cmd {
        VIDIOC_ENUM_FRAMESIZES => prop_assert_eq!(V4l2Frmsizeenum::decode(out).reserved, [0; 2]),
        VIDIOC_ENUMINPUT => {
            let i = V4l2Input::decode(out);
            prop_assert_eq!(i.reserved, [0; 3]);
            prop_assert!(i.name.contains(&0), "name not terminated");
        }
        VIDIOC_CREATE_BUFS => prop_assert_eq!(V4l2CreateBuffers::decode(out).reserved, [0; 5]),
        VIDIOC_QUERY_EXT_CTRL => {
            let q = V4l2QueryExtCtrl::decode(out);
            prop_assert_eq!(q.reserved, [0; 32]);
            prop_assert_eq!(q.dims, [0; 4]);
        }
        VIDIOC_QUERYCTRL => prop_assert_eq!(V4l2Queryctrl::decode(out).reserved, [0; 2]),
        VIDIOC_DQEVENT => prop_assert_eq!(V4l2Event::decode(out).reserved, [0; 8]),
        VIDIOC_SUBDEV_ENUM_FRAME_SIZE => {
            let f = V4l2SubdevFrameSizeEnum::decode(out);
            prop_assert_eq!((f.stream, f.reserved), (0, [0; 7]));
            prop_assert!(f.min_width <= f.max_width && f.min_height <= f.max_height);
        }
        VIDIOC_SUBDEV_G_CROP | VIDIOC_SUBDEV_S_CROP => {
            let c = V4l2SubdevCrop::decode(out);
            prop_assert_eq!((c.stream, c.reserved), (0, [0; 7]));
        }
        _ => {}
    }
    Ok(())
}

fn put(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off + 4) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// Steers the fields that decide the path (index, type, memory, pad,
/// which, ids) toward meaningful values most of the time.
fn bias(cmd: u32, b: &mut [u8], seed: u64) {
    let pick = |k: u32, c: &[u32]| c[((seed >> (k * 5)) as usize) % c.len()];
    let small = [0, 1, 2, 3, 7, 0xffff_ffff];
    match cmd {
        VIDIOC_ENUM_FRAMESIZES => {
            put(b, 0, pick(0, &small));
            let fmts = [
                pix_fmt::RGB24,
                pix_fmt::SBGGR8,
                pix_fmt::YUYV,
                pix_fmt::GREY,
                0,
            ];
            put(b, 4, pick(1, &fmts));
        }
        VIDIOC_ENUMINPUT | VIDIOC_S_INPUT => put(b, 0, pick(0, &small)),
        VIDIOC_CREATE_BUFS => {
            put(b, 4, pick(0, &small));
            put(
                b,
                8,
                pick(1, &[memory::MMAP, memory::MMAP, memory::USERPTR, 0]),
            );
            put(
                b,
                16,
                pick(2, &[buf_type::VIDEO_CAPTURE, buf_type::VIDEO_CAPTURE, 2]),
            );
        }
        VIDIOC_PREPARE_BUF => {
            put(b, 0, pick(0, &small));
            put(b, 4, pick(1, &[buf_type::VIDEO_CAPTURE, 2]));
            put(b, 60, pick(2, &[memory::MMAP, memory::USERPTR]));
        }
        VIDIOC_S_PRIORITY => put(b, 0, pick(0, &[0, 1, 2, 3, 4])),
        VIDIOC_QUERYCTRL
        | VIDIOC_QUERY_EXT_CTRL
        | VIDIOC_G_CTRL
        | VIDIOC_S_CTRL
        | VIDIOC_QUERYMENU => {
            let ids = [
                cid::BRIGHTNESS,
                cid::HUE,
                cid::FOCUS_ABSOLUTE,
                0x00f0_f000,
                0x00f0_f001,
                0,
            ];
            let fl = [0, ctrl_flag::NEXT_CTRL, ctrl_flag::NEXT_COMPOUND];
            put(
                b,
                0,
                pick(0, &ids)
                    | if cmd == VIDIOC_QUERYCTRL {
                        pick(1, &fl)
                    } else {
                        0
                    },
            );
            if cmd == VIDIOC_QUERYMENU {
                put(b, 4, pick(2, &small));
            }
        }
        VIDIOC_SUBSCRIBE_EVENT | VIDIOC_UNSUBSCRIBE_EVENT => {
            put(b, 0, pick(0, &[event::CTRL, event::ALL, event::EOS, 99]));
            put(b, 4, pick(1, &[cid::BRIGHTNESS, cid::FOCUS_ABSOLUTE, 0]));
        }
        VIDIOC_SUBDEV_ENUM_FRAME_SIZE => {
            put(b, 0, pick(0, &small));
            put(b, 4, pick(1, &[0, 1, 2, 3]));
            put(
                b,
                8,
                pick(
                    2,
                    &[
                        MEDIA_BUS_FMT_SRGGB8_1X8,
                        MEDIA_BUS_FMT_RGB888_1X24,
                        MEDIA_BUS_FMT_FIXED,
                        0x2008,
                        0,
                    ],
                ),
            );
            put(b, 28, pick(3, &[0, 1, 2]));
        }
        VIDIOC_SUBDEV_G_CROP | VIDIOC_SUBDEV_S_CROP => {
            put(b, 0, pick(0, &[0, 1, 2]));
            put(b, 4, pick(1, &[0, 1, 2]));
        }
        _ => {}
    }
}

fn run_one(
    kind: NodeKind,
    f: &File,
    cmd: u32,
    len: usize,
    raw: &[u8],
    seed: u64,
) -> Result<(), TestCaseError> {
    let size = IoctlCmd(cmd).size();
    let mut full: Vec<u8> = raw.iter().copied().cycle().take(size).collect();
    full.resize(size, 0);
    if seed & 7 != 0 {
        bias(cmd, &mut full, seed >> 3);
    }
    let mut arg = full.clone();
    arg.resize(len, 0x5a);
    let before = arg.clone();
    let probe = f.ioctl(cmd, &mut vec![0u8; size]);
    let r = f.ioctl(cmd, &mut arg);
    let served = served(kind, cmd, probe);
    // A subdev pad ioctl validates `which` and `pad` before it looks for the
    // driver's op (`check_which`, `check_pad`, then `ENOIOCTLCMD`): without
    // the op a bad argument is EINVAL, a good one ENOTTY.
    let pad_op = matches!(
        cmd,
        VIDIOC_SUBDEV_ENUM_FRAME_SIZE | VIDIOC_SUBDEV_G_CROP | VIDIOC_SUBDEV_S_CROP
    );
    if !served && !pad_op {
        prop_assert_eq!(r, Err(Errno::ENOTTY), "cmd {:#x} on {:?}", cmd, kind);
        prop_assert_eq!(&arg, &before);
        return Ok(());
    }
    if len < size {
        prop_assert_eq!(r, Err(Errno::EFAULT), "short arg of cmd {:#x}", cmd);
        prop_assert_eq!(&arg, &before);
        return Ok(());
    }
    prop_assert_eq!(&arg[size..], &before[size..], "written past _IOC_SIZE");
    match r {
        Ok(_) => {
            prop_assert!(
                served,
                "cmd {:#x} on {:?} succeeded without the op",
                cmd,
                kind
            );
            if IoctlCmd(cmd).is_read() {
                check_reply(cmd, &arg[..size])?;
            }
        }
        Err(e) => {
            let without_op = !served && e == Errno::ENOTTY;
            prop_assert!(
                allowed(cmd).contains(&e) || without_op,
                "cmd {:#x} on {:?} gave {:?}",
                cmd,
                kind,
                e
            );
            if !copies_out_on_error(cmd) {
                prop_assert_eq!(&arg, &before, "cmd {:#x} wrote on error", cmd);
            }
        }
    }
    Ok(())
}

/// A kernel with one driver bound; the driver's (node kind, path) list.
fn kernel(driver: u8) -> (Kernel, Box<dyn std::any::Any>, Vec<(NodeKind, String)>) {
    let k = Kernel::new();
    let keep: Box<dyn std::any::Any> = match driver {
        0 => Box::new(vimc::register(&k, Style::Framework).unwrap()),
        1 => {
            let av = usb_av::register(&k, Style::Framework).unwrap();
            let d = av.plug("1-1").unwrap();
            Box::new((av, d))
        }
        _ => {
            let i = isp::register(&k, Style::Framework).unwrap();
            let d = i.plug(0).unwrap();
            Box::new((i, d))
        }
    };
    let nodes = k
        .nodes()
        .iter()
        .filter(|n| matches!(n.kind(), NodeKind::Video | NodeKind::Subdev))
        .map(|n| (n.kind(), format!("/dev/{}", n.name())))
        .collect();
    (k, keep, nodes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn new_ioctls_on_every_node_of_the_drivers(
        driver in 0u8..3,
        ops in proptest::collection::vec(
            (any::<usize>(), any::<usize>(), prop_oneof![6 => Just(None), 1 => (0usize..64).prop_map(Some)],
             proptest::collection::vec(any::<u8>(), 0..300), any::<u64>()),
            1..40),
    ) {
        let (k, keep, nodes) = kernel(driver);
        let files: Vec<(NodeKind, File)> = nodes
            .iter()
            .map(|(kind, p)| (*kind, k.open(p, OpenFlags::RDWR.nonblocking()).unwrap()))
            .collect();
        for (node, cmd, short, raw, seed) in ops {
            let (kind, f) = &files[node % files.len()];
            let cmds: &[u32] = if *kind == NodeKind::Video { &VIDEO_CMDS } else { &SUBDEV_CMDS };
            let cmd = cmds[cmd % cmds.len()];
            let size = IoctlCmd(cmd).size();
            let len = short.map_or(size, |s| s % size.max(1));
            run_one(*kind, f, cmd, len, &raw, seed)?;
        }
        drop(files);
        drop(keep);
        prop_assert!(k.monitor().reports().all().is_empty());
    }
}
