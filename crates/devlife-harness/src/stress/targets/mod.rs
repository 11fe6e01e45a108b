//! The stress targets, one file per driver.

mod testdrv;

pub use testdrv::{TestdrvInstance, TestdrvTarget};

use super::target::Target;
use std::sync::Arc;

/// Every target, in summary order.
pub(crate) fn all() -> Vec<Arc<dyn Target>> {
    vec![Arc::new(TestdrvTarget)]
}
