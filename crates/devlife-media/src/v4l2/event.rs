//! Per-file V4L2 event queues (`v4l2-event.c`): the subscriptions of one
//! open file, the events waiting for `VIDIOC_DQEVENT`, the per-file
//! sequence counter, and the wait queue `poll` (`POLLPRI`) and a blocking
//! `DQEVENT` sleep on.
//!
//! # Lifetime
//!
//! A [`FileEvents`] belongs to one open file (it lives in the file's
//! private data) and dies with it. Event sources (a control handler) hold it
//! weakly: an event for a closed file is dropped, and unbinding the driver
//! does not take the queue away from a file that is still open — after
//! unplug the file's `DQEVENT` answers `ENODEV` through the node's gate,
//! and a sleeper is woken by the node's unplug.
//!
//! # Semantics (as the kernel's)
//!
//! * One slot per subscription: a new event of a subscription whose previous
//!   event is still queued replaces it (moving to the tail) and keeps the
//!   old event's `changes` bits (`v4l2_ctrl_replace`).
//! * `sequence` counts every event queued to the file, from 0.
//! * `pending` of a dequeued event is the number of events still queued.
//! * Unsubscribing drops the subscription's queued event;
//!   `V4L2_EVENT_ALL` unsubscribes everything.

use super::ctrls::CtrlHandler;
use super::vb2::monotonic_now;
use crate::uapi::controls::{Timespec, V4l2Event, V4l2EventSubscription, event};
use devlife_model::{Errno, EventQueue, KResult, OpCtx};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Subscription {
    type_: u32,
    id: u32,
    flags: u32,
}

#[derive(Debug, Default)]
struct State {
    subs: Vec<Subscription>,
    available: VecDeque<V4l2Event>,
    /// The sequence number of the next event.
    sequence: u32,
}

/// The event part of one open file (`struct v4l2_fh`'s `subscribed`,
/// `available`, `sequence` and `wait`).
///
/// # Invariants
///
/// Every queued event belongs to a current subscription, and no
/// subscription has more than one queued event.
#[derive(Debug)]
pub struct FileEvents {
    id: u64,
    state: Mutex<State>,
    wq: Arc<EventQueue>,
}

impl Default for FileEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl FileEvents {
    /// An empty queue with no subscription.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State::default()),
            wq: Arc::new(EventQueue::new()),
        }
    }

    /// A process-wide unique id of this queue (the "which file" of event
    /// feedback suppression).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The queue `poll` and `DQEVENT` sleep on.
    pub fn wait_queue(&self) -> &Arc<EventQueue> {
        &self.wq
    }

    /// Adds a subscription. Returns `false` (and changes nothing) if the
    /// file is already subscribed to `(type_, id)`.
    pub fn subscribe(&self, type_: u32, id: u32, flags: u32) -> bool {
        let mut s = self.state.lock();
        if s.subs.iter().any(|x| x.type_ == type_ && x.id == id) {
            return false;
        }
        s.subs.push(Subscription { type_, id, flags });
        true
    }

    /// Removes a subscription and its queued event (`V4L2_EVENT_ALL`:
    /// every subscription). Returns the removed subscriptions' `(type, id)`.
    pub fn unsubscribe(&self, type_: u32, id: u32) -> Vec<(u32, u32)> {
        let mut s = self.state.lock();
        let all = type_ == event::ALL;
        let gone: Vec<(u32, u32)> = s
            .subs
            .iter()
            .filter(|x| all || (x.type_ == type_ && x.id == id))
            .map(|x| (x.type_, x.id))
            .collect();
        s.subs
            .retain(|x| !(all || (x.type_ == type_ && x.id == id)));
        s.available
            .retain(|e| !gone.iter().any(|&(t, i)| e.type_ == t && e.id == i));
        gone
    }

    /// Whether the file subscribed to `(type_, id)`, and with which flags.
    pub fn subscription(&self, type_: u32, id: u32) -> Option<u32> {
        self.state
            .lock()
            .subs
            .iter()
            .find(|x| x.type_ == type_ && x.id == id)
            .map(|x| x.flags)
    }

    /// Queues `ev` if the file subscribed to its `(type, id)`
    /// (`__v4l2_event_queue_fh`), stamping sequence and time, and wakes
    /// sleepers. For control events a still-queued event of the same
    /// subscription is replaced, keeping its `changes` bits.
    pub fn queue(&self, mut ev: V4l2Event) {
        {
            let mut s = self.state.lock();
            if !s.subs.iter().any(|x| x.type_ == ev.type_ && x.id == ev.id) {
                return;
            }
            if let Some(pos) = s
                .available
                .iter()
                .position(|e| e.type_ == ev.type_ && e.id == ev.id)
                && let Some(old) = s.available.remove(pos)
                && ev.type_ == event::CTRL
            {
                let mut c = ev.ctrl();
                c.changes |= old.ctrl().changes;
                ev.set_ctrl(&c);
            }
            ev.sequence = s.sequence;
            s.sequence = s.sequence.wrapping_add(1);
            ev.timestamp = Timespec::from_duration(monotonic_now());
            ev.pending = 0;
            ev.reserved = [0; 8];
            s.available.push_back(ev);
        }
        self.wq.wake_all();
    }

    /// Takes the oldest event (`__v4l2_event_dequeue`), with `pending` set
    /// to the number still queued.
    pub fn dequeue(&self) -> Option<V4l2Event> {
        let mut s = self.state.lock();
        let mut ev = s.available.pop_front()?;
        ev.pending = u32::try_from(s.available.len()).unwrap_or(u32::MAX);
        Some(ev)
    }

    /// Whether an event is waiting (`v4l2_event_pending`).
    pub fn pending(&self) -> bool {
        !self.state.lock().available.is_empty()
    }

    /// Number of subscriptions.
    pub fn subscriptions(&self) -> usize {
        self.state.lock().subs.len()
    }
}

/// `VIDIOC_SUBSCRIBE_EVENT` on a node whose events are its controls'
/// (`v4l2_ctrl_subscribe_event`): `V4L2_EVENT_CTRL` of an existing control,
/// anything else `EINVAL`.
pub(crate) fn subscribe(
    ev: &Arc<FileEvents>,
    h: &CtrlHandler,
    sub: &mut V4l2EventSubscription,
) -> KResult<()> {
    sub.reserved = [0; 5];
    if sub.type_ != event::CTRL {
        return Err(Errno::EINVAL);
    }
    h.subscribe(ev, sub.id, sub.flags)
}

/// `VIDIOC_UNSUBSCRIBE_EVENT` (`v4l2_event_unsubscribe`): never fails; an
/// unknown subscription is ignored, `V4L2_EVENT_ALL` drops all of them.
pub(crate) fn unsubscribe(ev: &FileEvents, h: &CtrlHandler, sub: &V4l2EventSubscription) {
    let gone = ev.unsubscribe(sub.type_, sub.id);
    let ids: Vec<u32> = gone
        .iter()
        .filter(|(t, _)| *t == event::CTRL)
        .map(|&(_, i)| i)
        .collect();
    if !ids.is_empty() {
        h.unsubscribe(ev.id(), &ids);
    }
}

/// `VIDIOC_DQEVENT` (`v4l2_event_dequeue`): the oldest event; with none,
/// `ENOENT` for a non-blocking file, else sleep until one arrives (`ENODEV`
/// if the node is unplugged meanwhile, `EINTR` on a signal).
pub(crate) fn dqevent(ctx: &OpCtx<'_>, ev: &FileEvents, out: &mut V4l2Event) -> KResult<()> {
    if let Some(e) = ev.dequeue() {
        *out = e;
        return Ok(());
    }
    if ctx.nonblocking() {
        return Err(Errno::ENOENT);
    }
    *out = ctx.wait_event(ev.wait_queue(), || ev.dequeue())?;
    Ok(())
}
