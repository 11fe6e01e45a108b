//! Device-file calls off the FUSE dispatch: an ioctl with the caller's
//! memory, a read, and the poll waiter that sleeps on the client's behalf.

use super::DevlifeFs;
use super::state::{DevHandle, Handle, POLLER_GEN, Poller, Shared};
use crate::usermem::ProcessMemory;
use devlife::Signal;
use devlife_media::uapi::controls::copies_out_on_error;
use devlife_media::uapi::ioctl::with_current_mm;
use devlife_media::uapi::videodev2::{VIDIOC_DQBUF, VIDIOC_DQEVENT};
use devlife_model::{Errno as KErrno, NodeKind, OpenFlags, PollMask};
use fuser::{Errno, PollNotifier, ReplyData, ReplyIoctl};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(super) fn kerr(e: KErrno) -> Errno {
    Errno::from_i32(e.0)
}

pub(super) fn model_flags(flags: i32) -> OpenFlags {
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
pub(super) fn ioctl_may_sleep(kind: NodeKind, cmd: u32) -> bool {
    match kind {
        NodeKind::Video => cmd == VIDIOC_DQBUF || cmd == VIDIOC_DQEVENT,
        NodeKind::Misc | NodeKind::Char => true,
        NodeKind::Subdev | NodeKind::Media | NodeKind::Audio => false,
    }
}
impl DevlifeFs {
    pub(super) fn run_ioctl(
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

    pub(super) fn read_node(h: &DevHandle, size: u32, reply: ReplyData) {
        let mut buf = vec![0u8; size as usize];
        match h.file.read(&mut buf) {
            Ok(n) => reply.data(&buf[..n.min(buf.len())]),
            Err(e) => reply.error(kerr(e)),
        }
    }

    /// Starts (if none is running for these events) a thread sleeping in the
    /// model's poll for `h`; when it wakes (ready, unplug, or cancelled at
    /// release) it notifies the kernel's poll handle.
    pub(super) fn arm_poller(h: &Arc<Handle>, events: PollMask, ph: PollNotifier) {
        let Handle::Dev(d) = &**h else { return };
        let mut slot = d.poller.lock();
        let mut events = events;
        let mut threads = Vec::new();
        if let Some(p) = slot.take() {
            if p.events.contains(events) {
                *slot = Some(p);
                return;
            }
            // The client now waits for more (epoll: `EPOLL_CTL_MOD` after an
            // `EPOLL_CTL_ADD` with no events): the waiter for the narrower
            // set would never notify for the new ones. Replace it by one
            // waiting for both; the old one's wake-up is a spurious
            // notification, which the kernel answers by polling again.
            events = PollMask(events.0 | p.events.0);
            p.sig.raise();
            threads = p.threads;
        }
        let generation = POLLER_GEN.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Signal>(1);
        let h2 = h.clone();
        let r = std::thread::Builder::new()
            .name("fuse-poll".into())
            .spawn(move || {
                let _ = tx.send(devlife_model::current_signal());
                let Handle::Dev(d) = &*h2 else { return };
                let _ = d.file.poll(events, None);
                {
                    let mut slot = d.poller.lock();
                    if slot.as_ref().is_some_and(|p| p.generation == generation) {
                        *slot = None;
                    }
                }
                let _ = ph.notify();
            });
        let Ok(t) = r else { return };
        threads.push(t);
        if let Ok(sig) = rx.recv() {
            *slot = Some(Poller {
                sig,
                events,
                generation,
                threads,
            });
        }
    }
}
