//! devlife-fuse: serves one devlife `Kernel` as real files through FUSE.
//!
//! Work in progress. Two parts:
//! - the device nodes (`/dev/media0`, `/dev/video0`, ...), every operation the model's `File`
//!   operation (same gate, same errno policy, same checkers);
//! - [`sysfs`]: a sysfs-like tree with Linux's paths (`bus/*/drivers/*/{bind,unbind}`,
//!   `dev/char/M:m/uevent`, `class/video4linux/*/name`, `module/*/refcnt`, ...), independent of
//!   FUSE so that it can be tested in process.

pub mod sysfs;
