//! Benchmarks of the gate fast path and of unplug latency.
//!
//! Run with `cargo bench -p devlife --bench gate`; `docs/benchmarks.md` has the
//! results and `benches/table.py` turns criterion's output into its table.
//!
//! # `enter_exit/<scheme>/<threads>`
//!
//! One enter+exit pair of a read-side section, with every scheme in the same
//! run. `2` threads means the same loop run concurrently on two threads on the
//! same object (both threads start together on a barrier, each times its own
//! loop, the sample is the slower of the two).
//!
//! * `floor`: a per-thread plain-store counter, the physical floor: a store to
//!   a thread-local slot, a compiler fence, a check of the object's flag, and the
//!   same on exit (what the gate does with `membarrier`, minus bookkeeping);
//! * `tls_fence`: the same with a `SeqCst` fence in place of the compiler fence
//!   (what the gate does when `membarrier` is unavailable);
//! * `shared_counter`: one `AtomicUsize` per object plus an unplugged flag,
//!   `fetch_add`/`fetch_sub` (kref / Laurent Pinchart's 2017 RFC style);
//! * `std_rwlock`, `parking_lot_rwlock`, `sharded_lock`: a read lock;
//! * `epoch_pin`: a crossbeam-epoch pin;
//! * `urcu_memb`: liburcu's membarrier flavour, `urcu_memb_read_lock` + a check
//!   of the object's flag + `urcu_memb_read_unlock`, looped in C
//!   (`benches/urcu_memb.c`, built by `build.rs` when liburcu-dev is installed);
//! * `gate`: `Gate::enter` + drop of the `Access`;
//! * `gate_labelled`: `Gate::enter_as` (a watchdog label) + drop;
//! * `revocable`: `Revocable::try_access` + drop of the guard;
//! * `devres_bound`: `Devres::access` with a `Bound` proof (inside one access).
//!
//! # `unplug/<case>`
//!
//! * `idle`: unplug of a gate with nothing in flight;
//! * `1000_open_files`: revoke of a binding with 1,000 idle open files, each
//!   represented by its registered `WaitQueue` (a v4l2 file handle's event queue)
//!   and a per-file resource in the device's `ResourceScope` (1,000 `Devres`);
//!   the revoke unplugs (wakes 1,000 queues, one drain) and drops 1,000 values;
//! * `100_sleepers`: unplug of a gate with 100 threads asleep inside it, each in
//!   `WaitQueue::wait_until` on its own queue (blocking `DQBUF`): the time
//!   includes waking all of them and waiting until each has left its access;
//! * `idle_after_100_threads`: `idle` again, with the 100 sleeper threads'
//!   records now in the registry (the scan is O(registered threads));
//! * `idle_other_thread`: `idle` while another thread that has used a gate is
//!   alive (waiting outside any gate): the unplug then issues the heavy
//!   barrier (`membarrier`), which `idle` skips because no other thread owns
//!   a gate record.

use criterion::{BatchSize, Criterion, criterion_group};
use devlife::{Gate, ResourceScope, Revocable, WaitOptions, WaitQueue};
use std::hint::black_box;
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, compiler_fence, fence,
};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Runs `body(iters)` on `threads` threads at once; returns the slowest time.
fn concurrent<S: Sync>(state: &S, threads: usize, iters: u64, body: fn(&S, u64)) -> Duration {
    if threads == 1 {
        let t0 = Instant::now();
        body(state, iters);
        return t0.elapsed();
    }
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    // Warm the thread (TLS, registration) before the clock starts.
                    body(state, 1000);
                    start.wait();
                    let t0 = Instant::now();
                    body(state, iters);
                    t0.elapsed()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

// ---- the floor: a per-thread slot written with plain stores -------------------

thread_local! {
    static SLOT: AtomicU64 = const { AtomicU64::new(0) };
}

/// An object guarded by per-thread slots: id plus unplugged flag.
struct SlotObject {
    id: u64,
    unplugged: AtomicBool,
}

#[cold]
fn slow_path() {
    black_box(());
}

#[inline(always)]
fn floor_enter(o: &SlotObject) -> bool {
    SLOT.with(|s| s.store(o.id, Ordering::Relaxed));
    compiler_fence(Ordering::SeqCst);
    if o.unplugged.load(Ordering::Relaxed) {
        SLOT.with(|s| s.store(0, Ordering::Relaxed));
        return false;
    }
    true
}

#[inline(always)]
fn floor_exit(o: &SlotObject) {
    SLOT.with(|s| s.store(0, Ordering::Relaxed));
    compiler_fence(Ordering::SeqCst);
    if o.unplugged.load(Ordering::Relaxed) {
        slow_path();
    }
}

/// Hands the thread's slot address to an opaque function, as a real scheme
/// registers its slot with the unplug side. Without it the compiler sees a
/// thread-local that nothing reads and deletes the stores.
fn publish_slot() {
    SLOT.with(|s| black_box(std::ptr::from_ref(s)));
}

fn floor_loop(o: &SlotObject, iters: u64) {
    publish_slot();
    let o = black_box(o);
    for _ in 0..iters {
        if floor_enter(o) {
            floor_exit(o);
        }
    }
}

fn tls_fence_loop(o: &SlotObject, iters: u64) {
    publish_slot();
    let o = black_box(o);
    for _ in 0..iters {
        SLOT.with(|s| s.store(o.id, Ordering::Relaxed));
        fence(Ordering::SeqCst);
        if o.unplugged.load(Ordering::Relaxed) {
            slow_path();
        }
        SLOT.with(|s| s.store(0, Ordering::Relaxed));
        fence(Ordering::SeqCst);
        if o.unplugged.load(Ordering::Relaxed) {
            slow_path();
        }
    }
}

// ---- shared counter + flag (kref / 2017 RFC) ----------------------------------

struct Counted {
    users: AtomicUsize,
    unplugged: AtomicBool,
}

fn shared_counter_loop(o: &Counted, iters: u64) {
    let o = black_box(o);
    for _ in 0..iters {
        o.users.fetch_add(1, Ordering::SeqCst);
        if o.unplugged.load(Ordering::SeqCst) {
            o.users.fetch_sub(1, Ordering::SeqCst);
            slow_path();
            continue;
        }
        if o.users.fetch_sub(1, Ordering::SeqCst) == 1 && o.unplugged.load(Ordering::Relaxed) {
            slow_path();
        }
    }
}

// ---- locks and epochs ---------------------------------------------------------

fn std_rwlock_loop(l: &std::sync::RwLock<u64>, iters: u64) {
    let l = black_box(l);
    for _ in 0..iters {
        let g = l.read().unwrap();
        black_box(*g);
    }
}

fn parking_lot_loop(l: &parking_lot::RwLock<u64>, iters: u64) {
    let l = black_box(l);
    for _ in 0..iters {
        let g = l.read();
        black_box(*g);
    }
}

fn sharded_loop(l: &crossbeam_utils::sync::ShardedLock<u64>, iters: u64) {
    let l = black_box(l);
    for _ in 0..iters {
        let g = l.read().unwrap();
        black_box(*g);
    }
}

fn epoch_loop(_: &(), iters: u64) {
    for _ in 0..iters {
        let g = crossbeam_epoch::pin();
        black_box(&g);
    }
}

// ---- liburcu-memb (C peer, built by build.rs) ---------------------------------

#[cfg(devlife_urcu)]
unsafe extern "C" {
    /// `benches/urcu_memb.c`: `iters` read-side sections with a flag check.
    fn devlife_urcu_memb_loop(unplugged: *const i32, iters: u64) -> u64;
    /// Whether liburcu-memb uses `membarrier` (its fence-free read side).
    fn devlife_urcu_memb_has_membarrier() -> i32;
}

/// The unplugged flag a urcu reader checks inside its section.
#[cfg(devlife_urcu)]
struct UrcuObject {
    unplugged: std::sync::atomic::AtomicI32,
}

#[cfg(devlife_urcu)]
fn urcu_memb_loop(o: &UrcuObject, iters: u64) {
    // SAFETY: the shim reads the flag through a pointer that stays valid for
    // the call (`o` is borrowed across it); it registers and unregisters the
    // calling thread with liburcu itself.
    let seen = unsafe { devlife_urcu_memb_loop(o.unplugged.as_ptr().cast_const(), iters) };
    black_box(seen);
}

// ---- devlife ------------------------------------------------------------------

fn gate_loop(g: &Gate, iters: u64) {
    let g = black_box(g);
    for _ in 0..iters {
        drop(g.enter());
    }
}

fn gate_labelled_loop(g: &Gate, iters: u64) {
    let g = black_box(g);
    for _ in 0..iters {
        drop(g.enter_as("VIDIOC_DQBUF"));
    }
}

fn revocable_loop(r: &Revocable<u64>, iters: u64) {
    let r = black_box(r);
    // The value is read inside each section and summed; the sum is handed to
    // an opaque function once, so no store per pair is added to the loop.
    let mut sum = 0u64;
    for _ in 0..iters {
        if let Ok(v) = r.try_access() {
            sum = sum.wrapping_add(*v);
        }
    }
    black_box(sum);
}

struct DevresCase {
    gate: Gate,
    _scope: ResourceScope,
    res: devlife::Devres<u64>,
}

fn devres_loop(d: &DevresCase, iters: u64) {
    let a = d.gate.enter().unwrap();
    let b = a.bound();
    for _ in 0..iters {
        let v = black_box(&d.res).access(black_box(&b)).unwrap();
        black_box(*v);
    }
}

fn enter_exit(c: &mut Criterion) {
    let mut g = c.benchmark_group("enter_exit");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50);

    let slot_obj = SlotObject {
        id: 7,
        unplugged: AtomicBool::new(false),
    };
    let counted = Counted {
        users: AtomicUsize::new(0),
        unplugged: AtomicBool::new(false),
    };
    let std_rw = std::sync::RwLock::new(1u64);
    let pl_rw = parking_lot::RwLock::new(1u64);
    let sharded = crossbeam_utils::sync::ShardedLock::new(1u64);
    let gate = Gate::named("bench");
    let revocable = Revocable::new(5u64);
    let dev_gate = Gate::named("bench-devres");
    let scope = ResourceScope::new(&dev_gate);
    let devres = DevresCase {
        res: scope.add(9u64).unwrap(),
        gate: dev_gate,
        _scope: scope,
    };

    #[cfg(devlife_urcu)]
    let urcu_obj = UrcuObject {
        unplugged: std::sync::atomic::AtomicI32::new(0),
    };
    #[cfg(devlife_urcu)]
    {
        // SAFETY: a call into the shim with no arguments (see benches/urcu_memb.c).
        let memb = unsafe { devlife_urcu_memb_has_membarrier() } != 0;
        eprintln!("liburcu-memb uses membarrier: {memb}");
    }
    #[cfg(not(devlife_urcu))]
    eprintln!("liburcu-memb row skipped: liburcu-dev was not found when the bench was built");

    for threads in [1usize, 2] {
        let id = |name: &str| format!("{name}/{threads}");
        #[cfg(devlife_urcu)]
        g.bench_function(id("urcu_memb"), |b| {
            b.iter_custom(|n| concurrent(&urcu_obj, threads, n, urcu_memb_loop))
        });
        g.bench_function(id("floor"), |b| {
            b.iter_custom(|n| concurrent(&slot_obj, threads, n, floor_loop))
        });
        g.bench_function(id("tls_fence"), |b| {
            b.iter_custom(|n| concurrent(&slot_obj, threads, n, tls_fence_loop))
        });
        g.bench_function(id("shared_counter"), |b| {
            b.iter_custom(|n| concurrent(&counted, threads, n, shared_counter_loop))
        });
        g.bench_function(id("std_rwlock"), |b| {
            b.iter_custom(|n| concurrent(&std_rw, threads, n, std_rwlock_loop))
        });
        g.bench_function(id("parking_lot_rwlock"), |b| {
            b.iter_custom(|n| concurrent(&pl_rw, threads, n, parking_lot_loop))
        });
        g.bench_function(id("sharded_lock"), |b| {
            b.iter_custom(|n| concurrent(&sharded, threads, n, sharded_loop))
        });
        g.bench_function(id("epoch_pin"), |b| {
            b.iter_custom(|n| concurrent(&(), threads, n, epoch_loop))
        });
        g.bench_function(id("gate"), |b| {
            b.iter_custom(|n| concurrent(&gate, threads, n, gate_loop))
        });
        g.bench_function(id("gate_labelled"), |b| {
            b.iter_custom(|n| concurrent(&gate, threads, n, gate_labelled_loop))
        });
        g.bench_function(id("revocable"), |b| {
            b.iter_custom(|n| concurrent(&revocable, threads, n, revocable_loop))
        });
        g.bench_function(id("devres_bound"), |b| {
            b.iter_custom(|n| concurrent(&devres, threads, n, devres_loop))
        });
    }
    g.finish();
    // Keep the slot object's flag observable so the checks are not folded away.
    slot_obj.unplugged.store(true, Ordering::Relaxed);
    counted.unplugged.store(true, Ordering::Relaxed);
    black_box((&slot_obj, &counted));
}

// ---- unplug latency -----------------------------------------------------------

fn registered_gate() -> Gate {
    let g = Gate::named("idle");
    drop(g.enter().unwrap());
    g
}

/// One open file: its wait queue and its per-file device resource.
struct OpenFile {
    _queue: WaitQueue,
    _res: devlife::Devres<[u64; 4]>,
}

fn open_files(n: usize) -> (ResourceScope, Vec<OpenFile>) {
    let gate = Gate::named("dev");
    let scope = ResourceScope::new(&gate);
    let files = (0..n)
        .map(|i| OpenFile {
            _queue: WaitQueue::new(&gate),
            _res: scope.add([i as u64; 4]).unwrap(),
        })
        .collect();
    (scope, files)
}

/// What the sleeper threads of one round sleep on, and how they are woken.
#[derive(Clone)]
enum Round {
    /// devlife: each thread inside the gate, in `WaitQueue::wait_until` on
    /// its own queue; `Gate::unplug` wakes them and drains.
    Gate(Gate, Arc<Vec<WaitQueue>>),
    /// Floor: each thread on its own futex word; the waker sets and wakes
    /// each word (one `FUTEX_WAKE` per thread), then sleeps until the last
    /// thread has counted itself out.
    WakeEach(Arc<Floor>),
    /// Floor: every thread on one futex word, woken by one `FUTEX_WAKE`
    /// broadcast; the same counting out.
    WakeAll(Arc<Floor>),
}

/// The futex words of a floor round.
struct Floor {
    /// One word per thread (`WakeEach`) or one for all (`WakeAll`); 0 = sleep.
    words: Vec<AtomicU32>,
    /// Threads that have not left yet; the waker sleeps on it.
    left: AtomicU32,
}

impl Floor {
    fn new(words: usize, threads: usize) -> Arc<Floor> {
        Arc::new(Floor {
            words: (0..words).map(|_| AtomicU32::new(0)).collect(),
            left: AtomicU32::new(threads as u32),
        })
    }

    /// A sleeper: waits on `word` until it is set, then counts itself out
    /// (the last one wakes the waker).
    fn sleep(&self, word: usize, asleep: &AtomicUsize) {
        use rustix::thread::futex;
        let w = &self.words[word];
        asleep.fetch_add(1, Ordering::SeqCst);
        while w.load(Ordering::Acquire) == 0 {
            let _ = futex::wait(w, futex::Flags::PRIVATE, 0, None);
        }
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = futex::wake(&self.left, futex::Flags::PRIVATE, 1);
        }
    }

    /// The waker: sets and wakes every word, then waits until every
    /// sleeper has left.
    fn wake(&self) {
        use rustix::thread::futex;
        for w in &self.words {
            w.store(1, Ordering::Release);
            let _ = futex::wake(w, futex::Flags::PRIVATE, i32::MAX as u32);
        }
        loop {
            let l = self.left.load(Ordering::Acquire);
            if l == 0 {
                return;
            }
            let _ = futex::wait(&self.left, futex::Flags::PRIVATE, l, None);
        }
    }
}

/// `SLEEPERS` persistent threads that sleep in each round (in the gate, or
/// on the floor's futex words), then wait for the next round.
struct Sleepers {
    round: std::sync::Mutex<Option<Round>>,
    start: Barrier,
    asleep: AtomicUsize,
    stop: AtomicBool,
    threads: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Threads of the 100-sleeper rows.
const SLEEPERS: usize = 100;

fn sleeper(sh: &Sleepers, i: usize) {
    loop {
        sh.start.wait();
        if sh.stop.load(Ordering::SeqCst) {
            return;
        }
        let round = sh.round.lock().unwrap().clone().unwrap();
        match round {
            Round::Gate(gate, queues) => {
                let a = gate.enter().unwrap();
                let mut counted = false;
                let r = queues[i].wait_until(&a, WaitOptions::default(), || {
                    if !counted {
                        counted = true;
                        sh.asleep.fetch_add(1, Ordering::SeqCst);
                    }
                    None::<()>
                });
                assert!(r.is_err());
                drop(a);
            }
            Round::WakeEach(f) => f.sleep(i, &sh.asleep),
            Round::WakeAll(f) => f.sleep(0, &sh.asleep),
        }
    }
}

impl Sleepers {
    fn start() -> Arc<Sleepers> {
        let sh = Arc::new(Sleepers {
            round: std::sync::Mutex::new(None),
            start: Barrier::new(SLEEPERS + 1),
            asleep: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            threads: std::sync::Mutex::new(Vec::new()),
        });
        let threads = (0..SLEEPERS)
            .map(|i| {
                let sh = sh.clone();
                std::thread::Builder::new()
                    .name(format!("sleeper{i}"))
                    .spawn(move || sleeper(&sh, i))
                    .unwrap()
            })
            .collect();
        *sh.threads.lock().unwrap() = threads;
        sh
    }

    /// Puts every thread to sleep in `round`, then times `wake` (which must
    /// return once every thread has left).
    fn time(&self, round: Round, wake: impl FnOnce()) -> Duration {
        *self.round.lock().unwrap() = Some(round);
        self.asleep.store(0, Ordering::SeqCst);
        self.start.wait();
        while self.asleep.load(Ordering::SeqCst) < SLEEPERS {
            std::thread::yield_now();
        }
        // Let the last ones reach their futex.
        std::thread::sleep(Duration::from_micros(300));
        let t0 = Instant::now();
        wake();
        let t = t0.elapsed();
        *self.round.lock().unwrap() = None;
        t
    }

    /// One devlife round: `Gate::unplug` of a gate with every thread asleep
    /// inside it.
    fn gate_round(&self) -> Duration {
        let gate = Gate::named("sleepy");
        let queues = Arc::new(
            (0..SLEEPERS)
                .map(|_| WaitQueue::new(&gate))
                .collect::<Vec<_>>(),
        );
        let g2 = gate.clone();
        self.time(Round::Gate(gate, queues), move || {
            assert_eq!(g2.in_flight(), SLEEPERS);
            let st = g2.unplug().unwrap();
            assert_eq!(st.queues_woken, SLEEPERS);
        })
    }

    /// One floor round: one futex word per thread, woken one by one.
    fn wake_each_round(&self) -> Duration {
        let f = Floor::new(SLEEPERS, SLEEPERS);
        let f2 = f.clone();
        self.time(Round::WakeEach(f), move || f2.wake())
    }

    /// One floor round: one futex word for all, one broadcast.
    fn wake_all_round(&self) -> Duration {
        let f = Floor::new(1, SLEEPERS);
        let f2 = f.clone();
        self.time(Round::WakeAll(f), move || f2.wake())
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.start.wait();
        for t in self.threads.lock().unwrap().drain(..) {
            t.join().unwrap();
        }
    }
}

fn unplug(c: &mut Criterion) {
    let mut g = c.benchmark_group("unplug");
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);

    g.bench_function("idle", |b| {
        b.iter_batched(
            registered_gate,
            |gate| {
                gate.unplug().unwrap();
                gate
            },
            BatchSize::SmallInput,
        )
    });

    g.bench_function("1000_open_files", |b| {
        b.iter_batched(
            || open_files(1000),
            |(scope, files)| {
                assert_eq!(scope.revoke().unwrap(), 1000);
                files
            },
            BatchSize::PerIteration,
        )
    });

    let sh = Sleepers::start();
    g.bench_function("100_sleepers", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sh.gate_round()).sum())
    });
    g.bench_function("100_sleepers_floor_wake_each", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sh.wake_each_round()).sum())
    });
    g.bench_function("100_sleepers_floor_wake_all", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sh.wake_all_round()).sum())
    });
    sh.stop();

    g.bench_function("idle_after_100_threads", |b| {
        b.iter_batched(
            registered_gate,
            |gate| {
                gate.unplug().unwrap();
                gate
            },
            BatchSize::SmallInput,
        )
    });

    // A second thread that has entered a gate and now waits, outside any
    // gate: the unplug can no longer skip the heavy barrier.
    let (park_tx, park_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        drop(Gate::named("other").enter().unwrap());
        ready_tx.send(()).unwrap();
        park_rx.recv().unwrap();
    });
    ready_rx.recv().unwrap();
    g.bench_function("idle_other_thread", |b| {
        b.iter_batched(
            registered_gate,
            |gate| {
                gate.unplug().unwrap();
                gate
            },
            BatchSize::SmallInput,
        )
    });
    park_tx.send(()).unwrap();
    other.join().unwrap();
    g.finish();
}

criterion_group!(benches, enter_exit, unplug);

// ---- interleaved peer comparison ------------------------------------------------

/// One scheme of the peer comparison: its summary name and its loop.
struct Peer<'a> {
    name: &'static str,
    run: Box<dyn Fn(usize, u64) -> Duration + 'a>,
}

/// The peer comparison behind `scripts/bench`'s ratios: every scheme runs
/// `rounds` times, interleaved (floor, urcu, gate, ... then again), and each
/// keeps its best round. On a shared machine a burst of load then hits
/// every scheme alike instead of one criterion group, so the ratios of one
/// run are comparable. Prints one `name value` line per scheme and thread
/// count (ns per enter+exit pair).
fn peers(rounds: usize, iters: u64) {
    let slot_obj = SlotObject {
        id: 7,
        unplugged: AtomicBool::new(false),
    };
    let gate = Gate::named("peers");
    // On the heap, like the gate and the thread records: the low 12 bits of
    // their addresses then do not change from run to run. On the main
    // thread's stack (whose base is random to 16 bytes) the value read in
    // each section sometimes shared its address's low 12 bits with the
    // slot stored just before, and the load waited for that store (4K
    // aliasing): some runs measured the 1-thread revocable row 1.4-3.4×
    // the gate, the others 1.08×.
    let revocable = Box::new(Revocable::new(5u64));
    #[cfg(devlife_urcu)]
    let urcu_obj = UrcuObject {
        unplugged: std::sync::atomic::AtomicI32::new(0),
    };
    let mut list: Vec<Peer<'_>> = vec![
        Peer {
            name: "floor",
            run: Box::new(|t, n| concurrent(&slot_obj, t, n, floor_loop)),
        },
        Peer {
            name: "gate",
            run: Box::new(|t, n| concurrent(&gate, t, n, gate_loop)),
        },
        Peer {
            name: "gate_labelled",
            run: Box::new(|t, n| concurrent(&gate, t, n, gate_labelled_loop)),
        },
        Peer {
            name: "revocable",
            run: Box::new(|t, n| concurrent(&*revocable, t, n, revocable_loop)),
        },
    ];
    #[cfg(devlife_urcu)]
    list.push(Peer {
        name: "urcu_memb",
        run: Box::new(|t, n| concurrent(&urcu_obj, t, n, urcu_memb_loop)),
    });
    #[cfg(not(devlife_urcu))]
    eprintln!("liburcu-memb row skipped: liburcu-dev was not found when the bench was built");
    for threads in [1usize, 2] {
        let mut best = vec![f64::INFINITY; list.len()];
        for _ in 0..rounds {
            for (p, b) in list.iter().zip(best.iter_mut()) {
                let ns = (p.run)(threads, iters).as_secs_f64() * 1e9 / iters as f64;
                *b = b.min(ns);
            }
        }
        for (p, b) in list.iter().zip(&best) {
            println!("{}_{threads}t_ns {b:.3}", p.name);
        }
    }
    black_box(&slot_obj);
}

/// The unplug rows, interleaved like `peers`. First, with no other thread
/// alive, `10 × rounds` times an idle unplug (the mean of a batch of 100) and
/// a revoke with 1,000 idle open files; then, with the 100 sleeper threads,
/// `rounds` times a devlife 100-sleeper round, a wake-each floor round, a
/// wake-all floor round, 13 idle gates unplugged one by one and the same
/// with one `Gate::unplug_all` (both issue the heavy barrier, since the
/// sleeper threads own gate records). Prints each one's best and median
/// time (µs).
fn unplugs(rounds: usize) {
    let idle = || {
        let gates: Vec<Gate> = (0..100).map(|_| registered_gate()).collect();
        let t0 = Instant::now();
        for g in &gates {
            g.unplug().unwrap();
        }
        t0.elapsed() / 100
    };
    let files = || {
        let (scope, files) = open_files(1000);
        let t0 = Instant::now();
        assert_eq!(scope.revoke().unwrap(), 1000);
        let t = t0.elapsed();
        drop(files);
        t
    };
    let quiet: [(&str, &dyn Fn() -> Duration); 2] =
        [("unplug_idle", &idle), ("unplug_1000_files", &files)];
    type RoundFn = fn(&Sleepers) -> Duration;
    // With the sleeper threads alive (and owning gate records), an unplug
    // must issue the heavy barrier: 13 idle gates (vimc's nodes) unplugged
    // one by one, then with `Gate::unplug_all`.
    let sleepy: [(&str, RoundFn); 5] = [
        ("unplug_100_sleepers", Sleepers::gate_round),
        ("floor_wake_each_100", Sleepers::wake_each_round),
        ("floor_wake_all_100", Sleepers::wake_all_round),
        ("unplug_13_idle_each", |_| {
            let gates = (0..13).map(|_| registered_gate()).collect::<Vec<_>>();
            let t0 = Instant::now();
            for g in &gates {
                g.unplug().unwrap();
            }
            t0.elapsed()
        }),
        ("unplug_all_13_idle", |_| {
            let gates = (0..13).map(|_| registered_gate()).collect::<Vec<_>>();
            let refs: Vec<&Gate> = gates.iter().collect();
            let t0 = Instant::now();
            let r = Gate::unplug_all(&refs);
            let t = t0.elapsed();
            assert!(r.iter().all(|r| r.is_ok()));
            t
        }),
    ];
    let mut times = vec![Vec::new(); quiet.len() + sleepy.len()];
    for _ in 0..rounds * 10 {
        for ((_, run), t) in quiet.iter().zip(times.iter_mut()) {
            t.push(run().as_secs_f64() * 1e6);
        }
    }
    let sh = Sleepers::start();
    for _ in 0..rounds {
        for ((_, run), t) in sleepy.iter().zip(times[quiet.len()..].iter_mut()) {
            t.push(run(&sh).as_secs_f64() * 1e6);
        }
    }
    sh.stop();
    let names = quiet.iter().map(|k| k.0).chain(sleepy.iter().map(|k| k.0));
    for (name, t) in names.zip(times.iter_mut()) {
        t.sort_by(f64::total_cmp);
        println!("{name}_best_us {:.3}", t[0]);
        println!("{name}_median_us {:.3}", t[t.len() / 2]);
    }
}

fn main() {
    // `DEVLIFE_UNPLUG=ROUNDS` runs the interleaved unplug rows, with the
    // 100-sleeper floors, instead of criterion.
    if let Ok(rounds) = std::env::var("DEVLIFE_UNPLUG") {
        unplugs(rounds.parse().expect("DEVLIFE_UNPLUG: rounds"));
        return;
    }
    // `DEVLIFE_PEERS=ROUNDS[xITERS]` runs the interleaved comparison instead
    // of criterion (used by scripts/bench).
    if let Ok(spec) = std::env::var("DEVLIFE_PEERS") {
        let (rounds, iters) = spec.split_once('x').unwrap_or((&spec, "1000000"));
        let rounds = rounds.parse().expect("DEVLIFE_PEERS: rounds");
        let iters = iters.parse().expect("DEVLIFE_PEERS: iterations");
        peers(rounds, iters);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
