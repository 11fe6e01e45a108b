//! Userspace threads: open, dup, ioctl, capture sessions, read, write,
//! poll, mmap, memory accesses, munmap and close at random.

use super::super::stats::{Outcome, ThreadStats};
use super::super::target::NodeProfile;
use super::Ctx;
use super::watch::Worker;
use super::windows::UserHook;
use devlife_model::{Errno, File, Mapping, MmapRequest, OpenFlags, PollMask};
use rand::Rng;
use rand::rngs::SmallRng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const MAX_FILES: usize = 6;
const MAX_MAPS: usize = 4;

struct OpenFile {
    file: File,
    name: String,
    profile: Arc<NodeProfile>,
    /// Index of the file's target in `Ctx::targets`.
    target: usize,
}

#[derive(Clone, Copy)]
enum UserOp {
    Open,
    Close,
    Dup,
    Ioctl,
    Sequence,
    Read,
    Write,
    Poll,
    Mmap,
    MemAccess,
    Munmap,
}

fn pick_user_op(rng: &mut SmallRng, files: usize, maps: usize) -> UserOp {
    if files == 0 {
        return UserOp::Open;
    }
    let table: [(UserOp, u32); 11] = [
        (UserOp::Open, if files < MAX_FILES { 10 } else { 0 }),
        (UserOp::Close, 7),
        (UserOp::Dup, 2),
        (UserOp::Ioctl, 30),
        (UserOp::Sequence, 4),
        (UserOp::Read, 8),
        (UserOp::Write, 5),
        (UserOp::Poll, 10),
        (UserOp::Mmap, if maps < MAX_MAPS { 5 } else { 0 }),
        (UserOp::MemAccess, if maps > 0 { 6 } else { 0 }),
        (UserOp::Munmap, if maps > 0 { 4 } else { 0 }),
    ];
    let total: u32 = table.iter().map(|x| x.1).sum();
    let mut r = rng.random_range(0..total);
    for (op, w) in table {
        if r < w {
            return op;
        }
        r -= w;
    }
    UserOp::Ioctl
}

/// A program with nothing open whose open failed retries a little later
/// instead of spinning (which would starve the kernel threads).
fn backoff(rng: &mut SmallRng, nothing_open: bool) {
    if nothing_open {
        std::thread::sleep(Duration::from_micros(rng.random_range(50..400)));
    }
}

/// A program that learns its device is gone (`ENODEV`, `EIO`, `POLLHUP`)
/// closes the file, half of the time (the other half keeps using it).
fn close_if_gone(
    rng: &mut SmallRng,
    files: &mut Vec<OpenFile>,
    i: usize,
    o: Outcome,
    st: &mut ThreadStats,
    me: &Worker,
) {
    let gone = matches!(
        o,
        Outcome::PollHup | Outcome::Err(Errno::ENODEV) | Outcome::Err(Errno::EIO)
    );
    if gone && rng.random_bool(0.5) {
        let f = files.swap_remove(i);
        me.begin("close", &f.name);
        drop(f);
        me.end();
        st.record("close", Outcome::Ok);
    }
}

/// A userspace thread; in stop-point mode its calls run under the
/// stop-point hook ([`super::windows`]), whose generator `stop_rng` picks
/// where it stops.
pub(super) fn user_thread(
    ctx: &Arc<Ctx>,
    me: &Worker,
    rng: SmallRng,
    stop_rng: SmallRng,
) -> ThreadStats {
    if !ctx.stop_points {
        return user_loop(ctx, me, rng, None);
    }
    let hook = Rc::new(UserHook {
        ctx: ctx.clone(),
        rng: RefCell::new(stop_rng),
        target: Cell::new(0),
        opened: Cell::new(0),
    });
    let h = hook.clone();
    devlife_model::stop::with_hook(move |p| h.at(p), || user_loop(ctx, me, rng, Some(&hook)))
}

fn user_loop(ctx: &Ctx, me: &Worker, mut rng: SmallRng, hook: Option<&UserHook>) -> ThreadStats {
    let on = |ti: usize| {
        if let Some(h) = hook {
            h.target.set(ti);
        }
    };
    let mut st = ThreadStats::default();
    let mut files: Vec<OpenFile> = Vec::new();
    let mut maps: Vec<(usize, Mapping)> = Vec::new();
    let k = &ctx.kernel;
    let mut calls = 0u64;
    while !ctx.stop.load(Ordering::Acquire) && calls < ctx.ops_per_thread {
        calls += 1;
        for (ti, d) in ctx.draining.iter().enumerate() {
            if d.load(Ordering::Acquire) {
                // `rmmod` is waiting: let go of this driver's files.
                let before = files.len();
                maps.retain(|(t, _)| *t != ti);
                files.retain(|f| f.target != ti);
                for _ in files.len()..before {
                    st.record("close", Outcome::Ok);
                }
            }
        }
        match pick_user_op(&mut rng, files.len(), maps.len()) {
            UserOp::Open => {
                let ti = rng.random_range(0..ctx.instances.len());
                on(ti);
                let t = &ctx.instances[ti].1;
                if ctx.draining[ti].load(Ordering::Acquire) {
                    // Being unloaded: open now and then, racing with it.
                    backoff(&mut rng, true);
                }
                let nodes = t.nodes();
                if nodes.is_empty() {
                    // Nothing in /dev for this driver right now.
                    st.record("open", Outcome::Err(Errno::ENOENT));
                    me.end();
                    backoff(&mut rng, files.is_empty());
                    continue;
                }
                let node = &nodes[rng.random_range(0..nodes.len())];
                let name = node.name().to_owned();
                let profile = t.profile(node);
                drop(nodes);
                let flags = match rng.random_range(0..10) {
                    0 | 1 => OpenFlags::RDWR.nonblocking(),
                    2 => OpenFlags::RDONLY,
                    _ => OpenFlags::RDWR,
                };
                me.begin("open", &name);
                let r = k.open(&name, flags);
                me.end();
                st.record("open", Outcome::from(&r));
                match r {
                    Ok(file) => files.push(OpenFile {
                        file,
                        name,
                        profile,
                        target: ti,
                    }),
                    Err(_) => backoff(&mut rng, files.is_empty()),
                }
            }
            UserOp::Close => {
                let f = files.swap_remove(rng.random_range(0..files.len()));
                on(f.target);
                me.begin("close", &f.name);
                drop(f);
                me.end();
                st.record("close", Outcome::Ok);
            }
            UserOp::Dup => {
                let f = &files[rng.random_range(0..files.len())];
                let d = OpenFile {
                    file: f.file.dup(),
                    name: f.name.clone(),
                    profile: f.profile.clone(),
                    target: f.target,
                };
                st.record("dup", Outcome::Ok);
                me.end();
                if files.len() < MAX_FILES {
                    files.push(d);
                }
            }
            UserOp::Ioctl => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                if f.profile.ioctls.is_empty() {
                    continue;
                }
                let c = &f.profile.ioctls[rng.random_range(0..f.profile.ioctls.len())];
                let mut arg = c.arg.clone();
                me.begin(c.name, &f.name);
                let r = f.file.ioctl(c.cmd, &mut arg);
                me.end();
                let o = Outcome::from(&r);
                st.record_ioctl(c.name, o);
                close_if_gone(&mut rng, &mut files, i, o, &mut st, me);
            }
            UserOp::Sequence => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                if f.profile.sequences.is_empty() {
                    continue;
                }
                let seq = &f.profile.sequences[rng.random_range(0..f.profile.sequences.len())];
                let mut last = Outcome::Ok;
                for c in seq {
                    let mut arg = c.arg.clone();
                    me.begin(c.name, &f.name);
                    let r = f.file.ioctl(c.cmd, &mut arg);
                    me.end();
                    last = Outcome::from(&r);
                    st.record_ioctl_name(c.name, last);
                    if r.is_err() {
                        break;
                    }
                }
                // One session; its steps are counted by ioctl name.
                st.record("ioctl-seq", last);
                close_if_gone(&mut rng, &mut files, i, last, &mut st, me);
            }
            UserOp::Read => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                if f.profile.read_len == 0 {
                    continue;
                }
                let mut buf = vec![0u8; f.profile.read_len];
                me.begin("read", &f.name);
                let r = f.file.read(&mut buf);
                me.end();
                let o = Outcome::from(&r);
                st.record("read", o);
                close_if_gone(&mut rng, &mut files, i, o, &mut st, me);
            }
            UserOp::Write => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                let Some(data) = &f.profile.write else {
                    continue;
                };
                me.begin("write", &f.name);
                let r = f.file.write(data);
                me.end();
                let o = Outcome::from(&r);
                st.record("write", o);
                close_if_gone(&mut rng, &mut files, i, o, &mut st, me);
            }
            UserOp::Poll => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                let timeout = match rng.random_range(0..4) {
                    0 => Duration::ZERO,
                    1 => Duration::from_micros(200),
                    2 => Duration::from_millis(1),
                    _ => Duration::from_millis(5),
                };
                me.begin("poll", &f.name);
                let r = f
                    .file
                    .poll(PollMask::IN | PollMask::OUT | PollMask::PRI, Some(timeout));
                me.end();
                let o = match r {
                    Ok(m) if m.intersects(PollMask::ERR | PollMask::HUP) => Outcome::PollHup,
                    Ok(_) => Outcome::Ok,
                    Err(e) => Outcome::Err(e),
                };
                st.record("poll", o);
                close_if_gone(&mut rng, &mut files, i, o, &mut st, me);
            }
            UserOp::Mmap => {
                let i = rng.random_range(0..files.len());
                let f = &files[i];
                on(f.target);
                let Some(req) = f.profile.mmap else {
                    continue;
                };
                let req = MmapRequest {
                    write: req.write && f.file.flags().write,
                    ..req
                };
                me.begin("mmap", &f.name);
                let r = f.file.mmap(req);
                me.end();
                let o = Outcome::from(&r);
                st.record("mmap", o);
                match r {
                    Ok(m) => maps.push((files[i].target, m)),
                    Err(_) => close_if_gone(&mut rng, &mut files, i, o, &mut st, me),
                }
            }
            UserOp::MemAccess => {
                let (t, m) = &maps[rng.random_range(0..maps.len())];
                on(*t);
                let len = m.len().min(16);
                let off = rng.random_range(0..=m.len() - len);
                let mut buf = [0u8; 16];
                let r = if rng.random_bool(0.5) {
                    m.read(off, &mut buf[..len])
                } else {
                    match m.write(off, &buf[..len]) {
                        // A read-only mapping: fall back to a load.
                        Err(Errno::EFAULT) => m.read(off, &mut buf[..len]),
                        r => r,
                    }
                };
                st.record("mem-access", Outcome::from(&r));
                me.end();
            }
            UserOp::Munmap => {
                let m = maps.swap_remove(rng.random_range(0..maps.len()));
                on(m.0);
                me.begin("munmap", "mapping");
                drop(m);
                me.end();
                st.record("munmap", Outcome::Ok);
            }
        }
    }
    // Close everything (release runs for each file, after unplug too).
    me.begin("exit-close", "files");
    drop(maps);
    drop(files);
    me.end();
    st
}
