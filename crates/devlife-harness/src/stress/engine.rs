//! The stress engine: userspace threads, kernel threads, a coordinator that
//! signals long sleepers and watches for hangs, and the wind-down.

use super::stats::{Merged, Outcome, ThreadStats};
use super::summary::{Hang, Leak, Summary, TimePoint, Unplugs};
use super::target::{Instance, KernelOp, NodeProfile, Target, all_targets};
use devlife_drivers::Style;
use devlife_model::{
    BlockKind, Errno, FaultPoint, File, Kernel, KernelConfig, Mapping, MmapRequest, OpenFlags,
    PollMask,
};
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Settings of a stress run.
#[derive(Clone, Debug)]
pub struct StressConfig {
    /// Targets by name; empty means every target.
    pub drivers: Vec<String>,
    /// How the drivers are written.
    pub style: Style,
    /// Userspace threads (open/ioctl/read/poll/mmap/close at random).
    pub user_threads: usize,
    /// Kernel threads (unbind/bind/hot-unplug/replug/unload/reload at
    /// random); 0 for userspace only.
    pub kernel_threads: usize,
    /// How long the threads race.
    pub duration: Duration,
    /// Seed of every per-thread random generator.
    pub seed: u64,
    /// Make fallible probe/registration steps fail at random.
    pub inject_faults: bool,
    /// A thread in one call for longer than this is reported as hung; also
    /// the gates' drain watchdog. `None`: the larger of the duration and 5 s.
    pub hang_timeout: Option<Duration>,
    /// A userspace thread sleeping in one call longer than this is sent a
    /// signal (`EINTR`), as an impatient program would be.
    pub signal_after: Duration,
    /// Each userspace thread stops after this many calls (the run ends when
    /// all did, or at `duration`). With no kernel thread, the sequence of
    /// calls of each thread is then a pure function of the seed.
    pub ops_per_thread: Option<u64>,
}

impl Default for StressConfig {
    fn default() -> Self {
        Self {
            drivers: Vec::new(),
            style: Style::Framework,
            user_threads: default_user_threads(),
            kernel_threads: DEFAULT_KERNEL_THREADS,
            duration: Duration::from_secs(10),
            seed: 0,
            inject_faults: false,
            hang_timeout: None,
            signal_after: Duration::from_millis(20),
            ops_per_thread: None,
        }
    }
}

/// How often the coordinator looks at the threads (progress, signals, hang
/// watch): the resolution of the hang timeout.
pub const PACING: Duration = Duration::from_millis(10);

impl StressConfig {
    /// The smallest hang timeout the engine accepts: its pacing (it cannot
    /// see a thread stuck for less).
    pub fn min_hang_timeout(&self) -> Duration {
        PACING
    }

    /// The hang timeout in effect.
    pub fn effective_hang_timeout(&self) -> Duration {
        self.hang_timeout
            .unwrap_or_else(|| self.duration.max(Duration::from_secs(5)))
    }
}

/// Eight per CPU, at least 4. Most userspace threads sleep in blocking
/// calls most of the time (until data, a signal or an unplug), so two per CPU
/// left the CPUs a third busy; eight per CPU make about five times as many
/// calls per second, and keep as many unplugs finding a sleeper.
pub fn default_user_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 8)
        .unwrap_or(4)
        .max(4)
}

/// Kernel-side threads by default: four, so that unplugs (each sleeping
/// a moment after a rebind, so userspace gets to use the devices) keep up
/// with the userspace threads.
pub const DEFAULT_KERNEL_THREADS: usize = 4;

/// A seed from the clock and the process id (for runs without `--seed`).
pub fn random_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    splitmix(t ^ (u64::from(std::process::id()) << 32))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The random generator of thread `index` of `role` for `seed`.
fn thread_rng(seed: u64, role: u64, index: usize) -> SmallRng {
    SmallRng::seed_from_u64(splitmix(seed ^ splitmix(role << 32 | index as u64)))
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StressError {
    /// `--driver` named no known target.
    #[error("unknown driver `{name}` (known: {known})")]
    UnknownDriver {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// No userspace thread.
    #[error("need at least one userspace thread")]
    NoThreads,
    /// The hang timeout is shorter than what the engine can observe.
    #[error(
        "hang timeout {given:?} is below {min:?}: the coordinator looks at the threads every \
         {PACING:?} and cannot tell a shorter stall"
    )]
    HangTimeoutTooShort {
        /// The timeout asked for.
        given: Duration,
        /// The smallest accepted (the pacing).
        min: Duration,
    },
    /// A target could not be registered.
    #[error("registering {driver} failed: {errno}")]
    Register {
        /// The target.
        driver: String,
        /// What registration returned.
        errno: Errno,
    },
    /// A thread could not be spawned.
    #[error("spawning a thread failed: {0}")]
    Spawn(String),
}

/// A snapshot given to the progress callback about every 10 ms.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Time since the threads started.
    pub elapsed: Duration,
    /// Requested duration.
    pub duration: Duration,
    /// Calls made so far (all threads).
    pub ops: u64,
    /// Successful unplugs so far.
    pub unplugs: u64,
    /// Checker reports so far.
    pub reports: usize,
}

/// What a thread is doing, for the hang watchdog.
struct Slot {
    op: &'static str,
    object: String,
    since: Option<Instant>,
}

/// Shared between one worker thread and the coordinator.
struct Worker {
    name: String,
    ops: AtomicU64,
    unplugs: AtomicU64,
    slot: Mutex<Slot>,
}

impl Worker {
    fn new(name: String) -> Arc<Self> {
        Arc::new(Self {
            name,
            ops: AtomicU64::new(0),
            unplugs: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                op: "",
                object: String::new(),
                since: None,
            }),
        })
    }

    fn begin(&self, op: &'static str, object: &str) {
        let mut s = self.slot.lock();
        s.op = op;
        s.object.clear();
        s.object.push_str(object);
        s.since = Some(Instant::now());
    }

    fn end(&self) {
        self.slot.lock().since = None;
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// `(op, object, start)` if the thread is in a call.
    fn current(&self) -> Option<(&'static str, String, Instant)> {
        let s = self.slot.lock();
        s.since.map(|t| (s.op, s.object.clone(), t))
    }
}

struct Ctx {
    kernel: Kernel,
    /// One per target, with its name.
    instances: Vec<(&'static str, Box<dyn Instance>)>,
    stop: AtomicBool,
    inject_faults: bool,
    ops_per_thread: u64,
    /// Per target: a module unload is waiting for its users to close their
    /// files (userspace closes them; new opens still race with the unload).
    draining: Vec<AtomicBool>,
}

const MAX_FILES: usize = 6;
const MAX_MAPS: usize = 4;

struct OpenFile {
    file: File,
    name: String,
    profile: Arc<NodeProfile>,
    /// Index of the file's target in `Ctx::targets`.
    target: usize,
}

/// Runs a stress test and returns its summary.
pub fn run(cfg: &StressConfig) -> Result<Summary, StressError> {
    run_with_progress(cfg, &mut |_| {})
}

/// Like [`run`], calling `progress` about every 10 ms while the threads race.
pub fn run_with_progress(
    cfg: &StressConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, StressError> {
    if cfg.user_threads == 0 {
        return Err(StressError::NoThreads);
    }
    if let Some(given) = cfg.hang_timeout
        && given < cfg.min_hang_timeout()
    {
        return Err(StressError::HangTimeoutTooShort {
            given,
            min: cfg.min_hang_timeout(),
        });
    }
    let targets = select_targets(&cfg.drivers)?;
    let hang_timeout = cfg.effective_hang_timeout();
    let kernel = Kernel::with_config(KernelConfig {
        name: "stress".to_owned(),
        watchdog: Some(hang_timeout),
        ..KernelConfig::default()
    });
    let mut instances = Vec::new();
    for t in &targets {
        match t.register(&kernel, cfg.style) {
            Ok(i) => {
                i.settle();
                instances.push((t.name(), i));
            }
            Err(errno) => {
                drop(instances);
                kernel.shutdown();
                return Err(StressError::Register {
                    driver: t.name().to_owned(),
                    errno,
                });
            }
        }
    }
    let ctx = Arc::new(Ctx {
        kernel: kernel.clone(),
        instances,
        stop: AtomicBool::new(false),
        inject_faults: cfg.inject_faults,
        ops_per_thread: cfg.ops_per_thread.unwrap_or(u64::MAX),
        draining: targets.iter().map(|_| AtomicBool::new(false)).collect(),
    });
    let t0 = Instant::now();
    let mut users: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)> = Vec::new();
    let mut kthreads: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)> = Vec::new();
    let spawn = |role: u64, i: usize, prefix: &str| -> Result<_, StressError> {
        let w = Worker::new(format!("{prefix}-{i}"));
        let (c, w2) = (ctx.clone(), w.clone());
        let rng = thread_rng(cfg.seed, role, i);
        let h = std::thread::Builder::new()
            .name(w.name.clone())
            .spawn(move || {
                if role == 0 {
                    user_thread(&c, &w2, rng)
                } else {
                    kernel_thread(&c, &w2, rng)
                }
            })
            .map_err(|e| StressError::Spawn(e.to_string()))?;
        Ok((w, h))
    };
    let mut spawn_err = None;
    for i in 0..cfg.user_threads {
        match spawn(0, i, "stress-user") {
            Ok(x) => users.push(x),
            Err(e) => spawn_err = Some(e),
        }
    }
    for i in 0..cfg.kernel_threads {
        match spawn(1, i, "stress-kernel") {
            Ok(x) => kthreads.push(x),
            Err(e) => spawn_err = Some(e),
        }
    }

    let mut hangs: Vec<Hang> = Vec::new();
    let mut seen_hangs: Vec<(String, Instant)> = Vec::new();
    let mut signals = 0u64;
    let workers: Vec<Arc<Worker>> = users
        .iter()
        .chain(kthreads.iter())
        .map(|(w, _)| w.clone())
        .collect();
    let snapshot = |elapsed| Progress {
        elapsed,
        duration: cfg.duration,
        ops: workers.iter().map(|w| w.ops.load(Ordering::Relaxed)).sum(),
        unplugs: workers
            .iter()
            .map(|w| w.unplugs.load(Ordering::Relaxed))
            .sum(),
        reports: kernel.monitor().reports().len(),
    };
    // The race.
    let mut timeline = Vec::new();
    let mut next_point = Duration::ZERO;
    while spawn_err.is_none() {
        let elapsed = t0.elapsed();
        if elapsed >= cfg.duration || users.iter().all(|(_, h)| h.is_finished()) {
            break;
        }
        std::thread::sleep((cfg.duration - elapsed).min(PACING));
        let p = snapshot(t0.elapsed().min(cfg.duration));
        if p.elapsed >= next_point {
            next_point = p.elapsed + Duration::from_millis(100);
            timeline.push(TimePoint {
                t_s: p.elapsed.as_secs_f64(),
                ops: p.ops,
                unplugs: p.unplugs,
            });
        }
        progress(&p);
        signals += signal_sleepers(&kernel, cfg.signal_after);
        watch(&workers, hang_timeout, &mut hangs, &mut seen_hangs);
    }
    ctx.stop.store(true, Ordering::Release);

    // Wind-down 1: the kernel threads finish their current action.
    let mut stats = Merged::default();
    for (w, h) in join_all(kthreads, hang_timeout, &mut hangs, &kernel, false) {
        let _ = w;
        stats.add(h);
    }
    // Wind-down 2: every device goes (framework: every sleeper wakes), while
    // the userspace threads finish their current call.
    let k2 = kernel.clone();
    let shutdown = std::thread::Builder::new()
        .name("stress-shutdown".to_owned())
        .spawn(move || k2.shutdown())
        .ok();
    let deadline = Instant::now() + hang_timeout;
    if let Some(h) = &shutdown {
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !h.is_finished() {
            hangs.push(Hang {
                thread: "stress-shutdown".to_owned(),
                op: "shutdown".to_owned(),
                object: "every device".to_owned(),
                stuck_ms: hang_timeout.as_millis() as u64,
                recovered: false,
            });
        }
    }
    // Every device is gone (or shutdown is stuck): a thread still sleeping in
    // an operation of an unplugged node was not woken by its unplug.
    kernel.check_hangs();
    for (_, h) in join_all(users, hang_timeout, &mut hangs, &kernel, true) {
        stats.add(h);
    }
    // The instances go with the last thread's handle on the context.
    drop(ctx);
    if let Some(h) = shutdown
        && h.is_finished()
    {
        let _ = h.join();
        // Wind-down 3: with every file closed, the modules unload.
        kernel.shutdown();
    }
    let elapsed = t0.elapsed();
    progress(&snapshot(cfg.duration));
    if let Some(e) = spawn_err {
        return Err(e);
    }

    // One kept report per kind and site, with its repeat count.
    let reports = kernel.monitor().reports().all();
    let report_total = kernel.monitor().reports().len();
    let groups = Summary::group_reports(&reports);
    let mut reports_by_kind = std::collections::BTreeMap::new();
    for r in &reports {
        *reports_by_kind
            .entry(r.kind.title().to_owned())
            .or_insert(0usize) += usize::try_from(r.occurrences()).unwrap_or(usize::MAX);
    }
    let leaks: Vec<Leak> = kernel
        .leaks()
        .into_iter()
        .map(|c| Leak {
            type_name: c.type_name.to_owned(),
            live: c.live(),
            created: c.created,
            released: c.released,
        })
        .collect();
    let samples_us = stats
        .unplug_latency
        .iter()
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    let unplugs = Unplugs {
        count: stats.unplugs.values().sum(),
        by_kind: std::mem::take(&mut stats.unplugs),
        with_sleeper: stats.unplugs_with_sleeper,
        latency: super::stats::Latency::from_samples(std::mem::take(&mut stats.unplug_latency)),
        samples_us,
    };
    let clean = reports.is_empty() && leaks.is_empty() && hangs.is_empty();
    Ok(Summary {
        seed: cfg.seed,
        style: match cfg.style {
            Style::Framework => "framework",
            Style::Legacy => "legacy",
        },
        drivers: targets.iter().map(|t| t.name().to_owned()).collect(),
        user_threads: cfg.user_threads,
        kernel_threads: cfg.kernel_threads,
        duration_ms: cfg.duration.as_millis() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        inject_faults: cfg.inject_faults,
        faults_injected: kernel.faults().injected(),
        signals,
        total_ops: stats.ops.values().map(|o| o.count).sum(),
        ops: stats.ops,
        ioctls: stats.ioctls,
        results: stats.results,
        unplugs,
        timeline,
        report_count: report_total,
        reports_by_kind,
        reports: groups,
        leaks,
        hangs,
        clean,
    })
}

fn select_targets(names: &[String]) -> Result<Vec<Arc<dyn Target>>, StressError> {
    let all = all_targets();
    if names.is_empty() {
        return Ok(all);
    }
    let mut out: Vec<Arc<dyn Target>> = Vec::new();
    for n in names {
        let t = all
            .iter()
            .find(|t| t.name() == n)
            .ok_or_else(|| StressError::UnknownDriver {
                name: n.clone(),
                known: all.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
            })?;
        if !out.iter().any(|o| o.name() == t.name()) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Signals every userspace thread that has slept in one call for longer
/// than `after`. Returns how many were signalled.
fn signal_sleepers(k: &Kernel, after: Duration) -> u64 {
    let mut n = 0;
    for b in k.activity().blocked() {
        if b.kind == BlockKind::Wait
            && b.thread.starts_with("stress-user")
            && b.since.elapsed() >= after
            && k.activity().signal(&b.thread)
        {
            n += 1;
        }
    }
    n
}

/// Records (once per call) every worker in one call for longer than `limit`.
fn watch(
    workers: &[Arc<Worker>],
    limit: Duration,
    hangs: &mut Vec<Hang>,
    seen: &mut Vec<(String, Instant)>,
) {
    for w in workers {
        let Some((op, object, since)) = w.current() else {
            continue;
        };
        let t = since.elapsed();
        if t < limit {
            continue;
        }
        // One report per call: calls are told apart by their start time.
        if seen.iter().any(|(n, s)| *n == w.name && *s == since) {
            continue;
        }
        seen.push((w.name.clone(), since));
        hangs.push(Hang {
            thread: w.name.clone(),
            op: op.to_owned(),
            object,
            stuck_ms: t.as_millis() as u64,
            recovered: true,
        });
    }
}

/// Joins `threads`, waiting at most `limit` for all of them. A thread still
/// running then is reported as hung (and stays detached); userspace threads
/// are sent signals for a while first so that a legacy sleeper nobody woke
/// can still leave.
fn join_all(
    threads: Vec<(Arc<Worker>, JoinHandle<ThreadStats>)>,
    limit: Duration,
    hangs: &mut Vec<Hang>,
    k: &Kernel,
    users: bool,
) -> Vec<(Arc<Worker>, ThreadStats)> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && threads.iter().any(|(_, h)| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut out = Vec::new();
    let mut stuck = Vec::new();
    for (w, h) in threads {
        if h.is_finished() {
            if let Ok(s) = h.join() {
                out.push((w, s));
            }
            continue;
        }
        let (op, object, t) = w
            .current()
            .map(|(op, o, since)| (op, o, since.elapsed()))
            .unwrap_or(("-", String::new(), limit));
        // Replace an earlier "recovered" record of the same call.
        hangs.retain(|x| !(x.thread == w.name && x.op == op && x.recovered));
        hangs.push(Hang {
            thread: w.name.clone(),
            op: op.to_owned(),
            object,
            stuck_ms: t.as_millis() as u64,
            recovered: false,
        });
        stuck.push((w, h));
    }
    if users && !stuck.is_empty() {
        // Let them go if a signal can: 1 s of signals, then detach.
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && stuck.iter().any(|(_, h)| !h.is_finished()) {
            for (w, _) in &stuck {
                k.activity().signal(&w.name);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (w, h) in stuck {
            if h.is_finished()
                && let Ok(s) = h.join()
            {
                out.push((w, s));
            }
        }
    }
    out
}

// ----- userspace threads ----------------------------------------------------

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

fn user_thread(ctx: &Ctx, me: &Worker, mut rng: SmallRng) -> ThreadStats {
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
                let profile = Arc::new(t.profile(node));
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
                let (_, m) = &maps[rng.random_range(0..maps.len())];
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

// ----- kernel threads -------------------------------------------------------

const FAULT_POINTS: [FaultPoint; 6] = [
    FaultPoint::Alloc,
    FaultPoint::MinorAlloc,
    FaultPoint::NodeRegister,
    FaultPoint::EntityRegister,
    FaultPoint::IrqRequest,
    FaultPoint::IoRemap,
];

/// Picks an action: only teardowns while every device of the target is
/// bound, mostly restores (bind, replug, reload) otherwise, so that the
/// devices are up most of the time and userspace gets to use them.
fn pick_kernel_op(rng: &mut SmallRng, ops: &[KernelOp], up: bool) -> Option<KernelOp> {
    let weight = |op: KernelOp| match op {
        KernelOp::Unbind => 3,
        KernelOp::Bind => 3,
        KernelOp::HotUnplug => 2,
        KernelOp::Replug => 3,
        KernelOp::Unload => 1,
        KernelOp::Reload => 2,
    };
    let restore = !up && rng.random_bool(0.8);
    let cands: Vec<KernelOp> = ops
        .iter()
        .copied()
        .filter(|o| o.probes() == restore)
        .collect();
    let total: u32 = cands.iter().map(|o| weight(*o)).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.random_range(0..total);
    for o in cands {
        if r < weight(o) {
            return Some(o);
        }
        r -= weight(o);
    }
    None
}

/// `rmmod` of target `ti`'s module(s): userspace is asked to close the
/// driver's files, and the unload is retried while it says `EBUSY` (at most
/// 20 times, 250 µs apart). New opens keep racing with it. Returns the last
/// attempt's result and wall time.
fn unload(ctx: &Ctx, ti: usize, rng: &mut SmallRng) -> (Result<(), Errno>, Duration) {
    let t = &ctx.instances[ti].1;
    ctx.draining[ti].store(true, Ordering::Release);
    let mut last = (Err(Errno::EBUSY), Duration::ZERO);
    for _ in 0..20 {
        let t0 = Instant::now();
        let r = t.perform(KernelOp::Unload, rng);
        last = (r, t0.elapsed());
        if r != Err(Errno::EBUSY) || ctx.stop.load(Ordering::Acquire) {
            break;
        }
        std::thread::sleep(Duration::from_micros(250));
    }
    ctx.draining[ti].store(false, Ordering::Release);
    last
}

fn kernel_thread(ctx: &Ctx, me: &Worker, mut rng: SmallRng) -> ThreadStats {
    let mut st = ThreadStats::default();
    let k = &ctx.kernel;
    while !ctx.stop.load(Ordering::Acquire) {
        let ti = rng.random_range(0..ctx.instances.len());
        let (name, t) = (&ctx.instances[ti].0, &ctx.instances[ti].1);
        let ops = t.kernel_ops();
        if ops.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        let Some(op) = pick_kernel_op(&mut rng, ops, t.fully_bound()) else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        if ctx.inject_faults && op.probes() && rng.random_bool(0.5) {
            let p = FAULT_POINTS[rng.random_range(0..FAULT_POINTS.len())];
            k.faults().fail_nth(p, rng.random_range(1..=3));
        }
        // Whether a userspace thread sleeps in a call as the unplug begins
        // (any target: a sleeper on another device still races the model's
        // shared state, and the table does not say which target a node is).
        let sleeper = op.is_unplug()
            && k.activity().blocked().iter().any(|b| {
                b.kind == BlockKind::Wait && b.op != "-" && b.thread.starts_with("stress-user")
            });
        me.begin(op.name(), name);
        let (r, dt) = if op == KernelOp::Unload {
            unload(ctx, ti, &mut rng)
        } else {
            let t0 = Instant::now();
            let r = t.perform(op, &mut rng);
            (r, t0.elapsed())
        };
        me.end();
        st.record(op.name(), Outcome::from(&r));
        if r.is_ok() && op.is_unplug() {
            st.unplug_latency.push(dt);
            *st.unplugs.entry(op.name()).or_default() += 1;
            st.unplugs_with_sleeper += u64::from(sleeper);
            me.unplugs.fetch_add(1, Ordering::Relaxed);
        }
        // Leave the devices up for a moment so userspace gets to use them;
        // now and then for long enough to stream a few frames.
        let pause = if op.probes() && r.is_ok() {
            if rng.random_bool(0.1) {
                rng.random_range(20_000..60_000)
            } else {
                rng.random_range(500..3000)
            }
        } else {
            rng.random_range(0..500)
        };
        std::thread::sleep(Duration::from_micros(pause));
    }
    k.faults().clear();
    st
}
