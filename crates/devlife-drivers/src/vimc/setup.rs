//! Configuring vimc for streaming, from userspace: what `media-ctl -V` and
//! `v4l2-ctl -v` do, through the nodes' ioctls (docs/vimc.md, "Streaming").

use super::VimcNodes;
use super::formats::{code, pix_map_by_code};
use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::subdev::{
    V4L2_SUBDEV_FORMAT_ACTIVE, V4l2MbusFramefmt, V4l2SubdevFormat, VIDIOC_SUBDEV_S_FMT,
};
use devlife_media::uapi::videodev2::{V4l2Format, VIDIOC_G_FMT, VIDIOC_S_FMT, buf_type};
use devlife_model::{Errno, File, KResult, Kernel, OpenFlags};

/// A streaming configuration: the sensors' code and size (the debayers'
/// sinks follow, and the raw captures take the matching pixel format), and
/// the size of the RGB/YUV capture (the scaler's source is set to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSetup {
    /// The sensors' (and debayer sinks') Bayer code.
    pub code: u32,
    /// Sensor width.
    pub width: u32,
    /// Sensor height.
    pub height: u32,
    /// RGB/YUV Capture (and scaler source) width.
    pub rgb_width: u32,
    /// RGB/YUV Capture (and scaler source) height.
    pub rgb_height: u32,
}

impl StreamSetup {
    /// The kernel's `vimc.rst` configuration (docs/vimc.md, "Streaming"): `SBGGR8_1X8/640x480` on both
    /// sensors and debayers, `BA81` on the raw captures, 1920x1440 on the
    /// RGB/YUV Capture.
    ///
    /// The kernel's scaler no longer multiplies by three (its source size is
    /// set on its own), so this also sets `"Scaler":1[fmt:RGB888_1X24/1920x1440]`,
    /// without which the RGB/YUV Capture fails link validation (`EPIPE`).
    pub fn spec() -> Self {
        Self {
            code: code::SBGGR8_1X8,
            width: 640,
            height: 480,
            rgb_width: 1920,
            rgb_height: 1440,
        }
    }

    /// Small frames for fast tests: `SBGGR8_1X8` at `w`x`h` everywhere.
    pub fn small(w: u32, h: u32) -> Self {
        Self {
            code: code::SBGGR8_1X8,
            width: w,
            height: h,
            rgb_width: w,
            rgb_height: h,
        }
    }
}

fn ioc<T: Wire>(f: &File, cmd: u32, v: &mut T) -> KResult<()> {
    let mut b = v.to_vec();
    f.ioctl(cmd, &mut b)?;
    *v = T::decode(&b);
    Ok(())
}

/// `media-ctl -V '"<entity>":<pad>[fmt:<code>/<w>x<h>]'`: an ACTIVE
/// `SUBDEV_S_FMT` with every other field zero (media-ctl's parser).
pub fn set_pad_format(
    k: &Kernel,
    nodes: &VimcNodes,
    entity: &str,
    pad: u32,
    code: u32,
    width: u32,
    height: u32,
) -> KResult<V4l2MbusFramefmt> {
    let path = nodes.path(entity).ok_or(Errno::ENOENT)?;
    let f = k.open(path, OpenFlags::RDWR)?;
    let mut v = V4l2SubdevFormat {
        which: V4L2_SUBDEV_FORMAT_ACTIVE,
        pad,
        format: V4l2MbusFramefmt {
            code,
            width,
            height,
            ..Default::default()
        },
        ..Default::default()
    };
    ioc(&f, VIDIOC_SUBDEV_S_FMT, &mut v)?;
    Ok(v.format)
}

/// `v4l2-ctl -d <capture> -v width=W,height=H,pixelformat=P`: `G_FMT`,
/// change what is given, `S_FMT`. Returns the format set.
pub fn set_capture_format(
    k: &Kernel,
    nodes: &VimcNodes,
    entity: &str,
    width: Option<u32>,
    height: Option<u32>,
    pixelformat: Option<u32>,
) -> KResult<devlife_media::uapi::videodev2::V4l2PixFormat> {
    let path = nodes.path(entity).ok_or(Errno::ENOENT)?;
    let f = k.open(path, OpenFlags::RDWR)?;
    let mut v = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    ioc(&f, VIDIOC_G_FMT, &mut v)?;
    let mut pix = v.pix();
    if let Some(w) = width {
        pix.width = w;
    }
    if let Some(h) = height {
        pix.height = h;
    }
    if let Some(p) = pixelformat {
        pix.pixelformat = p;
    }
    let mut v = V4l2Format::from_pix(buf_type::VIDEO_CAPTURE, &pix);
    ioc(&f, VIDIOC_S_FMT, &mut v)?;
    Ok(v.pix())
}

/// Applies `s` through the nodes of `nodes`, so that every capture can
/// stream (each capture's pipeline validates).
pub fn configure(k: &Kernel, nodes: &VimcNodes, s: &StreamSetup) -> KResult<()> {
    let raw = pix_map_by_code(s.code).ok_or(Errno::EINVAL)?.pixelformat;
    for (sensor, debayer) in [("Sensor A", "Debayer A"), ("Sensor B", "Debayer B")] {
        set_pad_format(k, nodes, sensor, 0, s.code, s.width, s.height)?;
        set_pad_format(k, nodes, debayer, 0, s.code, s.width, s.height)?;
    }
    set_pad_format(k, nodes, "Scaler", 0, code::RGB888_1X24, s.width, s.height)?;
    set_pad_format(
        k,
        nodes,
        "Scaler",
        1,
        code::RGB888_1X24,
        s.rgb_width,
        s.rgb_height,
    )?;
    for cap in ["Raw Capture 0", "Raw Capture 1"] {
        set_capture_format(k, nodes, cap, Some(s.width), Some(s.height), Some(raw))?;
    }
    set_capture_format(
        k,
        nodes,
        "RGB/YUV Capture",
        Some(s.rgb_width),
        Some(s.rgb_height),
        None,
    )?;
    Ok(())
}
