//! Fuzzing of VIDIOC_* and VIDIOC_SUBDEV_* argument buffers (proptest):
//! no panic, the errno the kernel gives for each malformed input, nothing
//! written on error, nothing written past `_IOC_SIZE`, reserved fields and
//! C padding zero in every reply, and read-only replies independent of what
//! the caller's buffer held (no leaked bytes). Plus random operation
//! sequences on the buffer queue with its invariants checked after each step.

use devlife_media::uapi::ioctl::{IoctlCmd, Wire};
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::PLANE_INDEX_SHIFT;
use devlife_model::{Errno, File, MmapRequest, PollMask};
use devlife_testkit::testcam::*;
use proptest::prelude::*;
use std::time::Duration;

/// A command: mostly known ones (of both node kinds), sometimes random.
fn cmd_strategy() -> impl Strategy<Value = u32> {
    let known: Vec<u32> = VideoIoctl::ALL
        .iter()
        .map(|i| i.cmd())
        .chain(SubdevIoctl::ALL.iter().map(|i| i.cmd()))
        .collect();
    prop_oneof![
        8 => proptest::sample::select(known),
        1 => any::<u32>(),
    ]
}

/// Argument bytes: usually exactly `_IOC_SIZE(cmd)`, sometimes shorter or
/// longer; random content with the fields that steer the handlers (type,
/// memory, index, which, pad, target) often set to meaningful values.
fn arg_for(cmd: u32) -> impl Strategy<Value = Vec<u8>> {
    let size = IoctlCmd(cmd).size();
    let len = prop_oneof![
        6 => Just(size),
        1 => 0..size.max(1),
        1 => size..size + 32,
    ];
    (
        len,
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(move |(len, seed, raw)| {
            let mut b: Vec<u8> = raw.into_iter().cycle().take(len).collect();
            b.resize(len, 0);
            bias(cmd, &mut b, seed);
            b
        })
}

fn put(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off + 4) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

fn bias(cmd: u32, b: &mut [u8], seed: u64) {
    let pick = |k: u32, choices: &[u32]| choices[((seed >> (k * 4)) as usize) % choices.len()];
    let chance = |k: u32| (seed >> (32 + 3 * k)) & 7 != 0;
    let c = buf_type::VIDEO_CAPTURE;
    let ty = [c, c, c, c, c, c, buf_type::VIDEO_OUTPUT, 0, 99];
    let mm = memory::MMAP;
    match cmd {
        VIDIOC_ENUM_FMT | VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT | VIDIOC_STREAMON
        | VIDIOC_STREAMOFF => {
            if chance(0) {
                put(b, if cmd == VIDIOC_ENUM_FMT { 4 } else { 0 }, pick(0, &ty));
            }
            if cmd == VIDIOC_ENUM_FMT && chance(1) {
                put(b, 0, pick(1, &[0, 1, 2, 7]));
            }
        }
        VIDIOC_REQBUFS => {
            if chance(0) {
                put(b, 4, pick(0, &ty));
            }
            if chance(1) {
                put(b, 8, pick(1, &[mm, mm, mm, mm, mm, memory::DMABUF, 0]));
            }
            if chance(2) {
                put(b, 0, pick(2, &[0, 1, 2, 4, 40]));
            }
        }
        VIDIOC_CREATE_BUFS => {
            if chance(0) {
                put(b, 16, pick(0, &ty));
            }
            if chance(1) {
                put(b, 8, pick(1, &[mm, mm, mm, memory::USERPTR, 7]));
            }
            if chance(2) {
                put(b, 4, pick(2, &[0, 1, 2, 40]));
            }
            if chance(3) {
                // format.fmt.pix.sizeimage
                put(b, 16 + 8 + 20, pick(3, &[0, 1, 64 * 48 * 3, 1 << 20]));
            }
        }
        VIDIOC_QUERYBUF | VIDIOC_QBUF | VIDIOC_DQBUF | VIDIOC_PREPARE_BUF => {
            if chance(0) {
                put(b, 4, pick(0, &ty));
            }
            if chance(1) {
                put(b, 60, pick(1, &[mm, mm, mm, mm, mm, memory::USERPTR]));
            }
            if chance(2) {
                put(b, 0, pick(2, &[0, 1, 2, 0, 1, 2, 3, 31, 32]));
            }
        }
        VIDIOC_SUBDEV_G_FMT
        | VIDIOC_SUBDEV_S_FMT
        | VIDIOC_SUBDEV_G_SELECTION
        | VIDIOC_SUBDEV_S_SELECTION => {
            if chance(0) {
                put(b, 0, pick(0, &[0, 1, 1, 2]));
            }
            if chance(1) {
                put(b, 4, pick(1, &[0, 0, 1]));
            }
            if cmd != VIDIOC_SUBDEV_G_FMT && cmd != VIDIOC_SUBDEV_S_FMT && chance(2) {
                put(b, 8, pick(2, &[0, 1, 2, 0x100]));
            }
        }
        VIDIOC_SUBDEV_ENUM_MBUS_CODE => {
            if chance(0) {
                put(b, 12, pick(0, &[0, 1, 1, 5]));
            }
            if chance(1) {
                put(b, 0, pick(1, &[0, 0, 1]));
            }
            if chance(2) {
                put(b, 4, pick(2, &[0, 1, 2]));
            }
        }
        _ => {}
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// The errno a malformed argument must produce before any state is looked
/// at, if the input is malformed in one of the ways the core checks first.
fn expected_early(video: bool, cmd: u32, arg: &[u8]) -> Option<Errno> {
    let size = IoctlCmd(cmd).size();
    let known = if video {
        VideoIoctl::from_cmd(cmd).is_some_and(|i| i.is_served())
    } else {
        SubdevIoctl::from_cmd(cmd).is_some_and(|i| {
            !matches!(i, SubdevIoctl::GRouting | SubdevIoctl::SRouting) && !i.needs_controls()
        })
    };
    if !known {
        return Some(Errno::ENOTTY);
    }
    if arg.len() < size {
        return Some(Errno::EFAULT);
    }
    let cap = buf_type::VIDEO_CAPTURE;
    let bad_type = |off| IoctlCmd(cmd).is_write() && u32_at(arg, off) != cap;
    let which_pad = |w, p| {
        let which = u32_at(arg, w);
        (which > 1 || u32_at(arg, p) >= 1).then_some(Errno::EINVAL)
    };
    match cmd {
        VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT | VIDIOC_STREAMON | VIDIOC_STREAMOFF
            if bad_type(0) =>
        {
            Some(Errno::EINVAL)
        }
        VIDIOC_CREATE_BUFS if bad_type(16) => Some(Errno::EINVAL),
        VIDIOC_ENUM_FMT | VIDIOC_REQBUFS | VIDIOC_QUERYBUF | VIDIOC_QBUF | VIDIOC_DQBUF
        | VIDIOC_PREPARE_BUF
            if bad_type(4) =>
        {
            Some(Errno::EINVAL)
        }
        VIDIOC_SUBDEV_G_FMT
        | VIDIOC_SUBDEV_S_FMT
        | VIDIOC_SUBDEV_G_SELECTION
        | VIDIOC_SUBDEV_S_SELECTION => which_pad(0, 4),
        VIDIOC_SUBDEV_ENUM_MBUS_CODE => which_pad(12, 0),
        _ => None,
    }
}

/// Checks a successful reply: reserved fields and padding zero.
fn check_reply(cmd: u32, reply: &[u8]) -> Result<(), TestCaseError> {
    match cmd {
        VIDIOC_QUERYCAP => prop_assert_eq!(V4l2Capability::decode(reply).reserved, [0; 3]),
        VIDIOC_ENUM_FMT => {
            let d = V4l2Fmtdesc::decode(reply);
            prop_assert_eq!(d.reserved, [0; 3]);
            prop_assert!(d.description.contains(&0), "description not NUL terminated");
        }
        VIDIOC_G_FMT | VIDIOC_S_FMT | VIDIOC_TRY_FMT => {
            prop_assert_eq!(&reply[4..8], &[0; 4], "padding");
            let f = V4l2Format::decode(reply);
            prop_assert_eq!(f.pix().priv_, V4L2_PIX_FMT_PRIV_MAGIC);
            prop_assert!(
                f.fmt.0[48..].iter().all(|&x| x == 0),
                "union tail not cleared"
            );
        }
        VIDIOC_REQBUFS => {
            let r = V4l2Requestbuffers::decode(reply);
            prop_assert_eq!((r.flags, r.reserved), (0, [0; 3]));
        }
        VIDIOC_QUERYBUF | VIDIOC_QBUF | VIDIOC_DQBUF => {
            prop_assert_eq!(&reply[20..24], &[0; 4], "padding");
            prop_assert_eq!(&reply[84..88], &[0; 4], "padding");
            let b = V4l2Buffer::decode(reply);
            prop_assert_eq!((b.reserved2, b.request_fd), (0, 0));
            prop_assert_eq!(b.m_offset(), b.index << PLANE_INDEX_SHIFT);
            prop_assert_eq!(&b.m[4..], &[0; 4]);
        }
        VIDIOC_SUBDEV_G_FMT | VIDIOC_SUBDEV_S_FMT => {
            let f = V4l2SubdevFormat::decode(reply);
            prop_assert_eq!(
                (f.stream, f.reserved, f.format.reserved),
                (0, [0; 7], [0; 10])
            );
        }
        VIDIOC_SUBDEV_ENUM_MBUS_CODE => {
            let c = V4l2SubdevMbusCodeEnum::decode(reply);
            prop_assert_eq!((c.stream, c.reserved), (0, [0; 6]));
        }
        VIDIOC_SUBDEV_G_SELECTION | VIDIOC_SUBDEV_S_SELECTION => {
            let s = V4l2SubdevSelection::decode(reply);
            prop_assert_eq!((s.stream, s.reserved), (0, [0; 7]));
        }
        VIDIOC_CREATE_BUFS => {
            let c = devlife_media::uapi::io::V4l2CreateBuffers::decode(reply);
            prop_assert_eq!(c.reserved, [0; 5]);
            prop_assert_eq!(c.format.pix().priv_, V4L2_PIX_FMT_PRIV_MAGIC);
            prop_assert_eq!(&reply[12..16], &[0; 4], "padding");
        }
        VIDIOC_SUBDEV_QUERYCAP => {
            prop_assert_eq!(V4l2SubdevCapability::decode(reply).reserved, [0; 14])
        }
        _ => {}
    }
    Ok(())
}

fn run_one(rig: &Rig, f: &File, video: bool, cmd: u32, arg: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = arg.to_vec();
    let r = f.ioctl(cmd, &mut buf);
    let allowed: &[Errno] = if video {
        &[
            Errno::EINVAL,
            Errno::ENOTTY,
            Errno::EFAULT,
            Errno::EBUSY,
            Errno::EAGAIN,
            Errno::EIO,
            Errno::ENOBUFS,
        ]
    } else {
        &[Errno::EINVAL, Errno::ENOTTY, Errno::EFAULT]
    };
    if let Some(e) = expected_early(video, cmd, arg) {
        prop_assert_eq!(r, Err(e), "cmd {:#x}", cmd);
    }
    let size = IoctlCmd(cmd).size();
    match r {
        Ok(_) => {
            if IoctlCmd(cmd).is_read() {
                check_reply(cmd, &buf[..size])?;
            } else {
                prop_assert_eq!(&buf[..size], &arg[..size], "IOW argument written back");
            }
            prop_assert_eq!(&buf[size..], &arg[size..], "written past _IOC_SIZE");
        }
        Err(e) => {
            prop_assert!(allowed.contains(&e), "cmd {:#x} gave {:?}", cmd, e);
            prop_assert_eq!(&buf, &arg, "argument written on error");
        }
    }
    let _ = rig;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn video_node_arguments(setup in 0u8..4, ops in proptest::collection::vec(
        cmd_strategy().prop_flat_map(|c| (Just(c), arg_for(c))), 1..24)
    ) {
        let rig = Rig::new(Style::Framework);
        let f = rig.open_video_nb();
        // Start from an idle, allocated, queued or streaming queue.
        if setup >= 1 {
            reqbufs(&f, 3).unwrap();
        }
        if setup >= 2 {
            qbuf(&f, 0).unwrap();
            qbuf(&f, 1).unwrap();
        }
        if setup >= 3 {
            streamon(&f).unwrap();
            rig.produce(1);
        }
        for (i, (cmd, arg)) in ops.iter().enumerate() {
            run_one(&rig, &f, true, *cmd, arg)?;
            if i % 3 == 0 {
                rig.produce(1);
            }
        }
        drop(f);
        prop_assert!(rig.reports().is_empty());
    }

    #[test]
    fn subdev_node_arguments(ops in proptest::collection::vec(
        cmd_strategy().prop_flat_map(|c| (Just(c), arg_for(c))), 1..24)
    ) {
        let rig = Rig::new(Style::Framework);
        let f = rig.open_subdev();
        for (cmd, arg) in &ops {
            run_one(&rig, &f, false, *cmd, arg)?;
        }
        prop_assert!(rig.reports().is_empty());
    }

    /// Read-only ioctls reply the same whatever the caller's buffer held.
    #[test]
    fn read_only_replies_do_not_depend_on_input(a in proptest::collection::vec(any::<u8>(), 104),
                                                b in proptest::collection::vec(any::<u8>(), 104)) {
        let rig = Rig::new(Style::Framework);
        let f = rig.open_video();
        let (mut x, mut y) = (a.clone(), b.clone());
        f.ioctl(VIDIOC_QUERYCAP, &mut x).unwrap();
        f.ioctl(VIDIOC_QUERYCAP, &mut y).unwrap();
        prop_assert_eq!(x, y);
        let s = rig.open_subdev();
        let (mut x, mut y) = (a[..64].to_vec(), b[..64].to_vec());
        s.ioctl(VIDIOC_SUBDEV_QUERYCAP, &mut x).unwrap();
        s.ioctl(VIDIOC_SUBDEV_QUERYCAP, &mut y).unwrap();
        prop_assert_eq!(x, y);
    }
}

/// One step of a random queue session.
#[derive(Debug, Clone)]
enum Op {
    Reqbufs(u32),
    Querybuf(u32),
    Qbuf(u32),
    Dqbuf,
    Streamon,
    Streamoff,
    Produce(usize),
    Mmap(u32),
    Read(usize),
    Poll,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0u32..6).prop_map(Op::Reqbufs),
        1 => (0u32..6).prop_map(Op::Querybuf),
        3 => (0u32..6).prop_map(Op::Qbuf),
        3 => Just(Op::Dqbuf),
        1 => Just(Op::Streamon),
        1 => Just(Op::Streamoff),
        3 => (0usize..3).prop_map(Op::Produce),
        1 => (0u32..6).prop_map(Op::Mmap),
        1 => (0usize..2_000_000).prop_map(Op::Read),
        1 => Just(Op::Poll),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random queue sessions: every errno is one vb2 can give, dequeued
    /// sequence numbers increase within a stream, a buffer is never
    /// dequeued twice without a QBUF, and the queue's memory accounting
    /// returns to zero when everything is closed.
    #[test]
    fn queue_sessions_keep_their_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let rig = Rig::new(Style::Framework);
        let mut f = rig.open_video_nb();
        let mut maps = Vec::new();
        let mut last_seq: Option<u32> = None;
        let mut out: Vec<bool> = Vec::new(); // dequeued by us, not requeued
        for op in ops {
            let r: Result<(), Errno> = match op {
                Op::Reqbufs(n) => reqbufs(&f, n).map(|r| {
                    out = vec![true; r.count as usize];
                    last_seq = None;
                }),
                Op::Querybuf(i) => querybuf(&f, i).map(|_| ()),
                Op::Qbuf(i) => qbuf(&f, i).map(|_| {
                    if let Some(o) = out.get_mut(i as usize) {
                        *o = false;
                    }
                }),
                Op::Dqbuf => dqbuf(&f).map(|b| {
                    if let Some(l) = last_seq {
                        assert!(b.sequence > l, "sequence went from {l} to {}", b.sequence);
                    }
                    last_seq = Some(b.sequence);
                    let o = &mut out[b.index as usize];
                    assert!(!*o, "buffer {} dequeued twice", b.index);
                    *o = true;
                }),
                Op::Streamon => streamon(&f),
                Op::Streamoff => streamoff(&f).map(|_| {
                    out.iter_mut().for_each(|o| *o = true);
                    last_seq = None;
                }),
                Op::Produce(n) => {
                    rig.produce(n);
                    Ok(())
                }
                Op::Mmap(i) => f
                    .mmap(MmapRequest {
                        offset: u64::from(i) << PLANE_INDEX_SHIFT,
                        len: 4096,
                        write: false,
                    })
                    .map(|m| maps.push(m)),
                Op::Read(n) => f.read(&mut vec![0u8; n]).map(|_| ()),
                Op::Poll => f
                    .poll(PollMask::IN, Some(Duration::ZERO))
                    .map(|_| ()),
                Op::Reopen => {
                    maps.clear();
                    f = rig.open_video_nb();
                    out.clear();
                    last_seq = None;
                    Ok(())
                }
            };
            if let Err(e) = r {
                prop_assert!(
                    [Errno::EINVAL, Errno::EBUSY, Errno::EAGAIN, Errno::EIO].contains(&e),
                    "{:?}", e
                );
            }
        }
        drop(maps);
        drop(f);
        prop_assert_eq!(rig.k.monitor().ledger().live("vb2_buffer_mem"), 0);
        prop_assert!(rig.reports().is_empty());
    }
}
