//! A video node, as v4l2-compliance's `testCap`, `testPrio`, `testInput`,
//! `testEnumFormats`, `testGetFormats`, `testTryFormats`, `testSetFormats`,
//! `testReqBufs`, `testCreateBufs`, `testPrepareBuf` and `testExpBuf` check
//! it, plus its controls and events (`ctrls.rs`).

use super::{Suite, ctrls, errno, get, good_str, ioc};
use crate::{ensure, ensure_eq};
use devlife_media::uapi::io::*;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::LINUX_VERSION_CODE;
use devlife_media::v4l2::prio::{PRIORITY_BACKGROUND, PRIORITY_INTERACTIVE, PRIORITY_RECORD};
use devlife_model::{Errno, File, Kernel, OpenFlags};
use std::collections::HashSet;

fn cap_type() -> u32 {
    buf_type::VIDEO_CAPTURE
}

fn g_fmt(f: &File) -> Result<V4l2PixFormat, String> {
    let mut v = V4l2Format {
        type_: cap_type(),
        ..Default::default()
    };
    ioc(f, VIDIOC_G_FMT, &mut v).map_err(|e| format!("G_FMT: {e:?}"))?;
    Ok(v.pix())
}

fn reqbufs(f: &File, count: u32, mem: u32) -> Result<V4l2Requestbuffers, Errno> {
    get(
        f,
        VIDIOC_REQBUFS,
        V4l2Requestbuffers {
            count,
            type_: cap_type(),
            memory: mem,
            ..Default::default()
        },
    )
}

fn querybuf(f: &File, index: u32) -> Result<V4l2Buffer, Errno> {
    get(
        f,
        VIDIOC_QUERYBUF,
        V4l2Buffer {
            index,
            type_: cap_type(),
            memory: memory::MMAP,
            ..Default::default()
        },
    )
}

/// Checks the video node `path`.
pub fn check(s: &mut Suite, k: &Kernel, path: &str) {
    let open = || k.open(path, OpenFlags::RDWR.nonblocking());
    let (f, g) = match (open(), open()) {
        (Ok(f), Ok(g)) => (f, g),
        (a, b) => {
            s.test("open", || Err(format!("{a:?} {b:?}")));
            return;
        }
    };
    let mut caps = 0;
    s.test("VIDIOC_QUERYCAP", || {
        let c =
            get(&f, VIDIOC_QUERYCAP, V4l2Capability::default()).map_err(|e| format!("{e:?}"))?;
        ensure!(
            good_str(&c.driver) && good_str(&c.card) && good_str(&c.bus_info),
            "strings"
        );
        ensure_eq!(c.version, LINUX_VERSION_CODE, "version");
        ensure!(c.capabilities & cap::DEVICE_CAPS != 0, "DEVICE_CAPS");
        ensure_eq!(
            c.device_caps & !c.capabilities,
            0,
            "device caps outside capabilities"
        );
        ensure!(c.device_caps & cap::VIDEO_CAPTURE != 0, "a capture node");
        ensure_eq!(c.reserved, [0; 3], "reserved");
        let d =
            get(&g, VIDIOC_QUERYCAP, V4l2Capability::default()).map_err(|e| format!("{e:?}"))?;
        ensure_eq!(c, d, "the same on a second file");
        caps = c.device_caps;
        Ok(())
    });
    s.test("VIDIOC_G/S_PRIORITY", || {
        // Two files of their own: their priorities go with them.
        let (f, g) = match (open(), open()) {
            (Ok(f), Ok(g)) => (f, g),
            (a, b) => return Err(format!("open: {a:?} {b:?}")),
        };
        let p = |f: &File| get(f, VIDIOC_G_PRIORITY, 0u32);
        ensure_eq!(p(&f), Ok(PRIORITY_INTERACTIVE), "default");
        ensure_eq!(
            errno(&get(&f, VIDIOC_S_PRIORITY, 5u32)),
            Some(Errno::EINVAL),
            "invalid priority"
        );
        get(&f, VIDIOC_S_PRIORITY, PRIORITY_RECORD).map_err(|e| format!("f record: {e:?}"))?;
        ensure_eq!(p(&g), Ok(PRIORITY_RECORD), "seen by the other file");
        // The other file may read but not change what the recorder uses.
        let fmt = V4l2Format {
            type_: cap_type(),
            ..Default::default()
        };
        let cur = get(&g, VIDIOC_G_FMT, fmt).map_err(|e| format!("g G_FMT: {e:?}"))?;
        ensure_eq!(
            errno(&get(&g, VIDIOC_S_FMT, cur)),
            Some(Errno::EBUSY),
            "S_FMT below the recorder"
        );
        ensure_eq!(
            errno(&reqbufs(&g, 0, memory::MMAP)),
            Some(Errno::EBUSY),
            "REQBUFS below the recorder"
        );
        // S_PRIORITY is itself a priority ioctl: below the recorder a file
        // can neither raise nor lower its own.
        ensure_eq!(
            errno(&get(&g, VIDIOC_S_PRIORITY, PRIORITY_RECORD)),
            Some(Errno::EBUSY),
            "second recorder"
        );
        ensure_eq!(
            errno(&get(&g, VIDIOC_S_PRIORITY, PRIORITY_BACKGROUND)),
            Some(Errno::EBUSY),
            "lowering below the recorder"
        );
        drop(f);
        ensure_eq!(
            p(&g),
            Ok(PRIORITY_INTERACTIVE),
            "the recorder's priority went with its file"
        );
        get(&g, VIDIOC_S_PRIORITY, PRIORITY_BACKGROUND)
            .map_err(|e| format!("g background: {e:?}"))?;
        // The suite's other files are interactive: the highest counts.
        ensure_eq!(
            p(&g),
            Ok(PRIORITY_INTERACTIVE),
            "the highest priority counts"
        );
        ensure_eq!(
            errno(&get(&g, VIDIOC_S_PRIORITY, PRIORITY_INTERACTIVE)),
            Some(Errno::EBUSY),
            "raising from below"
        );
        Ok(())
    });
    s.test("VIDIOC_ENUMINPUT/G_INPUT/S_INPUT", || {
        let mut names = Vec::new();
        loop {
            match get(
                &f,
                VIDIOC_ENUMINPUT,
                V4l2Input {
                    index: names.len() as u32,
                    ..Default::default()
                },
            ) {
                Ok(i) => {
                    ensure!(good_str(&i.name), "input {} name", names.len());
                    ensure_eq!(i.type_, V4L2_INPUT_TYPE_CAMERA, "input type");
                    ensure_eq!(i.reserved, [0; 3], "reserved");
                    names.push(i.name);
                }
                Err(Errno::EINVAL) => break,
                // Not supported: no inputs and not IO_MC (v4l2-compliance's
                // "OK (Not Supported)"); the three ioctls agree.
                Err(Errno::ENOTTY) if names.is_empty() && caps & cap::IO_MC == 0 => {
                    ensure_eq!(
                        errno(&get(&f, VIDIOC_G_INPUT, 0u32)),
                        Some(Errno::ENOTTY),
                        "G_INPUT"
                    );
                    ensure_eq!(
                        errno(&get(&f, VIDIOC_S_INPUT, 0u32)),
                        Some(Errno::ENOTTY),
                        "S_INPUT"
                    );
                    return Ok(());
                }
                Err(e) => return Err(format!("ENUMINPUT {}: {e:?}", names.len())),
            }
        }
        ensure!(!names.is_empty(), "a capture node has an input");
        if caps & cap::IO_MC != 0 {
            ensure_eq!(names.len(), 1, "an IO_MC node has the core's single input");
        }
        let cur = get(&f, VIDIOC_G_INPUT, 0u32).map_err(|e| format!("G_INPUT: {e:?}"))?;
        ensure!((cur as usize) < names.len(), "current input {cur}");
        for i in 0..names.len() as u32 {
            ensure_eq!(get(&f, VIDIOC_S_INPUT, i), Ok(i), "S_INPUT {i}");
            ensure_eq!(
                get(&g, VIDIOC_G_INPUT, 0u32),
                Ok(i),
                "G_INPUT after S_INPUT {i}"
            );
        }
        ensure_eq!(
            errno(&get(&f, VIDIOC_S_INPUT, names.len() as u32)),
            Some(Errno::EINVAL),
            "input past the end"
        );
        get(&f, VIDIOC_S_INPUT, cur).map_err(|e| format!("{e:?}"))?;
        Ok(())
    });
    let mut formats = Vec::new();
    s.test("VIDIOC_ENUM_FMT", || {
        let mut seen = HashSet::new();
        loop {
            let d = V4l2Fmtdesc {
                index: formats.len() as u32,
                type_: cap_type(),
                ..Default::default()
            };
            match get(&f, VIDIOC_ENUM_FMT, d) {
                Ok(d) => {
                    ensure!(good_str(&d.description), "description of {}", d.index);
                    ensure!(seen.insert(d.pixelformat), "{:#x} twice", d.pixelformat);
                    ensure_eq!(d.reserved, [0; 3], "reserved");
                    formats.push(d.pixelformat);
                }
                Err(Errno::EINVAL) => break,
                Err(e) => return Err(format!("index {}: {e:?}", formats.len())),
            }
        }
        ensure!(!formats.is_empty(), "no format");
        let bad = V4l2Fmtdesc {
            type_: buf_type::VIDEO_OUTPUT,
            ..Default::default()
        };
        ensure_eq!(
            errno(&get(&f, VIDIOC_ENUM_FMT, bad)),
            Some(Errno::EINVAL),
            "output type"
        );
        Ok(())
    });
    s.test("VIDIOC_G/TRY/S_FMT", || {
        let p = g_fmt(&f)?;
        ensure!(
            formats.contains(&p.pixelformat),
            "current format {:#x} not enumerated",
            p.pixelformat
        );
        ensure!(p.width > 0 && p.height > 0, "size");
        ensure!(p.bytesperline >= p.width, "bytesperline");
        ensure!(p.sizeimage >= p.bytesperline * p.height, "sizeimage");
        ensure!(p.field != field::ANY, "field");
        ensure_eq!(p.priv_, V4L2_PIX_FMT_PRIV_MAGIC, "priv");
        for cmd in [VIDIOC_TRY_FMT, VIDIOC_S_FMT] {
            let mut v = V4l2Format::from_pix(cap_type(), &p);
            ioc(&f, cmd, &mut v).map_err(|e| format!("{cmd:#x}: {e:?}"))?;
            ensure_eq!(v.pix(), p, "the current format is kept by {cmd:#x}");
        }
        // An unsupported pixel format is replaced, never refused.
        let odd = V4l2PixFormat {
            pixelformat: fourcc(b'X', b'X', b'X', b'X'),
            ..p
        };
        let mut v = V4l2Format::from_pix(cap_type(), &odd);
        ioc(&f, VIDIOC_TRY_FMT, &mut v).map_err(|e| format!("TRY_FMT XXXX: {e:?}"))?;
        ensure!(
            formats.contains(&v.pix().pixelformat),
            "TRY_FMT gave {:#x}",
            v.pix().pixelformat
        );
        ensure_eq!(g_fmt(&f)?, p, "TRY_FMT changed nothing");
        let mut v = V4l2Format::from_pix(buf_type::VIDEO_OUTPUT, &p);
        ensure_eq!(
            errno(&ioc(&f, VIDIOC_G_FMT, &mut v)),
            Some(Errno::EINVAL),
            "output type"
        );
        Ok(())
    });
    s.test("VIDIOC_ENUM_FRAMESIZES", || {
        for &pf in &formats {
            let r = get(
                &f,
                VIDIOC_ENUM_FRAMESIZES,
                V4l2Frmsizeenum {
                    index: 0,
                    pixel_format: pf,
                    ..Default::default()
                },
            );
            let fs = match r {
                Err(Errno::ENOTTY) => return Ok(()),
                Err(e) => return Err(format!("{pf:#x}: {e:?}")),
                Ok(fs) => fs,
            };
            ensure_eq!(fs.reserved, [0; 2], "reserved");
            match fs.type_ {
                frmsize_type::DISCRETE => {
                    let mut i = 1;
                    while get(
                        &f,
                        VIDIOC_ENUM_FRAMESIZES,
                        V4l2Frmsizeenum {
                            index: i,
                            pixel_format: pf,
                            ..Default::default()
                        },
                    )
                    .is_ok()
                    {
                        i += 1;
                        ensure!(i < 1000, "endless discrete sizes");
                    }
                }
                frmsize_type::CONTINUOUS | frmsize_type::STEPWISE => {
                    let w = fs.stepwise();
                    ensure!(
                        w.min_width <= w.max_width && w.min_height <= w.max_height,
                        "range"
                    );
                    ensure!(w.step_width > 0 && w.step_height > 0, "steps");
                    if fs.type_ == frmsize_type::CONTINUOUS {
                        ensure_eq!((w.step_width, w.step_height), (1, 1), "continuous steps");
                    }
                    let r = get(
                        &f,
                        VIDIOC_ENUM_FRAMESIZES,
                        V4l2Frmsizeenum {
                            index: 1,
                            pixel_format: pf,
                            ..Default::default()
                        },
                    );
                    ensure_eq!(errno(&r), Some(Errno::EINVAL), "index 1 of a range");
                }
                t => return Err(format!("type {t}")),
            }
        }
        let r = get(
            &f,
            VIDIOC_ENUM_FRAMESIZES,
            V4l2Frmsizeenum {
                pixel_format: fourcc(b'X', b'X', b'X', b'X'),
                ..Default::default()
            },
        );
        ensure_eq!(errno(&r), Some(Errno::EINVAL), "unknown format");
        Ok(())
    });
    if caps & cap::STREAMING != 0 {
        s.test(
            "VIDIOC_REQBUFS/QUERYBUF/CREATE_BUFS/PREPARE_BUF/EXPBUF",
            || buffers(&f, &g),
        );
    }
    ctrls::check(s, &f, &g);
}

fn buffers(f: &File, g: &File) -> super::Check {
    let r = reqbufs(f, 0, memory::MMAP).map_err(|e| format!("REQBUFS 0: {e:?}"))?;
    ensure!(
        r.capabilities & buf_cap::SUPPORTS_MMAP != 0,
        "MMAP capability"
    );
    ensure_eq!((r.flags, r.reserved), (0, [0; 3]), "reserved");
    ensure_eq!(
        reqbufs(f, 0, memory::USERPTR).err(),
        Some(Errno::EINVAL),
        "USERPTR"
    );
    let p = g_fmt(f)?;
    let r = reqbufs(f, 2, memory::MMAP).map_err(|e| format!("REQBUFS 2: {e:?}"))?;
    ensure!(r.count >= 2, "count {}", r.count);
    ensure_eq!(
        reqbufs(g, 1, memory::MMAP).err(),
        Some(Errno::EBUSY),
        "another file's REQBUFS"
    );
    for i in 0..r.count {
        let b = querybuf(f, i).map_err(|e| format!("QUERYBUF {i}: {e:?}"))?;
        ensure_eq!(
            (b.index, b.type_, b.memory),
            (i, cap_type(), memory::MMAP),
            "QUERYBUF {i}"
        );
        ensure!(b.length >= p.sizeimage, "length of {i}");
        ensure_eq!(
            b.flags & (buf_flag::QUEUED | buf_flag::DONE),
            0,
            "state of {i}"
        );
    }
    ensure_eq!(
        querybuf(f, r.count).err(),
        Some(Errno::EINVAL),
        "QUERYBUF past the end"
    );
    // CREATE_BUFS: count 0 only checks; too small a size is refused.
    let mut c = V4l2CreateBuffers {
        memory: memory::MMAP,
        ..Default::default()
    };
    c.format = V4l2Format::from_pix(cap_type(), &p);
    let z = get(f, VIDIOC_CREATE_BUFS, c).map_err(|e| format!("CREATE_BUFS 0: {e:?}"))?;
    ensure_eq!((z.index, z.count), (r.count, 0), "CREATE_BUFS count 0");
    ensure_eq!(z.reserved, [0; 5], "reserved");
    let small = V4l2CreateBuffers {
        count: 1,
        format: V4l2Format::from_pix(
            cap_type(),
            &V4l2PixFormat {
                sizeimage: p.sizeimage / 2,
                ..p
            },
        ),
        ..c
    };
    ensure_eq!(
        errno(&get(f, VIDIOC_CREATE_BUFS, small)),
        Some(Errno::EINVAL),
        "CREATE_BUFS too small"
    );
    let one = get(f, VIDIOC_CREATE_BUFS, V4l2CreateBuffers { count: 1, ..c })
        .map_err(|e| format!("CREATE_BUFS 1: {e:?}"))?;
    ensure_eq!((one.index, one.count), (r.count, 1), "CREATE_BUFS 1");
    ensure!(querybuf(f, r.count).is_ok(), "the created buffer");
    // PREPARE_BUF: prepared once.
    let b = V4l2Buffer {
        index: 0,
        type_: cap_type(),
        memory: memory::MMAP,
        ..Default::default()
    };
    get(f, VIDIOC_PREPARE_BUF, b).map_err(|e| format!("PREPARE_BUF: {e:?}"))?;
    let q = querybuf(f, 0).map_err(|e| format!("{e:?}"))?;
    ensure!(q.flags & buf_flag::PREPARED != 0, "PREPARED flag");
    ensure_eq!(
        errno(&get(f, VIDIOC_PREPARE_BUF, b)),
        Some(Errno::EINVAL),
        "PREPARE_BUF twice"
    );
    // No dma-buf export through FUSE: as a driver without export.
    let e = V4l2Exportbuffer {
        type_: cap_type(),
        ..Default::default()
    };
    ensure_eq!(
        errno(&get(f, VIDIOC_EXPBUF, e)),
        Some(Errno::ENOTTY),
        "EXPBUF"
    );
    // DQBUF while not streaming: nothing to wait for.
    ensure_eq!(
        errno(&get(f, VIDIOC_DQBUF, b)),
        Some(Errno::EINVAL),
        "DQBUF not streaming"
    );
    reqbufs(f, 0, memory::MMAP).map_err(|e| format!("REQBUFS 0: {e:?}"))?;
    ensure_eq!(querybuf(f, 0).err(), Some(Errno::EINVAL), "freed");
    ensure!(
        reqbufs(g, 0, memory::MMAP).is_ok(),
        "the queue is free again"
    );
    Ok(())
}
