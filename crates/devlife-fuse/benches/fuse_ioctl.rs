//! VIDIOC_QUERYCAP round trips through devlife-fuse against the same ioctl
//! answered by a bare fuser server with no model behind it, both measured in
//! one run (interleaved rounds, best round of each), at 1 and 2 client
//! threads; and ioctls per second on one node with 2 clients.
//!
//! `cargo bench -p devlife-fuse --bench fuse_ioctl [-- --quick]` (root and
//! /dev/fuse needed). Prints a table, then `name value unit` lines for
//! `scripts/bench`. Results: docs/benchmarks.md ("FUSE front end").

use devlife_fuse::sys::SysTree;
use devlife_fuse::{Mounted, ServeOptions};
use devlife_harness::stress::{Instance, Style, target};
use devlife_media::uapi::videodev2::VIDIOC_QUERYCAP;
use devlife_model::Kernel;
use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    IoctlFlags, MountOption, ReplyAttr, ReplyEntry, ReplyIoctl, ReplyOpen, Request, Session,
    SessionACL,
};
use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, UNIX_EPOCH};

const THREADS: usize = 2;

/// A server with one file, `video0`, whose every ioctl answers 104 bytes.
struct Bare;

fn attr(ino: u64, kind: FileType) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind,
        perm: 0o666,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl Filesystem for Bare {
    fn lookup(&self, _r: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent.0 == 1 && name == "video0" {
            reply.entry(
                &Duration::ZERO,
                &attr(2, FileType::RegularFile),
                Generation(0),
            );
        } else {
            reply.error(Errno::ENOENT);
        }
    }
    fn getattr(&self, _r: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let kind = if ino.0 == 1 {
            FileType::Directory
        } else {
            FileType::RegularFile
        };
        reply.attr(&Duration::ZERO, &attr(ino.0, kind));
    }
    fn open(&self, _r: &Request, _ino: INodeNo, _f: fuser::OpenFlags, reply: ReplyOpen) {
        reply.opened(FileHandle(1), FopenFlags::FOPEN_DIRECT_IO);
    }
    fn ioctl(
        &self,
        _r: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: IoctlFlags,
        _cmd: u32,
        _in: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let out = [0u8; 104];
        reply.ioctl(0, &out[..(out_size as usize).min(104)]);
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("devlife-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("bench dir");
    d
}

/// Runs `clients` threads, each doing `n` QUERYCAPs on its own fd of
/// `path`; returns the wall time.
fn round(path: &Path, clients: usize, n: usize) -> Duration {
    let files: Vec<std::fs::File> = (0..clients)
        .map(|_| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .expect("open node")
        })
        .collect();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = files
        .into_iter()
        .map(|f| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                let mut cap = [0u8; 104];
                b.wait();
                for _ in 0..n {
                    // SAFETY: QUERYCAP writes 104 bytes into `cap`, which is
                    // 104 bytes long; `f` is an open file.
                    let r = unsafe {
                        libc::ioctl(f.as_raw_fd(), VIDIOC_QUERYCAP as _, cap.as_mut_ptr())
                    };
                    assert_eq!(r, 0, "QUERYCAP failed");
                }
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    barrier.wait();
    let el = t0.elapsed();
    for h in handles {
        h.join().expect("client thread");
    }
    el
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if !Path::new("/dev/fuse").exists() || !is_root() {
        eprintln!("fuse_ioctl: needs root and /dev/fuse; skipped");
        return;
    }
    let (n, rounds) = if quick { (5_000, 3) } else { (50_000, 7) };

    let kernel = Kernel::new();
    let inst: Arc<dyn Instance> = Arc::from(
        target("vimc")
            .expect("vimc target")
            .register(&kernel, Style::Framework)
            .expect("vimc binds"),
    );
    let ddir = tmpdir("devlife");
    let mut devlife = Mounted::mount(
        &ddir,
        kernel.clone(),
        SysTree::new(kernel.clone(), vec![inst]),
        ServeOptions {
            threads: THREADS,
            ..ServeOptions::default()
        },
    )
    .expect("mount devlife-fuse");

    let bdir = tmpdir("bare");
    let mut cfg = Config::default();
    cfg.mount_options = vec![MountOption::FSName("bare".into())];
    cfg.acl = SessionACL::All;
    cfg.n_threads = Some(THREADS);
    cfg.clone_fd = true;
    let session = Session::new(Bare, &bdir, &cfg).expect("mount bare server");
    let bare = session.spawn().expect("bare server thread");

    let dnode = ddir.join("dev/video2");
    let bnode = bdir.join("video0");
    println!(
        "VIDIOC_QUERYCAP round trip, {THREADS} server threads, {n} calls per client, best of {rounds} interleaved rounds"
    );
    println!(
        "{:<8} {:>14} {:>14} {:>8}",
        "clients", "devlife ns/op", "bare ns/op", "ratio"
    );
    let mut lines = Vec::new();
    let mut rate_2c = 0.0;
    for clients in [1usize, 2] {
        let (mut best_d, mut best_b) = (Duration::MAX, Duration::MAX);
        let _ = round(&dnode, clients, n / 10);
        let _ = round(&bnode, clients, n / 10);
        for _ in 0..rounds {
            best_d = best_d.min(round(&dnode, clients, n));
            best_b = best_b.min(round(&bnode, clients, n));
        }
        // Per-call latency seen by one client (clients run in parallel).
        let per = |d: Duration| d.as_nanos() as f64 / n as f64;
        let ratio = per(best_d) / per(best_b);
        println!(
            "{clients:<8} {:>14.0} {:>14.0} {:>8.2}",
            per(best_d),
            per(best_b),
            ratio
        );
        lines.push(format!("fuse_ioctl_ratio_{clients}c {ratio:.3} x"));
        lines.push(format!(
            "fuse_querycap_devlife_{clients}c {:.0} ns",
            per(best_d)
        ));
        lines.push(format!(
            "fuse_querycap_bare_{clients}c {:.0} ns",
            per(best_b)
        ));
        if clients == 2 {
            rate_2c = (2 * n) as f64 / best_d.as_secs_f64();
        }
    }
    println!("devlife-fuse, one node, 2 clients: {rate_2c:.0} ioctls/s");
    lines.push(format!("fuse_ioctls_per_s_2c {rate_2c:.0} ops/s"));
    for l in lines {
        println!("{l}");
    }
    drop(bare);
    devlife.stop();
    let _ = std::fs::remove_dir(&ddir);
    let _ = std::fs::remove_dir(&bdir);
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}
