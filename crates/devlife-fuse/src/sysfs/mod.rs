//! A sysfs-like tree over one devlife `Kernel`, with Linux's paths and semantics.
//!
//! This module knows nothing about FUSE: the FUSE server maps its inodes to
//! paths and calls [`SysTree`]. Paths are relative to the sysfs root,
//! components separated by `/`, with no leading or trailing slash (`""` is
//! the root, `"bus/platform/drivers/vimc/unbind"` a file); a leading or
//! trailing slash is tolerated.
//!
//! What the tree holds (`docs/sysfs.md` has every path and the errno table):
//!
//! * `devices/...`: every device of the kernel (platform devices under
//!   `devices/platform`, USB devices under a root hub, interfaces under their
//!   device), with `uevent`, `modalias`, `subsystem` and `driver` links, the
//!   USB attributes (`idVendor`, `remove`, ...), and the device nodes of each
//!   device below it (`video4linux/video0`, `media0`, `sound/card0/pcmC0D0c`)
//!   with `dev`, `uevent`, `name`, `index`, `model`, `device`, `subsystem`;
//! * `bus/<bus>/devices/<dev>` and `bus/<bus>/drivers/<drv>/{bind,unbind,<dev>,module}`;
//! * `class/video4linux`, `class/sound`, `class/misc`, `bus/media/devices`;
//! * `dev/char/<major>:<minor>` links to each node's directory;
//! * `module/<m>/{refcnt,initstate,holders,drivers}`;
//! * devlife's controls where Linux has no file: `kernel/devlife/{plug,unplug,devices}`
//!   and `kernel/devlife/modules/{load,unload,available}`.
//!
//! Every call looks at the kernel afresh, so a bind, unbind, unplug or unload
//! (through the tree or not) is visible to the next call. Reads and listings
//! follow symbolic links on the way (`dev/char/81:0/uevent` works, as with
//! open(2)); [`SysTree::kind`] does not follow the last component (lstat).

mod build;
mod store;
mod tree;

pub use store::PAGE_SIZE;

use devlife_harness::stress::Instance;
use devlife_model::{Errno, Kernel};
use std::sync::Arc;
use tree::{Entry, Snapshot};

/// What one path of the tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysKind {
    /// A directory.
    Dir,
    /// An attribute file; `writable` files accept [`SysTree::write`] (mode 0644 or 0200),
    /// the others are read-only (0444). [`SysTree::mode`] tells 0644 from 0200.
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

impl SysError {
    /// No such file or directory.
    pub const ENOENT: SysError = SysError(Errno::ENOENT.raw());
    /// Permission denied: reading a write-only or writing a read-only attribute.
    pub const EACCES: SysError = SysError(Errno::EACCES.raw());
    /// Not a directory (listing a file).
    pub const ENOTDIR: SysError = SysError(20);
    /// Is a directory (reading or writing one).
    pub const EISDIR: SysError = SysError(21);

    /// The model errno with the same number.
    pub fn errno(self) -> Errno {
        Errno::from_raw(self.0)
    }
}

impl From<Errno> for SysError {
    fn from(e: Errno) -> Self {
        SysError(e.raw())
    }
}

struct Inner {
    kernel: Kernel,
    instances: Vec<Arc<dyn Instance>>,
}

/// The sysfs tree of one kernel. Cloning gives another handle to the same tree.
///
/// # Invariants
///
/// The tree holds no state of its own besides the kernel and the driver
/// instances: every call answers from the kernel's current tables, and a
/// failed write changes nothing.
#[derive(Clone)]
pub struct SysTree {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SysTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysTree")
            .field("kernel", &self.inner.kernel)
            .field("instances", &self.inner.instances.len())
            .finish()
    }
}

fn norm(path: &str) -> &str {
    path.trim_matches('/')
}

impl SysTree {
    /// The tree of `kernel`. `instances` are the registered drivers whose
    /// devices `kernel/devlife/plug` can plug back and whose modules
    /// `kernel/devlife/modules/{load,unload}` handle.
    pub fn new(kernel: Kernel, instances: Vec<Arc<dyn Instance>>) -> Self {
        Self {
            inner: Arc::new(Inner { kernel, instances }),
        }
    }

    /// The kernel whose devices and drivers the tree shows.
    pub fn kernel(&self) -> &Kernel {
        &self.inner.kernel
    }

    fn snapshot(&self) -> Snapshot {
        build::build(&self.inner.kernel, &self.inner.instances)
    }

    /// What `path` is (the last component is not followed, like lstat),
    /// or `None` if it does not exist.
    pub fn kind(&self, path: &str) -> Option<SysKind> {
        let s = self.snapshot();
        let p = s.resolve(norm(path), false)?;
        s.get(&p).map(kind_of)
    }

    /// The permission bits of `path` (0755 directory, 0444 read-only,
    /// 0644 read-write, 0200 write-only attribute, 0777 link), or `None` if
    /// it does not exist. The last component is not followed.
    pub fn mode(&self, path: &str) -> Option<u32> {
        let s = self.snapshot();
        let p = s.resolve(norm(path), false)?;
        s.get(&p).map(|e| match e {
            Entry::Dir => 0o755,
            Entry::Link(_) => 0o777,
            Entry::Attr { value, store } => match (value.is_some(), store.is_some()) {
                (true, true) => 0o644,
                (false, _) => 0o200,
                (true, false) => 0o444,
            },
        })
    }

    /// The entries of directory `path` (links followed), in name order.
    /// `ENOENT` if it does not exist, `ENOTDIR` if it is not a directory.
    pub fn list(&self, path: &str) -> Result<Vec<(String, SysKind)>, SysError> {
        let s = self.snapshot();
        let p = s.resolve(norm(path), true).ok_or(SysError::ENOENT)?;
        match s.get(&p) {
            Some(Entry::Dir) => Ok(s
                .children(&p)
                .map(|(n, e)| (n.to_owned(), kind_of(e)))
                .collect()),
            Some(_) => Err(SysError::ENOTDIR),
            None => Err(SysError::ENOENT),
        }
    }

    /// The contents of attribute `path` (links followed). `ENOENT` if it
    /// does not exist, `EISDIR` for a directory, `EACCES` for a write-only
    /// attribute (sysfs refuses to open those for reading, even to root).
    pub fn read(&self, path: &str) -> Result<Vec<u8>, SysError> {
        let s = self.snapshot();
        let p = s.resolve(norm(path), true).ok_or(SysError::ENOENT)?;
        match s.get(&p) {
            Some(Entry::Attr { value: Some(v), .. }) => Ok(v.clone()),
            Some(Entry::Attr { value: None, .. }) => Err(SysError::EACCES),
            Some(Entry::Dir) => Err(SysError::EISDIR),
            _ => Err(SysError::ENOENT),
        }
    }

    /// Writes `data` to attribute `path` (links followed), as one write(2)
    /// on a freshly opened file. Returns the bytes consumed: all of them, or
    /// the first [`PAGE_SIZE`] of a longer write (a short write, as sysfs
    /// does), or 0 for an empty write. `ENOENT` if it does not exist,
    /// `EISDIR` for a directory, `EACCES` for a read-only attribute,
    /// otherwise the attribute's own errno (`docs/sysfs.md`); a failed write
    /// changes nothing.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<usize, SysError> {
        let store = {
            let s = self.snapshot();
            let p = s.resolve(norm(path), true).ok_or(SysError::ENOENT)?;
            match s.get(&p) {
                Some(Entry::Attr {
                    store: Some(st), ..
                }) => st.clone(),
                Some(Entry::Attr { store: None, .. }) => return Err(SysError::EACCES),
                Some(Entry::Dir) => return Err(SysError::EISDIR),
                _ => return Err(SysError::ENOENT),
            }
        };
        store::write(&self.inner.kernel, &self.inner.instances, &store, data)
    }
}

fn kind_of(e: &Entry) -> SysKind {
    match e {
        Entry::Dir => SysKind::Dir,
        Entry::Attr { store, .. } => SysKind::File {
            writable: store.is_some(),
        },
        Entry::Link(t) => SysKind::Symlink(t.clone()),
    }
}
