//! The server's state: the open files of the mount and what each device
//! node's file looks like, shared by the FUSE workers and the helper threads.

use crate::blocking::Blocking;
use crate::buffers::Buffers;
use crate::inode::{Inodes, Key};
use crate::sys::SysTree;
use devlife::Signal;
use devlife_model::{Devt, File, Kernel, NodeKind, WeakNode};
use fuser::{FileHandle, Notifier};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// What a device node's file looks like, fixed when it is first looked up
/// (a node keeps its identity after it is unregistered: `fstat` on a held
/// file still works).
#[derive(Clone)]
pub(crate) struct NodeInfo {
    pub(super) weak: WeakNode,
    pub(super) kind: NodeKind,
    pub(super) devt: Devt,
}

/// An open file of the mount.
pub(crate) enum Handle {
    /// A device node: the model file and the server's view of its buffers.
    Dev(DevHandle),
    /// A sysfs attribute.
    Sys(String),
}

/// An open device node.
///
/// # Invariants
///
/// `file` is the only model file of this FUSE handle; dropping the handle
/// (FUSE RELEASE, after the last close and munmap of the client) drops it,
/// which runs the driver's release. `poller` holds the signal of the thread
/// sleeping in the model's poll for this handle, if any.
pub(crate) struct DevHandle {
    pub(super) file: File,
    pub(super) ino: u64,
    pub(super) kind: NodeKind,
    pub(super) bufs: Buffers,
    pub(super) poller: Mutex<Option<Signal>>,
}

/// State shared by the FUSE workers and the helper threads.
pub(crate) struct Shared {
    pub(crate) kernel: Kernel,
    pub(crate) sys: SysTree,
    pub(super) inodes: Inodes,
    pub(super) nodes: RwLock<HashMap<u64, NodeInfo>>,
    pub(super) handles: RwLock<HashMap<u64, Arc<Handle>>>,
    next_fh: AtomicU64,
    pub(crate) notifier: OnceLock<Notifier>,
    pub(crate) blocking: Blocking,
    pub(super) host_dev: Option<OwnedFd>,
    pub(super) epoch: SystemTime,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

impl Shared {
    pub(crate) fn new(
        kernel: Kernel,
        sys: SysTree,
        host_dev: Option<OwnedFd>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            kernel,
            sys,
            inodes: Inodes::new(),
            nodes: RwLock::new(HashMap::new()),
            handles: RwLock::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            notifier: OnceLock::new(),
            blocking: Blocking::new()?,
            host_dev,
            epoch: SystemTime::now(),
            // SAFETY: getuid/getgid cannot fail and touch no memory.
            uid: unsafe { libc::getuid() },
            // SAFETY: as above.
            gid: unsafe { libc::getgid() },
        })
    }

    /// Files open through the mount right now.
    pub(crate) fn open_handles(&self) -> usize {
        self.handles.read().len()
    }

    /// The inode of the directory `dev/`.
    pub(crate) fn dev_ino(&self) -> u64 {
        self.inodes.ino(Key::Dev)
    }

    /// The inode of the directory `dev/char/`.
    pub(crate) fn dev_char_ino(&self) -> u64 {
        self.inodes.ino(Key::DevChar)
    }

    /// The inode already given to the node with id `id`, if any.
    pub(crate) fn node_ino(&self, id: u64) -> Option<u64> {
        self.inodes.existing(&Key::Node(id))
    }

    pub(super) fn handle(&self, fh: FileHandle) -> Option<Arc<Handle>> {
        self.handles.read().get(&fh.0).cloned()
    }

    pub(super) fn insert(&self, h: Handle) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles.write().insert(fh, Arc::new(h));
        FileHandle(fh)
    }

    pub(super) fn notifier(&self) -> Option<&Notifier> {
        self.notifier.get()
    }
}
