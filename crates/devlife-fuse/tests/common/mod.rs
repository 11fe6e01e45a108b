//! Shared setup of the sysfs tests: one kernel with vimc and usb-av (two
//! USB devices on ports 1-1 and 2-1) registered in the framework style.

#![allow(dead_code)]

use devlife_fuse::sysfs::{SysError, SysKind, SysTree};
use devlife_harness::stress::{Instance, Style, target};
use devlife_model::{Errno, Kernel};
use std::sync::Arc;

/// A kernel, its tree, and the driver instances behind it.
pub struct Bench {
    pub kernel: Kernel,
    pub tree: SysTree,
}

impl Bench {
    pub fn new() -> Self {
        Self::with(&["vimc", "usb-av"])
    }

    pub fn with(targets: &[&str]) -> Self {
        let kernel = Kernel::new();
        let instances: Vec<Arc<dyn Instance>> = targets
            .iter()
            .map(|t| {
                Arc::from(
                    target(t)
                        .unwrap()
                        .register(&kernel, Style::Framework)
                        .unwrap(),
                )
            })
            .collect();
        let tree = SysTree::new(kernel.clone(), instances);
        Self { kernel, tree }
    }

    /// The attribute as a string.
    pub fn cat(&self, path: &str) -> String {
        String::from_utf8(
            self.tree
                .read(path)
                .unwrap_or_else(|e| panic!("{path}: {e}")),
        )
        .unwrap()
    }

    /// `echo -n data > path`: the bytes consumed or the errno.
    pub fn echo(&self, path: &str, data: &str) -> Result<usize, Errno> {
        self.tree
            .write(path, data.as_bytes())
            .map_err(SysError::errno)
    }

    pub fn exists(&self, path: &str) -> bool {
        self.tree.kind(path).is_some()
    }

    pub fn names(&self, dir: &str) -> Vec<String> {
        self.tree
            .list(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    pub fn link(&self, path: &str) -> String {
        match self.tree.kind(path) {
            Some(SysKind::Symlink(t)) => t,
            k => panic!("{path} is {k:?}, not a link"),
        }
    }

    /// The node names of `class/video4linux`.
    pub fn v4l_nodes(&self) -> Vec<String> {
        self.names("class/video4linux")
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.kernel.shutdown();
    }
}
