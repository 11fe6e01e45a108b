//! The FUSE filesystem: `dev/` (the live device nodes of one `Kernel`) and
//! `sys/` (the sysfs tree), every file operation the model's `File` operation.
//!
//! Threads: fuser's workers (`clone_fd`, at least two) answer requests that
//! cannot sleep inline; a call that may sleep (read, write, `VIDIOC_DQBUF`,
//! misc-device ioctls, sysfs writes that unbind) runs on a thread of
//! [`Blocking`], which keeps the `Reply*`. Poll registers the kernel's poll
//! handle and a waiter sleeps in the model's poll on the client's behalf.
//! The design is written down in docs/fuse.md.

use crate::blocking::Blocking;
use crate::buffers::{self, Buffers};
use crate::inode::{Inodes, Key, ROOT};
use crate::sys::SysTree;
use crate::sysfs::SysKind;
use crate::usermem::ProcessMemory;
use devlife::Signal;
use devlife_media::uapi::controls::copies_out_on_error;
use devlife_media::uapi::ioctl::{IoctlCmd, with_current_mm};
use devlife_media::uapi::videodev2::{VIDIOC_DQBUF, VIDIOC_DQEVENT};
use devlife_model::{
    Devt, Errno as KErrno, File, Kernel, Node, NodeKind, OpenFlags, PollMask, WeakNode,
};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    IoctlFlags, KernelConfig, LockOwner, Notifier, OpenAccMode, PollEvents, PollFlags,
    PollNotifier, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyIoctl,
    ReplyOpen, ReplyPoll, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// Entries and attributes are never cached: nodes come and go with
/// registration and sysfs attributes change with every bind.
const TTL: Duration = Duration::ZERO;

/// The extended attribute that carries a node's device numbers ("M:m").
pub const RDEV_XATTR: &str = "user.devlife.rdev";

/// What a device node's file looks like, fixed when it is first looked up
/// (a node keeps its identity after it is unregistered: `fstat` on a held
/// file still works).
#[derive(Clone)]
pub(crate) struct NodeInfo {
    weak: WeakNode,
    kind: NodeKind,
    devt: Devt,
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
    file: File,
    ino: u64,
    kind: NodeKind,
    bufs: Buffers,
    poller: Mutex<Option<Signal>>,
}

/// State shared by the FUSE workers and the helper threads.
pub(crate) struct Shared {
    pub(crate) kernel: Kernel,
    pub(crate) sys: SysTree,
    inodes: Inodes,
    nodes: RwLock<HashMap<u64, NodeInfo>>,
    handles: RwLock<HashMap<u64, Arc<Handle>>>,
    next_fh: AtomicU64,
    pub(crate) notifier: OnceLock<Notifier>,
    pub(crate) blocking: Blocking,
    host_dev: Option<OwnedFd>,
    epoch: SystemTime,
    uid: u32,
    gid: u32,
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

    fn node_inode(&self, n: &Node) -> u64 {
        let ino = self.inodes.ino(Key::Node(n.id()));
        self.nodes.write().entry(ino).or_insert_with(|| NodeInfo {
            weak: n.downgrade(),
            kind: n.kind(),
            devt: n.devt(),
        });
        ino
    }

    fn attr(&self, ino: u64, kind: FileType, perm: u16, size: u64, rdev: u32) -> FileAttr {
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: 0,
            atime: self.epoch,
            mtime: self.epoch,
            ctime: self.epoch,
            crtime: self.epoch,
            kind,
            perm,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev,
            blksize: 4096,
            flags: 0,
        }
    }

    fn dir_attr(&self, ino: u64) -> FileAttr {
        self.attr(ino, FileType::Directory, 0o755, 0, 0)
    }

    fn getattr_ino(&self, ino: u64) -> Result<FileAttr, Errno> {
        let key = self.inodes.key(ino).ok_or(Errno::ENOENT)?;
        Ok(match key {
            Key::Root | Key::Dev | Key::DevChar | Key::HostDir => self.dir_attr(ino),
            Key::HostLink(ref n) => self.attr(ino, FileType::Symlink, 0o777, n.len() as u64 + 6, 0),
            Key::CharLink(..) => self.attr(ino, FileType::Symlink, 0o777, 16, 0),
            Key::Node(_) => {
                let info = self.nodes.read().get(&ino).cloned().ok_or(Errno::ENOENT)?;
                let size = if info.kind == NodeKind::Video {
                    buffers::FILE_SIZE
                } else {
                    0
                };
                let rdev = (info.devt.major << 20) | info.devt.minor;
                self.attr(ino, FileType::RegularFile, 0o666, size, rdev)
            }
            Key::Sys(p) => match self.sys.kind(&p).ok_or(Errno::ENOENT)? {
                SysKind::Dir => self.dir_attr(ino),
                SysKind::File { writable } => {
                    // 0200 for write-only attributes (bind, unbind, remove).
                    let perm = self
                        .sys
                        .mode(&p)
                        .and_then(|m| u16::try_from(m).ok())
                        .unwrap_or(if writable { 0o644 } else { 0o444 });
                    self.attr(ino, FileType::RegularFile, perm, 4096, 0)
                }
                SysKind::Symlink(t) => self.attr(ino, FileType::Symlink, 0o777, t.len() as u64, 0),
            },
        })
    }

    /// The inode of `name` in directory `parent`.
    fn lookup_ino(&self, parent: u64, name: &str) -> Result<u64, Errno> {
        let key = self.inodes.key(parent).ok_or(Errno::ENOENT)?;
        match key {
            Key::Root => match name {
                "dev" => Ok(self.inodes.ino(Key::Dev)),
                "sys" => Ok(self.inodes.ino(Key::Sys(String::new()))),
                _ => Err(Errno::ENOENT),
            },
            Key::Dev => {
                if let Some(n) = self.kernel.chrdev().lookup(name)
                    && n.name() == name
                {
                    return Ok(self.node_inode(&n));
                }
                match name {
                    "char" => return Ok(self.inodes.ino(Key::DevChar)),
                    ".host" if self.host_dev.is_some() => {
                        return Ok(self.inodes.ino(Key::HostDir));
                    }
                    _ => {}
                }
                if self.host_has(name) {
                    return Ok(self.inodes.ino(Key::HostLink(name.to_owned())));
                }
                Err(Errno::ENOENT)
            }
            Key::DevChar => {
                let (ma, mi) = parse_devt(name).ok_or(Errno::ENOENT)?;
                self.node_by_devt(ma, mi).ok_or(Errno::ENOENT)?;
                Ok(self.inodes.ino(Key::CharLink(ma, mi)))
            }
            Key::Sys(p) => {
                let child = if p.is_empty() {
                    name.to_owned()
                } else {
                    format!("{p}/{name}")
                };
                self.sys.kind(&child).ok_or(Errno::ENOENT)?;
                Ok(self.inodes.ino(Key::Sys(child)))
            }
            Key::HostDir => Err(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn node_by_devt(&self, major: u32, minor: u32) -> Option<Node> {
        self.kernel
            .chrdev()
            .nodes()
            .into_iter()
            .find(|n| n.devt() == Devt { major, minor })
    }

    /// Names of the host's `/dev` (when `devlife exec` shows it), read live.
    fn host_names(&self) -> Vec<String> {
        let Some(fd) = &self.host_dev else {
            return Vec::new();
        };
        let Ok(dup) = fd.try_clone() else {
            return Vec::new();
        };
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&dup));
        let mut v: Vec<String> = match std::fs::read_dir(&path) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }

    fn host_has(&self, name: &str) -> bool {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return false;
        }
        let Some(fd) = &self.host_dev else {
            return false;
        };
        let path = format!(
            "/proc/self/fd/{}/{name}",
            std::os::fd::AsRawFd::as_raw_fd(fd)
        );
        std::fs::symlink_metadata(path).is_ok()
    }

    /// Every entry of directory `ino`: (inode, type, name).
    fn entries(&self, ino: u64) -> Result<Vec<(u64, FileType, String)>, Errno> {
        let key = self.inodes.key(ino).ok_or(Errno::ENOENT)?;
        let mut v = vec![(ino, FileType::Directory, ".".to_owned())];
        match key {
            Key::Root => {
                v.push((ROOT, FileType::Directory, "..".into()));
                v.push((self.inodes.ino(Key::Dev), FileType::Directory, "dev".into()));
                let s = self.inodes.ino(Key::Sys(String::new()));
                v.push((s, FileType::Directory, "sys".into()));
            }
            Key::Dev => {
                v.push((ROOT, FileType::Directory, "..".into()));
                let mut nodes = self.kernel.chrdev().nodes();
                nodes.sort_by(|a, b| a.name().cmp(b.name()));
                let mut names = std::collections::HashSet::new();
                for n in &nodes {
                    names.insert(n.name().to_owned());
                    v.push((
                        self.node_inode(n),
                        FileType::RegularFile,
                        n.name().to_owned(),
                    ));
                }
                v.push((
                    self.inodes.ino(Key::DevChar),
                    FileType::Directory,
                    "char".into(),
                ));
                if self.host_dev.is_some() {
                    let h = self.inodes.ino(Key::HostDir);
                    v.push((h, FileType::Directory, ".host".into()));
                    for name in self.host_names() {
                        if names.contains(&name) || name == "char" {
                            continue;
                        }
                        let i = self.inodes.ino(Key::HostLink(name.clone()));
                        v.push((i, FileType::Symlink, name));
                    }
                }
            }
            Key::DevChar => {
                v.push((self.inodes.ino(Key::Dev), FileType::Directory, "..".into()));
                let mut nodes = self.kernel.chrdev().nodes();
                nodes.sort_by_key(|n| n.devt());
                for n in nodes {
                    let d = n.devt();
                    let i = self.inodes.ino(Key::CharLink(d.major, d.minor));
                    v.push((i, FileType::Symlink, d.to_string()));
                }
            }
            Key::HostDir => {
                v.push((self.inodes.ino(Key::Dev), FileType::Directory, "..".into()));
            }
            Key::Sys(p) => {
                let parent = match p.rsplit_once('/') {
                    Some((pp, _)) => self.inodes.ino(Key::Sys(pp.to_owned())),
                    None if p.is_empty() => ROOT,
                    None => self.inodes.ino(Key::Sys(String::new())),
                };
                v.push((parent, FileType::Directory, "..".into()));
                for (name, kind) in self.sys.list(&p).map_err(|e| Errno::from_i32(e.0))? {
                    let child = if p.is_empty() {
                        name.clone()
                    } else {
                        format!("{p}/{name}")
                    };
                    let t = match kind {
                        SysKind::Dir => FileType::Directory,
                        SysKind::File { .. } => FileType::RegularFile,
                        SysKind::Symlink(_) => FileType::Symlink,
                    };
                    v.push((self.inodes.ino(Key::Sys(child)), t, name));
                }
            }
            _ => return Err(Errno::ENOTDIR),
        }
        Ok(v)
    }

    fn handle(&self, fh: FileHandle) -> Option<Arc<Handle>> {
        self.handles.read().get(&fh.0).cloned()
    }

    fn insert(&self, h: Handle) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles.write().insert(fh, Arc::new(h));
        FileHandle(fh)
    }

    fn notifier(&self) -> Option<&Notifier> {
        self.notifier.get()
    }
}

fn parse_devt(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn kerr(e: KErrno) -> Errno {
    Errno::from_i32(e.0)
}

fn model_flags(flags: i32) -> OpenFlags {
    let nonblock = flags & libc::O_NONBLOCK != 0;
    let (read, write) = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => (true, false),
        libc::O_WRONLY => (false, true),
        _ => (true, true),
    };
    OpenFlags {
        read,
        write,
        nonblock,
    }
}

/// Whether a call on this node may sleep (it then runs off the FUSE workers).
fn ioctl_may_sleep(kind: NodeKind, cmd: u32) -> bool {
    match kind {
        NodeKind::Video => cmd == VIDIOC_DQBUF || cmd == VIDIOC_DQEVENT,
        NodeKind::Misc | NodeKind::Char => true,
        NodeKind::Subdev | NodeKind::Media | NodeKind::Audio => false,
    }
}

/// The FUSE filesystem of one kernel.
pub(crate) struct DevlifeFs {
    pub(crate) shared: Arc<Shared>,
}

impl DevlifeFs {
    fn run_ioctl(
        shared: &Shared,
        h: &DevHandle,
        pid: u32,
        cmd: u32,
        mut arg: Vec<u8>,
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let mm = Arc::new(ProcessMemory::new(pid));
        let r = with_current_mm(mm, || h.file.ioctl(cmd, &mut arg));
        match r {
            Ok(ret) => {
                if h.kind == NodeKind::Video
                    && let Some(n) = shared.notifier()
                {
                    h.bufs.after_ioctl(&h.file, n, h.ino, cmd, &mut arg);
                }
                let out = (out_size as usize).min(arg.len());
                reply.ioctl(i32::try_from(ret).unwrap_or(i32::MAX), &arg[..out]);
            }
            // `*_EXT_CTRLS` report `error_idx` on failure: the argument is
            // copied out with a negative result (FUSE returns the result
            // after copying the data, as `video_usercopy` does).
            Err(e) if copies_out_on_error(cmd) => {
                let out = (out_size as usize).min(arg.len());
                reply.ioctl(-e.raw(), &arg[..out]);
            }
            Err(e) => reply.error(kerr(e)),
        }
    }

    fn read_node(h: &DevHandle, size: u32, reply: ReplyData) {
        let mut buf = vec![0u8; size as usize];
        match h.file.read(&mut buf) {
            Ok(n) => reply.data(&buf[..n.min(buf.len())]),
            Err(e) => reply.error(kerr(e)),
        }
    }

    /// Starts (if none is running) a thread sleeping in the model's poll for
    /// `h`; when it wakes (ready, unplug, or cancelled at release) it notifies
    /// the kernel's poll handle.
    fn arm_poller(h: &Arc<Handle>, events: PollMask, ph: PollNotifier) {
        let Handle::Dev(d) = &**h else { return };
        let mut slot = d.poller.lock();
        if slot.is_some() {
            return;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Signal>(1);
        let h2 = h.clone();
        let r = std::thread::Builder::new()
            .name("fuse-poll".into())
            .spawn(move || {
                let _ = tx.send(devlife_model::current_signal());
                let Handle::Dev(d) = &*h2 else { return };
                let _ = d.file.poll(events, None);
                *d.poller.lock() = None;
                let _ = ph.notify();
            });
        if r.is_ok()
            && let Ok(sig) = rx.recv()
        {
            *slot = Some(sig);
        }
    }
}

impl Filesystem for DevlifeFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // MAP_SHARED on a direct-I/O file (video nodes: read() must reach the
        // driver, mmap must see stored frames). See docs/fuse.md ("mmap").
        let _ = config.add_capabilities(InitFlags::FUSE_DIRECT_IO_ALLOW_MMAP);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str() else {
            return reply.error(Errno::ENOENT);
        };
        match self
            .shared
            .lookup_ino(parent.0, name)
            .and_then(|i| self.shared.getattr_ino(i))
        {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.shared.getattr_ino(ino.0) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        _size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // `echo x > attr` truncates first (O_TRUNC): like sysfs and device
        // files, nothing changes and the attributes are returned.
        match self.shared.getattr_ino(ino.0) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let s = &self.shared;
        match s.inodes.key(ino.0) {
            Some(Key::HostLink(n)) => reply.data(format!(".host/{n}").as_bytes()),
            Some(Key::CharLink(ma, mi)) => match s.node_by_devt(ma, mi) {
                Some(n) => reply.data(format!("../{}", n.name()).as_bytes()),
                None => reply.error(Errno::ENOENT),
            },
            Some(Key::Sys(p)) => match s.sys.kind(&p) {
                Some(SysKind::Symlink(t)) => reply.data(t.as_bytes()),
                Some(_) => reply.error(Errno::EINVAL),
                None => reply.error(Errno::ENOENT),
            },
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: fuser::OpenFlags, reply: ReplyOpen) {
        let s = &self.shared;
        match s.inodes.key(ino.0) {
            Some(Key::Node(_)) => {
                let Some(info) = s.nodes.read().get(&ino.0).cloned() else {
                    return reply.error(Errno::ENOENT);
                };
                // The node's memory is gone (unregistered and released while
                // this inode was cached): the character device no longer
                // exists, which `chrdev_open` answers with ENXIO.
                let Some(node) = info.weak.upgrade() else {
                    return reply.error(Errno::ENXIO);
                };
                match node.open(model_flags(flags.0)) {
                    Ok(file) => {
                        let fh = s.insert(Handle::Dev(DevHandle {
                            file,
                            ino: ino.0,
                            kind: info.kind,
                            bufs: Buffers::default(),
                            poller: Mutex::new(None),
                        }));
                        reply.opened(
                            fh,
                            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_KEEP_CACHE,
                        );
                    }
                    Err(e) => reply.error(kerr(e)),
                }
            }
            Some(Key::Sys(p)) => match s.sys.kind(&p) {
                Some(SysKind::File { writable }) => {
                    // kernfs refuses the open itself (even to root): writing
                    // an attribute without a store, reading one without a show.
                    let readable = s.sys.mode(&p).is_some_and(|m| m & 0o444 != 0);
                    let acc = flags.acc_mode();
                    if (!writable && acc != OpenAccMode::O_RDONLY)
                        || (!readable && acc != OpenAccMode::O_WRONLY)
                    {
                        return reply.error(Errno::EACCES);
                    }
                    let fh = s.insert(Handle::Sys(p));
                    reply.opened(fh, FopenFlags::FOPEN_DIRECT_IO);
                }
                Some(SysKind::Dir) => reply.error(Errno::EISDIR),
                Some(SysKind::Symlink(_)) => reply.error(Errno::ELOOP),
                None => reply.error(Errno::ENOENT),
            },
            Some(Key::Root | Key::Dev | Key::DevChar | Key::HostDir) => reply.error(Errno::EISDIR),
            Some(_) => reply.error(Errno::ELOOP),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: fuser::OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(h) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        match &*h {
            Handle::Sys(p) => match self.shared.sys.read(p) {
                Ok(data) => {
                    let start = (offset as usize).min(data.len());
                    let end = start.saturating_add(size as usize).min(data.len());
                    reply.data(&data[start..end]);
                }
                Err(e) => reply.error(Errno::from_i32(e.0)),
            },
            Handle::Dev(d) => {
                // A page fault on a mapped buffer: the server's copy.
                if let Some(data) = d.bufs.read(offset, size) {
                    return reply.data(&data);
                }
                if d.file.flags().nonblock {
                    return Self::read_node(d, size, reply);
                }
                let h2 = h.clone();
                self.shared.blocking.spawn(req.pid(), move || {
                    if let Handle::Dev(d) = &*h2 {
                        Self::read_node(d, size, reply);
                    }
                });
            }
        }
    }

    fn write(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: fuser::OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let Some(h) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let data = data.to_vec();
        let shared = self.shared.clone();
        let run = move || match &*h {
            Handle::Sys(p) => match shared.sys.write(p, &data) {
                Ok(n) => reply.written(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => reply.error(Errno::from_i32(e.0)),
            },
            Handle::Dev(d) => match d.file.write(&data) {
                Ok(n) => reply.written(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => reply.error(kerr(e)),
            },
        };
        // Writes may sleep (a sysfs unbind drains calls in flight).
        self.shared.blocking.spawn(req.pid(), run);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: fuser::OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let h = self.shared.handles.write().remove(&fh.0);
        if let Some(h) = &h
            && let Handle::Dev(d) = &**h
            && let Some(sig) = d.poller.lock().take()
        {
            // The poll waiter holds the handle: interrupt it so that the
            // model file (and the driver's release) goes now.
            sig.raise();
        }
        drop(h);
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.shared.entries(ino.0) {
            Ok(v) => {
                for (i, (ino, kind, name)) in v.into_iter().enumerate().skip(offset as usize) {
                    if reply.add(INodeNo(ino), (i + 1) as u64, kind, &name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        if name.as_bytes() != RDEV_XATTR.as_bytes() {
            return reply.error(Errno::from_i32(libc::ENODATA));
        }
        let Some(info) = self.shared.nodes.read().get(&ino.0).cloned() else {
            return reply.error(Errno::from_i32(libc::ENODATA));
        };
        let v = info.devt.to_string();
        if size == 0 {
            reply.size(v.len() as u32);
        } else if (size as usize) < v.len() {
            reply.error(Errno::from_i32(libc::ERANGE));
        } else {
            reply.data(v.as_bytes());
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let v: Vec<u8> = if self.shared.nodes.read().contains_key(&ino.0) {
            let mut v = RDEV_XATTR.as_bytes().to_vec();
            v.push(0);
            v
        } else {
            Vec::new()
        };
        if size == 0 {
            reply.size(v.len() as u32);
        } else if (size as usize) < v.len() {
            reply.error(Errno::from_i32(libc::ERANGE));
        } else {
            reply.data(&v);
        }
    }

    fn ioctl(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        flags: IoctlFlags,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let Some(h) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Dev(d) = &*h else {
            return reply.error(Errno::ENOTTY);
        };
        if flags.contains(IoctlFlags::FUSE_IOCTL_COMPAT) {
            // 32-bit callers have other struct layouts.
            return reply.error(Errno::ENOTTY);
        }
        let size = IoctlCmd(cmd).size();
        let mut arg = vec![0u8; size];
        let n = in_data.len().min(size);
        arg[..n].copy_from_slice(&in_data[..n]);
        let pid = req.pid();
        if ioctl_may_sleep(d.kind, cmd) {
            let shared = self.shared.clone();
            let h2 = h.clone();
            self.shared.blocking.spawn(pid, move || {
                if let Handle::Dev(d) = &*h2 {
                    Self::run_ioctl(&shared, d, pid, cmd, arg, out_size, reply);
                }
            });
        } else {
            Self::run_ioctl(&self.shared, d, pid, cmd, arg, out_size, reply);
        }
    }

    fn poll(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        ph: PollNotifier,
        events: PollEvents,
        flags: PollFlags,
        reply: ReplyPoll,
    ) {
        let Some(h) = self.shared.handle(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Handle::Dev(d) = &*h else {
            // sysfs attributes are always ready (no sysfs_notify here).
            return reply.poll(PollEvents::POLLIN | PollEvents::POLLOUT | PollEvents::POLLRDNORM);
        };
        let want = PollMask(events.bits());
        match d.file.poll(want, Some(Duration::ZERO)) {
            Ok(m) => {
                if m.is_empty() && flags.contains(PollFlags::FUSE_POLL_SCHEDULE_NOTIFY) {
                    Self::arm_poller(&h, want, ph);
                }
                reply.poll(PollEvents::from_bits_truncate(m.0));
            }
            Err(e) => reply.error(kerr(e)),
        }
    }
}
