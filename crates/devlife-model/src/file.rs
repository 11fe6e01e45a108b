//! Open files ([`File`]) and memory mappings ([`Mapping`]).
//!
//! A [`File`] is a userspace file descriptor: `dup` gives another handle to
//! the same open file description, and `release` runs once, when the last
//! handle *and* the last mapping of the file are gone (a mapping keeps its
//! file, as `vma->vm_file` does). Both keep the node (and so its memory and
//! its ops' driver data) alive. Dropping a handle closes it.

use crate::activity::BlockKind;
use crate::chrdev::Node;
use crate::errno::{Errno, KResult};
use crate::fops::{
    AnyPrivate, EventQueue, MmapRequest, OpenFlags, PollMask, PollTable, ReleaseCtx, VmOps, Waiter,
};
use crate::module::ModuleRef;
use devlife::check::{EventKind, LiveToken};
use devlife::{WaitError, WaitOptions};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// One open file description (`struct file`).
///
/// # Invariants
///
/// `private` is `Some` until `Drop`, where it is handed to the ops' `release`
/// exactly once.
pub(crate) struct FileShared {
    id: u64,
    node: Node,
    flags: OpenFlags,
    private: Option<AnyPrivate>,
    _live: LiveToken,
    // Dropped after `release` ran (fields drop after `Drop::drop`).
    _module: Option<ModuleRef>,
}

impl FileShared {
    pub(crate) fn new(
        node: Node,
        flags: OpenFlags,
        private: AnyPrivate,
        module: Option<ModuleRef>,
    ) -> Arc<Self> {
        let m = &node.shared().monitor;
        let id = m.next_id();
        m.journal()
            .record_named(id, node.name(), EventKind::Alloc, Some("open"));
        node.inner.open_files.fetch_add(1, Ordering::AcqRel);
        Arc::new(Self {
            id,
            _live: m.live("file"),
            node,
            flags,
            private: Some(private),
            _module: module,
        })
    }
}

impl Drop for FileShared {
    fn drop(&mut self) {
        if let Some(p) = self.private.take() {
            let ctx = ReleaseCtx {
                node: &self.node,
                file_id: self.id,
                flags: self.flags,
            };
            crate::stop::point(crate::stop::RELEASE_BEGIN);
            self.node.inner.ops.release(&ctx, p);
            crate::stop::point(crate::stop::RELEASE_DONE);
        }
        self.node.inner.open_files.fetch_sub(1, Ordering::AcqRel);
        self.node.shared().monitor.journal().record_named(
            self.id,
            self.node.name(),
            EventKind::Release,
            Some("file"),
        );
    }
}

/// A handle to an open file (a file descriptor). Dropping it closes it.
///
/// ```
/// use devlife_model::{Kernel, testdrv::{self, Style}};
/// let k = Kernel::new();
/// let t = testdrv::setup(&k, Style::Framework).unwrap();
/// let f = k.open(&t.node_name(), Default::default()).unwrap();
/// let g = f.dup();
/// drop(f);                 // not the last handle: no release
/// assert_eq!(t.node().unwrap().open_files(), 1);
/// drop(g);                 // last handle: release runs
/// assert_eq!(t.node().unwrap().open_files(), 0);
/// ```
pub struct File {
    shared: Arc<FileShared>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("id", &self.shared.id)
            .field("node", &self.shared.node.name())
            .finish()
    }
}

impl File {
    pub(crate) fn from_shared(shared: Arc<FileShared>) -> Self {
        Self { shared }
    }

    /// Journal id of the open file description.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The node this file was opened on (kept alive by the file).
    pub fn node(&self) -> &Node {
        &self.shared.node
    }

    /// The flags the file was opened with.
    pub fn flags(&self) -> OpenFlags {
        self.shared.flags
    }

    /// `dup(2)`: another handle to the same open file.
    pub fn dup(&self) -> File {
        File {
            shared: self.shared.clone(),
        }
    }

    /// Handles and mappings referring to this open file.
    pub fn refs(&self) -> usize {
        Arc::strong_count(&self.shared)
    }

    /// `close(2)` of this handle (release runs if it was the last reference).
    pub fn close(self) {}

    fn private(&self) -> KResult<&(dyn std::any::Any + Send + Sync)> {
        self.shared.private.as_deref().ok_or(Errno::EBADF)
    }

    /// `read(2)`.
    pub fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        if !self.shared.flags.read {
            return Err(Errno::EBADF);
        }
        let p = self.private()?;
        let n = &self.shared.node;
        n.call("read", self.shared.flags, self.shared.id, |ctx| {
            n.inner.ops.read(ctx, p, buf)
        })
    }

    /// `write(2)`.
    pub fn write(&self, buf: &[u8]) -> KResult<usize> {
        if !self.shared.flags.write {
            return Err(Errno::EBADF);
        }
        let p = self.private()?;
        let n = &self.shared.node;
        n.call("write", self.shared.flags, self.shared.id, |ctx| {
            n.inner.ops.write(ctx, p, buf)
        })
    }

    /// `ioctl(2)` with an in/out argument buffer. Kernel-internal errnos are
    /// mapped to what userspace sees (`ENOIOCTLCMD` becomes `ENOTTY`).
    pub fn ioctl(&self, cmd: u32, arg: &mut [u8]) -> KResult<i64> {
        let p = self.private()?;
        let n = &self.shared.node;
        let label = n.inner.ops.ioctl_name(cmd);
        n.call(label, self.shared.flags, self.shared.id, |ctx| {
            n.inner.ops.ioctl(ctx, p, cmd, arg)
        })
        .map_err(Errno::to_user)
    }

    /// `poll(2)` on this file for `events`: returns the ready events (plus
    /// `ERR`/`HUP`/`NVAL`, always reported). `timeout`: `None` waits forever,
    /// `Some(ZERO)` only checks. An expired timeout returns an empty mask; a
    /// signal gives `EINTR`. After unplug it returns the node's poll mask
    /// (ERR|HUP, plus PRI on video nodes), also to a sleeping poller.
    pub fn poll(&self, events: PollMask, timeout: Option<Duration>) -> KResult<PollMask> {
        let p = self.private()?;
        let n = &self.shared.node;
        let gone = n.policy().poll;
        let want = events | PollMask::ERR | PollMask::HUP | PollMask::NVAL;
        let r = n.call("poll", self.shared.flags, self.shared.id, |ctx| {
            let mut table = PollTable {
                queues: Vec::new(),
                active: true,
                requested: Some(events),
            };
            let m = n.inner.ops.poll(ctx, p, &mut table);
            // Once the node is unplugging, every poller gets the node's gone
            // mask, whatever the driver's own poll says about its dead state
            // (a woken sleeper answers like a fresh poll).
            if ctx.is_unplugging() {
                return Ok(gone);
            }
            if m.intersects(want) || timeout == Some(Duration::ZERO) {
                return Ok(m & want);
            }
            let qs: Vec<&EventQueue> = table.queues.iter().map(|q| &**q).collect();
            let waiter = Waiter::new(n.op_gate(), &qs);
            let signal = crate::activity::current_signal();
            let opts = WaitOptions {
                timeout,
                signal: Some(&signal),
            };
            let _b = n.shared().activity.block(BlockKind::Wait, n.name());
            let r = waiter.wq.wait_until(ctx.access, opts, || {
                if ctx.is_unplugging() {
                    return Some(gone);
                }
                let mut t = PollTable {
                    requested: Some(events),
                    ..PollTable::default()
                };
                let m = n.inner.ops.poll(ctx, p, &mut t);
                m.intersects(want).then_some(m & want)
            });
            match r {
                Ok(m) => Ok(m),
                Err(WaitError::TimedOut) => Ok(PollMask::NONE),
                Err(WaitError::Interrupted) => Err(Errno::EINTR),
                Err(WaitError::Gone) => Ok(gone),
            }
        });
        match r {
            Err(e) if e == n.policy().errno_for("poll") && n.is_unplugged() => Ok(gone),
            r => r,
        }
    }

    /// `mmap(2)`. The mapping keeps this open file (and so the node) alive.
    pub fn mmap(&self, req: MmapRequest) -> KResult<Mapping> {
        if req.len == 0 {
            return Err(Errno::EINVAL);
        }
        if req.write && !self.shared.flags.write {
            return Err(Errno::EACCES);
        }
        let p = self.private()?;
        let n = &self.shared.node;
        let vm = n.call("mmap", self.shared.flags, self.shared.id, |ctx| {
            n.inner.ops.mmap(ctx, p, &req)
        })?;
        if vm.len() < req.len {
            vm.close();
            return Err(Errno::EINVAL);
        }
        let m = &n.shared().monitor;
        let id = m.next_id();
        m.journal()
            .record_named(id, n.name(), EventKind::Alloc, Some("mmap"));
        Ok(Mapping {
            id,
            len: req.len,
            write: req.write,
            vm,
            _live: m.live("mapping"),
            file: self.shared.clone(),
        })
    }
}

/// A memory mapping of a file (`vm_area_struct`). Dropping it unmaps it:
/// `vm_close` runs (no I/O), then the file reference is dropped, which may
/// run the file's `release`.
pub struct Mapping {
    id: u64,
    len: usize,
    write: bool,
    vm: Arc<dyn VmOps>,
    _live: LiveToken,
    file: Arc<FileShared>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("node", &self.file.node.name())
            .finish()
    }
}

impl Mapping {
    /// Length of the mapping, in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the mapping is empty (never: `mmap` refuses length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The node of the mapped file.
    pub fn node(&self) -> &Node {
        &self.file.node
    }
    /// Loads bytes from the mapping (a memory access: works after unplug).
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> KResult<()> {
        if offset.checked_add(buf.len()).is_none_or(|e| e > self.len) {
            return Err(Errno::EFAULT);
        }
        self.vm.read(offset, buf)
    }
    /// Stores bytes into the mapping (`EFAULT` on a read-only mapping).
    pub fn write(&self, offset: usize, data: &[u8]) -> KResult<()> {
        if !self.write || offset.checked_add(data.len()).is_none_or(|e| e > self.len) {
            return Err(Errno::EFAULT);
        }
        self.vm.write(offset, data)
    }
    /// `munmap(2)`.
    pub fn munmap(self) {}
}

impl Drop for Mapping {
    fn drop(&mut self) {
        self.vm.close();
        self.file.node.shared().monitor.journal().record_named(
            self.id,
            self.file.node.name(),
            EventKind::Release,
            Some("munmap"),
        );
    }
}
