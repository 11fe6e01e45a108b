//! The LD_PRELOAD identity shim (`shim/rdev_shim.c`, built by `build.rs`):
//! stat-family calls report a device file of the mount as a character device
//! with its own device numbers (read from the `user.devlife.rdev` extended
//! attribute). See docs/fuse.md ("Node identity").

use std::path::{Path, PathBuf};

/// The shared library, as built for this target.
pub const SHIM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/devlife-rdev-shim.so"));

/// Writes the shim into `dir` and returns its path (for `LD_PRELOAD`).
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    let p = dir.join("devlife-rdev-shim.so");
    std::fs::write(&p, SHIM)?;
    Ok(p)
}
