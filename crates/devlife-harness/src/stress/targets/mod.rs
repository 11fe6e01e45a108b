//! The stress targets, one file per driver.

mod common;
mod testdrv;
mod usb_av;

pub use testdrv::{TestdrvInstance, TestdrvTarget};
pub use usb_av::{UsbAvInstance, UsbAvTarget};

use super::target::Target;
use std::sync::Arc;

/// Every target, in summary order.
pub(crate) fn all() -> Vec<Arc<dyn Target>> {
    vec![Arc::new(TestdrvTarget), Arc::new(UsbAvTarget)]
}
