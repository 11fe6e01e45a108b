//! devlife-fuse: serves one devlife `Kernel` as real files through FUSE.
//!
//! * [`Mounted`]: a FUSE mount (fuser's pure-Rust mount, as root) with `dev/`
//!   — the kernel's live device nodes, every operation the model's `File`
//!   operation (same gate, errno policy and checkers) — and `sys/`, the
//!   sysfs-like tree of [`sysfs`].
//! * [`ns`]: private mount namespaces, bind mounts and signals for
//!   `devlife mount` / `devlife exec`.
//! * [`shim`]: the LD_PRELOAD library that gives each node its own device
//!   numbers in `stat`.
//!
//! The design (inodes, threads, blocking calls, signals, poll, mmap,
//! identity) is in docs/fuse.md.

mod blocking;
mod buffers;
mod devwatch;
mod inode;
mod mount;
pub mod ns;
mod server;
pub mod shim;
pub mod sysfs;
mod usermem;

/// The sysfs tree type the server serves.
pub mod sys {
    pub use crate::sysfs::SysTree;
}

pub use buffers::{BUF_SHIFT, FILE_SIZE, buffer_offset};
pub use mount::{MountError, Mounted, ServeOptions, StopReport};
pub use server::RDEV_XATTR;
pub use usermem::ProcessMemory;
