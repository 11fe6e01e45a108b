//! A subdev node, as v4l2-compliance's subdev tests check it:
//! `SUBDEV_QUERYCAP`, per pad and `which` the mbus codes, frame sizes,
//! formats (`S_FMT` of the current one keeps it; TRY leaves ACTIVE alone)
//! and the crop selection against `G_CROP`; the validation errors; no
//! priority; plus its controls and events (`ctrls.rs`).

use super::{Suite, ctrls, errno, get};
use crate::{ensure, ensure_eq};
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::{V4l2Rect, VIDIOC_G_PRIORITY};
use devlife_model::{Errno, File, Kernel, OpenFlags};
use std::collections::HashSet;

fn fmt(f: &File, which: u32, pad: u32) -> Result<V4l2SubdevFormat, Errno> {
    get(
        f,
        VIDIOC_SUBDEV_G_FMT,
        V4l2SubdevFormat {
            which,
            pad,
            ..Default::default()
        },
    )
}

fn inside(r: &V4l2Rect, b: &V4l2Rect) -> bool {
    r.left >= b.left
        && r.top >= b.top
        && i64::from(r.left) + i64::from(r.width) <= i64::from(b.left) + i64::from(b.width)
        && i64::from(r.top) + i64::from(r.height) <= i64::from(b.top) + i64::from(b.height)
}

/// Checks the subdev node `path`, whose entity has `pads` pads.
pub fn check(s: &mut Suite, k: &Kernel, path: &str, pads: u32) {
    let open = || k.open(path, OpenFlags::RDWR.nonblocking());
    let (f, g) = match (open(), open()) {
        (Ok(f), Ok(g)) => (f, g),
        (a, b) => {
            s.test("open", || Err(format!("{a:?} {b:?}")));
            return;
        }
    };
    s.test("VIDIOC_SUBDEV_QUERYCAP", || {
        let c = get(&f, VIDIOC_SUBDEV_QUERYCAP, V4l2SubdevCapability::default())
            .map_err(|e| format!("{e:?}"))?;
        ensure!(c.version != 0, "version");
        ensure_eq!(
            c.capabilities & V4L2_SUBDEV_CAP_RO_SUBDEV,
            0,
            "a read-write node"
        );
        ensure_eq!(c.reserved, [0; 14], "reserved");
        Ok(())
    });
    s.test("no priority on a subdev", || {
        ensure_eq!(
            errno(&get(&f, VIDIOC_G_PRIORITY, 0u32)),
            Some(Errno::ENOTTY),
            "G_PRIORITY"
        );
        Ok(())
    });
    for pad in 0..pads {
        for which in [V4L2_SUBDEV_FORMAT_TRY, V4L2_SUBDEV_FORMAT_ACTIVE] {
            let w = if which == V4L2_SUBDEV_FORMAT_TRY {
                "TRY"
            } else {
                "ACTIVE"
            };
            s.test(
                &format!("pad {pad} {w}: ENUM_MBUS_CODE, ENUM_FRAME_SIZE, G/S_FMT"),
                || {
                    let cur = fmt(&f, which, pad).map_err(|e| format!("G_FMT: {e:?}"))?;
                    ensure_eq!(
                        (cur.stream, cur.reserved, cur.format.reserved),
                        (0, [0; 7], [0; 10]),
                        "reserved"
                    );
                    ensure!(cur.format.width > 0 && cur.format.height > 0, "size");
                    let mut codes = HashSet::new();
                    loop {
                        let e = V4l2SubdevMbusCodeEnum {
                            pad,
                            index: codes.len() as u32,
                            which,
                            ..Default::default()
                        };
                        match get(&f, VIDIOC_SUBDEV_ENUM_MBUS_CODE, e) {
                            Ok(c) => {
                                ensure!(c.code != 0 && codes.insert(c.code), "code {:#x}", c.code);
                                ensure_eq!(c.reserved, [0; 6], "reserved");
                            }
                            Err(Errno::EINVAL) => break,
                            Err(e) => return Err(format!("ENUM_MBUS_CODE: {e:?}")),
                        }
                        ensure!(codes.len() < 1000, "endless codes");
                    }
                    ensure!(
                        codes.contains(&cur.format.code),
                        "current code {:#x} not enumerated",
                        cur.format.code
                    );
                    for &code in &codes {
                        let e = V4l2SubdevFrameSizeEnum {
                            pad,
                            index: 0,
                            code,
                            which,
                            ..Default::default()
                        };
                        let fs = get(&f, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, e)
                            .map_err(|e| format!("ENUM_FRAME_SIZE {code:#x}: {e:?}"))?;
                        ensure!(
                            fs.min_width <= fs.max_width && fs.min_height <= fs.max_height,
                            "sizes of {code:#x}"
                        );
                        ensure!(fs.min_width > 0 && fs.min_height > 0, "zero size");
                        ensure_eq!(fs.reserved, [0; 7], "reserved");
                    }
                    let bad = V4l2SubdevFrameSizeEnum {
                        pad,
                        code: 0xdead,
                        which,
                        ..Default::default()
                    };
                    ensure_eq!(
                        errno(&get(&f, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, bad)),
                        Some(Errno::EINVAL),
                        "unknown code"
                    );
                    // The current format is kept.
                    let set =
                        get(&f, VIDIOC_SUBDEV_S_FMT, cur).map_err(|e| format!("S_FMT: {e:?}"))?;
                    ensure_eq!(set.format, cur.format, "S_FMT of the current format");
                    Ok(())
                },
            );
        }
        s.test(
            &format!("pad {pad}: TRY leaves ACTIVE alone; files have their own TRY state"),
            || {
                let active =
                    fmt(&f, V4L2_SUBDEV_FORMAT_ACTIVE, pad).map_err(|e| format!("{e:?}"))?;
                let mut t = fmt(&f, V4L2_SUBDEV_FORMAT_TRY, pad).map_err(|e| format!("{e:?}"))?;
                let other_before =
                    fmt(&g, V4L2_SUBDEV_FORMAT_TRY, pad).map_err(|e| format!("{e:?}"))?;
                t.format.width = (t.format.width / 2).max(1);
                t.format.height = (t.format.height / 2).max(1);
                get(&f, VIDIOC_SUBDEV_S_FMT, t).map_err(|e| format!("S_FMT TRY: {e:?}"))?;
                ensure_eq!(
                    fmt(&f, V4L2_SUBDEV_FORMAT_ACTIVE, pad)
                        .map_err(|e| format!("{e:?}"))?
                        .format,
                    active.format,
                    "ACTIVE"
                );
                ensure_eq!(
                    fmt(&g, V4L2_SUBDEV_FORMAT_TRY, pad)
                        .map_err(|e| format!("{e:?}"))?
                        .format,
                    other_before.format,
                    "other file's TRY"
                );
                Ok(())
            },
        );
        s.test(
            &format!("pad {pad}: crop selection and G_CROP agree"),
            || {
                let sel = |target| {
                    get(
                        &f,
                        VIDIOC_SUBDEV_G_SELECTION,
                        V4l2SubdevSelection {
                            which: V4L2_SUBDEV_FORMAT_ACTIVE,
                            pad,
                            target,
                            ..Default::default()
                        },
                    )
                };
                let crop = match sel(V4L2_SEL_TGT_CROP) {
                    Ok(c) => c,
                    Err(Errno::EINVAL | Errno::ENOTTY) => {
                        let r = get(
                            &f,
                            VIDIOC_SUBDEV_G_CROP,
                            V4l2SubdevCrop {
                                which: V4L2_SUBDEV_FORMAT_ACTIVE,
                                pad,
                                ..Default::default()
                            },
                        );
                        ensure!(
                            matches!(errno(&r), Some(Errno::EINVAL | Errno::ENOTTY)),
                            "G_CROP without crop: {r:?}"
                        );
                        return Ok(());
                    }
                    Err(e) => return Err(format!("G_SELECTION: {e:?}")),
                };
                ensure_eq!(crop.reserved, [0; 7], "reserved");
                if let Ok(b) = sel(V4L2_SEL_TGT_CROP_BOUNDS) {
                    ensure!(
                        inside(&crop.r, &b.r),
                        "crop {:?} outside bounds {:?}",
                        crop.r,
                        b.r
                    );
                }
                let c = get(
                    &f,
                    VIDIOC_SUBDEV_G_CROP,
                    V4l2SubdevCrop {
                        which: V4L2_SUBDEV_FORMAT_ACTIVE,
                        pad,
                        ..Default::default()
                    },
                )
                .map_err(|e| format!("G_CROP: {e:?}"))?;
                ensure_eq!(c.rect, crop.r, "G_CROP");
                Ok(())
            },
        );
    }
    s.test("pad, which and stream validation", || {
        ensure_eq!(
            fmt(&f, V4L2_SUBDEV_FORMAT_ACTIVE, pads).err(),
            Some(Errno::EINVAL),
            "pad past the end"
        );
        ensure_eq!(fmt(&f, 2, 0).err(), Some(Errno::EINVAL), "which 2");
        let e = V4l2SubdevMbusCodeEnum {
            pad: pads,
            which: V4L2_SUBDEV_FORMAT_ACTIVE,
            ..Default::default()
        };
        ensure_eq!(
            errno(&get(&f, VIDIOC_SUBDEV_ENUM_MBUS_CODE, e)),
            Some(Errno::EINVAL),
            "ENUM_MBUS_CODE pad"
        );
        Ok(())
    });
    ctrls::check(s, &f, &g);
}
