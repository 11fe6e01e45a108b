//! The server's state: the open files of the mount and what each device
//! node's file looks like, shared by the FUSE workers and the helper threads.

use crate::blocking::Blocking;
use crate::buffers::Buffers;
use crate::inode::{Inodes, Key};
use crate::sys::SysTree;
use devlife::Signal;
use devlife_model::{Devt, File, Kernel, NodeKind, PollMask, WeakNode};
use fuser::{FileHandle, Notifier};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;
use std::time::{Duration, Instant};

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
/// which runs the driver's release. `poller` is the thread sleeping in the
/// model's poll for this handle, if any.
pub(crate) struct DevHandle {
    pub(super) file: File,
    pub(super) ino: u64,
    pub(super) kind: NodeKind,
    pub(super) bufs: Buffers,
    pub(super) poller: Mutex<Option<Poller>>,
    /// Set by FUSE FLUSH (a `close()` of one of the client's descriptors of
    /// this file); the next OPEN of the node waits a little for this file's
    /// RELEASE (see [`Shared::wait_releases`]).
    pub(super) flushed: AtomicBool,
}

/// A thread sleeping in the model's poll on a client's behalf until one of
/// `events` is ready (then it sends the kernel's poll notification).
///
/// # Invariants
///
/// `generation` is unique among the pollers of a handle: a thread that
/// finishes clears the slot only if it still holds its own poller.
pub(crate) struct Poller {
    pub(super) sig: Signal,
    pub(super) events: PollMask,
    pub(super) generation: u64,
    /// This poller's thread and those of the pollers it replaced: joined at
    /// FUSE RELEASE, so that the model file is released before the reply.
    pub(super) threads: Vec<std::thread::JoinHandle<()>>,
}

/// The generation of the next [`Poller`].
pub(super) static POLLER_GEN: AtomicU64 = AtomicU64::new(0);

/// How long an OPEN waits for the RELEASE of a file of the same node that
/// the client has FLUSHed (closed a descriptor of) but may still hold
/// through another descriptor. A RELEASE that comes follows its FLUSH within
/// microseconds unless the machine is overloaded.
const FLUSHED_GRACE: Duration = Duration::from_millis(500);

/// State shared by the FUSE workers and the helper threads.
pub(crate) struct Shared {
    pub(crate) kernel: Kernel,
    pub(crate) sys: SysTree,
    pub(super) inodes: Inodes,
    pub(super) nodes: RwLock<HashMap<u64, NodeInfo>>,
    pub(super) handles: RwLock<HashMap<u64, Arc<Handle>>>,
    /// FUSE RELEASEs in progress per device inode (see [`Shared::wait_releases`]).
    releasing: Mutex<HashMap<u64, usize>>,
    released: Condvar,
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
            releasing: Mutex::new(HashMap::new()),
            released: Condvar::new(),
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

    /// Waits until no FUSE RELEASE of device inode `ino` is in progress and
    /// no file of it that the client has closed is still waiting for its
    /// RELEASE.
    ///
    /// The kernel sends RELEASE in the background: `close()` returns before
    /// the server has even read it, let alone released the model file (which
    /// may stop a stream). A client that closes and reopens a node (as
    /// v4l2-compliance does between tests) would otherwise find the queue
    /// still owned by its old file. On Linux the last `close()` releases the
    /// file before it returns; waiting here at the next open of the same
    /// node gives the client that order back.
    ///
    /// Two marks tell that a RELEASE is coming: a RELEASE being served
    /// (counted in `releasing`), and a file FLUSHed but not yet released.
    /// FLUSH is synchronous (the client's `close()` waits for its reply), so
    /// the mark is set before the client can send the next OPEN, whichever
    /// server thread reads the RELEASE and however late it runs. A FLUSH
    /// also comes when a client closes one of several descriptors of a
    /// file (a `dup`): that file stays open, so the wait for flushed files
    /// is bounded by [`FLUSHED_GRACE`], after which their marks are cleared.
    pub(super) fn wait_releases(&self, ino: u64) {
        let deadline = Instant::now() + FLUSHED_GRACE;
        let mut r = self.releasing.lock();
        loop {
            if r.get(&ino).is_some_and(|&n| n > 0) {
                self.released.wait(&mut r);
                continue;
            }
            let flushed = self.flushed_files(ino);
            if flushed.is_empty() {
                return;
            }
            if self.released.wait_until(&mut r, deadline).timed_out() {
                // Still open after the grace period: closed through one
                // descriptor, open through another.
                for h in self.flushed_files(ino) {
                    if let Handle::Dev(d) = &*h {
                        d.flushed.store(false, Ordering::Relaxed);
                    }
                }
                return;
            }
        }
    }

    /// The open files of device inode `ino` whose client has FLUSHed them.
    fn flushed_files(&self, ino: u64) -> Vec<Arc<Handle>> {
        self.handles
            .read()
            .values()
            .filter(|h| matches!(&***h, Handle::Dev(d) if d.ino == ino && d.flushed.load(Ordering::Acquire)))
            .cloned()
            .collect()
    }

    /// FUSE FLUSH of handle `fh`: marks the file closed by one of the
    /// client's descriptors (see [`Shared::wait_releases`]).
    pub(super) fn flush(&self, fh: u64) {
        if let Some(h) = self.handles.read().get(&fh)
            && let Handle::Dev(d) = &**h
        {
            d.flushed.store(true, Ordering::Release);
        }
    }

    /// FUSE RELEASE of handle `fh`: drops it (the model file and the
    /// driver's release go with it) before returning, interrupting and
    /// joining its poll waiter, which holds it too.
    pub(super) fn release(&self, fh: u64) {
        // Counted as releasing before the handle leaves the table, so that an
        // OPEN never sees neither the count nor the flushed file.
        let ino = match self.handles.read().get(&fh).map(|h| &**h) {
            Some(Handle::Dev(d)) => Some(d.ino),
            _ => None,
        };
        if let Some(ino) = ino {
            *self.releasing.lock().entry(ino).or_insert(0) += 1;
        }
        let h = self.handles.write().remove(&fh);
        if let Some(h) = &h
            && let Handle::Dev(d) = &**h
        {
            let p = d.poller.lock().take();
            if let Some(p) = p {
                p.sig.raise();
                for t in p.threads {
                    let _ = t.join();
                }
            }
        }
        drop(h);
        if let Some(ino) = ino {
            let mut r = self.releasing.lock();
            if let Some(n) = r.get_mut(&ino) {
                *n -= 1;
                if *n == 0 {
                    r.remove(&ino);
                }
            }
            self.released.notify_all();
        }
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
