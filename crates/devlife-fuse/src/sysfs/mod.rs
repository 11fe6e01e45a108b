//! A sysfs-like tree over one devlife `Kernel`, with Linux's paths and semantics.
//!
//! This module knows nothing about FUSE: the FUSE server maps its inodes to [`SysPath`]s and
//! calls [`SysTree`]. Paths are relative to the sysfs root, components separated by `/`, with no
//! leading or trailing slash (`""` is the root, `"bus/platform/drivers/vimc/unbind"` a file).

/// What one path of the tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysKind {
    /// A directory.
    Dir,
    /// An attribute file; `writable` files accept [`SysTree::write`] (mode 0644 or 0200),
    /// the others are read-only (0444).
    File {
        /// Whether the attribute can be written.
        writable: bool,
    },
    /// A symbolic link with this target (relative, as sysfs makes them: `../../devices/...`).
    Symlink(String),
}

/// An error of a sysfs operation: the errno Linux gives for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sysfs: errno {0}")]
pub struct SysError(pub i32);
