//! The stress targets, one file per driver.

mod common;
mod isp;
mod testdrv;
mod usb_av;
mod vimc;

pub use isp::{IspInstance, IspTarget};
pub use testdrv::{TestdrvInstance, TestdrvTarget};
pub use usb_av::{UsbAvInstance, UsbAvTarget};
pub use vimc::{VimcInstance, VimcTarget};

use super::target::Target;
use std::sync::Arc;

/// Every target, in summary order.
pub(crate) fn all() -> Vec<Arc<dyn Target>> {
    vec![
        Arc::new(VimcTarget),
        Arc::new(UsbAvTarget),
        Arc::new(IspTarget),
        Arc::new(TestdrvTarget),
    ]
}
