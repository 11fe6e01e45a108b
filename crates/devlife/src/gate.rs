//! [`Gate`]: the per-object enter/exit/unplug gate.
//!
//! A gate guards an object that can disappear while threads use it: a device
//! node, a driver binding, a hardware resource. Every file operation enters the
//! gate, does its work (possibly sleeping) and exits; unbind *unplugs* the gate:
//!
//! 1. every later [`Gate::enter`] fails with [`Gone`];
//! 2. every [`WaitQueue`](crate::WaitQueue) of the gate is woken and every
//!    cancel hook registered with [`Gate::on_unplug`] runs, so sleepers leave;
//! 3. the call waits until every in-flight [`Access`] has been dropped.
//!
//! # Read side
//!
//! `enter` stores the gate's id in a free slot of the calling thread's record
//! (see `registry.rs`) with a plain store, issues a *light* barrier and reads the
//! gate state. `exit` (dropping the [`Access`]) clears the slot with a plain
//! store, issues a light barrier and reads the state again; only if an unplug is
//! in progress does it take the gate's lock to wake the drainer. On the fast path
//! nothing is written to memory shared with another thread and no
//! read-modify-write instruction is executed. (The stores are `Release`, which
//! on x86 and with `membarrier` is the same `mov` as a relaxed store.)
//!
//! The fast path is taken only when it needs no decision: the process uses
//! `membarrier` (so the light barrier is a compiler fence, and only threads of
//! such a process get a fast-path record, see `registry::fast`), the thread
//! holds no other access (slot 0 is free) and the state byte is 0 (open and
//! not traced; tracing is a state bit so that one load and one test cover
//! both). Everything else — nesting, a first enter, full-fence mode, a traced
//! or unplugging gate — goes to the general path, which runs the same
//! protocol with the thread's own light barrier. An [`Access`] made with a
//! full fence carries a flag, so its exit also takes the general path and
//! issues the fence: the reader's barrier always matches the unplugger's
//! (`barrier.rs` fixes the mode once for the process).
//!
//! # Memory-ordering argument
//!
//! Enter is "publish, then check"; unplug is "flag, then scan":
//!
//! ```text
//!   reader (enter)                 unplugger
//!   slot := id        (release)    state |= DRAINING (SeqCst RMW)
//!   light barrier                  heavy barrier
//!   s := state        (relaxed)    scan slots        (acquire)
//! ```
//!
//! The light/heavy pair forbids the store-buffering outcome (see
//! [`crate::barrier`]), so either the reader sees `DRAINING` (and backs out
//! with `Gone`) or the scan sees the slot (and waits for it). There is no third
//! case: no access can begin after the scan that the scan did not see. A thread
//! that is new to the registry publishes its record (a release store of the
//! list head) before its first slot store; a scan that walks the list from an
//! older head misses the record, but then the same store-buffering argument on
//! (list head, state) makes that thread's state load see `DRAINING`.
//!
//! Exit is "clear, then check": `slot := 0` (release), light barrier, read the
//! state. Symmetrically, either the scan sees the cleared slot, or the exiting
//! thread sees `DRAINING` and takes the gate lock to notify; the drainer scans
//! and goes to sleep under that same lock, so the notification cannot fall in
//! the gap between a scan and the sleep.
//!
//! Data written in a section is safe to free once `unplug` returns: the scan's
//! acquire load reads either the exit's release store of 0, or a later release
//! store of the same slot by the same thread (a later access to another gate),
//! or, if the record changed owner, a store by a thread that claimed the record
//! with an acquire CAS after the previous owner's release; in every case the
//! section happens-before the end of the drain. This is what lets
//! [`crate::ResourceScope`] and [`crate::Revocable`] drop data after `unplug`.
//!
//! Sleeping inside a section is allowed: the slot belongs to the thread, not to
//! a CPU, and only this gate's unplug waits for it. Unplugging one gate never
//! waits for accesses to another gate, because the scan matches gate ids.
//!
//! If a thread holds more than [`SLOTS`](crate::SLOTS) accesses at once, further
//! accesses use the gate's shared overflow counter: SeqCst RMW, then a full
//! fence, then the state load, which is the same protocol with a full fence as
//! the reader's barrier. The thread also notes the gate in its record, so that
//! an unplug from inside such an access is refused instead of waiting for itself.

use crate::barrier;
use crate::check::{EventKind, Monitor, Report, ReportKind};
use crate::registry::{self, SLOTS, ThreadRecord};
use crate::sync::{
    Arc, AtomicU8, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, ThreadId, current_thread_id,
    full_fence, lock, wait,
};
use crate::wait::WqShared;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::compiler_fence;
use std::time::{Duration, Instant};

/// Gate state bits. The state only gains bits: an open gate has neither
/// `DRAINING` nor `DEAD`.
///
/// Entries are refused: an unplug has started.
const DRAINING: u8 = 1;
/// The drain has completed.
const DEAD: u8 = 2;
/// The gate journals enters and exits (fixed when the gate is built). Kept in
/// the state byte so that the fast path's one test (`state == 0`) also sends
/// traced gates to the general path, with no second load.
const TRACED: u8 = 4;
/// Either unplug bit.
const UNPLUGGED: u8 = DRAINING | DEAD;
/// An [`Access`] is two words: the gate, and the thread's record pointer whose
/// low 8 bits (records are 256-byte aligned) carry the slot index and these
/// flags. Two words travel in registers (a `Result<Access, Gone>` too); a third
/// word made the compiler move the guard through the stack with mixed-size
/// stores and loads, which stalls store forwarding on every enter.
const M_SLOT: usize = 0xf;
/// The access counts in the gate's overflow counter, not in a slot.
const M_OVERFLOW: usize = 1 << 4;
/// The access has a watchdog label to clear.
const M_LABELLED: usize = 1 << 5;
/// The gate journals enters and exits.
const M_TRACE: usize = 1 << 6;
/// The thread uses full fences as its light barrier (no `membarrier`): the
/// exit must take the general path, which issues one.
const M_FENCE: usize = 1 << 7;
/// All tag bits.
const M_ALL: usize = 0xff;
const _: () = assert!(
    SLOTS.is_power_of_two() && SLOTS <= M_SLOT + 1 && std::mem::align_of::<ThreadRecord>() > M_ALL
);

/// Upper bound on one sleep of the drainer. The protocol never needs it (every
/// exit that matters notifies), it only bounds the damage of a bug.
const BACKSTOP: Duration = Duration::from_millis(100);

/// The object behind a gate has been unplugged.
///
/// Userspace sees it as `ENODEV` on video/subdev nodes (see [`Gone::ERRNO`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("device gone (unplugged)")]
pub struct Gone;

impl Gone {
    /// The errno Linux returns for calls on an unplugged video device.
    pub const ERRNO: i32 = 19; // ENODEV
}

/// Why an [`Gate::unplug`] could not complete its drain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnplugError {
    /// The calling thread is itself inside an access of this gate: draining would
    /// wait for itself forever. New entries are already refused and sleepers have
    /// been woken; the drain must be done by a thread outside the gate.
    #[error("unplug of gate `{0}` called from inside one of its own accesses")]
    InsideAccess(String),
    /// A cancel hook or wake-up callback of this gate called `unplug` again.
    #[error("unplug of gate `{0}` re-entered from its own cancel hook")]
    Reentrant(String),
}

/// What one [`Gate::unplug`] call did.
#[derive(Debug, Clone, Default)]
pub struct UnplugStats {
    /// This call made the gate refuse entries (the others found it unplugging).
    pub first: bool,
    /// Accesses in flight at the first scan.
    pub in_flight: usize,
    /// Wait queues woken.
    pub queues_woken: usize,
    /// Cancel hooks run.
    pub hooks_run: usize,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// One access that keeps a drain waiting, as named by the watchdog.
#[derive(Debug, Clone)]
pub struct Blocker {
    /// Name of the thread holding the access.
    pub thread: String,
    /// Label given with [`Gate::enter_as`], if any.
    pub label: Option<&'static str>,
    /// A time since which the access has been inside the gate (no clock is
    /// read on enter): in a watchdog report, the start of the unplug, since
    /// no access can begin after it; `None` from [`Gate::blockers`].
    pub since: Option<Instant>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread `{}`", self.thread)?;
        if let Some(l) = self.label {
            write!(f, " in `{l}`")?;
        }
        if let Some(s) = self.since {
            write!(f, " for at least {:?}", s.elapsed())?;
        }
        Ok(())
    }
}

/// A watchdog report: the drain of `gate` has been waiting for `waited`.
#[derive(Debug, Clone)]
pub struct DrainStall {
    /// Gate name.
    pub gate: String,
    /// How long the drain had been waiting.
    pub waited: Duration,
    /// The accesses that keep it waiting.
    pub blockers: Vec<Blocker>,
}

impl fmt::Display for DrainStall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unplug of `{}` has waited {:?} for {} access(es):",
            self.gate,
            self.waited,
            self.blockers.len()
        )?;
        for b in &self.blockers {
            write!(f, " [{b}]")?;
        }
        Ok(())
    }
}

/// Identifies a hook registered with [`Gate::on_unplug`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

type Hook = Box<dyn FnOnce() + Send>;
type StallFn = Box<dyn Fn(&DrainStall) + Send + Sync>;

struct Slow {
    hooks: Vec<(u64, Hook)>,
    next_hook: u64,
    queues: BTreeMap<u64, Arc<WqShared>>,
    /// Threads sleeping on the gate's condition variable (drainers, and
    /// unplugs waiting for step 2); it is signalled only when this is non-zero.
    waiters: usize,
    /// Step 2 of the first unplug has completed.
    woken: bool,
    waker: Option<ThreadId>,
    stalls: Vec<DrainStall>,
}

/// The shared part of a gate.
///
/// The fields read on the fast path (`id`, `state`) sit on their own
/// cache lines (the struct is 128-byte aligned, which also keeps them off the
/// line of the `Arc` reference counts); the fields written by the slow paths
/// (overflow counter, lock, condition variable) sit in [`Cold`], on other lines.
///
/// # Invariants
///
/// * `state` only gains bits: open → `DRAINING` → `DRAINING | DEAD`; `TRACED`
///   is set at creation iff `trace` is, and never changes.
/// * With `DEAD` set, no slot of any thread holds `id` and `overflow` is 0, and none ever
///   will again.
#[repr(C, align(128))]
pub(crate) struct GateCore {
    pub(crate) id: u64,
    state: AtomicU8,
    name: String,
    watchdog: Option<Duration>,
    on_stall: Option<StallFn>,
    monitor: Option<Monitor>,
    cold: Cold,
}

/// The slow-path, written part of a gate (see [`GateCore`]).
#[repr(C, align(128))]
struct Cold {
    overflow: AtomicUsize,
    slow: Mutex<Slow>,
    cv: Condvar,
}

fn next_gate_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Configures a [`Gate`] before it is created.
#[must_use]
pub struct GateBuilder {
    name: String,
    watchdog: Option<Duration>,
    on_stall: Option<StallFn>,
    monitor: Option<Monitor>,
    trace: bool,
}

impl GateBuilder {
    /// Names the gate (used in watchdog reports and the journal).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Reports accesses that keep a drain waiting longer than `after`
    /// (then again after twice as long, and so on).
    pub fn watchdog(mut self, after: Duration) -> Self {
        self.watchdog = Some(after);
        self
    }
    /// Calls `f` for every watchdog report (in addition to recording it).
    pub fn on_stall(mut self, f: impl Fn(&DrainStall) + Send + Sync + 'static) -> Self {
        self.on_stall = Some(Box::new(f));
        self
    }
    /// Records unplug events (and stall reports) in `monitor`.
    pub fn monitor(mut self, monitor: &Monitor) -> Self {
        self.monitor = Some(monitor.clone());
        self
    }
    /// Also journal every enter and exit (slow; for scenario replay and tests).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }
    /// Creates the gate, open.
    pub fn build(self) -> Gate {
        // Fix the barrier mode before any thread can enter or unplug this gate
        // (the decision is write-once; see `barrier.rs`).
        barrier::init();
        Gate {
            core: Arc::new(GateCore {
                id: next_gate_id(),
                state: AtomicU8::new(if self.trace { TRACED } else { 0 }),
                cold: Cold {
                    overflow: AtomicUsize::new(0),
                    slow: Mutex::new(Slow {
                        hooks: Vec::new(),
                        next_hook: 1,
                        queues: BTreeMap::new(),
                        waiters: 0,
                        woken: false,
                        waker: None,
                        stalls: Vec::new(),
                    }),
                    cv: Condvar::new(),
                },
                name: self.name,
                watchdog: self.watchdog,
                on_stall: self.on_stall,
                monitor: self.monitor,
            }),
        }
    }
}

/// A sleepable enter/exit/unplug gate for one object.
///
/// Cloning a `Gate` gives another handle to the same gate.
///
/// ```
/// use devlife::Gate;
/// let gate = Gate::named("video0");
/// {
///     let _access = gate.enter().expect("open gate");
///     // ... file operation, may sleep ...
/// }
/// gate.unplug().unwrap();
/// assert!(gate.enter().is_err());
/// ```
#[derive(Clone)]
pub struct Gate {
    pub(crate) core: Arc<GateCore>,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.core.name)
            .field("id", &self.core.id)
            .field("unplugged", &self.is_unplugged())
            .finish()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// An unnamed open gate.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// An open gate with a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self::builder().name(name).build()
    }

    /// Starts configuring a gate.
    pub fn builder() -> GateBuilder {
        GateBuilder {
            name: String::from("gate"),
            watchdog: None,
            on_stall: None,
            monitor: None,
            trace: false,
        }
    }

    /// The gate's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// A process-unique id for this gate.
    pub fn id(&self) -> u64 {
        self.core.id
    }

    /// Whether `unplug` has started (new entries are refused).
    pub fn is_unplugged(&self) -> bool {
        self.core.state.load(Ordering::Acquire) & UNPLUGGED != 0
    }

    /// Whether an `unplug` has completed its drain.
    pub fn is_drained(&self) -> bool {
        self.core.state.load(Ordering::Acquire) & DEAD != 0
    }

    /// Enters the gate. Fails with [`Gone`] once the gate is unplugged.
    ///
    /// The returned [`Access`] keeps any `unplug` waiting until it is dropped.
    /// It is not `Send`: it belongs to the calling thread's slot.
    #[inline]
    pub fn enter(&self) -> Result<Access<'_>, Gone> {
        self.core.enter_raw(None)
    }

    /// Enters the gate and labels the access for the watchdog (e.g. `"VIDIOC_DQBUF"`).
    ///
    /// The label costs one store on enter and one on exit (the exit takes the
    /// general path), so callers can label every operation: a drain that waits
    /// for this access then names it ([`Blocker::label`]).
    #[inline]
    pub fn enter_as(&self, label: &'static str) -> Result<Access<'_>, Gone> {
        let mut a = self.core.enter_raw(Some(label))?;
        if a.meta() & M_OVERFLOW == 0 {
            // Release: a scanner that reads the word also sees the text (a
            // label may be a leaked string written by another thread).
            a.record().labels[a.meta() & M_SLOT]
                .store(registry::pack_label(label), Ordering::Release);
            a.add_flag(M_LABELLED);
        }
        Ok(a)
    }

    /// Registers a cancel hook, run once at step 2 of the first `unplug`
    /// (cancel pending I/O, complete outstanding requests with an error, ...).
    ///
    /// Fails with [`Gone`] if the gate is already unplugging: the caller must then
    /// cancel by itself.
    pub fn on_unplug(&self, hook: impl FnOnce() + Send + 'static) -> Result<HookId, Gone> {
        let mut s = lock(&self.core.cold.slow);
        if self.is_unplugged() {
            return Err(Gone);
        }
        let id = s.next_hook;
        s.next_hook += 1;
        s.hooks.push((id, Box::new(hook)));
        Ok(HookId(id))
    }

    /// Removes a hook. Returns `false` if it already ran (or is running) or was removed.
    pub fn remove_hook(&self, id: HookId) -> bool {
        let mut s = lock(&self.core.cold.slow);
        let before = s.hooks.len();
        s.hooks.retain(|(h, _)| *h != id.0);
        s.hooks.len() != before
    }

    /// Unplugs the gate: refuse new entries, wake sleepers and run cancel hooks,
    /// then wait until every in-flight access has been dropped.
    ///
    /// Idempotent: later and concurrent calls also return only after the drain.
    /// Fails without draining if called from inside an access of this same gate.
    pub fn unplug(&self) -> Result<UnplugStats, UnplugError> {
        self.core.unplug()
    }

    /// The accesses currently inside this gate (a scan of all threads).
    pub fn blockers(&self) -> Vec<Blocker> {
        self.core.blockers(None)
    }

    /// Number of accesses currently inside the gate (a scan; racy by nature).
    pub fn in_flight(&self) -> usize {
        self.core.busy()
    }

    /// Watchdog reports produced by drains of this gate so far.
    pub fn stalls(&self) -> Vec<DrainStall> {
        lock(&self.core.cold.slow).stalls.clone()
    }

    pub(crate) fn register_queue(&self, id: u64, q: Arc<WqShared>) -> bool {
        let mut s = lock(&self.core.cold.slow);
        s.queues.insert(id, q);
        !self.is_unplugged()
    }

    pub(crate) fn unregister_queue(&self, id: u64) {
        lock(&self.core.cold.slow).queues.remove(&id);
    }
}

impl GateCore {
    /// The fast path: the process uses `membarrier`, the thread is registered
    /// and holds no other access (the common case), so slot 0 is free and the
    /// light barrier is a compiler fence. Everything else takes
    /// [`GateCore::enter_general`].
    ///
    /// The only loads are of the thread's record pointer, of slot 0 (to see it
    /// is free), and of the gate's id and state; they feed predicted branches
    /// and addresses, and the stores write values that depend on no load, so
    /// back-to-back enter/exit pairs form no store-to-load dependency chain.
    #[inline(always)]
    fn enter_raw(&self, label: Option<&'static str>) -> Result<Access<'_>, Gone> {
        match registry::fast() {
            Some(record) if record.slots[0].load(Ordering::Relaxed) == 0 => {
                // "Publish, then check" (module docs); as in `publish`, with
                // `record.fence` known to be false.
                record.slots[0].store(self.id, Ordering::Release);
                compiler_fence(Ordering::SeqCst);
                let state = self.state.load(Ordering::Relaxed);
                if state != 0 {
                    return self.entered_flagged(record, 0, state, label);
                }
                Ok(Access::new(self, record, 0))
            }
            _ => self.enter_general(label),
        }
    }

    /// Enter while the thread already holds accesses (nesting, several gates),
    /// is not registered yet, or uses full fences: the lowest free slot, or the
    /// overflow counter when all are taken.
    #[inline(never)]
    fn enter_general(&self, label: Option<&'static str>) -> Result<Access<'_>, Gone> {
        let record = registry::current();
        // Only this thread writes its slots, so a relaxed read is exact.
        match (0..SLOTS).find(|i| record.slots[*i].load(Ordering::Relaxed) == 0) {
            Some(slot) => self.publish(record, slot, label),
            None => self.enter_overflow(record, label),
        }
    }

    /// "Publish, then check" (module docs) in the free `slot`.
    #[inline(always)]
    fn publish(
        &self,
        record: &'static ThreadRecord,
        slot: usize,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        // Release (a plain `mov` on x86): a drainer whose scan reads this value
        // synchronises with everything this thread did before, including the
        // sections of earlier accesses that used this slot (see module docs).
        record.slots[slot].store(self.id, Ordering::Release);
        barrier::light(record.fence);
        // A relaxed load is enough: the light/heavy barrier pair orders it after
        // the slot store as seen by the unplugger (module docs).
        let state = self.state.load(Ordering::Relaxed);
        let fence = if record.fence { M_FENCE } else { 0 };
        if state != 0 {
            return self
                .entered_flagged(record, slot, state, label)
                .map(|mut a| {
                    a.add_flag(fence);
                    a
                });
        }
        Ok(Access::new(self, record, slot | fence))
    }

    /// The state check of an enter found a bit set: back out if the gate is
    /// unplugging, else (a traced gate) journal the enter.
    #[cold]
    #[inline(never)]
    fn entered_flagged(
        &self,
        record: &'static ThreadRecord,
        slot: usize,
        state: u8,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        if state & UNPLUGGED != 0 {
            self.exit_slot(record, slot);
            return Err(Gone);
        }
        debug_assert!(state & TRACED != 0);
        self.journal(EventKind::Enter, label);
        Ok(Access::new(self, record, slot | M_TRACE))
    }

    #[cold]
    #[inline(never)]
    fn enter_overflow(
        &self,
        record: &'static ThreadRecord,
        label: Option<&'static str>,
    ) -> Result<Access<'_>, Gone> {
        lock(&record.overflow_held).push(self.id);
        self.cold.overflow.fetch_add(1, Ordering::SeqCst);
        // The same "publish, then check" as the slots, with a full fence in
        // place of the light barrier (the unplug side's heavy barrier pairs
        // with it either way).
        full_fence();
        let state = self.state.load(Ordering::SeqCst);
        if state & UNPLUGGED != 0 {
            self.exit_overflow(record);
            return Err(Gone);
        }
        let flags = if state & TRACED != 0 {
            self.journal(EventKind::Enter, label);
            M_TRACE
        } else {
            0
        };
        Ok(Access::new(self, record, M_OVERFLOW | flags))
    }

    /// "Clear, then check" (module docs).
    #[inline(always)]
    fn exit_slot(&self, record: &ThreadRecord, slot: usize) {
        debug_assert!(slot < SLOTS);
        // The mask (SLOTS is a power of two) spares a bounds check.
        record.slots[slot & (SLOTS - 1)].store(0, Ordering::Release);
        barrier::light(record.fence);
        if self.state.load(Ordering::Relaxed) & UNPLUGGED != 0 {
            self.exit_while_unplugging();
        }
    }

    /// [`GateCore::exit_slot`] for an access made by the fast path: slot 0,
    /// and the thread's light barrier is a compiler fence.
    #[inline(always)]
    fn exit_fast(&self, record: &ThreadRecord) {
        record.slots[0].store(0, Ordering::Release);
        compiler_fence(Ordering::SeqCst);
        if self.state.load(Ordering::Relaxed) & UNPLUGGED != 0 {
            self.exit_while_unplugging();
        }
    }

    #[cold]
    #[inline(never)]
    fn exit_overflow(&self, record: &ThreadRecord) {
        self.cold.overflow.fetch_sub(1, Ordering::SeqCst);
        {
            let mut held = lock(&record.overflow_held);
            if let Some(i) = held.iter().rposition(|g| *g == self.id) {
                held.swap_remove(i);
            }
        }
        full_fence();
        if self.state.load(Ordering::SeqCst) & UNPLUGGED != 0 {
            self.exit_while_unplugging();
        }
    }

    /// An exit that saw the gate unplugging: wakes the drainers (a system call
    /// only if one sleeps; it rescans under the lock). Letting only the last
    /// exit notify (each exit scanning after a full fence) was measured and
    /// was not faster with 100 sleepers: the scans cost what the wake-ups save.
    #[cold]
    #[inline(never)]
    fn exit_while_unplugging(&self) {
        self.notify_drainers();
    }

    #[cold]
    #[inline(never)]
    fn notify_drainers(&self) {
        let s = lock(&self.cold.slow);
        self.wake_sleepers(&s);
    }

    /// Sleeps on the gate's condition variable (at most `max`), counted in
    /// `Slow::waiters`.
    fn sleep<'a>(&self, mut s: MutexGuard<'a, Slow>, max: Duration) -> MutexGuard<'a, Slow> {
        s.waiters += 1;
        let mut s = wait(&self.cold.cv, s, Some(max));
        s.waiters -= 1;
        s
    }

    /// Wakes every thread sleeping in [`GateCore::sleep`]; the caller holds the lock.
    fn wake_sleepers(&self, s: &Slow) {
        if s.waiters > 0 {
            self.cold.cv.notify_all();
        }
    }

    fn journal(&self, kind: EventKind, label: Option<&'static str>) {
        if let Some(m) = &self.monitor {
            m.journal().record_named(self.id, &self.name, kind, label);
        }
    }

    /// Number of accesses inside this gate, over all threads.
    fn busy(&self) -> usize {
        let mut n = self.cold.overflow.load(Ordering::SeqCst);
        registry::for_each(|r| {
            n += r
                .slots
                .iter()
                .filter(|s| s.load(Ordering::Acquire) == self.id)
                .count();
        });
        n
    }

    /// The accesses inside this gate; `since` is what each [`Blocker`] says
    /// about how long it has been inside.
    fn blockers(&self, since: Option<Instant>) -> Vec<Blocker> {
        let mut out = Vec::new();
        for r in registry::snapshot() {
            for (i, s) in r.slots.iter().enumerate() {
                if s.load(Ordering::Acquire) == self.id {
                    out.push(Blocker {
                        thread: lock(&r.name).clone(),
                        label: registry::unpack_label(r.labels[i].load(Ordering::Acquire)),
                        since,
                    });
                }
            }
        }
        let mut named = 0;
        for r in registry::snapshot() {
            let n = lock(&r.overflow_held)
                .iter()
                .filter(|g| **g == self.id)
                .count();
            if n > 0 {
                let thread = lock(&r.name).clone();
                for _ in 0..n {
                    out.push(Blocker {
                        thread: thread.clone(),
                        label: None,
                        since: None,
                    });
                }
                named += n;
            }
        }
        // Overflow accesses whose bookkeeping is in flight right now.
        for _ in named..self.cold.overflow.load(Ordering::SeqCst) {
            out.push(Blocker {
                thread: String::from("<overflow access>"),
                label: None,
                since: None,
            });
        }
        out
    }

    fn unplug(&self) -> Result<UnplugStats, UnplugError> {
        let t0 = Instant::now();
        let mut stats = UnplugStats::default();
        // An RMW that only adds the bit: the first caller sees it clear.
        let first = self.state.fetch_or(DRAINING, Ordering::SeqCst) & DRAINING == 0;
        stats.first = first;
        if first {
            self.journal(EventKind::UnplugBegin, None);
            // Step 1 is the state change above; after the heavy barrier every
            // enter that the drain's scan will not see observes DRAINING.
            barrier::heavy();
            // Step 2: wake sleepers and cancel pending I/O, outside the lock.
            let (hooks, queues) = {
                let mut s = lock(&self.cold.slow);
                s.waker = Some(current_thread_id());
                let queues: Vec<_> = s.queues.values().cloned().collect();
                (std::mem::take(&mut s.hooks), queues)
            };
            // Marks step 2 done even if a hook panics, so that concurrent
            // unplugs do not wait for it forever.
            let _done = WokenGuard(self);
            for q in &queues {
                q.wake_all();
            }
            stats.queues_woken = queues.len();
            stats.hooks_run = hooks.len();
            for (_, h) in hooks {
                h();
            }
            if stats.queues_woken > 0 || stats.hooks_run > 0 {
                self.journal(EventKind::Wake, None);
            }
        } else {
            let mut s = lock(&self.cold.slow);
            if s.waker == Some(current_thread_id()) {
                return Err(UnplugError::Reentrant(self.name.clone()));
            }
            while !s.woken {
                s = self.sleep(s, BACKSTOP);
            }
        }
        if let Some(rec) = registry::current_if_registered()
            && rec.holds(self.id)
        {
            return Err(UnplugError::InsideAccess(self.name.clone()));
        }
        stats.in_flight = self.drain(t0);
        // An RMW (not a store) because the state is also CASed (see the note
        // in `Signal::take` about loom); `max` keeps the state monotonic.
        self.state.fetch_or(DEAD, Ordering::AcqRel);
        if first {
            self.journal(EventKind::UnplugEnd, None);
        }
        stats.elapsed = t0.elapsed();
        Ok(stats)
    }

    /// Steps 3-4: waits until no access to this gate remains. Returns how many
    /// were in flight at the first scan.
    ///
    /// The scan and the decision to sleep happen under the gate lock, and an
    /// exit that sees the gate unplugging notifies under the same lock, so no
    /// notification falls between a scan and the sleep (module docs).
    fn drain(&self, unplug_start: Instant) -> usize {
        // The watchdog counts from the start of the unplug call (no second
        // clock read on the idle path).
        let t0 = unplug_start;
        let mut next_report = self.watchdog;
        let mut s = lock(&self.cold.slow);
        let first = self.busy();
        let mut busy = first;
        while busy != 0 {
            let max = match next_report {
                Some(at) => at
                    .saturating_sub(t0.elapsed())
                    .clamp(Duration::from_micros(50), BACKSTOP),
                None => BACKSTOP,
            };
            s = self.sleep(s, max);
            busy = self.busy();
            if let Some(at) = next_report
                && busy != 0
                && t0.elapsed() >= at
            {
                next_report = Some(at * 2);
                // Report with the lock released: the callback may use the gate.
                drop(s);
                let stall = DrainStall {
                    gate: self.name.clone(),
                    waited: t0.elapsed(),
                    // No access can begin after the unplug started, so every
                    // blocker has been inside at least since then.
                    blockers: self.blockers(Some(unplug_start)),
                };
                if let Some(f) = &self.on_stall {
                    f(&stall);
                }
                if let Some(m) = &self.monitor {
                    m.report(Report::new(
                        ReportKind::DrainStall,
                        self.id,
                        &self.name,
                        stall.to_string(),
                        None,
                    ));
                }
                s = lock(&self.cold.slow);
                s.stalls.push(stall);
                busy = self.busy();
            }
        }
        first
    }
}

/// Completes step 2 of the first unplug (see [`GateCore::unplug`]).
struct WokenGuard<'a>(&'a GateCore);

impl Drop for WokenGuard<'_> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.cold.slow);
        s.woken = true;
        s.waker = None;
        self.0.wake_sleepers(&s);
    }
}

/// Proof that the calling thread is inside a gate: the object behind it has not
/// finished unplugging, and will not until this guard is dropped.
///
/// # Invariants
///
/// * While an `Access` lives, its slot (or the overflow counter) counts it, so
///   `unplug` of its gate cannot return.
/// * `Access` is `!Send` and `!Sync`: the slot belongs to the creating thread.
#[must_use = "dropping the Access immediately exits the gate"]
pub struct Access<'a> {
    gate: &'a GateCore,
    /// The thread's record, tagged with the slot index and `M_*` flags.
    tagged: *const ThreadRecord,
    _not_send: PhantomData<*const ()>,
}

impl<'a> Access<'a> {
    #[inline(always)]
    fn new(gate: &'a GateCore, record: &'static ThreadRecord, meta: usize) -> Self {
        debug_assert!(meta <= M_ALL);
        let tagged = (record as *const ThreadRecord).map_addr(|a| a | meta);
        Access {
            gate,
            tagged,
            _not_send: PhantomData,
        }
    }

    /// Slot index and flags.
    #[inline(always)]
    fn meta(&self) -> usize {
        self.tagged.addr() & M_ALL
    }

    #[inline(always)]
    fn record(&self) -> &'static ThreadRecord {
        // SAFETY: with the tag bits cleared, `tagged` is the pointer made from a
        // `&'static ThreadRecord` in `new` (same provenance, `map_addr` keeps it);
        // records are leaked and never freed, so the reference is valid for
        // `'static`, and only shared references to records are ever made.
        unsafe { &*self.tagged.map_addr(|a| a & !M_ALL) }
    }

    fn add_flag(&mut self, flag: usize) {
        self.tagged = self.tagged.map_addr(|a| a | flag);
    }
}

impl Access<'_> {
    /// Id of the gate this access is inside.
    pub fn gate_id(&self) -> u64 {
        self.gate.id
    }

    /// Whether the gate started unplugging while this access was held: long
    /// operations should check it and bail out early.
    pub fn is_unplugging(&self) -> bool {
        self.gate.state.load(Ordering::Acquire) & UNPLUGGED != 0
    }

    /// A typestate proof that the object behind the gate is still bound for as
    /// long as this access is held (see [`crate::Bound`]).
    pub fn bound(&self) -> crate::Bound<'_> {
        crate::Bound::from_gate(self.gate.id)
    }
}

impl fmt::Debug for Access<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("gate", &self.gate.name)
            .field("overflow", &(self.meta() & M_OVERFLOW != 0))
            .field("slot", &(self.meta() & M_SLOT))
            .finish()
    }
}

/// Exit of a nested (slot > 0), labelled, traced, full-fence or overflow access. Takes the
/// access's two words by value so that the fast path never spills the guard.
#[cold]
#[inline(never)]
fn drop_slow(gate: &GateCore, tagged: *const ThreadRecord) {
    let meta = tagged.addr() & M_ALL;
    // SAFETY: as in `Access::record`: the untagged pointer is a `&'static`
    // record.
    let record: &'static ThreadRecord = unsafe { &*tagged.map_addr(|a| a & !M_ALL) };
    if meta & M_LABELLED != 0 {
        record.labels[meta & M_SLOT].store(0, Ordering::Relaxed);
    }
    if meta & M_TRACE != 0 {
        gate.journal(EventKind::Exit, None);
    }
    if meta & M_OVERFLOW != 0 {
        gate.exit_overflow(record);
    } else {
        gate.exit_slot(record, meta & M_SLOT);
    }
}

impl Drop for Access<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Fast path: slot 0, no flag (so a compiler-fence thread), and the
        // tagged pointer is the record.
        let meta = self.meta();
        if meta == 0 {
            self.gate.exit_fast(self.record());
        } else if meta == M_LABELLED {
            // The labelled twin of the fast path (`Gate::enter_as` in slot 0).
            let record = self.record();
            record.labels[0].store(0, Ordering::Relaxed);
            self.gate.exit_fast(record);
        } else {
            drop_slow(self.gate, self.tagged);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc as StdArc;
    use std::sync::atomic::AtomicBool as StdBool;

    #[test]
    fn enter_after_unplug_fails() {
        let g = Gate::named("t");
        drop(g.enter().unwrap());
        let st = g.unplug().unwrap();
        assert!(st.first);
        assert_eq!(g.enter().unwrap_err(), Gone);
        assert!(g.is_drained());
        let st2 = g.unplug().unwrap();
        assert!(!st2.first);
    }

    /// A label names its access while it is held, nested labels name theirs,
    /// and a plain access that reuses a labelled slot shows no stale label.
    #[test]
    fn labels_name_held_accesses_and_are_cleared_at_exit() {
        let g = Gate::named("labels");
        let labels = |g: &Gate| {
            let mut v: Vec<_> = g.blockers().into_iter().map(|b| b.label).collect();
            v.sort();
            v
        };
        let a = g.enter_as("VIDIOC_DQBUF").unwrap();
        // A label built at run time (a `'static` borrow of a heap string).
        static DYNAMIC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dynamic: &'static str = DYNAMIC.get_or_init(|| ["dynamic", "op"].join(" "));
        let b = g.enter_as(dynamic).unwrap();
        assert_eq!(labels(&g), vec![Some("VIDIOC_DQBUF"), Some("dynamic op")]);
        assert!(g.blockers().iter().all(|b| b.since.is_none()));
        drop(b);
        drop(a);
        let plain = g.enter().unwrap();
        assert_eq!(labels(&g), vec![None]);
        drop(plain);
        assert!(g.blockers().is_empty());
    }

    /// A traced gate journals both ends of a fast-path access, in order.
    #[test]
    fn traced_gate_journals_enter_and_exit() {
        let m = Monitor::new();
        let g = Gate::builder().trace(true).monitor(&m).build();
        drop(g.enter_as("read").unwrap());
        drop(g.enter().unwrap());
        assert_eq!(
            m.journal().kinds(g.id()),
            vec![
                EventKind::Enter,
                EventKind::Exit,
                EventKind::Enter,
                EventKind::Exit
            ]
        );
        g.unplug().unwrap();
        assert!(g.enter().is_err());
    }

    #[test]
    fn nested_and_reentrant_accesses() {
        let a = Gate::named("a");
        let b = Gate::named("b");
        let x1 = a.enter().unwrap();
        let y = b.enter().unwrap();
        let x2 = a.enter().unwrap();
        assert_eq!(a.in_flight(), 2);
        assert_eq!(b.in_flight(), 1);
        drop(x1);
        assert_eq!(a.in_flight(), 1);
        drop(y);
        // b can be unplugged while this thread is inside a.
        b.unplug().unwrap();
        drop(x2);
        assert_eq!(a.in_flight(), 0);
    }

    #[test]
    fn more_accesses_than_slots_use_overflow() {
        let g = Gate::named("deep");
        let v: Vec<_> = (0..SLOTS + 5).map(|_| g.enter().unwrap()).collect();
        assert_eq!(g.in_flight(), SLOTS + 5);
        drop(v);
        assert_eq!(g.in_flight(), 0);
        g.unplug().unwrap();
    }

    #[test]
    fn unplug_from_inside_own_access_is_refused() {
        let g = Gate::named("self");
        let a = g.enter().unwrap();
        let e = g.unplug().unwrap_err();
        assert!(matches!(e, UnplugError::InsideAccess(_)));
        assert!(g.is_unplugged());
        assert!(g.enter().is_err());
        drop(a);
        g.unplug().unwrap();
        assert!(g.is_drained());
    }

    #[test]
    fn unplug_waits_for_in_flight_access() {
        let g = Gate::named("wait");
        let done = StdArc::new(StdBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let g2 = g.clone();
        let d2 = done.clone();
        let t = std::thread::spawn(move || {
            let a = g2.enter().unwrap();
            tx.send(()).unwrap();
            // Stay inside until the unplug has begun, then finish the work.
            while !a.is_unplugging() {
                std::thread::yield_now();
            }
            d2.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        rx.recv().unwrap();
        g.unplug().unwrap();
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        t.join().unwrap();
    }

    #[test]
    fn cancel_hooks_run_once_and_can_be_removed() {
        let g = Gate::new();
        let hits = StdArc::new(std::sync::atomic::AtomicUsize::new(0));
        let h1 = hits.clone();
        g.on_unplug(move || {
            h1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .unwrap();
        let h2 = hits.clone();
        let id = g
            .on_unplug(move || {
                h2.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
            })
            .unwrap();
        assert!(g.remove_hook(id));
        g.unplug().unwrap();
        g.unplug().unwrap();
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(g.on_unplug(|| ()).is_err());
    }

    /// The holder keeps its access until the watchdog has reported it, so the
    /// test does not depend on how fast the machine is.
    #[test]
    fn watchdog_names_the_blocking_access() {
        let (stall_tx, stall_rx) = std::sync::mpsc::channel::<DrainStall>();
        let stall_tx = Mutex::new(stall_tx);
        let m = Monitor::new();
        let g = Gate::builder()
            .name("wd")
            .watchdog(Duration::from_millis(5))
            .monitor(&m)
            .on_stall(move |s| {
                let _ = lock(&stall_tx).send(s.clone());
            })
            .build();
        let g2 = g.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::Builder::new()
            .name("slowpoke".into())
            .spawn(move || {
                let _a = g2.enter_as("VIDIOC_DQBUF").unwrap();
                tx.send(()).unwrap();
                // Stay inside until the watchdog names us.
                stall_rx.recv().unwrap()
            })
            .unwrap();
        rx.recv().unwrap();
        let st = g.unplug().unwrap();
        assert_eq!(st.in_flight, 1);
        let first = t.join().unwrap();
        let b = &first.blockers[0];
        assert_eq!(first.gate, "wd");
        assert_eq!(b.thread, "slowpoke");
        assert_eq!(b.label, Some("VIDIOC_DQBUF"));
        assert!(b.since.is_some());
        assert!(first.to_string().contains("VIDIOC_DQBUF"));
        assert!(!g.stalls().is_empty());
        // The checker also files a report with the monitor.
        let reps = m.reports().all();
        assert!(!reps.is_empty());
        assert!(reps.iter().all(|r| r.kind == ReportKind::DrainStall));
        assert!(reps[0].message.contains("slowpoke"), "{}", reps[0]);
        assert_eq!(reps[0].object, Some(g.id()));
    }

    #[test]
    fn no_stall_report_when_the_drain_is_prompt() {
        let m = Monitor::new();
        let g = Gate::builder()
            .watchdog(Duration::from_secs(3600))
            .monitor(&m)
            .build();
        drop(g.enter().unwrap());
        g.unplug().unwrap();
        assert!(g.stalls().is_empty());
        assert!(m.reports().is_empty());
        let kinds = m.journal().kinds(g.id());
        assert_eq!(kinds, vec![EventKind::UnplugBegin, EventKind::UnplugEnd]);
    }

    /// The stall callback runs without the gate lock held: it may query the gate.
    #[test]
    fn stall_callback_may_use_the_gate() {
        // The callback reaches the gate through this cell; it is emptied at the
        // end to break the cycle (gate -> callback -> cell -> gate).
        let cell: StdArc<Mutex<Option<Gate>>> = StdArc::new(Mutex::new(None));
        let (stall_tx, stall_rx) = std::sync::mpsc::channel::<usize>();
        let stall_tx = Mutex::new(stall_tx);
        let c2 = cell.clone();
        let g = Gate::builder()
            .watchdog(Duration::from_millis(1))
            .on_stall(move |_| {
                let g = lock(&c2).clone().unwrap();
                let n = g.stalls().len() + g.blockers().len();
                let _ = lock(&stall_tx).send(n);
            })
            .build();
        *lock(&cell) = Some(g.clone());
        let g2 = g.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _a = g2.enter().unwrap();
            tx.send(()).unwrap();
            stall_rx.recv().unwrap()
        });
        rx.recv().unwrap();
        g.unplug().unwrap();
        assert!(t.join().unwrap() >= 1);
        lock(&cell).take();
    }

    /// A thread that holds more accesses than it has slots, then unplugs a gate
    /// it entered through the overflow counter, is refused instead of waiting
    /// for itself forever.
    #[test]
    fn unplug_from_inside_an_overflow_access_is_refused() {
        let other = Gate::named("other");
        let g = Gate::named("deep");
        let fill: Vec<_> = (0..SLOTS).map(|_| other.enter().unwrap()).collect();
        let a = g.enter().unwrap();
        assert_ne!(a.meta() & M_OVERFLOW, 0);
        assert_eq!(g.blockers().len(), 1);
        assert_ne!(g.blockers()[0].thread, "<overflow access>");
        assert!(matches!(g.unplug(), Err(UnplugError::InsideAccess(_))));
        drop(a);
        drop(fill);
        g.unplug().unwrap();
        assert_eq!(other.in_flight(), 0);
    }

    /// A panicking cancel hook must not leave concurrent unplugs waiting for a
    /// wake-up step that never completes.
    #[test]
    fn panicking_hook_does_not_wedge_the_gate() {
        let g = Gate::named("p");
        g.on_unplug(|| panic!("hook failed")).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.unplug()));
        assert!(r.is_err());
        assert!(g.enter().is_err());
        let st = g.unplug().unwrap();
        assert!(!st.first);
        assert!(g.is_drained());
    }

    /// A cancel hook that unplugs its own gate gets an error, not a deadlock.
    #[test]
    fn reentrant_unplug_from_a_hook_is_refused() {
        let g = Gate::named("re");
        let g2 = g.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        g.on_unplug(move || tx.send(g2.unplug().map(|_| ())).unwrap())
            .unwrap();
        g.unplug().unwrap();
        assert!(matches!(rx.recv().unwrap(), Err(UnplugError::Reentrant(_))));
    }

    /// Unplugging gate B never waits for a reader of gate A.
    #[test]
    fn unplug_ignores_other_gates_readers() {
        let a = Gate::named("a");
        let b = Gate::named("b");
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let a2 = a.clone();
        let t = std::thread::spawn(move || {
            let _x = a2.enter().unwrap();
            tx.send(()).unwrap();
            done_rx.recv().unwrap();
        });
        rx.recv().unwrap();
        let st = b.unplug().unwrap();
        assert_eq!(st.in_flight, 0);
        assert_eq!(a.in_flight(), 1);
        done_tx.send(()).unwrap();
        t.join().unwrap();
        a.unplug().unwrap();
    }

    #[test]
    fn concurrent_unplugs_all_wait_for_the_drain() {
        let g = Gate::named("cc");
        let done = StdArc::new(StdBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (g2, d2) = (g.clone(), done.clone());
        let holder = std::thread::spawn(move || {
            let a = g2.enter().unwrap();
            tx.send(()).unwrap();
            while !a.is_unplugging() {
                std::thread::yield_now();
            }
            d2.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        rx.recv().unwrap();
        let us: Vec<_> = (0..3)
            .map(|_| {
                let (g, d) = (g.clone(), done.clone());
                std::thread::spawn(move || {
                    g.unplug().unwrap();
                    assert!(d.load(std::sync::atomic::Ordering::SeqCst));
                })
            })
            .collect();
        for u in us {
            u.join().unwrap();
        }
        holder.join().unwrap();
    }
}
