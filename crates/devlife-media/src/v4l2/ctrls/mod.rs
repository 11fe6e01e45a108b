//! V4L2 controls, modelled on `v4l2-ctrls-*.c`.
//!
//! * [`CtrlConfig`] (`config.rs`): how a driver declares a control — a
//!   standard one by id and range, or a driver one with name and type; the
//!   core's checks of a declaration.
//! * [`std`]: the core's table of standard controls (names, types, flags).
//! * [`CtrlHandler`] (`handler/`): one object's controls, their values,
//!   validation, control events to subscribed files, and (`handler/ext.rs`)
//!   the extended-control calls with the all-or-nothing set.
//! * `ioctl.rs`: `VIDIOC_QUERYCTRL` ... `VIDIOC_S_EXT_CTRLS` on the wire.
//!
//! A video device or subdev gets a handler from the controls in its config
//! (`VideoDeviceConfig::controls`, `SubdevConfig::controls`); the handler
//! lives in the object's allocation and dies with it. The driver's
//! `s_ctrl` op applies a new value; the framework calls it inside the node's
//! gate, so once the node is unplugged a set answers `ENODEV` and never
//! reaches the driver.

mod config;
mod handler;
pub(crate) mod ioctl;
pub mod std;

pub use config::{CtrlConfig, MenuItems, ResolvedCtrl};
pub use handler::{ApplyFn, CtrlHandler};
