//! What a video driver gives the framework: its [`VideoOps`], the
//! [`VideoDeviceConfig`] a video device is built from, and the values
//! they exchange ([`CapStrings`], [`FmtDesc`]).

use crate::uapi::io::V4l2Frmsizeenum;
use crate::uapi::media::{MEDIA_ENT_F_IO_V4L, MEDIA_PAD_FL_SINK};
use crate::uapi::subdev::V4l2MbusFramefmt;
use crate::uapi::videodev2::{V4l2PixFormat, cap};

use crate::v4l2::ctrls::CtrlConfig;
use crate::v4l2::vb2::{BufferQueue, QueueConfig};
use devlife_model::{Errno, KResult, OpCtx};

/// The strings of `VIDIOC_QUERYCAP`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapStrings {
    /// Driver name, e.g. `vimc`.
    pub driver: String,
    /// The `card` string of `VIDIOC_QUERYCAP`.
    pub card: String,
    /// Bus location, e.g. `platform:vimc`.
    pub bus_info: String,
}

/// One entry of `VIDIOC_ENUM_FMT` as a driver describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FmtDesc {
    /// The pixel format (`V4L2_PIX_FMT_*` fourcc).
    pub pixelformat: u32,
    /// `V4L2_FMT_FLAG_*`.
    pub flags: u32,
    /// Description; `None` uses the core's table (`v4l_fill_fmtdesc`).
    pub description: Option<&'static str>,
}

impl FmtDesc {
    /// A format with no flags and the core's description.
    pub fn new(pixelformat: u32) -> Self {
        Self {
            pixelformat,
            flags: 0,
            description: None,
        }
    }
}

/// What a video driver implements. The framework calls these with the
/// arguments already validated (buffer type, indices, sizes, reserved
/// fields), inside the node's gate for the file-operation ones, and maps the
/// errors. The implementing type *is* the driver's per-node data: it lives
/// until [`release`](Self::release).
///
/// Only `querycap`, `enum_fmt`, `try_fmt`, `start_streaming` and
/// `stop_streaming` are required.
pub trait VideoOps: Send + Sync + 'static {
    /// `VIDIOC_QUERYCAP` strings.
    fn querycap(&self) -> CapStrings;

    /// The `index`th format (`EINVAL` past the end). `mbus_code` is the
    /// application's media bus code filter (0: none; only on `IO_MC` nodes).
    fn enum_fmt(&self, ctx: &OpCtx<'_>, index: u32, mbus_code: u32) -> KResult<FmtDesc>;

    /// Adjusts `pix` to a format the device supports (`TRY_FMT`, and `S_FMT`
    /// before it is stored). Must not fail for a merely unsupported value:
    /// it picks the closest one, as V4L2 requires.
    fn try_fmt(&self, ctx: &OpCtx<'_>, pix: &mut V4l2PixFormat) -> KResult<()>;

    /// `S_FMT` succeeded with `pix` (already adjusted and about to be stored).
    fn s_fmt(&self, ctx: &OpCtx<'_>, pix: &V4l2PixFormat) -> KResult<()> {
        let _ = (ctx, pix);
        Ok(())
    }

    /// `queue_setup`: the buffer size for `fmt`; may change the buffer count.
    fn queue_setup(&self, fmt: &V4l2PixFormat, count: &mut u32) -> KResult<u32> {
        let _ = count;
        if fmt.sizeimage == 0 {
            return Err(Errno::EINVAL);
        }
        Ok(fmt.sizeimage)
    }

    /// Starts capturing into the buffers of `queue`
    /// ([`BufferQueue::next_buffer`]). An error (e.g. `EPIPE` from pipeline
    /// validation) fails `STREAMON` and returns the buffers to the queue.
    fn start_streaming(&self, ctx: &OpCtx<'_>, queue: &BufferQueue) -> KResult<()>;

    /// Stops capturing: when it returns, the driver completes no more buffer
    /// (late completions are refused anyway). Called at `STREAMOFF`, at the
    /// owner's close, and at unplug — always while the device is still bound.
    fn stop_streaming(&self, queue: &BufferQueue);

    /// Whether the driver implements [`enum_framesizes`](Self::enum_framesizes)
    /// (`vidioc_enum_framesizes` set): without it the ioctl is `ENOTTY`
    /// before its argument is looked at.
    const HAS_ENUM_FRAMESIZES: bool = false;

    /// `VIDIOC_ENUM_FRAMESIZES`: fill `type_` and the union of `fs` for
    /// `fs.index` / `fs.pixel_format` (`EINVAL` past the end or for an
    /// unknown format). Only called if
    /// [`HAS_ENUM_FRAMESIZES`](Self::HAS_ENUM_FRAMESIZES).
    fn enum_framesizes(&self, ctx: &OpCtx<'_>, fs: &mut V4l2Frmsizeenum) -> KResult<()> {
        let _ = (ctx, fs);
        Err(Errno::ENOTTY)
    }

    /// The names of the node's inputs (`VIDIOC_ENUMINPUT`), all cameras. A
    /// node with `V4L2_CAP_IO_MC` has the core's single input named after
    /// the node whatever this says; a node without `IO_MC` and without
    /// inputs answers `ENOTTY` to the input ioctls.
    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }

    /// `VIDIOC_S_INPUT` chose input `index` (already range-checked).
    fn s_input(&self, ctx: &OpCtx<'_>, index: u32) -> KResult<()> {
        let _ = (ctx, index);
        Ok(())
    }

    /// `s_ctrl` of the node's controls: apply the validated `value` of
    /// control `id` (inside the node's gate; the handler lock is held: do
    /// not call back into the handler). An error undoes the whole set.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let _ = (id, value);
        Ok(())
    }

    /// A buffer was queued to the driver while streaming.
    fn buf_queued(&self, queue: &BufferQueue) {
        let _ = queue;
    }

    /// Validates the enabled link from `source` (the ACTIVE format of the
    /// remote subdev's source pad) to this node, whose format is `fmt`
    /// (pipeline start; under the graph lock: no media device calls). The
    /// default requires equal width and height (`EPIPE`).
    fn link_validate(&self, source: &V4l2MbusFramefmt, fmt: &V4l2PixFormat) -> KResult<()> {
        if source.width == fmt.width && source.height == fmt.height {
            Ok(())
        } else {
            Err(Errno::EPIPE)
        }
    }

    /// A file is being opened (inside the gate).
    fn open(&self, ctx: &OpCtx<'_>) -> KResult<()> {
        let _ = ctx;
        Ok(())
    }

    /// A file was closed (its last handle and mapping are gone). May run
    /// after unplug: no hardware access.
    fn close(&self) {}

    /// `video_device.release`: the last reference to the video device is
    /// gone; the driver data is dropped right after.
    fn release(&self) {}
}

/// How to build a [`VideoDevice`].
#[derive(Clone, Debug)]
pub struct VideoDeviceConfig {
    /// Entity / card name (e.g. `"Raw Capture 0"`).
    pub name: String,
    /// `V4L2_CAP_*` of the node (`vdev->device_caps`), non-zero.
    pub device_caps: u32,
    /// The buffer queue.
    pub queue: QueueConfig,
    /// The format the node starts with (and `G_FMT` answers before any `S_FMT`).
    pub format: V4l2PixFormat,
    /// Entity function (`MEDIA_ENT_F_IO_V4L`).
    pub function: u32,
    /// Entity pads (`MEDIA_PAD_FL_*`; a capture node has one sink pad).
    pub pads: Vec<u32>,
    /// Entity flags (`MEDIA_ENT_FL_*`).
    pub entity_flags: u32,
    /// The node's controls (`vdev->ctrl_handler`); with controls the node
    /// also serves control events and `LOG_STATUS`.
    pub controls: Vec<CtrlConfig>,
}

impl VideoDeviceConfig {
    /// A capture node with streaming and read I/O.
    pub fn capture(name: &str, format: V4l2PixFormat) -> Self {
        Self {
            name: name.to_owned(),
            device_caps: cap::VIDEO_CAPTURE | cap::STREAMING | cap::READWRITE,
            queue: QueueConfig::default(),
            format,
            function: MEDIA_ENT_F_IO_V4L,
            pads: vec![MEDIA_PAD_FL_SINK],
            entity_flags: 0,
            controls: Vec::new(),
        }
    }
}
