//! # devlife-testkit: what the integration tests of the media crates share
//!
//! A dev-dependency of `devlife-media` and `devlife-drivers` (it depends on
//! both, so only their integration tests may use it: the crate graph stays
//! acyclic for every library).
//!
//! * [`v4l2`]: V4L2, subdev and media ioctls on model files, with typed
//!   arguments;
//! * [`sync`]: thread ordering through the model's blocked-thread table, and
//!   the one bound ([`sync::PATIENCE`]) for "this must happen";
//! * [`checks`]: checker reports and leaks as assertions;
//! * [`vimc`], [`usb_av`], [`isp`]: a kernel with the driver registered and a
//!   device bound, each module re-exporting everything above so that a test
//!   needs one `use devlife_testkit::vimc::*;`;
//! * [`testcam`]: a small capture driver in both styles, the rig of the V4L2
//!   framework tests;
//! * [`media_ctl`]: vimc's `media-ctl -p` and `--print-dot` output as real
//!   v4l-utils prints it.

#![forbid(unsafe_code)]

pub mod checks;
pub mod isp;
pub mod media_ctl;
pub mod sync;
pub mod testcam;
pub mod usb_av;
pub mod v4l2;
pub mod vimc;

/// Everything a driver test uses besides its rig.
pub mod prelude {
    pub use crate::checks::*;
    pub use crate::sync::*;
    pub use crate::v4l2::*;
}
