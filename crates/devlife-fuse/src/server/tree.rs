//! The mount's namespace: which inode each name of `dev/`, `dev/char/`,
//! `dev/.host` and `sys/` resolves to, its attributes and directory listings.

use super::state::{NodeInfo, Shared};
use crate::buffers;
use crate::inode::{Key, ROOT};
use crate::sysfs::SysKind;
use devlife_model::{Devt, Node, NodeKind};
use fuser::{Errno, FileAttr, FileType, INodeNo};

impl Shared {
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

    pub(super) fn getattr_ino(&self, ino: u64) -> Result<FileAttr, Errno> {
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
    pub(super) fn lookup_ino(&self, parent: u64, name: &str) -> Result<u64, Errno> {
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

    pub(super) fn node_by_devt(&self, major: u32, minor: u32) -> Option<Node> {
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
    pub(super) fn entries(&self, ino: u64) -> Result<Vec<(u64, FileType, String)>, Errno> {
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
}

fn parse_devt(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
