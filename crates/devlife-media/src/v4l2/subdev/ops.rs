//! What a subdev driver gives the framework: its [`SubdevOps`] and the
//! [`SubdevConfig`] a subdev is built from.

use super::SubdevState;

use crate::uapi::subdev::{
    V4l2MbusFramefmt, V4l2SubdevFormat, V4l2SubdevFrameSizeEnum, V4l2SubdevMbusCodeEnum,
    V4l2SubdevSelection,
};
use crate::uapi::videodev2::field;

use crate::v4l2::ctrls::CtrlConfig;
use devlife_model::{Errno, KResult};

/// What a subdev driver implements. Pad ops receive the state selected by
/// the request's `which`, already locked, with `pad` and `which` validated.
/// A missing op answers `ENOTTY` (`ENOIOCTLCMD`). The implementing type is
/// the subdev's driver data: it lives until [`release`](Self::release).
pub trait SubdevOps: Send + Sync + 'static {
    /// Initial formats (`init_state`): for the active state at creation and
    /// for each file handle's TRY state at open.
    fn init_state(&self, state: &mut SubdevState) {
        let _ = state;
    }

    /// `enum_mbus_code`: fill `code.code` for `code.index` on `code.pad`.
    fn enum_mbus_code(
        &self,
        state: &SubdevState,
        code: &mut V4l2SubdevMbusCodeEnum,
    ) -> KResult<()> {
        let _ = (state, code);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `enum_frame_size`.
    fn enum_frame_size(
        &self,
        state: &SubdevState,
        fse: &mut V4l2SubdevFrameSizeEnum,
    ) -> KResult<()> {
        let _ = (state, fse);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `get_fmt`; by default the state's format of the pad
    /// (`v4l2_subdev_get_fmt`).
    fn get_fmt(&self, state: &SubdevState, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        fmt.format = *state.format(fmt.pad)?;
        Ok(())
    }

    /// `set_fmt`: adjust `fmt.format`, store it in `state` (and propagate).
    fn set_fmt(&self, state: &mut SubdevState, fmt: &mut V4l2SubdevFormat) -> KResult<()> {
        let _ = (state, fmt);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `get_selection`.
    fn get_selection(&self, state: &SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        let _ = (state, sel);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `set_selection`.
    fn set_selection(&self, state: &mut SubdevState, sel: &mut V4l2SubdevSelection) -> KResult<()> {
        let _ = (state, sel);
        Err(Errno::ENOIOCTLCMD)
    }

    /// `link_validate` of an enabled link whose sink pad is on this subdev
    /// (pipeline start): `source` is the ACTIVE format of the remote source
    /// pad, `sink` the one of the local sink pad. The default is
    /// `v4l2_subdev_link_validate_default`: width, height and code must
    /// match, and the field too unless the sink's is `NONE` (`EPIPE`).
    fn link_validate(&self, source: &V4l2MbusFramefmt, sink: &V4l2MbusFramefmt) -> KResult<()> {
        let pass = source.width == sink.width
            && source.height == sink.height
            && source.code == sink.code
            && (source.field == sink.field || sink.field == field::NONE);
        if pass { Ok(()) } else { Err(Errno::EPIPE) }
    }

    /// `s_ctrl` of the subdev's controls: apply the validated `value` of
    /// control `id` (inside the node's gate for a userspace set; the
    /// handler lock is held: do not call back into the handler). An error
    /// undoes the whole set.
    fn s_ctrl(&self, id: u32, value: i64) -> KResult<()> {
        let _ = (id, value);
        Ok(())
    }

    /// `video.s_stream`, called by the bridge driver (not by userspace).
    fn s_stream(&self, enable: bool) -> KResult<()> {
        let _ = enable;
        Err(Errno::ENOIOCTLCMD)
    }

    /// `internal_ops->open`: a file handle is being opened (inside the gate).
    fn open(&self) -> KResult<()> {
        Ok(())
    }

    /// `internal_ops->close`: a file handle is closed. May run after unbind:
    /// the subdev memory is still there, but no hardware access.
    fn close(&self) {}

    /// `internal_ops->release`: the last reference is gone; the driver data
    /// is dropped right after.
    fn release(&self) {}
}

/// How to build a [`Subdev`].
#[derive(Clone, Debug)]
pub struct SubdevConfig {
    /// Name (entity name, e.g. `"Sensor A"`).
    pub name: String,
    /// `MEDIA_PAD_FL_*` flags of each pad.
    pub pads: Vec<u32>,
    /// Entity function (`MEDIA_ENT_F_*`).
    pub function: u32,
    /// Entity flags (`MEDIA_ENT_FL_*`).
    pub entity_flags: u32,
    /// `V4L2_SUBDEV_FL_HAS_DEVNODE`: gets a node from
    /// [`V4l2Device::register_subdev_nodes`].
    pub has_devnode: bool,
    /// The node is read-only (`V4L2_SUBDEV_CAP_RO_SUBDEV`).
    pub read_only: bool,
    /// Its controls (`sd->ctrl_handler`); a subdev with controls also has
    /// events (`V4L2_SUBDEV_FL_HAS_EVENTS`): control events, `POLLPRI`.
    pub controls: Vec<CtrlConfig>,
}

impl SubdevConfig {
    /// A subdev with a devnode.
    pub fn new(name: &str, pads: Vec<u32>, function: u32) -> Self {
        Self {
            name: name.to_owned(),
            pads,
            function,
            entity_flags: 0,
            has_devnode: true,
            read_only: false,
            controls: Vec::new(),
        }
    }
}
