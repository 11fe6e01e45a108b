//! # devlife-drivers: real drivers on the devlife framework, and their legacy twins
//!
//! * [`vimc`]: the kernel's virtual media controller test driver (exact topology);
//! * [`usb_av`]: a hot-pluggable USB device with a video and an audio driver sharing
//!   one media device through the Media Device Allocator (au0828 + snd-usb-audio);
//! * [`isp`]: a platform, IRQ-driven image signal processor (omap3isp / rcar-vin style);
//! * [`mutants`]: framework-style drivers with one deliberate lifetime bug each, one
//!   per checker, so that every checker is shown to fire.
//!
//! Each driver exists in the framework style and in a `legacy` style that reproduces
//! the pre-fix kernel bugs, selectable at bind time ([`Style`]).

#![forbid(unsafe_code)]

pub mod common;
mod counters;
pub mod isp;
mod legacy_nodes;
pub mod mistake;
pub mod mutants;
mod nodes;
pub mod usb_av;
pub mod vimc;

pub use common::Style;
pub use mistake::Mistake;
