//! Stand-in for `crate::sysfs::SysTree` until the sysfs tree lands: the same
//! API over an empty tree.

use crate::sysfs::{SysError, SysKind};
use devlife_harness::stress::Instance;
use devlife_model::Kernel;
use std::sync::Arc;

/// An empty sysfs tree (the root directory only).
#[derive(Clone)]
pub struct SysTree {
    _kernel: Kernel,
}

impl SysTree {
    /// A tree over `kernel`.
    pub fn new(kernel: Kernel, _instances: Vec<Arc<dyn Instance>>) -> Self {
        Self { _kernel: kernel }
    }
    /// What `path` is.
    pub fn kind(&self, path: &str) -> Option<SysKind> {
        path.is_empty().then_some(SysKind::Dir)
    }
    /// Entries of directory `path`.
    pub fn list(&self, path: &str) -> Result<Vec<(String, SysKind)>, SysError> {
        if path.is_empty() {
            Ok(Vec::new())
        } else {
            Err(SysError(libc::ENOENT))
        }
    }
    /// Contents of attribute `path`.
    pub fn read(&self, _path: &str) -> Result<Vec<u8>, SysError> {
        Err(SysError(libc::ENOENT))
    }
    /// Writes attribute `path`.
    pub fn write(&self, _path: &str, _data: &[u8]) -> Result<usize, SysError> {
        Err(SysError(libc::ENOENT))
    }
}
