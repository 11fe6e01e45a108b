//! The FUSE operations: each request of the kernel's FUSE client answered
//! from the namespace ([`super::tree`]), the open files ([`super::state`]) and
//! the model's `File` ([`super::devio`]).

use super::devio::{ioctl_may_sleep, kerr, model_flags};
use super::state::{DevHandle, Handle};
use super::{DevlifeFs, RDEV_XATTR, TTL};
use crate::buffers::Buffers;
use crate::inode::Key;
use crate::sysfs::SysKind;
use devlife_media::uapi::ioctl::IoctlCmd;
use devlife_model::PollMask;
use fuser::{
    Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, InitFlags, IoctlFlags,
    KernelConfig, LockOwner, OpenAccMode, PollEvents, PollFlags, PollNotifier, ReplyAttr,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyOpen, ReplyPoll,
    ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use parking_lot::Mutex;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

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
                s.wait_releases(ino.0);
                match node.open(model_flags(flags.0)) {
                    Ok(file) => {
                        let fh = s.insert(Handle::Dev(DevHandle {
                            file,
                            ino: ino.0,
                            kind: info.kind,
                            bufs: Buffers::default(),
                            poller: Mutex::new(None),
                            flushed: AtomicBool::new(false),
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

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        self.shared.flush(fh.0);
        reply.ok();
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
        self.shared.release(fh.0);
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
