//! The FUSE filesystem: `dev/` (the live device nodes of one `Kernel`) and
//! `sys/` (the sysfs tree), every file operation the model's `File` operation.
//!
//! Threads: fuser's workers (`clone_fd`, at least two) answer requests that
//! cannot sleep inline; a call that may sleep (read, write, `VIDIOC_DQBUF`,
//! misc-device ioctls, sysfs writes that unbind) runs on a thread of
//! [`Blocking`], which keeps the `Reply*`. Poll registers the kernel's poll
//! handle and a waiter sleeps in the model's poll on the client's behalf.
//! The design is written down in docs/fuse.md.
//!
//! * [`state`]: the open files and the device nodes' identities;
//! * [`tree`]: names to inodes, attributes, directory listings;
//! * [`devio`]: ioctl, read and poll on a device file;
//! * [`ops`]: the `Filesystem` implementation that dispatches to them.

mod devio;
mod ops;
mod state;
mod tree;

pub(crate) use state::Shared;
use std::sync::Arc;
use std::time::Duration;

/// Entries and attributes are never cached: nodes come and go with
/// registration and sysfs attributes change with every bind.
const TTL: Duration = Duration::ZERO;

/// The extended attribute that carries a node's device numbers ("M:m").
pub const RDEV_XATTR: &str = "user.devlife.rdev";
/// The FUSE filesystem of one kernel.
pub(crate) struct DevlifeFs {
    pub(crate) shared: Arc<Shared>,
}
